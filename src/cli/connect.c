/*
 * Reaching the daemon: connect, or start fastnd first (autostart) and say
 * so. A start on a home that has no identity yet makes a new PeerID, so
 * that is said loudly, with the PeerID, the home and where it listens: a
 * mistyped --home must not pass unnoticed. --no-create refuses to start
 * one there instead.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/home.h"

int cli_home(const struct cli *cli, char *out, size_t n)
{
    return home_resolve(cli->conn.home, out, n);
}

struct fastn_client *cli_connect_running(struct cli *cli, int *err)
{
    struct fastn_connect_options o = cli->conn;
    struct fastn_client *c = NULL;

    o.autostart = 0;
    o.error_buf = NULL;
    o.error_buf_len = 0;
    *err = fastn_client_connect(&o, &c);
    return *err ? NULL : c;
}

/* Whether HOME/keys/identity.key is there (a link counts: fastnd checks
 * it). */
static bool home_has_identity(const char *home)
{
    char path[PATH_MAX];
    struct stat st;

    if (home_path(home, "keys/identity.key", path, sizeof(path)))
        return true;
    return lstat(path, &st) == 0 || errno != ENOENT;
}

/* What a start said, on stderr: where, and a new identity loudly. */
static void say_started(struct fastn_client *c, const char *home, bool created)
{
    struct fastn_status *st = NULL;
    char addrs[1024] = "", where[512];
    size_t used = 0;

    if (fastn_client_status(c, &st) != 0) {
        cli_note("started fastnd on %s", home);
        return;
    }
    for (size_t i = 0; i < st->n_listen_addrs && used < sizeof(addrs); i++)
        used += (size_t)snprintf(addrs + used, sizeof(addrs) - used, "%s%s",
                                 i ? ", " : "", st->listen_addrs[i]);
    cli_log_where(c, st, where, sizeof(where));
    if (created)
        cli_note("started fastnd (pid %u) with a NEW identity %s in %s, "
                 "listening on %s (this home had no identity: if you meant "
                 "another, check --home and $FASTN_HOME; `fastn stop` stops "
                 "it; its log: %s)",
                 st->pid, st->peer_id, st->home, addrs[0] ? addrs : "nothing",
                 where);
    else
        cli_note("started fastnd (pid %u) on %s, listening on %s", st->pid,
                 st->home, addrs[0] ? addrs : "nothing");
    fastn_status_free(st);
}

static struct fastn_client *start(struct cli *cli, const char *home,
                                  bool created)
{
    struct fastn_connect_options o = cli->conn;
    struct fastn_client *c = NULL;
    char why[512] = "";
    int rc;

    o.autostart = 1;
    o.error_buf = why;
    o.error_buf_len = sizeof(why);
    rc = fastn_client_connect(&o, &c);
    if (rc == FASTN_ERR_DAEMON_START && why[0]) {
        cli_error(CLI_EXIT_FAIL, rc, "could not start fastnd: %s", why);
        return NULL;
    }
    if (rc) {
        cli_fail(NULL, rc);
        return NULL;
    }
    if (fastn_client_started_daemon(c))
        say_started(c, home, created);
    return c;
}

struct fastn_client *cli_connect(struct cli *cli)
{
    struct fastn_client *c;
    char home[PATH_MAX];
    bool created;
    int err;

    if ((c = cli_connect_running(cli, &err)))
        return c;
    /* a named socket, the system daemon's, or no autostart: no start */
    if (err != FASTN_ERR_NO_DAEMON || !cli->autostart ||
        cli->conn.socket_path) {
        cli_fail(NULL, err);
        return NULL;
    }
    if (cli_home(cli, home, sizeof(home))) {
        cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                  "cannot find the fastn home: give --home DIR or set "
                  "$FASTN_HOME");
        return NULL;
    }
    created = !home_has_identity(home);
    if (created && cli->no_create) {
        cli_error(CLI_EXIT_FAIL, FASTN_ERR_NO_DAEMON,
                  "no fastnd runs on %s and it has no identity: starting one "
                  "would create a new PeerID there (--no-create); check "
                  "--home and $FASTN_HOME, or drop --no-create to create it",
                  home);
        return NULL;
    }
    return start(cli, home, created);
}

const char *cli_log_where(struct fastn_client *c, const struct fastn_status *st,
                          char *buf, size_t n)
{
    struct fastn_status *own = NULL;

    if (!st && c && fastn_client_status(c, &own) == 0)
        st = own;
    if (!st || !st->log_target[0])
        snprintf(buf, n, "the daemon's log (fastn log)");
    else if (!strcmp(st->log_target, "journal") && st->unit[0])
        snprintf(buf, n, "the journal (journalctl%s -u %s, or fastn log)",
                 st->user_unit ? " --user" : "", st->unit);
    else if (!strcmp(st->log_target, "journal"))
        snprintf(buf, n, "the journal (fastn log)");
    else if (st->log_file && st->log_file[0])
        snprintf(buf, n, "%s (fastn log)", st->log_file);
    else
        snprintf(buf, n, "the standard error of fastnd (pid %u)", st->pid);
    fastn_status_free(own);
    return buf;
}
