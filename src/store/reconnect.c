/*
 * The peers to connect to again at the next start, in state.sqlite: when
 * fastnd stops cleanly (`fastn stop`, `fastn restart`, a package
 * upgrade) it records the peers it was connected to, and the next start
 * dials them through the address book, so a restart keeps the peers. The
 * list is taken (read and emptied) at start: a crash leaves none behind
 * to be dialed twice.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/store_int.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS peer_reconnect("
                             " peer BLOB PRIMARY KEY) WITHOUT ROWID";

static int save_all(struct store *s, const struct store_blob *peers, size_t n)
{
    sqlite3_stmt *st = NULL;
    int err = store__exec(s->db, "DELETE FROM peer_reconnect");

    if (!err && n)
        err = store__prepare(
            s->db, "INSERT OR IGNORE INTO peer_reconnect(peer) VALUES(?)", &st);
    for (size_t i = 0; !err && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_blob(st, 1, peers[i].p, (int)peers[i].len, SQLITE_STATIC);
        err = store__err(sqlite3_step(st));
    }
    sqlite3_finalize(st);
    return err;
}

int store_reconnect_save(struct store *s, const struct store_blob *peers,
                         size_t n)
{
    int err;

    if (!s || (n && !peers))
        return FASTN_ERR_INVAL;
    if (n > STORE_RECONNECT_MAX)
        n = STORE_RECONNECT_MAX;
    for (size_t i = 0; i < n; i++)
        if (!peers[i].p || !peers[i].len || peers[i].len > STORE_PEER_ID_MAX)
            return FASTN_ERR_INVAL;
    if ((err = store__exec(s->db, schema)) ||
        (err = store__exec(s->db, "BEGIN IMMEDIATE")))
        return err;
    err = save_all(s, peers, n);
    if (err) {
        store__exec(s->db, "ROLLBACK");
        return err;
    }
    return store__exec(s->db, "COMMIT");
}

static int read_all(struct store *s, struct store_reconnect *v, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db, "SELECT peer FROM peer_reconnect", &st);
    int rc = SQLITE_DONE;

    *n = 0;
    while (!err && *n < STORE_RECONNECT_MAX &&
           (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(st, 0);
        int len = sqlite3_column_bytes(st, 0);
        if (!p || len <= 0 || len > STORE_PEER_ID_MAX)
            continue; /* not a PeerID: skipped, and dropped below */
        memcpy(v[*n].peer, p, (size_t)len);
        v[(*n)++].len = (size_t)len;
    }
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

int store_reconnect_take(struct store *s, struct store_reconnect **out,
                         size_t *n)
{
    struct store_reconnect *v;
    int err;

    if (!s || !out || !n)
        return FASTN_ERR_INVAL;
    if ((err = store__exec(s->db, schema)))
        return err;
    v = calloc(STORE_RECONNECT_MAX, sizeof(*v));
    if (!v)
        return FASTN_ERR_NOMEM;
    err = read_all(s, v, n);
    if (!err)
        err = store__exec(s->db, "DELETE FROM peer_reconnect");
    if (err || *n == 0) {
        free(v);
        v = NULL;
        if (err)
            *n = 0;
    }
    *out = v;
    return err;
}
