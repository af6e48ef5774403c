/*
 * /dnsaddr resolution: see dnsaddr.h.
 */
#include "net/dnsaddr.h"

#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "net/mdns.h"

#define PREFIX "dnsaddr="
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static void take(const uint8_t *s, size_t len, bool has_peer,
                 const struct peer_id *peer, struct multiaddr *out, size_t max,
                 size_t *n_out)
{
    char text[256];
    struct multiaddr ma;
    struct peer_id id;

    if (*n_out >= max || len <= PREFIX_LEN ||
        len - PREFIX_LEN >= sizeof(text) || memcmp(s, PREFIX, PREFIX_LEN) != 0)
        return;
    memcpy(text, s + PREFIX_LEN, len - PREFIX_LEN);
    text[len - PREFIX_LEN] = '\0';
    if (multiaddr_parse(text, &ma) != 0)
        return;
    if (has_peer &&
        (multiaddr_get_peer(&ma, &id) != 0 || !peer_id_equal(&id, peer)))
        return;
    for (size_t i = 0; i < *n_out; i++)
        if (multiaddr_equal(&out[i], &ma))
            return;
    out[(*n_out)++] = ma;
}

int dnsaddr_parse(const uint8_t *ans, size_t n, bool has_peer,
                  const struct peer_id *peer, struct multiaddr *out, size_t max,
                  size_t *n_out)
{
    struct mdns_msg *m = mdns_msg_new();
    int err;

    *n_out = 0;
    if (!m)
        return FASTN_ERR_NOMEM;
    err = mdns_decode(ans, n, m);
    for (size_t i = 0; !err && i < m->n_rr; i++) {
        const struct mdns_rr *rr = &m->rr[i];
        if (rr->section != MDNS_ANSWER || rr->type != MDNS_TXT)
            continue;
        for (size_t j = 0; j < rr->n_txt; j++)
            take(rr->txt[j].s, rr->txt[j].len, has_peer, peer, out, max, n_out);
    }
    mdns_msg_free(m);
    return err;
}

int dnsaddr_query(const char *host, uint8_t *ans, size_t *n)
{
    struct __res_state st;
    char name[300];
    int len;

    *n = 0;
    if (snprintf(name, sizeof(name), "_dnsaddr.%s", host) >= (int)sizeof(name))
        return FASTN_ERR_NET_UNREACHABLE;
    memset(&st, 0, sizeof(st));
    if (res_ninit(&st) != 0)
        return FASTN_ERR_NET_UNREACHABLE;
    len = res_nquery(&st, name, ns_c_in, ns_t_txt, ans, DNSADDR_ANSWER_MAX);
    res_nclose(&st);
    if (len <= 0)
        return FASTN_ERR_NET_UNREACHABLE;
    *n = (size_t)(len < DNSADDR_ANSWER_MAX ? len : DNSADDR_ANSWER_MAX);
    return 0;
}
