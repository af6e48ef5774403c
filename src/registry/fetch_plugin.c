/*
 * A plugin from a registry, fetched and verified into a temporary file:
 * the signature first (small; refused early if its key is not trusted or
 * not the one the index names), then the plugin streamed to disk through
 * registry_download, which keeps the file only if size, sha256 and
 * signature all hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/fetch.h"
#include "util/errbuf.h"

static int to_download(void *arg, const uint8_t *p, size_t n)
{
    return registry_download_write(arg, p, n);
}

/* Fetches FILE.minisig and checks it names e's signer. */
static int fetch_signature(const char *base_url, const struct registry_entry *e,
                           const struct registry_fetch_opts *o, struct buf *sig,
                           char *err, size_t errlen)
{
    char url[REGISTRY_URL_MAX], file[REGISTRY_FILE_MAX + 16];
    char want[MINISIGN_KEYID_HEX_LEN + 1], got[MINISIGN_KEYID_HEX_LEN + 1];
    struct minisign_sig s;
    char why[160];
    int rc;

    snprintf(file, sizeof(file), "%s.minisig", e->file);
    if (registry_url_join(base_url, file, url, sizeof(url)) != 0)
        return errbuf_say(err, errlen, FASTN_ERR_TOO_LARGE, "URL too long");
    if ((rc = registry_fetch_buf(url, o, sig, err, errlen)) != 0)
        return rc;
    if ((rc = minisign_sig_parse(sig->data, sig->len, &s, why, sizeof(why))))
        return errbuf_say(err, errlen, rc, "%s: %s", url, why);
    if (memcmp(s.key_id, e->signer, MINISIGN_KEYID_LEN) != 0) {
        minisign_key_id_hex(e->signer, want);
        minisign_key_id_hex(s.key_id, got);
        return errbuf_say(
            err, errlen, FASTN_ERR_SIG_KEY_MISMATCH,
            "%s: signed by key %s, but the registry's index says %s", url, got,
            want);
    }
    return 0;
}

int registry_fetch_plugin(const char *base_url, const struct registry_entry *e,
                          const struct registry_keyring *kr, const char *dir,
                          const struct registry_fetch_opts *o,
                          struct registry_download *d,
                          struct registry_verified *out, char *err,
                          size_t errlen)
{
    char url[REGISTRY_URL_MAX];
    struct buf sig;
    int rc;

    buf_init(&sig, MINISIGN_SIGFILE_MAX);
    rc = fetch_signature(base_url, e, o, &sig, err, errlen);
    if (!rc)
        rc = registry_download_open(d, dir, kr, sig.data, sig.len, e->size,
                                    e->sha256, o->max_bytes, err, errlen);
    buf_cleanup(&sig);
    if (rc)
        return rc;
    if (registry_url_join(base_url, e->file, url, sizeof(url)) != 0)
        rc = errbuf_say(err, errlen, FASTN_ERR_TOO_LARGE, "URL too long");
    if (!rc)
        rc = registry_fetch(url, o, to_download, d, err, errlen);
    if (rc == FASTN_ERR_SIZE_MISMATCH)
        rc = errbuf_say(err, errlen, rc,
                        "%s: more than the %llu bytes the index "
                        "announces",
                        url, (unsigned long long)e->size);
    if (!rc)
        return registry_download_finish(d, out, err, errlen);
    registry_download_abort(d);
    return rc;
}
