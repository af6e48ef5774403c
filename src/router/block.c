/*
 * The block list (router.h): peers whose streams the router refuses,
 * in memory as an array in the order they were blocked (a few at most,
 * ROUTER_BLOCK_MAX in all: a linear scan per protocol proposal costs less
 * than the proposal's own parsing), kept in a text file the user can
 * read and edit:
 *
 *     # Peers whose streams fastnd refuses, one PeerID a line.
 *     12D3KooW...
 *
 * Every change is written first (atomically: a crash leaves the old list
 * or the new one) and made in memory only once written, so what is in
 * force is what a restart reads. A file that does not parse is refused
 * whole, naming its line: a list read in part would let a blocked peer
 * in.
 */
#include "router/router_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/file.h"
#include "util/log.h"

#define HEADER "# Peers whose streams fastnd refuses, one PeerID a line.\n"

static size_t find_peer(const struct peer_id *v, size_t n,
                        const struct peer_id *peer)
{
    for (size_t i = 0; i < n; i++)
        if (peer_id_equal(&v[i], peer))
            return i;
    return n;
}

/* Appends peer to v (growing it) unless it is there. Errors:
 * FASTN_ERR_TOO_LARGE (ROUTER_BLOCK_MAX), FASTN_ERR_NOMEM. */
static int push_peer(struct peer_id **v, size_t *n, size_t *cap,
                     const struct peer_id *peer)
{
    if (find_peer(*v, *n, peer) < *n)
        return 0;
    if (*n == ROUTER_BLOCK_MAX)
        return FASTN_ERR_TOO_LARGE;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        struct peer_id *w = realloc(*v, c * sizeof(*w));
        if (!w)
            return FASTN_ERR_NOMEM;
        *v = w;
        *cap = c;
    }
    (*v)[(*n)++] = *peer;
    return 0;
}

/* One line (len bytes, no newline): blank, a comment, or a PeerID. */
static int parse_line(const uint8_t *p, size_t len, struct peer_id *out,
                      bool *is_peer)
{
    char text[PEER_ID_STR_MAX];

    while (len && (p[0] == ' ' || p[0] == '\t')) {
        p++;
        len--;
    }
    while (len &&
           (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        len--;
    *is_peer = len && p[0] != '#';
    if (!*is_peer)
        return 0;
    if (len >= sizeof(text) || memchr(p, '\0', len))
        return FASTN_ERR_MALFORMED;
    memcpy(text, p, len);
    text[len] = '\0';
    return peer_id_parse(text, out) ? FASTN_ERR_MALFORMED : 0;
}

int router_block_parse(const uint8_t *p, size_t n, struct peer_id **out,
                       size_t *count, char *why, size_t whylen)
{
    struct peer_id *v = NULL, peer;
    size_t k = 0, cap = 0, off = 0;
    unsigned line = 0;
    int err = 0;

    if (n > ROUTER_BLOCK_FILE_MAX) {
        snprintf(why, whylen, "larger than %u bytes", ROUTER_BLOCK_FILE_MAX);
        return FASTN_ERR_TOO_LARGE;
    }
    while (off < n && !err) {
        const uint8_t *nl = memchr(p + off, '\n', n - off);
        size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
        bool is_peer;
        line++;
        err = parse_line(p + off, len, &peer, &is_peer);
        if (!err && is_peer)
            err = push_peer(&v, &k, &cap, &peer);
        off += len + 1;
    }
    if (err) {
        if (err == FASTN_ERR_MALFORMED)
            snprintf(why, whylen, "line %u is not a PeerID", line);
        else if (err == FASTN_ERR_TOO_LARGE)
            snprintf(why, whylen, "more than %d peers (line %u)",
                     ROUTER_BLOCK_MAX, line);
        else
            snprintf(why, whylen, "%s", fastn_strerror(err));
        free(v);
        return err;
    }
    *out = v;
    *count = k;
    return 0;
}

int router_block_format(const struct peer_id *v, size_t n, struct buf *out)
{
    char text[PEER_ID_STR_MAX];
    int err = buf_append(out, HEADER, strlen(HEADER));

    for (size_t i = 0; i < n && !err; i++) {
        peer_id_format(&v[i], text);
        err = buf_append(out, text, strlen(text));
        if (!err)
            err = buf_put_u8(out, '\n');
    }
    return err;
}

int router_block_load(struct router *r, const char *path, char *why,
                      size_t whylen)
{
    uint8_t *data = NULL;
    size_t len = 0, count = 0;
    struct peer_id *v = NULL;
    char *copy = strdup(path);
    int err = copy
                  ? file_read_nofollow(path, ROUTER_BLOCK_FILE_MAX, &data, &len)
                  : FASTN_ERR_NOMEM;

    if (err == FASTN_ERR_NOT_FOUND)
        err = 0; /* nobody blocked yet */
    else if (!err)
        err = router_block_parse(data, len, &v, &count, why, whylen);
    else
        snprintf(why, whylen, "%s",
                 err == FASTN_ERR_PERM ? "a symbolic link (it must be a file)"
                                       : fastn_strerror(err));
    free(data);
    if (err) {
        free(copy);
        return err;
    }
    router__block_free(&r->block);
    r->block.v = v;
    r->block.n = r->block.cap = count;
    r->block.path = copy;
    return 0;
}

/* Writes v[0..n) to the list's file, if it has one. */
static int block_save(const struct router_block *b, const struct peer_id *v,
                      size_t n)
{
    struct buf out;
    int err;

    if (!b->path)
        return 0;
    buf_init(&out, ROUTER_BLOCK_FILE_MAX);
    err = router_block_format(v, n, &out);
    if (!err)
        err = file_write_atomic(b->path, out.data, out.len, 0600);
    if (err)
        log_msg(LOG_WARN, "router", "cannot write the block list %s: %s",
                b->path, fastn_strerror(err));
    buf_cleanup(&out);
    return err ? FASTN_ERR_IO : 0;
}

int router_block_add(struct router *r, const struct peer_id *peer)
{
    struct router_block *b = &r->block;
    int err;

    if (find_peer(b->v, b->n, peer) < b->n)
        return FASTN_ERR_EXISTS;
    err = push_peer(&b->v, &b->n, &b->cap, peer);
    if (err)
        return err == FASTN_ERR_TOO_LARGE ? FASTN_ERR_BUSY : err;
    if ((err = block_save(b, b->v, b->n)))
        b->n--; /* not written: not blocked */
    return err;
}

int router_block_remove(struct router *r, const struct peer_id *peer)
{
    struct router_block *b = &r->block;
    size_t i = find_peer(b->v, b->n, peer);
    struct peer_id gone;
    int err;

    if (i == b->n)
        return FASTN_ERR_NOT_FOUND;
    gone = b->v[i];
    memmove(&b->v[i], &b->v[i + 1], (b->n - i - 1) * sizeof(b->v[0]));
    b->n--;
    if ((err = block_save(b, b->v, b->n))) { /* not written: put it back */
        memmove(&b->v[i + 1], &b->v[i], (b->n - i) * sizeof(b->v[0]));
        b->v[i] = gone;
        b->n++;
    }
    return err;
}

bool router_is_blocked(const struct router *r, const struct peer_id *peer)
{
    return find_peer(r->block.v, r->block.n, peer) < r->block.n;
}

size_t router_blocked(const struct router *r, struct peer_id *out, size_t max)
{
    for (size_t i = 0; i < r->block.n && i < max; i++)
        out[i] = r->block.v[i];
    return r->block.n;
}

void router__block_free(struct router_block *b)
{
    free(b->v);
    free(b->path);
    memset(b, 0, sizeof(*b));
}
