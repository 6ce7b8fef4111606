import SigV4TestSupport
import Testing

@testable import SigV4Verifier

/// The field pass's name compare (`Verifier.HeaderFacts.equals`, words lowercased as they are
/// read since session 51; through `VerificationRequest.equalsIgnoringCase` and `WordCompare` since
/// session 52) against the byte-by-byte rule written here, on generated
/// spellings of every name it is asked about: any letter case, one byte changed to a neighbour
/// across the letter ranges' ends, the case bit or the high bit, and other lengths.
@Suite("the field pass's name compare")
struct HeaderFactsNameTests {
    static let names: [StaticString] = [
        "authorization", "content-length", "content-md5", "content-type", "date", "host", "transfer-encoding",
        "x-amz-date", "x-amz-region-set", "x-amz-content-sha256", "x-amz-security-token",
        "application/vnd.amazon.eventstream",
    ]

    @Test("equals is the byte-by-byte case-insensitive compare")
    func equalsMatchesByteRule() {
        var rng = SplitMix64(seed: 5151)
        for constant in Self.names {
            let lower = Array(UnsafeBufferPointer(start: constant.utf8Start, count: constant.utf8CodeUnitCount))
            for _ in 0..<4_000 {
                var name = lower.map { b in
                    (b >= 0x61 && b <= 0x7a && Bool.random(using: &rng)) ? b & ~0x20 : b
                }
                switch Int.random(in: 0..<5, using: &rng) {
                case 0, 1:
                    let i = Int.random(in: 0..<name.count, using: &rng)
                    let changes: [UInt8] = [
                        name[i] &+ 1, name[i] &- 1, name[i] ^ 0x20, name[i] | 0x80, 0x40, 0x5b, 0x60, 0x7b, 0xc1, 0xe1,
                    ]
                    name[i] = changes.randomElement(using: &rng)!
                case 2:
                    if Bool.random(using: &rng) { name.removeLast() } else { name.append(0x61) }
                default: break
                }
                let expected =
                    name.count == lower.count
                    && zip(name, lower).allSatisfy { b, l in ((0x41...0x5a).contains(b) ? b | 0x20 : b) == l }
                let got = name.withUnsafeBufferPointer { Verifier.HeaderFacts.equals($0, constant) }
                #expect(got == expected, "\(name) against \(constant)")
            }
        }
    }
}
