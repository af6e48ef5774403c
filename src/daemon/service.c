/*
 * fastnd and the service manager: socket activation, readiness and log
 * priorities, as sd_listen_fds(3), sd_notify(3) and sd-daemon(3) define
 * them (see service.h). No libsystemd: each protocol is a few lines over
 * environment variables and sockets, and the network-facing daemon links
 * one library fewer.
 */
#include "daemon/service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fastn/err.h"
#include "util/errbuf.h"

/* sd_listen_fds(3): passed descriptors start at 3. */
#define LISTEN_FDS_START 3
/* More than this many passed sockets is a unit error, not fastnd's. */
#define LISTEN_FDS_MAX 64

/* A decimal number from the environment; false when absent or bad. */
static bool env_number(const char *name, unsigned long max, unsigned long *out)
{
    const char *s = getenv(name);
    char *end;

    if (!s || s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return !errno && !*end && *out <= max;
}

/* Which of n passed sockets is the control socket: the only one, or the
 * one LISTEN_FDNAMES calls "control". Returns its index or -1. */
static int pick_fd(unsigned long n)
{
    const char *names = getenv("LISTEN_FDNAMES");
    size_t want = strlen(SERVICE_FD_NAME);

    if (n == 1)
        return 0;
    for (unsigned long i = 0; names && i < n; i++) {
        size_t len = strcspn(names, ":");
        if (len == want && !strncmp(names, SERVICE_FD_NAME, want))
            return (int)i;
        if (!names[len])
            break;
        names += len + 1;
    }
    return -1;
}

static bool sockopt_is(int fd, int opt, int want)
{
    int v = 0;
    socklen_t len = sizeof(v);

    return getsockopt(fd, SOL_SOCKET, opt, &v, &len) == 0 && v == want;
}

/* The passed socket must be what fastnd would have bound itself: a
 * listening Unix stream socket with a path (whose mode guards it). */
static int check_socket(int fd, char *path, size_t n, char *err, size_t errlen)
{
    struct sockaddr_un sa;
    socklen_t len = sizeof(sa);
    size_t plen;

    memset(&sa, 0, sizeof(sa));
    if (!sockopt_is(fd, SO_DOMAIN, AF_UNIX) ||
        !sockopt_is(fd, SO_TYPE, SOCK_STREAM) ||
        !sockopt_is(fd, SO_ACCEPTCONN, 1) ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
        len <= offsetof(struct sockaddr_un, sun_path) || !sa.sun_path[0])
        return errbuf_say(
            err, errlen, FASTN_ERR_INVAL,
            "the socket passed by the service manager (fd %d) is not "
            "a listening Unix stream socket with a path; use "
            "ListenStream=/PATH in fastnd.socket",
            fd);
    plen = strnlen(sa.sun_path, sizeof(sa.sun_path));
    if (plen >= n)
        return errbuf_say(err, errlen, FASTN_ERR_TOO_LARGE,
                          "the passed control socket's path is too long");
    memcpy(path, sa.sun_path, plen);
    path[plen] = '\0';
    return 0;
}

static void unset_listen_env(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

int service_listen_fd(int *fd, char *path, size_t n, char *err, size_t errlen)
{
    unsigned long pid, count;
    int pick, rc = 0;

    *fd = -1;
    if (!getenv("LISTEN_FDS"))
        return 0;
    /* Meant for another process (we were started by one that got it). */
    if (!env_number("LISTEN_PID", ~0ul, &pid) || pid != (unsigned long)getpid())
        goto out;
    if (!env_number("LISTEN_FDS", LISTEN_FDS_MAX, &count) || count == 0) {
        rc = errbuf_say(
            err, errlen, FASTN_ERR_INVAL,
            "LISTEN_FDS='%s' is not a count of passed sockets (1-%d)",
            getenv("LISTEN_FDS"), LISTEN_FDS_MAX);
        goto out;
    }
    pick = pick_fd(count);
    if (pick < 0)
        rc = errbuf_say(
            err, errlen, FASTN_ERR_INVAL,
            "the service manager passed %lu sockets and none is named "
            "\"%s\"; set FileDescriptorName=%s in fastnd.socket",
            count, SERVICE_FD_NAME, SERVICE_FD_NAME);
    else
        rc = check_socket(LISTEN_FDS_START + pick, path, n, err, errlen);
    for (unsigned long i = 0; i < count; i++) {
        int f = LISTEN_FDS_START + (int)i;
        if (!rc && (int)i == pick)
            *fd = f;
        else
            close(f);
    }
    if (*fd >= 0)
        fcntl(*fd, F_SETFD, FD_CLOEXEC);
out:
    unset_listen_env();
    return rc;
}

bool service_notify(const char *state)
{
    const char *where = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = where ? strlen(where) : 0;
    socklen_t salen;
    ssize_t sent;
    int fd;

    /* A path, or "@name" for the abstract namespace. */
    if (len < 2 || len >= sizeof(sa.sun_path) ||
        (where[0] != '/' && where[0] != '@'))
        return false;
    memcpy(sa.sun_path, where, len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                  (struct sockaddr *)&sa, salen);
    close(fd);
    return sent == (ssize_t)strlen(state);
}

bool service_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev &&
           (unsigned long long)st.st_ino == ino;
}

void service_journal_sink(enum log_level level, const char *subsys,
                          const char *line, void *arg)
{
    /* syslog priorities: err 3, warning 4, info 6, debug 7 */
    static const int prio[] = {3, 4, 6, 7, 7};

    (void)arg;
    fprintf(stderr, "<%d>%s: %s\n", prio[level <= LOG_TRACE ? level : 4],
            subsys, line);
}
