/* Fuzz target: libp2p Noise. The first byte picks what the rest is:
 *  0  raw bytes received by a responder (message 1, then message 3)
 *  1  the payload inside a correctly encrypted message 2, to an initiator
 *  2  a NoiseHandshakePayload for the decoder
 *  3  raw bytes received on an established connection
 *  4  plaintext sent over an established pair and read back in chunks
 *     (must arrive intact) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/noise.h"
#include "net/noise_int.h"

static const char *mux[] = {"/yamux/1.0.0"};
static struct identity ida, idb;
static struct noise_local la, lb;

static void setup(void)
{
    static int done;
    uint8_t s1[32] = {1}, s2[32] = {2};
    if (done)
        return;
    done = 1;
    identity_global_init();
    identity_from_seed(&ida, s1);
    identity_from_seed(&idb, s2);
    noise_local_init_static(&la, &ida, s1, mux, 1);
    noise_local_init_static(&lb, &idb, s2, mux, 1);
}

static void responder_raw(const uint8_t *p, size_t n)
{
    struct noise_conn *c = noise_conn_new(&lb, false, NULL);
    struct buf out;
    buf_init(&out, 1 << 17);
    noise_start(c, &out);
    while (n > 0) {
        int k = noise_feed(c, p, n);
        if (k <= 0 || noise_handshake(c, &out) != 0)
            break;
        p += k;
        n -= (size_t)k;
    }
    buf_cleanup(&out);
    noise_conn_free(c);
}

static void initiator_payload(const uint8_t *p, size_t n)
{
    struct noise_conn *c = noise_conn_new(&la, true, NULL);
    struct noise_hs hs;
    struct buf out;
    static uint8_t msg[NOISE_FRAME_MAX];
    uint8_t e[32] = {3}, *got;
    size_t len, gotlen;

    buf_init(&out, 1 << 17);
    noise_conn_set_ephemeral(c, e);
    noise_start(c, &out);
    noise_hs_init(&hs, false, NULL, 0, lb.static_priv);
    noise_hs_read(&hs, out.data + 2, out.len - 2, &got, &gotlen);
    if (n <= NOISE_MAX_MSG - 96 &&
        noise_hs_write(&hs, p, n, msg + 2, sizeof(msg) - 2, &len) == 0) {
        msg[0] = (uint8_t)(len >> 8);
        msg[1] = (uint8_t)len;
        noise_feed(c, msg, len + 2);
        noise_handshake(c, &out);
    }
    buf_cleanup(&out);
    noise_conn_free(c);
}

static int pair(struct noise_conn **a, struct noise_conn **b)
{
    struct buf oa, ob;
    int r;
    *a = noise_conn_new(&la, true, NULL);
    *b = noise_conn_new(&lb, false, NULL);
    buf_init(&oa, 1 << 17);
    buf_init(&ob, 1 << 17);
    noise_start(*a, &oa);
    noise_feed(*b, oa.data, oa.len);
    buf_reset(&oa);
    noise_handshake(*b, &ob);
    noise_feed(*a, ob.data, ob.len);
    noise_handshake(*a, &oa);
    noise_feed(*b, oa.data, oa.len);
    r = noise_handshake(*b, &ob);
    buf_cleanup(&oa);
    buf_cleanup(&ob);
    return r == NOISE_DONE ? 0 : -1;
}

static void established_raw(const uint8_t *p, size_t n)
{
    struct noise_conn *a, *b;
    uint8_t *pl;
    size_t pn;
    if (pair(&a, &b) == 0) {
        while (n > 0) {
            int k = noise_feed(b, p, n);
            if (k <= 0)
                break;
            p += k;
            n -= (size_t)k;
            while (noise_read(b, &pl, &pn) == 1)
                noise_consume(b, pn);
        }
    }
    noise_conn_free(a);
    noise_conn_free(b);
}

static void roundtrip(const uint8_t *p, size_t n)
{
    struct noise_conn *a, *b;
    struct buf wire, got;
    size_t chunk = n ? p[0] % 7 + 1 : 1;
    uint8_t *pl;
    size_t pn;

    buf_init(&wire, 1 << 20);
    buf_init(&got, 1 << 20);
    if (pair(&a, &b) == 0 && noise_write(a, p, n, &wire) == 0) {
        for (size_t i = 0; i < wire.len; i += chunk) {
            size_t c = wire.len - i < chunk ? wire.len - i : chunk;
            if (noise_feed(b, wire.data + i, c) != (int)c)
                abort();
            while (noise_read(b, &pl, &pn) == 1) {
                size_t use = pn > 3 ? pn / 2 : pn;
                buf_append(&got, pl, use);
                noise_consume(b, use);
            }
        }
        if (got.len != n || (n && memcmp(got.data, p, n) != 0))
            abort();
    }
    buf_cleanup(&wire);
    buf_cleanup(&got);
    noise_conn_free(a);
    noise_conn_free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct noise_payload pl;
    if (size < 1)
        return 0;
    setup();
    switch (data[0] % 5) {
    case 0:
        responder_raw(data + 1, size - 1);
        break;
    case 1:
        initiator_payload(data + 1, size - 1);
        break;
    case 2:
        noise_payload_decode(data + 1, size - 1, &pl);
        break;
    case 3:
        established_raw(data + 1, size - 1);
        break;
    default:
        roundtrip(data + 1, size - 1);
        break;
    }
    return 0;
}
