/*
 * The signer's request reader (identity/signer.c, signer_serve), fed one
 * request packet as the daemon would send it. Property: it answers with
 * a signature only for a sign request whose bytes are a payload kind it
 * knows (signer_classify), and that signature verifies; anything else is
 * refused with an error and no signature bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "identity/signer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct identity id;
    static int ready;
    uint8_t rep[4 + IDENTITY_SIG_LEN + 1];
    int sv[2];

    if (!ready) {
        uint8_t seed[32] = {7};
        identity_global_init();
        identity_from_seed(&id, seed);
        ready = 1;
    }
    if (size == 0 || size > SIGNER_MSG_MAX + 2 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0)
        return 0;
    if (send(sv[0], data, size, 0) != (ssize_t)size) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[0], SHUT_WR);
    signer_serve(sv[1], &id);
    ssize_t n = recv(sv[0], rep, sizeof(rep), 0);
    if (n != 4 + IDENTITY_SIG_LEN)
        abort();
    int32_t rc = (int32_t)((uint32_t)rep[0] << 24 | (uint32_t)rep[1] << 16 |
                           (uint32_t)rep[2] << 8 | rep[3]);
    bool known = data[0] == 1 && size - 1 <= SIGNER_MSG_MAX &&
                 signer_classify(data + 1, size - 1) != SIGNER_KIND_NONE;
    if (rc == 0 &&
        (!known || !identity_verify(id.pubkey, data + 1, size - 1, rep + 4)))
        abort(); /* signed what it must not, or a bad signature */
    if (rc != 0) {
        for (size_t i = 4; i < (size_t)n; i++)
            if (rep[i])
                abort(); /* a refusal carries no signature bytes */
    }
    close(sv[0]);
    close(sv[1]);
    return 0;
}
