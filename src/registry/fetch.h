/*
 * Fetching from registries with libcurl: index.json, plugins and their
 * signatures, from https://, http:// or file:// URLs.
 *
 * Driving it: every function here blocks until its transfer ends (bounded
 * by the timeouts), so the daemon calls them off its event loop, on a
 * worker thread: uv_queue_work's work callback runs the fetch, its after
 * callback (on the loop) installs the result. That keeps the daemon
 * serving while a slow registry answers, and needs no libcurl in the
 * event loop. The functions are thread-safe (each transfer has its own
 * handle; libcurl is initialised once, registry_fetch_global_init) and
 * share nothing but the read-only keyring; the progress callback runs on
 * the worker thread and cancels the transfer by returning nonzero. The
 * caller bounds how many fetches run at once (libuv's pool has 4 threads
 * by default, shared with its file system work).
 *
 * Limits: connect and total timeouts, a stall timeout (no progress for
 * that long), a size limit (checked against the announced length before
 * the body, and counted while it arrives), at most max_redirects
 * redirects and only to http(s) (to https only from https), TLS peers and
 * host names verified against the system's CA store (or ca_file).
 */
#ifndef FASTN_REGISTRY_FETCH_H
#define FASTN_REGISTRY_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "registry/index.h"
#include "registry/keyring.h"
#include "registry/verify.h"
#include "util/buf.h"

#define REGISTRY_FETCH_MAX_DEFAULT (16ull << 20)
#define REGISTRY_FETCH_CONNECT_TIMEOUT_MS 10000
#define REGISTRY_FETCH_TIMEOUT_MS 300000
#define REGISTRY_FETCH_STALL_TIMEOUT_MS 30000
#define REGISTRY_FETCH_REDIRECTS_MAX 5
#define REGISTRY_URL_MAX 2048

/* Called on the fetching thread as bytes arrive (total is 0 while
 * unknown); a nonzero return cancels the transfer (FASTN_ERR_CANCELED). */
typedef int (*registry_progress_fn)(void *arg, uint64_t got, uint64_t total);
/* Takes the next bytes of the body; an error code stops the transfer and
 * is what the fetch returns. */
typedef int (*registry_sink_fn)(void *arg, const uint8_t *p, size_t n);

struct registry_fetch_opts {
    uint32_t connect_timeout_ms;
    uint32_t timeout_ms;       /* the whole transfer */
    uint32_t stall_timeout_ms; /* under 1 byte/s this long (whole seconds) */
    uint64_t max_bytes;        /* a plugin's; index.json has its own */
    long max_redirects;
    const char *ca_file; /* NULL: the system's CA store */
    registry_progress_fn progress;
    void *progress_arg;
};

/* The defaults above. */
void registry_fetch_opts_init(struct registry_fetch_opts *o);

/* Initialises libcurl once per process (also done by every fetch; call it
 * before starting threads to be safe with older libcurls). Errors:
 * FASTN_ERR_INTERNAL. */
int registry_fetch_global_init(void);

/* Fetches url, handing the body to sink, at most o->max_bytes of it.
 * Errors (err says more, naming the URL): FASTN_ERR_FETCH_PROTOCOL (not
 * http, https or file; a redirect elsewhere), FASTN_ERR_FETCH_NOT_FOUND
 * (404, 410, no such file), FASTN_ERR_FETCH_HTTP (another status but
 * 2xx), FASTN_ERR_FETCH_TIMEOUT (connect, total or stall),
 * FASTN_ERR_FETCH_TOO_LARGE, FASTN_ERR_FETCH_REDIRECTS,
 * FASTN_ERR_FETCH_TLS, FASTN_ERR_CANCELED (by progress), FASTN_ERR_FETCH
 * (anything else: resolving, connecting, reading), and the sink's. */
int registry_fetch(const char *url, const struct registry_fetch_opts *o,
                   registry_sink_fn sink, void *arg, char *err, size_t errlen);

/* Fetches url into out (empty on entry), bounded by out's maximum and
 * o->max_bytes. Errors: registry_fetch's. */
int registry_fetch_buf(const char *url, const struct registry_fetch_opts *o,
                       struct buf *out, char *err, size_t errlen);

/* base/file, with one '/' between. Errors: FASTN_ERR_TOO_LARGE. */
int registry_url_join(const char *base, const char *file, char *out, size_t n);

/* Fetches and parses base_url/index.json (at most REGISTRY_INDEX_MAX
 * bytes); name names the registry in errors. Errors: registry_fetch's,
 * FASTN_ERR_INDEX_TOO_LARGE, registry_index_parse's. */
int registry_fetch_index(const char *name, const char *base_url,
                         const struct registry_fetch_opts *o,
                         struct registry_index *out, char *err, size_t errlen);

/* Fetches the plugin e of the registry at base_url into a new temporary
 * file in dir, verified: its signature (FILE.minisig) is fetched first and
 * must be by a key in kr and by e's signer, then FILE is streamed to disk
 * through the checks of registry_download (size and sha256 as e says,
 * the signature). On success *d is a finished download (d->path the file,
 * d->minisig the signature: rename, then registry_download_cleanup) and
 * *out says who signed it; on failure nothing is left in dir. Errors:
 * registry_fetch's, FASTN_ERR_SIG_KEY_MISMATCH (signed by another key
 * than e's signer), registry_download_open's and _finish's. */
int registry_fetch_plugin(const char *base_url, const struct registry_entry *e,
                          const struct registry_keyring *kr, const char *dir,
                          const struct registry_fetch_opts *o,
                          struct registry_download *d,
                          struct registry_verified *out, char *err,
                          size_t errlen);

#endif
