internal import CSigV4OpenSSL

/// Constant-time comparison through libcrypto's `CRYPTO_memcmp`.
package enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. The time taken depends only on the lengths.
    package static func equals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.count == 0 { return true }
        return CSigV4OpenSSL_CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }

    package static func equals<A: ContiguousBytes, B: ContiguousBytes>(_ a: A, _ b: B) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in equals(pa, pb) } }
    }

    /// Overwrites memory with zeros in a way the optimizer cannot remove.
    package static func cleanse(_ buffer: UnsafeMutableRawBufferPointer) {
        guard buffer.count > 0 else { return }
        CSigV4OpenSSL_cleanse(buffer.baseAddress, buffer.count)
    }

    package static func cleanse(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { cleanse($0) }
    }
}
