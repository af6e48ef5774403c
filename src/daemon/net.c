/*
 * fastnd's network: the address book in the store, the swarm (listening
 * where the options and config say), and the router, wired into the
 * control server's host.
 *
 * Listen addresses, first that applies: -noListenAddrs (none); --listen /
 * -hostAddrs; the config's `listen`; for a p2pd-style run (-listen=/unix
 * given) /ip4/0.0.0.0/tcp/0 and /ip6/::/tcp/0, as p2pd; otherwise the
 * stable default port SWARM_DEFAULT_PORT on both, falling back to a
 * system-chosen port when it is taken.
 *
 * SIGHUP (daemon_net_reload): the timing and limits apply to new and
 * existing connections; the config's listen addresses are opened and
 * closed to match it, unless the command line gave the listen addresses
 * (they stay in force until fastnd starts again).
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "net/swarm.h"
#include "router/router.h"
#include "store/store.h"
#include "util/home.h"
#include "util/log.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The DHT mode: p2pd's -dht flags (none: off) over the config's `dht`. */
static enum swarm_kad_mode dht_mode(const struct daemon *d)
{
    switch (d->opts->dht) {
    case DAEMON_DHT_AUTO:
        return SWARM_KAD_AUTO;
    case DAEMON_DHT_CLIENT:
        return SWARM_KAD_CLIENT;
    case DAEMON_DHT_SERVER:
        return SWARM_KAD_SERVER;
    case DAEMON_DHT_OFF:
        return SWARM_KAD_OFF;
    case DAEMON_DHT_FROM_CONFIG:
        break;
    }
    return d->config.dht_mode;
}

/* --- the address book, backed by state.sqlite ------------------------------
 */

static size_t book_lookup(void *arg, const struct peer_id *peer,
                          struct multiaddr *out, bool *worked, size_t max)
{
    struct daemon *d = arg;
    struct store_blob p = {peer->bytes, peer->len};
    struct store_peer_addr *v = NULL;
    size_t n = 0, k = 0;

    if (!d->store || store_peer_addrs_get(d->store, &p, &v, &n) != 0)
        return 0;
    for (size_t i = 0; i < n && k < max; i++)
        if (multiaddr_from_bytes(v[i].addr, v[i].len, &out[k]) == 0)
            worked[k++] = v[i].dialed;
    store_peer_addrs_free(v, n);
    return k;
}

static void book_remember(void *arg, const struct peer_id *peer,
                          const struct multiaddr *addrs, size_t n, bool dialed)
{
    struct daemon *d = arg;
    struct store_blob p = {peer->bytes, peer->len};
    struct store_blob b[SWARM_MAX_PEER_ADDRS];
    int err;

    if (!d->store || n == 0)
        return;
    if (n > SWARM_MAX_PEER_ADDRS)
        n = SWARM_MAX_PEER_ADDRS;
    for (size_t i = 0; i < n; i++)
        b[i] = (struct store_blob){addrs[i].bytes, addrs[i].len};
    err = store_peer_addrs_note(d->store, &p, b, n, dialed, wall_ms());
    if (err)
        LOG_RATELIMITED(LOG_WARN, "daemon", "address book: %s",
                        fastn_strerror(err));
}

static const struct swarm_book_ops book_ops = {book_lookup, book_remember};

/* --- listen addresses
 * --------------------------------------------------------- */

/* Whether this host can listen on IPv6 at all (containers often cannot):
 * the default addresses then leave /ip6 out instead of failing. */
static bool has_ipv6(void)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

static int add_addr(struct multiaddr *out, size_t *n, const char *text,
                    char *err, size_t errlen)
{
    if (*n == SWARM_MAX_LISTEN) {
        snprintf(err, errlen, "too many listen addresses (max %d)",
                 SWARM_MAX_LISTEN);
        return FASTN_ERR_INVAL;
    }
    if (multiaddr_parse(text, &out[*n]) != 0) {
        snprintf(err, errlen, "bad listen address '%s'", text);
        return FASTN_ERR_INVAL;
    }
    (*n)++;
    return 0;
}

/* The addresses used when neither the command line nor the config
 * names any. */
static int default_addrs(struct daemon *d, struct multiaddr *out, size_t *n,
                         char *err, size_t errlen)
{
    char def[64];
    int rc;
    unsigned port = d->opts->control_path ? 0 : SWARM_DEFAULT_PORT;
    snprintf(def, sizeof(def), "/ip4/0.0.0.0/tcp/%u", port);
    rc = add_addr(out, n, def, err, errlen);
    snprintf(def, sizeof(def), "/ip6/::/tcp/%u", port);
    if (!rc && has_ipv6())
        rc = add_addr(out, n, def, err, errlen);
    return rc;
}

static int listen_addrs(struct daemon *d, struct multiaddr *out, size_t *n,
                        char *err, size_t errlen)
{
    int rc = 0;

    *n = 0;
    if (d->opts->no_listen_addrs)
        return 0;
    for (size_t i = 0; !rc && i < d->opts->n_listen; i++)
        rc = add_addr(out, n, d->opts->listen[i], err, errlen);
    if (rc || *n)
        return rc;
    for (size_t i = 0; !rc && i < d->config.n_listen; i++)
        rc = add_addr(out, n, d->config.listen[i], err, errlen);
    if (rc || *n)
        return rc;
    return default_addrs(d, out, n, err, errlen);
}

/* --- life cycle
 * ----------------------------------------------------------------- */

static void apply_timing(const struct daemon_config *c, struct swarm_config *sc)
{
    if (c->has_idle_timeout)
        sc->idle_timeout_ms = c->idle_timeout * 1000;
    if (c->has_keepalive)
        sc->keepalive_ms = c->keepalive * 1000;
    if (c->has_ping_timeout)
        sc->ping_timeout_ms = c->ping_timeout * 1000;
    if (c->has_handshake_timeout)
        sc->handshake_timeout_ms = c->handshake_timeout * 1000;
    if (c->has_max_connections)
        sc->max_connections = c->max_connections;
    if (c->has_max_handshakes)
        sc->max_handshakes = c->max_handshakes;
    if (c->has_max_handshakes_per_addr)
        sc->max_handshakes_per_addr = c->max_handshakes_per_addr;
    if (c->has_max_inbound_streams)
        sc->max_inbound_streams = c->max_inbound_streams;
    if (c->has_max_connection_buffers)
        sc->max_buffers = (size_t)c->max_connection_buffers << 20;
}

/* FASTN_RELAY_RETRY_MS=FIRST[,REFUSED]: the first waits before asking a
 * relay again after a failure and after a refusal (2 s and 30 s), for
 * tests that watch the backoff in seconds. */
static void relay_retry_env(struct swarm_config *cfg)
{
    const char *env = getenv("FASTN_RELAY_RETRY_MS");
    unsigned long a, b;
    char *end;

    if (!env || !*env)
        return;
    a = strtoul(env, &end, 10);
    b = *end == ',' ? strtoul(end + 1, &end, 10) : a;
    if (*end || !a || !b || a > 3600000 || b > 3600000) {
        log_msg(LOG_WARN, "daemon", "FASTN_RELAY_RETRY_MS='%s' ignored", env);
        return;
    }
    cfg->relay_retry_first_ms = (uint32_t)a;
    cfg->relay_refused_first_ms = (uint32_t)b;
}

static int open_store(struct daemon *d)
{
    char path[PATH_MAX];
    int rc;

    if (home_path(d->home, "state.sqlite", path, sizeof(path)))
        return FASTN_ERR_TOO_LARGE;
    const struct daemon_config *c = &d->config;
    struct store_options o = {
        .quarantine_item_max = (uint64_t)c->quarantine_stream_kib << 10,
        .quarantine_peer_max = (uint64_t)c->quarantine_peer_mib << 20,
        .quarantine_total_max = (uint64_t)c->quarantine_total_mib << 20,
        .quarantine_count_max = c->quarantine_streams,
    };
    rc = store_open(path, &o, &d->store);
    if (!rc)
        rc = store_peers_open(d->store);
    return rc;
}

int daemon_net_start(struct daemon *d, char *err, size_t errlen)
{
    struct multiaddr addrs[SWARM_MAX_LISTEN], boot[SWARM_KAD_BOOTSTRAP_MAX];
    struct swarm_config cfg;
    size_t n;
    int rc;

    rc = open_store(d);
    if (rc) {
        /* the network works without the address book; say why not */
        log_msg(LOG_WARN, "daemon", "no address book: %s", fastn_strerror(rc));
        store_close(d->store);
        d->store = NULL;
    }
    rc = listen_addrs(d, addrs, &n, err, errlen);
    if (rc)
        return rc;
    swarm_config_default(&cfg, &d->identity);
    apply_timing(&d->config, &cfg);
    cfg.listen = addrs;
    cfg.n_listen = n;
    cfg.book = &book_ops;
    cfg.book_arg = d;
    cfg.autonat_server = !d->config.autonat_server_off;
    cfg.autonat_v2_server = !d->config.autonat_server_v1;
    cfg.reach_private = d->config.private_addresses;
    cfg.relay_service = d->config.relay_service;
    if (d->config.has_relay_duration_s)
        cfg.relay_duration_s = d->config.relay_duration_s;
    if (d->config.has_relay_data_kib)
        cfg.relay_data = (uint64_t)d->config.relay_data_kib * 1024;
    if (d->config.has_relay_reservations) {
        cfg.relay_reservations_set = true;
        cfg.relay_reservations = d->config.relay_reservations;
    }
    relay_retry_env(&cfg);
    cfg.kad_mode = dht_mode(d);
    cfg.bootstrap = boot;
    cfg.n_bootstrap = daemon_dht_bootstrap(d, boot, SWARM_KAD_BOOTSTRAP_MAX);
    rc = swarm_new(&d->loop, &cfg, &d->swarm);
    for (size_t i = 0; !rc && i < d->config.n_relays; i++) {
        char s[MULTIADDR_STR_MAX];
        int e = swarm_relay_add(d->swarm, &d->config.relays[i]);
        multiaddr_format(&d->config.relays[i], s, sizeof(s));
        if (e)
            log_msg(LOG_WARN, "daemon", "relay %s not used: %s", s,
                    fastn_strerror(e));
    }
    if (!rc && (rc = swarm_listen(d->swarm)) != 0)
        snprintf(err, errlen,
                 "cannot listen on the network address(es) (see the log); "
                 "change --listen or the config's listen");
    if (!rc)
        rc = router_new(&d->loop, d->swarm, &d->router);
    if (!rc) /* each spliced stream holds a descriptor (fds.c) */
        router_set_max_splices(d->router, d->fds.max_splices);
    if (!rc)
        rc = daemon_route_start(d, err, errlen);
    if (rc) {
        if (!err[0])
            snprintf(err, errlen, "cannot start the network: %s",
                     fastn_strerror(rc));
        return rc;
    }
    d->host.swarm = d->swarm;
    d->host.router = d->router;
    daemon_reconnect_start(d);
    daemon_dht_start(d);
    return daemon_mdns_start(d);
}

void daemon_net_stop(struct daemon *d)
{
    if (d->stopping)
        daemon_reconnect_save(d);
    daemon_dht_stop(d);
    daemon_mdns_stop(d);
    d->host.swarm = NULL;
    d->host.router = NULL;
    router_close(d->router);
    swarm_close(d->swarm);
}

void daemon_net_cleanup(struct daemon *d)
{
    router_free(d->router);
    swarm_free(d->swarm);
    store_close(d->store);
    d->router = NULL;
    d->swarm = NULL;
    d->store = NULL;
}

/* --- reload (SIGHUP)
 * ----------------------------------------------------------------- */

static bool same_listen(const struct daemon_config *a,
                        const struct daemon_config *b)
{
    if (a->n_listen != b->n_listen)
        return false;
    for (size_t i = 0; i < a->n_listen; i++)
        if (strcmp(a->listen[i], b->listen[i]) != 0)
            return false;
    return true;
}

/* Logs each timing value that differs between a and b (milliseconds). */
static bool log_timing(const struct swarm_config *a,
                       const struct swarm_config *b)
{
    const struct {
        const char *name;
        uint32_t was, now;
    } v[] = {
        {"idle-timeout", a->idle_timeout_ms, b->idle_timeout_ms},
        {"keepalive", a->keepalive_ms, b->keepalive_ms},
        {"ping-timeout", a->ping_timeout_ms, b->ping_timeout_ms},
        {"handshake-timeout", a->handshake_timeout_ms, b->handshake_timeout_ms},
    };
    bool changed = false;

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (v[i].was == v[i].now)
            continue;
        log_msg(LOG_INFO, "daemon", "SIGHUP: %s is now %u s (was %u s)",
                v[i].name, v[i].now / 1000, v[i].was / 1000);
        changed = true;
    }
    const struct {
        const char *name;
        size_t was, now;
    } lim[] = {
        {"max-connections", a->max_connections, b->max_connections},
        {"max-handshakes", a->max_handshakes, b->max_handshakes},
        {"max-handshakes-per-address", a->max_handshakes_per_addr,
         b->max_handshakes_per_addr},
        {"max-inbound-streams", a->max_inbound_streams, b->max_inbound_streams},
        {"max-connection-buffers (MiB)", a->max_buffers >> 20,
         b->max_buffers >> 20},
    };
    for (size_t i = 0; i < sizeof(lim) / sizeof(lim[0]); i++) {
        if (lim[i].was == lim[i].now)
            continue;
        log_msg(LOG_INFO, "daemon", "SIGHUP: %s is now %zu (was %zu)",
                lim[i].name, lim[i].now, lim[i].was);
        changed = true;
    }
    return changed;
}

static void reload_timing(struct daemon *d, const struct daemon_config *fresh)
{
    struct swarm_config was, now;

    swarm_config_default(&was, &d->identity);
    apply_timing(&d->config, &was);
    swarm_config_default(&now, &d->identity);
    apply_timing(fresh, &now);
    if (log_timing(&was, &now))
        swarm_set_timing(d->swarm, &now);
}

/* The config's listen addresses that parse (the others are logged,
 * counted and left out), or the defaults when it names none. */
static unsigned reload_addrs(struct daemon *d,
                             const struct daemon_config *fresh,
                             struct multiaddr *out, size_t *n)
{
    char err[256];
    unsigned bad = 0;

    *n = 0;
    for (size_t i = 0; i < fresh->n_listen; i++) {
        if (add_addr(out, n, fresh->listen[i], err, sizeof(err)) == 0)
            continue;
        log_msg(LOG_ERROR, "daemon", "SIGHUP: %s in %s: not listened on", err,
                d->config_path);
        bad++;
    }
    if (fresh->n_listen == 0 && default_addrs(d, out, n, err, sizeof(err))) {
        log_msg(LOG_ERROR, "daemon", "SIGHUP: %s", err);
        bad++;
    }
    return bad;
}

static void reload_listen(struct daemon *d, const struct daemon_config *fresh)
{
    struct multiaddr addrs[SWARM_MAX_LISTEN];
    struct swarm_listen_change ch;
    unsigned bad;
    size_t n;

    if (same_listen(&d->config, fresh))
        return;
    if (d->opts->no_listen_addrs || d->opts->n_listen) {
        log_msg(LOG_INFO, "daemon",
                "SIGHUP: the config's listen changed, but the listen "
                "addresses given on the command line (--listen, -hostAddrs, "
                "-noListenAddrs) stay in force");
        return;
    }
    bad = reload_addrs(d, fresh, addrs, &n);
    swarm_set_listen(d->swarm, addrs, n, &ch);
    ch.failed += bad;
    log_msg(ch.failed ? LOG_WARN : LOG_INFO, "daemon",
            "SIGHUP: listen addresses: %u opened, %u closed, %u failed%s",
            ch.opened, ch.closed, ch.failed, ch.failed ? " (see above)" : "");
    if (swarm_listen_addrs(d->swarm, addrs, 1) == 0)
        log_msg(LOG_WARN, "daemon",
                "SIGHUP: fastnd now listens on no network address (it can "
                "still dial); fix listen in %s and send SIGHUP again",
                d->config_path);
}

void daemon_net_reload(struct daemon *d, const struct daemon_config *fresh)
{
    if (!d->swarm)
        return;
    reload_timing(d, fresh);
    reload_listen(d, fresh);
    daemon_route_reload(d);
}

void daemon_net_print_addrs(const struct daemon *d, FILE *out)
{
    struct multiaddr addrs[32];
    char text[MULTIADDR_STR_MAX];
    size_t n = d->swarm ? swarm_listen_addrs(d->swarm, addrs, 32) : 0;

    for (size_t i = 0; i < n; i++)
        if (multiaddr_format(&addrs[i], text, sizeof(text)) > 0)
            fprintf(out, "%s\n", text);
}
