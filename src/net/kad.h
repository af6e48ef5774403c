/*
 * Kademlia DHT (`/ipfs/kad/1.0.0`, libp2p/specs kad-dht/README.md),
 * sans-I/O: the message codec, XOR distance over SHA-256 keys, the
 * k-bucket routing table (with its file form, kept across restarts), the
 * iterative lookup, the provider and value stores, and the server's
 * answers.
 *
 * Bounds (a DHT peer is a stranger): a message is at most KAD_MAX_MSG
 * bytes, and before protobuf-c allocates anything a scan refuses one that
 * lists more than KAD_MAX_PEERS_MSG peers or KAD_MAX_ADDRS_MSG addresses
 * (a peer that "returns 10,000 closer peers" gets FASTN_ERR_NET_BAD_MESSAGE,
 * and its answer counts as a failure). Each peer keeps at most
 * KAD_PEER_ADDRS addresses that are multiaddrs fastn speaks. A lookup
 * holds at most cfg.max_candidates peers, sends at most cfg.max_queries
 * requests, never asks a peer twice and takes at most KAD_K peers from one
 * answer, so a peer that loops (answers with itself, or with peers that
 * point back) or floods ends, at worst, a bounded lookup. Stores have a
 * fixed capacity and TTLs; values are validated (the /pk/ namespace:
 * the key's PeerID must be the public key's) before they are stored or
 * believed.
 *
 * Driving it:
 *  - Client RPC: kad_request_encode() a request on a new stream to a peer
 *    (after the negotiation of KAD_PROTOCOL_ID), read one length-prefixed
 *    answer (an lp_reader bounded by KAD_MAX_MSG; ADD_PROVIDER has none),
 *    kad_msg_decode() it. Close or reset the stream.
 *  - Lookups: kad_lookup_init() with the table's closest peers, then loop:
 *    kad_lookup_next() gives a peer to query (at most alpha in flight);
 *    report each answer with kad_lookup_response() or its failure
 *    (error, reset, timeout) with kad_lookup_failed(); call
 *    kad_lookup_tick() at kad_lookup_deadline() (per-query timeout).
 *    Done when kad_lookup_next() returns KAD_LOOKUP_DONE; the result is
 *    kad_lookup_closest(). Peers that answered are worth adding to the
 *    routing table (kad_table_add), those that failed worth
 *    kad_table_failed().
 *  - Server: for each request on an incoming stream, kad_server_handle()
 *    appends the answer (none for ADD_PROVIDER); several requests may
 *    come on one stream. Only a daemon in server mode (publicly reachable)
 *    announces the protocol.
 *  - Persistence: kad_table_save() at exit (and now and then),
 *    kad_table_load() at start; the file is versioned and every entry is
 *    checked on load.
 * Time is passed in (microseconds, monotonic); `unix_s` where records
 * carry wall-clock times.
 */
#ifndef FASTN_NET_KAD_H
#define FASTN_NET_KAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/addr.h"
#include "util/buf.h"
#include "util/multiaddr.h"
#include "util/peer_id.h"

#define KAD_PROTOCOL_ID "/ipfs/kad/1.0.0"
#define KAD_K 20
#define KAD_ALPHA 3
#define KAD_MAX_MSG (128 * 1024)
#define KAD_MAX_PEERS_MSG 64
#define KAD_MAX_ADDRS_MSG 1024
#define KAD_PEER_ADDRS 8
#define KAD_PEERS_LIST 32 /* peers kept per list of a decoded message */
#define KAD_KEY_MAX 256
#define KAD_VALUE_MAX (16 * 1024)
#define KAD_HASH_LEN 32

enum kad_type {
    KAD_PUT_VALUE = 0,
    KAD_GET_VALUE = 1,
    KAD_ADD_PROVIDER = 2,
    KAD_GET_PROVIDERS = 3,
    KAD_FIND_NODE = 4,
    KAD_PING = 5,
};

enum kad_conn {
    KAD_NOT_CONNECTED = 0,
    KAD_CONNECTED = 1,
    KAD_CAN_CONNECT = 2,
    KAD_CANNOT_CONNECT = 3,
};

struct kad_peer {
    struct peer_id id;
    enum kad_conn conn;
    size_t n_addrs;
    struct multiaddr addrs[KAD_PEER_ADDRS];
};

struct kad_msg {
    enum kad_type type;
    size_t key_len;
    uint8_t key[KAD_KEY_MAX];
    bool has_record;
    size_t rec_key_len, value_len;
    uint8_t rec_key[KAD_KEY_MAX];
    uint8_t value[KAD_VALUE_MAX];
    size_t n_closer, n_providers;
    struct kad_peer closer[KAD_PEERS_LIST];
    struct kad_peer providers[KAD_PEERS_LIST];
    size_t dropped; /* peers and addresses past the limits or invalid */
};

/* A heap kad_msg (it is large); kad_msg_free(NULL) does nothing. */
struct kad_msg *kad_msg_new(void);
void kad_msg_free(struct kad_msg *m);

/* Appends m as one length-prefixed message. Errors: FASTN_ERR_TOO_LARGE
 * (over KAD_MAX_MSG), NOMEM. */
int kad_msg_encode(const struct kad_msg *m, struct buf *out);
/* A request of type for key (FIND_NODE: a PeerID's bytes). */
int kad_request_encode(enum kad_type type, const uint8_t *key, size_t n,
                       struct buf *out);
/* Decodes one message body into out. Errors: FASTN_ERR_NET_BAD_MESSAGE
 * (malformed, over KAD_MAX_MSG, too many peers or addresses, an unknown
 * type, a key or value over its maximum). Peers with a bad PeerID and
 * addresses fastn cannot use are dropped and counted. */
int kad_msg_decode(const uint8_t *p, size_t n, struct kad_msg *out);

/* --- distance ------------------------------------------------------------ */

/* SHA-256 of p: the point in the key space of a key or a PeerID's bytes. */
void kad_hash(const uint8_t *p, size_t n, uint8_t out[KAD_HASH_LEN]);
/* Length of the common prefix of a and b in bits (256 when equal). */
unsigned kad_common_prefix(const uint8_t a[KAD_HASH_LEN],
                           const uint8_t b[KAD_HASH_LEN]);
/* <0, 0, >0 as a is closer to target than b, as close, farther. */
int kad_distance_cmp(const uint8_t target[KAD_HASH_LEN],
                     const uint8_t a[KAD_HASH_LEN],
                     const uint8_t b[KAD_HASH_LEN]);

/* --- routing table ------------------------------------------------------- */

#define KAD_ENTRY_ADDRS 4
#define KAD_REPLACEMENTS 5 /* per bucket */
#define KAD_BUCKETS 257    /* by common prefix length with self, 0..256 */
/* An entry not heard from this long may be replaced by a new peer. */
#define KAD_STALE_US (15 * 60 * 1000000ull)

struct kad_entry {
    struct peer_id id;
    uint8_t hash[KAD_HASH_LEN];
    uint64_t last_seen;
    size_t n_addrs;
    struct multiaddr addrs[KAD_ENTRY_ADDRS];
};

struct kad_bucket {
    size_t n, n_repl;
    struct kad_entry e[KAD_K];               /* least recently seen first */
    struct kad_entry repl[KAD_REPLACEMENTS]; /* newest last */
};

struct kad_table {
    struct peer_id self;
    uint8_t self_hash[KAD_HASH_LEN];
    size_t size;
    struct kad_bucket *b[KAD_BUCKETS]; /* allocated on first use */
};

enum kad_add_result {
    KAD_ADD_UPDATED = 0, /* known: addresses and last seen refreshed */
    KAD_ADD_ADDED = 1,
    /* the bucket is full of live peers: the newcomer waits in the
     * replacement cache; ping *check (the least recently seen) and report
     * kad_table_failed() if it does not answer */
    KAD_ADD_FULL = 2,
};

void kad_table_init(struct kad_table *t, const struct peer_id *self);
void kad_table_cleanup(struct kad_table *t);
/* Adds or refreshes a peer that answered us (addrs: at most
 * KAD_ENTRY_ADDRS kept). A stale entry (KAD_STALE_US) of a full bucket is
 * replaced at once. Errors: FASTN_ERR_INVAL (ourselves), NOMEM. */
int kad_table_add(struct kad_table *t, const struct peer_id *id,
                  const struct multiaddr *addrs, size_t n, uint64_t now,
                  struct peer_id *check);
/* The peer did not answer: it leaves the table and the newest
 * replacement of its bucket takes its place. */
void kad_table_failed(struct kad_table *t, const struct peer_id *id);
const struct kad_entry *kad_table_find(const struct kad_table *t,
                                       const struct peer_id *id);
/* The up to max entries closest to target, closest first. */
size_t kad_table_closest(const struct kad_table *t,
                         const uint8_t target[KAD_HASH_LEN],
                         const struct kad_entry **out, size_t max);
size_t kad_table_size(const struct kad_table *t);

/* The file form: "FKAD", version 1, then per entry the PeerID and its
 * addresses, each length-prefixed. Appends to out. */
int kad_table_save(const struct kad_table *t, struct buf *out);
/* Loads entries saved by kad_table_save into t (as seen at now). Errors:
 * FASTN_ERR_MALFORMED (not such a file, a bad entry: nothing after it is
 * loaded, what came before stays), FASTN_ERR_UNSUPPORTED (another
 * version), NOMEM. At most KAD_LOAD_MAX entries are read. */
#define KAD_LOAD_MAX 4096
int kad_table_load(struct kad_table *t, const uint8_t *p, size_t n,
                   uint64_t now);

/* --- lookups ------------------------------------------------------------- */

struct kad_lookup_config {
    unsigned k;                /* KAD_K */
    unsigned alpha;            /* KAD_ALPHA */
    size_t max_candidates;     /* 200, at most KAD_LOOKUP_MAX */
    unsigned max_queries;      /* 100 */
    uint64_t query_timeout_us; /* 10 s */
};

#define KAD_LOOKUP_MAX 512
#define KAD_LOOKUP_DONE 2

enum kad_cand_state {
    KAD_CAND_NEW,
    KAD_CAND_INFLIGHT,
    KAD_CAND_OK,
    KAD_CAND_FAILED
};

struct kad_cand {
    struct peer_id id;
    uint8_t hash[KAD_HASH_LEN];
    enum kad_cand_state state;
    uint64_t sent_at;
    size_t n_addrs;
    struct multiaddr addrs[KAD_ENTRY_ADDRS];
};

struct kad_lookup {
    struct kad_lookup_config cfg;
    enum kad_type type;
    uint8_t target[KAD_HASH_LEN];
    size_t key_len;
    uint8_t key[KAD_KEY_MAX];
    struct peer_id self;
    unsigned inflight, queries;
    bool stopped;
    size_t n;
    struct kad_cand *c; /* sorted by distance, closest first */
};

struct kad_query {
    const struct kad_cand *peer;
    enum kad_type type;
    const uint8_t *key;
    size_t key_len;
};

void kad_lookup_config_default(struct kad_lookup_config *cfg);
/* Starts a lookup of type for key from seeds (the table's closest).
 * Errors: INVAL (an empty key or one over KAD_KEY_MAX), NOMEM. */
int kad_lookup_init(struct kad_lookup *lk, const struct kad_lookup_config *cfg,
                    enum kad_type type, const uint8_t *key, size_t key_len,
                    const struct peer_id *self,
                    const struct kad_entry *const *seeds, size_t n_seeds);
void kad_lookup_cleanup(struct kad_lookup *lk);
/* 1 with *q: send q->type for q->key to q->peer now (it is counted in
 * flight; q's pointers are valid until the next call into the lookup:
 * copy the peer's id and addresses); 0: wait for answers;
 * KAD_LOOKUP_DONE: finished. */
int kad_lookup_next(struct kad_lookup *lk, uint64_t now, struct kad_query *q);
/* peer answered with m: its closer peers join the candidates. Errors:
 * FASTN_ERR_NOT_FOUND (no query to that peer is in flight). */
int kad_lookup_response(struct kad_lookup *lk, const struct peer_id *peer,
                        const struct kad_msg *m);
void kad_lookup_failed(struct kad_lookup *lk, const struct peer_id *peer);
/* Fails queries in flight longer than the timeout. */
void kad_lookup_tick(struct kad_lookup *lk, uint64_t now);
uint64_t kad_lookup_deadline(const struct kad_lookup *lk);
/* Ends the lookup early (e.g. FIND_NODE found its peer). */
void kad_lookup_stop(struct kad_lookup *lk);
/* The up to max closest peers that answered, closest first. */
size_t kad_lookup_closest(const struct kad_lookup *lk,
                          const struct kad_cand **out, size_t max);
/* A candidate with exactly this PeerID (FIND_NODE's goal), or NULL. */
const struct kad_cand *kad_lookup_get(const struct kad_lookup *lk,
                                      const struct peer_id *id);

/* --- records and providers ----------------------------------------------- */

#define KAD_PROVIDER_TTL_US (24 * 3600 * 1000000ull) /* spec: 24 h */
#define KAD_RECORD_TTL_US (36 * 3600 * 1000000ull)

/* Checks a record: the /pk/ namespace (value: a protobuf PublicKey whose
 * PeerID is the key's), nothing else is accepted. Errors:
 * FASTN_ERR_NET_RECORD_INVALID. */
int kad_record_validate(const uint8_t *key, size_t klen, const uint8_t *value,
                        size_t vlen);

struct kad_provider {
    uint8_t key[KAD_KEY_MAX];
    size_t key_len;
    struct peer_id id;
    size_t n_addrs;
    struct multiaddr addrs[KAD_ENTRY_ADDRS];
    uint64_t expire_at;
};

struct kad_value {
    uint8_t key[KAD_KEY_MAX];
    size_t key_len, len;
    uint8_t *value;
    uint64_t expire_at;
};

struct kad_store {
    size_t max_providers, max_values, n_providers, n_values;
    struct kad_provider *providers;
    struct kad_value *values;
};

/* A store with room for max_providers provider records and max_values
 * values. Errors: NOMEM. */
int kad_store_init(struct kad_store *s, size_t max_providers,
                   size_t max_values);
void kad_store_cleanup(struct kad_store *s);
/* Adds or refreshes a provider of key. Errors: FASTN_ERR_INVAL (a key
 * over KAD_KEY_MAX), FASTN_ERR_TOO_LARGE (the store is full of live
 * records). */
int kad_store_add_provider(struct kad_store *s, const uint8_t *key, size_t n,
                           const struct kad_peer *p, uint64_t now);
/* Up to max live providers of key. */
size_t kad_store_providers(const struct kad_store *s, const uint8_t *key,
                           size_t n, uint64_t now,
                           const struct kad_provider **out, size_t max);
/* Stores a validated value (replacing the one there). Errors:
 * FASTN_ERR_NET_RECORD_INVALID, FASTN_ERR_TOO_LARGE (full, or a value
 * over KAD_VALUE_MAX), NOMEM. */
int kad_store_put_value(struct kad_store *s, const uint8_t *key, size_t klen,
                        const uint8_t *value, size_t vlen, uint64_t now);
const struct kad_value *kad_store_get_value(const struct kad_store *s,
                                            const uint8_t *key, size_t n,
                                            uint64_t now);
/* Drops expired records. */
void kad_store_expire(struct kad_store *s, uint64_t now);

/* --- the server ---------------------------------------------------------- */

struct kad_server {
    struct kad_table *table;
    struct kad_store *store;
    struct addr_policy policy; /* which provider addresses to keep */
    /* Optional: the addresses of a peer we are connected to but that is
     * not in the table (a DHT client behind a NAT, with its circuit
     * addresses): a FIND_NODE for it answers with them, as go- and
     * js-libp2p's servers do. At most max into out. */
    size_t (*connected_addrs)(void *arg, const struct peer_id *peer,
                              struct multiaddr *out, size_t max);
    void *arg;
};

/* Answers one request body from peer `from` into out (nothing for
 * ADD_PROVIDER). Returns 0, or FASTN_ERR_NET_BAD_MESSAGE (reset the
 * stream), FASTN_ERR_NET_RECORD_INVALID (a PUT_VALUE refused: reset),
 * NOMEM. */
int kad_server_handle(struct kad_server *s, const struct peer_id *from,
                      const uint8_t *msg, size_t n, uint64_t now,
                      struct buf *out);

#endif
