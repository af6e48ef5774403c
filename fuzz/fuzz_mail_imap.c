/* Fuzz target: plugins/mail/lib's IMAP reader and command parser. The
 * input is a client's bytes, read in pieces whose sizes its first byte
 * picks; each whole command is parsed. Checked: a BAD reply is one CRLF
 * line, the parse results stay inside their arrays (sequence ranges
 * ordered, SEARCH children in bounds), a sequence set formats and parses
 * back the same, and a streamed literal's bytes add up to its size. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

static struct mail_imap_reader rd;
static struct mail_imap_cmd cmd, back;

static void check_line(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || s[n - 2] != '\r' || s[n - 1] != '\n' || memchr(s, '\n', n - 1))
        abort();
}

static void check_set_roundtrip(const struct mail_seq_set *s)
{
    static char buf[16 * MAIL_SEQ_RANGES_MAX + 32];
    char bad[256];
    struct mail_out o;

    mail_out_init(&o, buf, sizeof(buf) - 1);
    mail_out_str(&o, "t FETCH ");
    mail_imap_out_seq_set(&o, s);
    mail_out_str(&o, " FLAGS");
    if (o.over || mail_imap_parse(buf, o.len, &back, bad, sizeof(bad)) != 0 ||
        back.sets[0].n != s->n ||
        memcmp(back.sets[0].r, s->r, s->n * sizeof(s->r[0])) != 0)
        abort();
}

static void check_cmd(void)
{
    for (unsigned k = 0; k < cmd.nsets; k++) {
        if (cmd.sets[k].n == 0 || cmd.sets[k].n > MAIL_SEQ_RANGES_MAX)
            abort();
        for (unsigned j = 0; j < cmd.sets[k].n; j++)
            if (cmd.sets[k].r[j].lo > cmd.sets[k].r[j].hi)
                abort();
        check_set_roundtrip(&cmd.sets[k]);
    }
    for (unsigned k = 0; k < cmd.nnodes; k++) {
        const struct mail_search_node *nd = &cmd.node[k];
        if (nd->first + nd->count > cmd.nkids)
            abort();
        for (unsigned j = 0; j < nd->count; j++)
            if (cmd.kids[nd->first + j] >= cmd.nnodes)
                abort();
    }
    if (cmd.nsections > MAIL_SECTIONS_MAX || cmd.pool_len > sizeof(cmd.pool))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1, i = 0;
    uint64_t streamed = 0, expect = 0;

    mail_imap_reader_init(&rd, 5000);
    while (i < size) {
        size_t k = size - i < step ? size - i : step, used, n;
        struct mail_imap_event ev;
        char bad[256];
        enum mail_imap_ev e = mail_imap_read(&rd, data + i, k, &used, &ev);
        if (used > k)
            abort();
        i += used;
        if (e == MAIL_IMAP_EV_BAD) {
            check_line(ev.reply);
            if (ev.close)
                break;
        } else if (e == MAIL_IMAP_EV_LITERAL) {
            if (ev.size > 5000)
                abort();
            expect = ev.size;
            streamed = 0;
        } else if (e == MAIL_IMAP_EV_DATA) {
            streamed += ev.len;
            if (streamed > expect)
                abort();
        } else if (e == MAIL_IMAP_EV_COMMAND) {
            const char *c = mail_imap_reader_command(&rd, &n);
            if (mail_imap_parse(c, n, &cmd, bad, sizeof(bad)) == 0)
                check_cmd();
            else
                check_line(bad);
        } else if (e == MAIL_IMAP_EV_MORE && used != k) {
            abort();
        }
    }
    return 0;
}
