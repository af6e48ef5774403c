/* Fuzz target: multiaddr text and binary parsers. Whatever parses must
 * format and parse back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/multiaddr.h"

static void check_roundtrip(const struct multiaddr *ma)
{
    char s[MULTIADDR_STR_MAX];
    struct multiaddr back;
    struct multiaddr_tcp t;
    char path[MULTIADDR_UNIX_MAX + 1];

    if (multiaddr_format(ma, s, sizeof(s)) < 0)
        abort();
    if (multiaddr_parse(s, &back) != 0 || !multiaddr_equal(ma, &back))
        abort();
    multiaddr_to_tcp(ma, &t);
    multiaddr_to_unix(ma, path, sizeof(path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[MULTIADDR_STR_MAX];
    struct multiaddr ma;
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

    memcpy(text, data, n);
    text[n] = '\0';
    if (multiaddr_parse(text, &ma) == 0)
        check_roundtrip(&ma);
    if (multiaddr_from_bytes(data, size, &ma) == 0)
        check_roundtrip(&ma);
    return 0;
}
