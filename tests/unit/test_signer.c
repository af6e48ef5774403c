/* Unit tests for src/identity/signer.c: the domain check (what the
 * signer signs and what it refuses), and a real signer process: the key
 * it loads or creates, signatures that verify, refusals, the size and
 * rate bounds, its seccomp filter, its end when the daemon's side closes,
 * and what the daemon's side sees when it is killed. */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "identity/identity.h"
#include "identity/signer.h"
#include "sandbox/sandbox.h"
#include "test.h"

#define PREFIX "noise-libp2p-static-key:"

static size_t noise_msg(uint8_t *m, uint8_t fill)
{
    memcpy(m, PREFIX, 24);
    memset(m + 24, fill, 32);
    return 56;
}

/* uvarint(len(domain)) domain uvarint(len(type)) type uvarint(n) payload */
static size_t envelope_msg(uint8_t *m, const char *domain, const char *type,
                           size_t tlen, size_t n)
{
    size_t k = 0, dlen = strlen(domain);
    m[k++] = (uint8_t)dlen;
    memcpy(m + k, domain, dlen);
    k += dlen;
    m[k++] = (uint8_t)tlen;
    memcpy(m + k, type, tlen);
    k += tlen;
    m[k++] = (uint8_t)(n | 0x80);
    m[k++] = (uint8_t)(n >> 7);
    memset(m + k, 7, n);
    return k + n;
}

TEST(classify)
{
    uint8_t m[512];
    size_t n = noise_msg(m, 1);

    CHECK_EQ(signer_classify(m, n), SIGNER_KIND_NOISE);
    CHECK_EQ(signer_classify(m, n - 1), SIGNER_KIND_NONE);
    m[0] = 'N';
    CHECK_EQ(signer_classify(m, n), SIGNER_KIND_NONE);
    n = envelope_msg(m, "libp2p-relay-rsvp", "\x03\x02", 2, 200);
    CHECK_EQ(signer_classify(m, n), SIGNER_KIND_RELAY_VOUCHER);
    CHECK_EQ(signer_classify(m, n - 1), SIGNER_KIND_NONE); /* short */
    m[n] = 0;
    CHECK_EQ(signer_classify(m, n + 1), SIGNER_KIND_NONE); /* trailing */
    n = envelope_msg(m, "libp2p-relay-rsvp", "\x03\x01", 2, 200);
    CHECK_EQ(signer_classify(m, n), SIGNER_KIND_NONE); /* other type */
    n = envelope_msg(m, "libp2p-peer-record", "\x03\x01", 2, 200);
    CHECK_EQ(signer_classify(m, n), SIGNER_KIND_NONE); /* other domain */
    n = envelope_msg(m, "", "", 0, 0);
    CHECK_EQ(signer_classify(m, n), SIGNER_KIND_NONE);
    CHECK_EQ(signer_classify((const uint8_t *)"hello", 5), SIGNER_KIND_NONE);
    CHECK_EQ(signer_classify(m, 0), SIGNER_KIND_NONE);
}

static int keydir(char *dir)
{
    strcpy(dir, "/tmp/fastn-signer.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    return fd;
}

static void start(struct signer *s, int dfd, bool create, int sandbox,
                  struct identity *id)
{
    struct signer_config c = {dfd, "id.key", create, sandbox};
    mode_t mode = 0;
    CHECK_ERR(signer_start(s, &c, id, &mode), 0);
    CHECK(id->signer == s);
    CHECK(s->pid > 0);
    CHECK(create || mode == 0600);
    for (size_t i = 0; i < IDENTITY_SECKEY_LEN; i++)
        CHECK(id->seckey[i] == 0);
}

TEST(signer_signs_known_kinds_only)
{
    char dir[64], path[96];
    int dfd = keydir(dir);
    struct signer s;
    struct identity id, file;
    uint8_t m[SIGNER_MSG_MAX + 8], sig[IDENTITY_SIG_LEN];
    size_t n;

    CHECK_ERR(identity_global_init(), 0);
    start(&s, dfd, true, SANDBOX_ON, &id);
    /* the key file it made holds the key whose public half we got */
    snprintf(path, sizeof(path), "%s/id.key", dir);
    CHECK_ERR(identity_load_file(path, &file), 0);
    CHECK_MEM(file.pubkey, id.pubkey, IDENTITY_PUBKEY_LEN);
    n = noise_msg(m, 9);
    CHECK_ERR(identity_sign(&id, m, n, sig), 0);
    CHECK(identity_verify(id.pubkey, m, n, sig));
    n = envelope_msg(m, "libp2p-relay-rsvp", "\x03\x02", 2, 300);
    CHECK_ERR(identity_sign(&id, m, n, sig), 0);
    CHECK(identity_verify(id.pubkey, m, n, sig));
    /* arbitrary bytes, another domain: refused */
    CHECK_ERR(identity_sign(&id, (const uint8_t *)"pay me", 6, sig),
              FASTN_ERR_NOT_ALLOWED);
    n = envelope_msg(m, "libp2p-peer-record", "\x03\x01", 2, 30);
    CHECK_ERR(identity_sign(&id, m, n, sig), FASTN_ERR_NOT_ALLOWED);
    CHECK_ERR(identity_sign(&id, m, SIGNER_MSG_MAX + 1, sig),
              FASTN_ERR_TOO_LARGE);
    /* a packet past the bound, sent raw: the signer itself refuses it */
    memset(m, 1, sizeof(m));
    CHECK(send(signer_fd(&s), m, sizeof(m), 0) == (ssize_t)sizeof(m));
    uint8_t rep[68];
    CHECK(recv(signer_fd(&s), rep, sizeof(rep), 0) == 68);
    CHECK_EQ((int32_t)((uint32_t)rep[0] << 24 | (uint32_t)rep[1] << 16 |
                       (uint32_t)rep[2] << 8 | rep[3]),
             FASTN_ERR_TOO_LARGE);
    /* it still works, under its seccomp filter */
    n = noise_msg(m, 3);
    CHECK_ERR(identity_sign(&id, m, n, sig), 0);
    pid_t pid = s.pid;
    signer_stop(&s);
    CHECK(kill(pid, 0) != 0); /* it exited, and was reaped */
    identity_cleanup(&file);
    unlink(path);
    close(dfd);
    rmdir(dir);
}

TEST(signer_rate)
{
    char dir[64], path[96];
    int dfd = keydir(dir), ok = 0, busy = 0;
    struct signer s;
    struct identity id;
    uint8_t m[64], sig[IDENTITY_SIG_LEN];
    size_t n = noise_msg(m, 5);
    struct timespec t0, t1;

    start(&s, dfd, true, SANDBOX_OFF, &id);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 3 * SIGNER_RATE; i++) {
        int rc = identity_sign(&id, m, n, sig);
        CHECK(rc == 0 || rc == FASTN_ERR_BUSY);
        ok += rc == 0;
        busy += rc == FASTN_ERR_BUSY;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) +
                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* the burst, plus what the rate refilled meanwhile */
    CHECK(ok <= SIGNER_RATE + (int)(secs * SIGNER_RATE) + 1);
    if (secs < 1.0)
        CHECK(busy > 0);
    signer_stop(&s);
    snprintf(path, sizeof(path), "%s/id.key", dir);
    unlink(path);
    close(dfd);
    rmdir(dir);
}

TEST(signer_missing_key_and_death)
{
    char dir[64], path[96], why[256];
    int dfd = keydir(dir);
    struct signer s;
    struct identity id;
    struct signer_config c = {dfd, "id.key", false, SANDBOX_ON};
    uint8_t m[64], sig[IDENTITY_SIG_LEN];
    size_t n = noise_msg(m, 5);

    CHECK_ERR(signer_start(&s, &c, &id, NULL), FASTN_ERR_NOT_FOUND);
    start(&s, dfd, true, SANDBOX_ON, &id);
    signer_stop(&s);
    start(&s, dfd, false, SANDBOX_ON, &id); /* loads the one made */
    CHECK_ERR(identity_sign(&id, m, n, sig), 0);
    CHECK(!signer_gone(&s, why, sizeof(why))); /* alive */
    kill(s.pid, SIGKILL);
    CHECK_ERR(identity_sign(&id, m, n, sig), FASTN_ERR_CLOSED);
    CHECK(signer_gone(&s, why, sizeof(why)));
    CHECK(strstr(why, "killed by signal 9") != NULL);
    CHECK_ERR(identity_sign(&id, m, n, sig), FASTN_ERR_CLOSED);
    signer_stop(&s);
    snprintf(path, sizeof(path), "%s/id.key", dir);
    unlink(path);
    close(dfd);
    rmdir(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(classify);
    RUN(signer_signs_known_kinds_only);
    RUN(signer_rate);
    RUN(signer_missing_key_and_death);
    return test_done();
}
