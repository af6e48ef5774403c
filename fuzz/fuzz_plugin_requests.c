/* Fuzz target: the control protocol's plugin and notification requests
 * (src/ipc/req_plugin.c, req_notify.c, defer.c) against a real plugin
 * host with the echo plugin installed (when it is built) and a real
 * state.sqlite, in a temporary home made once per process. The input is
 * fed as a client's bytes (split in two reads, as fuzz_control_frame),
 * then the host runs a few rounds so deferred answers come back. A
 * PLUGIN_INSTALL in the input puts arbitrary bytes through the whole
 * install path (manifest, interface check, engine). Checks that every
 * queued Response decodes and has its type. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "fuzz_common.h"
#include "identity/identity.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/log.h"

static struct identity ident;
static struct ipc_host host;
static struct plugin_host *ph;
static struct store *state;

static void on_reply(void *arg, uint64_t call, int status, const uint8_t *p,
                     size_t n)
{
    (void)arg;
    ipc_plugin_call_done(&host, call, status, p, n);
}

static void nop_wake(void *arg)
{
    (void)arg;
}

static int no_open(void *arg, const char *peer, const char *protocol,
                   uint64_t token)
{
    (void)arg, (void)peer, (void)protocol, (void)token;
    return FASTN_ERR_NET_UNREACHABLE;
}

static const struct plugin_host_ops ops = {
    .stream_open = no_open, .call_reply = on_reply, .wake = nop_wake};

static void install_echo(void)
{
    char path[512], name[64], err[256];
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    uint8_t *d = malloc(1 << 20);
    size_t n;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s/plugins/echo.wasm", top ? top : ".",
             build ? build : "build");
    f = fopen(path, "rb");
    if (f && d) {
        n = fread(d, 1, 1 << 20, f);
        plugin_host_install(ph, d, n, true, name, err, sizeof(err));
    }
    if (f)
        fclose(f);
    free(d);
}

static char home[64] = "/tmp/fastn-fuzz-plugin-XXXXXX";

static void teardown(void)
{
    char cmd[128];
    plugin_host_free(ph);
    store_close(state);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", home);
}

static void setup(void)
{
    struct plugin_host_config cfg = {0};
    uint8_t seed[32] = {7};
    char path[128];

    log_set_level(LOG_ERROR);
    identity_global_init();
    identity_from_seed(&ident, seed);
    if (!mkdtemp(home))
        abort();
    snprintf(path, sizeof(path), "%s/state.sqlite", home);
    if (store_open(path, NULL, &state))
        abort();
    cfg.home = home;
    cfg.local_peer_id = "12D3KooWDiujcij5r7T3YTmKCdZRkAct8UcQicZCBUnKjd7Nnbvd";
    cfg.state = state;
    cfg.ops = &ops;
    cfg.slice_fuel = 100000;
    if (plugin_host_new(&cfg, &ph))
        abort();
    host.local_id = ident.id;
    host.policy.daemon_uid = 1000;
    host.plugins = ph;
    host.state = state;
    install_echo();
    atexit(teardown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t t = 1000;
    struct ipc_peer peer = {.pid = 1, .uid = 1000, .gid = 1000};
    struct ipc_session s;

    if (!ph)
        setup();
    ipc_session_init(&s, &host, &peer);
    ipc_session_open(&s);
    fuzz_feed_split(&s, data, size, t, t);
    for (int i = 0; i < 8; i++)
        plugin_host_run(ph, t, t, 1);
    t += 40000; /* calls time out, timers fire, backoffs end */
    plugin_host_run(ph, t, t, 1);
    fuzz_check_responses(&s);
    ipc_session_eof(&s);
    ipc_session_cleanup(&s);
    store_notify_add(state, 1, "fuzz", "t", "", NULL);
    return 0;
}
