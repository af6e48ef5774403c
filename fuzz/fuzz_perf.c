/* Fuzz target: what a perf client sends a /perf/1.0.0 server (the 8-byte
 * header, then the upload), in chunks of a size the input picks, then
 * the client's FIN. Checks the server's arithmetic against the input:
 * every byte after the header counted as upload, the amount asked for
 * read back exactly, a stream ending inside the header refused. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fastn/err.h"
#include "net/perf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct perf_server ps;
    uint64_t to_send = 0, want = 0;
    size_t chunk, total;
    int rc;

    if (size < 1)
        return 0;
    chunk = data[0] % 16 + 1;
    data++;
    size--;
    total = size;
    perf_server_init(&ps);
    while (size > 0) {
        size_t c = size < chunk ? size : chunk;
        perf_server_feed(&ps, data, c);
        data += c;
        size -= c;
    }
    rc = perf_server_finish(&ps, &to_send);
    if (total < PERF_HEADER_LEN) {
        if (rc != FASTN_ERR_TRUNCATED)
            abort();
        return 0;
    }
    for (size_t i = 0; i < PERF_HEADER_LEN; i++)
        want = want << 8 | data[(ptrdiff_t)i - (ptrdiff_t)total];
    if (rc != 0 || to_send != want || ps.uploaded != total - PERF_HEADER_LEN)
        abort();
    return 0;
}
