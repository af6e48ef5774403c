/*
 * The quarantine: streams that arrived for a protocol no plugin handles,
 * held on disk until a plugin for it is installed and they can be
 * replayed (nothing received is lost), or the user deletes them.
 *
 * An item is one stream: a row in `quarantine` and its bytes in numbered
 * rows of `quarantine_chunk`, each append its own transaction (state.sqlite
 * syncs every commit, so an append that returned survives kill -9 and a
 * power loss, and one cut short leaves nothing). Caps on the whole
 * quarantine (bytes and items), on each peer's items together and on each
 * item bound what peers can make us store; the running totals are kept in
 * memory in step with the table, a peer's bytes are summed from it (an
 * index by peer).
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/store_int.h"

/* Bytes per stored chunk: larger appends are split. */
#define CHUNK_MAX (64 * 1024)

/* The running totals, from the table. */
static int totals(struct store *s)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db,
                             "SELECT coalesce(sum(size), 0), count(*)"
                             " FROM quarantine",
                             &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s->quarantine_total = (uint64_t)sqlite3_column_int64(st, 0);
        s->quarantine_count = (uint64_t)sqlite3_column_int64(st, 1);
    } else
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

int store__quarantine_open(struct store *s)
{
    /* A daemon that died mid-stream never finished its item: the stream
     * is gone, so it is finished, and incomplete. */
    int err = store__exec(s->db, "UPDATE quarantine SET finished = 1"
                                 " WHERE finished = 0");
    return err ? err : totals(s);
}

uint64_t store_quarantine_total(const struct store *s)
{
    return s ? s->quarantine_total : 0;
}

uint64_t store_quarantine_count(const struct store *s)
{
    return s ? s->quarantine_count : 0;
}

/* Bytes held for peer's items together (by its text PeerID, or by the
 * peer of item id when peer is NULL). */
static int peer_bytes(struct store *s, const char *peer, int64_t id,
                      uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(
        s->db,
        peer ? "SELECT coalesce(sum(size), 0) FROM quarantine WHERE peer = ?1"
             : "SELECT coalesce(sum(size), 0) FROM quarantine WHERE peer ="
               " (SELECT peer FROM quarantine WHERE id = ?2)",
        &st);
    if (err)
        return err;
    if (peer)
        sqlite3_bind_text(st, 1, peer, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    else
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

static int check_name(const char *p, size_t max)
{
    if (!p)
        return FASTN_ERR_INVAL;
    size_t n = strnlen(p, max + 1);
    if (n > max)
        return FASTN_ERR_TOO_LARGE;
    if (n == 0 || !store__text_ok(p, n, NULL))
        return FASTN_ERR_INVAL;
    return 0;
}

int store_quarantine_begin(struct store *s, int64_t now_ms, const char *peer,
                           const char *protocol, int64_t *id_out)
{
    sqlite3_stmt *st = NULL;
    if (!s || !id_out)
        return FASTN_ERR_INVAL;
    int err = check_name(peer, STORE_PEER_MAX);
    if (!err)
        err = check_name(protocol, STORE_PROTOCOL_MAX);
    if (err)
        return err;
    uint64_t held = 0;
    if (s->quarantine_total >= s->opts.quarantine_total_max ||
        s->quarantine_count >= s->opts.quarantine_count_max)
        return FASTN_ERR_STORE_QUOTA;
    if ((err = peer_bytes(s, peer, 0, &held)))
        return err;
    if (held >= s->opts.quarantine_peer_max)
        return FASTN_ERR_STORE_QUOTA;
    err = store__prepare(s->db,
                         "INSERT INTO quarantine(received_ms, peer, protocol)"
                         " VALUES(?, ?, ?)",
                         &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, protocol, -1, SQLITE_STATIC);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    if (!err) {
        *id_out = sqlite3_last_insert_rowid(s->db);
        s->quarantine_count++;
    }
    return err;
}

/* Reads an item's size, next chunk number and finished flag. */
static int item_state(struct store *s, int64_t id, uint64_t *size,
                      int64_t *next_seq, bool *finished)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(
        s->db, "SELECT size, next_seq, finished FROM quarantine WHERE id = ?",
        &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *size = (uint64_t)sqlite3_column_int64(st, 0);
        *next_seq = sqlite3_column_int64(st, 1);
        *finished = sqlite3_column_int(st, 2) != 0;
    } else {
        err = rc == SQLITE_DONE ? FASTN_ERR_NOT_FOUND : store__err(rc);
    }
    sqlite3_finalize(st);
    return err;
}

static int insert_chunk(struct store *s, int64_t id, int64_t seq,
                        const uint8_t *p, size_t n)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(
        s->db, "INSERT INTO quarantine_chunk(item, seq, data) VALUES(?, ?, ?)",
        &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_blob(st, 3, p, (int)n, SQLITE_STATIC);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    return err;
}

/* Stores p[0..n) as chunks from seq on and updates the item's row. */
static int append_chunks(struct store *s, int64_t id, int64_t seq,
                         const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        size_t len = n - off < CHUNK_MAX ? n - off : CHUNK_MAX;
        int err = insert_chunk(s, id, seq++, p + off, len);
        if (err)
            return err;
        off += len;
    }
    int changed = 0;
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db,
                             "UPDATE quarantine SET size = size + ?,"
                             " next_seq = ? WHERE id = ?",
                             &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int64(st, 3, id);
    err = store__err(sqlite3_step(st));
    changed = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    return err ? err : changed == 1 ? 0 : FASTN_ERR_NOT_FOUND;
}

int store_quarantine_append(struct store *s, int64_t id, const void *p,
                            size_t n)
{
    uint64_t size;
    int64_t seq;
    bool finished;
    if (!s || (!p && n))
        return FASTN_ERR_INVAL;
    int err = item_state(s, id, &size, &seq, &finished);
    if (err)
        return err;
    if (finished)
        return FASTN_ERR_CLOSED;
    const struct store_options *o = &s->opts;
    uint64_t held = 0;
    if ((err = peer_bytes(s, NULL, id, &held)))
        return err;
    if (size > o->quarantine_item_max || n > o->quarantine_item_max - size ||
        held > o->quarantine_peer_max || n > o->quarantine_peer_max - held ||
        s->quarantine_total > o->quarantine_total_max ||
        n > o->quarantine_total_max - s->quarantine_total) {
        store_quarantine_finish(s, id, false);
        return FASTN_ERR_STORE_QUOTA;
    }
    if (n == 0)
        return 0;
    err = store__exec(s->db, "BEGIN IMMEDIATE");
    if (err)
        return err;
    err = append_chunks(s, id, seq, p, n);
    if (!err)
        err = store__exec(s->db, "COMMIT");
    if (err) {
        store__exec(s->db, "ROLLBACK");
        return err;
    }
    s->quarantine_total += n;
    return 0;
}

int store_quarantine_finish(struct store *s, int64_t id, bool complete)
{
    sqlite3_stmt *st = NULL;
    if (!s)
        return FASTN_ERR_INVAL;
    int err = store__prepare(s->db,
                             "UPDATE quarantine SET finished = 1, complete = ?"
                             " WHERE id = ? AND finished = 0",
                             &st);
    if (err)
        return err;
    sqlite3_bind_int(st, 1, complete);
    sqlite3_bind_int64(st, 2, id);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    if (err)
        return err;
    if (sqlite3_changes(s->db) == 0) {
        uint64_t size;
        int64_t seq;
        bool finished;
        return item_state(s, id, &size, &seq, &finished); /* finished: ok */
    }
    return 0;
}

void store_quarantine_items_free(struct store_quarantine_item *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].peer);
        free(v[i].protocol);
    }
    free(v);
}

static int row_to_item(sqlite3_stmt *st, struct store_quarantine_item *it)
{
    it->id = sqlite3_column_int64(st, 0);
    it->received_ms = sqlite3_column_int64(st, 1);
    it->peer = store__strdup((const char *)sqlite3_column_text(st, 2));
    it->protocol = store__strdup((const char *)sqlite3_column_text(st, 3));
    it->size = (uint64_t)sqlite3_column_int64(st, 4);
    it->finished = sqlite3_column_int(st, 5) != 0;
    it->complete = sqlite3_column_int(st, 6) != 0;
    it->attempts = sqlite3_column_int64(st, 7);
    return it->peer && it->protocol ? 0 : FASTN_ERR_NOMEM;
}

int store_quarantine_list(struct store *s, const char *protocol,
                          struct store_quarantine_item **out, size_t *n)
{
    return store_quarantine_find(s, protocol, NULL, out, n);
}

int store_quarantine_find(struct store *s, const char *protocol,
                          const char *peer, struct store_quarantine_item **out,
                          size_t *n)
{
    struct store_quarantine_item *v = NULL;
    size_t len = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    int rc;
    if (!s || !out || !n)
        return FASTN_ERR_INVAL;
    int err = store__prepare(s->db,
                             "SELECT id, received_ms, peer, protocol, size,"
                             " finished, complete, attempts FROM quarantine"
                             " WHERE (?1 IS NULL OR protocol = ?1)"
                             " AND (?2 IS NULL OR peer = ?2) ORDER BY id",
                             &st);
    if (err)
        return err;
    if (protocol)
        sqlite3_bind_text(st, 1, protocol, -1, SQLITE_STATIC);
    if (peer)
        sqlite3_bind_text(st, 2, peer, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 8;
            struct store_quarantine_item *nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                err = FASTN_ERR_NOMEM;
                goto out_free;
            }
            v = nv, cap = ncap;
        }
        memset(&v[len], 0, sizeof(v[len]));
        err = row_to_item(st, &v[len++]);
        if (err)
            goto out_free;
    }
    err = store__err(rc);
    if (err)
        goto out_free;
    sqlite3_finalize(st);
    if (!len) {
        free(v);
        v = NULL;
    }
    *out = v;
    *n = len;
    return 0;
out_free:
    sqlite3_finalize(st);
    store_quarantine_items_free(v, len);
    return err;
}

int store_quarantine_read(struct store *s, int64_t id, store_chunk_fn fn,
                          void *arg)
{
    uint64_t size;
    int64_t seq;
    bool finished;
    sqlite3_stmt *st = NULL;
    int rc;
    if (!s || !fn)
        return FASTN_ERR_INVAL;
    int err = item_state(s, id, &size, &seq, &finished);
    if (err)
        return err;
    err = store__prepare(s->db,
                         "SELECT data FROM quarantine_chunk WHERE item = ?"
                         " ORDER BY seq",
                         &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *p = sqlite3_column_blob(st, 0);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        err = fn(p, n, arg);
        if (err)
            break;
    }
    if (!err)
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

int store_quarantine_delete(struct store *s, int64_t id)
{
    uint64_t size;
    int64_t seq;
    bool finished;
    sqlite3_stmt *st = NULL;
    if (!s)
        return FASTN_ERR_INVAL;
    int err = item_state(s, id, &size, &seq, &finished);
    if (err)
        return err;
    err = store__prepare(s->db, "DELETE FROM quarantine WHERE id = ?", &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    err = store__err(sqlite3_step(st)); /* chunks go by ON DELETE CASCADE */
    sqlite3_finalize(st);
    if (err)
        return err;
    s->quarantine_total -= size <= s->quarantine_total ? size : 0;
    s->quarantine_count -= s->quarantine_count ? 1 : 0;
    return 0;
}

int store_quarantine_attempt(struct store *s, int64_t id, int64_t *before)
{
    sqlite3_stmt *st = NULL;
    int rc;
    if (!s)
        return FASTN_ERR_INVAL;
    int err = store__prepare(s->db,
                             "UPDATE quarantine SET attempts = attempts + 1"
                             " WHERE id = ? RETURNING attempts - 1",
                             &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (before)
            *before = sqlite3_column_int64(st, 0);
        rc = sqlite3_step(st);
    } else if (rc == SQLITE_DONE) {
        err = FASTN_ERR_NOT_FOUND;
    }
    if (!err && rc != SQLITE_DONE)
        err = store__err(rc);
    sqlite3_finalize(st);
    return err;
}

int store_quarantine_expire(struct store *s, int64_t before_ms)
{
    sqlite3_stmt *st = NULL;
    int err, rc, n;
    if (!s)
        return FASTN_ERR_INVAL;
    err = store__prepare(s->db,
                         "DELETE FROM quarantine WHERE received_ms < ?"
                         " AND finished = 1",
                         &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, before_ms);
    rc = sqlite3_step(st);
    n = sqlite3_changes(s->db);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return store__err(rc);
    if (n > 0)
        err = totals(s);
    return err ? err : n;
}
