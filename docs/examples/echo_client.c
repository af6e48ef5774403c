/*
 * A complete libfastn program: connects to the user's fastnd (starting
 * it when none runs), prints its own PeerID, connects to a peer, pings
 * it, then opens a stream for a protocol, sends a line and prints what
 * comes back. Against the echo plugin (protocol /fastn/echo/1.0.0, the
 * default) or `fastn listen PROTOCOL -- cat`, the line comes back.
 *
 *   echo_client [--home DIR] MULTIADDR/p2p/PEERID [PROTOCOL] [TEXT]
 *
 * Build (docs/CLIENT.md, "Building against libfastn"):
 *   cc echo_client.c -o echo_client $(pkg-config --cflags --libs fastn)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fastn/client.h>

/* Prints what failed, with the daemon's own text when it sent one. */
static int fail(struct fastn_client *c, const char *what, int err)
{
    const char *detail = c ? fastn_client_error_message(c) : "";

    if (detail[0] && strstr(detail, fastn_strerror(err)))
        fprintf(stderr, "echo_client: %s: %s\n", what, detail);
    else
        fprintf(stderr, "echo_client: %s: %s%s%s\n", what, fastn_strerror(err),
                detail[0] ? ": " : "", detail);
    return 1;
}

/* Sends text on the stream, finishes sending, prints the reply. */
static int exchange(struct fastn_client *c, int fd, const char *text,
                    const struct fastn_stream_info *info)
{
    char buf[4096];
    size_t len = strlen(text);
    ssize_t n;
    int rc;

    while (len > 0) {
        n = write(fd, text, len);
        if (n <= 0) {
            perror("echo_client: write");
            return 1;
        }
        text += n;
        len -= (size_t)n;
    }
    shutdown(fd, SHUT_WR); /* the peer reads EOF */
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    /* 0 read: a clean end, or a reset? The daemon knows. */
    rc = info->stream_id ? fastn_client_stream_result(c, info->stream_id) : 0;
    return rc ? fail(c, "the stream ended early", rc) : 0;
}

int main(int argc, char **argv)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    struct fastn_identity *me = NULL;
    struct fastn_stream_info info;
    char peer[FASTN_PEER_ID_MAX];
    const char *target, *protocol = "/fastn/echo/1.0.0", *text = "hello\n";
    uint64_t rtt_us;
    int i = 1, fd = -1, rc;

    fastn_connect_options_init(&o);
    o.autostart = 1;
    if (argc > 2 && !strcmp(argv[1], "--home")) {
        o.home = argv[2];
        i = 3;
    }
    if (i >= argc || argc - i > 3) {
        fprintf(stderr, "usage: echo_client [--home DIR] "
                        "MULTIADDR/p2p/PEERID [PROTOCOL] [TEXT]\n");
        return 2;
    }
    target = argv[i];
    if (argc - i > 1)
        protocol = argv[i + 1];
    if (argc - i > 2)
        text = argv[i + 2];

    if ((rc = fastn_client_connect(&o, &c)))
        return fail(NULL, "cannot reach fastnd", rc);
    if ((rc = fastn_client_identify(c, &me)))
        goto out_fail_identify;
    printf("me: %s (fastn %s)\n", me->peer_id, fastn_version());

    if ((rc = fastn_client_peer_connect(c, target, peer)))
        goto out_fail_connect;
    for (int k = 1; k <= 3; k++) {
        if ((rc = fastn_client_ping(c, peer, &rtt_us)))
            goto out_fail_ping;
        printf("ping %d: %.3f ms\n", k, rtt_us / 1000.0);
    }

    if ((rc = fastn_client_stream_open(c, peer, protocol, &fd, &info)))
        goto out_fail_stream;
    printf("stream to %s (%s) over %s:\n", info.peer_id, info.protocol,
           info.addr[0] ? info.addr : "?");
    fflush(stdout);
    rc = exchange(c, fd, text, &info);
    close(fd);
    fastn_identity_free(me);
    fastn_client_free(c);
    return rc;

out_fail_identify:
    rc = fail(c, "identify", rc);
    goto out;
out_fail_connect:
    rc = fail(c, "connect", rc);
    goto out;
out_fail_ping:
    rc = fail(c, "ping", rc);
    goto out;
out_fail_stream:
    rc = fail(c, "open a stream", rc);
out:
    fastn_identity_free(me);
    fastn_client_free(c);
    return rc;
}
