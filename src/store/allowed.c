/*
 * Peers the user allowed (`fastn peer allow PEER`), in state.sqlite's
 * allowed_peers: known from then on, as a peer this daemon dialed is, so
 * plugins that serve known peers serve them. Keyed by binary PeerID.
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/store_int.h"

static int check_peer(const struct store_blob *peer)
{
    if (!peer || !peer->p || !peer->len)
        return FASTN_ERR_INVAL;
    return peer->len > STORE_PEER_ID_MAX ? FASTN_ERR_TOO_LARGE : 0;
}

/* Runs one statement with the peer (and now_ms) bound; *changes set. */
static int run_peer(struct store *s, const char *sql,
                    const struct store_blob *peer, int64_t now_ms, int *changes)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db, sql, &st);

    if (err)
        return err;
    sqlite3_bind_blob(st, 1, peer->p, (int)peer->len, SQLITE_STATIC);
    if (sqlite3_bind_parameter_count(st) > 1)
        sqlite3_bind_int64(st, 2, now_ms);
    err = store__err(sqlite3_step(st));
    *changes = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return err;
}

int store_peer_allow(struct store *s, const struct store_blob *peer,
                     int64_t now_ms)
{
    int changes = 0, err;

    if (!s)
        return FASTN_ERR_INVAL;
    if ((err = check_peer(peer)))
        return err;
    err = run_peer(s,
                   "INSERT OR IGNORE INTO allowed_peers(peer, allowed_ms)"
                   " VALUES(?1, ?2)",
                   peer, now_ms, &changes);
    return err ? err : changes ? 0 : 1;
}

int store_peer_disallow(struct store *s, const struct store_blob *peer)
{
    int changes = 0, err;

    if (!s)
        return FASTN_ERR_INVAL;
    if ((err = check_peer(peer)))
        return err;
    err = run_peer(s, "DELETE FROM allowed_peers WHERE peer = ?1", peer, 0,
                   &changes);
    return err ? err : changes ? 0 : FASTN_ERR_NOT_FOUND;
}

bool store_peer_is_allowed(struct store *s, const struct store_blob *peer)
{
    sqlite3_stmt *st = NULL;
    bool yes = false;

    if (!s || check_peer(peer) ||
        store__prepare(s->db, "SELECT 1 FROM allowed_peers WHERE peer = ?",
                       &st))
        return false;
    sqlite3_bind_blob(st, 1, peer->p, (int)peer->len, SQLITE_STATIC);
    yes = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return yes;
}

int store_peer_allowed(struct store *s, struct store_reconnect **out, size_t *n)
{
    struct store_reconnect *v = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    int rc, err;

    if (!s || !out || !n)
        return FASTN_ERR_INVAL;
    err = store__prepare(
        s->db, "SELECT peer FROM allowed_peers ORDER BY allowed_ms", &st);
    if (err)
        return err;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t blen = (size_t)sqlite3_column_bytes(st, 0);
        if (blen == 0 || blen > STORE_PEER_ID_MAX)
            continue;
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct store_reconnect *nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                err = FASTN_ERR_NOMEM;
                break;
            }
            v = nv, cap = ncap;
        }
        memcpy(v[len].peer, sqlite3_column_blob(st, 0), blen);
        v[len++].len = blen;
    }
    if (!err && rc != SQLITE_DONE)
        err = store__err(rc);
    sqlite3_finalize(st);
    if (err) {
        free(v);
        return err;
    }
    *out = len ? v : NULL;
    if (!len)
        free(v);
    *n = len;
    return 0;
}
