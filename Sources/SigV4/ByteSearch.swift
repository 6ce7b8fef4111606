#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import _SigV4Crypto

/// Delimiter search and literal comparison for the byte parsers of the signer and the verifier:
/// `memchr`, which looks at many bytes per step where a byte loop takes about a nanosecond per
/// byte, and a word-at-a-time compare (``memcmpBytes``) for the short literals.
///
/// ```swift
/// let amp = ByteSearch.index(of: 0x26, in: query, 0..<query.count)  // query.count when absent
/// ```
package enum ByteSearch {
    /// The index of the first `byte` in `r` of `p`, or `r.upperBound` when there is none.
    @inline(__always)
    package static func index(of byte: UInt8, in p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int {
        guard !r.isEmpty, let base = p.baseAddress else { return r.upperBound }
        guard let hit = memchr(base + r.lowerBound, Int32(byte), r.count) else { return r.upperBound }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// How many bytes of `p` are `byte`: eight at a time (the lanes equal to `byte` marked, their
    /// marks summed by one multiply), where a counting loop ran one byte per step with a branch
    /// (about 60 ns of a presigned verification's canonical query).
    @inline(__always)
    package static func count(of byte: UInt8, in p: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = p.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        var n = 0
        var i = 0
        while i + 8 <= p.count {
            let marks = ByteLanes.equal(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), byte)
            // One bit per matching lane at bit 7 of the lane: moved to bit 0, summed into the top byte.
            n &+= Int(truncatingIfNeeded: ((marks >> 7) &* 0x0101_0101_0101_0101) >> 56)
            i += 8
        }
        while i < p.count {
            if p[i] == byte { n &+= 1 }
            i += 1
        }
        return n
    }

    /// The index of the first `byte` in `r` of `p`, or `r.upperBound`: for ranges of a few bytes
    /// (a component's name, a credential part, one name of a `SignedHeaders` list), where a `memchr`
    /// call costs more than it saves. Long scans use ``index(of:in:_:)``.
    ///
    /// Eight bytes at a time, then the word ending at `r.upperBound` (its lanes before the bytes
    /// not yet tested masked off; it may start before `r`, inside `p`) instead of a byte loop; byte
    /// by byte only when `r` ends within `p`'s first 8 bytes. (Session 51's `nameEnd`, for `;`, was
    /// this search's twin.)
    @inline(__always)
    package static func indexInShortRange(of byte: UInt8, in p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Int {
        let n = r.upperBound
        var i = r.lowerBound
        if n >= 8, let base = p.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= n {
                let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                let hit = ByteLanes.equal(x, byte)
                if hit != 0 { return i + hit.trailingZeroBitCount / 8 }
                i += 8
            }
            guard i < n else { return n }
            let last = n - 8
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: last, as: UInt64.self))
            let hit = ByteLanes.equal(x, byte) & (~0 << UInt64(8 * (i - last)))
            return hit != 0 ? last + hit.trailingZeroBitCount / 8 : n
        }
        while i < n && p[i] != byte { i += 1 }
        return i
    }

    /// Byte-wise order of `x` and `y`: negative, zero or positive (a shorter prefix first).
    @inline(__always)
    package static func compare(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Int {
        let n = min(x.count, y.count)
        if n > 0 {
            let c = memcmpBytes(x.baseAddress!, y.baseAddress!, n)
            if c != 0 { return c }
        }
        return x.count - y.count
    }

    /// True when one of the `;`-separated names of `line` (a `SignedHeaders` value) satisfies
    /// `matches`.
    @inline(__always)
    package static func anyName(
        of line: UnsafeBufferPointer<UInt8>, _ matches: (UnsafeBufferPointer<UInt8>) -> Bool
    ) -> Bool {
        var start = 0
        while start <= line.count {
            let end = indexInShortRange(of: 0x3b, in: line, start..<line.count)
            if matches(UnsafeBufferPointer(rebasing: line[start..<end])) { return true }
            start = end + 1
        }
        return false
    }

    /// True when `a` and `b` are the same UTF-8 bytes. `String`'s `==` compares by Unicode
    /// canonical equivalence (`"caf\u{E9}" == "cafe\u{301}"`, and U+212A KELVIN SIGN equals `K`),
    /// but a derived key, a scope's text and an access key id on the wire are their bytes: what is
    /// cached by them must be found again by their bytes.
    ///
    /// First the two values' own representations: equal ones hold the same bytes (a small string
    /// keeps its bytes and count in the value itself; a large one points at its storage), which is
    /// the usual case, a cached copy of the caller's string, and costs no look at the bytes.
    @inline(__always)
    package static func sameBytes(_ a: String, _ b: String) -> Bool {
        let sameValue = withUnsafeBytes(of: a) { x in
            withUnsafeBytes(of: b) { y in
                x.count == 16
                    ? x.load(as: UInt64.self) == y.load(as: UInt64.self)
                        && x.load(fromByteOffset: 8, as: UInt64.self) == y.load(fromByteOffset: 8, as: UInt64.self)
                    : x.elementsEqual(y)
            }
        }
        return sameValue || sameUTF8(a, b)
    }

    /// True when the slice `a` and `b` are the same UTF-8 bytes (see ``sameBytes(_:_:)``).
    package static func sameBytes(_ a: Substring, _ b: String) -> Bool {
        a.withBorrowedUTF8 { x in b.withBorrowedUTF8 { y in CanonicalHeaders.equal(x, y) } }
    }

    /// True when `a` and `b` are the same bytes (for bytes at hand: a kept copy of an id's UTF-8).
    @inline(__always)
    package static func sameBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        CanonicalHeaders.equal(a, b)
    }

    /// The byte comparison behind ``sameBytes(_:_:)``.
    static func sameUTF8(_ a: String, _ b: String) -> Bool {
        a.withBorrowedUTF8 { x in b.withBorrowedUTF8 { y in CanonicalHeaders.equal(x, y) } }
    }

    /// True when the bytes at `r` of `p` are `literal`.
    @inline(__always)
    package static func equals(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ literal: StaticString) -> Bool {
        r.count == literal.utf8CodeUnitCount
            && (r.isEmpty || memcmpBytes(p.baseAddress! + r.lowerBound, literal.utf8Start, r.count) == 0)
    }

    /// True when `bytes` are `literal`.
    @inline(__always)
    package static func equals(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        bytes.count == literal.utf8CodeUnitCount
            && (bytes.isEmpty
                || memcmpBytes(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), literal.utf8Start, bytes.count) == 0)
    }
}
