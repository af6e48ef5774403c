/* Fuzz target: plugins/files/lib's CID parsers (text in every multibase
 * it reads, binary, bitswap prefixes). Whatever parses must format and
 * parse back to the same CID, and a binary CID must encode back to
 * exactly its input bytes (the decoder takes canonical forms only). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

static void check_text_roundtrip(const struct files_cid *c)
{
    char s[FILES_CID_STR_MAX];
    struct files_cid back;
    int n = files_cid_format(c, s, sizeof(s));

    if (n < 0 || files_cid_parse(s, (size_t)n, &back) != 0 ||
        !files_cid_eq(c, &back))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct files_cid c;
    uint8_t bin[FILES_CID_BYTES_MAX];

    if (files_cid_parse((const char *)data, size, &c) == 0)
        check_text_roundtrip(&c);
    if (files_cid_decode(data, size, &c) == 0) {
        int n = files_cid_encode(&c, bin, sizeof(bin));
        if (n < 0 || (size_t)n != size || memcmp(bin, data, size) != 0)
            abort();
        check_text_roundtrip(&c);
    }
    /* a prefix, then data: the CID named must verify its data */
    size_t split = size ? data[0] % (size + 1) : 0;
    if (split &&
        files_cid_prefix_decode(data + 1, split - 1, data + split, size - split,
                                &c) == 0 &&
        files_cid_verify(&c, data + split, size - split) != 0)
        abort();
    return 0;
}
