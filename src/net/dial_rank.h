/*
 * The order a dial tries a peer's addresses in, and what the swarm
 * remembers of recent dials to rank them by (sans-I/O: time passed in).
 *
 * Order: direct addresses that worked for this peer (the address book's
 * dialed mark, or a connection this run made there recently), then the
 * others as go-libp2p's dial ranker orders TCP addresses (loopback, LAN,
 * public, names to resolve), then direct addresses whose last attempt
 * failed recently, then circuits. Within a class the given order stays.
 * Circuits wait for the direct addresses (SWARM_DIAL_RELAY_DELAY_MS) only
 * while one of those has not failed recently: a peer whose only direct
 * addresses just failed (a stale address, a NAT that drops SYNs) is
 * dialed through its relay at once.
 *
 * The memory (struct dial_memo) keeps the last outcome of DIAL_MEMO_MAX
 * (peer, address) pairs, the oldest replaced first; an outcome counts for
 * DIAL_MEMO_US.
 */
#ifndef FASTN_NET_DIAL_RANK_H
#define FASTN_NET_DIAL_RANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/multiaddr.h"
#include "util/peer_id.h"

enum dial_hint {
    DIAL_HINT_NONE = 0,
    DIAL_HINT_WORKED, /* connected to this peer there */
    DIAL_HINT_FAILED, /* the last attempt there failed, recently */
};

/* The class of an address in the order above, lower first: 0 worked,
 * 1 loopback, 2 LAN, 3 public, 4 names, 5 failed recently, 6 circuits. */
int dial_rank_class(const struct multiaddr *ma, enum dial_hint hint);

/* Sorts addrs[0..n) into dial order, hints (one per address, DIAL_HINT_*)
 * moved with them. Returns whether the circuits among them should wait
 * for the direct ones: some direct address has not failed recently. */
bool dial_rank(struct multiaddr *addrs, uint8_t *hints, size_t n);

#define DIAL_MEMO_MAX 64
#define DIAL_MEMO_US (10 * 60 * 1000000ull)

struct dial_memo_entry {
    struct peer_id peer;
    struct multiaddr addr;
    uint64_t at_us; /* 0: unused */
    bool ok;
};

struct dial_memo {
    struct dial_memo_entry e[DIAL_MEMO_MAX];
};

/* Records the outcome of an attempt to reach peer at addr at time now
 * (monotonic microseconds, > 0). */
void dial_memo_put(struct dial_memo *m, const struct peer_id *peer,
                   const struct multiaddr *addr, bool ok, uint64_t now);

/* What the memory says of peer at addr at time now: DIAL_HINT_WORKED or
 * _FAILED for an outcome within DIAL_MEMO_US, else DIAL_HINT_NONE. */
enum dial_hint dial_memo_get(const struct dial_memo *m,
                             const struct peer_id *peer,
                             const struct multiaddr *addr, uint64_t now);

#endif
