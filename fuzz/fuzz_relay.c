/* Fuzz target: circuit relay v2 messages. The input (split by its first
 * byte) is decoded as hop and stop messages, handed to a relay service
 * as a request, to a client as a reservation answer and as a stop
 * CONNECT, to the dialer as a CONNECT answer, and opened as a voucher.
 * Properties: whatever decodes re-encodes and decodes the same; the
 * service always answers with one well-formed STATUS or asks for a stop
 * within its circuit limit; the client's advertised addresses are
 * circuit addresses through the relay. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"
#include "net/relay.h"

static struct identity relay_id, self_id;
static int ready;

static void setup(void)
{
    uint8_t seed[32] = {1};
    if (ready)
        return;
    identity_global_init();
    identity_from_seed(&relay_id, seed);
    seed[0] = 2;
    identity_from_seed(&self_id, seed);
    ready = 1;
}

static void roundtrip(enum relay_kind kind, const uint8_t *p, size_t n)
{
    static struct relay_msg m, back;
    struct buf b;
    struct buf_reader r;
    const uint8_t *body;
    uint64_t len;

    if (relay_msg_decode(kind, p, n, &m) != 0)
        return;
    buf_init(&b, 2 * RELAY_MAX_MSG);
    if (relay_msg_encode(&m, &b) == 0) {
        buf_reader_init(&r, b.data, b.len);
        if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &body) ||
            relay_msg_decode(kind, body, (size_t)len, &back) != 0 ||
            back.type != m.type || back.has_status != m.has_status ||
            back.has_peer != m.has_peer ||
            (m.has_peer && !peer_id_equal(&back.peer, &m.peer)))
            abort();
    }
    buf_cleanup(&b);
}

static void service(const uint8_t *p, size_t n)
{
    struct relay_service_config cfg;
    struct relay_service s;
    struct relay_circuit *c;
    struct relay_msg m;
    struct buf out;
    struct buf_reader r;
    const uint8_t *body;
    uint64_t len;
    const uint8_t ip[4] = {9, 9, 9, 9};

    relay_service_config_default(&cfg);
    cfg.max_reservations = 2;
    cfg.max_circuits = 1;
    if (relay_service_init(&s, &cfg, &relay_id) != 0)
        abort();
    /* self holds a reservation, so CONNECTs to it go deep */
    s.rsv[0].peer = self_id.id;
    s.rsv[0].expire_at = UINT64_MAX;
    s.n_rsv = 1;
    buf_init(&out, 4 * RELAY_MAX_MSG);
    for (int round = 0; round < 2; round++) {
        buf_reset(&out);
        int act =
            relay_service_hop(&s, &relay_id.id, ip, 4, p, n, 1, 100, &c, &out);
        if (act == RELAY_ACT_STOP) {
            if (!c || s.n_circuits > cfg.max_circuits)
                abort();
            relay_service_stop_encode(&s, c, &out);
            relay_service_stop_result(&s, c, p, n, 2, &out);
            continue;
        }
        buf_reader_init(&r, out.data, out.len);
        if (act != RELAY_ACT_REPLIED || buf_get_uvarint(&r, &len) ||
            buf_get_span(&r, (size_t)len, &body) ||
            relay_msg_decode(RELAY_HOP, body, (size_t)len, &m) != 0 ||
            m.type != RELAY_STATUS || !m.has_status)
            abort();
    }
    buf_cleanup(&out);
    relay_service_cleanup(&s);
}

static void client(const uint8_t *p, size_t n)
{
    struct relay_client_config cc;
    struct relay_client c;
    struct peer_id relay, src, got;
    struct relay_limit limit;
    struct multiaddr addrs[8], tr;
    struct buf out;
    bool has;

    relay_client_config_default(&cc);
    relay_client_init(&c, &cc, &self_id.id);
    relay_client_add(&c, &relay_id.id);
    buf_init(&out, 4 * RELAY_MAX_MSG);
    relay_client_poll(&c, 1, &relay, &out);
    relay_client_reserved(&c, &relay_id.id, p, n, 1, 100);
    size_t k = relay_client_addrs(&c, 2, addrs, 8);
    for (size_t i = 0; i < k; i++)
        if (relay_circuit_split(&addrs[i], &tr, &got, &has, &src) != 0 ||
            !has || !peer_id_equal(&got, &relay_id.id) ||
            !peer_id_equal(&src, &self_id.id))
            abort();
    relay_client_stop(&c, &relay_id.id, p, n, 2, &src, &limit, &out);
    relay_connect_result(p, n, &limit);
    buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct relay_voucher v;
    struct multiaddr ma, tr;
    struct peer_id a, b;
    bool has;

    setup();
    roundtrip(RELAY_HOP, data, size);
    roundtrip(RELAY_STOP, data, size);
    service(data, size);
    client(data, size);
    relay_voucher_open(data, size, &v);
    if (multiaddr_from_bytes(data, size, &ma) == 0)
        relay_circuit_split(&ma, &tr, &a, &has, &b);
    return 0;
}
