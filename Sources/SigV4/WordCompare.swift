import _SigV4Crypto

/// Short byte runs (header names, values, signed names) tested eight bytes at a time: one shape
/// for every such test, instead of a copy of it per test (session 52). ``all(_:_:count:_:)`` covers
/// `count` bytes with words, the last one ending at the last byte (overlapping bytes already
/// tested), two half-words for 4 to 7 bytes and the first, middle and last byte for 1 to 3: no byte
/// loop at any length. Inlinable, so that the verifier's calls are inlined too.
///
/// ```swift
/// let host: StaticString = "host"
/// let same = WordCompare.equal(a, b, count: 13)                          // as `memcmp(a, b, 13) == 0`
/// let isHost = WordCompare.equalIgnoringCase(name, host.utf8Start, count: 4)   // `Host`, `HOST`, `host`
/// let ascii = WordCompare.all(p, p, count: n) { x, _ in x & 0x8080_8080_8080_8080 == 0 }
/// ```
package enum WordCompare {
    /// True when `holds` is true for every word of the `count` bytes at `a` paired with the word at
    /// the same offset of `b`. Each word's lanes are bytes of the run (the same offsets in both), and
    /// together the words hold every byte: words while more than 8 bytes remain, then the word
    /// ending at the last byte; for 4 to 7 bytes the first and the last four bytes in one word; for
    /// 1 to 3 the first, middle and last byte repeated across the lanes (no lane is padding, so a
    /// lane test such as "a byte at or below 0x20" sees only the run's bytes). True for 0 bytes.
    /// Pass the same pointer twice to test one run.
    @inlinable @inline(__always)
    package static func all(
        _ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count n: Int, _ holds: (UInt64, UInt64) -> Bool
    ) -> Bool {
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if !holds(
                    a.loadUnaligned(fromByteOffset: i, as: UInt64.self),
                    b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                {
                    return false
                }
                i += 8
            }
            return holds(
                a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self),
                b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
        }
        if n >= 4 {
            return holds(halves(a, n), halves(b, n))
        }
        guard n > 0 else { return true }
        return holds(ends(a, n), ends(b, n))
    }

    /// The first and the last four of `n` (4 to 7) bytes at `p`, in the low and high half.
    @inlinable @inline(__always)
    static func halves(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
        UInt64(p.loadUnaligned(as: UInt32.self)) | UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
    }

    /// The first, middle and last of `n` (1 to 3) bytes at `p` in lanes 0–2, repeated in lanes
    /// 3–5 and 6–7 (the shifted copies do not overlap, so the multiply is three ors).
    @inlinable @inline(__always)
    static func ends(_ p: UnsafeRawPointer, _ n: Int) -> UInt64 {
        let x =
            UInt64(p.load(as: UInt8.self)) | UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self)) << 8
            | UInt64(p.load(fromByteOffset: n - 1, as: UInt8.self)) << 16
        return x &* 0x0001_0000_0100_0001
    }

    /// True when the `count` bytes at `a` and at `b` are equal.
    @inlinable @inline(__always)
    package static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, count n: Int) -> Bool {
        all(a, b, count: n) { $0 == $1 }
    }

    /// True when the `count` bytes at `a` are those at `lowercase` with ASCII letters in any case:
    /// `A`–`Z` in `a` read as `a`–`z` (``lowercased(_:)``), every other byte as it is, so a byte at
    /// or above 0x80 equals only itself. `lowercase` should hold no `A`–`Z` (such a byte matches
    /// nothing).
    @inlinable @inline(__always)
    package static func equalIgnoringCase(_ a: UnsafeRawPointer, _ lowercase: UnsafeRawPointer, count n: Int) -> Bool {
        all(a, lowercase, count: n) { lowercased($0) == $1 }
    }

    /// `x` with its `A`…`Z` bytes made `a`…`z` (lanes at or above 0x80 left alone): a letter
    /// lane's high bit, shifted to 0x20, is or-ed in.
    @inlinable @inline(__always)
    package static func lowercased(_ x: UInt64) -> UInt64 {
        x | (ByteLanes.inRange(ByteLanes.low7(x), 0x41, 0x5b) & ~x) >> 2
    }
}
