/*
 * Measures how long a daemon takes to answer a control client, as a user
 * would see a stall: one connection, an IDENTIFY request every INTERVAL
 * ms for SECS seconds, each timed from send to answer.
 *
 *   stall_probe SOCKET SECS INTERVAL_MS [DAEMON_PID]
 *
 * Prints one line: "n=N fail=F max_ms=M p99_ms=P p50_ms=Q", N answered,
 * F refused or lost. With DAEMON_PID it also prints "own_max_ms=A": the
 * worst time less what the daemon and the probe spent waiting for a CPU
 * meanwhile (/proc/PID/schedstat), which is the stall the daemon itself
 * caused, whatever else the machine was running. Exit 0 when every
 * request was answered, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "fastn/client.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_until(double t)
{
    double d = t - now_ms();
    if (d <= 0)
        return;
    struct timespec ts = {(time_t)(d / 1e3),
                          (long)((d - (double)(time_t)(d / 1e3) * 1e3) * 1e6)};
    nanosleep(&ts, NULL);
}

/* Nanoseconds a process has waited on a run queue (0 if unknown). */
static double waited_ms(const char *pid)
{
    char path[64];
    unsigned long long run = 0, wait = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/schedstat", pid);
    if (!(f = fopen(path, "r")))
        return 0;
    if (fscanf(f, "%llu %llu", &run, &wait) != 2)
        wait = 0;
    fclose(f);
    return (double)wait / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    double secs, interval, end, next, *lat, own_max = 0;
    const char *pid = argc == 5 ? argv[4] : NULL;
    int n = 0, fails = 0, cap;

    if (argc != 4 && argc != 5) {
        fprintf(stderr,
                "usage: stall_probe SOCKET SECS INTERVAL_MS [DAEMON_PID]\n");
        return 2;
    }
    secs = atof(argv[2]);
    interval = atof(argv[3]);
    cap = (int)(secs * 1000 / (interval > 0.1 ? interval : 0.1)) + 16;
    if (!(lat = calloc((size_t)cap, sizeof(*lat))))
        return 2;
    fastn_connect_options_init(&o);
    o.socket_path = argv[1];
    o.timeout_ms = 10000;
    o.autostart = 0;
    if (fastn_client_connect(&o, &c) != 0) {
        fprintf(stderr, "stall_probe: cannot connect to %s\n", argv[1]);
        return 1;
    }
    end = now_ms() + secs * 1000;
    for (next = now_ms(); now_ms() < end && n + fails < cap; next += interval) {
        struct fastn_identity *id = NULL;
        sleep_until(next);
        double w0 = pid ? waited_ms(pid) + waited_ms("self") : 0;
        double t0 = now_ms();
        if (fastn_client_identify(c, &id) != 0) {
            fails++;
            continue;
        }
        lat[n] = now_ms() - t0;
        fastn_identity_free(id);
        if (pid) {
            double own = lat[n] - (waited_ms(pid) + waited_ms("self") - w0);
            if (own > own_max)
                own_max = own;
        }
        n++;
    }
    fastn_client_free(c);
    qsort(lat, (size_t)n, sizeof(*lat), cmp);
    printf("n=%d fail=%d max_ms=%.1f p99_ms=%.1f p50_ms=%.1f", n, fails,
           n ? lat[n - 1] : 0.0, n ? lat[n * 99 / 100] : 0.0,
           n ? lat[n / 2] : 0.0);
    if (pid)
        printf(" own_max_ms=%.1f", own_max);
    printf("\n");
    free(lat);
    return fails ? 1 : 0;
}
