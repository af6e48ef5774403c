/* Fuzz target: plugins/mail/lib/mime.c and mime_fmt.c, the streaming
 * reader of a message's structure and the ENVELOPE and BODYSTRUCTURE it
 * gives. The message is read whole and again in pieces whose size its
 * first byte picks: both must give the same structure and the same
 * replies; every part must lie inside the message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"

static struct mail_mime a, b;
static char oa[1 << 17], ob[1 << 17];

static size_t render(const struct mail_mime *m, char *buf, size_t cap)
{
    struct mail_out o;
    mail_out_init(&o, buf, cap);
    for (unsigned i = 0; i < m->nparts; i++) {
        mail_imap_out_bodystructure(&o, m, (int)i, true);
        if (m->part[i].message >= 0)
            mail_imap_out_envelope(&o, m, (int)i);
    }
    return o.over ? 0 : o.len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step = size ? (size_t)data[0] % 97 + 1 : 1;

    mail_mime_init(&a);
    mail_mime_feed(&a, data, size);
    mail_mime_end(&a);
    mail_mime_init(&b);
    for (size_t i = 0; i < size; i += step)
        mail_mime_feed(&b, data + i, size - i < step ? size - i : step);
    mail_mime_end(&b);
    if (a.nparts != b.nparts || a.nparts > MAIL_MIME_PARTS_MAX ||
        memcmp(a.part, b.part, a.nparts * sizeof(a.part[0])) != 0)
        abort();
    for (unsigned i = 0; i < a.nparts; i++) {
        const struct mail_mime_part *p = &a.part[i];
        if (!p->ended || p->hdr_off > p->body_off ||
            p->body_off + p->body_len > size ||
            (i > 0 && (p->parent < 0 || (unsigned)p->parent >= i)))
            abort();
    }
    size_t na = render(&a, oa, sizeof(oa)), nb = render(&b, ob, sizeof(ob));
    if (na != nb || memcmp(oa, ob, na) != 0)
        abort();
    return 0;
}
