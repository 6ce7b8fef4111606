import SigV4
import SigV4TestSupport
import Testing
import _SigV4Crypto

@testable import SigV4Verifier

/// The verifier core's header collection at the edges of its scratch and sorts, against the
/// builder: names of exactly 8, 9, 16 and 17 bytes at 15 to 18 and 511 to 514 fields, and the
/// 16 MiB header-byte limit reached by one field or by growth past doubling.
@Suite("verifier header scratch boundaries")
struct VerifierScratchBoundaryTests {
    /// The error code of `result`, nil when it succeeded.
    static func code(_ result: Result<[UInt8], SigV4Error>) -> SigV4Error.Code? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    @Test(
        "names of exactly 8, 9, 16 and 17 bytes sharing their starts, repeated and in any case, with values to trim, sort and join as the builder does at each sort's edges",
        arguments: [15, 16, 17, 18, 511, 512, 513, 514])
    func sortEdges(count: Int) {
        // With Host the core sorts count + 1 fields.
        let names = [
            "abcdefgh", "abcdefghi", "abcdefgh01234567", "abcdefgh012345678", "abcdefgh01234566", "abcdefg", "abcdefgi",
            "abcdefgh0123456", "a",
        ]
        var headers: [(String, [UInt8])] = [("Host", Array("h".utf8))]
        for i in 0..<count {
            let n = names[(count - i) % names.count]
            let value = Array(" v\(i)  w ".utf8) + Array(repeating: UInt8(ascii: "z"), count: i % 300)
            headers.append((i % 3 == 0 ? n.uppercased() : n, value))
        }
        let (old, new) = VerifierCanonicalizationTests.getRoot(headers)
        #expect((try? new.get())?.isEmpty == false)
        #expect(VerifierCanonicalizationTests.same(old, new))
    }

    @Test("field names and values of exactly 16 MiB in all are collected, in one field or in several; one byte more is refused with invalidHeader")
    func byteLimit() {
        let limit = 16 << 20
        for (extra, refused) in [(0, false), (1, true)] {
            // Host (5 bytes) and one field.
            let one: [(String, [UInt8])] = [
                ("Host", Array("h".utf8)), ("x", Array(repeating: UInt8(ascii: "a"), count: limit - 5 - 1 + extra)),
            ]
            // Host and four fields of a quarter each: the scratch doubles, then stops at the limit.
            let each = (limit - 5 - 4) / 4
            var four: [(String, [UInt8])] = [("Host", Array("h".utf8))]
            for (i, name) in ["a", "b", "c", "d"].enumerated() {
                let count = i == 3 ? limit - 5 - 4 - 3 * each + extra : each
                four.append((name, Array(repeating: UInt8(ascii: "a"), count: count)))
            }
            for headers in [one, four] {
                let new = VerifierCanonicalizationTests.core(
                    method: "GET", target: Array("/".utf8), headers: headers, names: ["host"], payload: .emptySHA256,
                    rules: .standard, plus: .literal)
                #expect(Self.code(new) == (refused ? .invalidHeader : nil), "\(headers.count) fields, \(extra) past")
            }
        }
    }
}
