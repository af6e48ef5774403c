/*
 * multistream-select 1.0 (`/multistream/1.0.0`), sans-I/O.
 *
 * Each message is a uvarint length, the text, and '\n' (the length counts
 * the newline), at most MSS_MAX_MSG bytes. Both sides first send the
 * multistream header; the dialer then proposes protocols one by one and
 * the listener echoes the one it accepts or answers "na" and waits for the
 * next proposal. "ls" asks the listener for its protocols.
 *
 * Driving it: mss_init_*() then mss_start() (append the bytes it wrote to
 * the connection), then feed every received byte to mss_input() until it
 * returns MSS_DONE. mss_input() never consumes a byte past the message
 * that completed the negotiation: the bytes after *consumed belong to the
 * negotiated protocol (a Noise message, a yamux frame, application data).
 * The dialer may send protocol data right after mss_start() when it offers
 * a single protocol (the "lazy" optimisation); the listener side copes
 * with such data arriving together with the proposal.
 */
#ifndef FASTN_NET_MSS_H
#define FASTN_NET_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define MSS_PROTOCOL_ID "/multistream/1.0.0"
/* Longest message, newline included (go-multistream and js agree). */
#define MSS_MAX_MSG 1024
/* Proposals a listener refuses before it gives up on the dialer. */
#define MSS_MAX_REJECTS 64

/* mss_input() result when a protocol has been agreed. */
#define MSS_DONE 1

/* Listener: whether a protocol (NUL-terminated, len bytes) is served. The
 * swarm routes here: its handler table decides. */
typedef bool (*mss_supports_fn)(void *arg, const char *proto, size_t len);
/* Listener, optional: fills names with up to max borrowed protocol names
 * (for "ls") and returns how many. */
typedef size_t (*mss_list_fn)(void *arg, const char **names, size_t max);

enum mss_role { MSS_DIALER, MSS_LISTENER };

struct mss {
    enum mss_role role;
    int state;
    /* dialer: protocols to try, in order (borrowed) */
    const char *const *protos;
    size_t nprotos;
    size_t cur;
    /* listener */
    mss_supports_fn supports;
    mss_list_fn list;
    void *arg;
    unsigned rejects;
    /* the message being received: uvarint then text */
    size_t want; /* text length once the uvarint is known, else 0 */
    size_t have;
    uint8_t msg[MSS_MAX_MSG + 1];
};

/* Dialer offering protos[0..n) in order of preference; the strings must
 * outlive the negotiation. Errors: FASTN_ERR_INVAL (no protocols, an empty
 * name, a name with '\n' or longer than MSS_MAX_MSG - 1). */
int mss_init_dialer(struct mss *m, const char *const *protos, size_t n);

/* Listener asking supports() about each proposal; list may be NULL (then
 * "ls" gets an empty list). */
void mss_init_listener(struct mss *m, mss_supports_fn supports,
                       mss_list_fn list, void *arg);

/* Writes the opening: the header, and for a dialer its first proposal.
 * Errors: FASTN_ERR_TOO_LARGE/NOMEM from out. */
int mss_start(struct mss *m, struct buf *out);

/* Consumes received bytes, appending replies to out. Returns MSS_DONE when
 * a protocol is agreed (*consumed bytes were used; the rest is protocol
 * data), 0 when all n bytes were used and more are needed, or an error:
 * FASTN_ERR_NET_NEGOTIATION (the peer's first message is not the
 * multistream header, or an unexpected reply), FASTN_ERR_NET_PROTO_NA
 * (dialer: the listener refused every protocol; listener: too many refused
 * proposals), FASTN_ERR_TOO_LARGE (a message over MSS_MAX_MSG),
 * FASTN_ERR_MALFORMED (no trailing newline, an empty message, a NUL
 * byte), FASTN_ERR_INVAL (called again after MSS_DONE or an error). */
int mss_input(struct mss *m, const uint8_t *p, size_t n, size_t *consumed,
              struct buf *out);

/* The agreed protocol (NUL-terminated) once mss_input() returned
 * MSS_DONE, else NULL. Borrowed from m. */
const char *mss_selected(const struct mss *m);

/* Dialer: index of the agreed protocol in the list given at init. */
size_t mss_selected_index(const struct mss *m);

/* Appends one message (uvarint length, text, '\n'). Errors: INVAL (text
 * too long), TOO_LARGE/NOMEM from out. */
int mss_write_msg(struct buf *out, const char *text, size_t len);

#endif
