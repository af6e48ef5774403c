/*
 * Autostart, as gpg starts gpg-agent: run `fastnd --home HOME`, which
 * detaches and exits 0 once its control socket listens (1 when it could
 * not start). The started process gets /dev/null as stdin and stdout, so a
 * caller reading our output through a pipe is never left waiting on the
 * daemon; its stderr stays ours for a start-up error.
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

/* Waits for the started process until the deadline; returns its exit
 * status, -1 when it did not end in time (it is then killed), or -2 when
 * it cannot be waited for (SIGCHLD ignored by the program). */
static int wait_started(pid_t pid, int64_t deadline)
{
    int st;

    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
        if (r < 0 && errno != EINTR)
            return -2;
        if (lib_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(5000);
    }
}

int lib_autostart(const char *fastnd_path, const char *home, int64_t deadline)
{
    char buf[4096];
    const char *prog = find_fastnd(fastnd_path, buf, sizeof(buf));
    char *argv[] = {(char *)prog, "--home", (char *)home, NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int rc, st;

    if (posix_spawn_file_actions_init(&fa) != 0)
        return FASTN_ERR_DAEMON_START;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    rc = strchr(prog, '/') ? posix_spawn(&pid, prog, &fa, NULL, argv, environ)
                           : posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return FASTN_ERR_DAEMON_START;
    st = wait_started(pid, deadline);
    /* -2: we cannot know; the caller's connect attempts will tell. */
    return st == 0 || st == -2 ? 0 : FASTN_ERR_DAEMON_START;
}
