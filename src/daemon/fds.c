/*
 * File descriptors: fastnd raises its RLIMIT_NOFILE soft limit to the
 * hard limit at start, and derives from it the limits on what holds a
 * descriptor, unless the config sets them: control connections
 * (max-clients), network connections (max-connections) and those still
 * upgrading (handshakes), and streams spliced to local sockets. Then a
 * flood of idle clients or peers is refused with a clear error and a log
 * line at its limit, and the owner's own `fastn id` still finds a
 * descriptor (and a control slot kept for it, limits.c).
 *
 * The budget: a spare part (an eighth, at least 64, at most half) for the
 * daemon's own files (listeners, databases, logs, pidfds, forwards), the
 * rest split as a quarter for control connections, a half for network
 * connections and a quarter for spliced streams, each at most its old
 * fixed default (the hard limit is often a million; raising it does not
 * mean serving a million peers).
 */
#include <sys/resource.h>

#include "daemon/daemon.h"
#include "util/log.h"

#define CAP_CLIENTS 1024
#define CAP_CONNECTIONS 1024
#define CAP_HANDSHAKES 256
#define CAP_SPLICES 4096

static unsigned cap(uint64_t v, unsigned max)
{
    return v == 0 ? 1 : v > max ? max : (unsigned)v;
}

void daemon_fds_raise(struct daemon_fds *f)
{
    struct rlimit rl;

    f->was = f->nofile = 1024; /* what is assumed when nothing can be read */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    f->was = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (uint64_t)rl.rlim_cur;
    f->hard = rl.rlim_max == RLIM_INFINITY ? 1u << 20 : (uint64_t)rl.rlim_max;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = (rlim_t)f->was;
    }
    f->nofile = rl.rlim_cur == RLIM_INFINITY ? 1u << 20 : (uint64_t)rl.rlim_cur;
    f->raised = f->nofile > f->was;
}

void daemon_fds_derive(struct daemon_fds *f)
{
    uint64_t spare = f->nofile / 8, avail;

    if (spare < 64)
        spare = 64;
    if (spare > f->nofile / 2)
        spare = f->nofile / 2;
    avail = f->nofile - spare;
    f->max_clients = cap(avail / 4, CAP_CLIENTS);
    f->max_connections = cap(avail / 2, CAP_CONNECTIONS);
    f->max_handshakes = cap(f->max_connections / 4, CAP_HANDSHAKES);
    f->max_splices = cap(avail / 4, CAP_SPLICES);
}

void daemon_fds_fill(const struct daemon_fds *f, struct daemon_config *c)
{
    if (!c->has_max_clients)
        c->max_clients = f->max_clients;
    if (!c->has_max_connections) {
        c->max_connections = f->max_connections;
        c->has_max_connections = true; /* the swarm takes it (net.c) */
    }
    if (!c->has_max_handshakes) {
        c->max_handshakes = f->max_handshakes < c->max_connections
                                ? f->max_handshakes
                                : c->max_connections;
        c->has_max_handshakes = true;
    }
}

void daemon_fds_log(const struct daemon_fds *f, const struct daemon_config *c)
{
    bool low =
        f->max_clients < CAP_CLIENTS || f->max_connections < CAP_CONNECTIONS;
    uint64_t want =
        (uint64_t)c->max_clients + c->max_connections + f->max_splices + 64;

    log_msg(low ? LOG_WARN : LOG_INFO, "daemon",
            "file descriptors: %llu (%s %llu; hard limit %llu): max-clients "
            "%u, max-connections %u, handshakes %u, spliced streams %u%s",
            (unsigned long long)f->nofile, f->raised ? "raised from" : "was",
            (unsigned long long)f->was, (unsigned long long)f->hard,
            c->max_clients, c->max_connections, c->max_handshakes,
            f->max_splices,
            low ? "; the limit is low: these are smaller than the defaults "
                  "(raise it with ulimit -Hn or LimitNOFILE=)"
                : "");
    if (want > f->nofile)
        log_msg(LOG_WARN, "daemon",
                "max-clients (%u) and max-connections (%u) from the config "
                "pass the file descriptor limit (%llu): connections may be "
                "refused at accept; lower them or raise the limit",
                c->max_clients, c->max_connections,
                (unsigned long long)f->nofile);
}
