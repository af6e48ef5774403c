/*
 * fastn stop and fastn restart. Stop asks the daemon (DAEMON_STOP, an
 * admin request) and waits until its process is gone, watching a pidfd
 * taken before asking (no pid reuse can fool it). Restart stops it and
 * starts it again the way it was started: systemd's socket activation
 * starts a unit's daemon at the next client (which restart then is); a
 * detached daemon (fastn's autostart, or `fastnd` by hand) is run again
 * with its own command line, so that an upgraded binary takes over. A
 * daemon in the foreground of something else is not restarted: it would
 * come back detached from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/file.h"

extern char **environ;

const char cli_stop_usage[] =
    "usage: fastn stop [--json]\n"
    "\n"
    "Stops the daemon cleanly (an admin request): its plugins stop, its\n"
    "connections close, the peers it is connected to are recorded to be\n"
    "dialed again at its next start, its socket is removed. fastn waits\n"
    "until the process is gone (--timeout, default 30 s here). No daemon\n"
    "running is no error. Under systemd's socket activation the socket\n"
    "stays: systemd starts fastnd again at the next client (fastn says so;\n"
    "systemctl stop fastnd.socket stops that too).\n"
    "\n"
    "--json: {\"stopped\", \"pid\", \"home\", \"socket_activated\", \"unit\"}\n"
    "(\"stopped\": false and \"pid\": null when none was running)\n";

const char cli_restart_usage[] =
    "usage: fastn restart [--json]\n"
    "\n"
    "Stops the daemon as fastn stop does and starts it again on the same\n"
    "home: a daemon that systemd runs with socket activation is started by\n"
    "systemd at this command's next request; a detached one (started by\n"
    "fastn, or by `fastnd`) is run again with its own command line, so an\n"
    "upgraded fastnd takes over. Plugins and their data stay, and the\n"
    "peers it was connected to are dialed again through the address book.\n"
    "A daemon in the foreground (a terminal, a program, a unit without\n"
    "its socket) is left alone, with what to do instead.\n"
    "\n"
    "With none running, it starts one.\n"
    "\n"
    "--json: {\"old_pid\", \"pid\", \"peer_id\", \"home\", \"how\":\n"
    "\"systemd\"|\"command-line\"|\"start\"} (\"old_pid\": null after a\n"
    "start)\n";

#define STOP_WAIT_MS 30000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_ms(const struct cli *cli)
{
    return cli->conn.timeout_ms > 0 ? cli->conn.timeout_ms : STOP_WAIT_MS;
}

/* Waits for the process to end: on its pidfd when there is one, else by
 * kill(pid, 0). Returns true when it is gone. */
static bool wait_gone(int pidfd, pid_t pid, int ms)
{
    int64_t deadline = now_ms() + ms;

    while (now_ms() < deadline) {
        if (pidfd >= 0) {
            struct pollfd p = {pidfd, POLLIN, 0};
            int left = (int)(deadline - now_ms());
            if (poll(&p, 1, left > 0 ? left : 0) > 0)
                return true;
            continue;
        }
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        usleep(20000);
    }
    return false;
}

/* Stops the daemon behind c (whose status is st) and waits for its end.
 * Returns 0 or an exit code after saying why. */
static int stop_daemon(struct cli *cli, struct fastn_client *c,
                       const struct fastn_status *st)
{
    int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)st->pid, 0);
    char where[512];
    int rc = fastn_client_daemon_stop(c);

    /* the answer may be lost to the daemon's closing: it was asked */
    if (rc && rc != FASTN_ERR_CLOSED) {
        if (pidfd >= 0)
            close(pidfd);
        return cli_fail(c, rc);
    }
    if (!wait_gone(pidfd, (pid_t)st->pid, wait_ms(cli)))
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_TIMEOUT,
                       "fastnd (pid %u) did not stop within %d s; see %s, or "
                       "end it with kill %u",
                       st->pid, wait_ms(cli) / 1000,
                       cli_log_where(NULL, st, where, sizeof(where)), st->pid);
    else
        rc = 0;
    if (pidfd >= 0)
        close(pidfd);
    return rc;
}

static void say_socket_stays(const struct fastn_status *st)
{
    if (!st->socket_activated)
        return;
    if (st->unit[0])
        cli_note("systemd keeps fastnd's socket listening and starts %s again "
                 "at the next client; `systemctl%s stop fastnd.socket %s` "
                 "stops both",
                 st->unit, st->user_unit ? " --user" : "", st->unit);
    else
        cli_note("fastnd's socket was passed in by the program that started "
                 "it (socket activation), which may start it again at the "
                 "next client");
}

/* Connects to a running daemon and asks its status; none running is
 * *none. Returns 0 or an exit code after saying why. */
static int running(struct cli *cli, struct fastn_client **c,
                   struct fastn_status **st, bool *none)
{
    int err;

    *none = false;
    if (!(*c = cli_connect_running(cli, &err))) {
        if (err == FASTN_ERR_NO_DAEMON) {
            *none = true;
            return 0;
        }
        return cli_fail(NULL, err);
    }
    if ((err = fastn_client_status(*c, st))) {
        err = cli_fail(*c, err);
        fastn_client_free(*c);
        *c = NULL;
        return err;
    }
    return 0;
}

int cli_cmd_stop(struct cli *cli, int argc, char **argv)
{
    struct fastn_status *st = NULL;
    struct fastn_client *c = NULL;
    char *pos[1], home[4096] = "";
    bool none;
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 0, &n);

    if (rc || (rc = running(cli, &c, &st, &none)))
        return rc;
    if (none) {
        cli_home(cli, home, sizeof(home));
        if (cli->json)
            cli_emit(json_pack("{s:b,s:n,s:o,s:b,s:s}", "stopped", 0, "pid",
                               "home", jstr(home), "socket_activated", 0,
                               "unit", ""));
        else
            cli_note("no fastnd is running on %s", home);
        return 0;
    }
    rc = stop_daemon(cli, c, st);
    if (!rc && cli->json)
        cli_emit(json_pack("{s:b,s:i,s:o,s:b,s:o}", "stopped", 1, "pid",
                           (int)st->pid, "home", jstr(st->home),
                           "socket_activated", st->socket_activated, "unit",
                           jstr(st->unit)));
    else if (!rc)
        printf("fastnd (pid %u) stopped\n", st->pid);
    if (!rc)
        say_socket_stays(st);
    fastn_status_free(st);
    fastn_client_free(c);
    return rc;
}

/* --- restart ------------------------------------------------------------- */

/* The daemon's command line, as it was started (NUL-separated in
 * /proc/PID/cmdline), as an argv (*argv, with its strings in *buf; free
 * both). Only for a daemon of our own user: another's would run as us. */
static int daemon_argv(pid_t pid, char ***argv, char **buf)
{
    char path[64];
    struct stat sb;
    size_t len, n = 0;
    uint8_t *text = NULL;

    snprintf(path, sizeof(path), "/proc/%d", (int)pid);
    if (stat(path, &sb) != 0)
        return FASTN_ERR_NOT_FOUND;
    if (sb.st_uid != geteuid())
        return FASTN_ERR_PERM;
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    if (file_read_all(path, 256 * 1024, &text, &len) || len == 0) {
        free(text);
        return FASTN_ERR_NOT_FOUND;
    }
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\0';
    *argv = calloc(n + 2, sizeof(char *));
    if (!*argv) {
        free(text);
        return FASTN_ERR_NOMEM;
    }
    n = 0;
    for (size_t i = 0; i < len; i += strlen((char *)text + i) + 1)
        (*argv)[n++] = (char *)text + i;
    *buf = (char *)text;
    return 0;
}

/* The file the daemon (pid) runs, into out (n bytes): /proc/PID/exe,
 * which is right also when its argv[0] was relative to another folder;
 * after an upgrade renamed a new file over it, the link reads "PATH
 * (deleted)": PATH is then the new one. Empty when unknown. */
static void daemon_exe(pid_t pid, char *out, size_t n)
{
    static const char deleted[] = " (deleted)";
    char link[64];
    ssize_t len;

    snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
    len = readlink(link, out, n - 1);
    out[len > 0 ? len : 0] = '\0';
    if (len > (ssize_t)strlen(deleted) &&
        !strcmp(out + len - strlen(deleted), deleted))
        out[len - strlen(deleted)] = '\0';
    if (out[0] != '/')
        out[0] = '\0';
}

/* The program that runs the daemon again, into exe (n bytes; "" for
 * argv0 looked up on $PATH), asked before it is stopped: 0, or an exit
 * code after saying why it cannot be run (nothing stopped then). */
static int runnable(const struct fastn_status *st, char *exe, size_t n,
                    const char *argv0)
{
    const char *prog;

    daemon_exe((pid_t)st->pid, exe, n);
    prog = exe[0] ? exe : argv0;
    if (!strchr(prog, '/') || access(prog, X_OK) == 0)
        return 0;
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_DAEMON_START,
                     "fastnd (pid %u) was started as %s, which cannot be run "
                     "now (%s): nothing was stopped; stop it with fastn stop "
                     "and start the fastnd you want",
                     st->pid, prog, strerror(errno));
}

/* Runs the daemon's command line again (the program exe, else argv[0]);
 * a detached fastnd exits 0 once its socket listens, or 1 with the
 * reason on stderr (passed on). */
static int run_again(const char *exe, char **argv, int timeout_ms)
{
    posix_spawn_file_actions_t fa;
    int64_t deadline = now_ms() + timeout_ms;
    pid_t pid;
    int st, rc;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    rc = exe[0] || strchr(argv[0], '/')
             ? posix_spawn(&pid, exe[0] ? exe : argv[0], &fa, NULL, argv,
                           environ)
             : posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_DAEMON_START,
                         "fastnd stopped, but %s cannot be run again: %s; "
                         "start fastnd with fastn id",
                         exe[0] ? exe : argv[0], strerror(rc));
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_DAEMON_START,
                             "fastnd stopped, and %s did not become ready "
                             "again within %d s; see fastn log, or start "
                             "fastnd with fastn id",
                             argv[0], timeout_ms / 1000);
        }
        usleep(10000);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_DAEMON_START,
                         "fastnd stopped, and %s could not start again "
                         "(its reason is above); start fastnd with fastn id",
                         argv[0]);
    return 0;
}

/* Why this daemon is not restarted here, or NULL when it can be. */
static const char *not_restartable(const struct fastn_status *st, char *buf,
                                   size_t n)
{
    if (st->unit[0] && !st->socket_activated)
        snprintf(buf, n,
                 "fastnd runs as the systemd unit %s without its socket: "
                 "restart it with systemctl%s restart %s",
                 st->unit, st->user_unit ? " --user" : "", st->unit);
    else if (st->unit[0])
        return NULL;
    else if (st->foreground)
        snprintf(buf, n,
                 "fastnd (pid %u) runs in the foreground of a terminal or "
                 "another program%s: restart it there (here it would come "
                 "back detached from it), or fastn stop it",
                 st->pid,
                 st->socket_activated ? ", which passed it its socket" : "");
    else
        return NULL;
    return buf;
}

/* After the stop: the new daemon, its status in *out. */
static int started_again(struct cli *cli, const struct fastn_status *old,
                         const char *exe, char **argv,
                         struct fastn_status **out)
{
    struct fastn_client *c;
    int err, rc;

    /* systemd: this connection starts it (socket activation) */
    if (!old->unit[0] && (rc = run_again(exe, argv, wait_ms(cli))))
        return rc;
    if (!(c = cli_connect_running(cli, &err)))
        return cli_error(CLI_EXIT_FAIL, err,
                         "fastnd stopped but did not come back: %s; start it "
                         "with fastn id",
                         fastn_strerror(err));
    err = fastn_client_status(c, out);
    rc = err ? cli_fail(c, err) : 0;
    fastn_client_free(c);
    return rc;
}

static void say_restarted(struct cli *cli, const struct fastn_status *old,
                          const struct fastn_status *now)
{
    const char *how = old->unit[0] ? "systemd" : "command-line";

    if (cli->json)
        cli_emit(json_pack("{s:i,s:i,s:o,s:o,s:s}", "old_pid", (int)old->pid,
                           "pid", (int)now->pid, "peer_id", jstr(now->peer_id),
                           "home", jstr(now->home), "how", how));
    else
        printf("fastnd restarted: pid %u, then %u (%s %s)\n", old->pid,
               now->pid, now->version, now->peer_id);
}

/* Nothing was running: a start is what is asked (as any command would,
 * --no-autostart and --no-create respected). */
static int start_fresh(struct cli *cli)
{
    struct fastn_client *c = cli_connect(cli);
    struct fastn_status *st = NULL;
    int rc;

    if (!c)
        return CLI_EXIT_FAIL;
    if ((rc = fastn_client_status(c, &st)))
        rc = cli_fail(c, rc);
    else if (cli->json)
        cli_emit(json_pack("{s:n,s:i,s:o,s:o,s:s}", "old_pid", "pid",
                           (int)st->pid, "peer_id", jstr(st->peer_id), "home",
                           jstr(st->home), "how", "start"));
    else
        printf("fastnd was not running; it runs now: pid %u (%s %s)\n", st->pid,
               st->version, st->peer_id);
    fastn_status_free(st);
    fastn_client_free(c);
    return rc;
}

int cli_cmd_restart(struct cli *cli, int argc, char **argv)
{
    struct fastn_status *st = NULL, *now = NULL;
    struct fastn_client *c = NULL;
    char *pos[1], why[1024], **again = NULL, *buf = NULL, exe[PATH_MAX] = "";
    bool none;
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 0, &n);

    if (rc || (rc = running(cli, &c, &st, &none)))
        return rc;
    if (none)
        return start_fresh(cli);
    if (not_restartable(st, why, sizeof(why)))
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_UNSUPPORTED, "%s", why);
    else if (!st->unit[0] && (rc = daemon_argv((pid_t)st->pid, &again, &buf)))
        rc = cli_error(CLI_EXIT_FAIL, rc,
                       "cannot read the command line of fastnd (pid %u): %s; "
                       "restart it as the user it runs as",
                       st->pid, fastn_strerror(rc));
    if (!rc && !st->unit[0])
        rc = runnable(st, exe, sizeof(exe), again[0]);
    if (!rc && !(rc = stop_daemon(cli, c, st)) &&
        !(rc = started_again(cli, st, exe, again, &now)))
        say_restarted(cli, st, now);
    fastn_status_free(now);
    fastn_status_free(st);
    fastn_client_free(c);
    free(again);
    free(buf);
    return rc;
}
