/* Length-prefixed message reader; see lp.h. */
#include "net/lp.h"

#include <string.h>

#include "fastn/err.h"

void lp_reader_init(struct lp_reader *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max;
    buf_init(&r->msg, max);
}

void lp_reader_cleanup(struct lp_reader *r)
{
    buf_cleanup(&r->msg);
}

static void restart(struct lp_reader *r)
{
    buf_reset(&r->msg);
    r->have_len = false;
    r->len_have = 0;
    r->want = 0;
}

/* Takes one byte of the length; sets have_len when it is complete. */
static int take_len_byte(struct lp_reader *r, uint8_t byte)
{
    struct buf_reader br;
    uint64_t v;

    if (r->len_have == sizeof(r->len))
        return FASTN_ERR_MALFORMED;
    r->len[r->len_have++] = byte;
    if (byte & 0x80)
        return 0;
    buf_reader_init(&br, r->len, r->len_have);
    if (buf_get_uvarint(&br, &v))
        return FASTN_ERR_MALFORMED;
    if (v > r->max)
        return FASTN_ERR_TOO_LARGE;
    r->want = (size_t)v;
    r->have_len = true;
    return 0;
}

int lp_reader_feed(struct lp_reader *r, const uint8_t *p, size_t n,
                   size_t *used)
{
    size_t i = 0;

    *used = 0;
    if (r->have_len && r->msg.len == r->want)
        restart(r); /* the previous message was handed out */
    while (i < n && !r->have_len) {
        int err = take_len_byte(r, p[i++]);
        if (err) {
            *used = i;
            return err;
        }
    }
    if (r->have_len) {
        size_t take = r->want - r->msg.len;
        if (take > n - i)
            take = n - i;
        if (buf_append(&r->msg, p + i, take)) {
            *used = i;
            return FASTN_ERR_NOMEM;
        }
        i += take;
    }
    *used = i;
    return r->have_len && r->msg.len == r->want ? 1 : 0;
}

const uint8_t *lp_reader_msg(const struct lp_reader *r, size_t *n)
{
    *n = r->msg.len;
    return r->msg.data;
}

int lp_reader_next(struct lp_reader *r, const uint8_t *p, size_t n,
                   size_t *used, const uint8_t **msg, size_t *len)
{
    int rc = lp_reader_feed(r, p, n, used);

    *msg = NULL;
    *len = 0;
    if (rc == 1)
        *msg = lp_reader_msg(r, len);
    return rc;
}

bool lp_reader_idle(const struct lp_reader *r)
{
    return r->len_have == 0 || (r->have_len && r->msg.len == r->want);
}

int lp_write(struct buf *out, const uint8_t *p, size_t n)
{
    int err = buf_put_uvarint(out, n);
    return err ? err : buf_append(out, p, n);
}
