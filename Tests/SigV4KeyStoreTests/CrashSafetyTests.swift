import Foundation
import SigV4
import SigV4KeyStore
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Kills `sigv4 keys create|rotate|rewrap [--drop-unused]` with SIGKILL at random moments and checks, after every
/// kill, that the store reopens consistent and that no key a completed command reported is lost or half-written.
@Suite(.serialized) struct CrashSafetyTests {
    enum Op: String, CaseIterable { case create, rotate, rewrap }

    static let rotatingPrincipals = (0..<5).map { "r\($0)" }

    struct Child {
        var killed: Bool
        var result: ProcessResult
        var seconds: Double
    }

    /// Starts `sigv4`, kills it after `delay` seconds (unless it has finished), and collects its output.
    func run(_ arguments: [String], env: [String: String], killAfter delay: Double?) throws -> Child {
        let executable = try #require(sigv4Executable(), "the sigv4 executable must be built (swift build)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "USER": "crash"]
            .merging(ChildEnvironment.sanitizers) { $1 }.merging(env) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        let start = ContinuousClock.now
        try process.run()
        if let delay {
            usleep(useconds_t(delay * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let elapsed = ContinuousClock.now - start
        return Child(
            killed: process.terminationReason == .uncaughtSignal,
            result: ProcessResult(
                status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                stderr: String(decoding: errData, as: UTF8.self)),
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    func arguments(_ op: Op, _ iteration: Int) -> [String] {
        switch op {
        case .create: ["keys", "create", "--principal", "c\(iteration)"]
        case .rotate: ["keys", "rotate", "--principal", Self.rotatingPrincipals[iteration % 5], "--overlap", "1h"]
        // Every other rewrap also drops unused versions, so kills land in the key file's rewrite too.
        case .rewrap: iteration.isMultiple(of: 2) ? ["keys", "rewrap"] : ["keys", "rewrap", "--drop-unused"]
        }
    }

    /// What the checks carry from one reopen to the next.
    struct Observed {
        var generation: UInt64 = 0
        var auditCount = 0
        var reported: [String: String] = [:]  // id → secret, from commands that completed
        var mixedVersionStates = 0  // reopens that found records under several master key versions (a cut rewrap)
    }

    func checkStore(_ db: String, _ observed: inout Observed, after what: String) throws {
        let ring = try MasterKeyRing.readKeyFile(atPath: db + ".masterkey")
        let store = try KeyStore.open(path: db, masterKeys: ring)
        let storage = try #require(store.storage as? SQLiteKeyStoreStorage)
        #expect(try storage.integrityProblems().isEmpty, "integrity after \(what)")
        #expect(try store.verifySecrets().isEmpty, "every sealed secret opens after \(what)")
        let keys = try store.keys()
        let active = Dictionary(grouping: keys.filter { $0.state == .active }, by: \.principal)
        #expect(active.values.allSatisfy { $0.count <= 2 }, "at most two active keys after \(what)")
        for principal in Self.rotatingPrincipals {
            #expect(active[principal]?.count == 1, "\(principal) keeps exactly one active key after \(what)")
        }
        for (id, secret) in observed.reported {
            let key = try store.key(id)
            #expect(key.state != .deleted && key.state != .inactive, "\(id) lost after \(what)")
            #expect(try store._openSecret(keyID: id) == SecretAccessKey(secret), "\(id) secret changed after \(what)")
        }
        let generation = try store.generation()
        let auditCount = try store.auditLog().count
        #expect(generation >= observed.generation)
        #expect(auditCount >= observed.auditCount)
        observed.generation = generation
        if try store.masterKeyUsage().values.filter({ $0 > 0 }).count > 1 { observed.mixedVersionStates += 1 }
        observed.auditCount = auditCount
    }

    @Test func killingCreateRotateAndRewrapAtRandomPointsNeverLeavesAHalfWrittenStore() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        let initRun = try run(["keys", "init"], env: env, killAfter: nil)
        #expect(initRun.result.status == 0, "\(initRun.result.stderr)")
        do {  // seed: enough records that rewrap takes several transactions
            let store = try KeyStore.open(
                path: db, masterKeys: try MasterKeyRing.readKeyFile(atPath: db + ".masterkey"))
            for i in 0..<150 { _ = try store.createKey(principal: "s\(i)", actor: "seed") }
            for principal in Self.rotatingPrincipals { _ = try store.createKey(principal: principal, actor: "seed") }
        }
        var observed = Observed()
        try checkStore(db, &observed, after: "seeding")

        // One full run of each operation gives the window to kill in.
        var duration: [Op: Double] = [:]
        for op in Op.allCases {
            let child = try run(arguments(op, 1000), env: env, killAfter: nil)
            #expect(child.result.status == 0, "\(op): \(child.result.stderr)")
            duration[op] = child.seconds
            record(op, child, &observed)
        }
        try checkStore(db, &observed, after: "full runs")

        var kills: [Op: Int] = [:]
        var generator = SystemRandomNumberGenerator()
        var iteration = 0
        // SIGV4_CRASH_KILLS raises the number of kills (scripts/faults/keystore-kill runs 200).
        let wantedKills = Int(ProcessInfo.processInfo.environment["SIGV4_CRASH_KILLS"] ?? "") ?? 60
        // Each operation gets its own share of the kills: a loop that stopped at a total could end with one
        // operation barely cut (a slow first run makes its window too wide, so most of its runs finish first).
        let killsPerOp = (wantedKills + Op.allCases.count - 1) / Op.allCases.count
        while let op = Op.allCases.filter({ (kills[$0] ?? 0) < killsPerOp }).randomElement(using: &generator),
            iteration < 6 * wantedKills
        {
            let delay = Double.random(in: 0...(duration[op] ?? 0.1), using: &generator)
            let child = try run(arguments(op, iteration), env: env, killAfter: delay)
            if child.killed {
                kills[op, default: 0] += 1
            } else {
                #expect(child.result.status == 0, "\(op) failed without being killed: \(child.result.stderr)")
                record(op, child, &observed)
                // A run that finished inside the window shows the window was wider than the operation: narrow it
                // halfway, so that kills become likelier while some runs still complete (and report a key).
                if let window = duration[op], child.seconds < window { duration[op] = (window + child.seconds) / 2 }
            }
            try checkStore(db, &observed, after: "\(op) killed=\(child.killed) at \(delay)s (iteration \(iteration))")
            iteration += 1
        }
        #expect(kills.values.reduce(0, +) >= 50, "kills: \(kills)")
        for op in Op.allCases { #expect((kills[op] ?? 0) >= 10, "kills during \(op): \(kills)") }
        // The store remains fully usable: finish any interrupted rewrap and drop the unused versions.
        let finish = try run(["keys", "rewrap", "--resume", "--drop-unused"], env: env, killAfter: nil)
        #expect(finish.result.status == 0, "\(finish.result.stderr)")
        let ring = try MasterKeyRing.readKeyFile(atPath: db + ".masterkey")
        #expect(ring.versions.count == 1)
        try checkStore(db, &observed, after: "final rewrap")
        print(
            "crash test: \(iteration) runs, kills \(kills), \(observed.reported.count) reported keys kept, "
                + "\(observed.mixedVersionStates) reopens after a rewrap cut between batches")
    }

    func record(_ op: Op, _ child: Child, _ observed: inout Observed) {
        guard op != .rewrap,
            let object = try? JSONSerialization.jsonObject(with: Data(child.result.stdout.utf8)) as? [String: Any],
            let id = object["access_key_id"] as? String, let secret = object["secret_access_key"] as? String
        else { return }
        observed.reported[id] = secret
    }
}
