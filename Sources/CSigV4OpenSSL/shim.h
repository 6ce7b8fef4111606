// Small static-inline wrappers over libcrypto (OpenSSL 3) for swift-sigv4.
//
// `_SigV4Crypto` imports this module; `SigV4CommandLine` and `SigV4Tool` too, for the X.509
// functions at the end. The low-level SHA-256 and SHA-1
// context APIs are deprecated in OpenSSL 3 but remain part of libcrypto; they
// let us copy a precomputed HMAC state by value, which the EVP API cannot do
// without an allocation. Deprecation attributes are suppressed here, once.
#ifndef CSIGV4_OPENSSL_SHIM_H
#define CSIGV4_OPENSSL_SHIM_H

#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/md5.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/obj_mac.h>
#include <openssl/opensslv.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <limits.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>
#endif

// MARK: - SHA-256 (low-level context, copyable)

static inline int CSigV4OpenSSL_SHA256_Init(SHA256_CTX *ctx) { return SHA256_Init(ctx); }
static inline int CSigV4OpenSSL_SHA256_Update(SHA256_CTX *ctx, const void *data, size_t len) {
    return SHA256_Update(ctx, data, len);
}
static inline int CSigV4OpenSSL_SHA256_Final(unsigned char *md, SHA256_CTX *ctx) { return SHA256_Final(md, ctx); }

// MARK: - SHA-1 (trailing checksums only)

static inline int CSigV4OpenSSL_SHA1_Init(SHA_CTX *ctx) { return SHA1_Init(ctx); }
static inline int CSigV4OpenSSL_SHA1_Update(SHA_CTX *ctx, const void *data, size_t len) {
    return SHA1_Update(ctx, data, len);
}
static inline int CSigV4OpenSSL_SHA1_Final(unsigned char *md, SHA_CTX *ctx) { return SHA1_Final(md, ctx); }

// MARK: - MD5 (Content-MD5 and x-amz-checksum-md5 only)

static inline int CSigV4OpenSSL_MD5_Init(MD5_CTX *ctx) { return MD5_Init(ctx); }
static inline int CSigV4OpenSSL_MD5_Update(MD5_CTX *ctx, const void *data, size_t len) {
    return MD5_Update(ctx, data, len);
}
static inline int CSigV4OpenSSL_MD5_Final(unsigned char *md, MD5_CTX *ctx) { return MD5_Final(md, ctx); }

// MARK: - SHA-512 (trailing checksums only)

static inline int CSigV4OpenSSL_SHA512_Init(SHA512_CTX *ctx) { return SHA512_Init(ctx); }
static inline int CSigV4OpenSSL_SHA512_Update(SHA512_CTX *ctx, const void *data, size_t len) {
    return SHA512_Update(ctx, data, len);
}
static inline int CSigV4OpenSSL_SHA512_Final(unsigned char *md, SHA512_CTX *ctx) { return SHA512_Final(md, ctx); }

// MARK: - Reference ("floor") primitives, used by benchmarks and tests

static inline int CSigV4OpenSSL_EVP_SHA256_Oneshot(const void *data, size_t len, unsigned char *out) {
    unsigned int outLen = 0;
    return EVP_Digest(data, len, out, &outLen, EVP_sha256(), NULL);
}

static inline int CSigV4OpenSSL_HMAC_SHA256_Oneshot(const void *key, int keyLen, const void *data, size_t len,
                                                    unsigned char *out) {
    unsigned int outLen = 0;
    return HMAC(EVP_sha256(), key, keyLen, (const unsigned char *)data, len, out, &outLen) != NULL;
}

// MARK: - Utilities

static inline int CSigV4OpenSSL_CRYPTO_memcmp(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(a, b, len);
}
// Zeroes secret memory. `memset` followed by an empty assembly statement that takes the pointer
// and clobbers memory: the compiler must assume the zeros are read, so it cannot drop them as dead
// stores (the approach of BoringSSL's OPENSSL_cleanse and Linux's memzero_explicit). Inline, where
// OpenSSL 3's OPENSSL_cleanse is an out-of-line byte and word loop (about 4 ns for a 112-byte
// SHA-256 context; a signature without a cached key wipes 25 buffers).
static inline void CSigV4OpenSSL_cleanse(void *ptr, size_t len) {
    memset(ptr, 0, len);
    __asm__ __volatile__("" : : "r"(ptr) : "memory");
}
static inline int CSigV4OpenSSL_RAND_bytes(unsigned char *buf, int num) { return RAND_bytes(buf, num); }
static inline unsigned long CSigV4OpenSSL_ERR_get_error(void) { return ERR_get_error(); }
static inline void CSigV4OpenSSL_ERR_error_string_n(unsigned long e, char *buf, size_t len) {
    ERR_error_string_n(e, buf, len);
}
static inline void CSigV4OpenSSL_ERR_clear_error(void) { ERR_clear_error(); }
static inline const char *CSigV4OpenSSL_version_text(void) { return OpenSSL_version(OPENSSL_VERSION); }

// MARK: - AES-256-GCM (key store encryption at rest)

static inline EVP_CIPHER_CTX *CSigV4OpenSSL_EVP_CIPHER_CTX_new(void) { return EVP_CIPHER_CTX_new(); }
static inline void CSigV4OpenSSL_EVP_CIPHER_CTX_free(EVP_CIPHER_CTX *ctx) { EVP_CIPHER_CTX_free(ctx); }

/// Seals `plaintext` with AES-256-GCM. `tag` receives 16 bytes. Returns 1 on success.
static inline int CSigV4OpenSSL_AES256GCM_Seal(const unsigned char *key, const unsigned char *iv, int ivLen,
                                               const unsigned char *aad, int aadLen, const unsigned char *plaintext,
                                               int ptLen, unsigned char *ciphertext, unsigned char *tag) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int ok = 1, len = 0;
    ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ivLen, NULL) == 1;
    ok = ok && EVP_EncryptInit_ex(ctx, NULL, NULL, key, iv) == 1;
    if (ok && aadLen > 0) ok = EVP_EncryptUpdate(ctx, NULL, &len, aad, aadLen) == 1;
    if (ok && ptLen > 0) ok = EVP_EncryptUpdate(ctx, ciphertext, &len, plaintext, ptLen) == 1;
    ok = ok && EVP_EncryptFinal_ex(ctx, ciphertext + (ptLen > 0 ? len : 0), &len) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

/// Opens an AES-256-GCM box. Returns 1 when the tag verifies, 0 otherwise.
static inline int CSigV4OpenSSL_AES256GCM_Open(const unsigned char *key, const unsigned char *iv, int ivLen,
                                               const unsigned char *aad, int aadLen, const unsigned char *ciphertext,
                                               int ctLen, const unsigned char *tag, unsigned char *plaintext) {
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return 0;
    int ok = 1, len = 0;
    ok = ok && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ivLen, NULL) == 1;
    ok = ok && EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) == 1;
    if (ok && aadLen > 0) ok = EVP_DecryptUpdate(ctx, NULL, &len, aad, aadLen) == 1;
    if (ok && ctLen > 0) ok = EVP_DecryptUpdate(ctx, plaintext, &len, ciphertext, ctLen) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag) == 1;
    ok = ok && EVP_DecryptFinal_ex(ctx, plaintext + (ctLen > 0 ? len : 0), &len) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

// MARK: - CRC32C (Castagnoli), hardware-assisted where the CPU has SSE4.2

static inline int CSigV4OpenSSL_cpu_has_sse42(void) {
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return 0;
    return (ecx & bit_SSE4_2) != 0;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static inline uint32_t CSigV4OpenSSL_crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    // The builtins, not the _mm_crc32_* wrappers: Swift's Clang importer does not emit those
    // always-inline wrappers, which left undefined references at link time.
    while (n > 0 && ((uintptr_t)p & 7) != 0) { c = __builtin_ia32_crc32qi((uint32_t)c, *p++); n--; }
    while (n >= 8) { uint64_t v; memcpy(&v, p, 8); c = __builtin_ia32_crc32di(c, v); p += 8; n -= 8; }
    while (n > 0) { c = __builtin_ia32_crc32qi((uint32_t)c, *p++); n--; }
    return (uint32_t)c;
}
#else
static inline uint32_t CSigV4OpenSSL_crc32c_sse42(uint32_t crc, const uint8_t *p, size_t n) {
    (void)p; (void)n; return crc;
}
#endif

// MARK: - CRC32 (IEEE), carry-less-multiply folding where the CPU has PCLMULQDQ

static inline int CSigV4OpenSSL_cpu_has_pclmul(void) {
#if defined(__x86_64__)
    unsigned int eax, ebx, ecx, edx;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return 0;
    return (ecx & bit_PCLMUL) != 0 && (edx & bit_SSE2) != 0;
#else
    return 0;
#endif
}

#if defined(__x86_64__)
typedef long long CSigV4OpenSSL_v2di __attribute__((vector_size(16)));

/// One fold: x(lo) * k(lo) ^ x(hi) * k(hi) ^ next, in GF(2)[x].
__attribute__((target("pclmul,sse2")))
static inline CSigV4OpenSSL_v2di CSigV4OpenSSL_clmul_fold(CSigV4OpenSSL_v2di x, CSigV4OpenSSL_v2di k,
                                                          CSigV4OpenSSL_v2di next) {
    return __builtin_ia32_pclmulqdq128(x, k, 0x00) ^ __builtin_ia32_pclmulqdq128(x, k, 0x11) ^ next;
}

/// Folds `p[0..<n]` (n >= 64) for a reflected CRC whose register `init` (CRC-32's in the low 32
/// bits) is XORed into the first 16 bytes, down to 16 bytes written to `out`, with `k512` for the
/// four lanes 64 bytes apart and `k128` for lanes 16 bytes apart. Returns the bytes consumed (a
/// multiple of 16). The caller finishes with its table-driven CRC: register 0 over `out`, then
/// the unconsumed tail (Intel, "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ",
/// 2009). Uses the builtins: Swift's Clang importer does not emit the always-inline _mm_* wrappers.
__attribute__((target("pclmul,sse2")))
static inline size_t CSigV4OpenSSL_pclmul_fold(uint64_t init, CSigV4OpenSSL_v2di k512, CSigV4OpenSSL_v2di k128,
                                               const uint8_t *p, size_t n, uint8_t *out) {
    if (n < 64) return 0;
    CSigV4OpenSSL_v2di x0, x1, x2, x3, y0, y1, y2, y3;
    memcpy(&x0, p, 16); memcpy(&x1, p + 16, 16); memcpy(&x2, p + 32, 16); memcpy(&x3, p + 48, 16);
    const CSigV4OpenSSL_v2di first = {(long long)init, 0};
    x0 ^= first;
    size_t done = 64;
    while (n - done >= 64) {
        memcpy(&y0, p + done, 16); memcpy(&y1, p + done + 16, 16);
        memcpy(&y2, p + done + 32, 16); memcpy(&y3, p + done + 48, 16);
        x0 = CSigV4OpenSSL_clmul_fold(x0, k512, y0);
        x1 = CSigV4OpenSSL_clmul_fold(x1, k512, y1);
        x2 = CSigV4OpenSSL_clmul_fold(x2, k512, y2);
        x3 = CSigV4OpenSSL_clmul_fold(x3, k512, y3);
        done += 64;
    }
    x0 = CSigV4OpenSSL_clmul_fold(x0, k128, x1);
    x0 = CSigV4OpenSSL_clmul_fold(x0, k128, x2);
    x0 = CSigV4OpenSSL_clmul_fold(x0, k128, x3);
    while (n - done >= 16) {
        memcpy(&y0, p + done, 16);
        x0 = CSigV4OpenSSL_clmul_fold(x0, k128, y0);
        done += 16;
    }
    memcpy(out, &x0, 16);
    return done;
}

/// The reflected CRC-32 (IEEE) fold. Constants: x^(512±32) and x^(128±32) mod P, bit-reflected
/// and shifted left by one.
__attribute__((target("pclmul,sse2")))
static inline size_t CSigV4OpenSSL_crc32_pclmul_fold(uint32_t crc, const uint8_t *p, size_t n, uint8_t *out) {
    const CSigV4OpenSSL_v2di k512 = {0x154442bd4LL, 0x1c6e41596LL};
    const CSigV4OpenSSL_v2di k128 = {0x1751997d0LL, 0x0ccaa009eLL};
    return CSigV4OpenSSL_pclmul_fold(crc, k512, k128, p, n, out);
}

/// The reflected CRC-64/NVME fold. Constants: x^(512+63), x^(512-1), x^(128+63) and x^(128-1)
/// mod P (P = 0xAD93D23594C93659), bit-reflected (checked against the table CRC by the tests and
/// derived by scripts/crc64-fold-constants.py).
__attribute__((target("pclmul,sse2")))
static inline size_t CSigV4OpenSSL_crc64_pclmul_fold(uint64_t crc, const uint8_t *p, size_t n, uint8_t *out) {
    const CSigV4OpenSSL_v2di k512 = {(long long)0x0c32cdb31e18a84aULL, (long long)0x62242240ace5045aULL};
    const CSigV4OpenSSL_v2di k128 = {(long long)0xeadc41fd2ba3d420ULL, (long long)0x21e9761e252621acULL};
    return CSigV4OpenSSL_pclmul_fold(crc, k512, k128, p, n, out);
}
#else
static inline size_t CSigV4OpenSSL_crc32_pclmul_fold(uint32_t crc, const uint8_t *p, size_t n, uint8_t *out) {
    (void)crc; (void)p; (void)n; (void)out; return 0;
}
static inline size_t CSigV4OpenSSL_crc64_pclmul_fold(uint64_t crc, const uint8_t *p, size_t n, uint8_t *out) {
    (void)crc; (void)p; (void)n; (void)out; return 0;
}
#endif


// MARK: - ECDSA P-256 (SigV4a)
//
// The low-level EC_KEY API (deprecated in OpenSSL 3, still part of libcrypto) keeps each key in
// one object with no provider lookup per call. EC_KEY_free clears the private scalar.

/// A P-256 key from a 32-byte big-endian private scalar (1 <= d < n), with its public point
/// computed; NULL when the scalar is out of range or on an OpenSSL error.
static inline EC_KEY *CSigV4OpenSSL_p256_from_private(const uint8_t *d32) {
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (key == NULL) return NULL;
    const EC_GROUP *group = EC_KEY_get0_group(key);
    BIGNUM *d = BN_bin2bn(d32, 32, NULL);
    EC_POINT *q = EC_POINT_new(group);
    int ok = d != NULL && q != NULL && !BN_is_zero(d) && BN_cmp(d, EC_GROUP_get0_order(group)) < 0
        && EC_POINT_mul(group, q, d, NULL, NULL, NULL) == 1
        && EC_KEY_set_private_key(key, d) == 1 && EC_KEY_set_public_key(key, q) == 1;
    BN_clear_free(d);
    EC_POINT_free(q);
    if (!ok) { EC_KEY_free(key); return NULL; }
    return key;
}

/// A P-256 public key from its affine coordinates (32 bytes each, big-endian); NULL when the point
/// is not on the curve.
static inline EC_KEY *CSigV4OpenSSL_p256_from_public(const uint8_t *x32, const uint8_t *y32) {
    EC_KEY *key = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (key == NULL) return NULL;
    BIGNUM *x = BN_bin2bn(x32, 32, NULL);
    BIGNUM *y = BN_bin2bn(y32, 32, NULL);
    int ok = x != NULL && y != NULL && EC_KEY_set_public_key_affine_coordinates(key, x, y) == 1
        && EC_KEY_check_key(key) == 1;
    BN_free(x);
    BN_free(y);
    if (!ok) { EC_KEY_free(key); return NULL; }
    return key;
}

/// Writes the public point's affine coordinates (32 bytes each, big-endian). Returns 1 on success.
static inline int CSigV4OpenSSL_p256_public_xy(const EC_KEY *key, uint8_t *x32, uint8_t *y32) {
    const EC_POINT *q = EC_KEY_get0_public_key(key);
    if (q == NULL) return 0;
    BIGNUM *x = BN_new();
    BIGNUM *y = BN_new();
    int ok = x != NULL && y != NULL
        && EC_POINT_get_affine_coordinates(EC_KEY_get0_group(key), q, x, y, NULL) == 1
        && BN_bn2binpad(x, x32, 32) == 32 && BN_bn2binpad(y, y32, 32) == 32;
    BN_free(x);
    BN_free(y);
    return ok;
}

/// ECDSA over a 32-byte digest; writes the DER signature (at most 72 bytes) and returns its length,
/// or 0 on an OpenSSL error.
static inline int CSigV4OpenSSL_p256_sign(EC_KEY *key, const uint8_t *digest32, uint8_t *der72) {
    unsigned int length = 0;
    if (ECDSA_size(key) > 72) return 0;
    if (ECDSA_sign(0, digest32, 32, der72, &length, key) != 1) return 0;
    return (int)length;
}

/// 1 when `der` is a valid DER ECDSA signature of the 32-byte digest under `key`, 0 otherwise
/// (malformed DER included).
static inline int CSigV4OpenSSL_p256_verify(EC_KEY *key, const uint8_t *digest32, const uint8_t *der, size_t length) {
    if (length == 0 || length > 72) return 0;
    int r = ECDSA_verify(0, digest32, 32, der, (int)length, key);
    ERR_clear_error();
    return r == 1;
}

static inline void CSigV4OpenSSL_p256_free(EC_KEY *key) { EC_KEY_free(key); }

// MARK: - X.509 (the gateway's mutual-TLS client identity)

/// The subject of the DER certificate `der` as an RFC 2253 string (the most specific name first,
/// `,+"\<>;` escaped, control bytes and every byte of a non-ASCII character as `\XX`: the result is
/// printable ASCII), copied into `out` without a NUL. Returns its length; -1 when `der` is not
/// exactly one DER certificate; -2 when the subject is longer than `capacity`.
static inline long CSigV4OpenSSL_x509_subject_rfc2253(
    const uint8_t *der, size_t length, char *out, size_t capacity) {
    if (length == 0 || length > (size_t)LONG_MAX) return -1;
    const unsigned char *p = der;
    X509 *certificate = d2i_X509(NULL, &p, (long)length);
    if (certificate == NULL || p != der + length) {
        X509_free(certificate);
        ERR_clear_error();
        return -1;
    }
    long result = -1;
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL && X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
        char *text = NULL;
        long count = BIO_get_mem_data(bio, &text);
        if (count >= 0 && (size_t)count <= capacity) {
            if (count > 0) memcpy(out, text, (size_t)count);
            result = count;
        } else {
            result = -2;
        }
    }
    BIO_free(bio);
    X509_free(certificate);
    ERR_clear_error();
    return result;
}

/// Whether the first certificate of the PEM text `certificate` and the PEM private key `key` go
/// together (`X509_check_private_key`): 1 when they do, 0 when they do not, -1 when either cannot be
/// read. No secret is printed or kept; the parsed key is freed before returning.
static inline int CSigV4OpenSSL_pem_pair_matches(
    const uint8_t *certificate, size_t certificateLength, const uint8_t *key, size_t keyLength) {
    if (certificateLength > (size_t)INT_MAX || keyLength > (size_t)INT_MAX) return -1;
    int result = -1;
    BIO *certificateBIO = BIO_new_mem_buf(certificate, (int)certificateLength);
    BIO *keyBIO = BIO_new_mem_buf(key, (int)keyLength);
    X509 *x509 = certificateBIO ? PEM_read_bio_X509(certificateBIO, NULL, NULL, NULL) : NULL;
    /* An empty passphrase callback: an encrypted key is "cannot be read", never a prompt. */
    EVP_PKEY *pkey = keyBIO ? PEM_read_bio_PrivateKey(keyBIO, NULL, NULL, (void *)"") : NULL;
    if (x509 != NULL && pkey != NULL) result = X509_check_private_key(x509, pkey) == 1 ? 1 : 0;
    EVP_PKEY_free(pkey);
    X509_free(x509);
    BIO_free(keyBIO);
    BIO_free(certificateBIO);
    ERR_clear_error();
    return result;
}

/// A certificate store holding every certificate of the PEM text `pem` (a mutual-TLS server's client
/// CAs), or NULL when the text holds none or one cannot be read. `*count` is set to how many were
/// read. Free it with `CSigV4OpenSSL_x509_store_free`.
static inline X509_STORE *CSigV4OpenSSL_x509_store_from_pem(const uint8_t *pem, size_t length, int *count) {
    *count = 0;
    if (length == 0 || length > (size_t)INT_MAX) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)length);
    X509_STORE *store = X509_STORE_new();
    int ok = bio != NULL && store != NULL;
    while (ok) {
        X509 *certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (certificate == NULL) {
            /* The end of the text, or a block that is not a certificate. */
            unsigned long error = ERR_peek_last_error();
            if (!(ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE)) ok = 0;
            break;
        }
        if (X509_STORE_add_cert(store, certificate) != 1) ok = 0; else *count += 1;
        X509_free(certificate);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (!ok || *count == 0) {
        X509_STORE_free(store);
        *count = ok ? 0 : -1;
        return NULL;
    }
    return store;
}

static inline void CSigV4OpenSSL_x509_store_free(X509_STORE *store) { X509_STORE_free(store); }

/// 1 when the DER certificates `chain` (the peer's, its own first, then the intermediates it sent)
/// chain to a certificate of `store`, each valid now, the first fit for a TLS client
/// (`X509_PURPOSE_SSL_CLIENT`); 0 otherwise, an unreadable certificate included.
static inline int CSigV4OpenSSL_x509_verify_client(
    X509_STORE *store, const uint8_t *const *chain, const size_t *lengths, size_t count) {
    if (store == NULL || count == 0 || count > 64) return 0;
    int verified = 0;
    X509 *leaf = NULL;
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    X509_STORE_CTX *context = X509_STORE_CTX_new();
    int ok = untrusted != NULL && context != NULL;
    for (size_t i = 0; ok && i < count; i++) {
        if (lengths[i] == 0 || lengths[i] > (size_t)LONG_MAX) { ok = 0; break; }
        const unsigned char *p = chain[i];
        X509 *certificate = d2i_X509(NULL, &p, (long)lengths[i]);
        if (certificate == NULL || p != chain[i] + lengths[i]) { X509_free(certificate); ok = 0; break; }
        if (i == 0) {
            leaf = certificate;
        } else if (sk_X509_push(untrusted, certificate) == 0) {
            X509_free(certificate);
            ok = 0;
        }
    }
    if (ok && X509_STORE_CTX_init(context, store, leaf, untrusted) == 1
        && X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_CLIENT) == 1) {
        verified = X509_verify_cert(context) == 1;
    }
    X509_STORE_CTX_free(context);
    sk_X509_pop_free(untrusted, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    return verified;
}

#endif
