/* Fuzz target: a peer's identity key of any libp2p key type and a
 * signature by it, as a Noise handshake payload or a signed envelope
 * carries them: [2-byte key length][PublicKey protobuf][signature]. Both
 * the PeerID derivation and the check (DER keys and signatures through
 * libcrypto, js-libp2p's ECDSA forms) must refuse garbage cleanly. */
#include <stdint.h>
#include <string.h>

#include "identity/identity.h"
#include "net/peer_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t msg[] = "noise-libp2p-static-key:fuzz";
    struct peer_id id;
    size_t klen;

    identity_global_init();
    if (size < 2)
        return 0;
    klen = (size_t)data[0] << 8 | data[1];
    if (klen > size - 2)
        klen = size - 2;
    peer_key_id(data + 2, klen, &id);
    peer_key_verify(data + 2, klen, msg, sizeof(msg) - 1, data + 2 + klen,
                    size - 2 - klen);
    return 0;
}
