/*
 * /fastn/plugin/1.0.0 messages: encoders, the request decoder and the
 * asker's reader. protobuf-c does the wire format (bounded by the frame
 * limits before it allocates); every field is then checked by the rules
 * of registry indexes (index_int.h). See plugin_xfer.h.
 */
#include "registry/plugin_xfer.h"

#include <string.h>

#include "fastn/err.h"
#include "registry/index_int.h"
#include "registry/plugin_xfer.pb-c.h"

#define MALFORMED FASTN_ERR_XFER_MALFORMED

/* s (n bytes) fits cs and max, copied into out. */
static bool take_string(const char *s, enum registry_charset cs, size_t min,
                        size_t max, char *out)
{
    size_t n = s ? strlen(s) : 0;
    if (!s || n < min || n > max || registry_chars_check(cs, s, n) != 0)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

static bool protocol_ok(const char *s)
{
    char tmp[PLUGIN_PROTOCOL_MAX + 1];
    return take_string(s, CS_PROTOCOL, 1, PLUGIN_PROTOCOL_MAX, tmp);
}

int plugin_xfer_request_encode(const struct plugin_xfer_request *req,
                               struct buf *out)
{
    Fastn__PluginXfer__PluginRequest m =
        FASTN__PLUGIN_XFER__PLUGIN_REQUEST__INIT;
    uint8_t frame[PLUGIN_XFER_REQUEST_MAX];
    size_t n;

    if (req->by_sha256) {
        m.has_sha256 = 1;
        m.sha256.data = (uint8_t *)req->sha256;
        m.sha256.len = REGISTRY_SHA256_LEN;
    } else if (protocol_ok(req->protocol)) {
        m.protocol = (char *)req->protocol;
    } else {
        return FASTN_ERR_INVAL;
    }
    m.has_offer_only = req->offer_only;
    m.offer_only = req->offer_only;
    m.has_max_size = req->max_size != 0;
    m.max_size = req->max_size;
    n = fastn__plugin_xfer__plugin_request__get_packed_size(&m);
    if (n > sizeof(frame))
        return FASTN_ERR_INVAL;
    fastn__plugin_xfer__plugin_request__pack(&m, frame);
    return lp_write(out, frame, n);
}

/* Finds one frame of at most max bytes at the start of p[0..n). */
static int frame_at(const uint8_t *p, size_t n, size_t max,
                    const uint8_t **body, uint64_t *len, size_t *used)
{
    struct buf_reader r;
    int rc;

    buf_reader_init(&r, p, n);
    rc = buf_get_uvarint(&r, len);
    if (rc == FASTN_ERR_TRUNCATED)
        return FASTN_ERR_AGAIN;
    if (rc || *len > max)
        return MALFORMED;
    if (buf_get_span(&r, (size_t)*len, body) != 0)
        return FASTN_ERR_AGAIN;
    *used = r.off;
    return 0;
}

static int request_fields(const Fastn__PluginXfer__PluginRequest *m,
                          struct plugin_xfer_request *out)
{
    memset(out, 0, sizeof(*out));
    if ((m->protocol != NULL) == (m->has_sha256 != 0))
        return MALFORMED; /* exactly one of the two */
    if (m->has_sha256) {
        if (m->sha256.len != REGISTRY_SHA256_LEN)
            return MALFORMED;
        out->by_sha256 = true;
        memcpy(out->sha256, m->sha256.data, REGISTRY_SHA256_LEN);
    } else if (!take_string(m->protocol, CS_PROTOCOL, 1, PLUGIN_PROTOCOL_MAX,
                            out->protocol)) {
        return MALFORMED;
    }
    out->offer_only = m->has_offer_only && m->offer_only;
    out->max_size = m->has_max_size ? m->max_size : 0;
    return 0;
}

int plugin_xfer_request_decode(const uint8_t *p, size_t n, size_t *used,
                               struct plugin_xfer_request *out)
{
    Fastn__PluginXfer__PluginRequest *m;
    const uint8_t *body;
    uint64_t len;
    size_t took;
    int rc = frame_at(p, n, PLUGIN_XFER_REQUEST_MAX, &body, &len, &took);

    if (rc)
        return rc;
    m = fastn__plugin_xfer__plugin_request__unpack(NULL, (size_t)len, body);
    if (!m)
        return MALFORMED;
    rc = request_fields(m, out);
    fastn__plugin_xfer__plugin_request__free_unpacked(m, NULL);
    if (!rc)
        *used = took;
    return rc;
}

int plugin_xfer_status_error(enum plugin_xfer_status s)
{
    switch (s) {
    case PLUGIN_XFER_OK:
        return 0;
    case PLUGIN_XFER_NOT_FOUND:
        return FASTN_ERR_XFER_NOT_FOUND;
    case PLUGIN_XFER_REFUSED:
    case PLUGIN_XFER_BUSY:
        return FASTN_ERR_XFER_REFUSED;
    case PLUGIN_XFER_TOO_LARGE:
        return FASTN_ERR_FETCH_TOO_LARGE;
    }
    return MALFORMED;
}
