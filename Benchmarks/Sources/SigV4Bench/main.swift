import Foundation
import CBenchFloor
import SigV4

// scripts/bench drives this: `SigV4Bench [--quick | --busy] [--json FILE] [--peers FILE] [--check-allocs] [--filter S | =NAME]`.
// `--cold-caches` times each latency row with and without this core's caches evicted first (ColdCaches.swift).
// `--task-scaling` prints only the 1- and 2-task throughput lines a full run prints after its table.

struct Options {
    var quick = false
    /// Many short batches instead of a few long ones (``MeasureConfig/busy``).
    var busy = false
    var jsonPath: String?
    var peersPath: String?
    var checkAllocs = false
    var filter: String?
    var list = false
    /// Runs only the rows' bodies for about two seconds each (for `perf record`).
    var profile = false
    /// With --profile: run each body exactly this many times instead (for `perf stat`).
    var iterations = 0
    /// Times each row warm and with the caches evicted before each run (``ColdCaches``).
    var coldCaches = false
    /// Prints only the task-scaling lines (verification and replay-guard throughput on 1 and 2 tasks).
    var taskScaling = false
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let a = args.next() {
        switch a {
        case "--quick": o.quick = true
        case "--busy": o.busy = true
        case "--json": o.jsonPath = args.next()
        case "--peers": o.peersPath = args.next()
        case "--check-allocs": o.checkAllocs = true
        case "--filter": o.filter = args.next()
        case "--list": o.list = true
        case "--profile": o.profile = true
        case "--iterations": o.iterations = Int(args.next() ?? "") ?? 0
        case "--cold-caches": o.coldCaches = true
        case "--task-scaling": o.taskScaling = true
        case "--floor":
            guard let v = args.next(), let style = SignatureFloor.Style(rawValue: v) else {
                FileHandle.standardError.write(Data("--floor takes raw, evp or oneshot\n".utf8))
                exit(2)
            }
            SignatureFloor.style = style
        default:
            FileHandle.standardError.write(Data("unknown option \(a)\n".utf8))
            exit(2)
        }
    }
    return o
}

/// Peer timings: `{"botocore": {"sign_header_warm": ns, ...}, "awscrt": {...}}`.
func loadPeers(_ path: String?) -> [String: [String: Double]] {
    guard let path, let data = FileManager.default.contents(atPath: path),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return [:] }
    var out: [String: [String: Double]] = [:]
    for (peer, rows) in object {
        guard let rows = rows as? [String: Any] else { continue }
        var m: [String: Double] = [:]
        for (name, value) in rows { if let v = value as? Double { m[name] = v } else if let v = value as? Int { m[name] = Double(v) } }
        out[peer] = m
    }
    return out
}

func fmt(_ v: Double?, _ digits: Int = 2) -> String {
    guard let v else { return "-" }
    return String(format: "%.\(digits)f", v)
}

let options = parseOptions()

/// Everything runs in one detached task: off the main actor, so nonisolated async calls
/// (verification) do not hop threads.
func run(_ options: Options) async throws {
    let config: MeasureConfig = options.busy ? .busy : options.quick ? .quick : .full
    if options.taskScaling {
        await VerificationRows.printScaling(config)
        await ReplayGuardRows.printContention()
        return
    }
    var rows = await allRows(quick: options.quick || options.checkAllocs)
    // `--filter S` keeps the rows whose name contains S; `--filter =S` the row named S.
    if let f = options.filter {
        rows = rows.filter { f.hasPrefix("=") ? $0.name == f.dropFirst() : $0.name.contains(f) }
    }
    if options.list {
        for r in rows { print(r.name) }
        exit(0)
    }

    if options.profile {
        for row in rows where options.iterations > 0 {
            await row.body(options.iterations)
        }
        if options.iterations > 0 { exit(0) }
        for row in rows {
            let t0 = nowNanoseconds()
            while nowNanoseconds() - t0 < 2_000_000_000 { await row.body(1000) }
        }
        exit(0)
    }

    if options.coldCaches {
        await ColdCaches.run(rows)
        exit(0)
    }

    if options.checkAllocs {
        guard MallocCounter.isActive else {
            print("check-allocs: the malloc interposer is not active on this platform")
            exit(1)
        }
        var failed = false
        for row in rows {
            // Throughput rows move 64 MiB per operation: a few operations are enough to count.
            var iterations = 200
            if case .throughput = row.kind { iterations = 3 }
            guard let limit = row.maxAllocsPerOp, let allocs = await allocationsPerOp(row.body, iterations: iterations)
            else { continue }
            let ok = allocs <= limit
            if !ok { failed = true }
            print("\(ok ? "ok  " : "FAIL") \(row.name): \(fmt(allocs, 1)) allocations/op (limit \(fmt(limit, 0)))")
        }
        exit(failed ? 1 : 0)
    }

    let peers = loadPeers(options.peersPath)
    let peerNames = peers.keys.sorted()
    var results: [RowResult] = []
    for row in rows {
        let ns = await measure(config, row.body)
        var floorNs: Double?
        if let floor = row.floor { floorNs = await measure(config, floor) }
        let allocs = await allocationsPerOp(row.body)
        var speedup: [String: Double] = [:]
        for peer in peerNames {
            if let p = peers[peer]?[row.name] { speedup[peer] = p / ns }
        }
        results.append(RowResult(row: row, nsPerOp: ns, floorNsPerOp: floorNs, allocsPerOp: allocs, speedup: speedup))
        FileHandle.standardError.write(Data("  measured \(row.name)\n".utf8))
    }

    // Table.
    var header = ["row", "ns/op", "MB/s", "floor ns", "× floor", "allocs/op"]
    header += peerNames.map { "vs \($0)" }
    var lines: [[String]] = [header]
    for r in results {
        var line = [
            r.row.name, fmt(r.nsPerOp, 0), r.mbPerSecond.map { fmt($0, 0) } ?? "-", fmt(r.floorNsPerOp, 0),
            fmt(r.floorRatio), fmt(r.allocsPerOp, 1),
        ]
        line += peerNames.map { p in r.speedup[p].map { fmt($0, 1) + "×" } ?? "-" }
        lines.append(line)
    }
    printTable(lines)
    if !MallocCounter.isActive { print("(allocation counting unavailable: the malloc interposer is not active)") }
    print("libcrypto: \(String(cString: sigv4_bench_openssl_version())); floor = SHA-256 over the canonical request + HMAC-SHA256 over the string to sign (+4 derivation HMACs when cold), called as: \(SignatureFloor.style)")

    if let path = options.jsonPath {
        var out: [[String: Any]] = []
        for r in results {
            var o: [String: Any] = ["name": r.row.name]
            if let mb = r.mbPerSecond { o["mb_per_s"] = mb } else { o["ns_per_op"] = r.nsPerOp }
            o["floor_ratio"] = r.floorRatio ?? NSNull()
            o["floor_ns_per_op"] = r.floorNsPerOp ?? NSNull()
            o["allocs_per_op"] = r.allocsPerOp ?? NSNull()
            o["speedup"] = r.speedup
            out.append(o)
        }
        let data = try JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys])
        _ = FileManager.default.createFile(atPath: path, contents: data)
    }

    if !options.quick, options.filter == nil {
        await VerificationRows.printScaling(config)
        await ReplayGuardRows.printContention()
    }
}

// The main thread waits for the task on a semaphore rather than in an async main: an async main
// parks the main thread in dispatch_main, which valgrind 3.19 (Debian 12's) cannot run, and
// scripts/instructions runs this executable under callgrind.
let finished = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await run(options)
    } catch {
        FileHandle.standardError.write(Data("SigV4Bench: \(error)\n".utf8))
        exit(1)
    }
    finished.signal()
}
finished.wait()
