/*
 * Trusted publisher keys (src/registry/keyring.c, keyring_write.c): the
 * user's and the installation's directories, add/list/remove, and bad
 * files skipped with a logged reason.
 */
#include "registry/keyring.h"

#include <ctype.h>
#include <unistd.h>

#include "registry_harness.h"
#include "test.h"
#include "util/log.h"

static char logged[4096];

static void capture(enum log_level level, const char *subsys, const char *line,
                    void *arg)
{
    (void)level, (void)arg;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof(logged) - n, "%s: %s\n", subsys, line);
}

static char user[512], sys[512];

/* Keys alice, bob (pub files in harness_dir); empty user/ and sys/. */
static void setup(void)
{
    tmp_new();
    make_key("alice");
    make_key("bob");
    tpath(user, sizeof(user), "user");
    tpath(sys, sizeof(sys), "sys");
    CHECK_EQ(mkdir(sys, 0755), 0);
    logged[0] = 0;
    log_set_sink(capture, NULL);
}

static int add(const char *pub, const char *name, struct registry_key *k,
               char *err, size_t errlen)
{
    size_t len;
    char file[64];
    snprintf(file, sizeof(file), "%s.pub", pub);
    uint8_t *text = get(file, &len);
    int rc = registry_keyring_add(user, sys, text, len, name, k, err, errlen);
    free(text);
    return rc;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_mode & 07777 : 0;
}

TEST(add_list_remove)
{
    struct registry_keyring kr;
    struct registry_key k, removed;
    char path[600], err[256] = "", hex[MINISIGN_KEYID_HEX_LEN + 1];
    setup();
    umask(077); /* the modes must not depend on it */
    CHECK_ERR(add("alice", "alice", &k, err, sizeof(err)), 0);
    CHECK_STR(k.name, "alice");
    snprintf(path, sizeof(path), "%s/alice.pub", user);
    CHECK_EQ(mode_of(user), 0755);
    CHECK_EQ(mode_of(path), 0644);
    /* what was written is a .pub minisign itself reads */
    CHECK_EQ(run("cd '%s' && echo x >m && minisign -S -s alice.key -m m "
                 ">/dev/null 2>&1 </dev/null && minisign -Vq -p '%s' -m m",
                 harness_dir, path),
             0);
    /* bob without a name is named after its key id */
    CHECK_ERR(add("bob", NULL, &k, err, sizeof(err)), 0);
    minisign_key_id_hex(k.pub.key_id, hex);
    CHECK_STR(k.name, hex);

    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_EQ(kr.n, 2);
    CHECK(registry_keyring_lookup(&kr, "alice") != NULL);
    CHECK(registry_keyring_lookup(&kr, hex) != NULL);
    CHECK(registry_keyring_lookup(&kr, "carol") == NULL);
    CHECK_EQ(registry_keyring_lookup(&kr, "alice")->source, REGISTRY_KEY_USER);
    registry_keyring_cleanup(&kr);

    /* remove by key id (any case), then by name */
    const struct registry_key *a;
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    a = registry_keyring_lookup(&kr, "alice");
    minisign_key_id_hex(a->pub.key_id, hex);
    for (char *c = hex; *c; c++)
        *c = (char)tolower(*c);
    registry_keyring_cleanup(&kr);
    CHECK_ERR(
        registry_keyring_remove(user, sys, hex, &removed, err, sizeof(err)), 0);
    CHECK_STR(removed.name, "alice");
    CHECK(access(path, F_OK) != 0);
    CHECK_ERR(
        registry_keyring_remove(user, sys, k.name, NULL, err, sizeof(err)), 0);
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_EQ(kr.n, 0);
    registry_keyring_cleanup(&kr);
    CHECK_ERR(
        registry_keyring_remove(user, sys, "alice", NULL, err, sizeof(err)),
        FASTN_ERR_KEY_NOT_FOUND);
    CHECK(strstr(err, "fastn trust list") != NULL);
    tmp_done();
}

TEST(add_refusals)
{
    char err[256] = "", hex[MINISIGN_KEYID_HEX_LEN + 1];
    struct registry_key k;
    setup();
    CHECK_ERR(add("alice", "alice", &k, err, sizeof(err)), 0);
    CHECK_ERR(add("alice", "again", NULL, err, sizeof(err)), FASTN_ERR_EXISTS);
    CHECK(strstr(err, "\"alice\"") != NULL);
    CHECK_ERR(add("bob", "alice", NULL, err, sizeof(err)), FASTN_ERR_EXISTS);
    CHECK_ERR(add("bob", "../evil", NULL, err, sizeof(err)), FASTN_ERR_INVAL);
    CHECK_ERR(add("bob", ".hidden", NULL, err, sizeof(err)), FASTN_ERR_INVAL);
    CHECK_ERR(add("bob", "", NULL, err, sizeof(err)), FASTN_ERR_INVAL);
    /* a name that is another key's id would make remove ambiguous */
    minisign_key_id_hex(k.pub.key_id, hex);
    CHECK_ERR(add("bob", hex, NULL, err, sizeof(err)), FASTN_ERR_INVAL);
    CHECK_ERR(registry_keyring_add(user, sys, (const uint8_t *)"RWSnope", 7,
                                   NULL, NULL, err, sizeof(err)),
              FASTN_ERR_KEY_MALFORMED);
    /* nothing of these was written */
    struct registry_keyring kr;
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_EQ(kr.n, 1);
    registry_keyring_cleanup(&kr);
    tmp_done();
}

/* The installation's keys are trusted, listed, and not removable here. */
TEST(installation_keys)
{
    struct registry_keyring kr;
    char err[256] = "";
    setup();
    CHECK_EQ(run("cp '%s/alice.pub' '%s/fastn-build.pub'", harness_dir, sys),
             0);
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_EQ(kr.n, 1);
    CHECK_STR(kr.keys[0].name, "fastn-build");
    CHECK_EQ(kr.keys[0].source, REGISTRY_KEY_SYSTEM);
    registry_keyring_cleanup(&kr);
    CHECK_ERR(registry_keyring_remove(user, sys, "fastn-build", NULL, err,
                                      sizeof(err)),
              FASTN_ERR_KEY_READONLY);
    CHECK(strstr(err, sys) != NULL);
    /* adding it again says the installation trusts it */
    CHECK_ERR(add("alice", "mine", NULL, err, sizeof(err)), FASTN_ERR_EXISTS);
    CHECK(strstr(err, "installation") != NULL);
    /* the same key in both directories is listed once, as the user's */
    CHECK_EQ(run("mkdir -p '%s' && cp '%s/alice.pub' '%s/a.pub'", user,
                 harness_dir, user),
             0);
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_EQ(kr.n, 1);
    CHECK_STR(kr.keys[0].name, "a");
    CHECK_EQ(kr.keys[0].source, REGISTRY_KEY_USER);
    registry_keyring_cleanup(&kr);
    /* missing directories are empty keyrings */
    CHECK_ERR(registry_keyring_load(&kr, "/nonexistent/a", NULL), 0);
    CHECK_EQ(kr.n, 0);
    registry_keyring_cleanup(&kr);
    tmp_done();
}

/* Bad files are skipped, each with its reason in the log; the good key
 * beside them still counts. */
TEST(bad_files_skipped)
{
    struct registry_keyring kr;
    setup();
    CHECK_EQ(run("mkdir -p '%s' && cd '%s' && cp ../bob.pub bob.pub && "
                 "echo garbage >garbage.pub && : >empty.pub && mkdir dir.pub "
                 "&& echo hello >README && head -c 100000 /dev/zero >big.pub "
                 "&& cp ../alice.pub 'bad name.pub' && cp ../alice.pub "
                 "alice.pub.tmp",
                 user, user),
             0);
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_EQ(kr.n, 1);
    CHECK_STR(kr.keys[0].name, "bob");
    registry_keyring_cleanup(&kr);
    CHECK(strstr(logged, "garbage.pub skipped") != NULL);
    CHECK(strstr(logged, "empty.pub skipped") != NULL);
    CHECK(strstr(logged, "dir.pub skipped") != NULL);
    CHECK(strstr(logged, "big.pub skipped") != NULL);
    CHECK(strstr(logged, "README") == NULL);
    if (test_case_failures)
        fprintf(stderr, "log:\n%s", logged);
    tmp_done();
}

/* The user's directory may not be a symbolic link (it would let whoever
 * controls the link's target decide what is trusted). */
TEST(symlinked_directory_refused)
{
    char err[256] = "";
    setup();
    CHECK_EQ(run("mkdir '%s/elsewhere' && ln -s '%s/elsewhere' '%s'",
                 harness_dir, harness_dir, user),
             0);
    CHECK_ERR(add("alice", NULL, NULL, err, sizeof(err)), FASTN_ERR_IO);
    CHECK(strstr(err, "symbolic link") != NULL);
    CHECK_EQ(run("test -z \"$(ls '%s/elsewhere')\"", harness_dir), 0);
    tmp_done();
}

TEST(signer_unknown_names_the_key)
{
    struct registry_keyring kr;
    struct minisign_sig sig;
    const struct registry_key *k = NULL;
    char err[512] = "", hex[MINISIGN_KEYID_HEX_LEN + 1];
    size_t len;
    uint8_t *text;
    setup();
    put_pattern("f", 10);
    sign_file("bob", "f", false, "x");
    text = get("f.minisig", &len);
    CHECK_ERR(minisign_sig_parse(text, len, &sig, NULL, 0), 0);
    free(text);
    CHECK_ERR(add("alice", NULL, NULL, err, sizeof(err)), 0);
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_ERR(registry_keyring_signer(&kr, &sig, &k, err, sizeof(err)),
              FASTN_ERR_UNTRUSTED);
    minisign_key_id_hex(sig.key_id, hex);
    CHECK(strstr(err, hex) != NULL);
    CHECK(strstr(err, "fastn trust add") != NULL);
    registry_keyring_cleanup(&kr);
    CHECK_ERR(add("bob", "bob", NULL, err, sizeof(err)), 0);
    CHECK_ERR(registry_keyring_load(&kr, user, sys), 0);
    CHECK_ERR(registry_keyring_signer(&kr, &sig, &k, err, sizeof(err)), 0);
    CHECK_STR(k->name, "bob");
    registry_keyring_cleanup(&kr);
    tmp_done();
}

TEST(key_names)
{
    CHECK(registry_key_name_valid("alice"));
    CHECK(registry_key_name_valid("fastn-build.2024_1"));
    CHECK(!registry_key_name_valid(""));
    CHECK(!registry_key_name_valid("-x"));
    CHECK(!registry_key_name_valid("a/b"));
    CHECK(!registry_key_name_valid("a b"));
    char longname[REGISTRY_KEY_NAME_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK(!registry_key_name_valid(longname));
    longname[REGISTRY_KEY_NAME_MAX] = 0;
    CHECK(registry_key_name_valid(longname));
}

int main(void)
{
    if (!have_minisign()) {
        printf("minisign is not installed (scripts/install-deps.sh test)\n");
        return 77;
    }
    RUN(add_list_remove);
    RUN(add_refusals);
    RUN(installation_keys);
    RUN(bad_files_skipped);
    RUN(symlinked_directory_refused);
    RUN(signer_unknown_names_the_key);
    RUN(key_names);
    return test_done();
}
