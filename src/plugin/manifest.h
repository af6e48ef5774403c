/*
 * Plugin manifests and the checks made on a plugin file before it is
 * installed or instantiated.
 *
 * A plugin is one .wasm file; its manifest is JSON in the custom section
 * "fastn.manifest" (written by FASTN_MANIFEST in include/fastn/plugin.h).
 * This module finds that section with a small walker over the module's
 * section headers (it is not a WebAssembly decoder: the engine validates
 * the module), parses and validates the JSON into a struct plugin_manifest
 * with bounded sizes, and checks the module's imports and exports against
 * the ABI and the manifest: every import from "fastn" must exist in the
 * ABI with the right signature and be covered by a capability the
 * manifest asks for, so a plugin whose code does more than its manifest
 * says is refused at load, not only at the first call.
 *
 * Every function here takes untrusted bytes, bounds every read and
 * reports what is wrong in err (a NUL-terminated message naming the
 * field), never by crashing.
 */
#ifndef FASTN_PLUGIN_MANIFEST_H
#define FASTN_PLUGIN_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugin/abi.h"

#define PLUGIN_MANIFEST_SECTION "fastn.manifest"
#define PLUGIN_MANIFEST_MAX (16 * 1024) /* bytes of JSON */

#define PLUGIN_NAME_MAX 32
#define PLUGIN_VERSION_MAX 32
#define PLUGIN_DESCRIPTION_MAX 256
#define PLUGIN_PROTOCOLS_MAX 16
#define PLUGIN_PROTOCOL_MAX 256
#define PLUGIN_APPS_MAX 16
#define PLUGIN_APP_MAX 64

/* Limits: what a manifest may ask for (min..max), and what it gets when
 * it does not say. The host may grant less (the user's config). */
#define PLUGIN_FUEL_MIN 10000ull
#define PLUGIN_FUEL_DEFAULT 10000000ull
#define PLUGIN_FUEL_MAX 1000000000ull
#define PLUGIN_PAGES_DEFAULT 256 /* 16 MiB */
#define PLUGIN_PAGES_MAX 1024    /* 64 MiB */
#define PLUGIN_STREAMS_DEFAULT 64
#define PLUGIN_STREAMS_MAX 1024
#define PLUGIN_TIMERS_DEFAULT 16
#define PLUGIN_TIMERS_MAX 256
#define PLUGIN_STATEMENTS_DEFAULT 32
#define PLUGIN_STATEMENTS_MAX 256
#define PLUGIN_QUOTA_MIN (64ull << 10)
#define PLUGIN_QUOTA_DEFAULT (16ull << 20)
#define PLUGIN_QUOTA_MAX (1ull << 40) /* 1 TiB: the files plugin's blocks */

/* Loopback capabilities (docs/PLUGIN-ABI.md, "Local apps"): the ports a
 * plugin serves ("local_listen": [{"name": "smtp", "port": 2525}]) and
 * the addresses it may connect to ("local_connect": ["127.0.0.1:22"]). */
#define PLUGIN_LOCAL_MAX 8        /* entries of each list */
#define PLUGIN_LISTEN_NAME_MAX 16 /* [a-z][a-z0-9-]* */
#define PLUGIN_ADDR_MAX 48        /* "127.0.0.1:22", "[::1]:2525" */

/* A loopback TCP address: 127.0.0.0/8 or ::1, and a port (1..65535). */
struct plugin_addr {
    int family; /* 4 or 6 */
    uint8_t ip[16];
    uint16_t port;
};

struct plugin_listen {
    char name[PLUGIN_LISTEN_NAME_MAX + 1];
    uint16_t port; /* asked for; the config may move it */
};

enum plugin_serves {
    PLUGIN_SERVES_KNOWN_PEERS = 0, /* the default */
    PLUGIN_SERVES_ANYONE = 1,
    /* never in a manifest: the user's narrowing (plugin_host_restrict) */
    PLUGIN_SERVES_NOBODY = 2,
};

struct plugin_limits {
    uint64_t fuel_per_event;
    uint32_t memory_pages; /* 64 KiB each */
    uint32_t streams;      /* open at once, both directions */
    uint32_t timers;       /* set at once */
    uint32_t statements;   /* prepared SQL statements open at once */
};

struct plugin_manifest {
    char name[PLUGIN_NAME_MAX + 1];
    char version[PLUGIN_VERSION_MAX + 1];
    char description[PLUGIN_DESCRIPTION_MAX + 1];
    unsigned abi;
    size_t n_protocols;
    char protocols[PLUGIN_PROTOCOLS_MAX][PLUGIN_PROTOCOL_MAX + 1];
    unsigned caps;          /* enum plugin_cap bits */
    uint64_t storage_quota; /* bytes; 0 without the storage capability */
    /* the database's page size when it is made; 0: SQLite's (4096) */
    unsigned storage_page_size;
    struct plugin_limits limits;
    enum plugin_serves serves;
    size_t n_apps;
    char apps[PLUGIN_APPS_MAX][PLUGIN_APP_MAX + 1];
    size_t n_listen, n_connect;
    struct plugin_listen listen[PLUGIN_LOCAL_MAX];
    struct plugin_addr connect[PLUGIN_LOCAL_MAX];
};

/* Parses "127.0.0.1:22" or "[::1]:22" (numeric, no other form): a
 * loopback address and a port 1..65535. Errors: FASTN_ERR_INVAL (not an
 * address and port), FASTN_ERR_PERM (an address that is not loopback:
 * 127.0.0.0/8 or ::1). */
int plugin_addr_parse(const char *s, struct plugin_addr *out);
/* Writes a as "127.0.0.1:22" or "[::1]:22" (PLUGIN_ADDR_MAX + 1 bytes). */
char *plugin_addr_format(const struct plugin_addr *a, char *out);
bool plugin_addr_equal(const struct plugin_addr *a,
                       const struct plugin_addr *b);
/* The listen entry called name (index into m->listen), or -1. */
int plugin_manifest_listen_index(const struct plugin_manifest *m,
                                 const char *name);

/* Parses and validates manifest JSON (len bytes, no NUL needed) into *m,
 * filling defaults for what it leaves out. On failure *m is zeroed and
 * err (errlen bytes, may be 0) says which field is wrong.
 * Errors: FASTN_ERR_PLUGIN_MANIFEST (bad JSON, a missing, unknown or bad
 * field), FASTN_ERR_PLUGIN_ABI (an "abi" this daemon does not speak),
 * FASTN_ERR_TOO_LARGE (over PLUGIN_MANIFEST_MAX), FASTN_ERR_NOMEM. */
int plugin_manifest_parse(const char *json, size_t len,
                          struct plugin_manifest *m, char *err, size_t errlen);

/* Finds the one custom section called name in a WebAssembly binary and
 * borrows its payload (after the name) into *out and *out_len.
 * Errors: FASTN_ERR_WASM_MALFORMED (not a wasm binary, or section headers
 * that run past the end), FASTN_ERR_NOT_FOUND (no such section),
 * FASTN_ERR_EXISTS (more than one: which one counts would be ambiguous). */
int plugin_wasm_custom_section(const uint8_t *wasm, size_t len,
                               const char *name, const uint8_t **out,
                               size_t *out_len);

/* Reads the manifest of a plugin file: the section, then
 * plugin_manifest_parse. Errors: those two functions' (a missing or
 * repeated section is FASTN_ERR_PLUGIN_MANIFEST). */
int plugin_manifest_from_wasm(const uint8_t *wasm, size_t len,
                              struct plugin_manifest *m, char *err,
                              size_t errlen);

/* Checks the module's imports and exports against the ABI and m:
 *  - imports only functions, only from "fastn" (names and signatures of
 *    ABI 1) and "wasi_snapshot_preview1"; no imported memory or table;
 *  - every "fastn" import is covered by a capability m asks for;
 *  - exports "memory", and the handlers m needs with the ABI's
 *    signatures; no unknown export named on_*.
 * Errors: FASTN_ERR_PLUGIN_CAPABILITY (an import without its capability),
 * FASTN_ERR_PLUGIN_ABI (anything else that does not match the ABI),
 * FASTN_ERR_WASM_MALFORMED (sections that do not parse). */
int plugin_wasm_check_interface(const uint8_t *wasm, size_t len,
                                const struct plugin_manifest *m, char *err,
                                size_t errlen);

/* The capability an import of module "fastn" needs (0 for none), or -1
 * for a name that is not in the ABI. */
int plugin_import_capability(const char *name);
/* "streams", "storage", ...; NULL for anything but one known bit. */
const char *plugin_cap_name(unsigned cap);
/* The bit of a capability named "streams", "storage"...; 0 if unknown. */
unsigned plugin_cap_from_name(const char *name);
/* Whether protocol id p belongs to the daemon (libp2p's own: /ipfs/,
 * /libp2p/, /noise, ...), never to a plugin. */
bool plugin_protocol_is_reserved(const char *p);
/* "anyone", "known-peers", "nobody"; and back (-1 if unknown). */
const char *plugin_serves_name(enum plugin_serves s);
int plugin_serves_from_name(const char *name);
/* Whether a serves no more peers than b (nobody < known-peers < anyone). */
bool plugin_serves_narrower_eq(enum plugin_serves a, enum plugin_serves b);
/* True when m lists protocol (exact match). */
bool plugin_manifest_has_protocol(const struct plugin_manifest *m,
                                  const char *protocol);

/* Writes m back as compact JSON (for `fastn plugin info --json`); *out
 * is malloc'd, NUL-terminated, freed by the caller.
 * Errors: FASTN_ERR_NOMEM, FASTN_ERR_INVAL. */
int plugin_manifest_to_json(const struct plugin_manifest *m, char **out);

#endif
