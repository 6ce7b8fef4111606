internal import CSigV4OpenSSL

/// Incremental SHA-512 from libcrypto, for `x-amz-checksum-sha512` trailers only (never for signatures).
///
/// ```swift
/// var sha512 = SHA512()
/// sha512.update(Array("abc".utf8))
/// print(Hex.encode(sha512.finalize())) // ddaf35a1…
/// ```
package struct SHA512: @unchecked Sendable {
    var context: SHA512_CTX

    package static let byteCount = 64

    package init() {
        context = SHA512_CTX()
        _ = CSigV4OpenSSL_SHA512_Init(&context)
    }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = CSigV4OpenSSL_SHA512_Update(&context, bytes.baseAddress, bytes.count)
    }

    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the hash: 64 bytes. The hasher must not be used afterwards.
    package mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SHA512.byteCount)
        out.withUnsafeMutableBufferPointer { _ = CSigV4OpenSSL_SHA512_Final($0.baseAddress, &context) }
        return out
    }

    package static func hash<Bytes: ContiguousBytes>(_ bytes: Bytes) -> [UInt8] {
        var h = SHA512()
        h.update(bytes)
        return h.finalize()
    }
}
