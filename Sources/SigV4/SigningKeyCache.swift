import HTTPTypes

/// A bounded, thread-safe cache of derived signing keys.
///
/// Entries are keyed by (access key id, scope date, region, service) plus a
/// fingerprint of the secret made with a per-process random HMAC key, so a
/// rotated secret never reuses a stale key and the cache key never holds the
/// secret itself. When full, the least recently used entry is evicted.
///
/// It also lends ``Signer/sign(_:payload:at:)`` the last `X-Amz-Date` header field it made, with
/// the second it is for, under the lock the key lookup already takes: signatures in the same
/// second share that field instead of each making a new 16-byte string (nothing secret; a
/// signature in a new second makes and remembers its own).
///
/// ```swift
/// let cache = SigningKeyCache(capacity: 256)
/// let key = cache.signingKey(for: credentials, scope: scope)
/// ```
public final class SigningKeyCache: Sendable {
    struct Key: Hashable {
        var accessKeyID: String
        var scope: CredentialScope
        var secretFingerprint: UInt64
    }

    struct State {
        var entries: [Key: (key: SigningKey, stamp: UInt64)] = [:]
        /// The last key returned: a repeat lookup (the common case) skips hashing and the LRU
        /// update. Kept as plain fields (no optional tuple) so the check reads them in place.
        var lastKey = Key(
            accessKeyID: "", scope: CredentialScope(checkedDateStamp: "", region: "", service: ""),
            secretFingerprint: 0)
        var lastValue: SigningKey?
        /// True when a signer checked the last key's parts (access key id and secret, scope) before
        /// storing or finding it: a signature with the same parts need not check them again.
        var lastChecked = false

        /// True when the last key returned is for these parts (compared in place, nothing copied).
        func lastMatches(accessKeyID: String, scope: CredentialScope, fingerprint: UInt64) -> Bool {
            lastValue != nil && lastKey.secretFingerprint == fingerprint && lastKey.accessKeyID == accessKeyID
                && lastKey.scope == scope
        }

        /// The `X-Amz-Date` field of the last header signature made through this cache, and its
        /// second: signatures in the same second (any rate above one a second) share it instead of
        /// making and validating a new 16-byte string each.
        var dateFieldSecond: Int64 = .min
        var dateField: HTTPField?

        mutating func setLast(_ key: Key, _ value: SigningKey?, checked: Bool) {
            lastKey = key
            lastValue = value
            lastChecked = checked
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
        signingKey(
            accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, scope: scope,
            dateFieldSecond: nil
        ).key
    }

    /// The same from the two parts of the credentials that matter (the verifier's lookup: no
    /// ``Credentials`` value is made and released per request).
    package func signingKey(
        accessKeyID: String, secretAccessKey: SecretAccessKey, scope: CredentialScope
    ) -> SigningKey {
        signingKey(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, scope: scope, dateFieldSecond: nil).key
    }

    /// For ``Signer/sign(_:payload:at:)``, under one lock: the last key when it is for these parts
    /// and a signer checked them (so `scope` may be built unchecked), and the remembered
    /// `X-Amz-Date` field when it is for `dateFieldSecond`. A nil key: check the parts, then call
    /// ``signingKey(accessKeyID:secretAccessKey:scope:dateFieldSecond:checked:)``.
    func checkedLastKey(
        for credentials: Credentials, scope: CredentialScope, dateFieldSecond: Int64
    ) -> (key: HMACKey?, dateField: HTTPField?) {
        let fingerprint = credentials.secretAccessKey.fingerprint
        // The key's MAC state alone (one reference): the signer has the scope already, and a whole
        // key's copy also retains and releases its scope's three strings.
        return state.withLock { s -> (key: HMACKey?, dateField: HTTPField?) in
            let dateField = s.dateFieldSecond == dateFieldSecond ? s.dateField : nil
            guard s.lastChecked,
                s.lastMatches(accessKeyID: credentials.accessKeyID, scope: scope, fingerprint: fingerprint)
            else { return (nil, dateField) }
            s.hits &+= 1
            return (s.lastValue?.hmac, dateField)
        }
    }

    /// The key, and (under the same lock) the remembered `X-Amz-Date` field when it is for
    /// `dateFieldSecond`; nil otherwise (make it and hand it over with ``remember(dateField:second:)``).
    /// `checked`: the caller checked the access key id, secret and scope (see ``checkedLastKey(for:scope:dateFieldSecond:)``).
    func signingKey(
        accessKeyID: String, secretAccessKey: SecretAccessKey, scope: CredentialScope, dateFieldSecond: Int64?,
        checked: Bool = false
    ) -> (key: SigningKey, dateField: HTTPField?) {
        let fingerprint = secretAccessKey.fingerprint
        var dateField: HTTPField?
        if let hit = state.withLock({ s -> SigningKey? in
            if let dateFieldSecond, s.dateFieldSecond == dateFieldSecond { dateField = s.dateField }
            // The repeat lookup first, compared in place without building a cache key.
            if s.lastMatches(accessKeyID: accessKeyID, scope: scope, fingerprint: fingerprint) {
                s.hits &+= 1
                if checked { s.lastChecked = true }
                return s.lastValue
            }
            let cacheKey = Key(accessKeyID: accessKeyID, scope: scope, secretFingerprint: fingerprint)
            s.clock &+= 1
            guard var entry = s.entries[cacheKey] else { s.misses &+= 1; return nil }
            s.hits &+= 1
            entry.stamp = s.clock
            s.entries[cacheKey] = entry
            s.setLast(cacheKey, entry.key, checked: checked)
            return entry.key
        }) {
            return (hit, dateField)
        }
        return (derive(accessKeyID, secretAccessKey, scope, fingerprint, checked: checked), dateField)
    }

    /// Remembers the `X-Amz-Date` field made for `second`.
    func remember(dateField: HTTPField, second: Int64) {
        state.withLock {
            $0.dateFieldSecond = second
            $0.dateField = dateField
        }
    }

    private func derive(
        _ accessKeyID: String, _ secretAccessKey: SecretAccessKey, _ scope: CredentialScope, _ fingerprint: UInt64,
        checked: Bool
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
            s.entries[cacheKey] = (derived, s.clock)
            s.setLast(cacheKey, derived, checked: checked)
        }
        return derived
    }

    /// Drops every cached key (for example after a key-store change).
    public func removeAll() {
        state.withLock {
            $0.entries.removeAll()
            $0.lastValue = nil
        }
    }

    /// Drops the keys derived for one access key id.
    public func remove(accessKeyID: String) {
        state.withLock { s in
            s.entries = s.entries.filter { $0.key.accessKeyID != accessKeyID }
            if s.lastKey.accessKeyID == accessKeyID { s.lastValue = nil }
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
