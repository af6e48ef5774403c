/* fastn's commands: id, status, peers, version, and the table of every
 * command with its --help text (which states its --json shape). */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/term.h"

/* A command that takes no argument but --json and --help. */
static int no_args(struct cli *cli, int argc, char **argv)
{
    char *pos[1];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 0, &n);

    return rc;
}

/* What fastn id adds from STATUS: reachability and public addresses
 * (NULL from a daemon without the fastn extension). */
static struct fastn_status *id_status(struct fastn_client *c)
{
    struct fastn_status *st = NULL;

    if (fastn_client_status(c, &st) != 0)
        return NULL;
    return st;
}

static int cmd_id(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct fastn_identity *id = NULL;
    struct fastn_status *st;
    char ma[1024];
    json_t *addrs;
    int rc = no_args(cli, argc, argv);

    if (rc)
        return rc;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_identify(c, &id);
    if (rc) {
        rc = cli_fail(c, rc);
        fastn_client_free(c);
        return rc;
    }
    st = id_status(c);
    /* addresses as peers use them: with /p2p/PEERID */
    addrs = json_array();
    if (!cli->json)
        printf("%s\n", id->peer_id);
    for (size_t i = 0; i < id->n_addrs; i++) {
        snprintf(ma, sizeof(ma), "%s/p2p/%s", id->addrs[i], id->peer_id);
        if (cli->json)
            json_array_append_new(addrs, jstr(ma));
        else
            printf("%s\n", ma);
    }
    if (cli->json) {
        json_t *o = json_pack("{s:o,s:o}", "peer_id", jstr(id->peer_id),
                              "addrs", addrs);
        if (st && st->reachability[0])
            json_object_update_new(
                o, json_pack("{s:s,s:o}", "reachability", st->reachability,
                             "public_addrs",
                             jstr_list(st->public_addrs, st->n_public_addrs)));
        cli_emit(o);
    } else {
        json_decref(addrs);
        /* one address per line is what scripts read: the verdict only
         * for a person */
        if (st && st->reachability[0] && isatty(STDOUT_FILENO))
            printf("reachability: %s\n", st->reachability);
    }
    fastn_status_free(st);
    fastn_identity_free(id);
    fastn_client_free(c);
    return 0;
}

static void print_uptime(uint64_t ms)
{
    uint64_t s = ms / 1000;
    if (s >= 86400)
        printf("%" PRIu64 "d %" PRIu64 "h", s / 86400, s % 86400 / 3600);
    else if (s >= 3600)
        printf("%" PRIu64 "h %" PRIu64 "m", s / 3600, s % 3600 / 60);
    else if (s >= 60)
        printf("%" PRIu64 "m %" PRIu64 "s", s / 60, s % 60);
    else
        printf("%" PRIu64 "s", s);
}

static void status_text(struct fastn_client *c, const struct fastn_status *st)
{
    char where[512];

    printf("fastnd %s (pid %u), up ", st->version, st->pid);
    print_uptime(st->uptime_ms);
    printf("\n");
    printf("peer id      %s\n", st->peer_id);
    printf("home         %s\n", st->home);
    printf("socket       %s%s\n", fastn_client_socket_path(c),
           st->socket_activated ? " (passed in: socket activation)" : "");
    if (st->config && st->config[0])
        printf("config       %s\n", st->config);
    if (st->unit[0])
        printf("unit         %s%s\n", st->unit,
               st->user_unit ? " (systemctl --user)" : "");
    printf("log          %s\n", cli_log_where(c, st, where, sizeof(where)));
    if (st->signer_pid)
        printf("privsep      the key is in the signer process (pid %u); "
               "seccomp %s\n",
               st->signer_pid, st->seccomp[0] ? st->seccomp : "?");
    for (size_t i = 0; i < st->n_listen_addrs; i++)
        printf("listening    %s\n", st->listen_addrs[i]);
    if (st->reachability[0])
        printf("reachability %s (AutoNAT)%s\n", st->reachability,
               st->autonat_server ? "" : "; not answering others");
    if (st->reachability[0])
        cli_reach_evidence_print(st);
    for (size_t i = 0; i < st->n_public_addrs; i++)
        printf("public       %s\n", st->public_addrs[i]);
    for (size_t i = 0; i < st->n_observed_addrs; i++)
        printf("observed     %s\n", st->observed_addrs[i]);
    if (st->relays)
        printf("relays       %u reservation%s held of %u relay%s\n",
               st->relay_reservations, st->relay_reservations == 1 ? "" : "s",
               st->relays, st->relays == 1 ? "" : "s");
    if (st->relay_service)
        printf("relaying     for %u peer%s, %u circuit%s now\n",
               st->relay_served, st->relay_served == 1 ? "" : "s",
               st->relay_circuits, st->relay_circuits == 1 ? "" : "s");
    if (st->dht_mode[0])
        printf("dht          %u peer%s in the routing table (%s%s)\n",
               st->dht_peers, st->dht_peers == 1 ? "" : "s", st->dht_mode,
               st->dht_server ? ", answering requests" : "");
    printf("peers        %u\n", st->peers);
    printf("connections  %u (%u upgrading)\n", st->connections, st->pending);
    printf("streams      %u (%" PRIu64 " since start)\n", st->streams,
           st->streams_total);
    printf("dials        %" PRIu64 "\n", st->dials);
    printf("handshakes   %" PRIu64 "\n", st->handshakes);
    printf("handlers     %u\n", st->handlers);
    printf("plugins      %u\n", st->plugins);
    printf("clients      %u\n", st->clients);
    printf("requests     %" PRIu64 "\n", st->requests);
}

void cli_reach_evidence_print(const struct fastn_status *st)
{
    printf("autonat      answers: %u v1, %u v2", st->autonat_v1_answers,
           st->autonat_v2_answers);
    if (st->reach_decided_by)
        printf("; decided by v%u", st->reach_decided_by);
    if (st->reach_confirmed_addr && st->reach_confirmed_addr[0])
        printf("; %s confirmed by v%u", st->reach_confirmed_addr,
               st->reach_confirmed_by);
    printf("\n");
}

void cli_reach_evidence_json(json_t *o, const struct fastn_status *st)
{
    bool confirmed = st->reach_confirmed_addr && st->reach_confirmed_addr[0];

    json_object_update_new(
        o, json_pack("{s:i,s:i,s:o,s:o,s:o}", "autonat_v1_answers",
                     (int)st->autonat_v1_answers, "autonat_v2_answers",
                     (int)st->autonat_v2_answers, "reach_decided_by",
                     st->reach_decided_by ? json_integer(st->reach_decided_by)
                                          : json_null(),
                     "reach_confirmed_addr",
                     confirmed ? jstr(st->reach_confirmed_addr) : json_null(),
                     "reach_confirmed_by",
                     confirmed ? json_integer(st->reach_confirmed_by)
                               : json_null()));
}

static json_t *status_json(const struct fastn_status *st, const char *sock)
{
    json_t *o = json_pack(
        "{s:o,s:i,s:i,s:I,s:o,s:o,s:o,s:o}", "version", jstr(st->version),
        "extension_version", (int)st->ext_version, "pid", (int)st->pid,
        "uptime_ms", (json_int_t)st->uptime_ms, "peer_id", jstr(st->peer_id),
        "home", jstr(st->home), "socket", jstr(sock), "listen_addrs",
        jstr_list(st->listen_addrs, st->n_listen_addrs));

    json_object_update_new(
        o, json_pack(
               "{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:i,s:I,s:I,s:I}", "peers",
               (int)st->peers, "connections", (int)st->connections, "streams",
               (int)st->streams, "handlers", (int)st->handlers, "plugins",
               (int)st->plugins, "clients", (int)st->clients, "identities",
               (int)st->identities, "requests", (json_int_t)st->requests,
               "pending", (int)st->pending, "dials", (json_int_t)st->dials,
               "handshakes", (json_int_t)st->handshakes, "streams_total",
               (json_int_t)st->streams_total));
    json_object_update_new(
        o, json_pack("{s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:o}", "log_target",
                     jstr(st->log_target), "log_file", jstr(st->log_file),
                     "config", jstr(st->config), "unit", jstr(st->unit),
                     "user_unit", st->user_unit, "socket_activated",
                     st->socket_activated, "foreground", st->foreground,
                     "restart_keys",
                     jstr_list(st->restart_keys, st->n_restart_keys)));
    json_object_update_new(o, json_pack("{s:I,s:o}", "signer_pid",
                                        (json_int_t)st->signer_pid, "seccomp",
                                        jstr(st->seccomp)));
    json_object_update_new(
        o, json_pack("{s:o,s:o,s:o,s:b}", "reachability",
                     jstr(st->reachability), "public_addrs",
                     jstr_list(st->public_addrs, st->n_public_addrs),
                     "observed_addrs",
                     jstr_list(st->observed_addrs, st->n_observed_addrs),
                     "autonat_server", st->autonat_server));
    cli_reach_evidence_json(o, st);
    json_object_update_new(
        o, json_pack("{s:i,s:i,s:b,s:i,s:i}", "relays", (int)st->relays,
                     "relay_reservations", (int)st->relay_reservations,
                     "relay_service", st->relay_service, "relay_served",
                     (int)st->relay_served, "relay_circuits",
                     (int)st->relay_circuits));
    json_object_update_new(o, json_pack("{s:o,s:b,s:i}", "dht_mode",
                                        jstr(st->dht_mode), "dht_server",
                                        st->dht_server, "dht_peers",
                                        (int)st->dht_peers));
    return o;
}

static int cmd_status(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct fastn_status *st = NULL;
    int rc = no_args(cli, argc, argv);

    if (rc)
        return rc;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_status(c, &st);
    if (rc) {
        rc = cli_fail(c, rc);
        fastn_client_free(c);
        return rc;
    }
    if (cli->json)
        cli_emit(status_json(st, fastn_client_socket_path(c)));
    else
        status_text(c, st);
    fastn_status_free(st);
    fastn_client_free(c);
    return 0;
}

static json_t *peer_json(const struct fastn_peer *p)
{
    return json_pack("{s:o,s:o,s:s,s:o,s:I,s:i,s:I,s:o,s:s}", "peer_id",
                     jstr(p->peer_id), "addrs", jstr_list(p->addrs, p->n_addrs),
                     "direction", p->inbound ? "inbound" : "outbound", "agent",
                     jstr(p->agent), "rtt_us", (json_int_t)p->rtt_us, "streams",
                     (int)p->streams, "connected_ms",
                     (json_int_t)p->connected_ms, "protocols",
                     jstr_list(p->protocols, p->n_protocols), "path",
                     p->relayed ? "relayed" : "direct");
}

/* One line per peer; what the peer told us about itself (agent,
 * addresses) is escaped for the terminal. */
static void peer_text(const struct fastn_peer *p)
{
    term_fputs(p->peer_id, stdout, 0);
    for (size_t j = 0; j < p->n_addrs; j++) {
        putchar(' ');
        term_fputs(p->addrs[j], stdout, 0);
    }
    printf(" %s", p->inbound ? "inbound" : "outbound");
    if (p->agent[0]) {
        putchar(' ');
        term_fputs(p->agent, stdout, 0);
    }
    if (p->rtt_us)
        printf(" rtt=%.3fms", (double)p->rtt_us / 1000.0);
    printf(" %s\n", p->relayed ? "relayed" : "direct");
}

static int cmd_peers(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct fastn_peer_list *l = NULL;
    json_t *a;
    int rc = no_args(cli, argc, argv);

    if (rc)
        return rc;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_list_peers(c, &l);
    if (rc) {
        rc = cli_fail(c, rc);
        fastn_client_free(c);
        return rc;
    }
    if (cli->json) {
        a = json_array();
        for (size_t i = 0; i < l->n_peers; i++)
            json_array_append_new(a, peer_json(&l->peers[i]));
        cli_emit(json_pack("{s:o}", "peers", a));
    } else if (l->n_peers == 0) {
        cli_note("no peers connected");
    } else {
        for (size_t i = 0; i < l->n_peers; i++)
            peer_text(&l->peers[i]);
    }
    fastn_peer_list_free(l);
    fastn_client_free(c);
    return 0;
}

/* fastn version: this program's, and the running daemon's (never
 * started for it). */
static int cmd_version(struct cli *cli, int argc, char **argv)
{
    struct fastn_status *st = NULL;
    struct fastn_client *c;
    json_t *daemon = json_null();
    int err, rc = no_args(cli, argc, argv);

    if (rc)
        return rc;
    if ((c = cli_connect_running(cli, &err)) &&
        fastn_client_status(c, &st) == 0)
        daemon =
            json_pack("{s:o,s:i,s:i}", "version", jstr(st->version), "pid",
                      (int)st->pid, "extension_version", (int)st->ext_version);
    if (cli->json) {
        cli_emit(json_pack("{s:s,s:s,s:o}", "fastn", FASTN_VERSION, "libfastn",
                           fastn_version(), "daemon", daemon));
    } else {
        printf("fastn %s (libfastn %s)\n", FASTN_VERSION, fastn_version());
        if (st)
            printf("fastnd %s (pid %u)%s\n", st->version, st->pid,
                   strcmp(st->version, FASTN_VERSION)
                       ? ": another version; fastn restart runs the "
                         "installed one"
                       : "");
        else
            printf("fastnd not running\n");
        json_decref(daemon);
    }
    fastn_status_free(st);
    fastn_client_free(c);
    return 0;
}

const struct cli_command cli_commands[] = {
    {"id", "show this daemon's PeerID and listen addresses",
     "usage: fastn id [--json]\n"
     "\n"
     "Prints the daemon's PeerID (12D3KooW...), then each multiaddr it\n"
     "listens on, and its public ones as far as known, with /p2p/PEERID,\n"
     "one per line: what another peer passes to fastn connect. On a\n"
     "terminal a last line says whether it is reachable from outside\n"
     "(public, private, unknown: AutoNAT's verdict).\n"
     "\n"
     "--json: {\"peer_id\", \"addrs\": [...], \"reachability\",\n"
     "\"public_addrs\": [...]}\n",
     cmd_id},
    {"status", "show the daemon's version, uptime and counters",
     "usage: fastn status [--json]\n"
     "\n"
     "Prints the daemon's version, pid, uptime, PeerID, home, socket, config\n"
     "file, unit, where its log goes, listen addresses, whether it is\n"
     "reachable from outside (AutoNAT: public, private, unknown) with its\n"
     "public and observed addresses, relay reservations and the relay\n"
     "service's use, and its counts of peers, connections,\n"
     "streams, handlers, plugins, control clients and requests served.\n"
     "\n"
     "--json: {\"version\", \"extension_version\", \"pid\", \"uptime_ms\",\n"
     "\"peer_id\", \"home\", \"socket\", \"listen_addrs\", \"peers\",\n"
     "\"connections\", \"streams\", \"handlers\", \"plugins\", \"clients\",\n"
     "\"identities\", \"requests\", \"pending\", \"dials\", \"handshakes\",\n"
     "\"streams_total\", \"log_target\", \"log_file\", \"config\", \"unit\",\n"
     "\"user_unit\", \"socket_activated\", \"foreground\", \"restart_keys\",\n"
     "\"signer_pid\" (the process holding the identity key; 0: none),\n"
     "\"seccomp\" (on, log or off), \"reachability\", \"public_addrs\",\n"
     "\"observed_addrs\", \"autonat_server\", \"autonat_v1_answers\",\n"
     "\"autonat_v2_answers\" (AutoNAT answers counted since start),\n"
     "\"reach_decided_by\" (the AutoNAT version whose answer last changed\n"
     "reachability; null: none), \"reach_confirmed_addr\" and\n"
     "\"reach_confirmed_by\" (while public, the address a server confirmed\n"
     "and its version; null: none), \"relays\", \"relay_reservations\",\n"
     "\"relay_service\", \"relay_served\", \"relay_circuits\", \"dht_mode\",\n"
     "\"dht_server\", \"dht_peers\"}\n",
     cmd_status},
    {"peers", "list the peers the daemon is connected to",
     "usage: fastn peers [--json]\n"
     "\n"
     "Prints one line per connected peer: its PeerID, the connection's\n"
     "remote address, inbound or outbound, the peer's agent, the last\n"
     "round trip, and direct or relayed (through a circuit relay).\n"
     "\n"
     "--json: {\"peers\": [{\"peer_id\", \"addrs\", \"direction\", \"agent\",\n"
     "\"rtt_us\", \"streams\", \"connected_ms\", \"protocols\", \"path\"}]}\n",
     cmd_peers},
    {"connect", "connect to a peer (and remember its address)",
     "usage: fastn connect MULTIADDR|PEERID [--wait-direct] [--json]\n"
     "\n"
     "Makes the daemon connect to the peer at MULTIADDR, which ends in\n"
     "/p2p/PEERID (e.g. /ip4/192.0.2.7/tcp/4004/p2p/12D3KooW...), through\n"
     "that address (also when the peer is connected through another one),\n"
     "and remember it: later commands can name the peer by its PeerID\n"
     "alone, also after a restart. When the address does not answer it\n"
     "fails, naming it. A bare PeerID connects through the addresses the\n"
     "daemon knows, else through those the DHT finds (tried side by\n"
     "side: direct addresses first, circuit ones 500 ms later; the first\n"
     "to connect wins). Prints \"connected to PEERID\".\n"
     "\n"
     "--wait-direct: when the connection is relayed, wait (within\n"
     "--timeout) for the hole punch (DCUtR) to make it direct; prints a\n"
     "second line with each phase: how the peer was found (connected,\n"
     "known addresses, or the DHT, with the lookup's time), the\n"
     "connection's time and path, and the hole punch's time; exit 1 with\n"
     "why when it stays relayed.\n"
     "\n"
     "--json: {\"peer_id\", \"target\", \"found\" (connected|known|dht|\n"
     "address), \"path\" (direct|relayed, at the end), \"total_ms\"; for a\n"
     "PeerID \"lookup_ms\", \"connect_ms\", \"connect_path\"; with\n"
     "--wait-direct \"punch_ms\" or \"relayed_why\"}\n",
     cli_cmd_connect},
    {"disconnect", "close the connection to a peer",
     "usage: fastn disconnect PEER [--json]\n"
     "\n"
     "Closes the daemon's connections to PEER (a PeerID); their streams end\n"
     "with an error. Not being connected is no error.\n"
     "\n"
     "--json: {\"peer_id\", \"disconnected\": true}\n",
     cli_cmd_disconnect},
    {"dht", "find peers, providers and values in the DHT",
     "usage: fastn dht find-peer PEERID\n"
     "       fastn dht closest KEY\n"
     "       fastn dht providers CID [-n COUNT]\n"
     "       fastn dht provide CID\n"
     "       fastn dht get KEY\n"
     "       fastn dht put KEY VALUE-HEX\n"
     "       fastn dht public-key PEERID [--json]\n"
     "\n"
     "Asks the daemon's Kademlia DHT (/ipfs/kad/1.0.0). find-peer prints\n"
     "the peer's addresses (MULTIADDR/p2p/PEERID, one a line); closest the\n"
     "PeerIDs closest to KEY; providers the peers that provide CID (Qm...\n"
     "or b...), with their addresses; provide announces this daemon as a\n"
     "provider of CID; get prints the value of KEY in hex, put stores one\n"
     "(fastn's DHT takes /pk/ records only); public-key prints a peer's\n"
     "public key (protobuf, hex). KEY /pk/PEERID is that peer's /pk/\n"
     "record; any other KEY is its bytes. put and provide need an admin\n"
     "client. Exit 1 when nothing was found (NOT_FOUND), with the reason.\n"
     "\n"
     "--json: {\"peers\": [{\"peer_id\", \"addrs\"}]}, or\n"
     "{\"values\": [{\"value_hex\"}]}, or {\"stored\": true}\n",
     cli_cmd_dht},
    {"ping", "measure the round trip to a peer",
     "usage: fastn ping PEER [-c COUNT] [-i SECS] [--json]\n"
     "\n"
     "Pings PEER (a PeerID, or a multiaddr with /p2p/ to connect first)\n"
     "with /ipfs/ping/1.0.0 COUNT times (default 4), SECS apart (default\n"
     "1), printing each round trip and its path (direct, or relayed\n"
     "through a circuit relay), then min/avg/max. Exit 1 when no ping\n"
     "was answered (with --json, the error object of the last failure).\n"
     "\n"
     "--json: {\"peer_id\", \"rtt_ms\": [...], \"path\": [...], \"failed\",\n"
     "\"avg_ms\", \"min_ms\", \"max_ms\"}\n",
     cli_cmd_ping},
    {"netcheck", "show how peers reach this daemon: NAT, relays, paths",
     "usage: fastn netcheck [--json]\n"
     "\n"
     "Prints whether the daemon is reachable from outside (AutoNAT:\n"
     "public, private, unknown), what that says about a NAT in front of\n"
     "it, its public and observed addresses, the relay reservations it\n"
     "holds and the /p2p-circuit addresses peers dial it through, how\n"
     "many connections are direct and how many relayed, and the DHT\n"
     "routing table (not in this daemon yet).\n"
     "\n"
     "--json: {\"reachability\", \"nat\", \"public_addrs\",\n"
     "\"observed_addrs\", \"autonat_v1_answers\", \"autonat_v2_answers\",\n"
     "\"reach_decided_by\", \"reach_confirmed_addr\", \"reach_confirmed_by\"\n"
     "(as fastn status), \"relays\", \"relays_found\" (PeerIDs of the\n"
     "relays found among connected peers), \"relay_reservations\",\n"
     "\"circuit_addrs\", \"relay_service\", \"relay_served\",\n"
     "\"relay_circuits\", \"direct_connections\", \"relayed_connections\",\n"
     "\"dht_table_size\" (null: no DHT)}\n",
     cli_cmd_netcheck},
    {"call", "open a stream to a peer: stdin to it, it to stdout",
     "usage: fastn call PEER PROTOCOL [--json]\n"
     "\n"
     "Opens a stream to PEER (a PeerID, or a multiaddr with /p2p/) for\n"
     "PROTOCOL and, like netcat, copies stdin to the stream and the stream\n"
     "to stdout. At the end of stdin the stream's sending side is closed\n"
     "(the peer reads EOF); fastn exits once the peer has closed its side\n"
     "too. Exit 1 when the stream could not be opened (a peer that does\n"
     "not serve PROTOCOL: with the protocols it serves) or was cut (reset,\n"
     "the peer or the connection gone), with the reason on stderr.\n"
     "\n"
     "--json: the reply is kept (up to 16 MiB) and printed as\n"
     "{\"peer_id\", \"protocol\", \"sent\", \"received\", \"reply\"} (or\n"
     "\"reply_base64\" when it is not UTF-8 text)\n",
     cli_cmd_call},
    {"ssh", "log in to a peer with OpenSSH, through the daemon",
     "usage: fastn ssh [USER@]PEER [SSH-OPTIONS] [COMMAND]\n"
     "\n"
     "Runs the system's ssh to PEER (a PeerID, or a multiaddr with /p2p/)\n"
     "with a ProxyCommand that carries it over a stream to PEER's\n"
     "/fastn/ssh/1.0.0 (fastn ssh-proxy PEER): no address or open port is\n"
     "needed on PEER's side. PEER's daemon serves it with the ssh plugin,\n"
     "which connects allowed peers to its local sshd (fastn plugin call\n"
     "ssh allow PEERID, on PEER). SSH-OPTIONS and COMMAND go to ssh as\n"
     "they are (e.g. -i KEY, -p is ignored: the plugin picks the port).\n"
     "ssh checks PEER's host key under the name PEERID in known_hosts,\n"
     "and authenticates you as it always does. $FASTN_SSH names another\n"
     "ssh program. The exit status is ssh's.\n",
     cli_cmd_ssh},
    {"ssh-proxy",
     "ssh's ProxyCommand: stdin and stdout over a stream to a peer",
     "usage: fastn ssh-proxy PEER\n"
     "\n"
     "Opens a stream to PEER's /fastn/ssh/1.0.0 (the ssh plugin) and\n"
     "copies stdin to it and it to stdout, for ssh's ProxyCommand. In\n"
     "~/.ssh/config:\n"
     "\n"
     "  Host mybox\n"
     "      ProxyCommand fastn ssh-proxy 12D3KooW...\n"
     "  Host 12D3KooW*\n"
     "      ProxyCommand fastn ssh-proxy %n\n"
     "\n"
     "then `ssh mybox`, `scp file mybox:` and `rsync` go through the daemon\n"
     "(not %h: ssh lowercases it, and a PeerID is case-sensitive).\n"
     "Exit 1 when the stream could not be opened (PEER does not serve ssh,\n"
     "or refused us: ask its owner to allow your PeerID) or was cut.\n",
     cli_cmd_ssh_proxy},
    {"listen", "serve a protocol: print streams, or run a command per stream",
     "usage: fastn listen PROTOCOL [-n COUNT] [--max N] [--balanced] [--json]\n"
     "                    [-- CMD ARGS...]\n"
     "\n"
     "Registers this program as a handler of PROTOCOL until interrupted.\n"
     "Other fastn listen handlers of PROTOCOL share its streams (each in\n"
     "turn). A protocol a plugin or an expose serves is refused, since its\n"
     "streams would be taken from them, unless --balanced: then it shares\n"
     "them too, in turn. Without CMD, each incoming stream's bytes are\n"
     "written to stdout (one stream at a time; nothing is sent back) and\n"
     "\"stream from PEERID\" to stderr. With CMD, each stream runs CMD ARGS\n"
     "with the stream as its stdin and stdout, as inetd does\n"
     "(FASTN_PEER_ID, FASTN_PROTOCOL and FASTN_REMOTE_ADDR set), at most N\n"
     "at once (default 64). -n COUNT exits after COUNT streams.\n"
     "\n"
     "--json: one object per line on stdout, the data then not printed:\n"
     "{\"event\": \"listening\", \"protocol\"} once registered, then per\n"
     "stream {\"event\": \"stream\", \"peer_id\", \"protocol\", \"addr\"} and "
     "at\n"
     "its end {\"event\": \"end\", \"peer_id\", \"protocol\", \"addr\",\n"
     "\"bytes\"} (with CMD: \"exit_code\", or \"signal\", instead of "
     "\"bytes\")\n",
     cli_cmd_listen},
    {"plugin", "install, list, inspect and call plugins", cli_plugin_usage,
     cli_cmd_plugin},
    {"peer", "allow or block peers; the peers allowed and blocked",
     cli_peer_usage, cli_cmd_peer},
    {"trust", "the publishers whose signed plugins install", cli_trust_usage,
     cli_cmd_trust},
    {"registry", "the registries plugins are installed from",
     cli_registry_usage, cli_cmd_registry},
    {"notifications", "list, follow and mark notifications", cli_notify_usage,
     cli_cmd_notifications},
    {"chat", "send and read messages (the chat plugin)", cli_chat_usage,
     cli_cmd_chat},
    {"files", "share and fetch files by IPFS CID (the files plugin)",
     cli_files_usage, cli_cmd_files},
    {"mail", "mail between peers for your mail client (the mail plugin)",
     cli_mail_usage, cli_cmd_mail},
    {"forward", "forward a local TCP port to a peer (e.g. for ssh)",
     cli_forward_usage, cli_cmd_forward},
    {"expose", "serve a local TCP service to allowed peers", cli_expose_usage,
     cli_cmd_expose},
    {"perf", "measure throughput to a peer (run by the daemon)", cli_perf_usage,
     cli_cmd_perf},
    {"stop", "stop the daemon cleanly and wait until it is gone",
     cli_stop_usage, cli_cmd_stop},
    {"restart", "stop the daemon and start it again, keeping its peers",
     cli_restart_usage, cli_cmd_restart},
    {"config", "read and change the daemon's config (applied at once)",
     cli_config_usage, cli_cmd_config},
    {"log", "show (and follow) the daemon's log, wherever it goes",
     cli_log_usage, cli_cmd_log},
    {"doctor", "check the daemon and its home, each problem with its fix",
     cli_doctor_usage, cli_cmd_doctor},
    {"version", "the version of fastn and of the running daemon",
     "usage: fastn version [--json]\n"
     "\n"
     "Prints fastn's version and the running daemon's (none is started).\n"
     "\n"
     "--json: {\"fastn\", \"libfastn\", \"daemon\": {\"version\", \"pid\",\n"
     "\"extension_version\"} or null}\n",
     cmd_version},
    {"help", "this help, or a command's: fastn help CMD",
     "usage: fastn help [CMD] [--json]\n"
     "\n"
     "Prints fastn's usage and its commands, or the usage of CMD (as\n"
     "fastn CMD --help does).\n"
     "\n"
     "--json: {\"commands\": [{\"name\", \"summary\"}]}, or for CMD\n"
     "{\"command\", \"usage\"}\n",
     cli_cmd_help},
};
const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);
