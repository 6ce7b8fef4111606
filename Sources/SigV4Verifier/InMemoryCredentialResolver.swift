import SigV4
import _SigV4Crypto

/// A ``CredentialResolver`` over a fixed set of keys held in memory (tests, the CLI, small services).
///
/// ```swift
/// let resolver = InMemoryCredentialResolver([
///     ResolvedCredential(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey("…"), principal: "alice")
/// ])
/// resolver.upsert(otherCredential)   // thread-safe updates
/// ```
public final class InMemoryCredentialResolver: CredentialResolver {
    /// Keyed by `Substring` (each key a whole string of its own), so the verifier's id, a slice of
    /// the request, is looked up without being copied into a `String`. `Substring` hashes and
    /// compares by Unicode canonical equivalence (U+212A KELVIN SIGN is `K`), so a lookup also
    /// checks that the credential's id is the asked id's bytes: a request never gets the secret of
    /// an id spelled with other bytes. Two ids equal as strings share one slot (the later wins).
    private let keys: Locked<Keys>

    /// The table and the credential the last lookup found.
    private struct Keys {
        var map: [Substring: ResolvedCredential]
        /// The credential the last lookup found (nil after any change to `map`): a lookup of the
        /// same id's bytes (a service mostly sees a few keys) is answered by comparing them, with no
        /// hash and no Unicode comparison; the table would give it the same answer.
        var last: ResolvedCredential? = nil {
            didSet { lastID = last.map { Array($0.accessKeyID.utf8) } ?? [] }
        }
        /// `last`'s access key id as UTF-8 bytes, made when `last` is set: the lookup compares the
        /// asked id with these, borrowing one string per lookup instead of two (the credential's id
        /// was borrowed through `String.utf8Span` on every lookup).
        private(set) var lastID: [UInt8] = []

        /// `last` when `accessKeyID` is its id's bytes.
        func last(ifItsIDIs accessKeyID: Substring) -> ResolvedCredential? {
            guard let last else { return nil }
            return accessKeyID.withBorrowedUTF8 { id in
                lastID.withUnsafeBufferPointer { ByteSearch.sameBytes(id, $0) }
            } ? last : nil
        }
    }

    /// Creates a resolver holding `credentials` (a later entry with the same id wins).
    public init(_ credentials: [ResolvedCredential] = []) {
        var map: [Substring: ResolvedCredential] = [:]
        for c in credentials { map[Substring(c.accessKeyID)] = c }
        keys = Locked(Keys(map: map))
    }

    public func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
        keys.withLock { keys in
            keys.map[Substring(accessKeyID)].flatMap { ByteSearch.sameBytes($0.accessKeyID, accessKeyID) ? $0 : nil }
        }
    }

    /// Always answers (the keys are in memory): the verifier never suspends for this resolver.
    public func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) -> CredentialLookup {
        lookUpWithoutSuspending(accessKeyID: Substring(accessKeyID), context: context)
    }

    /// The same for an id that is a slice of the request: no copy is made.
    public func lookUpWithoutSuspending(accessKeyID: Substring, context: ResolutionContext) -> CredentialLookup {
        keys.withLock { keys in
            if let last = keys.last(ifItsIDIs: accessKeyID) { return .found(last) }
            guard let found = keys.map[accessKeyID], ByteSearch.sameBytes(accessKeyID, found.accessKeyID) else {
                return .notFound
            }
            keys.last = found
            return .found(found)
        }
    }

    /// Adds or replaces a credential.
    public func upsert(_ credential: ResolvedCredential) {
        keys.withLock {
            $0.map[Substring(credential.accessKeyID)] = credential
            $0.last = nil
        }
    }

    /// Removes a credential.
    public func remove(accessKeyID: String) {
        keys.withLock {
            _ = $0.map.removeValue(forKey: Substring(accessKeyID))
            $0.last = nil
        }
    }
}
