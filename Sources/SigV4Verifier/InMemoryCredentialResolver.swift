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
    private let keys: Locked<[String: ResolvedCredential]>

    /// Creates a resolver holding `credentials` (a later entry with the same id wins).
    public init(_ credentials: [ResolvedCredential] = []) {
        var map: [String: ResolvedCredential] = [:]
        for c in credentials { map[c.accessKeyID] = c }
        keys = Locked(map)
    }

    public func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
        keys.withLock { $0[accessKeyID] }
    }

    /// Always answers (the keys are in memory): the verifier never suspends for this resolver.
    public func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) -> CredentialLookup {
        keys.withLock { keys in keys[accessKeyID].map(CredentialLookup.found) ?? .notFound }
    }

    /// Adds or replaces a credential.
    public func upsert(_ credential: ResolvedCredential) {
        keys.withLock { $0[credential.accessKeyID] = credential }
    }

    /// Removes a credential.
    public func remove(accessKeyID: String) {
        _ = keys.withLock { $0.removeValue(forKey: accessKeyID) }
    }
}
