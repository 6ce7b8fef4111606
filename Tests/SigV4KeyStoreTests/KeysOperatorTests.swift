import Foundation
import SigV4
import SigV4KeyStore
import Testing

/// `sigv4 keys` as an operator uses it on a store that has been in production for a while:
/// a long audit log, and master-key rotations started from two terminals at once.
@Suite(.serialized) struct KeysOperatorTests {
    @Test func auditForOneKeyFindsItsEventsPastTheFirstThousandOfTheLog() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        // A store with a long history: 1,500 earlier events about other keys.
        let filled = try runPython(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.executemany("INSERT INTO audit(at, actor, action, principal, key_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                [(1780000000, "ops", "key.activate", "other", "SV4KOTHER%012d" % i, "") for i in range(1500)])
            db.commit(); db.close()
            """, [db])
        #expect(filled.status == 0, "\(filled.stderr)")
        let created = try runSigV4(["keys", "create", "--principal", "alice"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let issued = try #require(
            try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        let id = try #require(issued["access_key_id"] as? String)
        let deactivated = try runSigV4(["keys", "deactivate", id], environment: env)
        #expect(deactivated.status == 0, "\(deactivated.stderr)")

        let audit = try runSigV4(["keys", "audit", "--key", id, "--format", "json"], environment: env)
        #expect(audit.status == 0, "\(audit.stderr)")
        let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(events.compactMap { $0["action"] as? String } == ["key.create", "key.deactivate"])
        #expect(events.allSatisfy { $0["access_key_id"] as? String == id })
        // --limit counts the key's events, not the events read to find them.
        let first = try runSigV4(["keys", "audit", "--key", id, "--limit", "1", "--format", "json"], environment: env)
        let one = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [[String: Any]])
        #expect(one.compactMap { $0["action"] as? String } == ["key.create"])
        // Without --key, --limit still bounds the whole listing.
        let page = try runSigV4(["keys", "audit", "--limit", "10", "--format", "json"], environment: env)
        let ten = try #require(try JSONSerialization.jsonObject(with: Data(page.stdout.utf8)) as? [[String: Any]])
        #expect(ten.count == 10)
    }

    /// Both without and with `--drop-unused`, which rewrites the key file.
    @Test(arguments: [[], ["--drop-unused"]])
    func twoRewrapsStartedAtOnceNeverLoseAMasterKeyThatRecordsUse(flags: [String]) throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        var secrets: [String: String] = [:]
        for name in ["alice", "bob", "carol", "dave"] {
            let created = try runSigV4(["keys", "create", "--principal", name], environment: env)
            let issued = try #require(
                try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
            secrets[try #require(issued["access_key_id"] as? String)] = try #require(
                issued["secret_access_key"] as? String)
        }
        for round in 0..<6 {
            let results = ChildResults<[ProcessResult]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                let result =
                    (try? runSigV4(["keys", "rewrap"] + flags, environment: env))
                    ?? ProcessResult(status: -1, stdout: "", stderr: "did not run")
                results.mutate { $0.append(result) }
            }
            for result in results.value {
                #expect(result.status == 0, "round \(round): \(result.stderr)")
            }
            // Whatever the interleaving, the key file opens every record.
            let ring = try expectKeyFileOpens(db, secrets, "round \(round)")
            if !flags.isEmpty {  // each run removed only versions no record used, from the file as it then was
                #expect(ring.versions.count <= 2, "round \(round): unused versions left behind: \(ring.versions)")
            }
        }
    }

    @Test func keysCreatedWhileARewrapDropsOldVersionsAllSucceedAndAllOpen() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        let created = ChildResults<[String: String]>([:])
        let failures = ChildResults<[String]>([])
        for round in 0..<4 {
            DispatchQueue.concurrentPerform(iterations: 2) { child in
                if child == 0 {
                    let result =
                        (try? runSigV4(["keys", "rewrap", "--drop-unused"], environment: env))
                        ?? ProcessResult(status: -1, stdout: "", stderr: "did not run")
                    if result.status != 0 { failures.mutate { $0.append("rewrap: \(result.stderr)") } }
                    return
                }
                for i in 0..<4 {
                    let principal = "p\(round)x\(i)"
                    let result =
                        (try? runSigV4(["keys", "create", "--principal", principal], environment: env))
                        ?? ProcessResult(status: -1, stdout: "", stderr: "did not run")
                    if result.status == 0,
                        let issued = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
                            as? [String: Any],
                        let id = issued["access_key_id"] as? String,
                        let secret = issued["secret_access_key"] as? String
                    {
                        created.mutate { $0[id] = secret }
                    } else {
                        failures.mutate { $0.append("create \(principal): \(result.status) \(result.stderr)") }
                    }
                }
            }
        }
        #expect(failures.value == [])
        #expect(created.value.count == 16)
        try expectKeyFileOpens(db, created.value, "after the rounds")
    }

    @Test func initsStartedAtOnceLeaveOneMasterKeyThatTheStoreAndItsFileAgreeOn() throws {
        // Replicas whose entrypoint runs `sigv4 keys init` against one shared volume.
        for round in 0..<8 {
            let dir = TempDir()
            let db = dir.file("keys.db")
            let env = ["SIGV4_KEYSTORE": db]
            let results = ChildResults<[ProcessResult]>([])
            DispatchQueue.concurrentPerform(iterations: 3) { _ in
                let result =
                    (try? runSigV4(["keys", "init"], environment: env))
                    ?? ProcessResult(status: -1, stdout: "", stderr: "did not run")
                results.mutate { $0.append(result) }
            }
            for result in results.value {
                // Each either initialised the store or found it already there.
                #expect(
                    result.status == 0 || result.stderr.contains("already exists"),
                    "round \(round): \(result.status) \(result.stderr)")
            }
            #expect(results.value.contains { $0.status == 0 }, "round \(round)")
            try expectCreatedKeyOpens(db, "round \(round)")
        }
    }

    @Test func initsIfMissingStartedAtOnceEachReturnOnlyOnceTheStoreIsReady() throws {
        // Replicas whose entrypoint is `sigv4 keys init --if-missing && sigv4 serve`: each init exits 0,
        // and only once the store opens with its master key, so what runs next finds it ready.
        for round in 0..<6 {
            let dir = TempDir()
            let db = dir.file("keys.db")
            let env = ["SIGV4_KEYSTORE": db]
            let results = ChildResults<[(ProcessResult, ProcessResult)]>([])
            let done = DispatchGroup()
            for replica in 0..<3 {
                done.enter()
                Thread.detachNewThread {
                    let failed = ProcessResult(status: -1, stdout: "", stderr: "did not run")
                    let initialized = (try? runSigV4(["keys", "init", "--if-missing"], environment: env)) ?? failed
                    let principal = "replica\(replica)"
                    let created =
                        (try? runSigV4(["keys", "create", "--principal", principal], environment: env)) ?? failed
                    results.mutate { $0.append((initialized, created)) }
                    done.leave()
                }
            }
            done.wait()
            var secrets: [String: String] = [:]
            for (initialized, created) in results.value {
                #expect(initialized.status == 0, "round \(round): \(initialized.stderr)")
                #expect(created.status == 0, "round \(round): \(created.stderr)")
                let issued = try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any]
                if let id = issued?["access_key_id"] as? String, let secret = issued?["secret_access_key"] as? String {
                    secrets[id] = secret
                }
            }
            #expect(secrets.count == 3, "round \(round)")
            #expect(results.value.filter { $0.0.stdout.contains("initialized key store") }.count == 1, "round \(round)")
            try expectKeyFileOpens(db, secrets, "round \(round)")
        }
    }

    @Test func initIfMissingWaitsForAStoreAnotherInitIsCreating() throws {
        // Another init holds the directory's lock, has claimed the path (the empty file it makes first)
        // and written nothing else.
        let dir = TempDir()
        let db = dir.file("keys.db")
        let directoryLock = open((db as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        try #require(directoryLock >= 0 && flock(directoryLock, LOCK_EX) == 0)
        var locked = true
        defer { if locked { close(directoryLock) } }
        let claim = open(db, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        try #require(claim >= 0)
        close(claim)
        let result = ChildResults<ProcessResult?>(nil)
        let done = DispatchGroup()
        done.enter()
        Thread.detachNewThread {
            let ran = try? runSigV4(["keys", "init", "--if-missing"], environment: ["SIGV4_KEYSTORE": db])
            result.mutate { $0 = ran ?? ProcessResult(status: -1, stdout: "", stderr: "did not run") }
            done.leave()
        }
        // Still waiting: no key file, no master key registered.
        Thread.sleep(forTimeInterval: 0.5)
        #expect(result.value == nil, "returned before the store was ready: \(result.value?.stderr ?? "")")
        // The waiting init writes nothing: the claimed file is still the claimer's to fill.
        var info = stat()
        #expect(stat(db, &info) == 0 && info.st_size == 0, "the waiting init wrote to the claimed file")
        // The other init finishes: its key file (this one made it: the waiting init wrote none), its store,
        // and gives the lock up.
        let ring = try MasterKeyRing.generate()
        #expect(try ring.createKeyFile(atPath: db + ".masterkey"))
        try KeyStore.open(path: db, create: true, masterKeys: ring).registerMasterKey(actor: "the other init")
        close(directoryLock)
        locked = false
        #expect(done.wait(timeout: .now() + 40) == .success)
        let finished = try #require(result.value)
        #expect(finished.status == 0 && finished.stdout.contains("master key version 1"), "\(finished.stderr)")
        let created = try runSigV4(["keys", "create", "--principal", "alice"], environment: ["SIGV4_KEYSTORE": db])
        #expect(created.status == 0, "\(created.stderr)")
    }

    @Test func anInitKilledAtAnyPointLeavesAStoreTheNextInitFinishes() throws {
        // An entrypoint `sigv4 keys init --if-missing && sigv4 serve` whose first run was killed (OOM, a node
        // drained): every later start must finish the store, not wait on it and fail for ever.
        let crash = CrashSafetyTests()
        let first = TempDir()
        var window = try crash.run(["keys", "init"], env: ["SIGV4_KEYSTORE": first.file("keys.db")], killAfter: nil)
            .seconds
        var interrupted = 0
        for round in 0..<24 {
            let dir = TempDir()
            let db = dir.file("keys.db")
            let env = ["SIGV4_KEYSTORE": db]
            // Late in the window: most of a run is the process starting, before the store is claimed.
            let delay = Double.random(in: (window * 0.3)...window)
            let killed = try crash.run(["keys", "init"], env: env, killAfter: delay)
            if killed.killed && FileManager.default.fileExists(atPath: db) { interrupted += 1 }
            if !killed.killed { window = (window + killed.seconds) / 2 }
            // Every second round the next start is a plain init: it finishes an unfinished store too, and
            // refuses only a finished one (the kill may have come after the store was done).
            let ifMissing = round.isMultiple(of: 2)
            let next = try runSigV4(ifMissing ? ["keys", "init", "--if-missing"] : ["keys", "init"], environment: env)
            let finished = next.status == 0 || (!ifMissing && next.stderr.contains("never overwrites a store"))
            #expect(finished, "round \(round), killed after \(delay) s (\(killed.killed)): \(next.stderr)")
            try expectCreatedKeyOpens(db, "round \(round), killed after \(delay) s")
        }
        #expect(interrupted >= 1, "no kill left a store file behind (window \(window) s)")
    }

    @Test func anInitFinishesEachStateAnInterruptedInitLeaves() throws {
        // What a kill leaves, made directly: the claimed file alone; the key file too; the schema written
        // and no master key registered. The next init (plain or --if-missing) finishes each.
        for (state, ifMissing) in [("claimed", false), ("key file", true), ("schema", false), ("schema", true)] {
            let dir = TempDir()
            let db = dir.file("keys.db")
            let env = ["SIGV4_KEYSTORE": db]
            let claim = open(db, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            try #require(claim >= 0)
            close(claim)
            var ring: MasterKeyRing?
            var keyFile: [UInt8] = []
            if state != "claimed" {
                let made = try MasterKeyRing.generate()
                #expect(try made.createKeyFile(atPath: db + ".masterkey"))
                ring = made
                keyFile = fileBytes(db + ".masterkey")
            }
            if state == "schema", let ring { _ = try KeyStore.open(path: db, create: true, masterKeys: ring) }
            let next = try runSigV4(ifMissing ? ["keys", "init", "--if-missing"] : ["keys", "init"], environment: env)
            #expect(next.status == 0 && next.stdout.contains("interrupted"), "\(state): \(next.stderr)")
            try expectCreatedKeyOpens(db, state)
            // A key file that was there is the one the store took, unchanged.
            let kept = keyFile.isEmpty || fileBytes(db + ".masterkey") == keyFile
            #expect(kept, "\(state): the key file was replaced")
        }
    }

    @Test func initIfMissingOnAStoreInUseChangesNothingAndAWrongMasterKeyIsRefused() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        #expect(try runSigV4(["keys", "create", "--principal", "alice"], environment: env).status == 0)
        let before = try runSigV4(["keys", "audit", "--format", "json"], environment: env).stdout
        let keyFile = try Data(contentsOf: URL(fileURLWithPath: db + ".masterkey"))
        let again = try runSigV4(["keys", "init", "--if-missing"], environment: env)
        #expect(again.status == 0 && again.stdout.contains("nothing changed"), "\(again.stderr)")
        #expect(try runSigV4(["keys", "audit", "--format", "json"], environment: env).stdout == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: db + ".masterkey")) == keyFile)
        // Without the flag an existing store is still an error.
        let plain = try runSigV4(["keys", "init"], environment: env)
        #expect(plain.status == 1 && plain.stderr.contains("already exists"), "\(plain.stderr)")
        // Another master key: refused, not waited on.
        let other = String(repeating: "ab", count: 32)
        let wrong = try runSigV4(
            ["keys", "init", "--if-missing"],
            environment: env.merging(["SIGV4_KEYSTORE_MASTER_KEY": "1:" + other]) { $1 })
        #expect(wrong.status == 1 && wrong.stderr.contains("wrongMasterKey"), "\(wrong.stderr)")
        #expect(!wrong.stderr.contains(other))
    }

    /// Issues a key for `alice` with `sigv4 keys create` on the store at `db` and checks that its key file
    /// opens it (``expectKeyFileOpens(_:_:_:sourceLocation:)``).
    func expectCreatedKeyOpens(_ db: String, _ when: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let created = try runSigV4(["keys", "create", "--principal", "alice"], environment: ["SIGV4_KEYSTORE": db])
        try #require(created.status == 0, "\(when): \(created.stderr)", sourceLocation: sourceLocation)
        let issued = try #require(
            try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any],
            sourceLocation: sourceLocation)
        let id = try #require(issued["access_key_id"] as? String, sourceLocation: sourceLocation)
        let secret = try #require(issued["secret_access_key"] as? String, sourceLocation: sourceLocation)
        try expectKeyFileOpens(db, [id: secret], when, sourceLocation: sourceLocation)
    }

    /// Opens the store at `db` with its key file alone and checks that every record opens and that each
    /// of `secrets` (id → secret) is the one stored; returns the key file's ring.
    @discardableResult
    func expectKeyFileOpens(
        _ db: String, _ secrets: [String: String], _ when: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> MasterKeyRing {
        let ring = try MasterKeyRing.readKeyFile(atPath: db + ".masterkey")
        let store = try KeyStore.open(path: db, masterKeys: ring)
        #expect(
            try store.verifySecrets() == [], "\(when): records the key file cannot open", sourceLocation: sourceLocation
        )
        for (id, secret) in secrets {
            let opens = try store._openSecret(keyID: id).revealForDisplay() == secret  // never printed
            #expect(opens, "\(when): \(id)", sourceLocation: sourceLocation)
        }
        return ring
    }
}

/// A value shared by the concurrent children of a test.
final class ChildResults<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
}
