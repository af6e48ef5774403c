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

/* --- IMAP4rev1 framing (imap_read.c) --------------------------------- */

/* One command line (without its literals) and one whole command (lines and
 * the literals kept inline). A larger literal is taken only as APPEND's
 * message, streamed to the caller, up to the reader's message limit. */
#define MAIL_IMAP_LINE_MAX 8192
#define MAIL_IMAP_CMD_MAX 65536
/* RFC 7888 LITERAL-: a non-synchronizing literal is at most 4096 bytes. */
#define MAIL_IMAP_NONSYNC_MAX 4096
#define MAIL_IMAP_TAG_MAX 64

enum mail_imap_ev {
    MAIL_IMAP_EV_MORE,     /* every byte used; nothing complete yet */
    MAIL_IMAP_EV_CONTINUE, /* send "+ ..." (a synchronizing literal) */
    MAIL_IMAP_EV_COMMAND,  /* a whole command: mail_imap_reader_command */
    MAIL_IMAP_EV_LITERAL,  /* APPEND's message begins: ev.size bytes */
    MAIL_IMAP_EV_DATA,     /* a piece of it: ev.data, ev.len */
    MAIL_IMAP_EV_BAD,      /* send ev.reply; close when ev.close */
};

struct mail_imap_event {
    enum mail_imap_ev kind;
    uint64_t size;       /* EV_LITERAL */
    const uint8_t *data; /* EV_DATA: borrowed from the input */
    size_t len;
    char reply[160]; /* EV_BAD: the whole reply line, CRLF included */
    bool close;
    bool sync; /* EV_CONTINUE, EV_LITERAL: send "+ Ready" first */
};

struct mail_imap_reader {
    uint64_t message_max; /* APPEND's literal */
    uint64_t lit_left;    /* bytes of the current literal still to come */
    bool in_literal, streaming, complete, closed;
    size_t line_start; /* where the current line began in buf */
    size_t len;
    char buf[MAIL_IMAP_CMD_MAX];
};

/* message_max 0: MAIL_SMTP_SIZE_DEFAULT. */
void mail_imap_reader_init(struct mail_imap_reader *r, uint64_t message_max);
/* Reads client bytes until an event; *used says how many it took (read
 * the rest after handling the event). A command is its lines joined with
 * their literals inline and the final CRLF removed; a streamed literal
 * (APPEND's message over what fits inline) is written in it as a NUL
 * followed by "{size}", the bytes having gone out as EV_DATA. */
enum mail_imap_ev mail_imap_read(struct mail_imap_reader *r, const uint8_t *p,
                                 size_t n, size_t *used,
                                 struct mail_imap_event *ev);
/* The command of the last EV_COMMAND (valid until the next read). */
const char *mail_imap_reader_command(const struct mail_imap_reader *r,
                                     size_t *len);

/* --- IMAP4rev1 commands (imap_parse.c) ---------------------------------- */

enum mail_imap_verb {
    MAIL_IMAP_CAPABILITY,
    MAIL_IMAP_NOOP,
    MAIL_IMAP_LOGOUT,
    MAIL_IMAP_LOGIN,
    MAIL_IMAP_AUTHENTICATE,
    MAIL_IMAP_SELECT,
    MAIL_IMAP_EXAMINE,
    MAIL_IMAP_CREATE,
    MAIL_IMAP_DELETE,
    MAIL_IMAP_RENAME,
    MAIL_IMAP_SUBSCRIBE,
    MAIL_IMAP_UNSUBSCRIBE,
    MAIL_IMAP_LIST,
    MAIL_IMAP_LSUB,
    MAIL_IMAP_STATUS,
    MAIL_IMAP_APPEND,
    MAIL_IMAP_CHECK,
    MAIL_IMAP_CLOSE,
    MAIL_IMAP_EXPUNGE,
    MAIL_IMAP_SEARCH,
    MAIL_IMAP_FETCH,
    MAIL_IMAP_STORE,
    MAIL_IMAP_COPY,
    MAIL_IMAP_MOVE,
    MAIL_IMAP_IDLE,
    MAIL_IMAP_ENABLE,
    MAIL_IMAP_ID,
};

/* System flags (RFC 3501 2.3.2) as bits; keywords are not kept. */
enum {
    MAIL_FLAG_SEEN = 1 << 0,
    MAIL_FLAG_ANSWERED = 1 << 1,
    MAIL_FLAG_FLAGGED = 1 << 2,
    MAIL_FLAG_DELETED = 1 << 3,
    MAIL_FLAG_DRAFT = 1 << 4,
    MAIL_FLAG_RECENT = 1 << 5, /* session state, never stored by STORE */
};

#define MAIL_SEQ_STAR UINT32_MAX /* "*": the largest number in use */
#define MAIL_SEQ_RANGES_MAX 256

struct mail_seq_set {
    unsigned n;
    struct {
        uint32_t lo, hi; /* lo <= hi after parsing (RFC 3501 9: 2:4 = 4:2) */
    } r[MAIL_SEQ_RANGES_MAX];
};

/* FETCH items (RFC 3501 6.4.5) as bits, and BODY[...] sections. */
enum {
    MAIL_FETCH_FLAGS = 1 << 0,
    MAIL_FETCH_UID = 1 << 1,
    MAIL_FETCH_INTERNALDATE = 1 << 2,
    MAIL_FETCH_RFC822_SIZE = 1 << 3,
    MAIL_FETCH_ENVELOPE = 1 << 4,
    MAIL_FETCH_BODYSTRUCTURE = 1 << 5,
    MAIL_FETCH_BODY = 1 << 6, /* BODY without a section: the structure */
};

enum mail_section_kind {
    MAIL_SECTION_ALL,        /* BODY[] or BODY[1.2] */
    MAIL_SECTION_HEADER,     /* HEADER */
    MAIL_SECTION_FIELDS,     /* HEADER.FIELDS (...) */
    MAIL_SECTION_FIELDS_NOT, /* HEADER.FIELDS.NOT (...) */
    MAIL_SECTION_TEXT,       /* TEXT */
    MAIL_SECTION_MIME,       /* MIME (needs a part number) */
};

#define MAIL_SECTIONS_MAX 8
#define MAIL_PART_DEPTH_MAX 8
#define MAIL_FIELDS_MAX 32

struct mail_fetch_section {
    bool peek;       /* BODY.PEEK: do not set \Seen */
    const char *as;  /* how the reply names it: "RFC822" forms or NULL */
    unsigned nparts; /* part numbers, "1.2" = {1, 2} */
    uint32_t part[MAIL_PART_DEPTH_MAX];
    enum mail_section_kind kind;
    unsigned nfields;
    const char *field[MAIL_FIELDS_MAX]; /* NUL-terminated, in cmd->pool */
    bool partial;
    uint32_t offset, count; /* <offset.count> */
};

/* SEARCH keys (RFC 3501 6.4.4) as a tree in an array: a node's children
 * are [first, first + count) of kids[]. */
enum mail_search_key {
    MAIL_SK_AND,
    MAIL_SK_OR,
    MAIL_SK_NOT,
    MAIL_SK_ALL,
    MAIL_SK_FLAG,
    MAIL_SK_UNFLAG,
    MAIL_SK_NEW,
    MAIL_SK_OLD,
    MAIL_SK_FROM,
    MAIL_SK_TO,
    MAIL_SK_CC,
    MAIL_SK_BCC,
    MAIL_SK_SUBJECT,
    MAIL_SK_BODY,
    MAIL_SK_TEXT,
    MAIL_SK_HEADER,
    MAIL_SK_KEYWORD,
    MAIL_SK_UNKEYWORD,
    MAIL_SK_BEFORE,
    MAIL_SK_ON,
    MAIL_SK_SINCE,
    MAIL_SK_SENTBEFORE,
    MAIL_SK_SENTON,
    MAIL_SK_SENTSINCE,
    MAIL_SK_LARGER,
    MAIL_SK_SMALLER,
    MAIL_SK_UID,
    MAIL_SK_SEQ,
};

#define MAIL_SEARCH_NODES_MAX 128
#define MAIL_SEARCH_DEPTH_MAX 16

struct mail_search_node {
    enum mail_search_key key;
    unsigned flag;     /* FLAG/UNFLAG: a MAIL_FLAG_ bit */
    const char *field; /* HEADER's field name (in cmd->pool) */
    const char *str;   /* the string searched for (in cmd->pool) */
    int64_t num;       /* a date as days since 1970-01-01, or a size */
    unsigned set;      /* UID/SEQ: index in cmd->sets */
    unsigned first, count;
};

struct mail_imap_cmd {
    char tag[MAIL_IMAP_TAG_MAX + 1];
    enum mail_imap_verb verb;
    bool uid;           /* UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE */
    const char *arg[3]; /* strings (mailbox names, user, password, ...) */
    size_t arg_len[3];
    unsigned nsets;
    struct mail_seq_set sets[2]; /* [0]: the command's; SEARCH may use 2 */
    /* FETCH */
    unsigned fetch;
    unsigned nsections;
    struct mail_fetch_section section[MAIL_SECTIONS_MAX];
    /* STORE: +FLAGS (1), -FLAGS (-1), FLAGS (0); .SILENT */
    int store_op;
    bool silent;
    unsigned flags; /* STORE's and APPEND's flags */
    /* APPEND */
    int64_t date; /* the date-time as Unix time, or -1 */
    bool streamed;
    uint64_t msg_size;
    const char *msg; /* the inline literal (when not streamed) */
    /* STATUS items: bits of MAIL_STATUS_ */
    unsigned status;
    /* SEARCH */
    unsigned nnodes;
    struct mail_search_node node[MAIL_SEARCH_NODES_MAX];
    unsigned kids[MAIL_SEARCH_NODES_MAX];
    unsigned nkids;
    /* where strings are copied (quoted strings lose their escapes) */
    size_t pool_len;
    char pool[MAIL_IMAP_CMD_MAX + 1024];
};

enum {
    MAIL_STATUS_MESSAGES = 1 << 0,
    MAIL_STATUS_RECENT = 1 << 1,
    MAIL_STATUS_UIDNEXT = 1 << 2,
    MAIL_STATUS_UIDVALIDITY = 1 << 3,
    MAIL_STATUS_UNSEEN = 1 << 4,
};

/* Parses one command (as mail_imap_reader gives it). On an error the
 * reply to send is in bad (NUL-terminated, CRLF included, tagged when the
 * tag was readable): "<tag> BAD <what is wrong>". Errors: _MALFORMED,
 * _UNSUPPORTED (an unknown command), _TOO_LARGE (over a limit above). */
int mail_imap_parse(const char *p, size_t n, struct mail_imap_cmd *cmd,
                    char *bad, size_t badcap);

/* --- IMAP replies (imap_fmt.c) ------------------------------------------ */

/* An output buffer that refuses to overflow: once full, `over` is set and
 * what follows is dropped, so one check at the end suffices. */
struct mail_out {
    char *p;
    size_t len, cap;
    bool over;
};

void mail_out_init(struct mail_out *o, char *p, size_t cap);
void mail_out_bytes(struct mail_out *o, const void *p, size_t n);
void mail_out_str(struct mail_out *o, const char *s);
void mail_out_u64(struct mail_out *o, uint64_t v);
/* An IMAP string: an atom-free quoted string when it can be one, else a
 * literal {n}CRLF... (RFC 3501 4.3); NIL for NULL. */
void mail_imap_out_string(struct mail_out *o, const char *s, size_t n);
/* An astring: the atom itself when it is one (mailbox names in LIST). */
void mail_imap_out_astring(struct mail_out *o, const char *s, size_t n);
/* "(\\Seen \\Flagged)" for a MAIL_FLAG_ set. */
void mail_imap_out_flags(struct mail_out *o, unsigned flags);
/* INTERNALDATE's "dd-Mon-yyyy hh:mm:ss +0000" (quoted) of Unix time. */
void mail_imap_out_date(struct mail_out *o, int64_t t);
/* A sequence set, ranges joined ("1:3,7,9:*"). */
void mail_imap_out_seq_set(struct mail_out *o, const struct mail_seq_set *s);

/* --- the mailbox (store.c), over the plugin SQL ABI ------------------- */

/* A message's bytes are kept in chunks of this size (the ABI takes at
 * most 1 MiB in one value; 64 KiB keeps each call short). */
#define MAIL_CHUNK 65536
#define MAIL_FOLDER_NAME_MAX 255
#define MAIL_FOLDER_DELIM '/'

struct mail_folder {
    int64_t id;
    char name[MAIL_FOLDER_NAME_MAX + 1];
    char special[16]; /* RFC 6154: "\\Sent", ... or "" */
    uint32_t uidvalidity, uidnext;
    uint64_t highestmodseq;
    uint32_t messages, unseen;
    bool subscribed;
};

struct mail_msg {
    uint32_t uid;
    int64_t body; /* the stored bytes, shared by copies */
    unsigned flags;
    int64_t internaldate;
    uint64_t size, modseq;
};

/* Creates the schema and the folders every account has (INBOX, Sent,
 * Drafts, Trash, Archive), and drops what an append left half written
 * (after a crash). now: Unix time, for UIDVALIDITY. Errors: the SQL
 * calls' (FASTN_ERR_STORE_*). */
int mail_store_open(int64_t now);

/* Folders. Names are UTF-8 (modified UTF-7 as IMAP clients send them),
 * 1..255 bytes, no control characters, '/' between levels; INBOX in any
 * case is INBOX. Errors: _INVAL (a bad name), _EXISTS, _NOT_FOUND, _PERM
 * (deleting or renaming INBOX), the SQL calls'. */
int mail_store_folder_create(const char *name, int64_t now);
int mail_store_folder_delete(const char *name);
int mail_store_folder_rename(const char *from, const char *to, int64_t now);
int mail_store_folder_get(const char *name, struct mail_folder *out);
int mail_store_folder_subscribe(const char *name, bool on);
/* Calls cb for each folder in name order; a non-zero return stops it and
 * is returned. */
int mail_store_folder_list(int (*cb)(void *ctx, const struct mail_folder *f),
                           void *ctx);

/* Appending, streamed: begin, data (any pieces), end. Each call commits
 * what it wrote, so an append may span many plugin events (the ABI rolls
 * back a transaction left open at an event's end); until end commits, the
 * message is nowhere visible, and mail_store_open drops it after a crash.
 * Errors: _NOT_FOUND (no such folder), _TOO_LARGE (past max_size), the
 * SQL calls'. */
struct mail_append {
    int64_t folder, body;
    uint64_t size, max_size;
    unsigned flags;
    int64_t date;
    uint32_t seq;
    int failed; /* the first error: every later call returns it */
    size_t fill;
    uint8_t buf[MAIL_CHUNK];
};
int mail_store_append_begin(struct mail_append *a, const char *folder,
                            unsigned flags, int64_t date, uint64_t max_size);
int mail_store_append_data(struct mail_append *a, const uint8_t *p, size_t n);
/* The same, but a chunk write stopped at its time (_STORE_TIMEOUT, after
 * its tries) leaves the append going: *used bytes of p are taken (the
 * chunk that timed out among them, written first by the next call), and
 * the caller offers the rest again later. */
int mail_store_append_feed(struct mail_append *a, const uint8_t *p, size_t n,
                           size_t *used);
/* Makes the message visible with the folder's next UID (*uid). After an
 * error from data or end, only abort is left to call. */
int mail_store_append_end(struct mail_append *a, uint32_t *uid);
void mail_store_append_abort(struct mail_append *a);
/* The same as end, calling in_txn (when not NULL) inside the transaction
 * that makes the message visible: what it writes commits with the
 * message, or nothing does (its error rolls all back). */
int mail_store_append_end_with(struct mail_append *a, uint32_t *uid,
                               int (*in_txn)(void *ctx, int64_t body,
                                             uint32_t uid),
                               void *ctx);
/* Frees the bytes no message and no outbox row refers to. */
int mail_store_gc(void);

/* UIDs of a folder in order (what SELECT maps sequence numbers on);
 * returns how many there are (writing at most max). */
int mail_store_uids(int64_t folder, uint32_t *uids, size_t max);
/* The messages with lo <= UID <= hi, in UID order, to cb (non-zero
 * stops and is returned). */
int mail_store_fetch(int64_t folder, uint32_t lo, uint32_t hi,
                     int (*cb)(void *ctx, const struct mail_msg *m), void *ctx);
/* Reads up to cap bytes of a stored message from offset; returns how
 * many (0 at its end). */
int mail_store_read(int64_t body, uint64_t offset, uint8_t *buf, size_t cap);
/* STORE on lo..hi: op 1 adds, -1 removes, 0 replaces the flags (never
 * \\Recent). Returns how many messages changed; each gets a new MODSEQ. */
int mail_store_flags(int64_t folder, uint32_t lo, uint32_t hi, int op,
                     unsigned flags);
/* COPY (move false) or MOVE (RFC 6851) of lo..hi into dst: new UIDs in
 * dst in the same order, the bytes shared, not copied. cb (may be NULL)
 * hears each (source UID, new UID) for COPYUID (RFC 4315). Returns how
 * many. One transaction: all or nothing. Errors: _NOT_FOUND (dst). */
int mail_store_copy(int64_t folder, uint32_t lo, uint32_t hi, const char *dst,
                    bool move,
                    void (*cb)(void *ctx, uint32_t from, uint32_t to),
                    void *ctx);
/* EXPUNGE: removes the \\Deleted messages with lo <= UID <= hi, telling
 * cb each UID in order (for the untagged EXPUNGE replies); returns how
 * many. Bytes no folder refers to any more are freed. */
/* SQLite's words for the last change the store undid. */
extern char mail_store_why[200];
int mail_store_expunge(int64_t folder, uint32_t lo, uint32_t hi,
                       void (*cb)(void *ctx, uint32_t uid), void *ctx);

/* --- RFC 5322 / MIME structure (mime.c, mime_fmt.c) -------------------- */

#define MAIL_MIME_PARTS_MAX 64
#define MAIL_MIME_DEPTH_MAX 8    /* nested multiparts and messages */
#define MAIL_MIME_MESSAGES_MAX 4 /* the message and encapsulated ones */
#define MAIL_MIME_PARAMS_MAX 8
#define MAIL_MIME_VALUE_MAX 256   /* a parameter's value, an ID, ... */
#define MAIL_MIME_FIELD_MAX 2048  /* an envelope field, unfolded */
#define MAIL_MIME_BOUNDARY_MAX 70 /* RFC 2046 5.1.1 */

enum mail_env_field {
    MAIL_ENV_DATE,
    MAIL_ENV_SUBJECT,
    MAIL_ENV_FROM,
    MAIL_ENV_SENDER,
    MAIL_ENV_REPLY_TO,
    MAIL_ENV_TO,
    MAIL_ENV_CC,
    MAIL_ENV_BCC,
    MAIL_ENV_IN_REPLY_TO,
    MAIL_ENV_MESSAGE_ID,
    MAIL_ENV_COUNT
};

struct mail_mime_param {
    char name[32];
    char value[MAIL_MIME_VALUE_MAX];
};

struct mail_mime_part {
    int parent;  /* -1 for the message itself (part 0) */
    int message; /* for a message root: its index in mime.env, else -1 */
    uint64_t hdr_off, body_off, body_len, lines;
    char type[32], subtype[64]; /* lowercase */
    unsigned nparams;
    struct mail_mime_param param[MAIL_MIME_PARAMS_MAX];
    char id[MAIL_MIME_VALUE_MAX], desc[MAIL_MIME_VALUE_MAX];
    char encoding[32];
    char disp[32]; /* "" when there is no Content-Disposition */
    unsigned ndisp_params;
    struct mail_mime_param disp_param[2];
    bool in_body, ended;
};

struct mail_mime_env {
    bool have[MAIL_ENV_COUNT];
    char field[MAIL_ENV_COUNT][MAIL_MIME_FIELD_MAX];
};

/* A streaming reader of a message's structure: feed it the message in
 * any pieces, then end it. Bounded: parts past MAIL_MIME_PARTS_MAX or
 * MAIL_MIME_DEPTH_MAX become body of the part they are in; header fields
 * longer than the limits are cut (what IMAP shows of them). */
struct mail_mime {
    unsigned nparts, nmsgs;
    struct mail_mime_part part[MAIL_MIME_PARTS_MAX];
    struct mail_mime_env env[MAIL_MIME_MESSAGES_MAX];
    /* where the reader is */
    uint64_t off, line_off;
    int cur;           /* the part whose header or body is being read */
    bool in_header;    /* reading cur's header */
    bool line_start;   /* the next byte starts a line */
    unsigned prev_eol; /* bytes of the last line's end (1 LF, 2 CRLF) */
    size_t line_len;
    char line[MAIL_MIME_BOUNDARY_MAX + 8]; /* the line's start */
    unsigned nbound;
    int bound_part[MAIL_MIME_DEPTH_MAX]; /* multiparts with a boundary */
    char bound[MAIL_MIME_DEPTH_MAX][MAIL_MIME_BOUNDARY_MAX + 1];
    unsigned eol_before; /* prev_eol when the current line began */
    bool last_cr;        /* the byte before was a CR */
    size_t field_len;
    bool field_cut;
    char field[MAIL_MIME_FIELD_MAX + 64]; /* the header field being read */
};

void mail_mime_init(struct mail_mime *m);
void mail_mime_feed(struct mail_mime *m, const uint8_t *p, size_t n);
/* The message ended: every open part ends here. */
void mail_mime_end(struct mail_mime *m);

/* ENVELOPE (RFC 3501 7.4.2) of message root part i (0: the message). */
void mail_imap_out_envelope(struct mail_out *o, const struct mail_mime *m,
                            int part);
/* BODYSTRUCTURE (extensible) or BODY (basic) of part i and below. */
void mail_imap_out_bodystructure(struct mail_out *o, const struct mail_mime *m,
                                 int part, bool extensible);

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
