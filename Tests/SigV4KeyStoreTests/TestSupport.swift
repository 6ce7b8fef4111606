import Foundation
import HTTPTypes
import SigV4
import SigV4KeyStore
import SigV4TestSupport
import SigV4Verifier
import Testing

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: AmzDate

    init(_ start: AmzDate = AmzDate(secondsSince1970: 1_780_000_000)) { value = start }

    var now: AmzDate {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }

    func advance(_ seconds: Int64) { lock.withLock { value = value.adding(seconds: seconds) } }

    var closure: @Sendable () -> AmzDate { { [self] in self.now } }
}

/// Which storage backs the store under test.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, sqlite
    var testDescription: String { rawValue }
}

/// A temporary directory removed at deinit.
final class TempDir: @unchecked Sendable {
    let path: String

    init() {
        var template = Array((NSTemporaryDirectory() + "sigv4-keystore-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        path = made.map { String(cString: $0) } ?? NSTemporaryDirectory() + "sigv4-keystore-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

/// A store plus what a test needs around it.
struct Fixture {
    let store: KeyStore
    let clock: ManualClock
    let ring: MasterKeyRing
    let dir: TempDir
    let dbPath: String

    init(_ backend: Backend, policy: KeyStorePolicy = KeyStorePolicy(), ring: MasterKeyRing? = nil) throws {
        clock = ManualClock()
        dir = TempDir()
        dbPath = dir.file("keys.db")
        self.ring = try ring ?? MasterKeyRing.generate()
        let storage: any KeyStoreStorage =
            switch backend {
            case .memory: InMemoryKeyStoreStorage()
            case .sqlite: try SQLiteKeyStoreStorage(path: dbPath, create: true)
            }
        store = try KeyStore(storage: storage, masterKeys: self.ring, policy: policy, clock: clock.closure)
    }

    /// Another store instance over the same SQLite file (its own connections), as another process would have.
    func secondInstance(policy: KeyStorePolicy = KeyStorePolicy()) throws -> KeyStore {
        try KeyStore.open(path: dbPath, masterKeys: ring, policy: policy, clock: clock.closure)
    }
}

/// Everything observable about a store, to prove that a refused call changed nothing.
struct StoreSnapshot: Equatable {
    var generation: UInt64
    var keys: [AccessKey]
    var principals: [Principal]
    var audit: [AuditEvent]

    init(_ store: KeyStore) throws {
        generation = try store.generation()
        keys = try store.keys(includeDeleted: true)
        principals = try store.principals()
        audit = try store.auditLog()
    }
}

/// Expects `body` to throw a `KeyStoreError` with `code`.
func expectError(
    _ code: KeyStoreError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(code), but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as KeyStoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected KeyStoreError \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

func context(signedAt: AmzDate, now: AmzDate, region: String = "us-east-1", service: String = "s3")
    -> ResolutionContext
{
    ResolutionContext(signedAt: signedAt, now: now, region: region, service: service, isPresigned: false)
}

let sampleRequest = HTTPRequest(
    method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/photos/cat.jpg")

/// Signs the sample request with `credentials` at `date`.
func signSample(_ credentials: Credentials, at date: AmzDate) throws -> SignedRequest {
    try Signer(credentials: credentials, region: "us-east-1", service: "s3", keyCache: nil)
        .sign(sampleRequest, payload: .emptySHA256, at: date)
}

/// A stand-in for the verifier that follows the `CredentialResolver` contract: resolve the key, refuse it when
/// unknown or when the signature is dated at or after `acceptsSignaturesBefore`, then recompute the signature
/// with the resolved secret and compare.
func contractVerify(_ resolver: some CredentialResolver, _ signed: SignedRequest, accessKeyID: String, now: AmzDate)
    async throws -> Bool
{
    guard
        let credential = try await resolver.resolve(
            accessKeyID: accessKeyID, context: context(signedAt: signed.date, now: now))
    else { return false }
    if let before = credential.acceptsSignaturesBefore, signed.date >= before { return false }
    let again = try signSample(
        Credentials(accessKeyID: credential.accessKeyID, secretAccessKey: credential.secretAccessKey), at: signed.date)
    return again.signature == signed.signature
}

/// Reads a whole file, or an empty array when it does not exist.
func fileBytes(_ path: String) -> [UInt8] {
    (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) ?? []
}

/// True when `needle` occurs in `haystack`.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    let last = haystack.count - needle.count
    while i <= last {
        if haystack[i] == first, Array(haystack[i..<(i + needle.count)]) == needle { return true }
        i += 1
    }
    return false
}

/// The built `sigv4` executable next to the test bundle.
func sigv4Executable() -> String? {
    var candidates: [String] = []
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    candidates.append(exe.deletingLastPathComponent().appendingPathComponent("sigv4").path)
    let arg0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    candidates.append(arg0.deletingLastPathComponent().appendingPathComponent("sigv4").path)
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { root.deleteLastPathComponent() }
    candidates.append(root.appendingPathComponent(".build/debug/sigv4").path)
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Result of running a child process.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `sigv4` with `arguments` and `environment` added to a clean environment.
func runSigV4(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessResult {
    guard let executable = sigv4Executable() else {
        throw KeyStoreError(.storage, "the sigv4 executable was not built")
    }
    var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "USER": "tester"]
    env.merge(ChildEnvironment.sanitizers) { $1 }
    env.merge(environment) { $1 }
    let result = try ChildProcess.run(URL(fileURLWithPath: executable), arguments, environment: env)
    return ProcessResult(
        status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
        stderr: String(decoding: result.stderr, as: UTF8.self))
}

/// Runs python3 with a script, for raw SQLite access in tests.
func runPython(_ script: String, _ arguments: [String]) throws -> ProcessResult {
    let result = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script] + arguments)
    return ProcessResult(
        status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self),
        stderr: String(decoding: result.stderr, as: UTF8.self))
}
