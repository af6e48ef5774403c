/* Fuzz target: length-prefixed Identify messages as they arrive on a
 * stream (in chunks), each decoded, its key and addresses checked, and
 * re-encoded. */
#include <stdint.h>
#include <string.h>

#include "net/identify.h"
#include "net/lp.h"

static void use(const uint8_t *p, size_t n)
{
    struct identify_msg m;
    struct peer_id pid;
    struct multiaddr ma[IDENTIFY_MAX_ADDRS], obs;
    struct identify_info in = {0};
    const char *protos[1] = {"/x"};
    struct buf out;
    size_t k = 0;

    if (identify_decode(p, n, &m) != 0)
        return;
    identify_peer(&m, &pid);
    for (size_t i = 0; i < m.n_listen; i++)
        if (multiaddr_from_bytes(m.listen[i].p, m.listen[i].len, &ma[k]) == 0)
            k++;
    in.listen = ma;
    in.n_listen = k;
    if (multiaddr_from_bytes(m.observed_addr.p, m.observed_addr.len, &obs) == 0)
        in.observed = &obs;
    in.public_key = m.public_key.p;
    in.public_key_len = m.public_key.len;
    in.protocols = protos;
    in.n_protocols = 1;
    buf_init(&out, 1 << 20);
    identify_encode(&in, &out);
    buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lp_reader r;
    size_t chunk, used, n;

    if (size < 1)
        return 0;
    identity_global_init();
    chunk = data[0] % 64 + 1;
    data++;
    size--;
    lp_reader_init(&r, IDENTIFY_MAX_MSG);
    while (size > 0) {
        size_t c = size < chunk ? size : chunk;
        int rc = lp_reader_feed(&r, data, c, &used);
        data += used;
        size -= used;
        if (rc < 0)
            break;
        if (rc == 1) {
            const uint8_t *msg = lp_reader_msg(&r, &n);
            use(msg, n);
        }
    }
    lp_reader_cleanup(&r);
    return 0;
}
