internal import CSigV4OpenSSL

/// Reference computations straight through libcrypto's one-shot EVP and HMAC calls.
///
/// Benchmarks use these as the "libcrypto floor": the cost of the cryptography
/// alone, with no canonicalization.
package enum LibcryptoFloor {
    /// `EVP_Digest(SHA-256)` of `data`.
    package static func sha256(_ data: UnsafeRawBufferPointer) -> SHA256Digest {
        var out = SHA256Digest()
        out.withUnsafeMutableBytes { o in
            _ = CSigV4OpenSSL_EVP_SHA256_Oneshot(data.baseAddress, data.count, o.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return out
    }

    /// `HMAC(EVP_sha256())` of `data` under `key`.
    package static func hmacSHA256(key: UnsafeRawBufferPointer, _ data: UnsafeRawBufferPointer) -> SHA256Digest {
        var out = SHA256Digest()
        out.withUnsafeMutableBytes { o in
            _ = CSigV4OpenSSL_HMAC_SHA256_Oneshot(
                key.baseAddress, Int32(key.count), data.baseAddress, data.count,
                o.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return out
    }
}
