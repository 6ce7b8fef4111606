// Byte classification sixteen bytes at a time, for the request-target scan (`ByteLanes` in
// `_SigV4Crypto` wraps these; `URIEncoding` and `TargetScan` in `SigV4` use them).
//
// `static inline`, so that Swift's optimizer inlines them into the scan's loop. SSE2 (every
// x86-64 CPU) through Clang's vector extensions and `__builtin_ia32_pmovmskb128`, not the `_mm_*`
// wrappers (see the CRC32C note in shim.h); elsewhere, one byte at a time.
#ifndef CSIGV4_OPENSSL_LANES_H
#define CSIGV4_OPENSSL_LANES_H

#include <stdint.h>
#include <string.h>

/// Bit k set where `p[k]` (k < 16) is not unreserved, one byte at a time: RFC 3986's unreserved
/// bytes are `A-Z a-z 0-9 - . _ ~`, whose bits are set in two 64-bit words (bytes 0-63 and 64-127;
/// none from 0x80 up).
static inline uint32_t CSigV4OpenSSL_not_unreserved16_scalar(const uint8_t *p) {
    const uint64_t low = 0x03FF600000000000ULL, high = 0x47FFFFFE87FFFFFEULL;
    uint32_t mask = 0;
    for (int k = 0; k < 16; k++) {
        uint8_t b = p[k];
        uint64_t word = b < 64 ? low : high;
        int unreserved = b < 128 && ((word >> (b & 63)) & 1) != 0;
        mask |= (uint32_t)!unreserved << k;
    }
    return mask;
}

#if defined(__SSE2__)
typedef uint8_t CSigV4OpenSSL_v16u8 __attribute__((vector_size(16)));
typedef int8_t CSigV4OpenSSL_v16i8 __attribute__((vector_size(16)));
typedef char CSigV4OpenSSL_v16qi __attribute__((vector_size(16)));

/// True lanes (all ones) where `x` is in `lower..<lower + count` (`lower + count` <= 0x80): added
/// to `0x80 - lower`, exactly those lanes land below `-128 + count` as signed bytes.
static inline CSigV4OpenSSL_v16i8 CSigV4OpenSSL_in_range16(CSigV4OpenSSL_v16u8 x, uint8_t lower, int8_t count) {
    return (CSigV4OpenSSL_v16i8)(x + (uint8_t)(0x80 - lower)) < (int8_t)(-128 + count);
}

/// The mask of `CSigV4OpenSSL_not_unreserved16_scalar`, with SSE2: letters (either case: `| 0x20`
/// folds `A-Z` onto `a-z` and nothing else onto it), `-` to `9` but `/`, `_` and `~`.
static inline uint32_t CSigV4OpenSSL_not_unreserved16(const uint8_t *p) {
    CSigV4OpenSSL_v16u8 x;
    memcpy(&x, p, 16);
    CSigV4OpenSSL_v16i8 unreserved = CSigV4OpenSSL_in_range16(x | 0x20, 0x61, 26)
        | (CSigV4OpenSSL_in_range16(x, 0x2d, 13) & (CSigV4OpenSSL_v16i8)(x != 0x2f))
        | (CSigV4OpenSSL_v16i8)(x == 0x5f) | (CSigV4OpenSSL_v16i8)(x == 0x7e);
    return ~(uint32_t)__builtin_ia32_pmovmskb128((CSigV4OpenSSL_v16qi)unreserved) & 0xffff;
}
#else
static inline uint32_t CSigV4OpenSSL_not_unreserved16(const uint8_t *p) {
    return CSigV4OpenSSL_not_unreserved16_scalar(p);
}
#endif

#endif
