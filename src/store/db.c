/*
 * What every fastn database shares: how a connection is opened and set
 * up, how SQLite's result codes become fastn_err codes, and the check on
 * text that arrives from plugins and peers before it is stored.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/store_int.h"

int store__err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return FASTN_OK;
    case SQLITE_NOMEM:
        return FASTN_ERR_NOMEM;
    case SQLITE_FULL:
        return store__fault() == STORE__FAULT_DISK_FULL ? FASTN_ERR_DISK_FULL
                                                        : FASTN_ERR_STORE_QUOTA;
    case SQLITE_AUTH:
        return FASTN_ERR_STORE_DENIED;
    case SQLITE_INTERRUPT:
        return FASTN_ERR_STORE_LIMIT;
    case SQLITE_CONSTRAINT:
        return FASTN_ERR_STORE_CONSTRAINT;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return FASTN_ERR_STORE_CORRUPT;
    case SQLITE_TOOBIG:
        return FASTN_ERR_TOO_LARGE;
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
        return FASTN_ERR_INVAL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return FASTN_ERR_BUSY;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        return store__fault() == STORE__FAULT_DISK_FULL ? FASTN_ERR_DISK_FULL
                                                        : FASTN_ERR_IO;
    case SQLITE_READONLY:
    case SQLITE_PERM:
        return FASTN_ERR_IO;
    case SQLITE_ERROR:
    case SQLITE_MISMATCH:
        return FASTN_ERR_STORE_SQL;
    default:
        return FASTN_ERR_STORE;
    }
}

int store__exec(sqlite3 *db, const char *sql)
{
    return store__err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* Creates the file 0600 if it does not exist, so that SQLite (which gives
 * the journal files the database file's mode) never makes it
 * world-readable under a permissive umask. */
static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return FASTN_ERR_IO;
    close(fd);
    return 0;
}

static int configure(sqlite3 *db, enum store__sync sync, bool plugin,
                     unsigned page_size)
{
    static const struct {
        int op, val;
    } cfg[] = {
        {SQLITE_DBCONFIG_DEFENSIVE, 1},
        {SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0},
        {SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0},
        {SQLITE_DBCONFIG_DQS_DML, 0},
        {SQLITE_DBCONFIG_DQS_DDL, 0},
    };
    for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
        int rc = sqlite3_db_config(db, cfg[i].op, cfg[i].val, (int *)NULL);
        if (rc != SQLITE_OK)
            return store__err(rc);
    }
    sqlite3_extended_result_codes(db, 1);
    /* Sorts, temporary tables and indexes in memory, never in files
     * (which would land in /var/tmp, outside the home and its quota); no
     * memory-mapped I/O (mapped pages are memory no account sees). A
     * plugin database has one connection, the daemon's: in EXCLUSIVE
     * locking mode SQLite keeps its WAL index in (counted) heap memory
     * instead of a -shm file, and no other process can open the file
     * while the daemon has it. Deleted content is zeroed only on pages
     * written anyway (secure_delete FAST, not the build's ON): a delete
     * must fit in the write-ahead log's share of the quota. */
    int err = store__exec(db, "PRAGMA temp_store=MEMORY; PRAGMA mmap_size=0;");
    if (!err && plugin)
        err = store__exec(db, "PRAGMA locking_mode=EXCLUSIVE;"
                              "PRAGMA secure_delete=FAST;");
    if (!err && page_size) { /* before WAL, which fixes it; SQLite
                              * ignores it once the database has pages */
        char sql[48];
        snprintf(sql, sizeof(sql), "PRAGMA page_size=%u;", page_size);
        err = store__exec(db, sql);
    }
    if (err)
        return err;
    /* WAL: a crash never leaves a half-written transaction. FULL syncs
     * the WAL at every commit (on disk when it returns, even across a
     * power loss; about 5-9 ms per commit on the test machine's disk);
     * NORMAL syncs only at checkpoints: a commit that returned survives
     * kill -9 of the process (it is in the OS's cache), and only a power
     * loss or OS crash can undo the last ones (about 20 us per commit). */
    err = store__exec(db, sync == STORE__SYNC_FULL
                              ? "PRAGMA journal_mode=WAL;"
                                "PRAGMA synchronous=FULL;"
                              : "PRAGMA journal_mode=WAL;"
                                "PRAGMA synchronous=NORMAL;");
    if (!err)
        err = store__exec(db, "PRAGMA foreign_keys=ON;");
    return err;
}

int store__open_db(const char *path, enum store__sync sync, bool plugin,
                   unsigned page_size, sqlite3 **out)
{
    sqlite3 *db = NULL;
    int err = store__init(plugin);
    if (!err)
        err = create_private(path);
    if (err)
        return err;
    int rc =
        sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                            SQLITE_OPEN_PRIVATECACHE | SQLITE_OPEN_NOFOLLOW,
                        STORE__VFS);
    if (rc != SQLITE_OK) {
        err = db ? store__err(rc) : FASTN_ERR_NOMEM;
        goto out_close;
    }
    err = configure(db, sync, plugin, page_size);
    if (err)
        goto out_close;
    *out = db;
    return 0;
out_close:
    sqlite3_close_v2(db);
    return err;
}

/* Length of the UTF-8 sequence at p (1..4) and its code point, or 0 for
 * an invalid, overlong, surrogate or out-of-range sequence. */
static size_t utf8_decode(const uint8_t *p, size_t left, uint32_t *cp)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        len = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > left)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

bool store__text_ok(const char *s, size_t n, const char *allowed_ctl)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len = utf8_decode(p + i, n - i, &cp);
        if (len == 0)
            return false;
        bool ctl = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
        if (ctl && !(cp != 0 && allowed_ctl && strchr(allowed_ctl, (int)cp)))
            return false;
        i += len;
    }
    return true;
}

char *store__strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out)
{
    return store__err(sqlite3_prepare_v2(db, sql, -1, out, NULL));
}
