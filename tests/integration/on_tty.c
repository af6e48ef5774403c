/*
 * Runs a command with a pseudo-terminal as its stdin, stdout and stderr,
 * and copies what it writes there to this program's stdout, as a
 * terminal would be shown it but without the CR a terminal adds before
 * each newline (the pty is raw). For the tests of what reaches a
 * terminal: the command sees isatty() true whatever runs the test.
 *
 *   on_tty CMD [ARG...]
 *
 * Exits with the command's status (128 + N when killed by signal N), 125
 * when the pseudo-terminal cannot be made, 124 after 60 s (the command is
 * killed).
 */
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static pid_t child;

static void on_alarm(int sig)
{
    (void)sig;
    if (child > 0)
        kill(child, SIGKILL);
    _exit(124);
}

int main(int argc, char **argv)
{
    struct termios raw;
    int master;
    char buf[4096];

    if (argc < 2) {
        fprintf(stderr, "usage: on_tty CMD [ARG...]\n");
        return 2;
    }
    memset(&raw, 0, sizeof raw);
    cfmakeraw(&raw);
    child = forkpty(&master, NULL, &raw, NULL);
    if (child < 0) {
        fprintf(stderr, "on_tty: cannot make a pseudo-terminal: %s\n",
                strerror(errno));
        return 125;
    }
    if (child == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "on_tty: %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    signal(SIGALRM, on_alarm);
    alarm(60);
    for (;;) {
        ssize_t n = read(master, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) /* EIO once the command and its children closed it */
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(STDOUT_FILENO, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return 1;
            off += w;
        }
    }
    int st;
    while (waitpid(child, &st, 0) < 0) {
        if (errno != EINTR)
            return 1;
    }
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}
