/* The daemon's config file; see config.h. */
#include "daemon/config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"
#include "sandbox/sandbox.h" /* the modes only */
#include "util/file.h"
#include "util/multiaddr.h"

#define MAX_LINE 4096

static const char template_text[] =
    "# fastnd configuration: key = value; lists are separated by commas.\n"
    "# fastnd reads it at start and again on SIGHUP.\n"
    "#\n"
    "# Who may use the control socket besides fastnd's own user and root\n"
    "# (user and group names or numbers):\n"
    "# allow-uids = alice, 1001\n"
    "# allow-gids = fastn\n"
    "# Members of these groups are admins (plugin installs, key operations):\n"
    "# admin-gids = wheel\n"
    "# The socket is mode 0660: give it the group of the allowed users:\n"
    "# socket-group = fastn\n"
    "#\n"
    "# log-level = info\n"
    "# Control connections at once (default: from the file descriptor\n"
    "# limit, at most 1024; the last sixteenth kept for fastnd's user and\n"
    "# root), and what one other user may hold:\n"
    "# max-clients = 1024\n"
    "# max-clients-per-uid = 256\n"
    "# max-handlers-per-client = 256\n"
    "# max-handlers-per-uid = 1024\n"
    "# max-pending-per-uid = 1024\n"
    "# Seconds a connection may take to send its first request:\n"
    "# request-timeout = 5\n"
    "# Network listen addresses (repeatable; default /ip4/0.0.0.0/tcp/4004\n"
    "# and /ip6/::/tcp/4004, or a free port when 4004 is taken):\n"
    "# listen = /ip4/0.0.0.0/tcp/4004\n"
    "# Seconds a connection with no streams stays open (0: until the peer\n"
    "# goes), of silence before a keepalive ping, before an unanswered\n"
    "# ping means the peer is gone, and for a connection's handshake:\n"
    "# idle-timeout = 600\n"
    "# keepalive = 30\n"
    "# ping-timeout = 15\n"
    "# handshake-timeout = 10\n"
    "# max-connections = 1024\n"
    "# Inbound connections upgrading at once, in all and from one address\n"
    "# (IPv4, or IPv6 /64); streams peers opened, open at once; MiB of\n"
    "# output waiting in all connections before peers that do not read it\n"
    "# must wait:\n"
    "# max-handshakes = 256\n"
    "# max-handshakes-per-address = 8\n"
    "# max-inbound-streams = 16384\n"
    "# max-connection-buffers = 64\n"
    "#\n"
    "# Serve the installed signed plugins to peers that ask for them\n"
    "# (/fastn/plugin/1.0.0); no: the protocol is not served at all:\n"
    "# serve-plugins = yes\n"
    "# The largest plugin fetched (MiB), and the limits of a fetch from a\n"
    "# registry or a peer (seconds: to connect, in all, without progress):\n"
    "# max-plugin-size = 16\n"
    "# fetch-connect-timeout = 10\n"
    "# fetch-timeout = 300\n"
    "# fetch-stall-timeout = 30\n"
    "#\n"
    "# Plugins: the wall time one slice of a plugin may hold the daemon\n"
    "# (ms; past it the plugin is stopped), each plugin's share of one core\n"
    "# over a window of seconds (past it its work waits), and the memory\n"
    "# each plugin may hold in all (MiB):\n"
    "# plugin-slice-ms = 10\n"
    "# plugin-cpu-percent = 25\n"
    "# plugin-cpu-window = 10\n"
    "# plugin-memory-mib = 64\n"
    "# A plugin's loopback port (local-listen) served elsewhere, and a\n"
    "# loopback address it connects to (local-connect) moved (repeatable):\n"
    "# plugin-listen = mail smtp 2526\n"
    "# plugin-connect = ssh 127.0.0.1:22 127.0.0.1:2222\n"
    "# A plugin's database quota in MiB instead of its manifest's (from\n"
    "# the daemon's next start; repeatable):\n"
    "# plugin-storage-mib = files 131072\n"
    "#\n"
    "# Data for a protocol no plugin handles, and a stranger's for a plugin\n"
    "# that serves known peers only: refuse it; ask (keep it, offer the\n"
    "# plugin that handles it); trusted (keep it, and install at once a\n"
    "# plugin signed by a trusted publisher that asks only for auto-grant):\n"
    "# unknown-protocols = ask\n"
    "# auto-grant = storage, notify, timers\n"
    "# What is kept: KiB per stream, MiB per peer, MiB in all, streams,\n"
    "# and days before it is deleted:\n"
    "# quarantine-stream-kib = 1024\n"
    "# quarantine-peer-mib = 16\n"
    "# quarantine-total-mib = 256\n"
    "# quarantine-streams = 10000\n"
    "# quarantine-days = 30\n"
    "#\n"
    "# Reaching peers (read at start). Answer other peers' AutoNAT\n"
    "# dial-back requests (/libp2p/autonat/1.0.0):\n"
    "# autonat-server = on\n"
    "# Count loopback and private addresses as reachable ones (observed\n"
    "# addresses, AutoNAT): for tests and closed networks only:\n"
    "# private-addresses = no\n"
    "# Relays to hold reservations on while this daemon is not reachable\n"
    "# (circuit relay v2; multiaddrs ending in /p2p/PEERID), and whether to\n"
    "# relay for others (spec limits: 2 min and 128 KiB each way per\n"
    "# circuit, 128 reservations, 8 per IP):\n"
    "# relays = /ip4/198.51.100.7/tcp/4004/p2p/12D3KooW...\n"
    "# relay-service = off\n"
    "# A circuit's limits on this relay instead of the spec's (seconds, and\n"
    "# KiB each way; for benchmarks and relays of one's own):\n"
    "# relay-service-duration = 120\n"
    "# relay-service-data = 128\n"
    "# Reservations held for others at once (0 refuses every one):\n"
    "# relay-service-reservations = 128\n"
    "# The Kademlia DHT (/ipfs/kad/1.0.0): auto answers other peers' DHT\n"
    "# requests only while AutoNAT says this daemon is public; client never;\n"
    "# server always; off: no DHT (a bare PeerID is then found only in the\n"
    "# address book). Bootstrap peers (multiaddrs ending in /p2p/PEERID, or\n"
    "# none); without the key, the public libp2p list (or $FASTN_BOOTSTRAP):\n"
    "# dht = auto\n"
    "# bootstrap = /ip4/198.51.100.7/tcp/4004/p2p/12D3KooW...\n"
    "# Find peers on the local network and be found (mDNS,\n"
    "# _p2p._udp.local on UDP port 5353; found peers go to the address book;\n"
    "# without the key, $FASTN_MDNS if set, else on):\n"
    "# mdns = on\n"
    "#\n"
    "# The seccomp filters of fastnd and its key signer (read at start):\n"
    "# on: a forbidden system call kills the process; log: the kernel\n"
    "# logs it; off: no filter:\n"
    "# seccomp = on\n";

const char *daemon_config_template(void)
{
    return template_text;
}

void daemon_config_init(struct daemon_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seccomp = SANDBOX_ON;
    cfg->max_clients = 1024;
}

void daemon_config_cleanup(struct daemon_config *cfg)
{
    for (size_t i = 0; i < cfg->n_listen; i++)
        free(cfg->listen[i]);
    cfg->n_listen = 0;
}

struct line_ctx {
    unsigned lineno;
    char *err;
    size_t errlen;
};

static int fail(struct line_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct line_ctx *c, int code, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "config line %u: %s", c->lineno, what);
    return code;
}

static bool parse_number(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s[0] || s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* A user or group: a number, or a name looked up in the system's
 * databases. */
static int parse_id(struct line_ctx *c, const char *s, bool group,
                    unsigned *out)
{
    unsigned long v;

    if (parse_number(s, 0xfffffffeUL, &v)) {
        *out = (unsigned)v;
        return 0;
    }
    if (group) {
        struct group *g = getgrnam(s);
        if (g) {
            *out = g->gr_gid;
            return 0;
        }
        return fail(c, FASTN_ERR_INVAL, "unknown group '%s'", s);
    }
    struct passwd *pw = getpwnam(s);
    if (pw) {
        *out = pw->pw_uid;
        return 0;
    }
    return fail(c, FASTN_ERR_INVAL, "unknown user '%s'", s);
}

/* Splits a list value in place; calls fn for each item. */
static int each_item(struct line_ctx *c, char *v,
                     int (*fn)(struct line_ctx *, const char *, void *),
                     void *arg)
{
    char *save = NULL;
    for (char *t = strtok_r(v, ", \t", &save); t;
         t = strtok_r(NULL, ", \t", &save)) {
        int rc = fn(c, t, arg);
        if (rc)
            return rc;
    }
    return 0;
}

struct id_list {
    unsigned *ids; /* uid_t and gid_t are both unsigned int on Linux */
    size_t *n;
    bool group;
};

static int add_id(struct line_ctx *c, const char *item, void *arg)
{
    struct id_list *l = arg;
    unsigned id;
    int rc = parse_id(c, item, l->group, &id);
    if (rc)
        return rc;
    if (*l->n == CONFIG_MAX_IDS)
        return fail(c, FASTN_ERR_TOO_LARGE, "more than %d entries",
                    CONFIG_MAX_IDS);
    l->ids[(*l->n)++] = id;
    return 0;
}

static int add_listen(struct line_ctx *c, const char *item, void *arg)
{
    struct daemon_config *cfg = arg;
    if (item[0] != '/')
        return fail(c, FASTN_ERR_INVAL,
                    "bad listen address '%s': want a "
                    "multiaddr",
                    item);
    if (cfg->n_listen == CONFIG_MAX_LISTEN)
        return fail(c, FASTN_ERR_TOO_LARGE, "more than %d listen addresses",
                    CONFIG_MAX_LISTEN);
    cfg->listen[cfg->n_listen] = strdup(item);
    if (!cfg->listen[cfg->n_listen])
        return fail(c, FASTN_ERR_NOMEM, "out of memory");
    cfg->n_listen++;
    return 0;
}

static int add_relay(struct line_ctx *c, const char *item, void *arg)
{
    struct daemon_config *cfg = arg;
    struct multiaddr *ma = &cfg->relays[cfg->n_relays];
    struct peer_id id;

    if (cfg->n_relays == CONFIG_MAX_RELAYS)
        return fail(c, FASTN_ERR_TOO_LARGE, "more than %d relays",
                    CONFIG_MAX_RELAYS);
    if (multiaddr_parse(item, ma) || multiaddr_get_peer(ma, &id))
        return fail(c, FASTN_ERR_INVAL,
                    "bad relay '%s': want a multiaddr ending in /p2p/PEERID "
                    "(the relay's, as its fastn id prints it)",
                    item);
    cfg->n_relays++;
    return 0;
}

static int add_bootstrap(struct line_ctx *c, const char *item, void *arg)
{
    struct daemon_config *cfg = arg;
    struct multiaddr *ma = &cfg->bootstrap[cfg->n_bootstrap];
    struct peer_id id;

    if (!strcmp(item, "none"))
        return 0;
    if (cfg->n_bootstrap == CONFIG_MAX_BOOTSTRAP)
        return fail(c, FASTN_ERR_TOO_LARGE, "more than %d bootstrap peers",
                    CONFIG_MAX_BOOTSTRAP);
    if (multiaddr_parse(item, ma) || multiaddr_get_peer(ma, &id))
        return fail(c, FASTN_ERR_INVAL,
                    "bad bootstrap peer '%s': want a multiaddr ending in "
                    "/p2p/PEERID (as the peer's fastn id prints it), or none",
                    item);
    cfg->n_bootstrap++;
    return 0;
}

static int parse_dht(struct daemon_config *cfg, struct line_ctx *c,
                     const char *v)
{
    static const char *const modes[] = {"auto", "client", "server", "off"};

    for (int i = 0; i < 4; i++)
        if (!strcmp(v, modes[i])) {
            cfg->dht_mode = i; /* the order of enum swarm_kad_mode */
            return 0;
        }
    return fail(c, FASTN_ERR_INVAL, "dht wants auto, client, server or off");
}

_Static_assert(sizeof(uid_t) == sizeof(unsigned) &&
                   sizeof(gid_t) == sizeof(unsigned),
               "id lists are stored as unsigned");

/* The network timing keys: true when key is one of them (*rc says
 * whether its value was good). */
static bool apply_seconds(struct daemon_config *cfg, const char *key,
                          const char *v, int *rc)
{
    static const struct {
        const char *key;
        size_t val, has;
        unsigned min;
    } keys[] = {
        {"idle-timeout", offsetof(struct daemon_config, idle_timeout),
         offsetof(struct daemon_config, has_idle_timeout), 0},
        {"keepalive", offsetof(struct daemon_config, keepalive),
         offsetof(struct daemon_config, has_keepalive), 0},
        {"ping-timeout", offsetof(struct daemon_config, ping_timeout),
         offsetof(struct daemon_config, has_ping_timeout), 1},
        {"handshake-timeout", offsetof(struct daemon_config, handshake_timeout),
         offsetof(struct daemon_config, has_handshake_timeout), 1},
        {"request-timeout", offsetof(struct daemon_config, request_timeout),
         offsetof(struct daemon_config, has_request_timeout), 1},
        {"fetch-connect-timeout",
         offsetof(struct daemon_config, fetch_connect_timeout),
         offsetof(struct daemon_config, has_fetch_connect_timeout), 1},
        {"fetch-timeout", offsetof(struct daemon_config, fetch_timeout),
         offsetof(struct daemon_config, has_fetch_timeout), 1},
        {"fetch-stall-timeout",
         offsetof(struct daemon_config, fetch_stall_timeout),
         offsetof(struct daemon_config, has_fetch_stall_timeout), 1},
    };
    unsigned long n;

    *rc = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key))
            continue;
        if (!parse_number(v, 86400, &n) || n < keys[i].min) {
            *rc = FASTN_ERR_INVAL;
            return true;
        }
        *(unsigned *)((char *)cfg + keys[i].val) = (unsigned)n;
        *(bool *)((char *)cfg + keys[i].has) = true;
        return true;
    }
    return false;
}

/* plugin-listen = PLUGIN NAME PORT, plugin-connect = PLUGIN ADDR TO: one
 * more entry of cfg->plugin_local (plugin_host_set_local). */
static int apply_plugin_local(struct daemon_config *cfg, struct line_ctx *c,
                              const char *key, const char *v)
{
    struct plugin_local_conf e;
    char a[3][64], extra[2];
    unsigned long port;
    bool listen = !strcmp(key, "plugin-listen");

    memset(&e, 0, sizeof(e));
    if (sscanf(v, "%63s %63s %63s %1s", a[0], a[1], a[2], extra) != 3 ||
        strlen(a[0]) > PLUGIN_NAME_MAX ||
        (listen && (strlen(a[1]) > PLUGIN_LISTEN_NAME_MAX ||
                    !parse_number(a[2], 65535, &port) || port == 0)) ||
        (!listen &&
         (plugin_addr_parse(a[1], &e.addr) || plugin_addr_parse(a[2], &e.to))))
        return fail(c, FASTN_ERR_INVAL,
                    listen ? "plugin-listen wants PLUGIN NAME PORT (e.g. mail "
                             "smtp 2526)"
                           : "plugin-connect wants PLUGIN ADDRESS TARGET, "
                             "loopback addresses (e.g. ssh 127.0.0.1:22 "
                             "127.0.0.1:2222)");
    if (cfg->n_plugin_local >= PLUGIN_LOCAL_CONF_MAX)
        return fail(c, FASTN_ERR_INVAL,
                    "at most %d plugin-listen and "
                    "plugin-connect lines",
                    PLUGIN_LOCAL_CONF_MAX);
    snprintf(e.plugin, sizeof(e.plugin), "%s", a[0]);
    e.listen = listen;
    if (listen) {
        snprintf(e.name, sizeof(e.name), "%s", a[1]);
        e.port = (uint16_t)port;
    }
    cfg->plugin_local[cfg->n_plugin_local++] = e;
    return 0;
}

/* plugin-storage-mib = PLUGIN MIB: the plugin's database may take MIB
 * MiB on disk instead of its manifest's storage_quota (from its next
 * start). */
static int apply_plugin_storage(struct daemon_config *cfg, struct line_ctx *c,
                                const char *v)
{
    struct plugin_local_conf e;
    char name[64], mib[32], extra[2];
    unsigned long n;

    memset(&e, 0, sizeof(e));
    if (sscanf(v, "%63s %31s %1s", name, mib, extra) != 2 ||
        strlen(name) > PLUGIN_NAME_MAX ||
        !parse_number(mib, PLUGIN_QUOTA_MAX >> 20, &n) || n == 0)
        return fail(c, FASTN_ERR_INVAL,
                    "plugin-storage-mib wants PLUGIN MIB, 1..%llu (e.g. "
                    "files 131072 for 128 GiB)",
                    (unsigned long long)(PLUGIN_QUOTA_MAX >> 20));
    if (cfg->n_plugin_local >= PLUGIN_LOCAL_CONF_MAX)
        return fail(c, FASTN_ERR_INVAL,
                    "at most %d plugin-listen, plugin-connect and "
                    "plugin-storage-mib lines",
                    PLUGIN_LOCAL_CONF_MAX);
    snprintf(e.plugin, sizeof(e.plugin), "%s", name);
    e.storage = (uint64_t)n << 20;
    cfg->plugin_local[cfg->n_plugin_local++] = e;
    return 0;
}

/* The plugin limits: true when key is one of them (*rc says whether its
 * value was good; err gets the range). */
static bool apply_plugin(struct daemon_config *cfg, struct line_ctx *c,
                         const char *key, const char *v, int *rc)
{
    static const struct {
        const char *key;
        size_t val;
        unsigned long min, max;
    } keys[] = {
        {"plugin-slice-ms", offsetof(struct daemon_config, plugin_slice_ms), 1,
         1000},
        {"plugin-cpu-percent",
         offsetof(struct daemon_config, plugin_cpu_percent), 1, 100},
        {"plugin-cpu-window", offsetof(struct daemon_config, plugin_cpu_window),
         1, 3600},
        {"plugin-memory-mib", offsetof(struct daemon_config, plugin_memory_mib),
         1, 4096},
    };
    unsigned long n;

    *rc = 0;
    if (!strcmp(key, "plugin-listen") || !strcmp(key, "plugin-connect")) {
        *rc = apply_plugin_local(cfg, c, key, v);
        return true;
    }
    if (!strcmp(key, "plugin-storage-mib")) {
        *rc = apply_plugin_storage(cfg, c, v);
        return true;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key))
            continue;
        if (!parse_number(v, keys[i].max, &n) || n < keys[i].min)
            *rc = fail(c, FASTN_ERR_INVAL, "%s wants a whole number %lu..%lu",
                       key, keys[i].min, keys[i].max);
        else
            *(unsigned *)((char *)cfg + keys[i].val) = (unsigned)n;
        return true;
    }
    return false;
}

static int add_grant(struct line_ctx *c, const char *item, void *arg)
{
    struct daemon_config *cfg = arg;
    size_t n = strlen(item);

    if (cfg->n_auto_grant >= CONFIG_MAX_GRANT)
        return fail(c, FASTN_ERR_INVAL, "auto-grant: at most %d capabilities",
                    CONFIG_MAX_GRANT);
    if (n == 0 || n > CONFIG_GRANT_NAME_MAX ||
        strspn(item, "abcdefghijklmnopqrstuvwxyz-") != n)
        return fail(c, FASTN_ERR_INVAL,
                    "auto-grant: '%.40s' is not a capability (streams, "
                    "storage, notify, timers, local-listen, local-connect)",
                    item);
    memcpy(cfg->auto_grant[cfg->n_auto_grant++], item, n + 1);
    return 0;
}

/* unknown-protocols, auto-grant and the quarantine's limits. Returns
 * true when key is one of them (*rc: 0 or the error). */
static bool apply_quarantine(struct daemon_config *cfg, struct line_ctx *c,
                             const char *key, char *v, int *rc)
{
    static const struct {
        const char *key;
        size_t val;
        unsigned long max;
    } keys[] = {
        {"quarantine-stream-kib",
         offsetof(struct daemon_config, quarantine_stream_kib), 1048576},
        {"quarantine-peer-mib",
         offsetof(struct daemon_config, quarantine_peer_mib), 1048576},
        {"quarantine-total-mib",
         offsetof(struct daemon_config, quarantine_total_mib), 1048576},
        {"quarantine-streams",
         offsetof(struct daemon_config, quarantine_streams), 10000000},
        {"quarantine-days", offsetof(struct daemon_config, quarantine_days),
         3650},
    };
    unsigned long n;

    *rc = 0;
    if (!strcmp(key, "unknown-protocols")) {
        if (!strcmp(v, "refuse"))
            cfg->unknown_protocols = CONFIG_UNKNOWN_REFUSE;
        else if (!strcmp(v, "ask"))
            cfg->unknown_protocols = CONFIG_UNKNOWN_ASK;
        else if (!strcmp(v, "trusted"))
            cfg->unknown_protocols = CONFIG_UNKNOWN_TRUSTED;
        else
            *rc = fail(c, FASTN_ERR_INVAL,
                       "unknown-protocols wants refuse, ask or trusted");
        return true;
    }
    if (!strcmp(key, "auto-grant")) {
        cfg->has_auto_grant = true;
        cfg->n_auto_grant = 0;
        if (strcmp(v, "none"))
            *rc = each_item(c, v, add_grant, cfg);
        return true;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key))
            continue;
        if (!parse_number(v, keys[i].max, &n) || n == 0)
            *rc = fail(c, FASTN_ERR_INVAL, "%s wants a whole number 1..%lu",
                       key, keys[i].max);
        else
            *(unsigned *)((char *)cfg + keys[i].val) = (unsigned)n;
        return true;
    }
    return false;
}

/* The swarm's and the control clients' limits: whole numbers in a range.
 * Returns true when key is one of them (*rc: 0 or FASTN_ERR_INVAL with
 * *max the top). */
static bool apply_limit(struct daemon_config *cfg, const char *key,
                        const char *v, int *rc, unsigned *max)
{
    static const struct {
        const char *key;
        size_t val, has;
        unsigned max;
    } keys[] = {
        {"max-handshakes", offsetof(struct daemon_config, max_handshakes),
         offsetof(struct daemon_config, has_max_handshakes), 1000000},
        {"max-handshakes-per-address",
         offsetof(struct daemon_config, max_handshakes_per_addr),
         offsetof(struct daemon_config, has_max_handshakes_per_addr), 1000000},
        {"max-inbound-streams",
         offsetof(struct daemon_config, max_inbound_streams),
         offsetof(struct daemon_config, has_max_inbound_streams), 10000000},
        {"max-connection-buffers",
         offsetof(struct daemon_config, max_connection_buffers),
         offsetof(struct daemon_config, has_max_connection_buffers), 65536},
        {"max-clients", offsetof(struct daemon_config, max_clients),
         offsetof(struct daemon_config, has_max_clients), 1000000},
        {"max-clients-per-uid",
         offsetof(struct daemon_config, max_clients_per_uid),
         offsetof(struct daemon_config, has_max_clients_per_uid), 1000000},
        {"max-handlers-per-client",
         offsetof(struct daemon_config, max_handlers_per_client),
         offsetof(struct daemon_config, has_max_handlers_per_client), 1000000},
        {"max-handlers-per-uid",
         offsetof(struct daemon_config, max_handlers_per_uid),
         offsetof(struct daemon_config, has_max_handlers_per_uid), 1000000},
        {"max-pending-per-uid",
         offsetof(struct daemon_config, max_pending_per_uid),
         offsetof(struct daemon_config, has_max_pending_per_uid), 1000000},
        {"max-plugin-size", offsetof(struct daemon_config, max_plugin_size),
         offsetof(struct daemon_config, has_max_plugin_size), 64},
        {"relay-service-duration",
         offsetof(struct daemon_config, relay_duration_s),
         offsetof(struct daemon_config, has_relay_duration_s), 86400},
        {"relay-service-data", offsetof(struct daemon_config, relay_data_kib),
         offsetof(struct daemon_config, has_relay_data_kib), 4194304},
    };
    unsigned long n;

    *rc = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(key, keys[i].key))
            continue;
        *max = keys[i].max;
        if (!parse_number(v, keys[i].max, &n) || n == 0) {
            *rc = FASTN_ERR_INVAL;
            return true;
        }
        *(unsigned *)((char *)cfg + keys[i].val) = (unsigned)n;
        *(bool *)((char *)cfg + keys[i].has) = true;
        return true;
    }
    return false;
}

static int apply(struct daemon_config *cfg, struct line_ctx *c, const char *key,
                 char *v)
{
    unsigned max = 0;
    struct id_list l = {NULL, NULL, true};
    unsigned long n;
    unsigned id = 0;
    int rc;

    if (!strcmp(key, "allow-uids"))
        l = (struct id_list){cfg->allow_uids, &cfg->n_allow_uids, false};
    else if (!strcmp(key, "allow-gids"))
        l = (struct id_list){cfg->allow_gids, &cfg->n_allow_gids, true};
    else if (!strcmp(key, "admin-gids"))
        l = (struct id_list){cfg->admin_gids, &cfg->n_admin_gids, true};
    if (l.ids)
        return each_item(c, v, add_id, &l);
    if (!strcmp(key, "listen"))
        return each_item(c, v, add_listen, cfg);
    if (!strcmp(key, "relays")) {
        cfg->n_relays = 0;
        return each_item(c, v, add_relay, cfg);
    }
    if (!strcmp(key, "bootstrap")) {
        cfg->n_bootstrap = 0;
        cfg->has_bootstrap = true;
        return each_item(c, v, add_bootstrap, cfg);
    }
    if (!strcmp(key, "dht"))
        return parse_dht(cfg, c, v);
    if (!strcmp(key, "mdns")) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return fail(c, FASTN_ERR_INVAL, "mdns wants on or off");
        cfg->mdns_off = !strcmp(v, "off");
        cfg->has_mdns = true;
        return 0;
    }
    if (!strcmp(key, "relay-service")) {
        if (strcmp(v, "on") && strcmp(v, "off"))
            return fail(c, FASTN_ERR_INVAL, "relay-service wants on or off");
        cfg->relay_service = !strcmp(v, "on");
        return 0;
    }
    if (!strcmp(key, "relay-service-reservations")) {
        if (!parse_number(v, 4096, &n))
            return fail(c, FASTN_ERR_INVAL,
                        "relay-service-reservations wants a whole number "
                        "0..4096");
        cfg->relay_reservations = (unsigned)n;
        cfg->has_relay_reservations = true;
        return 0;
    }
    if (!strcmp(key, "socket-group")) {
        int rc = parse_id(c, v, true, &id);
        cfg->socket_group = id;
        cfg->has_socket_group = rc == 0;
        return rc;
    }
    if (!strcmp(key, "serve-plugins")) {
        if (strcmp(v, "yes") && strcmp(v, "no"))
            return fail(c, FASTN_ERR_INVAL, "serve-plugins wants yes or no");
        cfg->serve_plugins = !strcmp(v, "yes");
        cfg->has_serve_plugins = true;
        return 0;
    }
    if (!strcmp(key, "autonat-server")) {
        if (strcmp(v, "on") && strcmp(v, "off") && strcmp(v, "v1"))
            return fail(c, FASTN_ERR_INVAL,
                        "autonat-server wants on, off or v1");
        cfg->autonat_server_off = !strcmp(v, "off");
        cfg->autonat_server_v1 = !strcmp(v, "v1");
        return 0;
    }
    if (!strcmp(key, "private-addresses")) {
        if (strcmp(v, "yes") && strcmp(v, "no"))
            return fail(c, FASTN_ERR_INVAL,
                        "private-addresses wants yes or no");
        cfg->private_addresses = !strcmp(v, "yes");
        return 0;
    }
    if (!strcmp(key, "seccomp")) {
        if (strcmp(v, "on") && strcmp(v, "log") && strcmp(v, "off"))
            return fail(c, FASTN_ERR_INVAL, "seccomp wants on, log or off");
        cfg->seccomp = !strcmp(v, "on")    ? SANDBOX_ON
                       : !strcmp(v, "log") ? SANDBOX_LOG
                                           : SANDBOX_OFF;
        return 0;
    }
    if (!strcmp(key, "log-level")) {
        if (log_level_parse(v, &cfg->log_level) != 0)
            return fail(c, FASTN_ERR_INVAL, "bad log-level '%s'", v);
        cfg->has_log_level = true;
        return 0;
    }
    if (apply_seconds(cfg, key, v, &rc) || rc)
        return rc ? fail(c, rc, "%s wants a whole number of seconds (%s)", key,
                         "0..86400")
                  : 0;
    if (apply_limit(cfg, key, v, &rc, &max) || rc)
        return rc ? fail(c, rc, "%s wants a whole number 1..%u", key, max) : 0;
    if (apply_plugin(cfg, c, key, v, &rc))
        return rc;
    if (apply_quarantine(cfg, c, key, v, &rc))
        return rc;
    if (!strcmp(key, "max-connections")) {
        if (!parse_number(v, 1000000, &n) || n == 0)
            return fail(c, FASTN_ERR_INVAL, "max-connections wants 1..1000000");
        cfg->max_connections = (unsigned)n;
        cfg->has_max_connections = true;
        return 0;
    }
    log_msg(LOG_WARN, "config", "line %u: unknown key '%s' skipped", c->lineno,
            key);
    return 0;
}

static char *trim(char *s)
{
    char *e;
    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static int parse_line(struct daemon_config *cfg, struct line_ctx *c, char *line)
{
    char *hash = strchr(line, '#'), *eq, *key, *v;

    if (hash)
        *hash = '\0';
    key = trim(line);
    if (!*key)
        return 0;
    eq = strchr(key, '=');
    if (!eq)
        return fail(c, FASTN_ERR_INVAL, "expected 'key = value'");
    *eq = '\0';
    key = trim(key);
    v = trim(eq + 1);
    if (!*key || !*v)
        return fail(c, FASTN_ERR_INVAL, "expected 'key = value'");
    return apply(cfg, c, key, v);
}

int daemon_config_parse(struct daemon_config *cfg, const char *text, size_t len,
                        char *err, size_t errlen)
{
    struct line_ctx c = {0, err, errlen};
    char line[MAX_LINE];
    size_t i = 0;

    if (len > CONFIG_MAX_BYTES)
        return fail(&c, FASTN_ERR_TOO_LARGE, "file larger than %d bytes",
                    CONFIG_MAX_BYTES);
    while (i < len) {
        size_t n = 0;
        c.lineno++;
        while (i < len && text[i] != '\n') {
            if (text[i] == '\0')
                return fail(&c, FASTN_ERR_INVAL, "NUL byte");
            if (n == sizeof(line) - 1)
                return fail(&c, FASTN_ERR_TOO_LARGE, "line too long");
            line[n++] = text[i++];
        }
        i++; /* the newline */
        line[n] = '\0';
        int rc = parse_line(cfg, &c, line);
        if (rc)
            return rc;
    }
    return 0;
}

static int load(struct daemon_config *cfg, const char *path, bool own,
                char *err, size_t errlen)
{
    uint8_t *text = NULL;
    size_t len = 0;
    /* no link for the home's own config: the home is the daemon's */
    int rc = own ? file_read_nofollow(path, CONFIG_MAX_BYTES, &text, &len)
                 : file_read_all(path, CONFIG_MAX_BYTES, &text, &len);

    if (rc == FASTN_ERR_NOT_FOUND)
        return 0;
    if (rc == FASTN_ERR_PERM) {
        snprintf(err, errlen,
                 "%s is a symbolic link: fastnd reads its config only from a "
                 "file in its home; put the file itself there",
                 path);
        return rc;
    }
    if (rc == FASTN_ERR_TOO_LARGE) {
        snprintf(err, errlen, "%s is larger than %d bytes", path,
                 CONFIG_MAX_BYTES);
        return FASTN_ERR_INVAL;
    }
    if (rc) {
        snprintf(err, errlen, "cannot read %s: %s", path,
                 rc == FASTN_ERR_IO ? strerror(errno) : fastn_strerror(rc));
        return rc;
    }
    rc = daemon_config_parse(cfg, (const char *)text, len, err, errlen);
    free(text);
    return rc;
}

int daemon_config_load(struct daemon_config *cfg, const char *path, char *err,
                       size_t errlen)
{
    return load(cfg, path, false, err, errlen);
}

int daemon_config_load_own(struct daemon_config *cfg, const char *path,
                           char *err, size_t errlen)
{
    return load(cfg, path, true, err, errlen);
}

int daemon_config_write_template(const char *path)
{
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    ssize_t n;

    if (fd < 0)
        return errno == EEXIST ? 0 : FASTN_ERR_IO;
    n = write(fd, template_text, sizeof(template_text) - 1);
    close(fd);
    return n == (ssize_t)sizeof(template_text) - 1 ? 0 : FASTN_ERR_IO;
}
