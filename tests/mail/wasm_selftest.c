/*
 * plugins/mail/lib built for wasm32-wasi, run as a wasi command on
 * fastn-wasm (tests/integration/mail_wasm.sh): the same answers as the
 * native unit tests for an address, an SMTP session, IMAP commands read
 * and parsed, and a message's BODYSTRUCTURE, so the plugin's target
 * computes what the tests check. (store.c needs the host's SQL imports
 * and is tested natively over the host's own code.)
 */
#include <stdio.h>
#include <string.h>

#include "mail.h"

static int failures;

static void check(const char *what, bool ok)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok)
        failures++;
}

static void address(void)
{
    static const char dom[] =
        "bafzaajaiaejcal72gwuz2or47oyxxn6b3rkwdmmkrxgkjxzy3rqt5kczyn7lcm3l"
        ".fastn";
    uint8_t mh[MAIL_PEER_MAX];
    char back[MAIL_DOMAIN_MAX];
    int n = mail_domain_parse(dom, strlen(dom), mh, sizeof(mh));

    check("address: parse", n == 38 && mh[0] == 0 && mh[1] == 36);
    check("address: format back",
          n > 0 &&
              mail_domain_format(mh, (size_t)n, back, sizeof(back)) ==
                  (int)strlen(dom) &&
              strcmp(back, dom) == 0);
}

static size_t msg_len;
static int on_data(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    msg_len += n;
    return 0;
}

static void smtp(void)
{
    static struct mail_smtp s;
    static const char in[] = "EHLO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\n"
                             "DATA\r\n..dot\r\nline\r\n.\r\nQUIT\r\n";
    struct mail_smtp_cb cb = {NULL, NULL, NULL, NULL, on_data, NULL, NULL};
    size_t n, used = 0;

    mail_smtp_init(&s, "wasm", 0, &cb);
    while (used < sizeof(in) - 1 && !mail_smtp_is_closed(&s)) {
        used += mail_smtp_feed(&s, (const uint8_t *)in + used,
                               sizeof(in) - 1 - used);
        const uint8_t *o = mail_smtp_output(&s, &n);
        (void)o;
        if (used < sizeof(in) - 1)
            mail_smtp_consume(&s, n);
    }
    const char *o = (const char *)mail_smtp_output(&s, &n);
    check("smtp: session",
          mail_smtp_is_closed(&s) && msg_len == 12 && n >= 15 &&
              memcmp(o + n - 15, "221 2.0.0 Bye\r\n", 15) == 0);
}

static void imap(void)
{
    static struct mail_imap_reader r;
    static struct mail_imap_cmd cmd;
    static const char in[] =
        "5 UID FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)])"
        "\r\n";
    struct mail_imap_event ev;
    char bad[128];
    size_t used, n;

    mail_imap_reader_init(&r, 0);
    bool ok = mail_imap_read(&r, (const uint8_t *)in, sizeof(in) - 1, &used,
                             &ev) == MAIL_IMAP_EV_COMMAND;
    const char *c = mail_imap_reader_command(&r, &n);
    ok = ok && mail_imap_parse(c, n, &cmd, bad, sizeof(bad)) == 0 && cmd.uid &&
         cmd.nsections == 1 && cmd.section[0].nfields == 2;
    check("imap: UID FETCH", ok);
    check("imap: SEARCH nesting bounded",
          mail_imap_parse("a SEARCH NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT "
                          "NOT NOT NOT NOT NOT NOT NOT NOT SEEN",
                          69, &cmd, bad, sizeof(bad)) < 0);
}

static void mime(void)
{
    static struct mail_mime m;
    static const char msg[] = "Content-Type: multipart/mixed; boundary=b\r\n"
                              "\r\n--b\r\n\r\nhello\r\n--b--\r\n";
    char buf[512];
    struct mail_out o;

    mail_mime_init(&m);
    mail_mime_feed(&m, (const uint8_t *)msg, sizeof(msg) - 1);
    mail_mime_end(&m);
    mail_out_init(&o, buf, sizeof(buf) - 1);
    mail_imap_out_bodystructure(&o, &m, 0, false);
    buf[o.len] = '\0';
    check("mime: BODY", strcmp(buf, "((\"text\" \"plain\" (\"charset\" "
                                    "\"us-ascii\") NIL NIL \"7bit\" 5 1) "
                                    "\"mixed\")") == 0);
}

int main(void)
{
    address();
    smtp();
    imap();
    mime();
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
