/*
 * Noise internals shared by noise.c, its tests and fuzz target.
 *
 * noise_crypto.c is the only file of src/net that calls libsodium. It
 * implements the Noise Protocol Framework (revision 34) objects for
 * Noise_XX_25519_ChaChaPoly_SHA256: the CipherState (ChaCha20-Poly1305
 * IETF, nonce = 4 zero bytes || little-endian 64-bit counter), the
 * SymmetricState (SHA-256, HMAC-SHA256 HKDF) and the XX HandshakeState,
 * with raw payloads and any prologue (the libp2p layer uses an empty
 * one; the published test vectors do not).
 */
#ifndef FASTN_NET_NOISE_INT_H
#define FASTN_NET_NOISE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_KEY_LEN 32
#define NOISE_HASH_LEN 32
#define NOISE_DH_LEN 32
#define NOISE_AEAD_TAG 16

struct noise_cipher {
    uint8_t k[NOISE_KEY_LEN];
    uint64_t n;
    bool has_key;
};

struct noise_symmetric {
    struct noise_cipher cs;
    uint8_t ck[NOISE_HASH_LEN];
    uint8_t h[NOISE_HASH_LEN];
};

struct noise_hs {
    struct noise_symmetric ss;
    bool initiator;
    int msg; /* index of the next handshake message, 0..3 */
    bool has_e;
    uint8_t s_priv[NOISE_DH_LEN], s_pub[NOISE_DH_LEN];
    uint8_t e_priv[NOISE_DH_LEN], e_pub[NOISE_DH_LEN];
    uint8_t rs[NOISE_DH_LEN], re[NOISE_DH_LEN];
};

/* --- primitives --------------------------------------------------------- */

void noise_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *a,
                       size_t alen, const uint8_t *b, size_t blen,
                       uint8_t out[NOISE_HASH_LEN]);
/* HKDF(chaining_key, input_key_material, 2) of the Noise spec, section 4.3. */
void noise_hkdf2(const uint8_t ck[NOISE_HASH_LEN], const uint8_t *ikm, size_t n,
                 uint8_t out1[NOISE_HASH_LEN], uint8_t out2[NOISE_HASH_LEN]);
/* X25519 public key of a private key. */
void noise_x25519_pub(const uint8_t priv[NOISE_DH_LEN],
                      uint8_t pub[NOISE_DH_LEN]);
/* Fills p with n random bytes (libsodium's CSPRNG). */
void noise_random(void *p, size_t n);
void noise_wipe(void *p, size_t n);

/* --- CipherState -------------------------------------------------------- */

void noise_cipher_init(struct noise_cipher *c, const uint8_t k[NOISE_KEY_LEN]);
/* Encrypts n bytes from src to dst (which may be src) and writes the
 * 16-byte tag at dst + n. Errors: FASTN_ERR_CRYPTO (nonce exhausted). */
int noise_cipher_seal(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
                      const uint8_t *src, size_t n, uint8_t *dst);
/* As noise_cipher_seal without associated data, of head (hn bytes,
 * which may be at dst) followed by src's n bytes: the ciphertext of both
 * goes to dst, the tag to dst + hn + n. src is read, never copied, where
 * the cipher can take the message in pieces (OpenSSL); with libsodium it
 * is copied to dst and sealed there. Errors: as noise_cipher_seal. */
int noise_cipher_seal_parts(struct noise_cipher *c, const uint8_t *head,
                            size_t hn, const uint8_t *src, size_t n,
                            uint8_t *dst);
/* Decrypts n bytes (ciphertext followed by the tag) in place; the plaintext
 * is the first n - 16 bytes. Errors: FASTN_ERR_NET_DECRYPT (forged or
 * corrupt, or shorter than a tag), FASTN_ERR_CRYPTO (nonce exhausted). */
int noise_cipher_open(struct noise_cipher *c, const uint8_t *ad, size_t adlen,
                      uint8_t *buf, size_t n);

/* One frame with an explicit nonce n and no associated data (what the
 * transport's CipherStates do), leaving no state behind but this
 * thread's cipher context: seal encrypts len bytes of buf in place and
 * writes the tag after them; open decrypts len bytes in place, checking
 * the tag after them. Safe on any thread. */
int noise_aead_at(const uint8_t k[NOISE_KEY_LEN], uint64_t n, uint8_t *buf,
                  size_t len, int seal);
/* Frees this thread's cipher contexts (a worker thread's last call). */
void noise_crypto_thread_end(void);

/* --- HandshakeState (XX) ------------------------------------------------ */

/* Initialises for Noise_XX_25519_ChaChaPoly_SHA256 with a static key. */
void noise_hs_init(struct noise_hs *hs, bool initiator, const uint8_t *prologue,
                   size_t plen, const uint8_t s_priv[NOISE_DH_LEN]);
/* Fixes the ephemeral key (tests); otherwise a random one is made when
 * the first message that needs it is written. */
void noise_hs_set_ephemeral(struct noise_hs *hs,
                            const uint8_t e_priv[NOISE_DH_LEN]);
/* Writes the next handshake message carrying payload into out (outcap
 * bytes); *outlen gets its length. Errors: FASTN_ERR_INVAL (not our turn),
 * FASTN_ERR_TOO_LARGE (out too small), FASTN_ERR_NET_HANDSHAKE (a DH gave
 * the all-zero result). */
int noise_hs_write(struct noise_hs *hs, const uint8_t *payload, size_t plen,
                   uint8_t *out, size_t outcap, size_t *outlen);
/* Reads the next handshake message in place; on success *payload and *plen
 * point at its decrypted payload inside msg. Errors: FASTN_ERR_INVAL (not
 * our turn), FASTN_ERR_NET_HANDSHAKE (too short, bad DH, or a message
 * that fails authentication). */
int noise_hs_read(struct noise_hs *hs, uint8_t *msg, size_t n,
                  uint8_t **payload, size_t *plen);
/* After the third message: the two transport CipherStates, as this side
 * uses them (tx encrypts what we send). Wipes the handshake secrets. */
void noise_hs_split(struct noise_hs *hs, struct noise_cipher *tx,
                    struct noise_cipher *rx);
bool noise_hs_done(const struct noise_hs *hs);
void noise_hs_cleanup(struct noise_hs *hs);

#endif
