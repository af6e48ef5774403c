/*
 * The signer: privilege separation for the identity key (OpenSSH's
 * monitor model). fastnd forks it before its event loop starts; the
 * signer alone reads (or creates) the key file and holds the secret key,
 * and answers the daemon over a socketpair (SOCK_SEQPACKET), the only
 * way to reach it. It signs only the payload kinds it knows (see
 * signer_classify()): a request to sign anything else is refused, so a
 * daemon taken over through the network can make handshakes and relay
 * vouchers for its own identity, no more, and never reads the key.
 *
 * Wire, one message per packet: the signer first sends a hello
 * {int32 rc, int32 errno, uint32 mode, uint8 pubkey[32]} (rc 0: the key
 * is loaded; else why not); then for each request {uint8 op = 1,
 * bytes to sign (at most SIGNER_MSG_MAX)} it answers {int32 rc,
 * uint8 sig[64]}. Requests beyond SIGNER_RATE a second (after a burst of
 * as many) are refused with FASTN_ERR_BUSY. The signer exits when the
 * daemon closes its end (or dies: PR_SET_PDEATHSIG), and ignores
 * SIGINT, SIGTERM and SIGHUP (the daemon's clean stop closes it).
 *
 * Driving it: signer_start() once, before any thread; identity_sign() on
 * an identity whose signer is set goes through signer_sign() (blocking,
 * bounded by SIGNER_TIMEOUT_MS; callable from any thread, one request at
 * a time). The daemon watches signer_fd() and stops when the signer is
 * gone (signer_gone() says how).
 */
#ifndef FASTN_IDENTITY_SIGNER_H
#define FASTN_IDENTITY_SIGNER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "identity/identity.h"

#define SIGNER_MSG_MAX 4096    /* the largest thing signed (an envelope) */
#define SIGNER_RATE 2000       /* requests a second, and the burst */
#define SIGNER_TIMEOUT_MS 5000 /* an answer later than this: signer broken */

/* What the signer signs: the libp2p Noise handshake payload (libp2p
 * noise spec, "noise-libp2p-static-key:" || the Noise static key) and
 * signed envelopes (RFC 0002) of the domains fastn seals. */
enum signer_kind {
    SIGNER_KIND_NONE = 0, /* refused */
    SIGNER_KIND_NOISE,
    SIGNER_KIND_RELAY_VOUCHER, /* "libp2p-relay-rsvp", type 0x0302 */
};

struct signer {
    int fd;    /* the daemon's end; -1 when not started or closed */
    pid_t pid; /* the signer process; 0 once reaped */
    bool broken;
    pthread_mutex_t lock;
};

/* Which payload kind msg is; SIGNER_KIND_NONE for anything else. */
enum signer_kind signer_classify(const uint8_t *msg, size_t n);

/* How the signer process starts: its key file name in dirfd (or a path,
 * AT_FDCWD), created when create is set (identity_create_at) else loaded
 * (identity_load_at); sandbox is the seccomp mode (enum sandbox_mode) it
 * installs once the key is read. */
struct signer_config {
    int dirfd;
    const char *name;
    bool create;
    int sandbox;
};

/* Forks the signer. On success out holds the public key and PeerID (no
 * secret: its seckey is zero) with out->signer = s, and *mode (may be
 * NULL) the key file's permission bits. Errors: the key errors of
 * identity_load_at()/identity_create_at() (errno set as they left it),
 * FASTN_ERR_IO (socketpair, fork, or the signer died at start). On error
 * nothing runs and s needs no stop. */
int signer_start(struct signer *s, const struct signer_config *cfg,
                 struct identity *out, mode_t *mode);

/* Asks the signer to sign msg. Errors: FASTN_ERR_NOT_ALLOWED (not a
 * payload kind it signs), _TOO_LARGE, _BUSY (over the rate), _CLOSED (the
 * signer is gone), _TIMEOUT (it did not answer; it is then considered
 * gone). */
int signer_sign(struct signer *s, const uint8_t *msg, size_t n,
                uint8_t sig[IDENTITY_SIG_LEN]);

/* The daemon's end of the socketpair, to watch: readable means the
 * signer is gone (it never writes unasked). */
int signer_fd(const struct signer *s);

/* After the daemon saw signer_fd() readable: true when the signer is
 * gone, with a line saying how (exit status or signal) in why. */
bool signer_gone(struct signer *s, char *why, size_t whylen);

/* Closes the daemon's end (the signer then exits) and reaps it (waits at
 * most a second, then kills it). Idempotent. */
void signer_stop(struct signer *s);

/* The signer's request loop on fd with key id, as the child runs it
 * (exposed for the fuzz target, which drives it over a socketpair):
 * returns when fd ends. */
void signer_serve(int fd, const struct identity *id);

#endif
