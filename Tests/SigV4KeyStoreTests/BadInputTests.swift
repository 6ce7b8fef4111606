import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

@Suite struct BadInputTests {
    @Test func aFileThatIsNotAKeyStoreIsRefusedAndLeftUntouched() throws {
        let dir = TempDir()
        let path = dir.file("keys.db")
        let garbage = Array("this is not a database, it is a grocery list\n".utf8) + [UInt8](repeating: 7, count: 5000)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(garbage)))
        let ring = try MasterKeyRing.generate()
        expectError(.corruptStore) { _ = try KeyStore.open(path: path, masterKeys: ring) }
        expectError(.corruptStore) { _ = try KeyStore.open(path: path, create: true, masterKeys: ring) }
        #expect(fileBytes(path) == garbage)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func aDamagedKeyStoreIsReportedAsCorruptAndLeftUntouched() throws {
        let fixture = try Fixture(.sqlite)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let storage = try #require(fixture.store.storage as? SQLiteKeyStoreStorage)
        try storage.backup(to: fixture.dir.file("copy.db"))
        let path = fixture.dir.file("copy.db")
        var bytes = fileBytes(path)
        #expect(bytes.count > 4096)
        for i in 100..<min(bytes.count, 4096) { bytes[i] = 0xA5 }  // the schema page after the header
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        expectError(.corruptStore) { _ = try KeyStore.open(path: path, masterKeys: fixture.ring) }
        #expect(fileBytes(path) == bytes)
    }

    @Test(arguments: [
        "UPDATE access_keys SET state = 'bogus'", "UPDATE access_keys SET scope = 'not json'",
        "UPDATE access_keys SET created_at = 'yesterday'",
        "UPDATE access_keys SET retire_at = NULL, state = 'retiring'",
    ])
    func aTamperedRowIsReportedAsCorruptNotATrap(sql: String) throws {
        let fixture = try Fixture(.sqlite)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("PRAGMA ignore_check_constraints = ON")
            db.execute(sys.argv[2]); db.commit()
            """
        let tamper = try runPython(script, [fixture.dbPath, sql])
        #expect(tamper.status == 0, "\(tamper.stderr)")
        expectError(.corruptStore) { _ = try KeyStore.open(path: fixture.dbPath, masterKeys: fixture.ring) }
        expectError(.corruptStore) { _ = try fixture.store.keys() }
    }

    @Test func aMissingStoreIsNotCreatedByOrdinaryCommands() throws {
        let dir = TempDir()
        let path = dir.file("absent.db")
        expectError(.storeNotFound) { _ = try KeyStoreLocation.open(path: path, environment: [:]) }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aMissingMasterKeyIsAClearErrorAndChangesNothing() throws {
        let fixture = try Fixture(.sqlite)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let before = fileBytes(fixture.dbPath)
        expectError(.masterKeyMissing) { _ = try KeyStoreLocation.open(path: fixture.dbPath, environment: [:]) }
        expectError(.masterKeyMissing) {
            _ = try KeyStoreLocation.open(
                path: fixture.dbPath, environment: ["SIGV4_KEYSTORE_MASTER_KEY_FILE": fixture.dir.file("nope")])
        }
        #expect(fileBytes(fixture.dbPath) == before)
    }

    @Test func aKeyFileWithLoosePermissionsIsRefusedAndChangesNothing() throws {
        let fixture = try Fixture(.sqlite)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let keyFile = MasterKeyRing.defaultKeyFilePath(forStoreAt: fixture.dbPath)
        try fixture.ring.writeKeyFile(atPath: keyFile)
        #expect(try KeyStoreLocation.open(path: fixture.dbPath, environment: [:]).keys().count == 1)
        chmod(keyFile, 0o644)
        let before = try StoreSnapshot(fixture.store)
        expectError(.keyFilePermissions) { _ = try KeyStoreLocation.open(path: fixture.dbPath, environment: [:]) }
        #expect(try StoreSnapshot(fixture.store) == before)
    }

    @Test(arguments: Backend.allCases)
    func aDuplicatePrincipalIsRefusedAndChangesNothing(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.store.addPrincipal("alice", description: "first", actor: "test")
        let before = try StoreSnapshot(fixture.store)
        expectError(.duplicatePrincipal) { try fixture.store.addPrincipal("alice", actor: "test") }
        #expect(try StoreSnapshot(fixture.store) == before)
        #expect(try fixture.store.principals().map(\.description) == ["first"])
    }

    @Test(arguments: Backend.allCases)
    func anUnknownKeyIdIsRefusedByEveryOperationAndChangesNothing(backend: Backend) throws {
        let fixture = try Fixture(backend)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let before = try StoreSnapshot(fixture.store)
        for id in [
            "SV4KZZZZZZZZZZZZZZZZ", "sv4k-not-an-id", "", String(repeating: "Q", count: 300), "SV4K'; DROP TABLE x",
        ] {
            expectError(.unknownKey) { try fixture.store.retire(keyID: id, actor: "test") }
            expectError(.unknownKey) { try fixture.store.deactivate(keyID: id, actor: "test") }
            expectError(.unknownKey) { try fixture.store.activate(keyID: id, actor: "test") }
            expectError(.unknownKey) { try fixture.store.delete(keyID: id, force: true, actor: "test") }
            expectError(.unknownKey) { _ = try fixture.store.key(id) }
        }
        #expect(try StoreSnapshot(fixture.store) == before)
    }

    @Test(arguments: Backend.allCases)
    func malformedArgumentsAreRefusedAndChangeNothing(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let id = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        let before = try StoreSnapshot(fixture.store)
        let store = fixture.store
        expectError(.invalidArgument) { try store.addPrincipal("", actor: "test") }
        expectError(.invalidArgument) { try store.addPrincipal("has space", actor: "test") }
        expectError(.invalidArgument) { try store.addPrincipal(String(repeating: "a", count: 129), actor: "test") }
        expectError(.invalidArgument) { try store.addPrincipal("bob", actor: "") }
        expectError(.invalidArgument) { try store.addPrincipal("bob", actor: "evil\nactor") }
        expectError(.invalidArgument) {
            _ = try store.createKey(principal: "bob", scope: KeyScope(maxPresignLifetime: 0), actor: "test")
        }
        expectError(.invalidArgument) {
            _ = try store.createKey(principal: "bob", scope: KeyScope(maxPresignLifetime: 604_801), actor: "test")
        }
        expectError(.invalidArgument) {
            let t = store.now
            _ = try store.createKey(principal: "bob", scope: KeyScope(notBefore: t, notAfter: t), actor: "test")
        }
        expectError(.invalidArgument) {
            _ = try store.createKey(principal: "bob", description: String(repeating: "d", count: 2000), actor: "test")
        }
        expectError(.invalidArgument) { _ = try store.rotate(principal: "alice", overlap: -1, actor: "test") }
        expectError(.invalidArgument) { try store.retire(keyID: id, at: store.now.adding(seconds: -1), actor: "test") }
        // A retiring key is outside the active-key limit: it may retire at most 366 days on, as a rotation's overlap.
        expectError(.invalidArgument) {
            try store.retire(keyID: id, at: store.now.adding(seconds: 366 * 86_400 + 1), actor: "test")
        }
        expectError(.invalidArgument) { _ = try store.rotate(principal: "alice", overlap: 366 * 86_400 + 1, actor: "test") }
        expectError(.unknownPrincipal) {
            _ = try store.createKey(principal: "carol", principalPolicy: .mustExist, actor: "test")
        }
        expectError(.duplicatePrincipal) {
            _ = try store.createKey(principal: "alice", principalPolicy: .mustBeNew, actor: "test")
        }
        expectError(.invalidArgument) {
            _ = try store.createKey(
                principal: "dave", scope: KeyScope(maxPresignLifetime: 0), principalPolicy: .mustBeNew, actor: "test")
        }
        #expect(try StoreSnapshot(fixture.store) == before)
    }

    @Test func theAuditTableRefusesUpdatesAndDeletesEvenThroughRawSQL() throws {
        let fixture = try Fixture(.sqlite)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let script = """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            for sql in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"):
                try:
                    db.execute(sql); db.commit(); print("allowed")
                except sqlite3.DatabaseError as e:
                    print("refused", e)
            """
        let result = try runPython(script, [fixture.dbPath])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.split(separator: "\n").map { $0.hasPrefix("refused") } == [true, true], "\(result.stdout)")
        #expect(try fixture.store.auditLog().allSatisfy { $0.actor == "test" })
    }
}
