/*
 * Stands in for the service manager's $NOTIFY_SOCKET in the socket
 * activation test: binds a datagram socket at PATH and prints each
 * message it receives as one line, until one contains UNTIL or SECS
 * seconds have passed.
 *
 *   notify_sink PATH UNTIL SECS
 *
 * Exit 0 when UNTIL came, 1 on timeout or error, 2 on bad arguments.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int wait_for(int fd, const char *until, long deadline)
{
    char msg[4096];

    while (now_ms() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(deadline - now_ms())) <= 0)
            continue;
        ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
        if (n < 0)
            return 1;
        msg[n] = '\0';
        for (char *c = msg; *c; c++)
            if (*c == '\n')
                *c = ' ';
        printf("%s\n", msg);
        fflush(stdout);
        if (strstr(msg, until))
            return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    long secs = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    int fd, rc;

    if (argc != 4 || strlen(argv[1]) >= sizeof(sa.sun_path) || secs <= 0 ||
        secs > 60) {
        fprintf(stderr, "usage: notify_sink PATH UNTIL SECS(1..60)\n");
        return 2;
    }
    memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("notify_sink");
        return 1;
    }
    rc = wait_for(fd, argv[2], now_ms() + secs * 1000L);
    close(fd);
    unlink(argv[1]);
    return rc;
}
