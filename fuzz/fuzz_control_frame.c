/* Fuzz target: the control server's input path, as a client drives it —
 * frame parsing, Request decoding, dispatch and Response encoding — on a
 * sans-I/O session. The first byte picks where the input is split into
 * two reads. Checks that every queued Response decodes, has its type, and
 * that no secret key byte run appears in the output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/frame.h"
#include "ipc/ipc.h"

static void check_output(const struct ipc_session *s, const uint8_t *seed)
{
    const uint8_t *body;
    size_t body_len, frame_len, off = 0;

    while (off < s->out.len &&
           ipc_frame_parse(s->out.data + off, s->out.len - off,
                           IPC_MAX_RESPONSE, &body, &body_len,
                           &frame_len) == 0) {
        P2pd__Pb__Response *r =
            p2pd__pb__response__unpack(NULL, body_len, body);
        if (!r || body_len < 2 || body[0] != 0x08)
            abort();
        p2pd__pb__response__free_unpacked(r, NULL);
        off += frame_len;
    }
    if (off != s->out.len)
        abort();
    if (s->out.len && memmem(s->out.data, s->out.len, seed, 8))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct identity ident;
    static int ready;
    struct ipc_host host = {0};
    struct ipc_peer peer = {.pid = 1, .uid = 1000, .gid = 1000};
    struct ipc_session s;
    size_t split;

    if (!ready) {
        uint8_t seed[32];
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(0x5a ^ i);
        identity_global_init();
        identity_from_seed(&ident, seed);
        ready = 1;
    }
    host.identity = &ident;
    host.home = "/fuzz";
    host.policy.daemon_uid = 1000;
    ipc_session_init(&s, &host, &peer);
    ipc_session_open(&s);
    split = size ? data[0] % (size + 1) : 0;
    ipc_session_feed(&s, data, split, 1);
    ipc_session_feed(&s, data + split, size - split, 2);
    ipc_session_eof(&s);
    check_output(&s, ident.seckey);
    ipc_session_cleanup(&s);
    return 0;
}
