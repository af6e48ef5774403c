/*
 * fastn doctor: checks that the daemon can do its job, each with what to
 * do when it fails: the daemon answers (none is started for it), its
 * version is this fastn's, the socket's and the key's modes, the home's
 * free space, the listen addresses and whether they answer (a libp2p
 * multistream header from each, dialed here), the plugins' state and
 * last errors, and the clock. A check is "ok", "warn" (worth knowing,
 * not a failure), "skip" (it cannot be made from here: it says how) or
 * "fail"; the exit code is 0 only when nothing failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/home.h"
#include "util/term.h"

const char cli_doctor_usage[] =
    "usage: fastn doctor [--json]\n"
    "\n"
    "Checks the daemon and its home, and says for each problem what to do:\n"
    "the daemon answers (doctor starts none) and runs this fastn's version;\n"
    "the control socket and the identity key are not open to others; the\n"
    "home's file system has room; fastnd listens on the network, and each\n"
    "listen address answers as libp2p does (dialed from here); every\n"
    "plugin runs, or its last error; the clock is set and synchronised;\n"
    "the identity key is in its own signer process and both run under\n"
    "seccomp filters (seccomp = log: a warning; off: a failure).\n"
    "Each check is ok, warn (worth knowing), skip (cannot be made from\n"
    "here: it says how) or fail. Exit 0 only when none failed.\n"
    "\n"
    "--json: {\"ok\", \"checks\": [{\"name\", \"status\": \"ok\"|\"warn\"|\n"
    "\"skip\"|\"fail\", \"detail\", \"fix\"}]}\n";

/* The free space below which the home fails, and warns. */
#define DISK_FAIL_BYTES (64ull << 20)
#define DISK_WARN_BYTES (512ull << 20)
/* Before this (2025-01-01) the clock is surely wrong. */
#define CLOCK_FLOOR 1735689600

struct doctor {
    struct cli *cli;
    json_t *checks;
    int failed;
    struct fastn_client *c;
    struct fastn_status *st;
    char home[PATH_MAX];
};

static void check(struct doctor *d, const char *name, const char *status,
                  const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void check(struct doctor *d, const char *name, const char *status,
                  const char *fix, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (!strcmp(status, "fail"))
        d->failed++;
    json_array_append_new(
        d->checks,
        json_pack("{s:o,s:s,s:o,s:o}", "name", jstr(name), "status", status,
                  "detail", jstr(detail), "fix",
                  fix && strcmp(status, "ok") ? jstr(fix) : json_null()));
    if (d->cli->json)
        return;
    printf("%-5s %-10s ", status, name);
    term_fputs(detail, stdout, 0);
    printf("\n");
    if (fix && strcmp(status, "ok")) {
        printf("      %-10s fix: ", "");
        term_fputs(fix, stdout, 0);
        printf("\n");
    }
}

static void check_daemon(struct doctor *d)
{
    int err;
    char fix[PATH_MAX + 256];

    if ((d->c = cli_connect_running(d->cli, &err)) &&
        !(err = fastn_client_status(d->c, &d->st))) {
        check(d, "daemon", "ok", NULL, "fastnd %s (pid %u) answers on %s",
              d->st->version, d->st->pid, fastn_client_socket_path(d->c));
        if (strcmp(d->st->version, FASTN_VERSION))
            check(d, "version", "warn", "fastn restart",
                  "fastnd runs version %s, this fastn is %s", d->st->version,
                  FASTN_VERSION);
        snprintf(d->home, sizeof(d->home), "%s", d->st->home);
        return;
    }
    snprintf(fix, sizeof(fix),
             "start it: fastn id (or systemctl --user start fastnd); if it "
             "does not start, fastnd --foreground --home %s says why",
             d->home);
    check(d, "daemon", "fail", fix, "no fastnd answers on %s (%s)", d->home,
          err == FASTN_ERR_NO_DAEMON ? "none is running" : fastn_strerror(err));
}

/* Privilege separation: the key in its own process, both under seccomp. */
static void check_privsep(struct doctor *d)
{
    char fix[PATH_MAX + 128];

    if (!d->st)
        return;
    if (d->st->signer_pid)
        check(d, "privsep", "ok", NULL,
              "the identity key is in the signer process (pid %u)",
              d->st->signer_pid);
    else
        check(d, "privsep", "fail", "fastn restart (with this fastnd)",
              "fastnd %s reports no signer process: the daemon holds the "
              "key itself",
              d->st->version);
    snprintf(fix, sizeof(fix),
             "fastn config set seccomp on, then fastn "
             "restart");
    if (!strcmp(d->st->seccomp, "on"))
        check(d, "seccomp", "ok", NULL,
              "the daemon and the signer run under seccomp filters");
    else
        check(d, "seccomp", !strcmp(d->st->seccomp, "log") ? "warn" : "fail",
              fix, "seccomp is %s: a forbidden system call is %s",
              d->st->seccomp[0] ? d->st->seccomp : "not reported",
              !strcmp(d->st->seccomp, "log") ? "only logged" : "not stopped");
}

/* A file's mode: none of mask's bits. */
static void check_mode(struct doctor *d, const char *name, const char *path,
                       mode_t mask, bool must_exist)
{
    struct stat st;
    char fix[PATH_MAX + 64];

    if (lstat(path, &st) != 0) {
        if (errno == EACCES)
            check(d, name, "skip", "run fastn doctor as the daemon's user",
                  "cannot look at %s: %s", path, strerror(errno));
        else if (must_exist)
            check(d, name, "fail", "fastn restart (the daemon makes it)",
                  "%s is missing", path);
        return;
    }
    snprintf(fix, sizeof(fix), "chmod %s %s",
             S_ISSOCK(st.st_mode) ? "o-rwx" : "go-rwx", path);
    if (st.st_mode & mask)
        check(d, name, "fail", fix, "%s is mode %04o: others may use it", path,
              (unsigned)(st.st_mode & 07777));
    else
        check(d, name, "ok", NULL, "%s is mode %04o", path,
              (unsigned)(st.st_mode & 07777));
}

static void check_files(struct doctor *d)
{
    char path[PATH_MAX];

    if (d->c)
        check_mode(d, "socket", fastn_client_socket_path(d->c), S_IWOTH, true);
    if (!home_path(d->home, "keys/identity.key", path, sizeof(path)))
        check_mode(d, "key", path, S_IRWXG | S_IRWXO, d->c != NULL);
}

static void check_disk(struct doctor *d)
{
    struct statvfs v;
    unsigned long long free_b;
    char fix[PATH_MAX + 256];

    if (statvfs(d->home, &v) != 0) {
        check(d, "disk", errno == EACCES ? "skip" : "fail",
              "run fastn doctor as the daemon's user", "cannot look at %s: %s",
              d->home, strerror(errno));
        return;
    }
    free_b = (unsigned long long)v.f_bavail * v.f_frsize;
    snprintf(fix, sizeof(fix),
             "free space on the file system of %s (plugins' databases and "
             "state.sqlite live there)",
             d->home);
    check(d, "disk",
          free_b < DISK_FAIL_BYTES   ? "fail"
          : free_b < DISK_WARN_BYTES ? "warn"
                                     : "ok",
          fix, "%.1f GiB free for %s", (double)free_b / (1024.0 * 1024 * 1024),
          d->home);
}

/* Dials ip:port (an unspecified address: its loopback) and reads the
 * first bytes: a libp2p listener opens with "/multistream/1.0.0". */
static int dial_header(const char *ma, char *why, size_t n)
{
    char host[64];
    unsigned port;
    int used = 0, fd, rc = -1, fam;
    struct sockaddr_storage ss = {0};
    char buf[64];

    if (sscanf(ma, "/ip4/%63[^/]/tcp/%u%n", host, &port, &used) == 2)
        fam = AF_INET;
    else if (sscanf(ma, "/ip6/%63[^/]/tcp/%u%n", host, &port, &used) == 2)
        fam = AF_INET6;
    else
        return snprintf(why, n, "not a TCP address"), -1;
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, strcmp(host, "0.0.0.0") ? host : "127.0.0.1",
                  &a->sin_addr);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, strcmp(host, "::") ? host : "::1", &a->sin6_addr);
    }
    if ((fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return snprintf(why, n, "%s", strerror(errno)), -1;
    struct timeval tv = {3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&ss, sizeof(ss)) != 0)
        snprintf(why, n, "cannot connect: %s", strerror(errno));
    else if (read(fd, buf, sizeof(buf)) > 0 &&
             memmem(buf, sizeof(buf), "/multistream/1.0.0", 18))
        rc = 0;
    else
        snprintf(why, n, "it answered, but not as libp2p does");
    close(fd);
    return rc;
}

static void check_listen(struct doctor *d)
{
    char why[256];
    bool all_loopback = true;

    if (!d->st)
        return;
    if (d->st->n_listen_addrs == 0) {
        check(d, "listen", "fail",
              "fastn config set listen /ip4/0.0.0.0/tcp/4004",
              "fastnd listens on no network address: peers cannot reach it");
        return;
    }
    for (size_t i = 0; i < d->st->n_listen_addrs; i++) {
        const char *ma = d->st->listen_addrs[i];
        all_loopback &=
            !strncmp(ma, "/ip4/127.", 9) || !strncmp(ma, "/ip6/::1/", 9);
        if (dial_header(ma, why, sizeof(why)) == 0)
            check(d, "reachable", "ok", NULL, "%s answers as libp2p", ma);
        else
            check(d, "reachable", "fail",
                  "is a firewall or another program in the way? fastn log "
                  "says what fastnd did",
                  "%s: %s", ma, why);
    }
    if (all_loopback)
        check(d, "listen", "warn",
              "fastn config set listen /ip4/0.0.0.0/tcp/4004 (to be reached "
              "from other machines)",
              "fastnd listens on loopback only: peers on other machines "
              "cannot reach it");
    else
        check(d, "listen", "ok", NULL, "%zu listen address(es)",
              d->st->n_listen_addrs);
}

static void check_plugins(struct doctor *d)
{
    struct fastn_plugin_list *l = NULL;
    char fix[256];
    int err;

    if (!d->c)
        return;
    if ((err = fastn_client_plugin_list(d->c, &l))) {
        check(d, "plugins", "skip", NULL, "cannot list them: %s",
              fastn_strerror(err));
        return;
    }
    for (size_t i = 0; i < l->n_plugins; i++) {
        const struct fastn_plugin_info *p = &l->plugins[i];
        char name[64];
        snprintf(name, sizeof(name), "plugin %s", p->name);
        snprintf(fix, sizeof(fix),
                 "fastn plugin info %s; reinstall it, or fastn plugin disable "
                 "%s",
                 p->name, p->name);
        if (!strcmp(p->state, "running") || !strcmp(p->state, "disabled"))
            check(d, name, "ok", NULL, "%s %s%s", p->state, p->version,
                  p->restarts ? " (it has restarted after errors)" : "");
        else
            check(d, name, "fail", fix, "%s: %s%s%s", p->state,
                  p->last_error ? fastn_err_name(p->last_error) : "no error",
                  p->last_error_text[0] ? ": " : "", p->last_error_text);
    }
    if (!l->n_plugins)
        check(d, "plugins", "ok", NULL, "none installed");
    fastn_plugin_list_free(l);
}

static void check_clock(struct doctor *d)
{
    struct timex tx = {0};
    time_t now = time(NULL);
    int state = adjtimex(&tx);

    if (now < CLOCK_FLOOR)
        check(d, "clock", "fail",
              "set the clock (timedatectl set-ntp true, or date -s)",
              "the clock says %lld, before 2025: signatures' and messages' "
              "times are wrong",
              (long long)now);
    else if (state == TIME_ERROR || (tx.status & STA_UNSYNC))
        check(d, "clock", "warn",
              "timedatectl set-ntp true (or run an NTP client)",
              "the clock is not synchronised with a time server");
    else
        check(d, "clock", "ok", NULL, "set and synchronised");
}

int cli_cmd_doctor(struct cli *cli, int argc, char **argv)
{
    struct doctor d = {.cli = cli, .checks = json_array()};
    char *pos[1];
    int n, rc = cli_parse(cli, argc, argv, NULL, pos, 0, &n);

    if (rc) {
        json_decref(d.checks);
        return rc;
    }
    if (cli_home(cli, d.home, sizeof(d.home)))
        snprintf(d.home, sizeof(d.home), "(no home)");
    check_daemon(&d);
    check_privsep(&d);
    check_files(&d);
    check_disk(&d);
    check_listen(&d);
    check_plugins(&d);
    check_clock(&d);
    if (cli->json)
        cli_emit(
            json_pack("{s:b,s:o}", "ok", d.failed == 0, "checks", d.checks));
    else
        json_decref(d.checks);
    if (!cli->json)
        printf("%s\n", d.failed ? "some checks failed: see the fixes above"
                                : "all checks passed");
    fastn_status_free(d.st);
    fastn_client_free(d.c);
    return d.failed ? CLI_EXIT_FAIL : 0;
}
