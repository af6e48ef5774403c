/*
 * The daemon's side of the Kademlia DHT (the protocol is the swarm's,
 * net/swarm_kad.c): which bootstrap peers (the config's `bootstrap`, else
 * $FASTN_BOOTSTRAP, else the public libp2p list), and the routing table
 * kept across restarts in HOME/kad-table: loaded at start, written
 * atomically every DHT_SAVE_MS and at a clean stop. A missing or damaged
 * file is logged and the table starts from what could be read.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "net/swarm.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/home.h"
#include "util/log.h"

#define DHT_SAVE_MS (10 * 60 * 1000)
#define DHT_FILE "kad-table"
#define DHT_FILE_MAX (4u << 20)

/* The public libp2p bootstrap peers, as kubo's default configuration
 * lists them: /dnsaddr names the dial resolves (net/dnsaddr.h), RSA
 * (Qm...) and Ed25519 identities (net/peer_key.h). */
static const char *const public_bootstrap[] = {
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmQCU2EcMqAqQPR2i9bChDtGNJchTbq5TbXJJ16u19uLTa",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    "/dnsaddr/bootstrap.libp2p.io/p2p/"
    "QmcZf59bWwK5XFi76CZX8cbJ4BhTzzA3gU1ZjYZcYW3dwt",
    "/dnsaddr/va1.bootstrap.libp2p.io/p2p/"
    "12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8",
    "/ip4/104.131.131.82/tcp/4001/p2p/"
    "QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
};

struct daemon_dht {
    struct daemon *d;
    uv_timer_t timer;
};

/* A comma- or space-separated list of multiaddrs ("none": empty). */
static size_t parse_list(const char *s, struct multiaddr *out, size_t max)
{
    char item[MULTIADDR_STR_MAX];
    size_t n = 0;

    while (*s && n < max) {
        size_t len = strcspn(s, ", \t");
        struct peer_id id;
        if (len && len < sizeof(item)) {
            memcpy(item, s, len);
            item[len] = '\0';
            if (!multiaddr_parse(item, &out[n]) &&
                !multiaddr_get_peer(&out[n], &id))
                n++;
            else if (strcmp(item, "none"))
                log_msg(LOG_WARN, "dht",
                        "FASTN_BOOTSTRAP: '%s' is not a multiaddr ending "
                        "in /p2p/PEERID; left out",
                        item);
        }
        s += len;
        s += strspn(s, ", \t");
    }
    return n;
}

size_t daemon_dht_bootstrap(const struct daemon *d, struct multiaddr *out,
                            size_t max)
{
    const char *env = getenv("FASTN_BOOTSTRAP");
    size_t n = 0;

    if (d->config.has_bootstrap) {
        n = d->config.n_bootstrap < max ? d->config.n_bootstrap : max;
        memcpy(out, d->config.bootstrap, n * sizeof(*out));
        return n;
    }
    if (env)
        return parse_list(env, out, max);
    for (size_t i = 0;
         i < sizeof(public_bootstrap) / sizeof(*public_bootstrap) && n < max;
         i++)
        if (!multiaddr_parse(public_bootstrap[i], &out[n]))
            n++;
    return n;
}

static void dht_save(struct daemon *d)
{
    char path[PATH_MAX];
    struct buf b = {.max = DHT_FILE_MAX};
    int err;

    if (!d->swarm || home_path(d->home, DHT_FILE, path, sizeof(path)))
        return;
    err = swarm_kad_save(d->swarm, &b);
    if (!err)
        err = file_write_atomic(path, b.data, b.len, 0600);
    if (err && err != FASTN_ERR_UNSUPPORTED)
        log_msg(LOG_WARN, "dht", "cannot save the routing table to %s: %s",
                path, fastn_strerror(err));
    buf_cleanup(&b);
}

static void dht_load(struct daemon *d)
{
    char path[PATH_MAX];
    uint8_t *p = NULL;
    size_t n = 0;
    int err;

    if (home_path(d->home, DHT_FILE, path, sizeof(path)))
        return;
    err = file_read_nofollow(path, DHT_FILE_MAX, &p, &n);
    if (err == FASTN_ERR_NOT_FOUND)
        return;
    if (!err)
        err = swarm_kad_load(d->swarm, p, n);
    free(p);
    if (err && err != FASTN_ERR_UNSUPPORTED)
        log_msg(LOG_WARN, "dht",
                "routing table %s: %s; the entries before the damage are "
                "kept, the file is rewritten at the next save",
                path, fastn_strerror(err));
}

static void on_save(uv_timer_t *t)
{
    struct daemon_dht *h = t->data;

    dht_save(h->d);
}

void daemon_dht_start(struct daemon *d)
{
    struct daemon_dht *h;

    if (!d->swarm || !(h = calloc(1, sizeof(*h))))
        return;
    dht_load(d);
    h->d = d;
    uv_timer_init(&d->loop, &h->timer);
    h->timer.data = h;
    uv_timer_start(&h->timer, on_save, DHT_SAVE_MS, DHT_SAVE_MS);
    uv_unref((uv_handle_t *)&h->timer);
    d->dht = h;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void daemon_dht_stop(struct daemon *d)
{
    if (!d->dht)
        return;
    dht_save(d);
    uv_close((uv_handle_t *)&d->dht->timer, on_closed);
    d->dht = NULL;
}
