/* Fuzz target: AutoNAT messages. The input is decoded as a request (by
 * the server, with its rules) and as a response (by the client, as a
 * vote). Properties: a dial job only ever holds public TCP addresses on
 * the requester's IP, at most AUTONAT_DIAL_MAX; a refusal is one
 * well-formed response; a decoded response re-encodes and decodes to the
 * same status. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/autonat.h"

static const uint8_t req_ip[4] = {1, 2, 3, 4};

static void check_job(const struct autonat_dial_job *job)
{
    struct multiaddr_tcp t;

    if (job->addrs.n == 0 || job->addrs.n > AUTONAT_DIAL_MAX)
        abort();
    for (size_t i = 0; i < job->addrs.n; i++)
        if (multiaddr_to_tcp(&job->addrs.a[i], &t) != 0 ||
            t.host_code != MA_IP4 || memcmp(t.ip, req_ip, 4) != 0 ||
            t.port == 0)
            abort();
}

static void server(const uint8_t *data, size_t size)
{
    struct autonat_server_config cfg;
    struct autonat_server s;
    struct autonat_dial_job job;
    struct autonat_request req;
    struct autonat_response resp;
    struct buf out;
    struct buf_reader r;
    const uint8_t *p;
    uint64_t len;

    autonat_server_config_default(&cfg);
    autonat_server_init(&s, &cfg);
    buf_init(&out, 1 << 16);
    /* the requester is whoever the message claims, so checks go deep */
    if (autonat_request_decode(data, size, &req) != 0)
        memset(&req, 0, sizeof(req));
    int rc = autonat_server_request(&s, &req.peer, req_ip, 4, data, size, 1,
                                    &job, &out);
    if (rc == 1) {
        check_job(&job);
    } else if (rc == 0) {
        buf_reader_init(&r, out.data, out.len);
        if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &p) ||
            buf_reader_left(&r) != 0 ||
            autonat_response_decode(p, (size_t)len, &resp) != 0 ||
            resp.status == AUTONAT_OK)
            abort();
    }
    buf_cleanup(&out);
}

static void client(const uint8_t *data, size_t size)
{
    struct autonat_response a, b;
    struct autonat_client_config cfg;
    struct autonat_client c;
    struct peer_id server = {.len = 2, .bytes = {0, 0}};
    struct buf out;
    struct buf_reader r;
    const uint8_t *p;
    uint64_t len;

    if (autonat_response_decode(data, size, &a) != 0)
        return;
    autonat_client_config_default(&cfg);
    autonat_client_init(&c, &cfg, 0);
    autonat_client_vote(&c, &server, autonat_vote_of(&a),
                        a.has_addr ? &a.addr : NULL, 0);
    buf_init(&out, 1 << 16);
    if (autonat_response_encode(a.status, a.text, a.has_addr ? &a.addr : NULL,
                                &out) != 0)
        abort();
    buf_reader_init(&r, out.data, out.len);
    if (buf_get_uvarint(&r, &len) || buf_get_span(&r, (size_t)len, &p) ||
        autonat_response_decode(p, (size_t)len, &b) != 0 ||
        a.status != b.status || a.has_addr != b.has_addr)
        abort();
    buf_cleanup(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    server(data, size);
    client(data, size);
    return 0;
}
