/*
 * The files plugin's parts (docs/FILES.md, "The plugin"): the block store
 * in its SQLite database (store.c), the calls the `fastn files` commands
 * make (calls.c, get.c) and bitswap with peers (exchange.c). The content
 * addressing is plugins/files/lib.
 */
#ifndef FILES_PLUGIN_H
#define FILES_PLUGIN_H

#include <fastn/plugin.h>

#include "files.h"

#define BITSWAP_120 FILES_BITSWAP_PROTO_120
#define BITSWAP_110 FILES_BITSWAP_PROTO_110

/* Fetching: how many blocks are asked of one peer at once, how many a
 * session keeps wanted, how many peers one get uses. */
#define FETCH_WINDOW_PEER 16
#define FETCH_WANTS 64
#define FETCH_PEERS 8
#define FETCH_SESSIONS 4
/* Serving: wants queued per peer (the rest are dropped), bytes queued on
 * a peer's stream before more blocks are read. */
#define SERVE_QUEUE_MAX 8192
#define SERVE_OUT_HIGH (1u << 20)
/* The most one on_data brings (ABI 1). */
#define FILES_READ_MAX (64u * 1024)
/* Bytes of unread bitswap messages held for all inbound streams. */
#define INBOUND_HELD_MAX (24u << 20)
/* Fetched blocks hashed beside the plugin (fastn_hash_start): at most
 * HASH_PENDING_MAX at once, HASH_PENDING_BYTES in all (a message buffer
 * the blocks are in counted in full, once: 8 buffers of a 1 MiB block,
 * each with room for a read past its message); blocks
 * under HASH_ASYNC_MIN (which the daemon hashes at once anyway) are
 * hashed in place. */
#define HASH_PENDING_MAX FASTN_HASH_JOBS_MAX
#define HASH_PENDING_BYTES (9u << 20)
#define HASH_ASYNC_MIN (64u * 1024)
/* A buffer shared by the blocks in it (an inbound bitswap message's,
 * kept by the blocks being hashed, ahead of the walk or walked instead of
 * copies of them), freed with its last reference. size: bytes[] as
 * allocated, what the buffer counts for in the bounds above. */
struct rbuf {
    unsigned refs;
    size_t size;
    uint8_t bytes[];
};

/* --- exchange.c: reference-counted buffers --- */
/* A buffer of size bytes with one reference, or NULL. */
struct rbuf *rbuf_new(size_t size);
/* Drops a reference (a struct rbuf *; void * for files_walker_feed_ref);
 * the last frees it. NULL does nothing. */
void rbuf_unref(void *rb);

/* The most a call's answer holds (ABI 1). */
#define FILES_REPLY_MAX (1u << 20)

/* Bytes given to one stream_write: an import's work is done in one go,
 * so it is kept to a fraction of the time a slice may hold the loop
 * (plugin-slice-ms, 10 ms). The most a get_next answer holds: a call's
 * reply at most, as copying file bytes into it is quick and each answer
 * costs the CLI a round trip to the daemon. */
#define FILES_WRITE_MAX (64u * 1024)
#define FILES_ANSWER_MAX FILES_REPLY_MAX

/* files.c: an error code's text; files_why() says what to do for the
 * store's errors (full, disk full) and is fastn_err_name_ otherwise. */
const char *fastn_err_name_(int err);
const char *files_why(int err);

/* Records of the add_data call and the get_next answer: a byte OP, a
 * 32-bit little-endian length, that many bytes. */
#define REC_HEAD 5

/* --- store.c --- */
int store_open(void);
/* A block by CID into the shared buffer (valid until the next get). */
int store_get(const struct files_cid *c, const uint8_t **p, size_t *n);
int store_has(const struct files_cid *c);
/* A block kept as a blob: its size (FASTN_ERR_NOT_FOUND: not a blob, as
 * the identity and blocks of an older version are not: store_get reads
 * those), and its n bytes read straight into dst (0 or an error). */
int64_t store_blob_size(const struct files_cid *c);
int store_blob_read(const struct files_cid *c, uint8_t *dst, size_t n);
int store_put(const struct files_cid *c, const uint8_t *p, size_t n);
int store_begin(void);
int store_commit(void);
int store_root_add(const char *cid, const char *name, uint64_t size, int pin);
int store_roots(int32_t call);
int store_rm(int32_t call, const char *cid);
int store_share(int32_t call, const char *cid, const char *peer);
int files_block_save(void *ctx, const struct files_cid *cid,
                     const uint8_t *block, size_t len);

/* --- exchange.c --- */
struct xpeer;
/* The peer's slot (made if new), or NULL when the table is full. */
struct xpeer *xpeer_get(const char *id, size_t n);
const char *xpeer_id(const struct xpeer *p);
int xpeer_usable(const struct xpeer *p);
/* Asks peer for cids (want-have or want-block). */
int xpeer_want(struct xpeer *p, const struct files_cid *cids, size_t n,
               enum files_want_type type);
int xpeer_cancel(struct xpeer *p, const struct files_cid *c);

/* --- get.c: the fetch sessions the exchange reports to --- */
/* A block arrived from p: 1 it was wanted (kept), 0 it was not. With own
 * and *own (a reference to a buffer data is in), a session may take that
 * reference rather than copy the block: *own is then NULL. */
int fetch_on_block(struct xpeer *p, const struct files_cid *c,
                   const uint8_t *data, size_t n, struct rbuf **own);
void fetch_on_presence(struct xpeer *p, const struct files_cid *c,
                       enum files_presence type);
/* The blocks of a message could not be kept (err: the store is full, the
 * disk): every get ends, saying why. */
void fetch_on_store_error(int err);
/* p is gone (dropped as a liar, its stream failed). */
void fetch_on_peer_gone(struct xpeer *p);
void fetch_tick(void);
int get_call(int32_t call, const char *method, size_t mlen, const uint8_t *arg,
             size_t len);
int add_call(int32_t call, const char *method, size_t mlen, const uint8_t *arg,
             size_t len);

#endif
