/* Unit tests for the plugin host (src/plugin/host*.c): the real .wasm
 * plugins from the build (echo, the test probe and the hostile plugins of
 * tests/plugins/) run on real hosts in temporary homes, joined by the
 * in-memory network of the plugin test library (include/fastn/
 * plugin_test.h), whose insides (plugin/kit_int.h) these tests reach:
 * each node's host, and knobs that make the network misbehave. Each
 * hostile plugin must be stopped and recorded while echo keeps answering
 * in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fastn/plugin_test.h"
#include "plugin/host_int.h"
#include "plugin/kit_int.h"
#include "test.h"
#include "util/file.h"

/* --- on the test library ------------------------------------------------- */

static struct fastn_test *T; /* each test runs in a process of its own */

static void init_time(void)
{
    if (!T && !(T = fastn_test_new()))
        abort();
}

/* Node i (its PeerID made from "node<i>"): a new host, or node i's host
 * started again in its old home after fastn_test_node_stop. Loads
 * nothing: the tests call plugin_host_load_all themselves. */
static struct fastn_test_node *start_node(int i, uint64_t slice_fuel)
{
    char name[16];
    struct fastn_test_node *n;

    init_time();
    snprintf(name, sizeof(name), "node%d", i);
    if ((n = fastn_test_node_get(T, name))) {
        n->slice_fuel = slice_fuel;
        if (kit_node_start(n, false))
            abort();
    } else if (kit_node_new(T, name, NULL, slice_fuel, false, &n)) {
        abort();
    }
    return n;
}

static void cleanup(void)
{
    fastn_test_free(T);
    T = NULL;
}

static void built_path(const char *rel, char *out, size_t n)
{
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    snprintf(out, n, "%s/%s/%s", top ? top : ".", build ? build : "build", rel);
}

/* The bytes of a built file (BUILD/rel), or NULL. */
static uint8_t *read_built(const char *rel, size_t *len)
{
    char path[512];
    uint8_t *data = NULL;
    built_path(rel, path, sizeof(path));
    return file_read_all(path, 8 << 20, &data, len) ? NULL : data;
}

/* Installs a built plugin; returns the host's code. */
static int install_built(struct fastn_test_node *n, const char *rel, char *err,
                         size_t errlen)
{
    char path[512];
    built_path(rel, path, sizeof(path));
    return fastn_test_install_file(n, path, false, NULL, err, errlen);
}

static void advance(uint64_t ms)
{
    fastn_test_advance(T, ms);
}

static const struct fastn_test_reply *reply_for(struct fastn_test_node *n,
                                                uint64_t id)
{
    return fastn_test_reply_get(n, id);
}

/* Calls with the test's own call id and runs until nothing moves (the
 * clock stays); the reply, or NULL. A call the host refused at once is
 * an answer of that error ("refused: NAME"). */
static const struct fastn_test_reply *call_id(struct fastn_test_node *n,
                                              const char *plugin,
                                              const char *method,
                                              const char *arg, uint64_t id)
{
    static struct fastn_test_reply refused;
    static char text[96];
    int rc = plugin_host_call(n->h, plugin, method, strlen(method),
                              (const uint8_t *)arg, strlen(arg), id);
    if (rc) {
        refused.id = id;
        refused.status = rc;
        refused.len = (size_t)snprintf(text, sizeof(text), "refused: %s",
                                       fastn_err_name(rc));
        refused.data = text;
        return &refused;
    }
    fastn_test_run(T);
    return reply_for(n, id);
}

/* As call_id, for a plugin that may be deferred past its CPU budget on a
 * loaded machine (the budget refills with real time, not the test's
 * clock): runs again every 10 ms of real time, for up to 20 s, until the
 * reply comes. */
static const struct fastn_test_reply *call_wait(struct fastn_test_node *n,
                                                const char *plugin,
                                                const char *method,
                                                const char *arg, uint64_t id)
{
    const struct fastn_test_reply *r = call_id(n, plugin, method, arg, id);
    for (int i = 0; !r && i < 2000; i++) {
        usleep(10000);
        fastn_test_run(T);
        r = reply_for(n, id);
    }
    return r;
}

/* The test as a peer ("peer") opens a stream to n. */
static struct fastn_test_stream *raw_open(struct fastn_test_node *n,
                                          const char *proto)
{
    return fastn_test_stream_open(n, NULL, proto);
}

/* Writes past what the network would hold, as the old bench did: the
 * test decides how much it sends. */
static void raw_write(struct fastn_test_stream *s, const void *p, size_t n)
{
    if (fastn_test_stream_write(s, p, n))
        abort();
}

#define ECHO "plugins/echo.wasm"
#define PROBE "tests/plugins/probe.wasm"
#define HOSTILE(x) "tests/plugins/" x ".wasm"
#define HOLD "tests/plugins/hold.wasm"
#define HOLD_PROTO "/fastn-test/hold/1"
#define TWO "tests/plugins/twoproto.wasm"
#define TWO_A "/fastn-test/two/a"
#define TWO_B "/fastn-test/two/b"

static char err[256];

/* A node with echo installed (and started). */
static struct fastn_test_node *node_with_echo(uint64_t slice)
{
    init_time();
    struct fastn_test_node *n = start_node(0, slice);
    CHECK_ERR(install_built(n, ECHO, err, sizeof(err)), 0);
    fastn_test_run(T);
    return n;
}

static void check_echo_serves(struct fastn_test_node *n, uint64_t id)
{
    const struct fastn_test_reply *r =
        call_id(n, "echo", "echo", "still here", id);
    CHECK(r != NULL);
    if (r) {
        CHECK_EQ(r->status, 0);
        CHECK_STR(r->data, "still here");
    }
}

static void check_info(struct fastn_test_node *n, const char *name,
                       enum plugin_state state, int last_error)
{
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, name, &info), 0);
    CHECK_EQ(info.state, state);
    CHECK_ERR(info.last_error, last_error);
}

/* --- install, list, info, remove, enable ---------------------------- */

TEST(install_list_info_remove)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info *v = NULL, info;
    size_t count = 0;
    struct stat st;
    char path[320];

    CHECK_EQ(n->protocol_changes >= 1, 1);
    CHECK_ERR(plugin_host_list(n->h, &v, &count), 0);
    CHECK_EQ(count, 1);
    CHECK_STR(v[0].manifest.name, "echo");
    CHECK_EQ(v[0].state, PLUGIN_STATE_RUNNING);
    CHECK(v[0].enabled);
    free(v);
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK(info.file_bytes > 1000);
    CHECK(info.memory_pages >= 1 && info.memory_pages <= 64);
    CHECK_EQ(info.events, 1); /* its start */
    CHECK_ERR(plugin_host_info(n->h, "nope", &info), FASTN_ERR_NOT_FOUND);
    /* the same again: refused, unless replacing */
    CHECK_ERR(install_built(n, ECHO, err, sizeof(err)), FASTN_ERR_EXISTS);
    CHECK(strstr(err, "installed already") != NULL);
    const char *name = NULL;
    CHECK_ERR(plugin_host_serves(n->h, "/fastn/echo/1.0.0", &name, NULL), 0);
    CHECK_STR(name, "echo");
    CHECK_ERR(plugin_host_serves(n->h, "/x/1", &name, NULL),
              FASTN_ERR_NOT_FOUND);
    snprintf(path, sizeof(path), "%s/plugins/echo.wasm", n->home);
    CHECK_EQ(stat(path, &st), 0);
    CHECK_ERR(plugin_host_remove(n->h, "echo", false), 0);
    CHECK_EQ(stat(path, &st), -1);
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(plugin_host_remove(n->h, "echo", false), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(plugin_host_call(n->h, "echo", "echo", 4, NULL, 0, 1),
              FASTN_ERR_NOT_FOUND);
    cleanup();
}

TEST(bad_files_are_refused)
{
    struct fastn_test_node *n = node_with_echo(0);
    char name[PLUGIN_NAME_MAX + 1];
    static const uint8_t junk[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 2};

    CHECK_ERR(plugin_host_install(n->h, junk, sizeof(junk), false, name, err,
                                  sizeof(err)),
              FASTN_ERR_WASM_MALFORMED);
    CHECK_ERR(plugin_host_install(n->h, junk, 3, false, name, err, sizeof(err)),
              FASTN_ERR_WASM_MALFORMED);
    /* a manifest that lies about its capabilities: refused at install */
    CHECK_ERR(install_built(n, HOSTILE("liar"), err, sizeof(err)),
              FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK(strstr(err, "the manifest does not ask for") != NULL);
    check_echo_serves(n, 1);
    cleanup();
}

TEST(restart_loads_index_and_files)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    size_t len;
    char path[320];

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", false), 0);
    CHECK_ERR(plugin_host_call(n->h, "test-probe", "peer", 4, NULL, 0, 1),
              FASTN_ERR_PLUGIN_DISABLED);
    /* the liar copied in by hand: found at start, refused, recorded */
    uint8_t *liar = read_built(HOSTILE("liar"), &len);
    snprintf(path, sizeof(path), "%s/plugins/hostile-liar.wasm", n->home);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(liar, 1, len, f) == len);
    fclose(f);
    free(liar);
    fastn_test_node_stop(n);

    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    fastn_test_run(T);
    check_info(n, "echo", PLUGIN_STATE_RUNNING, 0);
    check_info(n, "test-probe", PLUGIN_STATE_DISABLED, 0);
    check_info(n, "hostile-liar", PLUGIN_STATE_FAILED,
               FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK_ERR(plugin_host_info(n->h, "hostile-liar", &info), 0);
    CHECK(strstr(info.last_error_text, "notify") != NULL);
    CHECK_EQ(plugin_host_count(n->h), 1);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", true), 0);
    const struct fastn_test_reply *r = call_id(n, "test-probe", "peer", "", 2);
    CHECK(r && r->status == 0 && strcmp(r->data, n->peer_id) == 0);
    check_echo_serves(n, 3);
    cleanup();
}

/* --- calls ----------------------------------------------------------- */

TEST(echo_calls)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;

    r = call_id(n, "echo", "echo", "hello", 1);
    CHECK(r && r->status == 0 && strcmp(r->data, "hello") == 0);
    r = call_id(n, "echo", "echo", "", 2);
    CHECK(r && r->status == 0 && r->len == 0);
    r = call_id(n, "echo", "id", "", 3);
    CHECK(r && r->status == 0 && strcmp(r->data, n->peer_id) == 0);
    r = call_id(n, "echo", "nope", "", 4);
    CHECK(r && r->status == FASTN_ERR_NOT_FOUND);
    CHECK(r && strstr(r->data, "unknown method") != NULL);
    CHECK_ERR(plugin_host_call(n->h, "echo", "", 0, NULL, 0, 5),
              FASTN_ERR_INVAL);
    CHECK_ERR(plugin_host_call(n->h, "echo", "x", 1, NULL, (1u << 20) + 1, 6),
              FASTN_ERR_TOO_LARGE);
    char method[80];
    memset(method, 'm', sizeof(method));
    CHECK_ERR(plugin_host_call(n->h, "echo", method, 65, NULL, 0, 7),
              FASTN_ERR_INVAL);
    cleanup();
}

TEST(echo_over_a_stream)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct fastn_test_stream *s = raw_open(n, "/fastn/echo/1.0.0");
    static uint8_t big[200000];

    fastn_test_run(T);
    CHECK_EQ(s->open_result, 0);
    raw_write(s, "ping", 4);
    fastn_test_run(T);
    CHECK_EQ(s->end[0].in_len, 4);
    CHECK_MEM(s->end[0].inbox, "ping", 4);
    /* more than one on_data chunk, echoed in order */
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    s->end[0].in_len = 0;
    raw_write(s, big, sizeof(big));
    fastn_test_run(T);
    CHECK_EQ(s->end[0].in_len, sizeof(big));
    CHECK_MEM(s->end[0].inbox, big, sizeof(big));
    fastn_test_stream_close(s);
    fastn_test_run(T);
    CHECK(s->end[0].fin_pending); /* echo closed its side after ours */
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK_EQ(info.open_streams, 0); /* both sides done: handle freed */
    /* a protocol nobody serves */
    struct fastn_test_stream *s2 = raw_open(n, "/fastn/nope/1");
    fastn_test_run(T);
    CHECK_ERR(s2->open_result, FASTN_ERR_NET_PROTO_NA);
    cleanup();
}

TEST(probe_imports)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    int id = 1;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "random", "64", id++);
    CHECK(r && r->status == 0 && strncmp(r->data, "nonzero=", 8) == 0 &&
          atoi(r->data + 8) > 50);
    r = call_id(n, "test-probe", "random", "65537", id++);
    CHECK(r && atoi(r->data) == FASTN_ERR_TOO_LARGE);
    r = call_id(n, "test-probe", "log", "5", id++);
    CHECK(r && strstr(r->data, "ok=5 err=0 bad_level=-2") != NULL);
    r = call_id(n, "test-probe", "print", "", id++);
    CHECK(r && r->status == 0);
    /* notifications: stored under the plugin's name, rate-limited */
    r = call_id(n, "test-probe", "notify", "2", id++);
    CHECK(r && strcmp(r->data, "ok=2 again=0 other=0") == 0);
    struct store_notification *v = NULL;
    size_t count = 0;
    CHECK_ERR(store_notify_list(n->state, NULL, &v, &count), 0);
    CHECK_EQ(count, 2);
    if (count) {
        CHECK_STR(v[0].source, "test-probe");
        CHECK_STR(v[0].title, "probe");
        CHECK_STR(v[0].body, "body\nline two");
    }
    store_notifications_free(v, count);
    /* 40 more: all taken; the rate limit (a burst of 30, then 10 a
     * minute) delays the last 12, never drops them */
    r = call_id(n, "test-probe", "notify", "40", id++);
    CHECK(r && strcmp(r->data, "ok=40 again=0 other=0") == 0);
    CHECK_EQ(store_notify_unread_count(n->state, NULL), 30);
    for (int i = 0; i < 12; i++)
        advance(6001);
    CHECK_EQ(store_notify_unread_count(n->state, NULL), 42);
    /* SQL work is charged as fuel: small is fine, huge runs out */
    r = call_id(n, "test-probe", "sqlwork", "1000", id++);
    CHECK(r && strcmp(r->data, "count=1000") == 0);
    r = call_id(n, "test-probe", "txn", "", id++);
    CHECK(r && strcmp(r->data, "open") == 0);
    r = call_id(n, "test-probe", "rows", "", id++);
    CHECK(r && strcmp(r->data, "rows=0") == 0); /* rolled back */
    /* answering twice: the second gets BAD_HANDLE */
    r = call_id(n, "test-probe", "twice", "", id++);
    CHECK(r && strcmp(r->data, "first") == 0);
    r = call_id(n, "test-probe", "last", "", id++);
    CHECK(r && atoi(r->data) == FASTN_ERR_PLUGIN_BAD_HANDLE);
    /* returning an error without answering */
    r = call_id(n, "test-probe", "fail", "", id++);
    CHECK(r && r->status == FASTN_ERR_INVAL);
    check_info(n, "test-probe", PLUGIN_STATE_RUNNING, 0);
    /* SQL work past a call's time: stopped inside the statement (SQL
     * cannot be suspended), the plugin told, its fuel charged for the
     * steps taken; the instance goes on */
    r = call_id(n, "test-probe", "sqlwork", "1000000000", id++);
    snprintf(err, sizeof(err), "count=%d", FASTN_ERR_STORE_TIMEOUT);
    CHECK(r && r->status == 0 && strcmp(r->data, err) == 0);
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_ERR(info.last_error, 0);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK(info.fuel_used > 100000 && info.fuel_used < 60000000);
    cleanup();
}

TEST(probe_timers_and_late_answers)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "timer", "7 500", 1);
    CHECK(r && atoi(r->data) == 0);
    r = call_id(n, "test-probe", "timer", "-1 5", 2);
    CHECK(r && atoi(r->data) == FASTN_ERR_INVAL);
    r = call_id(n, "test-probe", "timer", "8 -5", 3);
    CHECK(r && atoi(r->data) == FASTN_ERR_INVAL);
    call_id(n, "test-probe", "timer", "9 100", 4);
    call_id(n, "test-probe", "timer", "10 100", 5);
    call_id(n, "test-probe", "timer", "11 100", 6);
    r = call_id(n, "test-probe", "timer", "12 100", 7);
    CHECK(r && atoi(r->data) == FASTN_ERR_PLUGIN_LIMIT); /* limit 4 */
    r = call_id(n, "test-probe", "cancel", "9", 8);
    CHECK(r && atoi(r->data) == 0);
    CHECK(plugin_host_next_wake(n->h) == T->mono + 100);
    advance(200);
    r = call_id(n, "test-probe", "fired", "", 9);
    CHECK(r && strcmp(r->data, "fired 10 11") == 0);
    advance(400);
    r = call_id(n, "test-probe", "fired", "", 10);
    CHECK(r && strcmp(r->data, "fired 10 11 7") == 0);
    /* an answer from a later event */
    CHECK_ERR(plugin_host_call(n->h, "test-probe", "later", 5, NULL, 0, 11), 0);
    fastn_test_run(T);
    CHECK(reply_for(n, 11) == NULL);
    advance(20);
    r = reply_for(n, 11);
    CHECK(r && strcmp(r->data, "later") == 0);
    /* no answer at all: the host answers after 30 s */
    CHECK_ERR(plugin_host_call(n->h, "test-probe", "never", 5, NULL, 0, 12), 0);
    fastn_test_run(T);
    advance(29000);
    CHECK(reply_for(n, 12) == NULL);
    advance(1001);
    r = reply_for(n, 12);
    CHECK(r && r->status == FASTN_ERR_TIMEOUT);
    check_info(n, "test-probe", PLUGIN_STATE_RUNNING, 0);
    cleanup();
}

TEST(probe_exit_is_recorded)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    const struct fastn_test_reply *r = call_id(n, "test-probe", "exit", "", 1);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_ERR(info.last_error, FASTN_ERR_WASM_EXIT);
    CHECK(strstr(info.last_error_text, "proc_exit(3) in on_call") != NULL);
    check_echo_serves(n, 2);
    cleanup();
}

/* --- slices: a long event does not hold up the others ---------------- */

TEST(long_event_runs_in_slices)
{
    struct fastn_test_node *n = node_with_echo(100000);
    struct plugin_info info;
    int rounds = 0;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_call(n->h, "test-probe", "busy", 4,
                               (const uint8_t *)"300000", 6, 1),
              0);
    CHECK_ERR(
        plugin_host_call(n->h, "echo", "echo", 4, (const uint8_t *)"x", 1, 2),
        0);
    /* one round: the probe used one slice, echo answered */
    plugin_host_run(n->h, T->now, T->mono, 1);
    CHECK(reply_for(n, 1) == NULL);
    CHECK(reply_for(n, 2) != NULL);
    while (!reply_for(n, 1) && rounds++ < 1000)
        plugin_host_run(n->h, T->now, T->mono, 1);
    CHECK(rounds > 5); /* it took many slices... */
    const struct fastn_test_reply *r = reply_for(n, 1);
    CHECK(r && strcmp(r->data, "done") == 0); /* ...and finished */
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK(info.fuel_used > 1000000);
    CHECK_EQ(info.last_error, 0);
    cleanup();
}

/* --- hostile plugins -------------------------------------------------- */

TEST(hostile_loop_is_stopped_and_restarted)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;
    uint64_t before;

    CHECK_ERR(install_built(n, HOSTILE("loop"), err, sizeof(err)), 0);
    fastn_test_run(T);
    /* fuel_used counts the start event too: the spin is what follows */
    CHECK_ERR(plugin_host_info(n->h, "hostile-loop", &info), 0);
    before = info.fuel_used;
    CHECK_ERR(plugin_host_call(n->h, "hostile-loop", "spin", 4, NULL, 0, 1), 0);
    CHECK_ERR(
        plugin_host_call(n->h, "echo", "echo", 4, (const uint8_t *)"x", 1, 2),
        0);
    fastn_test_run(T);
    r = reply_for(n, 1);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK(reply_for(n, 2) && reply_for(n, 2)->status == 0);
    CHECK_ERR(plugin_host_info(n->h, "hostile-loop", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_BACKOFF);
    CHECK_ERR(info.last_error, FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK(strstr(info.last_error_text, "out of fuel in on_call") != NULL);
    CHECK_EQ(info.restarts, 1);
    CHECK_EQ(info.restart_in_ms, 1000);
    CHECK(info.fuel_used - before > 990000 &&
          info.fuel_used - before <= 1000000);
    /* while it waits, a call waits for its restart (1 s, within the
     * call's 30 s) and is answered by the new instance */
    CHECK_ERR(plugin_host_call(n->h, "hostile-loop", "ok", 2, NULL, 0, 3), 0);
    fastn_test_run(T);
    CHECK(reply_for(n, 3) == NULL);
    CHECK_ERR(plugin_host_info(n->h, "hostile-loop", &info), 0);
    CHECK_EQ(info.pending_calls, 1);
    advance(1000);
    check_info(n, "hostile-loop", PLUGIN_STATE_RUNNING,
               FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    r = reply_for(n, 3);
    CHECK(r && r->status == 0 && strcmp(r->data, "ok") == 0);
    r = call_id(n, "hostile-loop", "ok", "", 4);
    CHECK(r && r->status == 0 && strcmp(r->data, "ok") == 0);
    /* again: the backoff doubles */
    call_id(n, "hostile-loop", "spin", "", 5);
    CHECK_ERR(plugin_host_info(n->h, "hostile-loop", &info), 0);
    CHECK_EQ(info.restart_in_ms, 2000);
    CHECK_EQ(info.restarts, 2);
    /* data on its protocol loops too: the stream is reset */
    advance(2000);
    struct fastn_test_stream *s = raw_open(n, "/fastn-test/loop/1");
    fastn_test_run(T);
    raw_write(s, "x", 1);
    fastn_test_run(T);
    CHECK(s->end[0].reset_pending);
    check_info(n, "hostile-loop", PLUGIN_STATE_BACKOFF,
               FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    check_echo_serves(n, 6);
    cleanup();
}

/* A call to a plugin in its restart backoff waits for the restart, as
 * long as it comes within the call's 30 s; it is answered when the
 * plugin is disabled or removed meanwhile. */
TEST(call_waits_for_restart)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, HOSTILE("loop"), err, sizeof(err)), 0);
    fastn_test_run(T);
    /* waiting, then disabled: answered with that */
    call_id(n, "hostile-loop", "spin", "", 1);
    CHECK_ERR(plugin_host_call(n->h, "hostile-loop", "ok", 2, NULL, 0, 2), 0);
    CHECK_ERR(plugin_host_enable(n->h, "hostile-loop", false), 0);
    fastn_test_run(T);
    r = reply_for(n, 2);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_DISABLED &&
          strstr(r->data, "disabled before it restarted"));
    CHECK_ERR(plugin_host_enable(n->h, "hostile-loop", true), 0);
    fastn_test_run(T);
    /* crashes until the backoff (1, 2, 4, 8, 16, 32 s) passes 30 s: then
     * a call is refused at once, as waiting could not help it */
    for (int i = 0; i < 6; i++) {
        r = call_id(n, "hostile-loop", "spin", "", 10 + i);
        CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
        CHECK_ERR(plugin_host_info(n->h, "hostile-loop", &info), 0);
        if (i < 5)
            advance(info.restart_in_ms);
    }
    CHECK_EQ(info.restart_in_ms, 32000);
    CHECK_ERR(plugin_host_call(n->h, "hostile-loop", "ok", 2, NULL, 0, 20),
              FASTN_ERR_PLUGIN_CRASHED);
    /* 3 s later the restart is 29 s away: the call waits, and is
     * answered by the new instance 29 s later */
    advance(3000);
    CHECK_ERR(plugin_host_call(n->h, "hostile-loop", "ok", 2, NULL, 0, 21), 0);
    advance(28000);
    CHECK(reply_for(n, 21) == NULL);
    advance(1000);
    r = reply_for(n, 21);
    CHECK(r && r->status == 0 && strcmp(r->data, "ok") == 0);
    /* waiting, then removed (after 10 min without a failure the backoff
     * is 1 s again) */
    advance(PLUGIN_BACKOFF_RESET_MS);
    call_id(n, "hostile-loop", "spin", "", 30);
    CHECK_ERR(plugin_host_info(n->h, "hostile-loop", &info), 0);
    CHECK_EQ(info.restart_in_ms, 1000);
    CHECK_ERR(plugin_host_call(n->h, "hostile-loop", "ok", 2, NULL, 0, 31), 0);
    CHECK_ERR(plugin_host_remove(n->h, "hostile-loop", false), 0);
    r = reply_for(n, 31);
    CHECK(r && r->status == FASTN_ERR_CANCELED);
    check_echo_serves(n, 40);
    cleanup();
}

/* A trap names the functions it came through (the module's name
 * section) with their code offsets, innermost first, in plugin info. */
TEST(traps_name_functions)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, HOSTILE("trap"), err, sizeof(err)), 0);
    fastn_test_run(T);
    const struct fastn_test_reply *r = call_id(n, "test-trap", "crash", "", 1);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "test-trap", &info), 0);
    CHECK_ERR(info.last_error, FASTN_ERR_WASM_TRAP_MEMORY_OOB);
    const char *t = info.last_error_text;
    CHECK(strstr(t, "trap: out-of-bounds memory access in on_call at "
                    "trap_inner+0x") == t);
    const char *mid = strstr(t, " <- trap_middle+0x");
    const char *out = strstr(t, " <- trap_outer+0x");
    const char *top = strstr(t, " <- on_call+0x");
    CHECK(mid && out && top && mid < out && out < top);
    if (!top)
        fprintf(stderr, "last_error_text: %s\n", t);
    check_echo_serves(n, 2);
    cleanup();
}

TEST(hostile_membomb)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, HOSTILE("membomb"), err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "hostile-membomb", "grow-once", "", 1);
    CHECK(r && strcmp(r->data, "-1") == 0); /* 256 more pages: over 32 */
    r = call_id(n, "hostile-membomb", "grow", "", 2);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "hostile-membomb", &info), 0);
    /* clang elides the malloc+memset loop into an endless loop, so it
     * ends out of fuel rather than in abort(): either way, stopped */
    CHECK(info.last_error == FASTN_ERR_WASM_TRAP_UNREACHABLE ||
          info.last_error == FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(info.state, PLUGIN_STATE_BACKOFF);
    check_echo_serves(n, 3);
    advance(1000);
    r = call_id(n, "hostile-membomb", "pages", "", 4);
    CHECK(r && r->status == 0 && strncmp(r->data, "pages=", 6) == 0 &&
          atoi(r->data + 6) <= 32);
    cleanup();
}

TEST(hostile_badptr)
{
    static const char *const methods[] = {
        "log",     "wrap",    "write",    "sql",       "reply",    "random",
        "errmsg",  "notify",  "sha256",   "sha256out", "hashin",   "hashout",
        "blake2b", "blobkey", "blobdata", "blobread",  "blobsize", "blobdel",
    };
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, HOSTILE("badptr"), err, sizeof(err)), 0);
    fastn_test_run(T);
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        r = call_id(n, "hostile-badptr", methods[i], "", 10 + i);
        CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
        if (r && r->status != FASTN_ERR_PLUGIN_CRASHED)
            fprintf(stderr, "%s: %d %s\n", methods[i], r->status, r->data);
        CHECK_ERR(plugin_host_info(n->h, "hostile-badptr", &info), 0);
        CHECK_ERR(info.last_error, FASTN_ERR_PLUGIN_BAD_POINTER);
        CHECK(strstr(info.last_error_text, "fastn.") != NULL);
        if (info.last_error != FASTN_ERR_PLUGIN_BAD_POINTER)
            fprintf(stderr, "%s: %s\n", methods[i], info.last_error_text);
        check_echo_serves(n, 100 + i);
        advance(PLUGIN_BACKOFF_MAX_MS);
    }
    r = call_id(n, "hostile-badptr", "ok", "", 200);
    CHECK(r && r->status == 0 && strcmp(r->data, "ok") == 0);
    /* nothing got through */
    CHECK_EQ(store_notify_unread_count(n->state, NULL), 0);
    cleanup();
}

TEST(hostile_recurse)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, HOSTILE("recurse"), err, sizeof(err)), 0);
    fastn_test_run(T);
    const struct fastn_test_reply *r =
        call_id(n, "hostile-recurse", "frames", "", 1);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "hostile-recurse", &info), 0);
    CHECK_ERR(info.last_error, FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
    check_echo_serves(n, 2);
    advance(1000);
    r = call_id(n, "hostile-recurse", "stack", "", 3);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "hostile-recurse", &info), 0);
    CHECK(info.last_error == FASTN_ERR_WASM_TRAP_MEMORY_OOB ||
          info.last_error == FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED);
    CHECK_EQ(info.restarts, 2);
    check_echo_serves(n, 4);
    cleanup();
}

TEST(hostile_attach)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct stat st;

    unlink("/tmp/fastn-hostile-attach.sqlite");
    CHECK_ERR(install_built(n, HOSTILE("attach"), err, sizeof(err)), 0);
    fastn_test_run(T);
    const struct fastn_test_reply *r =
        call_id(n, "hostile-attach", "escape", "", 1);
    CHECK(r && r->status == 0);
    CHECK(r && strstr(r->data, "attach=-502") != NULL);
    CHECK(r && strstr(r->data, "=0") == NULL);
    if (r && strstr(r->data, "=0"))
        fprintf(stderr, "escaped: %s\n", r->data);
    CHECK(stat("/tmp/fastn-hostile-attach.sqlite", &st) != 0);
    check_info(n, "hostile-attach", PLUGIN_STATE_RUNNING, 0);
    check_echo_serves(n, 2);
    cleanup();
}

TEST(hostile_quota)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, HOSTILE("quota"), err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "hostile-quota", "fill", "", 1);
    CHECK(r && r->status == 0 && strstr(r->data, "err=-501") != NULL);
    CHECK_ERR(plugin_host_info(n->h, "hostile-quota", &info), 0);
    CHECK(info.db_bytes <= 65536 + 8192);
    CHECK_EQ(info.last_error, 0);
    r = call_id(n, "hostile-quota", "count", "", 2);
    CHECK(r && r->status == 0 && atoi(r->data) >= 1);
    check_echo_serves(n, 3);
    cleanup();
}

TEST(hostile_liar_memory_not_retried)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, HOSTILE("liar_memory"), err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_info(n->h, "hostile-liar-memory", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_FAILED);
    CHECK_ERR(info.last_error, FASTN_ERR_WASM_LIMIT);
    CHECK_EQ(info.restarts, 1);
    advance(60 * 60 * 1000);
    CHECK_ERR(plugin_host_info(n->h, "hostile-liar-memory", &info), 0);
    CHECK_EQ(info.restarts, 1);
    CHECK_ERR(plugin_host_call(n->h, "hostile-liar-memory", "x", 1, NULL, 0, 1),
              FASTN_ERR_PLUGIN_CRASHED);
    check_echo_serves(n, 2);
    cleanup();
}

TEST(hostile_streams_bounded)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct fastn_test_node *b;
    struct plugin_info info;
    const struct fastn_test_reply *r;

    b = start_node(1, 0);
    CHECK_ERR(install_built(b, ECHO, err, sizeof(err)), 0);
    CHECK_ERR(install_built(n, HOSTILE("streams"), err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "hostile-streams", "hold", b->peer_id, 1);
    CHECK(r && strcmp(r->data, "opened=8 err=-402") == 0);
    advance(2000);
    int opens_before = n->opens;
    r = call_id(n, "hostile-streams", "flood", b->peer_id, 2);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "hostile-streams", &info), 0);
    CHECK_ERR(info.last_error, FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK(n->opens - opens_before <= 32); /* the rate limit held */
    CHECK_EQ(info.open_streams, 0);
    check_echo_serves(n, 3);
    check_echo_serves(b, 4);
    cleanup();
}

/* A dial that fails at once (here: the network refuses every open) is
 * reported as the ABI says: stream_open returns a handle, on_open brings
 * the error; only the plugin's own limits answer synchronously. */
TEST(stream_open_failure_comes_through_on_open)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct fastn_test_node *b = start_node(1, 0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, HOSTILE("streams"), err, sizeof(err)), 0);
    fastn_test_run(T);
    n->refuse_opens = 1;
    CHECK_ERR(plugin_host_call(n->h, "hostile-streams", "hold", 4,
                               (const uint8_t *)b->peer_id, strlen(b->peer_id),
                               1),
              0);
    fastn_test_step(T); /* the call, and no more: on_open events wait */
    const struct fastn_test_reply *r = reply_for(n, 1);
    CHECK(r && strcmp(r->data, "opened=8 err=-402") == 0);
    if (r && strcmp(r->data, "opened=8 err=-402") != 0)
        fprintf(stderr, "hold: %s\n", r->data);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_info(n->h, "hostile-streams", &info), 0);
    CHECK_EQ(info.open_streams, 0); /* each on_open said it failed */
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK_EQ(n->opens, 8);
    n->refuse_opens = 0;
    cleanup();
}

TEST(disable_answers_pending_calls)
{
    struct fastn_test_node *n = node_with_echo(0);
    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_call(n->h, "test-probe", "never", 5, NULL, 0, 1), 0);
    fastn_test_run(T);
    CHECK(reply_for(n, 1) == NULL);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", false), 0);
    const struct fastn_test_reply *r = reply_for(n, 1);
    CHECK(r && r->status == FASTN_ERR_CANCELED);
    check_info(n, "test-probe", PLUGIN_STATE_DISABLED, 0);
    cleanup();
}

/* --- what the user decides (plugin_host_restrict) --------------------- */

#define ECHO_PROTO "/fastn/echo/1.0.0"

static enum plugin_serves serves_now(struct fastn_test_node *n,
                                     const char *proto)
{
    enum plugin_serves w = PLUGIN_SERVES_ANYONE;
    CHECK_ERR(plugin_host_serves(n->h, proto, NULL, &w), 0);
    return w;
}

TEST(restrict_rules)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    /* narrower than the manifest: fine, and at once */
    CHECK_ERR(plugin_host_restrict(n->h, "echo", PLUGIN_SERVES_KNOWN_PEERS, 0,
                                   0, err, sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, ECHO_PROTO), PLUGIN_SERVES_KNOWN_PEERS);
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK_EQ(info.serves, PLUGIN_SERVES_KNOWN_PEERS);
    CHECK_EQ(info.manifest.serves, PLUGIN_SERVES_ANYONE);
    /* nobody: streams refused, local calls still answered */
    CHECK_ERR(plugin_host_restrict(n->h, "echo", PLUGIN_SERVES_NOBODY, 0, 0,
                                   err, sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, ECHO_PROTO), PLUGIN_SERVES_NOBODY);
    CHECK_ERR(plugin_host_stream_incoming(n->h, 77, n->peer_id, ECHO_PROTO),
              FASTN_ERR_PERM);
    check_echo_serves(n, 1);
    /* back to what the manifest asked */
    CHECK_ERR(plugin_host_restrict(n->h, "echo", PLUGIN_SERVES_ANYONE, 0, 0,
                                   err, sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, ECHO_PROTO), PLUGIN_SERVES_ANYONE);
    /* wider than the manifest asked: refused, nothing changes */
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", PLUGIN_SERVES_ANYONE, 0,
                                   0, err, sizeof(err)),
              FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK(strstr(err, "cannot be made to serve anyone") != NULL);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.serves, PLUGIN_SERVES_KNOWN_PEERS);
    /* a capability the manifest did not ask for: neither granted nor
     * withheld */
    CHECK_ERR(plugin_host_restrict(n->h, "echo", -1, 0, PLUGIN_CAP_NOTIFY, err,
                                   sizeof(err)),
              FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK(strstr(err, "did not ask for notify") != NULL);
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", -1, PLUGIN_CAP_STREAMS,
                                   0, err, sizeof(err)),
              FASTN_ERR_PLUGIN_CAPABILITY);
    /* bad input */
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", -1, PLUGIN_CAP_NOTIFY,
                                   PLUGIN_CAP_NOTIFY, err, sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_ERR(
        plugin_host_restrict(n->h, "test-probe", 9, 0, 0, err, sizeof(err)),
        FASTN_ERR_INVAL);
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", -1, 1u << 20, 0, err,
                                   sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_ERR(plugin_host_restrict(n->h, "nope", -1, 0, 0, err, sizeof(err)),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.withheld, 0);
    cleanup();
}

TEST(restrict_withheld_capability_fails_at_run_time)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;
    int id = 1;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "timer", "1 600000", id++);
    CHECK(r && strcmp(r->data, "0") == 0);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.armed_timers, 1);
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", -1,
                                   PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS, 0,
                                   err, sizeof(err)),
              0);
    /* the running instance, no restart: every notify is refused */
    r = call_id(n, "test-probe", "notify", "2", id++);
    CHECK(r && strcmp(r->data, "ok=0 again=0 other=2") == 0);
    r = call_id(n, "test-probe", "last", "", id++);
    CHECK(r && atoi(r->data) == FASTN_ERR_PLUGIN_CAPABILITY);
    size_t count = 9;
    struct store_notification *v = NULL;
    CHECK_ERR(store_notify_list(n->state, NULL, &v, &count), 0);
    CHECK_EQ(count, 0);
    store_notifications_free(v, count);
    /* the timer it had set is gone */
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.armed_timers, 0);
    check_info(n, "test-probe", PLUGIN_STATE_RUNNING, 0);
    /* the rest still works */
    r = call_id(n, "test-probe", "sqlwork", "10", id++);
    CHECK(r && strcmp(r->data, "count=10") == 0);
    /* granted back: works again */
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", -1, 0, PLUGIN_CAP_NOTIFY,
                                   err, sizeof(err)),
              0);
    r = call_id(n, "test-probe", "notify", "2", id++);
    CHECK(r && strcmp(r->data, "ok=2 again=0 other=0") == 0);
    cleanup();
}

static void write_index(struct fastn_test_node *n, const char *text)
{
    char path[320];
    snprintf(path, sizeof(path), "%s/plugins/index", n->home);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *read_index(struct fastn_test_node *n)
{
    char path[320];
    uint8_t *b = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/plugins/index", n->home);
    CHECK_ERR(file_read_all(path, 1u << 16, &b, &len), 0);
    char *s = b ? realloc(b, len + 1) : NULL;
    if (s)
        s[len] = '\0';
    return s;
}

TEST(restrict_persists_and_old_index_loads)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    CHECK_ERR(plugin_host_restrict(n->h, "echo", PLUGIN_SERVES_NOBODY, 0, 0,
                                   err, sizeof(err)),
              0);
    CHECK_ERR(plugin_host_restrict(n->h, "test-probe", -1,
                                   PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS, 0,
                                   err, sizeof(err)),
              0);
    char *idx = read_index(n);
    CHECK(idx && strstr(idx, "\necho enabled serves=nobody\n") != NULL);
    CHECK(idx &&
          strstr(idx, "\ntest-probe enabled withhold=notify,timers\n") != NULL);
    free(idx);
    fastn_test_node_stop(n);

    /* a restart keeps it */
    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    fastn_test_run(T);
    CHECK_EQ(serves_now(n, ECHO_PROTO), PLUGIN_SERVES_NOBODY);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.withheld, PLUGIN_CAP_NOTIFY | PLUGIN_CAP_TIMERS);
    const struct fastn_test_reply *r =
        call_id(n, "test-probe", "notify", "1", 1);
    CHECK(r && strcmp(r->data, "ok=0 again=0 other=1") == 0);

    /* install --replace keeps it where it applies */
    size_t len = 0;
    uint8_t *wasm = read_built(ECHO, &len);
    CHECK(wasm != NULL);
    CHECK_ERR(
        plugin_host_install(n->h, wasm, len, true, NULL, err, sizeof(err)), 0);
    free(wasm);
    CHECK_EQ(serves_now(n, ECHO_PROTO), PLUGIN_SERVES_NOBODY);
    fastn_test_node_stop(n);

    /* an index as older daemons wrote it; unknown tokens and names are
     * skipped */
    n = start_node(0, 0);
    write_index(n, "# fastn plugins: NAME enabled|disabled\n"
                   "echo disabled\n"
                   "test-probe enabled future=1 withhold=notify,bogus "
                   "serves=everyone\n");
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    fastn_test_run(T);
    check_info(n, "echo", PLUGIN_STATE_DISABLED, 0);
    CHECK_ERR(plugin_host_info(n->h, "echo", &info), 0);
    CHECK_EQ(info.serves, PLUGIN_SERVES_ANYONE);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK(info.enabled);
    CHECK_EQ(info.withheld, PLUGIN_CAP_NOTIFY);
    CHECK_EQ(info.serves, PLUGIN_SERVES_KNOWN_PEERS);
    /* a narrowing equal to the manifest's value is no narrowing */
    write_index(n, "echo enabled serves=anyone\n");
    fastn_test_node_stop(n);
    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    idx = read_index(n);
    CHECK(idx && strstr(idx, "\necho enabled\n") != NULL);
    free(idx);
    cleanup();
}

/* A stream from the test to protocol of n: what came back ("" when the
 * open was refused; *open_result says why). */
static void two_roundtrip(struct fastn_test_node *n, const char *proto,
                          int *result, char *out, size_t cap)
{
    struct fastn_test_stream *s = raw_open(n, proto);
    fastn_test_run(T);
    *result = s->open_result;
    out[0] = '\0';
    if (s->open_result)
        return;
    raw_write(s, "hi", 2);
    fastn_test_run(T);
    size_t k = fastn_test_stream_read(s, (uint8_t *)out, cap - 1);
    out[k] = '\0';
    fastn_test_stream_close(s);
    fastn_test_run(T);
}

static void check_two(struct fastn_test_node *n, int want_a, int want_b)
{
    char got[16];
    int rc;
    two_roundtrip(n, TWO_A, &rc, got, sizeof(got));
    CHECK_ERR(rc, want_a);
    if (!want_a)
        CHECK_STR(got, "a:hi");
    two_roundtrip(n, TWO_B, &rc, got, sizeof(got));
    CHECK_ERR(rc, want_b);
    if (!want_b)
        CHECK_STR(got, "b:hi");
}

/* info's per-protocol narrowing of test-twoproto: -1 or a serves value */
static void check_two_info(struct fastn_test_node *n, int a, int b)
{
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "test-twoproto", &info), 0);
    CHECK_EQ(info.manifest.n_protocols, 2);
    CHECK_STR(info.manifest.protocols[0], TWO_A);
    CHECK_EQ(info.protocol_narrowed[0], a);
    CHECK_EQ(info.protocol_narrowed[1], b);
    enum plugin_serves want = info.serves; /* the narrowest of the two */
    if (b >= 0 && plugin_serves_narrower_eq((enum plugin_serves)b, want))
        want = (enum plugin_serves)b;
    CHECK_EQ(info.protocol_serves[1], want);
}

TEST(restrict_one_protocol)
{
    init_time();
    struct fastn_test_node *n = start_node(0, 0);
    CHECK_ERR(install_built(n, TWO, err, sizeof(err)), 0);
    fastn_test_run(T);
    check_two(n, 0, 0);

    /* a to nobody: a refused at once, b unchanged */
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_A,
                                            PLUGIN_SERVES_NOBODY, err,
                                            sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, TWO_A), PLUGIN_SERVES_NOBODY);
    CHECK_EQ(serves_now(n, TWO_B), PLUGIN_SERVES_ANYONE);
    check_two(n, FASTN_ERR_PERM, 0);
    check_two_info(n, PLUGIN_SERVES_NOBODY, -1);
    const struct fastn_test_reply *r =
        call_id(n, "test-twoproto", "x", "local", 1);
    CHECK(r && strcmp(r->data, "local") == 0);

    /* the narrowest wins: plugin-wide known-peers, a still nobody */
    CHECK_ERR(plugin_host_restrict(n->h, "test-twoproto",
                                   PLUGIN_SERVES_KNOWN_PEERS, 0, 0, err,
                                   sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, TWO_A), PLUGIN_SERVES_NOBODY);
    CHECK_EQ(serves_now(n, TWO_B), PLUGIN_SERVES_KNOWN_PEERS);
    /* b to the plugin-wide value: no narrowing of its own */
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_B,
                                            PLUGIN_SERVES_KNOWN_PEERS, err,
                                            sizeof(err)),
              0);
    check_two_info(n, PLUGIN_SERVES_NOBODY, -1);
    CHECK_ERR(plugin_host_restrict(n->h, "test-twoproto", PLUGIN_SERVES_ANYONE,
                                   0, 0, err, sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, TWO_B), PLUGIN_SERVES_ANYONE);
    CHECK_EQ(serves_now(n, TWO_A), PLUGIN_SERVES_NOBODY);
    /* b narrower than the manifest but wider than the plugin-wide value:
     * kept, and it applies once the plugin-wide one is undone */
    CHECK_ERR(plugin_host_restrict(n->h, "test-twoproto", PLUGIN_SERVES_NOBODY,
                                   0, 0, err, sizeof(err)),
              0);
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_B,
                                            PLUGIN_SERVES_KNOWN_PEERS, err,
                                            sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, TWO_B), PLUGIN_SERVES_NOBODY);
    check_two_info(n, PLUGIN_SERVES_NOBODY, PLUGIN_SERVES_KNOWN_PEERS);
    CHECK_ERR(plugin_host_restrict(n->h, "test-twoproto", PLUGIN_SERVES_ANYONE,
                                   0, 0, err, sizeof(err)),
              0);
    CHECK_EQ(serves_now(n, TWO_B), PLUGIN_SERVES_KNOWN_PEERS);
    CHECK_EQ(serves_now(n, TWO_A), PLUGIN_SERVES_NOBODY);
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_B,
                                            PLUGIN_SERVES_ANYONE, err,
                                            sizeof(err)),
              0);
    check_two_info(n, PLUGIN_SERVES_NOBODY, -1);

    /* refused: wider than the manifest, an unknown protocol, bad input */
    CHECK_ERR(install_built(n, "plugins/chat.wasm", err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "chat", "/fastn/chat/1.0.0",
                                            PLUGIN_SERVES_ANYONE, err,
                                            sizeof(err)),
              FASTN_ERR_PLUGIN_CAPABILITY);
    CHECK(strstr(err, "cannot be made to serve anyone") != NULL);
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", "/x/1",
                                            PLUGIN_SERVES_NOBODY, err,
                                            sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_STR(err, "plugin test-twoproto has no protocol /x/1 (it has: "
                   "/fastn-test/two/a, /fastn-test/two/b)");
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", NULL,
                                            PLUGIN_SERVES_NOBODY, err,
                                            sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_B, -1,
                                            err, sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_B, 7,
                                            err, sizeof(err)),
              FASTN_ERR_INVAL);
    CHECK_ERR(plugin_host_restrict_protocol(
                  n->h, "nope", TWO_B, PLUGIN_SERVES_NOBODY, err, sizeof(err)),
              FASTN_ERR_NOT_FOUND);
    check_two_info(n, PLUGIN_SERVES_NOBODY, -1);

    /* kept in the index, a restart and install --replace */
    char *idx = read_index(n);
    CHECK(idx && strstr(idx, "\ntest-twoproto enabled "
                             "serves@/fastn-test/two/a=nobody\n") != NULL);
    free(idx);
    fastn_test_node_stop(n);
    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    fastn_test_run(T);
    check_two(n, FASTN_ERR_PERM, 0);
    check_two_info(n, PLUGIN_SERVES_NOBODY, -1);
    size_t len = 0;
    uint8_t *wasm = read_built(TWO, &len);
    CHECK(wasm != NULL);
    CHECK_ERR(
        plugin_host_install(n->h, wasm, len, true, NULL, err, sizeof(err)), 0);
    free(wasm);
    fastn_test_run(T);
    check_two(n, FASTN_ERR_PERM, 0);

    /* back to the manifest's value: no narrowing, the index line clean */
    CHECK_ERR(plugin_host_restrict_protocol(n->h, "test-twoproto", TWO_A,
                                            PLUGIN_SERVES_ANYONE, err,
                                            sizeof(err)),
              0);
    check_two(n, 0, 0);
    check_two_info(n, -1, -1);
    idx = read_index(n);
    CHECK(idx && strstr(idx, "\ntest-twoproto enabled\n") != NULL);
    free(idx);

    /* the index: a protocol the plugin does not have (or no longer) and
     * values no narrower than the manifest are dropped; '=' in an id is
     * split at the last one; older lines load as before; tokens it does
     * not understand are kept as they were, after the others */
    write_index(n, "test-twoproto enabled serves@/gone/1=nobody "
                   "serves@/fastn-test/two/b=anyone serves@=nobody "
                   "serves@/fastn-test/two/a=known-peers serves@x "
                   "serves@/fastn-test/two/a==nobody\n"
                   "chat enabled serves@/fastn/chat/1.0.0=bogus "
                   "serves@/fastn/chat/1.0.0=known-peers\n");
    fastn_test_node_stop(n);
    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    check_two_info(n, PLUGIN_SERVES_KNOWN_PEERS, -1);
    idx = read_index(n);
    CHECK(idx && strstr(idx, "\ntest-twoproto enabled "
                             "serves@/fastn-test/two/a=known-peers "
                             "serves@=nobody serves@x\n") != NULL);
    CHECK(idx && strstr(idx, "\nchat enabled "
                             "serves@/fastn/chat/1.0.0=bogus\n") != NULL);
    free(idx);
    cleanup();
}

/* --- time, CPU and memory budgets ------------------------------------ */

static double wall_ms(void)
{
    return (double)host_now_ns() / 1e6;
}

/* One import that cannot be cut short (here the host's side of
 * call_reply, made to keep the CPU for 20 ms) holds the loop past
 * slice_ms: the first time in a minute the slice is let go (the plugin
 * runs on), the second the instance ends with FASTN_ERR_PLUGIN_TIMEOUT,
 * naming the import, and restarts. */
TEST(slice_past_its_bound_ends_with_timeout)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_host_limits lim = {.slice_ms = 5};
    struct plugin_info info;
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    n->slow_reply_ms = 20; /* well past it: the CPU time is measured from
                            * a mark up to 5 ms before the slice */
    r = call_id(n, "test-probe", "peer", "", 1);
    CHECK(r && r->status == 0);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING); /* let go */
    CHECK_ERR(info.last_error, 0);
    CHECK_EQ(info.slice_pardons, 1);
    r = call_id(n, "test-probe", "peer", "", 2);
    n->slow_reply_ms = 0;
    CHECK(r && r->status == 0); /* answered; then it ran out of time */
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.slice_pardons, 1);
    CHECK_EQ(info.state, PLUGIN_STATE_BACKOFF);
    CHECK_ERR(info.last_error, FASTN_ERR_PLUGIN_TIMEOUT);
    CHECK(strstr(info.last_error_text, "plugin-slice-ms (5 ms) in on_call "
                                       "(fastn.call_reply)") != NULL);
    CHECK(info.longest_slice_ns >= 5000000);
    check_echo_serves(n, 3);
    CHECK_ERR(plugin_host_set_limits(n->h, NULL), 0); /* the default */
    advance(1000);
    check_info(n, "test-probe", PLUGIN_STATE_RUNNING, FASTN_ERR_PLUGIN_TIMEOUT);
    cleanup();
}

/* An SQL statement of millions of steps cannot be suspended, but it is
 * given only what its slice has left of slice_ms (less a margin): it
 * fails with FASTN_ERR_STORE_TIMEOUT, an answer, before the slice could
 * end the instance for time (with the store's own 5 ms per call, a 3 ms
 * slice would). Later in a slice, a call gets less. */
TEST(sql_gets_what_its_slice_has_left)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_host_limits lim = {.slice_ms = 3};
    struct plugin_info info;
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    for (uint64_t id = 1; id <= 5; id++) {
        r = call_id(n, "test-probe", "sqlwork", "100000000", id);
        snprintf(err, sizeof(err), "count=%d", FASTN_ERR_STORE_TIMEOUT);
        CHECK(r && r->status == 0 && strcmp(r->data, err) == 0);
    }
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK_ERR(info.last_error, 0);
    CHECK_EQ(info.restarts, 0);
    check_echo_serves(n, 10);
    cleanup();
}

/* A slice ends by time, whatever fuel it may still use: with slices of
 * a billion units, a second-long loop is cut into rounds (and echo is
 * answered in the first), not run to its end in one. */
TEST(slices_end_by_time_whatever_their_fuel)
{
    struct fastn_test_node *n = node_with_echo(1000000000);
    struct plugin_info info;

    CHECK_ERR(install_built(n, HOSTILE("busy"), err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_call(n->h, "hostile-busy-00", "spin", 4, NULL, 0, 1),
              0);
    CHECK_ERR(
        plugin_host_call(n->h, "echo", "echo", 4, (const uint8_t *)"x", 1, 2),
        0);
    for (int round = 0; round < 3; round++) {
        plugin_host_run(n->h, T->now, T->mono, 1);
        CHECK(reply_for(n, 2) != NULL);
        CHECK(reply_for(n, 1) == NULL); /* still going */
        CHECK_ERR(plugin_host_info(n->h, "hostile-busy-00", &info), 0);
        CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
        CHECK_EQ(info.last_error, 0);
        CHECK_EQ(info.queued_events, 1);
    }
    CHECK(info.cpu_fuel > 3 * PLUGIN_CHUNK_FUEL);
    cleanup();
}

/* A plugin past its CPU budget waits (its event is neither dropped nor
 * ended) while echo is answered at once; over the run it takes about its
 * share (2 % of a core here, with bursts of 20 ms), and the host asks to
 * be run again only when the budget allows. */
TEST(cpu_budget_defers_a_busy_plugin)
{
    struct fastn_test_node *n = node_with_echo(1000000000);
    struct plugin_host_limits lim = {.cpu_percent = 2, .cpu_window_ms = 1000};
    struct plugin_info info;
    uint64_t id = 10;
    int asked_later = 0;
    double t0, ms;

    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    CHECK_ERR(install_built(n, HOSTILE("busy"), err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_call(n->h, "hostile-busy-00", "spin", 4, NULL, 0, 1),
              0);
    t0 = wall_ms();
    while ((ms = wall_ms() - t0) < 700 && id < 412) {
        plugin_host_run(n->h, T->now, T->mono, 1);
        CHECK_ERR(plugin_host_call(n->h, "echo", "echo", 4,
                                   (const uint8_t *)"x", 1, ++id),
                  0);
        plugin_host_run(n->h, T->now, T->mono, 1);
        CHECK(reply_for(n, id) != NULL); /* in the same run */
        /* deferred: the host asks to be run again later, not now */
        CHECK_ERR(plugin_host_info(n->h, "hostile-busy-00", &info), 0);
        asked_later += info.deferred && plugin_host_next_wake(n->h) > T->mono;
        usleep(1500);
    }
    CHECK_ERR(plugin_host_info(n->h, "hostile-busy-00", &info), 0);
    CHECK(info.deferrals >= 1);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK_EQ(info.restarts, 0);
    CHECK_EQ(info.pending_calls, 1); /* waiting, not dropped */
    CHECK(reply_for(n, 1) == NULL);
    CHECK(asked_later > 0);
    /* the burst (20 ms), then 2 % of the rest, and a slice's slack */
    CHECK(info.cpu_ns < (uint64_t)(20 + 0.02 * ms + 20) * 1000000);
    CHECK(info.cpu_ns > 15 * 1000000ull);
    cleanup();
}

/* 256 timers due at once fire together (all queued in one run) and are
 * delivered many to a slice, not one a run; set again at 0 ms from
 * on_timer they fire in a later run, not in the same one. */
TEST(timers_due_together_fire_in_one_slice)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    uint64_t before;
    int runs;

    CHECK_ERR(install_built(n, HOSTILE("busy"), err, sizeof(err)), 0);
    fastn_test_run(T);
    /* armed for 10 ms from now, so that all are due at once then */
    CHECK_ERR(plugin_host_call(n->h, "hostile-busy-00", "timers", 6,
                               (const uint8_t *)"256 10", 6, 1),
              0);
    for (runs = 0; !reply_for(n, 1) && runs < 100; runs++)
        plugin_host_run(n->h, T->now, T->mono, 1);
    CHECK(reply_for(n, 1) && !strcmp(reply_for(n, 1)->data, "armed"));
    T->mono += 10;
    for (int round = 0; round < 3; round++) {
        CHECK_ERR(plugin_host_info(n->h, "hostile-busy-00", &info), 0);
        before = info.events;
        CHECK_EQ(plugin_host_run(n->h, T->now, T->mono, 1), 1);
        CHECK_ERR(plugin_host_info(n->h, "hostile-busy-00", &info), 0);
        CHECK(info.events - before >= 32); /* in one slice */
        /* the rest of them, in a few more runs: none fires twice */
        for (runs = 1; info.events - before < 256 && runs < 16; runs++) {
            CHECK_EQ(plugin_host_run(n->h, T->now, T->mono, 1), 1);
            CHECK_ERR(plugin_host_info(n->h, "hostile-busy-00", &info), 0);
        }
        CHECK_EQ(info.events - before, 256);
        CHECK_EQ(info.armed_timers, 256);
        CHECK_EQ(info.queued_events, 0);
    }
    cleanup();
}

/* The host's hashes against known vectors (FIPS 180-2's "abc", RFC 7693's
 * BLAKE2b-512 "abc", Python's hashlib for the others), their limits, and
 * an unkeyed and a keyed digest of each allowed length's ends. */
TEST(host_hashes)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    int id = 1;
    static const struct {
        const char *method, *arg, *want;
    } v[] = {
        {"sha256", "abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"sha256", "The quick brown fox jumps over the lazy dog",
         "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"},
        {"blake2b", "64 abc",
         "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
         "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"},
        {"blake2b", "32 ",
         "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"},
        {"blake2bkey", "32 abc",
         "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f"},
    };

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        r = call_id(n, "test-probe", v[i].method, v[i].arg, id++);
        CHECK(r && r->status == 0 && strcmp(r->data, v[i].want) == 0);
        if (r && strcmp(r->data, v[i].want))
            fprintf(stderr, "%s %s: %s\n", v[i].method, v[i].arg, r->data);
    }
    /* the empty string has no argument: sha256 of nothing */
    r = call_id(n, "test-probe", "sha256", "", id++);
    CHECK(r && strcmp(r->data, "e3b0c44298fc1c149afbf4c8996fb924"
                               "27ae41e4649b934ca495991b7852b855") == 0);
    r = call_id(n, "test-probe", "blake2b", "15 abc", id++);
    CHECK(r && atoi(r->data) == FASTN_ERR_INVAL);
    r = call_id(n, "test-probe", "blake2b", "65 abc", id++);
    CHECK(r && atoi(r->data) == FASTN_ERR_INVAL);
    r = call_id(n, "test-probe", "blake2b", "16 abc", id++);
    CHECK(r && r->status == 0 && strlen(r->data) == 32);
    r = call_id(n, "test-probe", "hashbig", "", id++);
    CHECK(r && atoi(r->data) == FASTN_ERR_TOO_LARGE);
    /* an answer in pieces, joined by the host for ops without
     * call_reply_v: 1, 2, 0, 4 times 2 KiB of a, b, c, d */
    r = call_id(n, "test-probe", "pieces", "4", id++);
    CHECK(r && r->status == 0 && r->len == 7 * 2048);
    if (r && r->len == 7 * 2048) {
        const uint8_t *d = (const uint8_t *)r->data;
        CHECK(d[0] == 'a' && d[2047] == 'a' && d[2048] == 'b' &&
              d[6143] == 'b' && d[6144] == 'd' && d[7 * 2048 - 1] == 'd');
    }
    r = call_id(n, "test-probe", "pieces", "17", id++);
    CHECK(r && r->status == 0 && atoi(r->data + 4) == FASTN_ERR_INVAL);
    r = call_id(n, "test-probe", "piecesbad", "4", id++);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED &&
          strstr(r->data, "call_reply_v") != NULL);
    check_echo_serves(n, 1000);
    cleanup();
}

/* The hex SHA-256 of n bytes of the probe's hashstart pattern. */
static void hs_digest(size_t n, char hex[65])
{
    uint8_t *in = malloc(n ? n : 1), d[32];
    for (size_t j = 0; j < n; j++)
        in[j] = (uint8_t)(j * 7 + 3);
    crypto_hash_sha256(d, in, n);
    free(in);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* hash_start: a long input is hashed off the loop (the test library's
 * offload runs the job at the node's next turn, after the event that
 * started it returned), a short one at once; both answer with on_hash
 * and the right digest; past FASTN_HASH_JOBS_MAX in flight it is
 * FASTN_ERR_BUSY; an instance stopped with a hash in flight frees it
 * (the sanitizer build sees leaks) and the plugin serves on. */
TEST(hash_start_off_the_loop)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    char want[2048], big[65], small[65], mid[65];

    hs_digest(256 << 10, big);
    hs_digest(100, small);
    hs_digest(64 << 10, mid);
    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "hashprep", "262144", 1);
    CHECK(r && r->status == 0);
    r = call_id(n, "test-probe", "hashstart", "1", 2);
    snprintf(want, sizeof(want), "codes=0 digests=%s", big);
    CHECK(r && r->status == 0 && strcmp(r->data, want) == 0);
    r = call_id(n, "test-probe", "hashprep", "100", 3);
    r = call_id(n, "test-probe", "hashstart", "2", 4);
    snprintf(want, sizeof(want), "codes=0,0 digests=%s,%s", small, small);
    CHECK(r && r->status == 0 && strcmp(r->data, want) == 0);
    /* eight in flight: the ninth is refused */
    r = call_id(n, "test-probe", "hashprep", "65536", 5);
    r = call_id(n, "test-probe", "hashstart", "9", 6);
    size_t k =
        (size_t)snprintf(want, sizeof(want),
                         "codes=0,0,0,0,0,0,0,0,%d digests=", FASTN_ERR_BUSY);
    for (int i = 0; i < 8; i++)
        k += (size_t)snprintf(want + k, sizeof(want) - k, "%s%s", i ? "," : "",
                              mid);
    CHECK(r && r->status == 0 && strcmp(r->data, want) == 0);
    if (r && strcmp(r->data, want))
        fprintf(stderr, "got %s\nwant %s\n", r->data, want);
    /* hashes in flight when the instance stops */
    r = call_id(n, "test-probe", "hashprep", "262144", 7);
    CHECK_ERR(plugin_host_call(n->h, "test-probe", "hashstart", 9,
                               (const uint8_t *)"3", 1, 8),
              0);
    fastn_test_node_run(n);
    CHECK(n->jobs != NULL);
    fastn_test_node_stop(n);
    CHECK(n->jobs == NULL);
    CHECK_ERR(fastn_test_node_start(n), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "hashprep", "262144", 9);
    r = call_id(n, "test-probe", "hashstart", "1", 10);
    snprintf(want, sizeof(want), "codes=0 digests=%s", big);
    CHECK(r && r->status == 0 && strcmp(r->data, want) == 0);
    check_echo_serves(n, 1000);
    cleanup();
}

/* The host's blobs through a real instance: a round trip, a key too
 * long, the quota (1 MiB: the database and the blobs) reached and given
 * back, the blobs kept across a restart and gone with the plugin. */
TEST(host_blobs)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    char want[256];

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "blob", "hello blobs", 1);
    snprintf(want, sizeof(want),
             "put=0 size=11 read=10:ello blobs bad=%d del=0 again=%d gone=%d",
             FASTN_ERR_INVAL, FASTN_ERR_NOT_FOUND, FASTN_ERR_NOT_FOUND);
    CHECK(r && r->status == 0 && strcmp(r->data, want) == 0);
    if (r && strcmp(r->data, want))
        fprintf(stderr, "blob: %s\n", r->data);
    r = call_id(n, "test-probe", "blobfill", "", 2);
    CHECK(r && r->status == 0);
    int got = 0, e = 0, after = 1;
    CHECK(r && sscanf(r->data, "n=%d err=%d after=%d", &got, &e, &after) == 3);
    CHECK(got >= 8 && got < 16);
    CHECK_ERR(e, FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(after, 0);
    if (r && (got < 8 || got >= 16 || e != FASTN_ERR_STORE_QUOTA))
        fprintf(stderr, "blobfill: %s\n", r->data);
    check_echo_serves(n, 1000);
    cleanup();
}

/* Imports are charged by their work: bytes of randomness made, WASI's
 * random_get and clock included (at the engine's prices, wasm/wasi.c: 20
 * a call, 1500 a system call, 50 a clock read, 2 a random byte; the host
 * adds nothing for them), SQL text parsed, notifications; a loop over one
 * runs out of fuel. */
TEST(imports_are_charged_by_their_work)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_info info;
    const struct fastn_test_reply *r;
    uint64_t before;
    static const struct {
        const char *method, *arg;
        uint64_t least;
    } v[] = {
        {"random", "100 65536", 100ull * 65536 * PLUGIN_FUEL_PER_RANDOM_BYTE},
        {"wasi_random", "1000 256", 1000ull * (20 + 1500 + 256 * 2)},
        {"wasi_clock", "1000 0", 1000ull * (20 + 50)},
        {"sql_exec", "100 0", 100ull * PLUGIN_FUEL_SQL_TEXT},
        {"notify", "100 1000", 100ull * (PLUGIN_FUEL_NOTIFY + 1000)},
        {"log", "50 1000", 50ull * (PLUGIN_FUEL_LOG_LINE + 1000)},
        {"sha256", "100 65536", 100ull * 65536 * PLUGIN_FUEL_PER_HASH_BYTE},
        {"blake2b", "100 65536", 100ull * 65536 * PLUGIN_FUEL_PER_B2B_BYTE},
        {"blob_put", "10 65536",
         10ull * (PLUGIN_FUEL_BLOB + 65536 / PLUGIN_BLOB_BYTES_PER_FUEL)},
        {"blob_read", "10 65536",
         10ull * (PLUGIN_FUEL_BLOB + 65536 / PLUGIN_BLOB_BYTES_PER_FUEL)},
    };

    CHECK_ERR(install_built(n, HOSTILE("imports"), err, sizeof(err)), 0);
    fastn_test_run(T);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CHECK_ERR(plugin_host_info(n->h, "hostile-imports", &info), 0);
        before = info.fuel_used;
        r = call_wait(n, "hostile-imports", v[i].method, v[i].arg, 10 + i);
        CHECK(r && r->status == 0 && !strncmp(r->data, "n=", 2));
        CHECK_ERR(plugin_host_info(n->h, "hostile-imports", &info), 0);
        CHECK(info.fuel_used - before >= v[i].least);
        if (info.fuel_used - before < v[i].least)
            fprintf(stderr, "%s: charged %llu, want at least %llu\n",
                    v[i].method, (unsigned long long)(info.fuel_used - before),
                    (unsigned long long)v[i].least);
    }
    r = call_wait(n, "hostile-imports", "forever", "wasi_random 256", 20);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "hostile-imports", &info), 0);
    /* stopped by its fuel, or, where the system calls behind the import
     * cost more CPU than the fuel says (a loaded or slow machine, the
     * sanitizers), by the slice's CPU time: ended either way */
    if (info.last_error != FASTN_ERR_PLUGIN_TIMEOUT)
        CHECK_ERR(info.last_error, FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    check_echo_serves(n, 21);
    cleanup();
}

/* What the host holds for a plugin counts in its memory budget: writes
 * queued on streams past it end the instance (FASTN_ERR_PLUGIN_MEMORY);
 * under the default budget the same writes are fine. */
TEST(memory_budget_counts_host_buffers)
{
    struct fastn_test_node *n = node_with_echo(0), *b = start_node(1, 0);
    struct plugin_host_limits lim = {.memory = 2ull << 20};
    struct plugin_info info;
    const struct fastn_test_reply *r;

    /* b takes the streams and never reads: what n writes stays queued */
    CHECK_ERR(install_built(b, HOSTILE("streams"), err, sizeof(err)), 0);
    b->no_read = 1;
    CHECK_ERR(install_built(n, HOSTILE("streams"), err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "hostile-streams", "queue", b->peer_id, 1);
    CHECK(r && !strcmp(r->data, "queued=8 err=-402"));
    CHECK_ERR(plugin_host_info(n->h, "hostile-streams", &info), 0);
    CHECK(info.memory.host >= 8 * 256 * 1024);
    CHECK_EQ(info.memory.budget, PLUGIN_MEMORY_DEFAULT);

    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    CHECK_ERR(plugin_host_enable(n->h, "hostile-streams", false), 0);
    CHECK_ERR(plugin_host_enable(n->h, "hostile-streams", true), 0);
    fastn_test_run(T);
    r = call_id(n, "hostile-streams", "queue", b->peer_id, 2);
    CHECK(r && r->status == FASTN_ERR_PLUGIN_CRASHED);
    CHECK_ERR(plugin_host_info(n->h, "hostile-streams", &info), 0);
    CHECK_ERR(info.last_error, FASTN_ERR_PLUGIN_MEMORY);
    /* the write past it, or the open after writes that filled it */
    CHECK(strstr(info.last_error_text, "(fastn.stream_write)") != NULL ||
          strstr(info.last_error_text, "(fastn.stream_open)") != NULL);
    CHECK_EQ(info.memory.budget, 2ull << 20);
    check_echo_serves(n, 3);
    cleanup();
}

/* The plugin's database is in its memory budget too: before each SQL
 * call the database may hold what the budget leaves after the rest, so
 * a sort that would take the plugin past it (here past 1 MiB: refused at
 * its first value, before much work) fails with
 * FASTN_ERR_STORE_MEMORY (an answer: the instance goes on, within its
 * budget), where the default budget has room for it (it may still run
 * out of time: large allocations fault their pages in slowly on a
 * virtual machine). */
#define SQL_SORT                                                               \
    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r"           \
    " WHERE i < 8) SELECT i || zeroblob(900000) AS x FROM r ORDER BY x"
TEST(memory_budget_bounds_sqlite)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_host_limits lim = {.memory = 1ull << 20};
    struct plugin_info info;
    const struct fastn_test_reply *r;
    unsigned long long limit = 0;
    char msg[32];

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "sql", SQL_SORT, 1);
    snprintf(err, sizeof(err), "%d ", FASTN_ERR_STORE_MEMORY);
    CHECK(r && r->status == 0 && strncmp(r->data, err, strlen(err)) != 0);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK(info.memory.sqlite > 0 && info.memory.sqlite < info.memory.budget);

    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", false), 0);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", true), 0);
    fastn_test_run(T);
    /* refused for memory; on a loaded machine a try may run out of its
     * time first (fresh pages fault in slowly), never anything else */
    snprintf(err, sizeof(err), "%d the database's memory is at its limit",
             FASTN_ERR_STORE_MEMORY);
    snprintf(msg, sizeof(msg), "%d ", FASTN_ERR_STORE_TIMEOUT);
    for (uint64_t id = 2; id < 12 && !limit; id++) {
        r = call_id(n, "test-probe", "sql", SQL_SORT, id);
        CHECK(r && r->status == 0);
        if (!r || strncmp(r->data, err, strlen(err)) != 0) {
            CHECK(r && !strncmp(r->data, msg, strlen(msg)));
            continue;
        }
        CHECK(sscanf(r->data + strlen(err), " of %llu", &limit) == 1);
    }
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK_ERR(info.last_error, 0);
    CHECK_EQ(info.memory.budget, 1ull << 20);
    /* what it was given is what the rest left */
    CHECK(limit > 0 && info.memory.linear + limit <= info.memory.budget);
    CHECK(info.memory.linear + info.memory.engine + info.memory.host +
              info.memory.sqlite <=
          info.memory.budget);
    r = call_id(n, "test-probe", "sql", "SELECT 1", 20); /* and goes on */
    CHECK(r && !strcmp(r->data, "0 "));
    check_echo_serves(n, 21);
    cleanup();
}

/* The engine's budget is the plugin's, and the host charges it with what
 * it holds for the plugin (here its SQLite cache, filled by a previous
 * call) and the room kept for input: memory.grow returns -1 where the
 * whole budget would be past, not where linear memory alone would, so
 * the plugin goes on. */
TEST(memory_grow_sees_the_whole_budget)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct plugin_host_limits lim = {.memory = 4ull << 20};
    struct plugin_info info;
    const struct fastn_test_reply *r;
    long pages = 0;

    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "sql", "CREATE TABLE big(x)", 1);
    CHECK(r && !strcmp(r->data, "0 "));
    /* 20 rows in calls of 4, each well inside an SQL call's time under
     * the sanitizers on a loaded machine */
    for (uint64_t k = 0; k < 5; k++) {
        r = call_id(n, "test-probe", "sql",
                    "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                    "FROM r WHERE i < 4) INSERT INTO big "
                    "SELECT zeroblob(15000) FROM r",
                    100 + k);
        CHECK(r && !strcmp(r->data, "0 "));
    }
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK(info.memory.sqlite > 256 * 1024); /* its cache holds the rows */
    r = call_id(n, "test-probe", "grow", "", 2);
    CHECK(r && sscanf(r->data, "pages=%ld", &pages) == 1);
    CHECK_ERR(plugin_host_info(n->h, "test-probe", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK_ERR(info.last_error, 0);
    CHECK_EQ(info.memory_pages, (uint32_t)pages);
    CHECK(info.memory.linear + info.memory.engine + info.memory.host +
              info.memory.sqlite <=
          info.memory.budget);
    /* and it grew up to that: less than a page, the host's own and the
     * room kept for input (a 16th of the budget) short */
    CHECK(info.memory.linear + info.memory.engine + info.memory.host +
              info.memory.sqlite + (256u << 10) + 65536 + 16384 >
          info.memory.budget);
    CHECK(info.memory.linear + info.memory.engine + info.memory.host +
              info.memory.sqlite + (256u << 10) <=
          info.memory.budget);
    check_echo_serves(n, 3);
    cleanup();
}

/* --- the notification outbox ----------------------------------------- */

static int count_notes(struct fastn_test_node *n)
{
    return store_notify_unread_count(n->state, "test-probe");
}

TEST(notify_commits_with_the_transaction)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    int id = 1;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "nrollback", "3", id++);
    CHECK(r && strcmp(r->data, "ok=3 again=0 other=0") == 0);
    CHECK_EQ(count_notes(n), 0);
    r = call_id(n, "test-probe", "rows", "", id++);
    CHECK(r && strcmp(r->data, "rows=0") == 0);
    r = call_id(n, "test-probe", "ntx", "1", id++);
    CHECK(r && strcmp(r->data, "ok=1 again=0 other=0") == 0);
    CHECK_EQ(count_notes(n), 1);
    r = call_id(n, "test-probe", "rows", "", id++);
    CHECK(r && strcmp(r->data, "rows=1") == 0);
    /* a transaction left open at the end of the event is rolled back,
     * its notification with it */
    r = call_id(n, "test-probe", "nopen", "2", id++);
    CHECK(r && strcmp(r->data, "ok=2 again=0 other=0") == 0);
    fastn_test_run(T);
    CHECK_EQ(count_notes(n), 1);
    r = call_id(n, "test-probe", "rows", "", id++);
    CHECK(r && strcmp(r->data, "rows=1") == 0);
    cleanup();
}

TEST(notify_tables_are_the_hosts)
{
    static const char *const refused[] = {
        "SELECT * FROM _fastn_outbox",
        "INSERT INTO _fastn_outbox(time_ms, title, body) VALUES(1, 'x', '')",
        "DELETE FROM _FASTN_outbox",
        "UPDATE _fastn_meta SET value = 'x'",
        "DROP TABLE _fastn_outbox",
        "ALTER TABLE _fastn_outbox RENAME TO x",
        "CREATE TABLE _fastn_mine(x)",
        "CREATE TRIGGER tr AFTER INSERT ON _fastn_outbox BEGIN SELECT 1; END",
        "CREATE VIEW v AS SELECT * FROM _fastn_outbox; SELECT * FROM v",
    };
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    char want[40];

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "notify", "1", 1); /* creates them */
    CHECK(r && strcmp(r->data, "ok=1 again=0 other=0") == 0);
    snprintf(want, sizeof(want), "%d ", FASTN_ERR_STORE_DENIED);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        r = call_id(n, "test-probe", "sql", refused[i], 10 + i);
        CHECK(r && strncmp(r->data, want, strlen(want)) == 0 &&
              strstr(r->data, "_fastn_") != NULL);
        if (r && strncmp(r->data, want, strlen(want)) != 0)
            fprintf(stderr, "%s: %s\n", refused[i], r->data);
    }
    /* SQL whose text names one anywhere is refused: in a trigger's body,
     * a foreign key, a column, a string, in quotes */
    static const char *const named[] = {
        ("CREATE TRIGGER tr AFTER INSERT ON t BEGIN"
         " DELETE FROM _fastn_outbox; END"),
        "CREATE TABLE c(x REFERENCES _fastn_outbox ON DELETE CASCADE)",
        "CREATE TABLE u(_fastn_col)",
        "SELECT '_FASTN_'",
        "SELECT * FROM \"_Fastn_Outbox\"",
        "SELECT * FROM [_fastn_meta]",
        "SELECT * FROM `_fastn_meta`",
    };
    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        r = call_id(n, "test-probe", "sql", named[i], 40 + i);
        CHECK(r && strncmp(r->data, want, strlen(want)) == 0 &&
              strstr(r->data, "_fastn_") != NULL);
        if (r && strncmp(r->data, want, strlen(want)) != 0)
            fprintf(stderr, "%s: %s\n", named[i], r->data);
    }
    /* the plugin's own tables still work, and notify too */
    r = call_id(n, "test-probe", "sql", "INSERT INTO t VALUES(5)", 50);
    CHECK(r && strncmp(r->data, "0", 1) == 0);
    r = call_id(n, "test-probe", "notify", "1", 51);
    CHECK(r && strcmp(r->data, "ok=1 again=0 other=0") == 0);
    CHECK_EQ(count_notes(n), 2);
    cleanup();
}

/* A table of the plugin's with a trigger, renamed to the outbox's name
 * before the host made it (the authorizer is not told the new name), so
 * the host's statements would fire it: refused, since a rename touches
 * the temp schema. */
TEST(notify_tables_cannot_be_planted)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "sql",
                "CREATE TABLE x(id INTEGER PRIMARY KEY AUTOINCREMENT,"
                " time_ms, title, body); CREATE TRIGGER evil AFTER INSERT"
                " ON x BEGIN INSERT INTO t VALUES(99); END;"
                " ALTER TABLE x RENAME TO _FASTN_OUTBOX",
                1);
    CHECK(r && atoi(r->data) == FASTN_ERR_STORE_DENIED);
    r = call_id(n, "test-probe", "notify", "1", 2);
    CHECK(r && strcmp(r->data, "ok=1 again=0 other=0") == 0);
    r = call_id(n, "test-probe", "rows", "", 3);
    CHECK(r && strcmp(r->data, "rows=0") == 0);
    CHECK_EQ(count_notes(n), 1);
    cleanup();
}

/* Leaves two notifications in test-probe's outbox as a kill -9 would:
 * the first already in state.sqlite (the crash came before the outbox
 * delete), the second not (it came before the move). */
static void fake_crash_rows(struct fastn_test_node *n)
{
    char dir[320];
    struct store_pdb *db = NULL;
    struct store_outbox_row *v = NULL;
    size_t nv = 0;

    snprintf(dir, sizeof(dir), "%s/data", n->home);
    CHECK_ERR(store_pdb_open(dir, "test-probe", NULL, &db), 0);
    CHECK_ERR(store_outbox_add(db, 1, "first", "a"), 0);
    CHECK_ERR(store_outbox_add(db, 2, "second", "b"), 0);
    CHECK_ERR(store_outbox_peek(db, "test-probe", 10, &v, &nv), 0);
    CHECK_EQ(nv, 2);
    if (nv == 2)
        CHECK_ERR(store_notify_add_once(n->state, v[0].time_ms, "test-probe",
                                        v[0].title, v[0].body, v[0].origin,
                                        NULL),
                  0);
    store_outbox_rows_free(v, nv);
    store_pdb_close(db);
}

TEST(notify_exactly_once_across_a_crash)
{
    struct fastn_test_node *n = node_with_echo(0);
    struct store_notification *v = NULL;
    size_t count = 0;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", false), 0);
    fake_crash_rows(n);
    CHECK_EQ(count_notes(n), 1);
    fastn_test_node_stop(n);

    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    CHECK_ERR(plugin_host_enable(n->h, "test-probe", true), 0);
    fastn_test_run(T);
    CHECK_ERR(store_notify_list(n->state, NULL, &v, &count), 0);
    CHECK_EQ(count, 2);
    if (count == 2) {
        CHECK_STR(v[0].title, "first");
        CHECK_STR(v[1].title, "second");
    }
    store_notifications_free(v, count);
    /* and again: nothing moves twice */
    fastn_test_node_stop(n);
    n = start_node(0, 0);
    CHECK_EQ(plugin_host_load_all(n->h), 2);
    fastn_test_run(T);
    CHECK_EQ(count_notes(n), 2);
    cleanup();
}

TEST(notify_after_reinstall_is_not_swallowed)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    r = call_id(n, "test-probe", "notify", "2", 1);
    CHECK(r && strcmp(r->data, "ok=2 again=0 other=0") == 0);
    CHECK_EQ(count_notes(n), 2);
    CHECK_ERR(plugin_host_remove(n->h, "test-probe", false), 0);
    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    /* a new database: its outbox ids start at 1 again */
    r = call_id(n, "test-probe", "notify", "2", 2);
    CHECK(r && strcmp(r->data, "ok=2 again=0 other=0") == 0);
    CHECK_EQ(count_notes(n), 4);
    cleanup();
}

TEST(notify_outbox_is_bounded)
{
    struct fastn_test_node *n = node_with_echo(0);
    const struct fastn_test_reply *r;
    char want[64];

    CHECK_ERR(install_built(n, PROBE, err, sizeof(err)), 0);
    fastn_test_run(T);
    /* STORE_OUTBOX_MAX wait (they move after the event), the rest are
     * refused; then 30 move at once */
    r = call_id(n, "test-probe", "notify", "1040", 1);
    snprintf(want, sizeof(want), "ok=%d again=%d other=0", STORE_OUTBOX_MAX,
             1040 - STORE_OUTBOX_MAX);
    CHECK(r && strcmp(r->data, want) == 0);
    if (r && strcmp(r->data, want) != 0)
        fprintf(stderr, "got %s\n", r->data);
    CHECK_EQ(count_notes(n), 30);
    /* the host moves the rest on its own, no faster than its rate */
    uint64_t wake = plugin_host_next_wake(n->h);
    CHECK(wake > T->mono && wake <= T->mono + 6001);
    advance(60000);
    CHECK_EQ(count_notes(n), 40);
    check_info(n, "test-probe", PLUGIN_STATE_RUNNING, 0);
    cleanup();
}

/* --- input flow control: on_data returning FASTN_ERR_AGAIN ------------ */

/* A node with the hold plugin and two streams to it from the test. */
static struct fastn_test_node *node_with_hold(struct fastn_test_stream **a,
                                              struct fastn_test_stream **b)
{
    init_time();
    struct fastn_test_node *n = start_node(0, 0);
    CHECK_ERR(install_built(n, HOLD, err, sizeof(err)), 0);
    fastn_test_run(T);
    *a = raw_open(n, HOLD_PROTO);
    fastn_test_run(T);
    *b = raw_open(n, HOLD_PROTO);
    fastn_test_run(T);
    CHECK_ERR((*a)->open_result, 0);
    CHECK_ERR((*b)->open_result, 0);
    return n;
}

/* What the hold plugin logged since the last look. */
static const char *hold_log(struct fastn_test_node *n)
{
    static uint64_t id = 1000;
    static char out[4096];
    const struct fastn_test_reply *r = call_id(n, "test-hold", "log", "", ++id);
    snprintf(out, sizeof(out), "%s", r && r->status == 0 ? r->data : "?");
    return out;
}

static void hold_call(struct fastn_test_node *n, const char *method,
                      const char *arg)
{
    static uint64_t id = 1;
    const struct fastn_test_reply *r =
        call_id(n, "test-hold", method, arg, ++id);
    CHECK(r && r->status == 0);
}

TEST(held_data_waits_for_writable_in_order)
{
    struct fastn_test_stream *a, *b;
    struct fastn_test_node *n = node_with_hold(&a, &b);
    static uint8_t sink[FASTN_TEST_WINDOW];
    uint64_t ida = a->end[1].id;

    hold_call(n, "fill", "0"); /* a's send queue is full: writable follows */
    hold_call(n, "hold", "0");
    raw_write(a, "one", 3);
    fastn_test_run(T);
    CHECK_STR(hold_log(n), "h0:3");
    CHECK(a->end[1].paused); /* the router stopped reading a */
    /* what the router had read already, and the peer's FIN, queue behind */
    CHECK_ERR(plugin_host_stream_data(n->h, ida, (const uint8_t *)"two", 3), 0);
    CHECK_ERR(plugin_host_stream_closed(n->h, ida, 0), 0);
    /* another stream is not held up; its progress does not redeliver a's
     * data, whose send queue is still full; nothing spins */
    raw_write(b, "bee", 3);
    fastn_test_run(T);
    hold_call(n, "take", "0");
    CHECK_STR(hold_log(n), "d1:bee");
    CHECK_EQ(plugin_host_next_wake(n->h), UINT64_MAX);
    CHECK(a->end[1].paused);
    /* the peer reads: writable, then the held data and the close, in order */
    CHECK(fastn_test_stream_read(a, sink, sizeof(sink)) > 0);
    fastn_test_run(T);
    CHECK_STR(hold_log(n), "w0 d0:one d0:two c0:0");
    CHECK(!a->end[1].paused); /* resumed */
    CHECK(a->end[0].fin_pending);
    cleanup();
}

TEST(held_data_with_room_waits_for_progress)
{
    struct fastn_test_stream *a, *b;
    struct fastn_test_node *n = node_with_hold(&a, &b);

    hold_call(n, "hold", "0");
    raw_write(a, "one", 3);
    fastn_test_run(T);
    CHECK(a->end[1].paused);
    CHECK_EQ(plugin_host_next_wake(n->h), UINT64_MAX); /* no busy loop */
    CHECK_STR(hold_log(n), "h0:3");
    fastn_test_run(T);
    /* each call (here: reading the log) is progress: one more try each */
    CHECK_STR(hold_log(n), "h0:3");
    /* b's data is progress too; a refused once more, not in a loop */
    raw_write(b, "bee", 3);
    fastn_test_run(T);
    CHECK_STR(hold_log(n), "h0:3 d1:bee h0:3");
    hold_call(n, "take", "0"); /* progress: a takes it now */
    fastn_test_run(T);
    CHECK_STR(hold_log(n), "h0:3 d0:one");
    CHECK(!a->end[1].paused);
    /* a stream reset while holding: one more try, then dropped; the close
     * comes after */
    hold_call(n, "hold", "1");
    raw_write(b, "x", 1);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_stream_closed(n->h, b->end[1].id,
                                        FASTN_ERR_NET_STREAM_RESET),
              0);
    b->end[1].dead = 1;
    fastn_test_run(T);
    char want[64];
    snprintf(want, sizeof(want), "h1:1 h1:1 c1:%d", FASTN_ERR_NET_STREAM_RESET);
    CHECK_STR(hold_log(n), want);
    struct plugin_info info;
    CHECK_ERR(plugin_host_info(n->h, "test-hold", &info), 0);
    CHECK_EQ(info.open_streams, 1);
    CHECK_EQ(info.last_error, 0);
    cleanup();
}

/* --- fastn_data_at: the plugin names where on_data's bytes go --------- */

#define PLACE_PROTO "/fastn-test/place/1"

/* Calls the place plugin; its answer (static), or "?". */
static const char *place_call(struct fastn_test_node *n, const char *method,
                              const char *arg)
{
    static uint64_t id = 3000;
    static char out[2048];
    const struct fastn_test_reply *r =
        call_id(n, "test-place", method, arg, ++id);
    snprintf(out, sizeof(out), "%.*s", r && r->status == 0 ? (int)r->len : 1,
             r && r->status == 0 ? r->data : "?");
    return out;
}

TEST(data_at_places_stream_bytes)
{
    init_time();
    struct fastn_test_node *n = start_node(0, 0);
    struct fastn_test_stream *s;
    struct plugin_info info;

    CHECK_ERR(install_built(n, ECHO, err, sizeof(err)), 0);
    CHECK_ERR(install_built(n, HOSTILE("place"), err, sizeof(err)), 0);
    fastn_test_run(T);
    s = raw_open(n, PLACE_PROTO);
    fastn_test_run(T);
    CHECK_ERR(s->open_result, 0);
    /* placed at the buffer's end, no fastn_alloc, no fastn_free */
    raw_write(s, "one", 3);
    fastn_test_run(T);
    raw_write(s, "two", 3);
    fastn_test_run(T);
    CHECK_STR(place_call(n, "log", ""), "a3 d:one@p a3 d:two@p");
    /* 0: a fastn_alloc block, freed after on_data */
    place_call(n, "mode", "zero");
    raw_write(s, "abc", 3);
    fastn_test_run(T);
    CHECK_STR(place_call(n, "log", ""), "a3 d:abc@m f");
    /* refused: asked again when delivered again, the bytes written once */
    place_call(n, "mode", "hold");
    raw_write(s, "xyz", 3);
    fastn_test_run(T);
    CHECK_STR(place_call(n, "log", ""), "a3 h");
    /* each call is progress: one more try after it, then taken */
    place_call(n, "mode", "buf");
    CHECK_STR(place_call(n, "log", ""), "a3 h a3 d:xyz@p");
    CHECK_STR(place_call(n, "buf", ""), "onetwoabcxyz");
    CHECK_ERR(plugin_host_info(n->h, "test-place", &info), 0);
    CHECK_EQ(info.restarts, 0);
    /* a pointer past its memory ends the instance; the rest goes on */
    place_call(n, "mode", "bad");
    raw_write(s, "bad", 3);
    fastn_test_run(T);
    CHECK_ERR(plugin_host_info(n->h, "test-place", &info), 0);
    CHECK_ERR(info.last_error, FASTN_ERR_PLUGIN_BAD_POINTER);
    CHECK(strstr(info.last_error_text, "on_data") != NULL);
    CHECK_EQ(info.restarts, 1);
    check_echo_serves(n, 3900);
    advance(PLUGIN_BACKOFF_MAX_MS);
    CHECK_STR(place_call(n, "buf", ""), ""); /* restarted: a new instance */
    cleanup();
}

/* A stream paused because the plugin's memory was short, whose backlog
 * the plugin took while memory was still short (another stream's data
 * queued behind it), is resumed once memory has room: no later data of
 * its own would come to resume it. */
TEST(paused_for_memory_resumes_when_memory_frees)
{
    struct fastn_test_stream *a, *b;
    struct fastn_test_node *n = node_with_hold(&a, &b);
    static uint8_t chunk[64 * 1024];
    uint64_t ida = a->end[1].id, idb = b->end[1].id;
    size_t over = (PLUGIN_MEMORY_DEFAULT + (8u << 20)) / sizeof(chunk);

    /* what the router read of b before it paused, past the budget */
    for (size_t i = 0; i < over; i++)
        CHECK_ERR(plugin_host_stream_data(n->h, idb, chunk, sizeof(chunk)), 0);
    CHECK(b->end[1].paused);
    CHECK_ERR(plugin_host_stream_data(n->h, ida, (const uint8_t *)"one", 3), 0);
    CHECK(a->end[1].paused);          /* memory is short: a waits too */
    for (size_t i = 0; i < over; i++) /* more of b behind a's */
        CHECK_ERR(plugin_host_stream_data(n->h, idb, chunk, sizeof(chunk)), 0);
    fastn_test_run(T);
    CHECK(!b->end[1].paused);
    CHECK(!a->end[1].paused); /* before: paused for good, a stalled */
    raw_write(a, "two", 3);
    fastn_test_run(T);
    CHECK(!a->end[1].paused);
    cleanup();
}

/* A plugin whose linear memory grew as far as memory.grow lets it (it
 * never shrinks) still takes what others send: the budget keeps room for
 * input (host_memory_input_room), so its streams are not paused for good
 * nor its calls refused. Before, grow took the whole budget and the
 * first stream paused for memory stayed paused. */
TEST(memory_grown_full_still_takes_input)
{
    struct plugin_host_limits lim = {.memory = 4ull << 20};
    static uint8_t chunk[64 * 1024];
    struct plugin_info info;
    const struct fastn_test_reply *r;
    long pages = 0;
    char want[40];

    init_time();
    struct fastn_test_node *n = start_node(0, 0);
    CHECK_ERR(plugin_host_set_limits(n->h, &lim), 0);
    CHECK_ERR(install_built(n, HOLD, err, sizeof(err)), 0);
    fastn_test_run(T);
    struct fastn_test_stream *a = raw_open(n, HOLD_PROTO);
    fastn_test_run(T);
    CHECK_ERR(a->open_result, 0);
    r = call_id(n, "test-hold", "grow", "", 2);
    CHECK(r && sscanf(r->data, "pages=%ld", &pages) == 1);
    CHECK_ERR(plugin_host_info(n->h, "test-hold", &info), 0);
    CHECK_EQ(info.memory_pages, (uint32_t)pages);
    CHECK(info.memory.linear + info.memory.engine + info.memory.host +
              info.memory.sqlite + (256u << 10) <=
          info.memory.budget);
    memset(chunk, 'x', sizeof(chunk));
    for (int i = 0; i < 32; i++) { /* 2 MiB, half the budget */
        CHECK_ERR(
            plugin_host_stream_data(n->h, a->end[1].id, chunk, sizeof(chunk)),
            0);
        fastn_test_run(T);
        CHECK(!a->end[1].paused);
    }
    snprintf(want, sizeof(want), "d0:%.32s", (const char *)chunk);
    const char *log = hold_log(n);
    int taken = 0;
    for (const char *p = log; (p = strstr(p, want)); p += strlen(want))
        taken++;
    CHECK_EQ(taken, 32);
    CHECK_ERR(plugin_host_info(n->h, "test-hold", &info), 0);
    CHECK_EQ(info.state, PLUGIN_STATE_RUNNING);
    CHECK_ERR(info.last_error, 0);
    cleanup();
}

int main(void)
{
    size_t len;
    uint8_t *probe = read_built(PROBE, &len);
    if (!probe) {
        printf("skipped: plugins not built (no wasm32-wasi toolchain; "
               "run scripts/install-deps.sh all)\n");
        return 77;
    }
    free(probe);
    RUN(install_list_info_remove);
    RUN(bad_files_are_refused);
    RUN(restart_loads_index_and_files);
    RUN(echo_calls);
    RUN(echo_over_a_stream);
    RUN(probe_imports);
    RUN(probe_timers_and_late_answers);
    RUN(probe_exit_is_recorded);
    RUN(long_event_runs_in_slices);
    RUN(hostile_loop_is_stopped_and_restarted);
    RUN(call_waits_for_restart);
    RUN(traps_name_functions);
    RUN(stream_open_failure_comes_through_on_open);
    RUN(hostile_membomb);
    RUN(hostile_badptr);
    RUN(host_blobs);
    RUN(hostile_recurse);
    RUN(hostile_attach);
    RUN(hostile_quota);
    RUN(hostile_liar_memory_not_retried);
    RUN(hostile_streams_bounded);
    RUN(disable_answers_pending_calls);
    RUN(restrict_rules);
    RUN(restrict_withheld_capability_fails_at_run_time);
    RUN(restrict_persists_and_old_index_loads);
    RUN(restrict_one_protocol);
    RUN(notify_commits_with_the_transaction);
    RUN(notify_tables_are_the_hosts);
    RUN(notify_tables_cannot_be_planted);
    RUN(notify_exactly_once_across_a_crash);
    RUN(notify_after_reinstall_is_not_swallowed);
    RUN(notify_outbox_is_bounded);
    RUN(held_data_waits_for_writable_in_order);
    RUN(held_data_with_room_waits_for_progress);
    RUN(data_at_places_stream_bytes);
    RUN(paused_for_memory_resumes_when_memory_frees);
    RUN(memory_grown_full_still_takes_input);
    RUN(slice_past_its_bound_ends_with_timeout);
    RUN(sql_gets_what_its_slice_has_left);
    RUN(slices_end_by_time_whatever_their_fuel);
    RUN(cpu_budget_defers_a_busy_plugin);
    RUN(timers_due_together_fire_in_one_slice);
    RUN(host_hashes);
    RUN(hash_start_off_the_loop);
    RUN(imports_are_charged_by_their_work);
    RUN(memory_budget_counts_host_buffers);
    RUN(memory_budget_bounds_sqlite);
    RUN(memory_grow_sees_the_whole_budget);
    return test_done();
}
