/* args_encode(): a plugin call's arguments, NUL-separated. */
#include "util/args.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"

int args_encode(const char *const *argv, size_t argc, uint8_t **out,
                size_t *out_len)
{
    size_t total = 0, len = 0;
    uint8_t *buf;

    for (size_t i = 0; i < argc; i++) {
        if (!argv[i])
            return FASTN_ERR_INVAL;
        total += strnlen(argv[i], ARGS_MAX + 1) + (i > 0);
        if (total > ARGS_MAX)
            return FASTN_ERR_TOO_LARGE;
    }
    if (!(buf = malloc(total ? total : 1)))
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i > 0)
            buf[len++] = '\0'; /* the separator: no argument holds one */
        memcpy(buf + len, argv[i], n);
        len += n;
    }
    *out = buf;
    *out_len = len;
    return 0;
}
