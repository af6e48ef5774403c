/*
 * Perf (`/perf/1.0.0`, libp2p/specs perf/perf.md): the client sends how
 * many bytes it wants back (u64 big-endian), then its upload, then closes
 * its side; the server, after that close, sends the bytes asked for and
 * closes. Only the 8-byte header needs parsing; the rest is counting.
 */
#ifndef FASTN_NET_PERF_H
#define FASTN_NET_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PERF_PROTOCOL_ID "/perf/1.0.0"
#define PERF_HEADER_LEN 8

struct perf_server {
    uint8_t hdr[PERF_HEADER_LEN];
    size_t have;
    uint64_t to_send;
    uint64_t uploaded;
};

/* The client's first 8 bytes. */
void perf_client_header(uint64_t download, uint8_t out[PERF_HEADER_LEN]);

void perf_server_init(struct perf_server *ps);
/* Consumes what the client sent (the header, then upload bytes, which are
 * only counted). */
void perf_server_feed(struct perf_server *ps, const uint8_t *p, size_t n);
/* At the client's FIN: how many bytes to send back. Errors:
 * FASTN_ERR_TRUNCATED (the stream ended inside the header). */
int perf_server_finish(const struct perf_server *ps, uint64_t *to_send);

#endif
