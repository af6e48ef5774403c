/* Unit tests for a plugin's blobs (src/store/blob.c): put, read, size,
 * delete and replace; the quota, alone and shared with the database,
 * reached and credited back; the limits on sizes, keys and the count;
 * the packs: a torn append at the end cut off at reopen, a bad header
 * skipped, the later of two records of one key kept, deletes punching
 * holes and unlinking dead packs, many packs surviving a reopen; a full
 * disk changing nothing; the folder removed with the plugin's data. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "store/store.h"
#include "test.h"

static char tmpdir[64];
static char dir[96];

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fastn-blob-XXXXXX");
    if (!mkdtemp(tmpdir))
        abort();
    snprintf(dir, sizeof(dir), "%s/blobs", tmpdir);
}

static void tmp_cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static struct store_blobs *open_blobs(uint64_t quota)
{
    struct store_blobs *b = NULL;
    CHECK_ERR(store_blobs_open(dir, quota, NULL, &b), 0);
    if (!b)
        abort();
    return b;
}

static int files_in(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

#define K(s) (s), strlen(s)
#define U STORE_BLOB_UNIT

static void pack_path(int num, char *out, size_t n)
{
    snprintf(out, n, "%s/pack-%06d", dir, num);
}

/* A pack's size (-1: none there), and the disk blocks it holds. */
static int64_t pack_size(int num)
{
    char path[160];
    struct stat st;
    pack_path(num, path, sizeof(path));
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int64_t pack_blocks(int num)
{
    char path[160];
    struct stat st;
    pack_path(num, path, sizeof(path));
    return stat(path, &st) == 0 ? (int64_t)st.st_blocks : -1;
}

/* Writes n bytes at off of pack num (what a crash or bit rot leaves). */
static void pack_write(int num, uint64_t off, const void *p, size_t n)
{
    char path[160];
    pack_path(num, path, sizeof(path));
    int fd = open(path, O_WRONLY);
    CHECK(fd >= 0);
    CHECK_EQ(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
    close(fd);
}

static void check_blob(struct store_blobs *b, const char *key, int fill,
                       size_t len)
{
    static uint8_t got[64 * 1024];
    CHECK(len <= sizeof(got));
    CHECK_EQ(store_blob_read(b, K(key), 0, got, sizeof(got), NULL, NULL),
             (int64_t)len);
    for (size_t i = 0; i < len; i++)
        if (got[i] != (uint8_t)fill) {
            CHECK_EQ(got[i], (uint8_t)fill);
            break;
        }
}

TEST(blob_put_read_size_delete)
{
    char buf[64];
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    CHECK_EQ(files_in(dir), -1); /* made at the first put */
    CHECK_EQ(store_blob_size(b, K("k")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blob_read(b, K("k"), 0, buf, sizeof(buf), NULL, NULL),
             FASTN_ERR_NOT_FOUND);
    CHECK_ERR(store_blob_put(b, K("k"), "hello world", 11), 0);
    CHECK_EQ(store_blob_size(b, K("k")), 11);
    CHECK_EQ(store_blob_read(b, K("k"), 0, buf, sizeof(buf), NULL, NULL), 11);
    CHECK_MEM(buf, "hello world", 11);
    CHECK_EQ(store_blob_read(b, K("k"), 6, buf, 3, NULL, NULL), 3);
    CHECK_MEM(buf, "wor", 3);
    CHECK_EQ(store_blob_read(b, K("k"), 11, buf, sizeof(buf), NULL, NULL), 0);
    CHECK_EQ(store_blob_read(b, K("k"), 1000, buf, sizeof(buf), NULL, NULL), 0);
    CHECK_EQ(store_blobs_used(b), 2 * STORE_BLOB_UNIT); /* header, data */
    /* empty blobs exist, and cost their header */
    CHECK_ERR(store_blob_put(b, K("e"), NULL, 0), 0);
    CHECK_EQ(store_blob_size(b, K("e")), 0);
    CHECK_EQ(store_blobs_used(b), 3 * STORE_BLOB_UNIT);
    /* replace: the new one whole, the old one's room credited */
    static uint8_t big[3 * STORE_BLOB_UNIT];
    memset(big, 7, sizeof(big));
    CHECK_ERR(store_blob_put(b, K("k"), big, sizeof(big)), 0);
    CHECK_EQ(store_blob_size(b, K("k")), (int64_t)sizeof(big));
    CHECK_EQ(store_blobs_used(b), 5 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("k"), "x", 1), 0);
    CHECK_EQ(store_blobs_used(b), 3 * STORE_BLOB_UNIT);
    CHECK_EQ(store_blob_read(b, K("k"), 0, buf, sizeof(buf), NULL, NULL), 1);
    CHECK_EQ(buf[0], 'x');
    CHECK_ERR(store_blob_delete(b, K("k")), 0);
    CHECK_ERR(store_blob_delete(b, K("k")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blob_size(b, K("k")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blobs_used(b), STORE_BLOB_UNIT);
    /* reopened (a plugin's restart): counted again */
    store_blobs_close(b);
    b = open_blobs(0);
    CHECK_EQ(store_blobs_used(b), STORE_BLOB_UNIT);
    CHECK_EQ(store_blob_size(b, K("e")), 0);
    store_blobs_close(b);
    tmp_cleanup();
}

TEST(blob_keys_and_sizes)
{
    uint8_t key[STORE_BLOB_KEY_MAX + 1], buf[8];
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 37); /* '/', '.', 0: any byte */
    CHECK_ERR(store_blob_put(b, key, 0, "x", 1), FASTN_ERR_INVAL);
    CHECK_ERR(store_blob_put(b, key, sizeof(key), "x", 1), FASTN_ERR_INVAL);
    CHECK_EQ(store_blob_size(b, key, sizeof(key)), FASTN_ERR_INVAL);
    CHECK_EQ(store_blob_read(b, key, sizeof(key), 0, buf, 8, NULL, NULL),
             FASTN_ERR_INVAL);
    CHECK_ERR(store_blob_delete(b, key, sizeof(key)), FASTN_ERR_INVAL);
    CHECK_ERR(store_blob_put(b, key, STORE_BLOB_KEY_MAX, "x", 1), 0);
    CHECK_ERR(store_blob_put(b, "..", 2, "y", 1), 0);
    CHECK_ERR(store_blob_put(b, "/", 1, "z", 1), 0);
    CHECK_EQ(store_blob_read(b, key, STORE_BLOB_KEY_MAX, 0, buf, 8, NULL, NULL),
             1);
    CHECK_EQ(buf[0], 'x');
    CHECK_EQ(files_in(dir), 1);    /* one pack */
    CHECK_EQ(files_in(tmpdir), 1); /* nothing outside the folder */
    /* 16 MiB is the most */
    uint8_t *big = calloc(1, STORE_BLOB_MAX + 1);
    CHECK(big != NULL);
    CHECK_ERR(store_blob_put(b, K("big"), big, STORE_BLOB_MAX + 1),
              FASTN_ERR_TOO_LARGE);
    CHECK_EQ(store_blob_size(b, K("big")), FASTN_ERR_NOT_FOUND);
    CHECK_ERR(store_blob_put(b, K("big"), big, STORE_BLOB_MAX), 0);
    CHECK_EQ(store_blob_size(b, K("big")), STORE_BLOB_MAX);
    free(big);
    store_blobs_close(b);
    tmp_cleanup();
}

TEST(blob_quota)
{
    static uint8_t data[10000]; /* 4 units with its header */
    tmp_setup();
    struct store_blobs *b = open_blobs(13 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("b"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_EQ(store_blobs_used(b), 12 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("d"), data, sizeof(data)),
              FASTN_ERR_STORE_QUOTA);
    CHECK_EQ(store_blob_size(b, K("d")), FASTN_ERR_NOT_FOUND);
    /* replacing one with the same size fits: its room is credited */
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("e"), NULL, 0), 0); /* the last unit */
    CHECK_ERR(store_blob_put(b, K("f"), NULL, 0), FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(store_blob_delete(b, K("a")), 0);
    CHECK_ERR(store_blob_put(b, K("d"), data, sizeof(data)), 0);
    CHECK_EQ(store_blobs_used(b), 13 * STORE_BLOB_UNIT);
    /* counted the same once reopened */
    store_blobs_close(b);
    b = open_blobs(13 * STORE_BLOB_UNIT);
    CHECK_EQ(store_blobs_used(b), 13 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("f"), NULL, 0), FASTN_ERR_STORE_QUOTA);
    store_blobs_close(b);
    tmp_cleanup();
}

/* The database and its blobs share the plugin's quota: blobs that fill
 * it leave the database no room to grow (a value needs room twice, in
 * the log and in the database), and deleting them gives it back. */
TEST(blob_quota_shared_with_the_database)
{
    struct store_pdb_limits lim = {.quota_bytes = 2u << 20};
    struct store_pdb *db = NULL;
    static uint8_t data[256 * 1024];
    const char *sql = "INSERT INTO t VALUES(randomblob(300000))";
    char key[16];
    int n = 0;
    tmp_setup();
    snprintf(dir, sizeof(dir), "%s/data", tmpdir);
    CHECK_ERR(store_pdb_open(dir, "p", &lim, &db), 0);
    struct store_blobs *b = store_pdb_blobs(db);
    CHECK(b != NULL);
    CHECK_ERR(store_pdb_exec(db, "CREATE TABLE t(x)", 17), 0);
    for (;; n++) {
        snprintf(key, sizeof(key), "b%d", n);
        int r = store_blob_put(b, key, strlen(key), data, sizeof(data));
        if (r) {
            CHECK_ERR(r, FASTN_ERR_STORE_QUOTA);
            break;
        }
    }
    CHECK(n >= 4 && n <= 8);
    CHECK_ERR(store_pdb_exec(db, sql, strlen(sql)), FASTN_ERR_STORE_QUOTA);
    struct store_pdb_usage u;
    CHECK_ERR(store_pdb_usage(db, &u), 0);
    CHECK(u.disk_bytes >= store_blobs_used(b));
    CHECK(u.disk_bytes <= lim.quota_bytes);
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "b%d", i);
        CHECK_ERR(store_blob_delete(b, key, strlen(key)), 0);
    }
    CHECK_ERR(store_pdb_exec(db, sql, strlen(sql)), 0);
    /* reopened: the blobs are counted again, the quota still holds */
    store_pdb_close(db);
    CHECK_ERR(store_pdb_open(dir, "p", &lim, &db), 0);
    b = store_pdb_blobs(db);
    CHECK_EQ(store_blobs_used(b),
             (uint64_t)(n - 3) * (sizeof(data) + STORE_BLOB_UNIT));
    for (int i = 0, r = 0; r == 0; i++) {
        snprintf(key, sizeof(key), "z%d", i);
        r = store_blob_put(b, key, strlen(key), data, sizeof(data));
        CHECK(r == 0 || r == FASTN_ERR_STORE_QUOTA);
        CHECK(i < 8);
    }
    CHECK_ERR(store_pdb_usage(db, &u), 0);
    CHECK(u.disk_bytes <= lim.quota_bytes);
    store_pdb_close(db);
    /* uninstalled: the blobs go with the database */
    CHECK_ERR(store_pdb_destroy(dir, "p"), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/p", dir);
    CHECK_EQ(files_in(path), -1);
    tmp_cleanup();
}

/* A kill -9 in the middle of an append leaves the last pack with a torn
 * record (or bytes that are no record at all): cut off at reopen, and
 * the next put goes where it began. */
TEST(blob_torn_append_dropped)
{
    static uint8_t data[5000]; /* 3 units a record */
    static const char junk[100] = "not a record";
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    memset(data, 1, sizeof(data));
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("b"), data, sizeof(data)), 0);
    store_blobs_close(b); /* the kill, while b was written */
    char path[160];
    pack_path(1, path, sizeof(path));
    CHECK_EQ(truncate(path, 3 * U + 6000), 0);
    b = open_blobs(0);
    CHECK_EQ(pack_size(1), 3 * U);
    CHECK_EQ(store_blobs_used(b), 3 * U);
    check_blob(b, "a", 1, sizeof(data));
    CHECK_EQ(store_blob_size(b, K("b")), FASTN_ERR_NOT_FOUND);
    memset(data, 2, sizeof(data));
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_EQ(pack_size(1), 6 * U);
    store_blobs_close(b);
    /* garbage after the last record */
    pack_write(1, 6 * U, junk, sizeof(junk));
    b = open_blobs(0);
    CHECK_EQ(pack_size(1), 6 * U);
    check_blob(b, "a", 1, 5000);
    check_blob(b, "c", 2, 5000);
    CHECK_EQ(store_blobs_used(b), 6 * U);
    store_blobs_close(b);
    tmp_cleanup();
}

/* A header whose CRC does not match (bit rot) in an older pack: that
 * record is skipped, the scan finds the next one behind it; so too past
 * a zeroed header in the last pack. */
TEST(blob_bad_header_skipped)
{
    static uint8_t data[U];
    tmp_setup();
    setenv("FASTN_BLOB_PACK_MAX", "16384", 1); /* two records a pack */
    struct store_blobs *b = open_blobs(0);
    const char *keys[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) {
        memset(data, 'a' + i, sizeof(data));
        CHECK_ERR(store_blob_put(b, K(keys[i]), data, sizeof(data)), 0);
    }
    CHECK_EQ(files_in(dir), 3);
    store_blobs_close(b);
    pack_write(1, 30, "X", 1); /* in a's key: its CRC fails */
    b = open_blobs(0);
    CHECK_EQ(store_blob_size(b, K("a")), FASTN_ERR_NOT_FOUND);
    for (int i = 1; i < 5; i++)
        check_blob(b, keys[i], 'a' + i, U);
    CHECK_EQ(store_blobs_used(b), 4 * 2 * U);
    /* zeros over a header in the last pack (a power cut): stepped over,
     * the record behind kept, the pack not cut */
    static const uint8_t zeros[U];
    CHECK_ERR(store_blob_put(b, K("f"), data, sizeof(data)), 0);
    store_blobs_close(b);
    CHECK_EQ(pack_size(3), 4 * U);
    pack_write(3, 0, zeros, sizeof(zeros)); /* e's header */
    b = open_blobs(0);
    CHECK_EQ(pack_size(3), 4 * U);
    CHECK_EQ(store_blob_size(b, K("e")), FASTN_ERR_NOT_FOUND);
    check_blob(b, "f", 'a' + 4, U);
    store_blobs_close(b);
    unsetenv("FASTN_BLOB_PACK_MAX");
    tmp_cleanup();
}

/* A crash between a replace's append and its punch leaves two records
 * of one key: the later one is the blob, the older one is punched. */
TEST(blob_two_records_of_a_key_keep_the_later)
{
    static uint8_t old[2 * U];
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    CHECK_ERR(store_blob_put(b, K("k"), "one", 3), 0);
    store_blobs_close(b);
    char path[160];
    pack_path(1, path, sizeof(path));
    int fd = open(path, O_RDONLY);
    CHECK_EQ(pread(fd, old, sizeof(old), 0), (ssize_t)sizeof(old));
    close(fd);
    b = open_blobs(0);
    CHECK_ERR(store_blob_put(b, K("k"), "two", 3), 0);
    store_blobs_close(b);
    pack_write(1, 0, old, sizeof(old)); /* as if never punched */
    b = open_blobs(0);
    char buf[8];
    CHECK_EQ(store_blob_read(b, K("k"), 0, buf, sizeof(buf), NULL, NULL), 3);
    CHECK_MEM(buf, "two", 3);
    CHECK_EQ(store_blobs_used(b), 2 * U);
    store_blobs_close(b);
    b = open_blobs(0); /* the older one is gone for good */
    CHECK_EQ(store_blob_read(b, K("k"), 0, buf, sizeof(buf), NULL, NULL), 3);
    CHECK_MEM(buf, "two", 3);
    store_blobs_close(b);
    tmp_cleanup();
}

/* A delete gives the disk space back at once (a hole punched), and a
 * pack whose records are all deleted goes (but the current one stays). */
TEST(blob_delete_punches_and_unlinks_dead_packs)
{
    static uint8_t data[64 * 1024];
    tmp_setup();
    setenv("FASTN_BLOB_PACK_MAX", "131072", 1);
    struct store_blobs *b = open_blobs(0);
    memset(data, 5, sizeof(data));
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("b"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_EQ(files_in(dir), 2);
    int64_t before = pack_blocks(1);
    CHECK_ERR(store_blob_delete(b, K("a")), 0);
    CHECK(pack_blocks(1) <= before - (int64_t)sizeof(data) / 512);
    CHECK_EQ(pack_size(1), 2 * (int64_t)(U + sizeof(data)));
    check_blob(b, "b", 5, sizeof(data));
    CHECK_ERR(store_blob_delete(b, K("b")), 0);
    CHECK_EQ(pack_size(1), -1); /* unlinked */
    CHECK_EQ(files_in(dir), 1);
    CHECK_ERR(store_blob_delete(b, K("c")), 0);
    CHECK_EQ(files_in(dir), 1); /* the current pack stays */
    CHECK_EQ(store_blobs_used(b), 0);
    store_blobs_close(b);
    b = open_blobs(0);
    CHECK_EQ(store_blobs_used(b), 0);
    CHECK_EQ(store_blob_size(b, K("c")), FASTN_ERR_NOT_FOUND);
    store_blobs_close(b);
    unsetenv("FASTN_BLOB_PACK_MAX");
    tmp_cleanup();
}

/* A small pack size makes many packs; every blob survives a reopen, and
 * the deletes and replaces made across them too. */
TEST(blob_many_packs_survive_reopen)
{
    static uint8_t data[20000];
    char key[16];
    tmp_setup();
    setenv("FASTN_BLOB_PACK_MAX", "32768", 1);
    struct store_blobs *b = open_blobs(0);
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        memset(data, i, sizeof(data));
        CHECK_ERR(store_blob_put(b, K(key), data, (size_t)(i * 331) % 20000),
                  0);
    }
    for (int i = 0; i < 60; i += 7) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK_ERR(store_blob_delete(b, K(key)), 0);
    }
    for (int i = 3; i < 60; i += 10) {
        snprintf(key, sizeof(key), "k%d", i);
        memset(data, 100 + i, sizeof(data));
        CHECK_ERR(store_blob_put(b, K(key), data, 777), 0);
    }
    CHECK(files_in(dir) > 10);
    uint64_t used = store_blobs_used(b);
    store_blobs_close(b);
    b = open_blobs(0);
    CHECK_EQ(store_blobs_used(b), used);
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        if (i % 7 == 0 && i % 10 != 3)
            CHECK_EQ(store_blob_size(b, K(key)), FASTN_ERR_NOT_FOUND);
        else if (i % 10 == 3)
            check_blob(b, key, 100 + i, 777);
        else
            check_blob(b, key, i, (size_t)(i * 331) % 20000);
    }
    store_blobs_close(b);
    unsetenv("FASTN_BLOB_PACK_MAX");
    tmp_cleanup();
}

/* The count of blobs is capped (the index is in memory): the quota
 * error past it; a replace still works, a delete makes room. */
TEST(blob_count_cap)
{
    char key[16];
    tmp_setup();
    setenv("FASTN_BLOB_COUNT_MAX", "5", 1);
    struct store_blobs *b = open_blobs(0);
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK_ERR(store_blob_put(b, K(key), "x", 1), 0);
    }
    CHECK_ERR(store_blob_put(b, K("k5"), "x", 1), FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(store_blob_put(b, K("k0"), "yy", 2), 0);
    CHECK_ERR(store_blob_delete(b, K("k1")), 0);
    CHECK_ERR(store_blob_put(b, K("k5"), "x", 1), 0);
    CHECK_ERR(store_blob_put(b, K("k6"), "x", 1), FASTN_ERR_STORE_QUOTA);
    store_blobs_close(b);
    unsetenv("FASTN_BLOB_COUNT_MAX");
    tmp_cleanup();
}

/* The disk fills (files may not grow past 64 KiB here, as a full file
 * system refuses the write): a clear error, the pack cut back to where
 * the record began, the old blob and the count unchanged. */
TEST(blob_full_disk_changes_nothing)
{
    static uint8_t data[256 * 1024];
    char buf[8];
    tmp_setup();
    signal(SIGXFSZ, SIG_IGN);
    struct store_blobs *b = open_blobs(0);
    CHECK_ERR(store_blob_put(b, K("a"), "old", 3), 0);
    struct rlimit rl = {65536, RLIM_INFINITY};
    CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)),
              FASTN_ERR_DISK_FULL);
    CHECK_ERR(store_blob_put(b, K("n"), data, sizeof(data)),
              FASTN_ERR_DISK_FULL);
    rl.rlim_cur = RLIM_INFINITY;
    CHECK_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
    CHECK_EQ(files_in(dir), 1);
    CHECK_EQ(pack_size(1), 2 * STORE_BLOB_UNIT);
    CHECK_EQ(store_blob_read(b, K("a"), 0, buf, sizeof(buf), NULL, NULL), 3);
    CHECK_MEM(buf, "old", 3);
    CHECK_EQ(store_blob_size(b, K("n")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blobs_used(b), 2 * STORE_BLOB_UNIT);
    /* the next put goes where the failed one began */
    CHECK_ERR(store_blob_put(b, K("n"), "new", 3), 0);
    CHECK_EQ(pack_size(1), 4 * STORE_BLOB_UNIT);
    store_blobs_close(b);
    b = open_blobs(0);
    CHECK_EQ(store_blob_read(b, K("n"), 0, buf, sizeof(buf), NULL, NULL), 3);
    CHECK_MEM(buf, "new", 3);
    CHECK_EQ(store_blobs_used(b), 4 * STORE_BLOB_UNIT);
    store_blobs_close(b);
    tmp_cleanup();
}

/* The current pack's blocks are reserved ahead of its appends, its size
 * stays what was appended, and nothing is reserved past pack_max. */
TEST(blob_pack_reserved_ahead)
{
    static uint8_t data[64 * 1024];
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    memset(data, 7, sizeof(data));
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)), 0);
    CHECK_EQ(pack_size(1), (int64_t)(U + sizeof(data)));
    CHECK(pack_blocks(1) * 512 >= (int64_t)(8u << 20)); /* ext4, tmpfs */
    CHECK_ERR(store_blob_put(b, K("b"), data, sizeof(data)), 0);
    CHECK_EQ(pack_size(1), 2 * (int64_t)(U + sizeof(data)));
    store_blobs_close(b);
    b = open_blobs(0); /* what was reserved is no record */
    check_blob(b, "a", 7, sizeof(data));
    check_blob(b, "b", 7, sizeof(data));
    CHECK_EQ(store_blobs_used(b), 2 * (int64_t)(U + sizeof(data)));
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_EQ(pack_size(1), 3 * (int64_t)(U + sizeof(data)));
    store_blobs_close(b);
    tmp_cleanup();

    tmp_setup();
    setenv("FASTN_BLOB_PACK_MAX", "131072", 1);
    b = open_blobs(0);
    for (int i = 0; i < 4; i++) {
        char k[8];
        snprintf(k, sizeof(k), "k%d", i);
        CHECK_ERR(store_blob_put(b, K(k), data, sizeof(data)), 0);
    }
    CHECK_EQ(files_in(dir), 2);
    CHECK(pack_blocks(1) * 512 <= 2 * (int64_t)(U + sizeof(data)));
    CHECK(pack_blocks(2) * 512 <= 2 * (int64_t)(U + sizeof(data)));
    store_blobs_close(b);
    unsetenv("FASTN_BLOB_PACK_MAX");
    tmp_cleanup();
}

static int refuse(void *arg, uint64_t bytes)
{
    *(uint64_t *)arg = bytes;
    return FASTN_ERR_WASM_TRAP_OUT_OF_FUEL;
}

/* The host pays for the bytes before they are read (fuel). */
TEST(blob_read_pays_first)
{
    char buf[64] = {0};
    uint64_t asked = 0;
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    CHECK_ERR(store_blob_put(b, K("a"), "0123456789", 10), 0);
    CHECK_EQ(store_blob_read(b, K("a"), 4, buf, sizeof(buf), refuse, &asked),
             FASTN_ERR_WASM_TRAP_OUT_OF_FUEL);
    CHECK_EQ(asked, 6);
    CHECK_EQ(buf[0], 0);
    store_blobs_close(b);
    tmp_cleanup();
}

int main(void)
{
    RUN(blob_put_read_size_delete);
    RUN(blob_keys_and_sizes);
    RUN(blob_quota);
    RUN(blob_quota_shared_with_the_database);
    RUN(blob_torn_append_dropped);
    RUN(blob_bad_header_skipped);
    RUN(blob_two_records_of_a_key_keep_the_later);
    RUN(blob_delete_punches_and_unlinks_dead_packs);
    RUN(blob_many_packs_survive_reopen);
    RUN(blob_count_cap);
    RUN(blob_full_disk_changes_nothing);
    RUN(blob_pack_reserved_ahead);
    RUN(blob_read_pays_first);
    return test_done();
}
