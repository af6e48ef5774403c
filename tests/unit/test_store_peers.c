/* Unit tests for src/store/peers.c: the address book survives closing and
 * reopening the database, keeps the best STORE_PEER_ADDRS_MAX addresses
 * per peer, prefers dialed ones, and refuses bad input. */
#include <stdlib.h>

#include "store/store.h"
#include "test.h"

static char path[256];

static struct store *open_db(void)
{
    struct store *s = NULL;
    CHECK_ERR(store_open(path, NULL, &s), 0);
    CHECK_ERR(store_peers_open(s), 0);
    return s;
}

static void make_path(void)
{
    char dir[] = "/tmp/fastn-peers-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/state.sqlite", dir);
}

/* Removes the database and its folder. */
static void remove_db(void)
{
    char f[300];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof(f), "%s%s", path, suffix[i]);
        unlink(f);
    }
    *strrchr(path, '/') = '\0';
    rmdir(path);
}

static const uint8_t peer_a[] = {0x00, 0x24, 1, 2, 3};
static const uint8_t peer_b[] = {0x00, 0x24, 9, 9, 9};

TEST(put_get_reopen)
{
    struct store_blob pa = {peer_a, sizeof(peer_a)};
    uint8_t a1[] = {4, 127, 0, 0, 1, 6, 0x0f, 0xa4};
    uint8_t a2[] = {4, 10, 0, 0, 1, 6, 0x0f, 0xa4};
    struct store_blob addrs[] = {{a1, sizeof(a1)}, {a2, sizeof(a2)}};
    struct store_peer_addr *v = NULL;
    size_t n = 0;

    make_path();
    struct store *s = open_db();
    CHECK_ERR(store_peer_addrs_put(s, &pa, &addrs[1], 1, false, 100), 0);
    CHECK_ERR(store_peer_addrs_put(s, &pa, &addrs[0], 1, true, 50), 0);
    store_close(s);
    s = open_db(); /* the table exists already: opening again is fine */
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK_EQ(n, 2);
    if (n == 2) {
        /* the dialed one first, though older */
        CHECK_EQ(v[0].len, sizeof(a1));
        CHECK_MEM(v[0].addr, a1, sizeof(a1));
        CHECK(v[0].dialed);
        CHECK(!v[1].dialed);
    }
    store_peer_addrs_free(v, n);
    /* another peer has none */
    struct store_blob pb = {peer_b, sizeof(peer_b)};
    v = NULL;
    CHECK_ERR(store_peer_addrs_get(s, &pb, &v, &n), 0);
    CHECK_EQ(n, 0);
    CHECK(v == NULL);
    CHECK_EQ(store_peer_forget(s, &pa), 2);
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK_EQ(n, 0);
    store_close(s);
    remove_db();
}

TEST(bounded_per_peer)
{
    struct store_blob pa = {peer_a, sizeof(peer_a)};
    struct store_peer_addr *v = NULL;
    uint8_t a[40][8];
    size_t n = 0;

    make_path();
    struct store *s = open_db();
    for (int i = 0; i < 40; i++) {
        uint8_t t[] = {4, 10, 0, 0, (uint8_t)i, 6, 0x0f, 0xa4};
        memcpy(a[i], t, sizeof(t));
        struct store_blob b = {a[i], sizeof(t)};
        CHECK_ERR(store_peer_addrs_put(s, &pa, &b, 1, i == 3, 1000 + i), 0);
    }
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK_EQ(n, STORE_PEER_ADDRS_MAX);
    if (n) {
        CHECK_MEM(v[0].addr, a[3], 8); /* dialed, kept though oldest */
        CHECK_MEM(v[1].addr, a[39], 8);
    }
    store_peer_addrs_free(v, n);
    store_close(s);
    remove_db();
}

/* store_peer_addrs_note: announced again, an address keeps its time (no
 * write); each successful dial refreshes it, so the address dialed last
 * comes first among the dialed ones and outlives one dialed long ago. */
TEST(note_refreshes_dialed)
{
    struct store_blob pa = {peer_a, sizeof(peer_a)};
    uint8_t a1[] = {4, 10, 0, 0, 1, 6, 0x0f, 0xa4};
    uint8_t a2[] = {4, 10, 0, 0, 2, 6, 0x0f, 0xa4};
    struct store_blob b1 = {a1, sizeof(a1)}, b2 = {a2, sizeof(a2)};
    struct store_peer_addr *v = NULL;
    size_t n = 0;

    make_path();
    struct store *s = open_db();
    CHECK_ERR(store_peer_addrs_note(s, &pa, &b1, 1, false, 100), 0);
    CHECK_ERR(store_peer_addrs_note(s, &pa, &b1, 1, false, 200), 0);
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK(n == 1 && v[0].updated_ms == 100 && !v[0].dialed);
    store_peer_addrs_free(v, n);
    /* a1 dialed at 300, a2 at 400: a2 first */
    CHECK_ERR(store_peer_addrs_note(s, &pa, &b1, 1, true, 300), 0);
    CHECK_ERR(store_peer_addrs_note(s, &pa, &b2, 1, true, 400), 0);
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK(n == 2 && !memcmp(v[0].addr, a2, sizeof(a2)));
    store_peer_addrs_free(v, n);
    /* a1 dialed again at 500: its mark is refreshed, a1 first */
    CHECK_ERR(store_peer_addrs_note(s, &pa, &b1, 1, true, 500), 0);
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK_MEM(v[0].addr, a1, sizeof(a1));
        CHECK(v[0].dialed && v[0].updated_ms == 500);
    }
    store_peer_addrs_free(v, n);
    /* announced again later: a dialed address keeps its mark and time */
    CHECK_ERR(store_peer_addrs_note(s, &pa, &b1, 1, false, 600), 0);
    CHECK_ERR(store_peer_addrs_get(s, &pa, &v, &n), 0);
    CHECK(n == 2 && v[0].dialed && v[0].updated_ms == 500);
    store_peer_addrs_free(v, n);
    CHECK_ERR(store_peer_addrs_note(s, NULL, &b1, 1, true, 1), FASTN_ERR_INVAL);
    store_close(s);
    remove_db();
}

TEST(bad_input)
{
    struct store_blob pa = {peer_a, sizeof(peer_a)};
    uint8_t big[STORE_PEER_ADDR_MAX + 1] = {0};
    struct store_blob empty = {peer_a, 0}, huge = {big, sizeof(big)};

    make_path();
    struct store *s = open_db();
    CHECK_ERR(store_peer_addrs_put(s, &empty, &pa, 1, false, 1),
              FASTN_ERR_INVAL);
    CHECK_ERR(store_peer_addrs_put(s, &pa, &huge, 1, false, 1),
              FASTN_ERR_TOO_LARGE);
    CHECK_ERR(store_peer_addrs_put(s, &pa, &empty, 1, false, 1),
              FASTN_ERR_INVAL);
    CHECK_ERR(store_peer_forget(s, &empty), FASTN_ERR_INVAL);
    store_close(s);
    remove_db();
}

int main(void)
{
    RUN(put_get_reopen);
    RUN(bounded_per_peer);
    RUN(note_refreshes_dialed);
    RUN(bad_input);
    return test_done();
}
