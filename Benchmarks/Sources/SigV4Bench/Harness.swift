import Foundation
import CMallocCounter

#if canImport(Glibc)
import Glibc
#endif

/// Keeps a value alive so the optimizer cannot drop the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// Nanoseconds of CPU time used by this process: on a shared machine this leaves out the time
/// other processes hold the core, which wall-clock time would charge to the benchmark.
@inline(__always)
func nowNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// How long and how often to measure.
struct MeasureConfig {
    /// Target wall time of one batch.
    var batchNanoseconds: UInt64
    /// Number of batches; the fastest one is reported.
    var batches: Int

    static let full = MeasureConfig(batchNanoseconds: 25_000_000, batches: 7)
    static let quick = MeasureConfig(batchNanoseconds: 10_000_000, batches: 5)
    /// For a busy machine: many 2 ms batches, so that some run without being descheduled; the
    /// fastest is reported (other processes can only make a batch slower).
    static let busy = MeasureConfig(batchNanoseconds: 2_000_000, batches: 150)
}

/// One benchmark body: runs the operation `n` times. Async so verification (an async API) can
/// be measured; the runner calls every body from one detached task, so bodies that never
/// suspend stay on one thread (which the per-thread allocation counter needs).
typealias Body = (Int) async -> Void

/// Measures `body` and returns nanoseconds per operation (the fastest batch: the least disturbed
/// by the other work on a shared machine).
func measure(_ config: MeasureConfig, _ body: Body) async -> Double {
    // Warm up and calibrate the batch size.
    await body(16)
    var n = 16
    while true {
        let t0 = nowNanoseconds()
        await body(n)
        let dt = nowNanoseconds() - t0
        if dt >= config.batchNanoseconds / 4 || n >= 1 << 30 {
            let perOp = Double(dt) / Double(n)
            n = max(1, Int(Double(config.batchNanoseconds) / max(perOp, 0.1)))
            break
        }
        n *= 4
    }
    var best = Double.infinity
    for _ in 0..<config.batches {
        let t0 = nowNanoseconds()
        await body(n)
        let dt = nowNanoseconds() - t0
        best = min(best, Double(dt) / Double(n))
    }
    return best
}

/// Heap allocations per operation on this thread, counted by the `CMallocCounter` interposer.
func allocationsPerOp(_ body: Body, iterations: Int = 200) async -> Double? {
    guard MallocCounter.isActive else { return nil }
    await body(4)  // warm caches and lazily built state
    let before = sigv4_malloc_count()
    await body(iterations)
    let after = sigv4_malloc_count()
    return Double(after - before) / Double(iterations)
}

enum MallocCounter {
    /// True when the interposer sees the Swift runtime's allocations.
    static let isActive: Bool = {
        let before = sigv4_malloc_count()
        let probe = [Int](repeating: 7, count: 100)
        blackHole(probe)
        return sigv4_malloc_count() > before
    }()
}

/// Monotonic wall-clock nanoseconds (for the multi-core throughput figures).
func wallNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Best-of-3 throughput with 1 and with 2 concurrent tasks, as `run(tasks)` measures it (operations
/// per second, wall clock), printed on one line with the core count and the load average.
func printTaskScaling(_ what: String, _ run: (Int) async -> Double) async {
    _ = await run(1)  // warm up
    var one = 0.0
    var two = 0.0
    for _ in 0..<3 {
        one = max(one, await run(1))
        two = max(two, await run(2))
    }
    let load =
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3)
        .joined(separator: " ") ?? "?"
    print(
        String(
            format: "%@ (wall clock, best of 3): 1 task %.0f/s, 2 tasks %.0f/s (x%.2f) on %d cores, load %@",
            what, one, two, two / one, ProcessInfo.processInfo.activeProcessorCount, load))
}

/// Prints `lines` as a table: the first line a header underlined with dashes, the first column
/// left-aligned and the others right-aligned, columns two spaces apart.
func printTable(_ lines: [[String]]) {
    guard let header = lines.first else { return }
    let widths = (0..<header.count).map { c in lines.map { $0[c].count }.max() ?? 0 }
    for (i, line) in lines.enumerated() {
        print(
            line.enumerated().map { c, s in
                c == 0
                    ? s.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[c] - s.count) + s
            }.joined(separator: "  "))
        if i == 0 { print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
    }
}
