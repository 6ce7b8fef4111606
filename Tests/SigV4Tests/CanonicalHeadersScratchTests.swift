import Testing

@testable import SigV4

/// The first size of the canonical headers' scratch (`CanonicalHeaders.scratchSize(expecting:)`),
/// which the signer (its fields plus the 4 it may add) and the verifier (its fields) both use.
@Suite("canonical headers scratch size")
struct CanonicalHeadersScratchTests {
    @Test("up to 24 headers the stack scratch (24 entries, 768 bytes); past 24 an entry and 48 bytes for each; no more than the 10,000-header limit")
    func scratchSizeAtTheBoundaries() {
        let cases: [(expected: Int, count: Int, byteCount: Int)] = [
            (0, 24, 768), (3, 24, 768), (24, 24, 768),
            (25, 25, 1_200), (54, 54, 2_592), (604, 604, 28_992),
            (9_999, 9_999, 479_952), (10_000, 10_000, 480_000), (10_001, 10_000, 480_000), (Int.max, 10_000, 480_000),
        ]
        for c in cases {
            let size = CanonicalHeaders.scratchSize(expecting: c.expected)
            #expect(size.count == c.count && size.byteCount == c.byteCount, "\(c.expected) headers: \(size)")
        }
        #expect(CanonicalHeaders.maximumCount == 10_000)
        // The signer's rule (1e987bf): 20 fields and the 4 it may add stay on the stack, 21 do not.
        let twenty = CanonicalHeaders.scratchSize(expecting: 20 + 4)
        let twentyOne = CanonicalHeaders.scratchSize(expecting: 21 + 4)
        #expect(twenty.count == 24 && twenty.byteCount == 768)
        #expect(twentyOne.count == 25 && twentyOne.byteCount == 1_200)
    }
}
