/*
 * The router's policy (policy.h): pure decisions over the facts given.
 * router.c gathers the facts (its table, the block list, the plugin,
 * peer and quarantine ops) and acts on the verdict.
 */
#include "router/policy.h"

#include <stddef.h>

/* The narrower of w and a user's narrowing n (-1: none; wider: ignored). */
static enum router_serves narrow(enum router_serves w, int n)
{
    if (n >= (int)ROUTER_SERVES_ANYONE && n <= (int)ROUTER_SERVES_NOBODY &&
        (enum router_serves)n > w)
        return (enum router_serves)n;
    return w;
}

enum router_serves router_serves_now(const struct router_plugin_facts *f)
{
    enum router_serves w = f->manifest;

    if (w > ROUTER_SERVES_NOBODY)
        w = ROUTER_SERVES_NOBODY; /* not a value: serve nobody */
    return narrow(narrow(w, f->narrowed), f->protocol_narrowed);
}

/* Kept rather than refused, where a quarantine would take it. */
static bool keeps(const struct router_policy_in *in)
{
    return in->quarantine && in->unknown != ROUTER_UNKNOWN_REFUSE;
}

bool router_policy_needs_known(const struct router_policy_in *in)
{
    return !in->blocked && (in->handlers & ROUTER_TO_PLUGIN) &&
           router_serves_now(&in->plugin) == ROUTER_SERVES_KNOWN;
}

/* Whether the plugin takes this peer's stream; if not, *why says why. */
static bool plugin_takes(const struct router_policy_in *in,
                         enum router_why *why)
{
    switch (router_serves_now(&in->plugin)) {
    case ROUTER_SERVES_ANYONE:
        return true;
    case ROUTER_SERVES_KNOWN:
        *why = ROUTER_WHY_STRANGER;
        return in->known;
    default:
        *why = ROUTER_WHY_SERVES_NOBODY;
        return false;
    }
}

void router_policy_decide(const struct router_policy_in *in,
                          struct router_verdict *out)
{
    enum router_why why = ROUTER_WHY_UNKNOWN_PROTOCOL;
    bool plugin = in->handlers & ROUTER_TO_PLUGIN;

    out->peer = in->peer;
    out->protocol = in->protocol;
    out->plugin = plugin ? in->plugin.name : NULL;
    out->to = 0;
    if (in->blocked) {
        out->action = ROUTER_REFUSE;
        out->why = ROUTER_WHY_BLOCKED;
        return;
    }
    out->to = in->handlers & (ROUTER_TO_CLIENT | ROUTER_TO_SERVICE);
    if (plugin && plugin_takes(in, &why))
        out->to |= ROUTER_TO_PLUGIN;
    if (out->to) {
        out->action = ROUTER_DELIVER;
        out->why = ROUTER_WHY_SERVED;
        return;
    }
    /* nothing takes it: kept or refused, and why */
    out->why = why;
    out->action = keeps(in) && (why == ROUTER_WHY_UNKNOWN_PROTOCOL ||
                                why == ROUTER_WHY_STRANGER)
                      ? ROUTER_QUARANTINE
                      : ROUTER_REFUSE;
}

bool router_policy_negotiates(const struct router_policy_in *in)
{
    return !in->blocked && (in->handlers || keeps(in));
}

const char *router_why_name(enum router_why why)
{
    switch (why) {
    case ROUTER_WHY_SERVED:
        return "served";
    case ROUTER_WHY_UNKNOWN_PROTOCOL:
        return "unknown-protocol";
    case ROUTER_WHY_STRANGER:
        return "stranger";
    case ROUTER_WHY_BLOCKED:
        return "blocked";
    case ROUTER_WHY_SERVES_NOBODY:
        return "serves-nobody";
    }
    return "unknown";
}

/* --- client handlers ----------------------------------------------------- */

enum router_rule router_policy_may_add_client(const struct router_client *who,
                                              bool unix_socket,
                                              enum router_served served)
{
    if (who->admin)
        return ROUTER_RULE_OK;
    if (!unix_socket)
        return ROUTER_RULE_TCP;
    if (served == ROUTER_SERVED_DAEMON)
        return ROUTER_RULE_DAEMON_SERVES;
    if (served == ROUTER_SERVED_OTHER)
        return ROUTER_RULE_OTHER_UID;
    return ROUTER_RULE_OK;
}

enum router_rule
router_policy_may_remove_client(const struct router_client *who, uid_t owner)
{
    return who->admin || who->uid == owner ? ROUTER_RULE_OK
                                           : ROUTER_RULE_NOT_OWNER;
}

bool router_policy_client_shares(const struct router_client *c)
{
    return c->admin;
}

bool router_policy_listener_ok(const struct router_client *who, uid_t listener,
                               uid_t daemon_uid)
{
    return listener == who->uid ||
           (who->admin && (listener == 0 || listener == daemon_uid));
}
