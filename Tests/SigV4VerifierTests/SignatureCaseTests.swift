import Foundation
import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// Signatures are lowercase hex, as AWS computes and compares them: one sent in uppercase never
/// verifies at AWS (aws-sdk-js#3322), so it does not verify here, wherever it is carried.
@Suite("signatures in uppercase hex are refused")
struct SignatureCaseTests {
    /// `text` with the 64 hex digits after each `marker` uppercased.
    static func uppercasingSignatures(_ text: String, after marker: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let found = rest.range(of: marker) {
            out += rest[..<found.upperBound]
            let digits = rest[found.upperBound...].prefix(64)
            out += digits.uppercased()
            rest = rest[digits.endIndex...]
        }
        return out + rest
    }

    @Test("an Authorization header's Signature in uppercase hex is AuthorizationHeaderMalformed; the same in lowercase verifies")
    func headerSignature() async {
        let (request, body) = Fixture.signedPut()
        let authorization = String(decoding: Fixture.value(request, "authorization"), as: UTF8.self)
        let upper = Self.uppercasingSignatures(authorization, after: "Signature=")
        #expect(upper != authorization)
        let verifier = Fixture.verifier()
        #expect(await verifier.verify(request, payload: .body(body), now: Fixture.date).isAccepted)
        let result = await verifier.verify(
            Fixture.replacing(request, "authorization", with: Array(upper.utf8)), payload: .body(body),
            now: Fixture.date)
        #expect(result.code == "AuthorizationHeaderMalformed", "\(result)")
        #expect(result.failure?.message.contains("64 lowercase hexadecimal digits") == true, "\(result)")
    }

    @Test("a presigned URL's X-Amz-Signature in uppercase hex is AuthorizationQueryParametersError; the same in lowercase verifies")
    func presignedSignature() async throws {
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        let presigned = try Fixture.signer().presign(request, expires: 600, at: Fixture.date).request
        let target = presigned.path ?? ""
        var upper = presigned
        upper.path = Self.uppercasingSignatures(target, after: "X-Amz-Signature=")
        #expect(upper.path != target)
        let verifier = Fixture.verifier()
        #expect(await verifier.verify(VerificationRequest(presigned), now: Fixture.date).isAccepted)
        let result = await verifier.verify(VerificationRequest(upper), now: Fixture.date)
        #expect(result.code == "AuthorizationQueryParametersError", "\(result)")
    }

    @Test("aws-chunked chunk signatures and a trailer signature in uppercase hex are refused (the S3 documentation examples, which decode as sent)", arguments: [
        ("chunked-upload-put-object", "chunk-signature="),
        ("chunked-upload-put-object-trailer", "chunk-signature="),
        ("chunked-upload-put-object-trailer", "x-amz-trailer-signature:"),
    ])
    func chunkSignatures(file: String, marker: String) async throws {
        let (request, body, date) = try AWSChunkedDecoderTests.docExample(file)
        let verifier = Verifier(resolver: InMemoryCredentialResolver([AWSChunkedDecoderTests.docCredential]))
        let verified = try #require(await verifier.verify(request, now: date).verified)
        let text = String(decoding: body, as: UTF8.self)
        let upper = Array(Self.uppercasingSignatures(text, after: marker).utf8)
        #expect(upper != body && upper.count == body.count)
        #expect(throws: Never.self) { try AWSChunkedDecoderTests.decodeAll(verified, request, body, piece: 4096) }
        #expect {
            try AWSChunkedDecoderTests.decodeAll(verified, request, upper, piece: 4096)
        } throws: { error in
            let failure = error as? VerificationFailure
            return failure?.code == .invalidRequest && failure?.message.contains("lowercase hex digits") == true
        }
    }

    @Test("a browser form's x-amz-signature in uppercase hex is InvalidArgument; the same in lowercase verifies")
    func formSignature() async throws {
        let form = PostForm(try PostFormTests.post(), filename: "cat.jpg")
        var upper = form
        let i = try #require(upper.fields.firstIndex { $0.name.lowercased() == "x-amz-signature" })
        upper.fields[i] = PresignedPost.Field(upper.fields[i].name, upper.fields[i].value.uppercased())
        #expect(PostFormTests.code(await PostFormTests.verify(form)) == nil)
        let result = await PostFormTests.verify(upper)
        #expect(PostFormTests.code(result) == "InvalidArgument")
    }

    @Test("x-amz-content-sha256 in uppercase hex is InvalidArgument, before any signature is computed (it is signed as sent, and S3 compares it with the lowercase digest it computes; the signer refuses to sign one that differs from its payload); lowercase verifies")
    func contentSHA256() async {
        let (request, body) = Fixture.signedPut()
        let lower = String(decoding: Fixture.value(request, "x-amz-content-sha256"), as: UTF8.self)
        let verifier = Fixture.verifier()
        #expect(await verifier.verify(request, payload: .body(body), now: Fixture.date).isAccepted)
        let sent = Fixture.replacing(request, "x-amz-content-sha256", with: Array(lower.uppercased().utf8))
        let result = await verifier.verify(sent, payload: .body(body), now: Fixture.date)
        #expect(result.code == "InvalidArgument", "\(result)")
    }
}
