/*
 * fastnd's glue for the router's policy (router/policy.h): what the
 * daemon knows of peers (struct router_peer_ops: a known peer is one this
 * daemon has dialed, from the address book in state.sqlite) and the
 * block list's file, HOME/blocked-peers, read at start (a file that does
 * not parse stops fastnd: a list read in part would let a blocked peer
 * in) and again on SIGHUP (then a bad file is logged and the list in
 * force kept). The plugins' ops are plugins.c's, the quarantine's
 * quarantine.c's. A peer the user allowed (fastn peer allow) is known.
 */
#include <stdio.h>

#include "daemon/daemon.h"
#include "fastn/err.h"
#include "router/router.h"
#include "store/store.h"
#include "util/log.h"

#define BLOCK_FILE "blocked-peers"

/* A known peer is one this daemon has dialed (its address book holds an
 * address it connected to: the user connected to it, or a plugin opened
 * a stream to it); a peer that only ever dialed us is not. */
static bool peer_known(void *arg, const struct peer_id *pid)
{
    struct daemon *d = arg;
    struct store_blob b = {pid->bytes, pid->len};
    struct store_peer_addr *v = NULL;
    size_t n = 0;
    bool known = false;

    if (!d->store)
        return false;
    if (store_peer_is_allowed(d->store, &b))
        return true; /* fastn peer allow */
    if (store_peer_addrs_get(d->store, &b, &v, &n))
        return false;
    for (size_t i = 0; i < n && !known; i++)
        known = v[i].dialed;
    store_peer_addrs_free(v, n);
    return known;
}

static const struct router_peer_ops peer_ops = {.is_known = peer_known};

/* HOME/blocked-peers into out. */
static int block_path(const struct daemon *d, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/%s", d->home, BLOCK_FILE);
    return k < 0 || (size_t)k >= n ? FASTN_ERR_TOO_LARGE : 0;
}

int daemon_route_start(struct daemon *d, char *err, size_t errlen)
{
    char path[PATH_MAX + 32], why[160] = "";
    struct router_stats st;
    int rc = block_path(d, path, sizeof(path));

    router_set_peers(d->router, &peer_ops, d);
    if (!rc)
        rc = router_block_load(d->router, path, why, sizeof(why));
    if (rc) {
        snprintf(err, errlen,
                 "cannot read the block list %s: %s; fix or remove that "
                 "line (one PeerID a line), or move the file away to "
                 "block nobody",
                 path, why[0] ? why : fastn_strerror(rc));
        return rc;
    }
    router_get_stats(d->router, &st);
    if (st.blocked_now)
        log_msg(LOG_INFO, "daemon", "%u peer(s) blocked (%s)",
                (unsigned)st.blocked_now, path);
    return 0;
}

void daemon_route_reload(struct daemon *d)
{
    char path[PATH_MAX + 32], why[160] = "";
    struct router_stats st;
    int rc;

    if (!d->router || block_path(d, path, sizeof(path)))
        return;
    rc = router_block_load(d->router, path, why, sizeof(why));
    if (rc) {
        log_msg(LOG_ERROR, "daemon",
                "SIGHUP: cannot read the block list %s: %s; the list in "
                "force stays (fix the file and send SIGHUP again)",
                path, why[0] ? why : fastn_strerror(rc));
        return;
    }
    router_get_stats(d->router, &st);
    log_msg(LOG_INFO, "daemon", "SIGHUP: %u peer(s) blocked",
            (unsigned)st.blocked_now);
}
