/*
 * files_sha256() for native builds (tests, fuzz targets, tools): one call
 * to libcrypto's EVP one-shot digest, which uses the CPU's SHA extensions
 * where there are some (about five times libsodium's portable code here,
 * which matters at a gigabyte a second); libsodium's crypto_hash_sha256
 * when built with FILES_HASH_SODIUM (plugins/files/lib/module.mk: no
 * libcrypto, or FILES_HASH=sodium). Not built for wasm32-wasi: there the
 * plugin provides files_sha256() over the host's import.
 */
#include <stdlib.h>

#include "files_hash.h"

#ifdef FILES_HASH_SODIUM
#include <sodium.h>

void files_sha256(const void *p, size_t n, uint8_t out[FILES_SHA256_LEN])
{
    crypto_hash_sha256(out, p, n);
}
#else
#include <openssl/evp.h>

void files_sha256(const void *p, size_t n, uint8_t out[FILES_SHA256_LEN])
{
    unsigned int len = 0;

    /* Only an allocation failure inside libcrypto can fail this. */
    if (!EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) ||
        len != FILES_SHA256_LEN)
        abort();
}
#endif
