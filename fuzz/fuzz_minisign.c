/* Fuzz target: minisign files as they come from outside (a plugin's
 * .minisig, a key given to `fastn trust add`): the signature and public
 * key parsers, and verification of what parses against a fixed key over
 * a fixed message. Checks that a parsed trusted comment is printable and
 * bounded, that a parsed key encodes back to itself, and that a signature
 * verifies only with the key it names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fastn/err.h"
#include "registry/minisign.h"

/* The key of the seeds in fuzz/corpus/minisign (made with minisign -G);
 * its seeds sign "fastn-fuzz\n". */
static const char fuzz_key[] =
    "RWQf0wiulLdJRMvv+G0kG5wpQdk29Bm0H3/H7oK4g/8KniXrH/+S8Gdu";
static const char fuzz_msg[] = "fastn-fuzz\n";

static void check_sig(const struct minisign_sig *s)
{
    struct minisign_pubkey key;
    int rc;

    if (s->trusted_comment_len >= sizeof(s->trusted_comment) ||
        strlen(s->trusted_comment) != s->trusted_comment_len ||
        !minisign_text_is_printable(s->trusted_comment, s->trusted_comment_len))
        abort();
    if (minisign_pubkey_parse((const uint8_t *)fuzz_key, strlen(fuzz_key), &key,
                              NULL, 0) != 0)
        abort();
    rc = minisign_verify(s, &key, (const uint8_t *)fuzz_msg, strlen(fuzz_msg));
    if (rc == 0 && memcmp(s->key_id, key.key_id, MINISIGN_KEYID_LEN) != 0)
        abort();
    if (rc != 0 && rc != FASTN_ERR_SIGNATURE && rc != FASTN_ERR_SIG_COMMENT &&
        rc != FASTN_ERR_SIG_KEY_MISMATCH)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct minisign_sig *s = malloc(sizeof(*s));
    struct minisign_pubkey k, again;
    char b64[MINISIGN_PUBKEY_B64_LEN + 1], hex[MINISIGN_KEYID_HEX_LEN + 1];
    char err[160];
    uint8_t id[MINISIGN_KEYID_LEN];

    if (!s)
        return 0;
    if (minisign_sig_parse(data, size, s, err, sizeof(err)) == 0)
        check_sig(s);
    free(s);
    if (minisign_pubkey_parse(data, size, &k, err, sizeof(err)) == 0) {
        minisign_pubkey_base64(&k, b64);
        if (minisign_pubkey_parse((const uint8_t *)b64, strlen(b64), &again,
                                  NULL, 0) != 0 ||
            memcmp(&k, &again, sizeof(k)) != 0)
            abort();
        minisign_key_id_hex(k.key_id, hex);
        if (minisign_key_id_parse(hex, id) != 0 ||
            memcmp(id, k.key_id, sizeof(id)) != 0)
            abort();
    }
    return 0;
}
