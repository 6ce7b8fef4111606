import Foundation
public import SigV4
public import SigV4Verifier
import _SigV4Crypto

/// The resolver's cache and write-behind buffer.
final class ResolverState: @unchecked Sendable {
    enum Entry {
        case missing
        case present(Resolved)
    }

    /// A key the store holds and the credential a lookup answers for it, made once when the key is
    /// loaded (one reference: an entry is copied out of the cache on every lookup).
    final class Resolved: Sendable {
        let key: AccessKey
        let credential: ResolvedCredential

        init(key: AccessKey, secret: SecretAccessKey, generation: UInt64) {
            self.key = key
            var acceptsBefore: AmzDate?
            if case .retiring(let at) = key.state { acceptsBefore = at }
            credential = ResolvedCredential(
                accessKeyID: key.accessKeyID, secretAccessKey: secret, principal: key.principal, scope: key.scope,
                acceptsSignaturesBefore: acceptsBefore, generation: generation)
        }
    }

    /// The lock every field below is read and written under (a `pthread_mutex_t`, as the
    /// verifier's own caches use; `NSLock` adds a dynamic call each way). Its value is an unused
    /// byte, not `()`: the thread sanitizer placed the access to a zero-sized value at the lock
    /// object's own address and reported a race with a read of that word made before the lock was
    /// taken (Docs/Assurance.md, session 40).
    let lock = Locked(UInt8(0))
    /// ``KeyStorePolicy/refreshInterval`` and ``KeyStorePolicy/lastUsedFlushInterval`` in
    /// nanoseconds of ``CoarseMonotonicClock`` (``nanoseconds(_:)``). They are only compared with
    /// the difference of two clock readings (`instant - last`, never `last + interval`), so
    /// `Int64.max` ("never") cannot overflow.
    let refreshInterval: Int64
    let flushInterval: Int64

    init(policy: KeyStorePolicy) {
        refreshInterval = Self.nanoseconds(policy.refreshInterval)
        flushInterval = Self.nanoseconds(policy.lastUsedFlushInterval)
    }

    /// The longest interval in whole seconds whose nanoseconds fit in an `Int64` (about 292 years).
    static let longestInterval: Double = 9_223_372_036

    /// `seconds` in nanoseconds, saturating instead of trapping: NaN, negative or zero → 0 (every
    /// lookup re-reads the generation, every noted use is written: the strict end); infinite, or
    /// `longestInterval` or more → `Int64.max` (never, after the first read).
    static func nanoseconds(_ seconds: Double) -> Int64 {
        guard seconds > 0 else { return 0 }  // false for NaN too
        guard seconds < longestInterval else { return .max }
        return Int64(seconds * 1e9)
    }
    /// The generation the cached entries belong to.
    var generation: UInt64?
    /// When the generation was last read (``CoarseMonotonicClock``).
    var lastCheck: Int64?
    /// Keyed by `Substring` (each key a whole string of its own): the verifier's id, a slice of the
    /// request, is looked up without being copied into a `String` (an allocation for a 20-character id).
    /// Emptied only through ``dropEntries()``.
    private(set) var entries: [Substring: Entry] = [:]
    /// The entry found last: a repeat lookup of the same key (a client's steady traffic) compares
    /// the id's bytes instead of hashing it. Always an entry of ``entries``.
    private var lastFound: Resolved?

    /// The cached entry for `id`: the last one found when it is for `id`, else the dictionary's.
    func entry(_ id: Substring) -> Entry? {
        if let last = lastFound, Self.sameID(id, last.key.accessKeyID) { return .present(last) }
        let entry = entries[id]
        if case .present(let resolved) = entry, resolved !== lastFound { lastFound = resolved }
        return entry
    }

    /// Caches `entry` for `id`.
    func store(_ entry: Entry, for id: Substring) { entries[id] = entry; lastFound = nil }

    /// Empties the cache.
    func dropEntries() {
        entries = [:]
        lastFound = nil
    }

    /// True when `a` and `b` have the same bytes (an access key id is not secret: a plain compare).
    static func sameID(_ a: Substring, _ b: String) -> Bool {
        a.withBorrowedUTF8 { x in b.withBorrowedUTF8 { y in ByteSearch.compare(x, y) == 0 } }
    }

    var pendingUses: [String: LastUsed] = [:]
    /// The use noted last (already in `pendingUses`): the same key used again in the same second for
    /// the same region and service (a client's steady traffic) changes nothing there, so it is not
    /// written again.
    var lastNoted: (keyID: String, use: LastUsed)?
    var lastFlush = CoarseMonotonicClock.nanoseconds()

    /// Notes `use` of `keyID` (under `lock`); the buffered uses when they are due to be written.
    func note(_ keyID: String, _ use: LastUsed, at instant: Int64) -> [String: LastUsed]? {
        if let last = lastNoted, last.use == use, last.keyID == keyID {
            // Already buffered.
        } else {
            pendingUses[keyID] = use
            lastNoted = (keyID, use)
        }
        guard instant - lastFlush >= flushInterval else { return nil }
        lastFlush = instant
        defer {
            pendingUses = [:]
            lastNoted = nil
        }
        return pendingUses
    }
}

extension KeyStore: CredentialResolver {
    /// Resolves an access key for the verifier.
    ///
    /// Returns nil for an unknown, inactive or deleted key, and for a retiring key whose retire time plus the
    /// grace period has passed. A retiring key comes back with ``ResolvedCredential/acceptsSignaturesBefore`` set
    /// to its retire time. Results are cached; at most every ``KeyStorePolicy/refreshInterval`` seconds the
    /// generation counter is re-read and the cache dropped when it moved, so a change made by another process
    /// (a revocation, a rotation) is seen within 2 s. Last use is buffered and written behind.
    ///
    /// ```swift
    /// let verifier = Verifier(resolver: store)
    /// ```
    public func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
        try resolveNow(accessKeyID: accessKeyID, context: context)
    }

    /// ``resolveNow(accessKeyID:context:)`` for the verifier's synchronous path: the key store
    /// always answers without suspending (a cache hit, or a synchronous read of the store).
    public func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) throws -> CredentialLookup {
        try resolveNow(Substring(accessKeyID), context: context).map(CredentialLookup.found) ?? .notFound
    }

    /// The same for an id that is a slice of the request: a cached key is found without copying it.
    public func lookUpWithoutSuspending(accessKeyID: Substring, context: ResolutionContext) throws -> CredentialLookup {
        try resolveNow(accessKeyID, context: context).map(CredentialLookup.found) ?? .notFound
    }

    /// The synchronous body of ``resolve(accessKeyID:context:)``.
    public func resolveNow(accessKeyID: String, context: ResolutionContext) throws(KeyStoreError)
        -> ResolvedCredential?
    {
        try resolveNow(Substring(accessKeyID), context: context)
    }

    /// ``resolveNow(accessKeyID:context:)`` for an id that may be a slice of a larger string: only
    /// a cache miss copies it (a cache entry never keeps the request's string alive).
    func resolveNow(_ accessKeyID: Substring, context: ResolutionContext) throws(KeyStoreError) -> ResolvedCredential? {
        guard SecretEnvelope.isPlausibleKeyID(accessKeyID) else { return nil }
        let instant = CoarseMonotonicClock.nanoseconds()
        let now = context.now
        // Fast path: one lock, no storage access, while the last generation check is fresh. (A use
        // is noted once the request is accepted: ``noteAccepted(accessKeyID:scope:now:)``.)
        var fastAnswer: ResolvedCredential? = nil
        let (generation, cachedWhileFresh) = resolverState.lock.withLock { _ -> (UInt64?, ResolverState.Entry?) in
            guard let last = resolverState.lastCheck, let generation = resolverState.generation,
                instant - last < resolverState.refreshInterval
            else { return (nil, nil) }
            let entry = resolverState.entry(accessKeyID)
            if case .present(let resolved) = entry, Self.accepts(resolved.key.state, now: now, grace: policy.retiringGrace) {
                fastAnswer = resolved.credential
            }
            return (generation, entry)
        }
        if let fastAnswer { return fastAnswer }
        var cached = cachedWhileFresh
        // A miss: the id is copied, so what the cache keeps is a string of its own.
        let accessKeyID = String(accessKeyID)
        if generation == nil {
            let fresh = try refreshIfStale()
            cached = resolverState.lock.withLock { _ in
                resolverState.generation == fresh ? resolverState.entry(Substring(accessKeyID)) : nil
            }
        }
        let entry: ResolverState.Entry
        if let cached {
            entry = cached
        } else {
            let (loadedGeneration, loaded) = try load(accessKeyID)
            entry = loaded
            resolverState.lock.withLock { _ in
                if resolverState.generation.map({ loadedGeneration > $0 }) ?? true {
                    resolverState.generation = loadedGeneration
                    resolverState.dropEntries()
                }
                guard resolverState.generation == loadedGeneration else { return }
                if resolverState.entries.count >= policy.cacheCapacity { resolverState.dropEntries() }
                resolverState.store(loaded, for: Substring(accessKeyID))
            }
        }
        guard case .present(let resolved) = entry, Self.accepts(resolved.key.state, now: now, grace: policy.retiringGrace)
        else { return nil }
        return resolved.credential
    }

    /// Notes the key's last use (``CredentialResolver/noteAccepted(accessKeyID:scope:now:)``): the
    /// verifier tells it once a request is accepted, so a request that only names the key (a forged
    /// signature, a region or service outside its scope) leaves no use behind. Buffered and written
    /// as ``KeyStorePolicy`` says.
    public func noteAccepted(accessKeyID: String, scope: CredentialScope, now: AmzDate) {
        noteUse(
            accessKeyID, LastUsed(at: now, region: scope.region, service: scope.service),
            at: CoarseMonotonicClock.nanoseconds())
    }

    /// True when a key in `state` verifies signatures at `now`: active, or retiring and within
    /// `grace` seconds of its retire time.
    static func accepts(_ state: KeyState, now: AmzDate, grace: Int64) -> Bool {
        switch state {
        case .active: return true
        case .retiring(let at): return now < at.adding(seconds: grace)
        case .inactive, .deleted: return false
        }
    }

    /// Re-reads the generation counter when the last check is older than the refresh interval; returns the
    /// generation the cache is valid for.
    func refreshIfStale() throws(KeyStoreError) -> UInt64 {
        let now = CoarseMonotonicClock.nanoseconds()
        let known: UInt64? = resolverState.lock.withLock { _ -> UInt64? in
            guard let last = resolverState.lastCheck, let generation = resolverState.generation,
                now - last < resolverState.refreshInterval
            else { return nil }
            return generation
        }
        if let known { return known }
        let current = try read { try $0.generation() }
        return resolverState.lock.withLock { _ in
            // Any move drops the cache: forward (a change) or backward (a store restored from a backup).
            if resolverState.generation != current {
                resolverState.generation = current
                resolverState.dropEntries()
            }
            resolverState.lastCheck = now
            return resolverState.generation ?? current
        }
    }

    /// Drops every cached entry; the next lookup reads the store.
    public func invalidateCache() {
        resolverState.lock.withLock { _ in
            resolverState.dropEntries()
            resolverState.generation = nil
            resolverState.lastCheck = nil
        }
    }

    func load(_ keyID: String) throws(KeyStoreError) -> (UInt64, ResolverState.Entry) {
        let (generation, stored) = try read { reader in (try reader.generation(), try reader.key(id: keyID)) }
        guard let stored, let sealed = stored.sealed else { return (generation, .missing) }
        switch stored.key.state {
        case .active, .retiring:
            let secret = try openSecret(sealed, keyID: keyID, principal: stored.key.principal)
            return (generation, .present(ResolverState.Resolved(key: stored.key, secret: secret, generation: generation)))
        case .inactive, .deleted:
            return (generation, .missing)
        }
    }

    func noteUse(_ keyID: String, _ use: LastUsed, at instant: Int64) {
        let due = resolverState.lock.withLock { _ in resolverState.note(keyID, use, at: instant) }
        if let due { try? storage.recordLastUsed(due) }
    }

    /// Writes buffered last-used data now (call on shutdown).
    public func flushLastUsed() throws(KeyStoreError) {
        let due = resolverState.lock.withLock { _ in
            defer {
                resolverState.pendingUses = [:]
                resolverState.lastNoted = nil
                resolverState.lastFlush = CoarseMonotonicClock.nanoseconds()
            }
            return resolverState.pendingUses
        }
        try Self.run(storage) { try storage.recordLastUsed(due) }
    }
}
