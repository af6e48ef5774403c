/*
 * /fastn/plugin/1.0.0 messages (src/registry/plugin_xfer.c,
 * plugin_xfer_offer.c): requests and offers round trip, every malformed
 * or oversized message is refused, and the reader hands a plugin's bytes
 * to a registry_download that verifies them (signed by the real minisign).
 */
#include "registry/plugin_xfer.h"

#include "registry/plugin_xfer.pb-c.h"
#include "registry/verify.h"
#include "registry_harness.h"
#include "test.h"

TEST(request_round_trip)
{
    struct plugin_xfer_request a = {0}, b;
    struct buf out;
    size_t used = 0;
    buf_init(&out, 1 << 16);
    snprintf(a.protocol, sizeof(a.protocol), "/fastn/chat/1.0.0");
    a.offer_only = true;
    a.max_size = 16 << 20;
    CHECK_ERR(plugin_xfer_request_encode(&a, &out), 0);
    /* every prefix is "more, please" */
    for (size_t i = 0; i < out.len; i++)
        CHECK_ERR(plugin_xfer_request_decode(out.data, i, &used, &b),
                  FASTN_ERR_AGAIN);
    CHECK_ERR(plugin_xfer_request_decode(out.data, out.len, &used, &b), 0);
    CHECK_EQ(used, out.len);
    CHECK_MEM(&a, &b, sizeof(a));
    /* by sha256 */
    buf_reset(&out);
    memset(&a, 0, sizeof(a));
    a.by_sha256 = true;
    memset(a.sha256, 0xab, sizeof(a.sha256));
    CHECK_ERR(plugin_xfer_request_encode(&a, &out), 0);
    CHECK_ERR(plugin_xfer_request_decode(out.data, out.len, &used, &b), 0);
    CHECK_MEM(&a, &b, sizeof(a));
    /* a bad protocol id is not sent */
    memset(&a, 0, sizeof(a));
    CHECK_ERR(plugin_xfer_request_encode(&a, &out), FASTN_ERR_INVAL);
    snprintf(a.protocol, sizeof(a.protocol), "no-slash");
    CHECK_ERR(plugin_xfer_request_encode(&a, &out), FASTN_ERR_INVAL);
    buf_cleanup(&out);
}

/* A request frame built by hand from a protobuf message. */
static int decode_raw(const Fastn__PluginXfer__PluginRequest *m)
{
    uint8_t body[8192];
    struct buf out;
    struct plugin_xfer_request r;
    size_t used, n = fastn__plugin_xfer__plugin_request__pack(m, body);
    buf_init(&out, 1 << 16);
    lp_write(&out, body, n);
    int rc = plugin_xfer_request_decode(out.data, out.len, &used, &r);
    buf_cleanup(&out);
    return rc;
}

TEST(request_refusals)
{
    Fastn__PluginXfer__PluginRequest m =
        FASTN__PLUGIN_XFER__PLUGIN_REQUEST__INIT;
    uint8_t sha[32] = {0};
    struct plugin_xfer_request r;
    size_t used;
    /* neither, both, a short hash, a bad or huge protocol id */
    CHECK_ERR(decode_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.protocol = "/a";
    m.has_sha256 = 1;
    m.sha256.data = sha;
    m.sha256.len = 32;
    CHECK_ERR(decode_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.protocol = NULL;
    m.sha256.len = 31;
    CHECK_ERR(decode_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.has_sha256 = 0;
    m.protocol = "a/b";
    CHECK_ERR(decode_raw(&m), FASTN_ERR_XFER_MALFORMED);
    char longp[400];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    m.protocol = longp;
    CHECK_ERR(decode_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.protocol = "/ok";
    CHECK_ERR(decode_raw(&m), 0);
    /* a length over the limit is refused from its prefix alone */
    uint8_t big[] = {0x81, 0x40}; /* 8193 */
    CHECK_ERR(plugin_xfer_request_decode(big, sizeof(big), &used, &r),
              FASTN_ERR_XFER_MALFORMED);
    uint8_t junk[] = {3, 0xff, 0xff, 0xff};
    CHECK_ERR(plugin_xfer_request_decode(junk, sizeof(junk), &used, &r),
              FASTN_ERR_XFER_MALFORMED);
    uint8_t badvar[11];
    memset(badvar, 0xff, sizeof(badvar));
    CHECK_ERR(plugin_xfer_request_decode(badvar, sizeof(badvar), &used, &r),
              FASTN_ERR_XFER_MALFORMED);
}

static struct plugin_xfer_offer offer;
static uint8_t *plugin;
static size_t plugin_len;
static struct registry_keyring kr;

/* A plugin p.wasm (300 KiB) signed by alice (trusted), its offer. */
static void setup(void)
{
    size_t slen, len;
    uint8_t *sig, *pub;
    char user[600];
    tmp_new();
    make_key("alice");
    put_pattern("p.wasm", 300 * 1024 + 7);
    sign_file("alice", "p.wasm", false, "p 1.0.0");
    plugin = get("p.wasm", &plugin_len);
    sig = get("p.wasm.minisig", &slen);
    memset(&offer, 0, sizeof(offer));
    snprintf(offer.name, sizeof(offer.name), "p");
    snprintf(offer.version, sizeof(offer.version), "1.0.0");
    snprintf(offer.protocols[0], sizeof(offer.protocols[0]), "/p/1");
    offer.n_protocols = 1;
    snprintf(offer.caps[0], sizeof(offer.caps[0]), "storage");
    offer.n_caps = 1;
    snprintf(offer.summary, sizeof(offer.summary), "a test plugin");
    snprintf(offer.apps[0], sizeof(offer.apps[0]), "p-app");
    offer.n_apps = 1;
    offer.size = plugin_len;
    registry_sha256(plugin, plugin_len, offer.sha256);
    memcpy(offer.minisig, sig, slen);
    offer.minisig_len = slen;
    offer.bytes_follow = true;
    free(sig);
    tpath(user, sizeof(user), "user");
    pub = get("alice.pub", &len);
    CHECK_ERR(
        registry_keyring_add(user, NULL, pub, len, "alice", NULL, NULL, 0), 0);
    free(pub);
    CHECK_ERR(registry_keyring_load(&kr, user, NULL), 0);
}

static void teardown(void)
{
    free(plugin);
    registry_keyring_cleanup(&kr);
    tmp_done();
}

/* The answer's bytes (offer frame, then the plugin's bytes) into out. */
static void answer(struct buf *out, const uint8_t *body, size_t n)
{
    buf_init(out, 64 << 20);
    CHECK_ERR(plugin_xfer_offer_encode(&offer, out), 0);
    buf_append(out, body, n);
}

/* Feeds the answer to a reader in pieces of step bytes into a download
 * in the test folder; returns the first error, or the download's. */
static int receive(const struct buf *in, size_t step, uint64_t max,
                   struct plugin_xfer_reader *r, bool end)
{
    static struct registry_download d;
    struct registry_verified v;
    bool opened = false;
    int rc = 0;
    plugin_xfer_reader_init(r, max);
    for (size_t off = 0; off < in->len && rc >= 0;) {
        size_t n = in->len - off < step ? in->len - off : step, used = 0;
        const uint8_t *body = NULL;
        size_t body_len = 0;
        rc = plugin_xfer_reader_feed(r, in->data + off, n, &used, &body,
                                     &body_len);
        off += used;
        if (rc == PLUGIN_XFER_EV_OFFER && r->offer.bytes_follow) {
            rc = registry_download_open(&d, harness_dir, &kr, r->offer.minisig,
                                        r->offer.minisig_len, r->offer.size,
                                        r->offer.sha256, max, NULL, 0);
            opened = rc == 0;
        } else if (rc == PLUGIN_XFER_EV_BODY) {
            rc = registry_download_write(&d, body, body_len);
        }
    }
    if (rc >= 0 && end)
        rc = plugin_xfer_reader_end(r);
    if (rc >= 0 && opened && plugin_xfer_reader_done(r)) {
        rc = registry_download_finish(&d, &v, NULL, 0);
        if (rc == 0)
            CHECK_STR(v.trusted_comment, "p 1.0.0");
        if (rc == 0)
            registry_download_abort(&d); /* the test keeps nothing */
        else
            registry_download_cleanup(&d);
    } else if (opened) {
        registry_download_abort(&d);
    }
    plugin_xfer_reader_cleanup(r);
    return rc < 0 ? rc : 0;
}

TEST(offer_and_bytes)
{
    struct plugin_xfer_reader r;
    struct buf in;
    setup();
    answer(&in, plugin, plugin_len);
    static const size_t steps[] = {1, 13, 4096, 1 << 20};
    for (size_t i = 0; i < 4; i++) {
        CHECK_ERR(receive(&in, steps[i], 16 << 20, &r, true), 0);
        CHECK_STR(r.offer.name, "p");
        CHECK_STR(r.offer.caps[0], "storage");
        CHECK_EQ(r.offer.size, plugin_len);
    }
    buf_cleanup(&in);
    teardown();
}

TEST(bytes_altered_in_transit)
{
    struct plugin_xfer_reader r;
    struct buf in;
    setup();
    plugin[1000] ^= 4;
    answer(&in, plugin, plugin_len);
    CHECK_ERR(receive(&in, 65536, 16 << 20, &r, true),
              FASTN_ERR_SHA256_MISMATCH);
    /* and with an offer that carries the altered file's hash: the
     * signature still refuses it */
    registry_sha256(plugin, plugin_len, offer.sha256);
    buf_cleanup(&in);
    answer(&in, plugin, plugin_len);
    CHECK_ERR(receive(&in, 65536, 16 << 20, &r, true), FASTN_ERR_SIGNATURE);
    buf_cleanup(&in);
    teardown();
}

TEST(answer_cut_or_overlong)
{
    struct plugin_xfer_reader r;
    struct buf in;
    setup();
    answer(&in, plugin, plugin_len);
    in.len -= 10; /* the peer closed early */
    CHECK_ERR(receive(&in, 65536, 16 << 20, &r, true),
              FASTN_ERR_XFER_MALFORMED);
    in.len += 10;
    buf_put_u8(&in, 0); /* a byte after the file */
    CHECK_ERR(receive(&in, 65536, 16 << 20, &r, false),
              FASTN_ERR_XFER_MALFORMED);
    buf_cleanup(&in);
    /* over the asker's limit: refused at the offer, before any byte */
    answer(&in, plugin, plugin_len);
    CHECK_ERR(receive(&in, 65536, plugin_len - 1, &r, true),
              FASTN_ERR_FETCH_TOO_LARGE);
    buf_cleanup(&in);
    /* an offer only, then nothing more may come */
    offer.bytes_follow = false;
    answer(&in, NULL, 0);
    CHECK_ERR(receive(&in, 7, 16 << 20, &r, true), 0);
    buf_put_u8(&in, 1);
    CHECK_ERR(receive(&in, 7, 16 << 20, &r, true), FASTN_ERR_XFER_MALFORMED);
    buf_cleanup(&in);
    teardown();
}

TEST(statuses)
{
    static const struct {
        enum plugin_xfer_status s;
        int err;
    } cases[] = {{PLUGIN_XFER_NOT_FOUND, FASTN_ERR_XFER_NOT_FOUND},
                 {PLUGIN_XFER_REFUSED, FASTN_ERR_XFER_REFUSED},
                 {PLUGIN_XFER_BUSY, FASTN_ERR_XFER_REFUSED},
                 {PLUGIN_XFER_TOO_LARGE, FASTN_ERR_FETCH_TOO_LARGE}};
    struct plugin_xfer_offer o;
    struct plugin_xfer_reader r;
    struct buf in;
    for (size_t i = 0; i < 4; i++) {
        memset(&o, 0, sizeof(o));
        o.status = cases[i].s;
        buf_init(&in, 1 << 16);
        CHECK_ERR(plugin_xfer_offer_encode(&o, &in), 0);
        CHECK_ERR(receive(&in, 3, 1 << 20, &r, true), cases[i].err);
        buf_cleanup(&in);
    }
    o.status = (enum plugin_xfer_status)9;
    buf_init(&in, 1 << 16);
    CHECK_ERR(plugin_xfer_offer_encode(&o, &in), FASTN_ERR_INVAL);
    buf_cleanup(&in);
}

/* An offer frame built by hand, as a hostile peer would. */
static int read_raw(const Fastn__PluginXfer__PluginOffer *m)
{
    static uint8_t body[1 << 17];
    struct plugin_xfer_reader r;
    struct buf in;
    size_t n = fastn__plugin_xfer__plugin_offer__pack(m, body);
    buf_init(&in, 1 << 20);
    lp_write(&in, body, n);
    int rc = receive(&in, in.len, 16 << 20, &r, false);
    buf_cleanup(&in);
    return rc;
}

TEST(hostile_offers)
{
    Fastn__PluginXfer__PluginOffer m = FASTN__PLUGIN_XFER__PLUGIN_OFFER__INIT;
    char *protos[] = {"/p/1"}, *badp[] = {"p/1"};
    uint8_t sha[32] = {0};
    setup();
    m.name = "p";
    m.version = "1.0.0";
    m.n_protocols = 1, m.protocols = protos;
    m.has_size = 1, m.size = 10;
    m.has_sha256 = 1, m.sha256.data = sha, m.sha256.len = 32;
    m.has_minisig = 1, m.minisig.data = offer.minisig;
    m.minisig.len = offer.minisig_len;
    CHECK_ERR(read_raw(&m), 0);
    m.name = "P";
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.name = "p";
    m.version = "x";
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.version = "1.0.0";
    m.protocols = badp;
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.protocols = protos;
    m.n_protocols = 0;
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.n_protocols = 1;
    m.summary = "\x1b[2J";
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.summary = NULL;
    m.size = 0;
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.size = 10;
    m.sha256.len = 8;
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.sha256.len = 32;
    m.minisig.len = 20; /* a signature that does not parse */
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.minisig.len = offer.minisig_len;
    static char many_buf[40][8];
    char *many[40];
    for (int i = 0; i < 40; i++) {
        snprintf(many_buf[i], sizeof(many_buf[i]), "/p/%d", i);
        many[i] = many_buf[i];
    }
    m.n_protocols = 40, m.protocols = many;
    CHECK_ERR(read_raw(&m), FASTN_ERR_XFER_MALFORMED);
    m.n_protocols = 1, m.protocols = protos;
    CHECK_ERR(read_raw(&m), 0);
    /* a frame over 64 KiB is refused from its length */
    struct plugin_xfer_reader r;
    struct buf in;
    buf_init(&in, 1 << 20);
    buf_put_uvarint(&in, PLUGIN_XFER_OFFER_MAX + 1);
    CHECK_ERR(receive(&in, 64, 16 << 20, &r, false), FASTN_ERR_XFER_MALFORMED);
    buf_cleanup(&in);
    teardown();
}

TEST(offer_from_entry)
{
    struct registry_entry e = {0};
    char *protos[] = {"/fastn/chat/1.0.0"}, *caps[] = {"streams"};
    struct plugin_xfer_offer o;
    setup();
    snprintf(e.name, sizeof(e.name), "chat");
    snprintf(e.version, sizeof(e.version), "1.0.0");
    e.protocols = protos, e.n_protocols = 1;
    e.caps = caps, e.n_caps = 1;
    e.size = 5;
    CHECK_ERR(plugin_xfer_offer_from_entry(&o, &e, offer.minisig,
                                           offer.minisig_len, true),
              0);
    CHECK_STR(o.protocols[0], "/fastn/chat/1.0.0");
    CHECK_STR(o.summary, "");
    CHECK_ERR(plugin_xfer_offer_from_entry(&o, &e, offer.minisig, 10, true),
              FASTN_ERR_INVAL);
    teardown();
}

int main(void)
{
    if (!have_minisign()) {
        printf("minisign is not installed (scripts/install-deps.sh test)\n");
        return 77;
    }
    RUN(request_round_trip);
    RUN(request_refusals);
    RUN(offer_and_bytes);
    RUN(bytes_altered_in_transit);
    RUN(answer_cut_or_overlong);
    RUN(statuses);
    RUN(hostile_offers);
    RUN(offer_from_entry);
    return test_done();
}
