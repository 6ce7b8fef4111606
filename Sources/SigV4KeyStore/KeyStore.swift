import Foundation
import _SigV4Crypto
public import SigV4
public import SigV4Verifier

/// What ``KeyStore/createKey(principal:scope:description:principalPolicy:actor:)`` requires of the principal.
public enum PrincipalPolicy: Sendable, Hashable {
    /// Create the principal when it does not exist.
    case createIfMissing
    /// The principal must exist (`unknownPrincipal` otherwise).
    case mustExist
    /// The principal must not exist yet (`duplicatePrincipal` otherwise); it is created with the key.
    case mustBeNew
}

/// A key-rotation key store: principals, their access keys, encrypted secrets and an audit log.
///
/// Every change runs in one storage transaction, bumps the generation counter
/// and appends to the audit log, so a failed call changes nothing. Secrets are
/// sealed with AES-256-GCM under a per-key data key that a versioned master
/// key wraps; only ``createKey(principal:scope:description:principalPolicy:actor:)``
/// and ``rotate(principal:overlap:retiring:scope:description:actor:)`` ever hand
/// a secret out. The store is also the verifier's ``CredentialResolver``
/// (see `KeyStore+Resolver.swift`).
///
/// ```swift
/// let (ring, _) = try MasterKeyRing.locate(forStoreAt: path, environment: env)
/// let store = try KeyStore.open(path: path, masterKeys: ring)
/// let issued = try store.createKey(principal: "alice", actor: "ops")
/// let rotation = try store.rotate(principal: "alice", overlap: 3600, actor: "ops")
/// ```
public final class KeyStore: Sendable {
    /// Where the records live.
    public let storage: any KeyStoreStorage
    /// The limits and periods enforced.
    public let policy: KeyStorePolicy
    /// The master keys this instance seals and opens with.
    public let masterKeys: MasterKeyRing
    /// The key file `masterKeys` was read from, if any, read again when a rewrap elsewhere has added a
    /// version since this instance opened: a secret sealed under a version `masterKeys` lack is opened with
    /// the version found there (the file is read at most once a second for this), and a key created or
    /// rotated once the store has registered a newer version is sealed under it. Without a file, such a
    /// secret is `masterKeyVersionUnavailable` and such a creation `staleMasterKeyRing` until the store is
    /// opened again.
    public let masterKeyFile: String?
    let clock: @Sendable () -> AmzDate
    let resolverState: ResolverState
    /// The keys secrets are opened with (`masterKeys` and versions read again from `masterKeyFile`), and
    /// when the file was last read (``CoarseMonotonicClock``).
    let openingKeys: Locked<(ring: MasterKeyRing, lastReading: Int64?)>

    /// Opens a store over `storage`, checking the master keys first: a key that does not match the one
    /// registered for its version is `wrongMasterKey`; records sealed under a version the ring lacks give
    /// `masterKeyVersionUnavailable`. Nothing is written. Pass `masterKeyFile` when the keys came from a
    /// key file, so that a long-running instance opens secrets that a rewrap elsewhere has moved to a new
    /// version (``KeyStoreLocation/open(path:keyFile:environment:policy:)`` does).
    public init(
        storage: any KeyStoreStorage, masterKeys: MasterKeyRing, masterKeyFile: String? = nil,
        policy: KeyStorePolicy = KeyStorePolicy(), clock: @escaping @Sendable () -> AmzDate = KeyStore.systemClock
    ) throws(KeyStoreError) {
        self.storage = storage
        self.masterKeys = masterKeys
        self.masterKeyFile = masterKeyFile
        self.openingKeys = Locked((masterKeys, nil))
        self.policy = policy
        self.clock = clock
        self.resolverState = ResolverState(policy: policy)
        guard !masterKeys.versions.isEmpty else {
            throw KeyStoreError(.masterKeyMissing, "the master key ring is empty")
        }
        let (checks, inUse) = try Self.run(storage) {
            try storage.read { reader in
                (
                    try reader.masterKeyChecks(),
                    Set(try reader.keys(principal: nil).compactMap { $0.sealed?.masterKeyVersion })
                )
            }
        }
        try Self.check(masterKeys, against: checks, from: nil)
        let missing = inUse.subtracting(masterKeys.versions).sorted()
        guard missing.isEmpty else {
            throw KeyStoreError(
                .masterKeyVersionUnavailable,
                "records are sealed under master key version(s) \(missing.map(String.init).joined(separator: ", ")), "
                    + "which were not supplied")
        }
    }

    /// Opens (or with `create: true` creates) the SQLite store at `path`.
    ///
    /// ```swift
    /// let store = try KeyStore.open(path: "keys.db", masterKeys: ring)
    /// ```
    public static func open(
        path: String, create: Bool = false, masterKeys: MasterKeyRing, masterKeyFile: String? = nil,
        policy: KeyStorePolicy = KeyStorePolicy(), clock: @escaping @Sendable () -> AmzDate = KeyStore.systemClock
    ) throws(KeyStoreError) -> KeyStore {
        let storage = try SQLiteKeyStoreStorage(path: path, create: create)
        return try KeyStore(
            storage: storage, masterKeys: masterKeys, masterKeyFile: masterKeyFile, policy: policy, clock: clock)
    }

    /// The wall clock, the default for `clock`. Tests inject their own.
    public static let systemClock: @Sendable () -> AmzDate = { AmzDate(Date()) }

    /// The current time from the injected clock.
    public var now: AmzDate { clock() }

    // MARK: error plumbing

    static func run<R>(_ storage: any KeyStoreStorage, _ body: () throws -> R) throws(KeyStoreError) -> R {
        do {
            return try body()
        } catch let error as KeyStoreError {
            throw error
        } catch {
            throw KeyStoreError(.storage, "storage failure: \(error)")
        }
    }

    func write<R>(actor: String, _ body: (any KeyStoreTransaction, AmzDate) throws -> R) throws(KeyStoreError) -> R {
        try Self.validate(actor: actor)
        let now = clock()
        return try Self.run(storage) {
            try storage.write { tx in
                try sweep(tx, now: now)
                let result = try body(tx, now)
                _ = try tx.bumpGeneration()
                return result
            }
        }
    }

    func read<R>(_ body: (any KeyStoreReader) throws -> R) throws(KeyStoreError) -> R {
        try Self.run(storage) { try storage.read(body) }
    }

    // MARK: validation

    package static func validate(principal name: String) throws(KeyStoreError) {
        let ok =
            (1...128).contains(name.utf8.count)
            && name.utf8.allSatisfy { c in
                (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || (0x30...0x39).contains(c)
                    || Array("._@+=,-".utf8).contains(c)
            }
        guard ok else {
            throw KeyStoreError(
                .invalidArgument,
                "a principal name is 1-128 characters of letters, digits and ._@+=,- "
                    + "(got \(name.debugDescription.prefix(64)))")
        }
    }

    static func validate(actor: String) throws(KeyStoreError) {
        guard (1...256).contains(actor.utf8.count), !actor.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw KeyStoreError(.invalidArgument, "the actor must be 1-256 printable characters")
        }
    }

    package static func validate(description: String) throws(KeyStoreError) {
        guard description.utf8.count <= 1024 else {
            throw KeyStoreError(.invalidArgument, "a description is at most 1024 bytes")
        }
    }

    package static func validate(scope: KeyScope) throws(KeyStoreError) {
        if let lifetime = scope.maxPresignLifetime, !(1...604_800).contains(lifetime) {
            throw KeyStoreError(.invalidArgument, "the maximum presign lifetime must be 1-604800 seconds")
        }
        if let notBefore = scope.notBefore, let notAfter = scope.notAfter, notAfter <= notBefore {
            throw KeyStoreError(.invalidArgument, "not-after must be later than not-before")
        }
        let texts = Array(scope.regions) + Array(scope.services) + Array(scope.methods) + scope.pathPrefixes
        guard texts.count <= 256, texts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 1024 }) else {
            throw KeyStoreError(.invalidArgument, "scope entries must be non-empty, at most 256 of them")
        }
        // Entries no request can match would make a key that counts against the limit and verifies
        // nothing: a path prefix is matched against a path, which starts with `/`; a method is a token.
        if let prefix = scope.pathPrefixes.first(where: { !$0.hasPrefix("/") }) {
            throw KeyStoreError(
                .invalidArgument, "a path prefix starts with '/' (got \(prefix.debugDescription.prefix(64)))")
        }
        if let method = scope.methods.first(where: { m in
            !m.utf8.allSatisfy { URIEncoding.isUnreserved($0) || Array("!#$%&'*+^`|".utf8).contains($0) }
        }) {
            throw KeyStoreError(
                .invalidArgument, "a method is an HTTP token (got \(method.debugDescription.prefix(64)))")
        }
    }

    /// A rotation's overlap: 0 to 366 days, in seconds.
    package static func validate(overlap: Int64) throws(KeyStoreError) {
        guard overlap >= 0, overlap <= 366 * 86_400 else {
            throw KeyStoreError(.invalidArgument, "the overlap must be 0 to 366 days (in seconds)")
        }
    }

    package static func validate(keyID: String) throws(KeyStoreError) {
        guard SecretEnvelope.isPlausibleKeyID(keyID) else {
            throw KeyStoreError(.unknownKey, "no key \(keyID.debugDescription.prefix(64)) (not a valid key id)")
        }
    }

    // MARK: state helpers

    /// Persists automatic expiry: retiring keys whose retire time plus the grace period has passed become inactive.
    func sweep(_ tx: any KeyStoreTransaction, now: AmzDate) throws {
        for var stored in try tx.retiringKeys() {
            guard case .retiring(let at) = stored.key.state, now >= at.adding(seconds: policy.retiringGrace) else {
                continue
            }
            stored.key.state = .inactive
            stored.key.stateChangedAt = at.adding(seconds: policy.retiringGrace)
            try tx.updateKey(stored)
            try tx.appendAudit(
                AuditEvent(
                    at: now, actor: "system", action: "key.expire", principal: stored.key.principal,
                    keyID: stored.key.accessKeyID, detail: "retiring key reached retire_at + grace; now inactive"))
        }
    }

    /// The state as it is in effect at `now` (an expired retiring key is inactive even before a sweep persists it).
    func effective(_ key: AccessKey, now: AmzDate) -> AccessKey {
        var key = key
        if case .retiring(let at) = key.state, now >= at.adding(seconds: policy.retiringGrace) {
            key.state = .inactive
            key.stateChangedAt = at.adding(seconds: policy.retiringGrace)
        }
        return key
    }

    func requireKey(_ tx: any KeyStoreReader, _ keyID: String) throws -> StoredKey {
        try Self.validate(keyID: keyID)
        guard let stored = try tx.key(id: keyID) else { throw KeyStoreError(.unknownKey, "no key \(keyID)") }
        if stored.key.state == .deleted { throw KeyStoreError(.keyDeleted, "key \(keyID) was deleted") }
        return stored
    }

    func activeCount(_ tx: any KeyStoreReader, principal: String) throws -> Int {
        try tx.keys(principal: principal).filter { $0.key.state == .active }.count
    }

    /// The master keys to seal under in `tx`, with their current version registered if the store lacks it.
    /// They are ``masterKeys``, unless the store has registered a newer version (a rewrap ran since this
    /// instance read them): then ``masterKeyFile`` is read again and used if it holds that version, since a
    /// rewrap moves every record away from older versions and may then drop them, and a secret sealed
    /// under one now could be lost with it. Without a file, or when it lacks the version,
    /// `staleMasterKeyRing`. `checks`: the store's check values when the caller has read them in `tx`.
    func sealingKeys(
        _ tx: any KeyStoreTransaction, now: AmzDate, actor: String, checks known: [UInt32: [UInt8]]? = nil
    ) throws -> MasterKeyRing {
        let checks = try known ?? tx.masterKeyChecks()
        var ring = masterKeys
        if let newest = checks.keys.max(), newest > ring.currentVersion {
            let file = try masterKeyFile.map { path throws(KeyStoreError) in try verifiedKeyFile(path, checks: checks) }
            guard let file, file.contains(version: newest) else {
                throw KeyStoreError(
                    .staleMasterKeyRing,
                    "the store uses master key version \(newest), newer than version \(ring.currentVersion) "
                        + "that this instance seals with (a rewrap ran since its master keys were read); "
                        + "open the store again")
            }
            ring = keepForOpening(file)
        }
        let version = ring.currentVersion
        guard checks[version] == nil, let key = ring.key(version: version) else { return ring }
        try tx.registerMasterKey(version: version, check: MasterKeyRing.checkValue(key), at: now)
        try tx.appendAudit(
            AuditEvent(
                at: now, actor: actor, action: "masterkey.register", principal: nil, keyID: nil,
                detail: "version=\(version)"))
        return ring
    }

    func issue(
        _ tx: any KeyStoreTransaction, principal: String, scope: KeyScope, description: String, now: AmzDate,
        actor: String, detail: String
    ) throws -> IssuedKey {
        guard try activeCount(tx, principal: principal) < policy.maxActiveKeysPerPrincipal else {
            throw KeyStoreError(
                .tooManyActiveKeys,
                "principal \(principal) already has \(policy.maxActiveKeysPerPrincipal) active key(s); "
                    + "deactivate or rotate one first")
        }
        let ring = try sealingKeys(tx, now: now, actor: actor)
        var id = try SecretEnvelope.newKeyID()
        var attempts = 0
        while try tx.key(id: id) != nil {  // ids are never reused, tombstones included
            attempts += 1
            guard attempts < 8 else { throw KeyStoreError(.crypto, "could not draw an unused key id") }
            id = try SecretEnvelope.newKeyID()
        }
        let secret = try SecretEnvelope.newSecret()
        let sealed = try SecretEnvelope.seal(secret, keyID: id, principal: principal, ring: ring)
        let key = AccessKey(
            accessKeyID: id, principal: principal, state: .active, stateChangedAt: now, scope: scope, createdAt: now,
            description: description, lastUsed: nil, masterKeyVersion: sealed.masterKeyVersion)
        try tx.insertKey(StoredKey(key: key, sealed: sealed))
        try tx.appendAudit(
            AuditEvent(at: now, actor: actor, action: "key.create", principal: principal, keyID: id, detail: detail))
        return IssuedKey(key: key, secretAccessKey: secret)
    }

    func transition(
        _ tx: any KeyStoreTransaction, _ stored: StoredKey, to state: KeyState, now: AmzDate, actor: String,
        action: String, detail: String = ""
    ) throws -> AccessKey {
        var stored = stored
        let from = stored.key.state
        stored.key.state = state
        stored.key.stateChangedAt = now
        if state == .deleted {
            stored.sealed = nil
            stored.key.masterKeyVersion = nil
        }
        try tx.updateKey(stored)
        try tx.appendAudit(
            AuditEvent(
                at: now, actor: actor, action: action, principal: stored.key.principal, keyID: stored.key.accessKeyID,
                detail: "from=\(from.name) to=\(state)" + (detail.isEmpty ? "" : " \(detail)")))
        return stored.key
    }

    static func refuse(_ key: AccessKey, _ what: String) -> KeyStoreError {
        KeyStoreError(.invalidTransition, "cannot \(what) key \(key.accessKeyID): it is \(key.state)")
    }

    // MARK: principals

    /// Adds a principal. Throws `duplicatePrincipal` when the name is taken.
    ///
    /// ```swift
    /// try store.addPrincipal("alice", description: "Alice's laptop", actor: "ops")
    /// ```
    @discardableResult
    public func addPrincipal(_ name: String, description: String = "", actor: String) throws(KeyStoreError)
        -> Principal
    {
        try Self.validate(principal: name)
        try Self.validate(description: description)
        return try write(actor: actor) { tx, now in
            guard try tx.principal(named: name) == nil else {
                throw KeyStoreError(.duplicatePrincipal, "principal \(name) already exists")
            }
            let principal = Principal(name: name, description: description, createdAt: now)
            try tx.insertPrincipal(principal)
            try tx.appendAudit(
                AuditEvent(at: now, actor: actor, action: "principal.create", principal: name, keyID: nil, detail: ""))
            return principal
        }
    }

    /// Every principal, by name.
    public func principals() throws(KeyStoreError) -> [Principal] { try read { try $0.principals() } }

    // MARK: keys

    /// Issues a new active key for `principal` and returns its secret, once.
    ///
    /// `principalPolicy` says what to do about the principal: create it when missing (the default), require it
    /// (`unknownPrincipal` otherwise) or require a new one (`duplicatePrincipal` otherwise), all in the same
    /// transaction as the key. Throws `tooManyActiveKeys` at the limit.
    ///
    /// ```swift
    /// let issued = try store.createKey(principal: "alice", scope: KeyScope(services: ["s3"]), actor: "ops")
    /// ```
    public func createKey(
        principal: String, scope: KeyScope = .unrestricted, description: String = "",
        principalPolicy: PrincipalPolicy = .createIfMissing, actor: String
    ) throws(KeyStoreError) -> IssuedKey {
        try Self.validate(principal: principal)
        try Self.validate(scope: scope)
        try Self.validate(description: description)
        return try write(actor: actor) { tx, now in
            let exists = try tx.principal(named: principal) != nil
            if exists, principalPolicy == .mustBeNew {
                throw KeyStoreError(.duplicatePrincipal, "principal \(principal) already exists")
            }
            if !exists {
                guard principalPolicy != .mustExist else {
                    throw KeyStoreError(.unknownPrincipal, "no principal \(principal)")
                }
                try tx.insertPrincipal(Principal(name: principal, description: "", createdAt: now))
                try tx.appendAudit(
                    AuditEvent(
                        at: now, actor: actor, action: "principal.create", principal: principal, keyID: nil, detail: "")
                )
            }
            return try issue(
                tx, principal: principal, scope: scope, description: description, now: now, actor: actor, detail: "")
        }
    }

    /// Issues a new key and schedules the old one to retire after `overlap` seconds.
    ///
    /// The key that retires is `keyID` when given, otherwise the principal's only active key; with several
    /// active keys, name one (`ambiguousRotation` otherwise). With none, rotate just issues a key.
    /// The new key copies the old key's scope unless `scope` is given. The secret is returned once.
    ///
    /// ```swift
    /// let rotation = try store.rotate(principal: "alice", overlap: 86_400, actor: "ops")
    /// ```
    public func rotate(
        principal: String, overlap: Int64? = nil, retiring keyID: String? = nil, scope: KeyScope? = nil,
        description: String? = nil, actor: String
    ) throws(KeyStoreError) -> Rotation {
        try Self.validate(principal: principal)
        if let scope { try Self.validate(scope: scope) }
        if let description { try Self.validate(description: description) }
        let overlap = overlap ?? policy.defaultOverlap
        try Self.validate(overlap: overlap)
        return try write(actor: actor) { tx, now in
            guard try tx.principal(named: principal) != nil else {
                throw KeyStoreError(.unknownPrincipal, "no principal \(principal)")
            }
            var old: StoredKey?
            if let keyID {
                let stored = try requireKey(tx, keyID)
                guard stored.key.principal == principal else {
                    throw KeyStoreError(.invalidArgument, "key \(keyID) does not belong to \(principal)")
                }
                guard stored.key.state == .active else { throw Self.refuse(stored.key, "rotate") }
                old = stored
            } else {
                let active = try tx.keys(principal: principal).filter { $0.key.state == .active }
                guard active.count <= 1 else {
                    throw KeyStoreError(
                        .ambiguousRotation,
                        "principal \(principal) has \(active.count) active keys; name the one to retire")
                }
                old = active.first
            }
            let retiresAt = now.adding(seconds: overlap)
            var retired: AccessKey?
            if let old {
                retired = try transition(
                    tx, old, to: .retiring(at: retiresAt), now: now, actor: actor, action: "key.retire",
                    detail: "rotation overlap=\(overlap)s")
            }
            let issued = try issue(
                tx, principal: principal, scope: scope ?? old?.key.scope ?? .unrestricted,
                description: description ?? old?.key.description ?? "", now: now, actor: actor,
                detail: old.map { "rotation of \($0.key.accessKeyID)" } ?? "rotation")
            return Rotation(issued: issued, retired: retired, retiresAt: retiresAt)
        }
    }

    /// Schedules an active key to retire at `at` (default: now plus the default overlap). From `at` on it accepts
    /// only signatures dated before `at`; after `at` plus the grace period it becomes inactive by itself.
    ///
    /// ```swift
    /// try store.retire(keyID: id, at: store.now.adding(seconds: 3600), actor: "ops")
    /// ```
    @discardableResult
    public func retire(keyID: String, at: AmzDate? = nil, actor: String) throws(KeyStoreError) -> AccessKey {
        try write(actor: actor) { tx, now in
            let stored = try requireKey(tx, keyID)
            guard stored.key.state == .active else { throw Self.refuse(stored.key, "retire") }
            let at = at ?? now.adding(seconds: policy.defaultOverlap)
            guard at >= now else { throw KeyStoreError(.invalidArgument, "the retire time \(at) is in the past") }
            // As a rotation's overlap: a retiring key no longer counts against the active-key limit,
            // so a time years away would keep any number of keys working outside it.
            guard at.secondsSince1970 - now.secondsSince1970 <= 366 * 86_400 else {
                throw KeyStoreError(.invalidArgument, "the retire time \(at) is more than 366 days away")
            }
            return try transition(tx, stored, to: .retiring(at: at), now: now, actor: actor, action: "key.retire")
        }
    }

    /// Revokes an active or retiring key at once. Running verifiers refuse it within the refresh interval.
    ///
    /// ```swift
    /// try store.deactivate(keyID: id, actor: "ops")
    /// ```
    @discardableResult
    public func deactivate(keyID: String, actor: String) throws(KeyStoreError) -> AccessKey {
        try write(actor: actor) { tx, now in
            let stored = try requireKey(tx, keyID)
            switch stored.key.state {
            case .active, .retiring:
                return try transition(tx, stored, to: .inactive, now: now, actor: actor, action: "key.deactivate")
            default: throw Self.refuse(stored.key, "deactivate")
            }
        }
    }

    /// Makes an inactive key active again (within the active-key limit). Retiring keys cannot be re-activated.
    ///
    /// ```swift
    /// try store.activate(keyID: id, actor: "ops")
    /// ```
    @discardableResult
    public func activate(keyID: String, actor: String) throws(KeyStoreError) -> AccessKey {
        try write(actor: actor) { tx, now in
            let stored = try requireKey(tx, keyID)
            guard stored.key.state == .inactive else { throw Self.refuse(stored.key, "activate") }
            guard try activeCount(tx, principal: stored.key.principal) < policy.maxActiveKeysPerPrincipal else {
                throw KeyStoreError(
                    .tooManyActiveKeys,
                    "principal \(stored.key.principal) already has \(policy.maxActiveKeysPerPrincipal) active key(s)")
            }
            return try transition(tx, stored, to: .active, now: now, actor: actor, action: "key.activate")
        }
    }

    /// Deletes an inactive key, leaving a tombstone (its id is never reused; its sealed secret is erased).
    /// The key must have been inactive for the retention period unless `force` is true.
    ///
    /// ```swift
    /// try store.delete(keyID: id, force: true, actor: "ops")
    /// ```
    @discardableResult
    public func delete(keyID: String, force: Bool = false, actor: String) throws(KeyStoreError) -> AccessKey {
        // The sealed secret, erased in the database, leaves no copy in its journal either.
        defer { try? storage.eraseSuperseded() }
        return try write(actor: actor) { tx, now in
            let stored = try requireKey(tx, keyID)
            guard stored.key.state == .inactive else { throw Self.refuse(stored.key, "delete (deactivate it first)") }
            let inactiveFor = now.secondsSince1970 - stored.key.stateChangedAt.secondsSince1970
            guard force || inactiveFor >= policy.deletionRetention else {
                throw KeyStoreError(
                    .retentionNotElapsed,
                    "key \(keyID) has been inactive for \(inactiveFor)s; deletion needs \(policy.deletionRetention)s "
                        + "or force")
            }
            return try transition(
                tx, stored, to: .deleted, now: now, actor: actor, action: "key.delete", detail: force ? "forced" : "")
        }
    }

    /// Persists automatic expiry now and returns the number of keys that became inactive. Every change calls it
    /// too; a verifier does not need it (it applies expiry when it resolves).
    @discardableResult
    public func sweepExpired(actor: String = "system") throws(KeyStoreError) -> Int {
        let now = clock()
        let before = try read { try $0.retiringKeys() }.filter {
            if case .retiring(let at) = $0.key.state { return now >= at.adding(seconds: policy.retiringGrace) }
            return false
        }.count
        guard before > 0 else { return 0 }
        try write(actor: actor) { _, _ in () }
        return before
    }

    /// One key, without its secret (a deleted key's tombstone too). `unknownKey` when the id was never issued.
    public func key(_ keyID: String) throws(KeyStoreError) -> AccessKey {
        try Self.validate(keyID: keyID)
        let now = clock()
        guard let stored = try read({ try $0.key(id: keyID) }) else {
            throw KeyStoreError(.unknownKey, "no key \(keyID)")
        }
        return effective(stored.key, now: now)
    }

    /// The keys of `principal` (all principals when nil), oldest first, without secrets.
    /// Tombstones are included only when `includeDeleted` is true.
    public func keys(principal: String? = nil, includeDeleted: Bool = false) throws(KeyStoreError) -> [AccessKey] {
        let now = clock()
        return try read { try $0.keys(principal: principal) }.map { effective($0.key, now: now) }.filter {
            includeDeleted || $0.state != .deleted
        }
    }

    /// Active and retiring keys older than `maxAgeDays` days: the age-policy report.
    ///
    /// ```swift
    /// let overdue = try store.agePolicyReport(maxAgeDays: 90)
    /// ```
    public func agePolicyReport(maxAgeDays: Int) throws(KeyStoreError) -> [AgeFinding] {
        let now = clock()
        return try keys().compactMap { key in
            switch key.state {
            case .active, .retiring:
                let age = (now.secondsSince1970 - key.createdAt.secondsSince1970) / 86_400
                return age > Int64(maxAgeDays) ? AgeFinding(key: key, ageDays: age) : nil
            default: return nil
            }
        }
    }

    /// The audit log from sequence `after` on, at most `limit` events.
    public func auditLog(after: Int64 = 0, limit: Int = 10_000) throws(KeyStoreError) -> [AuditEvent] {
        try read { try $0.auditEvents(after: after, limit: max(0, min(limit, 1_000_000))) }
    }

    /// The audit events about key `keyID`, from sequence `after` on, at most `limit` of them. The whole log
    /// after `after` is searched (a page at a time), so an old store's long history does not hide them.
    ///
    /// ```swift
    /// let history = try store.auditLog(forKey: "SV4KAAAAAAAAAAAAAAAA")
    /// ```
    public func auditLog(forKey keyID: String, after: Int64 = 0, limit: Int = 10_000) throws(KeyStoreError)
        -> [AuditEvent]
    {
        let limit = max(0, min(limit, 1_000_000))
        var found: [AuditEvent] = []
        var cursor = after
        while found.count < limit {
            let page = try auditLog(after: cursor, limit: 10_000)
            guard let last = page.last else { break }
            found += page.lazy.filter { $0.keyID == keyID }.prefix(limit - found.count)
            cursor = last.sequence
        }
        return found
    }

    /// The current generation counter.
    public func generation() throws(KeyStoreError) -> UInt64 { try read { try $0.generation() } }

    // MARK: master keys

    /// Records the current master key version's check value (done by the first write anyway), so a wrong
    /// master key is detected even before the first key is issued. `sigv4 keys init` calls it.
    public func registerMasterKey(actor: String) throws(KeyStoreError) {
        try write(actor: actor) { tx, now in _ = try sealingKeys(tx, now: now, actor: actor) }
    }

    /// The newest master key version the store has registered (nil in a store without one), read
    /// from the check values alone (``masterKeyUsage()`` reads every key).
    ///
    /// ```swift
    /// if let newest = try store.newestMasterKeyVersion(), newest > store.masterKeys.currentVersion { /* … */ }
    /// ```
    public func newestMasterKeyVersion() throws(KeyStoreError) -> UInt32? {
        try read { reader in try reader.masterKeyChecks().keys.max() }
    }

    /// How many records each master key version wraps, with every registered version (zero when unused).
    public func masterKeyUsage() throws(KeyStoreError) -> [UInt32: Int] {
        try read { reader in
            var usage: [UInt32: Int] = [:]
            for version in try reader.masterKeyChecks().keys { usage[version] = 0 }
            for stored in try reader.keys(principal: nil) {
                if let version = stored.sealed?.masterKeyVersion { usage[version, default: 0] += 1 }
            }
            return usage
        }
    }

    /// Moves every record to the ring's current master key version, `batchSize` records per transaction, so
    /// the store stays usable throughout and a crash leaves every record readable. Returns how many moved.
    ///
    /// When another rewrap registers a newer version meanwhile, this one stops before its next batch and
    /// leaves the rest to that one (which moves every record under an older version, these included):
    /// nothing more is sealed under a version that the newer rewrap may drop. `masterKeyUsage()` shows
    /// the newer version; `sigv4 keys rewrap` then reads the key file again and moves on to it.
    ///
    /// ```swift
    /// let ring = try old.addingNewVersion()
    /// try ring.writeKeyFile(atPath: keyFile)          // the new key is saved before any record uses it
    /// let moved = try KeyStore.open(path: path, masterKeys: ring).rewrap(actor: "ops")
    /// ```
    @discardableResult
    public func rewrap(batchSize: Int = 64, actor: String) throws(KeyStoreError) -> Int {
        // The wrappings under the old version (a rewrap may follow its leak) leave no copy in the journal.
        defer { try? storage.eraseSuperseded() }
        let target = masterKeys.currentVersion
        var moved = 0
        while true {
            let count = try write(actor: actor) { tx, now in
                // The check values, read once per batch for both questions.
                let checks = try tx.masterKeyChecks()
                if let newest = checks.keys.max(), newest > target { return 0 }
                _ = try sealingKeys(tx, now: now, actor: actor, checks: checks)  // masterKeys: nothing newer
                // Only older versions move: a record already under a newer version (another rewrap,
                // started later with a newer key file, moved it) is left there.
                // The batch from the store's version index: a rewrap of N records reads about N,
                // not N for every batch.
                let due = try tx.keys(sealedBelow: target, limit: max(1, batchSize))
                for var stored in due {
                    guard let sealed = stored.sealed else { continue }
                    stored.sealed = try SecretEnvelope.rewrap(
                        sealed, keyID: stored.key.accessKeyID, principal: stored.key.principal, ring: masterKeys)
                    stored.key.masterKeyVersion = target
                    try tx.updateKey(stored)
                }
                if !due.isEmpty {
                    try tx.appendAudit(
                        AuditEvent(
                            at: now, actor: actor, action: "masterkey.rewrap", principal: nil, keyID: nil,
                            detail: "records=\(due.count) to_version=\(target)"))
                }
                return due.count
            }
            moved += count
            if count == 0 { return moved }
        }
    }

    /// Adds a new master key version to the key file at `keyFile` and registers it, for a rewrap.
    ///
    /// The key file is read again, the new version is drawn and the file is saved, all while this store holds
    /// its write lock, and the new version's check value is registered in the same transaction. Two rewraps
    /// started at once therefore add two versions one after the other, instead of both saving "version N+1"
    /// with different keys and losing the one that records were first moved to. The versions in the file
    /// must match the store (`wrongMasterKey`); a version the store has registered but the file lacks is
    /// refused (`masterKeyVersionUnavailable`). Returns the new ring; open a store with it and call
    /// ``rewrap(batchSize:actor:)``.
    ///
    /// ```swift
    /// let ring = try store.addMasterKeyVersion(keyFile: keyFile, actor: "ops")
    /// try KeyStore(storage: store.storage, masterKeys: ring).rewrap(actor: "ops")
    /// ```
    public func addMasterKeyVersion(keyFile: String, actor: String) throws(KeyStoreError) -> MasterKeyRing {
        try write(actor: actor) { tx, now in
            let checks = try tx.masterKeyChecks()
            let current = try verifiedKeyFile(keyFile, checks: checks)
            let ring = try current.addingNewVersion()
            let version = ring.currentVersion
            guard checks[version] == nil, let key = ring.key(version: version) else {
                throw KeyStoreError(
                    .masterKeyVersionUnavailable,
                    "the store has master key version \(version) registered, but \(keyFile) does not hold it")
            }
            try ring.writeKeyFile(atPath: keyFile)
            try tx.registerMasterKey(version: version, check: MasterKeyRing.checkValue(key), at: now)
            try tx.appendAudit(
                AuditEvent(
                    at: now, actor: actor, action: "masterkey.register", principal: nil, keyID: nil,
                    detail: "version=\(version)"))
            return ring
        }
    }

    /// Forgets master key `version` after checking that no record uses it and that it is neither the current
    /// one nor the newest the store has registered. Returns the ring without it; save that ring (key file) or
    /// drop the version from the environment variable. With a key file, prefer
    /// ``dropMasterKey(version:keyFile:actor:)``, which keeps a version another rewrap has just added.
    ///
    /// ```swift
    /// let smaller = try store.dropMasterKey(version: 1, actor: "ops")
    /// ```
    public func dropMasterKey(version: UInt32, actor: String) throws(KeyStoreError) -> MasterKeyRing {
        try write(actor: actor) { tx, now in try forgetMasterKey(tx, version: version, now: now, actor: actor) }
        return masterKeys.removing(version: version)
    }

    /// Forgets master key `version` as ``dropMasterKey(version:actor:)`` does and removes it from the key
    /// file at `keyFile`. The file is read again and saved while the store's write lock is held, so a version
    /// that a rewrap in another process has just added is kept. Returns the ring as saved.
    ///
    /// ```swift
    /// let saved = try store.dropMasterKey(version: 1, keyFile: "keys.db.masterkey", actor: "ops")
    /// ```
    public func dropMasterKey(version: UInt32, keyFile: String, actor: String) throws(KeyStoreError)
        -> MasterKeyRing
    {
        try write(actor: actor) { tx, now in
            let file = try verifiedKeyFile(keyFile, checks: try tx.masterKeyChecks())
            guard version != file.currentVersion else {
                throw KeyStoreError(.masterKeyInUse, "master key version \(version) is the current one in \(keyFile)")
            }
            try forgetMasterKey(tx, version: version, now: now, actor: actor)
            let smaller = file.removing(version: version)
            // Saved before the transaction commits: should the commit fail, the version stays registered
            // with no record under it, which is harmless; the other order could leave it in use and unsaved.
            try smaller.writeKeyFile(atPath: keyFile)
            return smaller
        }
    }

    func forgetMasterKey(_ tx: any KeyStoreTransaction, version: UInt32, now: AmzDate, actor: String) throws {
        guard version != masterKeys.currentVersion else {
            throw KeyStoreError(.masterKeyInUse, "master key version \(version) is the current one")
        }
        if let newest = try tx.masterKeyChecks().keys.max(), version == newest {
            throw KeyStoreError(
                .masterKeyInUse, "master key version \(version) is the newest the store has registered")
        }
        let users = try tx.keys(principal: nil).filter { $0.sealed?.masterKeyVersion == version }.count
        guard users == 0 else {
            throw KeyStoreError(
                .masterKeyInUse, "master key version \(version) still wraps \(users) record(s); run rewrap first")
        }
        try tx.unregisterMasterKey(version: version)
        try tx.appendAudit(
            AuditEvent(
                at: now, actor: actor, action: "masterkey.drop", principal: nil, keyID: nil,
                detail: "version=\(version)"))
    }

    /// Opens every sealed secret and returns the ids that fail (empty when the store is sound).
    public func verifySecrets() throws(KeyStoreError) -> [String] {
        try read { try $0.keys(principal: nil) }.compactMap { stored in
            guard let sealed = stored.sealed else { return nil }
            do {
                _ = try openSecret(sealed, keyID: stored.key.accessKeyID, principal: stored.key.principal)
                return nil
            } catch {
                return stored.key.accessKeyID
            }
        }
    }

    /// Test and tooling hook: the secret of a key, opened from storage. Never printed by the CLI except at issue.
    package func _openSecret(keyID: String) throws(KeyStoreError) -> SecretAccessKey {
        let stored = try read { try requireKey($0, keyID) }
        guard let sealed = stored.sealed else { throw KeyStoreError(.keyDeleted, "key \(keyID) was deleted") }
        return try openSecret(sealed, keyID: keyID, principal: stored.key.principal)
    }
}
