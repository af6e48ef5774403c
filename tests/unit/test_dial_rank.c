/* Unit tests for src/net/dial_rank.c: the order a dial tries a peer's
 * addresses in, and the memory of recent dials it is ranked by. */
#include "net/dial_rank.h"

#include <string.h>

#include "test.h"

static struct multiaddr ma(const char *s)
{
    struct multiaddr m;
    CHECK_ERR(multiaddr_parse(s, &m), 0);
    return m;
}

static struct peer_id pid(uint8_t n)
{
    struct peer_id p;
    memset(&p, 0, sizeof(p));
    p.len = 34;
    p.bytes[0] = 0x12;
    p.bytes[1] = 0x20;
    p.bytes[2] = n;
    return p;
}

#define RELAY_CIRCUIT                                                          \
    "/ip4/7.7.7.7/tcp/4001/p2p/"                                               \
    "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit"

/* Ranks texts[0..n) with hints; checks the order is want (indexes into
 * texts) and returns whether circuits wait. */
static bool rank(const char *const *texts, const uint8_t *hints, size_t n,
                 const size_t *want)
{
    struct multiaddr a[16], orig[16];
    uint8_t h[16];
    bool wait;

    for (size_t i = 0; i < n; i++) {
        a[i] = orig[i] = ma(texts[i]);
        h[i] = hints[i];
    }
    wait = dial_rank(a, h, n);
    for (size_t i = 0; i < n; i++) {
        CHECK(multiaddr_equal(&a[i], &orig[want[i]]));
        CHECK_EQ(h[i], hints[want[i]]);
    }
    return wait;
}

TEST(scope_order_without_hints)
{
    const char *t[] = {RELAY_CIRCUIT,
                       "/dns4/example.com/tcp/4001",
                       "/ip4/8.8.4.4/tcp/4001",
                       "/ip4/192.168.1.5/tcp/4001",
                       "/ip4/127.0.0.1/tcp/4001",
                       "/ip4/8.8.8.8/tcp/4001"};
    const uint8_t h[6] = {0};
    const size_t want[] = {4, 3, 2, 5, 1, 0};
    CHECK(rank(t, h, 6, want));
}

TEST(an_address_that_worked_goes_first)
{
    /* a public address that connected beats loopback and LAN ones */
    const char *t[] = {"/ip4/127.0.0.1/tcp/4001", "/ip4/10.0.0.2/tcp/4001",
                       "/ip4/8.8.8.8/tcp/4001", RELAY_CIRCUIT};
    const uint8_t h[] = {DIAL_HINT_NONE, DIAL_HINT_NONE, DIAL_HINT_WORKED,
                         DIAL_HINT_NONE};
    const size_t want[] = {2, 0, 1, 3};
    CHECK(rank(t, h, 4, want));
}

TEST(failed_ones_go_last_and_circuits_need_not_wait)
{
    const char *t[] = {"/ip4/10.0.0.2/tcp/4001", "/ip4/8.8.8.8/tcp/4001",
                       RELAY_CIRCUIT};
    /* every direct address failed just before: the circuit at once */
    const uint8_t all_failed[] = {DIAL_HINT_FAILED, DIAL_HINT_FAILED,
                                  DIAL_HINT_NONE};
    const size_t same[] = {0, 1, 2};
    CHECK(!rank(t, all_failed, 3, same));
    /* one failed, one not: that one first, and the circuit waits */
    const uint8_t one_failed[] = {DIAL_HINT_FAILED, DIAL_HINT_NONE,
                                  DIAL_HINT_NONE};
    const size_t want[] = {1, 0, 2};
    CHECK(rank(t, one_failed, 3, want));
    /* circuits only: nothing to wait for */
    const char *c[] = {RELAY_CIRCUIT};
    const uint8_t none[] = {DIAL_HINT_NONE};
    const size_t first[] = {0};
    CHECK(!rank(c, none, 1, first));
    CHECK(!dial_rank(NULL, NULL, 0));
}

TEST(memory_of_recent_dials)
{
    struct dial_memo *m = calloc(1, sizeof(*m));
    struct peer_id p = pid(1), q = pid(2);
    struct multiaddr a = ma("/ip4/8.8.8.8/tcp/4001");
    struct multiaddr b = ma("/ip4/8.8.4.4/tcp/4001");
    const uint64_t t0 = 1000;

    CHECK(m != NULL);
    CHECK_EQ(dial_memo_get(m, &p, &a, t0), DIAL_HINT_NONE);
    dial_memo_put(m, &p, &a, true, t0);
    CHECK_EQ(dial_memo_get(m, &p, &a, t0 + 1), DIAL_HINT_WORKED);
    CHECK_EQ(dial_memo_get(m, &q, &a, t0 + 1), DIAL_HINT_NONE);
    CHECK_EQ(dial_memo_get(m, &p, &b, t0 + 1), DIAL_HINT_NONE);
    /* the last outcome counts */
    dial_memo_put(m, &p, &a, false, t0 + 2);
    CHECK_EQ(dial_memo_get(m, &p, &a, t0 + 3), DIAL_HINT_FAILED);
    /* ... for DIAL_MEMO_US */
    CHECK_EQ(dial_memo_get(m, &p, &a, t0 + 2 + DIAL_MEMO_US - 1),
             DIAL_HINT_FAILED);
    CHECK_EQ(dial_memo_get(m, &p, &a, t0 + 2 + DIAL_MEMO_US), DIAL_HINT_NONE);
    /* full: the oldest goes, the others stay */
    for (unsigned i = 0; i < DIAL_MEMO_MAX; i++) {
        struct peer_id r = pid((uint8_t)(10 + i));
        dial_memo_put(m, &r, &b, true, t0 + 10 + i);
    }
    CHECK_EQ(dial_memo_get(m, &p, &a, t0 + 1000), DIAL_HINT_NONE);
    struct peer_id r0 = pid(10), rl = pid((uint8_t)(10 + DIAL_MEMO_MAX - 1));
    CHECK_EQ(dial_memo_get(m, &r0, &b, t0 + 1000), DIAL_HINT_WORKED);
    CHECK_EQ(dial_memo_get(m, &rl, &b, t0 + 1000), DIAL_HINT_WORKED);
    free(m);
}

int main(void)
{
    RUN(scope_order_without_hints);
    RUN(an_address_that_worked_goes_first);
    RUN(failed_ones_go_last_and_circuits_need_not_wait);
    RUN(memory_of_recent_dials);
    return test_done();
}
