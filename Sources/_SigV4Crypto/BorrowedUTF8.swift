/// A string's UTF-8 bytes borrowed where they are, for the signing and verification hot paths.
///
/// `var copy = text; copy.withUTF8 { … }` retains and releases the string's storage (an atomic
/// read-modify-write each), and a `String.utf8` or `Substring.utf8` view made to call
/// `withContiguousStorageIfAvailable` does the same. The borrowing `utf8Span` (Swift 6.2; on Apple
/// platforms from their 26 releases, older ones take the copy) does neither, and it is
/// constant-time for native and small strings (a bridged `NSString` is transcoded). Verification
/// reads the `Authorization` value, the target and the signed names several times each; signing
/// reads the target, the method and each header name. Public and inlinable here (this module is not
/// a product), as ``ByteLanes`` is: a `package` function is not inlined into the other modules.
///
/// ```swift
/// let n = authorization.withBorrowedUTF8 { $0.count }
/// ```
extension String {
    /// Runs `body` with the string's UTF-8 bytes, borrowed (no copy of the string).
    @inlinable @inline(__always)
    public func withBorrowedUTF8<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            return try utf8Span.span.withUnsafeBufferPointer(body)
        }
        var copy = self
        return try copy.withUTF8 { bytes in Result { () throws(E) -> R in try body(bytes) } }.get()
    }
}

// The same body as `String`'s: `utf8Span` and `withUTF8` are members of each type, not of a
// protocol both adopt (`StringProtocol` has neither), so one generic version cannot call them; and
// `String`'s cannot call this one through `self[...]`: the slice retains the string, which put
// 60 reference-counting calls back into each header verification (243 -> 303, measured).
extension Substring {
    /// Runs `body` with the slice's UTF-8 bytes, borrowed (no copy of its base string).
    @inlinable @inline(__always)
    public func withBorrowedUTF8<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        if #available(macOS 26.0, iOS 26.0, watchOS 26.0, tvOS 26.0, visionOS 26.0, *) {
            return try utf8Span.span.withUnsafeBufferPointer(body)
        }
        var copy = self
        return try copy.withUTF8 { bytes in Result { () throws(E) -> R in try body(bytes) } }.get()
    }
}
