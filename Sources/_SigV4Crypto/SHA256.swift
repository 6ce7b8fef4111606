internal import CSigV4OpenSSL

/// A 32-byte SHA-256 digest, stored inline (no heap allocation).
///
/// ```swift
/// let digest = SHA256.hash(Array("abc".utf8))
/// print(digest.hex) // ba7816bf…
/// ```
package struct SHA256Digest: Sendable, Hashable {
    package var w0: UInt64 = 0
    package var w1: UInt64 = 0
    package var w2: UInt64 = 0
    package var w3: UInt64 = 0

    package static let byteCount = 32

    package init() {}

    /// Creates a digest from exactly 32 bytes, or returns nil.
    package init?<Bytes: Collection<UInt8>>(bytes: Bytes) {
        guard bytes.count == 32 else { return nil }
        self.init()
        withUnsafeMutableBytes { dst in
            for (i, b) in bytes.enumerated() { dst[i] = b }
        }
    }

    /// Parses 64 hex digits (either case), or returns nil.
    package init?<Bytes: Collection<UInt8>>(hexBytes: Bytes) {
        guard hexBytes.count == 64 else { return nil }
        var result = SHA256Digest()
        let ok = result.withUnsafeMutableBytes { dst in Hex.decode(hexBytes, into: dst) }
        guard ok else { return nil }
        self = result
    }

    /// Parses 64 lowercase hex digits at `hex` (``Hex/decodeLowercase(_:into:)``: `A-F` refused),
    /// or returns nil.
    package init?(lowercaseHexDigits hex: UnsafeRawBufferPointer) {
        guard hex.count == 64 else { return nil }
        var result = SHA256Digest()
        guard result.withUnsafeMutableBytes({ Hex.decodeLowercase(hex, into: $0) }) else { return nil }
        self = result
    }

    package init?(hex: String) {
        self.init(hexBytes: Array(hex.utf8))
    }

    @inlinable
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: self) { try body($0) }
    }

    @inlinable
    package mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R
    {
        try Swift.withUnsafeMutableBytes(of: &self) { try body($0) }
    }

    /// The digest as 32 bytes.
    package var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Lowercase hex, 64 characters.
    package var hex: String { withUnsafeBytes { Hex.encode($0) } }

    /// Appends the lowercase hex form to `buffer`.
    
    package func appendHex(to buffer: inout [UInt8]) {
        withUnsafeBytes { Hex.append($0, to: &buffer) }
    }

    /// Compares two digests in constant time.
    package func constantTimeEquals(_ other: SHA256Digest) -> Bool {
        withUnsafeBytes { a in other.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }
}

/// Incremental SHA-256 on libcrypto's copyable low-level context.
///
/// ```swift
/// var hasher = SHA256()
/// hasher.update(Array("ab".utf8))
/// hasher.update(Array("c".utf8))
/// let digest = hasher.finalize()
/// ```
package struct SHA256: @unchecked Sendable {
    var context: SHA256_CTX

    package init() {
        context = SHA256_CTX()
        _ = CSigV4OpenSSL_SHA256_Init(&context)
    }

    
    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = CSigV4OpenSSL_SHA256_Update(&context, bytes.baseAddress, bytes.count)
    }

    
    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    package mutating func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// Starts a new hash in this context, in place (no new context made and copied in).
    ///
    /// ```swift
    /// h.reset()   // as h = SHA256()
    /// ```
    package mutating func reset() {
        _ = CSigV4OpenSSL_SHA256_Init(&context)
    }

    /// Finishes the hash. The hasher must not be used afterwards.
    package mutating func finalize() -> SHA256Digest {
        var out = SHA256Digest()
        out.withUnsafeMutableBytes { dst in
            _ = CSigV4OpenSSL_SHA256_Final(dst.baseAddress!.assumingMemoryBound(to: UInt8.self), &context)
        }
        return out
    }

    /// Wipes the context (used for HMAC states derived from secrets).
    package mutating func cleanse() {
        Swift.withUnsafeMutableBytes(of: &context) { CSigV4OpenSSL_cleanse($0.baseAddress, $0.count) }
    }

    /// One-shot SHA-256.
    package static func hash(_ bytes: UnsafeRawBufferPointer) -> SHA256Digest {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    package static func hash<Bytes: ContiguousBytes>(_ bytes: Bytes) -> SHA256Digest {
        bytes.withUnsafeBytes { hash($0) }
    }

    package static func hash(_ string: String) -> SHA256Digest {
        var s = string
        return s.withUTF8 { hash(UnsafeRawBufferPointer($0)) }
    }

    /// SHA-256 of the empty string: `e3b0c442…b855`.
    package static let emptyDigest: SHA256Digest = hash(UnsafeRawBufferPointer(start: nil, count: 0))
}

/// A byte sequence that can be viewed as contiguous raw memory.
///
/// Mirrors Foundation's protocol without importing Foundation.
package protocol ContiguousBytes {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension ContiguousArray: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try body(self) }
}
