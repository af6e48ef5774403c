/*
 * The files plugin's content-addressing and exchange core: CIDs and
 * multiformats, dag-pb and UnixFS, the UnixFS importer of IPFS's CID
 * profiles (IPIP-499), the verifying walker that reads a DAG back, and
 * bitswap's messages. Portable C11 with no I/O: it builds natively (unit
 * tests, fuzz targets, tools) and for wasm32-wasi (the plugin).
 *
 * Everything is sans-I/O: bytes in, blocks and events out through
 * callbacks or a step function, so that the same code runs under a test,
 * a fuzzer and the plugin's event handlers. Memory is bounded by the
 * profile (one chunk and one node per tree level while importing; one
 * node per level plus one block while walking), never by a file's size.
 *
 * Errors are the negative FASTN_ERR_* codes of include/fastn/err.h; each
 * function lists the ones it returns. Hashing goes through files_sha256()
 * (files_hash.h), which the platform provides.
 */
#ifndef FASTN_FILES_H
#define FASTN_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fastn/err.h"
#include "files_hash.h"

/* --- multiformats ------------------------------------------------------ */

/* Multicodecs (multiformats/multicodec table.csv). */
#define FILES_CODEC_RAW 0x55
#define FILES_CODEC_DAG_PB 0x70
#define FILES_CODEC_LIBP2P_KEY 0x72
/* Multihash function codes. */
#define FILES_MH_IDENTITY 0x00
#define FILES_MH_SHA2_256 0x12
/* The HAMT's hash in UnixFS Data.hashType: murmur3-x64-64. */
#define FILES_MH_MURMUR3_X64_64 0x22

/* Largest digest a CID may carry here (identity CIDs inline up to this). */
#define FILES_DIGEST_MAX 128
/* Largest binary CID: version, codec, hash code, length, digest. */
#define FILES_CID_BYTES_MAX (4 * 10 + FILES_DIGEST_MAX)
/* Room for any CID as text, with its NUL. */
#define FILES_CID_STR_MAX 288
/* A CIDv0 as text: 46 base58btc characters, "Qm...". */
#define FILES_CIDV0_STR_LEN 46

struct files_cid {
    unsigned version; /* 0 or 1 */
    uint64_t codec;   /* FILES_CODEC_*; a CIDv0 is always dag-pb */
    uint64_t mh_code; /* FILES_MH_* */
    size_t digest_len;
    uint8_t digest[FILES_DIGEST_MAX];
};

/* Encodes v as a multiformats unsigned varint into out (10 bytes suffice);
 * returns the length. */
size_t files_uvarint_put(uint64_t v, uint8_t *out);
size_t files_uvarint_len(uint64_t v);

/* Decodes a binary CID of exactly n bytes. CIDv0 is the 34-byte sha2-256
 * multihash; CIDv1 is <1><codec><multihash>, varints minimally encoded.
 * Errors: FASTN_ERR_FILES_BAD_CID (anything else, including a version
 * other than 0 or 1 and a digest over FILES_DIGEST_MAX). */
int files_cid_decode(const uint8_t *p, size_t n, struct files_cid *out);
/* The binary form into out (cap bytes); returns its length, or
 * FASTN_ERR_TOO_LARGE, FASTN_ERR_INVAL (a CIDv0 that is not dag-pb
 * sha2-256 with a 32-byte digest). */
int files_cid_encode(const struct files_cid *c, uint8_t *out, size_t cap);
size_t files_cid_encoded_len(const struct files_cid *c);

/* Parses a CID as text: a CIDv0 ("Qm...", base58btc), or a CIDv1 in a
 * multibase: b/B (base32), z (base58btc), f/F (base16). Errors:
 * FASTN_ERR_FILES_BAD_CID. */
int files_cid_parse(const char *s, size_t n, struct files_cid *out);
/* Formats as kubo and helia print: a CIDv0 in base58btc, a CIDv1 in
 * base32 lower case ("bafy..." for dag-pb, "bafk..." for raw). Returns the
 * length (a NUL follows), or FASTN_ERR_TOO_LARGE, FASTN_ERR_INVAL. */
int files_cid_format(const struct files_cid *c, char *out, size_t cap);

/* The sha2-256 CID of a block. Errors: FASTN_ERR_INVAL (version 0 with a
 * codec other than dag-pb, or a version other than 0 and 1). */
int files_cid_of(unsigned version, uint64_t codec, const void *block, size_t n,
                 struct files_cid *out);
/* Checks a block against its CID. Errors: FASTN_ERR_FILES_HASH_MISMATCH,
 * FASTN_ERR_FILES_CODEC (a hash other than sha2-256 and identity, or a
 * sha2-256 digest that is not 32 bytes). */
int files_cid_verify(const struct files_cid *c, const void *block, size_t n);
bool files_cid_eq(const struct files_cid *a, const struct files_cid *b);

/* Bitswap's block prefix: <version><codec><hash code><digest length> as
 * varints (a CIDv0's is 00 70 12 20). files_cid_prefix_decode reads one
 * and hashes data into the CID it names. Errors: FASTN_ERR_FILES_BAD_CID,
 * FASTN_ERR_FILES_CODEC (hash not supported), FASTN_ERR_TOO_LARGE. */
int files_cid_prefix_encode(const struct files_cid *c, uint8_t *out,
                            size_t cap);
int files_cid_prefix_decode(const uint8_t *prefix, size_t n, const void *data,
                            size_t data_len, struct files_cid *out);
/* files_cid_prefix_decode without the hashing: for a sha2-256 prefix
 * out gets the version, codec, hash code and length, not the digest, and
 * 1 is returned (the caller hashes data into out->digest); an identity
 * CID is whole (0). The same errors. */
int files_cid_prefix_read(const uint8_t *prefix, size_t n, const void *data,
                          size_t data_len, struct files_cid *out);

/* --- dag-pb (ipld/specs codecs/dag-pb) --------------------------------- */

struct files_pblink {
    struct files_cid cid; /* Hash: required, a valid CID */
    const uint8_t *name;  /* borrowed from the block; not NUL-terminated */
    size_t name_len;
    bool has_name;
    uint64_t tsize;
    bool has_tsize;
};

/* A decoded PBNode; every pointer borrows the block's bytes. */
struct files_pbnode {
    const uint8_t *data;
    size_t data_len;
    bool has_data;
    size_t nlinks;
    const uint8_t *links; /* the run of Links fields, validated */
    size_t links_len;
};

struct files_pblink_iter {
    const uint8_t *p;
    size_t len, off;
};

/* Decodes and validates a whole PBNode as the dag-pb spec's strictness
 * rules say: PBLink fields in field order (Hash, Name, Tsize), each at
 * most once, Hash present and a valid CID; PBNode Links contiguous,
 * before or after at most one Data; no other fields or wire types.
 * Errors: FASTN_ERR_FILES_BAD_DAG. */
int files_pbnode_decode(const uint8_t *block, size_t n,
                        struct files_pbnode *out);
void files_pbnode_links(const struct files_pbnode *nd,
                        struct files_pblink_iter *it);
/* The next link of a decoded node: 1 and *out set, or 0 at the end. */
int files_pblink_next(struct files_pblink_iter *it, struct files_pblink *out);

/* Encodes a PBNode in the canonical form: the links in the order given
 * (sorting them is the caller's: files_dir sorts), then Data when has_data;
 * each link's Name and Tsize only when present. Returns the length, or
 * FASTN_ERR_TOO_LARGE, FASTN_ERR_INVAL (a link's CID cannot be written). */
int files_pbnode_encode(const struct files_pblink *links, size_t n,
                        const uint8_t *data, size_t data_len, bool has_data,
                        uint8_t *out, size_t cap);

/* The bytes one link adds to a PBNode, with its field key and length. */
size_t files_pblink_size(size_t cid_len, size_t name_len, bool has_name,
                         uint64_t tsize, bool has_tsize);

/* --- UnixFS Data (ipfs/specs unixfs) ---------------------------------- */

enum files_unixfs_type {
    FILES_UNIXFS_RAW = 0,
    FILES_UNIXFS_DIRECTORY = 1,
    FILES_UNIXFS_FILE = 2,
    FILES_UNIXFS_METADATA = 3,
    FILES_UNIXFS_SYMLINK = 4,
    FILES_UNIXFS_HAMT_SHARD = 5,
};

struct files_unixfs {
    enum files_unixfs_type type;
    const uint8_t *data; /* borrowed */
    size_t data_len;
    bool has_data;
    uint64_t filesize;
    bool has_filesize;
    size_t nblocksizes;
    uint64_t blocksizes_sum; /* saturates at UINT64_MAX */
    bool blocksizes_overflow;
    uint64_t hash_type;
    bool has_hash_type;
    uint64_t fanout;
    bool has_fanout;
    uint32_t mode;
    bool has_mode;
    int64_t mtime_secs;
    uint32_t mtime_nsecs;
    bool has_mtime;
    bool has_mtime_nsecs;
    const uint8_t *msg; /* the whole Data message, for the iterator */
    size_t msg_len;
};

/* Decodes a UnixFS Data message (a PBNode's Data). Type is required and
 * known; singular fields appear at most once; blocksizes are unpacked
 * varints; mtime's nanoseconds are below 10^9; unknown fields are
 * skipped. Errors: FASTN_ERR_FILES_BAD_DAG. */
int files_unixfs_decode(const uint8_t *p, size_t n, struct files_unixfs *out);
/* Iterates blocksizes in order: 1 and *v set, 0 at the end. */
int files_unixfs_blocksize_next(const struct files_unixfs *u, size_t *off,
                                uint64_t *v);
/* Encodes u (its blocksizes from the array, not from u->msg) into out.
 * Returns the length, or FASTN_ERR_TOO_LARGE. */
int files_unixfs_encode(const struct files_unixfs *u, const uint64_t *bs,
                        size_t nbs, uint8_t *out, size_t cap);

/* --- profiles (IPIP-499) ---------------------------------------------- */

enum files_shard_rule {
    /* sum of link names and CIDs in bytes (kubo's legacy estimate) */
    FILES_SHARD_LINKS_BYTES,
    /* the whole serialized directory node in bytes */
    FILES_SHARD_BLOCK_BYTES,
};

struct files_profile {
    const char *name;
    unsigned cid_version;
    bool raw_leaves;
    size_t chunk_size;
    size_t max_links;
    enum files_shard_rule shard_rule;
    size_t shard_threshold; /* a directory over this many bytes shards */
    unsigned fanout_bits;   /* 8: 256-way HAMT nodes */
};

/* unixfs-v1-2025: CIDv1, raw leaves, 1 MiB chunks, 1024 links, HAMT over
 * 256 KiB by block bytes. unixfs-v0-2015: CIDv0, dag-pb leaves, 256 KiB
 * chunks, 174 links, HAMT over 256 KiB by link bytes. */
extern const struct files_profile files_profile_v1_2025;
extern const struct files_profile files_profile_v0_2015;
/* The profile with that name, or NULL. */
const struct files_profile *files_profile_find(const char *name);

/* Where every importer's block goes: cid names block[0..len). The block
 * is borrowed for the call. A non-zero return stops the import and is
 * returned by the call that produced the block. */
typedef int (*files_block_cb)(void *ctx, const struct files_cid *cid,
                              const uint8_t *block, size_t len);

enum files_kind {
    FILES_KIND_FILE = 1,
    FILES_KIND_DIR,
    FILES_KIND_SYMLINK,
};

/* What an import produced: the root CID, its DAG's cumulative size (the
 * Tsize a parent's link gives it) and, for a file, its length. */
struct files_entry {
    struct files_cid cid;
    uint64_t tsize;
    uint64_t size;
    enum files_kind kind;
};

/* --- importing a file ------------------------------------------------- */

/*
 * A streaming file importer: fixed-size chunks, a balanced tree of at most
 * max_links links per node, built bottom-up as chunks arrive (the layout
 * ipfs-unixfs-importer and boxo's balanced builder produce), so it holds
 * one chunk and one node's links per tree level, whatever the file's size.
 *
 * Driving it: _new, then _write any number of times, then _finish, which
 * gives the root; blocks go to cb as soon as they are made (leaves first,
 * each parent after its children, the root last). _reset starts another
 * file with the same buffers. After a failed call the importer stays
 * failed (every call returns that error) until _reset.
 */
struct files_importer;

/* Errors: FASTN_ERR_NOMEM, FASTN_ERR_INVAL (a profile out of range). */
int files_importer_new(const struct files_profile *p, files_block_cb cb,
                       void *ctx, struct files_importer **out);
/* Errors: what cb returns, FASTN_ERR_FILES_LIMIT (over 2^64 bytes or
 * too many tree levels), FASTN_ERR_NOMEM. */
int files_importer_write(struct files_importer *im, const void *p, size_t n);
int files_importer_finish(struct files_importer *im, struct files_entry *out);
void files_importer_reset(struct files_importer *im);
void files_importer_free(struct files_importer *im);

/* --- importing a folder ----------------------------------------------- */

/* Longest entry name, in bytes (as Linux's NAME_MAX). */
#define FILES_NAME_MAX 255
/* Most entries one folder may have. */
#define FILES_DIR_MAX_ENTRIES (1u << 20)

/* Is name acceptable as a folder entry: 1..FILES_NAME_MAX bytes, not "."
 * or "..", no '/' and no NUL. */
bool files_name_is_valid(const uint8_t *name, size_t n);

/*
 * One folder: children are added by name with what their import gave;
 * _finish writes the folder's node (links sorted by name bytes, as dag-pb
 * requires), or its HAMT shards when the profile's rule says the node
 * would be over the threshold, and gives its entry.
 */
struct files_dir;

int files_dir_new(const struct files_profile *p, files_block_cb cb, void *ctx,
                  struct files_dir **out);
/* Copies name. Errors: FASTN_ERR_FILES_BAD_NAME, FASTN_ERR_FILES_LIMIT,
 * FASTN_ERR_NOMEM, FASTN_ERR_TOO_LARGE (a child CID over
 * FILES_CID_BYTES_MAX). A name added twice fails _finish with
 * FASTN_ERR_EXISTS. */
int files_dir_add(struct files_dir *d, const char *name, size_t n,
                  const struct files_entry *child);
/* Errors: FASTN_ERR_EXISTS, what cb returns, FASTN_ERR_NOMEM,
 * FASTN_ERR_FILES_LIMIT (HAMT deeper than the hash allows). */
int files_dir_finish(struct files_dir *d, struct files_entry *out);
void files_dir_free(struct files_dir *d);

/* A symlink node (UnixFS Symlink, the target as its data), as kubo
 * preserves symlinks. Errors: what cb returns, FASTN_ERR_TOO_LARGE. */
int files_symlink_import(const struct files_profile *p, const char *target,
                         size_t n, files_block_cb cb, void *ctx,
                         struct files_entry *out);

/*
 * A tree of folders fed depth-first, as a client streams one:
 *   _dir_begin(root) ... _file_begin(name) _write... _file_end() ...
 *   _dir_begin(sub) ... _dir_end() ... _dir_end()  -> the root's entry.
 * A tree may also be one file: _file_begin then _file_end gives it.
 * Names are checked as files_dir_add checks them (the root's is not
 * used). It holds one importer and one files_dir per open folder.
 */
struct files_tree;

#define FILES_TREE_MAX_DEPTH 256

int files_tree_new(const struct files_profile *p, files_block_cb cb, void *ctx,
                   struct files_tree **out);
/* Errors: FASTN_ERR_INVAL (out of order, e.g. a file inside a file),
 * FASTN_ERR_FILES_LIMIT (deeper than FILES_TREE_MAX_DEPTH), and those of
 * files_dir_* and files_importer_*. */
int files_tree_dir_begin(struct files_tree *t, const char *name, size_t n);
int files_tree_dir_end(struct files_tree *t);
int files_tree_file_begin(struct files_tree *t, const char *name, size_t n);
int files_tree_write(struct files_tree *t, const void *p, size_t n);
int files_tree_file_end(struct files_tree *t);
int files_tree_symlink(struct files_tree *t, const char *name, size_t n,
                       const char *target, size_t tn);
/* The root's entry once the tree is complete. Errors: FASTN_ERR_AGAIN
 * (not complete yet). */
int files_tree_root(const struct files_tree *t, struct files_entry *out);
void files_tree_free(struct files_tree *t);

/* Records, as `fastn files` and the plugin exchange them (docs/FILES.md,
 * "The plugin"): a byte OP, a 32-bit little-endian length, that many
 * bytes. files_rec_next() reads the record at *off of p[0..n): 1 read
 * (*off moved past it), 0 at the end, FASTN_ERR_MALFORMED for a record
 * cut short. */
#define FILES_REC_HEAD 5
struct files_rec {
    uint8_t op;
    const uint8_t *p;
    size_t n;
};
int files_rec_next(const uint8_t *p, size_t n, size_t *off,
                   struct files_rec *r);
/* Feeds add records to t in order: 'D' name (a folder begins), 'E' (it
 * ends), 'F' name (a file begins), 'W' bytes, 'C' (the file ends), 'L'
 * name NUL target. Errors: FASTN_ERR_MALFORMED (a cut record, an unknown
 * op, a symlink without its NUL) and those of files_tree_*. */
int files_tree_records(struct files_tree *t, const uint8_t *p, size_t n);

/* --- walking (exporting) a DAG ---------------------------------------- */

/* Largest block the walker and bitswap take (the bitswap spec's 2 MiB). */
#define FILES_MAX_BLOCK (2u << 20)

struct files_walk_limits {
    uint64_t max_file_size; /* a file declaring more is refused */
    uint64_t max_entries;   /* folder entries over the whole walk */
    unsigned max_depth;     /* nodes between the root and a leaf */
    size_t max_held;        /* bytes of blocks held at once */
};

/* Defaults: 1 TiB files, 10^6 entries, depth 64, 64 MiB held. */
extern const struct files_walk_limits files_walk_defaults;

/* The blocks come from a store that checked them against their CIDs when
 * they were written: skip hashing them again. */
#define FILES_WALK_TRUSTED 1u
/* List the root folder only: its entries are reported (dag-pb children
 * are fetched for their type and size) but not entered. */
#define FILES_WALK_LIST 2u

enum files_walk_type {
    FILES_WALK_NEED = 1, /* feed the block of cid */
    FILES_WALK_DIR,      /* a folder starts: name, cid, depth */
    FILES_WALK_DIR_END,
    FILES_WALK_FILE, /* a file starts: name, cid, size, depth */
    FILES_WALK_DATA, /* the next data[0..len) of the current file */
    FILES_WALK_FILE_END,
    FILES_WALK_SYMLINK, /* name, cid, target in data[0..len) */
    FILES_WALK_DONE,
};

/* An event's pointers stay valid until the next call on the walker. */
struct files_walk_event {
    enum files_walk_type type;
    struct files_cid cid;
    const uint8_t *name; /* "" for the root */
    size_t name_len;
    unsigned depth; /* 0 for the root entry */
    uint64_t size;
    const uint8_t *data;
    size_t len;
};

/*
 * A sans-I/O walker over the DAG under a root CID: _next says which block
 * it needs (NEED) or what it found, in depth-first order (a folder's
 * entries in link order, a file's bytes in order); the caller answers a
 * NEED with _feed. Each block is checked against the CID it was asked
 * for (unless FILES_WALK_TRUSTED), each node against the spec and the
 * sizes its parent declared, each name with files_name_is_valid, each
 * HAMT entry against the bucket its name hashes to; a link back to an
 * ancestor is a loop. The first error ends the walk: every later call
 * returns it.
 *
 * _upcoming lists CIDs the walk will need next (the current node's links
 * not yet visited, in order), for fetching ahead.
 */
struct files_walker;

/* lim NULL: files_walk_defaults. Errors: FASTN_ERR_NOMEM,
 * FASTN_ERR_FILES_CODEC (a root that is neither raw nor dag-pb). */
int files_walker_new(const struct files_cid *root,
                     const struct files_walk_limits *lim, unsigned flags,
                     struct files_walker **out);
/* Errors: FASTN_ERR_FILES_BAD_DAG, _BAD_NAME, _LOOP, _LIMIT,
 * _SIZE_MISMATCH, _CODEC, _HASH_MISMATCH (from _feed), FASTN_ERR_NOMEM. */
int files_walker_next(struct files_walker *w, struct files_walk_event *ev);
/* Answers the last NEED. Errors: FASTN_ERR_INVAL (no NEED pending),
 * FASTN_ERR_FILES_LIMIT (over FILES_MAX_BLOCK), _HASH_MISMATCH, and the
 * errors of _next (a node is decoded here). */
int files_walker_feed(struct files_walker *w, const uint8_t *block, size_t len);
/* files_walker_feed of a block malloc'd by the caller, which the walker
 * keeps instead of a copy (and frees, on an error too). */
int files_walker_feed_owned(struct files_walker *w, uint8_t *block, size_t len);
/* files_walker_feed of a block inside a buffer base the caller holds a
 * reference to, which the walker takes: it keeps block instead of a copy
 * and, done with it (or on an error), calls release(base) (the last
 * release given is used for every such block). Errors: as _feed, and
 * FASTN_ERR_INVAL for a base without release. */
int files_walker_feed_ref(struct files_walker *w, const uint8_t *block,
                          size_t len, void *base, void (*release)(void *base));
size_t files_walker_upcoming(const struct files_walker *w,
                             struct files_cid *out, size_t max);
void files_walker_free(struct files_walker *w);

/* Gets a block by CID for files_walk: sets *block (borrowed until the next
 * call) and *len, or returns an error that ends the walk. */
typedef int (*files_get_cb)(void *ctx, const struct files_cid *cid,
                            const uint8_t **block, size_t *len);
/* Called for every event but NEED and DONE; non-zero stops the walk. */
typedef int (*files_event_cb)(void *ctx, const struct files_walk_event *ev);
/* A walk driven by callbacks (for blocks at hand, e.g. a local store). */
int files_walk(const struct files_cid *root,
               const struct files_walk_limits *lim, unsigned flags,
               files_get_cb get, files_event_cb on_event, void *ctx);

/* --- bitswap 1.2.0 / 1.1.0 (ipfs/specs bitswap-protocol) -------------- */

#define FILES_BITSWAP_PROTO_120 "/ipfs/bitswap/1.2.0"
#define FILES_BITSWAP_PROTO_110 "/ipfs/bitswap/1.1.0"
/* The spec: every message is at most 4 MiB. */
#define FILES_BITSWAP_MAX_MSG (4u << 20)
/* Most wantlist entries, blocks or presences one message may carry. */
#define FILES_BITSWAP_MAX_ENTRIES 8192u

enum files_want_type {
    FILES_WANT_BLOCK = 0,
    FILES_WANT_HAVE = 1,
};

enum files_presence {
    FILES_PRESENCE_HAVE = 0,
    FILES_PRESENCE_DONT_HAVE = 1,
};

struct files_bitswap_want {
    struct files_cid cid;
    int32_t priority;
    bool cancel;
    enum files_want_type type;
    bool send_dont_have;
};

struct files_bitswap_block {
    struct files_cid cid; /* computed: prefix + hash of the data */
    const uint8_t *data;  /* borrowed from the message */
    size_t len;
    /* FILES_BITSWAP_NO_HASH: cid is the prefix's, its sha2-256 digest
     * not yet computed (the caller hashes data into cid.digest) */
    bool digest_pending;
};

struct files_bitswap_presence {
    struct files_cid cid;
    enum files_presence type;
};

struct files_bitswap_msg {
    bool has_wantlist;
    bool full;
    struct files_bitswap_want *wants;
    size_t nwants;
    struct files_bitswap_block *blocks;
    size_t nblocks;
    struct files_bitswap_presence *presences;
    size_t npresences;
    int32_t pending_bytes;
};

/*
 * Decodes one message (without its length prefix). Blocks of 1.1.0+
 * (payload: prefix and data) and of 1.0.0 (blocks: data of a CIDv0) get
 * their CIDs by hashing their data, so a block's CID is what its bytes
 * are, never what the peer says. Unknown fields are skipped.
 * Errors: FASTN_ERR_FILES_BITSWAP (malformed: bad protobuf, a bad CID, an
 * unknown want or presence type), FASTN_ERR_FILES_LIMIT (over
 * FILES_BITSWAP_MAX_MSG, a block over FILES_MAX_BLOCK, over
 * FILES_BITSWAP_MAX_ENTRIES entries), FASTN_ERR_FILES_CODEC (a block
 * whose prefix names an unsupported hash), FASTN_ERR_NOMEM. On success
 * the arrays are the caller's to release with files_bitswap_msg_cleanup;
 * blocks borrow the message's bytes.
 */
int files_bitswap_decode(const uint8_t *p, size_t n,
                         struct files_bitswap_msg *out);
/* files_bitswap_decode with flags: FILES_BITSWAP_NO_HASH leaves the
 * sha2-256 blocks unhashed (digest_pending set, the digest to compute
 * from data before the CID is used), for a caller that hashes them
 * elsewhere; identity blocks are whole. The same checks and errors. */
#define FILES_BITSWAP_NO_HASH 1u
int files_bitswap_decode_flags(const uint8_t *p, size_t n, unsigned flags,
                               struct files_bitswap_msg *out);
void files_bitswap_msg_cleanup(struct files_bitswap_msg *m);

/*
 * Reads one length-prefixed message from a stream's bytes: sets *msg,
 * *msg_len and *used (prefix and body) when a whole message is there.
 * Errors: FASTN_ERR_AGAIN (need more bytes), FASTN_ERR_FILES_LIMIT (the
 * prefix announces more than FILES_BITSWAP_MAX_MSG: refuse the stream at
 * once), FASTN_ERR_FILES_BITSWAP (a malformed prefix).
 */
int files_bitswap_frame(const uint8_t *p, size_t n, const uint8_t **msg,
                        size_t *msg_len, size_t *used);
/* The bytes (prefix and body) of the message p[0..n) starts, once its
 * prefix is whole: *need. To size a buffer for it. Errors: as
 * files_bitswap_frame's (FASTN_ERR_AGAIN: the prefix is not whole). */
int files_bitswap_frame_need(const uint8_t *p, size_t n, size_t *need);

/*
 * Builds one message: add entries, blocks and presences, then _finish
 * gives the framed bytes (length prefix and message). An add that would
 * take the message over FILES_BITSWAP_MAX_MSG or the entry limit fails
 * with FASTN_ERR_FILES_LIMIT and leaves the message as it was, so the
 * caller sends what it has and starts another.
 */
/* A block of the message whose bytes the caller writes as the message
 * is encoded: they go at offset `at` of the payload section. */
struct files_bitswap_ref {
    struct files_cid cid;
    size_t at, len;
};

struct files_bitswap_builder {
    uint8_t *want, *payload, *presence; /* encoded repeated fields */
    size_t want_len, payload_len, presence_len;
    size_t want_cap, payload_cap, presence_cap;
    size_t nwants, nblocks, npresences;
    struct files_bitswap_ref *refs; /* in payload order */
    size_t nrefs, refs_cap;
    size_t ref_bytes; /* their bytes, not in payload */
    bool full;
    int32_t pending_bytes;
    uint8_t *out;
    size_t out_len;
};

void files_bitswap_builder_init(struct files_bitswap_builder *b);
void files_bitswap_builder_cleanup(struct files_bitswap_builder *b);
int files_bitswap_add_want(struct files_bitswap_builder *b,
                           const struct files_bitswap_want *w);
int files_bitswap_add_block(struct files_bitswap_builder *b,
                            const struct files_cid *cid, const uint8_t *data,
                            size_t len);
int files_bitswap_add_presence(struct files_bitswap_builder *b,
                               const struct files_cid *cid,
                               enum files_presence type);
/* Like files_bitswap_add_block, with the same bytes on the wire and the
 * same limits, but the block's len bytes are not given now: the fill
 * function of files_bitswap_finish_into writes them into the message,
 * so that they are copied once (from a store straight to the output). */
int files_bitswap_add_block_ref(struct files_bitswap_builder *b,
                                const struct files_cid *cid, size_t len);
/* The framed size the message would have now. */
size_t files_bitswap_builder_size(const struct files_bitswap_builder *b);
/* Sets *out (owned by the builder until its next use) and *len. Errors:
 * FASTN_ERR_NOMEM, FASTN_ERR_INVAL (blocks added by reference: see
 * files_bitswap_finish_into). */
int files_bitswap_finish(struct files_bitswap_builder *b, const uint8_t **out,
                         size_t *len);
/* Writes a block's len bytes to dst; 0 or an error, which
 * files_bitswap_finish_into returns. */
typedef int (*files_bitswap_fill_fn)(void *ctx, const struct files_cid *cid,
                                     uint8_t *dst, size_t len);
/* Encodes the framed message into out (cap bytes, at least
 * files_bitswap_builder_size), calling fill for each block added by
 * reference, in order, with its place in out; sets *len. Errors:
 * FASTN_ERR_TOO_LARGE (cap), FASTN_ERR_INVAL (refs and no fill), fill's. */
int files_bitswap_finish_into(const struct files_bitswap_builder *b,
                              uint8_t *out, size_t cap,
                              files_bitswap_fill_fn fill, void *ctx,
                              size_t *len);

#endif
