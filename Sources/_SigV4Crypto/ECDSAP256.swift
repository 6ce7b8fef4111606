internal import CSigV4OpenSSL

/// A P-256 (secp256r1) key pair for ECDSA-SHA256, from libcrypto: the asymmetric key of SigV4a.
///
/// The private scalar lives in libcrypto's key object only (cleared when the key is freed); the
/// key prints as redacted. Signatures are DER-encoded, as SigV4a sends them (in hex).
///
/// ```swift
/// let key = try P256PrivateKey(scalar: scalarBytes)          // 32 bytes, big-endian
/// let der = try key.signature(forDigest: SHA256.hash(message))
/// let ok = key.publicKey.isValidSignature(der, forDigest: SHA256.hash(message))
/// ```
package final class P256PrivateKey: @unchecked Sendable, CustomStringConvertible {
    // Used only through libcrypto calls that do not change the key (signing reads it).
    private let key: OpaquePointer

    /// The public half.
    package let publicKey: P256PublicKey

    /// A key from a 32-byte big-endian scalar in `1 ..< n`; throws when it is out of range.
    package init(scalar: UnsafeRawBufferPointer) throws(CryptoError) {
        guard scalar.count == 32,
            let key = CSigV4OpenSSL_p256_from_private(scalar.baseAddress!.assumingMemoryBound(to: UInt8.self))
        else { throw CryptoError.drain("P-256 private key") }
        self.key = key
        var x = [UInt8](repeating: 0, count: 32)
        var y = [UInt8](repeating: 0, count: 32)
        guard CSigV4OpenSSL_p256_public_xy(key, &x, &y) == 1, let publicKey = P256PublicKey(x: x, y: y) else {
            CSigV4OpenSSL_p256_free(key)
            throw CryptoError.drain("P-256 public key")
        }
        self.publicKey = publicKey
    }

    deinit { CSigV4OpenSSL_p256_free(key) }

    /// The DER-encoded ECDSA signature (at most 72 bytes) of a 32-byte digest. Randomized: two
    /// signatures of the same digest differ, and both verify.
    package func signature(forDigest digest: SHA256Digest) throws(CryptoError) -> [UInt8] {
        var der = [UInt8](repeating: 0, count: 72)
        let length = digest.withUnsafeBytes { d in
            der.withUnsafeMutableBufferPointer { out in
                CSigV4OpenSSL_p256_sign(key, d.baseAddress!.assumingMemoryBound(to: UInt8.self), out.baseAddress!)
            }
        }
        guard length > 0 else { throw CryptoError.drain("ECDSA P-256 sign") }
        der.removeLast(72 - Int(length))
        return der
    }

    package var description: String { "P256PrivateKey(<redacted>)" }
}

/// A P-256 public key: verifies ECDSA-SHA256 signatures.
///
/// ```swift
/// let key = P256PublicKey(x: xBytes, y: yBytes)   // nil when the point is not on the curve
/// key?.isValidSignature(der, forDigest: digest)
/// ```
package final class P256PublicKey: @unchecked Sendable, Equatable, CustomStringConvertible {
    private let key: OpaquePointer
    /// The affine coordinates, 32 bytes each, big-endian.
    package let x: [UInt8]
    package let y: [UInt8]

    /// nil unless `x` and `y` are 32 bytes each and name a point on the curve.
    package init?(x: [UInt8], y: [UInt8]) {
        guard x.count == 32, y.count == 32, let key = CSigV4OpenSSL_p256_from_public(x, y) else {
            CSigV4OpenSSL_ERR_clear_error()
            return nil
        }
        self.key = key
        self.x = x
        self.y = y
    }

    deinit { CSigV4OpenSSL_p256_free(key) }

    /// True when `der` is a valid DER ECDSA signature of `digest` under this key. Malformed DER is
    /// not valid.
    package func isValidSignature(_ der: [UInt8], forDigest digest: SHA256Digest) -> Bool {
        digest.withUnsafeBytes { d in
            der.withUnsafeBufferPointer { s in
                guard let base = s.baseAddress else { return false }
                return CSigV4OpenSSL_p256_verify(key, d.baseAddress!.assumingMemoryBound(to: UInt8.self), base, s.count) == 1
            }
        }
    }

    package static func == (lhs: P256PublicKey, rhs: P256PublicKey) -> Bool { lhs.x == rhs.x && lhs.y == rhs.y }

    /// `P256PublicKey(x: <hex>, y: <hex>)` (public data).
    package var description: String { "P256PublicKey(x: \(Hex.encode(x)), y: \(Hex.encode(y)))" }
}
