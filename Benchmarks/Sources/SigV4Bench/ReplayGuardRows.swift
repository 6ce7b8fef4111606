import Foundation
import SigV4
import SigV4Verifier

/// The replay guard: one insert of a fresh signature (the per-request cost when replay protection
/// is on), and inserts per second from 1 and 2 concurrent tasks (contention on its lock).
///
/// Steady state: the clock advances one second every 1,024 inserts and each entry lives 60 s, so
/// about 61,000 entries are live and expiring buckets are purged as the inserts go on, as in a
/// server taking 1,024 requests a second.
enum ReplayGuardRows {
    /// Distinct signatures, cycled (more than the live window holds, so none repeats while live).
    /// The contention run's two tasks take 200,000 each from offsets 0 and 200,000: with 2^19 of
    /// them their ranges never overlap (with 2^18 the second task wrapped onto the first's, and a
    /// signature the other task had just inserted was, rightly, refused as a replay).
    static let signatures: [Signature] = (0..<(1 << 19)).map { i in
        var bytes = [UInt8](repeating: 0, count: 32)
        var x = UInt64(i) &* 0x9e37_79b9_7f4a_7c15 | 1
        for k in 0..<32 {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            bytes[k] = UInt8(truncatingIfNeeded: x)
        }
        let hex = bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return Signature(hex: hex.joined())!
    }

    /// Inserts `count` signatures starting at `offset` into `replayGuard`, the clock starting at
    /// `start` plus `clockOffset`'s second and advancing a second every 1,024 inserts, each entry
    /// live for `lifetime` seconds.
    static func insert(
        _ replayGuard: InMemoryReplayGuard, count: Int, offset: Int, clockOffset: Int, start: Int64,
        lifetime: Int64 = 60
    ) -> Int {
        var refused = 0
        for i in 0..<count {
            let now = AmzDate(secondsSince1970: start + Int64((clockOffset + i) >> 10))
            let signature = signatures[(offset + i) & (signatures.count - 1)]
            if replayGuard.rememberNow(signature, until: now.adding(seconds: lifetime), now: now)
                != ReplayGuardResult.firstUse
            {
                refused += 1
            }
        }
        return refused
    }

    final class Cursor: @unchecked Sendable {
        var position = 0
    }

    static func make() -> [Row] {
        let replayGuard = InMemoryReplayGuard()
        let cursor = Cursor()
        let start = Fixture.date.secondsSince1970
        return [
            Row(
                name: "replay_guard_insert",
                body: { n in
                    blackHole(
                        insert(replayGuard, count: n, offset: cursor.position, clockOffset: cursor.position, start: start))
                    cursor.position += n
                },
                floor: nil,
                maxAllocsPerOp: 1,
                note: "InMemoryReplayGuard.rememberNow of a fresh signature, ~61k live entries, buckets expiring")
        ]
    }

    /// Inserts per second from 1 and 2 concurrent tasks on one guard (wall clock), printed after the
    /// table: the default guard (16 shards, each with its lock) and one with a single lock.
    static func printContention() async {
        await printContention(shards: nil, label: "replay guard inserts")
        await printContention(shards: 1, label: "replay guard inserts, 1 shard")
    }

    static func printContention(shards: Int?, label: String) async {
        func run(tasks: Int) async -> Double {
            let replayGuard = InMemoryReplayGuard(shards: shards)
            let perTask = 200_000
            let t0 = wallNanoseconds()
            await withTaskGroup(of: Int.self) { group in
                for t in 0..<tasks {
                    // Both tasks read one clock, as a server's do: each task's clock starts at the
                    // same second and advances with its own inserts. The guard refuses (fail
                    // closed) an entry that ends before the newest clock reading it has seen, so
                    // entries live 300 s here: longer than either task's 195 simulated seconds,
                    // however far one task runs ahead of the other.
                    group.addTask {
                        insert(
                            replayGuard, count: perTask, offset: t * perTask, clockOffset: 0,
                            start: Fixture.date.secondsSince1970, lifetime: 300)
                    }
                }
                for await refused in group where refused > 0 { fatalError("the replay guard refused fresh signatures") }
            }
            return Double(tasks * perTask) / (Double(wallNanoseconds() - t0) / 1e9)
        }
        await printTaskScaling(label) { await run(tasks: $0) }
    }
}
