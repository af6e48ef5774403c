/* Unit tests for src/util: checked reader, bounded buffer, varints,
 * base58, error strings, the log's rate limit. */
#include "test.h"
#include "util/base58.h"
#include "util/buf.h"
#include "util/log.h"

struct log_catch {
    int lines;
    char last[256];
    char first[256];
};

static void log_catch_sink(enum log_level level, const char *subsys,
                           const char *line, void *arg)
{
    struct log_catch *c = arg;
    (void)level;
    (void)subsys;
    if (!c->lines++)
        snprintf(c->first, sizeof(c->first), "%s", line);
    snprintf(c->last, sizeof(c->last), "%s", line);
}

/* 10 lines per window pass; the next window's first line is preceded by
 * one counting those dropped; two limits do not share a count. */
TEST(log_ratelimit_counts_the_dropped)
{
    struct log_ratelimit a = {0}, b = {0};
    struct log_catch c = {0};
    int passed = 0;

    log_set_sink(log_catch_sink, &c);
    for (int i = 0; i < 25; i++)
        passed += log_ratelimit_pass(&a, LOG_WARN, "t");
    CHECK_EQ(passed, 10);
    CHECK_EQ(c.lines, 0);
    CHECK(log_ratelimit_pass(&b, LOG_WARN, "t")); /* b has its own */
    CHECK_EQ(c.lines, 0);
    a.window_start -= 10; /* the window is over */
    CHECK(log_ratelimit_pass(&a, LOG_WARN, "t"));
    CHECK_EQ(c.lines, 1);
    CHECK(strstr(c.first, "15 more lines like the next") != NULL);
    CHECK(log_ratelimit_pass(&a, LOG_WARN, "t"));
    CHECK_EQ(c.lines, 1); /* said once */
    log_set_sink(NULL, NULL);
}

TEST(reader_bounds)
{
    const uint8_t b[] = {1, 2, 3, 4, 5};
    struct buf_reader r;
    uint32_t v32;
    uint16_t v16;
    uint8_t v8;
    buf_reader_init(&r, b, sizeof(b));
    CHECK_ERR(buf_get_be32(&r, &v32), 0);
    CHECK_EQ(v32, 0x01020304);
    CHECK_ERR(buf_get_be16(&r, &v16), FASTN_ERR_TRUNCATED);
    CHECK_EQ(r.off, 4); /* a failed get leaves the cursor alone */
    CHECK_ERR(buf_get_u8(&r, &v8), 0);
    CHECK_EQ(v8, 5);
    CHECK_ERR(buf_get_u8(&r, &v8), FASTN_ERR_TRUNCATED);
    buf_reader_init(&r, b, sizeof(b));
    CHECK_ERR(buf_skip(&r, 6), FASTN_ERR_TRUNCATED);
    CHECK_ERR(buf_get_le32(&r, &v32), 0);
    CHECK_EQ(v32, 0x04030201);
}

TEST(uvarint_roundtrip)
{
    uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, (1ull << 63) - 1};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint8_t tmp[10];
        size_t n = uvarint_encode(vals[i], tmp);
        CHECK_EQ(n, uvarint_len(vals[i]));
        struct buf_reader r;
        uint64_t got = 0;
        buf_reader_init(&r, tmp, n);
        CHECK_ERR(buf_get_uvarint(&r, &got), 0);
        CHECK(got == vals[i]);
        CHECK_EQ(buf_reader_left(&r), 0);
        /* every strict prefix is truncated */
        buf_reader_init(&r, tmp, n - 1);
        CHECK_ERR(buf_get_uvarint(&r, &got), FASTN_ERR_TRUNCATED);
    }
    /* the multiformats examples */
    const uint8_t ex300[] = {0xac, 0x02};
    struct buf_reader r;
    uint64_t got;
    buf_reader_init(&r, ex300, 2);
    CHECK_ERR(buf_get_uvarint(&r, &got), 0);
    CHECK_EQ(got, 300);
}

TEST(uvarint_overflow)
{
    const uint8_t ten[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                           0xff, 0xff, 0xff, 0xff, 0x01};
    struct buf_reader r;
    uint64_t got;
    buf_reader_init(&r, ten, sizeof(ten));
    CHECK_ERR(buf_get_uvarint(&r, &got), FASTN_ERR_OVERFLOW);
}

TEST(buf_max)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK_ERR(buf_append(&b, "12345", 5), 0);
    CHECK_ERR(buf_append(&b, "6789", 4), FASTN_ERR_TOO_LARGE);
    CHECK_EQ(b.len, 5);
    CHECK_ERR(buf_put_be16(&b, 0x3637), 0);
    buf_consume(&b, 2);
    CHECK_EQ(b.len, 5);
    CHECK_MEM(b.data, "34567", 5);
    CHECK_ERR(buf_put_uvarint(&b, 300), 0);
    CHECK_EQ(b.len, 7);
    buf_cleanup_secret(&b);
    CHECK(b.data == NULL);
}

TEST(base58_vectors)
{
    /* from the base58 draft (draft-msporny-base58) */
    char out[64];
    uint8_t raw[64];
    CHECK(base58_encode((const uint8_t *)"Hello World!", 12, out, sizeof(out)) >
          0);
    CHECK_STR(out, "2NEpo7TZRRrLZSi2U");
    const uint8_t lead[] = {0, 0, 0x28, 0x7f, 0xb4, 0xcd};
    CHECK(base58_encode(lead, sizeof(lead), out, sizeof(out)) > 0);
    CHECK_STR(out, "11233QC4");
    CHECK_EQ(base58_decode("11233QC4", 8, raw, sizeof(raw)), 6);
    CHECK_MEM(raw, lead, 6);
    CHECK_ERR(base58_decode("0OIl", 4, raw, sizeof(raw)), FASTN_ERR_MALFORMED);
    CHECK_ERR(base58_decode("2NEpo7TZRRrLZSi2U", 17, raw, 4),
              FASTN_ERR_TOO_LARGE);
    CHECK_EQ(base58_decode("", 0, raw, sizeof(raw)), 0);
}

/* The encoder works in limbs of five digits, two bytes at a time: odd
 * and even lengths, leading zeros and every size round-trip. */
TEST(base58_roundtrip)
{
    uint8_t in[BASE58_MAX_BYTES], back[BASE58_MAX_BYTES];
    char text[BASE58_MAX_BYTES * 2];
    uint32_t x = 12345;

    for (size_t n = 0; n <= BASE58_MAX_BYTES; n++) {
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            in[i] = i < n % 4 ? 0 : (uint8_t)(x >> 16);
        }
        int k = base58_encode(in, n, text, sizeof(text));
        CHECK(k >= 0);
        CHECK_EQ(base58_decode(text, (size_t)k, back, sizeof(back)), n);
        CHECK(n == 0 || memcmp(in, back, n) == 0);
    }
    CHECK_EQ(base58_encode((const uint8_t *)"\xff", 1, text, sizeof(text)), 2);
    CHECK_STR(text, "5Q");
}

TEST(strerror_names)
{
    CHECK_STR(fastn_strerror(0), "success");
    CHECK_STR(fastn_err_name(FASTN_ERR_TIMEOUT), "FASTN_ERR_TIMEOUT");
    CHECK_STR(fastn_strerror(12345), "unknown error");
}

int main(void)
{
    RUN(reader_bounds);
    RUN(uvarint_roundtrip);
    RUN(uvarint_overflow);
    RUN(buf_max);
    RUN(base58_vectors);
    RUN(base58_roundtrip);
    RUN(strerror_names);
    RUN(log_ratelimit_counts_the_dropped);
    return test_done();
}
