/* Unit tests for plugins/mail/lib/imap_read.c, imap_parse.c and
 * imap_fmt.c: the commands of RFC 3501's examples (section 6 and the
 * sample session of section 8), what Thunderbird, mbsync and Python's
 * imaplib send, literals (synchronizing, LITERAL+, streamed for APPEND)
 * and the lengths that lie, bounded nesting, the BAD replies, and the
 * formatting of strings, flags, dates and sequence sets. */
#include "mail.h"
#include "test.h"

static struct mail_imap_cmd cmd;
static char bad[256];

static int parse(const char *s)
{
    bad[0] = '\0';
    return mail_imap_parse(s, strlen(s), &cmd, bad, sizeof(bad));
}

#define PARSE_OK(s) CHECK_ERR(parse(s), 0)

TEST(rfc3501_sample_session)
{
    PARSE_OK("a001 login mrc secret");
    CHECK_STR(cmd.tag, "a001");
    CHECK_EQ(cmd.verb, MAIL_IMAP_LOGIN);
    CHECK_STR(cmd.arg[0], "mrc");
    CHECK_STR(cmd.arg[1], "secret");
    PARSE_OK("a002 select inbox");
    CHECK_EQ(cmd.verb, MAIL_IMAP_SELECT);
    CHECK_STR(cmd.arg[0], "INBOX");
    PARSE_OK("a003 fetch 12 full");
    CHECK_EQ(cmd.verb, MAIL_IMAP_FETCH);
    CHECK_EQ(cmd.sets[0].n, 1);
    CHECK_EQ(cmd.sets[0].r[0].lo, 12);
    CHECK_EQ(cmd.fetch, MAIL_FETCH_FLAGS | MAIL_FETCH_INTERNALDATE |
                            MAIL_FETCH_RFC822_SIZE | MAIL_FETCH_ENVELOPE |
                            MAIL_FETCH_BODY);
    PARSE_OK("a004 fetch 12 body[header]");
    CHECK_EQ(cmd.nsections, 1);
    CHECK_EQ(cmd.section[0].kind, MAIL_SECTION_HEADER);
    CHECK(!cmd.section[0].peek);
    PARSE_OK("a005 store 12 +flags \\deleted");
    CHECK_EQ(cmd.verb, MAIL_IMAP_STORE);
    CHECK_EQ(cmd.store_op, 1);
    CHECK_EQ(cmd.flags, MAIL_FLAG_DELETED);
    PARSE_OK("a006 logout");
    CHECK_EQ(cmd.verb, MAIL_IMAP_LOGOUT);
}

TEST(mailbox_commands)
{
    PARSE_OK("A1 LIST \"\" \"*\"");
    CHECK_EQ(cmd.verb, MAIL_IMAP_LIST);
    CHECK_STR(cmd.arg[0], "");
    CHECK_STR(cmd.arg[1], "*");
    PARSE_OK("A2 LIST ~/Mail/ %");
    CHECK_STR(cmd.arg[1], "%");
    PARSE_OK("A3 LSUB \"#news.\" \"comp.mail.*\"");
    PARSE_OK("A4 STATUS blurdybloop (UIDNEXT MESSAGES)");
    CHECK_EQ(cmd.status, MAIL_STATUS_UIDNEXT | MAIL_STATUS_MESSAGES);
    PARSE_OK("A5 CREATE owatagusiam/");
    PARSE_OK("A6 RENAME \"Old \\\"box\\\"\" {3+}\r\nnew");
    CHECK_STR(cmd.arg[0], "Old \"box\"");
    CHECK_STR(cmd.arg[1], "new");
    PARSE_OK("A7 DELETE Trash");
    PARSE_OK("A8 EXAMINE Inbox");
    CHECK_STR(cmd.arg[0], "INBOX");
    PARSE_OK("A9 AUTHENTICATE PLAIN AGJvYgBzM2NyZXQ=");
    CHECK_STR(cmd.arg[0], "PLAIN");
    CHECK_STR(cmd.arg[1], "AGJvYgBzM2NyZXQ=");
    PARSE_OK("A10 AUTHENTICATE PLAIN");
    CHECK(cmd.arg[1] == NULL);
    PARSE_OK("A11 IDLE");
    PARSE_OK("A12 ID (\"name\" \"Thunderbird\" \"version\" \"115\")");
    PARSE_OK("A13 ID NIL");
    PARSE_OK("A14 ENABLE UTF8=ACCEPT CONDSTORE");
    PARSE_OK("A15 CAPABILITY");
    CHECK_ERR(parse("A16 STATUS x (MESSAGES FOO)"), FASTN_ERR_MALFORMED);
    CHECK_STR(bad, "A16 BAD Unknown STATUS item\r\n");
}

TEST(append_forms)
{
    const char *s = "A003 APPEND saved-messages (\\Seen) "
                    "\"7-Feb-1994 21:52:25 -0800\" {23}\r\n"
                    "Subject: hi\r\n\r\nbody\r\n\r\n";
    PARSE_OK(s);
    CHECK_EQ(cmd.verb, MAIL_IMAP_APPEND);
    CHECK_STR(cmd.arg[0], "saved-messages");
    CHECK_EQ(cmd.flags, MAIL_FLAG_SEEN);
    CHECK_EQ(cmd.date, 760686745);
    CHECK_EQ(cmd.msg_size, 23);
    CHECK(memcmp(cmd.msg, "Subject: hi\r\n\r\nbody\r\n\r\n", 23) == 0);
    PARSE_OK("A1 APPEND INBOX {2+}\r\nhi");
    CHECK_EQ(cmd.date, -1);
    CHECK_EQ(cmd.flags, 0);
    /* the reader's marker of a streamed message */
    static const char streamed[] =
        "A2 APPEND Sent (\\Seen \\Draft) \0{30000000}";
    CHECK_ERR(
        mail_imap_parse(streamed, sizeof(streamed) - 1, &cmd, bad, sizeof(bad)),
        0);
    CHECK(cmd.streamed);
    CHECK_EQ(cmd.msg_size, 30000000);
    CHECK_EQ(cmd.flags, MAIL_FLAG_SEEN | MAIL_FLAG_DRAFT);
    static const char badmark[] = "A2 APPEND Sent \0X30}";
    CHECK_ERR(
        mail_imap_parse(badmark, sizeof(badmark) - 1, &cmd, bad, sizeof(bad)),
        FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A3 APPEND INBOX \"hi\""), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A4 APPEND INBOX \"30-Feb-1994 25:00:00 +0000\" {1}\r\nx"),
              FASTN_ERR_MALFORMED);
    /* a literal that says more than it holds */
    CHECK_ERR(parse("A5 APPEND INBOX {10}\r\nshort"), FASTN_ERR_MALFORMED);
    CHECK_STR(bad, "A5 BAD Literal shorter than its length\r\n");
}

TEST(fetch_items_of_real_clients)
{
    /* Thunderbird's header fetch */
    PARSE_OK("5 UID fetch 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
             "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
             "References Newsgroups In-Reply-To Content-Type Reply-To)])");
    CHECK(cmd.uid);
    CHECK_EQ(cmd.sets[0].r[0].lo, 1);
    CHECK_EQ(cmd.sets[0].r[0].hi, MAIL_SEQ_STAR);
    CHECK_EQ(cmd.fetch,
             MAIL_FETCH_UID | MAIL_FETCH_RFC822_SIZE | MAIL_FETCH_FLAGS);
    CHECK_EQ(cmd.nsections, 1);
    CHECK(cmd.section[0].peek);
    CHECK_EQ(cmd.section[0].kind, MAIL_SECTION_FIELDS);
    CHECK_EQ(cmd.section[0].nfields, 14);
    CHECK_STR(cmd.section[0].field[13], "Reply-To");
    /* mbsync */
    PARSE_OK("7 UID FETCH 3:4,9 (UID FLAGS BODY.PEEK[HEADER.FIELDS "
             "(X-TUID MESSAGE-ID)])");
    CHECK_EQ(cmd.sets[0].n, 2);
    PARSE_OK("8 UID FETCH 5 (BODY.PEEK[])");
    CHECK_EQ(cmd.section[0].kind, MAIL_SECTION_ALL);
    /* imaplib's (RFC822) and the partial, part and MIME forms */
    PARSE_OK("A1 FETCH 1 (RFC822)");
    CHECK_STR(cmd.section[0].as, "RFC822");
    CHECK(!cmd.section[0].peek);
    PARSE_OK("A2 FETCH 2:4 (ENVELOPE BODYSTRUCTURE INTERNALDATE "
             "BODY.PEEK[]<0.2048> BODY[1.2.MIME] BODY[3.TEXT] "
             "BODY[2.HEADER.FIELDS.NOT (Received)] RFC822.HEADER)");
    CHECK_EQ(cmd.fetch, MAIL_FETCH_ENVELOPE | MAIL_FETCH_BODYSTRUCTURE |
                            MAIL_FETCH_INTERNALDATE);
    CHECK_EQ(cmd.nsections, 5);
    CHECK(cmd.section[0].partial);
    CHECK_EQ(cmd.section[0].offset, 0);
    CHECK_EQ(cmd.section[0].count, 2048);
    CHECK_EQ(cmd.section[1].nparts, 2);
    CHECK_EQ(cmd.section[1].part[1], 2);
    CHECK_EQ(cmd.section[1].kind, MAIL_SECTION_MIME);
    CHECK_EQ(cmd.section[2].kind, MAIL_SECTION_TEXT);
    CHECK_EQ(cmd.section[2].part[0], 3);
    CHECK_EQ(cmd.section[3].kind, MAIL_SECTION_FIELDS_NOT);
    CHECK_STR(cmd.section[4].as, "RFC822.HEADER");
    CHECK(cmd.section[4].peek);
    PARSE_OK("A3 FETCH 1 BODY[1]");
    CHECK_EQ(cmd.section[0].nparts, 1);
    CHECK_EQ(cmd.section[0].kind, MAIL_SECTION_ALL);
    PARSE_OK("A4 FETCH 1 FAST");
}

TEST(fetch_refusals)
{
    CHECK_ERR(parse("A FETCH 1 BODY[FOO]"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 BODY[]<1>"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 BODY[]<1.0>"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 BODY.PEEK"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 BODY[MIME]"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 (FLAGS"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 0 FLAGS"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 4294967296 FLAGS"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 FLAGS extra"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 BODY[HEADER.FIELDS ()]"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A FETCH 1 (BODY[] BODY[] BODY[] BODY[] BODY[] BODY[] "
                    "BODY[] BODY[] BODY[])"),
              FASTN_ERR_TOO_LARGE);
    CHECK_ERR(parse("A FETCH 1 BODY[1.2.3.4.5.6.7.8.9]"), FASTN_ERR_TOO_LARGE);
}

TEST(sequence_sets)
{
    PARSE_OK("A COPY 2:4,7,*:9,5:5 Archive");
    CHECK_EQ(cmd.verb, MAIL_IMAP_COPY);
    CHECK_STR(cmd.arg[0], "Archive");
    CHECK_EQ(cmd.sets[0].n, 4);
    CHECK_EQ(cmd.sets[0].r[2].lo, 9); /* "*:9" is "9:*" */
    CHECK_EQ(cmd.sets[0].r[2].hi, MAIL_SEQ_STAR);
    char o[128];
    struct mail_out out;
    mail_out_init(&out, o, sizeof(o));
    mail_imap_out_seq_set(&out, &cmd.sets[0]);
    CHECK_EQ(out.len, strlen("2:4,7,9:*,5"));
    CHECK(memcmp(o, "2:4,7,9:*,5", out.len) == 0);
    PARSE_OK("A UID MOVE 1:3 Trash");
    CHECK(cmd.uid);
    CHECK_EQ(cmd.verb, MAIL_IMAP_MOVE);
    PARSE_OK("A UID EXPUNGE 3,5");
    CHECK_EQ(cmd.sets[0].n, 2);
    PARSE_OK("A EXPUNGE");
    CHECK_ERR(parse("A COPY 1,,2 x"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A COPY 1: x"), FASTN_ERR_MALFORMED);
    /* more ranges than the limit */
    static char many[8 * MAIL_SEQ_RANGES_MAX + 64];
    size_t k = (size_t)snprintf(many, sizeof(many), "A FETCH 1");
    for (int i = 0; i < MAIL_SEQ_RANGES_MAX; i++)
        k += (size_t)snprintf(many + k, sizeof(many) - k, ",%d", i + 2);
    snprintf(many + k, sizeof(many) - k, " FLAGS");
    CHECK_ERR(parse(many), FASTN_ERR_TOO_LARGE);
}

TEST(store_forms)
{
    PARSE_OK("A STORE 2:4 +FLAGS.SILENT (\\Deleted \\Seen)");
    CHECK(cmd.silent);
    CHECK_EQ(cmd.store_op, 1);
    CHECK_EQ(cmd.flags, MAIL_FLAG_DELETED | MAIL_FLAG_SEEN);
    PARSE_OK("A UID STORE 7 FLAGS \\Answered \\Flagged $Forwarded");
    CHECK_EQ(cmd.store_op, 0);
    CHECK_EQ(cmd.flags, MAIL_FLAG_ANSWERED | MAIL_FLAG_FLAGGED);
    PARSE_OK("A STORE 1 -FLAGS ()");
    CHECK_EQ(cmd.store_op, -1);
    CHECK_EQ(cmd.flags, 0);
    CHECK_ERR(parse("A STORE 1 FLAGZ (\\Seen)"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A STORE 1 +FLAGS (\\Bogus)"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A STORE 1 +FLAGS (\\Seen"), FASTN_ERR_MALFORMED);
}

static const struct mail_search_node *kid(unsigned parent, unsigned i)
{
    return &cmd.node[cmd.kids[cmd.node[parent].first + i]];
}

TEST(search_keys)
{
    /* RFC 3501 6.4.4's example */
    PARSE_OK("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"");
    CHECK_EQ(cmd.node[0].key, MAIL_SK_AND);
    CHECK_EQ(cmd.node[0].count, 3);
    CHECK_EQ(kid(0, 0)->key, MAIL_SK_FLAG);
    CHECK_EQ(kid(0, 0)->flag, MAIL_FLAG_FLAGGED);
    CHECK_EQ(kid(0, 1)->key, MAIL_SK_SINCE);
    CHECK_EQ(kid(0, 1)->num, 8797);
    CHECK_EQ(kid(0, 2)->key, MAIL_SK_NOT);
    const struct mail_search_node *from = &cmd.node[cmd.kids[kid(0, 2)->first]];
    CHECK_EQ(from->key, MAIL_SK_FROM);
    CHECK_STR(from->str, "Smith");
    PARSE_OK("A UID SEARCH OR SEEN (FLAGGED UNDELETED) UID 1:5,9 "
             "LARGER 100 SMALLER 2000 BEFORE \"02-Mar-2024\" ON 1-jan-2000 "
             "SUBJECT hello TO bob BODY x TEXT y UNSEEN ALL DELETED 1:*");
    CHECK(cmd.uid);
    CHECK_EQ(cmd.node[0].count, 14);
    CHECK_EQ(kid(0, 0)->key, MAIL_SK_OR);
    CHECK_EQ(kid(0, 0)->count, 2);
    CHECK_EQ(kid(0, 1)->key, MAIL_SK_UID);
    CHECK_EQ(cmd.sets[kid(0, 1)->set].n, 2);
    CHECK_EQ(kid(0, 2)->num, 100);
    CHECK_EQ(kid(0, 13)->key, MAIL_SK_SEQ);
    PARSE_OK("A SEARCH CHARSET UTF-8 TEXT {6}\r\nh\xc3\xa9llo");
    CHECK_STR(kid(0, 0)->str, "h\xc3\xa9llo");
    PARSE_OK("A SEARCH HEADER Message-ID \"<a@b>\"");
    CHECK_STR(kid(0, 0)->field, "Message-ID");
    CHECK_ERR(parse("A SEARCH CHARSET KOI8-R ALL"), FASTN_ERR_UNSUPPORTED);
    CHECK(strstr(bad, "BADCHARSET"));
    CHECK_ERR(parse("A SEARCH FOO"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A SEARCH SINCE 32-Jan-2000"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A SEARCH SINCE 1-Foo-2000"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A SEARCH ()"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A SEARCH OR SEEN"), FASTN_ERR_MALFORMED);
}

TEST(search_nesting_is_bounded)
{
    char s[4096];
    size_t k = (size_t)snprintf(s, sizeof(s), "A SEARCH");
    for (int i = 0; i < 40; i++)
        k += (size_t)snprintf(s + k, sizeof(s) - k, " NOT");
    snprintf(s + k, sizeof(s) - k, " SEEN");
    CHECK_ERR(parse(s), FASTN_ERR_TOO_LARGE);
    k = (size_t)snprintf(s, sizeof(s), "A SEARCH ");
    for (int i = 0; i < 40; i++)
        s[k++] = '(';
    s[k] = '\0';
    CHECK_ERR(parse(s), FASTN_ERR_TOO_LARGE);
    /* many keys: over the node limit */
    k = (size_t)snprintf(s, sizeof(s), "A SEARCH");
    for (int i = 0; i < MAIL_SEARCH_NODES_MAX + 1; i++)
        k += (size_t)snprintf(s + k, sizeof(s) - k, " SEEN");
    CHECK_ERR(parse(s), FASTN_ERR_TOO_LARGE);
    /* within the limits */
    PARSE_OK("A SEARCH NOT NOT NOT NOT ((((SEEN))))");
}

TEST(bad_commands)
{
    CHECK_ERR(parse(""), FASTN_ERR_MALFORMED);
    CHECK_STR(bad, "* BAD Missing or invalid tag\r\n");
    CHECK_ERR(parse("a+b NOOP"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A1 FROB"), FASTN_ERR_UNSUPPORTED);
    CHECK_STR(bad, "A1 BAD Unknown command\r\n");
    CHECK_ERR(parse("A1 UID CAPABILITY"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A1  NOOP"), FASTN_ERR_UNSUPPORTED);
    CHECK_ERR(parse("A1 NOOP "), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A1 LOGIN \"unterminated"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A1 LOGIN \"a\\x\" b"), FASTN_ERR_MALFORMED);
    CHECK_ERR(parse("A1 LOGIN a"), FASTN_ERR_MALFORMED);
    static const char nul[] = "A1 LOGIN {3}\r\na\0b pw";
    CHECK_ERR(mail_imap_parse(nul, sizeof(nul) - 1, &cmd, bad, sizeof(bad)),
              FASTN_ERR_MALFORMED);
    CHECK_STR(bad, "A1 BAD NUL in a string\r\n");
    CHECK_ERR(parse("A1 SELECT"), FASTN_ERR_MALFORMED);
    CHECK_STR(bad, "A1 BAD Expected a space between arguments\r\n");
}

/* --- the reader --------------------------------------------------------- */

static struct mail_imap_reader rd;

struct evs {
    char log[4096];
    char cmds[8][512];
    size_t cmd_len[8];
    int ncmds;
    uint64_t data;
};

/* Feeds s (n bytes) in pieces of step, recording each event. */
static void read_all(const char *s, size_t n, size_t step, struct evs *e)
{
    size_t i = 0;
    memset(e, 0, sizeof(*e));
    while (i < n) {
        size_t k = n - i < step ? n - i : step, used;
        struct mail_imap_event ev;
        enum mail_imap_ev kind =
            mail_imap_read(&rd, (const uint8_t *)s + i, k, &used, &ev);
        size_t l = strlen(e->log);
        i += used;
        switch (kind) {
        case MAIL_IMAP_EV_MORE:
            break;
        case MAIL_IMAP_EV_CONTINUE:
            snprintf(e->log + l, sizeof(e->log) - l, "+;");
            break;
        case MAIL_IMAP_EV_COMMAND: {
            size_t cl;
            const char *c = mail_imap_reader_command(&rd, &cl);
            if (e->ncmds < 8 && cl < 512) {
                memcpy(e->cmds[e->ncmds], c, cl);
                e->cmd_len[e->ncmds++] = cl;
            }
            snprintf(e->log + l, sizeof(e->log) - l, "C;");
            break;
        }
        case MAIL_IMAP_EV_LITERAL:
            snprintf(e->log + l, sizeof(e->log) - l, "L%llu%s;",
                     (unsigned long long)ev.size, ev.sync ? "+" : "");
            break;
        case MAIL_IMAP_EV_DATA:
            e->data += ev.len;
            break;
        case MAIL_IMAP_EV_BAD:
            snprintf(e->log + l, sizeof(e->log) - l, "%s%s;", ev.reply,
                     ev.close ? "close" : "");
            if (ev.close)
                return;
            break;
        }
    }
}

TEST(reader_literals)
{
    static const char in[] = "a1 LOGIN {3}\r\nbob {6}\r\ns3cret\r\n"
                             "a2 LOGIN {3+}\r\nbob \"pw\"\r\n"
                             "a3 NOOP\r\n";
    static const size_t steps[] = {1, 2, 5, 1000};
    for (size_t t = 0; t < 4; t++) {
        struct evs e;
        mail_imap_reader_init(&rd, 0);
        read_all(in, sizeof(in) - 1, steps[t], &e);
        CHECK_STR(e.log, "+;+;C;C;C;");
        CHECK_EQ(e.ncmds, 3);
        CHECK_EQ(e.cmd_len[0], strlen("a1 LOGIN {3}\r\nbob {6}\r\ns3cret"));
        CHECK_ERR(
            mail_imap_parse(e.cmds[0], e.cmd_len[0], &cmd, bad, sizeof(bad)),
            0);
        CHECK_STR(cmd.arg[1], "s3cret");
        CHECK_ERR(
            mail_imap_parse(e.cmds[1], e.cmd_len[1], &cmd, bad, sizeof(bad)),
            0);
        CHECK_STR(cmd.arg[0], "bob");
        CHECK_STR(cmd.arg[1], "pw");
    }
}

TEST(reader_lying_lengths)
{
    struct evs e;
    char s[256];

    /* a synchronizing literal too large for the command: refused before
     * any of it is sent, and the session goes on */
    mail_imap_reader_init(&rd, 0);
    read_all("a1 LOGIN {99999999}\r\na2 NOOP\r\n", 30, 1000, &e);
    CHECK_STR(e.log, "a1 BAD Literal too large for this command\r\n;C;");
    /* the same as LITERAL+: its bytes are on the way, so the end */
    mail_imap_reader_init(&rd, 0);
    read_all("a1 LOGIN {99999999+}\r\nxxxx", 26, 1000, &e);
    CHECK_STR(e.log, "a1 BAD Literal too large for this command\r\nclose;");
    /* over the message limit for APPEND: [TOOBIG] */
    mail_imap_reader_init(&rd, 1000);
    snprintf(s, sizeof(s), "a1 APPEND INBOX {%u}\r\na2 NOOP\r\n", 70000);
    read_all(s, strlen(s), 1000, &e);
    CHECK_STR(e.log, "a1 NO [TOOBIG] Message too large for this server\r\n;C;");
    /* a length past 19 digits is no literal header: the command is
     * whole and the parser refuses it */
    mail_imap_reader_init(&rd, 0);
    read_all("a1 LOGIN {99999999999999999999999}\r\n", 36, 1000, &e);
    CHECK_STR(e.log, "C;");
    CHECK_ERR(mail_imap_parse(e.cmds[0], e.cmd_len[0], &cmd, bad, sizeof(bad)),
              FASTN_ERR_MALFORMED);
    /* a literal longer than what the client meant: the length is obeyed
     * (the next line's start is literal data), never guessed around */
    mail_imap_reader_init(&rd, 0);
    read_all("a1 LOGIN {10+}\r\nbob pw\r\na2 NOOP\r\n", 33, 1000, &e);
    CHECK_STR(e.log, "C;");
    CHECK_ERR(mail_imap_parse(e.cmds[0], e.cmd_len[0], &cmd, bad, sizeof(bad)),
              0);
    CHECK_STR(cmd.arg[0], "bob pw\r\na2");
    CHECK_STR(cmd.arg[1], "NOOP");
    /* and one that stops short waits for its bytes: no command yet */
    mail_imap_reader_init(&rd, 0);
    read_all("a1 LOGIN {100+}\r\nbob pw\r\n", 26, 1000, &e);
    CHECK_STR(e.log, "");
}

TEST(reader_streams_append)
{
    static char msg[200000];
    struct evs e;
    char head[128];

    memset(msg, 'm', sizeof(msg));
    mail_imap_reader_init(&rd, 0);
    int hn = snprintf(head, sizeof(head), "a1 APPEND Sent (\\Seen) {%zu}\r\n",
                      sizeof(msg));
    static char all[sizeof(msg) + 256];
    memcpy(all, head, (size_t)hn);
    memcpy(all + hn, msg, sizeof(msg));
    memcpy(all + hn + sizeof(msg), "\r\na2 NOOP\r\n", 11);
    read_all(all, (size_t)hn + sizeof(msg) + 11, 4096, &e);
    CHECK_STR(e.log, "L200000+;C;C;");
    CHECK_EQ(e.data, sizeof(msg));
    CHECK_ERR(mail_imap_parse(e.cmds[0], e.cmd_len[0], &cmd, bad, sizeof(bad)),
              0);
    CHECK(cmd.streamed);
    CHECK_EQ(cmd.msg_size, sizeof(msg));
    CHECK_EQ(cmd.flags, MAIL_FLAG_SEEN);
}

TEST(reader_refuses_long_lines_and_nul)
{
    static char s[MAIL_IMAP_LINE_MAX + 64];
    struct evs e;

    mail_imap_reader_init(&rd, 0);
    memset(s, 'x', sizeof(s));
    memcpy(s, "a1 NOOP ", 8);
    read_all(s, sizeof(s), 4096, &e);
    CHECK_STR(e.log, "a1 BAD Command line too long\r\nclose;");
    mail_imap_reader_init(&rd, 0);
    read_all("a1 NO\0OP\r\n", 10, 1000, &e);
    CHECK_STR(e.log, "a1 BAD NUL byte in a command line\r\nclose;");
    /* inline literals may not add up past the command limit */
    mail_imap_reader_init(&rd, 0);
    size_t k = 0;
    static char many[MAIL_IMAP_CMD_MAX * 2];
    k += (size_t)snprintf(many, sizeof(many), "a1 LOGIN");
    while (k < sizeof(many) - 8300) {
        k += (size_t)snprintf(many + k, sizeof(many) - k, " {8000+}\r\n");
        memset(many + k, 'y', 8000);
        k += 8000;
    }
    read_all(many, k, 100000, &e);
    CHECK(strstr(e.log, "a1 BAD Literal too large for this command\r\nclose;"));
}

/* --- formatting -------------------------------------------------------- */

TEST(format_strings_flags_dates)
{
    char b[256];
    struct mail_out o;

    mail_out_init(&o, b, sizeof(b));
    mail_imap_out_string(&o, "a \"q\" \\", 7);
    mail_out_str(&o, " ");
    mail_imap_out_string(&o, "two\r\nlines", 10);
    mail_out_str(&o, " ");
    mail_imap_out_string(&o, NULL, 0);
    mail_out_str(&o, " ");
    mail_imap_out_astring(&o, "INBOX", 5);
    mail_out_str(&o, " ");
    mail_imap_out_astring(&o, "My Folder", 9);
    mail_out_str(&o, " ");
    mail_imap_out_astring(&o, "nil", 3);
    mail_out_str(&o, " ");
    mail_imap_out_flags(&o, MAIL_FLAG_SEEN | MAIL_FLAG_DELETED);
    mail_imap_out_flags(&o, 0);
    mail_out_str(&o, " ");
    mail_imap_out_date(&o, 0);
    mail_imap_out_date(&o, 1700000000);
    mail_imap_out_date(&o, 760686745);
    CHECK(!o.over);
    b[o.len] = '\0';
    CHECK_STR(b, "\"a \\\"q\\\" \\\\\" {10}\r\ntwo\r\nlines NIL INBOX "
                 "\"My Folder\" \"nil\" (\\Seen \\Deleted)() "
                 "\"01-Jan-1970 00:00:00 +0000\""
                 "\"14-Nov-2023 22:13:20 +0000\""
                 "\"08-Feb-1994 05:52:25 +0000\"");
    /* overflow is recorded, never written past */
    char small[8];
    mail_out_init(&o, small, sizeof(small));
    mail_out_str(&o, "12345");
    mail_out_str(&o, "6789");
    mail_out_str(&o, "0");
    CHECK(o.over);
    CHECK_EQ(o.len, 5);
}

int main(void)
{
    RUN(rfc3501_sample_session);
    RUN(mailbox_commands);
    RUN(append_forms);
    RUN(fetch_items_of_real_clients);
    RUN(fetch_refusals);
    RUN(sequence_sets);
    RUN(store_forms);
    RUN(search_keys);
    RUN(search_nesting_is_bounded);
    RUN(bad_commands);
    RUN(reader_literals);
    RUN(reader_lying_lengths);
    RUN(reader_streams_append);
    RUN(reader_refuses_long_lines_and_nul);
    RUN(format_strings_flags_dates);
    return test_done();
}
