/*
 * minisign parsing and verification (src/registry/minisign.c) against
 * signatures made by the real minisign tool: both algorithms, streaming,
 * and each kind of damage refused with its own error.
 */
#include "registry/minisign.h"

#include "registry/sign_crypto.h"
#include "registry_harness.h"
#include "test.h"

static struct minisign_pubkey key;
static struct minisign_sig sig;
static uint8_t *msg;
static size_t msg_len;

/* A key "k", a 100 KiB file "f" signed by it into f.minisig. */
static void setup(bool legacy)
{
    size_t len;
    uint8_t *text;
    char err[160] = "";

    tmp_new();
    make_key("k");
    put_pattern("f", 100 * 1024 + 3);
    sign_file("k", "f", legacy, "chat 1.0.0 by alice");
    text = get("k.pub", &len);
    CHECK_ERR(minisign_pubkey_parse(text, len, &key, err, sizeof(err)), 0);
    free(text);
    text = get("f.minisig", &len);
    CHECK_ERR(minisign_sig_parse(text, len, &sig, err, sizeof(err)), 0);
    if (err[0])
        fprintf(stderr, "%s\n", err);
    free(text);
    msg = get("f", &msg_len);
}

static void teardown(void)
{
    free(msg);
    tmp_done();
}

TEST(prehashed_verifies)
{
    setup(false);
    CHECK_EQ(sig.alg, MINISIGN_ALG_PREHASHED);
    CHECK_STR(sig.trusted_comment, "chat 1.0.0 by alice");
    CHECK_MEM(sig.key_id, key.key_id, MINISIGN_KEYID_LEN);
    CHECK_ERR(minisign_verify(&sig, &key, msg, msg_len), 0);
    /* and minisign itself agrees */
    CHECK_EQ(run("cd '%s' && minisign -Vq -p k.pub -m f", harness_dir), 0);
    teardown();
}

TEST(legacy_verifies)
{
    setup(true);
    CHECK_EQ(sig.alg, MINISIGN_ALG_LEGACY);
    CHECK_ERR(minisign_verify(&sig, &key, msg, msg_len), 0);
    teardown();
}

/* Fed in uneven pieces, both algorithms give the same answer. */
static void check_streaming(bool legacy)
{
    static const size_t steps[] = {1, 7, 4096, 65537};
    setup(legacy);
    for (size_t s = 0; s < sizeof(steps) / sizeof(*steps); s++) {
        struct minisign_verifier v;
        CHECK_ERR(minisign_verifier_init(&v, &sig, msg_len), 0);
        for (size_t off = 0; off < msg_len; off += steps[s]) {
            size_t n = msg_len - off < steps[s] ? msg_len - off : steps[s];
            CHECK_ERR(minisign_verifier_update(&v, msg + off, n), 0);
        }
        CHECK_ERR(minisign_verifier_final(&v, &key), 0);
        minisign_verifier_cleanup(&v);
    }
    teardown();
}

TEST(streaming_prehashed)
{
    check_streaming(false);
}

TEST(streaming_legacy)
{
    check_streaming(true);
}

/* A legacy signature holds the file: past its maximum it is refused. */
TEST(legacy_bounded)
{
    struct minisign_verifier v;
    setup(true);
    CHECK_ERR(minisign_verifier_init(&v, &sig, 1000), 0);
    CHECK_ERR(minisign_verifier_update(&v, msg, 1001), FASTN_ERR_TOO_LARGE);
    CHECK_ERR(minisign_verifier_final(&v, &key), FASTN_ERR_TOO_LARGE);
    minisign_verifier_cleanup(&v);
    teardown();
}

static void check_flipped_bit(bool legacy)
{
    setup(legacy);
    size_t where[] = {0, msg_len / 2, msg_len - 1};
    for (size_t i = 0; i < 3; i++) {
        msg[where[i]] ^= 0x10;
        CHECK_ERR(minisign_verify(&sig, &key, msg, msg_len),
                  FASTN_ERR_SIGNATURE);
        msg[where[i]] ^= 0x10;
    }
    /* one byte more or less */
    CHECK_ERR(minisign_verify(&sig, &key, msg, msg_len - 1),
              FASTN_ERR_SIGNATURE);
    teardown();
}

TEST(flipped_bit_prehashed)
{
    check_flipped_bit(false);
}

TEST(flipped_bit_legacy)
{
    check_flipped_bit(true);
}

/* Rewrites line 3 of f.minisig and parses it again. */
static int verify_with_comment(const char *comment)
{
    size_t len;
    char *text = (char *)get("f.minisig", &len), out[16384];
    char *l3 = strstr(text, "\ntrusted comment: ") + 1, *l4 = strchr(l3, '\n');
    struct minisign_sig s;
    char err[160];
    int n = snprintf(out, sizeof(out), "%.*strusted comment: %s%s",
                     (int)(l3 - text), text, comment, l4);
    free(text);
    int rc =
        minisign_sig_parse((uint8_t *)out, (size_t)n, &s, err, sizeof(err));
    if (rc)
        return rc;
    return minisign_verify(&s, &key, msg, msg_len);
}

TEST(tampered_trusted_comment)
{
    setup(false);
    CHECK_ERR(verify_with_comment("chat 1.0.0 by alice"), 0);
    CHECK_ERR(verify_with_comment("chat 1.0.0 by mallory"),
              FASTN_ERR_SIG_COMMENT);
    CHECK_ERR(verify_with_comment("chat 1.0.0 by alice "),
              FASTN_ERR_SIG_COMMENT);
    /* control characters (terminal escapes) are not even parsed */
    CHECK_ERR(verify_with_comment("chat \x1b[31m"), FASTN_ERR_SIG_MALFORMED);
    teardown();
}

TEST(tampered_trusted_comment_legacy)
{
    setup(true);
    CHECK_ERR(verify_with_comment("chat 2.0.0 by alice"),
              FASTN_ERR_SIG_COMMENT);
    teardown();
}

/* The untrusted comment is what its name says: changing it changes
 * nothing. */
TEST(untrusted_comment_is_not_signed)
{
    size_t len;
    char *text, *l2, out[16384];
    struct minisign_sig s;
    setup(false);
    text = (char *)get("f.minisig", &len);
    l2 = strchr(text, '\n');
    int n = snprintf(out, sizeof(out), "untrusted comment: anything%s", l2);
    CHECK_ERR(minisign_sig_parse((uint8_t *)out, (size_t)n, &s, NULL, 0), 0);
    CHECK_ERR(minisign_verify(&s, &key, msg, msg_len), 0);
    free(text);
    teardown();
}

TEST(wrong_key)
{
    size_t len;
    uint8_t *text;
    struct minisign_pubkey other;
    setup(false);
    make_key("other");
    text = get("other.pub", &len);
    CHECK_ERR(minisign_pubkey_parse(text, len, &other, NULL, 0), 0);
    free(text);
    CHECK_ERR(minisign_verify(&sig, &other, msg, msg_len),
              FASTN_ERR_SIG_KEY_MISMATCH);
    /* the right key id with another key's bytes: the signature fails */
    memcpy(other.key_id, key.key_id, MINISIGN_KEYID_LEN);
    CHECK_ERR(minisign_verify(&sig, &other, msg, msg_len), FASTN_ERR_SIGNATURE);
    teardown();
}

/* Every cut of the file short of its final newline is malformed. */
TEST(truncated_signature_file)
{
    size_t len;
    uint8_t *text;
    struct minisign_sig s;
    char err[160];
    setup(false);
    text = get("f.minisig", &len);
    for (size_t cut = 0; cut + 1 < len; cut++) {
        int rc = minisign_sig_parse(text, cut, &s, err, sizeof(err));
        if (rc != FASTN_ERR_SIG_MALFORMED) {
            fprintf(stderr, "cut at %zu of %zu: %s\n", cut, len,
                    fastn_err_name(rc));
            CHECK_ERR(rc, FASTN_ERR_SIG_MALFORMED);
            break;
        }
    }
    CHECK_ERR(minisign_sig_parse(text, len - 1, &s, err, sizeof(err)), 0);
    CHECK_ERR(minisign_sig_parse(text, len, &s, err, sizeof(err)), 0);
    free(text);
    teardown();
}

/* Replaces line 2's algorithm bytes and re-encodes it. */
TEST(unknown_algorithm)
{
    size_t len;
    char *text, b64[128], out[16384];
    uint8_t blob[74];
    size_t got;
    struct minisign_sig s;
    char err[160] = "";
    setup(false);
    text = (char *)get("f.minisig", &len);
    char *l2 = strchr(text, '\n') + 1, *l3 = strchr(l2, '\n');
    CHECK_ERR(
        registry_base64_decode(l2, (size_t)(l3 - l2), blob, sizeof(blob), &got),
        0);
    blob[1] = 'x';
    registry_base64_encode(blob, sizeof(blob), b64);
    int n =
        snprintf(out, sizeof(out), "%.*s%s%s", (int)(l2 - text), text, b64, l3);
    CHECK_ERR(
        minisign_sig_parse((uint8_t *)out, (size_t)n, &s, err, sizeof(err)),
        FASTN_ERR_SIG_ALGORITHM);
    CHECK(strstr(err, "\"Ex\"") != NULL);
    free(text);
    teardown();
}

TEST(malformed_signature_files)
{
    static const char *const bad[] = {
        "",
        "untrusted comment: x\n",
        "not a comment\nRUS=\ntrusted comment: x\nAAAA\n",
        "untrusted comment: x\n!!!!\ntrusted comment: x\nAAAA\n",
    };
    struct minisign_sig s;
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        CHECK_ERR(minisign_sig_parse((const uint8_t *)bad[i], strlen(bad[i]),
                                     &s, NULL, 0),
                  FASTN_ERR_SIG_MALFORMED);
    /* a good file with bytes after it */
    size_t len;
    uint8_t *text;
    setup(false);
    text = get("f.minisig", &len);
    text = realloc(text, len + 2);
    memcpy(text + len, "x\n", 2);
    CHECK_ERR(minisign_sig_parse(text, len + 2, &s, NULL, 0),
              FASTN_ERR_SIG_MALFORMED);
    free(text);
    teardown();
}

TEST(public_key_forms)
{
    size_t len;
    uint8_t *text;
    struct minisign_pubkey a, b, c;
    char b64[MINISIGN_PUBKEY_B64_LEN + 1], crlf[256], err[160];
    tmp_new();
    make_key("k");
    text = get("k.pub", &len);
    CHECK_ERR(minisign_pubkey_parse(text, len, &a, err, sizeof(err)), 0);
    /* the bare base64 line, with and without its newline */
    char *line = strchr((char *)text, '\n') + 1;
    CHECK_ERR(minisign_pubkey_parse((uint8_t *)line, strlen(line), &b, NULL, 0),
              0);
    CHECK_ERR(minisign_pubkey_parse((uint8_t *)line, MINISIGN_PUBKEY_B64_LEN,
                                    &c, NULL, 0),
              0);
    CHECK_MEM(&a, &b, sizeof(a));
    CHECK_MEM(&a, &c, sizeof(a));
    minisign_pubkey_base64(&a, b64);
    CHECK(strncmp(b64, line, MINISIGN_PUBKEY_B64_LEN) == 0);
    snprintf(crlf, sizeof(crlf), "untrusted comment: x\r\n%s\r\n", b64);
    CHECK_ERR(minisign_pubkey_parse((uint8_t *)crlf, strlen(crlf), &c, NULL, 0),
              0);
    CHECK_MEM(&a, &c, sizeof(a));
    /* the key id as minisign's own comment prints it */
    char *id = strstr((char *)text, "public key ") + strlen("public key ");
    *strchr(id, '\n') = 0;
    uint8_t want[MINISIGN_KEYID_LEN];
    CHECK_ERR(minisign_key_id_parse(id, want), 0);
    CHECK_MEM(want, a.key_id, MINISIGN_KEYID_LEN);
    free(text);
    tmp_done();
}

TEST(malformed_public_keys)
{
    static const char *const bad[] = {
        "",
        "untrusted comment: only a comment\n",
        "RWShUM2zFmQlBdMxjZ+kGg0gL+JkdZ5aEu0cHODo3ry9d1g+0Z0PZJS",   /* short */
        "RWShUM2zFmQlBdMxjZ+kGg0gL+JkdZ5aEu0cHODo3ry9d1g+0Z0PZJSd!", /* long */
        "RWShUM2zFmQlBdMxjZ+kGg0gL+JkdZ5aEu0cHODo3ry9d1g+0Z0PZJS!",
        "RWShUM2zFmQlBdMxjZ+kGg0gL+JkdZ5aEu0cHODo3ry9d1g+0Z0PZJSd\nmore\n",
    };
    struct minisign_pubkey k;
    char err[160];
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        CHECK_ERR(minisign_pubkey_parse((const uint8_t *)bad[i], strlen(bad[i]),
                                        &k, err, sizeof(err)),
                  FASTN_ERR_KEY_MALFORMED);
    /* a signature's line is not a key: another algorithm's prefix */
    const char *good =
        "RWShUM2zFmQlBdMxjZ+kGg0gL+JkdZ5aEu0cHODo3ry9d1g+0Z0PZJSd";
    CHECK_ERR(
        minisign_pubkey_parse((const uint8_t *)good, strlen(good), &k, NULL, 0),
        0);
    uint8_t blob[42];
    size_t got;
    char b64[64];
    CHECK_ERR(
        registry_base64_decode(good, strlen(good), blob, sizeof(blob), &got),
        0);
    blob[0] = 'X';
    registry_base64_encode(blob, sizeof(blob), b64);
    CHECK_ERR(minisign_pubkey_parse((uint8_t *)b64, strlen(b64), &k, NULL, 0),
              FASTN_ERR_SIG_ALGORITHM);
}

TEST(key_id_hex)
{
    uint8_t id[MINISIGN_KEYID_LEN] = {0xa1, 0x50, 0xd3, 0xb3,
                                      0x16, 0x64, 0x25, 0x05};
    uint8_t back[MINISIGN_KEYID_LEN];
    char hex[MINISIGN_KEYID_HEX_LEN + 1];
    minisign_key_id_hex(id, hex);
    /* little-endian, as minisign prints it */
    CHECK_STR(hex, "05256416B3D350A1");
    CHECK_ERR(minisign_key_id_parse(hex, back), 0);
    CHECK_MEM(id, back, sizeof(id));
    CHECK_ERR(minisign_key_id_parse("5256416b3d350a1", back), 0);
    CHECK_MEM(id, back, sizeof(id));
    CHECK_ERR(minisign_key_id_parse("", back), FASTN_ERR_INVAL);
    CHECK_ERR(minisign_key_id_parse("05256416B3D350A1F", back),
              FASTN_ERR_INVAL);
    CHECK_ERR(minisign_key_id_parse("0525641G", back), FASTN_ERR_INVAL);
}

TEST(printable_text)
{
    CHECK(minisign_text_is_printable("timestamp:1\tfile:chat.wasm", 26));
    CHECK(minisign_text_is_printable("caf\xc3\xa9 \xe2\x82\xac", 9));
    CHECK(!minisign_text_is_printable("a\nb", 3));
    CHECK(!minisign_text_is_printable("\x7f", 1));
    CHECK(!minisign_text_is_printable("\xc2\x9b", 2));     /* C1 CSI */
    CHECK(!minisign_text_is_printable("\xc0\xaf", 2));     /* overlong */
    CHECK(!minisign_text_is_printable("\xed\xa0\x80", 3)); /* surrogate */
    CHECK(!minisign_text_is_printable("\xe2\x82", 2));     /* cut */
}

int main(void)
{
    if (!have_minisign()) {
        printf("minisign is not installed (scripts/install-deps.sh test)\n");
        return 77;
    }
    RUN(prehashed_verifies);
    RUN(legacy_verifies);
    RUN(streaming_prehashed);
    RUN(streaming_legacy);
    RUN(legacy_bounded);
    RUN(flipped_bit_prehashed);
    RUN(flipped_bit_legacy);
    RUN(tampered_trusted_comment);
    RUN(tampered_trusted_comment_legacy);
    RUN(untrusted_comment_is_not_signed);
    RUN(wrong_key);
    RUN(truncated_signature_file);
    RUN(unknown_algorithm);
    RUN(malformed_signature_files);
    RUN(public_key_forms);
    RUN(malformed_public_keys);
    RUN(key_id_hex);
    RUN(printable_text);
    return test_done();
}
