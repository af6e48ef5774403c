/*
 * A test bench for the networking unit tests: real swarms (and routers)
 * listening on loopback TCP, all on one libuv loop (nh_loop) that the
 * test runs itself, and control sessions (struct ipc_session) fed encoded
 * requests directly, their responses read back off the session's output.
 *
 *   nh_start()                 SIGPIPE ignored, libsodium, the loop
 *   nh_swarm_start()           an identity from a seed and its swarm
 *   nh_setup() / nh_teardown() two nodes (swarm + router + ipc_host) on
 *                              the loop, seeds 1 and 2; all closed, freed
 *   nh_run_until()             the loop until a flag is set (10 s at most)
 *   nh_open_session(), nh_feed(), nh_put(), nh_put_connect(),
 *   nh_count_responses(), nh_run_until_responses(), nh_peek_frame(),
 *   nh_next_response(), nh_code_of(), nh_expect_codes()
 *                              a client's side of a control session
 *   nh_setup_session() / nh_teardown_session()
 *                              nh_setup plus a session on b and a buffer
 *
 * The session helpers (but nh_run_until_responses) are sans-I/O and
 * serve tests without a network too. Included by the unit tests of the
 * swarm, the router and the control requests; header-only so each test
 * program stays one file.
 */
#ifndef FASTN_TEST_NET_HARNESS_H
#define FASTN_TEST_NET_HARNESS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

#include "ipc/frame.h"
#include "identity/identity.h"
#include "ipc/ipc.h"
#include "net/swarm.h"
#include "router/router.h"
#include "test.h"

/* not every test uses every helper */
#pragma GCC diagnostic ignored "-Wunused-function"

/* The one loop every swarm, router and timer of a test runs on. */
static __attribute__((unused)) uv_loop_t nh_loop;

/* One peer: its identity, swarm, router and the control host over them. */
struct nh_node {
    struct identity id;
    struct swarm *sw;
    struct router *r;
    struct multiaddr addr; /* where it listens, with the real port */
    struct ipc_host host;
};

/* The local client every session of a node's host is opened for: the
 * daemon's own user, so an admin. */
static __attribute__((unused))
const struct ipc_peer nh_self = {.pid = 1, .uid = 1000, .gid = 1000};

/* What every networking test does first: a dead peer must be an error
 * return (as in fastnd), not a signal; then libsodium and the loop. */
static void nh_start(void)
{
    signal(SIGPIPE, SIG_IGN);
    CHECK_ERR(identity_global_init(), 0);
    CHECK_EQ(uv_loop_init(&nh_loop), 0);
}

/* Makes *id from 32 bytes of seed_byte and starts its swarm on nh_loop
 * in *sw: listening on 127.0.0.1 on a free port (its address in *addr)
 * when `listen`, else only able to dial out. */
static void nh_swarm_start(struct identity *id, uint8_t seed_byte, bool listen,
                           struct swarm **sw, struct multiaddr *addr)
{
    struct swarm_config cfg;
    struct multiaddr l;
    uint8_t seed[32];

    memset(seed, seed_byte, sizeof(seed));
    CHECK_ERR(identity_from_seed(id, seed), 0);
    swarm_config_default(&cfg, id);
    CHECK_ERR(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &l), 0);
    if (listen) {
        cfg.listen = &l;
        cfg.n_listen = 1;
    }
    CHECK_ERR(swarm_new(&nh_loop, &cfg, sw), 0);
    CHECK_ERR(swarm_listen(*sw), 0);
    if (listen)
        CHECK_EQ(swarm_listen_addrs(*sw, addr, 1), 1);
}

/* A listening node with its router and a control host over both. */
static void nh_node_init(struct nh_node *n, uint8_t seed_byte)
{
    memset(n, 0, sizeof(*n));
    nh_swarm_start(&n->id, seed_byte, true, &n->sw, &n->addr);
    CHECK_ERR(router_new(&nh_loop, n->sw, &n->r), 0);
    n->host.local_id = n->id.id;
    n->host.policy.daemon_uid = 1000;
    n->host.swarm = n->sw;
    n->host.router = n->r;
}

/* Two nodes, not yet connected: a from seed 1, b from seed 2. */
static void nh_setup(struct nh_node *a, struct nh_node *b)
{
    nh_start();
    nh_node_init(a, 1);
    nh_node_init(b, 2);
}

/* Closes both nodes, runs the loop dry, frees them; the loop must then
 * hold no handle. */
static void nh_teardown(struct nh_node *a, struct nh_node *b)
{
    router_close(a->r);
    router_close(b->r);
    swarm_close(a->sw);
    swarm_close(b->sw);
    uv_run(&nh_loop, UV_RUN_DEFAULT);
    router_free(a->r);
    router_free(b->r);
    swarm_free(a->sw);
    swarm_free(b->sw);
    CHECK_EQ(uv_loop_close(&nh_loop), 0);
}

/* Runs the loop until *flag is set or 10 s pass; whether it was set. */
static bool nh_run_until(const int *flag)
{
    uint64_t end = uv_hrtime() + 10000000000ull;
    while (!*flag && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    return *flag != 0;
}

/* --- a client's side of a control session ------------------------------ */

/* Opens s on `host` for the local client `peer`. */
static void nh_open_session(struct ipc_session *s, struct ipc_host *host,
                            const struct ipc_peer *peer)
{
    ipc_session_init(s, host, peer);
    CHECK_ERR(ipc_session_open(s), 0);
}

/* Feeds all of b to s as one read at now_ms, and empties b. */
static void nh_feed(struct ipc_session *s, struct buf *b, uint64_t now_ms)
{
    ipc_session_feed(s, b->data, b->len, now_ms);
    buf_reset(b);
}

/* Appends req to b as a client frames it. */
static void nh_put(struct buf *b, P2pd__Pb__Request *req)
{
    CHECK_ERR(ipc_frame_append(b, &req->base), 0);
}

/* Appends a CONNECT to node `to` at addr. */
static void nh_put_connect(struct buf *b, const struct nh_node *to,
                           const struct multiaddr *addr)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__ConnectRequest c = P2PD__PB__CONNECT_REQUEST__INIT;
    ProtobufCBinaryData a = {addr->len, (uint8_t *)addr->bytes};
    req.type = P2PD__PB__REQUEST__TYPE__CONNECT;
    req.connect = &c;
    c.peer.data = (uint8_t *)to->id.id.bytes;
    c.peer.len = to->id.id.len;
    c.addrs = &a;
    c.n_addrs = 1;
    nh_put(b, &req);
}

/* How many whole responses wait in s's output. */
static size_t nh_count_responses(const struct ipc_session *s)
{
    const uint8_t *body;
    size_t body_len, frame_len, off = 0, n = 0;
    while (ipc_frame_parse(s->out.data + off, s->out.len - off,
                           IPC_MAX_RESPONSE, &body, &body_len,
                           &frame_len) == 0) {
        off += frame_len;
        n++;
    }
    return n;
}

/* Runs the loop until s has n responses waiting or 10 s pass. */
static bool nh_run_until_responses(struct ipc_session *s, size_t n)
{
    uint64_t end = uv_hrtime() + 10000000000ull;
    while (nh_count_responses(s) < n && uv_hrtime() < end)
        uv_run(&nh_loop, UV_RUN_ONCE);
    return nh_count_responses(s) >= n;
}

/* The body of the first whole frame in s's output, left there: the
 * frame's length, or 0 when there is none. */
static size_t nh_peek_frame(const struct ipc_session *s, const uint8_t **body,
                            size_t *body_len)
{
    size_t frame_len;
    if (ipc_frame_parse(s->out.data, s->out.len, IPC_MAX_RESPONSE, body,
                        body_len, &frame_len) != 0)
        return 0;
    return frame_len;
}

/* Takes the next response off s's output, decoded (the caller frees it
 * with p2pd__pb__response__free_unpacked); NULL when none is whole or it
 * does not decode. */
static P2pd__Pb__Response *nh_next_response(struct ipc_session *s)
{
    const uint8_t *body;
    size_t body_len, frame_len = nh_peek_frame(s, &body, &body_len);
    if (!frame_len)
        return NULL;
    P2pd__Pb__Response *r = p2pd__pb__response__unpack(NULL, body_len, body);
    buf_consume(&s->out, frame_len);
    return r;
}

/* A response's outcome: 0 for OK, else its fastn error code; 1 when
 * there is no response, 2 for an error without a code. */
static int nh_code_of(const P2pd__Pb__Response *r)
{
    if (!r)
        return 1;
    if (r->type == P2PD__PB__RESPONSE__TYPE__OK)
        return 0;
    return r->fastn && r->fastn->has_code ? r->fastn->code : 2;
}

/* Takes the next n responses off s's output and checks that their
 * outcomes (nh_code_of) are want[0..n-1], in order. */
static void nh_expect_codes(struct ipc_session *s, const int *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        P2pd__Pb__Response *r = nh_next_response(s);
        CHECK_ERR(nh_code_of(r), want[i]);
        p2pd__pb__response__free_unpacked(r, NULL);
    }
}

/* What most request tests start from: two nodes (nh_setup), a session s
 * for nh_self on b's host, and an empty input buffer in of 1 MiB. */
static void nh_setup_session(struct nh_node *a, struct nh_node *b,
                             struct ipc_session *s, struct buf *in)
{
    nh_setup(a, b);
    nh_open_session(s, &b->host, &nh_self);
    buf_init(in, 1 << 20);
}

/* Undoes nh_setup_session. */
static void nh_teardown_session(struct nh_node *a, struct nh_node *b,
                                struct ipc_session *s, struct buf *in)
{
    ipc_session_cleanup(s);
    buf_cleanup(in);
    nh_teardown(a, b);
}

#endif
