/*
 * fastn plugin pending|approve|reject and fastn peer allow|block|list:
 * the data the daemon keeps for protocols no plugin handled, or from
 * strangers, what is offered for it, and whom the daemon lets in
 * (docs/ROUTER.md, "The quarantine"), through libfastn.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define GRANTS_MAX 8

const char cli_pending_usage[] =
    "usage: fastn plugin pending [--json]\n"
    "       fastn plugin approve ID|PROTOCOL [--grant CAP]... [--json]\n"
    "       fastn plugin reject ID|PROTOCOL [--block-peer] [--json]\n"
    "\n"
    "Data a peer sent for a protocol no installed plugin handles (or, from\n"
    "a peer that is not known, for a plugin that serves known peers only)\n"
    "is kept on disk (unknown-protocols in the config), and the plugin\n"
    "that handles it is looked for: in the registries, then at that peer.\n"
    "  pending   what is kept: each stream's id, peer, protocol, bytes, and\n"
    "            what is offered for it (plugin, version, source, signer,\n"
    "            capabilities, apps), or why nothing is\n"
    "  approve   install the offered plugin and hand it the kept data\n"
    "            (admin); capabilities it asks for beyond auto-grant need\n"
    "            --grant CAP; a plugin that serves it already just gets it\n"
    "  reject    delete the kept data (admin); --block-peer also refuses\n"
    "            the peers that sent it from now on\n"
    "\n"
    "--json: pending {\"pending\": [{\"id\", \"peer_id\", \"protocol\",\n"
    "\"bytes\", \"received_ms\", \"complete\", \"state\" (offered, looking,\n"
    "none, stranger), \"plugin\", \"version\", \"source\", \"signer\",\n"
    "\"capabilities\", \"apps\", \"why\"}]}; approve and reject\n"
    "{\"done\": true, \"message\"}.\n";

const char cli_peer_usage[] =
    "usage: fastn peer allow PEER [--json]\n"
    "       fastn peer block PEER [--json]\n"
    "       fastn peer list [--json]\n"
    "\n"
    "  allow   make PEER known (admin): plugins that serve known peers\n"
    "          serve it, and what it sent while it was a stranger is handed\n"
    "          to them now\n"
    "  block   refuse PEER from now on, whatever it asks for (admin), and\n"
    "          delete what it sent that is kept; HOME/blocked-peers keeps\n"
    "          the list\n"
    "  list    the peers allowed and blocked\n"
    "\n"
    "Peers this daemon dialed (fastn connect) are known too.\n"
    "\n"
    "--json: allow and block {\"done\": true, \"message\"}; list\n"
    "{\"peers\": [{\"peer_id\", \"state\" (allowed, blocked)}]}.\n";

static json_t *item_json(const struct fastn_pending_item *it)
{
    return json_pack(
        "{s:I,s:s,s:o,s:I,s:I,s:b,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "id",
        (json_int_t)it->id, "peer_id", it->peer, "protocol", jstr(it->protocol),
        "bytes", (json_int_t)it->bytes, "received_ms",
        (json_int_t)it->received_ms, "complete", it->complete, "state",
        it->state, "plugin", it->plugin[0] ? jstr(it->plugin) : json_null(),
        "version", it->version[0] ? jstr(it->version) : json_null(), "source",
        it->source ? jstr(it->source) : json_null(), "signer",
        it->signer ? jstr(it->signer) : json_null(), "capabilities",
        jstr_list(it->capabilities, it->n_capabilities), "apps",
        jstr_list(it->apps, it->n_apps), "why",
        it->why ? jstr(it->why) : json_null());
}

static void item_text(const struct fastn_pending_item *it)
{
    printf("%-5" PRId64 " %s  %s  %" PRIu64 " bytes%s\n", it->id, it->peer,
           it->protocol, it->bytes, it->complete ? "" : " (cut short)");
    if (!strcmp(it->state, "offered")) {
        printf("      offered: %s %s from %s, signed by %s; asks for",
               it->plugin, it->version, it->source ? it->source : "?",
               it->signer ? it->signer : "?");
        for (size_t i = 0; i < it->n_capabilities; i++)
            printf("%s %s", i ? "," : "", it->capabilities[i]);
        printf("%s; apps:", it->n_capabilities ? "" : " nothing");
        for (size_t i = 0; i < it->n_apps; i++)
            printf("%s %s", i ? "," : "", it->apps[i]);
        printf("%s\n      fastn plugin approve %s\n",
               it->n_apps ? "" : " none listed", it->protocol);
    } else if (!strcmp(it->state, "stranger")) {
        printf("      %s serves known peers only: fastn peer allow %s\n",
               it->plugin, it->peer);
    } else if (!strcmp(it->state, "looking")) {
        printf("      looking for a plugin that handles it\n");
    } else {
        printf("      no plugin found%s%s\n", it->why ? ": " : "",
               it->why ? it->why : "");
    }
}

static int do_pending(struct cli *cli, struct fastn_client *c)
{
    struct fastn_pending_list *l = NULL;
    int rc = fastn_client_pending_list(c, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_items; i++)
            json_array_append_new(a, item_json(&l->items[i]));
        cli_emit(json_pack("{s:o}", "pending", a));
    } else if (l->n_items == 0) {
        cli_note("nothing is kept: every stream went to a plugin or was "
                 "refused");
    } else {
        for (size_t i = 0; i < l->n_items; i++)
            item_text(&l->items[i]);
    }
    fastn_pending_list_free(l);
    return 0;
}

static void done(struct cli *cli, const char *msg)
{
    if (cli->json)
        cli_emit(json_pack("{s:b,s:o}", "done", 1, "message", jstr(msg)));
    else
        printf("%s\n", msg);
}

/* ID (all digits) or PROTOCOL. */
static void target(const char *arg, int64_t *id, const char **protocol)
{
    char *end = NULL;
    long long v = strtoll(arg, &end, 10);

    *id = 0;
    *protocol = arg;
    if (end && !*end && v > 0 && arg[0] != '/') {
        *id = v;
        *protocol = NULL;
    }
}

/* Takes every --grant CAP out of argv; returns the new argc. */
static int take_grants(int argc, char **argv, const char **grant, size_t *n,
                       int *rc)
{
    int out = 0;

    *n = 0;
    *rc = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--grant")) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 >= argc || *n >= GRANTS_MAX) {
            *rc = cli_usage_error("plugin", "--grant wants a capability "
                                            "(at most 8)");
            return argc;
        }
        grant[(*n)++] = argv[++i];
    }
    return out;
}

int cli_plugin_pending(struct cli *cli, int argc, char **argv)
{
    const char *grant[GRANTS_MAX], *protocol;
    bool block = false;
    const struct cli_flag flags[] = {{"--block-peer", NULL, &block},
                                     {NULL, NULL, NULL}};
    struct fastn_client *c;
    char *pos[3], msg[700] = "";
    size_t n_grant;
    int64_t id;
    int n, rc;

    argc = take_grants(argc, argv, grant, &n_grant, &rc);
    if (rc || (rc = cli_parse_flags(cli, argc, argv, NULL, flags, pos, 3, &n)))
        return rc;
    if (cli->help) {
        fputs(cli_pending_usage, stdout);
        return 0;
    }
    if (!strcmp(pos[0], "pending") ? n != 1 : n != 2)
        return cli_usage_error("plugin", !strcmp(pos[0], "pending")
                                             ? "pending takes no argument"
                                             : "name the kept data: ID or "
                                               "PROTOCOL (fastn plugin "
                                               "pending)");
    if ((n_grant && strcmp(pos[0], "approve")) ||
        (block && strcmp(pos[0], "reject")))
        return cli_usage_error("plugin", "--grant goes with approve, "
                                         "--block-peer with reject");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (!strcmp(pos[0], "pending")) {
        rc = do_pending(cli, c);
    } else {
        target(pos[1], &id, &protocol);
        rc = !strcmp(pos[0], "approve")
                 ? fastn_client_pending_approve(c, id, protocol, grant, n_grant,
                                                msg, sizeof(msg))
                 : fastn_client_pending_reject(c, id, protocol, block, msg,
                                               sizeof(msg));
        if (rc)
            rc = cli_fail(c, rc);
        else
            done(cli, msg);
    }
    fastn_client_free(c);
    return rc;
}

static int do_peer_list(struct cli *cli, struct fastn_client *c)
{
    struct fastn_peer_rules *l = NULL;
    int rc = fastn_client_peer_rules(c, &l);

    if (rc)
        return cli_fail(c, rc);
    if (cli->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n_peers; i++)
            json_array_append_new(a, json_pack("{s:s,s:s}", "peer_id",
                                               l->peers[i].peer, "state",
                                               l->peers[i].state));
        cli_emit(json_pack("{s:o}", "peers", a));
    } else if (l->n_peers == 0) {
        cli_note("no peer is allowed or blocked (peers this daemon dialed "
                 "are known)");
    } else {
        for (size_t i = 0; i < l->n_peers; i++)
            printf("%-8s %s\n", l->peers[i].state, l->peers[i].peer);
    }
    fastn_peer_rules_free(l);
    return 0;
}

int cli_cmd_peer(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    char *pos[3], msg[700] = "";
    int n, rc;

    if ((rc = cli_parse(cli, argc, argv, NULL, pos, 3, &n)) || cli->help)
        return rc;
    if (n == 0)
        return cli_usage_error("peer", "which command? allow, block or list");
    if (strcmp(pos[0], "allow") && strcmp(pos[0], "block") &&
        strcmp(pos[0], "list"))
        return cli_usage_error("peer", "unknown command");
    if (!strcmp(pos[0], "list") ? n != 1 : n != 2)
        return cli_usage_error("peer", !strcmp(pos[0], "list")
                                           ? "list takes no argument"
                                           : "allow and block want a PEER");
    if (n == 2 && cli_check_peer(pos[1]))
        return CLI_EXIT_FAIL;
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if (!strcmp(pos[0], "list")) {
        rc = do_peer_list(cli, c);
    } else {
        rc = !strcmp(pos[0], "allow")
                 ? fastn_client_peer_allow(c, pos[1], msg, sizeof(msg))
                 : fastn_client_peer_block(c, pos[1], msg, sizeof(msg));
        if (rc)
            rc = cli_fail(c, rc);
        else
            done(cli, msg);
    }
    fastn_client_free(c);
    return rc;
}
