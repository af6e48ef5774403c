/* Memory helpers; mem_wipe must not be optimised away, so it writes through
 * a volatile pointer instead of calling memset. (libsodium's sodium_memzero
 * does the same; util/ does not depend on libsodium so that libfastn,
 * which holds no secrets, need not link it.) */
#include "util/mem.h"

#include <stdint.h>

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
