/* Small memory helpers shared by every subsystem. */
#ifndef FASTN_UTIL_MEM_H
#define FASTN_UTIL_MEM_H

#include <stddef.h>

/* Overwrites n bytes at p with zeros in a way the compiler cannot drop
 * (for memory that held secrets). NULL-safe. */
void mem_wipe(void *p, size_t n);

/* Constant-time comparison; returns true when equal. */
int mem_equal_ct(const void *a, const void *b, size_t n);

#endif
