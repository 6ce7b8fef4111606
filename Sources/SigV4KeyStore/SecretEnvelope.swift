import _SigV4Crypto
package import SigV4

/// A secret sealed for storage: the data key wrapped under a master key version, and the secret sealed under
/// the data key. Both are AES-256-GCM boxes (`nonce ‖ ciphertext ‖ tag`).
package struct SealedSecret: Sendable, Hashable {
    /// The master key version that wraps `wrappedDataKey`.
    package var masterKeyVersion: UInt32
    /// The 32-byte data key sealed under the master key; AAD binds key id, principal and version.
    package var wrappedDataKey: [UInt8]
    /// The 40-character secret sealed under the data key; AAD binds key id and principal.
    package var sealedSecret: [UInt8]

    package init(masterKeyVersion: UInt32, wrappedDataKey: [UInt8], sealedSecret: [UInt8]) {
        self.masterKeyVersion = masterKeyVersion
        self.wrappedDataKey = wrappedDataKey
        self.sealedSecret = sealedSecret
    }
}

/// Envelope encryption of access-key secrets, and generation of ids and secrets.
package enum SecretEnvelope {
    static func secretAAD(keyID: String, principal: String) -> [UInt8] {
        Array("sigv4-keystore/secret/v1\u{0}\(keyID)\u{0}\(principal)".utf8)
    }

    static func dataKeyAAD(keyID: String, principal: String, version: UInt32) -> [UInt8] {
        Array("sigv4-keystore/data-key/v1\u{0}\(keyID)\u{0}\(principal)\u{0}\(version)".utf8)
    }

    /// Seals `secret` under a fresh data key wrapped with the ring's current master key.
    package static func seal(_ secret: SecretAccessKey, keyID: String, principal: String, ring: MasterKeyRing)
        throws(KeyStoreError) -> SealedSecret
    {
        let version = ring.currentVersion
        guard let master = ring.key(version: version) else {
            throw KeyStoreError(.masterKeyMissing, "no master key to seal with")
        }
        do {
            let dataKey = try SecureBytes(count: 32) { try SecureRandom.fill($0) }
            let box = try secret.withUnsafeBytes { plain in
                try AES256GCM.seal(plain, key: dataKey, aad: secretAAD(keyID: keyID, principal: principal))
            }
            let wrapped = try dataKey.withUnsafeBytes { plain in
                try AES256GCM.seal(
                    plain, key: master, aad: dataKeyAAD(keyID: keyID, principal: principal, version: version))
            }
            return SealedSecret(masterKeyVersion: version, wrappedDataKey: wrapped.combined, sealedSecret: box.combined)
        } catch {
            throw KeyStoreError(.crypto, "could not seal a secret: \(error)")
        }
    }

    static func unwrapDataKey(_ sealed: SealedSecret, keyID: String, principal: String, ring: MasterKeyRing)
        throws(KeyStoreError) -> SecureBytes
    {
        guard let master = ring.key(version: sealed.masterKeyVersion) else {
            throw KeyStoreError(
                .masterKeyVersionUnavailable,
                "key \(keyID) is sealed under master key version \(sealed.masterKeyVersion), which was not supplied")
        }
        guard let box = AES256GCM.SealedBox(combined: sealed.wrappedDataKey) else {
            throw KeyStoreError(.integrityFailure, "the wrapped data key of \(keyID) is truncated")
        }
        do {
            return try AES256GCM.open(
                box, key: master,
                aad: dataKeyAAD(keyID: keyID, principal: principal, version: sealed.masterKeyVersion))
        } catch {
            throw KeyStoreError(
                .integrityFailure,
                "the data key of \(keyID) does not open under master key version \(sealed.masterKeyVersion)")
        }
    }

    /// Opens a sealed secret.
    package static func open(_ sealed: SealedSecret, keyID: String, principal: String, ring: MasterKeyRing)
        throws(KeyStoreError) -> SecretAccessKey
    {
        let dataKey = try unwrapDataKey(sealed, keyID: keyID, principal: principal, ring: ring)
        guard let box = AES256GCM.SealedBox(combined: sealed.sealedSecret) else {
            throw KeyStoreError(.integrityFailure, "the sealed secret of \(keyID) is truncated")
        }
        do {
            let plain = try AES256GCM.open(box, key: dataKey, aad: secretAAD(keyID: keyID, principal: principal))
            return plain.withUnsafeBytes { SecretAccessKey(bytes: $0) }
        } catch {
            throw KeyStoreError(.integrityFailure, "the secret of \(keyID) does not authenticate")
        }
    }

    /// Re-wraps the data key under the ring's current master key. The sealed secret is unchanged.
    package static func rewrap(_ sealed: SealedSecret, keyID: String, principal: String, ring: MasterKeyRing)
        throws(KeyStoreError) -> SealedSecret
    {
        let version = ring.currentVersion
        guard sealed.masterKeyVersion != version else { return sealed }
        guard let master = ring.key(version: version) else {
            throw KeyStoreError(.masterKeyMissing, "no master key to wrap with")
        }
        let dataKey = try unwrapDataKey(sealed, keyID: keyID, principal: principal, ring: ring)
        do {
            let wrapped = try dataKey.withUnsafeBytes { plain in
                try AES256GCM.seal(
                    plain, key: master, aad: dataKeyAAD(keyID: keyID, principal: principal, version: version))
            }
            return SealedSecret(
                masterKeyVersion: version, wrappedDataKey: wrapped.combined, sealedSecret: sealed.sealedSecret)
        } catch {
            throw KeyStoreError(.crypto, "could not wrap a data key: \(error)")
        }
    }

    // MARK: ids and secrets

    static let base32: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    static let base64: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The prefix of every id this store issues: `SV4K`.
    package static let keyIDPrefix = "SV4K"

    /// A new 20-character id: `SV4K` and 16 base32 characters (80 random bits).
    package static func newKeyID() throws(KeyStoreError) -> String {
        var random: [UInt8]
        do { random = try SecureRandom.bytes(10) } catch { throw KeyStoreError(.crypto, "RAND_bytes failed") }
        var out = Array(keyIDPrefix.utf8)
        var bits: UInt32 = 0
        var count = 0
        for byte in random {
            bits = bits << 8 | UInt32(byte)
            count += 8
            while count >= 5 {
                out.append(base32[Int((bits >> UInt32(count - 5)) & 31)])
                count -= 5
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True for a syntactically valid access key id: 16 to 128 characters of `A-Z0-9`.
    package static func isPlausibleKeyID(_ id: String) -> Bool { isPlausibleKeyID(Substring(id)) }

    /// The same for a slice (the verifier's id, read in place: every lookup checks it, so its bytes
    /// are read contiguously rather than through the generic UTF-8 view).
    package static func isPlausibleKeyID(_ id: Substring) -> Bool {
        var id = id
        return id.withUTF8 { bytes in
            guard (16...128).contains(bytes.count) else { return false }
            var ok = true
            for b in bytes { ok = ok && ((b &- 0x41) < 26 || (b &- 0x30) < 10) }
            return ok
        }
    }

    /// A new 40-character secret: 30 bytes from `RAND_bytes`, base64 (`A-Za-z0-9+/`), in zeroizing memory.
    package static func newSecret() throws(KeyStoreError) -> SecretAccessKey {
        do {
            let random = try SecureBytes(count: 30) { try SecureRandom.fill($0) }
            let text = random.withUnsafeBytes { r in
                SecureBytes(count: 40) { out in
                    var o = 0
                    var i = 0
                    while i < 30 {
                        let v = UInt32(r[i]) << 16 | UInt32(r[i + 1]) << 8 | UInt32(r[i + 2])
                        out[o] = base64[Int(v >> 18 & 63)]
                        out[o + 1] = base64[Int(v >> 12 & 63)]
                        out[o + 2] = base64[Int(v >> 6 & 63)]
                        out[o + 3] = base64[Int(v & 63)]
                        o += 4
                        i += 3
                    }
                }
            }
            return text.withUnsafeBytes { SecretAccessKey(bytes: $0) }
        } catch {
            throw KeyStoreError(.crypto, "RAND_bytes failed")
        }
    }
}
