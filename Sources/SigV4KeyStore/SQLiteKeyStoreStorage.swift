#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import GRDB
import SigV4
import SigV4Verifier

/// The default storage: one SQLite file through GRDB, in WAL mode.
///
/// Every change runs in a `BEGIN IMMEDIATE` transaction with `synchronous=FULL`, so a
/// verifying server and the `sigv4 keys` CLI can use the same file at once and a
/// process killed at any point leaves either the old or the new state. The audit
/// table is append-only (triggers refuse `UPDATE` and `DELETE`).
///
/// ```swift
/// let storage = try SQLiteKeyStoreStorage(path: "/var/lib/sigv4/keys.db", create: true)
/// ```
public final class SQLiteKeyStoreStorage: KeyStoreStorage, Sendable {
    /// The format version this code writes and reads.
    public static let formatVersion = 1

    /// The database file.
    public let path: String
    let pool: DatabasePool

    /// Opens the store at `path`. With `create: false` a missing file is `storeNotFound`, and so is a file
    /// without the store's tables (the empty file a `keys init` claims first), which is left as it is; a file
    /// that is not a key store is `corruptStore` and is left untouched.
    ///
    /// With `create: true` the schema is written in one `BEGIN IMMEDIATE` transaction that first looks
    /// whether another connection wrote it, so processes creating one store at once all open it, and a
    /// process killed while creating it leaves either no tables or all of them.
    public init(path: String, create: Bool = false) throws(KeyStoreError) {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if !exists && !create {
            throw KeyStoreError(.storeNotFound, "no key store at \(path) (create one with 'sigv4 keys init')")
        }
        if exists {
            try Self.checkHeader(path)
            if try !Self.checkSchema(path) && !create {
                throw KeyStoreError(
                    .storeNotFound,
                    """
                    \(path) is not a key store yet: another 'sigv4 keys init' may be creating it; if none is \
                    running, 'sigv4 keys init' finishes it
                    """)
            }
        }
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.journalMode = .wal
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON")
        }
        do {
            if !exists {
                // Create the file with owner-only permissions before SQLite opens it. Whatever is already
                // at the path (a dangling symlink, a file someone made since the check) is refused, not
                // followed or taken over: SQLite would otherwise create the file itself, with the umask's mode.
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    throw KeyStoreError(.storage, "cannot create the key store \(path): \(errnoText())")
                }
                close(fd)
            }
            pool = try Self.openPool(path: path, configuration: config, create: create)
            let format = try pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'format'")
            }
            guard format == String(Self.formatVersion) else {
                throw KeyStoreError(.unsupportedFormat, "key store format \(format ?? "none") is not supported")
            }
        } catch let error as KeyStoreError {
            throw error
        } catch let error as DatabaseError {
            throw Self.map(error, path: path)
        } catch {
            throw KeyStoreError(.storage, "cannot open \(path): \(error)")
        }
    }

    /// The store's pool, set up for writing, with the schema written when `create`. Opens that meet at
    /// a new store (processes creating it at once) contend for the locks that switching the file to WAL
    /// and writing the schema take, and SQLite answers `SQLITE_BUSY` at once, without its busy timeout,
    /// where waiting could deadlock (two connections that both hold a shared lock and want to write): each
    /// step is idempotent, so the open is tried again, for up to 10 s.
    static func openPool(path: String, configuration: Configuration, create: Bool) throws -> DatabasePool {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration)
                // GRDB turns WAL on after `prepareDatabase` and sets the writer to `synchronous = NORMAL` as
                // it does, which keeps a commit through a killed process but not through power loss: a key
                // whose secret was handed out, or a revocation, could come back undone. FULL syncs the WAL on
                // every commit (last-used times are written in batches, so this is not per request).
                try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
                if create { try createSchema(in: pool) }
                return pool
            } catch let error as DatabaseError
                where (error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED)
                    && ContinuousClock.now < deadline
            {
                usleep(useconds_t.random(in: 20_000...100_000))
            }
        }
    }

    /// `PRAGMA synchronous` of the connection that writes the store (2 is FULL), for the tests that
    /// pin its durability.
    package func writerSynchronousMode() throws -> Int {
        try pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// Refuses a file that does not start with the SQLite header, before SQLite touches it.
    static func checkHeader(_ path: String) throws(KeyStoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KeyStoreError(.storage, "cannot read \(path): \(errnoText())") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let n = header.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, 16) }
        if n == 0 { return }  // empty file: SQLite treats it as a new database
        guard n == 16, header == Array("SQLite format 3\u{0}".utf8) else {
            throw KeyStoreError(.corruptStore, "\(path) is not a key store (not an SQLite database)")
        }
    }

    /// Whether the SQLite database at `path` has the store's tables: refuses one that is not a key store
    /// (another application's) before anything writes to it, since opening the store's pool would switch it
    /// to WAL mode and creating the schema would add the store's tables to it. It is read through a
    /// read-only connection. A database without tables (an empty file, one a `keys init` has claimed or
    /// one left by an interrupted `keys init`) gives false: an open with `create` makes it a store.
    ///
    /// A write killed before it committed (a `keys init` killed while the file became a WAL database)
    /// leaves a hot rollback journal, which a read-only connection cannot roll back
    /// (`SQLITE_READONLY_ROLLBACK`): a read-write connection, as any SQLite client opening the file
    /// would, rolls it back first, restoring the file as it was before that write.
    static func checkSchema(_ path: String) throws(KeyStoreError) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_size > 0 else { return false }
        var probe = Configuration()
        probe.readonly = true
        probe.busyMode = .timeout(10)
        func tableNames(_ configuration: Configuration) throws -> Set<String> {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return Set(
                try queue.read { db in
                    try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
                })
        }
        let tables: Set<String>
        do {
            do {
                tables = try tableNames(probe)
            } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_READONLY_ROLLBACK {
                probe.readonly = false
                tables = try tableNames(probe)
            }
        } catch let error as DatabaseError {
            throw Self.map(error, path: path)
        } catch {
            throw KeyStoreError(.storage, "cannot read \(path): \(error)")
        }
        // `grdb_migrations` alone is what GRDB's migrator, which made stores before, created outside its
        // transaction: a store whose creation was interrupted there.
        if tables.subtracting(["grdb_migrations"]).isEmpty { return false }
        guard tables.isSuperset(of: ["grdb_migrations", "meta", "access_keys"]) else {
            throw KeyStoreError(
                .corruptStore, "\(path) is not a key store (an SQLite database without the key store's tables)")
        }
        return true
    }

    static func map(_ error: DatabaseError, path: String) -> KeyStoreError {
        switch error.resultCode {
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            KeyStoreError(.corruptStore, "\(path) is damaged or not a key store: \(error.message ?? "")")
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            KeyStoreError(.storage, "\(path) is locked by another process; try again")
        default:
            KeyStoreError(.storage, "SQLite error on \(path): \(error.message ?? "\(error.resultCode)")")
        }
    }

    /// Writes the schema unless another connection has: the look and the writing share one
    /// `BEGIN IMMEDIATE` transaction, which SQLite's write lock serializes across processes.
    ///
    /// GRDB's `DatabaseMigrator` is not used for this: it reads which migrations ran before its write
    /// transaction begins and creates its `grdb_migrations` table outside it, so two processes creating one
    /// store both ran the schema (`table meta already exists`), or one found a store with `grdb_migrations`
    /// alone. The table and its `v1` row are still written, so stores keep the form they always had.
    static func createSchema(in pool: DatabasePool) throws {
        try pool.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                if try db.tableExists("meta") { return .commit }
                try db.execute(
                    sql: """
                        CREATE TABLE IF NOT EXISTS grdb_migrations(identifier TEXT NOT NULL PRIMARY KEY);
                        INSERT OR IGNORE INTO grdb_migrations(identifier) VALUES ('v1');
                        """)
                try db.execute(sql: schema)
                return .commit
            }
        }
    }

    /// The store's tables, format 1.
    static let schema = """
        CREATE TABLE meta(name TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
        INSERT INTO meta(name, value) VALUES ('format', '1'), ('generation', '0');
        CREATE TABLE principals(
            name TEXT PRIMARY KEY NOT NULL,
            description TEXT NOT NULL,
            created_at INTEGER NOT NULL);
        CREATE TABLE access_keys(
            id TEXT PRIMARY KEY NOT NULL,
            seq INTEGER NOT NULL,
            principal TEXT NOT NULL REFERENCES principals(name),
            state TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'inactive', 'deleted')),
            retire_at INTEGER,
            state_changed_at INTEGER NOT NULL,
            scope TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            description TEXT NOT NULL,
            last_used_at INTEGER,
            last_used_region TEXT,
            last_used_service TEXT,
            mk_version INTEGER,
            wrapped_data_key BLOB,
            sealed_secret BLOB,
            CHECK ((state = 'retiring') = (retire_at IS NOT NULL)),
            CHECK ((state = 'deleted') = (sealed_secret IS NULL)),
            CHECK ((sealed_secret IS NULL) = (wrapped_data_key IS NULL)),
            CHECK ((sealed_secret IS NULL) = (mk_version IS NULL)));
        CREATE INDEX access_keys_principal ON access_keys(principal, seq);
        CREATE INDEX access_keys_mk_version ON access_keys(mk_version);
        CREATE TABLE master_keys(
            version INTEGER PRIMARY KEY NOT NULL,
            check_value BLOB NOT NULL,
            registered_at INTEGER NOT NULL);
        CREATE TABLE audit(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            principal TEXT,
            key_id TEXT,
            detail TEXT NOT NULL);
        CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """

    /// Runs `body` on a consistent snapshot.
    public func read<R>(_ body: (any KeyStoreReader) throws -> R) throws -> R {
        do {
            return try pool.read { db in try body(Connection(db: db)) }
        } catch let error as DatabaseError {
            throw Self.map(error, path: path)
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction (serialized across processes by SQLite's write lock).
    public func write<R>(_ body: (any KeyStoreTransaction) throws -> R) throws -> R {
        do {
            return try pool.writeWithoutTransaction { db in
                var result: R?
                try db.inTransaction(.immediate) {
                    result = try body(Connection(db: db))
                    return .commit
                }
                guard let result else { throw KeyStoreError(.storage, "transaction produced no result") }
                return result
            }
        } catch let error as DatabaseError {
            throw Self.map(error, path: path)
        }
    }

    /// Writes the WAL through to the database file and truncates it (`wal_checkpoint(TRUNCATE)`). With
    /// `secure_delete` the database file's copy of an erased value is overwritten when its page is written
    /// through; the WAL keeps every page image committed since it was last emptied, erased values
    /// included, for as long as any connection (a running server's) has the store open. Readers that
    /// hold an older snapshot make it stop short: the next call finishes.
    public func eraseSuperseded() throws {
        do {
            try pool.writeWithoutTransaction { db in _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch let error as DatabaseError {
            throw Self.map(error, path: path)
        }
    }

    /// Stores last-used data; a newer time is never overwritten by an older one (SQLite) and unknown ids are ignored.
    public func recordLastUsed(_ uses: [String: LastUsed]) throws {
        guard !uses.isEmpty else { return }
        do {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    for (id, use) in uses {
                        try db.execute(
                            sql: """
                                UPDATE access_keys SET last_used_at = ?, last_used_region = ?, last_used_service = ?
                                WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)
                                """,
                            arguments: [use.at.secondsSince1970, use.region, use.service, id, use.at.secondsSince1970])
                    }
                    return .commit
                }
            }
        } catch let error as DatabaseError {
            throw Self.map(error, path: path)
        }
    }

    /// Runs SQLite's `PRAGMA integrity_check` and the store's own consistency checks; returns the problems found.
    public func integrityProblems() throws -> [String] {
        try read { _ in () }
        return try pool.read { db in
            var problems = try String.fetchAll(db, sql: "PRAGMA integrity_check").filter { $0 != "ok" }
            problems += try String.fetchAll(db, sql: "PRAGMA foreign_key_check").map { "foreign key: \($0)" }
            return problems
        }
    }

    /// Copies a consistent snapshot of the store to `destination` (SQLite online backup; safe while in use).
    public func backup(to destination: String) throws(KeyStoreError) {
        do {
            // A new copy is created owner-only before SQLite opens it (SQLite would create it with the
            // umask's mode, open to others until the chmod below), never through a symlink; an
            // existing file is overwritten as before and made owner-only after.
            let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                close(fd)
            } else {
                // EEXIST: something is there. A regular file is overwritten; a symlink (O_EXCL refuses
                // one, dangling or not) or anything else is refused.
                let exists = errno == EEXIST
                let reason = exists ? "it exists and is not a regular file" : errnoText()
                var info = stat()
                guard exists, lstat(destination, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                    throw KeyStoreError(.storage, "cannot create the backup \(destination): \(reason)")
                }
            }
            let target = try DatabaseQueue(path: destination)
            try pool.backup(to: target)
            try target.close()
            chmod(destination, 0o600)
        } catch let error as DatabaseError {
            throw Self.map(error, path: destination)
        } catch let error as KeyStoreError {
            throw error
        } catch {
            throw KeyStoreError(.storage, "backup to \(destination) failed: \(error)")
        }
    }

    // MARK: rows

    struct Connection: KeyStoreTransaction {
        let db: Database

        /// Reads a column, turning an unexpected type or NULL into `corruptStore` instead of a trap.
        static func col<T: DatabaseValueConvertible>(_ row: Row, _ name: String) throws -> T {
            do {
                return try row.decode(forColumn: name)
            } catch {
                throw KeyStoreError(.corruptStore, "column \(name) holds an unexpected value")
            }
        }

        func generation() throws -> UInt64 {
            UInt64(try String.fetchOne(db, sql: "SELECT value FROM meta WHERE name = 'generation'") ?? "0") ?? 0
        }

        func principal(named name: String) throws -> Principal? {
            try Row.fetchOne(db, sql: "SELECT * FROM principals WHERE name = ?", arguments: [name]).map {
                try Self.principal($0)
            }
        }

        func principals() throws -> [Principal] {
            try Row.fetchAll(db, sql: "SELECT * FROM principals ORDER BY name").map { try Self.principal($0) }
        }

        static func principal(_ row: Row) throws -> Principal {
            Principal(
                name: try Self.col(row, "name"), description: try Self.col(row, "description"),
                createdAt: AmzDate(secondsSince1970: try Self.col(row, "created_at")))
        }

        func key(id: String) throws -> StoredKey? {
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM access_keys WHERE id = ?", arguments: [id])
            else { return nil }
            return try Self.storedKey(row)
        }

        func keys(principal: String?) throws -> [StoredKey] {
            let rows =
                if let principal {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM access_keys WHERE principal = ? ORDER BY seq", arguments: [principal])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM access_keys ORDER BY seq")
                }
            return try rows.map { try Self.storedKey($0) }
        }

        /// Only the retiring rows are decoded: every change's sweep asks, so a change (a rewrap's
        /// batch, a create) no longer reads every key of the store.
        func retiringKeys() throws -> [StoredKey] {
            try Row.fetchAll(db, sql: "SELECT * FROM access_keys WHERE state = 'retiring' ORDER BY seq")
                .map { try Self.storedKey($0) }
        }

        /// From the `mk_version` index: no sort, so a batch costs its own rows, not the store's
        /// (a rewrap's records leave the range as they move).
        func keys(sealedBelow version: UInt32, limit: Int) throws -> [StoredKey] {
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM access_keys WHERE mk_version < ? LIMIT ?",
                arguments: [Int64(version), max(0, limit)])
            return try rows.map { try Self.storedKey($0) }
        }

        static func storedKey(_ row: Row) throws -> StoredKey {
            let stateName: String = try Self.col(row, "state")
            let state: KeyState
            switch stateName {
            case "active": state = .active
            case "retiring": state = .retiring(at: AmzDate(secondsSince1970: try Self.col(row, "retire_at")))
            case "inactive": state = .inactive
            case "deleted": state = .deleted
            default:
                throw KeyStoreError(
                    .corruptStore, "a key has the unknown state \(stateName.prefix(32).debugDescription)")
            }
            let scopeText: String = try Self.col(row, "scope")
            let scope: KeyScope
            do {
                scope = try JSONDecoder().decode(KeyScope.self, from: Data(scopeText.utf8))
            } catch {
                throw KeyStoreError(
                    .corruptStore, "the scope of key \((try? Self.col(row, "id") as String?) ?? "?") is not valid JSON")
            }
            var lastUsed: LastUsed?
            if let at: Int64 = try Self.col(row, "last_used_at") {
                lastUsed = LastUsed(
                    at: AmzDate(secondsSince1970: at), region: try Self.col(row, "last_used_region") ?? "",
                    service: try Self.col(row, "last_used_service") ?? "")
            }
            let version: Int64? = try Self.col(row, "mk_version")
            let key = AccessKey(
                accessKeyID: try Self.col(row, "id"), principal: try Self.col(row, "principal"), state: state,
                stateChangedAt: AmzDate(secondsSince1970: try Self.col(row, "state_changed_at")), scope: scope,
                createdAt: AmzDate(secondsSince1970: try Self.col(row, "created_at")),
                description: try Self.col(row, "description"),
                lastUsed: lastUsed, masterKeyVersion: version.map { UInt32(truncatingIfNeeded: $0) })
            var sealed: SealedSecret?
            if let version, let wrapped: Data = try Self.col(row, "wrapped_data_key"),
                let secret: Data = try Self.col(row, "sealed_secret")
            {
                sealed = SealedSecret(
                    masterKeyVersion: UInt32(truncatingIfNeeded: version), wrappedDataKey: Array(wrapped),
                    sealedSecret: Array(secret))
            }
            return StoredKey(key: key, sealed: sealed)
        }

        func auditEvents(after: Int64, limit: Int) throws -> [AuditEvent] {
            try Row.fetchAll(
                db, sql: "SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [after, limit]
            ).map { row in
                AuditEvent(
                    sequence: try Self.col(row, "seq"), at: AmzDate(secondsSince1970: try Self.col(row, "at")),
                    actor: try Self.col(row, "actor"), action: try Self.col(row, "action"),
                    principal: try Self.col(row, "principal"), keyID: try Self.col(row, "key_id"),
                    detail: try Self.col(row, "detail"))
            }
        }

        func masterKeyChecks() throws -> [UInt32: [UInt8]] {
            var out: [UInt32: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT version, check_value FROM master_keys") {
                let version: Int64 = try Self.col(row, "version")
                let check: Data = try Self.col(row, "check_value")
                out[UInt32(truncatingIfNeeded: version)] = Array(check)
            }
            return out
        }

        func insertPrincipal(_ principal: Principal) throws {
            try db.execute(
                sql: "INSERT INTO principals(name, description, created_at) VALUES (?, ?, ?)",
                arguments: [principal.name, principal.description, principal.createdAt.secondsSince1970])
        }

        static func arguments(_ stored: StoredKey) throws -> [(any DatabaseValueConvertible)?] {
            let key = stored.key
            var retireAt: Int64?
            if case .retiring(let at) = key.state { retireAt = at.secondsSince1970 }
            let scope = String(decoding: try Self.encoder.encode(key.scope), as: UTF8.self)
            return [
                key.principal, key.state.name, retireAt, key.stateChangedAt.secondsSince1970, scope,
                key.createdAt.secondsSince1970, key.description, key.lastUsed?.at.secondsSince1970,
                key.lastUsed?.region, key.lastUsed?.service, stored.sealed.map { Int64($0.masterKeyVersion) },
                stored.sealed.map { Data($0.wrappedDataKey) }, stored.sealed.map { Data($0.sealedSecret) },
                key.accessKeyID,
            ]
        }

        static let encoder: JSONEncoder = {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return encoder
        }()

        func insertKey(_ key: StoredKey) throws {
            try db.execute(
                sql: """
                    INSERT INTO access_keys(principal, state, retire_at, state_changed_at, scope, created_at,
                        description, last_used_at, last_used_region, last_used_service, mk_version, wrapped_data_key,
                        sealed_secret, id, seq)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM access_keys))
                    """, arguments: StatementArguments(try Self.arguments(key)))
        }

        func updateKey(_ key: StoredKey) throws {
            try db.execute(
                sql: """
                    UPDATE access_keys SET principal = ?, state = ?, retire_at = ?, state_changed_at = ?, scope = ?,
                        created_at = ?, description = ?, last_used_at = ?, last_used_region = ?,
                        last_used_service = ?, mk_version = ?, wrapped_data_key = ?, sealed_secret = ?
                    WHERE id = ?
                    """, arguments: StatementArguments(try Self.arguments(key)))
        }

        func appendAudit(_ event: AuditEvent) throws {
            try db.execute(
                sql: "INSERT INTO audit(at, actor, action, principal, key_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [
                    event.at.secondsSince1970, event.actor, event.action, event.principal, event.keyID, event.detail,
                ])
        }

        func bumpGeneration() throws -> UInt64 {
            try db.execute(sql: "UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'generation'")
            return try generation()
        }

        func registerMasterKey(version: UInt32, check: [UInt8], at: AmzDate) throws {
            try db.execute(
                sql: "INSERT OR REPLACE INTO master_keys(version, check_value, registered_at) VALUES (?, ?, ?)",
                arguments: [Int64(version), Data(check), at.secondsSince1970])
        }

        func unregisterMasterKey(version: UInt32) throws {
            try db.execute(sql: "DELETE FROM master_keys WHERE version = ?", arguments: [Int64(version)])
        }
    }
}
