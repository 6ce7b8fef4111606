internal import CSigV4OpenSSL

/// Incremental MD5 from libcrypto, for body checks only (`Content-MD5`, `x-amz-checksum-md5`): never
/// for signatures.
///
/// ```swift
/// var md5 = MD5()
/// md5.update(Array("abc".utf8))
/// print(Hex.encode(md5.finalize())) // 90015098…
/// ```
package struct MD5: @unchecked Sendable {
    var context: MD5_CTX

    package static let byteCount = 16

    package init() {
        context = MD5_CTX()
        _ = CSigV4OpenSSL_MD5_Init(&context)
    }

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        _ = CSigV4OpenSSL_MD5_Update(&context, bytes.baseAddress, bytes.count)
    }

    /// Finishes the hash: 16 bytes. The hasher must not be used afterwards.
    package mutating func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: MD5.byteCount)
        out.withUnsafeMutableBufferPointer { _ = CSigV4OpenSSL_MD5_Final($0.baseAddress, &context) }
        return out
    }
}
