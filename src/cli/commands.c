/* fastn's commands: id, status, peers. Each prints text for people, or
 * one JSON object with --json. */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"
#include "util/term.h"

/* Accepts --json and --help after the command name. */
static int command_flags(struct cli *cli, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            cli->json = true;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            cli->help = true;
        } else {
            fprintf(stderr,
                    "fastn %s: unexpected argument '%s'; see "
                    "fastn %s --help\n",
                    argv[0], argv[i], argv[0]);
            return CLI_EXIT_USAGE;
        }
    }
    return 0;
}

static int cmd_id(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct fastn_identity *id = NULL;
    int rc = command_flags(cli, argc, argv);

    if (rc || cli->help)
        return rc;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_client_identify(c, &id);
    if (rc) {
        rc = cli_fail(c, rc);
        fastn_client_free(c);
        return rc;
    }
    /* addresses as peers use them: with /p2p/PEERID */
    if (cli->json) {
        printf("{\"peer_id\":");
        json_string(stdout, id->peer_id);
        printf(",\"addrs\":[");
        for (size_t i = 0; i < id->n_addrs; i++) {
            printf(i ? ",\"%s/p2p/%s\"" : "\"%s/p2p/%s\"", id->addrs[i],
                   id->peer_id);
        }
        printf("]}\n");
    } else {
        printf("%s\n", id->peer_id);
        for (size_t i = 0; i < id->n_addrs; i++)
            printf("%s/p2p/%s\n", id->addrs[i], id->peer_id);
    }
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

static void status_text(const struct fastn_status *st, const char *sock)
{
    printf("fastnd %s (pid %u), up ", st->version, st->pid);
    print_uptime(st->uptime_ms);
    printf("\n");
    printf("peer id      %s\n", st->peer_id);
    printf("home         %s\n", st->home);
    printf("socket       %s\n", sock);
    for (size_t i = 0; i < st->n_listen_addrs; i++)
        printf("listening    %s\n", st->listen_addrs[i]);
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

static void status_json(const struct fastn_status *st, const char *sock)
{
    printf("{\"version\":");
    json_string(stdout, st->version);
    printf(",\"extension_version\":%u,\"pid\":%u,\"uptime_ms\":%" PRIu64
           ",\"peer_id\":",
           st->ext_version, st->pid, st->uptime_ms);
    json_string(stdout, st->peer_id);
    printf(",\"home\":");
    json_string(stdout, st->home);
    printf(",\"socket\":");
    json_string(stdout, sock);
    printf(",\"listen_addrs\":");
    json_string_list(stdout, st->listen_addrs, st->n_listen_addrs);
    printf(
        ",\"peers\":%u,\"connections\":%u,\"streams\":%u,\"handlers\":%u,"
        "\"plugins\":%u,\"clients\":%u,\"identities\":%u,\"requests\":%" PRIu64,
        st->peers, st->connections, st->streams, st->handlers, st->plugins,
        st->clients, st->identities, st->requests);
    printf(",\"pending\":%u,\"dials\":%" PRIu64 ",\"handshakes\":%" PRIu64
           ",\"streams_total\":%" PRIu64 "}\n",
           st->pending, st->dials, st->handshakes, st->streams_total);
}

static int cmd_status(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct fastn_status *st = NULL;
    int rc = command_flags(cli, argc, argv);

    if (rc || cli->help)
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
        status_json(st, fastn_client_socket_path(c));
    else
        status_text(st, fastn_client_socket_path(c));
    fastn_status_free(st);
    fastn_client_free(c);
    return 0;
}

static void peers_json(const struct fastn_peer_list *l)
{
    printf("{\"peers\":[");
    for (size_t i = 0; i < l->n_peers; i++) {
        const struct fastn_peer *p = &l->peers[i];
        printf(i ? ",{\"peer_id\":" : "{\"peer_id\":");
        json_string(stdout, p->peer_id);
        printf(",\"addrs\":");
        json_string_list(stdout, p->addrs, p->n_addrs);
        printf(",\"direction\":\"%s\",\"agent\":",
               p->inbound ? "inbound" : "outbound");
        json_string(stdout, p->agent);
        printf(",\"rtt_us\":%" PRIu64
               ",\"streams\":%u,\"connected_ms\":%" PRIu64 ",\"protocols\":",
               p->rtt_us, p->streams, p->connected_ms);
        json_string_list(stdout, p->protocols, p->n_protocols);
        printf("}");
    }
    printf("]}\n");
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
    printf("\n");
}

static int cmd_peers(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    struct fastn_peer_list *l = NULL;
    int rc = command_flags(cli, argc, argv);

    if (rc || cli->help)
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
        peers_json(l);
    } else if (l->n_peers == 0) {
        fprintf(stderr, "fastn: no peers connected\n");
    } else {
        for (size_t i = 0; i < l->n_peers; i++)
            peer_text(&l->peers[i]);
    }
    fastn_peer_list_free(l);
    fastn_client_free(c);
    return 0;
}

const struct cli_command cli_commands[] = {
    {"id", "show this daemon's PeerID and listen addresses",
     "usage: fastn id [--json]\n"
     "\n"
     "Prints the daemon's PeerID (12D3KooW...), then each multiaddr it\n"
     "listens on, one per line. --json prints\n"
     "{\"peer_id\": ..., \"addrs\": [...]}.\n",
     cmd_id},
    {"status", "show the daemon's version, uptime and counters",
     "usage: fastn status [--json]\n"
     "\n"
     "Prints the daemon's version, pid, uptime, PeerID, home, socket, and\n"
     "its counts of peers, connections, streams, handlers, plugins,\n"
     "control clients and requests served. --json prints one object with\n"
     "the same fields.\n",
     cmd_status},
    {"peers", "list the peers the daemon is connected to",
     "usage: fastn peers [--json]\n"
     "\n"
     "Prints one line per connected peer: its PeerID, the connection's\n"
     "remote address, inbound or outbound, the peer's agent and the last\n"
     "round trip. --json prints {\"peers\": [{\"peer_id\", \"addrs\",\n"
     "\"direction\", \"agent\", \"rtt_us\", \"streams\", "
     "\"connected_ms\"}]}.\n",
     cmd_peers},
    {"connect", "connect to a peer (and remember its address)",
     "usage: fastn connect MULTIADDR [--json]\n"
     "\n"
     "Makes the daemon connect to the peer at MULTIADDR, which ends in\n"
     "/p2p/PEERID (e.g. /ip4/192.0.2.7/tcp/4004/p2p/12D3KooW...), and\n"
     "remember the address: later commands can name the peer by its PeerID\n"
     "alone, also after a restart. A bare PeerID reconnects through the\n"
     "addresses the daemon knows. Prints \"connected to PEERID\".\n"
     "--json prints {\"peer_id\": ..., \"target\": ...}.\n",
     cli_cmd_connect},
    {"disconnect", "close the connection to a peer",
     "usage: fastn disconnect PEER [--json]\n"
     "\n"
     "Closes the daemon's connections to PEER (a PeerID); their streams end\n"
     "with an error. Not being connected is no error.\n",
     cli_cmd_disconnect},
    {"ping", "measure the round trip to a peer",
     "usage: fastn ping PEER [-c COUNT] [-i SECS] [--json]\n"
     "\n"
     "Pings PEER (a PeerID, or a multiaddr with /p2p/ to connect first)\n"
     "with /ipfs/ping/1.0.0 COUNT times (default 4), SECS apart (default\n"
     "1), printing each round trip, then min/avg/max. --json prints\n"
     "{\"peer_id\", \"rtt_ms\": [...], \"failed\", \"avg_ms\", \"min_ms\",\n"
     "\"max_ms\"}. Exit 1 when no ping was answered.\n",
     cli_cmd_ping},
    {"call", "open a stream to a peer: stdin to it, it to stdout",
     "usage: fastn call PEER PROTOCOL\n"
     "\n"
     "Opens a stream to PEER (a PeerID, or a multiaddr with /p2p/) for\n"
     "PROTOCOL and, like netcat, copies stdin to the stream and the stream\n"
     "to stdout. At the end of stdin the stream's sending side is closed\n"
     "(the peer reads EOF); fastn exits once the peer has closed its side\n"
     "too. Exit 1 when the stream could not be opened or was cut (reset,\n"
     "the peer or the connection gone), with the reason on stderr.\n",
     cli_cmd_call},
    {"listen", "serve a protocol: print streams, or run a command per stream",
     "usage: fastn listen PROTOCOL [-n COUNT] [--max N] [--json] [-- CMD "
     "ARGS...]\n"
     "\n"
     "Registers this program as a handler of PROTOCOL (sharing it with any\n"
     "other handler: streams go to each in turn) until interrupted.\n"
     "Without CMD, each incoming stream's bytes are written to stdout (one\n"
     "stream at a time; nothing is sent back) and \"stream from PEERID\" to\n"
     "stderr. With CMD, each stream runs CMD ARGS with the stream as its\n"
     "stdin and stdout, as inetd does (FASTN_PEER_ID, FASTN_PROTOCOL and\n"
     "FASTN_REMOTE_ADDR set), at most N at once (default 64). -n COUNT\n"
     "exits after COUNT streams. --json prints one line per event on\n"
     "stdout: {\"event\": \"stream\"|\"end\", \"peer_id\", \"protocol\",\n"
     "\"addr\", \"bytes\"} (without CMD the data is then not printed).\n",
     cli_cmd_listen},
    {"plugin", "install, list, inspect and call plugins", cli_plugin_usage,
     cli_cmd_plugin},
    {"notifications", "list, follow and mark notifications", cli_notify_usage,
     cli_cmd_notifications},
    {"chat", "send and read messages (the chat plugin)", cli_chat_usage,
     cli_cmd_chat},
    {"forward", "forward a local TCP port to a peer (e.g. for ssh)",
     cli_forward_usage, cli_cmd_forward},
    {"expose", "serve a local TCP service to allowed peers", cli_expose_usage,
     cli_cmd_expose},
    {"perf", "measure throughput to a peer (run by the daemon)", cli_perf_usage,
     cli_cmd_perf},
};
const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);
