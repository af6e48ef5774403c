/* Fuzz target: multiaddr binary and text parsers. Whatever formats must
 * parse back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[MULTIADDR_TEXT_MAX + 1];
    struct buf b;

    buf_init(&b, MULTIADDR_MAX);
    if (multiaddr_format(data, size, text, sizeof(text)) == 0) {
        if (multiaddr_parse(text, &b) != 0 || b.len != size ||
            memcmp(b.data, data, size) != 0)
            abort();
    }
    buf_reset(&b);
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    multiaddr_parse(text, &b);
    buf_cleanup(&b);
    return 0;
}
