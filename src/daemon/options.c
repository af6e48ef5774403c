/* fastnd's command line; see options.h. */
#include "daemon/options.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "util/multiaddr.h"

const char daemon_usage[] =
    "usage: fastnd [--home DIR] [--foreground] [--log-level LEVEL]\n"
    "       fastnd -listen=/unix/PATH [-id=KEYFILE] [-hostAddrs=MA,...]\n"
    "              [-noListenAddrs] [-dht|-dhtClient|-dhtServer] [-q]\n"
    "\n"
    "The fastn-p2p daemon: owns this user's identity keys and network\n"
    "connections, and serves programs on a Unix control socket.\n"
    "\n"
    "  --home DIR         the fastn home (default $FASTN_HOME or ~/.fastn)\n"
    "  --config FILE      the config file (default HOME/config)\n"
    "  --foreground       stay attached to the terminal, log to stderr\n"
    "  --log-level LEVEL  error, warn, info (default), debug or trace\n"
    "  --listen MULTIADDR listen on a network address (repeatable)\n"
    "  --new-identity     create a new identity (a new PeerID) in a home\n"
    "                     that has state but lost its key; fastnd never\n"
    "                     makes one there on its own, nor replaces a key\n"
    "  --help, --version\n"
    "\n"
    "go-libp2p-daemon (p2pd) compatible flags; any of them implies\n"
    "--foreground:\n"
    "  -listen=/unix/PATH control socket path (default HOME/fastnd.sock;\n"
    "                     without --home, the home is a temporary folder\n"
    "                     removed at exit)\n"
    "  -id=KEYFILE        identity key file (libp2p protobuf PrivateKey;\n"
    "                     created when missing)\n"
    "  -hostAddrs=MA,...  network listen multiaddrs\n"
    "  -noListenAddrs     listen on no network address\n"
    "  -dht, -dhtClient, -dhtServer\n"
    "                     the DHT in auto, client or server mode (over the\n"
    "                     config's dht); with -listen=/unix/PATH and\n"
    "                     none of these, no DHT, as p2pd\n"
    "  -q                 quiet: no banner, warnings and errors only\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return FASTN_ERR_INVAL;
}

static int add_listen(struct daemon_options *o, const char *ma, size_t len,
                      char *err, size_t errlen)
{
    char *text = strndup(ma, len);
    struct multiaddr parsed;
    int rc;

    if (!text)
        return fail(err, errlen, "out of memory");
    rc = multiaddr_parse(text, &parsed);
    if (rc) {
        fail(err, errlen,
             "bad listen address '%s': want a multiaddr such "
             "as /ip4/0.0.0.0/tcp/4001",
             text);
        free(text);
        return FASTN_ERR_INVAL;
    }
    if (o->n_listen == DAEMON_MAX_LISTEN) {
        free(text);
        return fail(err, errlen, "too many listen addresses (max %d)",
                    DAEMON_MAX_LISTEN);
    }
    o->listen[o->n_listen++] = text;
    return 0;
}

/* -listen=/unix/PATH names the control socket (js writes the path as one
 * URI-encoded component: /unix/%2Ftmp%2Fx.sock). */
static int set_control_path(struct daemon_options *o, const char *v, char *err,
                            size_t errlen)
{
    struct multiaddr ma;
    char path[MULTIADDR_UNIX_MAX + 1];
    char *out = NULL;

    if (multiaddr_parse(v, &ma) == 0 &&
        multiaddr_to_unix(&ma, path, sizeof(path)) == 0)
        out = strdup(path);
    if (!out)
        return fail(err, errlen, "-listen wants /unix/PATH, not '%s'", v);
    free((char *)o->control_path);
    o->control_path = out;
    return 0;
}

static int set_listen(struct daemon_options *o, const char *v, char *err,
                      size_t errlen)
{
    if (strncmp(v, "/unix/", 6) == 0)
        return set_control_path(o, v, err, errlen);
    return add_listen(o, v, strlen(v), err, errlen);
}

static int set_host_addrs(struct daemon_options *o, const char *v, char *err,
                          size_t errlen)
{
    while (*v) {
        size_t len = strcspn(v, ",");
        int rc = len ? add_listen(o, v, len, err, errlen) : 0;
        if (rc)
            return rc;
        v += len;
        if (*v == ',')
            v++;
    }
    return 0;
}

/* A boolean Go flag: "-q", "-q=true", "-q=false". */
static int parse_bool(const char *v, bool *out)
{
    if (!v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f")) {
        *out = false;
        return 0;
    }
    return FASTN_ERR_INVAL;
}

enum opt_kind { OPT_BOOL, OPT_VALUE };

struct opt {
    const char *name;
    enum opt_kind kind;
    bool p2pd; /* a p2pd flag: implies --foreground */
};

static const struct opt opts[] = {
    {"home", OPT_VALUE, false},
    {"config", OPT_VALUE, false}, /* the system service's /etc file */
    {"foreground", OPT_BOOL, false},
    {"new-identity", OPT_BOOL, false},
    {"log-level", OPT_VALUE, false},
    {"help", OPT_BOOL, false},
    {"version", OPT_BOOL, false},
    {"listen", OPT_VALUE, false},
    {"id", OPT_VALUE, true},
    {"hostAddrs", OPT_VALUE, true},
    {"noListenAddrs", OPT_BOOL, true},
    {"q", OPT_BOOL, true},
    {"dht", OPT_BOOL, true},
    {"dhtClient", OPT_BOOL, true},
    {"dhtServer", OPT_BOOL, true},
    {"h", OPT_BOOL, false},
};

static int apply(struct daemon_options *o, const char *name, const char *v,
                 char *err, size_t errlen)
{
    bool b = false;

    if (!strcmp(name, "home")) {
        o->home = v;
    } else if (!strcmp(name, "config")) {
        o->config_file = v;
    } else if (!strcmp(name, "log-level")) {
        if (log_level_parse(v, &o->log_level) != 0)
            return fail(err, errlen,
                        "bad --log-level '%s': use error, warn, "
                        "info, debug or trace",
                        v);
        o->has_log_level = true;
    } else if (!strcmp(name, "listen")) {
        /* only the control-socket form is p2pd's */
        if (!strncmp(v, "/unix/", 6))
            o->p2pd_flags = true;
        return set_listen(o, v, err, errlen);
    } else if (!strcmp(name, "id")) {
        o->id_file = v;
    } else if (!strcmp(name, "hostAddrs")) {
        return set_host_addrs(o, v, err, errlen);
    } else if (parse_bool(v, &b) != 0) {
        return fail(err, errlen, "bad value '%s' for -%s: use true or false", v,
                    name);
    } else if (!strcmp(name, "foreground")) {
        o->foreground = b;
    } else if (!strcmp(name, "new-identity")) {
        o->new_identity = b;
    } else if (!strcmp(name, "help") || !strcmp(name, "h")) {
        o->help = b;
    } else if (!strcmp(name, "version")) {
        o->version = b;
    } else if (!strcmp(name, "noListenAddrs")) {
        o->no_listen_addrs = b;
    } else if (!strcmp(name, "q")) {
        o->quiet = b;
    } else { /* -dht, -dhtClient, -dhtServer: the last value counts */
        o->dht_flags[!strcmp(name, "dht")         ? 0
                     : !strcmp(name, "dhtClient") ? 1
                                                  : 2] = b;
    }
    return 0;
}

/* The DHT mode of the -dht flags once all are read: p2pd's precedence
 * whatever the order (-dht, then -dhtClient, then -dhtServer); spawned as
 * p2pd (its control socket given, -listen=/unix/PATH) but none of these
 * true, no DHT, as p2pd runs none; otherwise the config's (a fastnd run
 * with only -noListenAddrs, say, keeps its DHT). */
static enum daemon_dht_flag dht_of(const struct daemon_options *o)
{
    for (int i = 0; i < 3; i++)
        if (o->dht_flags[i])
            return DAEMON_DHT_AUTO + i;
    return o->control_path ? DAEMON_DHT_OFF : DAEMON_DHT_FROM_CONFIG;
}

static const struct opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
            return &opts[i];
    return NULL;
}

int daemon_options_parse(struct daemon_options *o, int argc, char **argv,
                         char *err, size_t errlen)
{
    memset(o, 0, sizeof(*o));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *name, *eq, *v = NULL;
        const struct opt *opt;
        int rc;

        if (a[0] != '-' || !a[1])
            return fail(err, errlen,
                        "unexpected argument '%s' (see "
                        "fastnd --help)",
                        a);
        name = a + (a[1] == '-' ? 2 : 1);
        eq = strchr(name, '=');
        opt = find_opt(name, eq ? (size_t)(eq - name) : strlen(name));
        if (!opt)
            return fail(err, errlen,
                        "unknown option '%s' (see fastnd "
                        "--help)",
                        a);
        if (eq)
            v = eq + 1;
        else if (opt->kind == OPT_VALUE && i + 1 < argc)
            v = argv[++i];
        else if (opt->kind == OPT_VALUE)
            return fail(err, errlen, "option '%s' needs a value", a);
        rc = apply(o, opt->name, v, err, errlen);
        if (rc)
            return rc;
        if (opt->p2pd)
            o->p2pd_flags = true;
    }
    if (o->new_identity && o->id_file)
        return fail(err, errlen,
                    "--new-identity is for the home's key; -id=KEYFILE is "
                    "created when missing: give one of them");
    if (o->p2pd_flags)
        o->foreground = true;
    o->dht = dht_of(o);
    if (o->quiet && !o->has_log_level) {
        o->log_level = LOG_WARN;
        o->has_log_level = true;
    }
    return 0;
}

void daemon_options_cleanup(struct daemon_options *o)
{
    for (size_t i = 0; i < o->n_listen; i++)
        free(o->listen[i]);
    o->n_listen = 0;
    free((char *)o->control_path);
    o->control_path = NULL;
}
