/* Unit tests for the control protocol's plugin and notification requests
 * (src/ipc/req_plugin.c, req_notify.c, defer.c), sans-I/O: sessions fed
 * encoded requests, a real plugin host running the built echo and probe
 * plugins in a temporary home, a real state.sqlite. Checks deferred
 * answers (in order, with pipelined requests behind them), a client that
 * leaves before its answer, admin-only requests, and subscriptions. */
#include "net_harness.h"
#include "plugin/plugin.h"
#include "store/store.h"
#include "util/log.h"

static struct identity ident;
static struct ipc_host host;
static struct plugin_host *ph;
static struct store *state;
static char home[64];
static uint64_t now_ms = 1700000000000ull, mono = 1000;
static int kicks;
static uid_t nobody_uid = 4242;
static const struct ipc_peer admin_peer = {.pid = 1, .uid = 1000, .gid = 1000};
static const struct ipc_peer user_peer = {.pid = 2, .uid = 4242, .gid = 4242};

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

static const struct plugin_host_ops ops = {.call_reply = on_reply,
                                           .wake = nop_wake};

static void kick(struct ipc_session *s, void *arg)
{
    (void)s, (void)arg;
    kicks++;
}

static uint8_t *read_built(const char *rel, size_t *len)
{
    char path[512];
    const char *top = getenv("FASTN_TOP"), *build = getenv("BUILD");
    snprintf(path, sizeof(path), "%s/%s/%s", top ? top : ".",
             build ? build : "build", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *d = malloc(4 << 20);
    *len = fread(d, 1, 4 << 20, f);
    fclose(f);
    return d;
}

static void setup(void)
{
    uint8_t seed[32] = {1};
    char path[128];
    struct plugin_host_config cfg = {0};

    log_set_level(LOG_ERROR);
    CHECK_ERR(identity_global_init(), 0);
    CHECK_ERR(identity_from_seed(&ident, seed), 0);
    snprintf(home, sizeof(home), "/tmp/fastn-ipcp-XXXXXX");
    if (!mkdtemp(home))
        abort();
    snprintf(path, sizeof(path), "%s/state.sqlite", home);
    CHECK_ERR(store_open(path, NULL, &state), 0);
    cfg.home = home;
    cfg.local_peer_id = "12D3KooWDiujcij5r7T3YTmKCdZRkAct8UcQicZCBUnKjd7Nnbvd";
    cfg.state = state;
    cfg.ops = &ops;
    CHECK_ERR(plugin_host_new(&cfg, &ph), 0);
    memset(&host, 0, sizeof(host));
    host.local_id = ident.id;
    host.policy.daemon_uid = 1000;
    host.policy.allow_uids = &nobody_uid;
    host.policy.n_allow_uids = 1;
    host.plugins = ph;
    host.state = state;
}

static void teardown(void)
{
    char cmd[128];
    plugin_host_free(ph);
    store_close(state);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
}

static void run_plugins(uint64_t advance)
{
    now_ms += advance;
    mono += advance;
    for (int i = 0; i < 100; i++)
        plugin_host_run(ph, now_ms, mono, 1);
}

static void open_session(struct ipc_session *s, const struct ipc_peer *peer)
{
    ipc_session_init(s, &host, peer);
    s->wake = kick;
    CHECK_ERR(ipc_session_open(s), 0);
}

static void put(struct buf *b, int type, Fastn__PluginRequest *pr,
                Fastn__NotifyRequest *nr, uint64_t call_id)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    Fastn__Request ext = FASTN__REQUEST__INIT;
    ext.version = 1;
    ext.type = (Fastn__Request__Type)type;
    ext.has_call_id = call_id != 0;
    ext.call_id = call_id;
    ext.plugin = pr;
    ext.notify = nr;
    req.type = P2PD__PB__REQUEST__TYPE__FASTN;
    req.fastn = &ext;
    nh_put(b, &req);
}

static void put_identify(struct buf *b)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    req.type = P2PD__PB__REQUEST__TYPE__IDENTIFY;
    nh_put(b, &req);
}

static Fastn__PluginRequest call_req(const char *name, const char *method,
                                     const char *arg)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;
    pr.name = (char *)name;
    pr.method = (char *)method;
    pr.has_arg = true;
    pr.arg.data = (uint8_t *)arg;
    pr.arg.len = strlen(arg);
    return pr;
}

/* Installs a built plugin through the control protocol. */
static int install(struct ipc_session *s, const char *rel)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;
    size_t len;
    uint8_t *wasm = read_built(rel, &len);
    struct buf b;

    buf_init(&b, 1 << 21);
    pr.has_wasm = true;
    pr.wasm.data = wasm;
    pr.wasm.len = len;
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_INSTALL, &pr, NULL, 0);
    nh_feed(s, &b, 5000);
    free(wasm);
    buf_cleanup(&b);
    P2pd__Pb__Response *r = nh_next_response(s);
    int rc = nh_code_of(r);
    if (r)
        p2pd__pb__response__free_unpacked(r, NULL);
    run_plugins(0);
    return rc;
}

TEST(calls_are_answered_later_and_in_order)
{
    struct ipc_session s;
    struct buf b;
    P2pd__Pb__Response *r;

    setup();
    buf_init(&b, 1 << 20);
    open_session(&s, &admin_peer);
    CHECK_ERR(install(&s, "plugins/echo.wasm"), 0);
    CHECK_ERR(install(&s, "tests/plugins/probe.wasm"), 0);
    /* a call the probe answers from a timer, with IDENTIFY behind it */
    Fastn__PluginRequest pr = call_req("test-probe", "later", "");
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &pr, NULL, 77);
    put_identify(&b);
    nh_feed(&s, &b, 5000);
    CHECK_EQ(s.out.len, 0); /* nothing yet: IDENTIFY waits its turn */
    CHECK(s.blocked);
    run_plugins(0);
    CHECK_EQ(s.out.len, 0);
    int before = kicks;
    run_plugins(20); /* the timer fires, the probe answers */
    CHECK(kicks > before);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), 0);
    CHECK(r && r->fastn && r->fastn->has_call_id && r->fastn->call_id == 77);
    CHECK(r && r->fastn && r->fastn->has_call_result &&
          r->fastn->call_result.len == 5 &&
          !memcmp(r->fastn->call_result.data, "later", 5));
    p2pd__pb__response__free_unpacked(r, NULL);
    r = nh_next_response(&s); /* then IDENTIFY */
    CHECK(r && r->identify != NULL);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(!s.blocked);
    /* an error answer carries the plugin's message */
    pr = call_req("echo", "nope", "");
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &pr, NULL, 78);
    nh_feed(&s, &b, 5000);
    run_plugins(0);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_NOT_FOUND);
    CHECK(r && r->error && strstr(r->error->msg, "unknown method"));
    CHECK(r && r->fastn->call_id == 78);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* no such plugin: answered at once */
    pr = call_req("nosuch", "x", "");
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &pr, NULL, 79);
    nh_feed(&s, &b, 5000);
    r = nh_next_response(&s);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_NOT_FOUND);
    p2pd__pb__response__free_unpacked(r, NULL);
    ipc_session_cleanup(&s);
    buf_cleanup(&b);
    teardown();
}

TEST(client_leaves_before_its_answer)
{
    struct ipc_session s, s2;
    struct buf b;

    setup();
    buf_init(&b, 1 << 20);
    open_session(&s, &admin_peer);
    CHECK_ERR(install(&s, "tests/plugins/probe.wasm"), 0);
    Fastn__PluginRequest pr = call_req("test-probe", "later", "");
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &pr, NULL, 1);
    nh_feed(&s, &b, 5000);
    CHECK(host.plugin_calls != NULL);
    ipc_session_cleanup(&s); /* the client hung up */
    CHECK(host.plugin_calls == NULL);
    run_plugins(20); /* the answer finds nobody: dropped */
    /* the plugin is fine and answers the next client */
    open_session(&s2, &admin_peer);
    pr = call_req("test-probe", "peer", "");
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &pr, NULL, 2);
    nh_feed(&s2, &b, 5000);
    run_plugins(0);
    P2pd__Pb__Response *r = nh_next_response(&s2);
    CHECK_ERR(nh_code_of(r), 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    ipc_session_cleanup(&s2);
    buf_cleanup(&b);
    teardown();
}

TEST(changes_need_an_admin)
{
    struct ipc_session a, u;
    struct buf b;
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;
    P2pd__Pb__Response *r;

    setup();
    buf_init(&b, 1 << 20);
    open_session(&a, &admin_peer);
    open_session(&u, &user_peer);
    CHECK_EQ(u.admit, IPC_USER);
    CHECK_ERR(install(&u, "plugins/echo.wasm"), FASTN_ERR_ADMIN_ONLY);
    CHECK_ERR(install(&a, "plugins/echo.wasm"), 0);
    pr.name = "echo";
    pr.serves = "nobody";
    int types[] = {FASTN__REQUEST__TYPE__PLUGIN_REMOVE,
                   FASTN__REQUEST__TYPE__PLUGIN_ENABLE,
                   FASTN__REQUEST__TYPE__PLUGIN_DISABLE,
                   FASTN__REQUEST__TYPE__PLUGIN_RESTRICT};
    for (int i = 0; i < 4; i++) {
        put(&b, types[i], &pr, NULL, 0);
        nh_feed(&u, &b, 5000);
        r = nh_next_response(&u);
        CHECK_ERR(nh_code_of(r), FASTN_ERR_ADMIN_ONLY);
        p2pd__pb__response__free_unpacked(r, NULL);
    }
    /* reading is for every admitted client */
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_LIST, NULL, NULL, 0);
    nh_feed(&u, &b, 5000);
    r = nh_next_response(&u);
    CHECK(nh_code_of(r) == 0 && r->fastn->n_plugins == 1 &&
          !strcmp(r->fastn->plugins[0]->name, "echo") &&
          !strcmp(r->fastn->plugins[0]->state, "running") &&
          !strcmp(r->fastn->plugins[0]->serves, "anyone"));
    p2pd__pb__response__free_unpacked(r, NULL);
    /* calling is not: the plugin's data is the owner's, and the plugin
     * cannot tell one local caller from another */
    Fastn__PluginRequest cr = call_req("echo", "echo", "hi");
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &cr, NULL, 0);
    nh_feed(&u, &b, 5000);
    run_plugins(0);
    r = nh_next_response(&u);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_ADMIN_ONLY);
    CHECK(strstr(r->error->msg, "calling a plugin"));
    p2pd__pb__response__free_unpacked(r, NULL);
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_CALL, &cr, NULL, 0);
    nh_feed(&a, &b, 5000);
    run_plugins(0);
    r = nh_next_response(&a);
    CHECK(nh_code_of(r) == 0 && r->fastn->call_result.len == 2);
    p2pd__pb__response__free_unpacked(r, NULL);
    ipc_session_cleanup(&a);
    ipc_session_cleanup(&u);
    buf_cleanup(&b);
    teardown();
}

/* Sends a PLUGIN_RESTRICT; returns the response (the caller frees). */
static P2pd__Pb__Response *restrict_req(struct ipc_session *s, const char *name,
                                        const char *serves, char **withhold,
                                        size_t n_withhold, char **grant,
                                        size_t n_grant)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;
    struct buf b;

    buf_init(&b, 1 << 16);
    pr.name = (char *)name;
    pr.serves = (char *)serves;
    pr.withhold = withhold;
    pr.n_withhold = n_withhold;
    pr.grant = grant;
    pr.n_grant = n_grant;
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_RESTRICT, &pr, NULL, 0);
    nh_feed(s, &b, 5000);
    buf_cleanup(&b);
    return nh_next_response(s);
}

TEST(restrict_over_the_control_protocol)
{
    struct ipc_session a;
    P2pd__Pb__Response *r;
    char *notify[] = {"notify"}, *bogus[] = {"bogus"};

    setup();
    open_session(&a, &admin_peer);
    CHECK_ERR(install(&a, "plugins/echo.wasm"), 0);
    CHECK_ERR(install(&a, "tests/plugins/probe.wasm"), 0);
    r = restrict_req(&a, "echo", "known-peers", NULL, 0, NULL, 0);
    CHECK(nh_code_of(r) == 0 && r->fastn->n_plugins == 1 &&
          !strcmp(r->fastn->plugins[0]->serves, "known-peers") &&
          !strcmp(r->fastn->plugins[0]->asked_serves, "anyone") &&
          r->fastn->plugins[0]->n_withheld == 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_req(&a, "test-probe", NULL, notify, 1, NULL, 0);
    CHECK(nh_code_of(r) == 0 && r->fastn->plugins[0]->n_withheld == 1 &&
          !strcmp(r->fastn->plugins[0]->withheld[0], "notify") &&
          !strcmp(r->fastn->plugins[0]->serves, "known-peers"));
    p2pd__pb__response__free_unpacked(r, NULL);
    /* refusals, each with its reason */
    r = restrict_req(&a, "test-probe", "anyone", NULL, 0, NULL, 0);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_PLUGIN_CAPABILITY);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_req(&a, "echo", NULL, NULL, 0, notify, 1);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_PLUGIN_CAPABILITY);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_req(&a, "echo", NULL, bogus, 1, NULL, 0);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_req(&a, "echo", "everyone", NULL, 0, NULL, 0);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_req(&a, "nope", "nobody", NULL, 0, NULL, 0);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_NOT_FOUND);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_req(&a, NULL, "nobody", NULL, 0, NULL, 0);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    p2pd__pb__response__free_unpacked(r, NULL);
    ipc_session_cleanup(&a);
    teardown();
}

/* Sends a PLUGIN_RESTRICT for one protocol (withhold: one capability
 * with it, or NULL); returns the response (the caller frees). */
static P2pd__Pb__Response *restrict_proto_req(struct ipc_session *s,
                                              const char *protocol,
                                              const char *serves,
                                              char *withhold)
{
    Fastn__PluginRequest pr = FASTN__PLUGIN_REQUEST__INIT;
    struct buf b;

    buf_init(&b, 1 << 16);
    pr.name = "test-twoproto";
    pr.protocol = (char *)protocol;
    pr.serves = (char *)serves;
    pr.withhold = &withhold;
    pr.n_withhold = withhold != NULL;
    put(&b, FASTN__REQUEST__TYPE__PLUGIN_RESTRICT, &pr, NULL, 0);
    nh_feed(s, &b, 5000);
    buf_cleanup(&b);
    return nh_next_response(s);
}

static bool msg_has(const P2pd__Pb__Response *r, const char *text)
{
    return r && r->error && r->error->msg && strstr(r->error->msg, text);
}

TEST(restrict_one_protocol_over_the_control_protocol)
{
    struct ipc_session a, u;
    P2pd__Pb__Response *r;
    const Fastn__PluginInfo *pi;

    setup();
    open_session(&a, &admin_peer);
    open_session(&u, &user_peer);
    CHECK_ERR(install(&a, "tests/plugins/twoproto.wasm"), 0);
    r = restrict_proto_req(&a, "/fastn-test/two/b", "nobody", NULL);
    CHECK_ERR(nh_code_of(r), 0);
    pi =
        r && r->fastn && r->fastn->n_plugins == 1 ? r->fastn->plugins[0] : NULL;
    CHECK(pi && !strcmp(pi->serves, "anyone") && pi->n_protocol_serves == 1 &&
          !strcmp(pi->protocol_serves[0]->protocol, "/fastn-test/two/b") &&
          !strcmp(pi->protocol_serves[0]->serves, "nobody"));
    p2pd__pb__response__free_unpacked(r, NULL);
    enum plugin_serves w = PLUGIN_SERVES_ANYONE;
    CHECK_ERR(plugin_host_serves(ph, "/fastn-test/two/b", NULL, &w), 0);
    CHECK_EQ(w, PLUGIN_SERVES_NOBODY);
    CHECK_ERR(plugin_host_serves(ph, "/fastn-test/two/a", NULL, &w), 0);
    CHECK_EQ(w, PLUGIN_SERVES_ANYONE);
    /* refusals: not an admin, an unknown protocol, no serves, withhold */
    r = restrict_proto_req(&u, "/fastn-test/two/a", "nobody", NULL);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_ADMIN_ONLY);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_proto_req(&a, "/fastn-test/two/c", "nobody", NULL);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    CHECK(msg_has(r, "has no protocol /fastn-test/two/c (it has: "
                     "/fastn-test/two/a, /fastn-test/two/b)"));
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_proto_req(&a, "/fastn-test/two/a", NULL, NULL);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    CHECK(msg_has(r, "narrowing one protocol takes serves"));
    p2pd__pb__response__free_unpacked(r, NULL);
    r = restrict_proto_req(&a, "/fastn-test/two/a", "nobody", "streams");
    CHECK_ERR(nh_code_of(r), FASTN_ERR_INVAL);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK_ERR(plugin_host_serves(ph, "/fastn-test/two/a", NULL, &w), 0);
    CHECK_EQ(w, PLUGIN_SERVES_ANYONE);
    /* back to the manifest's value: no narrowing listed */
    r = restrict_proto_req(&a, "/fastn-test/two/b", "anyone", NULL);
    CHECK(nh_code_of(r) == 0 && r->fastn->plugins[0]->n_protocol_serves == 0);
    p2pd__pb__response__free_unpacked(r, NULL);
    ipc_session_cleanup(&a);
    ipc_session_cleanup(&u);
    teardown();
}

TEST(subscribers_get_every_change)
{
    struct ipc_session sub, other;
    struct buf b;
    Fastn__NotifyRequest nr = FASTN__NOTIFY_REQUEST__INIT;
    P2pd__Pb__Response *r;
    int64_t id;

    setup();
    buf_init(&b, 1 << 20);
    /* notifications are the owner's: another user may not follow them */
    open_session(&sub, &user_peer);
    put(&b, FASTN__REQUEST__TYPE__NOTIFY_SUBSCRIBE, NULL, NULL, 5);
    nh_feed(&sub, &b, 5000);
    r = nh_next_response(&sub);
    CHECK_ERR(nh_code_of(r), FASTN_ERR_ADMIN_ONLY);
    CHECK(r->fastn->has_call_id && r->fastn->call_id == 5);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(!sub.streaming);
    ipc_session_cleanup(&sub);
    open_session(&sub, &admin_peer);
    open_session(&other, &admin_peer);
    CHECK_ERR(store_notify_add(state, 1, "fastnd", "before", "", &id), 0);
    put(&b, FASTN__REQUEST__TYPE__NOTIFY_SUBSCRIBE, NULL, NULL, 5);
    nh_feed(&sub, &b, 5000);
    r = nh_next_response(&sub);
    CHECK(nh_code_of(r) == 0 && r->fastn->has_count && r->fastn->count == 1);
    p2pd__pb__response__free_unpacked(r, NULL);
    CHECK(sub.streaming);
    int before = kicks;
    CHECK_ERR(store_notify_add(state, 2, "chat", "hello", "body", &id), 0);
    CHECK(kicks > before);
    r = nh_next_response(&sub);
    CHECK(nh_code_of(r) == 0 && r->fastn->event &&
          r->fastn->event->kind == FASTN__NOTIFY_EVENT__KIND__NEW &&
          !strcmp(r->fastn->event->notification->title, "hello"));
    p2pd__pb__response__free_unpacked(r, NULL);
    /* another client marks it read: the subscriber hears of it */
    nr.has_id = true;
    nr.id = id;
    put(&b, FASTN__REQUEST__TYPE__NOTIFY_MARK_READ, NULL, &nr, 0);
    nh_feed(&other, &b, 5000);
    r = nh_next_response(&other);
    CHECK(nh_code_of(r) == 0 && r->fastn->count == 1);
    p2pd__pb__response__free_unpacked(r, NULL);
    r = nh_next_response(&sub);
    CHECK(r && r->fastn->event->kind == FASTN__NOTIFY_EVENT__KIND__READ &&
          r->fastn->event->notification->read);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* a subscribed client's requests are not read */
    put_identify(&b);
    nh_feed(&sub, &b, 5000);
    CHECK_EQ(sub.out.len, 0);
    /* the list, the count */
    put(&b, FASTN__REQUEST__TYPE__NOTIFY_LIST, NULL, NULL, 0);
    put(&b, FASTN__REQUEST__TYPE__NOTIFY_UNREAD, NULL, NULL, 0);
    nh_feed(&other, &b, 5000);
    r = nh_next_response(&other);
    CHECK(nh_code_of(r) == 0 && r->fastn->n_notifications == 2 &&
          !strcmp(r->fastn->notifications[1]->source, "chat"));
    p2pd__pb__response__free_unpacked(r, NULL);
    r = nh_next_response(&other);
    CHECK(nh_code_of(r) == 0 && r->fastn->count == 1);
    p2pd__pb__response__free_unpacked(r, NULL);
    /* after the subscriber leaves, changes go nowhere (no crash) */
    ipc_session_cleanup(&sub);
    CHECK_ERR(store_notify_add(state, 3, "chat", "after", "", &id), 0);
    ipc_session_cleanup(&other);
    buf_cleanup(&b);
    teardown();
}

int main(void)
{
    size_t len;
    uint8_t *d = read_built("tests/plugins/probe.wasm", &len);
    if (!d) {
        printf("skipped: plugins not built (no wasm32-wasi toolchain)\n");
        return 77;
    }
    free(d);
    RUN(calls_are_answered_later_and_in_order);
    RUN(client_leaves_before_its_answer);
    RUN(changes_need_an_admin);
    RUN(restrict_over_the_control_protocol);
    RUN(restrict_one_protocol_over_the_control_protocol);
    RUN(subscribers_get_every_change);
    return test_done();
}
