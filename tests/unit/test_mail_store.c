/* Unit tests for plugins/mail/lib/store.c on a real SQLite database
 * through the plugin SQL ABI's own implementation (src/store, as the
 * plugin host runs it): the default folders, UIDVALIDITY across delete
 * and re-create, appends streamed across plugin events (no transaction
 * may outlive one) and cut short by a crash, a 25 MiB message, flags and
 * MODSEQ, COPY sharing the bytes, MOVE, EXPUNGE freeing them, UIDs never
 * reused, and a quota reached with nothing stored lost. */
#include <sys/stat.h>

#include "fastn/plugin.h"
#include "mail.h"
#include "mail_native.h"
#include "test.h"

static char tmpdir[64], datadir[96];

static void db_open(uint64_t quota)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fastn-mail-XXXXXX");
    if (!mkdtemp(tmpdir))
        abort();
    snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
    mkdir(datadir, 0700);
    CHECK_ERR(mail_sql_native_open(datadir, quota), 0);
    CHECK_ERR(mail_store_open(1000), 0);
}

static void db_reopen(int64_t now)
{
    mail_sql_native_close();
    CHECK_ERR(mail_sql_native_open(datadir, 0), 0);
    CHECK_ERR(mail_store_open(now), 0);
}

static void db_close(void)
{
    char cmd[128];
    mail_sql_native_close();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static int64_t count(const char *sql)
{
    int32_t s = fastn_sql_prepare_str(sql);
    int64_t v = -1;
    if (s > 0 && fastn_sql_step(s) == FASTN_SQL_ROW)
        v = fastn_sql_column_int64(s, 0);
    fastn_sql_finalize(s);
    return v;
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

/* Appends size pattern bytes in pieces of step, an event between each. */
static uint32_t append(const char *folder, uint64_t size, size_t step,
                       unsigned flags)
{
    static struct mail_append a;
    static uint8_t piece[100000];
    uint32_t uid = 0;

    CHECK_ERR(mail_store_append_begin(&a, folder, flags, 1234, 0), 0);
    for (uint64_t off = 0; off < size;) {
        size_t k = size - off < step ? (size_t)(size - off) : step;
        for (size_t i = 0; i < k; i++)
            piece[i] = pattern(off + i);
        CHECK_ERR(mail_store_append_data(&a, piece, k), 0);
        CHECK(mail_sql_native_event_end() == 0); /* nothing left open */
        off += k;
    }
    CHECK_ERR(mail_store_append_end(&a, &uid), 0);
    CHECK_EQ(mail_sql_native_event_end(), 0);
    return uid;
}

static bool read_back(int64_t body, uint64_t size, size_t step)
{
    static uint8_t buf[100000];
    uint64_t off = 0;
    while (off < size) {
        int n = mail_store_read(body, off, buf, step);
        if (n <= 0)
            return false;
        for (int i = 0; i < n; i++)
            if (buf[i] != pattern(off + (uint64_t)i))
                return false;
        off += (uint64_t)n;
    }
    return mail_store_read(body, off, buf, step) == 0;
}

static int list_cb(void *ctx, const struct mail_folder *f)
{
    char *s = ctx;
    size_t l = strlen(s);
    snprintf(s + l, 512 - l, "%s%s%s;", f->name, f->special[0] ? "=" : "",
             f->special);
    return 0;
}

TEST(default_folders)
{
    char names[512] = "";
    struct mail_folder inbox, again;

    db_open(0);
    CHECK_ERR(mail_store_folder_list(list_cb, names), 0);
    CHECK_STR(names, "Archive=\\Archive;Drafts=\\Drafts;INBOX;Sent=\\Sent;"
                     "Trash=\\Trash;");
    CHECK_ERR(mail_store_folder_get("inbox", &inbox), 0);
    CHECK_STR(inbox.name, "INBOX");
    CHECK_EQ(inbox.uidnext, 1);
    CHECK_EQ(inbox.messages, 0);
    db_reopen(5000); /* opening again changes nothing */
    CHECK_ERR(mail_store_folder_get("INBOX", &again), 0);
    CHECK_EQ(again.uidvalidity, inbox.uidvalidity);
    CHECK_EQ(again.id, inbox.id);
    db_close();
}

TEST(folder_lifecycle)
{
    struct mail_folder f, g;

    db_open(0);
    CHECK_ERR(mail_store_folder_create("Lists/fastn", 1000), 0);
    CHECK_ERR(mail_store_folder_create("Lists/fastn", 1000), FASTN_ERR_EXISTS);
    CHECK_ERR(mail_store_folder_create("inbox", 1000), FASTN_ERR_EXISTS);
    CHECK_ERR(mail_store_folder_create("", 1000), FASTN_ERR_INVAL);
    CHECK_ERR(mail_store_folder_create("/a", 1000), FASTN_ERR_INVAL);
    CHECK_ERR(mail_store_folder_create("a//b", 1000), FASTN_ERR_INVAL);
    CHECK_ERR(mail_store_folder_create("a\nb", 1000), FASTN_ERR_INVAL);
    CHECK_ERR(mail_store_folder_create("a*", 1000), FASTN_ERR_INVAL);
    CHECK_ERR(mail_store_folder_delete("INBOX"), FASTN_ERR_PERM);
    CHECK_ERR(mail_store_folder_delete("nope"), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(mail_store_folder_get("Lists/fastn", &f), 0);
    append("Lists/fastn", 100, 100, 0);
    CHECK_ERR(mail_store_folder_delete("Lists/fastn"), 0);
    CHECK_EQ(count("SELECT count(*) FROM chunk"), 0);
    /* the same name again, at the same time: a new UIDVALIDITY, UIDs
     * from 1 (RFC 3501 2.3.1.1) */
    CHECK_ERR(mail_store_folder_create("Lists/fastn", 1000), 0);
    CHECK_ERR(mail_store_folder_get("Lists/fastn", &g), 0);
    CHECK(g.uidvalidity != f.uidvalidity);
    CHECK_EQ(g.uidnext, 1);
    /* rename carries the folders under it */
    CHECK_ERR(mail_store_folder_create("Lists/fastn/dev", 1000), 0);
    CHECK_ERR(mail_store_folder_rename("Lists", "Groups", 1000),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(mail_store_folder_rename("Lists/fastn", "Groups", 1000), 0);
    CHECK_ERR(mail_store_folder_get("Groups/dev", &f), 0);
    CHECK_ERR(mail_store_folder_get("Lists/fastn/dev", &f),
              FASTN_ERR_NOT_FOUND);
    CHECK_ERR(mail_store_folder_rename("Groups", "Sent", 1000),
              FASTN_ERR_EXISTS);
    CHECK_ERR(mail_store_folder_rename("INBOX", "Old", 1000), FASTN_ERR_PERM);
    CHECK_ERR(mail_store_folder_subscribe("Groups", false), 0);
    CHECK_ERR(mail_store_folder_get("Groups", &f), 0);
    CHECK(!f.subscribed);
    CHECK_ERR(mail_store_folder_subscribe("Nope", true), FASTN_ERR_NOT_FOUND);
    db_close();
}

struct fetched {
    struct mail_msg m[16];
    int n;
};

static int fetch_cb(void *ctx, const struct mail_msg *m)
{
    struct fetched *f = ctx;
    if (f->n < 16)
        f->m[f->n++] = *m;
    return 0;
}

TEST(append_streamed_across_events)
{
    struct fetched f = {.n = 0};
    struct mail_folder box;

    db_open(0);
    CHECK_EQ(append("INBOX", 200000, 7777, MAIL_FLAG_SEEN), 1);
    CHECK_EQ(append("INBOX", 0, 1, 0), 2);
    CHECK_EQ(append("INBOX", MAIL_CHUNK, MAIL_CHUNK, MAIL_FLAG_RECENT), 3);
    CHECK_ERR(mail_store_folder_get("INBOX", &box), 0);
    f.n = 0;
    CHECK_ERR(mail_store_fetch(box.id, 1, MAIL_SEQ_STAR, fetch_cb, &f), 0);
    CHECK_EQ(f.n, 3);
    CHECK_EQ(f.m[0].size, 200000);
    CHECK_EQ(f.m[0].flags, MAIL_FLAG_SEEN);
    CHECK_EQ(f.m[0].internaldate, 1234);
    CHECK_EQ(f.m[2].flags, 0); /* \Recent is never stored */
    CHECK(read_back(f.m[0].body, 200000, 100000));
    CHECK(read_back(f.m[0].body, 200000, 333));
    CHECK(read_back(f.m[1].body, 0, 10));
    CHECK(read_back(f.m[2].body, MAIL_CHUNK, MAIL_CHUNK));
    CHECK_EQ(box.messages, 3);
    CHECK_EQ(box.unseen, 2);
    CHECK_EQ(box.uidnext, 4);
    uint32_t uids[8];
    CHECK_EQ(mail_store_uids(box.id, uids, 8), 3);
    CHECK_EQ(uids[2], 3);
    db_close();
}

TEST(append_cut_short)
{
    static struct mail_append a;
    static uint8_t data[150000];
    struct mail_folder box;

    db_open(0);
    /* past the size limit */
    CHECK_ERR(mail_store_append_begin(&a, "INBOX", 0, 0, 1000), 0);
    CHECK_ERR(mail_store_append_data(&a, data, 1001), FASTN_ERR_TOO_LARGE);
    mail_store_append_abort(&a);
    CHECK_EQ(count("SELECT count(*) FROM body"), 0);
    CHECK_ERR(mail_store_append_begin(&a, "Nope", 0, 0, 0),
              FASTN_ERR_NOT_FOUND);
    /* a crash in the middle: two chunks written, then the plugin dies */
    CHECK_ERR(mail_store_append_begin(&a, "INBOX", 0, 0, 0), 0);
    CHECK_ERR(mail_store_append_data(&a, data, sizeof(data)), 0);
    CHECK_EQ(count("SELECT count(*) FROM chunk"), 2);
    db_reopen(2000);
    CHECK_EQ(count("SELECT count(*) FROM chunk"), 0);
    CHECK_EQ(count("SELECT count(*) FROM body"), 0);
    CHECK_ERR(mail_store_folder_get("INBOX", &box), 0);
    CHECK_EQ(box.messages, 0);
    CHECK_EQ(box.uidnext, 1);
    db_close();
}

TEST(message_of_25_mib)
{
    struct fetched f = {.n = 0};
    struct mail_folder box;

    db_open(64ull << 20);
    /* this case is about size: the write-ahead log's checkpoints (4 MiB
     * each) may pass the host's 5 ms per call under ASan and load */
    mail_sql_native_budget(2000000000ull);
    CHECK_EQ(append("INBOX", MAIL_SMTP_SIZE_DEFAULT, 65000, 0), 1);
    CHECK_ERR(mail_store_folder_get("INBOX", &box), 0);
    CHECK_ERR(mail_store_fetch(box.id, 1, 1, fetch_cb, &f), 0);
    CHECK_EQ(f.m[0].size, MAIL_SMTP_SIZE_DEFAULT);
    CHECK(read_back(f.m[0].body, MAIL_SMTP_SIZE_DEFAULT, 100000));
    db_close();
}

TEST(quota_reached_loses_nothing)
{
    static struct mail_append a;
    static uint8_t data[MAIL_CHUNK];
    struct fetched f = {.n = 0};
    struct mail_folder box;
    int err = 0;

    db_open(1 << 20);
    CHECK_EQ(append("INBOX", 100000, 9000, 0), 1);
    CHECK_ERR(mail_store_append_begin(&a, "INBOX", 0, 0, 0), 0);
    for (int i = 0; i < 40 && !err; i++)
        err = mail_store_append_data(&a, data, sizeof(data));
    CHECK_ERR(err, FASTN_ERR_STORE_QUOTA);
    mail_store_append_abort(&a);
    mail_sql_native_event_end();
    CHECK_ERR(mail_store_folder_get("INBOX", &box), 0);
    CHECK_EQ(box.messages, 1);
    CHECK_ERR(mail_store_fetch(box.id, 1, MAIL_SEQ_STAR, fetch_cb, &f), 0);
    CHECK(read_back(f.m[0].body, 100000, 4096));
    /* the failed append stays failed until aborted */
    CHECK_ERR(mail_store_append_begin(&a, "INBOX", 0, 0, 10), 0);
    CHECK_ERR(mail_store_append_data(&a, data, 11), FASTN_ERR_TOO_LARGE);
    CHECK_ERR(mail_store_append_data(&a, data, 1), FASTN_ERR_TOO_LARGE);
    uint32_t uid;
    CHECK_ERR(mail_store_append_end(&a, &uid), FASTN_ERR_TOO_LARGE);
    mail_store_append_abort(&a);
    db_close();
}

TEST(flags_and_modseq)
{
    struct fetched f = {.n = 0};
    struct mail_folder box, after;

    db_open(0);
    for (int i = 0; i < 4; i++)
        append("INBOX", 10, 10, 0);
    CHECK_ERR(mail_store_folder_get("INBOX", &box), 0);
    CHECK_EQ(
        mail_store_flags(box.id, 2, 3, 1, MAIL_FLAG_SEEN | MAIL_FLAG_RECENT),
        2);
    CHECK_EQ(mail_store_flags(box.id, 1, 4, 1, MAIL_FLAG_SEEN), 2);
    CHECK_EQ(mail_store_flags(box.id, 1, 4, 1, MAIL_FLAG_SEEN), 0);
    CHECK_EQ(mail_store_flags(box.id, 4, 4, -1, MAIL_FLAG_SEEN), 1);
    CHECK_EQ(mail_store_flags(box.id, 1, 1, 0,
                              MAIL_FLAG_FLAGGED | MAIL_FLAG_ANSWERED),
             1);
    CHECK_ERR(mail_store_fetch(box.id, 1, 4, fetch_cb, &f), 0);
    CHECK_EQ(f.m[0].flags, MAIL_FLAG_FLAGGED | MAIL_FLAG_ANSWERED);
    CHECK_EQ(f.m[1].flags, MAIL_FLAG_SEEN);
    CHECK_EQ(f.m[3].flags, 0);
    CHECK(f.m[0].modseq > f.m[1].modseq);
    CHECK_ERR(mail_store_folder_get("INBOX", &after), 0);
    CHECK(after.highestmodseq >= f.m[0].modseq);
    CHECK_EQ(after.unseen, 2);
    db_close();
}

struct uidmap {
    uint32_t from[8], to[8];
    int n;
};

static void map_cb(void *ctx, uint32_t from, uint32_t to)
{
    struct uidmap *m = ctx;
    m->from[m->n] = from;
    m->to[m->n++] = to;
}

static void exp_cb(void *ctx, uint32_t uid)
{
    struct uidmap *m = ctx;
    m->from[m->n++] = uid;
}

TEST(copy_move_expunge)
{
    struct mail_folder inbox, arch, trash;
    struct uidmap map = {.n = 0}, ex = {.n = 0};

    db_open(0);
    for (int i = 0; i < 3; i++)
        append("INBOX", 70000, 70000, 0);
    append("Archive", 5, 5, 0);
    CHECK_ERR(mail_store_folder_get("INBOX", &inbox), 0);
    int64_t chunks = count("SELECT count(*) FROM chunk");
    /* COPY 2:3 to Archive: UIDs 2 and 3 there, the bytes shared */
    CHECK_EQ(mail_store_copy(inbox.id, 2, MAIL_SEQ_STAR, "Archive", false,
                             map_cb, &map),
             2);
    CHECK_EQ(map.n, 2);
    CHECK_EQ(map.from[0], 2);
    CHECK_EQ(map.to[0], 2);
    CHECK_EQ(map.to[1], 3);
    CHECK_EQ(count("SELECT count(*) FROM chunk"), chunks);
    CHECK_ERR(mail_store_copy(inbox.id, 1, 1, "Nope", false, NULL, NULL),
              FASTN_ERR_NOT_FOUND);
    /* MOVE 1 to Trash */
    CHECK_EQ(mail_store_copy(inbox.id, 1, 1, "Trash", true, NULL, NULL), 1);
    CHECK_ERR(mail_store_folder_get("INBOX", &inbox), 0);
    CHECK_ERR(mail_store_folder_get("Trash", &trash), 0);
    CHECK_EQ(inbox.messages, 2);
    CHECK_EQ(trash.messages, 1);
    /* EXPUNGE removes only \Deleted ones, in UID order */
    mail_store_flags(inbox.id, 2, 3, 1, MAIL_FLAG_DELETED);
    CHECK_EQ(mail_store_expunge(inbox.id, 1, MAIL_SEQ_STAR, exp_cb, &ex), 2);
    CHECK_EQ(ex.from[0], 2);
    CHECK_EQ(ex.from[1], 3);
    /* the Archive copies keep the bytes alive */
    CHECK_EQ(count("SELECT count(*) FROM chunk"), chunks);
    CHECK_ERR(mail_store_folder_get("Archive", &arch), 0);
    mail_store_flags(arch.id, 1, MAIL_SEQ_STAR, 0, MAIL_FLAG_DELETED);
    CHECK_EQ(mail_store_expunge(arch.id, 1, MAIL_SEQ_STAR, NULL, NULL), 3);
    mail_store_flags(trash.id, 1, MAIL_SEQ_STAR, 0, MAIL_FLAG_DELETED);
    CHECK_EQ(mail_store_expunge(trash.id, 1, MAIL_SEQ_STAR, NULL, NULL), 1);
    CHECK_EQ(count("SELECT count(*) FROM chunk"), 0);
    CHECK_EQ(count("SELECT count(*) FROM body"), 0);
    /* UIDs are never given twice */
    CHECK_EQ(append("INBOX", 5, 5, 0), 4);
    db_close();
}

int main(void)
{
    RUN(default_folders);
    RUN(folder_lifecycle);
    RUN(append_streamed_across_events);
    RUN(append_cut_short);
    RUN(message_of_25_mib);
    RUN(quota_reached_loses_nothing);
    RUN(flags_and_modseq);
    RUN(copy_move_expunge);
    return test_done();
}
