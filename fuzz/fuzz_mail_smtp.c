/* Fuzz target: plugins/mail/lib/smtp.c, the SMTP submission state machine,
 * fed a client's bytes in pieces whose sizes the input's first byte picks
 * (so lines, AUTH exchanges and the <CRLF>.<CRLF> end are cut anywhere),
 * with a small size limit. Checked: every reply is whole lines of a
 * three-digit code, the output stays within its buffer, the message
 * passed on never passes the limit, and each transaction ends once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

struct fz {
    uint64_t size;
    int open; /* transactions begun and not ended */
    unsigned calls;
};

static int fz_auth(void *c, const char *u, size_t ul, const char *p, size_t pl)
{
    (void)c;
    (void)u;
    (void)p;
    return ul == 1 && pl == 1 ? 0 : FASTN_ERR_PERM;
}

static int fz_from(void *c, const char *a, size_t n)
{
    struct fz *f = c;
    (void)a;
    if (n > 256)
        abort();
    f->open = 1;
    f->size = 0;
    return 0;
}

static int fz_rcpt(void *c, const char *a, size_t n)
{
    struct mail_addr ad;
    (void)c;
    return mail_addr_parse(a, n, &ad) == 0 || n % 3 ? 0 : FASTN_ERR_NOT_FOUND;
}

static int fz_data(void *c, const uint8_t *p, size_t n)
{
    struct fz *f = c;
    (void)p;
    if (!f->open || n == 0 || n > 512)
        abort();
    f->size += n;
    if (f->size > 300)
        abort();
    return ++f->calls % 97 == 0 ? FASTN_ERR_IO : 0;
}

static int fz_end(void *c)
{
    struct fz *f = c;
    if (!f->open)
        abort();
    f->open = 0;
    return 0;
}

static void fz_abort(void *c)
{
    struct fz *f = c;
    if (!f->open)
        abort();
    f->open = 0;
}

static void check_output(struct mail_smtp *s)
{
    size_t n, i = 0;
    const uint8_t *o = mail_smtp_output(s, &n);

    if (n > MAIL_SMTP_OUT_MAX)
        abort();
    while (i < n) {
        const uint8_t *e = memchr(o + i, '\n', n - i);
        if (!e || e - (o + i) < 4 || e[-1] != '\r' || o[i] < '2' ||
            o[i] > '5' || o[i + 1] < '0' || o[i + 1] > '9')
            abort();
        i = (size_t)(e - o) + 1;
    }
    mail_smtp_consume(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz f = {0, 0, 0};
    struct mail_smtp_cb cb = {&f,      fz_auth, fz_from, fz_rcpt,
                              fz_data, fz_end,  fz_abort};
    static struct mail_smtp s;
    size_t step = size ? (size_t)data[0] % 16 + 1 : 1, i = 0;

    mail_smtp_init(&s, "fuzz", 300, &cb);
    while (i < size && !mail_smtp_is_closed(&s)) {
        size_t k = size - i < step ? size - i : step;
        size_t used = mail_smtp_feed(&s, data + i, k);
        if (used > k || (used == 0 && !mail_smtp_is_closed(&s) &&
                         mail_smtp_output(&s, &k) && k == 0))
            abort();
        i += used;
        check_output(&s);
    }
    mail_smtp_cleanup(&s);
    if (f.open)
        abort();
    return 0;
}
