/*
 * `fastn plugin run FILE.wasm [--data DIR] [--peer NAME]... [--trace]
 * ACTION...`: the plugin in the daemon's own plugin host (through the
 * plugin test library), with no daemon and no network, in a temporary
 * home (or DIR, kept). Actions run in order: --call METHOD [ARG]...,
 * --stream PEER PROTOCOL (standard input as a peer's stream; the
 * plugin's answer to standard output), --time MS, --restart. --peer NAME
 * adds a node called NAME running the same plugin (streams the plugin
 * opens to its PeerID reach it); @NAME in an argument is NAME's PeerID.
 * Errors and exit codes are fastn plugin call's: 1 and "fastn: ..." on
 * standard error; 2 for a bad command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fastn/plugin_test.h"
#include "plugin/kit_tool.h"
#include "util/log.h"

#define RUN_PEERS_MAX 8
#define RUN_STDIN_MAX (64u << 20)
/* simulated time a --stream waits for the plugin to finish */
#define RUN_STREAM_WAIT_MS 30000

struct run {
    struct fastn_test *t;
    struct fastn_test_node *me;
    const char *file, *data;
    const char *peers[RUN_PEERS_MAX];
    int n_peers;
    bool trace;
    char plugin[72];
    unsigned restarts; /* of the plugin on `me`, as last seen */
    uint8_t *in;       /* standard input, read by the first --stream */
    size_t in_len;
    bool in_read;
};

static bool is_word(const char *s)
{
    static const char *const words[] = {"--call",    "--stream", "--time",
                                        "--restart", "--peer",   "--data",
                                        "--trace"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcmp(s, words[i]))
            return true;
    return false;
}

static void trace_line(void *arg, const char *node, const char *plugin,
                       const char *kind, const char *what, int64_t result,
                       uint64_t fuel)
{
    const struct run *r = arg;
    char res[64];

    if (result < 0 && result >= -10000)
        snprintf(res, sizeof(res), "%s", fastn_err_name((int)result));
    else
        snprintf(res, sizeof(res), "%" PRId64, result);
    fprintf(stderr, "trace:%s%s %s ", r->n_peers ? " " : "",
            r->n_peers ? node : "", plugin);
    if (!strcmp(kind, "event"))
        fprintf(stderr, "%s\n", what);
    else if (!strcmp(kind, "import"))
        fprintf(stderr, "  fastn.%s -> %s (fuel %" PRIu64 ")\n", what, res,
                fuel);
    else
        fprintf(stderr, "%s returned %s (fuel %" PRIu64 ")\n", what, res, fuel);
}

/* The log as fastnd's, less the host's own news: the plugin's lines
 * (fastn_log, its stdout and stderr), and every warning and error. */
static void log_line(enum log_level level, const char *subsys, const char *line,
                     void *arg)
{
    const struct run *r = arg;
    size_t n = strlen(r->plugin);
    bool own = !strcmp(subsys, "plugin") && n && !strncmp(line, r->plugin, n) &&
               line[n] == ':';
    if (level <= LOG_WARN || own)
        fprintf(stderr, "%s %s: %s\n", log_level_name(level), subsys, line);
}

/* Checks the command line before anything runs. */
static int parse(struct run *r, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--data") && i + 1 < argc)
            r->data = argv[++i];
        else if (!strcmp(a, "--peer") && i + 1 < argc) {
            if (r->n_peers == RUN_PEERS_MAX)
                return kit_error(KIT_EXIT_USAGE,
                                 "plugin run: at most %d "
                                 "--peer",
                                 RUN_PEERS_MAX);
            if (!strcmp(argv[i + 1], "me"))
                return kit_error(KIT_EXIT_USAGE,
                                 "plugin run: --peer me: "
                                 "'me' is the node that runs FILE");
            r->peers[r->n_peers++] = argv[++i];
        } else if (!strcmp(a, "--trace"))
            r->trace = true;
        else if (!strcmp(a, "--call") && i + 1 < argc && !is_word(argv[i + 1]))
            for (i++; i + 1 < argc && !is_word(argv[i + 1]); i++)
                ;
        else if (!strcmp(a, "--stream") && i + 2 < argc)
            i += 2;
        else if (!strcmp(a, "--time") && i + 1 < argc) {
            char *end;
            errno = 0;
            unsigned long long ms = strtoull(argv[++i], &end, 10);
            if (errno || *end || !*argv[i] || ms > 30ull * 86400 * 1000)
                return kit_error(KIT_EXIT_USAGE,
                                 "plugin run: --time wants "
                                 "milliseconds (0 to 30 days), not '%s'",
                                 argv[i]);
        } else if (!strcmp(a, "--restart"))
            ;
        else if (a[0] != '-' && !r->file)
            r->file = a;
        else
            return kit_error(KIT_EXIT_USAGE,
                             "plugin run: unexpected '%s' (or it wants a "
                             "value); fastn plugin --help says how",
                             a);
    }
    if (!r->file)
        return kit_error(KIT_EXIT_USAGE, "plugin run wants FILE.wasm");
    return 0;
}

static int node_home(const struct run *r, const char *name, char *out, size_t n)
{
    if (!r->data)
        return 0;
    if (!strcmp(name, "me"))
        snprintf(out, n, "%s", r->data);
    else
        snprintf(out, n, "%s/peers/%s", r->data, name);
    if (strcmp(name, "me") && r->data) {
        char peers[4096];
        snprintf(peers, sizeof(peers), "%s/peers", r->data);
        mkdir(peers, 0700);
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return kit_error(KIT_EXIT_FAIL, "cannot make %s: %s", out,
                         strerror(errno));
    return 0;
}

/* A node running FILE. */
static int add_node(struct run *r, const char *name,
                    struct fastn_test_node **out)
{
    char home[4096], err[512] = "", plugin[72];
    int rc;

    if ((rc = node_home(r, name, home, sizeof(home))))
        return rc;
    if ((rc = fastn_test_node_new(r->t, name, r->data ? home : NULL, out)))
        return kit_error(KIT_EXIT_FAIL, "cannot start a plugin host%s%s: %s",
                         r->data ? " in " : "", r->data ? home : "",
                         fastn_strerror(rc));
    rc = fastn_test_install_file(*out, r->file, true, plugin, err, sizeof(err));
    if (rc && strstr(err, r->file))
        return kit_error(KIT_EXIT_FAIL, "%s (%s)", err, fastn_err_name(rc));
    if (rc)
        return kit_error(KIT_EXIT_FAIL, "%s: %s (%s)", r->file,
                         err[0] ? err : fastn_strerror(rc), fastn_err_name(rc));
    snprintf(r->plugin, sizeof(r->plugin), "%s", plugin);
    return 0;
}

/* After an action: a plugin that failed is reported as the log would. */
static int check_failed(struct run *r)
{
    struct fastn_test_info info;
    if (fastn_test_info(r->me, r->plugin, &info) != 0 ||
        info.restarts == r->restarts)
        return 0;
    r->restarts = info.restarts;
    return kit_error(KIT_EXIT_FAIL,
                     "plugin %s failed: %s (%s); fastnd would start it "
                     "again after a backoff",
                     r->plugin, info.last_error_text,
                     fastn_err_name(info.last_error));
}

static void print_result(const char *p, size_t n)
{
    fwrite(p, 1, n, stdout);
    if (n && p[n - 1] != '\n' && isatty(STDOUT_FILENO))
        putchar('\n');
    fflush(stdout);
}

/* arg with each @NAME (me, or a --peer's) replaced by its PeerID;
 * malloc'd. */
static char *expand_arg(const struct run *r, const char *arg)
{
    size_t cap = strlen(arg) * FASTN_TEST_PEER_ID_MAX + 1, len = 0;
    char *out = malloc(cap), id[FASTN_TEST_PEER_ID_MAX];

    if (!out)
        return NULL;
    for (const char *p = arg; *p;) {
        size_t best = 0;
        for (int k = -1; *p == '@' && k < r->n_peers; k++) {
            const char *name = k < 0 ? "me" : r->peers[k];
            size_t n = strlen(name);
            if (!strncmp(p + 1, name, n) && n > best)
                best = n;
        }
        if (!best) {
            out[len++] = *p++;
            continue;
        }
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)best, p + 1);
        fastn_test_peer_id(name, id);
        len += (size_t)snprintf(out + len, cap - len, "%s", id);
        p += best + 1;
    }
    out[len] = '\0';
    return out;
}

static int do_call(struct run *r, char **args, int n)
{
    const char *argv[256] = {0};
    char *owned[256];
    const struct fastn_test_reply *rep = NULL;
    int rc, k = 0;

    if (n - 1 > 256)
        return kit_error(KIT_EXIT_USAGE, "plugin run: at most 256 ARGs");
    for (k = 0; k < n - 1; k++)
        if (!(owned[k] = expand_arg(r, args[k + 1])))
            break;
        else
            argv[k] = owned[k];
    rc = k < n - 1 ? FASTN_ERR_NOMEM
                   : fastn_test_call_args(r->me, r->plugin, args[0], argv,
                                          (size_t)k, &rep);
    while (k > 0)
        free(owned[--k]);
    if (rc)
        return kit_error(KIT_EXIT_FAIL, "%s (plugin %s, method %s)",
                         fastn_strerror(rc), r->plugin, args[0]);
    if (rep->status) {
        const char *what = fastn_strerror(rep->status);
        if (strstr(rep->data, what))
            kit_error(KIT_EXIT_FAIL, "%s", rep->data);
        else
            kit_error(KIT_EXIT_FAIL, "%s: %s", what, rep->data);
        check_failed(r);
        return KIT_EXIT_FAIL;
    }
    print_result(rep->data, rep->len);
    return check_failed(r);
}

static int read_stdin(struct run *r)
{
    size_t cap = 0;
    if (r->in_read)
        return 0;
    r->in_read = true;
    for (;;) {
        if (r->in_len == cap) {
            cap = cap ? 2 * cap : 65536;
            uint8_t *nb = cap <= RUN_STDIN_MAX ? realloc(r->in, cap) : NULL;
            if (!nb)
                return kit_error(KIT_EXIT_FAIL,
                                 "standard input is over %u "
                                 "MiB (or out of memory)",
                                 RUN_STDIN_MAX >> 20);
            r->in = nb;
        }
        size_t got = fread(r->in + r->in_len, 1, cap - r->in_len, stdin);
        r->in_len += got;
        if (got == 0)
            return ferror(stdin) ? kit_error(KIT_EXIT_FAIL, "cannot read "
                                                            "standard input")
                                 : 0;
    }
}

/* Feeds standard input to s, prints what comes back, until the plugin
 * closes or resets it (or waits RUN_STREAM_WAIT_MS of simulated time). */
static int pump_stream(struct run *r, struct fastn_test_stream *s)
{
    static uint8_t buf[65536];
    size_t sent = 0, n;
    uint64_t waited = 0;
    bool closed = false;

    while (!fastn_test_stream_eof(s) && !fastn_test_stream_was_reset(s)) {
        bool moved = false;
        if (sent < r->in_len) {
            n = r->in_len - sent < 65536 ? r->in_len - sent : 65536;
            if (fastn_test_stream_write(s, r->in + sent, n) == 0) {
                sent += n;
                moved = true;
            }
        } else if (!closed) {
            fastn_test_stream_close(s);
            closed = moved = true;
        }
        moved |= fastn_test_step(r->t);
        while ((n = fastn_test_stream_read(s, buf, sizeof(buf))) > 0) {
            fwrite(buf, 1, n, stdout);
            moved = true;
        }
        if (!moved) {
            if (waited >= RUN_STREAM_WAIT_MS)
                break;
            fastn_test_advance(r->t, 100); /* timers may answer */
            waited += 100;
        }
    }
    while ((n = fastn_test_stream_read(s, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, n, stdout);
    fflush(stdout);
    return waited >= RUN_STREAM_WAIT_MS ? 1 : 0;
}

static int do_stream(struct run *r, const char *peer, const char *proto)
{
    struct fastn_test_stream *s;
    int rc;

    if ((rc = read_stdin(r)))
        return rc;
    s = fastn_test_stream_open(r->me, peer, proto);
    fastn_test_run(r->t);
    if ((rc = fastn_test_stream_result(s)) < 0)
        return kit_error(KIT_EXIT_FAIL, "cannot open %s to %s: %s (%s)", proto,
                         r->plugin, fastn_strerror(rc), fastn_err_name(rc));
    rc = pump_stream(r, s);
    if ((rc = check_failed(r)))
        return rc;
    if (fastn_test_stream_was_reset(s))
        return kit_error(KIT_EXIT_FAIL, "plugin %s reset the stream",
                         r->plugin);
    if (rc || !fastn_test_stream_eof(s))
        fprintf(stderr,
                "fastn: note: plugin %s left the stream open (%d s "
                "of simulated time)\n",
                r->plugin, RUN_STREAM_WAIT_MS / 1000);
    return 0;
}

/* Moves the clock in steps of 10 ms, so a timer set again from on_timer
 * fires as often as it would in real time. */
static int do_time(struct run *r, uint64_t ms)
{
    while (ms > 0) {
        uint64_t step = ms < 10 ? ms : 10;
        fastn_test_advance(r->t, step);
        ms -= step;
    }
    return check_failed(r);
}

static int do_actions(struct run *r, int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; !rc && i < argc; i++) {
        if (!strcmp(argv[i], "--data") || !strcmp(argv[i], "--peer"))
            i++;
        else if (!strcmp(argv[i], "--call")) {
            int k = i + 1;
            while (k + 1 < argc && !is_word(argv[k + 1]))
                k++;
            rc = do_call(r, argv + i + 1, k - i);
            i = k;
        } else if (!strcmp(argv[i], "--stream")) {
            rc = do_stream(r, argv[i + 1], argv[i + 2]);
            i += 2;
        } else if (!strcmp(argv[i], "--time")) {
            rc = do_time(r, strtoull(argv[++i], NULL, 10));
        } else if (!strcmp(argv[i], "--restart")) {
            if ((rc = fastn_test_node_restart(r->me)))
                rc =
                    kit_error(KIT_EXIT_FAIL, "restart: %s", fastn_strerror(rc));
            fastn_test_run(r->t);
        }
    }
    return rc;
}

int kit_run_main(int argc, char **argv)
{
    struct run r = {0};
    int rc;

    if ((rc = parse(&r, argc, argv)))
        return rc;
    if (!(r.t = fastn_test_new()))
        return kit_error(KIT_EXIT_FAIL, "out of memory");
    /* the plugin's log lines, as fastnd's log would have them */
    log_set_level(r.trace ? LOG_TRACE : LOG_INFO);
    log_set_sink(log_line, &r);
    if (r.trace)
        fastn_test_set_trace(r.t, trace_line, &r);
    if (r.data && mkdir(r.data, 0700) != 0 && errno != EEXIST)
        rc = kit_error(KIT_EXIT_FAIL, "cannot make %s: %s", r.data,
                       strerror(errno));
    for (int i = 0; !rc && i < r.n_peers; i++) {
        struct fastn_test_node *n;
        rc = add_node(&r, r.peers[i], &n);
    }
    if (!rc)
        rc = add_node(&r, "me", &r.me);
    if (!rc) {
        fastn_test_run(r.t);
        rc = check_failed(&r);
    }
    if (!rc)
        rc = do_actions(&r, argc, argv);
    fastn_test_free(r.t);
    free(r.in);
    return rc;
}
