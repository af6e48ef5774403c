/*
 * libfastn's public API (include/fastn/client.h): connecting, with
 * autostart, and the IDENTIFY, LIST_PEERS and STATUS requests, turned
 * from protobuf into plain C structs the caller owns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/fastn.pb-c.h"
#include "lib/lib_int.h"
#include "util/base58.h"
#include "util/home.h"
#include "util/multiaddr.h"
#include "util/peer_id.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_CALL_TIMEOUT_MS 35000

void fastn_connect_options_init(struct fastn_connect_options *o)
{
    memset(o, 0, sizeof(*o));
}

const char *fastn_version(void)
{
    return FASTN_VERSION;
}

/* Tries to connect until the deadline: right after a start the socket may
 * not be there yet, or another client's start may be finishing. */
static int connect_retry(struct fastn_client *c, int64_t deadline)
{
    int rc;
    do {
        rc = lib_socket_connect(c->sock, deadline, &c->fd);
        if (rc != FASTN_ERR_NO_DAEMON)
            return rc;
        usleep(10000);
    } while (lib_now_ms() < deadline);
    return rc;
}

static int start_and_connect(struct fastn_client *c,
                             const struct fastn_connect_options *o,
                             const char *home, int64_t deadline)
{
    int rc = lib_autostart(o->fastnd_path, home, deadline, o->error_buf,
                           o->error_buf_len);
    /* Even a failed start may have lost a race to another client's start:
     * give the socket one more chance before reporting the failure. */
    int crc = connect_retry(c, rc ? lib_now_ms() + 200 : deadline);
    if (crc == 0) {
        c->started = rc == 0;
        return 0;
    }
    return rc ? rc : FASTN_ERR_DAEMON_START;
}

int fastn_client_connect(const struct fastn_connect_options *opts,
                         struct fastn_client **out)
{
    struct fastn_connect_options defaults;
    struct fastn_client *c;
    char home[PATH_MAX];
    int64_t deadline;
    int rc;

    if (!opts) {
        fastn_connect_options_init(&defaults);
        opts = &defaults;
    }
    if (opts->error_buf && opts->error_buf_len)
        opts->error_buf[0] = '\0';
    c = calloc(1, sizeof(*c));
    if (!c)
        return FASTN_ERR_NOMEM;
    c->fd = -1;
    c->done_tail = &c->done;
    c->timeout_ms =
        opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    /* a plugin has 30 s to answer a call: wait for that by default */
    c->call_timeout_ms =
        opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_CALL_TIMEOUT_MS;
    deadline = lib_now_ms() + c->timeout_ms;
    if (opts->socket_path)
        rc = home_resolve(opts->socket_path, c->sock, sizeof(c->sock));
    else if (!(rc = home_resolve(opts->home, home, sizeof(home))) &&
             !(c->system =
                   lib_system_socket(opts, home, c->sock, sizeof(c->sock))))
        rc = home_path(home, HOME_SOCKET_NAME, c->sock, sizeof(c->sock));
    if (!rc)
        rc = lib_socket_connect(c->sock, deadline, &c->fd);
    if (rc == FASTN_ERR_NO_DAEMON && opts->autostart && !opts->socket_path &&
        !c->system)
        rc = start_and_connect(c, opts, home, deadline);
    if (rc) {
        fastn_client_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void fastn_client_free(struct fastn_client *c)
{
    struct lib_call_done *d;

    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    while ((d = lib_call_take(c, 0))) {
        free(d->data);
        free(d);
    }
    free(c->pending);
    free(c);
}

int fastn_client_fd(const struct fastn_client *c)
{
    return c->fd;
}

int fastn_client_started_daemon(const struct fastn_client *c)
{
    return c->started;
}

const char *fastn_client_socket_path(const struct fastn_client *c)
{
    return c->sock;
}

const char *fastn_client_error_message(const struct fastn_client *c)
{
    return c->errmsg;
}

/* --- conversions ---------------------------------------------------------
 * What the daemon sends is checked like any outside input. */

int lib_peer_id_text(const ProtobufCBinaryData *id, char *out)
{
    if (id->len < 2 || id->len > 64 ||
        base58_encode(id->data, id->len, out, FASTN_PEER_ID_MAX) < 0)
        return FASTN_ERR_PROTOCOL;
    return 0;
}

void lib_free_addrs(char **addrs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
}

/* Text forms of binary multiaddrs; ones this library cannot decode (a
 * protocol newer than it) are left out rather than failing the call. */
int lib_addrs_text(const ProtobufCBinaryData *in, size_t n, char ***out,
                   size_t *n_out)
{
    char text[MULTIADDR_STR_MAX];
    struct multiaddr ma;
    char **v = calloc(n ? n : 1, sizeof(char *));
    size_t k = 0;

    if (!v)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (multiaddr_from_bytes(in[i].data, in[i].len, &ma) ||
            multiaddr_format(&ma, text, sizeof(text)) < 0)
            continue;
        if (!(v[k] = strdup(text))) {
            lib_free_addrs(v, k);
            return FASTN_ERR_NOMEM;
        }
        k++;
    }
    *out = v;
    *n_out = k;
    return 0;
}

/* --- requests ------------------------------------------------------------ */

static int simple_request(struct fastn_client *c, int type,
                          P2pd__Pb__Response **resp)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    req.type = (P2pd__Pb__Request__Type)type;
    return lib_request(c, &req, resp);
}

int fastn_client_identify(struct fastn_client *c, struct fastn_identity **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_identity *id;
    int rc = simple_request(c, P2PD__PB__REQUEST__TYPE__IDENTIFY, &r);

    if (rc)
        return rc;
    id = calloc(1, sizeof(*id));
    if (!id)
        rc = FASTN_ERR_NOMEM;
    else if (!r->identify)
        rc = FASTN_ERR_PROTOCOL;
    else if (!(rc = lib_peer_id_text(&r->identify->id, id->peer_id)))
        rc = lib_addrs_text(r->identify->addrs, r->identify->n_addrs,
                            &id->addrs, &id->n_addrs);
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}

void fastn_identity_free(struct fastn_identity *id)
{
    if (!id)
        return;
    lib_free_addrs(id->addrs, id->n_addrs);
    free(id);
}

static int peer_conn_convert(const Fastn__PeerConn *pc, struct fastn_peer *p)
{
    int rc = lib_peer_id_text(&pc->peer_id, p->peer_id);

    if (!rc)
        rc = lib_addrs_text(&pc->addr, pc->has_addr ? 1 : 0, &p->addrs,
                            &p->n_addrs);
    if (rc)
        return rc;
    p->inbound = pc->inbound;
    p->relayed = pc->relayed;
    snprintf(p->agent, sizeof(p->agent), "%s", pc->agent ? pc->agent : "");
    p->rtt_us = pc->rtt_us;
    p->streams = pc->streams;
    p->connected_ms = pc->connected_ms;
    p->protocols = calloc(pc->n_protocols + 1, sizeof(char *));
    if (!p->protocols)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < pc->n_protocols; i++) {
        if (!(p->protocols[i] = strdup(pc->protocols[i])))
            return FASTN_ERR_NOMEM;
        p->n_protocols = i + 1;
    }
    return 0;
}

/* PEERS (the fastn extension): with direction, agent, round trip. */
static int list_peers_ext(struct fastn_client *c, struct fastn_peer_list **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_peer_list *l;
    int rc = lib_ext_exchange(c, FASTN__REQUEST__TYPE__PEERS, NULL, NULL,
                              c->timeout_ms, &r);

    if (rc)
        return rc;
    const Fastn__Response *f = r->fastn;
    size_t n = f->n_peers;
    l = calloc(1, sizeof(*l));
    if (l)
        l->peers = calloc(n ? n : 1, sizeof(*l->peers));
    rc = l && l->peers ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < n; i++) {
        rc = peer_conn_convert(f->peers[i], &l->peers[i]);
        l->n_peers = i + 1;
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_peer_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

int fastn_client_list_peers(struct fastn_client *c,
                            struct fastn_peer_list **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_peer_list *l;
    int rc = list_peers_ext(c, out);

    if (rc != FASTN_ERR_UNSUPPORTED)
        return rc;
    rc = simple_request(c, P2PD__PB__REQUEST__TYPE__LIST_PEERS, &r);

    if (rc)
        return rc;
    l = calloc(1, sizeof(*l));
    if (l)
        l->peers = calloc(r->n_peers ? r->n_peers : 1, sizeof(*l->peers));
    rc = l && l->peers ? 0 : FASTN_ERR_NOMEM;
    for (size_t i = 0; !rc && i < r->n_peers; i++) {
        struct fastn_peer *p = &l->peers[i];
        rc = lib_peer_id_text(&r->peers[i]->id, p->peer_id);
        if (!rc)
            rc = lib_addrs_text(r->peers[i]->addrs, r->peers[i]->n_addrs,
                                &p->addrs, &p->n_addrs);
        l->n_peers = i + 1;
    }
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_peer_list_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void fastn_peer_list_free(struct fastn_peer_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_peers; i++) {
        lib_free_addrs(l->peers[i].addrs, l->peers[i].n_addrs);
        lib_free_addrs(l->peers[i].protocols, l->peers[i].n_protocols);
    }
    free(l->peers);
    free(l);
}

/* How the daemon runs: where its log goes, its config, its unit. */
/* The relays found among connected peers, as PeerID text. */
static int status_relays_found(const Fastn__Status *s, struct fastn_status *st)
{
    struct peer_id id;

    if (!s->n_relays_found)
        return 0;
    st->relays_found = calloc(s->n_relays_found, sizeof(char *));
    if (!st->relays_found)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < s->n_relays_found; i++) {
        if (peer_id_from_bytes(s->relays_found[i].data, s->relays_found[i].len,
                               &id))
            continue; /* not a PeerID: left out */
        st->relays_found[st->n_relays_found] = malloc(PEER_ID_STR_MAX);
        if (!st->relays_found[st->n_relays_found])
            return FASTN_ERR_NOMEM;
        peer_id_format(&id, st->relays_found[st->n_relays_found++]);
    }
    return 0;
}

static int status_daemon_convert(const Fastn__Status *s,
                                 struct fastn_status *st)
{
    snprintf(st->log_target, sizeof(st->log_target), "%s",
             s->log_target ? s->log_target : "");
    snprintf(st->unit, sizeof(st->unit), "%s", s->unit ? s->unit : "");
    st->user_unit = s->user_unit;
    st->socket_activated = s->socket_activated;
    st->foreground = s->foreground;
    st->signer_pid = s->signer_pid;
    snprintf(st->seccomp, sizeof(st->seccomp), "%s",
             s->seccomp ? s->seccomp : "");
    st->log_file = strdup(s->log_file ? s->log_file : "");
    st->config = strdup(s->config ? s->config : "");
    st->restart_keys = calloc(s->n_restart_keys + 1, sizeof(char *));
    if (!st->log_file || !st->config || !st->restart_keys)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < s->n_restart_keys; i++) {
        if (!(st->restart_keys[i] = strdup(s->restart_keys[i])))
            return FASTN_ERR_NOMEM;
        st->n_restart_keys = i + 1;
    }
    return 0;
}

/* What decided reachability: answers per AutoNAT version, the deciding
 * version, the confirmed address. */
static int status_reach_evidence(const Fastn__Status *s,
                                 struct fastn_status *st)
{
    char **v = NULL;
    size_t n = 0;
    int rc;

    st->autonat_v1_answers = s->autonat_v1_answers;
    st->autonat_v2_answers = s->autonat_v2_answers;
    st->reach_decided_by = s->reach_decided_by;
    st->reach_confirmed_by = s->reach_confirmed_by;
    rc = lib_addrs_text(&s->reach_confirmed_addr,
                        s->has_reach_confirmed_addr ? 1 : 0, &v, &n);
    if (rc)
        return rc;
    st->reach_confirmed_addr = n ? v[0] : strdup("");
    free(v);
    return st->reach_confirmed_addr ? 0 : FASTN_ERR_NOMEM;
}

static int status_convert(const Fastn__Response *ext, struct fastn_status *st)
{
    const Fastn__Status *s = ext->status;
    int rc;

    if (!s || !s->version)
        return FASTN_ERR_PROTOCOL;
    snprintf(st->version, sizeof(st->version), "%s", s->version);
    st->ext_version = ext->version;
    st->uptime_ms = s->uptime_ms;
    st->pid = s->pid;
    rc = lib_peer_id_text(&s->peer_id, st->peer_id);
    if (rc)
        return rc;
    st->home = strdup(s->home ? s->home : "");
    if (!st->home)
        return FASTN_ERR_NOMEM;
    st->peers = s->peers;
    st->connections = s->connections;
    st->streams = s->streams;
    st->clients = s->clients;
    st->handlers = s->handlers;
    st->plugins = s->plugins;
    st->identities = s->identities;
    st->requests = s->requests;
    st->dials = s->dials;
    st->handshakes = s->handshakes;
    st->pending = s->pending;
    st->streams_total = s->streams_total;
    rc = status_daemon_convert(s, st);
    if (rc)
        return rc;
    snprintf(st->reachability, sizeof(st->reachability), "%s",
             s->reachability ? s->reachability : "");
    st->autonat_server = s->autonat_server;
    st->relays = s->relays;
    st->relay_reservations = s->relay_reservations;
    rc = status_relays_found(s, st);
    if (rc)
        return rc;
    st->relay_service = s->relay_service;
    st->relay_served = s->relay_served;
    st->relay_circuits = s->relay_circuits;
    snprintf(st->dht_mode, sizeof(st->dht_mode), "%s",
             s->dht_mode ? s->dht_mode : "");
    st->dht_server = s->dht_server;
    st->dht_peers = s->dht_peers;
    rc = status_reach_evidence(s, st);
    if (rc)
        return rc;
    rc = lib_addrs_text(s->public_addrs, s->n_public_addrs, &st->public_addrs,
                        &st->n_public_addrs);
    if (!rc)
        rc = lib_addrs_text(s->observed_addrs, s->n_observed_addrs,
                            &st->observed_addrs, &st->n_observed_addrs);
    if (rc)
        return rc;
    return lib_addrs_text(s->listen_addrs, s->n_listen_addrs, &st->listen_addrs,
                          &st->n_listen_addrs);
}

int fastn_client_status(struct fastn_client *c, struct fastn_status **out)
{
    P2pd__Pb__Response *r = NULL;
    struct fastn_status *st;
    int rc = lib_ext_exchange(c, FASTN__REQUEST__TYPE__STATUS, NULL, NULL,
                              c->timeout_ms, &r);

    if (rc)
        return rc;
    st = calloc(1, sizeof(*st));
    rc = st ? status_convert(r->fastn, st) : FASTN_ERR_NOMEM;
    p2pd__pb__response__free_unpacked(r, NULL);
    if (rc) {
        fastn_status_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void fastn_status_free(struct fastn_status *st)
{
    if (!st)
        return;
    free(st->log_file);
    free(st->config);
    lib_free_addrs(st->restart_keys, st->n_restart_keys);
    free(st->home);
    free(st->reach_confirmed_addr);
    lib_free_addrs(st->listen_addrs, st->n_listen_addrs);
    lib_free_addrs(st->public_addrs, st->n_public_addrs);
    lib_free_addrs(st->observed_addrs, st->n_observed_addrs);
    lib_free_addrs(st->relays_found, st->n_relays_found);
    free(st);
}

static int daemon_request(struct fastn_client *c, int type)
{
    P2pd__Pb__Response *r = NULL;
    int rc = lib_ext_exchange(c, type, NULL, NULL, c->timeout_ms, &r);

    if (!rc)
        p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

int fastn_client_daemon_stop(struct fastn_client *c)
{
    return daemon_request(c, FASTN__REQUEST__TYPE__DAEMON_STOP);
}

int fastn_client_daemon_reload(struct fastn_client *c)
{
    return daemon_request(c, FASTN__REQUEST__TYPE__DAEMON_RELOAD);
}
