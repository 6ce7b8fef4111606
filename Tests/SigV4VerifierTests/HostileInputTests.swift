import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Hostile input never crashes, hangs or is accepted.
@Suite("hostile input")
struct HostileInputTests {
    static let (request, body) = Fixture.signedPut()

    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct Random {
        var generator: SplitMix64
        init(state: UInt64) { generator = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { generator.next() }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    static let alphabet = Array("AWS4-HMAC-SHA256 Credential=/,;= SignedHeaders Signature abcdef0123456789\t%+&?X-Amz-aws4_request".utf8)

    @Test("thousands of random, truncated and spliced Authorization headers are rejected without crashing")
    func randomAuthorization() async {
        let v = Fixture.verifier()
        let valid = Fixture.value(Self.request, "authorization")
        var rng = Random(state: 42)
        var rejected = 0
        for round in 0..<4000 {
            var value: [UInt8]
            switch round % 4 {
            case 0: value = (0..<rng.below(300)).map { _ in rng.byte() }
            case 1: value = Array(valid.prefix(rng.below(valid.count)))
            case 2: value = (0..<rng.below(300)).map { _ in Self.alphabet[rng.below(Self.alphabet.count)] }
            default:
                value = valid
                for _ in 0..<(1 + rng.below(4)) {
                    let i = rng.below(value.count)
                    switch rng.below(3) {
                    case 0: value[i] = Self.alphabet[rng.below(Self.alphabet.count)]
                    case 1: value.remove(at: i)
                    default: value.insert(Self.alphabet[rng.below(Self.alphabet.count)], at: i)
                    }
                }
            }
            let r = Fixture.replacing(Self.request, "authorization", with: value)
            let result = await v.verify(r, payload: .body(Self.body), now: Fixture.date)
            if !result.isAccepted { rejected += 1 }
            if result.isAccepted && value != valid {
                // Only a harmless respelling may pass: same parts, different spacing.
                let squeeze = { (b: [UInt8]) in b.filter { $0 != 0x20 && $0 != 0x09 } }
                #expect(squeeze(value) == squeeze(valid), "round \(round): \(String(decoding: value, as: UTF8.self))")
            }
        }
        #expect(rejected >= 3990)
    }

    @Test("thousands of random and mutated presigned query strings are rejected without crashing")
    func randomQueries() async throws {
        let v = Fixture.verifier()
        let presigned = try Fixture.signer().presign(
            .init(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a?x=1"),
            expires: 60, at: Fixture.date)
        let valid = Array(presigned.request.path!.utf8)
        var rng = Random(state: 7)
        for round in 0..<4000 {
            var target: [UInt8]
            switch round % 3 {
            case 0:
                target = Array("/a?".utf8) + (0..<rng.below(400)).map { _ in Self.alphabet[rng.below(Self.alphabet.count)] }
            case 1: target = Array(valid.prefix(1 + rng.below(valid.count - 1)))
            default:
                target = valid
                for _ in 0..<(1 + rng.below(4)) {
                    let i = 1 + rng.below(target.count - 1)
                    target[i] = Self.alphabet[rng.below(Self.alphabet.count)]
                }
            }
            let r = VerificationRequest(method: "GET", target: target, fields: [.init(name: "Host", value: "examplebucket.s3.amazonaws.com")])
            let result = await v.verify(r, now: Fixture.date)
            #expect(target == valid || !result.isAccepted, "round \(round): \(String(decoding: target, as: UTF8.self))")
        }
    }

    @Test(
        "S3 Express: thousands of mutated presigned query strings and x-amz-s3session-token fields (several, split, escaped, empty) are refused without crashing; only the signed request passes"
    )
    func randomS3ExpressTokens() async throws {
        let token = "express/session+token=="
        let v = Fixture.verifier(Fixture.credential(token: token))
        let host = "b--usw2-az1--x-s3.s3express-usw2-az1.us-east-1.amazonaws.com"
        let request = HTTPRequest(method: .get, scheme: "https", authority: host, path: "/a?x=1")
        let signer = Fixture.signer(service: "s3express", token: token)
        let valid = Array(try signer.presign(request, expires: 60, at: Fixture.date).request.path!.utf8)
        let header = try signer.sign(request, payload: .emptySHA256, at: Fixture.date).request
        let validFields = VerificationRequest(header).fields
        let hostField = VerificationRequest.Field(name: "Host", value: host)
        let validPresigned = VerificationRequest(method: "GET", target: valid, fields: [hostField])
        #expect(await v.verify(validPresigned, now: Fixture.date).isAccepted)
        #expect(await v.verify(VerificationRequest(header), payload: .body([]), now: Fixture.date).isAccepted)
        var rng = Random(state: 11)
        let pieces = Array("X-Amz-S3session-Token=&%2F%3D%zz+express/session".utf8)
        for round in 0..<3000 {
            var target = valid
            var fields = validFields
            switch round % 3 {
            case 0:
                for _ in 0..<(1 + rng.below(3)) {
                    let i = 1 + rng.below(target.count - 1)
                    target.insert(contentsOf: pieces.prefix(1 + rng.below(pieces.count)), at: i)
                }
            case 1:
                for _ in 0..<(1 + rng.below(4)) {
                    let i = 1 + rng.below(target.count - 1)
                    target[i] = pieces[rng.below(pieces.count)]
                }
            default:
                // Header auth: the token field repeated, emptied or changed.
                target = Array("/a?x=1".utf8)
                let value = (0..<rng.below(40)).map { _ in pieces[rng.below(pieces.count)] }
                switch rng.below(3) {
                case 0: fields.append(.init(name: "x-amz-s3session-token", value: Array(token.utf8)))
                case 1:
                    fields = fields.map { $0.name == "x-amz-s3session-token" ? .init(name: $0.name, value: value) : $0 }
                default: fields.append(.init(name: "X-Amz-S3session-Token", value: value))
                }
            }
            let presigned = round % 3 != 2
            let r = VerificationRequest(
                method: "GET", target: target, fields: presigned ? [.init(name: "Host", value: host)] : fields)
            let result = await v.verify(r, payload: .body([]), now: Fixture.date)
            let text = String(decoding: target, as: UTF8.self)
            #expect(!result.isAccepted || (presigned && target == valid), "round \(round): \(text)")
        }
    }

    @Test("random header sets (many x-amz-* names, huge values, odd bytes) never crash")
    func randomHeaders() async {
        let v = Fixture.verifier()
        var rng = Random(state: 99)
        for _ in 0..<500 {
            var r = Self.request
            var onlyHarmless = true
            for _ in 0..<rng.below(20) {
                let name = ["x-amz-date", "X-Amz-Content-Sha256", "x-amz-security-token", "host", "authorization", "date", "x-amz-\(rng.below(9))"][rng.below(7)]
                r.fields.insert(.init(name: name, value: (0..<rng.below(100)).map { _ in rng.byte() }), at: rng.below(r.fields.count + 1))
                if name != "date" { onlyHarmless = false }
            }
            let result = await v.verify(r, payload: .body(Self.body), now: Fixture.date)
            // An unsigned, non-x-amz header (Date here) does not change the verdict; anything else must.
            #expect(result.isAccepted == onlyHarmless)
        }
    }

    @Test(
        "a field name that is not a token, first (the other fields still collected after it) or last among more fields than the stack scratch holds, is refused as among a few fields"
    )
    func invalidNameAmongManyFields() async {
        let v = Fixture.verifier()
        var few = Self.request
        few.fields.append(.init(name: "Bad Name", value: "v"))
        let expected = await v.verify(few, payload: .body(Self.body), now: Fixture.date).failure?.code.name
        #expect(expected != nil)
        for count in [23, 30, 600] {
            for first in [true, false] {
                var r = Self.request
                for i in 0..<count { r.fields.append(.init(name: "x-filler-\(i)", value: "value \(i)")) }
                r.fields.insert(.init(name: "Bad Name", value: "v"), at: first ? 0 : r.fields.count)
                let result = await v.verify(r, payload: .body(Self.body), now: Fixture.date)
                #expect(result.failure?.code.name == expected, "\(count) fields, the bad name \(first ? "first" : "last")")
            }
            // Without the bad name the unsigned fields change nothing.
            var r = Self.request
            for i in 0..<count { r.fields.append(.init(name: "x-filler-\(i)", value: "value \(i)")) }
            #expect(await v.verify(r, payload: .body(Self.body), now: Fixture.date).isAccepted, "\(count) fields")
        }
    }

    @Test("random checksum headers (x-amz-checksum-*, Content-MD5) never crash and never pass a wrong body")
    func randomChecksumHeaders() async {
        // Signed with the headers in place and UNSIGNED-PAYLOAD, so only the declared checksums
        // decide; the right value for the body must be accepted, anything else refused with one of
        // the checksum codes.
        let v = Fixture.verifier()
        var rng = Random(state: 7)
        let body = Array("hello world".utf8)
        let names = ["Content-MD5", "content-md5"] + TrailingChecksum.Algorithm.allCases.map(\.headerName)
        let base64 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
        var outcomes: [String: Int] = [:]
        for round in 0..<1_000 {
            var fields = HTTPFields()
            fields.append(HTTPField(name: .contentLength, value: String(body.count)))
            var rightValues = true
            for _ in 0..<(1 + rng.below(2)) {
                let name = names[rng.below(names.count)]
                let algorithm = name.lowercased() == "content-md5" ? TrailingChecksum.Algorithm.md5 : try! TrailingChecksum.Algorithm(name: name)
                let value: String
                switch rng.below(4) {
                case 0: value = TrailingChecksum.base64(algorithm, of: body)
                case 1:
                    // Well formed, another digest: base64 of random bytes of the algorithm's length.
                    value = Data((0..<algorithm.digestByteCount).map { _ in rng.byte() }).base64EncodedString()
                    rightValues = false
                case 2:
                    value = String(decoding: (0..<rng.below(120)).map { _ in base64[rng.below(base64.count)] }, as: UTF8.self)
                    rightValues = false
                default:
                    value = String(decoding: (0..<rng.below(40)).map { _ in UInt8(0x21 + rng.below(94)) }, as: UTF8.self)
                    rightValues = false
                }
                fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
            }
            let request = HTTPRequest(
                method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/k", headerFields: fields)
            let signed = VerificationRequest(try! Fixture.signer().sign(request, payload: .unsignedPayload, at: Fixture.date).request)
            let result = await v.verify(signed, payload: .body(body), now: Fixture.date)
            let code = result.failure?.code.name ?? "accepted"
            outcomes[code, default: 0] += 1
            if result.isAccepted {
                #expect(rightValues, "round \(round): a wrong checksum value was accepted")
            } else {
                #expect(["BadDigest", "InvalidDigest", "InvalidRequest"].contains(code), "round \(round): \(code)")
            }
        }
        // Every outcome was reached.
        #expect(Set(outcomes.keys) == ["accepted", "BadDigest", "InvalidDigest", "InvalidRequest"], "\(outcomes)")
    }

    @Test("random bytes into the HTTP reader never crash; results are errors or bounded requests")
    func readerFuzz() {
        let valid = Array("PUT /a?b=c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".utf8)
        let chunked = Array("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: v\r\n\r\n".utf8)
        var rng = Random(state: 2026)
        let reader = HTTPRequestReader(limits: .init(maxBodyBytes: 1 << 16))
        for round in 0..<6000 {
            var input = round % 2 == 0 ? valid : chunked
            switch round % 3 {
            case 0: input = Array(input.prefix(rng.below(input.count + 1)))
            case 1:
                for _ in 0..<(1 + rng.below(3)) { input[rng.below(input.count)] = rng.byte() }
            default: input = (0..<rng.below(200)).map { _ in rng.byte() }
            }
            if let raw = try? reader.read(input) {
                #expect(raw.body.count <= 1 << 16)
            }
        }
    }
}
