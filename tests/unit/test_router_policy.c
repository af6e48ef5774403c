/* Unit tests for src/router/policy.c, the router's one decision on who
 * gets a stream and who may register a client handler: the pure
 * functions called with tables of cases, every row a situation a user
 * could be in (client handlers, the daemon's services, plugins serving
 * anyone / known peers / nobody with known and unknown peers, the
 * user's narrowing of a plugin and of one protocol, blocked peers,
 * unknown protocols with and without a quarantine under each
 * unknown-protocol policy), and the registration rules (TCP handlers,
 * protocols the daemon serves, other users' handlers, removal, the
 * listener's uid). */
#include "router/policy.h"
#include "test.h"

#define C ROUTER_TO_CLIENT
#define P ROUTER_TO_PLUGIN
#define S ROUTER_TO_SERVICE
#define ANY ROUTER_SERVES_ANYONE
#define KNOWN ROUTER_SERVES_KNOWN
#define NOBODY ROUTER_SERVES_NOBODY
#define NONE (-1)
#define DELIVER ROUTER_DELIVER
#define KEEP ROUTER_QUARANTINE
#define REFUSE ROUTER_REFUSE
#define ASK ROUTER_UNKNOWN_ASK
#define TRUSTED ROUTER_UNKNOWN_TRUSTED
#define NEVER ROUTER_UNKNOWN_REFUSE
#define SERVED ROUTER_WHY_SERVED
#define UNKNOWN ROUTER_WHY_UNKNOWN_PROTOCOL
#define STRANGER ROUTER_WHY_STRANGER
#define BLOCKED ROUTER_WHY_BLOCKED
#define NARROWED ROUTER_WHY_SERVES_NOBODY

struct decide_case {
    const char *what;
    /* the facts */
    unsigned handlers;
    int manifest, narrowed, protocol_narrowed; /* the plugin's, with P */
    bool known, blocked, quarantine;
    enum router_unknown unknown;
    /* the verdict */
    enum router_action action;
    unsigned to;
    enum router_why why;
    bool negotiates; /* multistream-select agrees to the protocol */
};

static const struct decide_case cases[] = {
    /* client handlers and the daemon's services take any peer's stream */
    {"client handler, stranger", C, 0, NONE, NONE, false, false, false, ASK,
     DELIVER, C, SERVED, true},
    {"client handler, known peer", C, 0, NONE, NONE, true, false, false, ASK,
     DELIVER, C, SERVED, true},
    {"expose (service)", S, 0, NONE, NONE, false, false, true, ASK, DELIVER, S,
     SERVED, true},
    /* a plugin serving anyone */
    {"plugin anyone, stranger", P, ANY, NONE, NONE, false, false, false, ASK,
     DELIVER, P, SERVED, true},
    {"plugin anyone, known", P, ANY, NONE, NONE, true, false, false, ASK,
     DELIVER, P, SERVED, true},
    /* a plugin serving known peers */
    {"plugin known, known peer", P, KNOWN, NONE, NONE, true, false, false, ASK,
     DELIVER, P, SERVED, true},
    {"plugin known, stranger, no quarantine", P, KNOWN, NONE, NONE, false,
     false, false, ASK, REFUSE, 0, STRANGER, true},
    {"plugin known, stranger, quarantine (ask)", P, KNOWN, NONE, NONE, false,
     false, true, ASK, KEEP, 0, STRANGER, true},
    {"plugin known, stranger, quarantine (trusted)", P, KNOWN, NONE, NONE,
     false, false, true, TRUSTED, KEEP, 0, STRANGER, true},
    {"plugin known, stranger, quarantine but policy refuse", P, KNOWN, NONE,
     NONE, false, false, true, NEVER, REFUSE, 0, STRANGER, true},
    /* the user's narrowing of the plugin */
    {"plugin anyone narrowed to known, stranger", P, ANY, KNOWN, NONE, false,
     false, false, ASK, REFUSE, 0, STRANGER, true},
    {"plugin anyone narrowed to known, known peer", P, ANY, KNOWN, NONE, true,
     false, false, ASK, DELIVER, P, SERVED, true},
    {"plugin narrowed to nobody, known peer", P, ANY, NOBODY, NONE, true, false,
     false, ASK, REFUSE, 0, NARROWED, true},
    {"plugin narrowed to nobody, quarantine: still refused", P, KNOWN, NOBODY,
     NONE, false, false, true, ASK, REFUSE, 0, NARROWED, true},
    {"plugin known, a wider narrowing widens nothing", P, KNOWN, ANY, ANY,
     false, false, false, ASK, REFUSE, 0, STRANGER, true},
    /* the user's narrowing of one protocol */
    {"protocol narrowed to known, stranger", P, ANY, NONE, KNOWN, false, false,
     false, ASK, REFUSE, 0, STRANGER, true},
    {"protocol narrowed to known, known peer", P, ANY, NONE, KNOWN, true, false,
     false, ASK, DELIVER, P, SERVED, true},
    {"protocol narrowed to nobody", P, ANY, NONE, NOBODY, true, false, false,
     ASK, REFUSE, 0, NARROWED, true},
    {"plugin known, protocol anyone: the narrower wins", P, ANY, KNOWN, ANY,
     false, false, false, ASK, REFUSE, 0, STRANGER, true},
    {"plugin nobody, protocol known: the narrower wins", P, ANY, NOBODY, KNOWN,
     true, false, false, ASK, REFUSE, 0, NARROWED, true},
    /* a plugin sharing its protocol with an admin's client handler */
    {"client + plugin anyone", C | P, ANY, NONE, NONE, false, false, false, ASK,
     DELIVER, C | P, SERVED, true},
    {"client + plugin known, stranger: the client only", C | P, KNOWN, NONE,
     NONE, false, false, true, ASK, DELIVER, C, SERVED, true},
    {"client + plugin nobody: the client only", C | P, ANY, NOBODY, NONE, true,
     false, false, ASK, DELIVER, C, SERVED, true},
    /* unknown protocols */
    {"unknown protocol, no quarantine", 0, 0, NONE, NONE, true, false, false,
     ASK, REFUSE, 0, UNKNOWN, false},
    {"unknown protocol, quarantine (ask)", 0, 0, NONE, NONE, false, false, true,
     ASK, KEEP, 0, UNKNOWN, true},
    {"unknown protocol, quarantine (trusted)", 0, 0, NONE, NONE, false, false,
     true, TRUSTED, KEEP, 0, UNKNOWN, true},
    {"unknown protocol, quarantine but policy refuse", 0, 0, NONE, NONE, false,
     false, true, NEVER, REFUSE, 0, UNKNOWN, false},
    /* blocked peers: refused whatever serves the protocol */
    {"blocked, client handler", C, 0, NONE, NONE, true, true, false, ASK,
     REFUSE, 0, BLOCKED, false},
    {"blocked, expose", S, 0, NONE, NONE, true, true, false, ASK, REFUSE, 0,
     BLOCKED, false},
    {"blocked, plugin anyone", P, ANY, NONE, NONE, true, true, false, ASK,
     REFUSE, 0, BLOCKED, false},
    {"blocked, plugin known, stranger, quarantine: not kept", P, KNOWN, NONE,
     NONE, false, true, true, ASK, REFUSE, 0, BLOCKED, false},
    {"blocked, unknown protocol, quarantine: not kept", 0, 0, NONE, NONE, false,
     true, true, TRUSTED, REFUSE, 0, BLOCKED, false},
};

static void facts_of(const struct decide_case *c, struct router_policy_in *in,
                     const struct peer_id *peer)
{
    memset(in, 0, sizeof(*in));
    in->peer = peer;
    in->protocol = "/fastn/test/1.0.0";
    in->handlers = c->handlers;
    in->plugin.name = "test-plugin";
    in->plugin.manifest = (enum router_serves)c->manifest;
    in->plugin.narrowed = c->narrowed;
    in->plugin.protocol_narrowed = c->protocol_narrowed;
    in->known = c->known;
    in->blocked = c->blocked;
    in->quarantine = c->quarantine;
    in->unknown = c->unknown;
}

TEST(decision_table)
{
    struct peer_id peer = {.len = 3, .bytes = {1, 2, 3}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct decide_case *c = &cases[i];
        struct router_policy_in in;
        struct router_verdict v;
        int before = test_case_failures;

        facts_of(c, &in, &peer);
        memset(&v, 0xa5, sizeof(v)); /* every field is set */
        router_policy_decide(&in, &v);
        CHECK_EQ(v.action, c->action);
        CHECK_EQ(v.to, c->to);
        CHECK_EQ(v.why, c->why);
        CHECK(v.peer == &peer);
        CHECK(v.protocol == in.protocol);
        CHECK(v.plugin == ((c->handlers & P) ? in.plugin.name : NULL));
        CHECK_EQ(router_policy_negotiates(&in), c->negotiates);
        if (test_case_failures != before)
            fprintf(stderr, "  in case %zu: %s\n", i, c->what);
    }
}

/* The decision never reads `known` unless it says it needs it, so the
 * router asks the address book only then. */
TEST(known_asked_only_when_needed)
{
    struct peer_id peer = {.len = 1, .bytes = {9}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct router_policy_in in;
        struct router_verdict a, b;

        facts_of(&cases[i], &in, &peer);
        if (router_policy_needs_known(&in))
            continue;
        in.known = true;
        router_policy_decide(&in, &a);
        in.known = false;
        router_policy_decide(&in, &b);
        CHECK(a.action == b.action && a.to == b.to && a.why == b.why);
    }
    /* and it does need it for a known-peers plugin, not for a blocked
     * peer's stream */
    struct router_policy_in in = {.handlers = P,
                                  .plugin = {"x", KNOWN, NONE, NONE}};
    CHECK(router_policy_needs_known(&in));
    in.blocked = true;
    CHECK(!router_policy_needs_known(&in));
    in.blocked = false;
    in.plugin.protocol_narrowed = NOBODY;
    CHECK(!router_policy_needs_known(&in));
}

TEST(serves_now)
{
    static const struct {
        int manifest, narrowed, proto, want;
    } t[] = {
        {ANY, NONE, NONE, ANY},       {KNOWN, NONE, NONE, KNOWN},
        {ANY, KNOWN, NONE, KNOWN},    {ANY, NONE, KNOWN, KNOWN},
        {ANY, NOBODY, NONE, NOBODY},  {ANY, NONE, NOBODY, NOBODY},
        {KNOWN, ANY, NONE, KNOWN},    {KNOWN, NONE, ANY, KNOWN},
        {ANY, KNOWN, ANY, KNOWN},     {ANY, NOBODY, KNOWN, NOBODY},
        {ANY, KNOWN, NOBODY, NOBODY}, {ANY, 7, -5, ANY}, /* not values */
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct router_plugin_facts f = {"p", (enum router_serves)t[i].manifest,
                                        t[i].narrowed, t[i].proto};
        CHECK_EQ(router_serves_now(&f), t[i].want);
    }
    struct router_plugin_facts bad = {"p", (enum router_serves)9, NONE, NONE};
    CHECK_EQ(router_serves_now(&bad), NOBODY); /* not a value: nobody */
}

TEST(why_names)
{
    CHECK_STR(router_why_name(ROUTER_WHY_SERVED), "served");
    CHECK_STR(router_why_name(ROUTER_WHY_UNKNOWN_PROTOCOL), "unknown-protocol");
    CHECK_STR(router_why_name(ROUTER_WHY_STRANGER), "stranger");
    CHECK_STR(router_why_name(ROUTER_WHY_BLOCKED), "blocked");
    CHECK_STR(router_why_name(ROUTER_WHY_SERVES_NOBODY), "serves-nobody");
}

/* The registration rules the control server's privilege table asks. */
TEST(client_rules)
{
    const struct router_client user = {.uid = 1001}, other = {.uid = 1002},
                               admin = {.uid = 1003, .admin = true};
    static const struct {
        bool admin, unix_socket;
        enum router_served served;
        enum router_rule want;
    } add[] = {
        {false, true, ROUTER_SERVED_NONE, ROUTER_RULE_OK},
        {false, false, ROUTER_SERVED_NONE, ROUTER_RULE_TCP},
        {false, false, ROUTER_SERVED_DAEMON, ROUTER_RULE_TCP},
        {false, true, ROUTER_SERVED_DAEMON, ROUTER_RULE_DAEMON_SERVES},
        {false, true, ROUTER_SERVED_OTHER, ROUTER_RULE_OTHER_UID},
        {true, false, ROUTER_SERVED_NONE, ROUTER_RULE_OK},
        {true, true, ROUTER_SERVED_DAEMON, ROUTER_RULE_OK},
        {true, false, ROUTER_SERVED_OTHER, ROUTER_RULE_OK},
    };

    for (size_t i = 0; i < sizeof(add) / sizeof(add[0]); i++)
        CHECK_EQ(router_policy_may_add_client(add[i].admin ? &admin : &user,
                                              add[i].unix_socket,
                                              add[i].served),
                 add[i].want);
    CHECK_EQ(router_policy_may_remove_client(&user, 1001), ROUTER_RULE_OK);
    CHECK_EQ(router_policy_may_remove_client(&user, 1002),
             ROUTER_RULE_NOT_OWNER);
    CHECK_EQ(router_policy_may_remove_client(&other, 1001),
             ROUTER_RULE_NOT_OWNER);
    CHECK_EQ(router_policy_may_remove_client(&admin, 1001), ROUTER_RULE_OK);
    /* what the daemon serves itself drops all but admins' handlers */
    CHECK(!router_policy_client_shares(&user));
    CHECK(router_policy_client_shares(&admin));
    /* the listener's uid, checked at every connection (daemon uid 500) */
    CHECK(router_policy_listener_ok(&user, 1001, 500));
    CHECK(!router_policy_listener_ok(&user, 1002, 500));
    CHECK(!router_policy_listener_ok(&user, 0, 500));
    CHECK(!router_policy_listener_ok(&user, 500, 500));
    CHECK(router_policy_listener_ok(&admin, 1003, 500));
    CHECK(router_policy_listener_ok(&admin, 0, 500));
    CHECK(router_policy_listener_ok(&admin, 500, 500));
    CHECK(!router_policy_listener_ok(&admin, 1001, 500));
}

int main(void)
{
    RUN(decision_table);
    RUN(known_asked_only_when_needed);
    RUN(serves_now);
    RUN(why_names);
    RUN(client_rules);
    return test_done();
}
