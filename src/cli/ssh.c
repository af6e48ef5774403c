/*
 * fastn ssh and fastn ssh-proxy: OpenSSH through the daemon. The remote
 * daemon's ssh plugin (plugins/ssh) serves /fastn/ssh/1.0.0 and connects
 * each stream from a peer it allows to its local sshd; here, ssh-proxy is
 * the ProxyCommand that carries ssh's bytes (stdin and stdout) over such
 * a stream, and `fastn ssh` runs the system's ssh with it. ssh keeps its
 * own security (host keys, user authentication, encryption) end to end:
 * the stream is one more transport for it, as a TCP connection is.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#define SSH_PROTOCOL "/fastn/ssh/1.0.0"
#define PROXY_MAX 8192

int cli_cmd_ssh_proxy(struct cli *cli, int argc, char **argv)
{
    struct fastn_stream_info info;
    struct fastn_client *c;
    char peer[FASTN_PEER_ID_MAX];
    char *pos[1];
    int n, fd, rc = cli_parse(cli, argc, argv, NULL, pos, 1, &n);

    if (rc)
        return rc;
    if (n != 1)
        return cli_usage_error(argv[0], "want PEER");
    cli->json = false; /* stdout is ssh's */
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    if ((rc = cli_resolve_peer(cli, c, pos[0], peer)))
        goto out;
    rc = fastn_client_stream_open(c, peer, SSH_PROTOCOL, &fd, &info);
    if (rc == FASTN_ERR_NET_PROTO_NA) {
        rc = cli_error(CLI_EXIT_FAIL, rc,
                       "%s does not serve ssh (%s): its owner installs the "
                       "ssh plugin (fastn plugin install ssh) and allows you "
                       "(fastn plugin call ssh allow YOUR-PEERID)",
                       peer, SSH_PROTOCOL);
        goto out;
    }
    if (rc) {
        rc = cli_fail(c, rc);
        goto out;
    }
    rc = cli_stream_pump(cli, c, fd, &info, peer, SSH_PROTOCOL);
    close(fd);
out:
    fastn_client_free(c);
    return rc;
}

/* Appends s to out (of *len bytes, cap in all) as one more word for
 * /bin/sh, which runs ssh's ProxyCommand: in '...' (a ' as '\''), and a
 * % doubled (ssh expands %h and the like there). -1 when it does not fit. */
static int sh_quote(char *out, size_t cap, size_t *len, const char *s)
{
    size_t n = *len;

    if (n + 4 >= cap)
        return -1;
    if (n)
        out[n++] = ' ';
    out[n++] = '\'';
    for (; *s; s++) {
        if (n + 6 >= cap)
            return -1;
        if (*s == '\'') {
            memcpy(out + n, "'\\''", 4);
            n += 4;
        } else {
            if (*s == '%')
                out[n++] = '%';
            out[n++] = *s;
        }
    }
    out[n++] = '\'';
    out[n] = '\0';
    *len = n;
    return 0;
}

/* The ProxyCommand: this fastn, with the options that reach the same
 * daemon, as ssh-proxy PEER. */
static int proxy_command(const struct cli *cli, const char *peer, char *out,
                         size_t cap)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
    size_t len = 0;
    int err = 0;

    if (k <= 0)
        snprintf(self, sizeof(self), "fastn");
    else
        self[k] = '\0';
    out[0] = '\0';
    err |= sh_quote(out, cap, &len, self);
    if (cli->conn.home)
        err |= sh_quote(out, cap, &len, "--home") |
               sh_quote(out, cap, &len, cli->conn.home);
    if (cli->conn.socket_path)
        err |= sh_quote(out, cap, &len, "--socket") |
               sh_quote(out, cap, &len, cli->conn.socket_path);
    if (!cli->autostart)
        err |= sh_quote(out, cap, &len, "--no-autostart");
    err |=
        sh_quote(out, cap, &len, "ssh-proxy") | sh_quote(out, cap, &len, peer);
    return err ? -1 : 0;
}

int cli_cmd_ssh(struct cli *cli, int argc, char **argv)
{
    struct fastn_client *c;
    char peer[FASTN_PEER_ID_MAX], dest[FASTN_PEER_ID_MAX + 256];
    char proxy[PROXY_MAX], opt[PROXY_MAX + 32];
    const char *target, *at;
    char **args;
    int rc;

    if (argc < 2 || argv[1][0] == '-')
        return cli_usage_error(argv[0], "want [USER@]PEER first, then ssh's "
                                        "options and command");
    target = argv[1];
    at = strrchr(target, '@');
    if (at && (size_t)(at - target) >= 256)
        return cli_usage_error(argv[0], "that user name is too long");
    if (!(c = cli_connect(cli)))
        return CLI_EXIT_FAIL;
    rc = cli_resolve_peer(cli, c, at ? at + 1 : target, peer);
    fastn_client_free(c);
    if (rc)
        return rc;
    /* ssh knows the host by its PeerID (known_hosts), whatever name or
     * address it was given here */
    snprintf(dest, sizeof(dest), "%.*s%s", at ? (int)(at - target + 1) : 0,
             target, peer);
    if (proxy_command(cli, peer, proxy, sizeof(proxy)))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_TOO_LARGE,
                         "the paths are too long for ssh's ProxyCommand");
    snprintf(opt, sizeof(opt), "ProxyCommand=%s", proxy);
    if (!(args = calloc((size_t)argc + 4, sizeof(*args))))
        return cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOMEM, "out of memory");
    args[0] = "ssh";
    args[1] = "-o";
    args[2] = opt;
    args[3] = dest;
    for (int i = 2; i < argc; i++)
        args[i + 2] = argv[i];
    fflush(NULL);
    execvp(getenv("FASTN_SSH") ? getenv("FASTN_SSH") : "ssh", args);
    rc = cli_error(CLI_EXIT_FAIL, FASTN_ERR_NOT_FOUND,
                   "cannot run ssh: %s; install OpenSSH's client (Debian: "
                   "apt install openssh-client)",
                   strerror(errno));
    free(args);
    return rc;
}
