/*
 * What swarm_reach.c (observed addresses, AutoNAT v1) and
 * swarm_reach2.c (AutoNAT v2) share: the reachability state of the swarm
 * and the helpers both clients and servers use. Only those two files
 * include it.
 */
#ifndef FASTN_NET_SWARM_REACH_INT_H
#define FASTN_NET_SWARM_REACH_INT_H

#include "net/autonat.h"
#include "net/autonat2.h"
#include "net/swarm_int.h"

#define REACH_RECENT_MAX 8 /* observed addresses kept as candidates */
#define REACH_PROBES 3     /* probes in flight at once */
#define REACH_ASKED_MAX 64 /* peers asked per round, answering or not */
#define REACH_ANSWERS 16   /* answers (votes) a round wants while unknown */
#define REACH_SERVE_MAX 16 /* dial-backs in flight at once */
#define REACH_PROBE_TIMEOUT_MS                                                 \
    ((uint32_t)(AUTONAT_DIAL_TIMEOUT_US / 1000) + 5000)

struct swarm_reach {
    struct swarm *sw;
    struct autonat_client client;
    struct autonat_server server;
    struct autonat_observed observed;
    struct addr_policy policy;
    bool serve;
    uv_timer_t timer;
    struct multiaddr recent[REACH_RECENT_MAX];
    size_t n_recent, recent_next;
    unsigned probes, serving;
    struct peer_id asked[REACH_ASKED_MAX];
    size_t n_asked, n_answered; /* this round */
    uint64_t round_start;
    uint64_t n_probes, n_served;
    struct reach_probe2 *probes2;     /* v2 probes waiting for a dial-back */
    struct reach_serve2 *serve2_wait; /* v2 dial-backs awaiting identify */
    unsigned public_by;               /* the AutoNAT version of public_addr */
    unsigned decided_by;   /* the version whose answer last changed status */
    uint64_t n_answers[2]; /* votes counted since start: v1, v2 */
};

/* The addresses a request asks a server to try, in order of priority. */
size_t swarm__reach_candidates(const struct swarm_reach *r,
                               struct multiaddr *out, size_t max);
/* Counts a server's answer (v1 or v2: version) as a vote; dialed is the
 * address it reached (one we asked about) or NULL. */
void swarm__reach_vote(struct swarm_reach *r, const struct peer_id *peer,
                       enum autonat_vote v, const struct multiaddr *dialed,
                       unsigned version);
/* A probe of this round ended: start the next ones. */
void swarm__reach_probe_done(struct swarm_reach *r);
/* The outbound connection to peer through addr (a dial-back's). */
struct swarm_conn *swarm__reach_dialed_conn(struct swarm *sw,
                                            const struct peer_id *peer,
                                            const struct multiaddr *addr);

/* swarm_reach2.c: AutoNAT v2 */
/* Asks the peer of sc (which serves the v2 dial-request protocol) about
 * our candidate addresses; false when no request went out. */
bool swarm__reach2_probe(struct swarm_reach *r, struct swarm_conn *sc);
/* sc was identified: dial-backs waiting for it send their nonce. */
void swarm__reach2_identified(struct swarm_reach *r, struct swarm_conn *sc);

#endif
