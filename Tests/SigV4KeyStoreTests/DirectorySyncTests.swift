import Foundation
import SigV4TestSupport
import Testing

/// What a power loss could take from a key store that `sigv4 keys` reported written: its files'
/// directory entries. A file's `fsync` makes its bytes durable but not its name; the directory that
/// holds the name must be synced after the name was made (`mkdir`, `open(O_CREAT|O_EXCL)`, `link`,
/// `rename`). The kill tests (``CrashSafetyTests``) cannot see this (a killed process leaves the page
/// cache intact), so these read the order of the commands' system calls under `strace`
/// (scripts/apt-packages.txt). SQLite syncs the directory itself when it makes its journal or WAL, so
/// the command's own syncs are looked for before SQLite makes either.
@Suite("sigv4 keys syncs each new name's directory before it reports (strace)", .serialized)
struct DirectorySyncTests {
    /// One traced system call that makes or syncs a name: its kind and path (a synced descriptor's path).
    struct Call: CustomStringConvertible {
        /// `create`: `O_CREAT|O_EXCL` (a new name for certain); `open`: `O_CREAT` alone (maybe new).
        enum Kind: String { case mkdir, create, open, link, rename, sync }
        let kind: Kind
        let path: String
        /// For `link` and `rename`: the path the name came from.
        let from: String?
        var description: String { "\(kind.rawValue) \(from.map { $0 + " -> " } ?? "")\(path)" }
    }

    /// Runs `sigv4 arguments` under `strace -f` and returns, in order, the calls that made names in
    /// `directory` or its parent and every successful `fsync`/`fdatasync`, with the descriptor's path.
    static func trace(_ arguments: [String], environment: [String: String], directory: String) throws -> [Call] {
        let executable = try #require(sigv4Executable(), "the sigv4 executable must be built (swift build)")
        try #require(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"),
            "strace is missing: scripts/test installs it (scripts/apt-packages.txt)")
        let log = directory + ".strace"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let result = try ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/strace"),
            [
                "-f", "-qq", "-o", log, "-e",
                "trace=openat,open,creat,mkdir,mkdirat,link,linkat,rename,renameat,renameat2,fsync,fdatasync,close,"
                    + "dup,dup2,dup3",
                executable,
            ] + arguments,
            environment: ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "USER": "tester"]
                .merging(Self.sanitizers) { $1 }.merging(environment) { $1 })
        #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
        return parse(try String(contentsOfFile: log, encoding: .utf8))
    }

    /// The calls of an `strace -f` log (calls split by another thread's, `<unfinished ...>` and
    /// `<... resumed>`, joined again; descriptors followed across `dup` and `close`).
    static func parse(_ text: String) -> [Call] {
        var pending: [Substring: String] = [:]
        var paths: [Int: String] = [:]
        var calls: [Call] = []
        for raw in text.split(separator: "\n") {
            guard let space = raw.firstIndex(of: " ") else { continue }
            let pid = raw[..<space]
            // (strace pads the pid to five columns.)
            var line = String(raw[raw.index(after: space)...].drop { $0 == " " })
            if let start = line.range(of: " <unfinished ...>") {
                pending[pid] = String(line[..<start.lowerBound])
                continue
            }
            if line.hasPrefix("<... "), let resumed = line.range(of: " resumed>") {
                line = (pending.removeValue(forKey: pid) ?? "") + line[resumed.upperBound...]
            }
            // `name(arguments)   = result` (strace pads before the `=`).
            guard let open = line.firstIndex(of: "("), let equals = line.range(of: " = ", options: .backwards),
                let close = line[..<equals.lowerBound].lastIndex(of: ")"), open < close,
                let result = Int(line[equals.upperBound...].prefix { $0 == "-" || $0.isNumber }), result >= 0
            else { continue }
            let name = String(line[..<open])
            let arguments = String(line[line.index(after: open)..<close])
            let quoted = arguments.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }
            let firstNumber = Int(arguments.prefix { $0.isNumber })
            switch name {
            case "openat", "open", "creat":
                guard let path = quoted.first else { continue }
                paths[result] = path
                if name == "creat" || arguments.contains("O_CREAT") {
                    calls.append(Call(kind: arguments.contains("O_EXCL") ? .create : .open, path: path, from: nil))
                }
            case "mkdir", "mkdirat":
                if let path = quoted.first { calls.append(Call(kind: .mkdir, path: path, from: nil)) }
            case "link", "linkat", "rename", "renameat", "renameat2":
                guard quoted.count == 2 else { continue }
                calls.append(Call(kind: name.hasPrefix("link") ? .link : .rename, path: quoted[1], from: quoted[0]))
            case "fsync", "fdatasync":
                if let fd = firstNumber, let path = paths[fd] { calls.append(Call(kind: .sync, path: path, from: nil)) }
            case "close":
                if let fd = firstNumber { paths[fd] = nil }
            case "dup", "dup2", "dup3":
                if let fd = firstNumber { paths[result] = paths[fd] }
            default:
                continue
            }
        }
        return calls
    }

    /// The directory `path` is in.
    static func parent(_ path: String) -> String { (path as NSString).deletingLastPathComponent }

    /// The sanitizer settings for a child under `strace`: LeakSanitizer cannot run under ptrace (it
    /// stops the process at its exit), so leak detection is off there (`scripts/test --sanitizers`).
    static var sanitizers: [String: String] {
        var env = ChildEnvironment.sanitizers
        env["ASAN_OPTIONS"] = (env["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "detect_leaks=0"
        return env
    }

    /// The index of the last call that made the name `path` for certain (nil when none did).
    static func lastMade(_ path: String, _ calls: [Call]) -> Int? {
        calls.lastIndex { $0.kind != .sync && $0.kind != .open && $0.path == path }
    }

    /// The index of the first call by which SQLite may have made its journal or WAL beside `store` (it
    /// syncs their directory then), or the end.
    static func sqliteFiles(of store: String, _ calls: [Call]) -> Int {
        calls.firstIndex { $0.kind == .open && ($0.path == store + "-journal" || $0.path == store + "-wal") }
            ?? calls.count
    }

    /// True when `path`'s directory was synced after the last call that made `path` and before the
    /// call at index `end`.
    static func directorySynced(after path: String, before end: Int? = nil, _ calls: [Call]) -> Bool {
        guard let made = lastMade(path, calls), made < end ?? calls.count else { return false }
        return calls[(made + 1)..<(end ?? calls.count)].contains { $0.kind == .sync && $0.path == parent(path) }
    }

    @Test(
        "the strace log reader joins calls another thread split, reads pids of any width, and follows descriptors across dup and close"
    )
    func logReader() {
        let log = """
            812   mkdir("/s", 0777)                  = 0
            812   openat(AT_FDCWD, "/s/a.tmp", O_WRONLY|O_CREAT|O_EXCL, 0600 <unfinished ...>
            40123 openat(AT_FDCWD, "/other", O_RDONLY) = 4
            812   <... openat resumed>)              = 3
            812   fsync(3)                           = 0
            812   rename("/s/a.tmp", "/s/a")         = 0
            812   close(3)                           = 0
            812   openat(AT_FDCWD, "/s", O_RDONLY|O_CLOEXEC) = 3
            812   dup(3)                             = 7
            812   close(3)                           = 0
            812   fdatasync(7)                       = 0
            812   fsync(9)                           = -1 EBADF (Bad file descriptor)
            812   openat(AT_FDCWD, "/s/a-wal", O_RDWR|O_CREAT|O_CLOEXEC, 0600) = 8
            """
        let calls = Self.parse(log).map(\.description)
        #expect(
            calls == [
                "mkdir /s", "create /s/a.tmp", "sync /s/a.tmp", "rename /s/a.tmp -> /s/a", "sync /s", "open /s/a-wal",
            ],
            "\(calls)")
    }

    @Test(
        "keys init two directories deep: each new directory's entry is synced in its parent, the master key file's bytes before its name is linked, and the directory after the store and the key file are named, before SQLite makes its journal"
    )
    func initSyncsEveryNewName() throws {
        let root = NSTemporaryDirectory() + "sigv4-dirsync-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let outer = root + "/stores"
        let directory = outer + "/alice"
        let store = directory + "/keys.db"
        let keyFile = store + ".masterkey"
        let calls = try Self.trace(["keys", "init", "--keystore", store], environment: [:], directory: root)
        #expect(FileManager.default.fileExists(atPath: keyFile), "\(calls)")

        for made in [outer, directory] {
            #expect(Self.lastMade(made, calls) != nil, "no mkdir of \(made) traced: \(calls)")
            #expect(Self.directorySynced(after: made, calls), "\(made)'s entry was not synced: \(calls)")
        }
        // Synced by the command itself: before SQLite makes its journal or WAL (and syncs the directory).
        let sqlite = Self.sqliteFiles(of: store, calls)
        #expect(Self.directorySynced(after: store, before: sqlite, calls), "the store's name was not synced: \(calls)")
        #expect(
            Self.directorySynced(after: keyFile, before: sqlite, calls), "the key file's name was not synced: \(calls)")
        // The key file came into place from a temporary copy whose bytes were synced first.
        let placedAt = try #require(Self.lastMade(keyFile, calls), "\(calls)")
        let temporary = try #require(calls[placedAt].from, "the key file was written in place: \(calls)")
        #expect(calls[..<placedAt].contains { $0.kind == .sync && $0.path == temporary }, "\(calls)")
    }

    @Test(
        "keys rewrap: the rewritten master key file's bytes are synced before it replaces the old one by rename, and its directory after"
    )
    func rewrapSyncsTheReplacedKeyFile() throws {
        let root = NSTemporaryDirectory() + "sigv4-dirsync-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = root + "/keys.db"
        let keyFile = store + ".masterkey"
        let initialized = try runSigV4(["keys", "init", "--keystore", store])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let calls = try Self.trace(["keys", "rewrap", "--keystore", store], environment: [:], directory: root)
        let replacedAt = try #require(
            calls.lastIndex { $0.kind == .rename && $0.path == keyFile }, "the key file was not replaced: \(calls)")
        let temporary = try #require(calls[replacedAt].from)
        #expect(calls[..<replacedAt].contains { $0.kind == .sync && $0.path == temporary }, "\(calls)")
        #expect(Self.directorySynced(after: keyFile, calls), "the key file's new name was not synced: \(calls)")
    }
}
