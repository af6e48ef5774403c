/* Small memory helpers shared by every subsystem. */
#ifndef FASTN_UTIL_MEM_H
#define FASTN_UTIL_MEM_H

#include <stddef.h>
#include <sys/uio.h>

/* Overwrites n bytes at p with zeros in a way the compiler cannot drop
 * (for memory that held secrets). NULL-safe. */
void mem_wipe(void *p, size_t n);

/* Constant-time comparison; returns true when equal. */
int mem_equal_ct(const void *a, const void *b, size_t n);

/* The n pieces of v one after another in one malloc'd buffer (free()
 * it; at least 1 byte, so that an empty answer is not NULL), their total
 * length in *len; NULL when out of memory. */
void *mem_join(const struct iovec *v, size_t n, size_t *len);

#endif
