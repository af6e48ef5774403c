/*
 * files_sha256() for native builds (tests, fuzz targets, tools): one call
 * to libcrypto's EVP one-shot digest, which uses the CPU's SHA extensions
 * where there are some (several times libsodium's portable code, which
 * matters at a gigabyte a second). Not built for wasm32-wasi: there the
 * plugin provides files_sha256() over the host's import.
 */
#include <openssl/evp.h>
#include <stdlib.h>

#include "files_hash.h"

void files_sha256(const void *p, size_t n, uint8_t out[FILES_SHA256_LEN])
{
    unsigned int len = 0;

    /* Only an allocation failure inside libcrypto can fail this. */
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) ||
        len != FILES_SHA256_LEN)
        abort();
}
