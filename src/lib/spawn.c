/*
 * Autostart, as gpg starts gpg-agent: run `fastnd --home HOME`, which
 * detaches and exits 0 once its control socket listens (1 when it could
 * not start). The started process gets /dev/null as stdin and stdout, so a
 * caller reading our output through a pipe is never left waiting on the
 * daemon; its stderr goes to a pipe of ours, so that the reason for a
 * failed start reaches the caller instead of its terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/lib_int.h"

extern char **environ;

/* $FASTND, else fastnd in the running program's folder (so build/bin/fastn
 * finds build/bin/fastnd, and an installed fastn its fastnd), else $PATH. */
static const char *find_fastnd(const char *given, char *buf, size_t n)
{
    const char *env = getenv("FASTND");
    ssize_t len;
    char *slash;

    if (given && given[0])
        return given;
    if (env && env[0])
        return env;
    len = readlink("/proc/self/exe", buf, n - 1);
    if (len > 0) {
        buf[len] = '\0';
        slash = strrchr(buf, '/');
        if (slash && (size_t)(slash - buf) + sizeof("/fastnd") <= n) {
            strcpy(slash, "/fastnd");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "fastnd";
}

/* Collects what the starting daemon writes to stderr (the reason it could
 * not start), without ever blocking. */
static void drain(int fd, char *why, size_t whylen, size_t *n)
{
    char tmp[256];
    ssize_t r;

    while ((r = read(fd, tmp, sizeof(tmp))) > 0) {
        size_t take = (size_t)r;
        if (whylen && *n + take > whylen - 1)
            take = whylen - 1 - *n;
        memcpy(why + *n, tmp, take);
        *n += take;
    }
}

/* Waits for the started process until the deadline; returns its exit
 * status, -1 when it did not end in time (it is then killed), or -2 when
 * it cannot be waited for (SIGCHLD ignored by the program). */
static int wait_started(pid_t pid, int64_t deadline, int errfd, char *why,
                        size_t whylen)
{
    size_t n = 0;
    int st, rc;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        drain(errfd, why, whylen, &n);
        if (r == pid) {
            rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
            break;
        }
        if (r < 0 && errno != EINTR) {
            rc = -2;
            break;
        }
        if (lib_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            rc = -1;
            break;
        }
        usleep(5000);
    }
    if (whylen) {
        why[n] = '\0';
        /* one line: "fastnd: REASON\n" becomes "REASON" */
        why[strcspn(why, "\n")] = '\0';
        if (!strncmp(why, "fastnd: ", 8))
            memmove(why, why + 8, strlen(why + 8) + 1);
    }
    return rc;
}

int lib_autostart(const char *fastnd_path, const char *home, int64_t deadline,
                  char *why, size_t whylen)
{
    char buf[4096];
    const char *prog = find_fastnd(fastnd_path, buf, sizeof(buf));
    char *argv[] = {(char *)prog, "--home", (char *)home, NULL};
    posix_spawn_file_actions_t fa;
    int pfd[2], rc, st;
    pid_t pid;

    if (whylen)
        why[0] = '\0';
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) != 0)
        return FASTN_ERR_DAEMON_START;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        close(pfd[0]);
        close(pfd[1]);
        return FASTN_ERR_DAEMON_START;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 2);
    rc = strchr(prog, '/') ? posix_spawn(&pid, prog, &fa, NULL, argv, environ)
                           : posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        if (whylen)
            snprintf(why, whylen, "cannot run %s: %s", prog, strerror(rc));
        close(pfd[0]);
        return FASTN_ERR_DAEMON_START;
    }
    st = wait_started(pid, deadline, pfd[0], why, whylen);
    close(pfd[0]);
    if (st == -1 && whylen)
        snprintf(why, whylen, "%s did not become ready in time", prog);
    else if (st == 127 && whylen && !why[0])
        snprintf(why, whylen, "cannot run %s", prog);
    /* -2: we cannot know; the caller's connect attempts will tell. */
    return st == 0 || st == -2 ? 0 : FASTN_ERR_DAEMON_START;
}
