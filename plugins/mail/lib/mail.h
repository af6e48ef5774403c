/*
 * The mail plugin's core: portable C without I/O (bytes in, bytes out,
 * callbacks for what needs the plugin's state), built natively for tests
 * and fuzzing and to wasm32 for the plugin (plugins/mail/lib/module.mk).
 *
 *   addresses   NAME@<PeerID as a base32 CIDv1, libp2p-key>.fastn
 *   smtp        an RFC 5321 submission server as a state machine
 *   imap        RFC 3501 command framing, parsing and reply formatting
 *   store       folders and messages over the plugin SQL ABI
 *
 * Errors are enum fastn_err codes (include/fastn/err.h). docs/MAIL.md
 * describes the design.
 */
#ifndef FASTN_MAIL_H
#define FASTN_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- addresses (addr.c) ------------------------------------------------ */

/* The fixed suffix of every fastn mail domain. */
#define MAIL_DOMAIN_SUFFIX ".fastn"
/* Longest PeerID multihash (as src/util/peer_id.h). */
#define MAIL_PEER_MAX 64
/* RFC 5321 4.5.3.1.1: a local part is at most 64 octets. */
#define MAIL_LOCAL_MAX 64
/* A domain's text: 'b' + base32 of (2 + 64) bytes + suffix, plus NUL. */
#define MAIL_DOMAIN_MAX 128
#define MAIL_ADDR_MAX (MAIL_LOCAL_MAX + 1 + MAIL_DOMAIN_MAX)

struct mail_addr {
    char local[MAIL_LOCAL_MAX + 1]; /* NUL-terminated, as written */
    uint8_t peer[MAIL_PEER_MAX];    /* the PeerID's binary multihash */
    size_t peer_len;
};

/* Is p[0..n) a PeerID multihash we accept (identity of at most 42 bytes,
 * or sha2-256)? The same rule as src/util/peer_id.c. */
bool mail_peer_is_valid(const uint8_t *p, size_t n);

/* Formats a PeerID (binary multihash) as its mail domain, lowercase:
 * "b" + base32(CIDv1, libp2p-key, multihash) + ".fastn", NUL-terminated.
 * Returns the length. Errors: _BAD_PEER_ID, _TOO_LARGE (cap too small). */
int mail_domain_format(const uint8_t *peer, size_t n, char *out, size_t cap);

/* Parses a mail domain (any letter case, as mail software may change it;
 * one trailing dot allowed) into the PeerID's multihash. Returns its
 * length. Errors: _BAD_PEER_ID (not <cid>.fastn or not a PeerID),
 * _TOO_LARGE (cap too small). */
int mail_domain_parse(const char *s, size_t n, uint8_t *peer, size_t cap);

/* Parses "NAME@DOMAIN" (a dot-atom local part, RFC 5322 3.4.1; quoted
 * local parts are refused). Errors: _MALFORMED (the local part or the
 * '@'), _BAD_PEER_ID (the domain). */
int mail_addr_parse(const char *s, size_t n, struct mail_addr *out);

/* Formats NAME@DOMAIN, NUL-terminated; returns the length. Errors:
 * _MALFORMED (local part not a dot-atom), _BAD_PEER_ID, _TOO_LARGE. */
int mail_addr_format(const char *local, const uint8_t *peer, size_t n,
                     char *out, size_t cap);

/* --- SMTP submission (smtp.c) ------------------------------------------ */

/* RFC 5321 4.5.3.1.4/6: a command line is at most 512 octets with its
 * CRLF (we take 1024 for long AUTH responses), a text line 1000. */
#define MAIL_SMTP_LINE_MAX 1024
#define MAIL_SMTP_SIZE_DEFAULT (25u * 1024 * 1024)
#define MAIL_SMTP_RCPT_MAX 100
#define MAIL_SMTP_OUT_MAX 4096

/* What the state machine asks of the plugin. Every callback but data_abort
 * returns 0 or an error code; the machine turns the code into the reply
 * (docs/MAIL.md lists them). Strings are not NUL-terminated. */
struct mail_smtp_cb {
    void *ctx;
    /* A username and password (AUTH PLAIN or LOGIN). 0: authenticated;
     * _PERM: wrong credentials (535); other: temporary failure (454). */
    int (*auth)(void *ctx, const char *user, size_t ulen, const char *pass,
                size_t plen);
    /* MAIL FROM's reverse path ("" for <>). 0, or _PERM (550 5.7.1: not
     * an address this user may send as), other: 451. */
    int (*mail_from)(void *ctx, const char *addr, size_t n);
    /* One RCPT TO's address. 0; _MALFORMED or _BAD_PEER_ID (553: not a
     * fastn address); _NOT_FOUND (550); other: 451. */
    int (*rcpt)(void *ctx, const char *addr, size_t n);
    /* The message after dot-unstuffing, in order, in chunks (never the
     * whole message at once). An error: 451 at the end of DATA. */
    int (*data)(void *ctx, const uint8_t *p, size_t n);
    /* The message ended (<CRLF>.<CRLF>) within the size limit: 0 accepts
     * it (250), an error refuses it (451). */
    int (*data_end)(void *ctx);
    /* The transaction begun by mail_from ended without data_end (RSET,
     * EHLO, HELO, the size limit, QUIT, mail_smtp_cleanup). */
    void (*data_abort)(void *ctx);
};

enum mail_smtp_state {
    MAIL_SMTP_GREET,      /* before EHLO/HELO */
    MAIL_SMTP_READY,      /* after EHLO, no transaction */
    MAIL_SMTP_MAIL,       /* after MAIL FROM */
    MAIL_SMTP_RCPT,       /* at least one RCPT TO accepted */
    MAIL_SMTP_DATA,       /* reading the message */
    MAIL_SMTP_AUTH_PLAIN, /* waiting for the AUTH PLAIN response */
    MAIL_SMTP_AUTH_USER,  /* AUTH LOGIN: waiting for the username */
    MAIL_SMTP_AUTH_PASS,  /* AUTH LOGIN: waiting for the password */
    MAIL_SMTP_CLOSED,     /* after QUIT or 421: read no more */
};

struct mail_smtp {
    enum mail_smtp_state state;
    enum mail_smtp_state after_auth; /* where AUTH returns */
    struct mail_smtp_cb cb;
    char host[64];
    uint64_t size_max;
    bool authed, in_txn, too_big, data_failed, line_too_long;
    unsigned rcpts, errors, auth_failures;
    uint64_t data_size;
    int data_at; /* where in "\r\n.\r\n" the message's bytes are */
    char user[256];
    size_t user_len;
    char line[MAIL_SMTP_LINE_MAX];
    size_t line_len;
    uint8_t out[MAIL_SMTP_OUT_MAX];
    size_t out_len;
};

/* Starts a session: queues the 220 greeting naming host. size_max 0 means
 * MAIL_SMTP_SIZE_DEFAULT. Callbacks may be NULL (then: accepted). */
void mail_smtp_init(struct mail_smtp *s, const char *host, uint64_t size_max,
                    const struct mail_smtp_cb *cb);
/* Ends a session (calls data_abort for an open transaction). */
void mail_smtp_cleanup(struct mail_smtp *s);

/* Feeds bytes from the client. Returns how many were consumed: fewer than
 * n when the replies waiting (mail_smtp_output) pass half their buffer,
 * so a client that pipelines without reading is paced by its reading;
 * send the output, consume it, then feed the rest. Returns 0 with
 * nothing done after the session closed (mail_smtp_is_closed). */
size_t mail_smtp_feed(struct mail_smtp *s, const uint8_t *p, size_t n);
/* The replies waiting to be sent, and how many the caller has sent. */
const uint8_t *mail_smtp_output(const struct mail_smtp *s, size_t *len);
void mail_smtp_consume(struct mail_smtp *s, size_t n);
/* After QUIT (221) or a 421: send the output, then close. */
bool mail_smtp_is_closed(const struct mail_smtp *s);

/* --- helpers (util.c) --------------------------------------------------- */

/* RFC 4648 base64 with padding, strict (no spaces, canonical padding).
 * Returns the decoded length. Errors: _MALFORMED, _TOO_LARGE. */
int mail_base64_decode(const char *s, size_t n, uint8_t *out, size_t cap);
/* Returns the encoded length (NUL-terminated). Errors: _TOO_LARGE. */
int mail_base64_encode(const uint8_t *p, size_t n, char *out, size_t cap);
/* ASCII case-insensitive comparison of n bytes / prefix. */
bool mail_ieq(const char *a, size_t an, const char *b);
bool mail_iprefix(const char *s, size_t n, const char *prefix);

#endif
