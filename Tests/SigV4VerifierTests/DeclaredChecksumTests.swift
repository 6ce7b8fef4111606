import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// `x-amz-checksum-<algorithm>` request headers on bodies sent whole: the value's form checked
/// before the key lookup, the body checked when given (`BadDigest`), or by the streaming checker.
@Suite("declared body checksums (x-amz-checksum-*)")
struct DeclaredChecksumTests {
    static let body = Array("hello world".utf8)
    /// The checksums of `body`, computed by peers: zlib (CRC-32), awscrt (CRC-32C, CRC-64/NVME, the
    /// xxHash family) and Python's hashlib (SHA-1, SHA-256, SHA-512), big-endian and base64 as S3 sends them.
    static let peerValues: [(TrailingChecksum.Algorithm, String)] = [
        (.crc32, "DUoRhQ=="),
        (.crc32c, "yZRlqg=="),
        (.crc64nvme, "jSnVw/bqjr4="),
        (.sha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
        (.sha256, "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
        (.sha512, "MJ7MSJwS1utMxA9QyQLytNDtd+5RGnx6m808qG1M2G+YndNbxf9JlnDaNCVbRbDP2DDoH2Bdz33FVC6TrpzXbw=="),
        (.xxhash64, "RatnNLIeaWg="),
        (.xxhash3, "1Eex6kDmmIs="),
        (.xxhash128, "340J6T+HSQCpm4d1zBW2xw=="),
        (.md5, "XrY7u+Ae7tCTyyK7j1rNww=="),
    ]

    /// An S3 PUT of `body` with `extra` header fields, every one signed.
    static func request(_ extra: [(String, String)], payload: PayloadHash = .sha256(of: body)) -> VerificationRequest {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .contentLength, value: String(body.count)))
        for (name, value) in extra { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/hello.txt",
            headerFields: fields)
        return VerificationRequest(try! Fixture.signer().sign(request, payload: payload, at: Fixture.date).request)
    }

    static func verify(_ request: VerificationRequest, _ payload: Verifier.Payload = .body(body)) async
        -> VerificationResult
    {
        await Fixture.verifier().verify(request, payload: payload, now: Fixture.date)
    }

    @Test("each algorithm's peer-computed value verifies a body given whole", arguments: peerValues)
    func givenBodyMatches(algorithm: TrailingChecksum.Algorithm, value: String) async throws {
        let result = await Self.verify(Self.request([(algorithm.headerName, value)]))
        let verified = try #require(result.verified)
        #expect(verified.declaredChecksum == DeclaredChecksum(algorithm: algorithm, value: value))
        #expect(verified.checksumVerified)
        #expect(verified.makeChecksumVerifier() == nil)
        // Our own checksum agrees with the peer's.
        #expect(TrailingChecksum.base64(algorithm, of: Self.body) == value)
    }

    @Test("a body that does not have its declared checksum is refused with BadDigest", arguments: peerValues)
    func givenBodyDiffers(algorithm: TrailingChecksum.Algorithm, value: String) async {
        // The checksum of another body, correctly formed and signed; the payload hash is right.
        let other = TrailingChecksum.base64(algorithm, of: Array("hello there".utf8))
        let result = await Self.verify(Self.request([(algorithm.headerName, other)]))
        #expect(result.code == "BadDigest")
        #expect(result.failure?.code.httpStatus == 400)
        #expect(result.failure?.message == "The \(algorithm.rawValue.uppercased()) you specified did not match the calculated checksum.")
    }

    @Test("a streamed body is checked by the checker the result makes")
    func streamedBody() async throws {
        let result = await Self.verify(Self.request([("x-amz-checksum-crc32c", "yZRlqg==")]), .streamed)
        let verified = try #require(result.verified)
        #expect(!verified.checksumVerified)
        try Self.expectCheckerPassesOnlyBody(verified)
    }

    /// The checker `verified` makes passes ``body`` and refuses another body with `BadDigest`.
    static func expectCheckerPassesOnlyBody(_ verified: VerifiedRequest) throws {
        var good = try #require(verified.makeChecksumVerifier())
        body.withUnsafeBytes { good.update($0) }
        try good.finalize()
        var bad = try #require(verified.makeChecksumVerifier())
        Array("hello worle".utf8).withUnsafeBytes { bad.update($0) }
        #expect { try bad.finalize() } throws: { ($0 as? VerificationFailure)?.code == .badDigest }
    }

    @Test("UNSIGNED-PAYLOAD with a checksum: the checksum is still checked")
    func unsignedPayload() async {
        let good = await Self.verify(Self.request([("x-amz-checksum-crc32", "DUoRhQ==")], payload: .unsignedPayload))
        #expect(good.verified?.checksumVerified == true)
        let bad = await Self.verify(Self.request([("x-amz-checksum-crc32", "AAAAAA==")], payload: .unsignedPayload))
        #expect(bad.code == "BadDigest")
    }

    @Test("malformed values are refused with InvalidRequest naming the header", arguments: [
        ("x-amz-checksum-crc32", "DUoRhQ"),  // too short
        ("x-amz-checksum-crc32", "DUoRhQ!="),  // not base64
        ("x-amz-checksum-crc64nvme", "DUoRhQ=="),  // a CRC-32's length
        ("x-amz-checksum-sha256", ""),  // empty
    ])
    func malformedValue(name: String, value: String) async {
        let result = await Self.verify(Self.request([(name, value)]))
        #expect(result.code == "InvalidRequest")
        #expect(result.failure?.message == "Value for \(name) header is invalid.")
    }

    @Test("two checksum headers are refused with InvalidRequest")
    func twoChecksums() async {
        let result = await Self.verify(
            Self.request([("x-amz-checksum-crc32", "DUoRhQ=="), ("x-amz-checksum-sha1", "Kq5sNclPz7QV2+lfQIuc6R7oRu0=")]))
        #expect(result.code == "InvalidRequest")
        #expect(result.failure?.message.contains("Multiple checksum Types are not allowed") == true)
    }

    @Test("checksum settings and algorithms not computed here are not read as values")
    func otherChecksumHeaders() async throws {
        let result = await Self.verify(
            Self.request([
                ("x-amz-checksum-algorithm", "CRC32"), ("x-amz-checksum-type", "FULL_OBJECT"),
                ("x-amz-checksum-mode", "ENABLED"), ("x-amz-checksum-xxhash32", "AAAAAA=="),
            ]))
        let verified = try #require(result.verified)
        #expect(verified.declaredChecksum == nil)
    }

    @Test("header names are matched in any case")
    func anyCase() async {
        let result = await Self.verify(Self.request([("X-Amz-Checksum-CRC32", "AAAAAA==")]))
        #expect(result.code == "BadDigest")
    }

    @Test("Content-MD5 (hashlib's value) verifies a body given whole; another body is BadDigest")
    func contentMD5() async throws {
        let good = await Self.verify(Self.request([("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==")]))
        let verified = try #require(good.verified)
        #expect(verified.contentMD5 == DeclaredChecksum(contentMD5: "XrY7u+Ae7tCTyyK7j1rNww=="))
        #expect(verified.contentMD5?.headerName == "Content-MD5")
        #expect(verified.checksumVerified)
        // MD5 of "hello there".
        let bad = await Self.verify(Self.request([("Content-MD5", "FhvCWWLaj+1tL1mSL7ZCqg==")]))
        #expect(bad.code == "BadDigest")
        #expect(bad.failure?.message == "The Content-MD5 you specified did not match what we received.")
    }

    @Test("a malformed or repeated Content-MD5 is InvalidDigest", arguments: [
        [("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww")], [("Content-MD5", "DUoRhQ==")], [("Content-MD5", "")],
        [("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="), ("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww==")],
    ])
    func malformedContentMD5(fields: [(String, String)]) async {
        let result = await Self.verify(Self.request(fields))
        #expect(result.code == "InvalidDigest")
        #expect(result.failure?.message == "The Content-MD5 you specified was invalid.")
    }

    @Test("Content-MD5 and an x-amz-checksum-* header are both checked, given whole or streamed")
    func contentMD5AndChecksum() async throws {
        let both = [("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="), ("x-amz-checksum-crc32", "DUoRhQ==")]
        #expect(await Self.verify(Self.request(both)).verified?.checksumVerified == true)
        let wrongCRC = [("Content-MD5", "XrY7u+Ae7tCTyyK7j1rNww=="), ("x-amz-checksum-crc32", "AAAAAA==")]
        #expect(await Self.verify(Self.request(wrongCRC)).code == "BadDigest")
        let streamed = try #require(await Self.verify(Self.request(both), .streamed).verified)
        let checker = try #require(streamed.makeChecksumVerifier())
        #expect(checker.declared.map(\.headerName) == ["x-amz-checksum-crc32", "Content-MD5"])
        try Self.expectCheckerPassesOnlyBody(streamed)
    }

    @Test("CompleteMultipartUpload's x-amz-checksum-* is the object's checksum: not read against its body")
    func completeMultipartUpload() async throws {
        // A full-object CRC-64/NVME and a composite CRC-32 (`…-3`) as SDKs send them on
        // CompleteMultipartUpload; the body is the parts list, not the object.
        let xml = Array("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>".utf8)
        for (name, value) in [("x-amz-checksum-crc64nvme", "jSnVw/bqjr4="), ("x-amz-checksum-crc32", "DUoRhQ==-3")] {
            var fields = HTTPFields()
            fields.append(HTTPField(name: .contentLength, value: String(xml.count)))
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
            fields.append(HTTPField(name: HTTPField.Name("x-amz-checksum-type")!, value: "FULL_OBJECT"))
            let request = HTTPRequest(
                method: .post, scheme: "https", authority: "examplebucket.s3.amazonaws.com",
                path: "/big.bin?uploadId=VXBsb2FkIElE", headerFields: fields)
            let signed = VerificationRequest(
                try Fixture.signer().sign(request, payload: .sha256(of: xml), at: Fixture.date).request)
            let result = await Self.verify(signed, .body(xml))
            let verified = try #require(result.verified, "\(name): \(result.failure?.description ?? "")")
            #expect(verified.declaredChecksum == nil)
            // The same header on an UploadPart (PUT with uploadId) is the body's, and read.
            var part = request
            part.method = .put
            part.path = "/big.bin?partNumber=1&uploadId=VXBsb2FkIElE"
            let signedPart = VerificationRequest(
                try Fixture.signer().sign(part, payload: .sha256(of: xml), at: Fixture.date).request)
            let partResult = await Self.verify(signedPart, .body(xml))
            #expect(["BadDigest", "InvalidRequest"].contains(partResult.code), "\(name): \(partResult.code ?? "accepted")")
        }
    }

    @Test("DeclaredChecksum checks the value's form")
    func declaredChecksumForm() {
        #expect(DeclaredChecksum(algorithm: .crc32, value: "DUoRhQ==") != nil)
        #expect(DeclaredChecksum(algorithm: .crc32, value: "DUoRhQ=") == nil)
        #expect(DeclaredChecksum(algorithm: .sha1, value: "DUoRhQ==") == nil)
    }
}
