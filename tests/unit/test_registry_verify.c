/*
 * Plugin verification against the trusted keys (src/registry/verify.c):
 * a file with its .minisig, and a download checked as it is written, each
 * refusal with its own error and nothing left behind.
 */
#include "registry/verify.h"

#include <dirent.h>

#include "registry_harness.h"
#include "test.h"

static struct registry_keyring kr;
static char user[512], out_dir[512];

/* Key alice trusted (in user/), bob not; plugin p.wasm (200 KiB) signed
 * by alice, q.wasm by bob; an empty out/ for downloads. */
static void setup(bool legacy)
{
    size_t len;
    uint8_t *pub;
    tmp_new();
    make_key("alice");
    make_key("bob");
    put_pattern("p.wasm", 200 * 1024);
    put_pattern("q.wasm", 1000);
    sign_file("alice", "p.wasm", legacy, "p 1.0 by alice");
    sign_file("bob", "q.wasm", legacy, "q by bob");
    tpath(user, sizeof(user), "user");
    tpath(out_dir, sizeof(out_dir), "out");
    CHECK_EQ(mkdir(out_dir, 0755), 0);
    pub = get("alice.pub", &len);
    CHECK_ERR(
        registry_keyring_add(user, NULL, pub, len, "alice", NULL, NULL, 0), 0);
    free(pub);
    CHECK_ERR(registry_keyring_load(&kr, user, NULL), 0);
}

static void teardown(void)
{
    registry_keyring_cleanup(&kr);
    tmp_done();
}

static int verify(const char *file, struct registry_verified *v, char *err,
                  size_t errlen)
{
    char path[600];
    return registry_verify_file(&kr, tpath(path, sizeof(path), file), NULL,
                                16 << 20, v, err, errlen);
}

static void check_good_file(bool legacy)
{
    struct registry_verified v;
    char err[512] = "";
    setup(legacy);
    CHECK_ERR(verify("p.wasm", &v, err, sizeof(err)), 0);
    CHECK_STR(v.signer.name, "alice");
    CHECK_STR(v.trusted_comment, "p 1.0 by alice");
    CHECK_EQ(v.size, 200 * 1024);
    CHECK_EQ(v.alg, legacy ? MINISIGN_ALG_LEGACY : MINISIGN_ALG_PREHASHED);
    /* the sha256 is the file's, as sha256sum says */
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", v.sha256[i]);
    CHECK_EQ(run("cd '%s' && test \"$(sha256sum p.wasm | cut -c1-64)\" = %s",
                 harness_dir, hex),
             0);
    teardown();
}

TEST(file_prehashed)
{
    check_good_file(false);
}

TEST(file_legacy)
{
    check_good_file(true);
}

TEST(file_refusals)
{
    struct registry_verified v;
    char err[512] = "";
    setup(false);
    CHECK_ERR(verify("q.wasm", &v, err, sizeof(err)), FASTN_ERR_UNTRUSTED);
    CHECK(strstr(err, "fastn trust add") != NULL);
    /* a flipped bit */
    CHECK_EQ(run("cd '%s' && printf '\\001' | dd of=p.wasm bs=1 seek=5000 "
                 "conv=notrunc 2>/dev/null",
                 harness_dir),
             0);
    CHECK_ERR(verify("p.wasm", &v, err, sizeof(err)), FASTN_ERR_SIGNATURE);
    CHECK(strstr(err, "alice") != NULL);
    /* no signature */
    put_pattern("u.wasm", 10);
    CHECK_ERR(verify("u.wasm", &v, err, sizeof(err)), FASTN_ERR_NOT_FOUND);
    CHECK(strstr(err, "u.wasm.minisig") != NULL);
    /* over the size limit */
    char path[600];
    sign_file("alice", "u.wasm", false, "u");
    CHECK_ERR(registry_verify_file(&kr, tpath(path, sizeof(path), "u.wasm"),
                                   NULL, 9, &v, err, sizeof(err)),
              FASTN_ERR_TOO_LARGE);
    teardown();
}

TEST(file_tampered_comment)
{
    struct registry_verified v;
    char err[512] = "";
    setup(false);
    CHECK_EQ(run("cd '%s' && sed -i 's/^trusted comment: .*/trusted comment: "
                 "p 9.9 by alice/' p.wasm.minisig",
                 harness_dir),
             0);
    CHECK_ERR(verify("p.wasm", &v, err, sizeof(err)), FASTN_ERR_SIG_COMMENT);
    CHECK(strstr(err, "trusted comment") != NULL);
    teardown();
}

static bool dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool empty = true;
    while (d && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    if (d)
        closedir(d);
    return empty;
}

/* Runs a download of file (its bytes, maybe changed by the caller) with
 * the announced size and sha256, in pieces of step bytes. */
static int download(const char *file, const uint8_t *data, size_t len,
                    uint64_t size, const uint8_t *sha, size_t step,
                    struct registry_download *d, char *err, size_t errlen)
{
    size_t slen;
    char sig_name[64];
    struct registry_verified v;
    snprintf(sig_name, sizeof(sig_name), "%s.minisig", file);
    uint8_t *sig = get(sig_name, &slen);
    int rc = registry_download_open(d, out_dir, &kr, sig, slen, size, sha,
                                    16 << 20, err, errlen);
    free(sig);
    if (rc)
        return rc;
    for (size_t off = 0; off < len && !rc; off += step)
        rc = registry_download_write(d, data + off,
                                     len - off < step ? len - off : step);
    if (rc) {
        registry_download_abort(d);
        return rc;
    }
    rc = registry_download_finish(d, &v, err, errlen);
    if (rc)
        registry_download_cleanup(d);
    return rc;
}

TEST(download_good)
{
    struct registry_download d;
    uint8_t sha[32];
    size_t len;
    char err[512] = "";
    setup(false);
    uint8_t *data = get("p.wasm", &len);
    CHECK_ERR(registry_sha256(data, len, sha), 0);
    CHECK_ERR(
        download("p.wasm", data, len, len, sha, 4093, &d, err, sizeof(err)), 0);
    /* the file is there, whole, private until installed */
    struct stat st;
    CHECK_EQ(stat(d.path, &st), 0);
    CHECK_EQ(st.st_size, (off_t)len);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK(strncmp(d.path, out_dir, strlen(out_dir)) == 0);
    CHECK(d.minisig.len > 0);
    registry_download_abort(&d);
    CHECK(dir_empty(out_dir));
    free(data);
    teardown();
}

TEST(download_refusals)
{
    struct registry_download d;
    uint8_t sha[32], wrong[32] = {0};
    size_t len;
    char err[512] = "";
    setup(false);
    uint8_t *data = get("p.wasm", &len);
    CHECK_ERR(registry_sha256(data, len, sha), 0);
    /* the index's sha256 is not the file's */
    CHECK_ERR(
        download("p.wasm", data, len, len, wrong, 65536, &d, err, sizeof(err)),
        FASTN_ERR_SHA256_MISMATCH);
    CHECK(dir_empty(out_dir));
    /* shorter and longer than announced */
    CHECK_ERR(download("p.wasm", data, len - 1, len, NULL, 65536, &d, err,
                       sizeof(err)),
              FASTN_ERR_SIZE_MISMATCH);
    CHECK_ERR(download("p.wasm", data, len, len - 1, NULL, 65536, &d, err,
                       sizeof(err)),
              FASTN_ERR_SIZE_MISMATCH);
    CHECK(dir_empty(out_dir));
    /* a flipped bit with no sha256 to compare: the signature catches it */
    data[100] ^= 1;
    CHECK_ERR(
        download("p.wasm", data, len, len, NULL, 65536, &d, err, sizeof(err)),
        FASTN_ERR_SIGNATURE);
    /* and with the true sha256, that catches it first */
    CHECK_ERR(
        download("p.wasm", data, len, len, sha, 65536, &d, err, sizeof(err)),
        FASTN_ERR_SHA256_MISMATCH);
    CHECK(dir_empty(out_dir));
    free(data);
    /* an untrusted signer is refused before any file is made */
    data = get("q.wasm", &len);
    CHECK_ERR(
        download("q.wasm", data, len, len, NULL, 65536, &d, err, sizeof(err)),
        FASTN_ERR_UNTRUSTED);
    /* a plugin over the limit, before any byte */
    size_t slen;
    uint8_t *sig = get("p.wasm.minisig", &slen);
    CHECK_ERR(registry_download_open(&d, out_dir, &kr, sig, slen, 17 << 20,
                                     NULL, 16 << 20, err, sizeof(err)),
              FASTN_ERR_FETCH_TOO_LARGE);
    CHECK_ERR(registry_download_open(&d, out_dir, &kr, sig, slen - 30, 10, NULL,
                                     16 << 20, err, sizeof(err)),
              FASTN_ERR_SIG_MALFORMED);
    free(sig);
    CHECK(dir_empty(out_dir));
    free(data);
    teardown();
}

int main(void)
{
    if (!have_minisign()) {
        printf("minisign is not installed (scripts/install-deps.sh test)\n");
        return 77;
    }
    RUN(file_prehashed);
    RUN(file_legacy);
    RUN(file_refusals);
    RUN(file_tampered_comment);
    RUN(download_good);
    RUN(download_refusals);
    return test_done();
}
