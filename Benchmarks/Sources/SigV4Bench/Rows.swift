/// What a row measures.
enum RowKind {
    /// Nanoseconds per operation.
    case latency
    /// Throughput over `bytesPerOp` bytes per operation (reported in MB/s).
    case throughput(bytesPerOp: Int)
}

/// One benchmark row: the operation, its libcrypto floor, and the peers' key.
struct Row {
    var name: String
    var kind: RowKind = .latency
    /// Runs the operation `n` times.
    var body: Body
    /// Runs the libcrypto floor for the same input `n` times (nil: no floor).
    var floor: Body?
    /// Allocation threshold for `--check-allocs` (nil: not checked).
    var maxAllocsPerOp: Double?
    /// Whether `--quick` includes the row.
    var inQuick = true
    /// Short description for the table's footnotes.
    var note: String = ""
}

/// The result of one row.
struct RowResult {
    var row: Row
    var nsPerOp: Double
    var floorNsPerOp: Double?
    var allocsPerOp: Double?
    var speedup: [String: Double]

    var mbPerSecond: Double? {
        if case .throughput(let bytes) = row.kind { return Double(bytes) / nsPerOp * 1e9 / 1e6 }
        return nil
    }

    var floorRatio: Double? { floorNsPerOp.map { nsPerOp / $0 } }
}

/// Every group of rows. Add a group here to add rows to `scripts/bench`.
func allRows(quick: Bool) async -> [Row] {
    var rows: [Row] = []
    rows += SigningRows.make()
    rows += await VerificationRows.make()
    rows += await SigV4aRows.make()
    rows += StreamingRows.make()
    rows += ChunkedVerificationRows.make()
    rows += ReplayGuardRows.make()
    rows += ScalingRows.make()
    return quick ? rows.filter(\.inQuick) : rows
}
