// Public (not internal, as in the other files): the inlinable `notUnreserved16` and `equal16` call lanes.h.
public import CSigV4OpenSSL

/// Tests on eight bytes at once, held in a `UInt64` (one lane per byte): each answer is a word
/// with the high bit of every lane that passes set, and no other bit. The hex decoder, the
/// `x-amz-content-sha256` check, the date parser and date-stamp checks, the query scan and the
/// verifier's credential scan share them. Public and inlinable (this module is not a product):
/// declared `package`, the calls from the other modules were not inlined, and a call per lane test
/// cost the credential scan more than the tests. ``notUnreserved16(_:)`` and ``equal16(_:_:)`` test
/// sixteen bytes at once, in C (`lanes.h`).
///
/// ```swift
/// let x = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
/// let digits = ByteLanes.digits(x)   // '0'…'9', not 0xb0…0xb9
/// let slashes = ByteLanes.equal(x, 0x2f)
/// ```
public enum ByteLanes {
    /// The high bit of every lane.
    @inlinable @inline(__always)
    public static var high: UInt64 { 0x8080_8080_8080_8080 }

    /// `x` with every lane's high bit cleared (the lane tests below need lanes under `0x80`; mask
    /// their answer with `~x` to refuse the bytes that had it).
    @inlinable @inline(__always)
    public static func low7(_ x: UInt64) -> UInt64 { x & 0x7f7f_7f7f_7f7f_7f7f }

    /// The lanes of `low7` (each under `0x80`) that are at least `k` (`k` ≤ `0x80`): a lane at
    /// least `k` sets its high bit in `lane + (0x80 - k)`, with no carry into the next lane.
    @inlinable @inline(__always)
    public static func atLeast(_ low7: UInt64, _ k: UInt64) -> UInt64 {
        (low7 &+ (0x80 - k) &* 0x0101_0101_0101_0101) & high
    }

    /// The lanes of `low7` (each under `0x80`) in `lower..<upper`.
    @inlinable @inline(__always)
    public static func inRange(_ low7: UInt64, _ lower: UInt64, _ upper: UInt64) -> UInt64 {
        atLeast(low7, lower) & ~atLeast(low7, upper)
    }

    /// The lanes of `x` that are zero (exact: a zero lane never marks its neighbour).
    @inlinable @inline(__always)
    public static func zero(_ x: UInt64) -> UInt64 {
        ~((low7(x) &+ 0x7f7f_7f7f_7f7f_7f7f) | x) & high
    }

    /// The lanes of `x` that are ASCII digits (`0`…`9`; not `0xb0`…`0xb9`, whose high bit is set).
    @inlinable @inline(__always)
    public static func digits(_ x: UInt64) -> UInt64 {
        inRange(low7(x), 0x30, 0x3a) & ~x
    }

    /// The lanes of `x` equal to `byte`.
    @inlinable @inline(__always)
    public static func equal(_ x: UInt64, _ byte: UInt8) -> UInt64 {
        zero(x ^ (UInt64(byte) &* 0x0101_0101_0101_0101))
    }

    /// Bit `k` set where byte `k` of the 16 at `p` is not unreserved (`A-Z a-z 0-9 - . _ ~`; no
    /// byte from `0x80` up is), no other bit: sixteen lanes per step with SSE2 on x86-64, two 64-bit
    /// words elsewhere (`lanes.h`). The target scan's classification, path and query.
    ///
    /// ```swift
    /// let marked = ByteLanes.notUnreserved16(base + i)  // bit k: base[i + k] needs a look
    /// let first = i + marked.trailingZeroBitCount       // i + 16 when there is none
    /// ```
    @inlinable @inline(__always)
    public static func notUnreserved16(_ p: UnsafePointer<UInt8>) -> UInt32 {
        CSigV4OpenSSL_not_unreserved16(p)
    }

    /// Bit `k` set where byte `k` of the 16 at `p` is `byte`, no other bit (`pcmpeqb` and
    /// `pmovmskb` with SSE2, two 64-bit words elsewhere; `lanes.h`). The path scan's `/` and `.`.
    ///
    /// ```swift
    /// let slashes = ByteLanes.equal16(base + i, 0x2f)
    /// let lastSlash = i + 31 - slashes.leadingZeroBitCount  // when slashes != 0
    /// ```
    @inlinable @inline(__always)
    public static func equal16(_ p: UnsafePointer<UInt8>, _ byte: UInt8) -> UInt32 {
        CSigV4OpenSSL_eq16(p, byte)
    }

    /// ``notUnreserved16(_:)`` without SSE2 (its fallback elsewhere), under its own name so that
    /// tests hold the SSE2 one and it to the definition on every platform.
    ///
    /// ```swift
    /// #expect(ByteLanes.notUnreserved16(p) == ByteLanes.notUnreserved16Scalar(p))
    /// ```
    package static func notUnreserved16Scalar(_ p: UnsafePointer<UInt8>) -> UInt32 {
        CSigV4OpenSSL_not_unreserved16_scalar(p)
    }

    /// ``equal16(_:_:)`` without SSE2 (its fallback elsewhere), under its own name for the tests.
    ///
    /// ```swift
    /// #expect(ByteLanes.equal16(p, 0x2f) == ByteLanes.equal16Scalar(p, 0x2f))
    /// ```
    package static func equal16Scalar(_ p: UnsafePointer<UInt8>, _ byte: UInt8) -> UInt32 {
        CSigV4OpenSSL_eq16_scalar(p, byte)
    }
}
