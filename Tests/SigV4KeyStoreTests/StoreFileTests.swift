import Foundation
import SigV4
import SigV4KeyStore
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The files a key store writes: the database and the master key file. What is at their paths
/// when the store opens them (another application's database, a planted symlink) must never be
/// modified, followed or taken over.
@Suite struct StoreFileTests {
    @Test func anSQLiteDatabaseOfAnotherApplicationIsRefusedAndLeftUntouched() throws {
        let dir = TempDir()
        let path = dir.file("app.db")
        let made = try runPython(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("CREATE TABLE groceries(item TEXT NOT NULL)")
            db.execute("INSERT INTO groceries VALUES ('milk'), ('eggs')")
            db.commit(); db.close()
            """, [path])
        #expect(made.status == 0, "\(made.stderr)")
        let before = fileBytes(path)
        #expect(before.count >= 1024)
        let ring = try MasterKeyRing.generate()
        expectError(.corruptStore) { _ = try KeyStore.open(path: path, masterKeys: ring) }
        expectError(.corruptStore) { _ = try KeyStore.open(path: path, create: true, masterKeys: ring) }
        expectError(.corruptStore) { _ = try KeyStoreLocation.open(path: path, environment: [
            MasterKeyRing.environmentVariable: String(repeating: "ab", count: 32)
        ]) }
        #expect(fileBytes(path) == before, "the other application's database was modified")
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    }

    @Test func anEmptySQLiteFileStillBecomesAStore() throws {
        let dir = TempDir()
        let path = dir.file("keys.db")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let store = try KeyStore.open(path: path, create: true, masterKeys: try MasterKeyRing.generate())
        _ = try store.createKey(principal: "alice", actor: "test")
        #expect(try store.keys().count == 1)
    }

    @Test func openingWithoutCreateLeavesAFileWithoutTheStoresTablesUntouched() throws {
        // The empty file a `keys init` claims first, and a database with no table yet (its journal mode
        // set, its schema not yet written): an open that may not create is not the one to make them a store.
        let dir = TempDir()
        let empty = dir.file("claimed.db")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let ring = try MasterKeyRing.generate()
        expectError(.storeNotFound) { _ = try KeyStore.open(path: empty, masterKeys: ring) }
        #expect(fileBytes(empty).count == 0, "an open without create wrote to the claimed file")
        let bare = dir.file("bare.db")
        let made = try runPython(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1]); db.execute("PRAGMA journal_mode=WAL"); db.close()
            """, [bare])
        #expect(made.status == 0, "\(made.stderr)")
        let before = fileBytes(bare)
        expectError(.storeNotFound) { _ = try KeyStore.open(path: bare, masterKeys: ring) }
        let untouched = fileBytes(bare) == before
        #expect(untouched, "an open without create wrote to a database without the store's tables")
        _ = try KeyStore.open(path: bare, create: true, masterKeys: ring)
        #expect(try KeyStore.open(path: bare, masterKeys: ring).keys().isEmpty)
    }

    @Test func aWriteKilledBeforeItCommittedIsRolledBackAndTheNextInitFinishesTheStore() throws {
        // A process killed mid-write (here python, on a database without tables, its pages spilled to the
        // file before COMMIT) leaves a hot rollback journal, which a read-only connection cannot roll back
        // (SQLITE_READONLY_ROLLBACK): the store's read-only look at the schema must not fail on it. An init
        // killed while the claimed file became a WAL database left this, and every later init failed with
        // "attempt to write a readonly database".
        let dir = TempDir()
        let path = dir.file("keys.db")
        // The claimed file as an init makes it: owner-only (an init finishes no other).
        #expect(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]))
        let made = try runPython(
            """
            import sqlite3, os, sys
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute("CREATE TABLE header_written(x)")
            db.execute("DROP TABLE header_written")
            db.execute("PRAGMA cache_size=1")
            db.execute("BEGIN")
            db.execute("CREATE TABLE big(x)")
            for i in range(2000): db.execute("INSERT INTO big VALUES (?)", ("x" * 500,))
            os._exit(0)
            """, [path])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(FileManager.default.fileExists(atPath: path + "-journal"), "no hot journal was left")
        // Rolled back, the file holds no table: not a store yet, for an open that may not create.
        expectError(.storeNotFound) { _ = try KeyStore.open(path: path, masterKeys: try MasterKeyRing.generate()) }
        let env = ["SIGV4_KEYSTORE": path]
        let initialized = try runSigV4(["keys", "init"], environment: env)
        #expect(initialized.status == 0 && initialized.stdout.contains("interrupted"), "\(initialized.stderr)")
        #expect(try runSigV4(["keys", "create", "--principal", "alice"], environment: env).status == 0)
    }

    @Test(arguments: 0..<4) func opensThatCreateTheSameStoreAtOnceAllSucceedWithOneSchema(round: Int) throws {
        // GRDB's migrator reads which migrations ran before its write transaction begins, so two
        // processes creating one store could both run the schema (`table meta already exists`) or
        // deadlock upgrading their reads (`locked`). Each open here is its own connection, as in
        // another process.
        let dir = TempDir()
        let path = dir.file("keys.db")
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let ring = try MasterKeyRing.generate()
        let failures = ChildResults<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                _ = try KeyStore.open(path: path, create: true, masterKeys: ring)
            } catch {
                failures.mutate { $0.append("\(error)") }
            }
        }
        #expect(failures.value.isEmpty, "round \(round): \(failures.value)")
        let store = try KeyStore.open(path: path, masterKeys: ring)
        _ = try store.createKey(principal: "alice", actor: "test")
        #expect(try store.keys().count == 1)
    }

    @Test func keysInitNeverFinishesAFileAtThePathThatNoInitCouldHaveMade() throws {
        // An init finishes an empty (claimed) file it finds, as a killed init leaves one. A file it could
        // not have made (readable by others, behind a symlink, a dangling symlink) is refused: whoever made
        // it first would otherwise get a store they can read or rewrite. Nothing is written, the key file
        // included.
        let dir = TempDir()
        let open = dir.file("open.db")
        #expect(FileManager.default.createFile(atPath: open, contents: Data(), attributes: [.posixPermissions: 0o644]))
        let trap = dir.file("trap.db")
        #expect(FileManager.default.createFile(atPath: trap, contents: Data(), attributes: [.posixPermissions: 0o666]))
        let linked = dir.file("linked.db")
        #expect(symlink(trap, linked) == 0)
        let dangling = dir.file("dangling.db")
        #expect(symlink(dir.file("nowhere.db"), dangling) == 0)
        let cases = [(open, "others may read or write it"), (linked, "symbolic link"), (dangling, "symbolic link")]
        for (path, reason) in cases {
            for flags in [[], ["--if-missing"]] {
                let result = try runSigV4(["keys", "init", "--keystore", path] + flags)
                #expect(result.status == 1, "\(path) \(flags): \(result.stdout) \(result.stderr)")
                let refused = result.stderr.contains(reason) && result.stderr.contains("never takes it over")
                #expect(refused, "\(result.stderr)")
                #expect(!FileManager.default.fileExists(atPath: path + ".masterkey"), "\(path): a key file was written")
            }
        }
        #expect(fileBytes(open).isEmpty && fileBytes(trap).isEmpty, "a refused file was written to")
        // A finished store behind a symlink still answers --if-missing (it is only opened).
        let real = dir.file("real.db")
        #expect(try runSigV4(["keys", "init", "--keystore", real]).status == 0)
        let alias = dir.file("alias.db")
        #expect(symlink(real, alias) == 0)
        let again = try runSigV4(
            ["keys", "init", "--keystore", alias, "--if-missing", "--master-key-file", real + ".masterkey"])
        #expect(again.status == 0 && again.stdout.contains("nothing changed"), "\(again.stderr)")
        // With the directory lock held, a finished store whose key file is gone cannot be waited into
        // existence: refused at once with masterKeyMissing.
        let keyless = dir.file("keyless.db")
        #expect(try runSigV4(["keys", "init", "--keystore", keyless]).status == 0)
        try FileManager.default.removeItem(atPath: keyless + ".masterkey")
        let missing = try runSigV4(["keys", "init", "--keystore", keyless, "--if-missing"])
        #expect(missing.status == 1 && missing.stderr.contains("masterKeyMissing"), "\(missing.stderr)")
    }

    @Test func aDeletedKeysSealedSecretLeavesNoCopyInTheStoreFilesWhileAServerHasItOpen() throws {
        // secure_delete overwrites the database file's copy once the page is written through, but the WAL
        // keeps every committed page image for as long as any connection (a running server) has the store
        // open: the delete empties it too.
        let dir = TempDir()
        let path = dir.file("keys.db")
        let ring = try MasterKeyRing.generate()
        let store = try KeyStore.open(path: path, create: true, masterKeys: ring)
        let server = try KeyStore.open(path: path, masterKeys: ring)  // held open, as sigv4 serve holds it
        let issued = try store.createKey(principal: "alice", actor: "test")
        _ = try server.keys()
        let read = try runPython(
            """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            row = db.execute("SELECT sealed_secret, wrapped_data_key FROM access_keys WHERE id = ?", (sys.argv[2],)).fetchone()
            print(row[0].hex()); print(row[1].hex())
            db.close()
            """, [path, issued.accessKeyID])
        #expect(read.status == 0, "\(read.stderr)")
        let sealed = read.stdout.split(separator: "\n").compactMap { line -> [UInt8]? in
            let hex = Array(line.utf8)
            guard hex.count >= 32, hex.count % 2 == 0 else { return nil }
            return stride(from: 0, to: hex.count, by: 2).compactMap {
                UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)
            }
        }
        #expect(sealed.count == 2)
        func copies() -> Int {
            var found = 0
            for file in [path, path + "-wal"] {
                let bytes = fileBytes(file)
                for value in sealed where bytes.count >= value.count {
                    let first = value[0]
                    var i = 0
                    while i <= bytes.count - value.count {
                        if bytes[i] == first && Array(bytes[i..<i + value.count]) == value { found += 1 }
                        i += 1
                    }
                }
            }
            return found
        }
        #expect(copies() > 0, "the sealed secret was not found before the delete (the search finds nothing)")
        _ = try store.deactivate(keyID: issued.accessKeyID, actor: "test")
        _ = try store.delete(keyID: issued.accessKeyID, force: true, actor: "test")
        #expect(copies() == 0, "a deleted key's sealed secret or wrapped data key is still in keys.db or its WAL")
        #expect(try server.keys().allSatisfy { $0.state != .active })
    }

    @Test func theConnectionThatWritesTheStoreSyncsEveryCommitAsFullDurabilityAsks() throws {
        // GRDB sets `synchronous = NORMAL` on a pool's writer when it turns WAL on, after the store's own
        // setting: commits then survived a killed process but not power loss. Both a new store and one
        // opened again (its file already in WAL mode) must write with FULL (2).
        let dir = TempDir()
        let path = dir.file("keys.db")
        let ring = try MasterKeyRing.generate()
        let created = try SQLiteKeyStoreStorage(path: path, create: true)
        #expect(try created.writerSynchronousMode() == 2)
        _ = try KeyStore.open(path: path, masterKeys: ring).createKey(principal: "alice", actor: "test")
        let reopened = try #require(try KeyStore.open(path: path, masterKeys: ring).storage as? SQLiteKeyStoreStorage)
        #expect(try reopened.writerSynchronousMode() == 2)
        #expect(try reopened.integrityProblems().isEmpty)
    }

    @Test func savingAKeyFileRemovesTheTemporaryCopiesThatKilledRunsLeftAndNothingElse() throws {
        // A run killed between writing `<key file>.tmp-<pid>` and moving it into place leaves master keys
        // on disk; the next save removes such files once they are a minute old, and nothing else.
        let dir = TempDir()
        for replacing in [true, false] {
            let path = dir.file("keys-\(replacing).db.masterkey")
            let stale = path + ".tmp-424242"
            let staleLink = path + ".tmp-414141"
            let fresh = path + ".tmp-434343"
            let notOurs = [path + ".tmp-12ab", path + ".tmp-", dir.file("other.masterkey.tmp-7"), path + ".bak"]
            for file in [stale, fresh] + notOurs {
                #expect(FileManager.default.createFile(atPath: file, contents: Data("1:00".utf8)))
            }
            #expect(symlink(dir.file("nowhere"), staleLink) == 0)
            let old = Date(timeIntervalSinceNow: -120)
            for file in [stale] + notOurs {
                try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: file)
            }
            var times = [timespec(tv_sec: time(nil) - 120, tv_nsec: 0), timespec(tv_sec: time(nil) - 120, tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, staleLink, &times, AT_SYMLINK_NOFOLLOW) == 0)
            let ring = try MasterKeyRing.generate()
            if replacing {
                try ring.writeKeyFile(atPath: path)
            } else {
                #expect(try ring.createKeyFile(atPath: path))
            }
            func exists(_ file: String) -> Bool {
                var info = stat()
                return lstat(file, &info) == 0
            }
            #expect(!exists(stale) && !exists(staleLink), "replacing \(replacing)")
            #expect(exists(fresh), "a temporary copy under a minute old may be a live writer's")
            for file in notOurs { #expect(exists(file), "\(file)") }
            #expect(try MasterKeyRing.readKeyFile(atPath: path).currentVersion == ring.currentVersion)
        }
    }

    @Test func creatingAStoreDoesNotFollowADanglingSymlinkAtItsPath() throws {
        let dir = TempDir()
        let path = dir.file("keys.db")
        let target = dir.file("elsewhere.db")
        #expect(symlink(target, path) == 0)
        let ring = try MasterKeyRing.generate()
        let previous = umask(0o022)
        defer { umask(previous) }
        do {
            let store = try KeyStore.open(path: path, create: true, masterKeys: ring)
            _ = try store.createKey(principal: "alice", actor: "test")
            // If it did open, the file it wrote must still be owner-only.
            var info = stat()
            #expect(stat(target, &info) == 0)
            #expect(info.st_mode & 0o077 == 0, "the store was created through the symlink with mode \(String(info.st_mode & 0o777, radix: 8))")
            Issue.record("a store was created through a dangling symlink at its path")
        } catch {  // typed throws: a KeyStoreError
            #expect(error.code == .storage, "\(error)")
            #expect(error.reason.contains(path), "\(error.reason)")
        }
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    /// A backup holds every sealed secret: it is never written through a symlink planted at its path
    /// (the link's target would receive it), and a new one is owner-only from the start.
    @Test func aBackupIsNotWrittenThroughASymlinkAndANewOneIsOwnerOnly() throws {
        let dir = TempDir()
        let opened = try KeyStore.open(path: dir.file("keys.db"), create: true, masterKeys: try MasterKeyRing.generate())
        _ = try opened.createKey(principal: "alice", actor: "test")
        let store = try #require(opened.storage as? SQLiteKeyStoreStorage)
        let link = dir.file("backup.db")
        let target = dir.file("elsewhere.db")
        #expect(symlink(target, link) == 0)
        do {
            try store.backup(to: link)
            Issue.record("a backup was written through a dangling symlink")
        } catch {
            #expect(error.code == .storage, "\(error)")  // typed throws: a KeyStoreError
        }
        #expect(!FileManager.default.fileExists(atPath: target))
        let copy = dir.file("copy.db")
        try store.backup(to: copy)
        var info = stat()
        #expect(stat(copy, &info) == 0)
        #expect(info.st_mode & 0o077 == 0, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test func aNewStoreFileIsOwnerOnlyWhateverTheUmask() throws {
        let dir = TempDir()
        let path = dir.file("keys.db")
        let previous = umask(0)
        defer { umask(previous) }
        let store = try KeyStore.open(path: path, create: true, masterKeys: try MasterKeyRing.generate())
        _ = try store.createKey(principal: "alice", actor: "test")
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            var info = stat()
            #expect(stat(file, &info) == 0)
            #expect(info.st_mode & 0o077 == 0, "\(file): mode \(String(info.st_mode & 0o777, radix: 8))")
        }
    }

    @Test func writingTheKeyFileDoesNotFollowASymlinkAtItsTemporaryPath() throws {
        let dir = TempDir()
        let keyFile = dir.file("keys.db.masterkey")
        let victim = dir.file("victim.txt")
        let original = Data("someone else's file\n".utf8)
        #expect(FileManager.default.createFile(atPath: victim, contents: original))
        chmod(victim, 0o644)
        // The temporary name is predictable (the key file's path and the process id).
        #expect(symlink(victim, keyFile + ".tmp-\(getpid())") == 0)
        let ring = try MasterKeyRing.generate()
        do {
            try ring.writeKeyFile(atPath: keyFile)
        } catch {
            // Refusing is acceptable; writing through the link is not.
        }
        let untouched = fileBytes(victim) == Array(original)  // a Bool: the key's bytes are never printed
        #expect(untouched, "the master key was written through a planted symlink")
        var info = stat()
        if lstat(keyFile, &info) == 0 {
            #expect(info.st_mode & S_IFMT == S_IFREG, "the key file is not a regular file")
            #expect(info.st_mode & 0o077 == 0)
            let again = try MasterKeyRing.readKeyFile(atPath: keyFile)
            #expect(again.versions == ring.versions)
        }
    }

    @Test func creatingAKeyFileNeverReplacesOneThatIsThereOrFollowsALink() throws {
        let dir = TempDir()
        let keyFile = dir.file("keys.db.masterkey")
        let first = try MasterKeyRing.generate()
        #expect(try first.createKeyFile(atPath: keyFile))
        var info = stat()
        #expect(lstat(keyFile, &info) == 0 && info.st_mode & 0o077 == 0)
        // A second creation (another `keys init` a moment later) writes nothing and says so.
        let before = fileBytes(keyFile)
        #expect(try !MasterKeyRing.generate().createKeyFile(atPath: keyFile))
        let kept = fileBytes(keyFile) == before  // a Bool: key bytes are never printed
        #expect(kept)
        #expect(!FileManager.default.fileExists(atPath: keyFile + ".tmp-\(getpid())"), "the temporary file is removed")
        // A dangling symlink at the path is neither followed nor replaced.
        let linked = dir.file("linked.masterkey")
        let target = dir.file("elsewhere")
        #expect(symlink(target, linked) == 0)
        #expect(try !first.createKeyFile(atPath: linked))
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test("a master key file that is a symlink (a mounted secret) stays one through a rewrap: the new version and the drop of the old are written where it points, and the store opens through the link")
    func aSymlinkedKeyFileIsReplacedWhereItPoints() throws {
        let fixture = try Fixture(.sqlite)
        try FileManager.default.createDirectory(atPath: fixture.dir.file("secrets"), withIntermediateDirectories: false)
        let target = fixture.dir.file("secrets/master")
        try fixture.ring.writeKeyFile(atPath: target)
        let keyFile = fixture.dir.file("keys.db.masterkey")
        #expect(symlink(target, keyFile) == 0)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let ring = try fixture.store.addMasterKeyVersion(keyFile: keyFile, actor: "ops")
        let rewrapping = try KeyStore.open(path: fixture.dbPath, masterKeys: ring, masterKeyFile: keyFile)
        _ = try rewrapping.rewrap(actor: "ops")
        _ = try rewrapping.dropMasterKey(version: 1, keyFile: keyFile, actor: "ops")
        var info = stat()
        #expect(lstat(keyFile, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK, "the link was replaced by a file")
        #expect(try MasterKeyRing.readKeyFile(atPath: target).versions == [2])
        let reopened = try KeyStore.open(
            path: fixture.dbPath, masterKeys: try MasterKeyRing.readKeyFile(atPath: keyFile), masterKeyFile: keyFile)
        let now = fixture.clock.now
        let resolved = try reopened.resolveNow(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now))
        #expect(resolved?.secretAccessKey == issued.secretAccessKey)
    }

    @Test("keys init never uses a master key file another user planted at its path (a key they know would open every secret); its own and root's are used")
    func initRefusesAKeyFileAnotherUserMade() throws {
        // Planting a file of another user takes root: this machine's tests run as root.
        try #require(geteuid() == 0, "the check needs root to make a file of another user")
        let dir = TempDir()
        let planted = dir.file("planted.db")
        try MasterKeyRing.generate().writeKeyFile(atPath: planted + ".masterkey")
        #expect(chown(planted + ".masterkey", 65534, 65534) == 0)
        let refused = try runSigV4(["keys", "init", "--keystore", planted])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("belongs to another user (uid 65534)"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: planted), "a store was made under the planted key")
        // One of root's own, made by hand before the init, is used.
        let own = dir.file("own.db")
        let ring = try MasterKeyRing.generate()
        try ring.writeKeyFile(atPath: own + ".masterkey")
        let used = try runSigV4(["keys", "init", "--keystore", own])
        #expect(used.status == 0, "\(used.stderr)")
        #expect(try MasterKeyRing.readKeyFile(atPath: own + ".masterkey").versions == ring.versions)
    }

    @Test("readKeyFile(atPath:requiringOwner:) judges the owner of the file it reads (fstat on its descriptor), through a link too: another user's is refused, the owner's and root's are read")
    func keyFileOwnerIsTheOneOfTheFileRead() throws {
        try #require(geteuid() == 0, "the check needs root to make a file of another user")
        let dir = TempDir()
        let theirs = dir.file("theirs.masterkey")
        try MasterKeyRing.generate().writeKeyFile(atPath: theirs)
        #expect(chown(theirs, 65534, 65534) == 0)
        let link = dir.file("link.masterkey")
        #expect(symlink(theirs, link) == 0)
        for path in [theirs, link] {
            #expect {
                _ = try MasterKeyRing.readKeyFile(atPath: path, requiringOwner: 1000)
            } throws: { error in
                let e = error as? KeyStoreError
                return e?.code == .invalidArgument && e?.reason.contains("belongs to another user (uid 65534)") == true
            }
        }
        #expect(try MasterKeyRing.readKeyFile(atPath: link, requiringOwner: 65534).versions == [1])
        let roots = dir.file("root.masterkey")
        try MasterKeyRing.generate().writeKeyFile(atPath: roots)
        #expect(try MasterKeyRing.readKeyFile(atPath: roots, requiringOwner: 1000).versions == [1])
    }
}
