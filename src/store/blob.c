/*
 * Plugin blobs: data/NAME/blobs/ holds pack files pack-000001,
 * pack-000002, ... Beside the plugin's database and counted in the same
 * quota (store.h, "Plugin blobs").
 *
 * A put appends one record to the current pack with one pwritev: a
 * STORE_BLOB_UNIT-byte header (magic, version, key, data length, a CRC32
 * of those fields), then the data padded to a multiple of the unit. A
 * pack that reached pack_max (STORE_BLOB_PACK_MAX) takes no more appends:
 * the next put starts the next pack. Appending to a few large files
 * allocates no inode per blob (costly on ext4 without a journal). The
 * current pack's disk blocks are reserved PACK_RESERVE ahead of its
 * appends (see PACK_RESERVE).
 *
 * The index is in memory, a hash table key -> (pack, offset, length),
 * built at open by scanning every pack: from offset 0, SEEK_DATA skips
 * holes, a header is read and checked, and the scan jumps past its
 * record. Where a header does not check out, the scan steps one unit at
 * a time to the next one that does (bit rot, or zeros after a power
 * cut); in the last pack, bytes after the last good record that hold no
 * record (a torn append) are cut off: the next append goes there. Two
 * records of one key (a replace cut short by a crash): the later one
 * wins, the older one is punched.
 *
 * A delete punches the record's blocks (FALLOC_FL_PUNCH_HOLE): its disk
 * space goes at once and the scan skips the hole. A file system that
 * cannot punch gets the header's magic overwritten with a dead marker
 * instead (the space comes back when the whole pack is dead). A pack
 * with no live record that is not the current one is unlinked. A replace
 * appends the new record, then punches the old one: a reader sees the
 * old blob or the new one.
 *
 * Nothing is synced: a killed process loses nothing (its appends are in
 * the page cache); after a power cut a record whose header reached the
 * disk before its data may read as zeros. Appends are not written behind
 * (util/file.h's file_behind): sync_file_range may wait for the disk's
 * queue, and a put runs on the daemon's loop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fastn/err.h"
#include "store/store.h"
#include "store/store_int.h"
#include "util/file.h"

#define UNIT STORE_BLOB_UNIT
#define PACK_NAME_MAX 32
/* Disk blocks reserved ahead of the current pack's appends (file_reserve:
 * the pack's size stays what was appended), so that the file system
 * allocates them 8 MiB at a time instead of append by append: on ext4 a
 * get's puts cost its daemon some 5 % less CPU. At most this much past
 * the last pack's end, never past pack_max; an append that fails gives
 * them back with its cut. The quota counts records, not these. */
#define PACK_RESERVE (8u << 20)
#define FDS_MAX 64 /* pack descriptors kept open at once */

static const uint8_t magic_live[8] = {'f', 'a', 's', 't', 'n', 'p', 'k', '1'};
static const uint8_t magic_dead[8] = {'f', 'a', 's', 't', 'n', 'D', 'E', 'D'};

/* Header fields (little-endian), after the 8-byte magic. */
#define H_VERSION 8   /* u32: 1 */
#define H_KEY_LEN 12  /* u32: 1..STORE_BLOB_KEY_MAX */
#define H_DATA_LEN 16 /* u64: 0..STORE_BLOB_MAX */
#define H_KEY 24      /* STORE_BLOB_KEY_MAX bytes, zeros after the key */
/* u32: the CRC32 of the bytes from H_VERSION to here */
#define H_CRC (H_KEY + STORE_BLOB_KEY_MAX)
#define H_END (H_CRC + 4)

struct pack {
    uint32_t num;
    int fd;            /* -1: not open now */
    uint64_t size;     /* where the next append goes (the last pack) */
    uint64_t reserved; /* disk blocks reserved up to here (the last pack) */
    uint64_t live;     /* records indexed in it */
};

struct entry {
    uint64_t off; /* of the record's header */
    uint32_t len; /* the data's */
    uint32_t pack;
    uint8_t key_len;
    uint8_t key[STORE_BLOB_KEY_MAX];
};

struct store_blobs {
    char *dir;
    int dfd; /* -1 until the folder exists */
    uint64_t quota;
    uint64_t used;            /* the records, as counted */
    struct store__acct *acct; /* the database's: its files, blob_bytes */
    uint64_t pack_max;
    uint32_t count_max;
    struct pack *packs; /* by number; the last is the current one */
    size_t n_packs, cap_packs, n_open;
    struct entry *ents; /* the index: entries, and slots into them */
    size_t n_ents, cap_ents;
    uint32_t *slots; /* 0: empty, else an entry's index + 1 */
    size_t n_slots;  /* a power of two, at least twice n_ents */
    uint64_t seed;
    bool scanning; /* at open: packs stay until the scan ends */
};

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t round_unit(uint64_t n)
{
    return (n + UNIT - 1) / UNIT * UNIT;
}

uint64_t store__blob_record_size(uint64_t data_len)
{
    return UNIT + round_unit(data_len);
}

int store__blob_header_parse(const uint8_t *h, size_t n,
                             struct store__blob_header *out)
{
    bool dead;

    if (n < H_END)
        return FASTN_ERR_INVAL;
    if (memcmp(h, magic_live, 8) == 0)
        dead = false;
    else if (memcmp(h, magic_dead, 8) == 0)
        dead = true;
    else
        return FASTN_ERR_INVAL;
    if (get_le32(h + H_CRC) != crc32_ieee(h + H_VERSION, H_CRC - H_VERSION))
        return FASTN_ERR_INVAL;
    uint32_t key_len = get_le32(h + H_KEY_LEN);
    uint64_t len = get_le64(h + H_DATA_LEN);
    if (get_le32(h + H_VERSION) != 1 || key_len == 0 ||
        key_len > STORE_BLOB_KEY_MAX || len > STORE_BLOB_MAX)
        return FASTN_ERR_INVAL;
    out->key_len = (uint8_t)key_len;
    memcpy(out->key, h + H_KEY, key_len);
    out->data_len = len;
    out->dead = dead;
    return 0;
}

/* Fills a header block (UNIT bytes) for a live record. */
static void header_make(uint8_t *h, const void *key, size_t key_len,
                        uint64_t len)
{
    memset(h, 0, UNIT);
    memcpy(h, magic_live, 8);
    put_le32(h + H_VERSION, 1);
    put_le32(h + H_KEY_LEN, (uint32_t)key_len);
    put_le64(h + H_DATA_LEN, len);
    memcpy(h + H_KEY, key, key_len);
    put_le32(h + H_CRC, crc32_ieee(h + H_VERSION, H_CRC - H_VERSION));
}

static int io_err(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG ? FASTN_ERR_DISK_FULL
           : e == ENOMEM                            ? FASTN_ERR_NOMEM
                                                    : FASTN_ERR_IO;
}

/* The blobs now take n bytes (the database's writes count them). */
static void set_used(struct store_blobs *b, uint64_t n)
{
    b->used = n;
    if (b->acct)
        b->acct->blob_bytes = n;
}

/* --- the index --- */

static uint64_t key_hash(const struct store_blobs *b, const uint8_t *k,
                         size_t n)
{
    uint64_t h = b->seed ^ n;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ k[i]) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93ull;
    return h ^ h >> 32;
}

static bool ent_is(const struct entry *e, const uint8_t *k, size_t n)
{
    return e->key_len == n && memcmp(e->key, k, n) == 0;
}

/* The slot holding key k, or the empty slot where it would go. */
static size_t slot_find(const struct store_blobs *b, const uint8_t *k, size_t n)
{
    size_t mask = b->n_slots - 1, i = key_hash(b, k, n) & mask;
    while (b->slots[i] && !ent_is(&b->ents[b->slots[i] - 1], k, n))
        i = (i + 1) & mask;
    return i;
}

static struct entry *ent_get(const struct store_blobs *b, const void *k,
                             size_t n)
{
    if (!b->n_slots)
        return NULL;
    uint32_t s = b->slots[slot_find(b, k, n)];
    return s ? &b->ents[s - 1] : NULL;
}

static int slots_grow(struct store_blobs *b)
{
    size_t n = b->n_slots ? b->n_slots * 2 : 1024;
    uint32_t *s = calloc(n, sizeof(*s));
    if (!s)
        return FASTN_ERR_NOMEM;
    free(b->slots);
    b->slots = s;
    b->n_slots = n;
    for (size_t i = 0; i < b->n_ents; i++) {
        struct entry *e = &b->ents[i];
        b->slots[slot_find(b, e->key, e->key_len)] = (uint32_t)i + 1;
    }
    return 0;
}

/* Adds an entry for a key not in the index. */
static int ent_add(struct store_blobs *b, const struct entry *e)
{
    int err;
    if (b->n_ents == b->cap_ents) {
        size_t cap = b->cap_ents ? b->cap_ents * 2 : 256;
        struct entry *v = realloc(b->ents, cap * sizeof(*v));
        if (!v)
            return FASTN_ERR_NOMEM;
        b->ents = v;
        b->cap_ents = cap;
    }
    if ((b->n_ents + 1) * 2 > b->n_slots && (err = slots_grow(b)))
        return err;
    b->ents[b->n_ents] = *e;
    b->slots[slot_find(b, e->key, e->key_len)] = (uint32_t)++b->n_ents;
    return 0;
}

/* Removes e from the index: its slot emptied (the probe runs after it
 * shifted back), the last entry moved into its place. */
static void ent_remove(struct store_blobs *b, struct entry *e)
{
    size_t mask = b->n_slots - 1, i = slot_find(b, e->key, e->key_len);
    size_t at = (size_t)(e - b->ents);

    b->slots[i] = 0;
    for (size_t j = (i + 1) & mask; b->slots[j]; j = (j + 1) & mask) {
        struct entry *o = &b->ents[b->slots[j] - 1];
        size_t k = key_hash(b, o->key, o->key_len) & mask;
        /* o stays when its home k lies cyclically within (i, j] */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            b->slots[i] = b->slots[j];
            b->slots[j] = 0;
            i = j;
        }
    }
    if (at != --b->n_ents) {
        struct entry *last = &b->ents[b->n_ents];
        b->slots[slot_find(b, last->key, last->key_len)] = (uint32_t)at + 1;
        b->ents[at] = *last;
    }
}

/* --- packs --- */

static void pack_name(uint32_t num, char out[PACK_NAME_MAX])
{
    snprintf(out, PACK_NAME_MAX, "pack-%06u", num);
}

static struct pack *pack_get(struct store_blobs *b, uint32_t num)
{
    size_t lo = 0, hi = b->n_packs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->packs[mid].num == num)
            return &b->packs[mid];
        if (b->packs[mid].num < num)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static struct pack *pack_current(struct store_blobs *b)
{
    return b->n_packs ? &b->packs[b->n_packs - 1] : NULL;
}

/* Closes one open descriptor of a pack other than keep. */
static void fd_evict(struct store_blobs *b, const struct pack *keep)
{
    struct pack *cur = pack_current(b);
    for (size_t i = 0; i < b->n_packs; i++) {
        struct pack *p = &b->packs[i];
        if (p->fd >= 0 && p != keep && p != cur) {
            close(p->fd);
            p->fd = -1;
            b->n_open--;
            return;
        }
    }
}

/* p's descriptor, opened (made when create is set) if need be. */
static int pack_fd(struct store_blobs *b, struct pack *p, bool create)
{
    char name[PACK_NAME_MAX];

    if (p->fd >= 0)
        return p->fd;
    if (b->n_open >= FDS_MAX)
        fd_evict(b, p);
    pack_name(p->num, name);
    p->fd =
        openat(b->dfd, name,
               O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    if (p->fd < 0)
        return io_err(errno);
    b->n_open++;
    return p->fd;
}

/* Appends a pack numbered num to the list (numbers rise). */
static struct pack *pack_add(struct store_blobs *b, uint32_t num)
{
    if (b->n_packs == b->cap_packs) {
        size_t cap = b->cap_packs ? b->cap_packs * 2 : 8;
        struct pack *v = realloc(b->packs, cap * sizeof(*v));
        if (!v)
            return NULL;
        b->packs = v;
        b->cap_packs = cap;
    }
    struct pack *p = &b->packs[b->n_packs++];
    *p = (struct pack){.num = num, .fd = -1};
    return p;
}

/* Unlinks p, which holds no live record, and forgets it. */
static void pack_drop(struct store_blobs *b, struct pack *p)
{
    char name[PACK_NAME_MAX];

    if (p->fd >= 0) {
        close(p->fd);
        b->n_open--;
    }
    pack_name(p->num, name);
    unlinkat(b->dfd, name, 0);
    size_t i = (size_t)(p - b->packs);
    memmove(p, p + 1, (b->n_packs - i - 1) * sizeof(*p));
    b->n_packs--;
}

/* Frees a record's room: its blocks punched, or (a file system that
 * cannot punch) its header marked dead. Its pack goes when it held the
 * last live record and is not the current one. */
static int record_kill(struct store_blobs *b, uint32_t num, uint64_t off,
                       uint64_t len)
{
    struct pack *p = pack_get(b, num);
    int fd = p ? pack_fd(b, p, false) : FASTN_ERR_IO;

    if (fd < 0)
        return fd;
    if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
                  (off_t)store__blob_record_size(len)) != 0) {
        if (errno != EOPNOTSUPP && errno != ENOSYS)
            return io_err(errno);
        if (pwrite(fd, magic_dead, 8, (off_t)off) != 8)
            return FASTN_ERR_IO;
    }
    if (p->live > 0)
        p->live--;
    if (p->live == 0 && p != pack_current(b) && !b->scanning)
        pack_drop(b, p);
    return 0;
}

/* --- open: the scan --- */

/* Indexes the record at off of pack p (header h), the later of two
 * records of one key winning (the older is punched; packs left empty go
 * when the scan ends). */
static int scan_index(struct store_blobs *b, struct pack *p, uint64_t off,
                      const struct store__blob_header *h)
{
    struct entry *old = ent_get(b, h->key, h->key_len);
    struct entry e = {.off = off,
                      .len = (uint32_t)h->data_len,
                      .pack = p->num,
                      .key_len = h->key_len};

    memcpy(e.key, h->key, h->key_len);
    p->live++;
    set_used(b, b->used + store__blob_record_size(h->data_len));
    if (!old)
        return ent_add(b, &e);
    struct entry prev = *old;
    *old = e;
    set_used(b, b->used - store__blob_record_size(prev.len));
    return record_kill(b, prev.pack, prev.off, prev.len);
}

/* Whether a whole record starts at off of the pack (size bytes); its
 * header in *h. */
static bool record_at(int fd, uint64_t off, uint64_t size,
                      struct store__blob_header *h)
{
    uint8_t hb[H_END];
    return pread(fd, hb, sizeof(hb), (off_t)off) == (ssize_t)sizeof(hb) &&
           store__blob_header_parse(hb, sizeof(hb), h) == 0 &&
           store__blob_record_size(h->data_len) <= size - off;
}

/* Scans pack p: where a header does not check out, steps one unit at a
 * time to the next that does. In the last pack, what follows the last
 * good record and holds none (a torn append) is cut off. */
static int scan_pack(struct store_blobs *b, struct pack *p, bool last)
{
    struct store__blob_header h;
    struct stat st;
    int fd = pack_fd(b, p, false), err;

    if (fd < 0)
        return fd;
    if (fstat(fd, &st) != 0)
        return io_err(errno);
    uint64_t size = (uint64_t)st.st_size, off = 0, bad = UINT64_MAX;
    while (off < size) {
        off_t d = lseek(fd, (off_t)off, SEEK_DATA);
        if (d < 0 && errno == ENXIO)
            break;
        if (d >= 0)
            off = (uint64_t)d / UNIT * UNIT;
        if (!record_at(fd, off, size, &h)) {
            bad = bad < off ? bad : off;
            off += UNIT;
            continue;
        }
        bad = UINT64_MAX;
        if (!h.dead && (err = scan_index(b, p, off, &h)))
            return err;
        off += store__blob_record_size(h.data_len);
    }
    if (last && bad < size) {
        if (ftruncate(fd, (off_t)bad) != 0)
            return io_err(errno);
        size = bad;
    }
    p->size = size;
    return 0;
}

static int num_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The numbers of the packs in the folder, sorted (*out: malloc'd). */
static int list_packs(struct store_blobs *b, uint32_t **out, size_t *n)
{
    int fd = dup(b->dfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *e;
    uint32_t *v = NULL;
    size_t cap = 0;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return io_err(errno);
    }
    *n = 0;
    while ((e = readdir(d))) {
        const char *digits = e->d_name + 5;
        size_t nd = strspn(digits, "0123456789");
        if (strncmp(e->d_name, "pack-", 5) || nd < 6 || nd > 9 || digits[nd])
            continue; /* not a pack: left alone */
        uint32_t num = (uint32_t)strtoul(digits, NULL, 10);
        if (num == 0)
            continue;
        if (*n == cap) {
            uint32_t *w = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*w));
            if (!w) {
                free(v);
                closedir(d);
                return FASTN_ERR_NOMEM;
            }
            v = w;
        }
        v[(*n)++] = num;
    }
    closedir(d);
    qsort(v, *n, sizeof(*v), num_cmp);
    *out = v;
    return 0;
}

static int scan(struct store_blobs *b)
{
    uint32_t *nums = NULL;
    size_t n = 0;
    int err = list_packs(b, &nums, &n);

    for (size_t i = 0; !err && i < n; i++)
        err = pack_add(b, nums[i]) ? 0 : FASTN_ERR_NOMEM;
    free(nums);
    b->scanning = true;
    for (size_t i = 0; !err && i < b->n_packs; i++)
        err = scan_pack(b, &b->packs[i], i + 1 == b->n_packs);
    b->scanning = false;
    /* packs left with nothing live (all but the current one) go */
    for (size_t i = 0; !err && i + 1 < b->n_packs;)
        if (b->packs[i].live == 0)
            pack_drop(b, &b->packs[i]);
        else
            i++;
    return err;
}

/* Opens the folder, making it when make is set; 1 when it does not exist
 * (and make is not set). */
static int dir_open(struct store_blobs *b, bool make)
{
    if (b->dfd >= 0)
        return 0;
    if (make && mkdir(b->dir, 0700) != 0 && errno != EEXIST)
        return io_err(errno);
    b->dfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b->dfd < 0)
        return errno == ENOENT && !make ? 1 : io_err(errno);
    return 0;
}

/* Tests lower the limits with FASTN_BLOB_PACK_MAX and FASTN_BLOB_COUNT_MAX
 * (never raised above the defaults). */
static uint64_t knob(const char *name, uint64_t dflt)
{
    const char *s = getenv(name);
    char *end;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    return s && *s && !*end && v > 0 && v < dflt ? v : dflt;
}

int store_blobs_open(const char *dir, uint64_t quota, struct store__acct *acct,
                     struct store_blobs **out)
{
    struct store_blobs *b;
    int err;

    if (!dir || !out)
        return FASTN_ERR_INVAL;
    if (!(b = calloc(1, sizeof(*b))) || !(b->dir = strdup(dir))) {
        free(b);
        return FASTN_ERR_NOMEM;
    }
    b->dfd = -1;
    b->quota = quota;
    b->acct = acct;
    b->pack_max = knob("FASTN_BLOB_PACK_MAX", STORE_BLOB_PACK_MAX);
    b->count_max = (uint32_t)knob("FASTN_BLOB_COUNT_MAX", STORE_BLOB_COUNT_MAX);
    if (getrandom(&b->seed, sizeof(b->seed), 0) != sizeof(b->seed))
        b->seed = (uint64_t)(uintptr_t)b ^ (uint64_t)getpid();
    set_used(b, 0);
    err = dir_open(b, false);
    if (err == 0)
        err = scan(b);
    if (err < 0) {
        store_blobs_close(b);
        return err;
    }
    *out = b;
    return 0;
}

void store_blobs_close(struct store_blobs *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_packs; i++)
        if (b->packs[i].fd >= 0)
            close(b->packs[i].fd);
    if (b->dfd >= 0)
        close(b->dfd);
    free(b->packs);
    free(b->ents);
    free(b->slots);
    free(b->dir);
    free(b);
}

int store_blobs_destroy(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int err = 0;

    if (!d)
        return errno == ENOENT ? 0 : FASTN_ERR_IO;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
            unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
            err = FASTN_ERR_IO;
    closedir(d);
    if (!err && rmdir(dir) != 0 && errno != ENOENT)
        err = FASTN_ERR_IO;
    return err;
}

uint64_t store_blobs_used(const struct store_blobs *b)
{
    return b ? b->used : 0;
}

static uint64_t others_used(const struct store_blobs *b)
{
    return b->acct ? b->acct->db_bytes + b->acct->wal_bytes : 0;
}

static int check_key(const void *key, size_t len)
{
    return !key || len == 0 || len > STORE_BLOB_KEY_MAX ? FASTN_ERR_INVAL : 0;
}

/* The pack the next append of rec bytes goes to: the current one, or a
 * new one when it reached pack_max. */
static int pack_for_append(struct store_blobs *b, struct pack **out)
{
    struct pack *p = pack_current(b);
    int fd;

    if (!p || p->size >= b->pack_max) {
        if (!(p = pack_add(b, p ? p->num + 1 : 1)))
            return FASTN_ERR_NOMEM;
        if ((fd = pack_fd(b, p, true)) < 0 || ftruncate(fd, 0) != 0) {
            int err = fd < 0 ? fd : io_err(errno);
            pack_drop(b, p);
            return err;
        }
        /* the pack it follows, emptied while current, goes now */
        if (b->n_packs > 1 && b->packs[b->n_packs - 2].live == 0)
            pack_drop(b, &b->packs[b->n_packs - 2]);
        p = pack_current(b);
    }
    fd = pack_fd(b, p, false);
    if (fd < 0)
        return fd;
    *out = p;
    return 0;
}

/* Writes the iovecs whole at off. */
static int pwritev_all(int fd, struct iovec *iov, int n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pwritev(fd, iov, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return io_err(k < 0 ? errno : ENOSPC);
        off += (uint64_t)k;
        while (n > 0 && (size_t)k >= iov->iov_len) {
            k -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}

/* Reserves PACK_RESERVE more of p ahead of an append that ends at end;
 * no room reserves nothing (the append finds out for itself). */
static void reserve_ahead(const struct store_blobs *b, struct pack *p,
                          uint64_t end)
{
    if (end <= p->reserved || end >= b->pack_max)
        return;
    uint64_t to =
        end + PACK_RESERVE < b->pack_max ? end + PACK_RESERVE : b->pack_max;
    if (!file_reserve(p->fd, p->size, to - p->size))
        p->reserved = to;
}

/* Appends the record to the current pack: its offset in *off. */
static int append(struct store_blobs *b, struct pack **pp, uint64_t *off,
                  const void *key, size_t key_len, const void *data, size_t len)
{
    static const uint8_t pad[UNIT];
    uint8_t head[UNIT];
    struct pack *p;
    int err = pack_for_append(b, &p);

    if (err)
        return err;
    header_make(head, key, key_len, len);
    reserve_ahead(b, p, p->size + store__blob_record_size(len));
    struct iovec iov[3] = {{head, UNIT},
                           {(void *)data, len},
                           {(void *)pad, (size_t)(round_unit(len) - len)}};
    err = pwritev_all(p->fd, iov, 3, p->size);
    if (err) {
        /* nothing appended: the pack as it was (a cut that fails leaves
         * a torn record, cut at the next open) */
        (void)!ftruncate(p->fd, (off_t)p->size);
        p->reserved = p->size; /* the cut gave back what was reserved */
        return err;
    }
    *off = p->size;
    *pp = p;
    p->size += store__blob_record_size(len);
    p->live++;
    return 0;
}

int store_blob_put(struct store_blobs *b, const void *key, size_t key_len,
                   const void *data, size_t len)
{
    struct pack *p;
    uint64_t off;
    int err;

    if (!b || (len && !data))
        return FASTN_ERR_INVAL;
    if ((err = check_key(key, key_len)))
        return err;
    if (len > STORE_BLOB_MAX)
        return FASTN_ERR_TOO_LARGE;
    if ((err = dir_open(b, true)))
        return err;
    struct entry *e = ent_get(b, key, key_len);
    uint64_t old = e ? store__blob_record_size(e->len) : 0;
    uint64_t add = store__blob_record_size(len);
    if (b->quota && others_used(b) + b->used - old + add > b->quota)
        return FASTN_ERR_STORE_QUOTA;
    if (!e && b->n_ents >= b->count_max)
        return FASTN_ERR_STORE_QUOTA;
    if ((err = append(b, &p, &off, key, key_len, data, len)))
        return err;
    struct entry n = {.off = off,
                      .len = (uint32_t)len,
                      .pack = p->num,
                      .key_len = (uint8_t)key_len};
    memcpy(n.key, key, key_len);
    if (!e) {
        if ((err = ent_add(b, &n))) {
            record_kill(b, p->num, off, len);
            return err;
        }
    } else {
        struct entry prev = *e;
        *e = n;
        /* a failed punch leaves the old record to be punched at the
         * next open (the later record wins) */
        record_kill(b, prev.pack, prev.off, prev.len);
    }
    set_used(b, b->used - old + add);
    return 0;
}

/* The live entry of key: 0, or FASTN_ERR_INVAL (no store, a bad key)
 * or FASTN_ERR_NOT_FOUND. */
static int lookup(struct store_blobs *b, const void *key, size_t key_len,
                  struct entry **out)
{
    int err;

    if (!b)
        return FASTN_ERR_INVAL;
    if ((err = check_key(key, key_len)))
        return err;
    *out = ent_get(b, key, key_len);
    return *out ? 0 : FASTN_ERR_NOT_FOUND;
}

int64_t store_blob_size(struct store_blobs *b, const void *key, size_t key_len)
{
    struct entry *e;
    int err = lookup(b, key, key_len, &e);

    return err ? err : (int64_t)e->len;
}

int64_t store_blob_read(struct store_blobs *b, const void *key, size_t key_len,
                        uint64_t offset, void *buf, size_t cap,
                        int (*before)(void *arg, uint64_t bytes), void *arg)
{
    size_t want, got = 0;
    struct entry *e;
    int fd, err;

    if (cap && !buf)
        return FASTN_ERR_INVAL;
    if ((err = lookup(b, key, key_len, &e)))
        return err;
    uint64_t len = e->len, at = e->off + UNIT;
    struct pack *p = pack_get(b, e->pack);
    if (!p || (fd = pack_fd(b, p, false)) < 0)
        return p ? fd : FASTN_ERR_IO;
    want = offset >= len        ? 0
           : len - offset < cap ? (size_t)(len - offset)
                                : cap;
    if (before && (err = before(arg, want)))
        return err;
    while (got < want) {
        ssize_t k = pread(fd, (uint8_t *)buf + got, want - got,
                          (off_t)(at + offset + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? io_err(errno) : FASTN_ERR_IO;
        got += (size_t)k;
    }
    return (int64_t)got;
}

int store_blob_delete(struct store_blobs *b, const void *key, size_t key_len)
{
    struct entry *e;
    int err = lookup(b, key, key_len, &e);

    if (err)
        return err;
    struct entry prev = *e;
    if ((err = record_kill(b, prev.pack, prev.off, prev.len)))
        return err;
    ent_remove(b, e);
    uint64_t c = store__blob_record_size(prev.len);
    set_used(b, b->used > c ? b->used - c : 0);
    return 0;
}
