/*
 * fastnd's command line: its own options and the flags of go-libp2p-daemon
 * (p2pd), so programs written to spawn p2pd can spawn fastnd.
 *
 *   --home DIR, --foreground, --log-level L, --help, --version
 *   --config FILE        the config file (default HOME/config)
 *   --new-identity       create a new identity in a home that has state
 *                        but no key (never over a key that is there)
 *   -listen=/unix/PATH   control socket (p2pd); implies --foreground
 *   -id=KEYFILE          identity key file (created when missing)
 *   -hostAddrs=MA[,MA]   network listen multiaddrs (stored for the network)
 *   -noListenAddrs       listen on no network address
 *   -q                   no start-up banner, log warnings and errors only
 *   -dht, -dhtClient, -dhtServer
 *                        the DHT in auto (p2pd's "full"), client or server
 *                        mode, over the config's `dht`; when several are
 *                        given, -dht wins, then -dhtClient (as in p2pd)
 *
 * p2pd flags take one or two dashes and "=VALUE" or a separate VALUE, as
 * Go's flag package does. --listen with a non-unix multiaddr adds a
 * network listen address (repeatable). Any p2pd flag implies
 * --foreground: p2pd never detaches, and its spawners expect that.
 */
#ifndef FASTN_DAEMON_OPTIONS_H
#define FASTN_DAEMON_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/log.h"

#define DAEMON_MAX_LISTEN 64

/* The DHT mode the command line asks for (p2pd's -dht flags). */
enum daemon_dht_flag {
    DAEMON_DHT_FROM_CONFIG = 0, /* not spawned as p2pd: the config's */
    DAEMON_DHT_AUTO,            /* -dht */
    DAEMON_DHT_CLIENT,          /* -dhtClient */
    DAEMON_DHT_SERVER,          /* -dhtServer */
    DAEMON_DHT_OFF, /* -listen=/unix/PATH, none of these: p2pd runs none */
};

struct daemon_options {
    const char *home;         /* --home, borrowed from argv */
    const char *control_path; /* from -listen=/unix/PATH, owned */
    const char *id_file;      /* -id, borrowed */
    const char *config_file;  /* --config, borrowed */
    bool foreground;
    bool new_identity; /* --new-identity */
    bool quiet;
    bool no_listen_addrs;
    bool p2pd_flags; /* at least one p2pd flag was given */
    bool help;
    bool version;
    bool has_log_level;
    enum log_level log_level;
    enum daemon_dht_flag dht;
    bool dht_flags[3]; /* -dht, -dhtClient, -dhtServer: each one's last value */
    size_t n_listen;
    char *listen[DAEMON_MAX_LISTEN]; /* network listen multiaddrs, owned */
};

/* Parses argv. On error returns FASTN_ERR_INVAL with a one-line
 * explanation in err; the options must still be cleaned up. */
int daemon_options_parse(struct daemon_options *o, int argc, char **argv,
                         char *err, size_t errlen);
void daemon_options_cleanup(struct daemon_options *o);

/* The text of `fastnd --help`. */
extern const char daemon_usage[];

#endif
