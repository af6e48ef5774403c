/*
 * A control-protocol client for the tests of what local users may do
 * (local_users.sh, fd_limits.sh). Responses print as "OK" or
 * "ERROR CODE MSG"; exit 0 for OK, 1 for an error, 2 for bad usage.
 *
 *   ipc_probe handler SOCKET ADDR BALANCED PROTO...
 *       one STREAM_HANDLER (ADDR a multiaddr, BALANCED 0 or 1)
 *   ipc_probe handlers SOCKET ADDR N[,N...] LEN
 *       STREAM_HANDLERs from one process, each naming N protocols of LEN
 *       bytes (all different); one result line each, the exit status
 *       the last one's
 *   ipc_probe serve SOCKET PATH PROTO TEXT
 *       a go-libp2p-daemon style handler: listens on PATH, registers it
 *       for PROTO (balanced), closes that control connection, prints
 *       "registered", then writes TEXT to each stream after its
 *       StreamInfo; runs until killed
 *   ipc_probe secret PATH TEXT
 *       listens on PATH and writes TEXT to each connection; prints
 *       "listening"; runs until killed
 *   ipc_probe conns SOCKET N SECS
 *       N control connections at once (for 3 s, as the daemon's backlog
 *       takes them), an IDENTIFY on each; prints "ok A busy B other C
 *       unconnected D" (C: no answer, or another error; D: the backlog
 *       stayed full) and the first refusal, then holds the open ones SECS
 *       seconds
 *   ipc_probe tcp HOST PORT N SECS
 *       N TCP connections that send nothing; prints how many connected
 *       and how many the other side closed within SECS seconds
 *   ipc_probe idle SOCKET
 *       connects and sends nothing: prints what came and after how long
 *       the daemon hung up ("closed after MS ms: ...")
 *   ipc_probe late SOCKET MS
 *       through libfastn: connects, waits MS ms, then asks IDENTIFY
 *       (prints the PeerID)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fastn/client.h"
#include "ipc/frame.h"
#include "ipc/p2pd.pb-c.h"
#include "util/multiaddr.h"

/* A connection to path; nonblocking, a full backlog fails at once. */
static int unix_connect_nb(const char *path, int nonblock)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd =
        socket(AF_UNIX,
               SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static int unix_connect(const char *path)
{
    return unix_connect_nb(path, 0);
}

static int unix_listen(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    unlink(path);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 64) != 0) {
        fprintf(stderr, "listen %s: %s\n", path, strerror(errno));
        exit(3);
    }
    return fd;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sends req on fd. */
static int send_request(int fd, const P2pd__Pb__Request *req)
{
    struct buf b;
    int rc;

    buf_init(&b, IPC_MAX_REQUEST + IPC_MAX_PREFIX);
    rc = ipc_frame_append(&b, &req->base);
    if (!rc && write(fd, b.data, b.len) != (ssize_t)b.len)
        rc = -1;
    buf_cleanup(&b);
    return rc;
}

/* Reads one response within ms: its type and code, its message in msg.
 * Returns 0 OK, 1 an error response, -1 nothing (EOF, time out). */
static int read_response(int fd, int ms, int *code, char *msg, size_t n)
{
    static uint8_t in[1 << 16];
    size_t len = 0, blen, flen;
    const uint8_t *body;
    P2pd__Pb__Response *r;
    int rc;

    msg[0] = '\0';
    *code = 0;
    while (ipc_frame_parse(in, len, sizeof(in), &body, &blen, &flen) != 0) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t k;
        if (len == sizeof(in) || poll(&p, 1, ms) <= 0 ||
            (k = read(fd, in + len, sizeof(in) - len)) <= 0)
            return -1;
        len += (size_t)k;
    }
    if (!(r = p2pd__pb__response__unpack(NULL, blen, body)))
        return -1;
    rc = r->type == P2PD__PB__RESPONSE__TYPE__OK ? 0 : 1;
    if (rc && r->fastn && r->fastn->has_code)
        *code = r->fastn->code;
    snprintf(msg, n, "%s", r->error && r->error->msg ? r->error->msg : "");
    p2pd__pb__response__free_unpacked(r, NULL);
    return rc;
}

static int print_result(int rc, int code, const char *msg)
{
    if (rc == 0)
        printf("OK\n");
    else if (rc > 0)
        printf("ERROR %d %s\n", code, msg);
    else
        printf("NO ANSWER\n");
    return rc == 0 ? 0 : 1;
}

/* One STREAM_HANDLER on a new connection; its outcome. */
static int stream_handler(const char *sock, const char *addr, int balanced,
                          char **protos, size_t n, char *msg, int *code)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;
    P2pd__Pb__StreamHandlerRequest sh = P2PD__PB__STREAM_HANDLER_REQUEST__INIT;
    struct multiaddr ma;
    int fd, rc;

    if (multiaddr_parse(addr, &ma) != 0) {
        fprintf(stderr, "bad multiaddr %s\n", addr);
        exit(2);
    }
    req.type = P2PD__PB__REQUEST__TYPE__STREAM_HANDLER;
    req.streamhandler = &sh;
    sh.addr = (ProtobufCBinaryData){ma.len, ma.bytes};
    sh.proto = protos;
    sh.n_proto = n;
    sh.has_balanced = true;
    sh.balanced = balanced != 0;
    if ((fd = unix_connect(sock)) < 0 || send_request(fd, &req) != 0) {
        fprintf(stderr, "cannot send to %s\n", sock);
        exit(3);
    }
    rc = read_response(fd, 10000, code, msg, 256);
    close(fd); /* as go-libp2p-daemon clients do: a connection per request */
    return rc;
}

static int cmd_handler(char **argv, int argc)
{
    char msg[256];
    int code, rc = stream_handler(argv[2], argv[3], atoi(argv[4]), argv + 5,
                                  (size_t)(argc - 5), msg, &code);
    return print_result(rc, code, msg);
}

static int cmd_handlers(char **argv)
{
    size_t len = (size_t)atol(argv[5]), first = 0;
    char *list = argv[4], *save = NULL, msg[256];
    int code, rc = 1;

    for (char *t = strtok_r(list, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        size_t n = (size_t)atol(t);
        char **protos = calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) { /* unique, then padding */
            int k;
            protos[i] = malloc(len + 1);
            k = snprintf(protos[i], len + 1, "/p/%zu", first + i);
            if (k >= 0 && (size_t)k < len)
                memset(protos[i] + k, 'p', len - (size_t)k);
            protos[i][len] = '\0';
        }
        rc = stream_handler(argv[2], argv[3], 0, protos, n, msg, &code);
        print_result(rc, code, msg);
        for (size_t i = 0; i < n; i++)
            free(protos[i]);
        free(protos);
        first += n;
    }
    return rc == 0 ? 0 : 1;
}

/* Reads the StreamInfo a handler's connection starts with. */
static void skip_stream_info(int fd)
{
    uint8_t in[4096];
    size_t len = 0, blen, flen;
    const uint8_t *body;

    while (len < sizeof(in) &&
           ipc_frame_parse(in, len, sizeof(in), &body, &blen, &flen) != 0) {
        ssize_t k = read(fd, in + len, sizeof(in) - len);
        if (k <= 0)
            return;
        len += (size_t)k;
    }
}

static int cmd_serve(char **argv) /* returns only on an error */
{
    char *protos[] = {argv[4]}, msg[256], addr[160];
    int code, lfd = unix_listen(argv[3]);

    snprintf(addr, sizeof(addr), "/unix%s", argv[3]);
    if (stream_handler(argv[2], addr, 1, protos, 1, msg, &code) != 0) {
        printf("ERROR %d %s\n", code, msg);
        return 1;
    }
    printf("registered\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        skip_stream_info(fd);
        if (write(fd, argv[5], strlen(argv[5])) < 0)
            perror("write");
        close(fd);
    }
}

static __attribute__((noreturn)) void cmd_secret(char **argv)
{
    int lfd = unix_listen(argv[2]);

    printf("listening\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (write(fd, argv[3], strlen(argv[3])) < 0)
            perror("write");
        close(fd);
    }
}

/* As many descriptors as the hard limit allows. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Waits up to ms for any of fds[0..n) (< 0: done) to be readable;
 * returns one that is, or -1. */
static int any_readable(const int *fds, int n, int ms)
{
    struct pollfd *p = calloc((size_t)n, sizeof(*p));
    int k = 0, got = -1;

    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            p[k++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    if (!k)
        usleep((useconds_t)ms * 1000);
    if (k && poll(p, (nfds_t)k, ms) > 0)
        for (int i = 0; i < k && got < 0; i++)
            if (p[i].revents)
                got = p[i].fd;
    free(p);
    return got;
}

/* Connects those of fds[0..n) not connected yet (-2) until the daemon's
 * backlog is full; each sends IDENTIFY at once (a refusal may come
 * before the send: it is read anyway). */
static void connect_more(const char *sock, int *fds, int n)
{
    P2pd__Pb__Request req = P2PD__PB__REQUEST__INIT;

    req.type = P2PD__PB__REQUEST__TYPE__IDENTIFY;
    for (int i = 0; i < n; i++) {
        if (fds[i] != -2)
            continue;
        if ((fds[i] = unix_connect_nb(sock, 1)) < 0) {
            fds[i] = -2; /* the backlog is full: later */
            return;
        }
        send_request(fds[i], &req);
    }
}

struct tally {
    int ok, busy, other;
    char first[300];
};

/* Reads fd's answer: kept open (ok) or counted and closed. */
static void take_answer(int fd, struct tally *t, int *open_fds)
{
    char msg[256];
    int code, rc = read_response(fd, 1000, &code, msg, sizeof(msg));

    if (rc == 0) {
        open_fds[t->ok++] = fd;
        return;
    }
    if (rc > 0 && code == -19)
        t->busy++;
    else
        t->other++;
    if (!t->first[0])
        snprintf(t->first, sizeof(t->first), "%d %s", rc > 0 ? code : 0, msg);
    close(fd);
}

static int cmd_conns(char **argv)
{
    int n = atoi(argv[3]), unconnected = 0;
    int *fds = calloc((size_t)n, sizeof(int));
    int *open_fds = calloc((size_t)n, sizeof(int));
    struct tally t = {0};
    uint64_t end = now_ms() + 3000;

    raise_nofile();
    for (int i = 0; i < n; i++)
        fds[i] = -2;
    while (now_ms() < end) {
        int fd;
        connect_more(argv[2], fds, n);
        while ((fd = any_readable(fds, n, 50)) >= 0) {
            for (int i = 0; i < n; i++)
                if (fds[i] == fd)
                    fds[i] = -1;
            take_answer(fd, &t, open_fds);
        }
    }
    for (int i = 0; i < n; i++) {
        unconnected += fds[i] == -2;
        t.other += fds[i] >= 0; /* no answer: waiting in the backlog */
    }
    printf("ok %d busy %d other %d unconnected %d\n%s\n", t.ok, t.busy, t.other,
           unconnected, t.first);
    fflush(stdout);
    sleep((unsigned)atoi(argv[4]));
    for (int i = 0; i < t.ok; i++)
        close(open_fds[i]);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(open_fds);
    free(fds);
    return 0;
}

static int cmd_tcp(char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    int n = atoi(argv[4]), connected = 0, closed = 0;
    int *fds = calloc((size_t)n, sizeof(int));
    uint64_t end;

    raise_nofile();
    sa.sin_port = htons((uint16_t)atoi(argv[3]));
    inet_pton(AF_INET, argv[2], &sa.sin_addr);
    for (int i = 0; i < n; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (fds[i] >= 0 &&
            connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0)
            connected++;
    }
    end = now_ms() + (uint64_t)atoi(argv[5]) * 1000;
    while (now_ms() < end)
        usleep(100000);
    for (int i = 0; i < n; i++) {
        char c;
        if (fds[i] >= 0 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0 &&
            errno != EAGAIN)
            closed++;
    }
    printf("connected %d closed %d\n", connected, closed);
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    return 0;
}

static int cmd_idle(char **argv)
{
    uint64_t start = now_ms();
    char msg[256];
    int code, fd = unix_connect(argv[2]), rc;

    if (fd < 0)
        return 3;
    rc = read_response(fd, 30000, &code, msg, sizeof(msg));
    printf("closed after %llu ms: ", (unsigned long long)(now_ms() - start));
    return print_result(rc, code, msg);
}

static int cmd_late(char **argv)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    struct fastn_identity *id = NULL;
    int rc;

    fastn_connect_options_init(&o);
    o.socket_path = argv[2];
    rc = fastn_client_connect(&o, &c);
    if (!rc) {
        usleep((useconds_t)atoi(argv[3]) * 1000);
        rc = fastn_client_identify(c, &id);
    }
    if (rc) {
        printf("ERROR %d %s\n", rc, c ? fastn_client_error_message(c) : "");
        fastn_client_free(c);
        return 1;
    }
    printf("%s\n", id->peer_id);
    fastn_identity_free(id);
    fastn_client_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 6 && !strcmp(argv[1], "handler"))
        return cmd_handler(argv, argc);
    if (argc == 6 && !strcmp(argv[1], "handlers"))
        return cmd_handlers(argv);
    if (argc == 6 && !strcmp(argv[1], "serve"))
        return cmd_serve(argv);
    if (argc == 4 && !strcmp(argv[1], "secret"))
        cmd_secret(argv);
    if (argc == 5 && !strcmp(argv[1], "conns"))
        return cmd_conns(argv);
    if (argc == 6 && !strcmp(argv[1], "tcp"))
        return cmd_tcp(argv);
    if (argc == 3 && !strcmp(argv[1], "idle"))
        return cmd_idle(argv);
    if (argc == 4 && !strcmp(argv[1], "late"))
        return cmd_late(argv);
    fprintf(stderr, "usage: see the comment at the top of ipc_probe.c\n");
    return 2;
}
