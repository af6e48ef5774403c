/*
 * A restart keeps the peers: when fastnd stops cleanly it records the
 * peers it is connected to (state.sqlite, store_reconnect_save), and the
 * next start dials each of them again at the addresses its address book
 * has, as `fastn connect PEERID` would. So `fastn restart` and a package
 * upgrade (systemctl restart) end with the same peers connected, once
 * they answer. A peer that cannot be reached is logged and left; nothing
 * retries it (the next stream to it dials again).
 */
#include <stdlib.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "net/swarm.h"
#include "store/store.h"
#include "util/log.h"

/* Each dial of the restart is bounded by this, its addresses included. */
#define RECONNECT_TIMEOUT_MS 30000

struct collect {
    struct store_blob peers[STORE_RECONNECT_MAX];
    struct peer_id ids[STORE_RECONNECT_MAX];
    size_t n;
};

static void collect_peer(void *arg, const struct swarm_peer_info *info)
{
    struct collect *c = arg;

    if (c->n == STORE_RECONNECT_MAX)
        return;
    c->ids[c->n] = info->peer;
    c->peers[c->n].p = c->ids[c->n].bytes;
    c->peers[c->n].len = c->ids[c->n].len;
    c->n++;
}

void daemon_reconnect_save(struct daemon *d)
{
    struct collect *c;
    int err;

    if (!d->store || !d->swarm || !(c = calloc(1, sizeof(*c))))
        return;
    swarm_foreach_peer(d->swarm, collect_peer, c);
    err = store_reconnect_save(d->store, c->peers, c->n);
    if (err)
        log_msg(LOG_WARN, "daemon",
                "cannot record the peers to reconnect at the next start: %s",
                fastn_strerror(err));
    else if (c->n)
        log_msg(LOG_INFO, "daemon",
                "%zu peer(s) recorded: they are dialed at the next start",
                c->n);
    free(c);
}

static void on_reconnected(void *arg, int err)
{
    struct peer_id *peer = arg;
    char pid[PEER_ID_STR_MAX];

    peer_id_format(peer, pid);
    if (err)
        log_msg(LOG_INFO, "daemon", "reconnect %s: %s", pid,
                fastn_strerror(err));
    else
        log_msg(LOG_INFO, "daemon", "reconnected to %s", pid);
    free(peer);
}

static void reconnect_one(struct daemon *d, const struct store_reconnect *r)
{
    struct peer_id *peer = malloc(sizeof(*peer));
    int err;

    if (!peer)
        return;
    if (peer_id_from_bytes(r->peer, r->len, peer) != 0) {
        free(peer);
        return;
    }
    err = swarm_connect(d->swarm, peer, NULL, 0, RECONNECT_TIMEOUT_MS,
                        on_reconnected, peer, NULL);
    if (err) /* no callback: say it here */
        on_reconnected(peer, err);
}

void daemon_reconnect_start(struct daemon *d)
{
    struct store_reconnect *v = NULL;
    size_t n = 0;
    int err;

    if (!d->store || !d->swarm)
        return;
    err = store_reconnect_take(d->store, &v, &n);
    if (err) {
        log_msg(LOG_WARN, "daemon", "cannot read the peers to reconnect: %s",
                fastn_strerror(err));
        return;
    }
    if (n)
        log_msg(LOG_INFO, "daemon", "reconnecting to %zu peer(s)", n);
    for (size_t i = 0; i < n; i++)
        reconnect_one(d, &v[i]);
    free(v);
}
