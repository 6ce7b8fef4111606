import HTTPTypes

/// A bounded, thread-safe cache of derived signing keys.
///
/// Entries are keyed by (access key id, scope date, region, service) plus a
/// fingerprint of the secret made with a per-process random HMAC key, so a
/// rotated secret never reuses a stale key and the cache key never holds the
/// secret itself. When full, the least recently used entry is evicted.
///
/// With each key it keeps what that key's signatures in its last second share (`SigningSecond`:
/// the date's text and `X-Amz-Date` field, the `Authorization` value's fixed start, the key's MAC
/// after the string to sign's fixed text), and the last one used apart: ``Signer/sign(_:payload:at:)``,
/// ``Signer/presign(_:payload:expires:at:)`` and the verifier continue from it under one lock
/// instead of formatting the date, writing the scope and MACing the fixed text again for every
/// signature. Keys are compared by their bytes, never by `String` equality.
///
/// ```swift
/// let cache = SigningKeyCache(capacity: 256)
/// let key = cache.signingKey(for: credentials, scope: scope)
/// ```
public final class SigningKeyCache: Sendable {
    /// Compared and hashed by bytes (the scope's own `==` is by bytes): an access key id that
    /// compares equal as a `String` but is other bytes (`A\u{212A}ID` and `AKID`) is another key.
    struct Key: Hashable {
        var accessKeyID: String
        var scope: CredentialScope
        var secretFingerprint: UInt64

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.secretFingerprint == rhs.secretFingerprint && ByteSearch.sameBytes(lhs.accessKeyID, rhs.accessKeyID)
                && lhs.scope == rhs.scope
        }

        func hash(into hasher: inout Hasher) {
            withUTF8Bytes(accessKeyID) { hasher.combine(bytes: $0) }
            hasher.combine(scope)
            hasher.combine(secretFingerprint)
        }
    }

    /// A cached key, when it was last used, and what its signatures in its last second share.
    struct Entry {
        var key: SigningKey
        var stamp: UInt64
        var second: SigningSecond?
    }

    struct State {
        var entries: [Key: Entry] = [:]
        /// The last key returned: a repeat lookup (the common case) skips hashing and the LRU
        /// update. Kept as plain fields (no optional tuple) so the check reads them in place.
        var lastKey = Key(
            accessKeyID: "", scope: CredentialScope(checkedDateStamp: "", region: "", service: ""),
            secretFingerprint: 0)
        var lastValue: SigningKey?

        /// True when the last key returned is for these parts (compared in place, nothing copied).
        func lastMatches(accessKeyID: String, scope: CredentialScope, fingerprint: UInt64) -> Bool {
            lastValue != nil && lastKey.secretFingerprint == fingerprint
                && ByteSearch.sameBytes(lastKey.accessKeyID, accessKeyID) && lastKey.scope == scope
        }

        /// What the last signature's key and second share: signatures with the same key in the
        /// same second (any rate above one a second) continue from it. Signers look it up only
        /// after checking their key's parts, or through it when a signer checked the same parts.
        var lastSecond: SigningSecond?

        mutating func setLast(_ key: Key, _ value: SigningKey?) {
            lastKey = key
            lastValue = value
        }

        /// The cached key for these parts, counted as a hit or a miss: the last key returned
        /// (compared in place, no cache key built), else the entry, made the last and the most
        /// recently used. With an entry's key, what it kept for its last second.
        mutating func lookUp(
            accessKeyID: String, scope: CredentialScope, fingerprint: UInt64
        ) -> (key: SigningKey, kept: SigningSecond?)? {
            if lastMatches(accessKeyID: accessKeyID, scope: scope, fingerprint: fingerprint), let value = lastValue {
                hits &+= 1
                return (value, nil)
            }
            let cacheKey = Key(accessKeyID: accessKeyID, scope: scope, secretFingerprint: fingerprint)
            clock &+= 1
            guard var entry = entries[cacheKey] else {
                misses &+= 1
                return nil
            }
            hits &+= 1
            entry.stamp = clock
            entries[cacheKey] = entry
            setLast(cacheKey, entry.key)
            return (entry.key, entry.second)
        }

        var clock: UInt64 = 0
        var hits: UInt64 = 0
        var misses: UInt64 = 0
    }

    private let state = Locked(State())
    /// Maximum number of keys kept.
    public let capacity: Int

    /// The process-wide default cache (256 entries).
    public static let shared = SigningKeyCache(capacity: 256)

    /// Creates a cache holding at most `capacity` keys (minimum 1).
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Returns the cached key for this scope, deriving and storing it on a miss.
    public func signingKey(for credentials: Credentials, scope: CredentialScope) -> SigningKey {
        signingKey(accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, scope: scope)
    }

    /// For ``Signer/sign(_:payload:at:)``, under one lock: what the last signature's key and second
    /// share, when it is for these credentials, region, service and second (a signer checked its
    /// parts before it asked for it). Nil: check the parts, then call
    /// ``second(accessKeyID:secretAccessKey:scope:date:)``.
    func lastSecond(for credentials: Credentials, region: String, service: String, second: Int64) -> SigningSecond? {
        let fingerprint = credentials.secretAccessKey.fingerprint
        return state.withLock { s -> SigningSecond? in
            // Optional chaining, not a binding: the object is retained once, for the caller.
            guard s.lastSecond?.checkedBySigner == true, s.lastSecond?.matches(
                accessKeyID: credentials.accessKeyID, fingerprint: fingerprint, region: region, service: service,
                second: second) == true
            else { return nil }
            s.hits &+= 1
            return s.lastSecond
        }
    }

    /// What the signatures with this key in `date`'s second share (the signer's and the verifier's
    /// MAC continues from it): the last one returned, the one kept in the key's entry, or made now
    /// from the key (looked up or derived) and kept in its entry, so keys taking turns within a
    /// second each make theirs once.
    ///
    /// `checkedBySigner`: the caller is a signer that checked the access key id, secret and scope
    /// (``Signer/validateCredentials()``, ``Signer/scope(dateText:)``); only what such a caller
    /// got is found by ``lastSecond(for:region:service:second:)``, which lets a signer skip those
    /// checks. The verifier's keys come from a resolver, unchecked: a signer sharing its cache
    /// does not take them for checked (it makes its own once).
    package func second(
        accessKeyID: String, secretAccessKey: SecretAccessKey, scope: CredentialScope, date: AmzDate,
        checkedBySigner: Bool = false
    ) -> SigningSecond {
        let fingerprint = secretAccessKey.fingerprint
        let now = date.secondsSince1970
        let found = state.withLock { s -> Lookup in
            if let last = s.lastSecond, last.checkedBySigner || !checkedBySigner,
                last.matches(accessKeyID: accessKeyID, fingerprint: fingerprint, scope: scope, second: now)
            {
                s.hits &+= 1
                return .second(last)
            }
            guard let found = s.lookUp(accessKeyID: accessKeyID, scope: scope, fingerprint: fingerprint) else {
                return .none
            }
            if let kept = found.kept, kept.second == now, kept.checkedBySigner || !checkedBySigner {
                s.lastSecond = kept
                return .second(kept)
            }
            return .key(found.key)
        }
        let key: SigningKey
        switch found {
        case .second(let kept): return kept
        case .key(let cached): key = cached
        case .none: key = derive(accessKeyID, secretAccessKey, scope, fingerprint)
        }
        let made = SigningSecond(
            accessKeyID: accessKeyID, fingerprint: fingerprint, date: date, key: key, checkedBySigner: checkedBySigner)
        let cacheKey = Key(accessKeyID: accessKeyID, scope: scope, secretFingerprint: fingerprint)
        state.withLock { s in
            s.lastSecond = made
            s.entries[cacheKey]?.second = made
        }
        return made
    }

    /// What ``second(accessKeyID:secretAccessKey:scope:date:)`` found under the lock.
    private enum Lookup {
        case second(SigningSecond)
        case key(SigningKey)
        case none
    }

    /// The key from the two parts of the credentials that matter (the verifier's lookup: no
    /// ``Credentials`` value is made and released per request).
    package func signingKey(
        accessKeyID: String, secretAccessKey: SecretAccessKey, scope: CredentialScope
    ) -> SigningKey {
        let fingerprint = secretAccessKey.fingerprint
        if let hit = state.withLock({ $0.lookUp(accessKeyID: accessKeyID, scope: scope, fingerprint: fingerprint)?.key }) {
            return hit
        }
        return derive(accessKeyID, secretAccessKey, scope, fingerprint)
    }

    private func derive(
        _ accessKeyID: String, _ secretAccessKey: SecretAccessKey, _ scope: CredentialScope, _ fingerprint: UInt64
    ) -> SigningKey {
        let cacheKey = Key(accessKeyID: accessKeyID, scope: scope, secretFingerprint: fingerprint)
        let derived = SigningKey(secretAccessKey: secretAccessKey, scope: scope)
        state.withLock { s in
            if s.entries.count >= capacity, s.entries[cacheKey] == nil {
                if let oldest = s.entries.min(by: { $0.value.stamp < $1.value.stamp })?.key {
                    s.entries.removeValue(forKey: oldest)
                    if s.lastKey == oldest { s.lastValue = nil }
                }
            }
            s.entries[cacheKey] = Entry(key: derived, stamp: s.clock)
            s.setLast(cacheKey, derived)
        }
        return derived
    }

    /// Drops every cached key (for example after a key-store change).
    public func removeAll() {
        state.withLock {
            $0.entries.removeAll()
            $0.lastValue = nil
            $0.lastSecond = nil
        }
    }

    /// Drops the keys derived for one access key id.
    public func remove(accessKeyID: String) {
        state.withLock { s in
            s.entries = s.entries.filter { !ByteSearch.sameBytes($0.key.accessKeyID, accessKeyID) }
            if ByteSearch.sameBytes(s.lastKey.accessKeyID, accessKeyID) { s.lastValue = nil }
            if let last = s.lastSecond, ByteSearch.sameBytes(last.accessKeyID, accessKeyID) { s.lastSecond = nil }
        }
    }

    /// Number of keys held now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Hit and miss counters since creation.
    public var statistics: (hits: UInt64, misses: UInt64) { state.withLock { ($0.hits, $0.misses) } }
}

/// A keyed, non-reversible 64-bit fingerprint of a secret, for cache keys.
enum SecretFingerprint {
    static let processKey: HMACKeyBox = HMACKeyBox()

    static func of(_ secret: SecretAccessKey) -> UInt64 { secret.fingerprint }

    static func of(_ secret: SecureBytes) -> UInt64 {
        let mac = secret.withUnsafeBytes { processKey.key.authenticationCode(for: $0) }
        return mac.w0
    }
}

import _SigV4Crypto

final class HMACKeyBox: Sendable {
    let key: HMACKey
    init() {
        let seed = (try? SecureRandom.bytes(32)) ?? Array(repeating: 0x5a, count: 32)
        key = HMACKey(key: seed)
    }
}
