/*
 * The signer process and the daemon's side of it; see signer.h.
 *
 * Invariants: the daemon's process never reads the key file nor holds
 * the secret key (the child reads it after the fork, so no copy was ever
 * in the daemon's memory); the signer signs only what signer_classify()
 * recognises, at most SIGNER_RATE a second, at most SIGNER_MSG_MAX bytes;
 * after its hello it installs its seccomp filter (read and write on its
 * socket, exit, little else).
 */
#include "identity/signer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fastn/err.h"
#include "sandbox/sandbox.h"

enum { OP_SIGN = 1 };

/* libp2p noise spec: the identity signs this prefix || the static key */
#define NOISE_PREFIX "noise-libp2p-static-key:"
#define NOISE_PREFIX_LEN (sizeof(NOISE_PREFIX) - 1)
/* RFC 0002 signed envelopes: the domains (and payload types) fastn seals */
static const struct {
    const char *domain;
    const char *type;
    size_t type_len;
    enum signer_kind kind;
} envelopes[] = {
    {"libp2p-relay-rsvp", "\x03\x02", 2, SIGNER_KIND_RELAY_VOUCHER},
};

#define HELLO_LEN (4 + 4 + 4 + IDENTITY_PUBKEY_LEN)
#define REPLY_LEN (4 + IDENTITY_SIG_LEN)

/* --- the domain check ---------------------------------------------------- */

/* A uvarint of at most 4 bytes (every length here is < 2^28). */
static bool get_len(const uint8_t *p, size_t n, size_t *off, size_t *out)
{
    size_t v = 0;

    for (unsigned shift = 0; shift < 28; shift += 7) {
        if (*off >= n)
            return false;
        uint8_t b = p[(*off)++];
        v |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* domain || type || payload, each uvarint-length-prefixed, to the end. */
static enum signer_kind classify_envelope(const uint8_t *msg, size_t n)
{
    size_t off = 0, dlen, tlen, plen;

    if (!get_len(msg, n, &off, &dlen) || dlen > n - off)
        return SIGNER_KIND_NONE;
    const uint8_t *domain = msg + off;
    off += dlen;
    if (!get_len(msg, n, &off, &tlen) || tlen > n - off)
        return SIGNER_KIND_NONE;
    const uint8_t *type = msg + off;
    off += tlen;
    if (!get_len(msg, n, &off, &plen) || plen != n - off)
        return SIGNER_KIND_NONE;
    for (size_t i = 0; i < sizeof(envelopes) / sizeof(envelopes[0]); i++)
        if (dlen == strlen(envelopes[i].domain) &&
            !memcmp(domain, envelopes[i].domain, dlen) &&
            tlen == envelopes[i].type_len &&
            !memcmp(type, envelopes[i].type, tlen))
            return envelopes[i].kind;
    return SIGNER_KIND_NONE;
}

enum signer_kind signer_classify(const uint8_t *msg, size_t n)
{
    if (n == NOISE_PREFIX_LEN + 32 &&
        !memcmp(msg, NOISE_PREFIX, NOISE_PREFIX_LEN))
        return SIGNER_KIND_NOISE;
    if (n > SIGNER_MSG_MAX)
        return SIGNER_KIND_NONE;
    return classify_envelope(msg, n);
}

/* --- the signer process -------------------------------------------------- */

struct bucket {
    double tokens;
    struct timespec last;
};

static bool bucket_take(struct bucket *b)
{
    struct timespec now;
    double dt;

    clock_gettime(CLOCK_MONOTONIC, &now);
    dt = (double)(now.tv_sec - b->last.tv_sec) +
         (double)(now.tv_nsec - b->last.tv_nsec) / 1e9;
    b->last = now;
    b->tokens += dt * SIGNER_RATE;
    if (b->tokens > SIGNER_RATE)
        b->tokens = SIGNER_RATE;
    if (b->tokens < 1)
        return false;
    b->tokens -= 1;
    return true;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

/* One request of n bytes (n may exceed the buffer: MSG_TRUNC). */
static int answer(const uint8_t *req, size_t n, size_t cap,
                  const struct identity *id, struct bucket *b,
                  uint8_t sig[IDENTITY_SIG_LEN])
{
    if (n > cap || n - 1 > SIGNER_MSG_MAX)
        return FASTN_ERR_TOO_LARGE;
    if (n < 1 || req[0] != OP_SIGN)
        return FASTN_ERR_MALFORMED;
    if (signer_classify(req + 1, n - 1) == SIGNER_KIND_NONE)
        return FASTN_ERR_NOT_ALLOWED;
    if (!bucket_take(b))
        return FASTN_ERR_BUSY;
    return crypto_sign_detached(sig, NULL, req + 1, n - 1, id->seckey) == 0
               ? 0
               : FASTN_ERR_CRYPTO;
}

void signer_serve(int fd, const struct identity *id)
{
    static uint8_t req[1 + SIGNER_MSG_MAX + 1];
    uint8_t rep[REPLY_LEN];
    struct bucket b = {SIGNER_RATE, {0, 0}};
    ssize_t n;
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &b.last);
    for (;;) {
        n = recv(fd, req, sizeof(req), MSG_TRUNC);
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
        if (n < 0)
            continue;
        memset(rep, 0, sizeof(rep));
        rc = answer(req, (size_t)n, sizeof(req), id, &b, rep + 4);
        put32(rep, (uint32_t)rc);
        if (send(fd, rep, sizeof(rep), MSG_NOSIGNAL) != (ssize_t)sizeof(rep))
            break;
    }
    sodium_memzero(req, sizeof(req));
}

/* Everything but fd and dirfd (and stdin/out/err, where sanitizers
 * report) is the daemon's: closed. */
static void close_others(int fd, int dirfd)
{
    int keep[2] = {fd, dirfd >= 0 ? dirfd : fd};
    unsigned lo = 3;

    if (keep[0] > keep[1]) {
        int t = keep[0];
        keep[0] = keep[1];
        keep[1] = t;
    }
    for (int i = 0; i < 2; i++) {
        if ((unsigned)keep[i] > lo)
            close_range(lo, (unsigned)keep[i] - 1, 0);
        if ((unsigned)keep[i] + 1 > lo)
            lo = (unsigned)keep[i] + 1;
    }
    close_range(lo, ~0u, 0);
}

static void child_setup(int fd, const struct signer_config *cfg)
{
    prctl(PR_SET_NAME, "fastnd-signer");
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_DUMPABLE, 0); /* no core with the key, no ptrace */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    close_others(fd, cfg->dirfd);
}

static int child_main(int fd, const struct signer_config *cfg)
{
    struct identity id;
    uint8_t hello[HELLO_LEN] = {0};
    mode_t mode = 0;
    int rc;

    child_setup(fd, cfg);
    if (getppid() == 1) /* the daemon died before PDEATHSIG was set */
        return 1;
    memset(&id, 0, sizeof(id));
    rc = cfg->create ? identity_create_at(cfg->dirfd, cfg->name, &id)
                     : identity_load_at(cfg->dirfd, cfg->name, &id, &mode);
    put32(hello, (uint32_t)rc);
    put32(hello + 4, (uint32_t)errno);
    put32(hello + 8, (uint32_t)mode);
    if (!rc)
        memcpy(hello + 12, id.pubkey, IDENTITY_PUBKEY_LEN);
    if (cfg->dirfd >= 0)
        close(cfg->dirfd);
    if (send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello))
        rc = FASTN_ERR_IO;
    if (!rc && sandbox_install(SANDBOX_SIGNER, cfg->sandbox, 0) == 0)
        signer_serve(fd, &id);
    identity_cleanup(&id);
    return rc ? 1 : 0;
}

/* --- the daemon's side --------------------------------------------------- */

/* Waits until fd is ready for events, at most ms. */
static int wait_fd(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;

    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return FASTN_ERR_IO;
    return n == 0 ? FASTN_ERR_TIMEOUT : 0;
}

static void reap(pid_t pid)
{
    int st;

    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, &st, WNOHANG) != 0)
            return;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

static int read_hello(int fd, struct identity *out, mode_t *mode, int *err_no)
{
    uint8_t hello[HELLO_LEN];
    ssize_t n;
    int rc;

    do
        n = recv(fd, hello, sizeof(hello), 0);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(hello)) {
        *err_no = n == 0 ? EPIPE : errno;
        return FASTN_ERR_IO;
    }
    rc = (int)get32(hello);
    *err_no = (int)get32(hello + 4);
    if (rc)
        return rc;
    memset(out, 0, sizeof(*out));
    memcpy(out->pubkey, hello + 12, IDENTITY_PUBKEY_LEN);
    peer_id_from_pubkey(out->pubkey, &out->id);
    if (mode)
        *mode = (mode_t)get32(hello + 8);
    return 0;
}

int signer_start(struct signer *s, const struct signer_config *cfg,
                 struct identity *out, mode_t *mode)
{
    int sv[2], rc, err_no = 0;
    pid_t pid;

    memset(s, 0, sizeof(*s));
    s->fd = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return FASTN_ERR_IO;
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        err_no = errno;
        close(sv[0]);
        close(sv[1]);
        errno = err_no;
        return FASTN_ERR_IO;
    }
    if (pid == 0) {
        close(sv[0]);
        _exit(child_main(sv[1], cfg));
    }
    close(sv[1]);
    rc = read_hello(sv[0], out, mode, &err_no);
    if (rc) {
        close(sv[0]);
        reap(pid);
        errno = err_no;
        return rc;
    }
    s->fd = sv[0];
    s->pid = pid;
    pthread_mutex_init(&s->lock, NULL);
    out->signer = s;
    return 0;
}

/* One round trip; the caller holds the lock. */
static int ask(struct signer *s, const uint8_t *msg, size_t n,
               uint8_t sig[IDENTITY_SIG_LEN])
{
    uint8_t req[1 + SIGNER_MSG_MAX], rep[REPLY_LEN + 1];
    ssize_t k;
    int rc;

    req[0] = OP_SIGN;
    memcpy(req + 1, msg, n);
    while ((k = send(s->fd, req, 1 + n, MSG_NOSIGNAL)) < 0 &&
           (errno == EINTR || errno == EAGAIN))
        if (errno == EAGAIN && (rc = wait_fd(s->fd, POLLOUT, 1000)))
            return rc;
    if (k != (ssize_t)(1 + n))
        return FASTN_ERR_CLOSED;
    if ((rc = wait_fd(s->fd, POLLIN, SIGNER_TIMEOUT_MS)))
        return rc;
    do
        k = recv(s->fd, rep, sizeof(rep), MSG_DONTWAIT);
    while (k < 0 && errno == EINTR);
    if (k != REPLY_LEN)
        return FASTN_ERR_CLOSED;
    rc = (int)get32(rep);
    if (!rc)
        memcpy(sig, rep + 4, IDENTITY_SIG_LEN);
    return rc;
}

int signer_sign(struct signer *s, const uint8_t *msg, size_t n,
                uint8_t sig[IDENTITY_SIG_LEN])
{
    int rc;

    if (n > SIGNER_MSG_MAX)
        return FASTN_ERR_TOO_LARGE;
    pthread_mutex_lock(&s->lock);
    if (s->fd < 0 || s->broken)
        rc = FASTN_ERR_CLOSED;
    else
        rc = ask(s, msg, n, sig);
    if (rc == FASTN_ERR_CLOSED || rc == FASTN_ERR_TIMEOUT || rc == FASTN_ERR_IO)
        s->broken = true;
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int signer_fd(const struct signer *s)
{
    return s->fd;
}

static void describe(pid_t pid, int st, char *why, size_t whylen)
{
    if (WIFSIGNALED(st))
        snprintf(why, whylen,
                 "the signer process (pid %ld) was killed by "
                 "signal %d (%s)%s",
                 (long)pid, WTERMSIG(st), strsignal(WTERMSIG(st)),
                 WTERMSIG(st) == SIGSYS ? ": a system call its seccomp "
                                          "filter forbids"
                                        : "");
    else
        snprintf(why, whylen,
                 "the signer process (pid %ld) exited with "
                 "status %d",
                 (long)pid, WEXITSTATUS(st));
}

bool signer_gone(struct signer *s, char *why, size_t whylen)
{
    uint8_t b[REPLY_LEN];
    ssize_t n;
    int st = 0;

    /* after any request in flight (its answer is its asker's) */
    pthread_mutex_lock(&s->lock);
    n = recv(s->fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) /* a late answer to a request that timed out: drop it */
        n = recv(s->fd, b, sizeof(b), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR))) {
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    s->broken = true;
    pthread_mutex_unlock(&s->lock);
    if (s->pid > 0 && waitpid(s->pid, &st, 0) == s->pid) {
        describe(s->pid, st, why, whylen);
        s->pid = 0;
    } else {
        snprintf(why, whylen, "the signer process closed its socket");
    }
    return true;
}

void signer_stop(struct signer *s)
{
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
        pthread_mutex_destroy(&s->lock);
    }
    if (s->pid > 0)
        reap(s->pid);
    s->pid = 0;
}
