/*
 * fastnd's top level (see daemon.h): the home folder and its lock (in
 * home.c), the config, the identity, signals and the control server on
 * one libuv loop.
 */
#include "daemon/daemon.h"
#include "daemon/quarantine.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/service.h"
#include "fastn/err.h"
#include "util/home.h"
#include "util/log.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

/* The control clients' limits: defaults for max-clients (from the config
 * or the file descriptor limit), then what the config sets. */
static void apply_limits(struct ipc_limits *l, const struct daemon_config *c)
{
    ipc_limits_default(l, c->max_clients);
    if (c->has_max_clients_per_uid)
        l->max_clients_per_uid = c->max_clients_per_uid;
    if (c->has_max_handlers_per_client)
        l->max_handlers_per_client = c->max_handlers_per_client;
    if (c->has_max_handlers_per_uid)
        l->max_handlers_per_uid = c->max_handlers_per_uid;
    if (c->has_max_pending_per_uid)
        l->max_pending_per_uid = c->max_pending_per_uid;
    if (c->has_request_timeout)
        l->request_timeout_ms = c->request_timeout * 1000;
}

static void apply_config(struct daemon *d)
{
    struct daemon_config *c = &d->config;
    struct ipc_policy *p = &d->host.policy;

    if (!d->opts->has_log_level && c->has_log_level)
        log_set_level(c->log_level);
    p->daemon_uid = getuid();
    p->allow_uids = c->allow_uids;
    p->n_allow_uids = c->n_allow_uids;
    p->allow_gids = c->allow_gids;
    p->n_allow_gids = c->n_allow_gids;
    p->admin_gids = c->admin_gids;
    p->n_admin_gids = c->n_admin_gids;
    apply_limits(&d->host.limits, c);
}

/* The home's config is read without following a link; --config FILE
 * (the administrator's) as it is. */
static int read_config(struct daemon *d, struct daemon_config *c, char *err,
                       size_t errlen)
{
    return d->opts->config_file
               ? daemon_config_load(c, d->config_path, err, errlen)
               : daemon_config_load_own(c, d->config_path, err, errlen);
}

static int load_config(struct daemon *d, char *err, size_t errlen)
{
    int rc;

    /* --config FILE (the system service's /etc/fastn/fastnd.conf) is the
     * administrator's: read, never written. */
    if (d->opts->config_file)
        rc = home_resolve(d->opts->config_file, d->config_path,
                          sizeof(d->config_path));
    else
        rc = home_path(d->home, "config", d->config_path,
                       sizeof(d->config_path));
    if (rc)
        return fail(err, errlen, FASTN_ERR_TOO_LARGE, "config path too long");
    if (d->opts->config_file && access(d->config_path, R_OK) != 0)
        return fail(err, errlen, FASTN_ERR_NOT_FOUND,
                    "cannot read the config file %s: %s; create it or drop "
                    "--config",
                    d->config_path, strerror(errno));
    if (!d->home_is_temp && !d->opts->config_file &&
        daemon_config_write_template(d->config_path))
        log_msg(LOG_WARN, "daemon", "cannot write %s", d->config_path);
    daemon_config_init(&d->config);
    rc = read_config(d, &d->config, err, errlen);
    if (rc)
        return rc;
    daemon_fds_fill(&d->fds, &d->config);
    daemon_fds_log(&d->fds, &d->config);
    apply_config(d);
    return 0;
}

static int load_identity(struct daemon *d, char *err, size_t errlen)
{
    char pid[PEER_ID_STR_MAX];
    bool created = false;
    int rc = daemon_home_load_identity(d, &created, err, errlen);

    if (rc)
        return rc;
    d->has_identity = true;
    log_msg(LOG_INFO, "daemon", "%s identity %s",
            created ? "created" : "loaded",
            peer_id_format(&d->identity.id, pid));
    return 0;
}

static int socket_path(struct daemon *d, char *err, size_t errlen)
{
    const char *p = d->opts->control_path;
    int rc;

    if (p)
        rc = home_resolve(p, d->sock_path, sizeof(d->sock_path));
    else
        rc = home_path(d->home, HOME_SOCKET_NAME, d->sock_path,
                       sizeof(d->sock_path));
    if (rc || strlen(d->sock_path) > IPC_SOCKET_PATH_MAX)
        return fail(err, errlen, FASTN_ERR_TOO_LARGE,
                    "control socket path too long (max %d bytes): %s; use a "
                    "shorter --home or -listen path",
                    IPC_SOCKET_PATH_MAX, d->sock_path);
    /* Socket activation: the socket systemd passed wins over the path. */
    rc = service_listen_fd(&d->passed_fd, d->sock_path, IPC_SOCKET_PATH_MAX + 1,
                           err, errlen);
    if (!rc && d->passed_fd >= 0)
        log_msg(LOG_INFO, "daemon", "control socket %s passed by systemd",
                d->sock_path);
    return rc;
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct daemon *d = h->data;

    log_msg(LOG_INFO, "daemon", "%s: shutting down",
            signum == SIGINT ? "SIGINT" : "SIGTERM");
    d->stopping = true;
    service_notify("STOPPING=1");
    ipc_server_close(&d->ipc);
    daemon_quarantine_stop(d);
    daemon_registry_stop(d);
    daemon_plugins_stop(d);
    daemon_net_stop(d);
    daemon_privsep_stop(d);
    uv_close((uv_handle_t *)&d->sig_term, NULL);
    uv_close((uv_handle_t *)&d->sig_int, NULL);
    uv_close((uv_handle_t *)&d->sig_hup, NULL);
}

/* SIGHUP (and DAEMON_RELOAD) re-reads the config and applies it, the
 * network settings included; a bad file keeps the running one. */
int daemon_reload(struct daemon *d, const char *why, char *err, size_t errlen)
{
    struct daemon_config fresh;
    int rc;

    daemon_config_init(&fresh);
    if ((rc = read_config(d, &fresh, err, errlen)) != 0) {
        log_msg(LOG_ERROR, "daemon", "%s: keeping the old config: %s", why,
                err);
        daemon_config_cleanup(&fresh);
        return rc;
    }
    daemon_fds_fill(&d->fds, &fresh);
    daemon_net_reload(d, &fresh);
    daemon_config_cleanup(&d->config);
    d->config = fresh;
    apply_config(d);
    daemon_registry_reload(d);
    daemon_quarantine_reload(d);
    daemon_plugins_reload(d);
    /* lchown: the socket itself, never what a link there points at */
    if (d->config.has_socket_group &&
        lchown(d->sock_path, (uid_t)-1, d->config.socket_group) != 0)
        log_msg(LOG_ERROR, "daemon", "%s: cannot set the group of %s: %s", why,
                d->sock_path, strerror(errno));
    log_msg(LOG_INFO, "daemon", "%s: config reloaded", why);
    return 0;
}

static void on_reload_signal(uv_signal_t *h, int signum)
{
    char err[512];

    (void)signum;
    daemon_reload(h->data, "SIGHUP", err, sizeof(err));
}

static int start_loop(struct daemon *d, char *err, size_t errlen)
{
    if (uv_loop_init(&d->loop) != 0)
        return fail(err, errlen, FASTN_ERR_IO, "cannot start the event loop");
    d->loop_ready = true;
    uv_signal_init(&d->loop, &d->sig_term);
    uv_signal_init(&d->loop, &d->sig_int);
    uv_signal_init(&d->loop, &d->sig_hup);
    d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
    uv_signal_start(&d->sig_term, on_stop_signal, SIGTERM);
    uv_signal_start(&d->sig_int, on_stop_signal, SIGINT);
    uv_signal_start(&d->sig_hup, on_reload_signal, SIGHUP);
    return daemon_privsep_start(d, err, errlen);
}

static int start_control(struct daemon *d, char *err, size_t errlen)
{
    gid_t gid = d->config.has_socket_group ? d->config.socket_group : (gid_t)-1;
    int rc;

    d->host.local_id = d->identity.id; /* the PeerID, not the keys */
    d->host.home = d->home;
    d->host.started_ms = uv_now(&d->loop);
    if (d->passed_fd >= 0) {
        rc = ipc_server_adopt(&d->ipc, &d->loop, &d->host, d->passed_fd,
                              d->sock_path);
        d->passed_fd = -1; /* the server's now */
    } else {
        rc = ipc_server_start(&d->ipc, &d->loop, &d->host, d->sock_path, gid);
    }
    if (rc == FASTN_ERR_DAEMON_RUNNING)
        return fail(err, errlen, rc,
                    "a daemon already answers on %s; stop it first or use "
                    "another socket path",
                    d->sock_path);
    if (rc == FASTN_ERR_EXISTS)
        return fail(err, errlen, rc,
                    "%s exists and is not a socket; move it away",
                    d->sock_path);
    if (rc)
        return fail(err, errlen, rc, "cannot listen on %s: %s (see the log)",
                    d->sock_path, fastn_strerror(rc));
    return 0;
}

static void file_sink(enum log_level level, const char *subsys,
                      const char *line, void *arg)
{
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(arg, "%s %s %s: %s\n", ts, log_level_name(level), subsys, line);
    fflush(arg);
}

static int open_log_file(struct daemon *d, char *err, size_t errlen)
{
    int rc = daemon_home_open_log(d, &d->log_file, err, errlen);

    if (!rc)
        log_set_sink(file_sink, d->log_file);
    return rc;
}

int daemon_init(struct daemon *d, const struct daemon_options *opts,
                bool log_to_file, char *err, size_t errlen)
{
    int rc;

    memset(d, 0, sizeof(*d));
    d->opts = opts;
    d->lock_fd = -1;
    /* before anything holds a descriptor: raise the limit, derive from it */
    daemon_fds_raise(&d->fds);
    daemon_fds_derive(&d->fds);
    d->home_fd = -1;
    d->passed_fd = -1;
    d->signer.fd = -1;
    if (opts->has_log_level)
        log_set_level(opts->log_level);
    if ((rc = daemon_home_open(d, err, errlen)) ||
        (rc = daemon_home_lock(d, err, errlen)) ||
        (log_to_file && (rc = open_log_file(d, err, errlen))) ||
        (rc = load_config(d, err, errlen)) ||
        (rc = load_identity(d, err, errlen)) ||
        (rc = socket_path(d, err, errlen)) ||
        (rc = start_loop(d, err, errlen)) ||
        (rc = daemon_net_start(d, err, errlen)) ||
        (rc = daemon_plugins_start(d, err, errlen)) ||
        (rc = daemon_registry_start(d, err, errlen)) ||
        (rc = daemon_quarantine_start(d, err, errlen)) ||
        (rc = start_control(d, err, errlen))) {
        daemon_privsep_explain(d, err, errlen);
        return rc;
    }
    if (daemon_control_init(d))
        return fail(err, errlen, FASTN_ERR_NOMEM, "out of memory");
    if ((rc = daemon_privsep_sandbox(d, err, errlen)))
        return rc;
    log_msg(LOG_INFO, "daemon", "fastnd %s ready on %s (pid %ld)",
            FASTN_VERSION, d->sock_path, (long)getpid());
    service_notify("READY=1");
    return 0;
}

void daemon_print_banner(const struct daemon *d, FILE *out)
{
    char pid[PEER_ID_STR_MAX];

    fprintf(out, "Control socket: /unix%s\n", d->sock_path);
    fprintf(out, "Peer ID: %s\n", peer_id_format(&d->identity.id, pid));
    fprintf(out, "Peer Addrs:\n");
    daemon_net_print_addrs(d, out);
    fflush(out);
}

int daemon_run(struct daemon *d)
{
    uv_run(&d->loop, UV_RUN_DEFAULT);
    return d->stopping && !d->signer_lost ? 0 : 1;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void daemon_cleanup(struct daemon *d)
{
    if (d->loop_ready) {
        if (!d->stopping) {
            uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
            ipc_server_close(&d->ipc);
            daemon_quarantine_stop(d);
            daemon_registry_stop(d);
            daemon_plugins_stop(d);
            daemon_net_stop(d);
            daemon_privsep_stop(d);
            for (int i = 0; i < 3; i++)
                if (!uv_is_closing((uv_handle_t *)sigs[i]))
                    uv_close((uv_handle_t *)sigs[i], NULL);
        }
        uv_run(&d->loop, UV_RUN_DEFAULT);
        uv_loop_close(&d->loop);
        d->loop_ready = false;
    }
    daemon_privsep_cleanup(d);
    daemon_net_cleanup(d);
    daemon_control_free(d);
    if (d->has_identity)
        identity_cleanup(&d->identity);
    d->has_identity = false;
    daemon_config_cleanup(&d->config);
    if (d->home_is_temp)
        nftw(d->home, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (d->lock_fd >= 0)
        close(d->lock_fd);
    d->lock_fd = -1;
    if (d->home_fd >= 0)
        close(d->home_fd);
    d->home_fd = -1;
    if (d->passed_fd >= 0)
        close(d->passed_fd);
    d->passed_fd = -1;
    if (d->log_file) {
        log_set_sink(NULL, NULL);
        fclose(d->log_file);
        d->log_file = NULL;
    }
}
