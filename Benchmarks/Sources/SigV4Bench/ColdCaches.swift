import Foundation

/// `SigV4Bench --cold-caches [--filter …]`: each latency row's operation, and its libcrypto floor,
/// run one at a time and timed alone, first back to back (warm) and then with this core's caches
/// evicted before each run (cold), as a server's other work evicts them between two requests.
///
/// The benchmark table runs an operation in a tight loop, where its code and data stay in the L1
/// and L2 caches between calls; in the gateway the event loop, the HTTP parser and the router run
/// between two verifications on the same core, and the verifier meets its code and data cold
/// (Docs/PerformanceLog.md, Gateway runs, session 19: a first verification of a request cost about 12.5 µs
/// in situ against 4.8–5.8 µs for a second one right after it). This mode reproduces that outside
/// the server: before each cold run it writes and reads an eviction buffer four times the size of
/// the L2 cache (the L2 of these cores holds the L1 instruction and data caches' lines, so writing
/// it evicts code too), and it reports medians, which one run's outliers (another process taking
/// the core mid-run) do not move. Run it pinned (`taskset -c 1`): a task that moves to the other
/// core meets caches that core's last runs left.
///
/// ```sh
/// Benchmarks/.build/release/SigV4Bench --cold-caches --filter verify_header
/// ```
enum ColdCaches {
    /// Bytes written and read between two cold runs.
    static let evictionBytes = 4 << 20

    /// Runs of each operation per mode.
    static let runs = 5_000

    /// The eviction buffer (allocated once; every cache line written, then read back).
    nonisolated(unsafe) static let buffer: UnsafeMutablePointer<UInt64> = {
        let words = evictionBytes / 8
        let p = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        p.initialize(repeating: 0, count: words)
        return p
    }()

    /// Writes one word of each cache line of the buffer, then reads them back (the sum is kept so
    /// the reads are not removed).
    @inline(never)
    static func evict() {
        let words = evictionBytes / 8
        var i = 0
        while i < words {
            buffer[i] &+= 1
            i += 8
        }
        var sum: UInt64 = 0
        i = 0
        while i < words {
            sum &+= buffer[i]
            i += 8
        }
        blackHole(sum)
    }

    /// Medians of one operation's runs, and of its floor's.
    struct Medians {
        var warm: Double
        var cold: Double
        var floorWarm: Double?
        var floorCold: Double?
    }

    /// The medians of `runs` timed warm runs of `body(1)` (each right after an untimed one) and of
    /// `runs` cold ones (each right after an eviction), and the same for `floor`, all interleaved
    /// so that they meet the same moments of the machine: on this shared host a neighbour's load
    /// slows this core for a fraction of a second to several seconds at a time, the verifier's
    /// code by 1.5–2 times and the floor's by about a tenth (Docs/Performance.md, session 23).
    static func medians(_ body: Body, floor: Body?) async -> Medians {
        // The wall clock (vDSO, no system call): the CPU-time clock the table uses is a system
        // call of about 300 ns here, too coarse and too costly for one run.
        func timed(_ b: Body, cold: Bool) async -> UInt64 {
            if cold { evict() } else { await b(1) }
            let t0 = wallNanoseconds()
            await b(1)
            return wallNanoseconds() - t0
        }
        // Two runs first: lazily made state (caches, tables) is made before the timing.
        await body(1)
        await body(1)
        var times: [[UInt64]] = Array(repeating: [], count: 4)
        for _ in 0..<runs {
            times[0].append(await timed(body, cold: false))
            times[1].append(await timed(body, cold: true))
            if let floor {
                times[2].append(await timed(floor, cold: false))
                times[3].append(await timed(floor, cold: true))
            }
        }
        let m = times.map { t in t.isEmpty ? nil : Double(t.sorted()[t.count / 2]) }
        return Medians(warm: m[0]!, cold: m[1]!, floorWarm: m[2], floorCold: m[3])
    }

    /// Prints, per row: the warm and cold medians of the operation and of its floor, what the
    /// eviction adds to each, and the cold operation over the cold floor.
    static func run(_ rows: [Row]) async {
        let empty = await medians({ _ in }, floor: nil)
        print("one run timed alone; medians of \(runs) warm runs and \(runs) cold ones of the operation and of its floor, interleaved; cold: \(evictionBytes >> 20) MiB written and read before each run")
        print("an empty run measures \(fmt(empty.warm, 0)) ns warm, \(fmt(empty.cold, 0)) cold (the clock reads and the call)")
        var lines: [[String]] = [["row", "warm ns", "cold ns", "cold extra", "floor warm", "floor cold", "floor extra", "cold × cold floor"]]
        for row in rows {
            guard case .latency = row.kind else { continue }
            let m = await medians(row.body, floor: row.floor)
            let (warm, cold, floorWarm, floorCold) = (m.warm, m.cold, m.floorWarm, m.floorCold)
            lines.append([
                row.name, fmt(warm, 0), fmt(cold, 0), fmt(cold - warm, 0), fmt(floorWarm, 0), fmt(floorCold, 0),
                fmt(floorCold.flatMap { c in floorWarm.map { c - $0 } }, 0), fmt(floorCold.map { cold / $0 }),
            ])
            FileHandle.standardError.write(Data("  measured \(row.name)\n".utf8))
        }
        printTable(lines)
    }
}
