/*
 * state.sqlite: opening and migrating the daemon's state database, and
 * the notifications kept in it with the subscribers told of each change.
 *
 * Ids come from AUTOINCREMENT, so they only grow and are never reused
 * after a delete: a client that follows with "after id N" never misses or
 * repeats one. Subscribers are called after the change has committed.
 *
 * Schema versions: 1 the first; 2 adds notifications.origin (NULL for
 * rows added directly, else a key unique across every notification ever
 * moved from a plugin's outbox: store_notify_add_once), kept unique by an
 * index so that moving the same outbox row twice adds it once; 3 adds
 * quarantine.attempts (replays begun: a stream replayed again after a
 * crash is a repeat), an index of the quarantine by peer (the per-peer
 * limit) and allowed_peers (peers the user made known: fastn peer allow).
 */
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/store_int.h"

#define SCHEMA_VERSION 3

static const char schema_v1[] =
    "CREATE TABLE notifications("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time_ms INTEGER NOT NULL,"
    " source TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " read INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX notifications_read ON notifications(read, id);"
    /* Streams that arrived for a protocol with no plugin: one row per
     * stream, its bytes in numbered chunks, replayed in order. */
    "CREATE TABLE quarantine("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " received_ms INTEGER NOT NULL,"
    " peer TEXT NOT NULL,"
    " protocol TEXT NOT NULL,"
    " size INTEGER NOT NULL DEFAULT 0,"
    " next_seq INTEGER NOT NULL DEFAULT 0,"
    " finished INTEGER NOT NULL DEFAULT 0,"
    " complete INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX quarantine_protocol ON quarantine(protocol, id);"
    "CREATE TABLE quarantine_chunk("
    " item INTEGER NOT NULL REFERENCES quarantine(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " data BLOB NOT NULL,"
    " PRIMARY KEY(item, seq)) WITHOUT ROWID;";

/* Version 1 to 2; existing rows keep origin NULL (NULLs never collide in a
 * UNIQUE index). */
static const char schema_v2[] =
    "ALTER TABLE notifications ADD COLUMN origin TEXT;"
    "CREATE UNIQUE INDEX notifications_origin ON notifications(origin);";

/* Version 2 to 3. */
static const char schema_v3[] =
    "ALTER TABLE quarantine ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX quarantine_peer ON quarantine(peer, id);"
    "CREATE TABLE allowed_peers("
    " peer BLOB PRIMARY KEY,"
    " allowed_ms INTEGER NOT NULL) WITHOUT ROWID;";

static int user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(db, "PRAGMA user_version", &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    else
        err = rc == SQLITE_DONE ? FASTN_ERR_STORE : store__err(rc);
    sqlite3_finalize(st);
    return err;
}

/* Creates or upgrades the schema in one transaction. */
static int migrate(sqlite3 *db)
{
    int v = 0;
    int err = store__exec(db, "BEGIN IMMEDIATE");
    if (err)
        return err;
    err = user_version(db, &v);
    if (err)
        goto out_rollback;
    if (v > SCHEMA_VERSION) {
        err = FASTN_ERR_STORE; /* written by a newer fastn */
        goto out_rollback;
    }
    if (v == 0) {
        err = store__exec(db, schema_v1);
        if (err)
            goto out_rollback;
        v = 1;
    }
    if (v == 1) {
        err = store__exec(db, schema_v2);
        if (!err)
            err = store__exec(db, "PRAGMA user_version=2");
        if (err)
            goto out_rollback;
        v = 2;
    }
    if (v == 2) {
        err = store__exec(db, schema_v3);
        if (!err)
            err = store__exec(db, "PRAGMA user_version=3");
        if (err)
            goto out_rollback;
    }
    return store__exec(db, "COMMIT");
out_rollback:
    store__exec(db, "ROLLBACK");
    return err;
}

int store_open(const char *path, const struct store_options *opts,
               struct store **out)
{
    if (!path || !out)
        return FASTN_ERR_INVAL;
    struct store *s = calloc(1, sizeof(*s));
    if (!s)
        return FASTN_ERR_NOMEM;
    if (opts)
        s->opts = *opts;
    if (!s->opts.notify_max_rows)
        s->opts.notify_max_rows = STORE_NOTIFY_ROWS_DEFAULT;
    if (!s->opts.quarantine_total_max)
        s->opts.quarantine_total_max = STORE_QUARANTINE_TOTAL_DEFAULT;
    if (!s->opts.quarantine_item_max)
        s->opts.quarantine_item_max = STORE_QUARANTINE_ITEM_DEFAULT;
    if (!s->opts.quarantine_peer_max)
        s->opts.quarantine_peer_max = STORE_QUARANTINE_PEER_DEFAULT;
    if (!s->opts.quarantine_count_max)
        s->opts.quarantine_count_max = STORE_QUARANTINE_COUNT_DEFAULT;
    int err = store__open_db(path, STORE__SYNC_FULL, false, 0, &s->db);
    if (err)
        goto out_free;
    err = migrate(s->db);
    if (!err)
        err = store__quarantine_open(s);
    if (err)
        goto out_free;
    *out = s;
    return 0;
out_free:
    store_close(s);
    return err;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    free(s->subs);
    free(s);
}

/* --- subscribers --- */

int store_notify_subscribe(struct store *s, store_notify_fn fn, void *arg,
                           unsigned *sub_out)
{
    if (!s || !fn || !sub_out)
        return FASTN_ERR_INVAL;
    if (s->n_subs == s->cap_subs) {
        size_t cap = s->cap_subs ? 2 * s->cap_subs : 4;
        struct store__sub *v = realloc(s->subs, cap * sizeof(*v));
        if (!v)
            return FASTN_ERR_NOMEM;
        s->subs = v;
        s->cap_subs = cap;
    }
    if (++s->next_sub == 0)
        s->next_sub = 1;
    s->subs[s->n_subs++] = (struct store__sub){s->next_sub, fn, arg};
    *sub_out = s->next_sub;
    return 0;
}

/* Drops unsubscribed slots; only outside a dispatch, whose loop indexes
 * the array. */
static void compact_subs(struct store *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->n_subs; i++)
        if (s->subs[i].id)
            s->subs[j++] = s->subs[i];
    s->n_subs = j;
}

void store_notify_unsubscribe(struct store *s, unsigned sub)
{
    if (!s || !sub)
        return;
    for (size_t i = 0; i < s->n_subs; i++)
        if (s->subs[i].id == sub)
            s->subs[i].id = 0;
    if (!s->dispatching)
        compact_subs(s);
}

static void dispatch(struct store *s, enum store_notify_event ev,
                     const struct store_notification *n)
{
    size_t count = s->n_subs; /* not those added during the dispatch */
    s->dispatching++;
    for (size_t i = 0; i < count; i++) {
        struct store__sub sub = s->subs[i];
        if (sub.id)
            sub.fn(ev, n, sub.arg);
    }
    if (--s->dispatching == 0)
        compact_subs(s);
}

/* --- notifications --- */

static int check_text(const char *p, size_t min, size_t max,
                      const char *allowed_ctl)
{
    if (!p)
        return FASTN_ERR_INVAL;
    size_t n = strnlen(p, max + 1);
    if (n > max)
        return FASTN_ERR_TOO_LARGE;
    if (n < min || !store__text_ok(p, n, allowed_ctl))
        return FASTN_ERR_INVAL;
    return 0;
}

/* Inserts n (origin may be NULL); *id is 0 when a row with that origin
 * was there already. */
static int insert_notification(struct store *s,
                               const struct store_notification *n,
                               const char *origin, int64_t *id)
{
    static const char sql[] =
        "INSERT OR IGNORE INTO notifications(time_ms, source, title, body,"
        " origin) VALUES(?, ?, ?, ?, ?)";
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db, sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, n->time_ms);
    sqlite3_bind_text(st, 2, n->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, n->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, n->body, -1, SQLITE_STATIC);
    if (origin)
        sqlite3_bind_text(st, 5, origin, -1, SQLITE_STATIC);
    err = store__err(sqlite3_step(st));
    if (!err)
        *id = sqlite3_changes(s->db) ? sqlite3_last_insert_rowid(s->db) : 0;
    sqlite3_finalize(st);
    return err;
}

/* Keeps at most notify_max_rows: the oldest read ones go first. */
static int prune(struct store *s)
{
    static const char sql[] =
        "DELETE FROM notifications WHERE id IN ("
        " SELECT id FROM notifications ORDER BY read DESC, id ASC"
        " LIMIT max(0, (SELECT count(*) FROM notifications) - ?))";
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db, sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)s->opts.notify_max_rows);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    return err;
}

int store_notify_check(const char *source, const char *title, const char *body)
{
    int err = check_text(source, 1, STORE_SOURCE_MAX, NULL);
    if (!err)
        err = check_text(title, 1, STORE_TITLE_MAX, NULL);
    if (!err)
        err = check_text(body, 0, STORE_BODY_MAX, "\n\t");
    return err;
}

int store_notify_add(struct store *s, int64_t time_ms, const char *source,
                     const char *title, const char *body, int64_t *id_out)
{
    return store_notify_add_once(s, time_ms, source, title, body, NULL, id_out);
}

int store_notify_add_once(struct store *s, int64_t time_ms, const char *source,
                          const char *title, const char *body,
                          const char *origin, int64_t *id_out)
{
    if (!s)
        return FASTN_ERR_INVAL;
    int err = store_notify_check(source, title, body);
    if (!err && origin && !*origin)
        err = FASTN_ERR_INVAL;
    if (err)
        return err;
    struct store_notification n = {
        .time_ms = time_ms,
        .source = (char *)source,
        .title = (char *)title,
        .body = (char *)body,
    };
    err = store__exec(s->db, "BEGIN IMMEDIATE");
    if (err)
        return err;
    err = insert_notification(s, &n, origin, &n.id);
    if (!err && n.id)
        err = prune(s);
    if (!err)
        err = store__exec(s->db, "COMMIT");
    if (err) {
        store__exec(s->db, "ROLLBACK");
        return err;
    }
    if (id_out)
        *id_out = n.id;
    if (!n.id)
        return 1; /* that origin was added before */
    dispatch(s, STORE_NOTIFY_NEW, &n);
    return 0;
}

/* Frees what one notification owns (not n itself). */
static void notification_clear(struct store_notification *n)
{
    free(n->source);
    free(n->title);
    free(n->body);
}

void store_notifications_free(struct store_notification *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        notification_clear(&v[i]);
    free(v);
}

/* Prepares sql, whose ?1 is a notification source or NULL for all. */
static int prepare_for_source(struct store *s, const char *sql,
                              const char *source, sqlite3_stmt **st)
{
    int err = store__prepare(s->db, sql, st);
    if (!err && source)
        sqlite3_bind_text(*st, 1, source, -1, SQLITE_STATIC);
    return err;
}

static int row_to_notification(sqlite3_stmt *st, struct store_notification *n)
{
    n->id = sqlite3_column_int64(st, 0);
    n->time_ms = sqlite3_column_int64(st, 1);
    n->source = store__strdup((const char *)sqlite3_column_text(st, 2));
    n->title = store__strdup((const char *)sqlite3_column_text(st, 3));
    n->body = store__strdup((const char *)sqlite3_column_text(st, 4));
    n->read = sqlite3_column_int(st, 5) != 0;
    if (!n->source || !n->title || !n->body)
        return FASTN_ERR_NOMEM;
    return 0;
}

#define NOTIFY_COLS "id, time_ms, source, title, body, read"
#define NOTIFY_WHERE                                                           \
    " WHERE id > ?1 AND (?2 = 0 OR read = 0) AND (?3 IS NULL OR source = ?3)"

/* Reads every row of st into a new array of at most max entries. */
static int collect(sqlite3_stmt *st, size_t max,
                   struct store_notification **out, size_t *n)
{
    struct store_notification *v = NULL;
    size_t len = 0, cap = 0;
    int rc, err = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && len < max) {
        if (len == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct store_notification *nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                err = FASTN_ERR_NOMEM;
                goto out_free;
            }
            v = nv, cap = ncap;
        }
        memset(&v[len], 0, sizeof(v[len]));
        err = row_to_notification(st, &v[len++]);
        if (err)
            goto out_free;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        err = store__err(rc);
        goto out_free;
    }
    *out = len ? v : NULL;
    if (!len)
        free(v);
    *n = len;
    return 0;
out_free:
    store_notifications_free(v, len);
    return err;
}

int store_notify_list(struct store *s, const struct store_notify_query *q,
                      struct store_notification **out, size_t *n)
{
    static const char newest[] =
        "SELECT " NOTIFY_COLS " FROM (SELECT * FROM notifications" NOTIFY_WHERE
        " ORDER BY id DESC LIMIT ?4) ORDER BY id";
    static const char oldest[] =
        "SELECT " NOTIFY_COLS " FROM notifications" NOTIFY_WHERE
        " ORDER BY id LIMIT ?4";
    struct store_notify_query dq = {0};
    sqlite3_stmt *st = NULL;
    if (!s || !out || !n)
        return FASTN_ERR_INVAL;
    if (!q)
        q = &dq;
    size_t limit = q->limit && q->limit < STORE_NOTIFY_LIST_MAX
                       ? q->limit
                       : STORE_NOTIFY_LIST_MAX;
    int err = store__prepare(s->db, q->oldest_first ? oldest : newest, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, q->after_id);
    sqlite3_bind_int(st, 2, q->unread_only);
    if (q->source)
        sqlite3_bind_text(st, 3, q->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)limit);
    err = collect(st, limit, out, n);
    sqlite3_finalize(st);
    return err;
}

/* Loads one notification by id into *n (caller frees the strings). */
static int get_notification(struct store *s, int64_t id,
                            struct store_notification *n)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(
        s->db, "SELECT " NOTIFY_COLS " FROM notifications WHERE id = ?", &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        err = row_to_notification(st, n);
    else
        err = rc == SQLITE_DONE ? FASTN_ERR_NOT_FOUND : store__err(rc);
    sqlite3_finalize(st);
    return err;
}

/* Runs an UPDATE/DELETE with one id (and optionally a second integer)
 * parameter; returns the number of rows changed. */
static int run_id_stmt(struct store *s, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st = NULL;
    int err = store__prepare(s->db, sql, &st);
    if (err)
        return err;
    sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) > 1)
        sqlite3_bind_int64(st, 2, b);
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    return err ? err : sqlite3_changes(s->db);
}

int store_notify_mark_read(struct store *s, int64_t id, bool read)
{
    struct store_notification n = {0};
    if (!s)
        return FASTN_ERR_INVAL;
    int changed = run_id_stmt(
        s, "UPDATE notifications SET read = ?2 WHERE id = ?1 AND read != ?2",
        id, read);
    if (changed < 0)
        return changed;
    int err = get_notification(s, id, &n);
    if (!err && changed > 0)
        dispatch(s, STORE_NOTIFY_READ, &n);
    notification_clear(&n);
    return err;
}

int store_notify_mark_all_read(struct store *s, const char *source)
{
    sqlite3_stmt *st = NULL;
    if (!s)
        return FASTN_ERR_INVAL;
    int err = prepare_for_source(s,
                                 "UPDATE notifications SET read = 1 WHERE "
                                 "read = 0 AND (?1 IS NULL OR source = ?1)",
                                 source, &st);
    if (err)
        return err;
    err = store__err(sqlite3_step(st));
    sqlite3_finalize(st);
    if (err)
        return err;
    int changed = sqlite3_changes(s->db);
    if (changed > 0)
        dispatch(s, STORE_NOTIFY_ALL_READ, NULL);
    return changed;
}

int store_notify_delete(struct store *s, int64_t id)
{
    struct store_notification n = {0};
    if (!s)
        return FASTN_ERR_INVAL;
    int err = get_notification(s, id, &n);
    if (err)
        goto out;
    int changed =
        run_id_stmt(s, "DELETE FROM notifications WHERE id = ?1", id, 0);
    if (changed < 0)
        err = changed;
    else if (changed == 0)
        err = FASTN_ERR_NOT_FOUND;
    else
        dispatch(s, STORE_NOTIFY_DELETED, &n);
out:
    notification_clear(&n);
    return err;
}

int store_notify_unread_count(struct store *s, const char *source)
{
    sqlite3_stmt *st = NULL;
    if (!s)
        return FASTN_ERR_INVAL;
    int err = prepare_for_source(s,
                                 "SELECT count(*) FROM notifications WHERE "
                                 "read = 0 AND (?1 IS NULL OR source = ?1)",
                                 source, &st);
    if (err)
        return err;
    int rc = sqlite3_step(st);
    int64_t count = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    err = rc == SQLITE_ROW ? 0 : store__err(rc);
    sqlite3_finalize(st);
    if (err)
        return err;
    return count > 0x7fffffff ? 0x7fffffff : (int)count;
}
