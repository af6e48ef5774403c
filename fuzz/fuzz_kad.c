/* Fuzz target: Kademlia messages and the routing-table file. The input
 * is decoded as a message, answered by a server (a table of a few peers,
 * a small store), fed to a lookup as a peer's answer, and loaded as a
 * routing-table file. Properties: an answer is one well-formed message;
 * a lookup never holds more candidates than its limit nor queries a
 * peer twice; a table that loaded saves and loads back to the same
 * size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"
#include "net/kad.h"

static struct peer_id ids[8];
static int ready;

static void setup(void)
{
    struct identity id;
    uint8_t seed[32] = {0};
    if (ready)
        return;
    identity_global_init();
    for (int i = 0; i < 8; i++) {
        seed[0] = (uint8_t)(i + 1);
        identity_from_seed(&id, seed);
        ids[i] = id.id;
    }
    ready = 1;
}

static void server(const uint8_t *p, size_t n)
{
    struct kad_table t;
    struct kad_store s;
    struct kad_server srv;
    struct kad_msg *m;
    struct buf out;
    struct buf_reader r;
    const uint8_t *body;
    uint64_t len;

    kad_table_init(&t, &ids[0]);
    for (int i = 1; i < 8; i++)
        kad_table_add(&t, &ids[i], NULL, 0, 0, NULL);
    kad_store_init(&s, 4, 4);
    srv = (struct kad_server){.table = &t, .store = &s};
    buf_init(&out, 2 * KAD_MAX_MSG);
    for (int round = 0; round < 2; round++) /* twice: stores fill */
        if (kad_server_handle(&srv, &ids[1], p, n, (uint64_t)round, &out) != 0)
            break;
    buf_reader_init(&r, out.data, out.len);
    while (buf_reader_left(&r)) {
        m = kad_msg_new();
        if (!m || buf_get_uvarint(&r, &len) ||
            buf_get_span(&r, (size_t)len, &body) ||
            kad_msg_decode(body, (size_t)len, m) != 0)
            abort();
        kad_msg_free(m);
    }
    buf_cleanup(&out);
    kad_store_cleanup(&s);
    kad_table_cleanup(&t);
}

static void lookup(const struct kad_msg *m)
{
    struct kad_lookup_config cfg;
    struct kad_lookup lk;
    struct kad_entry seed = {.id = ids[2]};
    const struct kad_entry *seeds[1] = {&seed};
    struct kad_query q;
    struct peer_id asked[64];
    size_t n_asked = 0;

    kad_lookup_config_default(&cfg);
    cfg.max_candidates = 24;
    cfg.max_queries = 16;
    if (kad_lookup_init(&lk, &cfg, KAD_FIND_NODE, ids[7].bytes, ids[7].len,
                        &ids[0], seeds, 1) != 0)
        return;
    /* every peer answers with the fuzzed message */
    for (int rounds = 0; rounds < 200; rounds++) {
        int rc = kad_lookup_next(&lk, 0, &q);
        if (rc == KAD_LOOKUP_DONE)
            break;
        if (rc == 1) {
            struct peer_id who = q.peer->id;
            for (size_t i = 0; i < n_asked; i++)
                if (peer_id_equal(&asked[i], &who))
                    abort(); /* asked twice */
            if (n_asked < 64)
                asked[n_asked++] = who;
            kad_lookup_response(&lk, &who, m);
        }
        if (lk.n > cfg.max_candidates || lk.queries > cfg.max_queries)
            abort();
    }
    kad_lookup_cleanup(&lk);
}

static void table_file(const uint8_t *p, size_t n)
{
    struct kad_table t, u;
    struct buf b;

    kad_table_init(&t, &ids[0]);
    if (kad_table_load(&t, p, n, 1) == 0) {
        buf_init(&b, 16 << 20);
        if (kad_table_save(&t, &b) != 0)
            abort();
        kad_table_init(&u, &ids[0]);
        if (kad_table_load(&u, b.data, b.len, 1) != 0 ||
            kad_table_size(&u) != kad_table_size(&t))
            abort();
        kad_table_cleanup(&u);
        buf_cleanup(&b);
    }
    kad_table_cleanup(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kad_msg *m = kad_msg_new();

    setup();
    if (m && kad_msg_decode(data, size, m) == 0)
        lookup(m);
    kad_msg_free(m);
    server(data, size);
    table_file(data, size);
    return 0;
}
