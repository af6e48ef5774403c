/*
 * A control-protocol probe for the integration tests.
 *
 *   ctl_probe raw SOCKET HEX [shut]  send raw bytes (then, with "shut",
 *                                    close the write side); print each
 *                                    Response as "OK" or "ERROR CODE MSG",
 *                                    then "EOF" if the daemon hung up or
 *                                    "OPEN" if it kept the connection
 *   ctl_probe identify SOCKET        the PeerID through libfastn
 *   ctl_probe peerid KEYFILE         the PeerID of a key file
 *   ctl_probe genkey KEYFILE [legacy] write a new key (96-byte legacy form)
 *   ctl_probe secrets SOCKET KEYFILE send every request type and bad
 *                                    frames; fail if any response carries
 *                                    8 consecutive bytes of the secret key
 *   ctl_probe hold SOCKET HEX SECS   send bytes and keep the connection
 *                                    open for SECS seconds
 *   ctl_probe install-path SOCKET PATH  ask the daemon to install the file
 *                                    at PATH (it reads it); prints "OK
 *                                    NAME" or "ERROR CODE MESSAGE"
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fastn/client.h"
#include "identity/identity.h"
#include "ipc/frame.h"
#include "ipc/p2pd.pb-c.h"

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "connect %s: %s\n", path, strerror(errno));
        exit(3);
    }
    return fd;
}

static size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = 0;
    for (; h[0] && h[1] && n < max; h += 2) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

/* Reads until EOF or until nothing arrives for ms; returns the bytes and
 * sets *eof. */
static uint8_t *read_all(int fd, int ms, size_t *len, int *eof)
{
    size_t cap = 1 << 16, n = 0;
    uint8_t *b = malloc(cap);
    *eof = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, ms) <= 0)
            break;
        if (n == cap)
            b = realloc(b, cap *= 2);
        ssize_t r = read(fd, b + n, cap - n);
        if (r <= 0) {
            *eof = 1;
            break;
        }
        n += (size_t)r;
    }
    *len = n;
    return b;
}

static void print_responses(const uint8_t *p, size_t n)
{
    const uint8_t *body;
    size_t blen, flen;
    while (n &&
           ipc_frame_parse(p, n, IPC_MAX_RESPONSE, &body, &blen, &flen) == 0) {
        P2pd__Pb__Response *r = p2pd__pb__response__unpack(NULL, blen, body);
        if (!r)
            printf("BAD\n");
        else if (r->type == P2PD__PB__RESPONSE__TYPE__OK)
            printf("OK%s%s\n", r->identify ? " identify" : "",
                   r->n_peers ? " peers" : "");
        else
            printf("ERROR %d %s\n",
                   r->fastn && r->fastn->has_code ? r->fastn->code : 0,
                   r->error ? r->error->msg : "");
        p2pd__pb__response__free_unpacked(r, NULL);
        p += flen;
        n -= flen;
    }
    if (n)
        printf("PARTIAL %zu\n", n);
}

static int cmd_raw(const char *sock, const char *hex, int shut)
{
    static uint8_t data[1 << 16];
    size_t n = unhex(hex, data, sizeof(data)), len;
    int eof, fd = connect_to(sock);
    if (write(fd, data, n) != (ssize_t)n)
        fprintf(stderr, "short write: %s\n", strerror(errno));
    if (shut)
        shutdown(fd, SHUT_WR);
    uint8_t *b = read_all(fd, 1500, &len, &eof);
    print_responses(b, len);
    printf("%s\n", eof ? "EOF" : "OPEN");
    free(b);
    close(fd);
    return 0;
}

static int cmd_identify(const char *sock)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    struct fastn_identity *id = NULL;
    int rc;
    fastn_connect_options_init(&o);
    o.socket_path = sock;
    o.timeout_ms = 5000;
    rc = fastn_client_connect(&o, &c);
    if (!rc)
        rc = fastn_client_identify(c, &id);
    if (rc) {
        fprintf(stderr, "identify: %s\n", fastn_strerror(rc));
        fastn_client_free(c);
        return 1;
    }
    printf("%s\n", id->peer_id);
    fastn_identity_free(id);
    fastn_client_free(c);
    return 0;
}

static int cmd_peerid(const char *file)
{
    struct identity id;
    char s[PEER_ID_STR_MAX];
    identity_global_init();
    int rc = identity_load_file(file, &id);
    if (rc) {
        fprintf(stderr, "%s: %s\n", file, fastn_strerror(rc));
        return 1;
    }
    printf("%s\n", peer_id_format(&id.id, s));
    identity_cleanup(&id);
    return 0;
}

static int cmd_genkey(const char *file, int legacy)
{
    struct identity id;
    uint8_t b[4 + 96];
    identity_global_init();
    if (identity_generate(&id) || identity_save_file(file, &id))
        return 1;
    if (legacy) { /* seed || pub || pub, as old go-libp2p wrote keys */
        int n = identity_encode_private(&id, b, sizeof(b));
        if (n != 68)
            return 1;
        b[3] = 96;
        memcpy(b + 68, id.pubkey, 32);
        FILE *f = fopen(file, "wb");
        if (!f || fwrite(b, 1, sizeof(b), f) != sizeof(b))
            return 1;
        fclose(f);
    }
    identity_cleanup(&id);
    return 0;
}

/* Every Request.Type (and some beyond), plus the bad frames; every answer
 * is scanned for the secret seed. */
static int cmd_secrets(const char *sock, const char *keyfile)
{
    static const char *const sends[] = {
        "020800",
        "020805",
        "0b0864a2060608011001180a",
        "020801",
        "020802",
        "020803",
        "020804",
        "020806",
        "020807",
        "020808",
        "020809",
        "02080a",
        "02084d",
        "ffffffffffffffffffff",
        "05ffffffff",
        "0408011201",
        "00",
        "0a0802",
    };
    struct identity id;
    size_t total = 0;
    int bad = 0;

    identity_global_init();
    if (identity_load_file(keyfile, &id)) {
        fprintf(stderr, "cannot load %s\n", keyfile);
        return 1;
    }
    for (size_t i = 0; i < sizeof(sends) / sizeof(sends[0]); i++) {
        uint8_t data[64];
        size_t n = unhex(sends[i], data, sizeof(data)), len;
        int eof, fd = connect_to(sock);
        if (write(fd, data, n) < 0)
            perror("write");
        shutdown(fd, SHUT_WR);
        uint8_t *b = read_all(fd, 1500, &len, &eof);
        total += len;
        if (len == 0) {
            fprintf(stderr, "no answer to %s\n", sends[i]);
            bad = 1;
        }
        for (size_t k = 0; k + 8 <= 32; k++)
            if (memmem(b, len, id.seckey + k, 8)) {
                fprintf(stderr, "secret bytes in the answer to %s\n", sends[i]);
                bad = 1;
            }
        free(b);
        close(fd);
    }
    identity_cleanup(&id);
    printf("scanned %zu response bytes from %zu requests\n", total,
           sizeof(sends) / sizeof(sends[0]));
    return bad;
}

static int cmd_hold(const char *sock, const char *hex, int secs)
{
    uint8_t data[1024];
    size_t n = unhex(hex, data, sizeof(data));
    int fd = connect_to(sock);
    if (write(fd, data, n) != (ssize_t)n)
        return 1;
    printf("holding\n");
    fflush(stdout);
    sleep((unsigned)secs);
    close(fd);
    return 0;
}

static int cmd_install_path(const char *sock, const char *path)
{
    struct fastn_connect_options o;
    struct fastn_client *c = NULL;
    struct fastn_plugin_info *p = NULL;
    int rc;
    fastn_connect_options_init(&o);
    o.socket_path = sock;
    o.timeout_ms = 5000;
    rc = fastn_client_connect(&o, &c);
    if (!rc)
        rc = fastn_client_plugin_install_path(c, path, 0, &p);
    if (rc)
        printf("ERROR %s %s\n", fastn_err_name(rc),
               c ? fastn_client_error_message(c) : fastn_strerror(rc));
    else
        printf("OK %s\n", p->name);
    fastn_plugin_info_free(p);
    fastn_client_free(c);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    /* a daemon that hangs up early must not kill the probe */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 4 && !strcmp(argv[1], "raw"))
        return cmd_raw(argv[2], argv[3], argc > 4 && !strcmp(argv[4], "shut"));
    if (argc == 3 && !strcmp(argv[1], "identify"))
        return cmd_identify(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "peerid"))
        return cmd_peerid(argv[2]);
    if (argc >= 3 && !strcmp(argv[1], "genkey"))
        return cmd_genkey(argv[2], argc > 3 && !strcmp(argv[3], "legacy"));
    if (argc == 4 && !strcmp(argv[1], "secrets"))
        return cmd_secrets(argv[2], argv[3]);
    if (argc == 5 && !strcmp(argv[1], "hold"))
        return cmd_hold(argv[2], argv[3], atoi(argv[4]));
    if (argc == 4 && !strcmp(argv[1], "install-path"))
        return cmd_install_path(argv[2], argv[3]);
    fprintf(stderr, "usage: see the comment at the top of ctl_probe.c\n");
    return 2;
}
