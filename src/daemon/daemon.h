/*
 * fastnd's top level: one struct daemon holds everything the process
 * runs (its home, lock, config, identity, event loop and control server)
 * and is passed down; nothing here is a global, so a later daemon can
 * host several identities, each with its own socket and state.
 *
 * Life cycle: daemon_init() (home, lock, config, identity, socket: the
 * daemon is ready for clients when it returns), daemon_run() (until
 * SIGTERM or SIGINT), daemon_cleanup() (socket removed, keys wiped).
 */
#ifndef FASTN_DAEMON_H
#define FASTN_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include <uv.h>

#include "daemon/config.h"
#include "daemon/options.h"
#include "identity/identity.h"
#include "identity/signer.h"
#include "ipc/server.h"

struct daemon_plugins;
struct daemon_registry;
struct daemon_control;
struct store;
struct swarm;
struct router;

/* The file descriptor limit and what fastnd derives from it (fds.c). */
struct daemon_fds {
    uint64_t was, nofile, hard; /* soft limit at start, now; hard limit */
    bool raised;
    unsigned max_clients, max_connections, max_handshakes, max_splices;
};
/* Raises the soft RLIMIT_NOFILE to the hard limit; records both. */
void daemon_fds_raise(struct daemon_fds *f);
/* Derives the limits from f->nofile. */
void daemon_fds_derive(struct daemon_fds *f);
/* Fills the config's max-clients, max-connections and max-handshakes
 * with the derived values where the file did not set them. */
void daemon_fds_fill(const struct daemon_fds *f, struct daemon_config *c);
/* One log line with the limit and the limits in force (a warning when
 * the limit made them smaller than the defaults, or the config's pass
 * it). */
void daemon_fds_log(const struct daemon_fds *f, const struct daemon_config *c);

struct daemon {
    const struct daemon_options *opts;
    struct daemon_config config;
    char home[PATH_MAX];
    char sock_path[PATH_MAX];
    char config_path[PATH_MAX];
    bool home_is_temp; /* made for p2pd-style runs; removed at exit */
    int home_fd;       /* the home, opened O_NOFOLLOW once it was checked */
    int lock_fd;
    struct daemon_fds fds;
    int passed_fd; /* the control socket systemd passed (service.c), or -1 */
    struct identity identity; /* the public half: the signer has the key */
    bool has_identity;
    struct signer signer; /* privsep.c: the key's process, and its watch */
    uv_poll_t signer_watch;
    bool signer_watched, signer_lost;
    uv_loop_t loop;
    bool loop_ready;
    uv_signal_t sig_term, sig_int, sig_hup;
    struct ipc_host host;
    struct ipc_server ipc;
    struct daemon_plugins *plugins;       /* plugins.c: the plugin host */
    struct daemon_registry *registry;     /* registry.c: signed plugins */
    struct daemon_quarantine *quarantine; /* quarantine.c: kept data */
    /* the network (net.c) */
    struct store *store; /* state.sqlite: the address book */
    struct swarm *swarm;
    struct router *router;
    struct daemon_dht *dht;   /* dht.c: the routing table's file */
    struct daemon_mdns *mdns; /* mdns.c: local peer discovery, or NULL */
    FILE *log_file;           /* background mode: HOME/fastnd.log */
    bool stopping;
    struct daemon_control *control; /* control.c */
};

/* mdns.c: mDNS discovery (unless the config's mdns = off); a port that
 * cannot be used is logged and leaves it off. Errors: NOMEM. */
int daemon_mdns_start(struct daemon *d);
void daemon_mdns_stop(struct daemon *d);

/* Brings the daemon up to ready. On error returns a code and writes a
 * one-line message (what happened, what to do) into err; call
 * daemon_cleanup() either way. Errors: FASTN_ERR_DAEMON_RUNNING (another
 * fastnd holds the home or answers on the socket), FASTN_ERR_IO,
 * FASTN_ERR_INVAL (bad config), FASTN_ERR_PERM (an unsafe home: see
 * home.c), FASTN_ERR_NOT_FOUND (the key is missing from a home with state,
 * or is a link to nothing), FASTN_ERR_EXISTS (--new-identity with a key
 * there), key errors from identity_load_at(). */
int daemon_init(struct daemon *d, const struct daemon_options *opts,
                bool log_to_file, char *err, size_t errlen);

/* Prints the p2pd-style banner (control socket, PeerID, addresses). */
void daemon_print_banner(const struct daemon *d, FILE *out);

/* Runs the event loop until a stop signal; returns 0 on a clean stop. */
int daemon_run(struct daemon *d);

/* privsep.c: watches the signer (started by daemon_home_load_identity)
 * on the loop: when it is gone the daemon logs why and stops with status
 * 1 (a service manager restarts both). Errors: FASTN_ERR_IO. */
int daemon_privsep_start(struct daemon *d, char *err, size_t errlen);
/* Installs the daemon's seccomp filter (config seccomp), once ready.
 * Errors: FASTN_ERR_UNSUPPORTED and others of sandbox_install(). */
int daemon_privsep_sandbox(struct daemon *d, char *err, size_t errlen);
/* After a failed start: when the signer is gone (the likely reason),
 * rewrites err to say so first. */
void daemon_privsep_explain(struct daemon *d, char *err, size_t errlen);
/* Stops watching (on the way out); idempotent. */
void daemon_privsep_stop(struct daemon *d);
/* After the loop ended: closes the signer's socket and reaps it. */
void daemon_privsep_cleanup(struct daemon *d);

/* plugins.c: loads the installed plugins and runs them on the loop,
 * their protocols served through the router (after daemon_net_start,
 * before the control socket opens). Errors: FASTN_ERR_IO, _NOMEM, with
 * err saying what. */
int daemon_plugins_start(struct daemon *d, char *err, size_t errlen);
/* Stops every plugin (on_stop); idempotent. Before daemon_net_stop. */
void daemon_plugins_stop(struct daemon *d);
/* Applies the plugin limits of d->config (SIGHUP). */
void daemon_plugins_reload(struct daemon *d);
/* Gives the plugin host the config's plugin-listen and plugin-connect
 * lines, and listens on the ports that follow from them. */
void daemon_plugins_local_config(struct daemon *d);
/* Replays: hands the quarantine's item (a kept stream of peer for
 * protocol) to the plugin serving protocol, flags as
 * plugin_host_stream_replay's; fn (set once) is told, from the plugin
 * host's run, whether each was delivered (its on_close returned) or not
 * (refused, reset, the plugin stopped; it stays kept). Errors:
 * FASTN_ERR_UNSUPPORTED (no plugins), _NOT_FOUND (no plugin serves it),
 * _PLUGIN_CRASHED, _PLUGIN_LIMIT, _NOMEM; then fn is not called. */
typedef void (*daemon_replay_fn)(void *arg, int64_t item, bool delivered);
void daemon_plugins_set_replay(struct daemon *d, daemon_replay_fn fn,
                               void *arg);
int daemon_plugins_replay(struct daemon *d, int64_t item, const char *peer,
                          const char *protocol, unsigned flags);

/* registry.c: trusted keys, registries, fetching plugins and serving
 * them to peers (after daemon_plugins_start, before the control socket
 * opens). Errors: FASTN_ERR_INTERNAL, with err saying what. */
int daemon_registry_start(struct daemon *d, char *err, size_t errlen);
/* Applies a reloaded config (serve-plugins, the fetch limits). */
void daemon_registry_reload(struct daemon *d);
/* Cancels what runs, stops serving; idempotent. Before
 * daemon_plugins_stop. */
void daemon_registry_stop(struct daemon *d);

/* home.c: the home and what is in it; each returns 0 or an error code with
 * a one-line reason (what is wrong, what to do) in err.
 * daemon_home_open() finds the home (d->home, resolved; created 0700 when
 * missing), refuses one that another user could tamper with (owned by
 * another user, writable by others, under a folder others control, or
 * with a link or another user's file where the daemon keeps its own) and
 * opens it as d->home_fd. Then daemon_home_lock() takes fastnd.lock,
 * daemon_home_open_log() opens fastnd.log for appending, and
 * daemon_home_load_identity() loads HOME/keys/identity.key (or -id=FILE)
 * into d->identity, creating it only in a new home, for -id, or with
 * --new-identity (*created says so). */
int daemon_home_open(struct daemon *d, char *err, size_t errlen);
int daemon_home_lock(struct daemon *d, char *err, size_t errlen);
int daemon_home_open_log(struct daemon *d, FILE **out, char *err,
                         size_t errlen);
int daemon_home_load_identity(struct daemon *d, bool *created, char *err,
                              size_t errlen);

/* Releases everything daemon_init() acquired; safe after a failed init. */
void daemon_cleanup(struct daemon *d);

/* The network (net.c): the address book, the swarm listening as the
 * options and config say, the router; sets d->host's pointers. On error a
 * one-line reason is in err. */
int daemon_net_start(struct daemon *d, char *err, size_t errlen);
/* Closes listeners, connections, streams and splices. */
void daemon_net_stop(struct daemon *d);
/* Frees them after the loop has run the close callbacks. */
void daemon_net_cleanup(struct daemon *d);
/* Applies a re-read config's network settings (SIGHUP), before it
 * replaces d->config: timing and max-connections at once, listen
 * addresses opened and closed to match (unless the command line gave
 * them); each change and each failure is logged, none stops the
 * daemon. */
void daemon_net_reload(struct daemon *d, const struct daemon_config *fresh);
/* route.c: the router's policy glue: the peers the daemon knows (the
 * address book) and the block list, HOME/blocked-peers (after the router
 * is made; a file that does not parse is an error, err saying which
 * line). daemon_route_reload() reads the list again (SIGHUP; a bad file
 * is logged and the list in force kept). */
int daemon_route_start(struct daemon *d, char *err, size_t errlen);
void daemon_route_reload(struct daemon *d);
/* One listen multiaddr per line (the banner's Peer Addrs). */
void daemon_net_print_addrs(const struct daemon *d, FILE *out);
/* reconnect.c: a clean stop records the peers connected now (before
 * the swarm closes); the next start dials them again through the address
 * book (after the swarm listens). */
void daemon_reconnect_save(struct daemon *d);
/* dht.c: the bootstrap peers to give the swarm (up to max), and the
 * routing table file (HOME/kad-table): loaded by start, saved every 10
 * min and by stop (before the swarm closes). */
size_t daemon_dht_bootstrap(const struct daemon *d, struct multiaddr *out,
                            size_t max);
void daemon_dht_start(struct daemon *d);
void daemon_dht_stop(struct daemon *d);
void daemon_reconnect_start(struct daemon *d);

/* control.c: what clients may do to the daemon (DAEMON_STOP,
 * DAEMON_RELOAD) and learn of how it runs (STATUS: its log, config file,
 * unit, socket activation), set up as d->host.daemon. Errors:
 * FASTN_ERR_NOMEM. daemon_control_free() releases it (NULL-safe). */
int daemon_control_init(struct daemon *d);
void daemon_control_free(struct daemon *d);
/* The systemd unit in /proc/self/cgroup's text (the last component of a
 * path ending in .service, "cgroup v2" or v1's name=systemd line): 0
 * with it in unit (n bytes) and *user set when it is under a user's
 * manager (user@UID.service), or FASTN_ERR_NOT_FOUND. */
int daemon_control_unit(const char *cgroup, char *unit, size_t n, bool *user);
/* Re-reads the config and applies it (SIGHUP, DAEMON_RELOAD); why
 * prefixes the log lines. On error (the running config kept) returns its
 * code with the reason in err. */
int daemon_reload(struct daemon *d, const char *why, char *err, size_t errlen);

#endif
