import CSigV4TestMallocCounter
import HTTPTypes
import SigV4
import Testing

/// Allocation-count regression guard (issue 8): heap allocations per warm signature are
/// deterministic, unlike times, so they are asserted exactly against thresholds.
///
/// `CSigV4TestMallocCounter` interposes the allocator entry points in the test process and
/// counts per thread, so tests running in parallel do not disturb each other. It works on
/// Linux (glibc), where CI runs; elsewhere the counter stays at zero and the guard says so.
@Suite("Allocation counts", .enabled(if: sigv4_test_malloc_counter_available() != 0, "the allocation counter is compiled out under a sanitizer"))
struct AllocationTests {
    static let request: HTTPRequest = {
        var request = HTTPRequest(
            method: .get, scheme: "https", authority: "example.amazonaws.com",
            path: "/photos/2026/photo.jpg?size=large")
        request.headerFields[HTTPField.Name("My-Header1")!] = "value1"
        request.headerFields[.accept] = "application/json"
        return request
    }()

    static let signer = Signer(
        credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service", keyCache: SigningKeyCache(capacity: 8))

    static let date = AmzDate(secondsSince1970: 1_440_938_160)  // 20150830T123600Z

    /// Allocations per call of `body` on this thread, over `rounds` calls after two warm-up calls.
    func allocations(rounds: Int = 16, _ body: () throws -> Void) rethrows -> Double {
        try body()
        try body()
        let before = sigv4_test_malloc_count()
        for _ in 0..<rounds { try body() }
        return Double(sigv4_test_malloc_count() - before) / Double(rounds)
    }

    #if os(Linux)
    @Test("the counter sees the Swift runtime's allocations")
    func counterIsActive() {
        let before = sigv4_test_malloc_count()
        let array = [Int](repeating: 1, count: 1000)
        #expect(array.count == 1000)
        #expect(sigv4_test_malloc_count() > before)
    }

    @Test("a warm SigningContext signature stays within its allocation budget (none when optimized)")
    func contextSignatureAllocatesNothing() throws {
        let context = SigningContext(signer: Self.signer)
        let expected = try Self.signer.sign(Self.request, payload: .emptySHA256, at: Self.date).signature
        var last: Signature?
        let count = try allocations { last = try context.sign(Self.request, payload: .emptySHA256, at: Self.date) }
        #expect(last == expected)
        #expect(count <= Self.contextThreshold, "allocations per warm SigningContext.sign: \(count)")
    }

    @Test("a warm Signer.sign stays within its allocation budget")
    func headerSignatureBudget() throws {
        let count = try allocations { _ = try Self.signer.sign(Self.request, payload: .emptySHA256, at: Self.date) }
        #expect(count <= Self.signThreshold, "allocations per warm Signer.sign: \(count)")
    }

    @Test("a Signer.sign without a key cache (key derived every time) stays within its allocation budget")
    func coldHeaderSignatureBudget() throws {
        let cold = Signer(
            credentials: Self.signer.credentials, region: "us-east-1", service: "service", keyCache: nil)
        let expected = try Self.signer.sign(Self.request, payload: .emptySHA256, at: Self.date).signature
        var last: Signature?
        let count = try allocations { last = try cold.sign(Self.request, payload: .emptySHA256, at: Self.date).signature }
        #expect(last == expected)
        #expect(count <= Self.coldSignThreshold, "allocations per Signer.sign without a key cache: \(count)")
    }

    @Test("a warm Signer.presign stays within its allocation budget")
    func presignBudget() throws {
        let count = try allocations {
            _ = try Self.signer.presign(Self.request, expires: 3600, at: Self.date)
        }
        #expect(count <= Self.presignThreshold, "allocations per warm Signer.presign: \(count)")
    }
    #endif

    // Exact budgets for optimized builds (`swift test -c release`; `scripts/bench --check-allocs`
    // checks the same budgets on the release benchmark binary). Unoptimized builds box closure
    // contexts and skip stack promotion, so `swift test` (debug) checks its own measured budgets,
    // which still catch a per-header or per-byte allocation creeping in.
    #if DEBUG
    static let contextThreshold = 150.0
    static let signThreshold = 165.0
    static let presignThreshold = 210.0
    static let coldSignThreshold = 165.0
    #else
    static let contextThreshold = 0.0
    static let signThreshold = 2.0
    static let presignThreshold = 2.0
    static let coldSignThreshold = 2.0
    #endif
}
