/* Fuzz target: the block list's file (router_block_parse), which fastnd
 * reads from HOME/blocked-peers at start and on SIGHUP. Properties: what
 * parses has at most ROUTER_BLOCK_MAX peers, none twice, and writes back
 * (router_block_format) to a file that parses to the same list; what
 * does not parse sets nothing and says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "router/router.h"

static void check_round_trip(const struct peer_id *v, size_t n)
{
    struct peer_id *w = NULL;
    size_t m = 0;
    char why[128];
    struct buf out;

    buf_init(&out, 2 * ROUTER_BLOCK_FILE_MAX);
    if (router_block_format(v, n, &out) != 0 ||
        router_block_parse(out.data, out.len, &w, &m, why, sizeof(why)) != 0 ||
        m != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!peer_id_equal(&v[i], &w[i]))
            abort();
    free(w);
    buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct peer_id *v = NULL;
    size_t n = 0;
    char why[128] = "";
    int err = router_block_parse(data, size, &v, &n, why, sizeof(why));

    if (err) {
        if (v || !why[0])
            abort();
        return 0;
    }
    if (n > ROUTER_BLOCK_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (peer_id_equal(&v[i], &v[j]))
                abort();
    check_round_trip(v, n);
    free(v);
    return 0;
}
