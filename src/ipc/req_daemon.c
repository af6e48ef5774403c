/*
 * The fastn extension's requests about the daemon itself: DAEMON_STOP
 * (`fastn stop`, `fastn restart`) and DAEMON_RELOAD (`fastn config
 * set`), both for admins only (ext.c's table says so), and the fields of STATUS
 * that say how the daemon runs (where its log goes, its config file, its unit).
 * The daemon does the work through host->daemon (struct ipc_daemon); without
 * one (unit tests, the fuzzer) the requests are unsupported.
 */
#include <stdio.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "util/log.h"

static int no_daemon(struct ipc_call *call)
{
    ipc_reply_set_msg(&call->reply, "this fastnd cannot be stopped or "
                                    "reloaded through its socket");
    return FASTN_ERR_UNSUPPORTED;
}

/* DAEMON_STOP: answered at once; the shutdown begins on a later turn of
 * the loop, once the answer was written. */
int ipc_ext_daemon_stop(struct ipc_call *call, const Fastn__Request *req,
                        Fastn__Response *ext)
{
    const struct ipc_daemon *d = call->host->daemon;
    const struct ipc_peer *p = &call->session->peer;
    char why[96];

    (void)req;
    (void)ext;
    if (!d || !d->stop)
        return no_daemon(call);
    snprintf(why, sizeof(why), "stop requested by a client (uid %u, pid %d)",
             (unsigned)p->uid, (int)p->pid);
    d->stop(d->arg, why);
    return 0;
}

/* DAEMON_RELOAD: the config re-read and applied before the answer; a bad
 * file is an error whose message names the line, the old config kept. */
int ipc_ext_daemon_reload(struct ipc_call *call, const Fastn__Request *req,
                          Fastn__Response *ext)
{
    const struct ipc_daemon *d = call->host->daemon;
    char err_text[512] = "";
    int err;

    (void)req;
    (void)ext;
    if (!d || !d->reload)
        return no_daemon(call);
    err = d->reload(d->arg, err_text, sizeof(err_text));
    if (err)
        ipc_reply_set_msg(&call->reply, "%s; the running config is kept",
                          err_text[0] ? err_text : fastn_strerror(err));
    return err;
}

int ipc_status_daemon(struct ipc_call *call, Fastn__Status *st)
{
    const struct ipc_daemon *d = call->host->daemon;

    if (!d)
        return 0;
    st->log_target = (char *)d->log_target;
    st->log_file = (char *)d->log_file;
    st->config = (char *)d->config;
    st->unit = (char *)d->unit;
    st->has_user_unit = st->has_socket_activated = st->has_foreground = true;
    st->user_unit = d->user_unit;
    st->socket_activated = d->socket_activated;
    st->foreground = d->foreground;
    st->restart_keys = (char **)d->restart_keys;
    st->n_restart_keys = d->n_restart_keys;
    st->has_signer_pid = true;
    st->signer_pid = d->signer_pid;
    st->seccomp = (char *)d->seccomp;
    return 0;
}
