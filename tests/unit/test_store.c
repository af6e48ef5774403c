/* Unit tests for src/store: state.sqlite (notifications, subscribers,
 * quarantine, durability across kill -9) and plugin databases (the
 * authorizer, the quota, the work limit, statement handles). */
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/stat.h>

#include "store/store.h"
#include "test.h"

static char tmpdir[64];

static const char *tmp_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fastn-store-XXXXXX");
    if (!mkdtemp(tmpdir))
        abort();
    return tmpdir;
}

static void tmp_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static struct store *open_state(void)
{
    char path[128];
    struct store *s = NULL;
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    CHECK_ERR(store_open(path, NULL, &s), 0);
    return s;
}

static mode_t file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 0777 : 0;
}

/* --- notifications --- */

TEST(notify_add_list_read)
{
    tmp_setup();
    struct store *s = open_state();
    int64_t id1 = 0, id2 = 0;
    CHECK_ERR(
        store_notify_add(s, 1000, "chat", "Message from A", "hi\nthere", &id1),
        0);
    CHECK_ERR(store_notify_add(s, 2000, "mail", "Mail", "", &id2), 0);
    CHECK(id1 > 0 && id2 > id1);
    CHECK_EQ(store_notify_unread_count(s, NULL), 2);
    CHECK_EQ(store_notify_unread_count(s, "chat"), 1);

    struct store_notification *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_notify_list(s, NULL, &v, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(v[0].id, id1);
    CHECK_EQ(v[0].time_ms, 1000);
    CHECK_STR(v[0].source, "chat");
    CHECK_STR(v[0].title, "Message from A");
    CHECK_STR(v[0].body, "hi\nthere");
    CHECK(!v[0].read);
    store_notifications_free(v, n);

    CHECK_ERR(store_notify_mark_read(s, id1, true), 0);
    CHECK_EQ(store_notify_unread_count(s, NULL), 1);
    struct store_notify_query q = {.unread_only = true};
    CHECK_ERR(store_notify_list(s, &q, &v, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(v[0].id, id2);
    store_notifications_free(v, n);
    CHECK_ERR(store_notify_mark_read(s, 999, true), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_notify_mark_all_read(s, NULL), 1);
    CHECK_EQ(store_notify_unread_count(s, NULL), 0);
    CHECK_EQ(store_notify_mark_all_read(s, NULL), 0);
    CHECK_ERR(store_notify_delete(s, id1), 0);
    CHECK_ERR(store_notify_delete(s, id1), FASTN_ERR_NOT_FOUND);
    store_close(s);
    tmp_cleanup();
}

TEST(notify_query_paging)
{
    tmp_setup();
    struct store *s = open_state();
    int64_t ids[10];
    for (int i = 0; i < 10; i++)
        CHECK_ERR(store_notify_add(s, i, "p", "t", "b", &ids[i]), 0);
    struct store_notification *v = NULL;
    size_t n = 0;
    /* newest 3, in increasing order */
    struct store_notify_query q = {.limit = 3};
    CHECK_ERR(store_notify_list(s, &q, &v, &n), 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(v[0].id, ids[7]);
    CHECK_EQ(v[2].id, ids[9]);
    store_notifications_free(v, n);
    /* paging forward after ids[2] */
    q = (struct store_notify_query){
        .after_id = ids[2], .limit = 2, .oldest_first = true};
    CHECK_ERR(store_notify_list(s, &q, &v, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(v[0].id, ids[3]);
    CHECK_EQ(v[1].id, ids[4]);
    store_notifications_free(v, n);
    /* nothing after the last */
    q = (struct store_notify_query){.after_id = ids[9]};
    CHECK_ERR(store_notify_list(s, &q, &v, &n), 0);
    CHECK_EQ(n, 0);
    CHECK(v == NULL);
    store_close(s);
    tmp_cleanup();
}

TEST(notify_rejects_bad_text)
{
    tmp_setup();
    struct store *s = open_state();
    char big[STORE_BODY_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_ERR(store_notify_add(s, 0, "", "t", "b", NULL), FASTN_ERR_INVAL);
    CHECK_ERR(store_notify_add(s, 0, "p", "", "b", NULL), FASTN_ERR_INVAL);
    CHECK_ERR(store_notify_add(s, 0, "p", "a\nb", "b", NULL), FASTN_ERR_INVAL);
    CHECK_ERR(store_notify_add(s, 0, "p", "t", "\x1b[31m", NULL),
              FASTN_ERR_INVAL);
    CHECK_ERR(store_notify_add(s, 0, "p", "t", "\xc0\xaf", NULL),
              FASTN_ERR_INVAL); /* overlong '/' */
    CHECK_ERR(store_notify_add(s, 0, "p", "t", "\xed\xa0\x80", NULL),
              FASTN_ERR_INVAL); /* surrogate */
    CHECK_ERR(store_notify_add(s, 0, "p", "t", "\xe2\x82", NULL),
              FASTN_ERR_INVAL); /* cut short */
    CHECK_ERR(store_notify_add(s, 0, "p", "t", big, NULL), FASTN_ERR_TOO_LARGE);
    big[STORE_BODY_MAX] = '\0';
    CHECK_ERR(store_notify_add(s, 0, "p", "t", big, NULL), 0);
    CHECK_ERR(
        store_notify_add(s, 0, "p", "caf\xc3\xa9 \xf0\x9f\x98\x80", "ok", NULL),
        0);
    CHECK_EQ(store_notify_unread_count(s, NULL), 2);
    store_close(s);
    tmp_cleanup();
}

TEST(notify_prunes_oldest_read_first)
{
    tmp_setup();
    char path[128];
    struct store *s = NULL;
    struct store_options o = {.notify_max_rows = 3};
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    CHECK_ERR(store_open(path, &o, &s), 0);
    int64_t a, b, c, d;
    CHECK_ERR(store_notify_add(s, 0, "p", "a", "", &a), 0);
    CHECK_ERR(store_notify_add(s, 0, "p", "b", "", &b), 0);
    CHECK_ERR(store_notify_add(s, 0, "p", "c", "", &c), 0);
    CHECK_ERR(store_notify_mark_read(s, b, true), 0);
    CHECK_ERR(store_notify_add(s, 0, "p", "d", "", &d), 0);
    struct store_notification *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_notify_list(s, NULL, &v, &n), 0);
    CHECK_EQ(n, 3); /* b (read) went, a (unread, older) stayed */
    CHECK_EQ(v[0].id, a);
    CHECK_EQ(v[1].id, c);
    CHECK_EQ(v[2].id, d);
    store_notifications_free(v, n);
    store_close(s);
    tmp_cleanup();
}

struct seen {
    int news, reads, all_reads, deletes;
    int64_t last_id;
    char last_title[64];
    struct store *s;
    unsigned self;
};

static void on_event(enum store_notify_event ev,
                     const struct store_notification *n, void *arg)
{
    struct seen *seen = arg;
    switch (ev) {
    case STORE_NOTIFY_NEW:
        seen->news++;
        seen->last_id = n->id;
        snprintf(seen->last_title, sizeof(seen->last_title), "%s", n->title);
        break;
    case STORE_NOTIFY_READ:
        seen->reads += n->read;
        break;
    case STORE_NOTIFY_ALL_READ:
        seen->all_reads++;
        break;
    case STORE_NOTIFY_DELETED:
        seen->deletes++;
        break;
    }
}

/* Unsubscribes itself on the first event. */
static void on_event_once(enum store_notify_event ev,
                          const struct store_notification *n, void *arg)
{
    struct seen *seen = arg;
    on_event(ev, n, arg);
    store_notify_unsubscribe(seen->s, seen->self);
}

TEST(notify_subscribers)
{
    tmp_setup();
    struct store *s = open_state();
    struct seen a = {0}, b = {.s = s};
    unsigned sa, sb;
    CHECK_ERR(store_notify_subscribe(s, on_event, &a, &sa), 0);
    CHECK_ERR(store_notify_subscribe(s, on_event_once, &b, &sb), 0);
    b.self = sb;
    int64_t id;
    CHECK_ERR(store_notify_add(s, 5, "chat", "hello", "x", &id), 0);
    CHECK_EQ(a.news, 1);
    CHECK_EQ(a.last_id, id);
    CHECK_STR(a.last_title, "hello");
    CHECK_EQ(b.news, 1);
    CHECK_ERR(store_notify_add(s, 6, "chat", "again", "y", NULL), 0);
    CHECK_EQ(a.news, 2);
    CHECK_EQ(b.news, 1); /* it unsubscribed inside its callback */
    CHECK_ERR(store_notify_mark_read(s, id, true), 0);
    CHECK_ERR(store_notify_mark_read(s, id, true), 0); /* no change */
    CHECK_EQ(a.reads, 1);
    CHECK_EQ(store_notify_mark_all_read(s, "chat"), 1);
    CHECK_EQ(a.all_reads, 1);
    CHECK_ERR(store_notify_delete(s, id), 0);
    CHECK_EQ(a.deletes, 1);
    store_notify_unsubscribe(s, sa);
    CHECK_ERR(store_notify_add(s, 7, "chat", "late", "", NULL), 0);
    CHECK_EQ(a.news, 2);
    /* a failed add tells nobody */
    CHECK_ERR(store_notify_subscribe(s, on_event, &a, &sa), 0);
    CHECK_ERR(store_notify_add(s, 8, "chat", "", "", NULL), FASTN_ERR_INVAL);
    CHECK_EQ(a.news, 2);
    store_close(s);
    tmp_cleanup();
}

/* A version-1 state.sqlite (no origin column) is upgraded in place, its
 * rows kept; add_once then adds each origin once. */
TEST(state_v1_upgraded_and_add_once)
{
    tmp_setup();
    char path[128];
    sqlite3 *raw = NULL;
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    struct store *s = open_state();
    CHECK_ERR(store_notify_add(s, 1, "old", "kept", "", NULL), 0);
    store_close(s);
    /* back to version 1 by hand */
    CHECK_EQ(sqlite3_open(path, &raw), SQLITE_OK);
    CHECK_EQ(sqlite3_exec(raw,
                          "DROP INDEX notifications_origin;"
                          "ALTER TABLE notifications DROP COLUMN origin;"
                          "DROP INDEX quarantine_peer;"
                          "ALTER TABLE quarantine DROP COLUMN attempts;"
                          "DROP TABLE allowed_peers;"
                          "PRAGMA user_version = 1;",
                          NULL, NULL, NULL),
             SQLITE_OK);
    sqlite3_close(raw);
    s = open_state();
    int64_t id = -1;
    CHECK_EQ(store_notify_unread_count(s, "old"), 1);
    CHECK_ERR(store_notify_add(s, 2, "old", "direct", "", NULL), 0);
    CHECK_EQ(store_notify_add_once(s, 3, "p", "t", "b", "p/x/1", &id), 0);
    CHECK(id > 0);
    CHECK_EQ(store_notify_add_once(s, 3, "p", "t", "b", "p/x/1", &id), 1);
    CHECK_EQ(id, 0);
    CHECK_EQ(store_notify_add_once(s, 3, "p", "t", "b", "p/y/1", NULL), 0);
    CHECK_ERR(store_notify_add_once(s, 3, "p", "t", "b", "", NULL),
              FASTN_ERR_INVAL);
    CHECK_EQ(store_notify_unread_count(s, "p"), 2);
    CHECK_EQ(store_notify_unread_count(s, NULL), 4);
    store_close(s);
    CHECK_EQ(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &st, NULL);
    CHECK(st && sqlite3_step(st) == SQLITE_ROW);
    CHECK_EQ(sqlite3_column_int(st, 0), 3);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    tmp_cleanup();
}

TEST(state_file_private_and_reopened)
{
    tmp_setup();
    char path[128];
    struct store *s = open_state();
    CHECK_ERR(store_notify_add(s, 1, "p", "kept", "", NULL), 0);
    store_close(s);
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    CHECK_EQ(file_mode(path), 0600);
    s = open_state();
    CHECK_EQ(store_notify_unread_count(s, NULL), 1);
    store_close(s);
    tmp_cleanup();
}

/* A notification added just before kill -9 is there after a restart. */
TEST(state_survives_kill9)
{
    tmp_setup();
    pid_t pid = fork();
    if (pid == 0) {
        struct store *s = open_state();
        for (int i = 0; i < 20; i++)
            store_notify_add(s, i, "p", "before the kill", "", NULL);
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    struct store *s = open_state();
    CHECK_EQ(store_notify_unread_count(s, NULL), 20);
    store_close(s);
    tmp_cleanup();
}

TEST(state_rejects_garbage_and_future_schema)
{
    tmp_setup();
    char path[128];
    struct store *s = NULL;
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file. ", f);
    fclose(f);
    CHECK_ERR(store_open(path, NULL, &s), FASTN_ERR_STORE_CORRUPT);
    CHECK(s == NULL);
    unlink(path);
    s = open_state();
    store_close(s);
    /* a newer fastn's schema */
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version=99", 0, 0, 0) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_ERR(store_open(path, NULL, &s), FASTN_ERR_STORE);
    CHECK_ERR(store_open(NULL, NULL, &s), FASTN_ERR_INVAL);
    tmp_cleanup();
}

/* --- quarantine --- */

struct collected {
    uint8_t data[256];
    size_t len;
    int chunks;
};

static int collect_chunk(const uint8_t *p, size_t n, void *arg)
{
    struct collected *c = arg;
    if (c->len + n > sizeof(c->data))
        return FASTN_ERR_TOO_LARGE;
    memcpy(c->data + c->len, p, n);
    c->len += n;
    c->chunks++;
    return 0;
}

TEST(quarantine_roundtrip)
{
    tmp_setup();
    struct store *s = open_state();
    int64_t id;
    CHECK_ERR(store_quarantine_begin(s, 42, "12D3KooWpeer", "/x/1.0.0", &id),
              0);
    CHECK_ERR(store_quarantine_append(s, id, "hello ", 6), 0);
    CHECK_ERR(store_quarantine_append(s, id, "world", 5), 0);
    CHECK_ERR(store_quarantine_finish(s, id, true), 0);
    CHECK_ERR(store_quarantine_append(s, id, "more", 4), FASTN_ERR_CLOSED);
    CHECK_EQ(store_quarantine_total(s), 11);

    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_quarantine_list(s, "/x/1.0.0", &v, &n), 0);
    CHECK_EQ(n, 1);
    CHECK_EQ(v[0].id, id);
    CHECK_EQ(v[0].size, 11);
    CHECK_EQ(v[0].received_ms, 42);
    CHECK_STR(v[0].peer, "12D3KooWpeer");
    CHECK(v[0].finished && v[0].complete);
    store_quarantine_items_free(v, n);
    CHECK_ERR(store_quarantine_list(s, "/other", &v, &n), 0);
    CHECK_EQ(n, 0);

    struct collected c = {0};
    CHECK_ERR(store_quarantine_read(s, id, collect_chunk, &c), 0);
    CHECK_EQ(c.len, 11);
    CHECK_MEM(c.data, "hello world", 11);
    CHECK_EQ(c.chunks, 2);

    CHECK_ERR(store_quarantine_delete(s, id), 0);
    CHECK_EQ(store_quarantine_total(s), 0);
    CHECK_ERR(store_quarantine_delete(s, id), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(store_quarantine_read(s, id, collect_chunk, &c),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(store_quarantine_append(s, 12345, "x", 1), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(store_quarantine_begin(s, 0, "", "/x", &id), FASTN_ERR_INVAL);
    store_close(s);
    tmp_cleanup();
}

TEST(quarantine_caps)
{
    tmp_setup();
    char path[128];
    struct store *s = NULL;
    struct store_options o = {.quarantine_total_max = 100,
                              .quarantine_item_max = 60};
    uint8_t buf[70] = {0};
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    CHECK_ERR(store_open(path, &o, &s), 0);
    int64_t a, b;
    CHECK_ERR(store_quarantine_begin(s, 0, "p", "/x", &a), 0);
    CHECK_ERR(store_quarantine_append(s, a, buf, 50), 0);
    CHECK_ERR(store_quarantine_append(s, a, buf, 20), FASTN_ERR_STORE_QUOTA);
    /* the item was cut off: finished, incomplete, its 50 bytes kept */
    CHECK_ERR(store_quarantine_append(s, a, buf, 1), FASTN_ERR_CLOSED);
    CHECK_ERR(store_quarantine_begin(s, 0, "p", "/x", &b), 0);
    CHECK_ERR(store_quarantine_append(s, b, buf, 51), FASTN_ERR_STORE_QUOTA);
    CHECK_EQ(store_quarantine_total(s), 50);
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_quarantine_list(s, NULL, &v, &n), 0);
    CHECK_EQ(n, 2);
    CHECK(v[0].finished && !v[0].complete);
    CHECK_EQ(v[0].size, 50);
    store_quarantine_items_free(v, n);
    store_close(s);
    tmp_cleanup();
}

/* An item being received when the daemon died is finished, incomplete,
 * with what had been stored. */
TEST(quarantine_after_crash)
{
    tmp_setup();
    pid_t pid = fork();
    if (pid == 0) {
        struct store *s = open_state();
        int64_t id;
        store_quarantine_begin(s, 0, "p", "/x", &id);
        store_quarantine_append(s, id, "abc", 3);
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    waitpid(pid, NULL, 0);
    struct store *s = open_state();
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_quarantine_list(s, NULL, &v, &n), 0);
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK(v[0].finished && !v[0].complete);
        CHECK_EQ(v[0].size, 3);
    }
    CHECK_EQ(store_quarantine_total(s), 3);
    store_quarantine_items_free(v, n);
    store_close(s);
    tmp_cleanup();
}

/* The per-peer and count limits: one peer's items together stop at its
 * limit while another peer's go on; past the count nothing new begins. */
TEST(quarantine_peer_and_count_caps)
{
    tmp_setup();
    char path[128];
    struct store *s = NULL;
    struct store_options o = {.quarantine_total_max = 1000,
                              .quarantine_item_max = 100,
                              .quarantine_peer_max = 150,
                              .quarantine_count_max = 4};
    uint8_t buf[100] = {0};
    snprintf(path, sizeof(path), "%s/state.sqlite", tmpdir);
    CHECK_ERR(store_open(path, &o, &s), 0);
    int64_t a, b, c, d, e;
    CHECK_ERR(store_quarantine_begin(s, 0, "flood", "/x", &a), 0);
    CHECK_ERR(store_quarantine_append(s, a, buf, 100), 0);
    CHECK_ERR(store_quarantine_begin(s, 0, "flood", "/y", &b), 0);
    CHECK_ERR(store_quarantine_append(s, b, buf, 50), 0);
    /* the peer's 150 bytes are held: its next byte is refused */
    CHECK_ERR(store_quarantine_append(s, b, buf, 1), FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(store_quarantine_begin(s, 0, "flood", "/z", &c),
              FASTN_ERR_STORE_QUOTA);
    /* another peer is not held back by it */
    CHECK_ERR(store_quarantine_begin(s, 0, "calm", "/x", &c), 0);
    CHECK_ERR(store_quarantine_append(s, c, buf, 100), 0);
    CHECK_ERR(store_quarantine_begin(s, 0, "calm2", "/x", &d), 0);
    CHECK_EQ(store_quarantine_count(s), 4);
    CHECK_ERR(store_quarantine_begin(s, 0, "calm3", "/x", &e),
              FASTN_ERR_STORE_QUOTA);
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_quarantine_find(s, NULL, "flood", &v, &n), 0);
    CHECK_EQ(n, 2);
    store_quarantine_items_free(v, n);
    CHECK_ERR(store_quarantine_find(s, "/x", "calm", &v, &n), 0);
    CHECK_EQ(n, 1);
    if (n == 1)
        CHECK_EQ(v[0].size, 100);
    store_quarantine_items_free(v, n);
    CHECK_ERR(store_quarantine_delete(s, d), 0);
    CHECK_EQ(store_quarantine_count(s), 3);
    CHECK_EQ(store_quarantine_total(s), 250);
    store_close(s);
    tmp_cleanup();
}

/* Replays begun are counted durably (a repeat is known after a crash);
 * old finished items expire, with the totals. */
TEST(quarantine_attempts_and_expiry)
{
    tmp_setup();
    struct store *s = open_state();
    int64_t a, b, before = -1;
    CHECK_ERR(store_quarantine_begin(s, 1000, "p", "/x", &a), 0);
    CHECK_ERR(store_quarantine_append(s, a, "abc", 3), 0);
    CHECK_ERR(store_quarantine_finish(s, a, true), 0);
    CHECK_ERR(store_quarantine_begin(s, 5000, "p", "/x", &b), 0);
    CHECK_ERR(store_quarantine_append(s, b, "de", 2), 0);
    CHECK_ERR(store_quarantine_attempt(s, a, &before), 0);
    CHECK_EQ(before, 0);
    store_close(s);
    s = open_state();
    CHECK_ERR(store_quarantine_attempt(s, a, &before), 0);
    CHECK_EQ(before, 1);
    CHECK_ERR(store_quarantine_attempt(s, 999, &before), FASTN_ERR_NOT_FOUND);
    struct store_quarantine_item *v = NULL;
    size_t n = 0;
    CHECK_ERR(store_quarantine_list(s, NULL, &v, &n), 0);
    CHECK_EQ(n, 2);
    if (n == 2)
        CHECK(v[0].attempts == 2 && v[1].attempts == 0);
    store_quarantine_items_free(v, n);
    CHECK_EQ(store_quarantine_expire(s, 2000), 1);
    CHECK_EQ(store_quarantine_count(s), 1);
    CHECK_EQ(store_quarantine_total(s), 2);
    CHECK_EQ(store_quarantine_expire(s, 2000), 0);
    store_close(s);
    tmp_cleanup();
}

TEST(peers_allowed)
{
    tmp_setup();
    struct store *s = open_state();
    struct store_blob a = {(const uint8_t *)"\x00\x24peer-a", 8};
    struct store_blob b = {(const uint8_t *)"\x00\x24peer-b", 8};
    struct store_reconnect *v = NULL;
    size_t n = 0;
    CHECK(!store_peer_is_allowed(s, &a));
    CHECK_ERR(store_peer_allow(s, &a, 1), 0);
    CHECK_ERR(store_peer_allow(s, &a, 2), 1);
    CHECK(store_peer_is_allowed(s, &a));
    CHECK(!store_peer_is_allowed(s, &b));
    CHECK_ERR(store_peer_allowed(s, &v, &n), 0);
    CHECK_EQ(n, 1);
    free(v);
    CHECK_ERR(store_peer_disallow(s, &b), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(store_peer_disallow(s, &a), 0);
    CHECK(!store_peer_is_allowed(s, &a));
    store_close(s);
    tmp_cleanup();
}

/* --- plugin databases --- */

static struct store_pdb *open_pdb(const char *name, uint64_t quota)
{
    char dir[128];
    struct store_pdb *db = NULL;
    struct store_pdb_limits lim = {.quota_bytes = quota, .max_statements = 4};
    snprintf(dir, sizeof(dir), "%s/data", tmpdir);
    CHECK_ERR(store_pdb_open(dir, name, &lim, &db), 0);
    return db;
}

#define EXEC(db, sql) store_pdb_exec((db), (sql), strlen(sql))
#define PREP(db, sql) store_pdb_prepare((db), (sql), strlen(sql))

TEST(pdb_basic_statements)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("chat", 0);
    CHECK_ERR(EXEC(db, "CREATE TABLE m(id INTEGER PRIMARY KEY, t TEXT,"
                       " b BLOB, f REAL, u TEXT UNIQUE)"),
              0);
    int h = PREP(db, "INSERT INTO m(t, b, f, u) VALUES(?, ?, ?, ?)");
    CHECK(h > 0);
    CHECK_ERR(store_pdb_bind_text(db, h, 1, "hello", 5), 0);
    CHECK_ERR(store_pdb_bind_blob(db, h, 2, "\0\1\2", 3), 0);
    CHECK_ERR(store_pdb_bind_double(db, h, 3, 2.5), 0);
    CHECK_ERR(store_pdb_bind_text(db, h, 4, "k1", 2), 0);
    CHECK_ERR(store_pdb_step(db, h), 0);
    CHECK_EQ(store_pdb_changes(db), 1);
    CHECK_EQ(store_pdb_last_insert_rowid(db), 1);
    /* again with the same unique key */
    CHECK_ERR(store_pdb_reset(db, h), 0);
    CHECK_ERR(store_pdb_step(db, h), FASTN_ERR_STORE_CONSTRAINT);
    CHECK(strstr(store_pdb_errmsg(db), "UNIQUE") != NULL);
    CHECK_ERR(store_pdb_bind_text(db, h, 4, "", 0), 0);
    CHECK_ERR(store_pdb_bind_null(db, h, 2), 0);
    CHECK_ERR(store_pdb_step(db, h), 0);
    CHECK_ERR(store_pdb_finalize(db, h), 0);

    h = PREP(db, "SELECT id, t, b, f, u FROM m ORDER BY id;");
    CHECK(h > 0);
    CHECK_EQ(store_pdb_column_count(db, h), 5);
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_type(db, h, 0), STORE_TYPE_INTEGER);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 1);
    const uint8_t *p;
    size_t n;
    CHECK_ERR(store_pdb_column_bytes(db, h, 1, &p, &n), 0);
    CHECK(n == 5 && memcmp(p, "hello", 5) == 0);
    CHECK_EQ(store_pdb_column_type(db, h, 2), STORE_TYPE_BLOB);
    CHECK_ERR(store_pdb_column_bytes(db, h, 2, &p, &n), 0);
    CHECK(n == 3 && memcmp(p, "\0\1\2", 3) == 0);
    CHECK_EQ(store_pdb_column_type(db, h, 3), STORE_TYPE_FLOAT);
    CHECK(store_pdb_column_double(db, h, 3) == 2.5);
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_type(db, h, 2), STORE_TYPE_NULL);
    CHECK_ERR(store_pdb_column_bytes(db, h, 2, &p, &n), 0);
    CHECK(p == NULL && n == 0);
    CHECK_EQ(store_pdb_column_type(db, h, 4), STORE_TYPE_TEXT);
    CHECK_ERR(store_pdb_column_bytes(db, h, 4, &p, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(store_pdb_step(db, h), 0);
    CHECK_EQ(store_pdb_step(db, h), 1); /* starts over */
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_files_private_and_persistent)
{
    tmp_setup();
    char path[160];
    struct store_pdb *db = open_pdb("notes", 0);
    CHECK_ERR(EXEC(db, "CREATE TABLE t(x); INSERT INTO t VALUES(42);"), 0);
    store_pdb_close(db);
    snprintf(path, sizeof(path), "%s/data/notes", tmpdir);
    CHECK_EQ(file_mode(path), 0700);
    snprintf(path, sizeof(path), "%s/data/notes/db.sqlite", tmpdir);
    CHECK_EQ(file_mode(path), 0600);
    db = open_pdb("notes", 0);
    int h = PREP(db, "SELECT x FROM t");
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 42);
    uint64_t size = 0;
    CHECK_ERR(store_pdb_size(db, &size), 0);
    CHECK(size >= 4096 && size < 65536);
    store_pdb_close(db);
    snprintf(path, sizeof(path), "%s/data", tmpdir);
    CHECK_ERR(store_pdb_destroy(path, "notes"), 0);
    snprintf(path, sizeof(path), "%s/data/notes", tmpdir);
    CHECK_EQ(file_mode(path), 0);
    snprintf(path, sizeof(path), "%s/data", tmpdir);
    CHECK_ERR(store_pdb_destroy(path, "notes"), 0); /* already gone */
    tmp_cleanup();
}

TEST(pdb_bad_names)
{
    tmp_setup();
    const char *bad[] = {"",    "..", "../x", "a/b",     "Chat",
                         "a.b", " a", "a\n",  "\xc3\xa9"};
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/data", tmpdir);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct store_pdb *db = NULL;
        CHECK_ERR(store_pdb_open(dir, bad[i], NULL, &db), FASTN_ERR_INVAL);
        CHECK(db == NULL);
        CHECK_ERR(store_pdb_destroy(dir, bad[i]), FASTN_ERR_INVAL);
    }
    char longname[70];
    memset(longname, 'a', 65);
    longname[65] = '\0';
    struct store_pdb *db = NULL;
    CHECK_ERR(store_pdb_open(dir, longname, NULL, &db), FASTN_ERR_INVAL);
    tmp_cleanup();
}

TEST(pdb_attach_refused)
{
    tmp_setup();
    char sql[256], path[160];
    struct store_pdb *db = open_pdb("evil", 0);
    snprintf(path, sizeof(path), "%s/stolen.sqlite", tmpdir);
    snprintf(sql, sizeof(sql), "ATTACH DATABASE '%s' AS x", path);
    CHECK_ERR(EXEC(db, sql), FASTN_ERR_STORE_DENIED);
    CHECK(strstr(store_pdb_errmsg(db), "ATTACH") != NULL);
    CHECK_ERR(PREP(db, sql), FASTN_ERR_STORE_DENIED);
    CHECK_ERR(EXEC(db, "DETACH DATABASE x"), FASTN_ERR_STORE_DENIED);
    /* VACUUM INTO would write a copy anywhere: it fails, nothing written */
    snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", path);
    CHECK(EXEC(db, sql) < 0);
    CHECK_EQ(file_mode(path), 0);
    /* the state database next door stays out of reach */
    snprintf(sql, sizeof(sql), "SELECT * FROM '%s'.notifications", path);
    CHECK(EXEC(db, sql) < 0);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_other_schemas_refused)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("evil", 0);
    CHECK_ERR(EXEC(db, "CREATE TEMP TABLE t(x)"), FASTN_ERR_STORE_DENIED);
    CHECK_ERR(EXEC(db, "CREATE TABLE temp.t(x)"), FASTN_ERR_STORE_DENIED);
    CHECK_ERR(EXEC(db, "SELECT * FROM temp.sqlite_master"),
              FASTN_ERR_STORE_DENIED);
    CHECK_ERR(EXEC(db, "CREATE TABLE main.ok(x)"), 0);
    CHECK_ERR(EXEC(db, "SELECT * FROM main.sqlite_master"), 0);
    /* writable_schema and direct schema edits stay off */
    CHECK_ERR(EXEC(db, "PRAGMA writable_schema=ON"), FASTN_ERR_STORE_DENIED);
    CHECK(EXEC(db, "UPDATE sqlite_master SET sql='x'") < 0);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_pragmas)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("p", 0);
    const char *ok[] = {
        "PRAGMA user_version=7",
        "PRAGMA user_version",
        "PRAGMA main.user_version",
        "PRAGMA foreign_keys=OFF",
        "PRAGMA page_count",
        "PRAGMA max_page_count",
        "PRAGMA table_info('sqlite_master')",
    };
    const char *denied[] = {
        "PRAGMA max_page_count=1000000",
        "PRAGMA journal_mode=DELETE",
        "PRAGMA synchronous=OFF",
        "PRAGMA cache_size=-1000000",
        "PRAGMA mmap_size=1000000000",
        "PRAGMA temp_store_directory='/tmp'",
        "PRAGMA page_size=512",
        "PRAGMA locking_mode=EXCLUSIVE",
        "PRAGMA temp.user_version=1",
        "PRAGMA wal_checkpoint",
        "PRAGMA schema_version=3",
        "PRAGMA no_such_pragma",
        /* one step of SQLite's VM reads the whole database */
        "PRAGMA integrity_check",
        "PRAGMA quick_check(5)",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int err = EXEC(db, ok[i]);
        if (err)
            fprintf(stderr, "%s: %s\n", ok[i], store_pdb_errmsg(db));
        CHECK_ERR(err, 0);
    }
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        int err = EXEC(db, denied[i]);
        if (err != FASTN_ERR_STORE_DENIED)
            fprintf(stderr, "%s: not denied\n", denied[i]);
        CHECK_ERR(err, FASTN_ERR_STORE_DENIED);
    }
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_extensions_refused)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("p", 0);
    CHECK_ERR(
        EXEC(db, "SELECT load_extension('/lib/x86_64-linux-gnu/libc.so.6')"),
        FASTN_ERR_STORE_DENIED);
    CHECK_ERR(EXEC(db, "SELECT fts3_tokenizer('simple')"),
              FASTN_ERR_STORE_DENIED);
    CHECK(strstr(store_pdb_errmsg(db), "fts3_tokenizer") != NULL);
    /* through a view, too (refused as unsafe: the schema is untrusted) */
    CHECK_ERR(EXEC(db, "CREATE VIEW v AS SELECT load_extension('x')"), 0);
    CHECK(EXEC(db, "SELECT * FROM v") < 0);
    CHECK(strstr(store_pdb_errmsg(db), "load_extension") != NULL);
    CHECK_ERR(EXEC(db, "CREATE VIRTUAL TABLE f USING fts5(body)"), 0);
    CHECK_ERR(EXEC(db, "INSERT INTO f VALUES('hello world')"), 0);
    CHECK_ERR(EXEC(db, "CREATE VIRTUAL TABLE g USING fts3(body)"),
              FASTN_ERR_STORE_DENIED);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_quota)
{
    tmp_setup();
    uint8_t blob[16384];
    memset(blob, 0xab, sizeof(blob));
    struct store_pdb *db = open_pdb("hog", 128 * 1024);
    CHECK_ERR(EXEC(db, "CREATE TABLE b(x BLOB)"), 0);
    int h = PREP(db, "INSERT INTO b VALUES(?)");
    int err = 0, rows = 0;
    for (int i = 0; i < 100 && !err; i++) {
        CHECK_ERR(store_pdb_reset(db, h), 0);
        CHECK_ERR(store_pdb_bind_blob(db, h, 1, blob, sizeof(blob)), 0);
        err = store_pdb_step(db, h);
        rows += err == 0;
    }
    CHECK_ERR(err, FASTN_ERR_STORE_QUOTA);
    CHECK(strstr(store_pdb_errmsg(db), "quota") != NULL);
    CHECK(rows >= 4 && rows < 8);
    uint64_t size = 0;
    CHECK_ERR(store_pdb_size(db, &size), 0);
    CHECK(size <= 128 * 1024);
    /* what was written before the quota is intact, and deleting works */
    int q = PREP(db, "SELECT count(*) FROM b");
    CHECK_EQ(store_pdb_step(db, q), 1);
    CHECK_EQ(store_pdb_column_int64(db, q, 0), rows);
    CHECK_ERR(store_pdb_finalize(db, q), 0);
    CHECK_ERR(EXEC(db, "DELETE FROM b WHERE rowid = 1"), 0);
    CHECK_ERR(store_pdb_reset(db, h), 0);
    CHECK_ERR(store_pdb_step(db, h), 0);
    /* the plugin cannot lift its quota */
    CHECK_ERR(EXEC(db, "PRAGMA max_page_count=100000"), FASTN_ERR_STORE_DENIED);
    store_pdb_close(db);
    /* nor does reopening */
    db = open_pdb("hog", 128 * 1024);
    h = PREP(db, "INSERT INTO b VALUES(?)");
    err = 0;
    for (int i = 0; i < 10 && !err; i++) {
        store_pdb_reset(db, h);
        store_pdb_bind_blob(db, h, 1, blob, sizeof(blob));
        err = store_pdb_step(db, h);
    }
    CHECK_ERR(err, FASTN_ERR_STORE_QUOTA);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_bad_sql)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("p", 0);
    CHECK_ERR(EXEC(db, "SELEC 1"), FASTN_ERR_STORE_SQL);
    CHECK(strstr(store_pdb_errmsg(db), "syntax") != NULL);
    CHECK_ERR(PREP(db, "SELECT * FROM nope"), FASTN_ERR_STORE_SQL);
    CHECK(strstr(store_pdb_errmsg(db), "nope") != NULL);
    CHECK_ERR(PREP(db, ""), FASTN_ERR_INVAL);
    CHECK_ERR(PREP(db, "  -- only a comment\n"), FASTN_ERR_INVAL);
    CHECK_ERR(PREP(db, "SELECT 1; SELECT 2"), FASTN_ERR_INVAL);
    CHECK(PREP(db, "SELECT 1; -- fine\n ;") > 0);
    CHECK_ERR(store_pdb_prepare(db, "SELECT 1\0; ATTACH 'x' AS y", 26),
              FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_exec(db, "SELECT 1\0", 9), FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_prepare(db, NULL, 5), FASTN_ERR_INVAL);
    static char huge[STORE_PDB_SQL_MAX + 10];
    memset(huge, ' ', sizeof(huge));
    CHECK_ERR(store_pdb_exec(db, huge, sizeof(huge)), FASTN_ERR_TOO_LARGE);
    CHECK_ERR(EXEC(db, "SELECT zeroblob(2000000)"), FASTN_ERR_TOO_LARGE);
    CHECK_ERR(EXEC(db, "SELECT 1"), 0);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_handle_misuse)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("p", 0); /* 4 statements at most */
    CHECK_ERR(EXEC(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1),(2)"), 0);
    CHECK_ERR(store_pdb_step(db, 0), FASTN_ERR_PLUGIN_BAD_HANDLE);
    CHECK_ERR(store_pdb_step(db, -5), FASTN_ERR_PLUGIN_BAD_HANDLE);
    CHECK_ERR(store_pdb_step(db, 12345), FASTN_ERR_PLUGIN_BAD_HANDLE);
    CHECK_ERR(store_pdb_finalize(db, 1), FASTN_ERR_PLUGIN_BAD_HANDLE);
    int h = PREP(db, "SELECT x FROM t WHERE x >= ?");
    CHECK(h > 0);
    /* columns before a row */
    CHECK_ERR(store_pdb_column_type(db, h, 0), FASTN_ERR_INVAL);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 0);
    CHECK_ERR(store_pdb_bind_int64(db, h, 2, 1), FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_bind_int64(db, h, 0, 1), FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_bind_int64(db, h, 1, 1), 0);
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_ERR(store_pdb_column_type(db, h, 1), FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_column_type(db, h, -1), FASTN_ERR_INVAL);
    /* binding mid-way needs a reset first */
    CHECK_ERR(store_pdb_bind_int64(db, h, 1, 2), FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_reset(db, h), 0);
    CHECK_ERR(store_pdb_column_type(db, h, 0), FASTN_ERR_INVAL);
    CHECK_ERR(store_pdb_bind_int64(db, h, 1, 2), 0);
    /* a finalized handle stays dead, even once its slot is reused */
    CHECK_ERR(store_pdb_finalize(db, h), 0);
    CHECK_ERR(store_pdb_finalize(db, h), FASTN_ERR_PLUGIN_BAD_HANDLE);
    int h2 = PREP(db, "SELECT 2");
    CHECK(h2 > 0 && h2 != h);
    CHECK_ERR(store_pdb_step(db, h), FASTN_ERR_PLUGIN_BAD_HANDLE);
    CHECK_ERR(store_pdb_column_count(db, h), FASTN_ERR_PLUGIN_BAD_HANDLE);
    /* the cap on open statements */
    CHECK(PREP(db, "SELECT 3") > 0);
    CHECK(PREP(db, "SELECT 4") > 0);
    CHECK(PREP(db, "SELECT 5") > 0);
    CHECK_EQ(store_pdb_statement_count(db), 4);
    CHECK_ERR(PREP(db, "SELECT 6"), FASTN_ERR_PLUGIN_LIMIT);
    CHECK_ERR(store_pdb_finalize(db, h2), 0);
    CHECK(PREP(db, "SELECT 6") > 0);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_work_limit)
{
    tmp_setup();
    char dir[128];
    struct store_pdb *db = NULL;
    struct store_pdb_limits lim = {.max_vm_steps = 100000};
    snprintf(dir, sizeof(dir), "%s/data", tmpdir);
    CHECK_ERR(store_pdb_open(dir, "spin", &lim, &db), 0);
    /* time enough: what stops it is its steps */
    store_pdb_budget_set(db,
                         &(struct store_pdb_budget){.time_ns = 10000000000});
    const char *forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                          " SELECT x + 1 FROM c) SELECT count(*) FROM c";
    CHECK_ERR(EXEC(db, forever), FASTN_ERR_STORE_LIMIT);
    int h = PREP(db, forever);
    CHECK_ERR(store_pdb_step(db, h), FASTN_ERR_STORE_LIMIT);
    CHECK(strstr(store_pdb_errmsg(db), "steps") != NULL);
    /* the budget is per call: small queries go on working */
    CHECK_ERR(EXEC(db,
                   "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL"
                   " SELECT x + 1 FROM c LIMIT 100) SELECT count(*) FROM c"),
              0);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_event_end_rolls_back)
{
    tmp_setup();
    struct store_pdb *db = open_pdb("p", 0);
    CHECK_ERR(EXEC(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)"), 0);
    int h = PREP(db, "SELECT count(*) FROM t");
    CHECK_ERR(EXEC(db, "BEGIN; INSERT INTO t VALUES(2)"), 0);
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 2);
    CHECK_EQ(store_pdb_event_end(db), 1); /* left open: undone */
    CHECK_ERR(store_pdb_column_type(db, h, 0), FASTN_ERR_INVAL); /* reset */
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 1);
    CHECK_EQ(store_pdb_event_end(db), 0);
    CHECK_ERR(EXEC(db, "BEGIN; INSERT INTO t VALUES(3); COMMIT"), 0);
    CHECK_EQ(store_pdb_event_end(db), 0);
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 2);
    store_pdb_close(db);
    tmp_cleanup();
}

TEST(pdb_survives_kill9)
{
    tmp_setup();
    pid_t pid = fork();
    if (pid == 0) {
        struct store_pdb *db = open_pdb("chat", 0);
        EXEC(db, "CREATE TABLE m(x)");
        for (int i = 0; i < 10; i++)
            EXEC(db, "INSERT INTO m VALUES('x')");
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    waitpid(pid, NULL, 0);
    struct store_pdb *db = open_pdb("chat", 0);
    int h = PREP(db, "SELECT count(*) FROM m");
    CHECK_EQ(store_pdb_step(db, h), 1);
    CHECK_EQ(store_pdb_column_int64(db, h, 0), 10);
    store_pdb_close(db);
    tmp_cleanup();
}

int main(void)
{
    RUN(notify_add_list_read);
    RUN(notify_query_paging);
    RUN(notify_rejects_bad_text);
    RUN(notify_prunes_oldest_read_first);
    RUN(notify_subscribers);
    RUN(state_v1_upgraded_and_add_once);
    RUN(state_file_private_and_reopened);
    RUN(state_survives_kill9);
    RUN(state_rejects_garbage_and_future_schema);
    RUN(quarantine_roundtrip);
    RUN(quarantine_caps);
    RUN(quarantine_after_crash);
    RUN(quarantine_peer_and_count_caps);
    RUN(quarantine_attempts_and_expiry);
    RUN(peers_allowed);
    RUN(pdb_basic_statements);
    RUN(pdb_files_private_and_persistent);
    RUN(pdb_bad_names);
    RUN(pdb_attach_refused);
    RUN(pdb_other_schemas_refused);
    RUN(pdb_pragmas);
    RUN(pdb_extensions_refused);
    RUN(pdb_quota);
    RUN(pdb_bad_sql);
    RUN(pdb_handle_misuse);
    RUN(pdb_work_limit);
    RUN(pdb_event_end_rolls_back);
    RUN(pdb_survives_kill9);
    return test_done();
}
