/*
 * fastnd's mDNS peer discovery (`_p2p._udp.local`, libp2p/specs
 * discovery/mdns.md) on a real socket: the sans-I/O core is net/mdns.h.
 *
 * One UDP socket bound to 0.0.0.0:5353 (SO_REUSEADDR, so that avahi or
 * another daemon on the host share the port), joined to 224.0.0.251 on
 * every IPv4 interface that is up and not loopback. A query goes out on
 * each of them every MDNS query interval (10 s; and at once at start),
 * and queries from others are answered with our LAN addresses (the listen
 * addresses without loopback ones). Peers that answer go to the address
 * book (not dialed), logged once per peer; `fastn connect PEERID` then
 * finds them there. A datagram that does not decode is dropped (counted,
 * logged at debug level). `mdns = off` in the config turns it off; a port
 * that cannot be bound is logged and the daemon goes on without it.
 * A daemon that listens on loopback only (tests) stays off the network:
 * no socket is opened. IPv6 (ff02::fb) is not done.
 */
#include "daemon/daemon.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "fastn/err.h"
#include "net/mdns.h"
#include "net/swarm.h"
#include "store/store.h"
#include "util/log.h"

#define MDNS_IFACES_MAX 16
#define MDNS_SEEN_MAX 64
#define MDNS_REWRITE_MS (5 * 60 * 1000) /* a known peer's book entry */

struct daemon_mdns {
    struct daemon *d;
    uv_udp_t udp;
    uv_timer_t timer;
    struct mdns core;
    uint8_t rx[MDNS_MAX_PACKET];
    size_t n_ifaces;
    char ifaces[MDNS_IFACES_MAX][INET_ADDRSTRLEN];
    struct {
        struct peer_id id;
        int64_t at_ms;
    } seen[MDNS_SEEN_MAX];
    size_t n_seen, seen_next;
    uint64_t bad;
    int handles; /* open while closing; freed at 0 */
    bool udp_init;
};

static uint64_t mono_us(void)
{
    return uv_hrtime() / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The IPv4 interfaces to use, joined to the group (again: new ones). */
static void mdns_ifaces(struct daemon_mdns *m)
{
    uv_interface_address_t *ifs;
    int n;

    if (uv_interface_addresses(&ifs, &n) != 0)
        return;
    for (int i = 0; i < n && m->n_ifaces < MDNS_IFACES_MAX; i++) {
        char ip[INET_ADDRSTRLEN];
        bool known = false;
        if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET)
            continue;
        uv_ip4_name(&ifs[i].address.address4, ip, sizeof(ip));
        for (size_t k = 0; k < m->n_ifaces && !known; k++)
            known = !strcmp(m->ifaces[k], ip);
        if (known ||
            uv_udp_set_membership(&m->udp, MDNS_GROUP4, ip, UV_JOIN_GROUP) != 0)
            continue;
        memcpy(m->ifaces[m->n_ifaces++], ip, sizeof(ip));
    }
    uv_free_interface_addresses(ifs, n);
}

struct mdns_send {
    uv_udp_send_t req;
    size_t len;
    uint8_t data[];
};

static void on_sent(uv_udp_send_t *req, int status)
{
    (void)status; /* a lost datagram is what multicast does */
    free(req);
}

/* Multicasts p[0..n) on every interface. */
static void mdns_send(struct daemon_mdns *m, const uint8_t *p, size_t n)
{
    struct sockaddr_in to;

    uv_ip4_addr(MDNS_GROUP4, MDNS_PORT, &to);
    for (size_t i = 0; i < m->n_ifaces; i++) {
        struct mdns_send *s = malloc(sizeof(*s) + n);
        uv_buf_t b;
        if (!s)
            return;
        memcpy(s->data, p, n);
        b = uv_buf_init((char *)s->data, (unsigned)n);
        if (uv_udp_set_multicast_interface(&m->udp, m->ifaces[i]) != 0 ||
            uv_udp_send(&s->req, &m->udp, &b, 1, (struct sockaddr *)&to,
                        on_sent) != 0)
            free(s);
    }
}

/* Our LAN addresses: the listen addresses without loopback ones. */
static void mdns_refresh_addrs(struct daemon_mdns *m)
{
    struct multiaddr all[SWARM_MAX_LISTEN], keep[MDNS_ADDRS_MAX];
    size_t n = 0, k;

    if (!m->d->swarm)
        return;
    k = swarm_listen_addrs(m->d->swarm, all, SWARM_MAX_LISTEN);
    for (size_t i = 0; i < k && n < MDNS_ADDRS_MAX; i++) {
        enum addr_scope s = addr_scope_of(&all[i]);
        if (s != ADDR_SCOPE_LOOPBACK && s != ADDR_SCOPE_INVALID)
            keep[n++] = all[i];
    }
    mdns_set_addrs(&m->core, keep, n);
}

/* A found peer goes to the address book, unless written lately. */
static void mdns_found_peer(struct daemon_mdns *m, const struct mdns_found *f)
{
    struct store_blob p = {f->id.bytes, f->id.len};
    struct store_blob b[MDNS_ADDRS_MAX];
    char pid[PEER_ID_STR_MAX], a[MULTIADDR_STR_MAX] = "";
    int64_t now = wall_ms();
    size_t n = 0, slot = m->seen_next;
    int err;

    for (size_t i = 0; i < m->n_seen; i++) {
        if (!peer_id_equal(&m->seen[i].id, &f->id))
            continue;
        if (now - m->seen[i].at_ms < MDNS_REWRITE_MS)
            return;
        slot = i;
        break;
    }
    for (size_t i = 0; i < f->addrs.n && n < MDNS_ADDRS_MAX; i++)
        b[n++] = (struct store_blob){f->addrs.a[i].bytes, f->addrs.a[i].len};
    if (!m->d->store || n == 0)
        return;
    err = store_peer_addrs_put(m->d->store, &p, b, n, false, now);
    if (err) {
        LOG_RATELIMITED(LOG_WARN, "mdns", "address book: %s",
                        fastn_strerror(err));
        return;
    }
    if (slot == m->seen_next) {
        m->seen_next = (m->seen_next + 1) % MDNS_SEEN_MAX;
        if (m->n_seen < MDNS_SEEN_MAX)
            m->n_seen++;
        multiaddr_format(&f->addrs.a[0], a, sizeof(a));
        log_msg(LOG_INFO, "mdns", "found peer %s at %s",
                peer_id_format(&f->id, pid), a);
    }
    m->seen[slot].id = f->id;
    m->seen[slot].at_ms = now;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    struct daemon_mdns *m = h->data;

    (void)hint;
    *b = uv_buf_init((char *)m->rx, sizeof(m->rx));
}

static void on_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *b,
                    const struct sockaddr *from, unsigned flags)
{
    struct daemon_mdns *m = h->data;
    struct mdns_found found[MDNS_FOUND_MAX];
    struct buf reply;
    size_t n_found = 0;
    int err;

    if (n <= 0 || !from || (flags & UV_UDP_PARTIAL))
        return;
    mdns_refresh_addrs(m);
    buf_init(&reply, 1024);
    err = mdns_handle(&m->core, (const uint8_t *)b->base, (size_t)n, mono_us(),
                      &reply, found, MDNS_FOUND_MAX, &n_found);
    if (err) {
        m->bad++;
        log_msg(LOG_DEBUG, "mdns", "datagram dropped: %s", fastn_strerror(err));
    }
    if (!err && reply.len)
        mdns_send(m, reply.data, reply.len);
    for (size_t i = 0; i < n_found; i++)
        mdns_found_peer(m, &found[i]);
    buf_cleanup(&reply);
}

static void on_timer(uv_timer_t *t)
{
    struct daemon_mdns *m = t->data;
    struct buf q;
    uint64_t now = mono_us(), at;

    mdns_ifaces(m);
    mdns_refresh_addrs(m);
    buf_init(&q, 64);
    if (mdns_poll(&m->core, now, &q) == 1 && m->core.n_addrs)
        mdns_send(m, q.data, q.len);
    buf_cleanup(&q);
    at = mdns_next_deadline(&m->core);
    uv_timer_start(t, on_timer, at > now ? (at - now) / 1000 + 1 : 1000, 0);
}

static int mdns_open(struct daemon_mdns *m)
{
    struct sockaddr_in any;
    int rc;

    uv_ip4_addr("0.0.0.0", MDNS_PORT, &any);
    rc = uv_udp_init_ex(&m->d->loop, &m->udp, AF_INET);
    if (rc)
        return rc;
    m->udp_init = true;
    m->udp.data = m;
    rc = uv_udp_bind(&m->udp, (struct sockaddr *)&any, UV_UDP_REUSEADDR);
    if (!rc)
        rc = uv_udp_set_multicast_ttl(&m->udp, 255);
    if (!rc)
        rc = uv_udp_set_multicast_loop(&m->udp, 1);
    if (!rc)
        rc = uv_udp_recv_start(&m->udp, on_alloc, on_recv);
    return rc;
}

static void on_closed(uv_handle_t *h)
{
    struct daemon_mdns *m = h->data;

    if (--m->handles == 0)
        free(m);
}

/* Without the config key: $FASTN_MDNS=off turns it off (the test runner
 * sets it, so that no test daemon multicasts beyond the namespaces that
 * the mDNS tests make). */
static bool mdns_env_off(void)
{
    const char *env = getenv("FASTN_MDNS");

    return env && !strcmp(env, "off");
}

int daemon_mdns_start(struct daemon *d)
{
    struct daemon_mdns *m;
    struct mdns_config cfg;
    uint8_t rnd[MDNS_PEER_NAME_LEN];
    int rc;

    if (d->config.has_mdns ? d->config.mdns_off : mdns_env_off())
        return 0;
    if (!(m = calloc(1, sizeof(*m))))
        return FASTN_ERR_NOMEM;
    m->d = d;
    randombytes_buf(rnd, sizeof(rnd));
    mdns_config_default(&cfg);
    mdns_init(&m->core, &cfg, &d->identity.id, rnd, sizeof(rnd), mono_us());
    mdns_refresh_addrs(m);
    if (m->core.n_addrs == 0) { /* loopback only (tests): stay off the LAN */
        log_msg(LOG_INFO, "mdns", "off: no listen address on a network");
        free(m);
        return 0;
    }
    rc = mdns_open(m);
    if (rc) {
        log_msg(LOG_WARN, "mdns",
                "peer discovery on the local network is off: cannot use UDP "
                "port %d (%s); set mdns = off in the config to silence this",
                MDNS_PORT, uv_strerror(rc));
        if (m->udp_init) {
            m->handles = 1;
            uv_close((uv_handle_t *)&m->udp, on_closed);
        } else {
            free(m);
        }
        return 0;
    }
    uv_timer_init(&d->loop, &m->timer);
    m->timer.data = m;
    uv_timer_start(&m->timer, on_timer, 0, 0);
    d->mdns = m;
    log_msg(LOG_INFO, "mdns", "peer discovery on the local network on");
    return 0;
}

void daemon_mdns_stop(struct daemon *d)
{
    struct daemon_mdns *m = d->mdns;

    if (!m)
        return;
    d->mdns = NULL;
    m->handles = 2;
    uv_close((uv_handle_t *)&m->timer, on_closed);
    uv_close((uv_handle_t *)&m->udp, on_closed);
}
