/*
 * The router's policy: the one place that decides who gets a stream a
 * peer opened (a client handler, a plugin, the daemon's own service, the
 * quarantine, or nobody), and who may register a client handler. Pure
 * functions of the facts passed in: no I/O, no clock, no state, so the
 * unit tests call them with a table of cases (tests/unit/
 * test_router_policy.c) and router.c gathers the facts and acts on the
 * verdict.
 *
 * Incoming streams, in order:
 *  1. a blocked peer is refused, whatever serves the protocol (at
 *     multistream-select already: "na", as for a protocol not served);
 *  2. client handlers and the daemon's own services (an expose, which
 *     applies its own allow list) take any other peer's stream;
 *  3. a plugin takes it when it serves that peer now: anyone, or known
 *     peers and the peer is known (this daemon dialed it), after the
 *     user's narrowing of the plugin and of that protocol
 *     (router_serves_now: the narrowest wins, never wider than the
 *     manifest);
 *  4. a stream nobody above takes is kept in the quarantine when one is
 *     installed and the unknown-protocol policy is not "refuse": for a
 *     protocol nothing serves (ROUTER_WHY_UNKNOWN_PROTOCOL) or from a
 *     stranger to a known-peers plugin (ROUTER_WHY_STRANGER); anything
 *     else is refused (a plugin narrowed to nobody, ROUTER_WHY_SERVES_
 *     NOBODY, is the user's explicit no). Without a quarantine a protocol
 *     nothing serves is answered "na" and a stranger's stream is reset,
 *     as fastnd always did.
 */
#ifndef FASTN_ROUTER_POLICY_H
#define FASTN_ROUTER_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/peer_id.h"

/* --- incoming streams --------------------------------------------------- */

/* Whom a plugin serves, widest first. */
enum router_serves {
    ROUTER_SERVES_ANYONE = 0,
    ROUTER_SERVES_KNOWN = 1,  /* peers this daemon dialed */
    ROUTER_SERVES_NOBODY = 2, /* never in a manifest: the user's narrowing */
};

/* What the plugin serving a protocol is, as struct router_plugin_ops'
 * lookup reports it. */
struct router_plugin_facts {
    const char *name;            /* the plugin's (borrowed) */
    enum router_serves manifest; /* what its manifest asks */
    int narrowed;                /* the user's narrowing of the plugin: an enum
                                    router_serves, or -1 for none */
    int protocol_narrowed;       /* ... of this one protocol, or -1 */
};

/* Whom the plugin serves on that protocol now: the narrowest of its
 * manifest's value and the user's two narrowings (one wider than the
 * manifest widens nothing). */
enum router_serves router_serves_now(const struct router_plugin_facts *f);

/* What to do with a stream for a protocol nothing serves, or from a
 * stranger (config unknown-protocols). The router only asks whether it
 * may keep them; what the quarantine then does (ask the user, install a
 * trusted plugin at once) is the quarantine's business. */
enum router_unknown {
    ROUTER_UNKNOWN_REFUSE = 0, /* never kept: "na", or reset */
    ROUTER_UNKNOWN_ASK,        /* kept, the user is asked (the default) */
    ROUTER_UNKNOWN_TRUSTED,    /* kept, a trusted plugin installed */
};

/* The kinds of handler a protocol may have (bits). */
#define ROUTER_TO_CLIENT 0x1u  /* client handlers (STREAM_HANDLER) */
#define ROUTER_TO_PLUGIN 0x2u  /* the plugin serving it */
#define ROUTER_TO_SERVICE 0x4u /* the daemon's own (an expose) */

/* The facts about one incoming stream. */
struct router_policy_in {
    const struct peer_id *peer;
    const char *protocol;
    unsigned handlers; /* ROUTER_TO_* bits: what serves the protocol */
    struct router_plugin_facts plugin; /* when handlers has PLUGIN */
    bool blocked;                      /* the peer is on the block list */
    bool known; /* the peer is known; read only when the plugin serves
                   known peers (router_policy_needs_known) */
    enum router_unknown unknown;
    bool quarantine; /* a quarantine is installed */
};

enum router_action {
    ROUTER_DELIVER = 0, /* to a handler of a kind in verdict.to */
    ROUTER_QUARANTINE,  /* to the quarantine (struct router_quarantine_ops) */
    ROUTER_REFUSE,      /* "na" at negotiation, or reset */
};

/* Why a stream goes where it goes. */
enum router_why {
    ROUTER_WHY_SERVED = 0,       /* delivered */
    ROUTER_WHY_UNKNOWN_PROTOCOL, /* nothing here serves its protocol */
    ROUTER_WHY_STRANGER,         /* its plugin serves known peers only,
                                    and this peer is not one */
    ROUTER_WHY_BLOCKED,          /* the user blocked the peer */
    ROUTER_WHY_SERVES_NOBODY,    /* the user narrowed the plugin, or that
                                    protocol, to nobody */
};

/* The decision on one stream. Its pointers are borrowed from the input
 * (valid while the stream is being routed: a quarantine copies what it
 * keeps). */
struct router_verdict {
    enum router_action action;
    unsigned to; /* DELIVER: ROUTER_TO_* kinds that may take it, tried in
                    the protocol's rotation; 0 otherwise */
    enum router_why why;
    const struct peer_id *peer;
    const char *protocol;
    const char *plugin; /* the plugin serving the protocol (the one a
                           stranger asked for), or NULL */
};

/* Decides where a stream goes (see the top of this file). */
void router_policy_decide(const struct router_policy_in *in,
                          struct router_verdict *out);
/* Whether multistream-select should agree to the protocol: not for a
 * blocked peer, nor for a protocol nothing serves that would not be kept.
 * A stream refused only later (a stranger's without a quarantine, a
 * plugin narrowed to nobody) is agreed and then reset, as it always was.
 * Does not read in->known. */
bool router_policy_negotiates(const struct router_policy_in *in);
/* Whether the decision reads in->known (a plugin that serves known peers
 * now, for a peer not blocked), so the caller looks it up only then. */
bool router_policy_needs_known(const struct router_policy_in *in);
/* "served", "unknown-protocol", "stranger", "blocked", "serves-nobody". */
const char *router_why_name(enum router_why why);

/* --- client handlers ---------------------------------------------------- */

/* Who registered a client handler. */
struct router_client {
    uid_t uid;    /* the registering client's uid (SO_PEERCRED) */
    bool admin;   /* the client was an admin when it registered */
    uint64_t tag; /* the registering process, for router_drop_clients();
                     0: not watched */
};

/* What serves a protocol apart from one uid's own client handlers. */
enum router_served {
    ROUTER_SERVED_NONE = 0, /* nothing, or only that uid's client handlers */
    ROUTER_SERVED_DAEMON,   /* a plugin or an expose */
    ROUTER_SERVED_OTHER,    /* a client handler of another uid */
};

/* The registration rules. The daemon connects to a handler's address for
 * every remote peer, with its own rights, so a client that is not an
 * admin may register only a Unix socket (its own: the caller checks the
 * path, and router_policy_listener_ok each connection), may not join a
 * protocol the daemon serves itself or another uid's handler, and may
 * remove only its own handlers. Admins may do all of it. */
enum router_rule {
    ROUTER_RULE_OK = 0,
    ROUTER_RULE_TCP,           /* a non-admin's handler at a TCP address */
    ROUTER_RULE_DAEMON_SERVES, /* joining a protocol the daemon serves */
    ROUTER_RULE_OTHER_UID,     /* joining another uid's handler */
    ROUTER_RULE_NOT_OWNER,     /* removing another uid's handler */
};

/* Whether who may add a client handler at a Unix socket (unix_socket) or
 * a TCP address, for a protocol that served serves (ROUTER_SERVED_NONE
 * to ask about the address alone). */
enum router_rule router_policy_may_add_client(const struct router_client *who,
                                              bool unix_socket,
                                              enum router_served served);
/* Whether who may remove the client handler that owner registered. */
enum router_rule
router_policy_may_remove_client(const struct router_client *who, uid_t owner);
/* Whether c's handler may go on sharing a protocol once the daemon serves
 * it itself (a plugin or an expose added for it): an admin's only. */
bool router_policy_client_shares(const struct router_client *c);
/* Whether a handler's Unix socket, listened on by uid listener
 * (SO_PEERCRED), is who's to be given streams: who's own uid, or, for an
 * admin's handler, root's or the daemon's (daemon_uid). */
bool router_policy_listener_ok(const struct router_client *who, uid_t listener,
                               uid_t daemon_uid);

#endif
