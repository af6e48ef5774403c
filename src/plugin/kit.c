/*
 * The plugin test library (include/fastn/plugin_test.h): a world of
 * nodes, each a real plugin host (src/plugin) with its own home and
 * state.sqlite, driven by the test's clock; calls, installs, restarts,
 * and what a plugin left (its info, notifications, database). The
 * network between them is kit_net.c.
 *
 * Ownership: the world owns its nodes, streams and replies; a node's
 * home is deleted with the world only when the world made it.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"
#include "plugin/kit_int.h"
#include "util/file.h"
#include "util/log.h"
#include "util/args.h"

struct fastn_test *fastn_test_new(void)
{
    struct fastn_test *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->now = 1700000000000ull;
    t->mono = 1000000;
    if (!getenv("FASTN_TEST_LOG"))
        log_set_level(LOG_ERROR);
    log_set_sink(log_sink_stderr, NULL);
    return t;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

void fastn_test_free(struct fastn_test *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_nodes; i++) {
        struct fastn_test_node *n = t->nodes[i];
        fastn_test_node_stop(n);
        if (n->own_home)
            nftw(n->home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        for (size_t k = 0; k < n->n_replies; k++)
            free(n->replies[k].data);
        free(n->replies);
        free(n);
    }
    for (size_t i = 0; i < t->n_streams; i++) {
        free(t->streams[i]->end[0].inbox);
        free(t->streams[i]->end[1].inbox);
        free(t->streams[i]);
    }
    free(t->nodes);
    free(t->streams);
    free(t);
}

void fastn_test_set_trace(struct fastn_test *t, fastn_test_trace_fn fn,
                          void *arg)
{
    t->trace = fn;
    t->trace_arg = arg;
}

uint64_t fastn_test_now(const struct fastn_test *t)
{
    return t->now;
}

/* A made-up Ed25519 public key from the name (FNV-1a, spread over 32
 * bytes): a valid PeerID, the same for the same name. */
void fastn_test_peer_id(const char *name, char out[FASTN_TEST_PEER_ID_MAX])
{
    uint8_t key[IDENTITY_PUBKEY_LEN];
    uint64_t h = 14695981039346656037ull;
    struct peer_id id;
    char buf[PEER_ID_STR_MAX];

    for (size_t i = 0; i < sizeof(key); i++) {
        for (const char *p = name; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
        h = (h ^ i) * 1099511628211ull;
        key[i] = (uint8_t)(h >> 24);
    }
    peer_id_from_pubkey(key, &id);
    peer_id_format(&id, buf);
    snprintf(out, FASTN_TEST_PEER_ID_MAX, "%s", buf);
}

/* --- nodes -------------------------------------------------------------- */

int kit_node_start(struct fastn_test_node *n, bool load)
{
    char path[sizeof(n->home) + 16];
    struct plugin_host_config cfg;
    int rc;

    if (n->h)
        return 0;
    snprintf(path, sizeof(path), "%s/state.sqlite", n->home);
    if ((rc = store_open(path, NULL, &n->state)))
        return rc;
    memset(&cfg, 0, sizeof(cfg));
    cfg.home = n->home;
    cfg.local_peer_id = n->peer_id;
    cfg.state = n->state;
    cfg.ops = &kit_ops;
    cfg.ops_arg = n;
    cfg.slice_fuel = n->slice_fuel;
    if ((rc = plugin_host_new(&cfg, &n->h))) {
        store_close(n->state);
        n->state = NULL;
        return rc;
    }
    n->online = 1;
    if (load)
        plugin_host_load_all(n->h);
    return 0;
}

int fastn_test_node_start(struct fastn_test_node *n)
{
    return kit_node_start(n, true);
}

/* As a daemon shutdown: every stream of the node dies (as its
 * connections would), then the host stops its plugins. */
void fastn_test_node_stop(struct fastn_test_node *n)
{
    struct fastn_test *t = n->t;

    for (size_t i = 0; i < t->n_streams; i++) {
        struct fastn_test_stream *s = t->streams[i];
        for (int k = 0; s->used && k < 2; k++)
            if (s->end[k].node == n) {
                s->end[k].dead = 1;
                if (!s->end[!k].dead)
                    s->end[!k].reset_pending = 1;
            }
    }
    plugin_host_free(n->h);
    kit_jobs_run(n, false); /* the host's jobs: each freed by its done() */
    store_close(n->state);
    n->h = NULL;
    n->state = NULL;
    n->online = 0;
}

int fastn_test_node_restart(struct fastn_test_node *n)
{
    fastn_test_node_stop(n);
    return fastn_test_node_start(n);
}

static int node_home(struct fastn_test_node *n, const char *home)
{
    if (home) {
        if (strlen(home) >= sizeof(n->home))
            return FASTN_ERR_TOO_LARGE;
        snprintf(n->home, sizeof(n->home), "%s", home);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(n->home, sizeof(n->home), "%s/fastn-test-XXXXXX",
             tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
    if (!mkdtemp(n->home))
        return FASTN_ERR_IO;
    n->own_home = true;
    return 0;
}

int kit_node_new(struct fastn_test *t, const char *name, const char *home,
                 uint64_t slice_fuel, bool load, struct fastn_test_node **out)
{
    struct fastn_test_node *n, **v;
    int rc;

    if (!name || !*name || strlen(name) > KIT_NODE_NAME_MAX)
        return FASTN_ERR_INVAL;
    if (fastn_test_node_get(t, name))
        return FASTN_ERR_EXISTS;
    if (!(n = calloc(1, sizeof(*n))))
        return FASTN_ERR_NOMEM;
    if (!(v = realloc(t->nodes, (t->n_nodes + 1) * sizeof(*v)))) {
        free(n);
        return FASTN_ERR_NOMEM;
    }
    t->nodes = v;
    n->t = t;
    n->slice_fuel = slice_fuel;
    snprintf(n->name, sizeof(n->name), "%s", name);
    fastn_test_peer_id(name, n->peer_id);
    if ((rc = node_home(n, home)) || (rc = kit_node_start(n, load))) {
        if (n->own_home)
            rmdir(n->home);
        free(n);
        return rc;
    }
    t->nodes[t->n_nodes++] = n;
    *out = n;
    return 0;
}

int fastn_test_node_new(struct fastn_test *t, const char *name,
                        const char *home, struct fastn_test_node **out)
{
    return kit_node_new(t, name, home, 0, true, out);
}

struct fastn_test_node *fastn_test_node_get(struct fastn_test *t,
                                            const char *name)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        if (strcmp(t->nodes[i]->name, name) == 0)
            return t->nodes[i];
    return NULL;
}

const char *fastn_test_node_peer_id(const struct fastn_test_node *n)
{
    return n->peer_id;
}

const char *fastn_test_node_home(const struct fastn_test_node *n)
{
    return n->home;
}

int fastn_test_install(struct fastn_test_node *n, const uint8_t *wasm,
                       size_t len, bool replace, char *name_out, char *err,
                       size_t errlen)
{
    char name[PLUGIN_NAME_MAX + 1], dummy[8];

    if (!n->h)
        return FASTN_ERR_CLOSED;
    if (!err) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    int rc = plugin_host_install(n->h, wasm, len, replace, name, err, errlen);
    if (!rc && name_out)
        snprintf(name_out, PLUGIN_NAME_MAX + 1, "%s", name);
    return rc;
}

int fastn_test_install_file(struct fastn_test_node *n, const char *path,
                            bool replace, char *name_out, char *err,
                            size_t errlen)
{
    uint8_t *wasm = NULL;
    size_t len = 0;
    int rc = file_read_all(path, PLUGIN_FILE_MAX, &wasm, &len);

    if (rc) {
        if (err)
            snprintf(err, errlen, "cannot read %s: %s", path,
                     fastn_strerror(rc));
        return rc;
    }
    rc = fastn_test_install(n, wasm, len, replace, name_out, err, errlen);
    free(wasm);
    return rc;
}

/* --- calls --------------------------------------------------------------- */

int fastn_test_call_start(struct fastn_test_node *n, const char *plugin,
                          const char *method, const void *arg, size_t len,
                          uint64_t *id)
{
    uint64_t call = ++n->next_call;
    int rc;

    if (!n->h)
        return FASTN_ERR_PLUGIN_CRASHED;
    rc = plugin_host_call(n->h, plugin, method, strlen(method),
                          len ? arg : (const uint8_t *)"", len, call);
    if (!rc && id)
        *id = call;
    return rc;
}

const struct fastn_test_reply *fastn_test_reply_get(struct fastn_test_node *n,
                                                    uint64_t id)
{
    for (size_t i = n->n_replies; i-- > 0;)
        if (n->replies[i].id == id)
            return &n->replies[i];
    return NULL;
}

size_t fastn_test_reply_count(const struct fastn_test_node *n)
{
    return n->n_replies;
}

int fastn_test_call(struct fastn_test_node *n, const char *plugin,
                    const char *method, const void *arg, size_t len,
                    const struct fastn_test_reply **out)
{
    uint64_t id = 0;
    const struct fastn_test_reply *r = NULL;
    int rc = fastn_test_call_start(n, plugin, method, arg, len, &id);

    if (rc)
        return rc;
    /* a plugin may answer later (a stream, a timer): time goes on, a
     * second at a time, until the call's own timeout answers it */
    for (uint64_t waited = 0; waited <= PLUGIN_CALL_TIMEOUT_MS + 1000;
         waited += 1000) {
        fastn_test_run(n->t);
        if ((r = fastn_test_reply_get(n, id)) || !n->online)
            break;
        fastn_test_advance(n->t, 1000);
    }
    if (!r)
        return FASTN_ERR_TIMEOUT;
    *out = r;
    return 0;
}

/* The one encoder of several call arguments here (the CLI's `plugin
 * call` encodes them the same way): NUL between each. */
int fastn_test_call_args(struct fastn_test_node *n, const char *plugin,
                         const char *method, const char *const *argv,
                         size_t argc, const struct fastn_test_reply **out)
{
    uint8_t *arg = NULL;
    size_t len = 0;
    int rc = args_encode(argv, argc, &arg, &len);

    if (rc)
        return rc;
    rc = fastn_test_call(n, plugin, method, arg, len, out);
    free(arg);
    return rc;
}
