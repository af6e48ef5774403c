/*
 * Kademlia's records: validation, the provider and value stores, and the
 * server's answers to requests; see kad.h. The stores are fixed-size
 * arrays searched linearly (their capacity is a few thousand records,
 * set by the caller); expired records are reused first.
 */
#include "net/kad.h"

#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "net/peer_key.h"

#define PK_PREFIX "/pk/"

/* A /pk/ record: the key names the PeerID its value (a PublicKey
 * protobuf of any of libp2p's key types: RSA ones are what older go
 * nodes publish) derives to, as go-libp2p-record's PublicKeyValidator
 * checks. */
int kad_record_validate(const uint8_t *key, size_t klen, const uint8_t *value,
                        size_t vlen)
{
    struct peer_id said, derived;

    if (klen <= 4 || memcmp(key, PK_PREFIX, 4) != 0)
        return FASTN_ERR_NET_RECORD_INVALID; /* only /pk/ is known */
    if (peer_id_from_bytes(key + 4, klen - 4, &said) != 0 ||
        peer_key_id(value, vlen, &derived) != 0)
        return FASTN_ERR_NET_RECORD_INVALID;
    return peer_id_equal(&said, &derived) ? 0 : FASTN_ERR_NET_RECORD_INVALID;
}

int kad_store_init(struct kad_store *s, size_t max_providers, size_t max_values)
{
    memset(s, 0, sizeof(*s));
    s->providers =
        calloc(max_providers ? max_providers : 1, sizeof(*s->providers));
    s->values = calloc(max_values ? max_values : 1, sizeof(*s->values));
    if (!s->providers || !s->values) {
        kad_store_cleanup(s);
        return FASTN_ERR_NOMEM;
    }
    s->max_providers = max_providers;
    s->max_values = max_values;
    return 0;
}

void kad_store_cleanup(struct kad_store *s)
{
    for (size_t i = 0; s->values && i < s->n_values; i++)
        free(s->values[i].value);
    free(s->providers);
    free(s->values);
    memset(s, 0, sizeof(*s));
}

void kad_store_expire(struct kad_store *s, uint64_t now)
{
    size_t k = 0;

    for (size_t i = 0; i < s->n_providers; i++)
        if (now < s->providers[i].expire_at)
            s->providers[k++] = s->providers[i];
    s->n_providers = k;
    k = 0;
    for (size_t i = 0; i < s->n_values; i++) {
        if (now < s->values[i].expire_at)
            s->values[k++] = s->values[i];
        else
            free(s->values[i].value);
    }
    s->n_values = k;
}

static bool key_is(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && memcmp(a, b, an) == 0;
}

int kad_store_add_provider(struct kad_store *s, const uint8_t *key, size_t n,
                           const struct kad_peer *p, uint64_t now)
{
    struct kad_provider *r = NULL;

    if (n == 0 || n > KAD_KEY_MAX)
        return FASTN_ERR_INVAL;
    for (size_t i = 0; i < s->n_providers && !r; i++)
        if (key_is(s->providers[i].key, s->providers[i].key_len, key, n) &&
            peer_id_equal(&s->providers[i].id, &p->id))
            r = &s->providers[i];
    if (!r) {
        if (s->n_providers == s->max_providers)
            kad_store_expire(s, now);
        if (s->n_providers == s->max_providers)
            return FASTN_ERR_TOO_LARGE;
        r = &s->providers[s->n_providers++];
        memcpy(r->key, key, n);
        r->key_len = n;
        r->id = p->id;
    }
    r->n_addrs = 0;
    for (size_t i = 0; i < p->n_addrs && r->n_addrs < KAD_ENTRY_ADDRS; i++)
        r->addrs[r->n_addrs++] = p->addrs[i];
    r->expire_at = now + KAD_PROVIDER_TTL_US;
    return 0;
}

size_t kad_store_providers(const struct kad_store *s, const uint8_t *key,
                           size_t n, uint64_t now,
                           const struct kad_provider **out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_providers && k < max; i++)
        if (now < s->providers[i].expire_at &&
            key_is(s->providers[i].key, s->providers[i].key_len, key, n))
            out[k++] = &s->providers[i];
    return k;
}

int kad_store_put_value(struct kad_store *s, const uint8_t *key, size_t klen,
                        const uint8_t *value, size_t vlen, uint64_t now)
{
    struct kad_value *v = NULL;
    uint8_t *copy;
    int err = kad_record_validate(key, klen, value, vlen);

    if (err)
        return err;
    if (klen > KAD_KEY_MAX || vlen > KAD_VALUE_MAX)
        return FASTN_ERR_TOO_LARGE;
    for (size_t i = 0; i < s->n_values && !v; i++)
        if (key_is(s->values[i].key, s->values[i].key_len, key, klen))
            v = &s->values[i];
    if (!v && s->n_values == s->max_values)
        kad_store_expire(s, now);
    if (!v && s->n_values == s->max_values)
        return FASTN_ERR_TOO_LARGE;
    if (!(copy = malloc(vlen ? vlen : 1)))
        return FASTN_ERR_NOMEM;
    memcpy(copy, value, vlen);
    if (!v) {
        v = &s->values[s->n_values++];
        memcpy(v->key, key, klen);
        v->key_len = klen;
    } else {
        free(v->value);
    }
    v->value = copy;
    v->len = vlen;
    v->expire_at = now + KAD_RECORD_TTL_US;
    return 0;
}

const struct kad_value *kad_store_get_value(const struct kad_store *s,
                                            const uint8_t *key, size_t n,
                                            uint64_t now)
{
    for (size_t i = 0; i < s->n_values; i++)
        if (now < s->values[i].expire_at &&
            key_is(s->values[i].key, s->values[i].key_len, key, n))
            return &s->values[i];
    return NULL;
}

/* --- the server ---------------------------------------------------------- */

static void peer_from_entry(struct kad_peer *p, const struct peer_id *id,
                            const struct multiaddr *addrs, size_t n)
{
    memset(p, 0, sizeof(*p));
    p->id = *id;
    for (size_t i = 0; i < n && i < KAD_PEER_ADDRS; i++)
        p->addrs[p->n_addrs++] = addrs[i];
}

/* A FIND_NODE's target not in the table but connected to us: with the
 * addresses it told us. */
static void add_connected(struct kad_server *s, const struct peer_id *asked,
                          struct kad_msg *out)
{
    struct multiaddr a[KAD_PEER_ADDRS];
    size_t n;

    if (!s->connected_addrs)
        return;
    n = s->connected_addrs(s->arg, asked, a, KAD_PEER_ADDRS);
    if (n)
        peer_from_entry(&out->closer[out->n_closer++], asked, a, n);
}

/* closerPeers: an exact match first (FIND_NODE: from the table, else a
 * connected peer's), then the k closest we know, never the requester
 * itself (a peer looking itself up, as every bootstrap does, gets its
 * neighbours, not itself). */
static void add_closer(struct kad_server *s, const struct peer_id *from,
                       struct kad_msg *out)
{
    const struct kad_entry *e[KAD_K + 2], *hit = NULL;
    uint8_t target[KAD_HASH_LEN];
    struct peer_id asked;
    size_t n;

    if (out->type == KAD_FIND_NODE &&
        peer_id_from_bytes(out->key, out->key_len, &asked) == 0 &&
        !peer_id_equal(&asked, from)) {
        if ((hit = kad_table_find(s->table, &asked)) != NULL)
            peer_from_entry(&out->closer[out->n_closer++], &hit->id, hit->addrs,
                            hit->n_addrs);
        else
            add_connected(s, &asked, out);
    }
    kad_hash(out->key, out->key_len, target);
    n = kad_table_closest(s->table, target, e, KAD_K + 2);
    for (size_t i = 0; i < n && out->n_closer < KAD_K; i++)
        if (!peer_id_equal(&e[i]->id, from) && e[i] != hit)
            peer_from_entry(&out->closer[out->n_closer++], &e[i]->id,
                            e[i]->addrs, e[i]->n_addrs);
}

static void add_providers(struct kad_server *s, struct kad_msg *out,
                          uint64_t now)
{
    const struct kad_provider *p[KAD_K];
    size_t n =
        kad_store_providers(s->store, out->key, out->key_len, now, p, KAD_K);
    for (size_t i = 0; i < n; i++)
        peer_from_entry(&out->providers[out->n_providers++], &p[i]->id,
                        p[i]->addrs, p[i]->n_addrs);
}

/* ADD_PROVIDER: only the sender may announce itself (spec), with the
 * addresses the policy allows. */
static void take_providers(struct kad_server *s, const struct peer_id *from,
                           const struct kad_msg *m, uint64_t now)
{
    for (size_t i = 0; i < m->n_providers; i++) {
        struct kad_peer p = m->providers[i];
        size_t k = 0;
        if (!peer_id_equal(&p.id, from))
            continue;
        for (size_t j = 0; j < p.n_addrs; j++) {
            struct multiaddr ok;
            if (addr_check(&s->policy, p.addrs[j].bytes, p.addrs[j].len, from,
                           &ok) == 0)
                p.addrs[k++] = ok;
        }
        p.n_addrs = k;
        kad_store_add_provider(s->store, m->key, m->key_len, &p, now);
    }
}

static int answer(struct kad_server *s, const struct peer_id *from,
                  const struct kad_msg *m, struct kad_msg *out, uint64_t now)
{
    const struct kad_value *v;

    out->type = m->type;
    memcpy(out->key, m->key, m->key_len);
    out->key_len = m->key_len;
    switch (m->type) {
    case KAD_PING:
        return 0;
    case KAD_PUT_VALUE:
        if (!m->has_record ||
            !key_is(m->rec_key, m->rec_key_len, m->key, m->key_len))
            return FASTN_ERR_NET_BAD_MESSAGE;
        return kad_store_put_value(s->store, m->key, m->key_len, m->value,
                                   m->value_len, now);
    case KAD_GET_VALUE:
        v = kad_store_get_value(s->store, m->key, m->key_len, now);
        if (v) {
            out->has_record = true;
            memcpy(out->rec_key, v->key, v->key_len);
            out->rec_key_len = v->key_len;
            memcpy(out->value, v->value, v->len);
            out->value_len = v->len;
        }
        break;
    case KAD_GET_PROVIDERS:
        add_providers(s, out, now);
        break;
    default:
        break;
    }
    add_closer(s, from, out);
    return 0;
}

int kad_server_handle(struct kad_server *s, const struct peer_id *from,
                      const uint8_t *msg, size_t n, uint64_t now,
                      struct buf *out)
{
    struct kad_msg *m = kad_msg_new(), *reply = kad_msg_new();
    int err;

    if (!m || !reply) {
        err = FASTN_ERR_NOMEM;
        goto out_free;
    }
    err = kad_msg_decode(msg, n, m);
    if (err)
        goto out_free;
    if (m->type == KAD_ADD_PROVIDER) {
        take_providers(s, from, m, now);
        goto out_free; /* no answer */
    }
    if ((m->type != KAD_PING && m->key_len == 0)) {
        err = FASTN_ERR_NET_BAD_MESSAGE;
        goto out_free;
    }
    err = answer(s, from, m, reply, now);
    if (!err && m->type == KAD_PUT_VALUE)
        err = kad_msg_encode(m, out); /* the request, echoed */
    else if (!err)
        err = kad_msg_encode(reply, out);
out_free:
    kad_msg_free(m);
    kad_msg_free(reply);
    return err;
}
