/*
 * fastn's stream commands: `call` (netcat to a peer's protocol) and
 * `listen` (print incoming streams, or run a command per stream as inetd
 * does). Both move bytes between file descriptors with large reads and
 * writes; half-close is passed on both ways.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/term.h"

#define IO_BUF (256 * 1024)

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int fd_sink(void *arg, const char *p, size_t n)
{
    return write_all(*(int *)arg, p, n);
}

/* Writes what a peer sent to out: exact into a pipe or file; escaped
 * (util/term.h) when out is a terminal, which must not run a peer's
 * escape sequences. tty is NULL for a pipe or file. */
static int write_out(int out, struct term_stream *tty, const char *p, size_t n,
                     bool final)
{
    if (!tty)
        return write_all(out, p, n);
    return term_stream_write(tty, p, n, final, fd_sink, &out);
}

/* --- call -------------------------------------------------------------------
 */

struct pump {
    int in, sock, out;
    bool in_done, sock_done;
    char *buf;
    uint64_t sent, received;
    int err; /* errno of a failed write */
    struct fastn_client *c;
    uint64_t stream_id;
    struct term_stream tty_state, *tty; /* tty: out is a terminal */
};

/* One step of stdin -> stream. */
static void pump_in(struct pump *p)
{
    ssize_t n = read(p->in, p->buf, IO_BUF);

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        p->in_done = true;
        shutdown(p->sock, SHUT_WR);
        return;
    }
    if (write_all(p->sock, p->buf, (size_t)n) != 0) {
        p->err = errno;
        p->in_done = true;
        return;
    }
    p->sent += (uint64_t)n;
}

/* One step of stream -> stdout. */
static void pump_out(struct pump *p)
{
    ssize_t n = read(p->sock, p->buf, IO_BUF);

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        p->sock_done = true;
        write_out(p->out, p->tty, "", 0, true);
        return;
    }
    if (write_out(p->out, p->tty, p->buf, (size_t)n, false) != 0) {
        p->sock_done = true; /* stdout is gone: nobody wants the rest */
        p->err = EPIPE;
        return;
    }
    p->received += (uint64_t)n;
}

/* The stream's end as the daemon saw it: 0 when the peer finished (or is
 * still open, having seen no error), else why it was cut. A reset looks
 * like EOF on the socket, hence the question. */
static int stream_outcome(struct pump *p, bool cut)
{
    int rc = p->stream_id ? fastn_client_stream_result(p->c, p->stream_id) : 0;

    if (rc == FASTN_ERR_AGAIN)
        rc = cut ? FASTN_ERR_NET_STREAM_RESET : 0;
    if (rc == FASTN_ERR_UNSUPPORTED || rc == FASTN_ERR_NOT_FOUND)
        rc = cut ? FASTN_ERR_NET_STREAM_RESET : 0;
    return rc;
}

static int run_pump(struct pump *p)
{
    int rc;

    while (!p->sock_done || !p->in_done) {
        struct pollfd fds[2] = {{p->in_done ? -1 : p->in, POLLIN, 0},
                                {p->sock_done ? -1 : p->sock, POLLIN, 0}};
        if (stop)
            return FASTN_ERR_CANCELED;
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return FASTN_ERR_IO;
        }
        if (fds[1].revents) {
            pump_out(p);
            /* the peer's end: if the stream was cut, stop right here */
            if (p->sock_done && (rc = stream_outcome(p, p->err != 0)))
                return rc;
        }
        if (fds[0].revents)
            pump_in(p);
        if (p->err && p->err != EPIPE)
            return FASTN_ERR_IO;
    }
    return stream_outcome(p, p->err != 0);
}

int cli_cmd_call(struct cli *cli, int argc, char **argv)
{
    struct fastn_stream_info info;
    struct fastn_client *c;
    char peer[FASTN_PEER_ID_MAX];
    struct pump p = {.in = 0, .out = 1};
    char *pos[2];
    int n, fd, rc = cli_parse(cli, argc, argv, NULL, pos, 2, &n);

    if (rc || cli->help)
        return rc;
    if (n != 2)
        return cli_usage_error(argv[0], "want PEER PROTOCOL");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if ((rc = cli_resolve_peer(cli, c, pos[0], peer)))
        goto out;
    rc = fastn_client_stream_open(c, peer, pos[1], &fd, &info);
    if (rc) {
        rc = cli_fail(c, rc);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    p.sock = fd;
    p.c = c;
    p.stream_id = info.stream_id;
    p.buf = malloc(IO_BUF);
    if (isatty(p.out)) {
        term_stream_init(&p.tty_state, TERM_LINES);
        p.tty = &p.tty_state;
    }
    rc = p.buf ? run_pump(&p) : FASTN_ERR_NOMEM;
    if (rc) {
        fprintf(stderr, "fastn: the stream ended early: %s\n",
                fastn_strerror(rc));
        rc = CLI_EXIT_FAIL;
    }
    free(p.buf);
    close(fd);
out:
    fastn_client_free(c);
    return rc;
}

/* --- listen
 * ------------------------------------------------------------------- */

struct listener {
    struct cli *cli;
    char **cmd; /* NULL: print streams */
    long max_children, children;
    long count; /* streams to serve before exiting (0: no limit) */
    long served;
};

static void event_json(const char *event, const struct fastn_stream_info *info,
                       long long bytes)
{
    printf("{\"event\":\"%s\",\"peer_id\":", event);
    json_string(stdout, info->peer_id);
    printf(",\"protocol\":");
    json_string(stdout, info->protocol);
    printf(",\"addr\":");
    json_string(stdout, info->addr);
    if (bytes >= 0)
        printf(",\"bytes\":%lld", bytes);
    printf("}\n");
    fflush(stdout);
}

/* Without a command: the stream's bytes go to stdout (text mode). */
static int print_stream(struct listener *l, int fd,
                        const struct fastn_stream_info *info)
{
    char *buf = malloc(IO_BUF);
    struct term_stream tty_state, *tty = NULL;
    char b1[256], b2[256];
    long long bytes = 0;
    ssize_t n;

    shutdown(fd, SHUT_WR); /* we send nothing */
    if (l->cli->json)
        event_json("stream", info, -1);
    else
        fprintf(stderr, "fastn: stream from %s (%s)\n",
                term_safe(info->peer_id, b1, sizeof(b1)),
                term_safe(info->protocol, b2, sizeof(b2)));
    if (isatty(1)) {
        term_stream_init(&tty_state, TERM_LINES);
        tty = &tty_state;
    }
    while (buf && !stop &&
           ((n = read(fd, buf, IO_BUF)) > 0 || errno == EINTR)) {
        if (n <= 0)
            continue;
        bytes += n;
        if (!l->cli->json && write_out(1, tty, buf, (size_t)n, false) != 0)
            break;
    }
    if (!l->cli->json)
        write_out(1, tty, "", 0, true);
    if (l->cli->json)
        event_json("end", info, bytes);
    free(buf);
    close(fd);
    return 0;
}

static void reap(struct listener *l, bool block)
{
    while (l->children > 0 && waitpid(-1, NULL, block ? 0 : WNOHANG) > 0) {
        l->children--;
        block = false;
    }
}

/* With a command: it runs with the stream as its stdin and stdout. */
static int spawn_cmd(struct listener *l, int fd,
                     const struct fastn_stream_info *info)
{
    pid_t pid;

    while (l->children >= l->max_children)
        reap(l, true);
    if (l->cli->json)
        event_json("stream", info, -1);
    pid = fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        dup2(fd, 0);
        dup2(fd, 1);
        if (fd > 1)
            close(fd);
        setenv("FASTN_PEER_ID", info->peer_id, 1);
        setenv("FASTN_PROTOCOL", info->protocol, 1);
        setenv("FASTN_REMOTE_ADDR", info->addr, 1);
        execvp(l->cmd[0], l->cmd);
        fprintf(stderr, "fastn listen: cannot run %s: %s\n", l->cmd[0],
                strerror(errno));
        _exit(127);
    }
    close(fd);
    if (pid < 0) {
        fprintf(stderr, "fastn listen: cannot fork: %s\n", strerror(errno));
        return 0;
    }
    l->children++;
    return 0;
}

static int on_stream(void *arg, int fd, const struct fastn_stream_info *info)
{
    struct listener *l = arg;

    reap(l, false);
    if (l->cmd)
        spawn_cmd(l, fd, info);
    else
        print_stream(l, fd, info);
    l->served++;
    return l->count && l->served >= l->count ? 1 : 0;
}

/* Accepts streams until stopped (or count were served). */
static int serve(struct listener *l, struct fastn_handler *h)
{
    struct fastn_stream_info info;
    int fd, rc;

    while (!stop) {
        rc = fastn_handler_accept(h, 1000, &fd, &info);
        reap(l, false);
        if (rc == FASTN_ERR_TIMEOUT)
            continue;
        if (rc)
            return rc;
        if (on_stream(l, fd, &info))
            break;
    }
    return 0;
}

int cli_cmd_listen(struct cli *cli, int argc, char **argv)
{
    const char *count_s = NULL, *max_s = NULL;
    const struct cli_opt opts[] = {{"-n", "--count", &count_s},
                                   {"--max", NULL, &max_s},
                                   {NULL, NULL, NULL}};
    struct listener l = {.cli = cli, .max_children = 64};
    struct fastn_handler *h = NULL;
    struct fastn_client *c;
    char *pos[257], *end;
    int n, rc = cli_parse(cli, argc, argv, opts, pos, 256, &n);

    if (rc || cli->help)
        return rc;
    if (n < 1)
        return cli_usage_error(argv[0], "want a PROTOCOL");
    if (count_s && ((l.count = strtol(count_s, &end, 10)) < 1 || *end))
        return cli_usage_error(argv[0], "-n wants a count from 1");
    if (max_s && ((l.max_children = strtol(max_s, &end, 10)) < 1 || *end))
        return cli_usage_error(argv[0], "--max wants a count from 1");
    if (n > 1) {
        pos[n] = NULL;
        l.cmd = &pos[1];
    }
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = fastn_handler_register(c, pos[0], 1, &h);
    if (rc) {
        rc = cli_fail(c, rc);
        fastn_client_free(c);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    if (!cli->json)
        fprintf(stderr, "fastn: listening for %s\n", pos[0]);
    rc = serve(&l, h);
    if (rc)
        rc = cli_fail(c, rc);
    fastn_handler_free(h);
    while (l.children > 0)
        reap(&l, true);
    fastn_client_free(c);
    return rc;
}
