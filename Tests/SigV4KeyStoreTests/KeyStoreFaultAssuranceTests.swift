import Foundation
import SigV4
import SigV4KeyStore
import SigV4TestSupport
import Testing

/// Disk-full and read-only stores: `sigv4 keys` fails with a clear error (exit 1, `sigv4 keys: <code>: …`,
/// never a signal) and the store stays intact: integrity holds and every key issued before still opens.
///
/// Disk full is simulated without privileges: `ulimit -f` caps the size any file may grow to, with SIGXFSZ
/// ignored so that writes fail with EFBIG as on a full disk. Read-only: file modes when not root; a read-only
/// bind mount of the store's directory when root (root ignores file modes).
@Suite(.serialized) struct KeyStoreFaultAssuranceTests {
    /// The thread sanitizer's runtime cannot start in a process whose file size is capped (it dies with
    /// SIGBUS before `main`), so the disk-full check runs in the normal and the address-sanitizer runs.
    static let underThreadSanitizer = ChildEnvironment.isThreadSanitizerBuild

    static func runLimited(_ arguments: [String], env: [String: String], fileSizeKiB: Int) throws -> (ProcessResult, Bool) {
        let executable = try #require(sigv4Executable(), "the sigv4 executable must be built (swift build)")
        let result = try ChildProcess.run(
            URL(fileURLWithPath: "/bin/bash"),
            ["-c", "trap '' XFSZ; ulimit -f \(fileSizeKiB); exec \"$0\" \"$@\"", executable] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
                .merging(ChildEnvironment.sanitizers) { $1 }.merging(env) { $1 })
        return (
            ProcessResult(
                status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
                stderr: String(decoding: result.stderr, as: UTF8.self)), result.killedBySignal
        )
    }

    static func issued(_ stdout: String) -> (String, String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any],
            let id = object["access_key_id"] as? String, let secret = object["secret_access_key"] as? String
        else { return nil }
        return (id, secret)
    }

    static func checkIntact(_ db: String, _ keys: [String: String]) throws {
        let store = try KeyStore.open(path: db, masterKeys: try MasterKeyRing.readKeyFile(atPath: db + ".masterkey"))
        let storage = try #require(store.storage as? SQLiteKeyStoreStorage)
        #expect(try storage.integrityProblems().isEmpty)
        #expect(try store.verifySecrets().isEmpty)
        for (id, secret) in keys {
            #expect(try store._openSecret(keyID: id) == SecretAccessKey(secret), "\(id) lost or changed")
        }
    }

    @discardableResult
    static func sh(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test("a full disk: creates fail with a clear error and the store keeps every key issued before",
        .enabled(if: !underThreadSanitizer, "a TSan-built sigv4 cannot start under `ulimit -f`"))
    func diskFull() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        var keys: [String: String] = [:]
        var failure: ProcessResult?
        let limit = max(64, (Self.fileSize(db) + Self.fileSize(db + "-wal")) / 1024 + 16)
        for i in 0..<300 where failure == nil {
            let (result, signaled) = try Self.runLimited(
                ["keys", "create", "--principal", "p\(i)", "--description", String(repeating: "d", count: 200)],
                env: env, fileSizeKiB: limit)
            #expect(!signaled, "killed by a signal: \(result.stderr)")
            if result.status == 0, let (id, secret) = Self.issued(result.stdout) {
                keys[id] = secret
            } else {
                failure = result
            }
        }
        let error = try #require(failure, "the file size limit of \(limit) KiB was never reached")
        #expect(error.status == 1)
        #expect(error.stderr.hasPrefix("sigv4 keys: "), "\(error.stderr)")
        #expect(!keys.isEmpty)
        try Self.checkIntact(db, keys)
        // With room again the store works.
        let after = try runSigV4(["keys", "create", "--principal", "after-full"], environment: env)
        #expect(after.status == 0, "\(after.stderr)")
    }

    @Test("a read-only store: changes fail with a clear error and nothing is damaged")
    func readOnly() throws {
        let dir = TempDir()
        let storeDir = dir.file("store")
        try FileManager.default.createDirectory(atPath: storeDir, withIntermediateDirectories: true)
        let db = storeDir + "/keys.db"
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        let created = try runSigV4(["keys", "create", "--principal", "alice"], environment: env)
        let (id, secret) = try #require(Self.issued(created.stdout))
        // Make the directory (store, WAL and shared-memory files) read-only.
        let root = geteuid() == 0
        var mounted = false
        if root {
            mounted = Self.sh("mount --bind '\(storeDir)' '\(storeDir)' && mount -o remount,ro,bind '\(storeDir)'") == 0
            #expect(mounted, "root: a read-only bind mount is needed for this check")
        } else {
            for f in [db, db + "-wal", db + "-shm"] { chmod(f, 0o444) }
            chmod(storeDir, 0o555)
        }
        defer {
            if mounted { Self.sh("umount '\(storeDir)'") }
            chmod(storeDir, 0o755)
            for f in [db, db + "-wal", db + "-shm"] { chmod(f, 0o644) }
        }
        for args in [["keys", "create", "--principal", "bob"], ["keys", "rotate", "--principal", "alice"], ["keys", "deactivate", id]] {
            let result = try runSigV4(args, environment: env)
            #expect(result.status == 1, "\(args): \(result.stdout)")
            #expect(result.stderr.hasPrefix("sigv4 keys: "), "\(args): \(result.stderr)")
        }
        if mounted { Self.sh("umount '\(storeDir)'"); mounted = false }
        chmod(storeDir, 0o755)
        for f in [db, db + "-wal", db + "-shm"] { chmod(f, 0o644) }
        try Self.checkIntact(db, [id: secret])
    }
}
