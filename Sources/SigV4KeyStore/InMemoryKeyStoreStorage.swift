import Foundation
import SigV4

/// A key store kept in memory, for tests and examples. Transactions are atomic: a body that throws
/// leaves the contents as they were.
///
/// ```swift
/// let store = try KeyStore(storage: InMemoryKeyStoreStorage(), masterKeys: try .generate())
/// ```
public final class InMemoryKeyStoreStorage: KeyStoreStorage, @unchecked Sendable {
    struct Contents {
        var generation: UInt64 = 0
        var principals: [String: Principal] = [:]
        var keys: [String: StoredKey] = [:]
        var keyOrder: [String] = []
        var audit: [AuditEvent] = []
        var masterKeys: [UInt32: [UInt8]] = [:]
    }

    private let lock = NSLock()
    private var contents = Contents()

    /// Creates an empty store.
    public init() {}

    final class Snapshot: KeyStoreTransaction {
        var contents: Contents
        init(_ contents: Contents) { self.contents = contents }

        func generation() throws -> UInt64 { contents.generation }
        func principal(named name: String) throws -> Principal? { contents.principals[name] }
        func principals() throws -> [Principal] { contents.principals.values.sorted { $0.name < $1.name } }
        func key(id: String) throws -> StoredKey? { contents.keys[id] }
        func keys(principal: String?) throws -> [StoredKey] {
            contents.keyOrder.compactMap { contents.keys[$0] }.filter {
                principal == nil || $0.key.principal == principal
            }
        }
        func auditEvents(after: Int64, limit: Int) throws -> [AuditEvent] {
            Array(contents.audit.filter { $0.sequence > after }.prefix(limit))
        }
        func masterKeyChecks() throws -> [UInt32: [UInt8]] { contents.masterKeys }
        func insertPrincipal(_ principal: Principal) throws { contents.principals[principal.name] = principal }
        func insertKey(_ key: StoredKey) throws {
            contents.keys[key.key.accessKeyID] = key
            contents.keyOrder.append(key.key.accessKeyID)
        }
        func updateKey(_ key: StoredKey) throws { contents.keys[key.key.accessKeyID] = key }
        func appendAudit(_ event: AuditEvent) throws {
            var event = event
            event.sequence = Int64(contents.audit.count + 1)
            contents.audit.append(event)
        }
        func bumpGeneration() throws -> UInt64 {
            contents.generation += 1
            return contents.generation
        }
        func registerMasterKey(version: UInt32, check: [UInt8], at: AmzDate) throws {
            contents.masterKeys[version] = check
        }
        func unregisterMasterKey(version: UInt32) throws { contents.masterKeys[version] = nil }
    }

    /// Runs `body` on a consistent snapshot.
    public func read<R>(_ body: (any KeyStoreReader) throws -> R) throws -> R {
        let snapshot = lock.withLock { Snapshot(contents) }
        return try body(snapshot)
    }

    /// Runs `body` in a copy of the contents; it replaces them only when `body` returns.
    public func write<R>(_ body: (any KeyStoreTransaction) throws -> R) throws -> R {
        lock.lock()
        defer { lock.unlock() }
        let transaction = Snapshot(contents)
        let result = try body(transaction)
        contents = transaction.contents
        return result
    }

    /// Stores last-used data; a newer time is never overwritten by an older one (SQLite) and unknown ids are ignored.
    public func recordLastUsed(_ uses: [String: LastUsed]) throws {
        lock.withLock {
            for (id, use) in uses where contents.keys[id] != nil {
                // As the SQLite storage: an older use written later (another resolver's buffer) is ignored.
                if let known = contents.keys[id]?.key.lastUsed, known.at > use.at { continue }
                contents.keys[id]?.key.lastUsed = use
            }
        }
    }
}
