/*
 * /fastn/plugin/1.0.0: fetching a plugin from a peer (docs/REGISTRY.md).
 *
 * The asker writes one PluginRequest (plugin_xfer.proto) for a protocol
 * id or a sha256; the peer answers with one PluginOffer (its manifest
 * summary, size, sha256 and .minisig) and, unless only the offer was
 * asked for, exactly `size` raw bytes of the plugin. Both messages are
 * varint-length-prefixed protobufs, as libp2p's protocols frame them.
 *
 * This is the sans-I/O codec: encoders append frames to a struct buf;
 * the request decoder takes bytes as they arrive; the reader on the
 * asker's side turns the answer's bytes into an offer event and then
 * body pieces (borrowed from the input, so a 16 MiB plugin is never held
 * twice: the caller writes them into a registry_download, which checks
 * size, sha256 and signature). Every field is bounded and checked like an
 * index entry's, and the .minisig must parse, before anything is shown or
 * stored.
 *
 * Driving it (asker): plugin_xfer_request_encode, write the frame; then
 * for every chunk read, call plugin_xfer_reader_feed until it has used
 * the chunk (it stops after each event); at the stream's end call
 * plugin_xfer_reader_end. Any error ends the exchange (reset the stream).
 * The serving side decodes the request with plugin_xfer_request_decode,
 * answers with plugin_xfer_offer_encode, then writes the file's bytes; it
 * serves only signed plugins it has installed, bounded and rate limited
 * (the daemon's part, later).
 */
#ifndef FASTN_REGISTRY_PLUGIN_XFER_H
#define FASTN_REGISTRY_PLUGIN_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/lp.h"
#include "plugin/manifest.h"
#include "registry/index.h"
#include "registry/minisign.h"
#include "util/buf.h"

#define PLUGIN_XFER_PROTOCOL "/fastn/plugin/1.0.0"
#define PLUGIN_XFER_REQUEST_MAX 4096      /* bytes of one request */
#define PLUGIN_XFER_OFFER_MAX (64 * 1024) /* bytes of one offer */

enum plugin_xfer_status {
    PLUGIN_XFER_OK = 0,
    PLUGIN_XFER_NOT_FOUND = 1,
    PLUGIN_XFER_REFUSED = 2,
    PLUGIN_XFER_BUSY = 3,
    PLUGIN_XFER_TOO_LARGE = 4,
};

struct plugin_xfer_request {
    bool by_sha256; /* else by protocol */
    char protocol[PLUGIN_PROTOCOL_MAX + 1];
    uint8_t sha256[REGISTRY_SHA256_LEN];
    bool offer_only;
    uint64_t max_size; /* 0 on the wire means "not said" */
};

struct plugin_xfer_offer {
    enum plugin_xfer_status status;
    /* the rest only with PLUGIN_XFER_OK */
    char name[PLUGIN_NAME_MAX + 1];
    char version[PLUGIN_VERSION_MAX + 1];
    size_t n_protocols;
    char protocols[PLUGIN_PROTOCOLS_MAX][PLUGIN_PROTOCOL_MAX + 1];
    size_t n_caps;
    char caps[REGISTRY_CAPS_MAX][REGISTRY_CAP_NAME_MAX + 1];
    char summary[REGISTRY_SUMMARY_MAX + 1];
    size_t n_apps;
    char apps[PLUGIN_APPS_MAX][PLUGIN_APP_MAX + 1];
    uint64_t size;
    uint8_t sha256[REGISTRY_SHA256_LEN];
    size_t minisig_len;
    uint8_t minisig[MINISIGN_SIGFILE_MAX];
    bool bytes_follow;
};

/* Appends the request's frame to out. Errors: FASTN_ERR_INVAL (an empty
 * or bad protocol id), FASTN_ERR_TOO_LARGE (out's maximum),
 * FASTN_ERR_NOMEM. */
int plugin_xfer_request_encode(const struct plugin_xfer_request *req,
                               struct buf *out);

/* Decodes one request frame from the start of p[0..n). On success *used
 * is the frame's length. Errors: FASTN_ERR_AGAIN (more bytes needed),
 * FASTN_ERR_XFER_MALFORMED (a bad prefix or frame, over
 * PLUGIN_XFER_REQUEST_MAX, neither or both of protocol and sha256, a bad
 * protocol id), FASTN_ERR_NOMEM. */
int plugin_xfer_request_decode(const uint8_t *p, size_t n, size_t *used,
                               struct plugin_xfer_request *out);

/* Appends the offer's frame to out (for an OK offer, o is checked as the
 * reader would). Errors: FASTN_ERR_INVAL, FASTN_ERR_TOO_LARGE,
 * FASTN_ERR_NOMEM. */
int plugin_xfer_offer_encode(const struct plugin_xfer_offer *o,
                             struct buf *out);

/* Fills an OK offer from a registry entry and the plugin's .minisig. */
int plugin_xfer_offer_from_entry(struct plugin_xfer_offer *o,
                                 const struct registry_entry *e,
                                 const uint8_t *minisig, size_t minisig_len,
                                 bool bytes_follow);

/* The error an offer's status means (0 for OK): FASTN_ERR_XFER_NOT_FOUND,
 * _XFER_REFUSED (refused or busy), FASTN_ERR_FETCH_TOO_LARGE. */
int plugin_xfer_status_error(enum plugin_xfer_status s);

enum plugin_xfer_event {
    PLUGIN_XFER_NEED_MORE = 0, /* every byte given was used */
    PLUGIN_XFER_EV_OFFER = 1,  /* r->offer is complete */
    PLUGIN_XFER_EV_BODY = 2,   /* *body holds the next bytes of the file */
};

struct plugin_xfer_reader {
    struct lp_reader lp;
    uint64_t max_size;
    uint64_t body_left;
    int state; /* 0 offer, 1 body, 2 done */
    struct plugin_xfer_offer offer;
};

/* An asker's reader that accepts plugins of at most max_size bytes. */
void plugin_xfer_reader_init(struct plugin_xfer_reader *r, uint64_t max_size);
void plugin_xfer_reader_cleanup(struct plugin_xfer_reader *r);
/* Takes bytes of the answer: returns an event (>= 0) with *used the bytes
 * taken (call again with the rest), or an error: FASTN_ERR_XFER_MALFORMED
 * (a bad offer, or bytes after the file or after an offer without
 * bytes), an offer's status (plugin_xfer_status_error),
 * FASTN_ERR_FETCH_TOO_LARGE (a size over max_size), FASTN_ERR_NOMEM. */
int plugin_xfer_reader_feed(struct plugin_xfer_reader *r, const uint8_t *p,
                            size_t n, size_t *used, const uint8_t **body,
                            size_t *body_len);
/* Whether the whole answer has come (the offer, and its bytes if any):
 * then the caller finishes its download and the stream may close. */
bool plugin_xfer_reader_done(const struct plugin_xfer_reader *r);
/* At the end of the stream: 0 if the answer was whole (an offer without
 * bytes, or all the bytes), else FASTN_ERR_XFER_MALFORMED. */
int plugin_xfer_reader_end(const struct plugin_xfer_reader *r);

#endif
