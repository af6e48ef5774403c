/*
 * Privilege separation, the daemon's side: the signer process holds the
 * identity key (identity/signer.h; started with the identity in home.c),
 * this watches it from the loop, and the daemon's own seccomp filter
 * goes on once it is ready (sandbox/sandbox.h).
 *
 * The signer never writes unasked, so its socket readable while the loop
 * waits means it is gone: the daemon cannot make a handshake without it,
 * so it says why and stops with status 1, for the service manager to
 * restart both (Restart=on-failure), rather than run half blind.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "sandbox/sandbox.h"
#include "util/errbuf.h"
#include "util/log.h"

static void on_signer(uv_poll_t *h, int status, int events)
{
    struct daemon *d = h->data;
    char why[256];

    (void)status;
    (void)events;
    if (d->signer_lost || !signer_gone(&d->signer, why, sizeof(why)))
        return;
    d->signer_lost = true;
    log_msg(LOG_ERROR, "daemon",
            "%s; fastnd cannot sign handshakes without it and stops (a "
            "service manager restarts it; else start fastnd again, and see "
            "the log above for the signer's last words)",
            why);
    daemon_privsep_stop(d);
    /* the same way out as SIGTERM, with status 1 (daemon_run) */
    kill(getpid(), SIGTERM);
}

int daemon_privsep_start(struct daemon *d, char *err, size_t errlen)
{
    if (signer_fd(&d->signer) < 0)
        return 0;
    if (uv_poll_init(&d->loop, &d->signer_watch, signer_fd(&d->signer)) ||
        uv_poll_start(&d->signer_watch, UV_READABLE | UV_DISCONNECT, on_signer))
        return errbuf_say(err, errlen, FASTN_ERR_IO,
                          "cannot watch the signer process's socket");
    d->signer_watch.data = d;
    d->signer_watched = true;
    return 0;
}

int daemon_privsep_sandbox(struct daemon *d, char *err, size_t errlen)
{
    int rc = sandbox_install(SANDBOX_DAEMON, d->config.seccomp, d->signer.pid);

    if (rc)
        return errbuf_say(
            err, errlen, rc,
            "cannot install the seccomp filter (%s): set seccomp = "
            "off in %s on a kernel without seccomp",
            fastn_strerror(rc), d->config_path);
    log_msg(LOG_INFO, "daemon",
            "privilege separation: the key is in the signer process (pid "
            "%ld); seccomp %s",
            (long)d->signer.pid, sandbox_mode_name(d->config.seccomp));
    return 0;
}

void daemon_privsep_explain(struct daemon *d, char *err, size_t errlen)
{
    char why[256], was[512];

    if (signer_fd(&d->signer) < 0 || d->signer_lost ||
        !signer_gone(&d->signer, why, sizeof(why)))
        return;
    d->signer_lost = true;
    snprintf(was, sizeof(was), "%s", err);
    snprintf(err, errlen,
             "%s, so fastnd could not start (%s); start it again, and see "
             "the log for the signer's last words",
             why, was);
}

void daemon_privsep_stop(struct daemon *d)
{
    if (d->signer_watched && !uv_is_closing((uv_handle_t *)&d->signer_watch))
        uv_close((uv_handle_t *)&d->signer_watch, NULL);
}

void daemon_privsep_cleanup(struct daemon *d)
{
    signer_stop(&d->signer);
}
