/* The order of a dial's addresses and the memory of recent dials; see
 * dial_rank.h. */
#include "net/dial_rank.h"

#include <string.h>

#include "net/addr.h"
#include "net/relay.h"

#define CLASS_WORKED 0
#define CLASS_FAILED 5
#define CLASS_CIRCUIT 6

int dial_rank_class(const struct multiaddr *ma, enum dial_hint hint)
{
    if (relay_is_circuit(ma))
        return CLASS_CIRCUIT;
    if (hint == DIAL_HINT_WORKED)
        return CLASS_WORKED;
    if (hint == DIAL_HINT_FAILED)
        return CLASS_FAILED;
    switch (addr_scope_of(ma)) {
    case ADDR_SCOPE_LOOPBACK:
        return 1;
    case ADDR_SCOPE_LINK:
    case ADDR_SCOPE_PRIVATE:
        return 2;
    case ADDR_SCOPE_DNS:
    case ADDR_SCOPE_INVALID: /* /dnsaddr */
        return 4;
    default:
        return 3;
    }
}

bool dial_rank(struct multiaddr *addrs, uint8_t *hints, size_t n)
{
    bool wait = false;

    /* a stable insertion sort: n is at most a few dozen */
    for (size_t i = 1; i < n; i++) {
        struct multiaddr a = addrs[i];
        uint8_t h = hints[i];
        int c = dial_rank_class(&a, h);
        size_t j = i;
        while (j > 0 && dial_rank_class(&addrs[j - 1], hints[j - 1]) > c) {
            addrs[j] = addrs[j - 1];
            hints[j] = hints[j - 1];
            j--;
        }
        addrs[j] = a;
        hints[j] = h;
    }
    for (size_t i = 0; i < n && !wait; i++)
        wait = dial_rank_class(&addrs[i], hints[i]) < CLASS_FAILED;
    return wait;
}

static struct dial_memo_entry *memo_find(const struct dial_memo *m,
                                         const struct peer_id *peer,
                                         const struct multiaddr *addr)
{
    for (size_t i = 0; i < DIAL_MEMO_MAX; i++) {
        const struct dial_memo_entry *e = &m->e[i];
        if (e->at_us && peer_id_equal(&e->peer, peer) &&
            multiaddr_equal(&e->addr, addr))
            return (struct dial_memo_entry *)e;
    }
    return NULL;
}

void dial_memo_put(struct dial_memo *m, const struct peer_id *peer,
                   const struct multiaddr *addr, bool ok, uint64_t now)
{
    struct dial_memo_entry *e = memo_find(m, peer, addr);

    if (!e) { /* a free entry, else the oldest */
        e = &m->e[0];
        for (size_t i = 1; i < DIAL_MEMO_MAX && e->at_us; i++)
            if (m->e[i].at_us < e->at_us)
                e = &m->e[i];
        e->peer = *peer;
        e->addr = *addr;
    }
    e->at_us = now ? now : 1;
    e->ok = ok;
}

enum dial_hint dial_memo_get(const struct dial_memo *m,
                             const struct peer_id *peer,
                             const struct multiaddr *addr, uint64_t now)
{
    const struct dial_memo_entry *e = memo_find(m, peer, addr);

    if (!e || now - e->at_us >= DIAL_MEMO_US)
        return DIAL_HINT_NONE;
    return e->ok ? DIAL_HINT_WORKED : DIAL_HINT_FAILED;
}
