/* Unit tests for src/net/mss: dialer and listener negotiating with each
 * other and with hand-written byte streams, messages split at every byte,
 * "na" and retry, "ls", the 1024-byte limit and each kind of bad input. */
#include "net/mss.h"
#include "test.h"

static const char *served[] = {"/noise", "/yamux/1.0.0", "/ipfs/ping/1.0.0"};

static bool supports(void *arg, const char *proto, size_t len)
{
    (void)arg;
    for (size_t i = 0; i < 3; i++)
        if (strlen(served[i]) == len && memcmp(served[i], proto, len) == 0)
            return true;
    return false;
}

static size_t list(void *arg, const char **names, size_t max)
{
    (void)arg;
    size_t n = max < 3 ? max : 3;
    for (size_t i = 0; i < n; i++)
        names[i] = served[i];
    return n;
}

/* Feeds bytes one at a time; returns the first non-zero result. */
static int feed_bytewise(struct mss *m, const uint8_t *p, size_t n,
                         size_t *used, struct buf *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t c;
        int r = mss_input(m, p + i, 1, &c, out);
        if (r != 0) {
            *used = i + c;
            return r;
        }
    }
    *used = n;
    return 0;
}

TEST(dialer_listener_agree)
{
    struct mss d, l;
    struct buf dout, lout;
    const char *want[] = {"/tls/1.0.0", "/noise"};
    size_t used;

    buf_init(&dout, 4096);
    buf_init(&lout, 4096);
    CHECK_ERR(mss_init_dialer(&d, want, 2), 0);
    mss_init_listener(&l, supports, list, NULL);
    CHECK_ERR(mss_start(&d, &dout), 0);
    CHECK_ERR(mss_start(&l, &lout), 0);
    /* the dialer pipelines the header and its first proposal */
    CHECK_EQ(dout.len, 20 + 12);
    CHECK_MEM(dout.data, "\x13/multistream/1.0.0\n\x0b/tls/1.0.0\n", 32);
    CHECK_ERR(mss_input(&l, dout.data, dout.len, &used, &lout), 0);
    CHECK_EQ(used, dout.len);
    buf_reset(&dout);
    /* listener wrote its header, then "na" */
    CHECK_EQ(lout.len, 20 + 4);
    CHECK_MEM(lout.data + 20, "\x03na\n", 4);
    CHECK_ERR(mss_input(&d, lout.data, lout.len, &used, &dout), 0);
    buf_reset(&lout);
    CHECK_MEM(dout.data, "\x07/noise\n", 8);
    CHECK_ERR(mss_input(&l, dout.data, dout.len, &used, &lout), MSS_DONE);
    CHECK_STR(mss_selected(&l), "/noise");
    CHECK_ERR(mss_input(&d, lout.data, lout.len, &used, &dout), MSS_DONE);
    CHECK_STR(mss_selected(&d), "/noise");
    CHECK_EQ(mss_selected_index(&d), 1);
    /* finished machines refuse more input */
    CHECK_ERR(mss_input(&d, (const uint8_t *)"x", 1, &used, &dout),
              FASTN_ERR_INVAL);
    buf_cleanup(&dout);
    buf_cleanup(&lout);
}

TEST(split_at_every_byte_and_leftover)
{
    struct mss l;
    struct buf in, out;
    size_t used;

    buf_init(&in, 4096);
    buf_init(&out, 4096);
    mss_init_listener(&l, supports, NULL, NULL);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&in, "/yamux/1.0.0", 12);
    size_t proto_end = in.len;
    buf_append(&in, "NOISEDATA", 9); /* the protocol's first bytes */
    CHECK_ERR(feed_bytewise(&l, in.data, in.len, &used, &out), MSS_DONE);
    CHECK_EQ(used, proto_end);
    CHECK_STR(mss_selected(&l), "/yamux/1.0.0");

    /* and all at once: the leftover is not consumed either */
    mss_init_listener(&l, supports, NULL, NULL);
    buf_reset(&out);
    CHECK_ERR(mss_input(&l, in.data, in.len, &used, &out), MSS_DONE);
    CHECK_EQ(used, proto_end);
    buf_cleanup(&in);
    buf_cleanup(&out);
}

TEST(listener_na_then_accept_and_ls)
{
    struct mss l;
    struct buf in, out;
    size_t used;

    buf_init(&in, 4096);
    buf_init(&out, 4096);
    mss_init_listener(&l, supports, list, NULL);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&in, "/unknown/1", 10);
    mss_write_msg(&in, "ls", 2);
    CHECK_ERR(mss_input(&l, in.data, in.len, &used, &out), 0);
    /* no header from mss_start here: just "na" then the ls reply */
    CHECK_MEM(out.data, "\x03na\n", 4);
    struct buf want;
    buf_init(&want, 4096);
    struct buf body;
    buf_init(&body, 4096);
    for (int i = 0; i < 3; i++)
        mss_write_msg(&body, served[i], strlen(served[i]));
    mss_write_msg(&want, (const char *)body.data, body.len);
    CHECK_EQ(out.len, 4 + want.len);
    CHECK_MEM(out.data + 4, want.data, want.len);
    buf_reset(&in);
    buf_reset(&out);
    mss_write_msg(&in, "/ipfs/ping/1.0.0", 16);
    CHECK_ERR(mss_input(&l, in.data, in.len, &used, &out), MSS_DONE);
    CHECK_MEM(out.data, in.data, in.len); /* echoed */
    buf_cleanup(&in);
    buf_cleanup(&out);
    buf_cleanup(&want);
    buf_cleanup(&body);
}

TEST(dialer_runs_out_of_protocols)
{
    struct mss d;
    struct buf in, out;
    const char *want[] = {"/a", "/b"};
    size_t used;

    buf_init(&in, 4096);
    buf_init(&out, 4096);
    CHECK_ERR(mss_init_dialer(&d, want, 2), 0);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&in, "na", 2);
    mss_write_msg(&in, "na", 2);
    CHECK_ERR(mss_input(&d, in.data, in.len, &used, &out),
              FASTN_ERR_NET_PROTO_NA);
    CHECK(mss_selected(&d) == NULL);
    buf_cleanup(&in);
    buf_cleanup(&out);
}

TEST(bad_input)
{
    struct mss m;
    struct buf in, out;
    size_t used;
    const char *want[] = {"/a"};

    buf_init(&in, 8192);
    buf_init(&out, 8192);
    /* wrong header */
    mss_init_listener(&m, supports, NULL, NULL);
    mss_write_msg(&in, "/multistream/2.0.0", 18);
    CHECK_ERR(mss_input(&m, in.data, in.len, &used, &out),
              FASTN_ERR_NET_NEGOTIATION);
    /* no trailing newline */
    mss_init_listener(&m, supports, NULL, NULL);
    CHECK_ERR(mss_input(&m,
                        (const uint8_t *)"\x03"
                                         "abc",
                        4, &used, &out),
              FASTN_ERR_MALFORMED);
    /* empty message */
    mss_init_listener(&m, supports, NULL, NULL);
    CHECK_ERR(mss_input(&m, (const uint8_t *)"\x00", 1, &used, &out),
              FASTN_ERR_MALFORMED);
    /* just a newline */
    mss_init_listener(&m, supports, NULL, NULL);
    CHECK_ERR(mss_input(&m, (const uint8_t *)"\x01\n", 2, &used, &out),
              FASTN_ERR_MALFORMED);
    /* NUL inside */
    mss_init_listener(&m, supports, NULL, NULL);
    CHECK_ERR(mss_input(&m, (const uint8_t *)"\x03\0a\n", 4, &used, &out),
              FASTN_ERR_MALFORMED);
    /* 1025 bytes: over the limit, refused from its length alone */
    mss_init_listener(&m, supports, NULL, NULL);
    CHECK_ERR(mss_input(&m, (const uint8_t *)"\x81\x08", 2, &used, &out),
              FASTN_ERR_TOO_LARGE);
    /* a three-byte length */
    mss_init_listener(&m, supports, NULL, NULL);
    CHECK_ERR(mss_input(&m, (const uint8_t *)"\x80\x80\x01", 3, &used, &out),
              FASTN_ERR_TOO_LARGE);
    /* exactly 1024 is fine */
    mss_init_listener(&m, supports, NULL, NULL);
    buf_reset(&in);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    char big[1023];
    memset(big, 'x', sizeof(big));
    CHECK_ERR(mss_write_msg(&in, big, sizeof(big)), 0);
    CHECK_ERR(mss_write_msg(&in, big, sizeof(big) + 1), FASTN_ERR_INVAL);
    CHECK_ERR(mss_input(&m, in.data, in.len, &used, &out), 0);
    /* a dialer gets an unexpected reply */
    CHECK_ERR(mss_init_dialer(&m, want, 1), 0);
    buf_reset(&in);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    mss_write_msg(&in, "/b", 2);
    CHECK_ERR(mss_input(&m, in.data, in.len, &used, &out),
              FASTN_ERR_NET_NEGOTIATION);
    buf_cleanup(&in);
    buf_cleanup(&out);
}

TEST(listener_gives_up_after_many_rejects)
{
    struct mss m;
    struct buf in, out;
    size_t used;
    int r = 0;

    buf_init(&in, 1 << 16);
    buf_init(&out, 1 << 16);
    mss_init_listener(&m, supports, NULL, NULL);
    mss_write_msg(&in, MSS_PROTOCOL_ID, strlen(MSS_PROTOCOL_ID));
    for (int i = 0; i <= MSS_MAX_REJECTS; i++)
        mss_write_msg(&in, "/nope", 5);
    r = mss_input(&m, in.data, in.len, &used, &out);
    CHECK_ERR(r, FASTN_ERR_NET_PROTO_NA);
    buf_cleanup(&in);
    buf_cleanup(&out);
}

TEST(bad_dialer_lists)
{
    struct mss m;
    const char *empty[] = {""};
    const char *nl[] = {"/a\nb"};
    CHECK_ERR(mss_init_dialer(&m, empty, 0), FASTN_ERR_INVAL);
    CHECK_ERR(mss_init_dialer(&m, empty, 1), FASTN_ERR_INVAL);
    CHECK_ERR(mss_init_dialer(&m, nl, 1), FASTN_ERR_INVAL);
}

int main(void)
{
    RUN(dialer_listener_agree);
    RUN(split_at_every_byte_and_leftover);
    RUN(listener_na_then_accept_and_ls);
    RUN(dialer_runs_out_of_protocols);
    RUN(bad_input);
    RUN(listener_gives_up_after_many_rejects);
    RUN(bad_dialer_lists);
    return test_done();
}
