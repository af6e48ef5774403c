/* Unit tests for src/util/term.c: what a peer's or plugin's text may carry
 * to a terminal, and how it is shown instead. */
#include <stdint.h>

#include "test.h"
#include "util/term.h"

/* The escaped form of n bytes (flags as given), in a static buffer. */
static const char *esc(const char *s, size_t n, unsigned flags)
{
    static char out[512];
    size_t len = term_escape(s, n, flags, out, sizeof(out));
    CHECK(len < sizeof(out));
    CHECK_EQ(len, strlen(out));
    return out;
}

#define ESC(lit) esc(lit, sizeof(lit) - 1, 0)
#define ESC_LINES(lit) esc(lit, sizeof(lit) - 1, TERM_LINES)

TEST(plain_text_and_utf8_pass_unchanged)
{
    CHECK_STR(ESC("fastn/0.1.0 (js) \\ ~"), "fastn/0.1.0 (js) \\ ~");
    CHECK_STR(ESC("gr\xc3\xbc\xc3\x9f \xe6\x97\xa5\xe6\x9c\xac "
                  "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xf0\x9f\x99\x82"),
              "gr\xc3\xbc\xc3\x9f \xe6\x97\xa5\xe6\x9c\xac "
              "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xf0\x9f\x99\x82");
    /* the last code points of each length, and U+FEFF, U+200F (marks,
     * not overrides) */
    CHECK_STR(ESC("\xdf\xbf\xef\xbf\xbd\xf4\x8f\xbf\xbf\xef\xbb\xbf"
                  "\xe2\x80\x8f"),
              "\xdf\xbf\xef\xbf\xbd\xf4\x8f\xbf\xbf\xef\xbb\xbf"
              "\xe2\x80\x8f");
    CHECK_STR(ESC(""), "");
}

TEST(c0_controls_and_del)
{
    CHECK_STR(ESC("a\x1b[2Jb"), "a\\x1b[2Jb");
    CHECK_STR(ESC("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
    CHECK_STR(ESC("x\x7fy\x01\x1f"), "x\\x7fy\\x01\\x1f");
    CHECK_STR(ESC("1\n2\t3\r4"), "1\\n2\\t3\\r4");
    /* multi-line text keeps newline and tab, never CR or ESC */
    CHECK_STR(ESC_LINES("1\n2\t3\r4\x1b[H"), "1\n2\t3\\r4\\x1b[H");
    /* NUL in the middle of bytes */
    CHECK_STR(esc("a\0b", 3, 0), "a\\x00b");
}

TEST(c1_controls_raw_and_as_utf8)
{
    /* raw C1 bytes are not UTF-8: escaped byte by byte */
    CHECK_STR(ESC("a\x9b"
                  "2Jb\x85"),
              "a\\x9b2Jb\\x85");
    /* C1 encoded as UTF-8 (U+009B CSI, U+0085 NEL) */
    CHECK_STR(ESC("a\xc2\x9b"
                  "2J\xc2\x85"
                  "b"),
              "a\\u009b2J\\u0085b");
    /* U+00A0 is past C1: it stays */
    CHECK_STR(ESC("\xc2\xa0"), "\xc2\xa0");
}

TEST(bidi_overrides_and_isolates)
{
    static const char *const cp[] = {
        "\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac",
        "\xe2\x80\xad", "\xe2\x80\xae", "\xe2\x81\xa6",
        "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9"};
    static const char *const want[] = {"\\u202a", "\\u202b", "\\u202c",
                                       "\\u202d", "\\u202e", "\\u2066",
                                       "\\u2067", "\\u2068", "\\u2069"};
    for (size_t i = 0; i < sizeof(cp) / sizeof(cp[0]); i++)
        CHECK_STR(esc(cp[i], 3, TERM_LINES), want[i]);
    CHECK_STR(ESC("evil\xe2\x80\xaetxt.exe"), "evil\\u202etxt.exe");
    /* neighbours of the ranges stay */
    CHECK_STR(ESC("\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa"),
              "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
}

TEST(invalid_utf8)
{
    CHECK_STR(ESC("\xc0\xaf"), "\\xc0\\xaf");          /* overlong '/' */
    CHECK_STR(ESC("\xe0\x80\xaf"), "\\xe0\\x80\\xaf"); /* overlong */
    /* an overlong ESC cannot sneak through */
    CHECK_STR(ESC("\xc0\x9b"), "\\xc0\\x9b");
    CHECK_STR(ESC("\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* surrogate */
    CHECK_STR(ESC("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
    CHECK_STR(ESC("\xf5\xff\xfe"), "\\xf5\\xff\\xfe");
    /* a cut character at the end, or followed by ASCII */
    CHECK_STR(ESC("ok\xe2\x80"), "ok\\xe2\\x80");
    CHECK_STR(ESC("\xe2\x80x"), "\\xe2\\x80x");
    /* a lone continuation byte, then a good character */
    CHECK_STR(ESC("\x80\xc3\xa9"), "\\x80\xc3\xa9");
}

TEST(truncation_is_at_a_whole_unit)
{
    char out[8];
    /* "ab\x1b" needs 6 bytes: it fits in 8 */
    CHECK_EQ(term_escape("ab\x1b", 3, 0, out, sizeof(out)), 6);
    CHECK_STR(out, "ab\\x1b");
    /* "abcd\x1b": the escape would not fit: cut before it, not inside */
    CHECK_EQ(term_escape("abcd\x1b", 5, 0, out, sizeof(out)), 8);
    CHECK_STR(out, "abcd");
    /* and not inside a character either */
    CHECK_EQ(term_escape("abcdef\xc3\xa9", 8, 0, out, sizeof(out)), 8);
    CHECK_STR(out, "abcdef");
    CHECK_EQ(term_escape("x", 1, 0, out, 0), 1);
    char buf[16];
    CHECK_STR(term_safe("\x1b[2J", buf, sizeof(buf)), "\\x1b[2J");
}

struct collect {
    char buf[256];
    size_t n;
};

static int collect_sink(void *arg, const char *p, size_t n)
{
    struct collect *c = arg;
    if (c->n + n >= sizeof(c->buf))
        return -1;
    memcpy(c->buf + c->n, p, n);
    c->n += n;
    c->buf[c->n] = '\0';
    return 0;
}

TEST(stream_split_anywhere_same_as_whole)
{
    static const char in[] = "a\xe2\x80\xae"
                             "b\xf0\x9f\x99\x82"
                             "c\x1b[0m\xe6\x97\xa5\xc2\x9b\xe2\x80";
    size_t n = sizeof(in) - 1;
    const char *whole = esc(in, n, TERM_LINES);

    /* every way of cutting the input in three pieces */
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            struct term_stream s;
            struct collect c = {.n = 0};
            term_stream_init(&s, TERM_LINES);
            CHECK_EQ(term_stream_write(&s, in, i, false, collect_sink, &c), 0);
            CHECK_EQ(
                term_stream_write(&s, in + i, j - i, false, collect_sink, &c),
                0);
            CHECK_EQ(
                term_stream_write(&s, in + j, n - j, true, collect_sink, &c),
                0);
            if (strcmp(c.buf, whole) != 0) {
                fprintf(stderr, "cut at %zu, %zu: '%s'\n", i, j, c.buf);
                CHECK(0);
            }
        }
    }
}

TEST(stream_holds_a_cut_character_until_the_end)
{
    struct term_stream s;
    struct collect c = {.n = 0};

    term_stream_init(&s, 0);
    CHECK_EQ(term_stream_write(&s, "x\xe2", 2, false, collect_sink, &c), 0);
    CHECK_STR(c.buf, "x");
    CHECK_EQ(term_stream_write(&s, "\x80", 1, false, collect_sink, &c), 0);
    CHECK_STR(c.buf, "x");
    CHECK_EQ(term_stream_write(&s, "", 0, true, collect_sink, &c), 0);
    CHECK_STR(c.buf, "x\\xe2\\x80");
    /* a failing sink is reported */
    struct collect full = {.n = sizeof(full.buf) - 1};
    term_stream_init(&s, 0);
    CHECK_EQ(term_stream_write(&s, "abc", 3, true, collect_sink, &full), -1);
}

TEST(fputs_to_a_file)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    CHECK(f != NULL);
    CHECK_EQ(term_fputs("agent \x1b[2J\xe2\x80\xae!\n", f, 0), 0);
    CHECK_EQ(term_fputs("line 1\nline 2\x1b\n", f, TERM_LINES), 0);
    fclose(f);
    CHECK_STR(text, "agent \\x1b[2J\\u202e!\\nline 1\nline 2\\x1b\n");
    free(text);
}

int main(void)
{
    RUN(plain_text_and_utf8_pass_unchanged);
    RUN(c0_controls_and_del);
    RUN(c1_controls_raw_and_as_utf8);
    RUN(bidi_overrides_and_isolates);
    RUN(invalid_utf8);
    RUN(truncation_is_at_a_whole_unit);
    RUN(stream_split_anywhere_same_as_whole);
    RUN(stream_holds_a_cut_character_until_the_end);
    RUN(fputs_to_a_file);
    return test_done();
}
