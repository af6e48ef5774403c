/* Fuzz target: mDNS datagrams. Each input is decoded, and handled by a
 * node with addresses (as a query it answers, as an answer it reads).
 * Properties: decoding ends (pointer loops are refused) within the
 * bounds; every answer the node writes decodes; every peer it reports
 * has at least one address, each passing its policy and naming that
 * peer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"
#include "net/mdns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct identity id;
    static int ready;
    struct mdns_config cfg;
    struct mdns node;
    struct mdns_found found[4];
    struct mdns_msg *m = mdns_msg_new();
    struct multiaddr addr;
    struct peer_id last;
    struct buf reply;
    uint8_t rnd[40] = {7};
    size_t n;

    if (!ready) {
        uint8_t seed[32] = {9};
        identity_global_init();
        identity_from_seed(&id, seed);
        ready = 1;
    }
    if (!m)
        return 0;
    if (mdns_decode(data, size, m) == 0 &&
        (m->n_q > MDNS_MAX_QUESTIONS || m->n_rr > MDNS_MAX_RECORDS))
        abort();
    mdns_config_default(&cfg);
    mdns_init(&node, &cfg, &id.id, rnd, sizeof(rnd), 0);
    multiaddr_parse("/ip4/192.168.1.9/tcp/4001", &addr);
    mdns_set_addrs(&node, &addr, 1);
    buf_init(&reply, 2 * MDNS_MAX_PACKET);
    if (mdns_handle(&node, data, size, 0, &reply, found, 4, &n) == 0) {
        if (reply.len && mdns_decode(reply.data, reply.len, m) != 0)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (found[i].addrs.n == 0 || peer_id_equal(&found[i].id, &id.id))
                abort();
            for (size_t j = 0; j < found[i].addrs.n; j++)
                if (multiaddr_get_peer(&found[i].addrs.a[j], &last) != 0 ||
                    !peer_id_equal(&last, &found[i].id) ||
                    !addr_policy_allows(&cfg.policy,
                                        addr_scope_of(&found[i].addrs.a[j])))
                    abort();
        }
    }
    buf_cleanup(&reply);
    mdns_msg_free(m);
    return 0;
}
