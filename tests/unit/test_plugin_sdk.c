/* Unit tests for the optional helpers of the plugin SDK (include/fastn/
 * plugin.h), compiled natively: the call-argument splitter against
 * libfastn's encoder (the two ends of docs/PLUGIN-ABI.md, "Call
 * arguments"), and the stream buffer's request collection and
 * length-prefixed frames. Their use through the real host is in
 * test_echo (fastn_sbuf_send/flush/reply_close) and the plugins tests. */
#include "fastn/client.h"
#include "fastn/plugin.h"
#include "test.h"

/* Encodes argv with libfastn and splits it back with the SDK. */
static int32_t round_trip(const char *const *argv, size_t argc,
                          struct fastn_arg *out, size_t max, uint8_t **buf,
                          size_t *len)
{
    CHECK_ERR(fastn_plugin_args_encode(argv, argc, buf, len), 0);
    return fastn_args_split(*buf, *len, out, max);
}

TEST(args_round_trip)
{
    static const char *const argv[] = {"12D3KooWpeer", "hello world", "",
                                       "last"};
    struct fastn_arg a[8];
    uint8_t *buf = NULL;
    size_t len = 0;

    CHECK_EQ(round_trip(argv, 4, a, 8, &buf, &len), 4);
    CHECK_EQ(len, 12 + 1 + 11 + 1 + 0 + 1 + 4);
    for (int i = 0; i < 4; i++)
        CHECK(fastn_is(a[i].p, a[i].len, argv[i]));
    fastn_free(buf);
}

TEST(args_one_is_as_it_was)
{
    static const char *const argv[] = {"PEER some text"};
    struct fastn_arg a[2];
    uint8_t *buf = NULL;
    size_t len = 0;

    /* one argument: the bytes a one-argument call always sent */
    CHECK_EQ(round_trip(argv, 1, a, 2, &buf, &len), 1);
    CHECK_EQ(len, strlen(argv[0]));
    CHECK(memcmp(buf, argv[0], len) == 0);
    CHECK(fastn_is(a[0].p, a[0].len, argv[0]));
    fastn_free(buf);
    /* none, and one empty: no argument */
    CHECK_ERR(fastn_plugin_args_encode(NULL, 0, &buf, &len), 0);
    CHECK_EQ(len, 0);
    CHECK_EQ(fastn_args_split(buf, len, a, 2), 0);
    fastn_free(buf);
}

TEST(args_edges)
{
    static const char *const two_empty[] = {"", ""};
    struct fastn_arg a[2];
    uint8_t *buf = NULL;
    size_t len = 0;
    char s[4];

    CHECK_EQ(round_trip(two_empty, 2, a, 2, &buf, &len), 2);
    CHECK_EQ(len, 1);
    CHECK(a[0].len == 0 && a[1].len == 0);
    fastn_free(buf);
    /* more than max: an error, the first max filled */
    CHECK_EQ(fastn_args_split((const uint8_t *)"a\0b\0c", 5, a, 2),
             FASTN_ERR_TOO_LARGE);
    CHECK(fastn_is(a[1].p, a[1].len, "b"));
    CHECK_EQ(fastn_arg_str(a[0], s, sizeof(s)), 1);
    CHECK(strcmp(s, "a") == 0);
    CHECK_EQ(fastn_arg_str((struct fastn_arg){"long", 4}, s, sizeof(s)),
             FASTN_ERR_TOO_LARGE);
    CHECK_EQ(s[0], '\0');
    /* bad input to the encoder */
    CHECK_ERR(fastn_plugin_args_encode(two_empty, 2, NULL, &len),
              FASTN_ERR_INVAL);
    static const char *const with_null[] = {"a", NULL};
    CHECK_ERR(fastn_plugin_args_encode(with_null, 2, &buf, &len),
              FASTN_ERR_INVAL);
}

TEST(args_too_large)
{
    size_t half = (1u << 19) - 1;
    char *big = malloc(half + 1);
    uint8_t *buf = NULL;
    size_t len = 0;
    memset(big, 'x', half);
    big[half] = '\0';
    const char *const argv[] = {big, big, "y"};
    CHECK_ERR(fastn_plugin_args_encode(argv, 2, &buf, &len), 0);
    CHECK_EQ(len, (1u << 20) - 1); /* 1 MiB less one: it fits */
    fastn_free(buf);
    CHECK_ERR(fastn_plugin_args_encode(argv, 3, &buf, &len),
              FASTN_ERR_TOO_LARGE); /* 1 MiB + 1 */
    free(big);
}

TEST(sbuf_collects_and_frames)
{
    struct fastn_sbuf tab[2] = {{0}};
    struct fastn_sbuf *s = fastn_sbuf_new(tab, 2, 7);
    const uint8_t *f = NULL;
    size_t len = 0, used = 0;
    uint8_t hdr[10];

    CHECK(s && fastn_sbuf_find(tab, 2, 7) == s);
    CHECK(fastn_sbuf_find(tab, 2, 0) == NULL);
    CHECK(fastn_sbuf_new(tab, 2, 8) != NULL);
    CHECK(fastn_sbuf_new(tab, 2, 9) == NULL); /* full */
    /* a 300-byte frame arriving in pieces: its varint is 2 bytes */
    uint8_t body[300];
    memset(body, 'b', sizeof(body));
    size_t h = fastn_varint_put(hdr, sizeof(body));
    CHECK_EQ(h, 2);
    CHECK_ERR(fastn_sbuf_take(s, hdr, 1, 4096), 0);
    CHECK_EQ(fastn_sbuf_frame(s, 1000, &f, &len, &used), 0);
    CHECK_ERR(fastn_sbuf_take(s, hdr + 1, 1, 4096), 0);
    CHECK_ERR(fastn_sbuf_take(s, body, 299, 4096), 0);
    CHECK_EQ(fastn_sbuf_frame(s, 1000, &f, &len, &used), 0);
    CHECK_ERR(fastn_sbuf_take(s, body, 1, 4096), 0);
    CHECK_ERR(fastn_sbuf_take(s, "\x01z", 2, 4096), 0); /* and the next */
    CHECK_EQ(fastn_sbuf_frame(s, 1000, &f, &len, &used), 1);
    CHECK_EQ(len, 300);
    CHECK_EQ(used, 302);
    CHECK(memcmp(f, body, 300) == 0);
    fastn_sbuf_consume(s, used);
    CHECK_EQ(fastn_sbuf_frame(s, 1000, &f, &len, &used), 1);
    CHECK(len == 1 && f[0] == 'z');
    fastn_sbuf_consume(s, used);
    CHECK_EQ(s->in_len, 0);
    /* over the frame maximum, a varint too long, over the take maximum */
    CHECK_ERR(fastn_sbuf_take(s, hdr, 2, 4096), 0);
    CHECK_EQ(fastn_sbuf_frame(s, 299, &f, &len, &used), FASTN_ERR_TOO_LARGE);
    fastn_sbuf_consume(s, 2);
    CHECK_ERR(fastn_sbuf_take(s, "\xff\xff\xff\xff\xff\x01", 6, 4096), 0);
    CHECK_EQ(fastn_sbuf_frame(s, 1u << 30, &f, &len, &used),
             FASTN_ERR_MALFORMED);
    CHECK_ERR(fastn_sbuf_take(s, body, 300, 100), FASTN_ERR_TOO_LARGE);
    CHECK_EQ(s->in_len, 6); /* nothing of a refused take is kept */
    CHECK_ERR(fastn_sbuf_take(NULL, body, 1, 100), FASTN_ERR_INVAL);
    fastn_sbuf_drop(s);
    CHECK(s->stream == 0 && s->in == NULL);
    fastn_sbuf_drop(&tab[1]);
}

int main(void)
{
    RUN(args_round_trip);
    RUN(args_one_is_as_it_was);
    RUN(args_edges);
    RUN(args_too_large);
    RUN(sbuf_collects_and_frames);
    return test_done();
}
