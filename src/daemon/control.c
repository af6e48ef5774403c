/*
 * What clients may do to the daemon, and learn of how it runs (the
 * struct ipc_daemon behind DAEMON_STOP, DAEMON_RELOAD and STATUS):
 *
 *  - stop: the same clean shutdown as SIGTERM, which it raises, so that
 *    the request is answered first (the signal is handled on a later
 *    turn of the loop);
 *  - reload: daemon_reload(), as SIGHUP;
 *  - where the log goes: HOME/fastnd.log (detached), the journal (stderr
 *    is the journal's stream), or stderr, named when it is a file;
 *  - the systemd unit, from /proc/self/cgroup when systemd started us
 *    ($INVOCATION_ID), for `fastn log` (journalctl -u) and `fastn
 *    restart` (systemctl);
 *  - the config keys that wait for a restart: those the command line
 *    sets (--log-level, --listen), which a reload leaves alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "sandbox/sandbox.h"
#include "daemon/service.h"
#include "fastn/err.h"
#include "util/file.h"
#include "util/home.h"
#include "util/log.h"

#define CONTROL_MAX_KEYS 16

struct daemon_control {
    struct ipc_daemon ipc;
    char log_file[PATH_MAX];
    char unit[256];
    const char *keys[CONTROL_MAX_KEYS];
};

static void control_stop(void *arg, const char *why)
{
    log_msg(LOG_INFO, "daemon", "%s", why);
    (void)arg;
    /* handled as SIGTERM is, once this request's answer is out */
    kill(getpid(), SIGTERM);
}

static int control_reload(void *arg, char *err, size_t errlen)
{
    return daemon_reload(arg, "reload request", err, errlen);
}

/* The last component of one cgroup path (len bytes) when it is a
 * .service: 0 with it in unit, else FASTN_ERR_NOT_FOUND. */
static int path_unit(const char *path, size_t len, char *unit, size_t n,
                     bool *user)
{
    const char *last = path + len;
    size_t k;

    while (last > path && last[-1] != '/')
        last--;
    k = (size_t)(path + len - last);
    if (k <= 8 || k >= n || memcmp(path + len - 8, ".service", 8))
        return FASTN_ERR_NOT_FOUND;
    memcpy(unit, last, k);
    unit[k] = '\0';
    *user = memmem(path, len, "/user@", 6) != NULL;
    return 0;
}

int daemon_control_unit(const char *cgroup, char *unit, size_t n, bool *user)
{
    for (const char *line = cgroup; line && *line;) {
        const char *end = strchr(line, '\n'), *path;
        size_t len = end ? (size_t)(end - line) : strlen(line);
        /* v2: "0::/PATH"; v1: "N:name=systemd:/PATH" */
        bool systemd = !strncmp(line, "0::", 3) ||
                       memmem(line, len, ":name=systemd:", 14) != NULL;
        if (systemd && (path = memchr(line, '/', len)) &&
            path_unit(path, len - (size_t)(path - line), unit, n, user) == 0)
            return 0;
        line = end ? end + 1 : NULL;
    }
    return FASTN_ERR_NOT_FOUND;
}

/* The unit systemd runs us as, when it started us. */
static void find_unit(struct daemon_control *c)
{
    const char *inv = getenv("INVOCATION_ID");
    uint8_t *text = NULL;
    size_t len = 0;
    bool user = false;

    if (!inv || !inv[0] ||
        file_read_all("/proc/self/cgroup", 64 * 1024, &text, &len) != 0)
        return;
    (void)len; /* file_read_all ends the text with a NUL */
    if (daemon_control_unit((const char *)text, c->unit, sizeof(c->unit),
                            &user) == 0)
        c->ipc.user_unit = user;
    free(text);
}

/* Where the log goes; a foreground daemon's stderr is named when it is a
 * file (a shell's 2>file, a service manager's StandardError=file:). */
static void find_log(struct daemon *d, struct daemon_control *c)
{
    struct stat st;
    ssize_t n;

    if (d->log_file) {
        c->ipc.log_target = "file";
        if (home_path(d->home, "fastnd.log", c->log_file, sizeof(c->log_file)))
            c->log_file[0] = '\0';
        return;
    }
    if (service_stderr_is_journal()) {
        c->ipc.log_target = "journal";
        return;
    }
    c->ipc.log_target = "stderr";
    if (fstat(2, &st) == 0 && S_ISREG(st.st_mode) &&
        (n = readlink("/proc/self/fd/2", c->log_file,
                      sizeof(c->log_file) - 1)) > 0 &&
        c->log_file[0] == '/')
        c->log_file[n] = '\0';
    else
        c->log_file[0] = '\0';
}

int daemon_control_init(struct daemon *d)
{
    struct daemon_control *c = calloc(1, sizeof(*c));
    size_t k = 0;

    if (!c)
        return FASTN_ERR_NOMEM;
    c->ipc.arg = d;
    c->ipc.stop = control_stop;
    c->ipc.reload = control_reload;
    c->ipc.config = d->config_path;
    c->ipc.foreground = d->log_file == NULL;
    c->ipc.socket_activated = d->ipc.adopted;
    find_log(d, c);
    find_unit(c);
    if (d->opts->has_log_level)
        c->keys[k++] = "log-level";
    if (d->opts->n_listen || d->opts->no_listen_addrs)
        c->keys[k++] = "listen";
    c->keys[k++] = "seccomp"; /* a filter is installed once, at start */
    c->keys[k++] = "autonat-server";
    c->keys[k++] = "private-addresses";
    c->keys[k++] = "relays";
    c->keys[k++] = "relay-service";
    c->keys[k++] = "dht";
    c->keys[k++] = "bootstrap";
    c->keys[k++] = "mdns";
    c->keys[k++] = "plugin-storage-mib"; /* when the database opens */
    c->ipc.restart_keys = c->keys;
    c->ipc.n_restart_keys = k;
    c->ipc.log_file = c->log_file;
    c->ipc.signer_pid = (uint32_t)d->signer.pid;
    c->ipc.seccomp = sandbox_mode_name(d->config.seccomp);
    c->ipc.unit = c->unit;
    d->control = c;
    d->host.daemon = &c->ipc;
    return 0;
}

void daemon_control_free(struct daemon *d)
{
    if (!d->control)
        return;
    d->host.daemon = NULL;
    free(d->control);
    d->control = NULL;
}
