/// A string's UTF-8 bytes borrowed where they are, for the verification hot path.
///
/// `var copy = text; copy.withUTF8 { … }` retains and releases the string's storage (an atomic
/// read-modify-write each), and a `String.utf8` or `Substring.utf8` view made to call
/// `withContiguousStorageIfAvailable` does the same. The borrowing `utf8Span` does neither, and it
/// is constant-time for every string on this platform (native or small). Verification reads the
/// `Authorization` value, the target and the signed names several times each; these are the reads.
///
/// ```swift
/// let n = authorization.withBorrowedUTF8 { $0.count }
/// ```
extension String {
    /// Runs `body` with the string's UTF-8 bytes, borrowed (no copy of the string).
    @inline(__always)
    func withBorrowedUTF8<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try utf8Span.span.withUnsafeBufferPointer(body)
    }
}

extension Substring {
    /// Runs `body` with the slice's UTF-8 bytes, borrowed (no copy of its base string).
    @inline(__always)
    func withBorrowedUTF8<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try utf8Span.span.withUnsafeBufferPointer(body)
    }
}
