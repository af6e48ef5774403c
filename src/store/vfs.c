/*
 * The "fastn" VFS: the system's own (unix), with three things added for
 * the store (store_int.h, "accounts"):
 *
 *  - files opened while an account is current are counted in it: the
 *    database file, and the write-ahead log and rollback journal. A frame
 *    of the log (or a journal's growth) is refused with SQLITE_FULL,
 *    noted as STORE__FAULT_QUOTA, when the database's pages (as of its
 *    last commit, or the highest page the transaction logged: read from
 *    the frames' headers, WAL format of sqlite.org/fileformat.html 4.1)
 *    and the log would pass the account's quota together. Writes to the
 *    database file itself are never refused: in WAL mode they come only
 *    from checkpoints, which copy into it pages already counted, and a
 *    refused checkpoint would leave the log unable to shrink;
 *  - no temporary file is opened while an account is current: plugin
 *    connections keep temp_store in MEMORY (counted in their heap), so
 *    SQLite never asks, and if it ever did the file would land outside
 *    the home and outside the quota (the open fails instead);
 *  - a write that fails because the file system has no room (ENOSPC,
 *    EDQUOT, or EFBIG: a file may grow no more) notes
 *    STORE__FAULT_DISK_FULL, so the store can tell a full disk from a
 *    quota (SQLite answers SQLITE_FULL for both, or an I/O error);
 *  - the pages written to an account's database and log start going to
 *    disk every WRITEBACK_EVERY bytes (sync_file_range, which does not
 *    wait), so the syncs of a checkpoint find them written and block the
 *    loop far less (at 64 MiB a checkpoint, they took 0.2-0.3 s while
 *    the machine's writeback waited for them: 30 s or 10 % of memory
 *    dirty). Nothing is made durable that was not: the syncs are SQLite's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/store_int.h"

enum { K_OTHER, K_DB, K_WAL, K_JOURNAL };

#define WAL_HDR 32
#define WAL_FRAME_HDR 24
#define WRITEBACK_EVERY (4u << 20)

struct sfile {
    sqlite3_file base; /* pMethods: &io_methods once open */
    sqlite3_file *real;
    struct store__acct *acct; /* NULL: not counted */
    int kind;
    uint64_t size;
    int wb_fd;          /* the file again, to start writeback; -1 none */
    uint64_t wb_unsent; /* bytes written since writeback last started */
};

/* the real file follows, 8-byte aligned */
#define SFILE_SIZE ((sizeof(struct sfile) + 7) & ~(size_t)7)

#define TEMP_FLAGS                                                             \
    (SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TEMP_JOURNAL |                          \
     SQLITE_OPEN_TRANSIENT_DB | SQLITE_OPEN_SUBJOURNAL |                       \
     SQLITE_OPEN_SUPER_JOURNAL)

static _Thread_local enum store__fault fault;

enum store__fault store__fault(void)
{
    return fault;
}

void store__fault_clear(void)
{
    fault = STORE__FAULT_NONE;
}

/* After a call that writes to f: rc as it was, the reason noted. errno is
 * read first, before anything can change it. For a plugin's files the
 * reason stays until the store clears it at its next call (SQLite may
 * write more, successfully, while it undoes the statement); for the
 * daemon's own, a write that succeeds clears it. */
static int wrote(struct sfile *f, int rc)
{
    int e = errno;
    if (rc == SQLITE_OK && !f->acct)
        fault = STORE__FAULT_NONE;
    else if (rc != SQLITE_OK && ((rc & 0xff) == SQLITE_FULL || e == ENOSPC ||
                                 e == EDQUOT || e == EFBIG))
        fault = STORE__FAULT_DISK_FULL;
    return rc;
}

static uint64_t *counter(struct sfile *f)
{
    return f->kind == K_DB ? &f->acct->db_bytes : &f->acct->wal_bytes;
}

/* The file's size is now n: moves the account's count with it. */
static void resize(struct sfile *f, uint64_t n)
{
    if (f->acct)
        *counter(f) = *counter(f) - f->size + n;
    f->size = n;
}

static void resize_from_disk(struct sfile *f)
{
    sqlite3_int64 n = 0;
    if (f->real->pMethods->xFileSize(f->real, &n) == SQLITE_OK && n >= 0)
        resize(f, (uint64_t)n);
}

static sqlite3_file *real(sqlite3_file *f)
{
    return ((struct sfile *)f)->real;
}

/* --- the file methods: the real one's, with counting ------------------ */

static int f_close(sqlite3_file *file)
{
    struct sfile *f = (struct sfile *)file;
    int rc = f->real->pMethods->xClose(f->real);
    if (f->wb_fd >= 0)
        close(f->wb_fd);
    f->wb_fd = -1;
    if (f->acct) {
        resize(f, 0);
        store__acct_unref(f->acct);
        f->acct = NULL;
    }
    return rc;
}

static int f_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    return real(f)->pMethods->xRead(real(f), p, n, off);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* What a write of n bytes at off to f (the log or journal of an account)
 * would make of it. A frame's header gives the page it carries and, in a
 * commit frame, the database's pages after it; the whole frame counts
 * from its header on. */
struct log_write {
    uint64_t end;    /* the file's size after it */
    uint32_t pages;  /* the database's pages then */
    uint32_t commit; /* a commit frame: the pages it commits; else 0 */
    bool header;     /* it is a frame's header */
};

static struct log_write log_write(const struct sfile *f, const uint8_t *p,
                                  int n, uint64_t off)
{
    const struct store__acct *a = f->acct;
    uint64_t frame = (uint64_t)a->page_size + WAL_FRAME_HDR;
    struct log_write w = {.end = off + (uint64_t)n, .pages = a->db_pages};
    if (a->txn_pages > w.pages)
        w.pages = a->txn_pages;
    if (f->kind == K_WAL && off >= WAL_HDR && (off - WAL_HDR) % frame == 0 &&
        n >= WAL_FRAME_HDR) {
        w.header = true;
        w.end = off + frame > w.end ? off + frame : w.end;
        w.pages = be32(p) > w.pages ? be32(p) : w.pages;
        w.commit = be32(p + 4);
    }
    if (f->size > w.end)
        w.end = f->size;
    return w;
}

static int f_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
    struct sfile *f = (struct sfile *)file;
    struct store__acct *a = f->acct;
    bool counted = a && a->quota && a->page_size &&
                   (f->kind == K_WAL || f->kind == K_JOURNAL);
    struct log_write w = {0};
    if (counted) {
        w = log_write(f, p, n, (uint64_t)off);
        if ((uint64_t)w.pages * a->page_size + a->wal_bytes - f->size + w.end +
                a->blob_bytes >
            a->quota) {
            fault = STORE__FAULT_QUOTA;
            return SQLITE_FULL;
        }
    }
    uint64_t end = (uint64_t)off + (uint64_t)n;
    int rc = wrote(f, f->real->pMethods->xWrite(f->real, p, n, off));
    if (rc != SQLITE_OK)
        return rc;
    if (end > f->size)
        resize(f, end);
    f->wb_unsent += (uint64_t)n;
    if (f->wb_fd >= 0 && f->wb_unsent >= WRITEBACK_EVERY) {
        f->wb_unsent = 0; /* a failure changes nothing: the sync writes */
        sync_file_range(f->wb_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    if (a && f->kind == K_WAL && off == 0)
        a->wal_live = WAL_HDR; /* the log starts over */
    if (counted && w.header && w.commit) {
        a->db_pages = w.commit;
        a->txn_pages = 0;
        a->wal_live = w.end;
    } else if (counted && w.header) {
        a->txn_pages = w.pages;
    }
    return rc;
}

static int f_truncate(sqlite3_file *file, sqlite3_int64 size)
{
    struct sfile *f = (struct sfile *)file;
    int rc = wrote(f, f->real->pMethods->xTruncate(f->real, size));
    if (rc == SQLITE_OK)
        resize_from_disk(f);
    if (rc == SQLITE_OK && f->acct && f->kind == K_WAL &&
        f->acct->wal_live > f->size)
        f->acct->wal_live = f->size;
    return rc;
}

static int f_sync(sqlite3_file *f, int flags)
{
    return wrote((struct sfile *)f, real(f)->pMethods->xSync(real(f), flags));
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *n)
{
    return real(f)->pMethods->xFileSize(real(f), n);
}

static int f_lock(sqlite3_file *f, int level)
{
    return real(f)->pMethods->xLock(real(f), level);
}

static int f_unlock(sqlite3_file *f, int level)
{
    return real(f)->pMethods->xUnlock(real(f), level);
}

static int f_check_reserved(sqlite3_file *f, int *out)
{
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}

static int f_file_control(sqlite3_file *file, int op, void *arg)
{
    struct sfile *f = (struct sfile *)file;
    int rc = f->real->pMethods->xFileControl(f->real, op, arg);
    if (op == SQLITE_FCNTL_SIZE_HINT) {
        rc = wrote(f, rc);
        resize_from_disk(f);
    }
    return rc;
}

static int f_sector_size(sqlite3_file *f)
{
    return real(f)->pMethods->xSectorSize(real(f));
}

static int f_device_characteristics(sqlite3_file *f)
{
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}

/* The versions the unix VFS's files have; another may lack the calls. */
static bool has(sqlite3_file *f, int version)
{
    return real(f)->pMethods->iVersion >= version;
}

static int f_shm_map(sqlite3_file *f, int region, int size, int extend,
                     void volatile **p)
{
    if (!has(f, 2))
        return SQLITE_IOERR_SHMMAP;
    int rc = real(f)->pMethods->xShmMap(real(f), region, size, extend, p);
    return wrote((struct sfile *)f, rc);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    if (!has(f, 2))
        return SQLITE_IOERR_SHMLOCK;
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    if (has(f, 2))
        real(f)->pMethods->xShmBarrier(real(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    if (!has(f, 2))
        return SQLITE_OK;
    return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}

static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
    *p = NULL;
    if (!has(f, 3))
        return SQLITE_OK;
    return real(f)->pMethods->xFetch(real(f), off, n, p);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    if (!has(f, 3))
        return SQLITE_OK;
    return real(f)->pMethods->xUnfetch(real(f), off, p);
}

static const sqlite3_io_methods io_methods = {
    3,
    f_close,
    f_read,
    f_write,
    f_truncate,
    f_sync,
    f_file_size,
    f_lock,
    f_unlock,
    f_check_reserved,
    f_file_control,
    f_sector_size,
    f_device_characteristics,
    f_shm_map,
    f_shm_lock,
    f_shm_barrier,
    f_shm_unmap,
    f_fetch,
    f_unfetch,
};

/* --- the VFS: the real one's, with opening wrapped --------------------- */

static sqlite3_vfs *base(sqlite3_vfs *v)
{
    return v->pAppData;
}

static int kind_of(int flags)
{
    if (flags & SQLITE_OPEN_MAIN_DB)
        return K_DB;
    if (flags & SQLITE_OPEN_WAL)
        return K_WAL;
    if (flags & SQLITE_OPEN_MAIN_JOURNAL)
        return K_JOURNAL;
    return K_OTHER;
}

static int v_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file,
                  int flags, int *out_flags)
{
    struct sfile *f = (struct sfile *)file;
    struct store__acct *a = store__acct_current();
    memset(f, 0, sizeof(*f));
    f->wb_fd = -1;
    f->real = (sqlite3_file *)(void *)((char *)file + SFILE_SIZE);
    f->kind = kind_of(flags);
    if (a && (!name || (flags & TEMP_FLAGS) || f->kind == K_OTHER)) {
        fault = STORE__FAULT_TEMP;
        return SQLITE_CANTOPEN;
    }
    memset(f->real, 0, (size_t)base(vfs)->szOsFile);
    int rc = base(vfs)->xOpen(base(vfs), name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f->real->pMethods)
            f->real->pMethods->xClose(f->real);
        return wrote(f, rc);
    }
    if (a) {
        f->acct = a;
        store__acct_ref(a);
        resize_from_disk(f);
        if (f->kind == K_WAL)
            a->wal_live = f->size; /* what is there is recovered */
        if (f->kind == K_DB || f->kind == K_WAL) /* without it: no head start */
            f->wb_fd = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    f->base.pMethods = &io_methods;
    return SQLITE_OK;
}

static int v_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
    return base(v)->xDelete(base(v), name, sync_dir);
}

static int v_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
    return base(v)->xAccess(base(v), name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
    return base(v)->xFullPathname(base(v), name, n, out);
}

static void *v_dl_open(sqlite3_vfs *v, const char *name)
{
    (void)v, (void)name;
    return NULL; /* extensions are never loaded */
}

static void v_dl_error(sqlite3_vfs *v, int n, char *msg)
{
    (void)v;
    if (n > 0)
        snprintf(msg, (size_t)n, "extensions are not loaded");
}

static void (*v_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
    (void)v, (void)h, (void)sym;
    return NULL;
}

static void v_dl_close(sqlite3_vfs *v, void *h)
{
    (void)v, (void)h;
}

static int v_randomness(sqlite3_vfs *v, int n, char *out)
{
    return base(v)->xRandomness(base(v), n, out);
}

static int v_sleep(sqlite3_vfs *v, int us)
{
    return base(v)->xSleep(base(v), us);
}

static int v_current_time(sqlite3_vfs *v, double *out)
{
    return base(v)->xCurrentTime(base(v), out);
}

static int v_get_last_error(sqlite3_vfs *v, int n, char *out)
{
    return base(v)->xGetLastError(base(v), n, out);
}

static int v_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
    return base(v)->xCurrentTimeInt64(base(v), out);
}

int store__vfs_register(void)
{
    static sqlite3_vfs vfs;
    sqlite3_vfs *sys = sqlite3_vfs_find(NULL);
    if (!sys || sys->iVersion < 2)
        return FASTN_ERR_INTERNAL;
    vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)SFILE_SIZE + sys->szOsFile,
        .mxPathname = sys->mxPathname,
        .zName = STORE__VFS,
        .pAppData = sys,
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dl_open,
        .xDlError = v_dl_error,
        .xDlSym = v_dl_sym,
        .xDlClose = v_dl_close,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_get_last_error,
        .xCurrentTimeInt64 = v_current_time_int64,
    };
    return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK ? 0 : FASTN_ERR_INTERNAL;
}
