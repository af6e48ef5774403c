/*
 * The address book in state.sqlite: where each peer was reached or said
 * it listens, so that `fastn call PEERID` works after one `fastn connect
 * MULTIADDR`, across restarts. Keys and values are the binary forms
 * (PeerID multihash, multiaddr bytes), as they travel on the wire.
 *
 * The table is created by store_peers_open() (CREATE TABLE IF NOT
 * EXISTS), independently of state.sqlite's numbered schema, so it can be
 * added to a database that already exists.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/store_int.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS peer_addrs("
                             " peer BLOB NOT NULL,"
                             " addr BLOB NOT NULL,"
                             " dialed INTEGER NOT NULL DEFAULT 0,"
                             " updated_ms INTEGER NOT NULL,"
                             " PRIMARY KEY(peer, addr)) WITHOUT ROWID";

int store_peers_open(struct store *s)
{
    if (!s)
        return FASTN_ERR_INVAL;
    return store__exec(s->db, schema);
}

static int check_blob(const struct store_blob *b, size_t max)
{
    if (!b || !b->p || b->len == 0)
        return FASTN_ERR_INVAL;
    return b->len > max ? FASTN_ERR_TOO_LARGE : 0;
}

static int put_one(sqlite3_stmt *st, const struct store_blob *peer,
                   const struct store_blob *addr, bool dialed, int64_t now_ms)
{
    int err;

    sqlite3_reset(st);
    sqlite3_bind_blob(st, 1, peer->p, (int)peer->len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, addr->p, (int)addr->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, dialed ? 1 : 0);
    sqlite3_bind_int64(st, 4, now_ms);
    err = store__err(sqlite3_step(st));
    return err;
}

/* Keeps the STORE_PEER_ADDRS_MAX best addresses of peer. */
static int trim(struct store *s, const struct store_blob *peer)
{
    static const char sql[] =
        "DELETE FROM peer_addrs WHERE peer = ?1 AND addr NOT IN"
        " (SELECT addr FROM peer_addrs WHERE peer = ?1"
        "  ORDER BY dialed DESC, updated_ms DESC LIMIT ?2)";
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db, sql, &st);

    if (err)
        return err;
    sqlite3_bind_blob(st, 1, peer->p, (int)peer->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, STORE_PEER_ADDRS_MAX);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    return err;
}

int store_peer_addrs_put(struct store *s, const struct store_blob *peer,
                         const struct store_blob *addrs, size_t n, bool dialed,
                         int64_t now_ms)
{
    static const char sql[] =
        "INSERT INTO peer_addrs(peer, addr, dialed, updated_ms)"
        " VALUES(?, ?, ?, ?) ON CONFLICT(peer, addr) DO UPDATE SET"
        " updated_ms = excluded.updated_ms,"
        " dialed = max(dialed, excluded.dialed)";
    sqlite3_stmt *st = NULL;
    int err;

    if (!s || (n && !addrs))
        return FASTN_ERR_INVAL;
    if ((err = check_blob(peer, STORE_PEER_ID_MAX)))
        return err;
    for (size_t i = 0; i < n; i++)
        if ((err = check_blob(&addrs[i], STORE_PEER_ADDR_MAX)))
            return err;
    if (n == 0)
        return 0;
    err = store__exec(s->db, "BEGIN IMMEDIATE");
    if (err)
        return err;
    err = store__prepare(s->db, sql, &st);
    for (size_t i = 0; !err && i < n; i++)
        err = put_one(st, peer, &addrs[i], dialed, now_ms);
    sqlite3_finalize(st);
    if (!err)
        err = trim(s, peer);
    if (err) {
        store__exec(s->db, "ROLLBACK");
        return err;
    }
    return store__exec(s->db, "COMMIT");
}

static int row_to_addr(sqlite3_stmt *st, struct store_peer_addr *a)
{
    const void *p = sqlite3_column_blob(st, 0);
    int len = sqlite3_column_bytes(st, 0);

    if (!p || len <= 0)
        return FASTN_ERR_STORE_CORRUPT;
    a->addr = malloc((size_t)len);
    if (!a->addr)
        return FASTN_ERR_NOMEM;
    memcpy(a->addr, p, (size_t)len);
    a->len = (size_t)len;
    a->dialed = sqlite3_column_int(st, 1) != 0;
    a->updated_ms = sqlite3_column_int64(st, 2);
    return 0;
}

int store_peer_addrs_get(struct store *s, const struct store_blob *peer,
                         struct store_peer_addr **out, size_t *n)
{
    static const char sql[] =
        "SELECT addr, dialed, updated_ms FROM peer_addrs WHERE peer = ?"
        " ORDER BY dialed DESC, updated_ms DESC LIMIT ?";
    struct store_peer_addr *v = NULL;
    sqlite3_stmt *st = NULL;
    size_t k = 0;
    int err, rc = SQLITE_DONE;

    if (!s || !out || !n)
        return FASTN_ERR_INVAL;
    if ((err = check_blob(peer, STORE_PEER_ID_MAX)))
        return err;
    err = store__prepare(s->db, sql, &st);
    if (err)
        return err;
    sqlite3_bind_blob(st, 1, peer->p, (int)peer->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, STORE_PEER_ADDRS_MAX);
    v = calloc(STORE_PEER_ADDRS_MAX, sizeof(*v));
    if (!v)
        err = FASTN_ERR_NOMEM;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW &&
           k < STORE_PEER_ADDRS_MAX) {
        err = row_to_addr(st, &v[k]);
        if (!err)
            k++;
    }
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = store__err(rc);
    sqlite3_finalize(st);
    if (err || k == 0) {
        store_peer_addrs_free(v, k);
        v = NULL;
        k = 0;
    }
    if (err)
        return err;
    *out = v;
    *n = k;
    return 0;
}

/* Whether every address is stored already and none is being marked
 * dialed: then recording them would change nothing that matters. */
static bool all_known(struct store *s, const struct store_blob *peer,
                      const struct store_blob *addrs, size_t n, bool dialed)
{
    struct store_peer_addr *v = NULL;
    size_t k = 0;
    bool all = !dialed;

    if (!all || store_peer_addrs_get(s, peer, &v, &k) != 0)
        return false;
    for (size_t i = 0; i < n && all; i++) {
        bool found = false;
        for (size_t j = 0; j < k && !found; j++)
            found = v[j].len == addrs[i].len &&
                    !memcmp(v[j].addr, addrs[i].p, v[j].len);
        all = found;
    }
    store_peer_addrs_free(v, k);
    return all;
}

int store_peer_addrs_note(struct store *s, const struct store_blob *peer,
                          const struct store_blob *addrs, size_t n, bool dialed,
                          int64_t now_ms)
{
    if (!s || (n && !addrs))
        return FASTN_ERR_INVAL;
    if (n == 0 || all_known(s, peer, addrs, n, dialed))
        return 0;
    return store_peer_addrs_put(s, peer, addrs, n, dialed, now_ms);
}

void store_peer_addrs_free(struct store_peer_addr *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i].addr);
    free(v);
}

int store_peer_forget(struct store *s, const struct store_blob *peer)
{
    sqlite3_stmt *st = NULL;
    int err;

    if (!s)
        return FASTN_ERR_INVAL;
    if ((err = check_blob(peer, STORE_PEER_ID_MAX)))
        return err;
    err = store__prepare(s->db, "DELETE FROM peer_addrs WHERE peer = ?", &st);
    if (err)
        return err;
    sqlite3_bind_blob(st, 1, peer->p, (int)peer->len, SQLITE_STATIC);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    return err ? err : sqlite3_changes(s->db);
}
