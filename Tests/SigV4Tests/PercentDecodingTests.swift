import Testing

@testable import SigV4

/// `URIEncoding.decode(_:into:)` (a presigned URL's parameters, the verifier's path readings)
/// writes what the rule says, for escapes at every offset, cut short, in either case, and at the
/// ends of the input.
@Suite("percent-decoding")
struct PercentDecodingTests {
    /// The rule, one byte at a time: `%XX` (two hex digits, either case) is the byte `XX`; any
    /// other `%` is itself.
    static func reference(_ bytes: [UInt8]) -> [UInt8] {
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x37
            case 0x61...0x66: c - 0x57
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    static func decoded(_ bytes: [UInt8]) -> [UInt8] {
        bytes.withUnsafeBufferPointer { b in
            [UInt8](unsafeUninitializedCapacity: max(b.count, 1)) { out, count in
                count = URIEncoding.decode(b, into: out.baseAddress!)
            }
        }
    }

    @Test("a presigned credential, its escapes in both cases")
    func credential() {
        let upper = Array("AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request".utf8)
        let lower = Array("AKIDEXAMPLE%2f20150830%2fus-east-1%2fservice%2faws4_request".utf8)
        let expected = Array("AKIDEXAMPLE/20150830/us-east-1/service/aws4_request".utf8)
        #expect(Self.decoded(upper) == expected)
        #expect(Self.decoded(lower) == expected)
    }

    @Test("every input up to 20 bytes over a small alphabet of escapes and their parts, and random longer ones")
    func agreesWithTheByteRule() {
        // Every string of up to 5 symbols, each one of: a plain byte, `%`, a hex digit, `%41`,
        // `%zz`, `%4`: escapes land at every offset of a word, whole and cut short.
        let symbols: [[UInt8]] = ["a", "%", "4", "%41", "%zz", "%4", "%2f", "é"].map { Array($0.utf8) }
        var inputs: [[UInt8]] = [[]]
        var level: [[UInt8]] = [[]]
        for _ in 0..<5 {
            level = level.flatMap { prefix in symbols.map { prefix + $0 } }
            inputs += level
        }
        var rng = SystemRandomNumberGenerator()
        // Escapes dense and sparse (one `%` in 2 to 64 bytes: long runs between them are copied a
        // word at a time).
        for _ in 0..<2_000 {
            let n = Int.random(in: 0..<200, using: &rng)
            let spacing = [2, 4, 16, 64].randomElement(using: &rng)!
            let alphabet = Array("0123456789abcdefABCDEFxyz/-_.~".utf8)
            inputs.append((0..<n).map { _ in
                Int.random(in: 0..<spacing, using: &rng) == 0 ? 0x25 : alphabet.randomElement(using: &rng)!
            })
        }
        var differ = 0
        for input in inputs where Self.decoded(input) != Self.reference(input) { differ += 1 }
        #expect(inputs.count > 30_000)
        #expect(differ == 0)
    }
}
