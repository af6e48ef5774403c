/*
 * fastn log: the daemon's log, wherever it goes (STATUS says): its file
 * (HOME/fastnd.log of a detached daemon, or the file a foreground one's
 * stderr is), read here, filtered by level and time and followed as it
 * grows (and when it is replaced); or the journal, through journalctl
 * (the unit's, or the process's when systemd did not start it). With no
 * daemon running, HOME/fastnd.log of earlier runs.
 *
 * Line forms: the file's "2025-01-31T12:00:00Z LEVEL subsys: message",
 * stderr's "LEVEL subsys: message" (no time), the journal's own.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/home.h"
#include "util/term.h"

const char cli_log_usage[] =
    "usage: fastn log [-f|--follow] [-l|--level LEVEL] [-S|--since TIME]\n"
    "                 [-n|--lines LINES] [--json]\n"
    "\n"
    "Prints the daemon's log, wherever it goes: HOME/fastnd.log for a\n"
    "daemon fastn started (or `fastnd` detached), the journal for one\n"
    "systemd runs (journalctl, for its unit), or the file a foreground\n"
    "fastnd's stderr goes to. With no daemon running, HOME/fastnd.log of\n"
    "its earlier runs. --follow keeps printing new lines until\n"
    "interrupted. --level LEVEL shows LEVEL and worse (error, warn, info,\n"
    "debug). --since TIME shows the lines from TIME on: an age (30s, 10m,\n"
    "2h, 1d) or a local time (2025-01-31, \"2025-01-31 12:00\",\n"
    "2025-01-31T12:00:00Z). --lines LINES shows only the last LINES.\n"
    "\n"
    "--json: one object per line, {\"time\", \"level\", \"subsystem\",\n"
    "\"message\"} (\"time\" is ISO 8601 UTC, null for a line without one)\n";

struct logopts {
    int level;    /* show this and worse: index in levels */
    time_t since; /* 0: all */
    long last;    /* 0: all */
    bool follow;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

/* "30s", "10m", "2h", "1d", "YYYY-MM-DD[ HH:MM[:SS]]" (local),
 * "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
static int parse_since(const char *s, time_t *out)
{
    struct tm tm = {0};
    char *end;
    long v = strtol(s, &end, 10);
    const char *rest;

    if (end != s && end[0] && !end[1] && v >= 0 && strchr("smhd", end[0]) &&
        s[0] >= '0' && s[0] <= '9') {
        long mult = end[0] == 's'   ? 1
                    : end[0] == 'm' ? 60
                    : end[0] == 'h' ? 3600
                                    : 86400;
        *out = time(NULL) - (time_t)v * mult;
        return 0;
    }
    if (!(rest = strptime(s, "%Y-%m-%d", &tm)))
        return -1;
    if ((*rest == ' ' || *rest == 'T') &&
        !(rest = strptime(rest + 1, "%H:%M", &tm)))
        return -1;
    if (*rest == ':' && !(rest = strptime(rest + 1, "%S", &tm)))
        return -1;
    if (!strcmp(rest, "Z")) {
        *out = timegm(&tm);
        return 0;
    }
    if (*rest)
        return -1;
    tm.tm_isdst = -1;
    *out = mktime(&tm);
    return 0;
}

static bool wanted(const struct logopts *o, const struct cli_log_line *ln)
{
    if (ln->level > o->level)
        return false;
    return !o->since || !ln->t || ln->t >= o->since;
}

static void print_line(struct cli *cli, const char *l,
                       const struct cli_log_line *ln)
{
    if (!cli->json) {
        term_fputs(l, stdout, 0); /* a peer's text may be quoted in it */
        putchar('\n');
        return;
    }
    cli_emit(cli_log_line_json(ln));
}

/* --- a file ---------------------------------------------------------------
 */

struct ring {
    char **v;
    long n, cap, head;
};

static void ring_push(struct ring *r, const char *l)
{
    char *copy = strdup(l);

    if (!copy)
        return;
    if (r->n < r->cap) {
        r->v[(r->head + r->n++) % r->cap] = copy;
        return;
    }
    free(r->v[r->head]);
    r->v[r->head] = copy;
    r->head = (r->head + 1) % r->cap;
}

/* Reads complete lines from f; prints the wanted ones (or keeps the last
 * ones in r). */
static void read_lines(struct cli *cli, FILE *f, const struct logopts *o,
                       struct ring *r)
{
    char *l = NULL;
    size_t cap = 0;
    ssize_t n;
    struct cli_log_line ln;

    while ((n = getline(&l, &cap, f)) > 0) {
        if (l[n - 1] != '\n') { /* half a line: read it again later */
            fseeko(f, -n, SEEK_CUR);
            break;
        }
        l[n - 1] = '\0';
        cli_log_parse(l, &ln);
        if (!wanted(o, &ln))
            continue;
        if (r)
            ring_push(r, l);
        else
            print_line(cli, l, &ln);
    }
    clearerr(f);
    free(l);
    fflush(stdout);
}

static void print_last(struct cli *cli, struct ring *r)
{
    struct cli_log_line ln;

    for (long i = 0; i < r->n; i++) {
        char *l = r->v[(r->head + i) % r->cap];
        cli_log_parse(l, &ln);
        print_line(cli, l, &ln);
        free(l);
    }
    free(r->v);
}

/* Follows path as it grows; a replaced or truncated file is read from
 * its start. Ends when the file was deleted and nothing took its place
 * for GONE_TICKS (its daemon's home removed): following it would print
 * nothing, ever. */
#define GONE_TICKS 25 /* of 200 ms */
static void follow_file(struct cli *cli, const char *path, FILE *f,
                        const struct logopts *o)
{
    struct stat a, b;
    int gone = 0;

    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    while (!stop) {
        usleep(200000);
        read_lines(cli, f, o, NULL);
        if (fstat(fileno(f), &a) != 0)
            continue;
        if (stat(path, &b) != 0) {
            if (errno == ENOENT && a.st_nlink == 0 && ++gone >= GONE_TICKS) {
                fprintf(stderr,
                        "fastn log: %s was deleted; stopped "
                        "following it\n",
                        path);
                break;
            }
            continue;
        }
        gone = 0;
        if (a.st_ino != b.st_ino || b.st_size < ftello(f)) {
            FILE *nf = fopen(path, "r");
            if (!nf)
                continue;
            fclose(f);
            f = nf;
        }
    }
    fclose(f);
}

static int show_file(struct cli *cli, const char *path, const struct logopts *o,
                     bool has_times)
{
    struct ring r = {.cap = o->last};
    FILE *f;

    if (o->since && !has_times)
        return cli_error(CLI_EXIT_USAGE, FASTN_ERR_INVAL,
                         "%s has no times on its lines (fastnd's stderr): "
                         "--since cannot pick from it; drop --since",
                         path);
    if (!(f = fopen(path, "r")))
        return cli_error(CLI_EXIT_FAIL,
                         errno == ENOENT ? FASTN_ERR_NOT_FOUND : FASTN_ERR_PERM,
                         "cannot read the log %s: %s%s", path, strerror(errno),
                         errno == EACCES ? " (run as the daemon's user, or "
                                           "root)"
                                         : "");
    if (r.cap && !(r.v = calloc((size_t)r.cap, sizeof(char *)))) {
        fclose(f);
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    }
    read_lines(cli, f, o, r.cap ? &r : NULL);
    if (r.cap)
        print_last(cli, &r);
    fflush(stdout);
    if (o->follow)
        follow_file(cli, path, f, o);
    else
        fclose(f);
    return 0;
}

/* --- the journal -----------------------------------------------------------
 */

/* journalctl's arguments for the daemon's lines. */
static void journal_args(const struct fastn_status *st, const struct logopts *o,
                         bool json, char **argv, char bufs[4][64])
{
    static const char *const prio[] = {"err", "warning", "info", "debug",
                                       "debug"};
    int n = 0;

    argv[n++] = "journalctl";
    if (st->unit[0] && st->user_unit)
        argv[n++] = "--user";
    if (st->unit[0]) {
        argv[n++] = "-u";
        argv[n++] = (char *)st->unit;
    } else {
        snprintf(bufs[0], 64, "_PID=%u", st->pid);
        argv[n++] = bufs[0];
    }
    argv[n++] = "--no-pager";
    argv[n++] = "-o";
    argv[n++] = json ? "json" : "short-iso";
    snprintf(bufs[1], 64, "--priority=%s", prio[o->level]);
    argv[n++] = bufs[1];
    if (o->since) {
        snprintf(bufs[2], 64, "--since=@%lld", (long long)o->since);
        argv[n++] = bufs[2];
    }
    if (o->last) {
        snprintf(bufs[3], 64, "--lines=%ld", o->last);
        argv[n++] = bufs[3];
    }
    if (o->follow)
        argv[n++] = "--follow";
    argv[n] = NULL;
}

static int show_journal(struct cli *cli, const struct fastn_status *st,
                        const struct logopts *o)
{
    char *argv[16], bufs[4][64], *l = NULL;
    size_t cap = 0;
    ssize_t len;
    int pfd[2], status;
    pid_t pid;
    FILE *in;

    journal_args(st, o, cli->json, argv, bufs);
    fflush(NULL);
    if (!cli->json) { /* its own output, to the terminal or pipe */
        execvp(argv[0], argv);
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                         "fastnd logs to the journal, and journalctl cannot "
                         "be run: %s",
                         strerror(errno));
    }
    if (pipe(pfd) != 0 || (pid = fork()) < 0)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "cannot run journalctl");
    if (pid == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    in = fdopen(pfd[0], "r");
    while (in && (len = getline(&l, &cap, in)) > 0) {
        json_t *o = cli_journal_json(l, (size_t)len);
        if (o)
            cli_emit(o);
    }
    free(l);
    if (in)
        fclose(in);
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO,
                         "journalctl failed (exit %d): reading the system "
                         "journal needs the groups adm or systemd-journal",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

/* --- the command ---------------------------------------------------------- */

static int log_args(struct cli *cli, int argc, char **argv, struct logopts *o)
{
    const char *level_s = NULL, *since_s = NULL, *last_s = NULL;
    const struct cli_opt opts[] = {{"--level", "-l", &level_s},
                                   {"--since", "-S", &since_s},
                                   {"-n", "--lines", &last_s},
                                   {NULL, NULL, NULL}};
    const struct cli_flag flags[] = {{"--follow", "-f", &o->follow},
                                     {NULL, NULL, NULL}};
    char *pos[1], *end;
    int n, rc = cli_parse_flags(cli, argc, argv, opts, flags, pos, 0, &n);

    o->level = 4; /* everything */
    if (rc)
        return rc;
    if (level_s && ((o->level = cli_log_level(level_s, strlen(level_s))) < 0 ||
                    o->level > 3))
        return cli_usage_error(argv[0],
                               "--level wants error, warn, info or debug");
    if (since_s && parse_since(since_s, &o->since))
        return cli_usage_error(argv[0], "--since wants an age (30s, 10m, 2h, "
                                        "1d) or a time (2025-01-31 12:00)");
    if (last_s &&
        ((o->last = strtol(last_s, &end, 10)) < 1 || *end || o->last > 1000000))
        return cli_usage_error(argv[0], "-n wants a count from 1");
    return 0;
}

int cli_cmd_log(struct cli *cli, int argc, char **argv)
{
    struct fastn_status *st = NULL;
    struct fastn_client *c;
    char home[PATH_MAX], path[PATH_MAX];
    struct logopts o = {0};
    int err, rc = log_args(cli, argc, argv, &o);

    if (rc)
        return rc;
    if ((c = cli_connect_running(cli, &err)) &&
        (err = fastn_client_status(c, &st)) != 0) {
        fastn_client_free(c);
        return cli_fail(NULL, err);
    }
    if (st && !strcmp(st->log_target, "journal"))
        rc = show_journal(cli, st, &o);
    else if (st && st->log_file && st->log_file[0])
        rc = show_file(cli, st->log_file, &o, !strcmp(st->log_target, "file"));
    else if (st)
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                       "fastnd (pid %u) logs to its standard error, which is "
                       "not a file (a terminal or a pipe): its log is there",
                       st->pid);
    else if (err != FASTN_ERR_NO_DAEMON)
        rc = cli_fail(NULL, err);
    else if (cli_home(cli, home, sizeof(home)) ||
             home_path(home, "fastnd.log", path, sizeof(path)))
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                       "cannot find the fastn home: give --home DIR");
    else if (access(path, F_OK) != 0 && errno == ENOENT)
        rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                       "no fastnd is running on %s, and it has no %s (the "
                       "log of a detached fastnd): a fastnd run in the "
                       "foreground logs to its standard error",
                       home, path);
    else
        rc = show_file(cli, path, &o, true);
    fastn_status_free(st);
    fastn_client_free(c);
    return rc;
}
