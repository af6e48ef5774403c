/*
 * The daemon's config file, $FASTN_HOME/config: "key = value" lines,
 * '#' starts a comment, lists are separated by commas or spaces. Users
 * and groups are names or numbers. A missing file means the defaults.
 *
 *   allow-uids   = alice, 1001   other users who may use the socket
 *   allow-gids   = fastn         groups whose members may use it
 *   admin-gids   = wheel         groups whose members are admins
 *   socket-group = fastn         group of the socket (so allowed users
 *                                can reach it: it is mode 0660)
 *   log-level    = info
 *   max-clients  = 1024          control connections at once (default:
 *                                from the file descriptor limit)
 *   max-clients-per-uid = 256    of one user but the owner (a quarter)
 *   max-handlers-per-client = 256  handlers one process registers
 *   max-handlers-per-uid = 1024  handlers of one user but the owner
 *   max-pending-per-uid = 1024   requests of one user but the owner
 *                                waiting for an answer
 *   request-timeout = 5          seconds for a connection's first
 *                                request, and for one begun
 *   listen       = /ip4/0.0.0.0/tcp/4004   network address (repeatable)
 *   idle-timeout = 600           seconds a connection with no streams
 *                                stays open (0: until the peer goes)
 *   keepalive    = 30            seconds of silence before a yamux ping
 *   ping-timeout = 15            seconds an unanswered ping means dead
 *   handshake-timeout = 10       seconds from TCP connect to upgraded
 *   max-connections = 1024       network connections at once (default:
 *                                from the file descriptor limit)
 *   max-handshakes = 256         inbound connections upgrading at once
 *                                (default: from the file descriptor limit)
 *   max-handshakes-per-address = 8   ... from one IPv4 address or IPv6 /64
 *   max-inbound-streams = 16384  streams peers opened, open at once
 *   max-connection-buffers = 64  MiB of output waiting in all connections
 *                                before peers that do not read must wait
 *   serve-plugins = yes          serve installed signed plugins to peers
 *                                (/fastn/plugin/1.0.0); no: not at all
 *   max-plugin-size = 16         MiB: the largest plugin fetched
 *   fetch-connect-timeout = 10   seconds to reach a registry
 *   fetch-timeout = 300          seconds for one whole fetch
 *   fetch-stall-timeout = 30     seconds a fetch may make no progress
 *   plugin-slice-ms = 10         wall time one slice of a plugin may
 *                                hold the loop (1..1000)
 *   plugin-cpu-percent = 25      each plugin's share of one core (1..100)
 *   plugin-cpu-window = 10       ... over this many seconds (1..3600)
 *   plugin-memory-mib = 64       memory each plugin may hold (1..4096)
 *   plugin-listen = P NAME PORT  plugin P serves its port NAME at PORT
 *   plugin-storage-mib = P MIB   plugin P's database quota (1..2^20 MiB)
 *   plugin-connect = P A TO      plugin P's local_connect to A goes to TO
 *   seccomp = on                 the seccomp filters (on, log, off; at
 *                                start only)
 *
 * Unknown keys are logged and skipped, so a config written for a newer
 * fastnd still starts an older one; bad values are errors.
 */
#ifndef FASTN_DAEMON_CONFIG_H
#define FASTN_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "plugin/plugin.h"
#include "util/log.h"
#include "util/multiaddr.h"

#define CONFIG_MAX_BYTES (64 * 1024)
#define CONFIG_MAX_IDS 256
#define CONFIG_MAX_LISTEN 64
#define CONFIG_MAX_BOOTSTRAP 16
#define CONFIG_MAX_RELAYS 8
#define CONFIG_MAX_GRANT 8
#define CONFIG_GRANT_NAME_MAX 31

struct daemon_config {
    size_t n_allow_uids, n_allow_gids, n_admin_gids, n_listen;
    uid_t allow_uids[CONFIG_MAX_IDS];
    gid_t allow_gids[CONFIG_MAX_IDS];
    gid_t admin_gids[CONFIG_MAX_IDS];
    bool has_socket_group;
    gid_t socket_group;
    bool has_log_level;
    enum log_level log_level;
    /* control clients (ipc_limits); has_* says the file set it, else the
     * daemon derives or defaults it */
    bool has_max_clients, has_max_clients_per_uid;
    bool has_max_handlers_per_client, has_max_handlers_per_uid;
    bool has_max_pending_per_uid, has_request_timeout;
    unsigned max_clients, max_clients_per_uid;
    unsigned max_handlers_per_client, max_handlers_per_uid;
    unsigned max_pending_per_uid, request_timeout;
    char *listen[CONFIG_MAX_LISTEN]; /* owned */
    /* network timing, in seconds; has_* says the file set it */
    bool has_idle_timeout, has_keepalive, has_ping_timeout;
    bool has_handshake_timeout, has_max_connections;
    unsigned idle_timeout, keepalive, ping_timeout, handshake_timeout;
    unsigned max_connections;
    /* inbound connections upgrading at once (derived from the file
     * descriptor limit, daemon/fds.c, unless has_*) */
    bool has_max_handshakes;
    unsigned max_handshakes;
    /* the swarm's other limits (has_*: the file set them) */
    bool has_max_handshakes_per_addr, has_max_inbound_streams;
    bool has_max_connection_buffers;
    unsigned max_handshakes_per_addr, max_inbound_streams;
    unsigned max_connection_buffers; /* MiB */
    /* signed plugins and registries (daemon/registry.c) */
    bool has_serve_plugins, serve_plugins;
    bool has_max_plugin_size, has_fetch_connect_timeout;
    bool has_fetch_timeout, has_fetch_stall_timeout;
    unsigned max_plugin_size; /* MiB */
    unsigned fetch_connect_timeout, fetch_timeout, fetch_stall_timeout;
    /* plugin run-time limits (0: the plugin host's default) */
    unsigned plugin_slice_ms, plugin_cpu_percent, plugin_cpu_window;
    unsigned plugin_memory_mib;
    /* plugin-listen and plugin-connect lines (plugin_host_set_local) */
    size_t n_plugin_local;
    struct plugin_local_conf plugin_local[PLUGIN_LOCAL_CONF_MAX];
    /* unknown protocols and strangers (daemon/quarantine.c): refuse, ask
     * (the default) or trusted; the quarantine's limits (0: the store's
     * defaults) and age; the capabilities a trusted plugin may get
     * without asking (has_auto_grant: the file set them, else storage,
     * notify, timers) */
    enum config_unknown {
        CONFIG_UNKNOWN_ASK = 0,
        CONFIG_UNKNOWN_REFUSE,
        CONFIG_UNKNOWN_TRUSTED,
    } unknown_protocols;
    unsigned quarantine_stream_kib, quarantine_peer_mib;
    unsigned quarantine_total_mib, quarantine_streams, quarantine_days;
    bool has_auto_grant;
    size_t n_auto_grant;
    char auto_grant[CONFIG_MAX_GRANT][CONFIG_GRANT_NAME_MAX + 1];
    int seccomp; /* enum sandbox_mode; SANDBOX_ON by default */
    /* reaching peers (daemon/net.c; read at start) */
    bool autonat_server_off; /* autonat-server = off */
    bool autonat_server_v1;  /* autonat-server = v1: not v2 */
    bool private_addresses;  /* private-addresses = yes (tests, LANs) */
    bool relay_service;      /* relay-service = on */
    /* relay-service-duration (s), relay-service-data (KiB): per circuit,
     * replacing the spec's 120 s and 128 KiB (benchmarks, own relays) */
    unsigned relay_duration_s, relay_data_kib;
    bool has_relay_duration_s, has_relay_data_kib;
    /* relay-service-reservations: reservations held for others at once
     * (the spec's 128; 0 refuses every one) */
    unsigned relay_reservations;
    bool has_relay_reservations;
    bool mdns_off;   /* mdns = off (daemon/mdns.c) */
    bool has_mdns;   /* the key was given ($FASTN_MDNS is not read) */
    size_t n_relays; /* relays = MULTIADDR, ... (checked) */
    struct multiaddr relays[CONFIG_MAX_RELAYS];
    /* the DHT: dht = auto|client|server|off (enum swarm_kad_mode), and
     * bootstrap = MULTIADDR, ... | none (has_bootstrap: given; else the
     * public list, daemon/net.c) */
    int dht_mode;
    bool has_bootstrap;
    size_t n_bootstrap;
    struct multiaddr bootstrap[CONFIG_MAX_BOOTSTRAP];
};

/* The defaults: nobody else admitted, 1024 clients. */
void daemon_config_init(struct daemon_config *cfg);
void daemon_config_cleanup(struct daemon_config *cfg);

/* Parses config text (len bytes, need not be NUL-terminated) into cfg,
 * which must be freshly initialised. Errors: FASTN_ERR_INVAL or
 * FASTN_ERR_TOO_LARGE with "line N: what" in err; cfg must still be
 * cleaned up. */
int daemon_config_parse(struct daemon_config *cfg, const char *text, size_t len,
                        char *err, size_t errlen);

/* Reads and parses path; a missing file gives the defaults. Errors as
 * daemon_config_parse, plus FASTN_ERR_IO. */
int daemon_config_load(struct daemon_config *cfg, const char *path, char *err,
                       size_t errlen);
/* As daemon_config_load, for the home's own config: path may not be a
 * symbolic link (O_NOFOLLOW; FASTN_ERR_PERM, said in err). --config FILE,
 * the administrator's, is read with daemon_config_load. */
int daemon_config_load_own(struct daemon_config *cfg, const char *path,
                           char *err, size_t errlen);

/* The commented template (every key, as "# key = example" lines): what
 * `fastn config` knows the keys from. */
const char *daemon_config_template(void);

/* Writes a commented template to path unless a file exists there. */
int daemon_config_write_template(const char *path);

#endif
