/* Fuzz target: multistream-select listener and dialer fed arbitrary bytes
 * in chunks whose size comes from the first input byte. */
#include <stdint.h>
#include <string.h>

#include "net/mss.h"

static bool supports(void *arg, const char *proto, size_t len)
{
    (void)arg;
    return len == 6 && memcmp(proto, "/noise", 6) == 0;
}

static size_t list(void *arg, const char **names, size_t max)
{
    (void)arg;
    if (max > 0)
        names[0] = "/noise";
    return max > 0 ? 1 : 0;
}

static void run(struct mss *m, const uint8_t *p, size_t n, size_t chunk)
{
    struct buf out;
    buf_init(&out, 1 << 16);
    mss_start(m, &out);
    while (n > 0) {
        size_t c = n < chunk ? n : chunk, used;
        int r = mss_input(m, p, c, &used, &out);
        if (r != 0)
            break;
        p += used;
        n -= used;
        buf_reset(&out);
    }
    mss_selected(m);
    buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *protos[] = {"/tls/1.0.0", "/noise"};
    struct mss m;
    size_t chunk;

    if (size < 1)
        return 0;
    chunk = (size_t)data[0] % 16 + 1;
    mss_init_listener(&m, supports, list, NULL);
    run(&m, data + 1, size - 1, chunk);
    mss_init_dialer(&m, protos, 2);
    run(&m, data + 1, size - 1, chunk);
    return 0;
}
