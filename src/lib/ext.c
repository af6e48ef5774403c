/*
 * libfastn: sending a fastn extension request (fastn.proto) and checking
 * the daemon's answer, shared by the status, peers, plugin and notification
 * calls.
 */
#include <stdlib.h>

#include "ipc/fastn.pb-c.h"
#include "lib/lib_int.h"

int lib_ext_exchange(struct fastn_client *c, int type, void *plugin,
                     void *notify, int timeout_ms, P2pd__Pb__Response **resp)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;

    lib_ext_request(&req, &ext, type);
    ext.plugin = plugin;
    ext.notify = notify;
    return lib_ext_send(c, &req, timeout_ms, resp);
}

int lib_ext_send(struct fastn_client *c, const P2pd__Pb__Request *req,
                 int timeout_ms, P2pd__Pb__Response **resp)
{
    int rc = lib_request_within(c, req, resp, timeout_ms);

    /* a daemon without the extension answers a bare error */
    if (rc == FASTN_ERR_REMOTE)
        return FASTN_ERR_UNSUPPORTED;
    if (rc)
        return rc;
    if (!(*resp)->fastn) {
        p2pd__pb__response__free_unpacked(*resp, NULL);
        *resp = NULL;
        return FASTN_ERR_PROTOCOL;
    }
    return 0;
}

void fastn_free(void *p)
{
    free(p);
}
