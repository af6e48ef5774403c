/*
 * AutoNAT's client side: servers' answers as votes for a reachability
 * status, and observed addresses confirmed by several networks; see
 * autonat.h.
 *
 * Deciding (status unknown): each distinct peer has one vote (its
 * latest); once cfg.threshold peers agree, the status is theirs with
 * confidence 0. Decided: an agreeing vote raises the confidence (up to
 * cfg.max_confidence), a contrary one lowers it, and a contrary vote at
 * confidence 0 starts deciding again with that vote counted. So a
 * decided status flips only after max_confidence + 1 contrary votes in a
 * row (go-libp2p's ambient AutoNAT behaves alike) and, from unknown, a
 * single liar cannot decide anything.
 */
#include "net/autonat.h"

#include <string.h>

void autonat_client_config_default(struct autonat_client_config *cfg)
{
    cfg->threshold = 3;
    cfg->max_confidence = 3;
    cfg->retry_us = 60 * 1000000ull;
    cfg->refresh_us = 15 * 60 * 1000000ull;
}

void autonat_client_init(struct autonat_client *c,
                         const struct autonat_client_config *cfg, uint64_t now)
{
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    if (c->cfg.threshold == 0)
        c->cfg.threshold = 1;
    if (c->cfg.threshold > AUTONAT_VOTERS_MAX)
        c->cfg.threshold = AUTONAT_VOTERS_MAX;
    c->next_probe = now;
}

void autonat_client_reset(struct autonat_client *c, uint64_t now)
{
    c->status = AUTONAT_UNKNOWN;
    c->confidence = 0;
    c->n_voters = 0;
    c->has_public_addr = false;
    c->next_probe = now;
}

enum autonat_vote autonat_vote_of(const struct autonat_response *r)
{
    if (!r)
        return AUTONAT_VOTE_NONE;
    if (r->status == AUTONAT_OK)
        return AUTONAT_VOTE_REACHABLE;
    if (r->status == AUTONAT_E_DIAL_ERROR)
        return AUTONAT_VOTE_UNREACHABLE;
    return AUTONAT_VOTE_NONE;
}

/* Records a vote while deciding; returns the agreeing count. */
static unsigned record(struct autonat_client *c, const struct peer_id *server,
                       bool reachable)
{
    unsigned agree = 0;
    size_t i;

    for (i = 0; i < c->n_voters; i++)
        if (peer_id_equal(&c->voters[i], server))
            break;
    if (i == c->n_voters) {
        if (c->n_voters == AUTONAT_VOTERS_MAX) { /* drop the oldest */
            memmove(c->voters, c->voters + 1,
                    sizeof(c->voters[0]) * (AUTONAT_VOTERS_MAX - 1));
            memmove(c->votes, c->votes + 1,
                    sizeof(c->votes[0]) * (AUTONAT_VOTERS_MAX - 1));
            i = --c->n_voters;
        }
        c->voters[c->n_voters++] = *server;
    }
    c->votes[i] = reachable;
    for (i = 0; i < c->n_voters; i++)
        agree += c->votes[i] == reachable;
    return agree;
}

static bool decide(struct autonat_client *c, const struct peer_id *server,
                   bool reachable)
{
    if (record(c, server, reachable) < c->cfg.threshold)
        return false;
    c->status = reachable ? AUTONAT_PUBLIC : AUTONAT_PRIVATE;
    c->confidence = 0;
    c->n_voters = 0;
    return true;
}

bool autonat_client_vote(struct autonat_client *c, const struct peer_id *server,
                         enum autonat_vote v, const struct multiaddr *dialed,
                         uint64_t now)
{
    bool reachable = v == AUTONAT_VOTE_REACHABLE, changed = false;

    if (v == AUTONAT_VOTE_NONE)
        return false;
    if (reachable && dialed) {
        c->public_addr = *dialed;
        c->has_public_addr = true;
    }
    if (c->status == AUTONAT_UNKNOWN) {
        changed = decide(c, server, reachable);
    } else if ((c->status == AUTONAT_PUBLIC) == reachable) {
        if (c->confidence < c->cfg.max_confidence)
            c->confidence++;
    } else if (c->confidence > 0) {
        c->confidence--;
    } else {
        c->status = AUTONAT_UNKNOWN;
        c->n_voters = 0;
        decide(c, server, reachable);
        changed = true;
    }
    if (c->status != AUTONAT_PUBLIC)
        c->has_public_addr = false;
    c->next_probe = now + (c->status == AUTONAT_UNKNOWN ? c->cfg.retry_us
                                                        : c->cfg.refresh_us);
    return changed;
}

uint64_t autonat_client_next_probe(const struct autonat_client *c)
{
    return c->next_probe;
}

const char *autonat_reachability_name(enum autonat_reachability r)
{
    switch (r) {
    case AUTONAT_PUBLIC:
        return "public";
    case AUTONAT_PRIVATE:
        return "private";
    default:
        return "unknown";
    }
}

/* --- observed addresses -------------------------------------------------- */

void autonat_observed_init(struct autonat_observed *o,
                           const struct addr_policy *policy)
{
    memset(o, 0, sizeof(*o));
    o->policy = *policy;
}

/* The reporter's network: an IPv4 /16 or an IPv6 /56, so that many
 * peers in one network (or one host with many PeerIDs) count once. */
static void group_of(const uint8_t *ip, size_t len, uint8_t g[8])
{
    memset(g, 0, 8);
    if (len == 4) {
        g[0] = 4;
        memcpy(g + 1, ip, 2);
    } else if (len == 16) {
        g[0] = 6;
        memcpy(g + 1, ip, 7);
    }
}

static size_t live_reports(const struct autonat_observed_entry *e, uint64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += now - e->from[i].seen < AUTONAT_OBSERVED_TTL_US;
    return n;
}

static struct autonat_observed_entry *
entry_for(struct autonat_observed *o, const struct multiaddr *ma, uint64_t now)
{
    size_t i, victim = 0, fewest = SIZE_MAX;

    for (i = 0; i < o->n; i++)
        if (multiaddr_equal(&o->e[i].addr, ma))
            return &o->e[i];
    if (o->n < AUTONAT_OBSERVED_MAX) {
        i = o->n++;
    } else { /* replace the entry with the fewest live reports */
        for (i = 0; i < o->n; i++) {
            size_t live = live_reports(&o->e[i], now);
            if (live < fewest)
                fewest = live, victim = i;
        }
        i = victim;
    }
    memset(&o->e[i], 0, sizeof(o->e[i]));
    o->e[i].addr = *ma;
    return &o->e[i];
}

bool autonat_observed_add(struct autonat_observed *o,
                          const uint8_t *reporter_ip, size_t ip_len,
                          const uint8_t *obs, size_t obs_len, uint64_t now)
{
    struct autonat_observed_entry *e;
    struct multiaddr ma;
    uint8_t g[8];
    size_t i, before;

    if ((ip_len != 4 && ip_len != 16) ||
        addr_check(&o->policy, obs, obs_len, NULL, &ma) != 0)
        return false;
    e = entry_for(o, &ma, now);
    before = live_reports(e, now);
    group_of(reporter_ip, ip_len, g);
    for (i = 0; i < e->n; i++)
        if (memcmp(e->from[i].group, g, sizeof(g)) == 0)
            break;
    if (i == e->n) {
        if (e->n == AUTONAT_OBSERVED_REPORTERS) { /* reuse the oldest */
            size_t old = 0;
            for (size_t k = 1; k < e->n; k++)
                if (e->from[k].seen < e->from[old].seen)
                    old = k;
            i = old;
        } else {
            i = e->n++;
        }
        memcpy(e->from[i].group, g, sizeof(g));
    }
    e->from[i].seen = now;
    return before < AUTONAT_OBSERVED_CONFIRM &&
           live_reports(e, now) >= AUTONAT_OBSERVED_CONFIRM;
}

size_t autonat_observed_confirmed(const struct autonat_observed *o,
                                  uint64_t now, struct multiaddr *out,
                                  size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n && k < max; i++)
        if (live_reports(&o->e[i], now) >= AUTONAT_OBSERVED_CONFIRM)
            out[k++] = o->e[i].addr;
    return k;
}
