/* Memory helpers; mem_wipe must not be optimised away, so it writes through
 * a volatile pointer instead of calling memset. (libsodium's sodium_memzero
 * does the same; util/ does not depend on libsodium so that libfastn,
 * which holds no secrets, need not link it.) */
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void mem_wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    if (!p)
        return;
    while (n--)
        *v++ = 0;
}

int mem_equal_ct(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= x[i] ^ y[i];
    return d == 0;
}

void *mem_join(const struct iovec *v, size_t n, size_t *len)
{
    size_t total = 0, at = 0;
    uint8_t *p;

    for (size_t i = 0; i < n; i++)
        total += v[i].iov_len;
    if (!(p = malloc(total ? total : 1)))
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (v[i].iov_len)
            memcpy(p + at, v[i].iov_base, v[i].iov_len);
        at += v[i].iov_len;
    }
    *len = total;
    return p;
}
