internal import CSigV4OpenSSL

/// Incremental SHA-1 from libcrypto, for `x-amz-checksum-sha1` trailers only (never for signatures).
///
/// ```swift
/// var sha1 = SHA1()
/// sha1.update(Array("abc".utf8))
/// print(Hex.encode(sha1.finalize())) // a9993e36…
/// ```
package struct SHA1: @unchecked Sendable {
    var context: SHA_CTX

    package static let byteCount = 20

    package init() {
        context = SHA_CTX()
        _ = CSigV4OpenSSL_SHA1_Init(&context)
    }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = CSigV4OpenSSL_SHA1_Update(&context, bytes.baseAddress, bytes.count)
    }

    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the hash: 20 bytes. The hasher must not be used afterwards.
    package mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SHA1.byteCount)
        out.withUnsafeMutableBufferPointer { _ = CSigV4OpenSSL_SHA1_Final($0.baseAddress, &context) }
        return out
    }

    package static func hash<Bytes: ContiguousBytes>(_ bytes: Bytes) -> [UInt8] {
        var h = SHA1()
        h.update(bytes)
        return h.finalize()
    }
}
