/* Fuzz target: PeerID text and binary parsers, and key protobufs (key
 * files and keys received in handshakes). */
#include <stdint.h>
#include <string.h>

#include "identity/identity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256];
    struct peer_id p;
    struct identity id;
    uint8_t pk[IDENTITY_PUBKEY_LEN];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

    identity_global_init();
    memcpy(text, data, n);
    text[n] = '\0';
    if (peer_id_parse(text, &p) == 0) {
        char back[PEER_ID_STR_MAX];
        peer_id_format(&p, back);
    }
    peer_id_from_bytes(data, size, &p);
    pubkey_decode_proto(data, size, pk);
    if (identity_decode_private(data, size, &id) == 0)
        identity_cleanup(&id);
    return 0;
}
