#ifndef SIGV4_TEST_MALLOC_COUNTER_H
#define SIGV4_TEST_MALLOC_COUNTER_H
#include <stdint.h>

/// Number of heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc,
/// memalign) made by the calling thread since it started. Works when the allocator symbols
/// defined in malloc_counter.c are interposed (glibc); otherwise stays 0.
uint64_t sigv4_test_malloc_count(void);
/// Bytes requested by those allocations.
uint64_t sigv4_test_malloc_bytes(void);
/// 1 when the counter is interposed (glibc, no sanitizer); 0 when the counts stay 0 (other platforms, and
/// builds with a sanitizer, which owns the allocator).
int sigv4_test_malloc_counter_available(void);

#endif
