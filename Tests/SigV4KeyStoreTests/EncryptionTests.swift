import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing
import _SigV4Crypto

@Suite struct EncryptionTests {
    @Test func neitherTheDatabaseFileNorItsWALHoldsAnySecretOrMasterKeyBytes() throws {
        let fixture = try Fixture(.sqlite)
        var secrets: [[UInt8]] = []
        for i in 0..<12 {
            let issued = try fixture.store.createKey(principal: "p\(i)", actor: "test")
            secrets.append(Array(issued.secretAccessKey.revealForDisplay().utf8))
            let rotation = try fixture.store.rotate(principal: "p\(i)", overlap: 60, actor: "test")
            secrets.append(Array(rotation.issued.secretAccessKey.revealForDisplay().utf8))
        }
        var masterKeyText: [UInt8] = []
        fixture.ring.appendTextForm(to: &masterKeyText)
        let line = try #require(
            String(decoding: masterKeyText, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("1:") })
        let masterHex = Array(line.dropFirst(2).utf8)
        #expect(masterHex.count == 64)
        let masterRaw = try #require(Hex.decode(String(decoding: masterHex, as: UTF8.self)))
        let wal = fileBytes(fixture.dbPath + "-wal")
        let db = fileBytes(fixture.dbPath)
        #expect(!wal.isEmpty, "the store runs in WAL mode, so the WAL holds the recent writes")
        #expect(!db.isEmpty)
        for (name, bytes) in [("db", db), ("wal", wal)] {
            for secret in secrets {
                #expect(!contains(bytes, secret), "a secret appears in the \(name) file")
                #expect(!contains(bytes, Array(secret.prefix(16))), "a secret prefix appears in the \(name) file")
            }
            #expect(!contains(bytes, masterHex))
            #expect(!contains(bytes, masterRaw))
        }
        // The store reads back every secret.
        #expect(try fixture.store.verifySecrets().isEmpty)
    }

    @Test func aWrongMasterKeyIsAClearErrorAndChangesNothing() throws {
        let fixture = try Fixture(.sqlite)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let before = (fileBytes(fixture.dbPath), fileBytes(fixture.dbPath + "-wal"))
        let wrong = try MasterKeyRing.generate()  // also version 1, different bytes
        expectError(.wrongMasterKey) { _ = try KeyStore.open(path: fixture.dbPath, masterKeys: wrong) }
        #expect(fileBytes(fixture.dbPath) == before.0)
        #expect(fileBytes(fixture.dbPath + "-wal") == before.1)
        // The right key still opens everything.
        let reopened = try fixture.secondInstance()
        #expect(try reopened._openSecret(keyID: issued.accessKeyID) == issued.secretAccessKey)
    }

    @Test func rewrapMovesEveryRecordAndTheStoreReopensWithOnlyTheNewMasterKey() async throws {
        let fixture = try Fixture(.sqlite)
        var issued: [IssuedKey] = []
        for i in 0..<150 { issued.append(try fixture.store.createKey(principal: "p\(i)", actor: "test")) }
        let gone = try makeKey(fixture.store, in: .deleted, principal: "p0")
        let ring2 = try fixture.ring.addingNewVersion()
        #expect(ring2.versions == [1, 2])
        let store2 = try KeyStore.open(path: fixture.dbPath, masterKeys: ring2)
        #expect(try store2.rewrap(batchSize: 64, actor: "test") == 150)
        #expect(try store2.masterKeyUsage() == [1: 0, 2: 150])
        #expect(try store2.auditLog().filter { $0.action == "masterkey.rewrap" }.count == 3)
        let onlyNew = try store2.dropMasterKey(version: 1, actor: "test")
        #expect(onlyNew.versions == [2])
        let reopened = try KeyStore.open(path: fixture.dbPath, masterKeys: onlyNew)
        for key in issued {
            #expect(try reopened._openSecret(keyID: key.accessKeyID) == key.secretAccessKey)
        }
        let now = reopened.now
        let resolved = try await reopened.resolve(
            accessKeyID: issued[7].accessKeyID, context: context(signedAt: now, now: now))
        #expect(resolved?.secretAccessKey == issued[7].secretAccessKey)
        #expect(try reopened.key(gone).state == .deleted)
        // The old key alone no longer opens the store.
        expectError(.masterKeyVersionUnavailable) {
            _ = try KeyStore.open(path: fixture.dbPath, masterKeys: fixture.ring)
        }
    }

    /// A rewrap takes each batch from the backend's `keys(sealedBelow:limit:)` (SQLite: the
    /// `mk_version` index, no sort), not from a read of every key per batch.
    @Test(arguments: [Backend.sqlite, .memory])
    func aRewrapBatchIsTheRecordsSealedUnderAnOlderVersion(backend: Backend) throws {
        let fixture = try Fixture(backend)
        var ids: Set<String> = []
        for i in 0..<10 { ids.insert(try fixture.store.createKey(principal: "p\(i)", actor: "test").accessKeyID) }
        _ = try makeKey(fixture.store, in: .deleted, principal: "p0")
        _ = try makeKey(fixture.store, in: .deleted, principal: "p1")
        let store2 = try KeyStore(storage: fixture.store.storage, masterKeys: try fixture.ring.addingNewVersion())
        func below(_ version: UInt32, _ limit: Int) throws -> [StoredKey] {
            try store2.storage.read { try $0.keys(sealedBelow: version, limit: limit) }
        }
        // Every sealed record under version 1, tombstones left out; a limit is a batch of them.
        #expect(Set(try below(2, 100).map(\.key.accessKeyID)) == ids)
        let four = try below(2, 4)
        #expect(four.count == 4 && Set(four.map(\.key.accessKeyID)).isSubset(of: ids))
        #expect(try below(1, 100).isEmpty)
        #expect(try below(2, 0).isEmpty)
        // What the default (read every key, filter) gives.
        let everything = try store2.storage.read { try $0.keys(principal: nil) }
        #expect(
            Set(try below(2, 100).map(\.key.accessKeyID))
                == Set(everything.filter { $0.sealedParts?.masterKeyVersion == 1 }.map(\.key.accessKeyID)))
        #expect(try store2.rewrap(batchSize: 3, actor: "test") == 10)
        #expect(try store2.auditLog().filter { $0.action == "masterkey.rewrap" }.count == 4)
        #expect(try below(2, 100).isEmpty)
        #expect(Set(try below(3, 100).map(\.key.accessKeyID)) == ids)
        #expect(try store2.newestMasterKeyVersion() == 2)
        #expect(try store2.newestMasterKeyVersion() == store2.masterKeyUsage().keys.max())
        #expect(try KeyStore(storage: InMemoryKeyStoreStorage(), masterKeys: fixture.ring).newestMasterKeyVersion() == nil)
    }

    @Test func aMasterKeyStillInUseCannotBeDropped() throws {
        let fixture = try Fixture(.memory)
        _ = try fixture.store.createKey(principal: "alice", actor: "test")
        let ring2 = try fixture.ring.addingNewVersion()
        let store2 = try KeyStore(storage: fixture.store.storage, masterKeys: ring2)
        expectError(.masterKeyInUse) { _ = try store2.dropMasterKey(version: 1, actor: "test") }
        expectError(.masterKeyInUse) { _ = try store2.dropMasterKey(version: 2, actor: "test") }
        try store2.rewrap(actor: "test")
        #expect(try store2.dropMasterKey(version: 1, actor: "test").versions == [2])
    }

    @Test func aStoreOpenedBeforeANewerMasterKeyWasRegisteredRefusesToSealAndChangesNothing() throws {
        let fixture = try Fixture(.sqlite)
        let first = try fixture.store.createKey(principal: "alice", actor: "test")
        // Another process adds version 2 (as `sigv4 keys rewrap` does) while this instance still holds [1].
        let newer = try KeyStore.open(path: fixture.dbPath, masterKeys: try fixture.ring.addingNewVersion())
        try newer.registerMasterKey(actor: "test")
        let before = try StoreSnapshot(fixture.store)
        expectError(.staleMasterKeyRing) { _ = try fixture.store.createKey(principal: "bob", actor: "test") }
        expectError(.staleMasterKeyRing) {
            _ = try fixture.store.rotate(principal: "alice", overlap: 60, actor: "test")
        }
        expectError(.staleMasterKeyRing) { try fixture.store.registerMasterKey(actor: "test") }
        #expect(try StoreSnapshot(fixture.store) == before)
        // Reading still works, and an instance with the newer ring seals under version 2.
        #expect(try fixture.store._openSecret(keyID: first.accessKeyID) == first.secretAccessKey)
        _ = try newer.createKey(principal: "bob", actor: "test")
        #expect(try newer.masterKeyUsage() == [1: 1, 2: 1])
    }

    @Test func aStoreOpenedFromAKeyFileSealsUnderTheNewerVersionThatARewrapElsewhereAdded() throws {
        let fixture = try Fixture(.sqlite)
        let keyFile = fixture.dir.file("keys.db.masterkey")
        try fixture.ring.writeKeyFile(atPath: keyFile)
        let lagging = fixture.dir.file("lagging.masterkey")  // a copy that never gets version 2
        try fixture.ring.writeKeyFile(atPath: lagging)
        let app = try KeyStore.open(path: fixture.dbPath, masterKeys: fixture.ring, masterKeyFile: keyFile)
        let stuck = try KeyStore.open(path: fixture.dbPath, masterKeys: fixture.ring, masterKeyFile: lagging)
        let alice = try app.createKey(principal: "alice", actor: "test")
        // `sigv4 keys rewrap` in another process saves and registers version 2.
        _ = try fixture.store.addMasterKeyVersion(keyFile: keyFile, actor: "ops")
        let bob = try app.createKey(principal: "bob", actor: "test")
        let rotation = try app.rotate(principal: "alice", overlap: 60, actor: "test")
        #expect(app.masterKeys.versions == [1])  // what it seals with by default is unchanged; the file added 2
        #expect(try app.masterKeyUsage() == [1: 1, 2: 2])
        #expect(try app._openSecret(keyID: bob.accessKeyID) == bob.secretAccessKey)
        let before = try StoreSnapshot(stuck)
        expectError(.staleMasterKeyRing) { _ = try stuck.createKey(principal: "carol", actor: "test") }
        #expect(try StoreSnapshot(stuck) == before)
        let reopened = try KeyStore.open(
            path: fixture.dbPath, masterKeys: try MasterKeyRing.readKeyFile(atPath: keyFile))
        for key in [alice, bob, rotation.issued] {
            #expect(try reopened._openSecret(keyID: key.accessKeyID) == key.secretAccessKey)
        }
    }

    @Test func aRewrapStopsOnceANewerRewrapHasRegisteredItsVersionAndThatOneMovesEveryRecord() throws {
        let fixture = try Fixture(.sqlite)
        var issued: [IssuedKey] = []
        for i in 0..<5 { issued.append(try fixture.store.createKey(principal: "p\(i)", actor: "test")) }
        let ring2 = try fixture.ring.addingNewVersion()
        let ring3 = try ring2.addingNewVersion()
        let older = try KeyStore.open(path: fixture.dbPath, masterKeys: ring2)
        let newer = try KeyStore.open(path: fixture.dbPath, masterKeys: ring3)
        try older.registerMasterKey(actor: "test")
        try newer.registerMasterKey(actor: "test")
        #expect(try older.rewrap(batchSize: 2, actor: "test") == 0)
        #expect(try older.masterKeyUsage() == [1: 5, 2: 0, 3: 0])
        #expect(try newer.rewrap(batchSize: 2, actor: "test") == 5)
        #expect(try newer.masterKeyUsage() == [1: 0, 2: 0, 3: 5])
        let onlyNewest = try newer.dropMasterKey(version: 1, actor: "test").removing(version: 2)
        _ = try newer.dropMasterKey(version: 2, actor: "test")
        let reopened = try KeyStore.open(path: fixture.dbPath, masterKeys: onlyNewest)
        for key in issued { #expect(try reopened._openSecret(keyID: key.accessKeyID) == key.secretAccessKey) }
    }

    @Test func theNewestRegisteredMasterKeyCannotBeDroppedEvenByAnInstanceWithAnOlderRing() throws {
        let fixture = try Fixture(.memory)
        try fixture.store.registerMasterKey(actor: "test")
        let newer = try KeyStore(storage: fixture.store.storage, masterKeys: try fixture.ring.addingNewVersion())
        try newer.registerMasterKey(actor: "test")
        // The stale instance's current version is 1, so 2 passes its own check; the store's refuses.
        expectError(.masterKeyInUse) { _ = try fixture.store.dropMasterKey(version: 2, actor: "test") }
        #expect(try newer.masterKeyUsage() == [1: 0, 2: 0])
        #expect(try newer.dropMasterKey(version: 1, actor: "test").versions == [2])
    }

    @Test func droppingAVersionFromAKeyFileKeepsAVersionAnotherRewrapAddedMeanwhile() throws {
        let fixture = try Fixture(.sqlite)
        let keyFile = fixture.dir.file("keys.db.masterkey")
        try fixture.ring.writeKeyFile(atPath: keyFile)
        let alice = try fixture.store.createKey(principal: "alice", actor: "test")
        // Rewrap A: version 2, every record moved to it.
        let ringA = try fixture.store.addMasterKeyVersion(keyFile: keyFile, actor: "a")
        let a = try KeyStore.open(path: fixture.dbPath, masterKeys: ringA)
        #expect(try a.rewrap(actor: "a") == 1)
        // Rewrap B, from another terminal, adds version 3 before A drops version 1.
        let ringB = try a.addMasterKeyVersion(keyFile: keyFile, actor: "b")
        #expect(ringB.versions == [1, 2, 3])
        // A drops version 1 from the key file as it is now, not from the ring it holds ([1, 2]).
        let saved = try a.dropMasterKey(version: 1, keyFile: keyFile, actor: "a")
        #expect(saved.versions == [2, 3])
        #expect(try MasterKeyRing.readKeyFile(atPath: keyFile).versions == [2, 3])
        let b = try KeyStore.open(path: fixture.dbPath, masterKeys: try MasterKeyRing.readKeyFile(atPath: keyFile))
        #expect(try b.rewrap(actor: "b") == 1)
        #expect(try b._openSecret(keyID: alice.accessKeyID) == alice.secretAccessKey)
        // The current version of the file is never dropped, whatever the caller's ring says.
        expectError(.masterKeyInUse) { _ = try a.dropMasterKey(version: 3, keyFile: keyFile, actor: "a") }
        #expect(try MasterKeyRing.readKeyFile(atPath: keyFile).versions == [2, 3])
    }

    @Test func aServingStoreOpenedFromAKeyFileKeepsResolvingKeysThatARewrapElsewhereMovedAndDropped() throws {
        let fixture = try Fixture(.sqlite)
        let keyFile = fixture.dir.file("keys.db.masterkey")
        try fixture.ring.writeKeyFile(atPath: keyFile)
        var policy = KeyStorePolicy()
        policy.refreshInterval = 0  // every lookup sees the rewrap's generation move and reloads
        let serving = try KeyStore.open(
            path: fixture.dbPath, masterKeys: fixture.ring, masterKeyFile: keyFile, policy: policy,
            clock: fixture.clock.closure)
        let blind = try KeyStore.open(
            path: fixture.dbPath, masterKeys: fixture.ring, policy: policy, clock: fixture.clock.closure)
        let otherFile = fixture.dir.file("other.masterkey")
        try fixture.ring.writeKeyFile(atPath: otherFile)
        let misled = try KeyStore.open(
            path: fixture.dbPath, masterKeys: fixture.ring, masterKeyFile: otherFile, policy: policy,
            clock: fixture.clock.closure)
        var issued: [IssuedKey] = []
        for i in 0..<3 { issued.append(try fixture.store.createKey(principal: "p\(i)", actor: "test")) }
        let now = fixture.clock.now
        #expect(
            try serving.resolveNow(accessKeyID: issued[0].accessKeyID, context: context(signedAt: now, now: now)) != nil
        )
        // `sigv4 keys rewrap --drop-unused` in another process: version 2 saved and registered, every
        // record moved to it, version 1 removed from the file and the store.
        let ring2 = try fixture.store.addMasterKeyVersion(keyFile: keyFile, actor: "ops")
        let rewrapping = try KeyStore.open(path: fixture.dbPath, masterKeys: ring2)
        #expect(try rewrapping.rewrap(actor: "ops") == 3)
        #expect(try rewrapping.dropMasterKey(version: 1, keyFile: keyFile, actor: "ops").versions == [2])
        for key in issued {
            let resolved = try serving.resolveNow(
                accessKeyID: key.accessKeyID, context: context(signedAt: now, now: now))
            #expect(resolved?.secretAccessKey == key.secretAccessKey)
        }
        #expect(try serving.verifySecrets() == [])
        // Without the file, the instance cannot know version 2 until it is opened again.
        expectError(.masterKeyVersionUnavailable) {
            _ = try blind.resolveNow(accessKeyID: issued[1].accessKeyID, context: context(signedAt: now, now: now))
        }
        // A file whose version 2 is not the store's is refused, not used.
        try MasterKeyRing.generate().addingNewVersion().writeKeyFile(atPath: otherFile)
        expectError(.wrongMasterKey) {
            _ = try misled.resolveNow(accessKeyID: issued[2].accessKeyID, context: context(signedAt: now, now: now))
        }
    }

    @Test func aSecretMovedToAnotherRecordFailsToAuthenticate() throws {
        let fixture = try Fixture(.memory)
        let a = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        let b = try fixture.store.createKey(principal: "bob", actor: "test").accessKeyID
        try fixture.store.storage.write { tx in
            let sa = try #require(try tx.key(id: a))
            var sb = try #require(try tx.key(id: b))
            sb = StoredKey(key: sb.key, sealedParts: sa.sealedParts)
            try tx.updateKey(sb)
        }
        expectError(.integrityFailure) { _ = try fixture.store._openSecret(keyID: b) }
        #expect(try fixture.store.verifySecrets() == [b])
    }

    @Test func keyFileIsWrittenOwnerOnlyAndLooseKeyFilesAreRefused() throws {
        let dir = TempDir()
        let path = dir.file("master.key")
        let ring = try MasterKeyRing.generate()
        try ring.writeKeyFile(atPath: path)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        #expect(try MasterKeyRing.readKeyFile(atPath: path).versions == [1])
        for loose in [0o644, 0o640, 0o604, 0o660] {
            chmod(path, mode_t(loose))
            expectError(.keyFilePermissions) { _ = try MasterKeyRing.readKeyFile(atPath: path) }
        }
    }

    @Test(arguments: [
        "", "zz", "1:abcd", "0:" + String(repeating: "a", count: 64), "x:" + String(repeating: "a", count: 64),
        "1:" + String(repeating: "g", count: 64),
        "1:" + String(repeating: "a", count: 64) + ",1:" + String(repeating: "b", count: 64),
    ])
    func malformedMasterKeyTextIsRefusedWithoutEchoingIt(text: String) {
        do {
            _ = try MasterKeyRing.parse(text)
            Issue.record("accepted a malformed master key")
        } catch {
            #expect(error.code == .malformedMasterKey)
            #expect(text.count < 8 || !error.reason.contains(text))
        }
    }

    @Test func masterKeyTextFormsParse() throws {
        let hex1 = String(repeating: "ab", count: 32)
        let hex2 = String(repeating: "CD", count: 32)
        #expect(try MasterKeyRing.parse(hex1).versions == [1])
        #expect(try MasterKeyRing.parse("1:\(hex1),2:\(hex2)").currentVersion == 2)
        #expect(try MasterKeyRing.parse("# comment\n3:\(hex1)\n\n5:\(hex2) # trailing\n").versions == [3, 5])
        #expect("\(try MasterKeyRing.parse(hex1))".contains(hex1) == false)
        #expect(try MasterKeyRing.parse("1:\(hex1)\r\n\t2:\(hex2)#x\r").versions == [1, 2])
    }

    @Test func theLastMasterKeyVersionCannotBeFollowedAndSaysSoInsteadOfTrapping() throws {
        let ring = try MasterKeyRing.parse("4294967295:" + String(repeating: "ab", count: 32))
        expectError(.malformedMasterKey) { _ = try ring.addingNewVersion() }
        #expect(try MasterKeyRing.parse("4294967294:" + String(repeating: "ab", count: 32)).addingNewVersion()
            .currentVersion == 4_294_967_295)
    }

    @Test func aKeyFileThatIsNotARegularFileIsRefusedAtOnceNotWaitedOn() throws {
        // A FIFO blocks an open for reading until a writer comes: a server started with one hung.
        let dir = TempDir()
        let fifo = dir.file("keys.db.masterkey")
        #expect(mkfifo(fifo, 0o600) == 0)
        expectError(.malformedMasterKey) { _ = try MasterKeyRing.readKeyFile(atPath: fifo) }
        expectError(.malformedMasterKey) { _ = try MasterKeyRing.readKeyFile(atPath: dir.path) }
    }
}
