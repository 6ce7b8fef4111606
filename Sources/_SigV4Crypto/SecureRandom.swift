internal import CSigV4OpenSSL

/// Cryptographically secure random bytes from libcrypto's `RAND_bytes`.
package enum SecureRandom {
    /// Fills `buffer` with random bytes.
    package static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws(CryptoError) {
        guard buffer.count > 0 else { return }
        let rc = CSigV4OpenSSL_RAND_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count))
        guard rc == 1 else { throw CryptoError.drain("RAND_bytes") }
    }

    /// Returns `count` random bytes.
    package static func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = out.withUnsafeMutableBytes { b in (try? fill(b)) != nil }
        guard ok else { throw CryptoError.drain("RAND_bytes") }
        return out
    }
}
