/*
 * The daemon's glue for the plugin host (src/plugin) and notifications:
 * opens HOME/state.sqlite, creates the plugin host for the daemon's
 * identity, loads the installed plugins, and runs the host on the event
 * loop: a uv_idle handle while events are queued (one round of slices per
 * loop iteration, so network and clients are served between slices), a
 * uv_timer for the next timer, call timeout or restart. Answers of
 * plugins to calls go to the control server (ipc_plugin_call_done);
 * streams go to the router once the network is there.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/home.h"
#include "util/log.h"

struct daemon_plugins {
    struct daemon *d;
    struct store *state;
    struct plugin_host *host;
    uv_idle_t idle;
    uv_timer_t timer;
    bool idle_on, handles;
    int closing; /* handles still closing */
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void schedule(struct daemon_plugins *dp);

static void on_idle(uv_idle_t *h)
{
    struct daemon_plugins *dp = h->data;

    uv_update_time(h->loop);
    plugin_host_run(dp->host, wall_ms(), uv_now(h->loop), 1);
    schedule(dp);
}

static void on_timer(uv_timer_t *h)
{
    on_idle(&((struct daemon_plugins *)h->data)->idle);
}

/* Keeps the idle handle on while work is queued, else arms the timer for
 * the next thing due. */
static void schedule(struct daemon_plugins *dp)
{
    uint64_t now = uv_now(&dp->d->loop);
    uint64_t next = plugin_host_next_wake(dp->host);

    if (next <= now) {
        if (!dp->idle_on)
            uv_idle_start(&dp->idle, on_idle);
        dp->idle_on = true;
        return;
    }
    if (dp->idle_on)
        uv_idle_stop(&dp->idle);
    dp->idle_on = false;
    if (next == UINT64_MAX)
        uv_timer_stop(&dp->timer);
    else
        uv_timer_start(&dp->timer, on_timer, next - now, 0);
}

/* --- ops --------------------------------------------------------------- */

static int op_stream_open(void *arg, const char *peer, const char *protocol,
                          uint64_t token)
{
    (void)arg, (void)peer, (void)protocol, (void)token;
    /* no network layer in this daemon yet */
    return FASTN_ERR_NET_UNREACHABLE;
}

static int op_stream_write(void *arg, uint64_t stream, const uint8_t *p,
                           size_t n)
{
    (void)arg, (void)stream, (void)p, (void)n;
    return FASTN_ERR_CLOSED;
}

static int op_stream_close(void *arg, uint64_t stream)
{
    (void)arg, (void)stream;
    return FASTN_ERR_CLOSED;
}

static void op_stream_pause(void *arg, uint64_t stream, bool paused)
{
    (void)arg, (void)stream, (void)paused;
}

static void op_call_reply(void *arg, uint64_t call, int status,
                          const uint8_t *p, size_t n)
{
    struct daemon_plugins *dp = arg;
    ipc_plugin_call_done(&dp->d->host, call, status, p, n);
}

static void op_wake(void *arg)
{
    struct daemon_plugins *dp = arg;
    if (dp->handles && !dp->idle_on) {
        uv_idle_start(&dp->idle, on_idle);
        dp->idle_on = true;
    }
}

static void op_protocols_changed(void *arg)
{
    (void)arg;
}

static const struct plugin_host_ops ops = {
    .stream_open = op_stream_open,
    .stream_write = op_stream_write,
    .stream_close = op_stream_close,
    .stream_reset = op_stream_close,
    .stream_pause = op_stream_pause,
    .call_reply = op_call_reply,
    .wake = op_wake,
    .protocols_changed = op_protocols_changed,
};

/* --- start and stop ---------------------------------------------------- */

int daemon_plugins_start(struct daemon *d, char *err, size_t errlen)
{
    struct daemon_plugins *dp = calloc(1, sizeof(*dp));
    struct plugin_host_config cfg;
    char path[PATH_MAX], pid[PEER_ID_STR_MAX];
    int rc;

    if (!dp)
        return FASTN_ERR_NOMEM;
    dp->d = d;
    d->plugins = dp;
    rc = home_path(d->home, "state.sqlite", path, sizeof(path));
    if (!rc)
        rc = store_open(path, NULL, &dp->state);
    if (rc) {
        snprintf(err, errlen, "cannot open %s/state.sqlite: %s", d->home,
                 fastn_strerror(rc));
        return rc;
    }
    memset(&cfg, 0, sizeof(cfg));
    cfg.home = d->home;
    cfg.local_peer_id = peer_id_format(&d->identity.id, pid);
    cfg.state = dp->state;
    cfg.ops = &ops;
    cfg.ops_arg = dp;
    rc = plugin_host_new(&cfg, &dp->host);
    if (rc) {
        snprintf(err, errlen, "cannot set up plugins in %s: %s", d->home,
                 fastn_strerror(rc));
        return rc;
    }
    uv_idle_init(&d->loop, &dp->idle);
    uv_timer_init(&d->loop, &dp->timer);
    dp->idle.data = dp->timer.data = dp;
    dp->handles = true;
    d->host.plugins = dp->host;
    d->host.state = dp->state;
    plugin_host_load_all(dp->host);
    schedule(dp);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct daemon_plugins *dp = h->data;
    if (--dp->closing == 0)
        free(dp);
}

void daemon_plugins_stop(struct daemon *d)
{
    struct daemon_plugins *dp = d->plugins;

    if (!dp)
        return;
    d->plugins = NULL;
    d->host.plugins = NULL;
    d->host.state = NULL;
    /* on_stop of every plugin; calls still waiting are answered */
    plugin_host_free(dp->host);
    dp->host = NULL;
    store_close(dp->state);
    dp->state = NULL;
    if (!dp->handles) {
        free(dp);
        return;
    }
    dp->closing = 2;
    uv_close((uv_handle_t *)&dp->timer, on_handle_closed);
    uv_close((uv_handle_t *)&dp->idle, on_handle_closed);
}
