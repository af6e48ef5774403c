/*
 * fastn's stream commands: `call` (netcat to a peer's protocol) and
 * `listen` (print incoming streams, or run a command per stream as inetd
 * does). Both move bytes between file descriptors with large reads and
 * writes; half-close is passed on both ways.
 *
 * Where the bytes are passed on untouched they do not pass through our
 * memory: `call` sends a regular file on stdin with sendfile(2) (the page
 * cache straight into the socket), and stream data bound for stdout that
 * is not a terminal (nor kept for --json) goes socket -> a pipe of ours
 * -> stdout with splice(2). Either falls back to read/write when the
 * kernel refuses it for those descriptors (EINVAL, ENOSYS), without
 * losing a byte. Backpressure is unchanged: stdout is written out (or
 * blocks) before the socket is read again, and the socket takes only
 * what it has room for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "util/term.h"

#define IO_BUF (256 * 1024)
/* At most this much per sendfile(2) of stdin, and the size asked for the
 * pipe that splice(2) moves stream data through (1 MiB is the default
 * pipe-max-size; the kernel keeps its 64 KiB otherwise). */
#define SEND_CHUNK (1 << 20)
/* The socket's send buffer `call` asks for (capped by net.core.wmem_max):
 * room for several whole sendfile chunks, fewer wakeups of the daemon. */
#define CALL_SNDBUF (4 << 20)
/* A smaller pipe than this is not worth splicing through. */
#define OUT_PIPE_MIN (64 * 1024)

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

/* Stream data to out by splice(2) through a pipe of ours (out is not a
 * terminal: its bytes go out exact). on: in use; off after a failure,
 * and then out is written from a buffer as before. */
struct out_pipe {
    int fd[2];
    bool on;
};

static void out_pipe_close(struct out_pipe *op);

static void out_pipe_open(struct out_pipe *op, bool allowed)
{
    op->on = false;
    op->fd[0] = op->fd[1] = -1;
    if (!allowed || pipe2(op->fd, O_CLOEXEC) != 0)
        return;
    (void)fcntl(op->fd[1], F_SETPIPE_SZ, SEND_CHUNK);
    /* a user past fs.pipe-user-pages-soft gets one-page pipes: a splice
     * per 4 KiB would cost more than the reads it saves */
    if (fcntl(op->fd[1], F_GETPIPE_SZ) < OUT_PIPE_MIN) {
        out_pipe_close(op);
        return;
    }
    op->on = true;
}

static void out_pipe_close(struct out_pipe *op)
{
    if (op->fd[0] >= 0)
        close(op->fd[0]);
    if (op->fd[1] >= 0)
        close(op->fd[1]);
    op->fd[0] = op->fd[1] = -1;
    op->on = false;
}

/* Writes the n bytes waiting in the pipe to out: by splice, or (when out
 * refuses it) read back into bounce and written, which also turns the
 * pipe off for later reads. 0, or -1 when out failed. */
static int out_pipe_drain(struct out_pipe *op, int out, size_t n, char *bounce,
                          size_t cap)
{
    while (n > 0 && op->on) {
        ssize_t k = splice(op->fd[0], NULL, out, NULL, n, SPLICE_F_MOVE);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            op->on = false; /* e.g. EINVAL: out takes no splice */
            break;
        }
        n -= (size_t)k;
    }
    while (n > 0) {
        ssize_t k = read(op->fd[0], bounce, n < cap ? n : cap);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 || write_all(out, bounce, (size_t)k) != 0)
            return -1;
        n -= (size_t)k;
    }
    return 0;
}

/* Moves what the socket has (at most SEND_CHUNK) to out through the pipe:
 * the count, 0 at the socket's end, -1 with errno from the socket
 * (EAGAIN for a non-blocking one with nothing), or -2 when out failed.
 * EINVAL from the socket's side turns the pipe off: read it instead. */
static ssize_t out_pipe_move(struct out_pipe *op, int sock, bool nonblock,
                             int out, char *bounce, size_t cap)
{
    ssize_t n = splice(sock, NULL, op->fd[1], NULL, SEND_CHUNK,
                       SPLICE_F_MOVE | (nonblock ? SPLICE_F_NONBLOCK : 0));

    if (n < 0 && (errno == EINVAL || errno == ENOSYS))
        op->on = false; /* nothing was moved: the caller reads instead */
    if (n <= 0)
        return n;
    return out_pipe_drain(op, out, (size_t)n, bounce, cap) ? -2 : n;
}

/* --- call -------------------------------------------------------------------
 */

struct pump {
    int in, sock, out;
    bool in_done, sock_done;
    bool in_file;           /* stdin is a regular file: sendfile(2) it */
    struct out_pipe splice; /* stream -> stdout by splice(2) */
    char *buf;              /* stream -> stdout */
    char *inbuf; /* stdin -> stream: inbuf[in_off..in_len) not yet sent */
    size_t in_off, in_len;
    uint64_t sent, received;
    int err; /* errno of a failed write */
    struct fastn_client *c;
    uint64_t stream_id;
    struct term_stream tty_state, *tty; /* tty: out is a terminal */
    bool json;  /* --json: the reply is kept, printed at the end */
    char *kept; /* its bytes so far */
    size_t kept_len, kept_cap;
    bool too_large; /* more than CALL_JSON_MAX came */
};

static int call_json_sink(void *arg, const char *p, size_t n);

/* Sends what waits from stdin as far as the stream takes it now (the
 * socket is non-blocking: a blocked write would stop us reading the
 * reply, and a peer that answers as it reads, like an echo, would then
 * wait for us forever). */
static void flush_in(struct pump *p)
{
    while (p->in_off < p->in_len) {
        ssize_t w = write(p->sock, p->inbuf + p->in_off, p->in_len - p->in_off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return; /* POLLOUT says when there is room */
        if (w <= 0) {
            p->err = errno;
            p->in_done = true;
            p->in_off = p->in_len = 0;
            return;
        }
        p->in_off += (size_t)w;
        p->sent += (uint64_t)w;
    }
    p->in_off = p->in_len = 0;
}

/* One step of stdin -> stream (only when nothing waits to be sent). */
static void pump_in(struct pump *p)
{
    ssize_t n = read(p->in, p->inbuf, IO_BUF);

    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        p->in_done = true;
        shutdown(p->sock, SHUT_WR);
        return;
    }
    p->in_off = 0;
    p->in_len = (size_t)n;
    flush_in(p);
}

/* One step of stdin -> stream for a regular file: the socket has room.
 * EINVAL or ENOSYS (sendfile refused for these two): read and write
 * instead, from where the file's offset is (nothing was sent). */
static void pump_file(struct pump *p)
{
    ssize_t n = sendfile(p->sock, p->in, NULL, SEND_CHUNK);

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
        p->in_file = false;
        return;
    }
    if (n < 0 && errno != EPIPE && errno != ECONNRESET) {
        p->in_file = false; /* a read error: as pump_in would see it */
        return;
    }
    if (n < 0) {
        p->err = errno;
        p->in_done = true;
        return;
    }
    if (n == 0) {
        p->in_done = true;
        shutdown(p->sock, SHUT_WR);
        return;
    }
    p->sent += (uint64_t)n;
}

/* One step of stream -> stdout. */
static void pump_out(struct pump *p)
{
    ssize_t n;

    if (p->splice.on) {
        n = out_pipe_move(&p->splice, p->sock, true, p->out, p->buf, IO_BUF);
        if (n == -2) {
            p->sock_done = true; /* stdout is gone: nobody wants the rest */
            p->err = EPIPE;
            return;
        }
        if (n < 0 && !p->splice.on)
            return; /* the pipe is off: poll again, then read */
        if (n > 0) {
            p->received += (uint64_t)n;
            return;
        }
    } else {
        n = read(p->sock, p->buf, IO_BUF);
    }

    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        p->sock_done = true;
        if (!p->json)
            write_out(p->out, p->tty, "", 0, true);
        return;
    }
    if (p->json && call_json_sink(p, p->buf, (size_t)n) != 0) {
        p->sock_done = true;
        p->too_large = true;
        return;
    }
    if (!p->json && write_out(p->out, p->tty, p->buf, (size_t)n, false) != 0) {
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
    int rc, fl = fcntl(p->sock, F_GETFL);

    if (fl < 0 || fcntl(p->sock, F_SETFL, fl | O_NONBLOCK) < 0)
        return FASTN_ERR_IO;
    while (!p->sock_done || !p->in_done) {
        bool sending = p->in_len > 0 || (p->in_file && !p->in_done);
        struct pollfd fds[2] = {
            {p->in_done || sending ? -1 : p->in, POLLIN, 0},
            {p->sock_done && !sending ? -1 : p->sock,
             (short)((p->sock_done ? 0 : POLLIN) | (sending ? POLLOUT : 0)),
             0}};
        if (stop)
            return FASTN_ERR_CANCELED;
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return FASTN_ERR_IO;
        }
        if (!p->sock_done && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            pump_out(p);
            if (p->too_large)
                return FASTN_ERR_TOO_LARGE;
            /* the peer's end: if the stream was cut, stop right here */
            if (p->sock_done && (rc = stream_outcome(p, p->err != 0)))
                return rc;
        }
        if (sending && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            if (p->in_len)
                flush_in(p);
            else
                pump_file(p);
        }
        if (fds[0].revents)
            pump_in(p);
        if (p->err && p->err != EPIPE)
            return FASTN_ERR_IO;
    }
    return stream_outcome(p, p->err != 0);
}

/* --json: the reply in memory, up to this much. */
#define CALL_JSON_MAX (16u << 20)

static int call_json_sink(void *arg, const char *p, size_t n)
{
    struct pump *pm = arg;
    char *nb;

    if (pm->kept_len + n > CALL_JSON_MAX)
        return -1;
    if (pm->kept_len + n > pm->kept_cap) {
        size_t cap = pm->kept_cap ? pm->kept_cap * 2 : 65536;
        while (cap < pm->kept_len + n)
            cap *= 2;
        if (!(nb = realloc(pm->kept, cap)))
            return -1;
        pm->kept = nb;
        pm->kept_cap = cap;
    }
    memcpy(pm->kept + pm->kept_len, p, n);
    pm->kept_len += n;
    return 0;
}

static void call_json(struct pump *p, const char *peer, const char *protocol)
{
    json_t *o = json_pack(
        "{s:o,s:o,s:I,s:I}", "peer_id", jstr(peer), "protocol", jstr(protocol),
        "sent", (json_int_t)p->sent, "received", (json_int_t)p->received);

    cli_json_bytes(o, "reply", p->kept ? p->kept : "", p->kept_len);
    cli_emit(o);
}

int cli_stream_pump(struct cli *cli, struct fastn_client *c, int fd,
                    const struct fastn_stream_info *info, const char *peer,
                    const char *protocol)
{
    struct pump p = {.in = 0, .out = 1, .sock = fd, .c = c};
    struct stat st;
    int rc;

    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    p.stream_id = info->stream_id;
    /* room for whole reads of stdin in the socket (capped by the kernel) */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &(int){CALL_SNDBUF},
                     sizeof(int));
    p.in_file = fstat(p.in, &st) == 0 && S_ISREG(st.st_mode);
    p.buf = malloc(IO_BUF);
    p.inbuf = malloc(IO_BUF);
    p.json = cli->json;
    if (!p.json && isatty(p.out)) {
        term_stream_init(&p.tty_state, TERM_LINES);
        p.tty = &p.tty_state;
    }
    out_pipe_open(&p.splice, !p.json && !p.tty);
    rc = p.buf && p.inbuf ? run_pump(&p) : FASTN_ERR_NOMEM;
    out_pipe_close(&p.splice);
    if (rc == FASTN_ERR_TOO_LARGE)
        rc = cli_error(CLI_EXIT_FAIL, rc,
                       "the reply is larger than %u MiB, which --json keeps "
                       "in memory; call without --json",
                       CALL_JSON_MAX >> 20);
    else if (rc)
        rc = cli_error(CLI_EXIT_FAIL, rc, "the stream ended early: %s",
                       fastn_strerror(rc));
    else if (cli->json)
        call_json(&p, peer, protocol);
    free(p.buf);
    free(p.inbuf);
    free(p.kept);
    return rc;
}

int cli_cmd_call(struct cli *cli, int argc, char **argv)
{
    struct fastn_stream_info info;
    struct fastn_client *c;
    char peer[FASTN_PEER_ID_MAX];
    char *pos[2];
    int n, fd, rc = cli_parse(cli, argc, argv, NULL, pos, 2, &n);

    if (rc)
        return rc;
    if (n != 2)
        return cli_usage_error(argv[0], "want PEER PROTOCOL");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if ((rc = cli_resolve_peer(cli, c, pos[0], peer)))
        goto out;
    rc = fastn_client_stream_open(c, peer, pos[1], &fd, &info);
    if (rc == FASTN_ERR_NET_PROTO_NA) {
        rc = cli_fail_protocol(c, peer, pos[1]);
        goto out;
    }
    if (rc) {
        rc = cli_fail(c, rc);
        goto out;
    }
    rc = cli_stream_pump(cli, c, fd, &info, peer, pos[1]);
    close(fd);
out:
    fastn_client_free(c);
    return rc;
}

/* --- listen
 * ------------------------------------------------------------------- */

/* A running CMD and the stream it serves (for its "end" event). */
struct child {
    pid_t pid;
    struct fastn_stream_info info;
};

struct listener {
    struct cli *cli;
    char **cmd; /* NULL: print streams */
    long max_children, children;
    struct child *kids; /* max_children of them; pid 0: free */
    long count;         /* streams to serve before exiting (0: no limit) */
    long served;
};

static json_t *event_json(const char *event,
                          const struct fastn_stream_info *info)
{
    return json_pack("{s:s,s:o,s:o,s:o}", "event", event, "peer_id",
                     jstr(info->peer_id), "protocol", jstr(info->protocol),
                     "addr", jstr(info->addr));
}

/* Without a command: the stream's bytes go to stdout (text mode). */
static int print_stream(struct listener *l, int fd,
                        const struct fastn_stream_info *info)
{
    char *buf = malloc(IO_BUF);
    struct term_stream tty_state, *tty = NULL;
    struct out_pipe op;
    char b1[256], b2[256];
    long long bytes = 0;
    json_t *end;
    ssize_t n;

    shutdown(fd, SHUT_WR); /* we send nothing */
    if (l->cli->json)
        cli_emit(event_json("stream", info));
    else
        fprintf(stderr, "fastn: stream from %s (%s)\n",
                term_safe(info->peer_id, b1, sizeof(b1)),
                term_safe(info->protocol, b2, sizeof(b2)));
    if (!l->cli->json && isatty(1)) {
        term_stream_init(&tty_state, TERM_LINES);
        tty = &tty_state;
    }
    out_pipe_open(&op, buf && !l->cli->json && !tty);
    while (buf && !stop) {
        bool piped = op.on;
        if (piped)
            n = out_pipe_move(&op, fd, false, 1, buf, IO_BUF);
        else if ((n = read(fd, buf, IO_BUF)) > 0 && !l->cli->json &&
                 write_out(1, tty, buf, (size_t)n, false) != 0)
            n = -2;
        if (n == -2 || n == 0)
            break;
        if (n < 0 && (errno == EINTR || (piped && !op.on)))
            continue; /* interrupted, or the pipe went off: read */
        if (n < 0)
            break;
        bytes += n;
    }
    out_pipe_close(&op);
    if (!l->cli->json)
        write_out(1, tty, "", 0, true);
    if (l->cli->json) {
        end = event_json("end", info);
        json_object_set_new(end, "bytes", json_integer(bytes));
        cli_emit(end);
    }
    free(buf);
    close(fd);
    return 0;
}

/* A child ended: its "end" event (--json), its slot freed. */
static void child_ended(struct listener *l, pid_t pid, int status)
{
    json_t *end;

    for (long i = 0; i < l->max_children; i++) {
        if (l->kids[i].pid != pid)
            continue;
        l->kids[i].pid = 0;
        l->children--;
        if (!l->cli->json)
            return;
        end = event_json("end", &l->kids[i].info);
        if (WIFEXITED(status))
            json_object_set_new(end, "exit_code",
                                json_integer(WEXITSTATUS(status)));
        else if (WIFSIGNALED(status))
            json_object_set_new(end, "signal", json_integer(WTERMSIG(status)));
        cli_emit(end);
        return;
    }
}

static void reap(struct listener *l, bool block)
{
    pid_t pid;
    int status;

    while (l->children > 0 &&
           (pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
        child_ended(l, pid, status);
        block = false;
    }
}

static void run_child(const struct listener *l, int fd,
                      const struct fastn_stream_info *info)
{
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

/* With a command: it runs with the stream as its stdin and stdout. */
static int spawn_cmd(struct listener *l, int fd,
                     const struct fastn_stream_info *info)
{
    long slot = 0;
    pid_t pid;

    while (l->children >= l->max_children)
        reap(l, true);
    while (l->kids[slot].pid)
        slot++;
    if (l->cli->json)
        cli_emit(event_json("stream", info));
    fflush(NULL);
    pid = fork();
    if (pid == 0)
        run_child(l, fd, info);
    close(fd);
    if (pid < 0) {
        fprintf(stderr, "fastn listen: cannot fork: %s\n", strerror(errno));
        return 0;
    }
    l->kids[slot].pid = pid;
    l->kids[slot].info = *info;
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

/* What in the daemon serves protocol itself (a plugin, an expose), into
 * who (n bytes); false when nothing does. */
static bool served_by_daemon(struct fastn_client *c, const char *protocol,
                             char *who, size_t n)
{
    struct fastn_plugin_list *pl = NULL;
    struct fastn_forward_info *fw = NULL;
    size_t n_fw = 0;
    bool found = false;

    if (fastn_client_plugin_list(c, &pl) == 0)
        for (size_t i = 0; i < pl->n_plugins && !found; i++)
            for (size_t k = 0; k < pl->plugins[i].n_protocols && !found; k++)
                if (!strcmp(pl->plugins[i].protocols[k], protocol)) {
                    snprintf(who, n, "the plugin %s", pl->plugins[i].name);
                    found = true;
                }
    fastn_plugin_list_free(pl);
    if (!found && fastn_client_forwards(c, &fw, &n_fw) == 0)
        for (size_t i = 0; i < n_fw && !found; i++)
            if (fw[i].expose && !strcmp(fw[i].protocol, protocol)) {
                snprintf(who, n, "an expose of %s", fw[i].target);
                found = true;
            }
    free(fw);
    return found;
}

struct listen_args {
    const char *count_s, *max_s;
    bool balanced;
    char *pos[257];
    int n;
};

static int listen_args(struct cli *cli, int argc, char **argv,
                       struct listen_args *a, struct listener *l)
{
    const struct cli_opt opts[] = {{"-n", "--count", &a->count_s},
                                   {"--max", NULL, &a->max_s},
                                   {NULL, NULL, NULL}};
    const struct cli_flag flags[] = {{"--balanced", NULL, &a->balanced},
                                     {NULL, NULL, NULL}};
    char *end;
    int rc = cli_parse_flags(cli, argc, argv, opts, flags, a->pos, 256, &a->n);

    if (rc)
        return rc;
    if (a->n < 1)
        return cli_usage_error(argv[0], "want a PROTOCOL");
    if (a->count_s && ((l->count = strtol(a->count_s, &end, 10)) < 1 || *end))
        return cli_usage_error(argv[0], "-n wants a count from 1");
    if (a->max_s && ((l->max_children = strtol(a->max_s, &end, 10)) < 1 ||
                     *end || l->max_children > 65536))
        return cli_usage_error(argv[0], "--max wants a count from 1");
    if (a->n > 1) {
        a->pos[a->n] = NULL;
        l->cmd = &a->pos[1];
    }
    return 0;
}

/* Registers the handler, unless a plugin or an expose serves the
 * protocol and --balanced was not given. */
static int listen_register(struct fastn_client *c, const struct listen_args *a,
                           struct fastn_handler **h)
{
    char who[512], b[512];
    int rc;

    if (!a->balanced && served_by_daemon(c, a->pos[0], who, sizeof(who)))
        return cli_error(
            CLI_EXIT_FAIL, FASTN_ERR_EXISTS,
            "%s is served by %s: fastn listen would take its streams away. "
            "Listen on another protocol, or give --balanced to share the "
            "streams with it (each in turn)",
            term_safe(a->pos[0], b, sizeof(b)), who);
    rc = fastn_handler_register(c, a->pos[0], 1, h);
    return rc ? cli_fail(c, rc) : 0;
}

int cli_cmd_listen(struct cli *cli, int argc, char **argv)
{
    struct listener l = {.cli = cli, .max_children = 64};
    struct fastn_handler *h = NULL;
    struct listen_args a = {0};
    struct fastn_client *c;
    int rc = listen_args(cli, argc, argv, &a, &l);

    if (rc)
        return rc;
    if (l.cmd && !(l.kids = calloc((size_t)l.max_children, sizeof(*l.kids))))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    if (!(c = cli_connect(cli))) {
        free(l.kids);
        return CLI_EXIT_FAIL;
    }
    if ((rc = listen_register(c, &a, &h)))
        goto out;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_stop);
    signal(SIGTERM, on_stop);
    if (cli->json)
        cli_emit(json_pack("{s:s,s:o}", "event", "listening", "protocol",
                           jstr(a.pos[0])));
    else
        fprintf(stderr, "fastn: listening for %s\n", a.pos[0]);
    rc = serve(&l, h);
    if (rc)
        rc = cli_fail(c, rc);
    fastn_handler_free(h);
    while (l.children > 0)
        reap(&l, true);
out:
    free(l.kids);
    fastn_client_free(c);
    return rc;
}
