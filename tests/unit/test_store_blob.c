/* Unit tests for a plugin's blobs (src/store/blob.c): put, read, size,
 * delete and replace; the quota, alone and shared with the database,
 * reached and credited back; the limits on sizes and keys; a file left
 * short or without its trailer (a power cut) reading as missing; stray
 * temporary files removed when the blobs open; a full disk changing
 * nothing; the folder removed with the plugin's data. */
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
    CHECK_EQ(store_blobs_used(b), STORE_BLOB_UNIT);
    /* empty blobs exist, and cost */
    CHECK_ERR(store_blob_put(b, K("e"), NULL, 0), 0);
    CHECK_EQ(store_blob_size(b, K("e")), 0);
    CHECK_EQ(store_blobs_used(b), 2 * STORE_BLOB_UNIT);
    /* replace: the new one whole, the old one's room credited */
    static uint8_t big[3 * STORE_BLOB_UNIT];
    memset(big, 7, sizeof(big));
    CHECK_ERR(store_blob_put(b, K("k"), big, sizeof(big)), 0);
    CHECK_EQ(store_blob_size(b, K("k")), (int64_t)sizeof(big));
    CHECK_EQ(store_blobs_used(b), 5 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("k"), "x", 1), 0);
    CHECK_EQ(store_blobs_used(b), 2 * STORE_BLOB_UNIT);
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
    CHECK_EQ(files_in(dir), 3);
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
    static uint8_t data[10000]; /* 3 units with its trailer */
    tmp_setup();
    struct store_blobs *b = open_blobs(10 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("b"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_EQ(store_blobs_used(b), 9 * STORE_BLOB_UNIT);
    CHECK_ERR(store_blob_put(b, K("d"), data, sizeof(data)),
              FASTN_ERR_STORE_QUOTA);
    CHECK_EQ(store_blob_size(b, K("d")), FASTN_ERR_NOT_FOUND);
    /* replacing one with the same size fits: its room is credited */
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("e"), NULL, 0), 0); /* the last unit */
    CHECK_ERR(store_blob_put(b, K("f"), NULL, 0), FASTN_ERR_STORE_QUOTA);
    CHECK_ERR(store_blob_delete(b, K("a")), 0);
    CHECK_ERR(store_blob_put(b, K("d"), data, sizeof(data)), 0);
    CHECK_EQ(store_blobs_used(b), 10 * STORE_BLOB_UNIT);
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

/* A power cut after the rename, before the data reached the disk: the
 * file is short, or holds zeros. Either reads as missing, and goes. */
TEST(blob_torn_file_reads_as_missing)
{
    char path[300], buf[64];
    static uint8_t data[5000];
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    memset(data, 1, sizeof(data));
    CHECK_ERR(store_blob_put(b, K("a"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("b"), data, sizeof(data)), 0);
    CHECK_ERR(store_blob_put(b, K("c"), data, sizeof(data)), 0);
    CHECK_EQ(store_blobs_used(b), 6 * STORE_BLOB_UNIT);
    store_blobs_close(b);                       /* the power cut */
    snprintf(path, sizeof(path), "%s/61", dir); /* "a" */
    CHECK_EQ(truncate(path, 3000), 0);
    snprintf(path, sizeof(path), "%s/62", dir); /* "b": zeros */
    int fd = open(path, O_WRONLY);
    static uint8_t zeros[5016];
    CHECK_EQ(pwrite(fd, zeros, sizeof(zeros), 0), (ssize_t)sizeof(zeros));
    close(fd);
    snprintf(path, sizeof(path), "%s/63", dir); /* "c": no trailer at all */
    CHECK_EQ(truncate(path, 0), 0);
    b = open_blobs(0);
    CHECK_EQ(store_blobs_used(b), 4 * STORE_BLOB_UNIT);
    CHECK_EQ(store_blob_size(b, K("a")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blob_read(b, K("b"), 0, buf, sizeof(buf), NULL, NULL),
             FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blob_size(b, K("c")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(files_in(dir), 0); /* deleted */
    CHECK_EQ(store_blobs_used(b), 0);
    store_blobs_close(b);
    tmp_cleanup();
}

/* A crash between the write and the rename leaves tmp.* files: removed
 * when the blobs open, not counted. */
TEST(blob_stray_temp_files_removed)
{
    char path[300];
    tmp_setup();
    struct store_blobs *b = open_blobs(0);
    CHECK_ERR(store_blob_put(b, K("a"), "x", 1), 0);
    store_blobs_close(b);
    snprintf(path, sizeof(path), "%s/tmp.62", dir);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "half", 4), 4);
    close(fd);
    CHECK_EQ(files_in(dir), 2);
    b = open_blobs(0);
    CHECK_EQ(files_in(dir), 1);
    CHECK_EQ(store_blobs_used(b), STORE_BLOB_UNIT);
    CHECK_EQ(store_blob_size(b, K("a")), 1);
    store_blobs_close(b);
    tmp_cleanup();
}

/* The disk fills (files may not grow past 64 KiB here, as a full file
 * system refuses the write): a clear error, the temporary file gone, the
 * old blob and the count unchanged. */
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
    CHECK_EQ(store_blob_read(b, K("a"), 0, buf, sizeof(buf), NULL, NULL), 3);
    CHECK_MEM(buf, "old", 3);
    CHECK_EQ(store_blob_size(b, K("n")), FASTN_ERR_NOT_FOUND);
    CHECK_EQ(store_blobs_used(b), STORE_BLOB_UNIT);
    store_blobs_close(b);
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
    RUN(blob_torn_file_reads_as_missing);
    RUN(blob_stray_temp_files_removed);
    RUN(blob_full_disk_changes_nothing);
    RUN(blob_read_pays_first);
    return test_done();
}
