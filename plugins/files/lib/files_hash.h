/*
 * The one hash the files core needs, SHA-256, provided by the platform:
 * natively hash_native.c (libcrypto), in the plugin the host's import
 * (hashing in the interpreter would cost several times native speed).
 * It cannot fail: the platform aborts if its hash does.
 */
#ifndef FASTN_FILES_HASH_H
#define FASTN_FILES_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FILES_SHA256_LEN 32

void files_sha256(const void *p, size_t n, uint8_t out[FILES_SHA256_LEN]);

#endif
