/*
 * fastn-p2p error codes.
 *
 * One list for the whole project: 0 is success, failures are negative.
 * Values are stable (they are part of libfastn's ABI and may travel over
 * the control socket), so each subsystem owns a range and new codes are
 * appended inside their range, never renumbered.
 *
 *   -1..-99     general         -100..-199  control protocol / ipc
 *   -200..-299  network         -300..-399  WebAssembly engine
 *   -400..-499  plugins         -500..-599  store
 *   -600..-699  registry        -700..-799  files (content addressing)
 */
#ifndef FASTN_ERR_H
#define FASTN_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message): the message says what happened and, where a user
 * can act on it, what to do. */
#define FASTN_ERR_LIST(X)                                                      \
    X(FASTN_OK, 0, "success")                                                  \
    /* general */                                                              \
    X(FASTN_ERR_NOMEM, -1, "out of memory")                                    \
    X(FASTN_ERR_INVAL, -2, "invalid argument")                                 \
    X(FASTN_ERR_TRUNCATED, -3, "input ended early (truncated)")                \
    X(FASTN_ERR_TOO_LARGE, -4, "input is larger than the allowed maximum")     \
    X(FASTN_ERR_MALFORMED, -5, "malformed input")                              \
    X(FASTN_ERR_IO, -6, "input/output error")                                  \
    X(FASTN_ERR_NOT_FOUND, -7, "not found")                                    \
    X(FASTN_ERR_EXISTS, -8, "already exists")                                  \
    X(FASTN_ERR_PERM, -9, "permission denied")                                 \
    X(FASTN_ERR_TIMEOUT, -10, "timed out")                                     \
    X(FASTN_ERR_CLOSED, -11, "closed")                                         \
    X(FASTN_ERR_UNSUPPORTED, -12, "not supported")                             \
    X(FASTN_ERR_AGAIN, -13, "try again: resource temporarily unavailable")     \
    X(FASTN_ERR_OVERFLOW, -14, "value out of range")                           \
    X(FASTN_ERR_CRYPTO, -15, "cryptographic operation failed")                 \
    X(FASTN_ERR_BAD_KEY, -16,                                                  \
      "bad key file: not a libp2p Ed25519 private key")                        \
    X(FASTN_ERR_BAD_PEER_ID, -17, "not a valid PeerID")                        \
    X(FASTN_ERR_BAD_MULTIADDR, -18, "not a valid multiaddr")                   \
    X(FASTN_ERR_BUSY, -19, "busy")                                             \
    X(FASTN_ERR_CANCELED, -20, "canceled")                                     \
    X(FASTN_ERR_INTERNAL, -21, "internal error")                               \
    /* control protocol / ipc */                                               \
    X(FASTN_ERR_NO_DAEMON, -100,                                               \
      "no fastnd is running on this home; start one with `fastnd` "            \
      "or let fastn start it (drop --no-autostart)")                           \
    X(FASTN_ERR_DAEMON_START, -101,                                            \
      "could not start fastnd; run `fastnd --foreground` to see why")          \
    X(FASTN_ERR_DAEMON_RUNNING, -102,                                          \
      "another fastnd is already running on this home")                        \
    X(FASTN_ERR_NOT_ALLOWED, -103,                                             \
      "the daemon refused this client: its uid/gid is not allowed "            \
      "(see allow-uids/allow-gids in the config)")                             \
    X(FASTN_ERR_PROTOCOL, -104, "control protocol error")                      \
    X(FASTN_ERR_REMOTE, -105, "the daemon reported an error")                  \
    X(FASTN_ERR_ADMIN_ONLY, -106,                                              \
      "this request needs an admin client (the daemon's uid or group)")        \
    /* network */                                                              \
    X(FASTN_ERR_NET_UNREACHABLE, -200, "peer unreachable")                     \
    X(FASTN_ERR_NET_REFUSED, -201, "connection refused")                       \
    X(FASTN_ERR_NET_RESET, -202, "connection reset")                           \
    X(FASTN_ERR_NET_PROTO_NA, -203, "the peer does not support the protocol")  \
    X(FASTN_ERR_NET_HANDSHAKE, -204, "secure handshake failed")                \
    X(FASTN_ERR_NET_WRONG_PEER, -205,                                          \
      "the remote peer's identity is not the PeerID that was dialed")          \
    X(FASTN_ERR_NET_MUX, -206, "stream multiplexer protocol violation")        \
    X(FASTN_ERR_NET_WINDOW, -207, "peer sent past its flow-control window")    \
    X(FASTN_ERR_NET_GOAWAY, -208, "the peer is closing the connection")        \
    X(FASTN_ERR_NET_STREAM_RESET, -209, "the stream was reset")                \
    X(FASTN_ERR_NET_NO_ADDR, -210,                                             \
      "no known address for this peer, nor one the DHT found; run "            \
      "`fastn connect MULTIADDR` first")                                       \
    X(FASTN_ERR_NET_DEAD, -211, "the connection stopped answering")            \
    X(FASTN_ERR_NET_MULTIADDR_PROTO, -212,                                     \
      "multiaddr protocol not supported (fastn knows /ip4 /ip6 /dns /dns4 "    \
      "/dns6 /dnsaddr /tcp /p2p /p2p-circuit /unix)")                          \
    X(FASTN_ERR_NET_NEGOTIATION, -213,                                         \
      "protocol negotiation failed: the peer does not speak "                  \
      "multistream-select 1.0")                                                \
    X(FASTN_ERR_NET_DECRYPT, -214,                                             \
      "the connection carried a corrupted or forged message")                  \
    X(FASTN_ERR_NET_STREAM_LIMIT, -215,                                        \
      "too many streams on this connection; try again later")                  \
    X(FASTN_ERR_NET_DIAL_SELF, -216, "that PeerID is this daemon's own")       \
    X(FASTN_ERR_NET_BUSY, -217,                                                \
      "the peer is busy: it closed the connection before the handshake "       \
      "(too many connections or handshakes); try again later")                 \
    /* reachability (relay, hole punching, AutoNAT, DHT, mDNS): -240.. */      \
    X(FASTN_ERR_NET_BAD_MESSAGE, -240,                                         \
      "the peer sent a malformed or unexpected message (relay, hole "          \
      "punching, AutoNAT, DHT or mDNS); that exchange was dropped")            \
    X(FASTN_ERR_NET_HOLEPUNCH, -241,                                           \
      "hole punching failed: no address both sides could reach in time; the "  \
      "connection stays relayed")                                              \
    X(FASTN_ERR_NET_RELAY_REFUSED, -242,                                       \
      "the relay refused (no free slot, too many circuits, or not allowed); "  \
      "another relay may accept")                                              \
    X(FASTN_ERR_NET_RELAY_NO_RESERVATION, -243,                                \
      "the peer has no reservation on that relay (it may have moved to "       \
      "another); look the peer up again")                                      \
    X(FASTN_ERR_NET_RELAY_LIMIT, -244,                                         \
      "the relayed connection reached the relay's limit on time or data; a "   \
      "direct connection is needed for more")                                  \
    X(FASTN_ERR_NET_RELAY_FAILED, -245,                                        \
      "the relay could not reach the peer through its reservation; try "       \
      "again later or through another relay")                                  \
    X(FASTN_ERR_NET_DIAL_REFUSED, -246,                                        \
      "the peer refused to dial us back (rate limit or policy); ask another "  \
      "peer")                                                                  \
    X(FASTN_ERR_NET_RECORD_INVALID, -247,                                      \
      "a DHT record failed validation (wrong key, expired or bad "             \
      "signature); it was not stored")                                         \
    X(FASTN_ERR_NET_LIMITED, -248,                                             \
      "the peer is reached only through a relay (a limited connection) and "   \
      "this protocol needs a direct one; try again once a direct connection "  \
      "is up")                                                                 \
    X(FASTN_ERR_NET_DNSADDR, -249,                                             \
      "the /dnsaddr name gave no address for this peer (no such name, no "     \
      "dnsaddr= TXT record ending in its /p2p, a malformed DNS answer, or "    \
      "names that lead to each other); check it with `dig TXT _dnsaddr.HOST`") \
    /* WebAssembly engine */                                                   \
    X(FASTN_ERR_WASM_MALFORMED, -300, "malformed WebAssembly module")          \
    X(FASTN_ERR_WASM_INVALID, -301, "invalid WebAssembly module")              \
    X(FASTN_ERR_WASM_UNSUPPORTED, -302,                                        \
      "the module uses a WebAssembly feature this engine does not support")    \
    X(FASTN_ERR_WASM_UNLINKABLE, -303, "module imports cannot be satisfied")   \
    X(FASTN_ERR_WASM_UNINSTANTIABLE, -304, "module instantiation failed")      \
    X(FASTN_ERR_WASM_TRAP_UNREACHABLE, -310, "trap: unreachable executed")     \
    X(FASTN_ERR_WASM_TRAP_MEMORY_OOB, -311,                                    \
      "trap: out of bounds memory access")                                     \
    X(FASTN_ERR_WASM_TRAP_TABLE_OOB, -312, "trap: out of bounds table access") \
    X(FASTN_ERR_WASM_TRAP_UNDEFINED_ELEMENT, -313, "trap: undefined element")  \
    X(FASTN_ERR_WASM_TRAP_UNINITIALIZED_ELEMENT, -314,                         \
      "trap: uninitialized element")                                           \
    X(FASTN_ERR_WASM_TRAP_INDIRECT_CALL_TYPE, -315,                            \
      "trap: indirect call type mismatch")                                     \
    X(FASTN_ERR_WASM_TRAP_DIV_ZERO, -316, "trap: integer divide by zero")      \
    X(FASTN_ERR_WASM_TRAP_INT_OVERFLOW, -317, "trap: integer overflow")        \
    X(FASTN_ERR_WASM_TRAP_INVALID_CONVERSION, -318,                            \
      "trap: invalid conversion to integer")                                   \
    X(FASTN_ERR_WASM_TRAP_STACK_EXHAUSTED, -319, "trap: call stack exhausted") \
    X(FASTN_ERR_WASM_TRAP_OUT_OF_FUEL, -320, "trap: out of fuel")              \
    X(FASTN_ERR_WASM_TRAP_HOST, -321, "trap: raised by a host function")       \
    X(FASTN_ERR_WASM_EXIT, -322, "the program called proc_exit")               \
    X(FASTN_ERR_WASM_LIMIT, -323,                                              \
      "the module exceeds a limit of this WebAssembly engine")                 \
    /* plugins */                                                              \
    X(FASTN_ERR_PLUGIN_MANIFEST, -400, "bad or missing plugin manifest")       \
    X(FASTN_ERR_PLUGIN_CAPABILITY, -401,                                       \
      "the plugin did not ask for this capability, or the user withheld it")   \
    X(FASTN_ERR_PLUGIN_LIMIT, -402, "the plugin reached one of its limits")    \
    X(FASTN_ERR_PLUGIN_DISABLED, -403,                                         \
      "the plugin is disabled; enable it with `fastn plugin enable NAME`")     \
    X(FASTN_ERR_PLUGIN_CRASHED, -404,                                          \
      "the plugin stopped with an error; see `fastn plugin info NAME`")        \
    X(FASTN_ERR_PLUGIN_BAD_POINTER, -405,                                      \
      "the plugin passed a pointer or length outside its memory")              \
    X(FASTN_ERR_PLUGIN_BAD_HANDLE, -406,                                       \
      "no such stream, call, statement or timer handle in this plugin")        \
    X(FASTN_ERR_PLUGIN_ABI, -407,                                              \
      "the plugin was built for another plugin ABI; rebuild it against this "  \
      "fastn's include/fastn/plugin.h")                                        \
    X(FASTN_ERR_PLUGIN_TIMEOUT, -408,                                          \
      "the plugin held the daemon's event loop longer than one slice may "     \
      "(plugin-slice-ms in the config); it was stopped and restarts after "    \
      "a backoff: split its long work over events, or raise plugin-slice-ms")  \
    X(FASTN_ERR_PLUGIN_MEMORY, -409,                                           \
      "the plugin held more memory than its budget (its memory, tables, "      \
      "the host's buffers for it and its database cache); it was stopped "     \
      "and restarts after a backoff: raise plugin-memory-mib in the config "   \
      "or make it hold less")                                                  \
    X(FASTN_ERR_PLUGIN_EXPORT, -410,                                           \
      "the plugin exports an on_* handler that is no event of the plugin "     \
      "ABI (a misspelt name?): rename it and rebuild")                         \
    X(FASTN_ERR_PLUGIN_REPLAYED, -411,                                         \
      "the stream is a replay of data kept while no plugin took it; its "      \
      "sender is not on the other end: answer through a new stream")           \
    /* store */                                                                \
    X(FASTN_ERR_STORE, -500, "database error")                                 \
    X(FASTN_ERR_STORE_QUOTA, -501, "database storage quota exceeded")          \
    X(FASTN_ERR_STORE_DENIED, -502, "SQL statement not allowed for plugins")   \
    X(FASTN_ERR_STORE_LIMIT, -503,                                             \
      "the SQL statement did too much work and was stopped")                   \
    X(FASTN_ERR_STORE_CONSTRAINT, -504,                                        \
      "SQL constraint failed (e.g. a UNIQUE or NOT NULL column)")              \
    X(FASTN_ERR_STORE_CORRUPT, -505,                                           \
      "the database file is damaged or is not a database")                     \
    X(FASTN_ERR_STORE_SQL, -506,                                               \
      "SQL error: bad syntax, or no such table or column")                     \
    X(FASTN_ERR_STORE_TIMEOUT, -507,                                           \
      "the SQL statement ran past its time limit and was stopped; split the "  \
      "work into smaller statements (e.g. LIMIT, resuming from the last key)") \
    X(FASTN_ERR_DISK_FULL, -508,                                               \
      "the disk is full: nothing was written, and what was stored is kept; "   \
      "free space on the disk that holds the fastn home, then try again")      \
    X(FASTN_ERR_STORE_MEMORY, -509,                                            \
      "the SQL statement needed more memory than the plugin's database may "   \
      "use; finalize statements, bind smaller values, or use LIMIT")           \
    /* registry */                                                             \
    X(FASTN_ERR_SIGNATURE, -600,                                               \
      "bad signature: the file is not the one its publisher signed (altered "  \
      "or corrupted); get it again from the publisher")                        \
    X(FASTN_ERR_UNTRUSTED, -601,                                               \
      "signed by a key that is not trusted; if you trust its publisher, run "  \
      "`fastn trust add THEIR-KEY.pub`")                                       \
    X(FASTN_ERR_SIG_MALFORMED, -602,                                           \
      "malformed signature file: not a minisign .minisig")                     \
    X(FASTN_ERR_SIG_COMMENT, -603,                                             \
      "the signature's trusted comment was altered after signing; get the "    \
      ".minisig again from the publisher")                                     \
    X(FASTN_ERR_SIG_ALGORITHM, -604,                                           \
      "signature algorithm not supported (minisign's Ed and ED are)")          \
    X(FASTN_ERR_SIG_KEY_MISMATCH, -605,                                        \
      "signed by another key than the one expected (the key ids differ)")      \
    X(FASTN_ERR_KEY_MALFORMED, -606,                                           \
      "malformed public key: give a minisign .pub file or its base64 line")    \
    X(FASTN_ERR_KEY_NOT_FOUND, -607,                                           \
      "no trusted publisher key with that id or name; see `fastn trust list`") \
    X(FASTN_ERR_KEY_READONLY, -608,                                            \
      "that key is trusted by the installation "                               \
      "(PREFIX/share/fastn/trusted-publishers); remove it there, as root")     \
    X(FASTN_ERR_UNSIGNED, -609,                                                \
      "the plugin is not signed (no FILE.minisig beside it); install it "      \
      "with --unsigned only if you trust the file itself")                     \
    X(FASTN_ERR_INDEX_MALFORMED, -610,                                         \
      "malformed registry index.json; tell the registry's publisher")          \
    X(FASTN_ERR_INDEX_TOO_LARGE, -611,                                         \
      "registry index.json is larger than the allowed maximum")                \
    X(FASTN_ERR_VERSION, -612,                                                 \
      "not a version: expected numbers separated by dots, e.g. 1.2.0")         \
    X(FASTN_ERR_NEEDS_CONSENT, -613,                                           \
      "the new version asks for capabilities the installed one does not "      \
      "have; accept them with `fastn plugin update NAME --grant CAP`")         \
    X(FASTN_ERR_FETCH, -620,                                                   \
      "could not fetch from the registry; check its URL and the network")      \
    X(FASTN_ERR_FETCH_NOT_FOUND, -621,                                         \
      "the registry has no such file (HTTP 404, or no file at that path)")     \
    X(FASTN_ERR_FETCH_HTTP, -622,                                              \
      "the registry's server answered with an HTTP error; try again later")    \
    X(FASTN_ERR_FETCH_TIMEOUT, -623,                                           \
      "the registry did not answer in time; try again, or raise the fetch "    \
      "timeouts in the config")                                                \
    X(FASTN_ERR_FETCH_TOO_LARGE, -624,                                         \
      "the download is larger than the allowed maximum (max-plugin-size in "   \
      "the config)")                                                           \
    X(FASTN_ERR_FETCH_REDIRECTS, -625,                                         \
      "too many redirects (a redirect loop?) at the registry's URL")           \
    X(FASTN_ERR_FETCH_TLS, -626,                                               \
      "the registry's TLS certificate could not be verified; nothing was "     \
      "fetched")                                                               \
    X(FASTN_ERR_FETCH_PROTOCOL, -627,                                          \
      "URL scheme not allowed: registries are https://, http:// or file:// "   \
      "URLs, and redirects go to http(s) only")                                \
    X(FASTN_ERR_SHA256_MISMATCH, -628,                                         \
      "the file's sha256 is not the one announced (altered file or stale "     \
      "index); nothing was installed")                                         \
    X(FASTN_ERR_SIZE_MISMATCH, -629,                                           \
      "the file's size is not the one announced; nothing was installed")       \
    X(FASTN_ERR_XFER_MALFORMED, -640,                                          \
      "the peer sent a malformed /fastn/plugin/1.0.0 message")                 \
    X(FASTN_ERR_XFER_NOT_FOUND, -641,                                          \
      "the peer has no signed plugin for that protocol")                       \
    X(FASTN_ERR_XFER_REFUSED, -642,                                            \
      "the peer does not serve plugins now (turned off, or busy: try again "   \
      "later)")                                                                \
    /* files (content addressing, plugins/files/lib) */                        \
    X(FASTN_ERR_FILES_BAD_CID, -700,                                           \
      "not a valid CID: give one as IPFS prints them (bafy..., bafk... or "    \
      "Qm...)")                                                                \
    X(FASTN_ERR_FILES_HASH_MISMATCH, -701,                                     \
      "a block does not match its CID (altered or corrupted); it was not "     \
      "kept: fetch it again, from another peer")                               \
    X(FASTN_ERR_FILES_BAD_DAG, -702,                                           \
      "malformed dag-pb or UnixFS block: the content is damaged or was not "   \
      "made by a UnixFS importer")                                             \
    X(FASTN_ERR_FILES_LOOP, -703,                                              \
      "the content links back to itself (a loop in its DAG); it was refused")  \
    X(FASTN_ERR_FILES_BAD_NAME, -704,                                          \
      "a folder entry has a name that cannot be written safely (empty, . or "  \
      ".., or with / or NUL in it); nothing was written for it")               \
    X(FASTN_ERR_FILES_BITSWAP, -705,                                           \
      "the peer sent a malformed bitswap message")                             \
    X(FASTN_ERR_FILES_LIMIT, -706,                                             \
      "over a files limit (a block over 2 MiB, a bitswap message over 4 MiB "  \
      "or with too many entries, or content deeper or larger than allowed)")   \
    X(FASTN_ERR_FILES_CODEC, -707,                                             \
      "the CID's codec or hash function is not supported (fastn files reads "  \
      "raw and dag-pb blocks hashed with sha2-256)")                           \
    X(FASTN_ERR_FILES_SIZE_MISMATCH, -708,                                     \
      "a file's blocks do not add up to the size it declares (damaged "        \
      "content); it was refused")

/* Marks what libfastn exports (it is built with hidden visibility). */
#ifndef FASTN_API
#define FASTN_API __attribute__((visibility("default")))
#endif

enum fastn_err {
#define FASTN_ERR_ENUM_(name, value, msg) name = value,
    FASTN_ERR_LIST(FASTN_ERR_ENUM_)
#undef FASTN_ERR_ENUM_
};

/* Returns a static, human-readable message for an error code (never NULL;
 * unknown codes get a generic message). */
FASTN_API const char *fastn_strerror(int err);

/* Returns the symbolic name of an error code, e.g. "FASTN_ERR_TIMEOUT"
 * (never NULL). */
FASTN_API const char *fastn_err_name(int err);

#ifdef __cplusplus
}
#endif
#endif /* FASTN_ERR_H */
