/*
 * /fastn/plugin/1.0.0 answers: the offer (encoded by the serving peer,
 * checked by both sides) and the asker's reader of offer and bytes. See
 * plugin_xfer.h.
 */
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/index_int.h"
#include "registry/plugin_xfer.h"
#include "registry/plugin_xfer.pb-c.h"

#define MALFORMED FASTN_ERR_XFER_MALFORMED

static bool str_ok(const char *s, enum registry_charset cs, size_t min,
                   size_t max)
{
    size_t n = strnlen(s, max + 1);
    return n >= min && n <= max && registry_chars_check(cs, s, n) == 0;
}

/* An OK offer's fields, by the rules of index entries. */
static bool offer_ok(const struct plugin_xfer_offer *o)
{
    struct minisign_sig sig;

    if (!str_ok(o->name, CS_NAME, 1, PLUGIN_NAME_MAX) ||
        !str_ok(o->version, CS_VERSION, 1, PLUGIN_VERSION_MAX) ||
        !str_ok(o->summary, CS_TEXT, 0, REGISTRY_SUMMARY_MAX) ||
        o->n_protocols < 1 || o->n_protocols > PLUGIN_PROTOCOLS_MAX ||
        o->n_caps > REGISTRY_CAPS_MAX || o->n_apps > PLUGIN_APPS_MAX ||
        o->size < 1 || o->size > REGISTRY_PLUGIN_SIZE_MAX ||
        o->minisig_len > sizeof(o->minisig))
        return false;
    for (size_t i = 0; i < o->n_protocols; i++)
        if (!str_ok(o->protocols[i], CS_PROTOCOL, 1, PLUGIN_PROTOCOL_MAX))
            return false;
    for (size_t i = 0; i < o->n_caps; i++)
        if (!str_ok(o->caps[i], CS_CAP, 1, REGISTRY_CAP_NAME_MAX))
            return false;
    for (size_t i = 0; i < o->n_apps; i++)
        if (!str_ok(o->apps[i], CS_TEXT, 1, PLUGIN_APP_MAX))
            return false;
    /* a signature that does not even parse is refused before the bytes */
    return minisign_sig_parse(o->minisig, o->minisig_len, &sig, NULL, 0) == 0;
}

int plugin_xfer_offer_from_entry(struct plugin_xfer_offer *o,
                                 const struct registry_entry *e,
                                 const uint8_t *minisig, size_t minisig_len,
                                 bool bytes_follow)
{
    memset(o, 0, sizeof(*o));
    if (minisig_len > sizeof(o->minisig) ||
        e->n_protocols > PLUGIN_PROTOCOLS_MAX ||
        e->n_caps > REGISTRY_CAPS_MAX || e->n_apps > PLUGIN_APPS_MAX)
        return FASTN_ERR_INVAL;
    snprintf(o->name, sizeof(o->name), "%s", e->name);
    snprintf(o->version, sizeof(o->version), "%s", e->version);
    snprintf(o->summary, sizeof(o->summary), "%s",
             e->summary ? e->summary : "");
    for (o->n_protocols = 0; o->n_protocols < e->n_protocols; o->n_protocols++)
        snprintf(o->protocols[o->n_protocols], sizeof(o->protocols[0]), "%s",
                 e->protocols[o->n_protocols]);
    for (o->n_caps = 0; o->n_caps < e->n_caps; o->n_caps++)
        snprintf(o->caps[o->n_caps], sizeof(o->caps[0]), "%s",
                 e->caps[o->n_caps]);
    for (o->n_apps = 0; o->n_apps < e->n_apps; o->n_apps++)
        snprintf(o->apps[o->n_apps], sizeof(o->apps[0]), "%s",
                 e->apps[o->n_apps]);
    o->size = e->size;
    memcpy(o->sha256, e->sha256, sizeof(o->sha256));
    memcpy(o->minisig, minisig, minisig_len);
    o->minisig_len = minisig_len;
    o->bytes_follow = bytes_follow;
    return offer_ok(o) ? 0 : FASTN_ERR_INVAL;
}

int plugin_xfer_offer_encode(const struct plugin_xfer_offer *o, struct buf *out)
{
    Fastn__PluginXfer__PluginOffer m = FASTN__PLUGIN_XFER__PLUGIN_OFFER__INIT;
    char *protocols[PLUGIN_PROTOCOLS_MAX], *caps[REGISTRY_CAPS_MAX];
    char *apps[PLUGIN_APPS_MAX];
    size_t n, start = out->len;
    int rc;

    m.has_status = 1;
    m.status = (Fastn__PluginXfer__PluginOffer__Status)o->status;
    if (o->status == PLUGIN_XFER_OK) {
        if (!offer_ok(o))
            return FASTN_ERR_INVAL;
        for (size_t i = 0; i < o->n_protocols; i++)
            protocols[i] = (char *)o->protocols[i];
        for (size_t i = 0; i < o->n_caps; i++)
            caps[i] = (char *)o->caps[i];
        for (size_t i = 0; i < o->n_apps; i++)
            apps[i] = (char *)o->apps[i];
        m.name = (char *)o->name;
        m.version = (char *)o->version;
        m.summary = (char *)o->summary;
        m.n_protocols = o->n_protocols, m.protocols = protocols;
        m.n_capabilities = o->n_caps, m.capabilities = caps;
        m.n_apps = o->n_apps, m.apps = apps;
        m.has_size = 1, m.size = o->size;
        m.has_sha256 = 1;
        m.sha256.data = (uint8_t *)o->sha256;
        m.sha256.len = REGISTRY_SHA256_LEN;
        m.has_minisig = 1;
        m.minisig.data = (uint8_t *)o->minisig;
        m.minisig.len = o->minisig_len;
        m.has_bytes_follow = 1, m.bytes_follow = o->bytes_follow;
    } else if (plugin_xfer_status_error(o->status) == MALFORMED) {
        return FASTN_ERR_INVAL;
    }
    n = fastn__plugin_xfer__plugin_offer__get_packed_size(&m);
    if (n > PLUGIN_XFER_OFFER_MAX)
        return FASTN_ERR_INVAL;
    /* packed straight into out, after the length prefix */
    rc = buf_put_uvarint(out, n);
    if (!rc)
        rc = buf_reserve(out, n);
    if (rc) {
        out->len = start;
        return rc;
    }
    fastn__plugin_xfer__plugin_offer__pack(&m, out->data + out->len);
    out->len += n;
    return 0;
}

/* Copies a protobuf string of at most max bytes. */
static bool copy(const char *s, size_t max, char *out)
{
    size_t n;
    if (!s || (n = strnlen(s, max + 1)) > max)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

static bool copy_list(char *const *v, size_t n, size_t max_n, size_t each,
                      char *out, size_t stride, size_t *count)
{
    if (n > max_n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!copy(v[i], each, out + i * stride))
            return false;
    *count = n;
    return true;
}

/* The protobuf offer into the bounded C form, checked. */
static int offer_fields(const Fastn__PluginXfer__PluginOffer *m,
                        struct plugin_xfer_offer *o)
{
    memset(o, 0, sizeof(*o));
    o->status =
        m->has_status ? (enum plugin_xfer_status)m->status : PLUGIN_XFER_OK;
    if (o->status != PLUGIN_XFER_OK)
        return plugin_xfer_status_error(o->status);
    if (!copy(m->name, PLUGIN_NAME_MAX, o->name) ||
        !copy(m->version, PLUGIN_VERSION_MAX, o->version) ||
        (m->summary && !copy(m->summary, REGISTRY_SUMMARY_MAX, o->summary)) ||
        !copy_list(m->protocols, m->n_protocols, PLUGIN_PROTOCOLS_MAX,
                   PLUGIN_PROTOCOL_MAX, o->protocols[0],
                   sizeof(o->protocols[0]), &o->n_protocols) ||
        !copy_list(m->capabilities, m->n_capabilities, REGISTRY_CAPS_MAX,
                   REGISTRY_CAP_NAME_MAX, o->caps[0], sizeof(o->caps[0]),
                   &o->n_caps) ||
        !copy_list(m->apps, m->n_apps, PLUGIN_APPS_MAX, PLUGIN_APP_MAX,
                   o->apps[0], sizeof(o->apps[0]), &o->n_apps) ||
        !m->has_size || !m->has_sha256 ||
        m->sha256.len != REGISTRY_SHA256_LEN || !m->has_minisig ||
        m->minisig.len > sizeof(o->minisig))
        return MALFORMED;
    o->size = m->size;
    memcpy(o->sha256, m->sha256.data, REGISTRY_SHA256_LEN);
    if (m->minisig.len) /* an empty bytes field has no data */
        memcpy(o->minisig, m->minisig.data, m->minisig.len);
    o->minisig_len = m->minisig.len;
    o->bytes_follow = m->has_bytes_follow && m->bytes_follow;
    return offer_ok(o) ? 0 : MALFORMED;
}

/* --- the asker's reader --- */

enum { ST_OFFER, ST_BODY, ST_DONE };

void plugin_xfer_reader_init(struct plugin_xfer_reader *r, uint64_t max_size)
{
    memset(r, 0, sizeof(*r));
    lp_reader_init(&r->lp, PLUGIN_XFER_OFFER_MAX);
    r->max_size = max_size;
    r->state = ST_OFFER;
}

void plugin_xfer_reader_cleanup(struct plugin_xfer_reader *r)
{
    lp_reader_cleanup(&r->lp);
}

static int offer_complete(struct plugin_xfer_reader *r)
{
    Fastn__PluginXfer__PluginOffer *m;
    const uint8_t *msg;
    size_t n;
    int rc;

    msg = lp_reader_msg(&r->lp, &n);
    m = fastn__plugin_xfer__plugin_offer__unpack(NULL, n, msg);
    if (!m)
        return MALFORMED;
    rc = offer_fields(m, &r->offer);
    fastn__plugin_xfer__plugin_offer__free_unpacked(m, NULL);
    if (rc)
        return rc;
    if (r->offer.bytes_follow && r->offer.size > r->max_size)
        return FASTN_ERR_FETCH_TOO_LARGE;
    r->body_left = r->offer.bytes_follow ? r->offer.size : 0;
    r->state = r->body_left ? ST_BODY : ST_DONE;
    return PLUGIN_XFER_EV_OFFER;
}

int plugin_xfer_reader_feed(struct plugin_xfer_reader *r, const uint8_t *p,
                            size_t n, size_t *used, const uint8_t **body,
                            size_t *body_len)
{
    int rc;

    *used = 0;
    if (n == 0)
        return PLUGIN_XFER_NEED_MORE;
    switch (r->state) {
    case ST_OFFER:
        rc = lp_reader_feed(&r->lp, p, n, used);
        if (rc == FASTN_ERR_TOO_LARGE || rc == FASTN_ERR_MALFORMED)
            return MALFORMED;
        if (rc <= 0)
            return rc; /* NEED_MORE, or NOMEM */
        return offer_complete(r);
    case ST_BODY:
        *body = p;
        *body_len = n < r->body_left ? n : (size_t)r->body_left;
        *used = *body_len;
        r->body_left -= *body_len;
        if (r->body_left == 0)
            r->state = ST_DONE;
        return PLUGIN_XFER_EV_BODY;
    default:
        return MALFORMED; /* nothing may follow the file */
    }
}

bool plugin_xfer_reader_done(const struct plugin_xfer_reader *r)
{
    return r->state == ST_DONE;
}

int plugin_xfer_reader_end(const struct plugin_xfer_reader *r)
{
    return r->state == ST_DONE ? 0 : MALFORMED;
}
