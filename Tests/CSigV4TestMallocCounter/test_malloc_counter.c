// A minimal allocation counter: the executable defines the allocator entry points, which
// the dynamic linker prefers over libc's, counts per thread and forwards to glibc's own
// implementations (__libc_*). `free` is not interposed: it stays glibc's, which owns every
// block. Thread-local counters keep the count exact for the measuring thread.
#define _GNU_SOURCE
#include "test_malloc_counter.h"
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

// Under a sanitizer the sanitizer owns the allocator: interposing malloc as well crashes the process while
// the sanitizer initializes (the dynamic linker's first malloc lands here before TLS is ready), so the
// counter is compiled out and reports that it is unavailable.
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SIGV4_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SIGV4_TEST_SANITIZED 1
#endif

#if defined(__linux__) && defined(__GLIBC__) && !defined(SIGV4_TEST_SANITIZED)
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static __thread uint64_t tlsCount __attribute__((tls_model("initial-exec")));
static __thread uint64_t tlsBytes __attribute__((tls_model("initial-exec")));

void *malloc(size_t n) {
    tlsCount++;
    tlsBytes += n;
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b) {
    tlsCount++;
    tlsBytes += a * b;
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n) {
    tlsCount++;
    tlsBytes += n;
    return __libc_realloc(p, n);
}

void *memalign(size_t alignment, size_t n) {
    tlsCount++;
    tlsBytes += n;
    return __libc_memalign(alignment, n);
}

void *aligned_alloc(size_t alignment, size_t n) {
    tlsCount++;
    tlsBytes += n;
    return __libc_memalign(alignment, n);
}

int posix_memalign(void **out, size_t alignment, size_t n) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(alignment, n);
    if (p == NULL) return ENOMEM;
    tlsCount++;
    tlsBytes += n;
    *out = p;
    return 0;
}

uint64_t sigv4_test_malloc_count(void) { return tlsCount; }
uint64_t sigv4_test_malloc_bytes(void) { return tlsBytes; }
int sigv4_test_malloc_counter_available(void) { return 1; }

#else
uint64_t sigv4_test_malloc_count(void) { return 0; }
uint64_t sigv4_test_malloc_bytes(void) { return 0; }
int sigv4_test_malloc_counter_available(void) { return 0; }
#endif
