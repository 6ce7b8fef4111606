import HTTPTypes
import SigV4
import _SigV4Crypto
import Testing

/// The signer's canonical headers at the edges of their scratch and sorts: names of exactly 8, 9,
/// 16 and 17 bytes (the word compare's edges) at 15 to 18 and 511 to 514 headers (the three sorts'
/// edges), the 16 MiB header-byte limit, and a signing context used again after a refusal.
@Suite("Signer header scratch boundaries")
struct HeaderScratchBoundaryTests {
    /// True when `fields` sign with the canonical headers the spec model writes.
    static func canonicalizesAsTheSpecSays(_ fields: [(String, String)]) throws -> Bool {
        var httpFields = HTTPFields()
        for (n, v) in fields { httpFields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/", headerFields: httpFields)
        let signer = Signer(credentials: ManyHeaderFieldsTests.credentials, region: "us-east-1", service: "service")
        let signed = try signer.sign(request, payload: .emptySHA256, at: ManyHeaderFieldsTests.date)
        let expected = ManyHeaderFieldsTests.reference(fields)
        return signed.canonicalRequest.text
            == "GET\n/\n\n" + expected.lines + "\n" + expected.names + "\n" + PayloadHash.emptySHA256.value
    }

    @Test(
        "names of exactly 8, 9, 16 and 17 bytes sharing their starts, repeated, in any case, one name repeated, names in reverse order and long values canonicalize as the spec writes them at each sort's edges",
        arguments: [15, 16, 17, 18, 511, 512, 513, 514])
    func sortEdges(count: Int) throws {
        // With Host and X-Amz-Date the signer sorts count + 2 headers.
        let names = [
            "abcdefgh", "abcdefghi", "abcdefgh01234567", "abcdefgh012345678", "abcdefgh01234566", "abcdefg", "abcdefgi",
            "abcdefgh0123456", "a",
        ]
        let mixed = (0..<count).map { i in
            let n = names[(count - i) % names.count]
            return (i % 3 == 0 ? n.uppercased() : n, "v\(i)")
        }
        #expect(try Self.canonicalizesAsTheSpecSays(mixed), "names sharing 8 and 16 byte starts")
        #expect(try Self.canonicalizesAsTheSpecSays((0..<count).map { ("x-amz-meta-one-name", "v\($0)") }), "one name")
        let reversed = (0..<count).reversed().map { ("x-amz-meta-\(String($0, radix: 2))", "v\($0)") }
        #expect(try Self.canonicalizesAsTheSpecSays(reversed), "reverse order")
        let long = (0..<count).map { ("x-\($0 % 7)", String(repeating: "q", count: 200 + $0)) }
        #expect(try Self.canonicalizesAsTheSpecSays(long), "values longer than the scratch's estimate")
    }

    @Test("header names and values of exactly 16 MiB in all sign; one byte more is refused with invalidHeader")
    func byteLimit() {
        let signer = Signer(credentials: ManyHeaderFieldsTests.credentials, region: "us-east-1", service: "service")
        // host + example.amazonaws.com (25 bytes) and x-amz-date + its value (26) are added.
        for (extra, refused) in [(0, false), (1, true)] {
            var fields = HTTPFields()
            let value = String(repeating: "a", count: (16 << 20) - 25 - 26 - 3 + extra)
            fields.append(HTTPField(name: HTTPField.Name("x-b")!, value: value))
            let request = HTTPRequest(
                method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/", headerFields: fields)
            let code = ManyHeaderFieldsTests.refusal { () throws(SigV4Error) in
                _ = try signer.sign(request, payload: .emptySHA256, at: ManyHeaderFieldsTests.date)
            }
            #expect(code == (refused ? .invalidHeader : nil), "\(extra) bytes past the limit")
        }
    }

    @Test("a signing context that refused a request past the field limit signs the next requests (few and many fields) as the signer does")
    func contextAfterFieldLimitRefusal() throws {
        let signer = Signer(credentials: ManyHeaderFieldsTests.credentials, region: "us-east-1", service: "s3")
        let context = SigningContext(signer: signer)
        let tooMany = ManyHeaderFieldsTests.request(fields: 10_001)
        let code = ManyHeaderFieldsTests.refusal { () throws(SigV4Error) in
            _ = try context.sign(tooMany, payload: .emptySHA256, at: ManyHeaderFieldsTests.date)
        }
        #expect(code == .invalidHeader)
        for count in [30, 3, 600] {
            let request = ManyHeaderFieldsTests.request(fields: count)
            let fromContext = try context.sign(request, payload: .emptySHA256, at: ManyHeaderFieldsTests.date)
            let fromSigner = try signer.sign(request, payload: .emptySHA256, at: ManyHeaderFieldsTests.date)
            #expect(fromContext == fromSigner.signature, "\(count) fields")
        }
    }
}
