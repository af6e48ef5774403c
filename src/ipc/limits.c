/*
 * What control clients may hold (struct ipc_limits in ipc.h): connection
 * slots, pending requests and reply bytes per uid, handlers per process
 * and per uid. Each uid with a session or pending work has one
 * struct ipc_uid_use in host->uids, shared by its sessions and freed
 * with the last of them.
 *
 * The owner (the daemon's uid and root) is held only to the connection
 * limit, whose last owner_slots slots are its own, and to the
 * per-process handler limit: the per-uid limits are there so that an
 * allowed user cannot take what the owner needs. Every refusal says
 * which limit and how to change it, and is logged (rate-limited: a
 * client can trigger it at will). A limit of 0 is no limit (a host set
 * up without ipc_limits_default(), as the unit tests' are).
 */
#include <stdio.h>
#include <stdlib.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "router/router.h"
#include "util/log.h"

void ipc_limits_default(struct ipc_limits *l, unsigned max_clients)
{
    if (max_clients == 0)
        max_clients = 1;
    l->max_clients = max_clients;
    l->owner_slots = max_clients / 16 > 4 ? max_clients / 16 : 4;
    if (l->owner_slots > max_clients / 2)
        l->owner_slots = max_clients / 2;
    l->max_clients_per_uid = max_clients / 4 ? max_clients / 4 : 1;
    l->max_handlers_per_client = 256;
    l->max_handlers_per_uid = 1024;
    l->max_pending_per_uid = 1024;
    l->call_budget_per_uid = IPC_CALL_BUDGET;
    l->request_timeout_ms = 5000;
}

bool ipc_policy_is_owner(const struct ipc_policy *policy, uid_t uid)
{
    return uid == 0 || uid == policy->daemon_uid;
}

static bool is_owner(const struct ipc_session *s)
{
    return ipc_policy_is_owner(&s->host->policy, s->peer.uid);
}

static struct ipc_uid_use *use_get(struct ipc_host *h, uid_t uid)
{
    struct ipc_uid_use *u;

    for (u = h->uids; u; u = u->next)
        if (u->uid == uid)
            return u;
    u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->uid = uid;
    u->next = h->uids;
    h->uids = u;
    return u;
}

/* Frees u once nothing counts on it. */
static void use_put(struct ipc_host *h, struct ipc_uid_use *u)
{
    struct ipc_uid_use **pp;

    if (u->clients || u->procs || u->pending || u->reserved)
        return;
    for (pp = &h->uids; *pp; pp = &(*pp)->next) {
        if (*pp == u) {
            *pp = u->next;
            free(u);
            return;
        }
    }
}

/* Which connection limit a new session would break, or NULL. */
static const char *slot_refusal(const struct ipc_session *s,
                                const struct ipc_uid_use *u, char *msg,
                                size_t n)
{
    const struct ipc_limits *l = &s->host->limits;
    unsigned clients = s->host->clients;

    if (!l->max_clients)
        return NULL;
    if (!is_owner(s)) /* other users' watched processes hold slots too */
        clients += s->host->procs_others;
    if (clients > l->max_clients)
        snprintf(msg, n,
                 "fastnd has %u control connections, the most it takes "
                 "(max-clients); try again later",
                 l->max_clients);
    else if (is_owner(s))
        return NULL;
    else if (clients + l->owner_slots > l->max_clients)
        snprintf(msg, n,
                 "fastnd has %u control connections: the last %u of its "
                 "max-clients (%u) are kept for the daemon's own user and "
                 "root; try again later",
                 clients - 1, l->owner_slots, l->max_clients);
    else if (u && l->max_clients_per_uid &&
             u->clients + u->procs >= l->max_clients_per_uid)
        snprintf(msg, n,
                 "uid %u has %u control connections open (and %u "
                 "processes with handlers), the most one user may "
                 "(max-clients-per-uid); close some",
                 (unsigned)s->peer.uid, u->clients, u->procs);
    else
        return NULL;
    return msg;
}

int ipc_limits_admit(struct ipc_session *s, char *msg, size_t n)
{
    struct ipc_uid_use *u = NULL;

    for (u = s->host->uids; u && u->uid != s->peer.uid; u = u->next)
        ;
    if (slot_refusal(s, u, msg, n))
        return FASTN_ERR_BUSY; /* logged with the refusal (session.c) */
    if (!(u = use_get(s->host, s->peer.uid))) {
        snprintf(msg, n, "fastnd is out of memory");
        return FASTN_ERR_NOMEM;
    }
    u->clients++;
    s->use = u;
    return 0;
}

void ipc_limits_leave(struct ipc_session *s)
{
    struct ipc_uid_use *u = s->use;

    if (!u)
        return;
    s->use = NULL;
    u->clients--;
    use_put(s->host, u);
}

int ipc_limits_pending_take(struct ipc_call *call)
{
    struct ipc_session *s = call->session;
    const struct ipc_limits *l = &s->host->limits;

    if (!s->use) /* not counted (a session opened without limits) */
        return 0;
    if (!is_owner(s) && l->max_pending_per_uid &&
        s->use->pending >= l->max_pending_per_uid) {
        ipc_reply_set_msg(&call->reply,
                          "uid %u has %u requests waiting for an answer, "
                          "the most one user may (max-pending-per-uid); "
                          "try again once some are answered",
                          (unsigned)s->peer.uid, s->use->pending);
        LOG_RATELIMITED(LOG_WARN, "ipc",
                        "client pid %d uid %u: %s refused: "
                        "max-pending-per-uid (%u) reached",
                        (int)s->peer.pid, (unsigned)s->peer.uid,
                        ipc_request_type_name(call->type),
                        l->max_pending_per_uid);
        return FASTN_ERR_BUSY;
    }
    s->use->pending++;
    return 0;
}

void ipc_limits_pending_done(struct ipc_session *s)
{
    if (s->use && s->use->pending)
        s->use->pending--;
}

int ipc_limits_reserve(struct ipc_call *call, size_t n)
{
    struct ipc_session *s = call->session;
    size_t budget = s->host->limits.call_budget_per_uid;
    bool uid_full =
        s->use && !is_owner(s) && budget && s->use->reserved + n > budget;

    if (s->reserved + n > IPC_CALL_BUDGET || uid_full) {
        ipc_reply_set_msg(&call->reply,
                          "too many calls wait for their replies on %s "
                          "(%zu MiB of max_reply reserved); try again",
                          uid_full ? "this user's connections"
                                   : "this connection",
                          (uid_full ? s->use->reserved : s->reserved) >> 20);
        LOG_RATELIMITED(LOG_INFO, "ipc",
                        "client pid %d uid %u: a call refused: its %s "
                        "reply budget is taken",
                        (int)s->peer.pid, (unsigned)s->peer.uid,
                        uid_full ? "uid's" : "connection's");
        return FASTN_ERR_BUSY;
    }
    s->reserved += n;
    if (s->use)
        s->use->reserved += n;
    return 0;
}

void ipc_limits_unreserve(struct ipc_session *s, size_t n)
{
    s->reserved -= n;
    if (s->use)
        s->use->reserved -= n < s->use->reserved ? n : s->use->reserved;
}

int ipc_limits_proc_check(struct ipc_call *call)
{
    struct ipc_session *s = call->session;
    const struct ipc_limits *l = &s->host->limits;
    const struct ipc_uid_use *u = s->use;
    unsigned held;

    if (is_owner(s) || !u || !l->max_clients)
        return 0;
    held = s->host->clients + s->host->procs_others;
    if ((l->max_clients_per_uid &&
         u->clients + u->procs >= l->max_clients_per_uid) ||
        held + l->owner_slots >= l->max_clients) {
        ipc_reply_set_msg(&call->reply,
                          "uid %u has %u processes with handlers and %u "
                          "control connections: a new process's handlers "
                          "would pass max-clients-per-uid or the slots not "
                          "kept for the owner; register from a process "
                          "that has handlers, or end some",
                          (unsigned)s->peer.uid, u->procs, u->clients);
        LOG_RATELIMITED(LOG_WARN, "ipc",
                        "client pid %d uid %u: STREAM_HANDLER refused: its "
                        "processes and connections reached the limits",
                        (int)s->peer.pid, (unsigned)s->peer.uid);
        return FASTN_ERR_BUSY;
    }
    return 0;
}

int ipc_limits_proc_count(struct ipc_host *h, uid_t uid, int delta)
{
    struct ipc_uid_use *u = use_get(h, uid);

    if (!u)
        return FASTN_ERR_NOMEM;
    if (delta > 0) {
        u->procs++;
        h->procs_others += !ipc_policy_is_owner(&h->policy, uid);
    } else if (u->procs) {
        u->procs--;
        h->procs_others -= !ipc_policy_is_owner(&h->policy, uid);
    }
    use_put(h, u);
    return 0;
}

int ipc_limits_handlers(struct ipc_call *call, uint64_t tag, size_t n)
{
    struct ipc_session *s = call->session;
    const struct ipc_limits *l = &s->host->limits;
    size_t by_uid, by_tag;
    const char *which = NULL, *of = "uid";
    unsigned max = 0, id = (unsigned)s->peer.uid;

    router_client_count(s->host->router, s->peer.uid, tag, &by_uid, &by_tag);
    if (tag && l->max_handlers_per_client &&
        by_tag + n > l->max_handlers_per_client) {
        which = "max-handlers-per-client";
        max = l->max_handlers_per_client;
        of = "pid";
        id = (unsigned)s->peer.pid;
    } else if (!is_owner(s) && l->max_handlers_per_uid &&
               by_uid + n > l->max_handlers_per_uid) {
        which = "max-handlers-per-uid";
        max = l->max_handlers_per_uid;
    }
    if (!which)
        return 0;
    ipc_reply_set_msg(&call->reply,
                      "%zu more handlers would pass %s (%u) for %s %u; "
                      "remove some (REMOVE_STREAM_HANDLER) first",
                      n, which, max, of, id);
    LOG_RATELIMITED(LOG_WARN, "ipc",
                    "client pid %d uid %u: STREAM_HANDLER refused: %s (%u) "
                    "reached",
                    (int)s->peer.pid, (unsigned)s->peer.uid, which, max);
    return FASTN_ERR_BUSY;
}
