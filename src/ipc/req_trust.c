/*
 * Trusted publishers and signed installs (fastn.proto, TRUST_* and the
 * signature part of PLUGIN_INSTALL, LIST, INFO): the keys are files in
 * two folders (src/registry/keyring.h), read again for every request, so
 * a key copied in by hand counts at once. Adding and removing keys is an
 * admin's (ext.c's table); listing them is anyone's: they are public.
 *
 * An install from a file needs the file's .minisig (sent by the client)
 * to verify with a trusted key, or the client's explicit allow_unsigned;
 * the signature is then kept beside the plugin (registry/installed.h) and
 * shown, checked again, by `plugin list/info`.
 */
#include <stdio.h>
#include <string.h>

#include "fastn/err.h"
#include "ipc/ipc_int.h"
#include "registry/installed.h"
#include "registry/keyring.h"
#include "registry/verify.h"
#include "util/log.h"

static char *reply_strdup(struct ipc_reply *r, const char *s)
{
    size_t n = strlen(s ? s : "");
    char *d = ipc_reply_alloc(r, n + 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

static int need_registry(struct ipc_call *call)
{
    if (call->host->registry)
        return 0;
    ipc_reply_set_msg(&call->reply, "this fastnd has no trusted keys or "
                                    "registries");
    return FASTN_ERR_UNSUPPORTED;
}

/* The trusted keys now; an empty ring without a registry part. */
static int load_keys(struct ipc_call *call, struct registry_keyring *kr)
{
    const struct ipc_registry *r = call->host->registry;

    memset(kr, 0, sizeof(*kr));
    if (!r)
        return 0;
    return registry_keyring_load(kr, r->user_keys, r->system_keys);
}

static Fastn__TrustedKey *key_to_pb(struct ipc_reply *r,
                                    const struct registry_key *k)
{
    Fastn__TrustedKey *o = ipc_reply_alloc(r, sizeof(*o));
    char id[MINISIGN_KEYID_HEX_LEN + 1], b64[MINISIGN_PUBKEY_B64_LEN + 1];

    if (!o)
        return NULL;
    fastn__trusted_key__init(o);
    minisign_key_id_hex(k->pub.key_id, id);
    minisign_pubkey_base64(&k->pub, b64);
    o->name = reply_strdup(r, k->name);
    o->key_id = reply_strdup(r, id);
    o->public_key = reply_strdup(r, b64);
    o->has_system = true;
    o->system = k->source == REGISTRY_KEY_SYSTEM;
    return o->name && o->key_id && o->public_key ? o : NULL;
}

static int reply_keys(struct ipc_call *call, Fastn__Response *ext,
                      const struct registry_key *v, size_t n)
{
    ext->keys = ipc_reply_alloc(&call->reply, (n ? n : 1) * sizeof(void *));
    if (!ext->keys)
        return FASTN_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(ext->keys[i] = key_to_pb(&call->reply, &v[i])))
            return FASTN_ERR_NOMEM;
    ext->n_keys = n;
    return 0;
}

int ipc_trust_add(struct ipc_call *call, const Fastn__Request *req,
                  Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    const struct ipc_registry *r = call->host->registry;
    struct registry_key k;
    char why[sizeof(call->reply.msg)] = "";
    int err;

    if ((err = need_registry(call)))
        return err;
    if (!rr || !rr->has_key || !rr->key.len) {
        ipc_reply_set_msg(&call->reply, "TRUST_ADD without a key");
        return FASTN_ERR_INVAL;
    }
    err = registry_keyring_add(r->user_keys, r->system_keys, rr->key.data,
                               rr->key.len, rr->name, &k, why, sizeof(why));
    if (err) {
        ipc_reply_set_msg(&call->reply, "%s", why);
        return err;
    }
    log_msg(LOG_INFO, "registry", "trusted key %s added (%s)", k.name,
            r->user_keys);
    return reply_keys(call, ext, &k, 1);
}

int ipc_trust_list(struct ipc_call *call, const Fastn__Request *req,
                   Fastn__Response *ext)
{
    struct registry_keyring kr;
    int err;

    (void)req;
    if ((err = need_registry(call)) || (err = load_keys(call, &kr)))
        return err;
    err = reply_keys(call, ext, kr.keys, kr.n);
    registry_keyring_cleanup(&kr);
    return err;
}

int ipc_trust_remove(struct ipc_call *call, const Fastn__Request *req,
                     Fastn__Response *ext)
{
    const Fastn__RegistryRequest *rr = req->registry;
    const struct ipc_registry *r = call->host->registry;
    struct registry_key k;
    char why[sizeof(call->reply.msg)] = "";
    int err;

    if ((err = need_registry(call)))
        return err;
    if (!rr || !rr->name || !rr->name[0]) {
        ipc_reply_set_msg(&call->reply, "TRUST_REMOVE names no key");
        return FASTN_ERR_INVAL;
    }
    err = registry_keyring_remove(r->user_keys, r->system_keys, rr->name, &k,
                                  why, sizeof(why));
    if (err) {
        ipc_reply_set_msg(&call->reply, "%s", why);
        return err;
    }
    log_msg(LOG_INFO, "registry", "trusted key %s removed", k.name);
    return reply_keys(call, ext, &k, 1);
}

/* --- signed installs ----------------------------------------------------- */

int ipc_registry_check_install(struct ipc_call *call,
                               const Fastn__PluginRequest *pr,
                               const uint8_t *wasm, size_t len)
{
    struct registry_keyring kr;
    struct registry_verified v;
    char why[sizeof(call->reply.msg)] = "";
    int err;

    if (!pr->has_minisig) {
        if (pr->has_allow_unsigned && pr->allow_unsigned)
            return 0;
        ipc_reply_set_msg(&call->reply,
                          "the plugin has no signature (FILE.minisig beside "
                          "it): install signed plugins (fastn plugin search), "
                          "or pass --unsigned if you trust this file itself");
        return FASTN_ERR_UNSIGNED;
    }
    if ((err = load_keys(call, &kr)))
        return err;
    err = registry_verify_buf(&kr, wasm, len, pr->minisig.data, pr->minisig.len,
                              &v, why, sizeof(why));
    if (err) {
        struct minisign_sig sig;
        bool parsed = minisign_sig_parse(pr->minisig.data, pr->minisig.len,
                                         &sig, NULL, 0) == 0;
        char msg[sizeof(call->reply.msg)];
        registry_refusal(msg, sizeof(msg), err, "the plugin", &kr,
                         parsed ? sig.key_id : NULL, why);
        ipc_reply_set_msg(&call->reply, "%s", msg);
    }
    registry_keyring_cleanup(&kr);
    if (err)
        return err;
    log_msg(LOG_INFO, "registry", "plugin file signed by %s (%s): %s", v.key_id,
            v.signer.name, v.trusted_comment);
    return 0;
}

void ipc_registry_record_install(struct ipc_call *call, const char *name,
                                 const Fastn__PluginRequest *pr)
{
    const struct ipc_registry *r = call->host->registry;
    int err;

    if (!r)
        return;
    err = registry_installed_set_signature(
        r->plugins_dir, name, pr->has_minisig ? pr->minisig.data : NULL,
        pr->has_minisig ? pr->minisig.len : 0);
    if (err)
        log_msg(LOG_WARN, "registry",
                "%s: cannot keep its signature in %s: %s (it shows as "
                "unsigned)",
                name, r->plugins_dir, fastn_strerror(err));
}

void ipc_registry_record_remove(struct ipc_call *call, const char *name)
{
    const struct ipc_registry *r = call->host->registry;

    if (r && registry_installed_set_signature(r->plugins_dir, name, NULL, 0))
        log_msg(LOG_WARN, "registry", "%s: cannot remove its signature file",
                name);
}

static void fill_one(struct ipc_reply *rep, const struct registry_keyring *kr,
                     const struct ipc_registry *r, Fastn__PluginInfo *o)
{
    struct registry_sig_info si;

    if (registry_installed_signature(kr, r->plugins_dir, o->name,
                                     r->max_plugin_size, &si) != 0)
        return;
    o->signature = (char *)registry_sig_state_name(si.state);
    if (si.key_id[0])
        o->signer = reply_strdup(rep, si.key_id);
    if (si.signer_name[0])
        o->signer_name = reply_strdup(rep, si.signer_name);
    if (si.state == REGISTRY_SIG_VERIFIED)
        o->publisher_note = reply_strdup(rep, si.note);
}

void ipc_registry_fill_signatures(struct ipc_call *call, Fastn__PluginInfo **v,
                                  size_t n)
{
    const struct ipc_registry *r = call->host->registry;
    struct registry_keyring kr;

    if (!r || load_keys(call, &kr) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        fill_one(&call->reply, &kr, r, v[i]);
    registry_keyring_cleanup(&kr);
}
