/* Fuzz target: the control server's input path, as a client drives it —
 * frame parsing, Request decoding, dispatch and Response encoding — on a
 * sans-I/O session. The first byte picks where the input is split into
 * two reads. Checks that every queued Response decodes, has its type, and
 * that no secret key byte run appears in the output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "identity/identity.h"

/* Aborts if a run of 8 bytes of the secret seed is in s's output. */
static void check_no_secret(const struct ipc_session *s, const uint8_t *seed)
{
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

    if (!ready) {
        uint8_t seed[32];
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(0x5a ^ i);
        identity_global_init();
        identity_from_seed(&ident, seed);
        ready = 1;
    }
    host.local_id = ident.id;
    host.home = "/fuzz";
    host.policy.daemon_uid = 1000;
    ipc_session_init(&s, &host, &peer);
    ipc_session_open(&s);
    fuzz_feed_split(&s, data, size, 1, 2);
    ipc_session_eof(&s);
    fuzz_check_responses(&s);
    check_no_secret(&s, ident.seckey);
    ipc_session_cleanup(&s);
    return 0;
}
