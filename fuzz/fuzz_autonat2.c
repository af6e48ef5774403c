/* Fuzz target: AutoNAT v2 messages. The input is read as a sequence of
 * length-prefixed messages fed to one server stream (with its rules) and
 * to one client probe, and as a DialBack and a DialBackResponse.
 * Properties: the server dials only one public TCP address, at once only
 * on the requester's IP and otherwise after AUTONAT2_DATA_ASK bytes of
 * data; its replies are well-formed; the client never pays more than
 * AUTONAT2_DATA_PAY_MAX, in chunks of at most AUTONAT2_CHUNK_MAX, and
 * never believes a dial whose nonce did not come. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/autonat2.h"

static const uint8_t req_ip[4] = {1, 2, 3, 4};

static void check_dial(const struct autonat2_serve *s)
{
    struct multiaddr_tcp t;

    if (multiaddr_to_tcp(&s->addr, &t) != 0 || t.port == 0 ||
        addr_scope_of(&s->addr) != ADDR_SCOPE_PUBLIC)
        abort();
    if (t.host_code == MA_IP4 && memcmp(t.ip, req_ip, 4) == 0) {
        if (s->want != 0)
            abort();
    } else if (s->got < s->want || s->want < 30000) {
        abort(); /* another IP, not paid for */
    }
}

/* Each message in out is well-formed. */
static void check_out(const struct buf *out, uint64_t max_data)
{
    struct buf_reader r;
    struct autonat2_msg m;
    const uint8_t *p;
    uint64_t len, data = 0;

    buf_reader_init(&r, out->data, out->len);
    while (buf_reader_left(&r) > 0) {
        if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &p) ||
            autonat2_msg_decode(p, (size_t)len, &m) != 0)
            abort();
        data += m.data_len;
    }
    if (data > max_data)
        abort();
}

static void server(const uint8_t *data, size_t size)
{
    struct autonat_server_config cfg;
    struct autonat_server srv;
    struct autonat2_serve s;
    struct peer_id peer = {.len = 2, .bytes = {0, 0}};
    struct buf out;
    struct buf_reader r;
    const uint8_t *p;
    uint64_t len;
    int rc = AUTONAT2_SERVE_MORE;

    autonat_server_config_default(&cfg);
    autonat_server_init(&srv, &cfg);
    autonat2_serve_init(&s);
    buf_init(&out, 1 << 16);
    buf_reader_init(&r, data, size);
    while (rc == AUTONAT2_SERVE_MORE && !buf_get_uvarint(&r, &len) &&
           !buf_get_span(&r, (size_t)len, &p))
        rc = autonat2_serve_feed(&srv, &s, &peer, req_ip, 4, p, (size_t)len, 1,
                                 &out);
    if (rc == AUTONAT2_SERVE_DIAL) {
        check_dial(&s);
        if (autonat2_serve_result(&s, AUTONAT2_DIAL_OK, &out) != 0)
            abort();
    }
    check_out(&out, 0);
    buf_cleanup(&out);
}

static void client(const uint8_t *data, size_t size)
{
    struct multiaddr addrs[2];
    struct autonat2_probe pr;
    struct autonat2_result res;
    struct buf out;
    struct buf_reader r;
    const uint8_t *p;
    uint64_t len;
    int rc = 0;

    if (multiaddr_parse("/ip4/1.2.3.4/tcp/4001", &addrs[0]) ||
        multiaddr_parse("/ip4/5.6.7.8/tcp/4001", &addrs[1]))
        abort();
    buf_init(&out, 1 << 18);
    if (autonat2_probe_start(&pr, addrs, 2, 99, &out) != 0)
        abort();
    buf_reset(&out);
    buf_reader_init(&r, data, size);
    while (rc == 0 && !buf_get_uvarint(&r, &len) &&
           !buf_get_span(&r, (size_t)len, &p))
        rc = autonat2_probe_feed(&pr, p, (size_t)len, &out, &res);
    if (rc == 1 && res.vote == AUTONAT_VOTE_REACHABLE)
        abort(); /* no DialBack came */
    check_out(&out, AUTONAT2_DATA_PAY_MAX);
    buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t nonce;

    server(data, size);
    client(data, size);
    (void)autonat2_dial_back_decode(data, size, &nonce);
    (void)autonat2_dial_back_response_decode(data, size);
    return 0;
}
