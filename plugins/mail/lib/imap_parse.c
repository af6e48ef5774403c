/*
 * IMAP4rev1 command parser (RFC 3501 section 9's grammar, with UID MOVE of
 * RFC 6851, UID EXPUNGE of RFC 4315, IDLE of RFC 2177, SASL-IR of RFC 4959,
 * LITERAL+ of RFC 7888, ENABLE and ID read and answered plainly) over one
 * whole command as mail_imap_reader gives it. Every count is bounded (the
 * limits in mail.h) and nesting (NOT, OR, parentheses in SEARCH) is
 * bounded by depth, so no input recurses or allocates without limit.
 * Strings are copied into cmd->pool NUL-terminated; one containing NUL is
 * refused (RFC 3501 4.3: CHAR8 excludes NUL).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "mail.h"

struct cur {
    const char *p;
    size_t n, i;
    struct mail_imap_cmd *cmd;
    const char *err; /* what is wrong, for the BAD reply */
    int code;
};

static int fail(struct cur *c, const char *what)
{
    if (!c->err) {
        c->err = what;
        c->code = FASTN_ERR_MALFORMED;
    }
    return -1;
}

static int fail_limit(struct cur *c, const char *what)
{
    if (!c->err) {
        c->err = what;
        c->code = FASTN_ERR_TOO_LARGE;
    }
    return -1;
}

static bool at_end(const struct cur *c)
{
    return c->i >= c->n;
}

static int peek(const struct cur *c)
{
    return c->i < c->n ? (unsigned char)c->p[c->i] : -1;
}

static int expect(struct cur *c, char ch, const char *what)
{
    if (peek(c) != (unsigned char)ch)
        return fail(c, what);
    c->i++;
    return 0;
}

static int sp(struct cur *c)
{
    return expect(c, ' ', "Expected a space between arguments");
}

/* RFC 3501 9: atom-specials are ( ) { SP CTL % * DQUOTE \ ] */
static bool atom_char(int ch, bool allow_bracket)
{
    if (ch <= ' ' || ch >= 0x7f)
        return false;
    if (ch == ']')
        return allow_bracket;
    return !strchr("(){%*\"\\", ch);
}

/* An atom (ASTRING-CHAR when allow_bracket): *s borrows the input. */
static int atom(struct cur *c, bool allow_bracket, const char **s, size_t *n)
{
    size_t st = c->i;
    while (c->i < c->n && atom_char(peek(c), allow_bracket))
        c->i++;
    if (c->i == st)
        return fail(c, "Expected an atom");
    *s = c->p + st;
    *n = c->i - st;
    return 0;
}

static const char *pool_put(struct cur *c, const char *s, size_t n)
{
    struct mail_imap_cmd *cmd = c->cmd;
    char *d;

    if (memchr(s, '\0', n)) {
        fail(c, "NUL in a string");
        return NULL;
    }
    if (n + 1 > sizeof(cmd->pool) - cmd->pool_len) {
        fail_limit(c, "Command too large");
        return NULL;
    }
    d = cmd->pool + cmd->pool_len;
    memcpy(d, s, n);
    d[n] = '\0';
    cmd->pool_len += n + 1;
    return d;
}

static int number(struct cur *c, uint64_t max, uint64_t *v)
{
    size_t st = c->i;
    *v = 0;
    while (c->i < c->n && peek(c) >= '0' && peek(c) <= '9') {
        *v = *v * 10 + (uint64_t)(peek(c) - '0');
        if (*v > max)
            return fail(c, "Number out of range");
        c->i++;
    }
    return c->i == st ? fail(c, "Expected a number") : 0;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE, unescaped into the pool */
static int quoted(struct cur *c, const char **s, size_t *n)
{
    char tmp[MAIL_IMAP_LINE_MAX];
    size_t k = 0;

    c->i++; /* the opening quote */
    for (;;) {
        int ch = peek(c);
        if (ch < 0 || ch == '\r' || ch == '\n')
            return fail(c, "Unterminated quoted string");
        c->i++;
        if (ch == '"')
            break;
        if (ch == '\\') {
            ch = peek(c);
            if (ch != '"' && ch != '\\')
                return fail(c, "Bad escape in a quoted string");
            c->i++;
        }
        if (k == sizeof(tmp))
            return fail_limit(c, "Quoted string too long");
        tmp[k++] = (char)ch;
    }
    *n = k;
    return (*s = pool_put(c, tmp, k)) ? 0 : -1;
}

/* literal = "{" number ["+"] "}" CRLF *CHAR8 (the reader checked n) */
static int literal(struct cur *c, const char **s, size_t *n)
{
    uint64_t v;

    c->i++;
    if (number(c, MAIL_IMAP_CMD_MAX, &v))
        return -1;
    if (peek(c) == '+')
        c->i++;
    if (expect(c, '}', "Bad literal") || expect(c, '\r', "Bad literal") ||
        expect(c, '\n', "Bad literal"))
        return -1;
    if (v > c->n - c->i)
        return fail(c, "Literal shorter than its length");
    *n = (size_t)v;
    *s = pool_put(c, c->p + c->i, (size_t)v);
    c->i += (size_t)v;
    return *s ? 0 : -1;
}

static int string(struct cur *c, const char **s, size_t *n)
{
    if (peek(c) == '"')
        return quoted(c, s, n);
    if (peek(c) == '{')
        return literal(c, s, n);
    return fail(c, "Expected a string");
}

/* astring = 1*ASTRING-CHAR / string */
static int astring(struct cur *c, const char **s, size_t *n)
{
    const char *a;
    if (peek(c) == '"' || peek(c) == '{')
        return string(c, s, n);
    if (atom(c, true, &a, n))
        return -1;
    return (*s = pool_put(c, a, *n)) ? 0 : -1;
}

/* mailbox: an astring; INBOX in any case is INBOX (RFC 3501 5.1) */
static int mailbox(struct cur *c, int argi)
{
    struct mail_imap_cmd *cmd = c->cmd;
    const char *s;
    size_t n;

    if (astring(c, &s, &n))
        return -1;
    if (mail_ieq(s, n, "INBOX"))
        memcpy((char *)s, "INBOX", 5);
    cmd->arg[argi] = s;
    cmd->arg_len[argi] = n;
    return 0;
}

/* list-mailbox = 1*list-char / string (list-char adds % * ]) */
static int list_mailbox(struct cur *c, int argi)
{
    size_t st = c->i;
    const char *s;

    if (peek(c) == '"' || peek(c) == '{')
        return string(c, &c->cmd->arg[argi], &c->cmd->arg_len[argi]);
    while (c->i < c->n &&
           (atom_char(peek(c), true) || peek(c) == '%' || peek(c) == '*'))
        c->i++;
    if (c->i == st)
        return fail(c, "Expected a mailbox pattern");
    if (!(s = pool_put(c, c->p + st, c->i - st)))
        return -1;
    c->cmd->arg[argi] = s;
    c->cmd->arg_len[argi] = c->i - st;
    return 0;
}

static int seq_number(struct cur *c, uint32_t *v)
{
    uint64_t x;
    if (peek(c) == '*') {
        c->i++;
        *v = MAIL_SEQ_STAR;
        return 0;
    }
    if (peek(c) == '0')
        return fail(c, "Sequence numbers start at 1");
    if (number(c, UINT32_MAX - 1, &x))
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* sequence-set = (seq-number / seq-range) *("," sequence-set) */
static int seq_set(struct cur *c, struct mail_seq_set *s)
{
    s->n = 0;
    do {
        uint32_t a, b;
        if (s->n == MAIL_SEQ_RANGES_MAX)
            return fail_limit(c, "Too many ranges in a sequence set");
        if (seq_number(c, &a))
            return -1;
        b = a;
        if (peek(c) == ':') {
            c->i++;
            if (seq_number(c, &b))
                return -1;
        }
        s->r[s->n].lo = a < b ? a : b;
        s->r[s->n].hi = a < b ? b : a;
        s->n++;
    } while (peek(c) == ',' && ++c->i);
    return 0;
}

static int flag(struct cur *c, unsigned *flags)
{
    static const struct {
        const char *name;
        unsigned bit;
    } sys[] = {
        {"\\Seen", MAIL_FLAG_SEEN},       {"\\Answered", MAIL_FLAG_ANSWERED},
        {"\\Flagged", MAIL_FLAG_FLAGGED}, {"\\Deleted", MAIL_FLAG_DELETED},
        {"\\Draft", MAIL_FLAG_DRAFT},     {"\\Recent", 0}};
    const char *s;
    size_t n;

    if (peek(c) == '\\') {
        c->i++;
        if (atom(c, false, &s, &n))
            return fail(c, "Expected a flag");
        for (size_t k = 0; k < sizeof(sys) / sizeof(sys[0]); k++) {
            if (mail_ieq(s - 1, n + 1, sys[k].name)) {
                *flags |= sys[k].bit;
                return 0;
            }
        }
        return fail(c, "Unknown system flag");
    }
    /* a keyword: accepted, not kept (PERMANENTFLAGS has no \*) */
    return atom(c, false, &s, &n);
}

/* flag-list = "(" [flag *(SP flag)] ")" */
static int flag_list(struct cur *c, unsigned *flags)
{
    unsigned k = 0;
    if (expect(c, '(', "Expected a flag list"))
        return -1;
    while (peek(c) != ')') {
        if ((k++ && sp(c)) || flag(c, flags))
            return -1;
        if (k > 64)
            return fail_limit(c, "Too many flags");
    }
    c->i++;
    return 0;
}

/* --- dates ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int month(struct cur *c, unsigned *m)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (c->n - c->i < 3)
        return fail(c, "Bad month in a date");
    for (unsigned k = 0; k < 12; k++) {
        if (mail_ieq(c->p + c->i, 3,
                     (char[]){months[3 * k], months[3 * k + 1],
                              months[3 * k + 2], 0})) {
            *m = k + 1;
            c->i += 3;
            return 0;
        }
    }
    return fail(c, "Bad month in a date");
}

/* date-day "-" date-month "-" date-year, as days since 1970-01-01 */
static int date_text(struct cur *c, int64_t *days)
{
    uint64_t d, y;
    unsigned m;
    size_t st = c->i;

    if (peek(c) == ' ') /* date-day-fixed of date-time: SP DIGIT */
        c->i++;
    if (number(c, 31, &d) || c->i - st > 2 || d == 0 ||
        expect(c, '-', "Bad date") || month(c, &m) ||
        expect(c, '-', "Bad date"))
        return fail(c, "Bad date: use dd-Mon-yyyy");
    st = c->i;
    if (number(c, 9999, &y) || c->i - st != 4)
        return fail(c, "Bad date: use dd-Mon-yyyy");
    *days = days_from_civil((int64_t)y, m, (unsigned)d);
    return 0;
}

/* date = date-text / DQUOTE date-text DQUOTE */
static int date(struct cur *c, int64_t *days)
{
    bool q = peek(c) == '"';
    if (q)
        c->i++;
    if (date_text(c, days))
        return -1;
    return q ? expect(c, '"', "Bad date") : 0;
}

static int two_digits(struct cur *c, unsigned max, unsigned *v)
{
    int a = peek(c), b;
    if (a < '0' || a > '9' || c->i + 1 >= c->n)
        return fail(c, "Bad time");
    b = (unsigned char)c->p[c->i + 1];
    if (b < '0' || b > '9')
        return fail(c, "Bad time");
    *v = (unsigned)((a - '0') * 10 + (b - '0'));
    c->i += 2;
    return *v > max ? fail(c, "Bad time") : 0;
}

/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time
 * SP zone DQUOTE, as Unix time */
static int date_time(struct cur *c, int64_t *t)
{
    int64_t days;
    unsigned h, mi, s, zh, zm;
    int sign;

    if (expect(c, '"', "Bad date-time") || date_text(c, &days) || sp(c) ||
        two_digits(c, 23, &h) || expect(c, ':', "Bad time") ||
        two_digits(c, 59, &mi) || expect(c, ':', "Bad time") ||
        two_digits(c, 60, &s) || sp(c))
        return fail(c, "Bad date-time");
    if (peek(c) != '+' && peek(c) != '-')
        return fail(c, "Bad time zone");
    sign = peek(c) == '-' ? -1 : 1;
    c->i++;
    if (two_digits(c, 99, &zh) || two_digits(c, 59, &zm) ||
        expect(c, '"', "Bad date-time"))
        return fail(c, "Bad date-time");
    *t = days * 86400 + h * 3600 + mi * 60 + s -
         sign * (int64_t)(zh * 3600 + zm * 60);
    return 0;
}

/* --- FETCH ------------------------------------------------------------ */

static bool take_word(struct cur *c, const char *w)
{
    size_t n = strlen(w);
    if (c->n - c->i < n || !mail_ieq(c->p + c->i, n, w))
        return false;
    /* the word must end here (not a prefix of a longer atom) */
    if (c->i + n < c->n && (atom_char((unsigned char)c->p[c->i + n], false) &&
                            c->p[c->i + n] != '.' && c->p[c->i + n] != '['))
        return false;
    c->i += n;
    return true;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static int header_list(struct cur *c, struct mail_fetch_section *s)
{
    if (sp(c) || expect(c, '(', "Expected a header field list"))
        return -1;
    do {
        const char *f;
        size_t n;
        if (s->nfields == MAIL_FIELDS_MAX)
            return fail_limit(c, "Too many header fields");
        if (astring(c, &f, &n))
            return -1;
        if (n == 0)
            return fail(c, "Empty header field name");
        s->field[s->nfields++] = f;
    } while (peek(c) == ' ' && ++c->i);
    return expect(c, ')', "Expected ) after the header fields");
}

/* section-msgtext / "MIME" after part numbers */
static int section_text(struct cur *c, struct mail_fetch_section *s)
{
    if (take_word(c, "HEADER.FIELDS.NOT")) {
        s->kind = MAIL_SECTION_FIELDS_NOT;
        return header_list(c, s);
    }
    if (take_word(c, "HEADER.FIELDS")) {
        s->kind = MAIL_SECTION_FIELDS;
        return header_list(c, s);
    }
    if (take_word(c, "HEADER"))
        s->kind = MAIL_SECTION_HEADER;
    else if (take_word(c, "TEXT"))
        s->kind = MAIL_SECTION_TEXT;
    else if (s->nparts && take_word(c, "MIME"))
        s->kind = MAIL_SECTION_MIME;
    else
        return fail(c, "Bad section: use HEADER, HEADER.FIELDS, TEXT, MIME");
    return 0;
}

/* section = "[" [section-spec] "]" ["<" number "." nz-number ">"] */
static int section(struct cur *c, struct mail_fetch_section *s)
{
    uint64_t v;

    c->i++; /* "[" */
    while (peek(c) >= '1' && peek(c) <= '9') {
        if (s->nparts == MAIL_PART_DEPTH_MAX)
            return fail_limit(c, "Section nested too deep");
        if (number(c, UINT32_MAX, &v))
            return -1;
        s->part[s->nparts++] = (uint32_t)v;
        if (peek(c) != '.')
            break;
        c->i++;
        if (!(peek(c) >= '1' && peek(c) <= '9') && section_text(c, s))
            return -1;
    }
    if (s->nparts == 0 && peek(c) != ']' && section_text(c, s))
        return -1;
    if (expect(c, ']', "Expected ] after the section"))
        return -1;
    if (peek(c) != '<')
        return 0;
    c->i++;
    s->partial = true;
    if (number(c, UINT32_MAX, &v))
        return -1;
    s->offset = (uint32_t)v;
    if (expect(c, '.', "Bad partial: use <offset.count>") ||
        number(c, UINT32_MAX, &v) || v == 0)
        return fail(c, "Bad partial: use <offset.count>");
    s->count = (uint32_t)v;
    return expect(c, '>', "Bad partial: use <offset.count>");
}

static struct mail_fetch_section *new_section(struct cur *c)
{
    struct mail_imap_cmd *cmd = c->cmd;
    struct mail_fetch_section *s;

    if (cmd->nsections == MAIL_SECTIONS_MAX) {
        fail_limit(c, "Too many BODY[] items in one FETCH");
        return NULL;
    }
    s = &cmd->section[cmd->nsections++];
    memset(s, 0, sizeof(*s));
    return s;
}

static int fetch_rfc822(struct cur *c, const char *as, bool peek_,
                        enum mail_section_kind kind)
{
    struct mail_fetch_section *s = new_section(c);
    if (!s)
        return -1;
    s->as = as;
    s->peek = peek_;
    s->kind = kind;
    return 0;
}

static int fetch_att(struct cur *c)
{
    static const struct {
        const char *name;
        unsigned bits;
    } simple[] = {
        {"ENVELOPE", MAIL_FETCH_ENVELOPE},
        {"FLAGS", MAIL_FETCH_FLAGS},
        {"INTERNALDATE", MAIL_FETCH_INTERNALDATE},
        {"RFC822.SIZE", MAIL_FETCH_RFC822_SIZE},
        {"BODYSTRUCTURE", MAIL_FETCH_BODYSTRUCTURE},
        {"UID", MAIL_FETCH_UID},
    };
    struct mail_fetch_section *s;
    bool pk;

    for (size_t k = 0; k < sizeof(simple) / sizeof(simple[0]); k++) {
        if (take_word(c, simple[k].name)) {
            c->cmd->fetch |= simple[k].bits;
            return 0;
        }
    }
    if (take_word(c, "RFC822.HEADER"))
        return fetch_rfc822(c, "RFC822.HEADER", true, MAIL_SECTION_HEADER);
    if (take_word(c, "RFC822.TEXT"))
        return fetch_rfc822(c, "RFC822.TEXT", false, MAIL_SECTION_TEXT);
    if (take_word(c, "RFC822"))
        return fetch_rfc822(c, "RFC822", false, MAIL_SECTION_ALL);
    pk = take_word(c, "BODY.PEEK");
    if (!pk && !take_word(c, "BODY"))
        return fail(c, "Unknown FETCH item");
    if (peek(c) != '[') {
        if (pk)
            return fail(c, "BODY.PEEK needs a section: BODY.PEEK[]");
        c->cmd->fetch |= MAIL_FETCH_BODY;
        return 0;
    }
    if (!(s = new_section(c)))
        return -1;
    s->peek = pk;
    return section(c, s);
}

/* "ALL" / "FULL" / "FAST" / fetch-att / "(" fetch-att *(SP fetch-att) ")" */
static int fetch_items(struct cur *c)
{
    struct mail_imap_cmd *cmd = c->cmd;
    const unsigned fast =
        MAIL_FETCH_FLAGS | MAIL_FETCH_INTERNALDATE | MAIL_FETCH_RFC822_SIZE;

    if (take_word(c, "ALL"))
        cmd->fetch |= fast | MAIL_FETCH_ENVELOPE;
    else if (take_word(c, "FAST"))
        cmd->fetch |= fast;
    else if (take_word(c, "FULL"))
        cmd->fetch |= fast | MAIL_FETCH_ENVELOPE | MAIL_FETCH_BODY;
    else if (peek(c) != '(')
        return fetch_att(c);
    else {
        c->i++;
        do {
            if (fetch_att(c))
                return -1;
        } while (peek(c) == ' ' && ++c->i);
        return expect(c, ')', "Expected ) after the FETCH items");
    }
    return 0;
}

/* --- SEARCH ----------------------------------------------------------- */

static struct mail_search_node *new_node(struct cur *c, enum mail_search_key k,
                                         unsigned *idx)
{
    struct mail_imap_cmd *cmd = c->cmd;
    struct mail_search_node *nd;

    if (cmd->nnodes == MAIL_SEARCH_NODES_MAX) {
        fail_limit(c, "Too many SEARCH keys");
        return NULL;
    }
    *idx = cmd->nnodes;
    nd = &cmd->node[cmd->nnodes++];
    memset(nd, 0, sizeof(*nd));
    nd->key = k;
    return nd;
}

static int search_key(struct cur *c, unsigned depth, unsigned *idx);

/* Children of a node: their indices go to kids[] in one run. */
static int search_kids(struct cur *c, unsigned depth, unsigned parent,
                       unsigned count, bool until_paren)
{
    struct mail_imap_cmd *cmd = c->cmd;
    unsigned tmp[MAIL_SEARCH_NODES_MAX], k = 0;

    while (until_paren ? peek(c) != ')' : k < count) {
        if (k && sp(c))
            return -1;
        if (k == MAIL_SEARCH_NODES_MAX)
            return fail_limit(c, "Too many SEARCH keys");
        if (search_key(c, depth + 1, &tmp[k++]))
            return -1;
    }
    if (until_paren && (k == 0 || expect(c, ')', "Expected )")))
        return fail(c, "Empty parentheses in SEARCH");
    if (cmd->nkids + k > MAIL_SEARCH_NODES_MAX)
        return fail_limit(c, "Too many SEARCH keys");
    cmd->node[parent].first = cmd->nkids;
    cmd->node[parent].count = k;
    memcpy(cmd->kids + cmd->nkids, tmp, k * sizeof(tmp[0]));
    cmd->nkids += k;
    return 0;
}

static const struct {
    const char *name;
    enum mail_search_key key;
    unsigned flag;
} search_simple[] = {
    {"ALL", MAIL_SK_ALL, 0},
    {"ANSWERED", MAIL_SK_FLAG, MAIL_FLAG_ANSWERED},
    {"DELETED", MAIL_SK_FLAG, MAIL_FLAG_DELETED},
    {"DRAFT", MAIL_SK_FLAG, MAIL_FLAG_DRAFT},
    {"FLAGGED", MAIL_SK_FLAG, MAIL_FLAG_FLAGGED},
    {"RECENT", MAIL_SK_FLAG, MAIL_FLAG_RECENT},
    {"SEEN", MAIL_SK_FLAG, MAIL_FLAG_SEEN},
    {"UNANSWERED", MAIL_SK_UNFLAG, MAIL_FLAG_ANSWERED},
    {"UNDELETED", MAIL_SK_UNFLAG, MAIL_FLAG_DELETED},
    {"UNDRAFT", MAIL_SK_UNFLAG, MAIL_FLAG_DRAFT},
    {"UNFLAGGED", MAIL_SK_UNFLAG, MAIL_FLAG_FLAGGED},
    {"UNSEEN", MAIL_SK_UNFLAG, MAIL_FLAG_SEEN},
    {"NEW", MAIL_SK_NEW, 0},
    {"OLD", MAIL_SK_OLD, 0},
};

static const struct {
    const char *name;
    enum mail_search_key key;
} search_str[] =
    {
        {"BCC", MAIL_SK_BCC},
        {"BODY", MAIL_SK_BODY},
        {"CC", MAIL_SK_CC},
        {"FROM", MAIL_SK_FROM},
        {"SUBJECT", MAIL_SK_SUBJECT},
        {"TEXT", MAIL_SK_TEXT},
        {"TO", MAIL_SK_TO},
        {"KEYWORD", MAIL_SK_KEYWORD},
        {"UNKEYWORD", MAIL_SK_UNKEYWORD},
},
  search_date[] =
      {
          {"BEFORE", MAIL_SK_BEFORE}, {"ON", MAIL_SK_ON},
          {"SINCE", MAIL_SK_SINCE},   {"SENTBEFORE", MAIL_SK_SENTBEFORE},
          {"SENTON", MAIL_SK_SENTON}, {"SENTSINCE", MAIL_SK_SENTSINCE},
},
  search_num[] = {
      {"LARGER", MAIL_SK_LARGER},
      {"SMALLER", MAIL_SK_SMALLER},
};

/* A key that takes an argument, by table; 1 when none matched. */
static int search_arg_key(struct cur *c, unsigned *idx)
{
    struct mail_search_node *nd;
    size_t n, k;
    uint64_t v;

#define NKEYS(t) (sizeof(t) / sizeof(t[0]))
    for (k = 0; k < NKEYS(search_str); k++)
        if (take_word(c, search_str[k].name)) {
            if (!(nd = new_node(c, search_str[k].key, idx)) || sp(c))
                return -1;
            return astring(c, &nd->str, &n);
        }
    for (k = 0; k < NKEYS(search_date); k++)
        if (take_word(c, search_date[k].name)) {
            if (!(nd = new_node(c, search_date[k].key, idx)) || sp(c))
                return -1;
            return date(c, &nd->num);
        }
    for (k = 0; k < NKEYS(search_num); k++)
        if (take_word(c, search_num[k].name)) {
            if (!(nd = new_node(c, search_num[k].key, idx)) || sp(c) ||
                number(c, UINT32_MAX, &v))
                return -1;
            nd->num = (int64_t)v;
            return 0;
        }
#undef NKEYS
    if (take_word(c, "HEADER")) {
        if (!(nd = new_node(c, MAIL_SK_HEADER, idx)) || sp(c) ||
            astring(c, &nd->field, &n) || sp(c))
            return -1;
        return astring(c, &nd->str, &n);
    }
    return 1;
}

/* A set of UIDs or sequence numbers for SEARCH (at most 2 sets). */
static int search_set(struct cur *c, enum mail_search_key k, unsigned *idx)
{
    struct mail_imap_cmd *cmd = c->cmd;
    struct mail_search_node *nd = new_node(c, k, idx);

    if (!nd)
        return -1;
    if (cmd->nsets == 2)
        return fail_limit(c, "At most two sequence sets in one SEARCH");
    nd->set = cmd->nsets++;
    return seq_set(c, &cmd->sets[nd->set]);
}

static int search_key(struct cur *c, unsigned depth, unsigned *idx)
{
    struct mail_search_node *nd;
    int r;

    if (depth > MAIL_SEARCH_DEPTH_MAX)
        return fail_limit(c, "SEARCH nested too deep");
    for (size_t k = 0; k < sizeof(search_simple) / sizeof(search_simple[0]);
         k++)
        if (take_word(c, search_simple[k].name)) {
            if (!(nd = new_node(c, search_simple[k].key, idx)))
                return -1;
            nd->flag = search_simple[k].flag;
            return 0;
        }
    if ((r = search_arg_key(c, idx)) <= 0)
        return r;
    if (take_word(c, "NOT")) {
        if (!new_node(c, MAIL_SK_NOT, idx) || sp(c))
            return -1;
        return search_kids(c, depth, *idx, 1, false);
    }
    if (take_word(c, "OR")) {
        if (!new_node(c, MAIL_SK_OR, idx) || sp(c))
            return -1;
        return search_kids(c, depth, *idx, 2, false);
    }
    if (take_word(c, "UID")) {
        if (sp(c))
            return -1;
        return search_set(c, MAIL_SK_UID, idx);
    }
    if (peek(c) == '(') {
        c->i++;
        if (!new_node(c, MAIL_SK_AND, idx))
            return -1;
        return search_kids(c, depth, *idx, 0, true);
    }
    if (peek(c) == '*' || (peek(c) >= '1' && peek(c) <= '9'))
        return search_set(c, MAIL_SK_SEQ, idx);
    return fail(c, "Unknown SEARCH key");
}

/* [CHARSET astring SP] search-key *(SP search-key): node 0 is their AND */
static int search(struct cur *c)
{
    const char *cs;
    size_t n;
    unsigned root;

    if (sp(c))
        return -1;
    if (take_word(c, "CHARSET")) {
        if (sp(c) || astring(c, &cs, &n) || sp(c))
            return -1;
        if (!mail_ieq(cs, n, "UTF-8") && !mail_ieq(cs, n, "US-ASCII")) {
            c->code = FASTN_ERR_UNSUPPORTED;
            c->err = "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";
            return -1;
        }
    }
    if (!new_node(c, MAIL_SK_AND, &root))
        return -1;
    /* the top-level keys: until the end of the command */
    struct mail_imap_cmd *cmd = c->cmd;
    unsigned tmp[MAIL_SEARCH_NODES_MAX], k = 0;
    do {
        if (k == MAIL_SEARCH_NODES_MAX)
            return fail_limit(c, "Too many SEARCH keys");
        if (search_key(c, 1, &tmp[k++]))
            return -1;
    } while (peek(c) == ' ' && ++c->i);
    if (cmd->nkids + k > MAIL_SEARCH_NODES_MAX)
        return fail_limit(c, "Too many SEARCH keys");
    cmd->node[root].first = cmd->nkids;
    cmd->node[root].count = k;
    memcpy(cmd->kids + cmd->nkids, tmp, k * sizeof(tmp[0]));
    cmd->nkids += k;
    return 0;
}

/* --- commands --------------------------------------------------------- */

static int status_items(struct cur *c)
{
    static const struct {
        const char *name;
        unsigned bit;
    } items[] = {{"MESSAGES", MAIL_STATUS_MESSAGES},
                 {"RECENT", MAIL_STATUS_RECENT},
                 {"UIDNEXT", MAIL_STATUS_UIDNEXT},
                 {"UIDVALIDITY", MAIL_STATUS_UIDVALIDITY},
                 {"UNSEEN", MAIL_STATUS_UNSEEN}};

    if (sp(c) || expect(c, '(', "Expected ( before the STATUS items"))
        return -1;
    do {
        size_t k;
        for (k = 0; k < sizeof(items) / sizeof(items[0]); k++)
            if (take_word(c, items[k].name))
                break;
        if (k == sizeof(items) / sizeof(items[0]))
            return fail(c, "Unknown STATUS item");
        c->cmd->status |= items[k].bit;
    } while (peek(c) == ' ' && ++c->i);
    return expect(c, ')', "Expected ) after the STATUS items");
}

/* APPEND mailbox [SP flag-list] [SP date-time] SP literal */
static int append(struct cur *c)
{
    struct mail_imap_cmd *cmd = c->cmd;
    uint64_t v;

    cmd->date = -1;
    if (sp(c) || mailbox(c, 0) || sp(c))
        return -1;
    if (peek(c) == '(' && (flag_list(c, &cmd->flags) || sp(c)))
        return -1;
    if (peek(c) == '"' && (date_time(c, &cmd->date) || sp(c)))
        return -1;
    if (peek(c) == '\0') { /* the reader streamed it: NUL "{n}" */
        c->i++;
        if (expect(c, '{', "Bad literal"))
            return -1;
        if (number(c, UINT64_MAX / 10, &v))
            return -1;
        if (peek(c) == '+')
            c->i++;
        if (expect(c, '}', "Bad literal"))
            return -1;
        cmd->streamed = true;
        cmd->msg_size = v;
        return 0;
    }
    if (peek(c) != '{')
        return fail(c, "APPEND needs the message as a literal");
    size_t n;
    if (literal(c, &cmd->msg, &n))
        return -1;
    cmd->msg_size = n;
    return 0;
}

/* STORE seq-set SP ["+"/"-"] "FLAGS" [".SILENT"] SP (flag-list / flags) */
static int store(struct cur *c)
{
    struct mail_imap_cmd *cmd = c->cmd;

    if (sp(c) || seq_set(c, &cmd->sets[0]) || sp(c))
        return -1;
    cmd->nsets = 1;
    if (peek(c) == '+' || peek(c) == '-')
        cmd->store_op = c->p[c->i++] == '+' ? 1 : -1;
    if (take_word(c, "FLAGS.SILENT"))
        cmd->silent = true;
    else if (!take_word(c, "FLAGS"))
        return fail(c, "STORE takes FLAGS, +FLAGS or -FLAGS");
    if (sp(c))
        return -1;
    if (peek(c) == '(')
        return flag_list(c, &cmd->flags);
    unsigned k = 0;
    do {
        if (++k > 64)
            return fail_limit(c, "Too many flags");
        if (flag(c, &cmd->flags))
            return -1;
    } while (peek(c) == ' ' && ++c->i);
    return 0;
}

/* ID ("(" *(string SP nstring) ")" / "NIL"): read, not kept (RFC 2971) */
static int id_params(struct cur *c)
{
    const char *s;
    size_t n;
    unsigned k = 0;

    if (sp(c))
        return -1;
    if (take_word(c, "NIL"))
        return 0;
    if (expect(c, '(', "Expected ( or NIL"))
        return -1;
    while (peek(c) != ')') {
        if (k++ && sp(c))
            return -1;
        if (k > 60)
            return fail_limit(c, "Too many ID fields");
        if (!take_word(c, "NIL") && string(c, &s, &n))
            return -1;
    }
    c->i++;
    return 0;
}

static int args_for(struct cur *c, enum mail_imap_verb v);

static const struct {
    const char *name;
    enum mail_imap_verb verb;
} verbs[] = {
    {"CAPABILITY", MAIL_IMAP_CAPABILITY},
    {"NOOP", MAIL_IMAP_NOOP},
    {"LOGOUT", MAIL_IMAP_LOGOUT},
    {"LOGIN", MAIL_IMAP_LOGIN},
    {"AUTHENTICATE", MAIL_IMAP_AUTHENTICATE},
    {"SELECT", MAIL_IMAP_SELECT},
    {"EXAMINE", MAIL_IMAP_EXAMINE},
    {"CREATE", MAIL_IMAP_CREATE},
    {"DELETE", MAIL_IMAP_DELETE},
    {"RENAME", MAIL_IMAP_RENAME},
    {"SUBSCRIBE", MAIL_IMAP_SUBSCRIBE},
    {"UNSUBSCRIBE", MAIL_IMAP_UNSUBSCRIBE},
    {"LIST", MAIL_IMAP_LIST},
    {"LSUB", MAIL_IMAP_LSUB},
    {"STATUS", MAIL_IMAP_STATUS},
    {"APPEND", MAIL_IMAP_APPEND},
    {"CHECK", MAIL_IMAP_CHECK},
    {"CLOSE", MAIL_IMAP_CLOSE},
    {"EXPUNGE", MAIL_IMAP_EXPUNGE},
    {"SEARCH", MAIL_IMAP_SEARCH},
    {"FETCH", MAIL_IMAP_FETCH},
    {"STORE", MAIL_IMAP_STORE},
    {"COPY", MAIL_IMAP_COPY},
    {"MOVE", MAIL_IMAP_MOVE},
    {"IDLE", MAIL_IMAP_IDLE},
    {"ENABLE", MAIL_IMAP_ENABLE},
    {"ID", MAIL_IMAP_ID},
};

static int args_for(struct cur *c, enum mail_imap_verb v)
{
    struct mail_imap_cmd *cmd = c->cmd;
    const char *s;
    size_t n;

    switch (v) {
    case MAIL_IMAP_CAPABILITY:
    case MAIL_IMAP_NOOP:
    case MAIL_IMAP_LOGOUT:
    case MAIL_IMAP_CHECK:
    case MAIL_IMAP_CLOSE:
    case MAIL_IMAP_IDLE:
        return 0;
    case MAIL_IMAP_EXPUNGE: /* UID EXPUNGE seq-set (RFC 4315) */
        if (!cmd->uid)
            return 0;
        cmd->nsets = 1;
        return sp(c) || seq_set(c, &cmd->sets[0]);
    case MAIL_IMAP_LOGIN:
        if (sp(c) || astring(c, &cmd->arg[0], &cmd->arg_len[0]) || sp(c))
            return -1;
        return astring(c, &cmd->arg[1], &cmd->arg_len[1]);
    case MAIL_IMAP_AUTHENTICATE:
        if (sp(c) || atom(c, false, &s, &n) ||
            !(cmd->arg[0] = pool_put(c, s, n)))
            return -1;
        cmd->arg_len[0] = n;
        if (peek(c) != ' ')
            return 0;
        c->i++;
        if (peek(c) == '=') { /* RFC 4959: an empty initial response */
            c->i++;
            cmd->arg[1] = pool_put(c, "", 0);
            return 0;
        }
        if (atom(c, false, &s, &n) || !(cmd->arg[1] = pool_put(c, s, n)))
            return -1;
        cmd->arg_len[1] = n;
        return 0;
    case MAIL_IMAP_SELECT:
    case MAIL_IMAP_EXAMINE:
    case MAIL_IMAP_CREATE:
    case MAIL_IMAP_DELETE:
    case MAIL_IMAP_SUBSCRIBE:
    case MAIL_IMAP_UNSUBSCRIBE:
        return sp(c) || mailbox(c, 0);
    case MAIL_IMAP_RENAME:
        return sp(c) || mailbox(c, 0) || sp(c) || mailbox(c, 1);
    case MAIL_IMAP_LIST:
    case MAIL_IMAP_LSUB:
        return sp(c) || mailbox(c, 0) || sp(c) || list_mailbox(c, 1);
    case MAIL_IMAP_STATUS:
        return sp(c) || mailbox(c, 0) || status_items(c);
    case MAIL_IMAP_APPEND:
        return append(c);
    case MAIL_IMAP_SEARCH:
        return search(c);
    case MAIL_IMAP_FETCH:
        cmd->nsets = 1;
        return sp(c) || seq_set(c, &cmd->sets[0]) || sp(c) || fetch_items(c);
    case MAIL_IMAP_STORE:
        return store(c);
    case MAIL_IMAP_COPY:
    case MAIL_IMAP_MOVE:
        cmd->nsets = 1;
        return sp(c) || seq_set(c, &cmd->sets[0]) || sp(c) || mailbox(c, 0);
    case MAIL_IMAP_ENABLE:
        do {
            if (sp(c) || atom(c, false, &s, &n))
                return -1;
        } while (peek(c) == ' ');
        return 0;
    case MAIL_IMAP_ID:
        return id_params(c);
    }
    return fail(c, "Unknown command");
}

static bool uid_verb(enum mail_imap_verb v)
{
    return v == MAIL_IMAP_FETCH || v == MAIL_IMAP_STORE ||
           v == MAIL_IMAP_COPY || v == MAIL_IMAP_MOVE ||
           v == MAIL_IMAP_SEARCH || v == MAIL_IMAP_EXPUNGE;
}

static int verb(struct cur *c)
{
    struct mail_imap_cmd *cmd = c->cmd;

    if (take_word(c, "UID")) {
        cmd->uid = true;
        if (sp(c))
            return -1;
    }
    for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++) {
        if (take_word(c, verbs[k].name)) {
            cmd->verb = verbs[k].verb;
            if (cmd->uid && !uid_verb(cmd->verb))
                return fail(c, "UID goes only with FETCH, STORE, COPY, "
                               "MOVE, SEARCH and EXPUNGE");
            return 0;
        }
    }
    c->code = FASTN_ERR_UNSUPPORTED;
    c->err = "Unknown command";
    return -1;
}

int mail_imap_parse(const char *p, size_t n, struct mail_imap_cmd *cmd,
                    char *bad, size_t badcap)
{
    struct cur c = {p, n, 0, cmd, NULL, 0};
    const char *tag;
    size_t tn;

    memset(cmd, 0, offsetof(struct mail_imap_cmd, pool));
    cmd->date = -1;
    cmd->tag[0] = '*';
    /* tag = 1*<any ASTRING-CHAR except "+"> */
    if (atom(&c, true, &tag, &tn) || memchr(tag, '+', tn) ||
        tn > MAIL_IMAP_TAG_MAX) {
        snprintf(bad, badcap, "* BAD Missing or invalid tag\r\n");
        return FASTN_ERR_MALFORMED;
    }
    memcpy(cmd->tag, tag, tn);
    cmd->tag[tn] = '\0';
    if (sp(&c) || verb(&c) || args_for(&c, cmd->verb) ||
        (!at_end(&c) && fail(&c, "Unexpected text after the command"))) {
        snprintf(bad, badcap, "%s BAD %s\r\n", cmd->tag,
                 c.err ? c.err : "Malformed command");
        return c.code ? c.code : FASTN_ERR_MALFORMED;
    }
    return 0;
}
