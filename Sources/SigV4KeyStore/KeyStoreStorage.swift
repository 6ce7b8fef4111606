public import SigV4

/// A key record as the storage layer holds it: the metadata plus the sealed secret (never plaintext).
///
/// Storage backends move these records around without understanding the crypto;
/// ``KeyStore`` seals and opens them.
public struct StoredKey: Sendable, Hashable {
    /// The metadata (state, scope, times, last use).
    public var key: AccessKey
    /// The sealed secret; nil for a tombstone.
    package var sealed: SealedSecret?

    package init(key: AccessKey, sealed: SealedSecret?) {
        self.key = key
        self.sealed = sealed
    }

    /// The opaque sealed form as stored: master key version, wrapped data key, sealed secret.
    public var sealedParts: (masterKeyVersion: UInt32, wrappedDataKey: [UInt8], sealedSecret: [UInt8])? {
        sealed.map { ($0.masterKeyVersion, $0.wrappedDataKey, $0.sealedSecret) }
    }

    /// Builds a record from its stored parts (for storage backends).
    public init(
        key: AccessKey, sealedParts: (masterKeyVersion: UInt32, wrappedDataKey: [UInt8], sealedSecret: [UInt8])?
    ) {
        self.key = key
        self.sealed = sealedParts.map {
            SealedSecret(
                masterKeyVersion: $0.masterKeyVersion, wrappedDataKey: $0.wrappedDataKey,
                sealedSecret: $0.sealedSecret)
        }
    }
}

/// Read access to a consistent snapshot of the store.
///
/// This protocol and ``KeyStoreTransaction`` are the whole storage surface, kept
/// narrow so that another backend (PostgreSQL for several verifier nodes) needs
/// only a handful of queries. Backends do no policy checks; ``KeyStore`` does.
public protocol KeyStoreReader {
    /// The generation counter: bumped by every change to keys, principals or master keys.
    func generation() throws -> UInt64
    /// The principal with this name, or nil.
    func principal(named name: String) throws -> Principal?
    /// Every principal, by name.
    func principals() throws -> [Principal]
    /// The key (or tombstone) with this id, or nil.
    func key(id: String) throws -> StoredKey?
    /// The keys of one principal, or of all principals when nil, tombstones included, oldest first.
    func keys(principal: String?) throws -> [StoredKey]
    /// Audit events with a sequence above `after`, oldest first, at most `limit`.
    func auditEvents(after: Int64, limit: Int) throws -> [AuditEvent]
    /// The registered master key versions and their check values.
    func masterKeyChecks() throws -> [UInt32: [UInt8]]
    /// At most `limit` keys whose secret is sealed under a master key version below `version`
    /// (tombstones hold none), in no set order: a rewrap's next batch. A backend with an index on
    /// the version answers from it; the default reads every key and filters.
    func keys(sealedBelow version: UInt32, limit: Int) throws -> [StoredKey]
    /// The keys in state `retiring`, oldest first: what every change's sweep looks at. A backend
    /// with a query answers from it; the default reads every key and filters.
    func retiringKeys() throws -> [StoredKey]
}

extension KeyStoreReader {
    /// ``retiringKeys()`` for a backend without a query of its own: every key read and filtered.
    public func retiringKeys() throws -> [StoredKey] {
        try keys(principal: nil).filter {
            if case .retiring = $0.key.state { return true }
            return false
        }
    }

    /// ``keys(sealedBelow:limit:)`` for a backend without a query of its own: every key read, the
    /// first `limit` sealed under an older version kept.
    ///
    /// ```swift
    /// let batch = try storage.read { try $0.keys(sealedBelow: 2, limit: 64) }
    /// ```
    public func keys(sealedBelow version: UInt32, limit: Int) throws -> [StoredKey] {
        Array(
            try keys(principal: nil).lazy.filter { ($0.sealed?.masterKeyVersion).map { $0 < version } ?? false }
                .prefix(max(0, limit)))
    }
}

/// Write access inside one atomic transaction. If the body throws, nothing is kept.
public protocol KeyStoreTransaction: KeyStoreReader {
    /// Adds a principal. The caller has checked that the name is free.
    func insertPrincipal(_ principal: Principal) throws
    /// Adds a key. The caller has checked that the id was never used.
    func insertKey(_ key: StoredKey) throws
    /// Replaces a key's metadata and sealed secret.
    func updateKey(_ key: StoredKey) throws
    /// Appends an audit event (the backend assigns the sequence). Events are never changed or removed.
    func appendAudit(_ event: AuditEvent) throws
    /// Increments the generation counter and returns the new value.
    func bumpGeneration() throws -> UInt64
    /// Records a master key version's check value.
    func registerMasterKey(version: UInt32, check: [UInt8], at: AmzDate) throws
    /// Forgets a master key version's check value.
    func unregisterMasterKey(version: UInt32) throws
}

/// A place to keep keys: SQLite (``SQLiteKeyStoreStorage``), memory (``InMemoryKeyStoreStorage``), or your own.
///
/// ```swift
/// let storage = try SQLiteKeyStoreStorage(path: "/var/lib/sigv4/keys.db", create: true)
/// let generation = try storage.read { try $0.generation() }
/// ```
public protocol KeyStoreStorage: Sendable {
    /// Runs `body` on a consistent snapshot.
    func read<R>(_ body: (any KeyStoreReader) throws -> R) throws -> R
    /// Runs `body` in one serializable read-write transaction; all or nothing, even across processes.
    func write<R>(_ body: (any KeyStoreTransaction) throws -> R) throws -> R
    /// Writes last-used data behind (outside the audited, generation-bumping path). Unknown ids are ignored.
    func recordLastUsed(_ uses: [String: LastUsed]) throws
    /// Leaves no copy of what committed changes erased (a deleted key's sealed secret, the wrappings a
    /// rewrap replaced) in the storage's files beyond the live data: for SQLite, the WAL written through
    /// and emptied. Best effort while other connections read. The default does nothing.
    func eraseSuperseded() throws
}

extension KeyStoreStorage {
    /// Nothing to erase (storage without a journal).
    public func eraseSuperseded() throws {}
}
