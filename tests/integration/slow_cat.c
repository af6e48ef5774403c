/*
 * A slow reader for the backpressure tests: copies stdin to stdout,
 * reading at most CHUNK bytes at a time and sleeping MS milliseconds after
 * each read, so whatever writes into the pipe is made to wait; with
 * FIRST_MS, it reads nothing for that long first (a reader that stalls).
 *
 *   slow_cat CHUNK MS [FIRST_MS]
 *
 * Exit 0 at EOF, 1 on a read or write error, 2 on bad arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"

static char buf[1 << 20];

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    bool ok = argc == 3 || argc == 4;
    long chunk = ok ? strtol(argv[1], NULL, 10) : 0;
    long ms = ok ? strtol(argv[2], NULL, 10) : -1;
    long first = argc == 4 ? strtol(argv[3], NULL, 10) : 0;

    if (chunk <= 0 || chunk > (long)sizeof(buf) || ms < 0 || ms > 10000 ||
        first < 0 || first > 10000) {
        fprintf(stderr, "usage: slow_cat CHUNK(1..1048576) MS(0..10000) "
                        "[FIRST_MS(0..10000)]\n");
        return 2;
    }
    sleep_ms(first);
    for (;;) {
        ssize_t n = read(0, buf, (size_t)chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 1;
        if (n == 0)
            return 0;
        if (fd_write_all(1, buf, (size_t)n))
            return 1;
        sleep_ms(ms);
    }
}
