/*
 * The mailbox: folders and messages in the plugin's SQLite database,
 * reached only through the plugin SQL ABI (include/fastn/plugin.h's
 * fastn_sql_* calls; natively sql_native.c maps them onto src/store).
 *
 * A message's bytes are a `body` row and its `chunk` rows (MAIL_CHUNK
 * bytes each, the ABI takes at most 1 MiB in one value); `message` rows
 * put a body in a folder with a UID, flags, INTERNALDATE and MODSEQ, so
 * COPY shares the bytes and a body is freed when no message refers to it.
 * UIDs grow by one per message in a folder (folder.uidnext) and are never
 * reused; UIDVALIDITY is unique per folder incarnation (meta
 * 'uidvalidity' keeps the last one given). Statements are prepared once
 * and reset after each use, as the ABI keeps them across events.
 */
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "fastn/plugin.h"
#include "mail.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER);"
    "CREATE TABLE IF NOT EXISTS folder("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " special TEXT NOT NULL DEFAULT '', uidvalidity INTEGER NOT NULL,"
    " uidnext INTEGER NOT NULL DEFAULT 1,"
    " highestmodseq INTEGER NOT NULL DEFAULT 1,"
    " subscribed INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE IF NOT EXISTS body("
    " id INTEGER PRIMARY KEY, size INTEGER NOT NULL DEFAULT 0,"
    " complete INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS chunk("
    " body INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,"
    " PRIMARY KEY(body, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS message("
    " folder INTEGER NOT NULL, uid INTEGER NOT NULL,"
    " body INTEGER NOT NULL, flags INTEGER NOT NULL DEFAULT 0,"
    " internaldate INTEGER NOT NULL, modseq INTEGER NOT NULL,"
    " PRIMARY KEY(folder, uid)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS message_body ON message(body);"
    /* the plugin's delivery queue refers to bodies too (deliver.c) */
    "CREATE TABLE IF NOT EXISTS outbox("
    " id INTEGER PRIMARY KEY, msg_id TEXT NOT NULL, peer TEXT NOT NULL,"
    " body INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    " next_try INTEGER NOT NULL, created INTEGER NOT NULL,"
    " last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS outbox_body ON outbox(body);";

enum stmt_id {
    ST_META_GET,
    ST_META_SET,
    ST_FOLDER_INSERT,
    ST_FOLDER_GET,
    ST_FOLDER_LIST,
    ST_FOLDER_DELETE,
    ST_FOLDER_RENAME,
    ST_FOLDER_SUB,
    ST_FOLDER_RESERVE,
    ST_FOLDER_MODSEQ,
    ST_MSG_DELETE_ALL,
    ST_BODY_INSERT,
    ST_BODY_DONE,
    ST_CHUNK_INSERT,
    ST_MSG_INSERT,
    ST_UIDS,
    ST_FETCH,
    ST_COUNT,
    ST_READ,
    ST_FLAGS,
    ST_MSG_DELETE_RANGE,
    ST_EXPUNGE_LIST,
    ST_EXPUNGE,
    ST_GC_CHUNKS,
    ST_GC_BODIES,
    ST_PARTIAL_CHUNKS,
    ST_PARTIAL_BODY,
    ST_BODY_COMPLETE,
    ST_COUNT_STMTS
};

#define FOLDER_COLS                                                            \
    "SELECT f.id, f.name, f.special, f.uidvalidity, f.uidnext,"                \
    " f.highestmodseq, f.subscribed,"                                          \
    " (SELECT count(*) FROM message m WHERE m.folder = f.id),"                 \
    " (SELECT count(*) FROM message m WHERE m.folder = f.id"                   \
    "  AND (m.flags & 1) = 0) FROM folder f "
#define NEW_FLAGS                                                              \
    "CASE ?4 WHEN 1 THEN flags | ?5 WHEN -1 THEN flags & ~?5 "                 \
    "ELSE ?5 END"
#define ORPHAN                                                                 \
    "SELECT 1 FROM message m WHERE m.body = b.id UNION ALL "                   \
    "SELECT 1 FROM outbox o WHERE o.body = b.id"

static const char *const sql_text[ST_COUNT_STMTS] = {
    [ST_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [ST_META_SET] = "INSERT INTO meta(k, v) VALUES(?1, ?2) "
                    "ON CONFLICT(k) DO UPDATE SET v = excluded.v",
    [ST_FOLDER_INSERT] = "INSERT INTO folder(name, special, uidvalidity) "
                         "VALUES(?1, ?2, ?3)",
    [ST_FOLDER_GET] = FOLDER_COLS "WHERE f.name = ?1",
    [ST_FOLDER_LIST] = FOLDER_COLS "ORDER BY f.name",
    [ST_FOLDER_DELETE] = "DELETE FROM folder WHERE id = ?1",
    /* the folder and every folder under it */
    [ST_FOLDER_RENAME] =
        "UPDATE folder SET name = ?2 || substr(name, length(?1) + 1) "
        "WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '/'",
    [ST_FOLDER_SUB] = "UPDATE folder SET subscribed = ?2 WHERE name = ?1",
    [ST_FOLDER_RESERVE] = "UPDATE folder SET uidnext = uidnext + ?2, "
                          "highestmodseq = highestmodseq + 1 WHERE id = ?1 "
                          "RETURNING uidnext - ?2, highestmodseq",
    [ST_FOLDER_MODSEQ] = "UPDATE folder SET highestmodseq = highestmodseq + 1 "
                         "WHERE id = ?1 RETURNING highestmodseq",
    [ST_MSG_DELETE_ALL] = "DELETE FROM message WHERE folder = ?1",
    [ST_BODY_INSERT] = "INSERT INTO body(size, complete) VALUES(0, 0)",
    [ST_BODY_DONE] = "UPDATE body SET size = ?2, complete = 1 WHERE id = ?1",
    /* OR REPLACE: a write retried after an ambiguous error (below) */
    [ST_CHUNK_INSERT] = "INSERT OR REPLACE INTO chunk(body, seq, data) "
                        "VALUES(?1, ?2, ?3)",
    [ST_MSG_INSERT] = "INSERT INTO message(folder, uid, body, flags, "
                      "internaldate, modseq) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_UIDS] = "SELECT uid FROM message WHERE folder = ?1 ORDER BY uid",
    [ST_FETCH] = "SELECT m.uid, m.body, m.flags, m.internaldate, b.size, "
                 "m.modseq FROM message m JOIN body b ON b.id = m.body "
                 "WHERE m.folder = ?1 AND m.uid BETWEEN ?2 AND ?3 "
                 "ORDER BY m.uid",
    [ST_COUNT] = "SELECT count(*) FROM message WHERE folder = ?1 "
                 "AND uid BETWEEN ?2 AND ?3",
    [ST_READ] = "SELECT substr(data, ?3, ?4) FROM chunk "
                "WHERE body = ?1 AND seq = ?2",
    [ST_FLAGS] = "UPDATE message SET flags = " NEW_FLAGS ", modseq = ?6 "
                 "WHERE folder = ?1 AND uid BETWEEN ?2 AND ?3 "
                 "AND flags != " NEW_FLAGS,
    [ST_MSG_DELETE_RANGE] = "DELETE FROM message WHERE folder = ?1 "
                            "AND uid BETWEEN ?2 AND ?3",
    [ST_EXPUNGE_LIST] = "SELECT uid FROM message WHERE folder = ?1 AND uid "
                        "BETWEEN ?2 AND ?3 AND (flags & 8) != 0 ORDER BY uid",
    [ST_EXPUNGE] = "DELETE FROM message WHERE folder = ?1 AND uid "
                   "BETWEEN ?2 AND ?3 AND (flags & 8) != 0",
    /* bodies no message refers to: freed; half-written ones (complete =
     * 0) only when ?1 says so (at open, when no append can be running) */
    /* chunks go 16 at a time (1 MiB): each call stays far within the
     * host's time for one SQL call whatever the message's size; bodies
     * first (CROSS JOIN keeps that order), so only their chunks are read */
    [ST_GC_CHUNKS] =
        "DELETE FROM chunk WHERE (body, seq) IN (SELECT c.body, c.seq "
        "FROM body b CROSS JOIN chunk c ON c.body = b.id WHERE "
        "(b.complete = 1 OR ?1) AND NOT EXISTS (" ORPHAN ") LIMIT ?2)",
    [ST_GC_BODIES] = "DELETE FROM body AS b WHERE (b.complete = 1 OR ?1) "
                     "AND NOT EXISTS (" ORPHAN ")",
    [ST_PARTIAL_CHUNKS] =
        "DELETE FROM chunk WHERE (body, seq) IN (SELECT body, seq FROM chunk "
        "WHERE body = ?1 AND EXISTS (SELECT 1 FROM body WHERE id = ?1 AND "
        "complete = 0) LIMIT ?2)",
    [ST_PARTIAL_BODY] = "DELETE FROM body WHERE id = ?1 AND complete = 0",
    [ST_BODY_COMPLETE] = "SELECT complete FROM body WHERE id = ?1",
};

static int32_t stmts[ST_COUNT_STMTS];

/* The statement, prepared once, reset and ready to bind. */
static int32_t st(enum stmt_id id)
{
    if (stmts[id] <= 0) {
        stmts[id] = fastn_sql_prepare(sql_text[id], strlen(sql_text[id]));
        if (stmts[id] <= 0) {
            int32_t err = stmts[id];
            stmts[id] = 0;
            return err;
        }
    }
    fastn_sql_reset(stmts[id]);
    return stmts[id];
}

/* Steps a statement that returns no row (or whose rows are not read) and
 * resets it. Returns 0 or the error. */
static int run(int32_t s)
{
    int32_t rc;
    if (s < 0)
        return s;
    rc = fastn_sql_step(s);
    fastn_sql_reset(s);
    return rc < 0 ? rc : 0;
}

/* Runs a statement whose one parameter is an id. */
static int run_id(enum stmt_id id, int64_t v)
{
    int32_t s = st(id);
    if (s < 0)
        return s;
    fastn_sql_bind_int64(s, 1, v);
    return run(s);
}

/* Runs a batched DELETE (bound to v, at most ?2 rows a batch) until it
 * deletes nothing more. A batch stopped at its time undid itself: it is
 * tried again at half the size (a few 64 KiB chunks can take past the
 * 5 ms a statement has on a slow machine), and given up after 8 tries
 * of one row. */
static int run_batches(enum stmt_id id, int64_t v)
{
    int tries = 0, batch = 16;

    for (int k = 0; k < 1000000; k++) {
        int32_t s = st(id);
        int err;

        if (s < 0)
            return s;
        fastn_sql_bind_int64(s, 1, v);
        fastn_sql_bind_int64(s, 2, batch);
        err = run(s);
        if (err == FASTN_ERR_STORE_TIMEOUT) {
            if (batch > 1)
                batch /= 2;
            else if (++tries >= 8)
                return err;
            continue;
        }
        if (err)
            return err;
        tries = 0;
        if (fastn_sql_changes() == 0)
            return 0;
    }
    return 0;
}

static int txn_begin(void)
{
    return fastn_sql_exec_str("BEGIN IMMEDIATE");
}

char mail_store_why[200];

/* Commits, or rolls back after err; SQLite's words for a failure are
 * kept in mail_store_why (the rollback's would replace them). */
static int txn_end(int err)
{
    if (!err && (err = fastn_sql_exec_str("COMMIT")) == 0)
        return 0;
    fastn_sql_errmsg(mail_store_why, sizeof(mail_store_why));
    fastn_sql_exec_str("ROLLBACK");
    return err;
}

/* --- folders ---------------------------------------------------------- */

static bool name_ok(const char *n)
{
    size_t len = strlen(n);

    if (len == 0 || len > MAIL_FOLDER_NAME_MAX || n[0] == MAIL_FOLDER_DELIM ||
        n[len - 1] == MAIL_FOLDER_DELIM)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)n[i];
        if (c < 0x20 || c == 0x7f || c == '%' || c == '*' ||
            (c == MAIL_FOLDER_DELIM && n[i + 1] == MAIL_FOLDER_DELIM))
            return false;
    }
    return true;
}

/* INBOX in any case is INBOX (RFC 3501 5.1). */
static const char *canon(const char *n)
{
    return mail_ieq(n, strlen(n), "INBOX") ? "INBOX" : n;
}

/* A UIDVALIDITY never given before: max(now, last + 1). */
static int next_uidvalidity(int64_t now, uint32_t *out)
{
    int32_t s = st(ST_META_GET);
    int64_t last = 0, v;
    int32_t rc;

    if (s < 0)
        return s;
    fastn_sql_bind_str(s, 1, "uidvalidity");
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW)
        last = fastn_sql_column_int64(s, 0);
    fastn_sql_reset(s);
    if (rc < 0)
        return rc;
    v = now > last ? now : last + 1;
    if (v <= 0 || v > (int64_t)UINT32_MAX)
        v = last + 1 <= (int64_t)UINT32_MAX ? last + 1 : 1;
    *out = (uint32_t)v;
    if ((s = st(ST_META_SET)) < 0)
        return s;
    fastn_sql_bind_str(s, 1, "uidvalidity");
    fastn_sql_bind_int64(s, 2, v);
    return run(s);
}

static int folder_insert(const char *name, const char *special, int64_t now)
{
    uint32_t uv;
    int err = next_uidvalidity(now, &uv);
    int32_t s;

    if (err)
        return err;
    if ((s = st(ST_FOLDER_INSERT)) < 0)
        return s;
    fastn_sql_bind_str(s, 1, name);
    fastn_sql_bind_str(s, 2, special);
    fastn_sql_bind_int64(s, 3, uv);
    err = run(s);
    return err == FASTN_ERR_STORE_CONSTRAINT ? FASTN_ERR_EXISTS : err;
}

static void folder_row(int32_t s, struct mail_folder *f)
{
    memset(f, 0, sizeof(*f));
    f->id = fastn_sql_column_int64(s, 0);
    fastn_sql_column_str(s, 1, f->name, sizeof(f->name));
    fastn_sql_column_str(s, 2, f->special, sizeof(f->special));
    f->uidvalidity = (uint32_t)fastn_sql_column_int64(s, 3);
    f->uidnext = (uint32_t)fastn_sql_column_int64(s, 4);
    f->highestmodseq = (uint64_t)fastn_sql_column_int64(s, 5);
    f->subscribed = fastn_sql_column_int64(s, 6) != 0;
    f->messages = (uint32_t)fastn_sql_column_int64(s, 7);
    f->unseen = (uint32_t)fastn_sql_column_int64(s, 8);
}

int mail_store_folder_get(const char *name, struct mail_folder *out)
{
    int32_t s = st(ST_FOLDER_GET), rc;

    if (s < 0)
        return s;
    fastn_sql_bind_str(s, 1, canon(name));
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW)
        folder_row(s, out);
    fastn_sql_reset(s);
    if (rc < 0)
        return rc;
    return rc == FASTN_SQL_ROW ? 0 : FASTN_ERR_NOT_FOUND;
}

int mail_store_open(int64_t now)
{
    static const char *const defaults[][2] = {
        {"INBOX", ""},        {"Sent", "\\Sent"},       {"Drafts", "\\Drafts"},
        {"Trash", "\\Trash"}, {"Archive", "\\Archive"},
    };
    struct mail_folder f;
    int err = fastn_sql_exec(schema, strlen(schema));

    memset(stmts, 0, sizeof(stmts));
    if (err)
        return err;
    for (size_t k = 0; k < sizeof(defaults) / sizeof(defaults[0]); k++) {
        err = mail_store_folder_get(defaults[k][0], &f);
        if (err == FASTN_ERR_NOT_FOUND)
            err = folder_insert(defaults[k][0], defaults[k][1], now);
        if (err)
            return err;
    }
    /* an append a crash cut short: its chunks and body go */
    if ((err = run_batches(ST_GC_CHUNKS, 1)) != 0)
        return err;
    return run_id(ST_GC_BODIES, 1);
}

int mail_store_folder_create(const char *name, int64_t now)
{
    if (!name_ok(name))
        return FASTN_ERR_INVAL;
    return folder_insert(canon(name), "", now);
}

static int gc(void)
{
    int err = run_batches(ST_GC_CHUNKS, 0);
    return err ? err : run_id(ST_GC_BODIES, 0);
}

int mail_store_gc(void)
{
    return gc();
}

int mail_store_folder_delete(const char *name)
{
    struct mail_folder f;
    int err;

    name = canon(name);
    if (strcmp(name, "INBOX") == 0)
        return FASTN_ERR_PERM;
    if ((err = txn_begin()) != 0)
        return err;
    err = mail_store_folder_get(name, &f);
    if (!err)
        err = run_id(ST_MSG_DELETE_ALL, f.id);
    if (!err)
        err = run_id(ST_FOLDER_DELETE, f.id);
    if ((err = txn_end(err)) != 0)
        return err;
    /* after the commit: a GC batch stopped at its time inside a
     * transaction would undo the whole transaction (SQLite's interrupt);
     * bodies it leaves go at the next GC */
    gc();
    return 0;
}

int mail_store_folder_rename(const char *from, const char *to, int64_t now)
{
    struct mail_folder f;
    int err;
    int32_t s;

    (void)now;
    from = canon(from);
    to = canon(to);
    if (strcmp(from, "INBOX") == 0 || strcmp(to, "INBOX") == 0)
        return FASTN_ERR_PERM;
    if (!name_ok(to))
        return FASTN_ERR_INVAL;
    if ((err = mail_store_folder_get(from, &f)) != 0)
        return err;
    if (mail_store_folder_get(to, &f) == 0)
        return FASTN_ERR_EXISTS;
    if ((s = st(ST_FOLDER_RENAME)) < 0)
        return s;
    fastn_sql_bind_str(s, 1, from);
    fastn_sql_bind_str(s, 2, to);
    err = run(s);
    return err == FASTN_ERR_STORE_CONSTRAINT ? FASTN_ERR_EXISTS : err;
}

int mail_store_folder_subscribe(const char *name, bool on)
{
    int32_t s = st(ST_FOLDER_SUB);
    int err;

    if (s < 0)
        return s;
    fastn_sql_bind_str(s, 1, canon(name));
    fastn_sql_bind_int64(s, 2, on);
    if ((err = run(s)) != 0)
        return err;
    return fastn_sql_changes() ? 0 : FASTN_ERR_NOT_FOUND;
}

int mail_store_folder_list(int (*cb)(void *ctx, const struct mail_folder *f),
                           void *ctx)
{
    int32_t s = st(ST_FOLDER_LIST), rc = 0;
    struct mail_folder f;
    int r = 0;

    if (s < 0)
        return s;
    while (r == 0 && (rc = fastn_sql_step(s)) == FASTN_SQL_ROW) {
        folder_row(s, &f);
        r = cb(ctx, &f);
    }
    fastn_sql_reset(s);
    return r ? r : (rc < 0 ? rc : 0);
}

/* --- appending -------------------------------------------------------- */

int mail_store_append_begin(struct mail_append *a, const char *folder,
                            unsigned flags, int64_t date, uint64_t max_size)
{
    struct mail_folder f;
    int err = mail_store_folder_get(folder, &f);
    int32_t s;

    memset(a, 0, offsetof(struct mail_append, buf));
    if (err)
        return err;
    if ((s = st(ST_BODY_INSERT)) < 0)
        return s;
    if ((err = run(s)) != 0)
        return err;
    a->folder = f.id;
    a->body = fastn_sql_last_insert_rowid();
    a->flags = flags & ~(unsigned)MAIL_FLAG_RECENT;
    a->date = date;
    a->max_size = max_size ? max_size : MAIL_SMTP_SIZE_DEFAULT;
    return 0;
}

/* A call stopped at its time (FASTN_ERR_STORE_TIMEOUT) undid its
 * statement, or, when it was stopped in the checkpoint after its commit,
 * did not: either way writing the chunk again is right (OR REPLACE), and
 * the checkpoint goes on from where it stopped. */
#define CHUNK_TRIES 3

static int chunk_write(struct mail_append *a)
{
    int err = FASTN_ERR_STORE_TIMEOUT;

    for (int t = 0; t < CHUNK_TRIES && err == FASTN_ERR_STORE_TIMEOUT; t++) {
        int32_t s = st(ST_CHUNK_INSERT);
        if (s < 0)
            return s;
        fastn_sql_bind_int64(s, 1, a->body);
        fastn_sql_bind_int64(s, 2, a->seq);
        fastn_sql_bind_blob(s, 3, a->buf, a->fill);
        err = run(s);
    }
    if (err)
        return err;
    a->seq++;
    a->fill = 0;
    return 0;
}

/* Did the transaction that completes a's body commit after all? (A
 * COMMIT stopped in its checkpoint reports an error for a commit made.) */
static bool body_complete(const struct mail_append *a)
{
    int32_t s = st(ST_BODY_COMPLETE), rc;
    bool done = false;

    if (s < 0)
        return false;
    fastn_sql_bind_int64(s, 1, a->body);
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW)
        done = fastn_sql_column_int64(s, 0) == 1;
    fastn_sql_reset(s);
    return done;
}

int mail_store_append_feed(struct mail_append *a, const uint8_t *p, size_t n,
                           size_t *used)
{
    int err = 0;
    *used = 0;
    if (a->failed)
        return a->failed; /* the append is over: abort it */
    if (n > a->max_size - a->size)
        return a->failed = FASTN_ERR_TOO_LARGE;
    if (a->fill == sizeof(a->buf)) /* a chunk an earlier call left */
        err = chunk_write(a);
    while (!err && *used < n) {
        size_t k = sizeof(a->buf) - a->fill;
        if (k > n - *used)
            k = n - *used;
        memcpy(a->buf + a->fill, p + *used, k);
        a->fill += k;
        *used += k;
        if (a->fill == sizeof(a->buf))
            err = chunk_write(a);
    }
    a->size += *used;
    if (err && err != FASTN_ERR_STORE_TIMEOUT)
        a->failed = err;
    return err;
}

int mail_store_append_data(struct mail_append *a, const uint8_t *p, size_t n)
{
    size_t used;
    int err = mail_store_append_feed(a, p, n, &used);
    if (err)
        a->failed = err;
    return err;
}

/* Reserves n UIDs in a folder and a new MODSEQ: the first UID. */
static int reserve_uids(int64_t folder, uint32_t n, uint32_t *first,
                        uint64_t *modseq)
{
    int32_t s = st(ST_FOLDER_RESERVE), rc;

    if (s < 0)
        return s;
    fastn_sql_bind_int64(s, 1, folder);
    fastn_sql_bind_int64(s, 2, n);
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW) {
        int64_t u = fastn_sql_column_int64(s, 0);
        *modseq = (uint64_t)fastn_sql_column_int64(s, 1);
        /* RFC 3501 2.3.1.1: UIDs are 32-bit; past that, a new folder */
        if (u <= 0 || u + n > (int64_t)UINT32_MAX)
            rc = FASTN_ERR_OVERFLOW;
        *first = (uint32_t)u;
    }
    fastn_sql_reset(s);
    if (rc < 0)
        return rc;
    return rc == FASTN_SQL_ROW ? 0 : FASTN_ERR_NOT_FOUND;
}

static int msg_insert(int64_t folder, uint32_t uid, int64_t body,
                      unsigned flags, int64_t date, uint64_t modseq)
{
    int32_t s = st(ST_MSG_INSERT);

    if (s < 0)
        return s;
    fastn_sql_bind_int64(s, 1, folder);
    fastn_sql_bind_int64(s, 2, uid);
    fastn_sql_bind_int64(s, 3, body);
    fastn_sql_bind_int64(s, 4, flags);
    fastn_sql_bind_int64(s, 5, date);
    fastn_sql_bind_int64(s, 6, (int64_t)modseq);
    return run(s);
}

int mail_store_append_end(struct mail_append *a, uint32_t *uid)
{
    return mail_store_append_end_with(a, uid, NULL, NULL);
}

int mail_store_append_end_with(struct mail_append *a, uint32_t *uid,
                               int (*in_txn)(void *ctx, int64_t body,
                                             uint32_t uid),
                               void *ctx)
{
    uint64_t modseq = 0;
    int32_t s;
    int err = a->failed ? a->failed : a->fill ? chunk_write(a) : 0;

    if (err || (err = txn_begin()) != 0)
        return a->failed = err;
    err = reserve_uids(a->folder, 1, uid, &modseq);
    if (!err)
        err = msg_insert(a->folder, *uid, a->body, a->flags, a->date, modseq);
    if (!err && in_txn)
        err = in_txn(ctx, a->body, *uid);
    if (!err) {
        if ((s = st(ST_BODY_DONE)) < 0)
            err = s;
        else {
            fastn_sql_bind_int64(s, 1, a->body);
            fastn_sql_bind_int64(s, 2, (int64_t)a->size);
            err = run(s);
        }
    }
    err = txn_end(err);
    if (err && body_complete(a))
        err = 0; /* committed; only what followed the commit failed */
    if (err)
        a->failed = err;
    return err;
}

void mail_store_append_abort(struct mail_append *a)
{
    /* if this fails, mail_store_open drops the body after a restart */
    if (a->body && run_batches(ST_PARTIAL_CHUNKS, a->body) == 0)
        run_id(ST_PARTIAL_BODY, a->body);
    a->body = 0;
    a->fill = 0;
}

/* --- reading ---------------------------------------------------------- */

static void bind_range(int32_t s, int64_t folder, uint32_t lo, uint32_t hi)
{
    fastn_sql_bind_int64(s, 1, folder);
    fastn_sql_bind_int64(s, 2, lo);
    fastn_sql_bind_int64(s, 3, hi);
}

int mail_store_uids(int64_t folder, uint32_t *uids, size_t max)
{
    int32_t s = st(ST_UIDS), rc;
    size_t n = 0;

    if (s < 0)
        return s;
    fastn_sql_bind_int64(s, 1, folder);
    while ((rc = fastn_sql_step(s)) == FASTN_SQL_ROW) {
        if (n < max)
            uids[n] = (uint32_t)fastn_sql_column_int64(s, 0);
        n++;
    }
    fastn_sql_reset(s);
    return rc < 0 ? rc : (int)n;
}

int mail_store_fetch(int64_t folder, uint32_t lo, uint32_t hi,
                     int (*cb)(void *ctx, const struct mail_msg *m), void *ctx)
{
    int32_t s = st(ST_FETCH), rc = 0;
    struct mail_msg m;
    int r = 0;

    if (s < 0)
        return s;
    bind_range(s, folder, lo, hi);
    while (r == 0 && (rc = fastn_sql_step(s)) == FASTN_SQL_ROW) {
        m.uid = (uint32_t)fastn_sql_column_int64(s, 0);
        m.body = fastn_sql_column_int64(s, 1);
        m.flags = (unsigned)fastn_sql_column_int64(s, 2);
        m.internaldate = fastn_sql_column_int64(s, 3);
        m.size = (uint64_t)fastn_sql_column_int64(s, 4);
        m.modseq = (uint64_t)fastn_sql_column_int64(s, 5);
        r = cb(ctx, &m);
    }
    fastn_sql_reset(s);
    return r ? r : (rc < 0 ? rc : 0);
}

int mail_store_read(int64_t body, uint64_t offset, uint8_t *buf, size_t cap)
{
    int32_t s = st(ST_READ), rc, n = 0;
    uint64_t in = offset % MAIL_CHUNK;

    if (s < 0)
        return s;
    if (cap > MAIL_CHUNK - in)
        cap = (size_t)(MAIL_CHUNK - in); /* one chunk per call */
    fastn_sql_bind_int64(s, 1, body);
    fastn_sql_bind_int64(s, 2, (int64_t)(offset / MAIL_CHUNK));
    fastn_sql_bind_int64(s, 3, (int64_t)in + 1); /* substr counts from 1 */
    fastn_sql_bind_int64(s, 4, (int64_t)cap);
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW)
        n = fastn_sql_column_bytes(s, 0, buf, cap);
    fastn_sql_reset(s);
    if (rc < 0)
        return rc;
    return n < 0 ? n : (n > (int32_t)cap ? (int)cap : n);
}

/* --- changing --------------------------------------------------------- */

static int new_modseq(int64_t folder, uint64_t *modseq)
{
    int32_t s = st(ST_FOLDER_MODSEQ), rc;

    if (s < 0)
        return s;
    fastn_sql_bind_int64(s, 1, folder);
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW)
        *modseq = (uint64_t)fastn_sql_column_int64(s, 0);
    fastn_sql_reset(s);
    if (rc < 0)
        return rc;
    return rc == FASTN_SQL_ROW ? 0 : FASTN_ERR_NOT_FOUND;
}

int mail_store_flags(int64_t folder, uint32_t lo, uint32_t hi, int op,
                     unsigned flags)
{
    uint64_t modseq = 0;
    int err, changed = 0;
    int32_t s;

    flags &= ~(unsigned)MAIL_FLAG_RECENT;
    if ((err = txn_begin()) != 0)
        return err;
    err = new_modseq(folder, &modseq);
    if (!err && (s = st(ST_FLAGS)) < 0)
        err = s;
    if (!err) {
        bind_range(s, folder, lo, hi);
        fastn_sql_bind_int64(s, 4, op > 0 ? 1 : op < 0 ? -1 : 0);
        fastn_sql_bind_int64(s, 5, flags);
        fastn_sql_bind_int64(s, 6, (int64_t)modseq);
        err = run(s);
        changed = fastn_sql_changes();
    }
    err = txn_end(err);
    return err ? err : changed;
}

static int count_range(int64_t folder, uint32_t lo, uint32_t hi)
{
    int32_t s = st(ST_COUNT), rc;
    int n = 0;

    if (s < 0)
        return s;
    bind_range(s, folder, lo, hi);
    rc = fastn_sql_step(s);
    if (rc == FASTN_SQL_ROW)
        n = (int)fastn_sql_column_int64(s, 0);
    fastn_sql_reset(s);
    return rc < 0 ? rc : n;
}

struct copy_ctx {
    int64_t dst;
    uint32_t next;
    uint64_t modseq;
    void (*cb)(void *ctx, uint32_t from, uint32_t to);
    void *ctx;
};

static int copy_one(void *ctx, const struct mail_msg *m)
{
    struct copy_ctx *c = ctx;
    uint32_t uid = c->next++;
    int err =
        msg_insert(c->dst, uid, m->body, m->flags, m->internaldate, c->modseq);
    if (!err && c->cb)
        c->cb(c->ctx, m->uid, uid);
    return err;
}

int mail_store_copy(int64_t folder, uint32_t lo, uint32_t hi, const char *dst,
                    bool move,
                    void (*cb)(void *ctx, uint32_t from, uint32_t to),
                    void *ctx)
{
    struct mail_folder f;
    struct copy_ctx c = {0, 0, 0, cb, ctx};
    int err, n;

    if ((err = txn_begin()) != 0)
        return err;
    err = mail_store_folder_get(dst, &f);
    n = err ? 0 : count_range(folder, lo, hi);
    if (n < 0)
        err = n;
    c.dst = f.id;
    if (!err && n > 0)
        err = reserve_uids(f.id, (uint32_t)n, &c.next, &c.modseq);
    if (!err && n > 0)
        err = mail_store_fetch(folder, lo, hi, copy_one, &c);
    if (!err && move && n > 0) {
        int32_t s = st(ST_MSG_DELETE_RANGE);
        if (s < 0)
            err = s;
        else {
            bind_range(s, folder, lo, hi);
            err = run(s);
        }
    }
    err = txn_end(err);
    return err ? err : n;
}

int mail_store_expunge(int64_t folder, uint32_t lo, uint32_t hi,
                       void (*cb)(void *ctx, uint32_t uid), void *ctx)
{
    int32_t s, rc = 0;
    int err, n = 0;

    if ((err = txn_begin()) != 0)
        return err;
    if ((s = st(ST_EXPUNGE_LIST)) < 0)
        return txn_end(s);
    bind_range(s, folder, lo, hi);
    while ((rc = fastn_sql_step(s)) == FASTN_SQL_ROW) {
        if (cb)
            cb(ctx, (uint32_t)fastn_sql_column_int64(s, 0));
        n++;
    }
    fastn_sql_reset(s);
    err = rc < 0 ? rc : 0;
    if (!err && (s = st(ST_EXPUNGE)) < 0)
        err = s;
    if (!err) {
        bind_range(s, folder, lo, hi);
        err = run(s);
    }
    err = txn_end(err);
    if (!err)
        gc(); /* after the commit, as in mail_store_folder_delete */
    return err ? err : n;
}
