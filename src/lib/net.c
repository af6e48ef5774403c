/*
 * libfastn: connecting to peers, disconnecting, pinging (CONNECT,
 * DISCONNECT, the fastn extension's PING).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/lib_int.h"
#include "util/multiaddr.h"
#include "util/peer_id.h"

void lib_ext_request(P2pd__Pb__Request *req, Fastn__Request *ext, int type)
{
    Fastn__Request e = FASTN__REQUEST__INIT;
    P2pd__Pb__Request r = P2PD__PB__REQUEST__INIT;

    *ext = e;
    *req = r;
    ext->version = EXT_VERSION;
    ext->type = (Fastn__Request__Type)type;
    req->type = P2PD__PB__REQUEST__TYPE__FASTN;
    req->fastn = ext;
}

int lib_parse_peer(struct fastn_client *c, const char *text,
                   struct peer_id *out)
{
    if (!text)
        return FASTN_ERR_INVAL;
    if (peer_id_parse(text, out) == 0)
        return 0;
    snprintf(c->errmsg, sizeof(c->errmsg),
             "'%.80s' (a PeerID looks like 12D3KooW... and is what `fastn "
             "id` prints on that machine)",
             text);
    return FASTN_ERR_BAD_PEER_ID;
}

/* A bare PeerID, or a multiaddr ending in /p2p/PEERID. */
static int parse_target(struct fastn_client *c, const char *target,
                        struct peer_id *peer, struct multiaddr *ma,
                        bool *has_addr)
{
    *has_addr = false;
    if (!target)
        return FASTN_ERR_INVAL;
    if (target[0] != '/')
        return lib_parse_peer(c, target, peer);
    if (multiaddr_parse(target, ma) != 0) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "'%.200s' (e.g. /ip4/192.0.2.1/tcp/4001/p2p/12D3KooW...)",
                 target);
        return FASTN_ERR_BAD_MULTIADDR;
    }
    if (multiaddr_get_peer(ma, peer) != 0) {
        snprintf(c->errmsg, sizeof(c->errmsg),
                 "%.200s names no peer: add /p2p/PEERID at its end (what "
                 "`fastn id` prints on that machine), so that the daemon "
                 "knows whom it reaches",
                 target);
        return FASTN_ERR_BAD_PEER_ID;
    }
    *has_addr = true;
    return 0;
}

static void connect_info_from(const P2pd__Pb__Response *r,
                              struct fastn_connect_info *info)
{
    const Fastn__ConnectInfo *ci = r->fastn ? r->fastn->connect : NULL;

    memset(info, 0, sizeof(*info));
    info->found = FASTN_FOUND_UNKNOWN;
    if (!ci)
        return;
    if (ci->has_found && ci->found >= 0 && ci->found <= 2)
        info->found = (enum fastn_found)ci->found;
    info->lookup_us = ci->lookup_us;
    info->connect_us = ci->connect_us;
    info->relayed = ci->relayed;
}

int fastn_client_peer_connect(struct fastn_client *c, const char *target,
                              char *peer_out)
{
    return fastn_client_peer_connect_info(c, target, peer_out, NULL);
}

int fastn_client_peer_connect_info(struct fastn_client *c, const char *target,
                                   char *peer_out,
                                   struct fastn_connect_info *info)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__ConnectRequest cr = P2PD__PB__CONNECT_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    ProtobufCBinaryData addr;
    struct multiaddr ma;
    struct peer_id peer;
    bool has_addr;
    int rc = parse_target(c, target, &peer, &ma, &has_addr);

    if (rc)
        return rc;
    cr.peer.data = peer.bytes;
    cr.peer.len = peer.len;
    if (has_addr) {
        addr.data = ma.bytes;
        addr.len = ma.len;
        cr.addrs = &addr;
        cr.n_addrs = 1;
        /* that address or an error naming it (a daemon older than the
         * field tries the known addresses too) */
        cr.has_exact = cr.exact = true;
    }
    cr.has_timeout = true;
    cr.timeout = c->timeout_ms / 1000 > 0 ? c->timeout_ms / 1000 : 1;
    req.type = P2PD__PB__REQUEST__TYPE__CONNECT;
    req.connect = &cr;
    rc = lib_request(c, &req, &r);
    if (rc)
        return rc;
    if (info)
        connect_info_from(r, info);
    p2pd__pb__response__free_unpacked(r, NULL);
    if (peer_out)
        peer_id_format(&peer, peer_out);
    return 0;
}

int fastn_client_peer_disconnect(struct fastn_client *c, const char *peer)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__DisconnectRequest dr = P2PD__PB__DISCONNECT_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct peer_id id;
    int rc = lib_parse_peer(c, peer, &id);

    if (rc)
        return rc;
    dr.peer.data = id.bytes;
    dr.peer.len = id.len;
    req.type = P2PD__PB__REQUEST__TYPE__DISCONNECT;
    req.disconnect = &dr;
    rc = lib_request(c, &req, &r);
    if (!rc)
        p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

int fastn_client_ping(struct fastn_client *c, const char *peer,
                      uint64_t *rtt_us)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__PingRequest pr = FASTN__PING_REQUEST__INIT;
    P2pd__Pb__Response *r = NULL;
    struct peer_id id;
    int rc = lib_parse_peer(c, peer, &id);

    if (rc)
        return rc;
    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__PING);
    pr.peer.data = id.bytes;
    pr.peer.len = id.len;
    pr.has_timeout_ms = true;
    pr.timeout_ms = (uint32_t)c->timeout_ms;
    ext.ping = &pr;
    rc = lib_request(c, &req, &r);
    if (rc)
        return rc == FASTN_ERR_REMOTE ? FASTN_ERR_UNSUPPORTED : rc;
    if (!r->fastn || !r->fastn->ping)
        rc = FASTN_ERR_PROTOCOL;
    else
        *rtt_us = r->fastn->ping->rtt_us;
    p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}
