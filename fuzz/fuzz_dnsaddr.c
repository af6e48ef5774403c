/* Fuzz target: a DNS answer to the TXT question for _dnsaddr.HOST, as a
 * resolver hands it over (net/dnsaddr.h): decoded, each dnsaddr= string
 * parsed as a multiaddr, with and without a PeerID to keep. */
#include <stdint.h>

#include "net/dnsaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct multiaddr out[16];
    struct peer_id peer;
    size_t n;

    if (peer_id_parse("12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
                      &peer))
        return 0;
    dnsaddr_parse(data, size, false, &peer, out, 16, &n);
    dnsaddr_parse(data, size, true, &peer, out, 16, &n);
    return 0;
}
