/* Unit tests for plugins/mail/lib/mime.c and mime_fmt.c: ENVELOPE and
 * BODYSTRUCTURE as RFC 3501 shows them (section 7.4.2 and the sample
 * session of section 8), multipart with nested message/rfc822 and
 * multipart/alternative (sizes and lines counted by hand), groups and
 * routes in address lists, defaults, the same result in any piece sizes,
 * and the bounds. */
#include "mail.h"
#include "test.h"

static struct mail_mime mm;
static char out[65536];

static const char *fmt(const char *msg, size_t n, size_t step, bool env,
                       int part)
{
    struct mail_out o;

    mail_mime_init(&mm);
    for (size_t i = 0; i < n; i += step)
        mail_mime_feed(&mm, (const uint8_t *)msg + i,
                       n - i < step ? n - i : step);
    mail_mime_end(&mm);
    mail_out_init(&o, out, sizeof(out) - 1);
    if (env)
        mail_imap_out_envelope(&o, &mm, part);
    else
        mail_imap_out_bodystructure(&o, &mm, part, true);
    out[o.over ? 0 : o.len] = '\0';
    return out;
}

static const char rfc3501_msg[] =
    "Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
    "From: Terry Gray <gray@cac.washington.edu>\r\n"
    "Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
    "To: imap@cac.washington.edu\r\n"
    "cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>\r\n"
    "Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
    "\r\n"
    "line one\r\n"
    "line two\r\n";

TEST(rfc3501_envelope)
{
    CHECK_STR(fmt(rfc3501_msg, strlen(rfc3501_msg), 1000, true, 0),
              "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
              "\"IMAP4rev1 WG mtg summary and minutes\" "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
              "((NIL NIL \"imap\" \"cac.washington.edu\")) "
              "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
              "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
              "\"<B27397-0100000@cac.washington.edu>\")");
    CHECK_STR(fmt(rfc3501_msg, strlen(rfc3501_msg), 1000, false, 0),
              "(\"text\" \"plain\" (\"charset\" \"US-ASCII\") NIL NIL "
              "\"7bit\" 20 2 NIL NIL NIL NIL)");
}

/* RFC 3501 7.4.2's BODYSTRUCTURE example, with bodies of its sizes */
static char mixed[16384];
static size_t mixed_len;

static void build_mixed(void)
{
    size_t k = 0;
    k += (size_t)snprintf(mixed + k, sizeof(mixed) - k,
                          "From: a@b\r\nContent-Type: MULTIPART/MIXED; "
                          "BOUNDARY=\"x-y z\"\r\n\r\npreamble\r\n"
                          "--x-y z\r\n\r\n");
    static const char digits[] = "0123456789012345678901234567890123456789"
                                 "0123456789012345678901234567890123456789"
                                 "01234567890123456789";
    for (int i = 0; i < 23; i++) /* 23 lines, 1152 bytes: 22 * 51 + 30 */
        k += (size_t)snprintf(mixed + k, sizeof(mixed) - k, "%.*s\r\n",
                              i < 22 ? 49 : 30, digits);
    k -= 2; /* the last CRLF is the delimiter's */
    k += (size_t)snprintf(
        mixed + k, sizeof(mixed) - k,
        "\r\n--x-y z  \r\nContent-Type: text/plain; charset=US-ASCII; "
        "name=\"cc.diff\"\r\nContent-ID: "
        "<960723163407.20117h@cac.washington.edu>\r\n"
        "Content-Description: Compiler diff\r\n"
        "Content-Transfer-Encoding: BASE64\r\n"
        "Content-Disposition: attachment;\r\n filename=\"cc.diff\"\r\n\r\n");
    for (int i = 0; i < 73; i++) /* 73 lines, 4554 bytes: 72 * 62 + 90 */
        k += (size_t)snprintf(mixed + k, sizeof(mixed) - k, "%.*s\r\n",
                              i < 72 ? 60 : 90, digits);
    k -= 2;
    k += (size_t)snprintf(mixed + k, sizeof(mixed) - k,
                          "\r\n--x-y z--\r\nepilogue\r\n");
    mixed_len = k;
}

TEST(rfc3501_bodystructure)
{
    static const char want[] =
        "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
        "1152 23 NIL NIL NIL NIL)"
        "(\"text\" \"plain\" (\"charset\" \"US-ASCII\" \"name\" \"cc.diff\") "
        "\"<960723163407.20117h@cac.washington.edu>\" \"Compiler diff\" "
        "\"BASE64\" 4554 73 NIL (\"attachment\" (\"filename\" \"cc.diff\")) "
        "NIL NIL) \"mixed\" (\"boundary\" \"x-y z\") NIL NIL NIL)";

    build_mixed();
    CHECK_STR(fmt(mixed, mixed_len, 100000, false, 0), want);
    /* the same in any pieces */
    CHECK_STR(fmt(mixed, mixed_len, 1, false, 0), want);
    CHECK_STR(fmt(mixed, mixed_len, 7, false, 0), want);
    CHECK_EQ(mm.nparts, 3);
    /* where the parts are: BODY[1] is 1152 bytes from its offset */
    CHECK(memcmp(mixed + mm.part[1].body_off, "0123", 4) == 0);
    CHECK(memcmp(mixed + mm.part[1].body_off + 1152, "\r\n--x-y z", 9) == 0);
    CHECK(memcmp(mixed + mm.part[2].hdr_off, "Content-Type", 12) == 0);
}

static const char nested[] =
    "From: \"Doe, Jane\" <jane@x.fastn>\r\n"
    "To: Friends: a@b, \"B\" <b@c>;, (comment) c@d (C)\r\n"
    "Reply-To: <@r1,@r2:route@host>\r\n"
    "Subject: nested\r\n"
    "Content-Type: multipart/mixed; boundary=outer\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "\r\n"
    "plain\r\n"
    "--inner\r\n"
    "Content-Type: text/html\r\n"
    "\r\n"
    "<p>x</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "Subject: inside\r\n"
    "From: in@side\r\n"
    "\r\n"
    "hi\r\n"
    "--outer--\r\n";

TEST(nested_parts_and_addresses)
{
    CHECK_STR(fmt(nested, strlen(nested), 1000, true, 0),
              "(NIL \"nested\" ((\"Doe, Jane\" NIL \"jane\" \"x.fastn\")) "
              "((\"Doe, Jane\" NIL \"jane\" \"x.fastn\")) "
              "((NIL \"@r1,@r2\" \"route\" \"host\")) "
              "((NIL NIL \"Friends\" NIL)(NIL NIL \"a\" \"b\")"
              "(\"B\" NIL \"b\" \"c\")(NIL NIL NIL NIL)"
              "(NIL NIL \"c\" \"d\")) NIL NIL NIL NIL)");
    /* the encapsulated message: 36 bytes, 4 lines */
    CHECK_STR(fmt(nested, strlen(nested), 1000, false, 0),
              "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
              "\"7bit\" 5 1 NIL NIL NIL NIL)"
              "(\"text\" \"html\" NIL NIL NIL \"7bit\" 8 1 NIL NIL NIL NIL) "
              "\"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)"
              "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 36 "
              "(NIL \"inside\" ((NIL NIL \"in\" \"side\")) "
              "((NIL NIL \"in\" \"side\")) ((NIL NIL \"in\" \"side\")) "
              "NIL NIL NIL NIL NIL) "
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
              "\"7bit\" 2 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL) "
              "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
    char s[4096];
    size_t n = strlen(nested);
    CHECK_STR(fmt(nested, n, 3, false, 0),
              strcpy(s, fmt(nested, n, 1000, false, 0)));
}

TEST(defaults_and_oddities)
{
    /* no header at all, no blank line */
    CHECK_STR(fmt("just text", 9, 100, false, 0),
              "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
              "\"7bit\" 0 0 NIL NIL NIL NIL)");
    CHECK_STR(fmt("just text", 9, 100, true, 0),
              "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    /* bare LF line ends, and a multipart whose boundary never comes */
    static const char lf[] = "Content-Type: multipart/mixed; boundary=b\n"
                             "\nno parts here\n";
    CHECK_STR(fmt(lf, strlen(lf), 100, false, 0),
              "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
              "\"7bit\" 0 0) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
    /* a digest's parts default to message/rfc822 */
    static const char dg[] = "Content-Type: multipart/digest; boundary=d\r\n"
                             "\r\n--d\r\n\r\nSubject: s\r\n\r\nb\r\n--d--\r\n";
    fmt(dg, strlen(dg), 100, false, 0);
    CHECK(strstr(out, "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 15 "));
    /* folded header fields are unfolded */
    static const char fold[] = "Subject: one\r\n two\r\n\tthree\r\n\r\n";
    CHECK(strstr(fmt(fold, strlen(fold), 2, true, 0), "\"one two\tthree\""));
    /* 8-bit in a field goes out as a literal */
    static const char utf[] = "Subject: h\xc3\xa9\r\n\r\n";
    CHECK(strstr(fmt(utf, strlen(utf), 100, true, 0), "{3}\r\nh\xc3\xa9"));
}

TEST(bounds)
{
    /* parts past the limit stay body of the part they are in */
    static char many[65536];
    size_t k = (size_t)snprintf(many, sizeof(many),
                                "Content-Type: multipart/mixed; boundary=b\r\n"
                                "\r\n");
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(many + k, sizeof(many) - k, "--b\r\n\r\nx\r\n");
    k += (size_t)snprintf(many + k, sizeof(many) - k, "--b--\r\n");
    fmt(many, k, 4096, false, 0);
    CHECK_EQ(mm.nparts, MAIL_MIME_PARTS_MAX);
    CHECK(out[0] == '(');
    /* nesting past the depth limit */
    k = 0;
    for (int i = 0; i < 20; i++)
        k += (size_t)snprintf(many + k, sizeof(many) - k,
                              "Content-Type: message/rfc822\r\n\r\n");
    fmt(many, k, 4096, false, 0);
    CHECK(mm.nparts <= MAIL_MIME_MESSAGES_MAX);
    /* a header field far past the limit is cut, not overflowed */
    k = (size_t)snprintf(many, sizeof(many), "Subject: ");
    memset(many + k, 's', 20000);
    k += 20000;
    memcpy(many + k, "\r\n\r\n", 4);
    fmt(many, k + 4, 999, true, 0);
    CHECK(strlen(mm.env[0].field[MAIL_ENV_SUBJECT]) == MAIL_MIME_FIELD_MAX - 1);
}

int main(void)
{
    RUN(rfc3501_envelope);
    RUN(rfc3501_bodystructure);
    RUN(nested_parts_and_addresses);
    RUN(defaults_and_oddities);
    RUN(bounds);
    return test_done();
}
