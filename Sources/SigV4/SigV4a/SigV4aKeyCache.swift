import _SigV4Crypto

/// A bounded, thread-safe cache of SigV4a key pairs, for verifiers: deriving one costs an
/// ECDSA scalar multiplication, and the pair depends only on the access key id and the secret.
///
/// Entries are keyed by the access key id and the secret's keyed fingerprint (as
/// ``SigningKeyCache``'s), so a changed secret never reuses a stale pair and the cache key never
/// holds the secret. When full, the least recently used entry is evicted.
///
/// ```swift
/// let cache = SigV4aKeyCache(capacity: 256)
/// let key = try cache.signingKey(for: credentials)
/// ```
package final class SigV4aKeyCache: Sendable {
    /// Compared and hashed by bytes (see ``ByteSearch/sameBytes(_:_:)``): the derived key depends
    /// on the access key id's bytes.
    struct Key: Hashable {
        var accessKeyID: String
        var secretFingerprint: UInt64

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.secretFingerprint == rhs.secretFingerprint && ByteSearch.sameBytes(lhs.accessKeyID, rhs.accessKeyID)
        }

        func hash(into hasher: inout Hasher) {
            withUTF8Bytes(accessKeyID) { hasher.combine(bytes: $0) }
            hasher.combine(secretFingerprint)
        }
    }

    struct State {
        var entries: [Key: (key: SigV4aSigningKey, stamp: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    let state: Locked<State>

    package init(capacity: Int) {
        self.capacity = max(1, capacity)
        state = Locked(State())
    }

    /// The key pair for `credentials`, derived on a miss (outside the lock).
    package func signingKey(for credentials: Credentials) throws(SigV4Error) -> SigV4aSigningKey {
        let key = Key(accessKeyID: credentials.accessKeyID, secretFingerprint: credentials.secretAccessKey.fingerprint)
        let hit = state.withLock { s -> SigV4aSigningKey? in
            guard var entry = s.entries[key] else { return nil }
            s.clock &+= 1
            entry.stamp = s.clock
            s.entries[key] = entry
            return entry.key
        }
        if let hit { return hit }
        let derived = try SigV4aSigningKey(credentials: credentials)
        state.withLock { s in
            if s.entries.count >= capacity, s.entries[key] == nil,
                let oldest = s.entries.min(by: { $0.value.stamp < $1.value.stamp })?.key
            {
                s.entries[oldest] = nil
            }
            s.clock &+= 1
            s.entries[key] = (derived, s.clock)
        }
        return derived
    }

    /// How many pairs are cached.
    package var count: Int { state.withLock { $0.entries.count } }
}
