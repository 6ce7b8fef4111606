// Byte classification sixteen bytes at a time, for the request-target scan (`ByteLanes` in
// `_SigV4Crypto` wraps these; `URIEncoding` and `TargetScan` in `SigV4` use them), and hex
// decoding and encoding sixteen digits or bytes at a time (`Hex` in `_SigV4Crypto`).
//
// `static inline`, so that Swift's optimizer inlines them into the scan's loop. SSE2 (every
// x86-64 CPU) through Clang's vector extensions and `__builtin_ia32_pmovmskb128`, not the `_mm_*`
// wrappers (see the CRC32C note in shim.h); elsewhere, eight bytes at a time in a 64-bit word
// (the `_scalar` versions, which tests hold to the SSE2 ones on every platform).
#ifndef CSIGV4_OPENSSL_LANES_H
#define CSIGV4_OPENSSL_LANES_H

#include <stdint.h>
#include <string.h>

/// The eight bytes at `p` as a word whose lane k (bits 8k to 8k+7) is `p[k]`.
static inline uint64_t CSigV4OpenSSL_lanes8(const uint8_t *p) {
    uint64_t x;
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

/// The lanes of `low7` (each under 0x80) that are at least `k` (k <= 0x80), as high bits.
static inline uint64_t CSigV4OpenSSL_at_least8(uint64_t low7, uint64_t k) {
    return (low7 + (0x80 - k) * 0x0101010101010101ULL) & 0x8080808080808080ULL;
}

/// The lanes of `x` equal to `byte`, as high bits (exact: a matching lane never marks its neighbour).
static inline uint64_t CSigV4OpenSSL_equal8(uint64_t x, uint8_t byte) {
    uint64_t y = x ^ (byte * 0x0101010101010101ULL);
    return ~(((y & 0x7f7f7f7f7f7f7f7fULL) + 0x7f7f7f7f7f7f7f7fULL) | y) & 0x8080808080808080ULL;
}

/// Bit k set where lane k of `lanes` (high bits only) is set: the eight high bits gathered into
/// one byte by a multiply whose partial products never overlap.
static inline uint32_t CSigV4OpenSSL_gather8(uint64_t lanes) {
    return (uint32_t)(((lanes >> 7) * 0x0102040810204080ULL) >> 56);
}

/// The high bit of each lane of `x` set where that byte is not unreserved (RFC 3986: `A-Z a-z 0-9
/// - . _ ~`; no byte from 0x80 up is): letters (either case: `| 0x20` folds `A-Z` onto `a-z` and
/// nothing else onto it), `-` `.` and digits, `_` and `~` -- the rule of the SSE2 mask below.
static inline uint64_t CSigV4OpenSSL_not_unreserved8(uint64_t x) {
    const uint64_t low7 = x & 0x7f7f7f7f7f7f7f7fULL;
    const uint64_t letter = CSigV4OpenSSL_at_least8(low7 | 0x2020202020202020ULL, 0x61)
        & ~CSigV4OpenSSL_at_least8(low7 | 0x2020202020202020ULL, 0x7b);
    const uint64_t dashToNine = CSigV4OpenSSL_at_least8(low7, 0x2d) & ~CSigV4OpenSSL_at_least8(low7, 0x3a);
    const uint64_t unreserved = (letter | (dashToNine & ~CSigV4OpenSSL_equal8(x, 0x2f))
        | CSigV4OpenSSL_equal8(x, 0x5f) | CSigV4OpenSSL_equal8(x, 0x7e)) & ~x;
    return ~unreserved & 0x8080808080808080ULL;
}

/// Bit k set where `p[k]` (k < 16) is not unreserved: `CSigV4OpenSSL_not_unreserved16` without
/// SSE2, eight bytes per step. (The one table of the set, for one byte at a time, is
/// `URIEncoding.isUnreserved`'s in Swift.)
static inline uint32_t CSigV4OpenSSL_not_unreserved16_scalar(const uint8_t *p) {
    return CSigV4OpenSSL_gather8(CSigV4OpenSSL_not_unreserved8(CSigV4OpenSSL_lanes8(p)))
        | CSigV4OpenSSL_gather8(CSigV4OpenSSL_not_unreserved8(CSigV4OpenSSL_lanes8(p + 8))) << 8;
}

/// Bit k set where `p[k]` (k < 16) is `byte`: `CSigV4OpenSSL_eq16` without SSE2, eight bytes per step.
static inline uint32_t CSigV4OpenSSL_eq16_scalar(const uint8_t *p, uint8_t byte) {
    return CSigV4OpenSSL_gather8(CSigV4OpenSSL_equal8(CSigV4OpenSSL_lanes8(p), byte))
        | CSigV4OpenSSL_gather8(CSigV4OpenSSL_equal8(CSigV4OpenSSL_lanes8(p + 8), byte)) << 8;
}

/// The value of hex digit `c` (`0-9`, `a-f`; `A-F` too unless `lowercase_only`), or 16 for any
/// other byte.
static inline uint8_t CSigV4OpenSSL_hex_value(uint8_t c, int lowercase_only) {
    if ((uint8_t)(c - 0x30) < 10) return (uint8_t)(c - 0x30);
    if ((uint8_t)(c - 0x61) < 6) return (uint8_t)(c - 0x57);
    if (!lowercase_only && (uint8_t)(c - 0x41) < 6) return (uint8_t)(c - 0x37);
    return 16;
}

/// Decodes the 16 hex digits at `p` (`0-9`, `a-f`; `A-F` too unless `lowercase_only`) into the 8
/// bytes at `out`, one digit at a time; returns the mask of the digits that are not hex (bit k for
/// `p[k]`), 0 when all are. `out` is written either way.
static inline uint32_t CSigV4OpenSSL_hex_decode16_scalar(const uint8_t *p, uint8_t *out, int lowercase_only) {
    uint32_t bad = 0;
    for (int k = 0; k < 8; k++) {
        uint8_t hi = CSigV4OpenSSL_hex_value(p[2 * k], lowercase_only);
        uint8_t lo = CSigV4OpenSSL_hex_value(p[2 * k + 1], lowercase_only);
        bad |= (uint32_t)(hi >> 4) << (2 * k) | (uint32_t)(lo >> 4) << (2 * k + 1);
        out[k] = (uint8_t)(hi << 4 | (lo & 0x0f));
    }
    return bad;
}

/// Writes the lowercase hex of the 16 bytes at `p` (32 digits) at `out`, one byte at a time.
static inline void CSigV4OpenSSL_hex_encode16_scalar(const uint8_t *p, uint8_t *out) {
    for (int k = 0; k < 16; k++) {
        uint8_t hi = p[k] >> 4, lo = p[k] & 0x0f;
        out[2 * k] = (uint8_t)(hi < 10 ? 0x30 + hi : 0x57 + hi);
        out[2 * k + 1] = (uint8_t)(lo < 10 ? 0x30 + lo : 0x57 + lo);
    }
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

/// Bit k set where `p[k]` (k < 16) is `byte` (`pcmpeqb`, `pmovmskb`): the path scan's `/` and `.`.
static inline uint32_t CSigV4OpenSSL_eq16(const uint8_t *p, uint8_t byte) {
    CSigV4OpenSSL_v16u8 x;
    memcpy(&x, p, 16);
    return (uint32_t)__builtin_ia32_pmovmskb128((CSigV4OpenSSL_v16qi)(x == byte));
}

/// Bit k set where `p[k]` (k < 16) is not unreserved, with SSE2: letters (either case: `| 0x20`
/// folds `A-Z` onto `a-z` and nothing else onto it), `-` to `9` but `/`, `_` and `~`.
static inline uint32_t CSigV4OpenSSL_not_unreserved16(const uint8_t *p) {
    CSigV4OpenSSL_v16u8 x;
    memcpy(&x, p, 16);
    CSigV4OpenSSL_v16i8 unreserved = CSigV4OpenSSL_in_range16(x | 0x20, 0x61, 26)
        | (CSigV4OpenSSL_in_range16(x, 0x2d, 13) & (CSigV4OpenSSL_v16i8)(x != 0x2f))
        | (CSigV4OpenSSL_v16i8)(x == 0x5f) | (CSigV4OpenSSL_v16i8)(x == 0x7e);
    return ~(uint32_t)__builtin_ia32_pmovmskb128((CSigV4OpenSSL_v16qi)unreserved) & 0xffff;
}

typedef uint16_t CSigV4OpenSSL_v8u16 __attribute__((vector_size(16)));
typedef short CSigV4OpenSSL_v8hi __attribute__((vector_size(16)));

/// `CSigV4OpenSSL_hex_decode16_scalar` with SSE2: digits and letters by two range tests (letters
/// after `| 0x20` unless `lowercase_only`), each lane's value `(x & 0xf) + 9` for a letter, then
/// each pair as a 16-bit lane `(low byte << 4) | high byte` (digit 2k is the high nibble), packed
/// to bytes with `packuswb`.
static inline uint32_t CSigV4OpenSSL_hex_decode16(const uint8_t *p, uint8_t *out, int lowercase_only) {
    CSigV4OpenSSL_v16u8 x;
    memcpy(&x, p, 16);
    CSigV4OpenSSL_v16i8 digit = CSigV4OpenSSL_in_range16(x, 0x30, 10);
    CSigV4OpenSSL_v16i8 letter = CSigV4OpenSSL_in_range16(lowercase_only ? x : x | 0x20, 0x61, 6);
    CSigV4OpenSSL_v16u8 value = (x & 0x0f) + ((CSigV4OpenSSL_v16u8)letter & 9);
    CSigV4OpenSSL_v8u16 w = (CSigV4OpenSSL_v8u16)value;
    CSigV4OpenSSL_v8u16 pairs = (w & 0x00ff) << 4 | w >> 8;
    CSigV4OpenSSL_v16qi packed = __builtin_ia32_packuswb128((CSigV4OpenSSL_v8hi)pairs, (CSigV4OpenSSL_v8hi)pairs);
    memcpy(out, &packed, 8);
    return ~(uint32_t)__builtin_ia32_pmovmskb128((CSigV4OpenSSL_v16qi)(digit | letter)) & 0xffff;
}

/// `CSigV4OpenSSL_hex_encode16_scalar` with SSE2: the high and low nibbles of each byte, each to
/// `'0' + n` plus 39 more (`'a' - '0' - 10`) where `n > 9`, interleaved (high first) into two
/// 16-byte stores.
static inline void CSigV4OpenSSL_hex_encode16(const uint8_t *p, uint8_t *out) {
    CSigV4OpenSSL_v16u8 x;
    memcpy(&x, p, 16);
    CSigV4OpenSSL_v16u8 hi = (x >> 4) & 0x0f, lo = x & 0x0f;
    hi += 0x30 + ((CSigV4OpenSSL_v16u8)((CSigV4OpenSSL_v16i8)hi > 9) & 39);
    lo += 0x30 + ((CSigV4OpenSSL_v16u8)((CSigV4OpenSSL_v16i8)lo > 9) & 39);
    CSigV4OpenSSL_v16u8 first = __builtin_shufflevector(hi, lo, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    CSigV4OpenSSL_v16u8 second =
        __builtin_shufflevector(hi, lo, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    memcpy(out, &first, 16);
    memcpy(out + 16, &second, 16);
}
#else
static inline uint32_t CSigV4OpenSSL_eq16(const uint8_t *p, uint8_t byte) {
    return CSigV4OpenSSL_eq16_scalar(p, byte);
}

static inline uint32_t CSigV4OpenSSL_not_unreserved16(const uint8_t *p) {
    return CSigV4OpenSSL_not_unreserved16_scalar(p);
}

static inline uint32_t CSigV4OpenSSL_hex_decode16(const uint8_t *p, uint8_t *out, int lowercase_only) {
    return CSigV4OpenSSL_hex_decode16_scalar(p, out, lowercase_only);
}

static inline void CSigV4OpenSSL_hex_encode16(const uint8_t *p, uint8_t *out) {
    CSigV4OpenSSL_hex_encode16_scalar(p, out);
}
#endif

#endif
