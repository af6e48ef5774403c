/*
 * SQLite's memory, accounted per plugin database (store_int.h,
 * "accounts"): the allocator fastn installs in place of SQLite's own
 * (SQLITE_CONFIG_MALLOC, which must come before sqlite3_initialize, so
 * store__init runs first in every path that opens a database).
 *
 * Every block carries a 16-byte header: the account it was charged to
 * (NULL: none) and its size. Blocks stay charged to that account until
 * freed, whichever account is current then; the account itself is freed
 * once its owner closed it and its last block and file are gone, so no
 * header ever points at a freed account. 16 bytes keep the alignment
 * malloc gives.
 *
 * The current account is per thread: a connection is used by one thread
 * at a time, and each thread charges only the database it is working on.
 * An account's counters are touched only by the thread using it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "store/store_int.h"

struct block {
    struct store__acct *acct;
    uint64_t size; /* bytes asked for, without the header */
};

#define HDR 16
_Static_assert(sizeof(struct block) <= HDR, "block header");

static _Thread_local struct store__acct *current;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_err;
static bool accounting; /* the allocator above is SQLite's */

static struct block *block_of(void *p)
{
    return (struct block *)(void *)((char *)p - HDR);
}

static void acct_unref(struct store__acct *a)
{
    if (--a->refs == 0 && a->closed)
        free(a);
}

/* Whether n more bytes may be charged to a (and counts them as work). */
static bool acct_take(struct store__acct *a, uint64_t n)
{
    a->allocated += n;
    if (a->allocated >= a->next_check) {
        a->next_check = a->allocated + STORE__CHECK_BYTES;
        if (a->check && !a->check(a->check_arg))
            a->stopping = true;
    }
    if (a->trusted)
        return true;
    if (a->stopping)
        return false;
    if (a->limit && a->bytes + n > a->limit) {
        a->refused = true;
        return false;
    }
    return true;
}

static void acct_add(struct store__acct *a, int64_t n)
{
    a->bytes += (uint64_t)n;
    if (a->bytes > a->peak)
        a->peak = a->bytes;
}

static void *mem_malloc(int n)
{
    struct store__acct *a = current;
    uint64_t total = (uint64_t)(n > 0 ? n : 0) + HDR;
    if (a && !acct_take(a, total))
        return NULL;
    struct block *b = malloc(total);
    if (!b)
        return NULL;
    b->acct = a;
    b->size = total - HDR;
    if (a) {
        acct_add(a, (int64_t)total);
        a->refs++;
    }
    return (char *)b + HDR;
}

static void mem_free(void *p)
{
    if (!p)
        return;
    struct block *b = block_of(p);
    struct store__acct *a = b->acct;
    if (a) {
        a->bytes -= b->size + HDR;
        acct_unref(a);
    }
    free(b);
}

static void *mem_realloc(void *p, int n)
{
    if (!p)
        return mem_malloc(n);
    struct block *b = block_of(p);
    struct store__acct *a = b->acct;
    uint64_t want = (uint64_t)(n > 0 ? n : 0);
    if (a && want > b->size && !acct_take(a, want - b->size))
        return NULL;
    struct block *nb = realloc(b, want + HDR);
    if (!nb)
        return NULL;
    if (a)
        acct_add(a, (int64_t)want - (int64_t)nb->size);
    nb->size = want;
    return (char *)nb + HDR;
}

static int mem_size(void *p)
{
    return p ? (int)block_of(p)->size : 0;
}

static int mem_roundup(int n)
{
    return (n + 7) & ~7;
}

static int mem_init(void *arg)
{
    (void)arg;
    return SQLITE_OK;
}

static void mem_shutdown(void *arg)
{
    (void)arg;
}

static void init(void)
{
    static const sqlite3_mem_methods methods = {
        mem_malloc,  mem_free, mem_realloc,  mem_size,
        mem_roundup, mem_init, mem_shutdown, NULL,
    };
    /* fails when SQLite was used before the store was: then nothing is
     * accounted, and plugin databases cannot be opened (store__init) */
    accounting = sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) == SQLITE_OK;
    if (sqlite3_initialize() != SQLITE_OK || store__vfs_register() != 0)
        init_err = FASTN_ERR_INTERNAL;
}

int store__init(bool accounted)
{
    pthread_once(&init_once, init);
    if (!init_err && accounted && !accounting)
        return FASTN_ERR_INTERNAL;
    return init_err;
}

struct store__acct *store__acct_new(uint64_t limit)
{
    struct store__acct *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->limit = limit;
    a->refs = 1; /* the owner's */
    a->next_check = STORE__CHECK_BYTES;
    return a;
}

void store__acct_close(struct store__acct *a)
{
    if (!a)
        return;
    if (current == a)
        current = NULL;
    a->closed = true;
    a->check = NULL;
    acct_unref(a);
}

struct store__acct *store__acct_enter(struct store__acct *a)
{
    struct store__acct *prev = current;
    current = a;
    return prev;
}

void store__acct_leave(struct store__acct *prev)
{
    current = prev;
}

void store__acct_work_reset(struct store__acct *a)
{
    a->allocated = 0;
    a->next_check = STORE__CHECK_BYTES;
    a->refused = false;
    a->stopping = false;
}

/* Files count as references too (vfs.c). */
void store__acct_ref(struct store__acct *a)
{
    a->refs++;
}

void store__acct_unref(struct store__acct *a)
{
    acct_unref(a);
}

struct store__acct *store__acct_current(void)
{
    return current;
}
