#ifndef SIGV4_BENCH_FLOOR_H
#define SIGV4_BENCH_FLOOR_H
#include <stddef.h>
#include <stdint.h>

/// The libcrypto floor, used the efficient way: `EVP_MD` fetched once, one `EVP_MD_CTX` and one
/// `EVP_MAC_CTX` (HMAC) reused across calls. Not thread safe: one per thread.
typedef struct sigv4_bench_floor sigv4_bench_floor;

sigv4_bench_floor *sigv4_bench_floor_new(void);
void sigv4_bench_floor_free(sigv4_bench_floor *f);
/// SHA-256 of `data` into `out` (32 bytes). Returns 1 on success.
int sigv4_bench_floor_sha256(sigv4_bench_floor *f, const void *data, size_t len, uint8_t *out);
/// HMAC-SHA256 of `data` under `key` into `out` (32 bytes). Returns 1 on success.
int sigv4_bench_floor_hmac(sigv4_bench_floor *f, const void *key, size_t keyLen, const void *data, size_t len,
                           uint8_t *out);
/// One-shot forms with no reuse: `EVP_Digest(EVP_sha256())` and `HMAC(EVP_sha256())`.
int sigv4_bench_oneshot_sha256(const void *data, size_t len, uint8_t *out);
int sigv4_bench_oneshot_hmac(const void *key, size_t keyLen, const void *data, size_t len, uint8_t *out);
/// The raw floor: SHA256_Init/Update/Final (no EVP dispatch) and HMAC written over them,
/// absorbing the key block on every call.
int sigv4_bench_raw_sha256(const void *data, size_t len, uint8_t *out);
int sigv4_bench_raw_hmac(const void *key, size_t keyLen, const void *data, size_t len, uint8_t *out);
/// libcrypto's version text.
const char *sigv4_bench_openssl_version(void);

#endif
