/*
 * A peer that serves a plugin over /fastn/plugin/1.0.0 as the test says,
 * for `fastn listen /fastn/plugin/1.0.0 -- xfer_serve ...` (the stream is
 * stdin and stdout): it reads the asker's request, then answers with an
 * offer of FILE (with FILE.minisig) and FILE's bytes, altered or not.
 *
 *   xfer_serve FILE good       what an honest fastnd sends
 *   xfer_serve FILE flip-body  the offer of FILE, then its bytes with one
 *                              bit flipped (the sha256 no longer matches)
 *   xfer_serve FILE flip-all   one bit flipped in the bytes and the offer
 *                              made for them (sha256 and size agree: only
 *                              the signature can tell)
 *
 *   xfer_serve @CONTROL        the mode and FILE read from the file CONTROL
 *                              ("MODE FILE"), for each stream: one `fastn
 *                              listen` serves whatever the test says next
 *
 * Exit 0 once the answer is written, 1 on a bad request or a bad FILE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fastn/err.h"
#include "registry/plugin_xfer.h"
#include "registry/sign_crypto.h"
#include "util/file.h"

static int read_request(struct plugin_xfer_request *req)
{
    uint8_t in[PLUGIN_XFER_REQUEST_MAX + 16];
    size_t n = 0, used;

    while (n < sizeof(in)) {
        ssize_t r = read(0, in + n, sizeof(in) - n);
        if (r <= 0)
            return 1;
        n += (size_t)r;
        int rc = plugin_xfer_request_decode(in, n, &used, req);
        if (rc == 0)
            return 0;
        if (rc != FASTN_ERR_AGAIN)
            return 1;
    }
    return 1;
}

static int make_offer(struct plugin_xfer_offer *o, const char *name,
                      const uint8_t *wasm, size_t len, const uint8_t *sig,
                      size_t sig_len, const char *protocol)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "%s", name);
    snprintf(o->version, sizeof(o->version), "1.0.0");
    snprintf(o->protocols[0], sizeof(o->protocols[0]), "%s", protocol);
    o->n_protocols = 1;
    o->size = len;
    if (registry_sha256(wasm, len, o->sha256) || sig_len > sizeof(o->minisig))
        return 1;
    memcpy(o->minisig, sig, sig_len);
    o->minisig_len = sig_len;
    o->bytes_follow = true;
    return 0;
}

int main(int argc, char **argv)
{
    struct plugin_xfer_request req;
    struct plugin_xfer_offer o;
    uint8_t *wasm = NULL, *sig = NULL;
    size_t len = 0, sig_len = 0;
    char sig_path[4200];
    struct buf out;

    char ctl_mode[32], ctl_file[4096];
    const char *mode, *file;

    if (argc == 2 && argv[1][0] == '@') {
        FILE *f = fopen(argv[1] + 1, "r");
        int k = f ? fscanf(f, "%31s %4095s", ctl_mode, ctl_file) : 0;
        if (f)
            fclose(f);
        if (k != 2)
            return 1;
        mode = ctl_mode;
        file = ctl_file;
    } else if (argc == 3) {
        file = argv[1];
        mode = argv[2];
    } else {
        return 1;
    }
    snprintf(sig_path, sizeof(sig_path), "%s.minisig", file);
    if (file_read_all(file, 64u << 20, &wasm, &len) ||
        file_read_all(sig_path, 16384, &sig, &sig_len) || len < 100 ||
        read_request(&req))
        return 1;
    if (!strcmp(mode, "flip-all"))
        wasm[len / 2] ^= 0x10;
    if (make_offer(&o, req.by_name ? req.name : "chat", wasm, len, sig, sig_len,
                   req.by_name ? "/fastn/chat/1.0.0" : req.protocol))
        return 1;
    if (!strcmp(mode, "flip-body"))
        wasm[len / 2] ^= 0x10;
    buf_init(&out, 128 * 1024);
    if (plugin_xfer_offer_encode(&o, &out) ||
        fd_write_all(1, out.data, out.len) || fd_write_all(1, wasm, len))
        return 1;
    buf_cleanup(&out);
    free(wasm);
    free(sig);
    return 0;
}
