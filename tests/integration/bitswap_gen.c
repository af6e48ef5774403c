/*
 * Writes bitswap messages for tests/integration/files.sh to send with
 * `fastn call PEER /ipfs/bitswap/1.2.0` (each length-prefixed, as on the
 * wire):
 *   bitswap_gen garbage          a frame whose body is not protobuf
 *   bitswap_gen wants N PER      N want-blocks of made-up CIDs, PER to a
 *                                message (one message when PER >= N)
 *   bitswap_gen block BYTES      a message carrying one block of BYTES
 * The CIDs are CIDv1 raw sha2-256 of the entry's number, not hashed (no
 * one holds them); the block's prefix is CIDv1 raw sha2-256.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void varint(FILE *f, uint64_t v)
{
    do {
        fputc((int)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)), f);
        v >>= 7;
    } while (v);
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v > 0x7f) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Entry: field 1 (block) 36 bytes of CID, field 2 (priority) 1. */
#define ENTRY_BODY (2 + 36 + 2)

static void entry(FILE *f, uint32_t i)
{
    uint8_t cid[36] = {0x01, 0x55, 0x12, 0x20};
    memcpy(cid + 4, &i, sizeof(i));
    fputc(0x0a, f); /* Wantlist.entries */
    varint(f, ENTRY_BODY);
    fputc(0x0a, f);
    varint(f, sizeof(cid));
    fwrite(cid, 1, sizeof(cid), f);
    fputc(0x10, f);
    fputc(0x01, f);
}

static void wants(FILE *f, uint32_t n, uint32_t per)
{
    for (uint32_t at = 0; at < n; at += per) {
        uint32_t k = n - at < per ? n - at : per;
        uint64_t wl = (uint64_t)k * (1 + varint_len(ENTRY_BODY) + ENTRY_BODY);
        uint64_t msg = 1 + varint_len(wl) + wl;
        varint(f, msg);
        fputc(0x0a, f); /* Message.wantlist */
        varint(f, wl);
        for (uint32_t i = 0; i < k; i++)
            entry(f, at + i);
    }
}

static void block(FILE *f, uint64_t bytes)
{
    static const uint8_t prefix[] = {0x01, 0x55, 0x12, 0x20};
    uint64_t body = 1 + varint_len(sizeof(prefix)) + sizeof(prefix) + 1 +
                    varint_len(bytes) + bytes;
    uint64_t msg = 1 + varint_len(body) + body;
    varint(f, msg);
    fputc(0x1a, f); /* Message.payload */
    varint(f, body);
    fputc(0x0a, f); /* Block.prefix */
    varint(f, sizeof(prefix));
    fwrite(prefix, 1, sizeof(prefix), f);
    fputc(0x12, f); /* Block.data */
    varint(f, bytes);
    for (uint64_t i = 0; i < bytes; i++)
        fputc((int)(i & 0xff), f);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "garbage")) {
        static const uint8_t g[] = {0x04, 0x0a, 0xff, 0xff, 0xff};
        fwrite(g, 1, sizeof(g), stdout);
    } else if (argc == 4 && !strcmp(argv[1], "wants")) {
        uint32_t n = (uint32_t)strtoul(argv[2], NULL, 10);
        uint32_t per = (uint32_t)strtoul(argv[3], NULL, 10);
        wants(stdout, n, per ? per : 1);
    } else if (argc == 3 && !strcmp(argv[1], "block")) {
        block(stdout, strtoull(argv[2], NULL, 10));
    } else {
        fprintf(stderr, "usage: bitswap_gen garbage | wants N PER | block "
                        "BYTES\n");
        return 2;
    }
    return fflush(stdout) ? 1 : 0;
}
