import Foundation
import SigV4TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// posix_spawn with stdin/stdout/stderr redirected to files, and a waitpid that returns the exit status.
enum Spawn {
    struct Failed: Error { let errno: Int32 }

    static func start(_ argv: [String], env: [String: String], stdin: String, stdout: String, stderr: String) throws
        -> pid_t
    {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        // Test-runner threads block signals; the child must start with an empty mask and default handlers.
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        guard rc == 0 else { throw Failed(errno: rc) }
        return pid
    }

    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        if status & 0x7f == 0 { return (status >> 8) & 0xff }  // exited
        return 128 + (status & 0x7f)  // killed by a signal
    }
}

/// Runs the built `sigv4` binary and local helper processes for the CLI tests.
///
/// The binary is `$SIGV4_BINARY`, else `.build/debug/sigv4` under the package root
/// (`swift build --product sigv4` must run before the tests; `scripts/test` does).
enum Tool {
    struct Result {
        var status: Int32
        var stdout: Data
        var stderr: String
        var out: String { String(decoding: stdout, as: UTF8.self) }
    }

    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()

    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["SIGV4_BINARY"] { return path }
        let candidates = [
            ".build/debug/sigv4", ".build/x86_64-unknown-linux-gnu/debug/sigv4",
            ".build/aarch64-unknown-linux-gnu/debug/sigv4", ".build/arm64-apple-macosx/debug/sigv4",
        ]
        for c in candidates {
            let p = packageRoot.appendingPathComponent(c).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return packageRoot.appendingPathComponent(".build/debug/sigv4").path
    }()

    /// A minimal environment: no AWS_* variables from the caller, HOME in a fresh temp dir.
    static func cleanEnvironment(home: String) -> [String: String] {
        var env: [String: String] = [:]
        env["PATH"] = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        env["HOME"] = home
        env["LANG"] = "C.UTF-8"
        // Sanitizer settings (scripts/test --sanitizers) reach the sanitizer-built child too.
        return env.merging(ChildEnvironment.sanitizers) { $1 }
    }

    /// Runs a process to completion. stdin, stdout and stderr go through temporary files, not pipes,
    /// and the child is spawned and reaped with posix_spawn/waitpid (no reader threads, no pipe ends
    /// leaking into concurrently spawned children).
    static func run(
        _ executable: String, _ args: [String], env: [String: String], stdin: Data? = nil, cwd: String? = nil
    ) throws -> Result {
        let scratch = NSTemporaryDirectory() + "sigv4-run-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let inPath = stdin == nil ? "/dev/null" : scratch + "/stdin"
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        if let stdin { _ = FileManager.default.createFile(atPath: inPath, contents: stdin) }
        var argv = [executable] + args
        if let cwd { argv = ["/usr/bin/env", "-C", cwd] + argv }
        let pid = try Spawn.start(argv, env: env, stdin: inPath, stdout: outPath, stderr: errPath)
        let status = Spawn.wait(pid)
        let out = FileManager.default.contents(atPath: outPath) ?? Data()
        let err = FileManager.default.contents(atPath: errPath) ?? Data()
        return Result(status: status, stdout: out, stderr: String(decoding: err, as: UTF8.self))
    }

    static func sigv4(_ args: [String], env: [String: String], stdin: Data? = nil) throws -> Result {
        try run(binary, args, env: env, stdin: stdin)
    }

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}

/// A fresh temporary directory, removed when the test ends.
final class TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "sigv4-cli-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String, _ contents: String, executable: Bool = false) throws -> String {
        let p = path + "/" + name
        try Data(contents.utf8).write(to: URL(fileURLWithPath: p))
        if executable { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: p) }
        return p
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// `scripts/cli-record-server.py` on 127.0.0.1 and an ephemeral port, recording requests as JSON lines.
final class RecordingServer {
    let pid: pid_t
    let port: Int
    let log: String

    init(directory: String) throws {
        log = directory + "/requests.jsonl"
        let portFile = directory + "/server-port"
        pid = try Spawn.start(
            [
                "/usr/bin/env", "python3", Tool.packageRoot.appendingPathComponent("scripts/cli-record-server.py").path,
                "--log", log,
            ],
            env: ProcessInfo.processInfo.environment, stdin: "/dev/null", stdout: portFile, stderr: "/dev/null")
        var found: Int?
        for _ in 0..<600 {  // the server prints its port at once; give up after ~30 s (a loaded machine)
            if let data = FileManager.default.contents(atPath: portFile),
                let text = String(data: data, encoding: .utf8), text.hasSuffix("\n")
            {
                found = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
                break
            }
            usleep(50_000)
        }
        guard let found else {
            kill(pid, SIGKILL)
            _ = Spawn.wait(pid)
            throw RecordingServerError.noPort
        }
        port = found
    }

    enum RecordingServerError: Error { case noPort }

    var base: String { "http://127.0.0.1:\(port)" }

    /// The recorded requests.
    func requests() throws -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: log) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// Recomputes every recorded signature with botocore (`scripts/botocore-check-recorded.py`).
    func botocoreCheck(secret: String) throws -> (ok: Bool, lines: [[String: Any]]) {
        let result = try Tool.run(
            "/usr/bin/env",
            [
                "python3", Tool.packageRoot.appendingPathComponent("scripts/botocore-check-recorded.py").path,
                "--log", log, "--secret", secret,
            ],
            env: ProcessInfo.processInfo.environment)
        let lines = try result.out.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        return (result.status == 0, lines)
    }

    deinit {
        kill(pid, SIGKILL)
        _ = Spawn.wait(pid)
    }
}

/// Every CLI suite runs serialized under this one: the tests spawn processes (and long-lived
/// servers), and spawning them in parallel lets pipes leak between children.
@Suite(.serialized, .timeLimit(.minutes(5))) struct CLITests {}
