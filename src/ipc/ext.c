/*
 * fastn's extension of the control protocol (fastn.proto): requests of
 * Request.Type FASTN, dispatched on fastn.Request.type to one handler
 * each, listed with the privilege it needs (checked by ipc_dispatch
 * before the handler runs; docs/CONTROL.md says why each is what it is).
 * Every response carries the extension part with our version and the
 * client's call_id, so clients can match and version-check it.
 */
#include <unistd.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "plugin/plugin.h"

typedef int (*ipc_ext_handler_fn)(struct ipc_call *call,
                                  const Fastn__Request *req,
                                  Fastn__Response *ext);

/* STATUS: version, uptime and counters of the daemon. */
static int handle_status(struct ipc_call *call, const Fastn__Request *req,
                         Fastn__Response *ext)
{
    struct ipc_host *host = call->host;
    Fastn__Status *st;

    (void)req;
    st = ipc_reply_alloc(&call->reply, sizeof(*st));
    if (!st)
        return FASTN_ERR_NOMEM;
    fastn__status__init(st);
    st->version = (char *)FASTN_VERSION;
    st->uptime_ms =
        call->now_ms > host->started_ms ? call->now_ms - host->started_ms : 0;
    st->pid = (uint32_t)getpid();
    st->peer_id.data = (uint8_t *)host->local_id.bytes;
    st->peer_id.len = host->local_id.len;
    st->home = (char *)host->home;
    st->has_peers = st->has_connections = st->has_streams = true;
    st->has_handlers = st->has_plugins = true;
    if (ipc_status_network(call, st) || ipc_status_daemon(call, st))
        return FASTN_ERR_NOMEM;
    st->plugins = host->plugins ? plugin_host_count(host->plugins) : 0;
    st->has_clients = true;
    st->clients = host->clients;
    st->has_requests = true;
    st->requests = host->requests;
    st->has_identities = true;
    st->identities = 1;
    ext->status = st;
    return 0;
}

#define ANY IPC_PRIV_ANY_USER, NULL, NULL
#define ADMIN(what) IPC_PRIV_ADMIN, what, NULL
#define OWNER(check) IPC_PRIV_OWNER_OF_TARGET, NULL, check
/* Plugins and notifications hold the owner's data: a plugin cannot tell
 * one local caller from another, and notifications carry what peers sent
 * the owner. */
#define OWNERS_DATA(what) ADMIN(what " (the daemon's owner's data)")

static const struct {
    int type;
    ipc_ext_handler_fn fn;
    struct ipc_rule rule;
} ext_handlers[] = {
    {FASTN__REQUEST__TYPE__STATUS, handle_status, {ANY}},
    {FASTN__REQUEST__TYPE__DAEMON_STOP,
     ipc_ext_daemon_stop,
     {ADMIN("stopping the daemon")}},
    {FASTN__REQUEST__TYPE__DAEMON_RELOAD,
     ipc_ext_daemon_reload,
     {ADMIN("reloading the config")}},
    {FASTN__REQUEST__TYPE__PEERS, ipc_ext_peers, {ANY}},
    {FASTN__REQUEST__TYPE__CALL, ipc_ext_call, {ANY}},
    {FASTN__REQUEST__TYPE__PING, ipc_ext_ping, {ANY}},
    {FASTN__REQUEST__TYPE__STREAM_RESULT,
     ipc_ext_stream_result,
     {OWNER(ipc_may_stream_result)}},
    {FASTN__REQUEST__TYPE__PLUGIN_INSTALL,
     ipc_plugin_install,
     {ADMIN("installing a plugin")}},
    {FASTN__REQUEST__TYPE__PLUGIN_LIST, ipc_plugin_list, {ANY}},
    {FASTN__REQUEST__TYPE__PLUGIN_INFO, ipc_plugin_info, {ANY}},
    {FASTN__REQUEST__TYPE__PLUGIN_REMOVE,
     ipc_plugin_remove,
     {ADMIN("removing a plugin")}},
    {FASTN__REQUEST__TYPE__PLUGIN_ENABLE,
     ipc_plugin_enable,
     {ADMIN("enabling a plugin")}},
    {FASTN__REQUEST__TYPE__PLUGIN_DISABLE,
     ipc_plugin_disable,
     {ADMIN("disabling a plugin")}},
    {FASTN__REQUEST__TYPE__PLUGIN_CALL,
     ipc_plugin_call,
     {OWNERS_DATA("calling a plugin")}},
    {FASTN__REQUEST__TYPE__PLUGIN_RESTRICT,
     ipc_plugin_restrict,
     {ADMIN("restricting a plugin")}},
    {FASTN__REQUEST__TYPE__NOTIFY_LIST,
     ipc_notify_list,
     {OWNERS_DATA("reading notifications")}},
    {FASTN__REQUEST__TYPE__NOTIFY_MARK_READ,
     ipc_notify_mark_read,
     {OWNERS_DATA("marking notifications")}},
    {FASTN__REQUEST__TYPE__NOTIFY_UNREAD,
     ipc_notify_unread,
     {OWNERS_DATA("counting notifications")}},
    {FASTN__REQUEST__TYPE__NOTIFY_SUBSCRIBE,
     ipc_notify_subscribe,
     {OWNERS_DATA("following notifications")}},
    {FASTN__REQUEST__TYPE__FORWARD, ipc_ext_forward, {OWNER(ipc_may_forward)}},
    {FASTN__REQUEST__TYPE__EXPOSE,
     ipc_ext_expose,
     {ADMIN("exposing a local service")}},
    {FASTN__REQUEST__TYPE__FORWARD_CLOSE, ipc_ext_forward_close, {ANY}},
    {FASTN__REQUEST__TYPE__FORWARDS, ipc_ext_forwards, {ANY}},
    {FASTN__REQUEST__TYPE__PERF, ipc_ext_perf, {ANY}},
    {FASTN__REQUEST__TYPE__PERF_PROGRESS, ipc_ext_perf_progress, {ANY}},
    /* what a daemon trusts and installs is the owner's choice; the keys
     * and registries themselves are public */
    {FASTN__REQUEST__TYPE__TRUST_ADD,
     ipc_trust_add,
     {ADMIN("trusting a publisher's key")}},
    {FASTN__REQUEST__TYPE__TRUST_LIST, ipc_trust_list, {ANY}},
    {FASTN__REQUEST__TYPE__TRUST_REMOVE,
     ipc_trust_remove,
     {ADMIN("removing a trusted key")}},
    {FASTN__REQUEST__TYPE__REGISTRY_ADD,
     ipc_registry_add,
     {ADMIN("adding a registry")}},
    {FASTN__REQUEST__TYPE__REGISTRY_LIST, ipc_registry_list, {ANY}},
    {FASTN__REQUEST__TYPE__REGISTRY_REMOVE,
     ipc_registry_remove,
     {ADMIN("removing a registry")}},
    {FASTN__REQUEST__TYPE__PLUGIN_SEARCH, ipc_plugin_search, {ANY}},
    {FASTN__REQUEST__TYPE__PLUGIN_GET,
     ipc_plugin_get,
     {ADMIN("installing a plugin")}},
    {FASTN__REQUEST__TYPE__PLUGIN_UPDATE,
     ipc_plugin_update,
     {ADMIN("updating plugins")}},
    /* kept data is what peers sent the owner; approving installs a
     * plugin; whom the daemon lets in is the owner's choice */
    {FASTN__REQUEST__TYPE__PENDING_LIST,
     ipc_pending_list,
     {OWNERS_DATA("listing kept data")}},
    {FASTN__REQUEST__TYPE__PENDING_APPROVE,
     ipc_pending_approve,
     {ADMIN("installing a plugin for kept data")}},
    {FASTN__REQUEST__TYPE__PENDING_REJECT,
     ipc_pending_reject,
     {ADMIN("deleting kept data")}},
    {FASTN__REQUEST__TYPE__PEER_ALLOW,
     ipc_peer_allow,
     {ADMIN("allowing a peer")}},
    {FASTN__REQUEST__TYPE__PEER_BLOCK,
     ipc_peer_block,
     {ADMIN("blocking a peer")}},
    {FASTN__REQUEST__TYPE__PEER_LIST, ipc_peer_list, {ANY}},
};

#undef ANY
#undef ADMIN
#undef OWNER
#undef OWNERS_DATA

const struct ipc_rule *ipc_ext_rule(int fastn_type)
{
    for (size_t i = 0; i < sizeof(ext_handlers) / sizeof(ext_handlers[0]); i++)
        if (ext_handlers[i].type == fastn_type)
            return &ext_handlers[i].rule;
    return NULL;
}

int ipc_handle_fastn(struct ipc_call *call, const P2pd__Pb__Request *req)
{
    const Fastn__Request *freq = req->fastn;
    Fastn__Response *ext = ipc_reply_ext(&call->reply);

    if (!freq) {
        ipc_reply_set_msg(&call->reply, "FASTN request without its "
                                        "fastn part (field 100)");
        return FASTN_ERR_MALFORMED;
    }
    ext->has_call_id = freq->has_call_id;
    ext->call_id = freq->call_id;
    for (size_t i = 0; i < sizeof(ext_handlers) / sizeof(ext_handlers[0]); i++)
        if (ext_handlers[i].type == (int)freq->type)
            return ext_handlers[i].fn(call, freq, ext);
    ipc_reply_set_msg(&call->reply,
                      "fastnd (extension version %d) does not support "
                      "fastn request type %d",
                      IPC_EXT_VERSION, (int)freq->type);
    return FASTN_ERR_UNSUPPORTED;
}
