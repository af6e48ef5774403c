/*
 * fastn files get: opens a fetch session in the files plugin and writes
 * what its get_next answers give (folders, files, their bytes, symlinks)
 * under -o PATH, with a progress bar on a terminal or --json lines. Every
 * entry is created inside the folder opened for its parent (openat,
 * mkdirat, O_NOFOLLOW), and an entry name that is empty, "." or "..", or
 * has a "/" or a NUL is refused (the plugin's walker refuses them too):
 * nothing is written outside PATH. A thread makes the get_next calls
 * while the main thread writes (GET_AHEAD). Memory: GET_AHEAD + 2 answers
 * (at most 2 MiB each). Files are written behind (util/file.h): a large
 * one takes a few windows of page cache, not its size.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "cli/files.h"
#include "util/file.h"

struct getter {
    struct cli *cli;
    const char *out;
    int fds[CLI_FILES_DEPTH_MAX + 2]; /* folders open, fds[1] the root */
    int depth;
    int file;
    uint64_t at;               /* bytes written to file */
    struct file_behind behind; /* file's write-behind */
    uint64_t bytes, total, fetched, local;
    unsigned peers;
    double t0, drawn;
    bool tty;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_files_link(const char *s, char *cid, size_t cap, char from[][128],
                   int *nfrom, int max)
{
    static const char pre[] = "fastn://files/";
    const char *q, *p;
    if (strncmp(s, pre, sizeof(pre) - 1))
        return -1;
    s += sizeof(pre) - 1;
    q = strchr(s, '?');
    if ((size_t)(q ? q - s : (long)strlen(s)) >= cap)
        return -1;
    snprintf(cid, cap, "%.*s", (int)(q ? q - s : (long)strlen(s)), s);
    for (p = q ? q + 1 : NULL; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 5 && !strncmp(p, "from=", 5) && n - 5 < 128 && *nfrom < max) {
            snprintf(from[*nfrom], 128, "%.*s", (int)(n - 5), p + 5);
            (*nfrom)++;
        }
        p = amp ? amp + 1 : NULL;
    }
    return cid[0] ? 0 : -1;
}

static void human(char *buf, size_t cap, double v)
{
    static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    snprintf(buf, cap, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* The progress bar (a terminal) or a --json line, at most 10 a second. */
static void progress(struct getter *g, bool last)
{
    double t = now_s(), dt = t - g->t0;
    double rate = dt > 0 ? (double)g->bytes / dt : 0;
    char a[32], b[32], r[32], bar[24];

    if (!last && t - g->drawn < (g->cli->json ? 0.2 : 0.1))
        return;
    g->drawn = t;
    if (g->cli->json) {
        cli_emit(json_pack("{s:I,s:I,s:I,s:I,s:i,s:f}", "bytes",
                           (json_int_t)g->bytes, "total", (json_int_t)g->total,
                           "fetched_blocks", (json_int_t)g->fetched,
                           "local_blocks", (json_int_t)g->local, "peers",
                           (int)g->peers, "rate", rate));
        return;
    }
    if (!g->tty)
        return;
    human(a, sizeof(a), (double)g->bytes);
    human(b, sizeof(b), (double)g->total);
    human(r, sizeof(r), rate);
    int fill = g->total ? (int)(20.0 * (double)g->bytes / (double)g->total) : 0;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[20] = '\0';
    if (g->total && rate > 0)
        fprintf(stderr, "\r[%s] %s / %s  %s/s  %.0f s left  %u peer%s   ", bar,
                a, b, r, (double)(g->total - g->bytes) / rate, g->peers,
                g->peers == 1 ? "" : "s");
    else
        fprintf(stderr, "\r%s  %s/s  %u peer%s   ", a, r, g->peers,
                g->peers == 1 ? "" : "s");
    if (last)
        fputc('\n', stderr);
}

static bool name_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n > 255 || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.'))
        return false;
    return !memchr(p, '/', n) && !memchr(p, '\0', n);
}

static int io_fail(const char *what, const char *name, size_t n)
{
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_IO, "%s %.*s: %s", what, (int)n,
                     name, strerror(errno));
}

/* A folder: the root at PATH (it may exist), the others new inside. */
static int on_dir(struct getter *g, const uint8_t *p, size_t n)
{
    int at = g->depth ? g->fds[g->depth] : AT_FDCWD;
    char name[256];

    if (g->depth == CLI_FILES_DEPTH_MAX)
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_FILES_LIMIT,
                         "folders nested too deep");
    if (g->depth && !name_ok(p, n))
        goto bad_name;
    snprintf(name, sizeof(name), "%.*s", (int)n, (const char *)p);
    const char *path = g->depth ? name : g->out;
    if (mkdirat(at, path, 0755) && errno != EEXIST)
        return io_fail("cannot make folder", path, strlen(path));
    int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return io_fail("cannot open folder", path, strlen(path));
    g->fds[++g->depth] = fd;
    return 0;
bad_name:
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_FILES_BAD_NAME,
                     "refused an entry named '%.*s' (empty, . or .., or with "
                     "/ or NUL): nothing is written outside %s",
                     (int)(n > 64 ? 64 : n), (const char *)p, g->out);
}

/* A file of size bytes has no room on its disk (file_reserve): said
 * before its first byte is written. */
static int no_room(int fd, const char *path, uint64_t size)
{
    struct statvfs vs;
    char need[32], left[64] = "";
    int e = errno;

    human(need, sizeof(need), (double)size);
    if (!fstatvfs(fd, &vs)) {
        char h[32];
        human(h, sizeof(h), (double)vs.f_bavail * (double)vs.f_frsize);
        snprintf(left, sizeof(left), ", %s free there", h);
    }
    return cli_error(CLI_EXIT_FAIL, FASTN_ERR_DISK_FULL,
                     "no room for %s: it is %s%s (%s); make room and run "
                     "get again (the blocks fetched are kept)",
                     path, need, left, strerror(e));
}

static int on_file(struct getter *g, const uint8_t *p, size_t n, uint64_t size)
{
    int at = g->depth ? g->fds[g->depth] : AT_FDCWD;
    char name[256];

    if (g->depth && !name_ok(p, n))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_FILES_BAD_NAME,
                         "refused an entry named '%.*s': nothing is written "
                         "outside %s",
                         (int)(n > 64 ? 64 : n), (const char *)p, g->out);
    snprintf(name, sizeof(name), "%.*s", (int)n, (const char *)p);
    const char *path = g->depth ? name : g->out;
    if (!g->depth)
        g->total = size;
    g->file = openat(
        at, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    g->at = 0;
    file_behind_from(&g->behind, 0);
    if (g->file < 0)
        return io_fail("cannot write", path, strlen(path));
    return file_reserve(g->file, 0, size) ? no_room(g->file, path, size) : 0;
}

static int on_symlink(struct getter *g, const uint8_t *p, size_t n)
{
    const uint8_t *nul = memchr(p, 0, n);
    int at = g->depth ? g->fds[g->depth] : AT_FDCWD;
    char target[4096];

    if (!nul || (g->depth && !name_ok(p, (size_t)(nul - p))))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_FILES_BAD_NAME,
                         "refused a symlink's name: nothing is written "
                         "outside %s",
                         g->out);
    size_t tn = n - (size_t)(nul - p) - 1;
    if (tn == 0 || tn >= sizeof(target) || memchr(nul + 1, 0, tn))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_FILES_BAD_NAME,
                         "refused a symlink's target");
    memcpy(target, nul + 1, tn);
    target[tn] = '\0';
    const char *path = g->depth ? (const char *)p : g->out;
    if (symlinkat(target, at, path))
        return io_fail("cannot make symlink", path, strlen(path));
    return 0;
}

static int on_bytes(struct getter *g, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(g->file, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return io_fail("writing", g->out, strlen(g->out));
        p += k;
        n -= (size_t)k;
        g->bytes += (uint64_t)k;
        g->at += (uint64_t)k;
    }
    file_behind_wrote(&g->behind, g->file, g->at);
    return 0;
}

#define GET_DONE 100

/* One record of a get_next answer: 0, GET_DONE the end, CLI_EXIT_FAIL
 * (said why) or a negative fastn_err (a record out of place). */
static int on_record(struct getter *g, uint8_t op, const uint8_t *p, size_t n)
{
    switch (op) {
    case 'D':
        return on_dir(g, p, n);
    case 'E':
        if (g->depth > 0)
            close(g->fds[g->depth--]);
        return 0;
    case 'F':
        return n < 8 ? FASTN_ERR_MALFORMED
                     : on_file(g, p + 8, n - 8, cli_files_get_le(p, 8));
    case 'W':
        return g->file < 0 ? FASTN_ERR_MALFORMED : on_bytes(g, p, n);
    case 'C':
        if (g->file >= 0 && close(g->file))
            return io_fail("writing", g->out, strlen(g->out));
        g->file = -1;
        return 0;
    case 'L':
        return on_symlink(g, p, n);
    case 'P':
    case 'Z':
        if (n < 28)
            return FASTN_ERR_MALFORMED;
        g->fetched = cli_files_get_le(p + 8, 8);
        g->local = cli_files_get_le(p + 16, 8);
        g->peers = (unsigned)cli_files_get_le(p + 24, 4);
        progress(g, op == 'Z');
        return op == 'Z' ? GET_DONE : 0;
    default:
        return FASTN_ERR_MALFORMED;
    }
}

static int on_answer(struct getter *g, const uint8_t *p, size_t n)
{
    size_t off = 0;
    int rc = 0;
    while (!rc && off < n) {
        if (n - off < REC_HEAD)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_MALFORMED,
                             "the files plugin answered a cut record");
        size_t len = (size_t)cli_files_get_le(p + off + 1, 4);
        if (len > n - off - REC_HEAD)
            return cli_error(CLI_EXIT_FAIL, FASTN_ERR_MALFORMED,
                             "the files plugin answered a cut record");
        rc = on_record(g, p[off], p + off + REC_HEAD, len);
        if (rc < 0)
            return cli_error(CLI_EXIT_FAIL, rc,
                             "the files plugin answered a record out of "
                             "place; update fastn");
        off += REC_HEAD + len;
    }
    return rc;
}

/* Answers fetched ahead of the writes. The CLI's file writes (a
 * kernel copy into the page cache, as much time as the daemon's answer)
 * overlap the daemon's next answers: a thread makes the get_next calls,
 * GET_AHEAD answers at most ahead of the one being written. */
#define GET_AHEAD 2

struct fetcher {
    struct fastn_client *c;
    const char *id;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct {
        uint8_t *p;
        size_t n;
    } q[GET_AHEAD];
    size_t head, count;
    int rc;    /* the call that failed (fastn_err), once done */
    bool done; /* no more answers: the last is queued, or rc */
    bool stop; /* the writer wants no more */
};

/* Is this answer the last (a 'Z' record, or records the writer refuses)? */
static bool answer_last(const uint8_t *p, size_t n)
{
    for (size_t off = 0; off < n;) {
        if (n - off < REC_HEAD || p[off] == 'Z')
            return true;
        size_t len = (size_t)cli_files_get_le(p + off + 1, 4);
        if (len > n - off - REC_HEAD)
            return true;
        off += REC_HEAD + len;
    }
    return false;
}

static void *fetch_main(void *arg)
{
    struct fetcher *f = arg;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->count == GET_AHEAD && !f->stop)
            pthread_cond_wait(&f->cv, &f->mu);
        bool stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (stop)
            return NULL;
        uint8_t *out = NULL;
        size_t n = 0;
        int rc = fastn_client_plugin_call(f->c, "files", "get_next", f->id,
                                          strlen(f->id), &out, &n);
        pthread_mutex_lock(&f->mu);
        if (rc) {
            f->rc = rc;
            f->done = true;
        } else {
            f->q[(f->head + f->count) % GET_AHEAD].p = out;
            f->q[(f->head + f->count) % GET_AHEAD].n = n;
            f->count++;
            f->done = answer_last(out, n);
        }
        stop = f->done;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        if (stop)
            return NULL;
    }
}

static int get_loop(struct getter *g, struct fastn_client *c, const char *id)
{
    struct fetcher f = {.c = c, .id = id};
    pthread_t th;
    int rc = 0, e;

    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    if ((e = pthread_create(&th, NULL, fetch_main, &f))) {
        pthread_cond_destroy(&f.cv);
        pthread_mutex_destroy(&f.mu);
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM,
                         "cannot start a thread: %s", strerror(e));
    }
    while (!rc) {
        pthread_mutex_lock(&f.mu);
        while (f.count == 0 && !f.done)
            pthread_cond_wait(&f.cv, &f.mu);
        if (f.count == 0) { /* the call failed: f.rc */
            pthread_mutex_unlock(&f.mu);
            break;
        }
        uint8_t *p = f.q[f.head].p;
        size_t n = f.q[f.head].n;
        f.head = (f.head + 1) % GET_AHEAD;
        f.count--;
        pthread_cond_broadcast(&f.cv);
        pthread_mutex_unlock(&f.mu);
        rc = on_answer(g, p, n);
        fastn_free(p);
    }
    pthread_mutex_lock(&f.mu);
    f.stop = true;
    pthread_cond_broadcast(&f.cv);
    pthread_mutex_unlock(&f.mu);
    pthread_join(th, NULL);
    for (; f.count; f.count--, f.head = (f.head + 1) % GET_AHEAD)
        fastn_free(f.q[f.head].p);
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
    if (!rc && f.rc)
        rc = cli_files_fail(c, f.rc);
    return rc == GET_DONE ? 0 : rc;
}

int cli_files_get(struct cli *cli, struct fastn_client *c,
                  const struct cli_files_args *fa)
{
    char cid[300], from[CLI_FILES_PEERS * 2][128], id[32];
    const char *args[1 + CLI_FILES_PEERS * 2];
    struct getter g = {.cli = cli, .out = fa->out, .file = -1};
    int nfrom = 0, rc;
    uint8_t *out = NULL;
    size_t n = 0;

    if (cli_files_link(fa->pos[1], cid, sizeof(cid), from, &nfrom,
                       CLI_FILES_PEERS) < 0)
        snprintf(cid, sizeof(cid), "%s", fa->pos[1]);
    for (int i = 0; i < fa->nfrom && nfrom < CLI_FILES_PEERS * 2; i++)
        snprintf(from[nfrom++], 128, "%s", fa->from[i]);
    args[0] = cid;
    for (int i = 0; i < nfrom; i++) {
        if ((rc = cli_check_peer(from[i])))
            return rc;
        args[1 + i] = from[i];
    }
    rc = fastn_client_plugin_call_args(c, "files", "get_open", args,
                                       (size_t)nfrom + 1, &out, &n);
    if (rc)
        return cli_files_call(c, "get_open", cid, strlen(cid), &out, &n) ?: rc;
    snprintf(id, sizeof(id), "%s", (char *)out);
    fastn_free(out);
    g.tty = isatty(2);
    g.t0 = g.drawn = now_s();
    rc = get_loop(&g, c, id);
    if (g.file >= 0 && rc) /* gives back what was reserved past it */
        (void)!ftruncate(g.file, (off_t)g.at);
    if (g.file >= 0)
        close(g.file);
    while (g.depth > 0)
        close(g.fds[g.depth--]);
    if (rc) {
        if (g.tty && !cli->json)
            fputc('\n', stderr);
        /* the session may have ended already: nothing more to say */
        if (!fastn_client_plugin_call(c, "files", "get_close", id, strlen(id),
                                      &out, &n))
            fastn_free(out);
        return rc;
    }
    if (cli->json)
        cli_emit(json_pack("{s:b,s:s,s:s,s:I,s:I,s:I}", "done", 1, "cid", cid,
                           "path", fa->out, "bytes", (json_int_t)g.bytes,
                           "fetched_blocks", (json_int_t)g.fetched,
                           "local_blocks", (json_int_t)g.local));
    else
        printf("got %s into %s (%llu bytes, %llu blocks fetched, %llu "
               "here)\n",
               cid, fa->out, (unsigned long long)g.bytes,
               (unsigned long long)g.fetched, (unsigned long long)g.local);
    return 0;
}
