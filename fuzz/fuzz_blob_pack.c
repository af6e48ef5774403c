/* Fuzz target: a plugin's blob packs as read back from disk
 * (src/store/blob.c): the input is written as the folder's only pack,
 * then the blobs are opened (the scan parses every header, skips holes,
 * cuts a torn tail). The properties: what was indexed counts in whole
 * units and no more than the pack holds; a blob put after the open reads
 * back whole, and so after a reopen (the scan cut the pack where the
 * next append goes). Each header is also given to the header parser
 * alone, which must accept only lengths within the limits. */
#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_int.h"

static char root[64], dir[96], pack[128];

static void cleanup(void)
{
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup of %s failed\n", root);
}

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/fuzz-blob-XXXXXX");
    if (!mkdtemp(root))
        abort();
    snprintf(dir, sizeof(dir), "%s/blobs", root);
    snprintf(pack, sizeof(pack), "%s/pack-000001", dir);
    if (mkdir(dir, 0700) != 0)
        abort();
    atexit(cleanup);
}

static void check_header(const uint8_t *data, size_t size)
{
    struct store__blob_header h;
    if (store__blob_header_parse(data, size, &h) == 0 &&
        (h.key_len == 0 || h.key_len > STORE_BLOB_KEY_MAX ||
         h.data_len > STORE_BLOB_MAX))
        abort();
}

static void check_put(struct store_blobs *b)
{
    static const char key[] = "fuzz-key";
    static const char val[] = "the value put after the scan";
    char got[sizeof(val)];
    if (store_blob_put(b, key, sizeof(key), val, sizeof(val)) != 0 ||
        store_blob_read(b, key, sizeof(key), 0, got, sizeof(got), NULL, NULL) !=
            (int64_t)sizeof(val) ||
        memcmp(got, val, sizeof(val)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_blobs *b = NULL;

    if (!root[0])
        setup();
    for (size_t off = 0; off < size; off += STORE_BLOB_UNIT)
        check_header(data + off, size - off);
    int fd = open(pack, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size)
        abort();
    close(fd);
    if (store_blobs_open(dir, 0, NULL, &b) != 0)
        abort();
    uint64_t used = store_blobs_used(b);
    if (used % STORE_BLOB_UNIT || used > size)
        abort();
    check_put(b);
    store_blobs_close(b);
    b = NULL;
    if (store_blobs_open(dir, 0, NULL, &b) != 0)
        abort();
    check_put(b); /* a replace of the blob read back */
    store_blobs_close(b);
    return 0;
}
