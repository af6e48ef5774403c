/* Unit tests for the CLI's output and readers (src/cli/out.c, parse.c,
 * suggest.c): text that is not UTF-8 made valid JSON the documented way
 * (U+FFFD per byte in text, KEY_base64 for payload), the chat plugin's
 * and the daemon's lines as objects, config lines, and "did you mean". */
#include <jansson.h>

#include "cli/cli.h"
#include "test.h"

#define FFFD "\xef\xbf\xbd"

/* jstrn(lit) as its UTF-8 text, in a static buffer. */
static const char *text_of(const char *p, size_t n)
{
    static char out[256];
    json_t *s = jstrn(p, n);

    CHECK(json_is_string(s));
    snprintf(out, sizeof(out), "%s",
             json_string_value(s) ? json_string_value(s) : "");
    json_decref(s);
    return out;
}

#define TEXT(lit) text_of(lit, sizeof(lit) - 1)

TEST(utf8_text_passes_unchanged)
{
    CHECK_STR(TEXT("plain ascii ~"), "plain ascii ~");
    /* the last code point of each length, a bidi override, ESC */
    CHECK_STR(TEXT("\xdf\xbf \xef\xbf\xbf \xf4\x8f\xbf\xbf \xe2\x80\xae \x1b"),
              "\xdf\xbf \xef\xbf\xbf \xf4\x8f\xbf\xbf \xe2\x80\xae \x1b");
    CHECK_STR(TEXT(""), "");
    CHECK(cli_is_utf8("caf\xc3\xa9", 5));
}

TEST(each_bad_byte_becomes_one_replacement)
{
    CHECK_STR(TEXT("a\xff"
                   "b"),
              "a" FFFD "b");
    CHECK_STR(TEXT("\x80"), FFFD);                   /* a stray continuation */
    CHECK_STR(TEXT("\xc0\xaf"), FFFD FFFD);          /* overlong '/' */
    CHECK_STR(TEXT("\xe0\x80\xaf"), FFFD FFFD FFFD); /* overlong, 3 bytes */
    CHECK_STR(TEXT("\xed\xa0\x80"), FFFD FFFD FFFD); /* a surrogate */
    CHECK_STR(TEXT("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD); /* > U+10FFFF */
    CHECK_STR(TEXT("\xf5\x80"), FFFD FFFD);
    CHECK_STR(TEXT("ok\xe2\x82"), "ok" FFFD FFFD); /* cut at the end */
    CHECK_STR(TEXT("\xe2\x82"
                   "a"),
              FFFD FFFD "a");              /* cut in the middle */
    CHECK_STR(TEXT("a\0b"), "a" FFFD "b"); /* a NUL */
    CHECK(!cli_is_utf8("\xed\xa0\x80", 3));
    CHECK(!cli_is_utf8("a\0", 2));
}

/* o dumped and loaded back: jansson refuses what is not UTF-8 */
static void check_round_trip(json_t *o)
{
    char *s;
    json_t *back;
    json_error_t e;

    CHECK(o != NULL);
    s = json_dumps(o, JSON_COMPACT);
    CHECK(s != NULL);
    back = s ? json_loads(s, 0, &e) : NULL;
    CHECK(back != NULL);
    CHECK(json_equal(o, back));
    json_decref(back);
    free(s);
}

TEST(payload_is_text_or_base64)
{
    static const struct {
        const char *in, *b64;
    } v[] = {{"\xff", "/w=="},
             {"\xff\x00", "/wA="},
             {"\xff\x00\xfe", "/wD+"},
             {"\xfb\xff\xbf\xc0", "+/+/wA=="},
             {"\x80"
              "fooba",
              "gGZvb2Jh"}};
    json_t *o = json_object();

    cli_json_bytes(o, "reply", "hi \xe2\x80\xae", 6);
    CHECK_STR(json_string_value(json_object_get(o, "reply")),
              "hi \xe2\x80\xae");
    CHECK(!json_object_get(o, "reply_base64"));
    json_decref(o);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = i == 1 ? 2 : i == 2 ? 3 : strlen(v[i].in);
        o = json_object();
        cli_json_bytes(o, "result", v[i].in, n);
        CHECK(!json_object_get(o, "result"));
        CHECK_STR(json_string_value(json_object_get(o, "result_base64")),
                  v[i].b64);
        check_round_trip(o);
        json_decref(o);
    }
}

TEST(keys_are_made_utf8_too)
{
    json_t *o = json_object();

    cli_json_set(o, "/p\xff/1.0.0", jstr("nobody"));
    CHECK_STR(json_string_value(json_object_get(o, "/p" FFFD "/1.0.0")),
              "nobody");
    check_round_trip(o);
    json_decref(o);
}

TEST(chat_answers_as_objects)
{
    static const char log[] =
        "2025-01-31 12:00:00  -> 12D3KooWA  hello  [delivered]\n"
        "2025-01-31 12:00:01  <- 12D3KooWB  caf\xe9  [queued]\n"
        "a line of another form\n"
        "2025-01-31 12:00:02  -> 12D3KooWA  wait  [queued]";
    json_t *o = cli_chat_log_json(log, sizeof(log) - 1), *m;

    CHECK_EQ(json_array_size(json_object_get(o, "messages")), 4);
    m = json_array_get(json_object_get(o, "messages"), 0);
    CHECK_STR(json_string_value(json_object_get(m, "time")),
              "2025-01-31T12:00:00Z");
    CHECK_STR(json_string_value(json_object_get(m, "direction")), "out");
    CHECK_STR(json_string_value(json_object_get(m, "peer_id")), "12D3KooWA");
    CHECK_STR(json_string_value(json_object_get(m, "text")), "hello");
    CHECK_STR(json_string_value(json_object_get(m, "state")), "delivered");
    /* received: no state, its text kept whole, bad bytes replaced */
    m = json_array_get(json_object_get(o, "messages"), 1);
    CHECK_STR(json_string_value(json_object_get(m, "direction")), "in");
    CHECK(json_is_null(json_object_get(m, "state")));
    CHECK_STR(json_string_value(json_object_get(m, "text")),
              "caf" FFFD "  [queued]");
    m = json_array_get(json_object_get(o, "messages"), 2);
    CHECK_STR(json_string_value(json_object_get(m, "text")),
              "a line of another form");
    m = json_array_get(json_object_get(o, "messages"), 3);
    CHECK_STR(json_string_value(json_object_get(m, "state")), "queued");
    check_round_trip(o);
    json_decref(o);
    /* send: bounded by its length, not by a NUL */
    o = cli_chat_send_json("queued 3f59: not reachableXXXX", 26);
    CHECK_STR(json_string_value(json_object_get(o, "status")), "queued");
    CHECK_STR(json_string_value(json_object_get(o, "id")), "3f59");
    CHECK_STR(json_string_value(json_object_get(o, "message")),
              "queued 3f59: not reachable");
    json_decref(o);
    o = cli_chat_send_json("delivered abcdefXXXX", 16);
    CHECK_STR(json_string_value(json_object_get(o, "id")), "abcdef");
    json_decref(o);
}

TEST(log_lines_as_objects)
{
    struct cli_log_line ln;
    json_t *o;

    cli_log_parse("2025-01-31T12:00:00Z warn net: dial \xff failed", &ln);
    o = cli_log_line_json(&ln);
    CHECK_STR(json_string_value(json_object_get(o, "time")),
              "2025-01-31T12:00:00Z");
    CHECK_STR(json_string_value(json_object_get(o, "level")), "warn");
    CHECK_STR(json_string_value(json_object_get(o, "subsystem")), "net");
    CHECK_STR(json_string_value(json_object_get(o, "message")),
              "dial " FFFD " failed");
    check_round_trip(o);
    json_decref(o);
    /* stderr's form: no time */
    cli_log_parse("info daemon: ready", &ln);
    CHECK_EQ(ln.t, 0);
    CHECK_EQ(ln.level, 2);
    /* another form: all of it the message */
    cli_log_parse("2025-01-31T12:00:00Zwarn x: y", &ln);
    CHECK_EQ(ln.level, -1);
    CHECK_STR(ln.msg, "2025-01-31T12:00:00Zwarn x: y");
    CHECK_EQ(cli_log_level("debug", 5), 3);
    CHECK_EQ(cli_log_level("debu", 4), -1);
}

TEST(journal_entries)
{
    static const char e[] =
        "{\"MESSAGE\":[110,101,116,58,32,255,33],\"PRIORITY\":\"4\","
        "\"__REALTIME_TIMESTAMP\":\"1738324800000000\"}";
    json_t *o = cli_journal_json(e, sizeof(e) - 1);

    CHECK_STR(json_string_value(json_object_get(o, "time")),
              "2025-01-31T12:00:00Z");
    CHECK_STR(json_string_value(json_object_get(o, "level")), "warn");
    CHECK_STR(json_string_value(json_object_get(o, "subsystem")), "net");
    CHECK_STR(json_string_value(json_object_get(o, "message")), FFFD "!");
    check_round_trip(o);
    json_decref(o);
    CHECK(cli_journal_json("[1,2]", 5) == NULL);
    CHECK(cli_journal_json("{", 1) == NULL);
    static const char far[] =
        "{\"__REALTIME_TIMESTAMP\":\"99999999999999999999\"}";
    o = cli_journal_json(far, sizeof(far) - 1);
    CHECK(o != NULL); /* a time past gmtime's range is null, not garbage */
    check_round_trip(o);
    json_decref(o);
}

TEST(config_lines)
{
    char buf[64];
    const char *v;

    CHECK(cli_config_line_key("  keepalive =  25  # seconds", buf, sizeof(buf),
                              &v));
    CHECK_STR(buf, "keepalive");
    CHECK_STR(v, "25");
    CHECK(cli_config_line_key("listen=/ip4/0.0.0.0/tcp/4004\r", buf,
                              sizeof(buf), &v));
    CHECK_STR(v, "/ip4/0.0.0.0/tcp/4004");
    CHECK(!cli_config_line_key("# keepalive = 30", buf, sizeof(buf), &v));
    CHECK(!cli_config_line_key("   ", buf, sizeof(buf), &v));
    CHECK(!cli_config_line_key(" = 5", buf, sizeof(buf), &v));
    CHECK(!cli_config_line_key("k = v", buf, 2, &v)); /* does not fit */
    CHECK(cli_config_line_key("k = a long value cut here", buf, 8, &v));
    CHECK_STR(v, "a lo"); /* "k\0" and 6 bytes for " a lo" */
}

TEST(did_you_mean)
{
    static const char *const cmds[] = {"status", "stop", "peers", "ping",
                                       "notifications"};
    static const char *const opts[] = {"--count", "--interval", "--json"};
    char buf[256];
    const char *v[16];
    size_t n;

    CHECK_STR(cli_nearest("stauts", cmds, 5), "status"); /* a swap */
    CHECK_STR(cli_nearest("stp", cmds, 5), "stop");
    CHECK_STR(cli_nearest("notifcations", cmds, 5), "notifications");
    CHECK_STR(cli_nearest("--cou", opts, 3), "--count"); /* a prefix */
    CHECK(cli_nearest("zzzzzz", cmds, 5) == NULL);
    CHECK(cli_nearest("st", cmds, 5) == NULL);     /* too short to guess */
    CHECK(cli_nearest("status", cmds, 5) == NULL); /* itself */
    n = cli_usage_options("usage: fastn log [-f|--follow] [-n LINES]\n"
                          "--json: x (--lines too); a-b x--y",
                          buf, sizeof(buf), v, 16);
    CHECK_EQ(n, 5);
    CHECK_STR(v[0], "-f");
    CHECK_STR(v[1], "--follow");
    CHECK_STR(v[2], "-n");
    CHECK_STR(v[3], "--json");
    CHECK_STR(v[4], "--lines");
}

int main(void)
{
    RUN(utf8_text_passes_unchanged);
    RUN(each_bad_byte_becomes_one_replacement);
    RUN(payload_is_text_or_base64);
    RUN(keys_are_made_utf8_too);
    RUN(chat_answers_as_objects);
    RUN(log_lines_as_objects);
    RUN(journal_entries);
    RUN(config_lines);
    RUN(did_you_mean);
    return test_done();
}
