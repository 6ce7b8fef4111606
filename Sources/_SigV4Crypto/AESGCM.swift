internal import CSigV4OpenSSL

/// AES-256-GCM sealing and opening through libcrypto (used for secrets at rest).
///
/// ```swift
/// let box = try AES256GCM.seal(plaintext, key: key, aad: aad)
/// let plain = try AES256GCM.open(box, key: key, aad: aad)
/// ```
package enum AES256GCM {
    /// A sealed message: 12-byte nonce, ciphertext and 16-byte tag.
    package struct SealedBox: Sendable, Hashable {
        package var nonce: [UInt8]
        package var ciphertext: [UInt8]
        package var tag: [UInt8]

        package init(nonce: [UInt8], ciphertext: [UInt8], tag: [UInt8]) {
            self.nonce = nonce
            self.ciphertext = ciphertext
            self.tag = tag
        }

        /// `nonce ‖ ciphertext ‖ tag`.
        package var combined: [UInt8] { nonce + ciphertext + tag }

        /// Splits a combined box, or returns nil when it is too short.
        package init?(combined: [UInt8]) {
            guard combined.count >= 28 else { return nil }
            nonce = Array(combined[0..<12])
            ciphertext = Array(combined[12..<(combined.count - 16)])
            tag = Array(combined[(combined.count - 16)...])
        }
    }

    /// The error when a box does not authenticate.
    package struct AuthenticationFailure: Error, Sendable {}

    /// Seals `plaintext` under a 32-byte `key`, binding `aad`. A random 12-byte nonce is drawn.
    package static func seal(_ plaintext: UnsafeRawBufferPointer, key: SecureBytes, aad: [UInt8]) throws(CryptoError)
        -> SealedBox
    {
        precondition(key.count == 32, "AES-256-GCM needs a 32-byte key")
        let nonce = try SecureRandom.bytes(12)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: 16)
        let ok = key.withUnsafeBytes { k in
            ciphertext.withUnsafeMutableBufferPointer { ct in
                CSigV4OpenSSL_AES256GCM_Seal(
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), nonce, 12, aad, Int32(aad.count),
                    plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count),
                    ct.baseAddress, &tag)
            }
        }
        guard ok == 1 else { throw CryptoError.drain("AES-256-GCM seal") }
        return SealedBox(nonce: nonce, ciphertext: ciphertext, tag: tag)
    }

    /// Opens `box` into zeroizing storage, or throws `AuthenticationFailure` when the key, AAD or data is wrong.
    package static func open(_ box: SealedBox, key: SecureBytes, aad: [UInt8]) throws(AuthenticationFailure)
        -> SecureBytes
    {
        guard key.count == 32, box.nonce.count == 12, box.tag.count == 16 else { throw AuthenticationFailure() }
        var failed = false
        let result = SecureBytes(count: box.ciphertext.count) { out in
            let ok = key.withUnsafeBytes { k in
                CSigV4OpenSSL_AES256GCM_Open(
                    k.baseAddress!.assumingMemoryBound(to: UInt8.self), box.nonce, 12, aad, Int32(aad.count),
                    box.ciphertext, Int32(box.ciphertext.count), box.tag,
                    out.baseAddress?.assumingMemoryBound(to: UInt8.self))
            }
            if ok != 1 {
                ConstantTime.cleanse(out)
                failed = true
            }
        }
        if failed {
            CSigV4OpenSSL_ERR_clear_error()
            throw AuthenticationFailure()
        }
        return result
    }
}
