import SigV4
import _SigV4Crypto

extension KeyStore {
    /// Opens a sealed secret with the master keys this instance holds. A secret sealed under a version it
    /// lacks makes it read ``masterKeyFile`` again (a rewrap elsewhere saves its new version there before any
    /// record uses it), at most once a second, so a long-running server keeps resolving keys through an
    /// online rewrap. The versions read are checked against the store (`wrongMasterKey`) and kept.
    func openSecret(_ sealed: SealedSecret, keyID: String, principal: String) throws(KeyStoreError)
        -> SecretAccessKey
    {
        let ring = openingKeys.withLock { $0.ring }
        do {
            return try SecretEnvelope.open(sealed, keyID: keyID, principal: principal, ring: ring)
        } catch let error {
            guard error.code == .masterKeyVersionUnavailable,
                let reread = try readKeyFileAgain(lacking: sealed.masterKeyVersion)
            else { throw error }
            return try SecretEnvelope.open(sealed, keyID: keyID, principal: principal, ring: reread)
        }
    }

    /// The opening keys with `version`, reading ``masterKeyFile`` again when they lack it; nil without a
    /// file, within a second of the last reading, or when the file lacks the version too.
    func readKeyFileAgain(lacking version: UInt32) throws(KeyStoreError) -> MasterKeyRing? {
        guard let masterKeyFile else { return nil }
        let instant = CoarseMonotonicClock.nanoseconds()
        let (known, due) = openingKeys.withLock { state -> (MasterKeyRing?, Bool) in
            if state.ring.contains(version: version) { return (state.ring, false) }  // another thread read it
            if let last = state.lastReading, instant - last < 1_000_000_000 { return (nil, false) }
            state.lastReading = instant
            return (nil, true)
        }
        if let known { return known }
        guard due else { return nil }
        let file = try verifiedKeyFile(masterKeyFile, checks: try read { try $0.masterKeyChecks() })
        guard file.contains(version: version) else { return nil }
        return keepForOpening(file)
    }

    /// Adds the versions of `file` (read again and checked) to the opening keys; returns them.
    func keepForOpening(_ file: MasterKeyRing) -> MasterKeyRing {
        openingKeys.withLock { state in
            state.ring = state.ring.merging(file)
            return state.ring
        }
    }

    /// The key file at `path`, each of its versions checked against the store's `checks` (`wrongMasterKey`
    /// for a key that is not the one registered for its version).
    func verifiedKeyFile(_ path: String, checks: [UInt32: [UInt8]]) throws(KeyStoreError) -> MasterKeyRing {
        let file = try MasterKeyRing.readKeyFile(atPath: path)
        try Self.check(file, against: checks, from: path)
        return file
    }

    /// Throws `wrongMasterKey` when a version of `ring` has a check value in `checks` that its key does
    /// not give; `path` names the key file it came from, if any. Versions the store lacks pass.
    static func check(_ ring: MasterKeyRing, against checks: [UInt32: [UInt8]], from path: String?)
        throws(KeyStoreError)
    {
        for version in ring.versions {
            guard let expected = checks[version], let key = ring.key(version: version) else { continue }
            guard ConstantTime.equals(expected, MasterKeyRing.checkValue(key)) else {
                throw KeyStoreError(
                    .wrongMasterKey,
                    path.map { "master key version \(version) in \($0) is not the one this store uses" }
                        ?? "master key version \(version) is not the one this store was sealed with")
            }
        }
    }
}
