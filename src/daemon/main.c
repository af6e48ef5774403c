/*
 * fastnd entry point: parses the command line, then runs the daemon in
 * the foreground or detaches as gpg-agent does. When detaching, the
 * starting process waits until the daemon is ready (its control socket
 * listens) or has failed, and exits 0 or 1 accordingly, so whoever
 * started it (the user, or libfastn's autostart) knows the outcome.
 */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/service.h"
#include "fastn/err.h"
#include "util/log.h"

static int run_foreground(const struct daemon_options *opts)
{
    struct daemon d;
    char err[1024];
    int rc;

    log_set_sink(service_stderr_is_journal() ? service_journal_sink
                                             : log_sink_stderr,
                 NULL);
    rc = daemon_init(&d, opts, false, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "fastnd: %s\n", err);
        daemon_cleanup(&d);
        return 1;
    }
    if (!opts->quiet)
        daemon_print_banner(&d, stdout);
    rc = daemon_run(&d);
    daemon_cleanup(&d);
    return rc;
}

/* The detached daemon keeps none of its starter's descriptors: a shell
 * reading the starter's output through a pipe would otherwise wait for
 * the daemon to exit. */
static void detach_fds(int keep)
{
    int null = open("/dev/null", O_RDWR);

    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        if (null > 2)
            close(null);
    }
    if (keep > 3)
        close_range(3, (unsigned)keep - 1, 0);
    close_range((unsigned)keep + 1, ~0u, 0);
}

static int child_main(const struct daemon_options *opts, int ready_fd)
{
    struct daemon d;
    char err[1024];
    int rc;

    setsid();
    detach_fds(ready_fd);
    rc = daemon_init(&d, opts, true, err, sizeof(err));
    if (rc) {
        if (write(ready_fd, err, strlen(err)) < 0)
            rc = 1;
        daemon_cleanup(&d);
        return 1;
    }
    if (write(ready_fd, "", 1) != 1)
        log_msg(LOG_WARN, "daemon", "starter went away before ready");
    close(ready_fd);
    if (chdir("/") != 0)
        log_msg(LOG_WARN, "daemon", "cannot chdir to /");
    rc = daemon_run(&d);
    daemon_cleanup(&d);
    return rc;
}

static int run_background(const struct daemon_options *opts)
{
    char msg[1024];
    size_t len = 0;
    ssize_t n;
    int pfd[2];
    pid_t pid;

    if (pipe2(pfd, O_CLOEXEC) != 0) {
        fprintf(stderr, "fastnd: cannot create a pipe: %s\n", strerror(errno));
        return 1;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fastnd: cannot fork: %s\n", strerror(errno));
        return 1;
    }
    if (pid == 0) {
        close(pfd[0]);
        _exit(child_main(opts, pfd[1]));
    }
    close(pfd[1]);
    /* One NUL byte means ready; text is the reason it failed; nothing
     * at all means it died. */
    while (len < sizeof(msg) - 1 &&
           (n = read(pfd[0], msg + len, sizeof(msg) - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
    }
    close(pfd[0]);
    msg[len] = '\0';
    if (len == 1 && msg[0] == '\0')
        return 0;
    fprintf(stderr, "fastnd: %s\n",
            len ? msg
                : "the daemon exited while starting; run "
                  "`fastnd --foreground` to see why");
    return 1;
}

int main(int argc, char **argv)
{
    struct daemon_options opts;
    char err[512];
    int rc;

    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    /* Buffers of a few hundred KiB (plugin calls' answers, stream data)
     * come and go many times a second: without these, glibc gives each
     * back to the kernel when freed (mmap, or trimming the heap), and the
     * next one pays for zeroed pages again (a third of a files get's
     * CPU). What stays is at most the peak of what was in use. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
    if (daemon_options_parse(&opts, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "fastnd: %s\n", err);
        daemon_options_cleanup(&opts);
        return 2;
    }
    if (opts.help || opts.version) {
        fputs(opts.help ? daemon_usage : "fastnd " FASTN_VERSION "\n", stdout);
        daemon_options_cleanup(&opts);
        return 0;
    }
    if (identity_global_init() != 0) {
        fprintf(stderr, "fastnd: cannot initialise libsodium\n");
        return 1;
    }
    rc = opts.foreground ? run_foreground(&opts) : run_background(&opts);
    daemon_options_cleanup(&opts);
    return rc;
}
