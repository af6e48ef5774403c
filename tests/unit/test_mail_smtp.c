/* Unit tests for plugins/mail/lib/smtp.c: RFC 5321 transcripts (D.1 with
 * AUTH PLAIN of RFC 4954 and AUTH LOGIN), dot-unstuffing byte by byte and
 * in one piece, the end only at <CRLF>.<CRLF>, SIZE both announced and
 * real (552), malformed commands answered with enhanced status codes,
 * pipelining paced by a client that does not read, streaming in chunks. */
#include "mail.h"
#include "test.h"

struct rec {
    char from[300], rcpts[4096];
    char msg[1 << 16];
    size_t msg_len, max_chunk;
    int ends, aborts, auths;
    bool big; /* do not keep the bytes, count them */
    uint64_t total;
    int rcpt_err, data_err;
};

static int on_auth(void *ctx, const char *u, size_t ul, const char *p,
                   size_t pl)
{
    struct rec *r = ctx;
    r->auths++;
    return ul == 3 && memcmp(u, "bob", 3) == 0 && pl == 6 &&
                   memcmp(p, "s3cret", 6) == 0
               ? 0
               : FASTN_ERR_PERM;
}

static int on_from(void *ctx, const char *a, size_t n)
{
    struct rec *r = ctx;
    snprintf(r->from, sizeof(r->from), "%.*s", (int)n, a);
    return 0;
}

static int on_rcpt(void *ctx, const char *a, size_t n)
{
    struct rec *r = ctx;
    if (r->rcpt_err)
        return r->rcpt_err;
    size_t l = strlen(r->rcpts);
    snprintf(r->rcpts + l, sizeof(r->rcpts) - l, "%.*s;", (int)n, a);
    return 0;
}

static int on_data(void *ctx, const uint8_t *p, size_t n)
{
    struct rec *r = ctx;
    if (n > r->max_chunk)
        r->max_chunk = n;
    r->total += n;
    if (r->data_err)
        return r->data_err;
    if (!r->big) {
        if (r->msg_len + n > sizeof(r->msg))
            abort();
        memcpy(r->msg + r->msg_len, p, n);
        r->msg_len += n;
    }
    return 0;
}

static int on_end(void *ctx)
{
    ((struct rec *)ctx)->ends++;
    return 0;
}

static void on_abort(void *ctx)
{
    ((struct rec *)ctx)->aborts++;
}

static struct mail_smtp sm;
static struct rec rec;
static char out[1 << 16];
static size_t out_len;

static void start(uint64_t size_max, bool with_auth)
{
    struct mail_smtp_cb cb = {&rec,    on_auth, on_from, on_rcpt,
                              on_data, on_end,  on_abort};
    if (!with_auth)
        cb.auth = NULL;
    memset(&rec, 0, sizeof(rec));
    out_len = 0;
    mail_smtp_init(&sm, "mx.test", size_max, &cb);
}

static void drain(void)
{
    size_t n;
    const uint8_t *o = mail_smtp_output(&sm, &n);
    if (out_len + n >= sizeof(out))
        abort();
    memcpy(out + out_len, o, n);
    out_len += n;
    out[out_len] = '\0';
    mail_smtp_consume(&sm, n);
}

/* Feeds p in pieces of at most step bytes, reading every reply. */
static void feed(const char *p, size_t n, size_t step)
{
    size_t i = 0;
    while (i < n && !mail_smtp_is_closed(&sm)) {
        size_t k = n - i < step ? n - i : step;
        i += mail_smtp_feed(&sm, (const uint8_t *)p + i, k);
        drain();
    }
    drain();
}

static void say(const char *p)
{
    feed(p, strlen(p), (size_t)-1);
}

#define PLAIN_BOB "AGJvYgBzM2NyZXQ=" /* "\0bob\0s3cret" */

TEST(rfc5321_d1_with_auth_plain)
{
    start(0, true);
    say("EHLO bar.com\r\n"
        "AUTH PLAIN " PLAIN_BOB "\r\n"
        "MAIL FROM:<Smith@bar.com>\r\n"
        "RCPT TO:<Jones@foo.com>\r\n"
        "RCPT TO:<Green@foo.com>\r\n"
        "DATA\r\n"
        "Blah blah blah...\r\n"
        "..etc. etc. etc.\r\n"
        ".\r\n"
        "QUIT\r\n");
    CHECK_STR(out, "220 mx.test ESMTP fastn mail submission\r\n"
                   "250-mx.test\r\n"
                   "250-SIZE 26214400\r\n"
                   "250-PIPELINING\r\n"
                   "250-8BITMIME\r\n"
                   "250-ENHANCEDSTATUSCODES\r\n"
                   "250 AUTH PLAIN LOGIN\r\n"
                   "235 2.7.0 Authentication successful\r\n"
                   "250 2.1.0 Sender OK\r\n"
                   "250 2.1.5 Recipient OK\r\n"
                   "250 2.1.5 Recipient OK\r\n"
                   "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
                   "250 2.0.0 Message accepted for delivery\r\n"
                   "221 2.0.0 Bye\r\n");
    CHECK_STR(rec.from, "Smith@bar.com");
    CHECK_STR(rec.rcpts, "Jones@foo.com;Green@foo.com;");
    CHECK_EQ(rec.msg_len, 36);
    CHECK(memcmp(rec.msg, "Blah blah blah...\r\n.etc. etc. etc.\r\n", 36) == 0);
    CHECK_EQ(rec.ends, 1);
    CHECK_EQ(rec.aborts, 0);
    CHECK(mail_smtp_is_closed(&sm));
    CHECK_EQ(mail_smtp_feed(&sm, (const uint8_t *)"NOOP\r\n", 6), 0);
}

TEST(auth_login_and_plain_in_two_steps)
{
    start(0, true);
    say("EHLO c\r\nAUTH LOGIN\r\nYm9i\r\nczNjcmV0\r\n");
    CHECK(strstr(out, "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 2.7.0"));
    CHECK(strstr(out, "250 HELP") == NULL);
    start(0, true);
    say("EHLO c\r\nAUTH PLAIN\r\n" PLAIN_BOB "\r\nEHLO c\r\n");
    CHECK(strstr(out, "334 \r\n235 2.7.0"));
    CHECK(strstr(out, "250 HELP\r\n")); /* no AUTH once logged in */
    /* LOGIN with the username as the initial response */
    start(0, true);
    say("EHLO c\r\nAUTH LOGIN Ym9i\r\nczNjcmV0\r\n");
    CHECK(strstr(out, "334 UGFzc3dvcmQ6\r\n235 2.7.0"));
    CHECK_EQ(rec.auths, 1);
}

TEST(auth_refusals)
{
    start(0, true);
    say("AUTH PLAIN " PLAIN_BOB "\r\n"); /* before EHLO */
    CHECK(strstr(out, "503 5.5.1 Send EHLO first"));
    say("EHLO c\r\nMAIL FROM:<a@b>\r\n");
    CHECK(strstr(out, "530 5.7.0 Authentication required"));
    say("AUTH CRAM-MD5\r\n");
    CHECK(strstr(out, "504 5.5.4"));
    say("AUTH PLAIN\r\n*\r\n");
    CHECK(strstr(out, "501 5.0.0 Authentication canceled"));
    say("AUTH PLAIN !!!!\r\n");
    CHECK(strstr(out, "501 5.5.2 Cannot decode"));
    /* authzid other than authcid: "x\0bob\0s3cret" */
    say("AUTH PLAIN eABib2IAczNjcmV0\r\n");
    CHECK(strstr(out, "501 5.5.2 Malformed AUTH PLAIN"));
    CHECK_EQ(rec.auths, 0);
    /* three wrong passwords close the session */
    say("AUTH PLAIN AGJvYgB4\r\nAUTH PLAIN AGJvYgB4\r\n");
    CHECK(!mail_smtp_is_closed(&sm));
    say("AUTH PLAIN AGJvYgB4\r\nNOOP\r\n");
    CHECK(strstr(out, "535 5.7.8"));
    CHECK(strstr(out, "421 4.7.0 Too many failed logins"));
    CHECK(mail_smtp_is_closed(&sm));
    CHECK(strstr(out, "250 2.0.0 OK") == NULL); /* NOOP never read */
}

static const char msg_in[] = "Subject: dots\r\n"
                             "\r\n"
                             "..\r\n"
                             "...two\r\n"
                             ".one\r\n"
                             "bare\nLF\n.\nstill in\r\n"
                             "cr\ralone\r\r\n"
                             ".\rx\r\n"
                             "end\r\n"
                             ".\r\n";
static const char msg_out[] = "Subject: dots\r\n"
                              "\r\n"
                              ".\r\n"
                              "..two\r\n"
                              "one\r\n"
                              "bare\nLF\n.\nstill in\r\n"
                              "cr\ralone\r\r\n"
                              "\rx\r\n"
                              "end\r\n";

TEST(dot_unstuffing_in_any_pieces)
{
    static const size_t steps[] = {1, 2, 3, 7, 64, (size_t)-1};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        start(0, false);
        say("HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
        feed(msg_in, strlen(msg_in), steps[i]);
        CHECK_EQ(rec.msg_len, strlen(msg_out));
        CHECK(memcmp(rec.msg, msg_out, rec.msg_len) == 0);
        CHECK_EQ(rec.ends, 1);
        CHECK(strstr(out, "250 2.0.0 Message accepted"));
    }
}

TEST(end_only_at_crlf_dot_crlf)
{
    /* "\n.\n" and "\r\n.\n" do not end the message (no smuggling) */
    start(0, false);
    say("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n"
        "a\n.\nMAIL FROM:<evil@x>\r\n.\nb\r\n");
    CHECK_EQ(rec.ends, 0);
    CHECK(strstr(out, "354 ") && !strstr(out, "250 2.0.0"));
    say(".\r\n");
    CHECK_EQ(rec.ends, 1);
    CHECK_STR(rec.from, "a@b");
    /* an empty message: "." straight after DATA */
    start(0, false);
    say("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n.\r\n");
    CHECK_EQ(rec.ends, 1);
    CHECK_EQ(rec.msg_len, 0);
}

TEST(size_announced_and_real)
{
    start(1000, false);
    say("EHLO c\r\n");
    CHECK(strstr(out, "250-SIZE 1000\r\n"));
    say("MAIL FROM:<a@b> SIZE=1001\r\n");
    CHECK(strstr(out, "552 5.3.4 Message size exceeds"));
    say("MAIL FROM:<a@b> SIZE=1000 BODY=8BITMIME\r\nRCPT TO:<x@y>\r\n"
        "DATA\r\n");
    CHECK(strstr(out, "250 2.1.0"));
    /* the client lied: 2000 bytes */
    char big[2100];
    memset(big, 'x', sizeof(big));
    memcpy(big + 2000, "\r\n.\r\n", 6);
    say(big);
    CHECK(strstr(out, "552 5.3.4 Message too big"));
    CHECK_EQ(rec.ends, 0);
    CHECK_EQ(rec.aborts, 1);
    CHECK(rec.msg_len <= 1000);
    /* and the session goes on */
    say("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\nsmall\r\n.\r\n");
    CHECK_EQ(rec.ends, 1);
    say("MAIL FROM:<a@b> SIZE=12x\r\n");
    CHECK(strstr(out, "501 5.5.4 Bad SIZE="));
}

TEST(large_message_streams_in_chunks)
{
    start(0, false);
    rec.big = true;
    say("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
    static char line[1002];
    memset(line, 'm', 998);
    memcpy(line + 998, "\r\n", 3);
    for (int i = 0; i < 20000; i++) /* 20 MB in 1000-byte lines */
        feed(line, 1000, 1000);
    say(".\r\n");
    CHECK_EQ(rec.total, 20000u * 1000);
    CHECK(rec.max_chunk <= 4096);
    CHECK_EQ(rec.ends, 1);
    /* over 25 MiB: 552, nothing accepted */
    start(0, false);
    rec.big = true;
    say("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
    for (int i = 0; i < 27000; i++)
        feed(line, 1000, 1000);
    say(".\r\n");
    CHECK(strstr(out, "552 5.3.4"));
    CHECK_EQ(rec.ends, 0);
    CHECK_EQ(rec.aborts, 1);
    CHECK(rec.total <= MAIL_SMTP_SIZE_DEFAULT);
}

TEST(malformed_commands)
{
    start(0, false);
    say("MAIL FROM:<a@b>\r\n");
    CHECK(strstr(out, "503 5.5.1 Send EHLO first"));
    say("EHLO\r\n");
    CHECK(strstr(out, "501 5.5.4 Syntax: EHLO hostname"));
    say("HELO c\r\nRCPT TO:<x@y>\r\n");
    CHECK(strstr(out, "503 5.5.1 Need MAIL command first"));
    say("DATA\r\n");
    CHECK(strstr(out, "503 5.5.1 Need MAIL and RCPT"));
    say("MAIL FROM:a@b\r\n");
    CHECK(strstr(out, "501 5.5.4 Syntax: MAIL FROM:<address>"));
    say("MAIL FROM:<a b@c>\r\n");
    CHECK_EQ(strstr(out, "250 2.1.0") == NULL, 1);
    say("MAIL FROM:<a@b> FOO=1\r\n");
    CHECK(strstr(out, "555 5.5.4 Unsupported MAIL FROM parameter"));
    say("MAIL FROM: <@r1,@r2:a@b>\r\n");
    CHECK(strstr(out, "250 2.1.0"));
    CHECK_STR(rec.from, "a@b");
    say("MAIL FROM:<c@d>\r\n");
    CHECK(strstr(out, "503 5.5.1 Nested MAIL"));
    say("DATA\r\n");
    CHECK(strstr(out, "554 5.5.1 No valid recipients"));
    /* a fresh session: ten errors would close this one */
    start(0, false);
    say("HELO c\r\nMAIL FROM:<a@b>\r\n");
    say("RCPT TO:<>\r\nXYZZY\r\nSTARTTLS\r\nDATA x\r\n");
    CHECK(strstr(out, "501 5.5.4 Syntax: RCPT TO:<address>"));
    CHECK(strstr(out, "500 5.5.2 Command unrecognized"));
    CHECK(strstr(out, "502 5.5.1 Command not implemented"));
    CHECK(strstr(out, "501 5.5.4 Syntax: DATA"));
    say("RSET\r\n");
    CHECK_EQ(rec.aborts, 1);
    /* a line over the limit, then a NUL */
    static char longl[3000];
    memset(longl, 'A', sizeof(longl) - 3);
    memcpy(longl + sizeof(longl) - 3, "\r\n", 3);
    say(longl);
    CHECK(strstr(out, "500 5.5.2 Line too long"));
    feed("NO\0P\r\n", 6, 6);
    CHECK(strstr(out, "500 5.5.2 NUL byte"));
    CHECK(!mail_smtp_is_closed(&sm));
    say("NOOP\r\n");
    CHECK(strstr(out, "250 2.0.0 OK\r\n"));
}

TEST(too_many_errors_close)
{
    start(0, false);
    for (int i = 0; i < 12; i++)
        say("BOGUS\r\n");
    CHECK(strstr(out, "421 4.7.0 Too many errors"));
    CHECK(mail_smtp_is_closed(&sm));
}

TEST(rcpt_callback_codes_and_limit)
{
    start(0, false);
    say("HELO c\r\nMAIL FROM:<a@b>\r\n");
    rec.rcpt_err = FASTN_ERR_BAD_PEER_ID;
    say("RCPT TO:<x@example.com>\r\n");
    CHECK(strstr(out, "553 5.1.3 Not a fastn address"));
    rec.rcpt_err = FASTN_ERR_NOT_FOUND;
    say("RCPT TO:<x@y>\r\n");
    CHECK(strstr(out, "550 5.1.1"));
    rec.rcpt_err = FASTN_ERR_IO;
    say("RCPT TO:<x@y>\r\n");
    CHECK(strstr(out, "451 4.3.0"));
    rec.rcpt_err = 0;
    for (int i = 0; i < MAIL_SMTP_RCPT_MAX + 1; i++)
        say("RCPT TO:<x@y>\r\n");
    CHECK(strstr(out, "452 4.5.3 Too many recipients"));
    CHECK(!mail_smtp_is_closed(&sm)); /* not counted as errors */
}

TEST(data_callback_failure_is_451)
{
    start(0, false);
    rec.data_err = FASTN_ERR_IO;
    say("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\nhi\r\n.\r\n");
    CHECK(strstr(out, "451 4.3.0 Could not store"));
    CHECK_EQ(rec.ends, 0);
    CHECK_EQ(rec.aborts, 1);
}

TEST(pipelining_paced_by_reading)
{
    static char many[6 * 4000 + 1];
    size_t used;

    start(0, false);
    for (int i = 0; i < 4000; i++)
        memcpy(many + 6 * i, "NOOP\r\n", 6);
    drain();
    /* a client that never reads: the machine stops taking input */
    used = mail_smtp_feed(&sm, (const uint8_t *)many, sizeof(many) - 1);
    CHECK(used < sizeof(many) - 1);
    size_t n;
    mail_smtp_output(&sm, &n);
    CHECK(n <= MAIL_SMTP_OUT_MAX);
    CHECK_EQ(mail_smtp_feed(&sm, (const uint8_t *)many + used, 6), 0);
    /* once it reads, every command gets its reply, in order */
    out_len = 0;
    drain();
    feed(many + used, sizeof(many) - 1 - used, (size_t)-1);
    size_t replies = 0;
    for (const char *p = out; (p = strstr(p, "250 2.0.0 OK\r\n")); p++)
        replies++;
    CHECK_EQ(replies, 4000);
}

int main(void)
{
    RUN(rfc5321_d1_with_auth_plain);
    RUN(auth_login_and_plain_in_two_steps);
    RUN(auth_refusals);
    RUN(dot_unstuffing_in_any_pieces);
    RUN(end_only_at_crlf_dot_crlf);
    RUN(size_announced_and_real);
    RUN(large_message_streams_in_chunks);
    RUN(malformed_commands);
    RUN(too_many_errors_close);
    RUN(rcpt_callback_codes_and_limit);
    RUN(data_callback_failure_is_451);
    RUN(pipelining_paced_by_reading);
    return test_done();
}
