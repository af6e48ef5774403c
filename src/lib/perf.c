/*
 * libfastn: perf run by the daemon (the fastn extension's PERF and
 * PERF_PROGRESS) on a control connection of its own: PERF is answered at
 * the end (matched by its call_id), and while it runs a PERF_PROGRESS
 * goes out about every interval and is answered at once. Closing the
 * connection (an error, or a progress callback that says stop) cancels
 * the run in the daemon.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/lib_int.h"
#include "util/peer_id.h"

#define PERF_CALL_ID 1
/* An answer, once it starts, arrives within this. */
#define ANSWER_MS 10000

static void result_of(const Fastn__PerfResult *pr,
                      struct fastn_perf_result *out)
{
    memset(out, 0, sizeof(*out));
    out->done = pr->done;
    out->uploaded = pr->uploaded;
    out->downloaded = pr->downloaded;
    out->open_us = pr->open_us;
    out->upload_us = pr->upload_us;
    out->download_us = pr->download_us;
    out->elapsed_us = pr->elapsed_us;
}

static int send_perf(int fd, const struct peer_id *id, uint64_t upload,
                     uint64_t download, uint32_t timeout_ms, int64_t deadline)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__PerfRequest pr = FASTN__PERF_REQUEST__INIT;

    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__PERF);
    ext.has_call_id = true;
    ext.call_id = PERF_CALL_ID;
    pr.peer.data = (uint8_t *)id->bytes;
    pr.peer.len = id->len;
    pr.upload = upload;
    pr.download = download;
    pr.has_timeout_ms = timeout_ms != 0;
    pr.timeout_ms = timeout_ms;
    ext.perf = &pr;
    return lib_send_fd(fd, &req, deadline);
}

static int send_progress(int fd, uint64_t call_id)
{
    P2pd__Pb__Request req;
    Fastn__Request ext;
    Fastn__PerfProgressRequest pp = FASTN__PERF_PROGRESS_REQUEST__INIT;

    lib_ext_request(&req, &ext, FASTN__REQUEST__TYPE__PERF_PROGRESS);
    ext.has_call_id = true;
    ext.call_id = call_id;
    pp.call_id = PERF_CALL_ID;
    ext.perf_progress = &pp;
    return lib_send_fd(fd, &req, lib_now_ms() + ANSWER_MS);
}

struct perf_run {
    struct fastn_client *c;
    int fd;
    fastn_perf_fn fn;
    void *arg;
    uint64_t asked; /* the PERF_PROGRESS waiting for its answer (0: none) */
    uint64_t next_id;
};

/* Handles one response: 1 when it was the final one (its outcome in
 * *rc), 0 for a progress answer, or an error. */
static int on_response(struct perf_run *run, P2pd__Pb__Response *r,
                       struct fastn_perf_result *out, int *rc)
{
    const Fastn__Response *ext = r->fastn;
    bool ok = r->type == P2PD__PB__RESPONSE__TYPE__OK;

    if (!ext || !ext->has_call_id) {
        if (ok)
            return FASTN_ERR_PROTOCOL;
        /* refused, or a daemon without the extension */
        *rc = lib_response_error(r, run->c->errmsg, sizeof(run->c->errmsg));
        return 1;
    }
    if (ext->call_id == PERF_CALL_ID) {
        *rc =
            ok ? (ext->perf ? 0 : FASTN_ERR_PROTOCOL)
               : lib_response_error(r, run->c->errmsg, sizeof(run->c->errmsg));
        if (!*rc)
            result_of(ext->perf, out);
        return 1;
    }
    if (ext->call_id != run->asked)
        return FASTN_ERR_PROTOCOL;
    run->asked = 0;
    if (ok && ext->perf && run->fn) {
        struct fastn_perf_result now;
        result_of(ext->perf, &now);
        if (run->fn(run->arg, &now))
            return FASTN_ERR_CANCELED;
    }
    return 0; /* an error here: the run just ended, its answer follows */
}

static int run_loop(struct perf_run *run, int interval_ms,
                    struct fastn_perf_result *out)
{
    for (;;) {
        struct pollfd p = {.fd = run->fd, .events = POLLIN};
        P2pd__Pb__Response *r = NULL;
        int n = poll(&p, 1, interval_ms), rc = 0, done;

        if (n < 0)
            continue; /* EINTR: a signal; the callback decides */
        if (n == 0) {
            if (!run->asked && (rc = send_progress(run->fd, run->next_id)))
                return rc;
            if (!run->asked)
                run->asked = run->next_id++;
            continue;
        }
        if ((rc = lib_read_response(run->fd, lib_now_ms() + ANSWER_MS, &r)))
            return rc;
        done = on_response(run, r, out, &rc);
        p2pd__pb__response__free_unpacked(r, NULL);
        if (done < 0)
            return done;
        if (done)
            return rc;
    }
}

int fastn_client_perf(struct fastn_client *c, const char *peer, uint64_t upload,
                      uint64_t download, uint32_t timeout_ms, int interval_ms,
                      fastn_perf_fn progress_fn, void *arg,
                      struct fastn_perf_result *out)
{
    struct perf_run run = {
        .c = c, .fn = progress_fn, .arg = arg, .next_id = PERF_CALL_ID + 1};
    int64_t deadline = lib_now_ms() + c->timeout_ms;
    struct peer_id id;
    int rc;

    if (!peer || !out)
        return FASTN_ERR_INVAL;
    if ((rc = lib_parse_peer(c, peer, &id)))
        return rc;
    c->errmsg[0] = '\0';
    if (interval_ms <= 0)
        interval_ms = 1000;
    rc = lib_socket_connect(c->sock, deadline, &run.fd);
    if (rc)
        return rc;
    rc = send_perf(run.fd, &id, upload, download, timeout_ms, deadline);
    if (!rc)
        rc = run_loop(&run, interval_ms, out);
    close(run.fd);
    return rc == FASTN_ERR_REMOTE ? FASTN_ERR_UNSUPPORTED : rc;
}
