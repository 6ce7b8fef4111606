import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// One byte changed in any signed part gives the right rejection.
@Suite("mutations are rejected with the right code")
struct MutationTests {
    static let (request, body) = Fixture.signedPut()
    static let verifier = Fixture.verifier()
    static let now = Fixture.date.adding(seconds: 5)

    /// Replaces byte `i` with a different printable byte that keeps the request syntactically valid.
    static func flip(_ b: UInt8) -> UInt8 { b == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x") }

    @Test("the unmodified request is accepted and its body verified")
    func baseline() async {
        let result = await Self.verifier.verify(Self.request, payload: .body(Self.body), now: Self.now)
        #expect(result.isAccepted)
        #expect(result.verified?.payload == .verified)
        #expect(result.verified?.signedHeaders == ["content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-meta-color"])
    }

    @Test("every byte of the method changed → SignatureDoesNotMatch")
    func method() async {
        let original = Array(Self.request.method.utf8)
        for k in original.indices {
            var bytes = original
            bytes[k] = Self.flip(bytes[k])
            var r = Self.request
            r.method = String(decoding: bytes, as: UTF8.self)
            let result = await Self.verifier.verify(r, payload: .body(Self.body), now: Self.now)
            #expect(result.code == "SignatureDoesNotMatch", "method \(r.method)")
        }
    }

    @Test("every byte of the path and query changed → SignatureDoesNotMatch")
    func target() async {
        for i in 1..<Self.request.target.count {
            var r = Self.request
            r.target[i] = Self.flip(r.target[i])
            let result = await Self.verifier.verify(r, payload: .body(Self.body), now: Self.now)
            #expect(result.code == "SignatureDoesNotMatch", "target \(String(decoding: r.target, as: UTF8.self))")
        }
    }

    @Test("every byte of a signed header value changed → SignatureDoesNotMatch", arguments: ["x-amz-meta-color", "content-type", "host"])
    func signedHeader(name: String) async {
        let original = Fixture.value(Self.request, name)
        for i in original.indices {
            var v = original
            v[i] = Self.flip(v[i])
            let r = Fixture.replacing(Self.request, name, with: v)
            let result = await Self.verifier.verify(r, payload: .body(Self.body), now: Self.now)
            #expect(result.code == "SignatureDoesNotMatch", "\(name): \(String(decoding: v, as: UTF8.self))")
        }
    }

    @Test("every byte of the body changed → XAmzContentSHA256Mismatch (hash header signed)")
    func bodyWithContentHash() async {
        for i in Self.body.indices {
            var b = Self.body
            b[i] ^= 0x01
            let result = await Self.verifier.verify(Self.request, payload: .body(b), now: Self.now)
            #expect(result.code == "XAmzContentSHA256Mismatch")
            #expect(result.failure?.httpStatus == 400)
        }
    }

    @Test("a changed body of a non-S3 request (body hash in the signature) → SignatureDoesNotMatch")
    func bodyWithoutContentHash() async throws {
        let body = Array("Action=ListUsers&Version=2010-05-08".utf8)
        var fields = HTTPFields()
        fields.append(HTTPField(name: .contentType, value: "application/x-www-form-urlencoded"))
        let request = HTTPRequest(method: .post, scheme: "https", authority: "iam.amazonaws.com", path: "/", headerFields: fields)
        let signed = try Fixture.signer(service: "iam").sign(request, payload: .sha256(of: body), at: Fixture.date)
        let ok = await Self.verifier.verify(VerificationRequest(signed.request), payload: .body(body), now: Self.now)
        #expect(ok.isAccepted)
        for i in body.indices {
            var b = body
            b[i] ^= 0x20
            let result = await Self.verifier.verify(VerificationRequest(signed.request), payload: .body(b), now: Self.now)
            #expect(result.code == "SignatureDoesNotMatch")
        }
    }

    @Test("every byte of the signature changed → SignatureDoesNotMatch")
    func signature() async {
        let auth = Fixture.value(Self.request, "authorization")
        let start = auth.count - 64
        for i in start..<auth.count {
            var v = auth
            v[i] = v[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            let result = await Self.verifier.verify(Fixture.replacing(Self.request, "authorization", with: v), payload: .body(Self.body), now: Self.now)
            #expect(result.code == "SignatureDoesNotMatch")
        }
    }

    @Test("the date changed: seconds → SignatureDoesNotMatch, day → AuthorizationHeaderMalformed, garbage → AccessDenied")
    func date() async {
        let cases: [(String, String)] = [
            ("20150830T123601Z", "SignatureDoesNotMatch"),
            ("20150830T123559Z", "SignatureDoesNotMatch"),
            ("20150831T123600Z", "AuthorizationHeaderMalformed"),
            ("20150830T993600Z", "AccessDenied"),
            ("20150830X123600Z", "AccessDenied"),
        ]
        for (value, code) in cases {
            let r = Fixture.replacing(Self.request, "x-amz-date", with: Array(value.utf8))
            let result = await Self.verifier.verify(r, payload: .body(Self.body), now: Self.now)
            #expect(result.code == code, "\(value)")
        }
    }

    @Test("an unsigned x-amz-* header added → AccessDenied naming it", arguments: ["x-amz-copy-source", "X-Amz-Acl", "x-amz-meta-extra"])
    func unsignedAmzHeader(name: String) async {
        var r = Self.request
        r.fields.append(.init(name: name, value: "otherbucket/secret.txt"))
        let result = await Self.verifier.verify(r, payload: .body(Self.body), now: Self.now)
        #expect(result.code == "AccessDenied")
        #expect(result.failure?.details.contains(.init("HeadersNotSigned", name.lowercased())) == true)
    }

    @Test("an unsigned x-amz-* header on a presigned URL → AccessDenied (the copy-source attack)")
    func unsignedAmzHeaderPresigned() async throws {
        let request = HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/upload.txt")
        let presigned = try Fixture.signer().presign(request, expires: 3600, at: Fixture.date)
        var r = VerificationRequest(presigned.request)
        let ok = await Self.verifier.verify(r, now: Self.now)
        #expect(ok.isAccepted)
        #expect(ok.verified?.payload == .unsigned)
        r.fields.append(.init(name: "x-amz-copy-source", value: "/otherbucket/secret.txt"))
        let result = await Self.verifier.verify(r, now: Self.now)
        #expect(result.code == "AccessDenied")
    }

    @Test("an exempted x-amz-* header may be present unsigned")
    func exemption() async {
        var r = Self.request
        r.fields.append(.init(name: "x-amz-user-agent", value: "aws-sdk-js/3"))
        var policy = VerificationPolicy()
        policy.unsignedAmzHeaderExemptions = ["x-amz-user-agent"]
        let result = await Fixture.verifier(policy: policy).verify(r, payload: .body(Self.body), now: Self.now)
        #expect(result.isAccepted)
    }

    @Test("a presigned URL with any query byte changed → SignatureDoesNotMatch or a parameter error")
    func presignedQuery() async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a.txt?versionId=3")
        let presigned = try Fixture.signer().presign(request, expires: 3600, at: Fixture.date)
        let base = VerificationRequest(presigned.request)
        #expect(await Self.verifier.verify(base, now: Self.now).isAccepted)
        let allowed: Set<String> = ["SignatureDoesNotMatch", "AuthorizationQueryParametersError", "AccessDenied", "InvalidAccessKeyId"]
        for i in 1..<base.target.count {
            var r = base
            r.target[i] = Self.flip(r.target[i])
            let result = await Self.verifier.verify(r, now: Self.now)
            #expect(!result.isAccepted, "\(String(decoding: r.target, as: UTF8.self))")
            if let code = result.code { #expect(allowed.contains(code), "\(code)") }
        }
    }
}
