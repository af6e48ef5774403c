/* fastn's commands: id, status, peers. Each prints text for people, or
 * one JSON object with --json. */
#include <inttypes.h>
#include <string.h>

#include "cli/cli.h"

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
    if (cli->json) {
        printf("{\"peer_id\":");
        json_string(stdout, id->peer_id);
        printf(",\"addrs\":");
        json_string_list(stdout, id->addrs, id->n_addrs);
        printf("}\n");
    } else {
        printf("%s\n", id->peer_id);
        for (size_t i = 0; i < id->n_addrs; i++)
            printf("%s\n", id->addrs[i]);
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
    printf("connections  %u\n", st->connections);
    printf("streams      %u\n", st->streams);
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
        "\"plugins\":%u,\"clients\":%u,\"identities\":%u,\"requests\":%" PRIu64
        "}\n",
        st->peers, st->connections, st->streams, st->handlers, st->plugins,
        st->clients, st->identities, st->requests);
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
        printf(i ? ",{\"peer_id\":" : "{\"peer_id\":");
        json_string(stdout, l->peers[i].peer_id);
        printf(",\"addrs\":");
        json_string_list(stdout, l->peers[i].addrs, l->peers[i].n_addrs);
        printf("}");
    }
    printf("]}\n");
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
        for (size_t i = 0; i < l->n_peers; i++) {
            printf("%s", l->peers[i].peer_id);
            for (size_t j = 0; j < l->peers[i].n_addrs; j++)
                printf(" %s", l->peers[i].addrs[j]);
            printf("\n");
        }
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
     "Prints one line per connected peer: its PeerID, then its addresses.\n"
     "--json prints {\"peers\": [{\"peer_id\": ..., \"addrs\": [...]}]}.\n",
     cmd_peers},
    {"plugin", "install, list, inspect and call plugins", cli_plugin_usage,
     cli_cmd_plugin},
    {"notifications", "list, follow and mark notifications", cli_notify_usage,
     cli_cmd_notifications},
    {"chat", "send and read messages (the chat plugin)", cli_chat_usage,
     cli_cmd_chat},
};
const size_t cli_n_commands = sizeof(cli_commands) / sizeof(cli_commands[0]);
