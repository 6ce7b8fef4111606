#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "bench_floor.h"
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

struct sigv4_bench_floor {
    EVP_MD *md;
    EVP_MD_CTX *mdctx;
    EVP_MAC *mac;
    EVP_MAC_CTX *macctx;
    OSSL_PARAM params[2];
};

sigv4_bench_floor *sigv4_bench_floor_new(void) {
    sigv4_bench_floor *f = calloc(1, sizeof(*f));
    if (f == NULL) return NULL;
    f->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    f->mdctx = EVP_MD_CTX_new();
    f->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    f->macctx = f->mac ? EVP_MAC_CTX_new(f->mac) : NULL;
    f->params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    f->params[1] = OSSL_PARAM_construct_end();
    if (!f->md || !f->mdctx || !f->macctx || !EVP_MAC_CTX_set_params(f->macctx, f->params)) {
        sigv4_bench_floor_free(f);
        return NULL;
    }
    return f;
}

void sigv4_bench_floor_free(sigv4_bench_floor *f) {
    if (f == NULL) return;
    EVP_MAC_CTX_free(f->macctx);
    EVP_MAC_free(f->mac);
    EVP_MD_CTX_free(f->mdctx);
    EVP_MD_free(f->md);
    free(f);
}

int sigv4_bench_floor_sha256(sigv4_bench_floor *f, const void *data, size_t len, uint8_t *out) {
    unsigned int n = 0;
    return EVP_DigestInit_ex2(f->mdctx, f->md, NULL) && EVP_DigestUpdate(f->mdctx, data, len) &&
           EVP_DigestFinal_ex(f->mdctx, out, &n);
}

int sigv4_bench_floor_hmac(sigv4_bench_floor *f, const void *key, size_t keyLen, const void *data, size_t len,
                           uint8_t *out) {
    size_t n = 0;
    return EVP_MAC_init(f->macctx, key, keyLen, NULL) && EVP_MAC_update(f->macctx, data, len) &&
           EVP_MAC_final(f->macctx, out, &n, 32);
}

int sigv4_bench_oneshot_sha256(const void *data, size_t len, uint8_t *out) {
    unsigned int n = 0;
    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int sigv4_bench_oneshot_hmac(const void *key, size_t keyLen, const void *data, size_t len, uint8_t *out) {
    unsigned int n = 0;
    return HMAC(EVP_sha256(), key, (int)keyLen, data, len, out, &n) != NULL;
}

const char *sigv4_bench_openssl_version(void) { return OpenSSL_version(OPENSSL_VERSION); }

// The raw floor: libcrypto's SHA-256 block functions with no EVP dispatch, and HMAC written
// out over them (RFC 2104, key block absorbed on every call: no precomputed states).
#include <openssl/sha.h>
#include <string.h>

int sigv4_bench_raw_sha256(const void *data, size_t len, uint8_t *out) {
    SHA256_CTX c;
    return SHA256_Init(&c) && SHA256_Update(&c, data, len) && SHA256_Final(out, &c);
}

int sigv4_bench_raw_hmac(const void *key, size_t keyLen, const void *data, size_t len, uint8_t *out) {
    uint8_t block[64], inner[32];
    memset(block, 0, sizeof block);
    if (keyLen > 64) {
        sigv4_bench_raw_sha256(key, keyLen, block);
    } else {
        memcpy(block, key, keyLen);
    }
    SHA256_CTX c;
    for (int i = 0; i < 64; i++) block[i] ^= 0x36;
    SHA256_Init(&c);
    SHA256_Update(&c, block, 64);
    SHA256_Update(&c, data, len);
    SHA256_Final(inner, &c);
    for (int i = 0; i < 64; i++) block[i] ^= 0x36 ^ 0x5c;
    SHA256_Init(&c);
    SHA256_Update(&c, block, 64);
    SHA256_Update(&c, inner, 32);
    SHA256_Final(out, &c);
    OPENSSL_cleanse(block, sizeof block);
    return 1;
}
