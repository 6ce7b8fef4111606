#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
