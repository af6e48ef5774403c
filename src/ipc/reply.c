/*
 * Responses under construction. A reply owns a list of blocks, so a
 * handler can build nested messages of any shape and have them freed in
 * one place, whatever path it leaves by. Small allocations are carved
 * from blocks of 16 KiB (a list of ten thousand peers takes tens of
 * thousands of them), each zeroed like calloc's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"

struct ipc_reply_block {
    struct ipc_reply_block *next;
    size_t used, cap; /* bytes of data */
    max_align_t data[];
};

#define BLOCK_MIN (16u << 10)

void ipc_reply_init(struct ipc_reply *r)
{
    P2pd__Pb__Response resp = P2PD__PB__RESPONSE__INIT;
    P2pd__Pb__ErrorResponse error = P2PD__PB__ERROR_RESPONSE__INIT;
    Fastn__Response ext = FASTN__RESPONSE__INIT;

    r->resp = resp;
    r->error = error;
    r->ext = ext;
    r->blocks = NULL;
    r->msg[0] = '\0';
    r->trail = NULL;
    r->n_trail = 0;
    r->result_v = NULL;
    r->result_n = 0;
}

void ipc_reply_cleanup(struct ipc_reply *r)
{
    while (r->blocks) {
        struct ipc_reply_block *b = r->blocks;
        r->blocks = b->next;
        free(b);
    }
}

void ipc_reply_move(struct ipc_reply *dst, struct ipc_reply *src)
{
    *dst = *src;
    if (src->resp.fastn == &src->ext)
        dst->resp.fastn = &dst->ext;
    if (src->resp.error == &src->error)
        dst->resp.error = &dst->error;
    if (src->error.msg == src->msg)
        dst->error.msg = dst->msg;
    src->blocks = NULL;
    ipc_reply_init(src);
}

void *ipc_reply_alloc(struct ipc_reply *r, size_t n)
{
    struct ipc_reply_block *b = r->blocks;
    size_t align = sizeof(max_align_t), cap;

    if (n > SIZE_MAX - sizeof(*b) - align)
        return NULL;
    n = (n + align - 1) / align * align;
    if (b && b->cap - b->used >= n) {
        void *p = (char *)b->data + b->used;
        b->used += n;
        return p;
    }
    cap = n > BLOCK_MIN ? n : BLOCK_MIN;
    b = calloc(1, sizeof(*b) + cap);
    if (!b)
        return NULL;
    b->cap = cap;
    b->used = n;
    if (n >= BLOCK_MIN && r->blocks) { /* a large one: keep the head's room */
        b->next = r->blocks->next;
        r->blocks->next = b;
    } else {
        b->next = r->blocks;
        r->blocks = b;
    }
    return b->data;
}

Fastn__Response *ipc_reply_ext(struct ipc_reply *r)
{
    r->ext.version = IPC_EXT_VERSION;
    r->resp.fastn = &r->ext;
    return &r->ext;
}

void ipc_reply_set_msg(struct ipc_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
    va_end(ap);
}

void ipc_reply_make_error(struct ipc_reply *r, int code)
{
    char msg[sizeof(r->msg)];
    bool has_call_id = r->ext.has_call_id;
    uint64_t call_id = r->ext.call_id;
    Fastn__Response *ext;

    memcpy(msg, r->msg, sizeof(msg));
    ipc_reply_cleanup(r);
    ipc_reply_init(r);
    memcpy(r->msg, msg, sizeof(msg));
    if (!r->msg[0])
        snprintf(r->msg, sizeof(r->msg), "%s", fastn_strerror(code));
    r->resp.type = P2PD__PB__RESPONSE__TYPE__ERROR;
    r->error.msg = r->msg;
    r->resp.error = &r->error;
    ext = ipc_reply_ext(r);
    ext->has_code = true;
    ext->code = code;
    ext->has_call_id = has_call_id;
    ext->call_id = call_id;
}
