/*
 * Many local clients at once (bench/net/clients.sh and
 * tests/integration/many_clients.sh drive it): CLIENTS threads, each
 * with its own libfastn connection to the daemon's control socket, all
 * connected before any starts, then each makes CALLS one-shot calls in
 * turn to PEER's PROTOCOL with SIZE bytes (an echo: the reply must be
 * the request; for /perf/1.0.0, the built-in perf protocol, the request
 * is its 8-byte header asking SIZE bytes back, and the reply must be
 * SIZE bytes long). Prints one JSON line: {"clients", "calls", "ok",
 * "errors", "by_error": {NAME: count}, "wrong_replies", "first_error",
 * "seconds",
 * "calls_per_s", "p50_us", "p99_us", "max_us"}; exits 0 when every call
 * succeeded, 1 otherwise.
 *
 *   clients SOCKET PEER PROTOCOL CLIENTS CALLS [SIZE]
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fastn/client.h"

#define MAX_CLIENTS 4096

struct worker {
    pthread_t tid;
    struct fastn_client *c;
    int calls;
    size_t size;
    double *lat;      /* calls latencies, microseconds */
    int ok, wrong;    /* calls that succeeded; replies that were not the
                       * request */
    int err_code[64]; /* distinct error codes seen, with counts */
    int err_count[64];
    int n_err_codes;
    char first_error[256];
};

static const char *sock, *peer, *proto;
static bool perf; /* proto is /perf/1.0.0 */
static pthread_barrier_t start_line;

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void count_error(struct worker *w, int err)
{
    int i;

    for (i = 0; i < w->n_err_codes && w->err_code[i] != err; i++)
        ;
    if (i == w->n_err_codes) {
        if (i == 64)
            i = 63;
        else
            w->n_err_codes++;
        w->err_code[i] = err;
    }
    w->err_count[i]++;
    if (!w->first_error[0])
        snprintf(w->first_error, sizeof(w->first_error), "%s: %s",
                 fastn_err_name(err), fastn_client_error_message(w->c));
}

static void *run(void *arg)
{
    struct worker *w = arg;
    unsigned char *req = malloc(w->size ? w->size : 1);

    size_t req_len = w->size;

    for (size_t i = 0; i < w->size; i++)
        req[i] = (unsigned char)(i * 31 + (size_t)w->calls);
    if (perf) { /* perf's header: the bytes wanted back, big-endian */
        req = realloc(req, 8);
        for (int i = 0; i < 8; i++)
            req[i] = (unsigned char)((uint64_t)w->size >> (56 - 8 * i));
        req_len = 8;
    }
    pthread_barrier_wait(&start_line);
    for (int k = 0; k < w->calls; k++) {
        void *reply = NULL;
        size_t len = 0;
        double t0 = now_us();
        int err =
            fastn_client_call(w->c, peer, proto, req, req_len, &reply, &len);

        w->lat[k] = now_us() - t0;
        if (err)
            count_error(w, err);
        else if (len != w->size || (!perf && len && memcmp(reply, req, len)))
            w->wrong++;
        else
            w->ok++;
        free(reply);
    }
    free(req);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static void connect_all(struct worker *ws, int n)
{
    struct fastn_connect_options o;

    fastn_connect_options_init(&o);
    o.socket_path = sock;
    o.timeout_ms = 60000;
    for (int i = 0; i < n; i++) {
        int err = fastn_client_connect(&o, &ws[i].c);
        if (err) {
            fprintf(stderr, "clients: client %d cannot connect to %s: %s\n", i,
                    sock, fastn_strerror(err));
            exit(1);
        }
    }
}

/* {NAME: count} of every error code the workers saw, added up. */
static void print_by_error(const struct worker *ws, int n)
{
    int codes[256], counts[256], k = 0;

    for (int i = 0; i < n; i++)
        for (int j = 0; j < ws[i].n_err_codes; j++) {
            int c = 0;
            while (c < k && codes[c] != ws[i].err_code[j])
                c++;
            if (c == k && k < 256)
                codes[k++] = ws[i].err_code[j], counts[c] = 0;
            if (c < k)
                counts[c] += ws[i].err_count[j];
        }
    for (int c = 0; c < k; c++)
        printf("%s\"%s\": %d", c ? ", " : "", fastn_err_name(codes[c]),
               counts[c]);
}

/* The summary line (see the top of the file). */
static int report(struct worker *ws, int n, int calls, double secs)
{
    size_t total = (size_t)n * (size_t)calls, ok = 0, errors = 0, wrong = 0;
    double *all = malloc(total * sizeof(*all));
    const char *first = "";

    printf("{\"clients\": %d, \"calls\": %zu, ", n, total);
    for (int i = 0; i < n; i++) {
        memcpy(all + (size_t)i * (size_t)calls, ws[i].lat,
               (size_t)calls * sizeof(*all));
        ok += (size_t)ws[i].ok;
        wrong += (size_t)ws[i].wrong;
        if (!first[0] && ws[i].first_error[0])
            first = ws[i].first_error;
    }
    errors = total - ok - wrong;
    qsort(all, total, sizeof(*all), cmp_double);
    printf("\"ok\": %zu, \"errors\": %zu, \"by_error\": {", ok, errors);
    print_by_error(ws, n);
    printf("}, \"wrong_replies\": %zu, \"first_error\": \"", wrong);
    for (const char *p = first; *p; p++)
        if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            putchar(*p);
    printf("\", \"seconds\": %.3f, \"calls_per_s\": %.0f, \"p50_us\": %.0f, "
           "\"p99_us\": %.0f, \"max_us\": %.0f}\n",
           secs, secs > 0 ? (double)total / secs : 0.0,
           total ? all[total / 2] : 0.0, total ? all[total * 99 / 100] : 0.0,
           total ? all[total - 1] : 0.0);
    free(all);
    return errors || wrong ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct worker *ws;
    int n, calls, rc;
    double t0;

    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: clients SOCKET PEER PROTOCOL CLIENTS CALLS "
                        "[SIZE]\n");
        return 2;
    }
    sock = argv[1];
    peer = argv[2];
    proto = argv[3];
    perf = !strcmp(proto, "/perf/1.0.0");
    n = atoi(argv[4]);
    calls = atoi(argv[5]);
    if (n < 1 || n > MAX_CLIENTS || calls < 1) {
        fprintf(stderr, "clients: 1 to %d clients, at least one call each\n",
                MAX_CLIENTS);
        return 2;
    }
    ws = calloc((size_t)n, sizeof(*ws));
    for (int i = 0; i < n; i++) {
        ws[i].calls = calls;
        ws[i].size = argc == 7 ? (size_t)atol(argv[6]) : 64;
        ws[i].lat = calloc((size_t)calls, sizeof(double));
    }
    connect_all(ws, n);
    pthread_barrier_init(&start_line, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 256 * 1024);
        if (pthread_create(&ws[i].tid, &a, run, &ws[i])) {
            fprintf(stderr, "clients: cannot start thread %d\n", i);
            return 1;
        }
        pthread_attr_destroy(&a);
    }
    pthread_barrier_wait(&start_line);
    t0 = now_us();
    for (int i = 0; i < n; i++)
        pthread_join(ws[i].tid, NULL);
    rc = report(ws, n, calls, (now_us() - t0) / 1e6);
    for (int i = 0; i < n; i++) {
        fastn_client_free(ws[i].c);
        free(ws[i].lat);
    }
    free(ws);
    return rc;
}
