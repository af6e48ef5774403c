/* fastn netcheck: what the daemon knows about how peers reach it, from
 * STATUS, IDENTIFY and the peer list: AutoNAT's verdict and the NAT as
 * far as that tells, public and observed addresses, relay reservations
 * and the circuit addresses they give, connections direct and relayed,
 * and the DHT routing table (not in this build: null). */
#include <string.h>

#include "cli/cli.h"

struct netcheck {
    struct fastn_status *st;
    struct fastn_identity *id;
    struct fastn_peer_list *peers;
    size_t direct, relayed, n_circuit;
    char *circuit[64];
};

/* What AutoNAT's verdict says about a NAT in front of us. */
static const char *nat_of(const struct fastn_status *st)
{
    if (!strcmp(st->reachability, "public"))
        return "none: peers can dial this daemon";
    if (!strcmp(st->reachability, "private"))
        return st->n_observed_addrs
                   ? "yes: peers see another address than this daemon "
                     "listens on, and cannot dial it"
                   : "yes, or a firewall: peers cannot dial this daemon";
    return "unknown yet: AutoNAT has not asked enough peers";
}

static int netcheck_load(struct fastn_client *c, struct netcheck *n)
{
    int rc = fastn_client_status(c, &n->st);

    if (!rc)
        rc = fastn_client_identify(c, &n->id);
    if (!rc)
        rc = fastn_client_list_peers(c, &n->peers);
    if (rc)
        return rc;
    for (size_t i = 0; i < n->peers->n_peers; i++) {
        if (n->peers->peers[i].relayed)
            n->relayed++;
        else
            n->direct++;
    }
    for (size_t i = 0; i < n->id->n_addrs && n->n_circuit < 64; i++)
        if (strstr(n->id->addrs[i], "/p2p-circuit"))
            n->circuit[n->n_circuit++] = n->id->addrs[i];
    return 0;
}

static void netcheck_text(const struct netcheck *n)
{
    const struct fastn_status *st = n->st;

    printf("reachability %s (AutoNAT)\n",
           st->reachability[0] ? st->reachability : "unknown");
    cli_reach_evidence_print(st);
    printf("nat          %s\n", nat_of(st));
    for (size_t i = 0; i < st->n_public_addrs; i++)
        printf("public       %s\n", st->public_addrs[i]);
    for (size_t i = 0; i < st->n_observed_addrs; i++)
        printf("observed     %s\n", st->observed_addrs[i]);
    printf("relays       %u reservation%s held of %u relay%s %s\n",
           st->relay_reservations, st->relay_reservations == 1 ? "" : "s",
           st->relays, st->relays == 1 ? "" : "s",
           st->n_relays_found ? "found among connected peers" : "configured");
    for (size_t i = 0; i < st->n_relays_found; i++)
        printf("relay        %s (found: a connected peer serving hop)\n",
               st->relays_found[i]);
    for (size_t i = 0; i < n->n_circuit; i++)
        printf("circuit      %s/p2p/%s\n", n->circuit[i], n->id->peer_id);
    if (st->relay_service)
        printf("relaying     for %u peer%s, %u circuit%s now\n",
               st->relay_served, st->relay_served == 1 ? "" : "s",
               st->relay_circuits, st->relay_circuits == 1 ? "" : "s");
    printf("connections  %zu direct, %zu relayed\n", n->direct, n->relayed);
    if (st->dht_mode[0])
        printf("dht          %u peer%s in the routing table (%s%s)\n",
               st->dht_peers, st->dht_peers == 1 ? "" : "s", st->dht_mode,
               st->dht_server ? ", answering requests" : "");
    else
        printf("dht          not in this daemon\n");
}

static json_t *netcheck_json(const struct netcheck *n)
{
    const struct fastn_status *st = n->st;
    json_t *circ = json_array();
    char a[1024];

    for (size_t i = 0; i < n->n_circuit; i++) {
        snprintf(a, sizeof(a), "%s/p2p/%s", n->circuit[i], n->id->peer_id);
        json_array_append_new(circ, jstr(a));
    }
    json_t *o = json_pack(
        "{s:o,s:s,s:o,s:o}", "reachability",
        jstr(st->reachability[0] ? st->reachability : "unknown"), "nat",
        nat_of(st), "public_addrs",
        jstr_list(st->public_addrs, st->n_public_addrs), "observed_addrs",
        jstr_list(st->observed_addrs, st->n_observed_addrs));
    cli_reach_evidence_json(o, st);
    json_object_update_new(
        o,
        json_pack("{s:i,s:o,s:i,s:o,s:b,s:i,s:i,s:I,s:I,s:o}", "relays",
                  (int)st->relays, "relays_found",
                  jstr_list(st->relays_found, st->n_relays_found),
                  "relay_reservations", (int)st->relay_reservations,
                  "circuit_addrs", circ, "relay_service", st->relay_service,
                  "relay_served", (int)st->relay_served, "relay_circuits",
                  (int)st->relay_circuits, "direct_connections",
                  (json_int_t)n->direct, "relayed_connections",
                  (json_int_t)n->relayed, "dht_table_size",
                  st->dht_mode[0] ? json_integer(st->dht_peers) : json_null()));
    return o;
}

int cli_cmd_netcheck(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct netcheck n;
    char *pos[1];
    int np, rc = cli_parse(cli, argc, argv, NULL, pos, 0, &np);

    if (rc)
        return rc;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    memset(&n, 0, sizeof(n));
    rc = netcheck_load(c, &n);
    if (rc)
        rc = cli_fail(c, rc);
    else if (cli->json)
        cli_emit(netcheck_json(&n));
    else
        netcheck_text(&n);
    fastn_status_free(n.st);
    fastn_identity_free(n.id);
    fastn_peer_list_free(n.peers);
    fastn_client_free(c);
    return rc;
}
