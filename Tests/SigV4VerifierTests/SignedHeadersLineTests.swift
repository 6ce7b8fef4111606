import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// The verified `SignedHeaders` line is kept as a slice of the request (the `Authorization` value or
/// the target) and made a string only when read: it must read the same whatever the request was
/// built from, and decoded when the presigned query escapes its `;`.
@Suite("the verified signed-header line")
struct SignedHeadersLineTests {
    static let verifier = Fixture.verifier()

    static func request() -> HTTPRequest {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("My-Header1")!, value: "value1"))
        fields.append(HTTPField(name: .accept, value: "application/json"))
        return HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/photos/a.jpg?size=large",
            headerFields: fields)
    }

    /// The same request as raw parts (its target and fields copied into arrays).
    static func rawParts(_ request: HTTPRequest) -> VerificationRequest {
        VerificationRequest(
            method: request.method.rawValue, target: request.path ?? "/",
            headers: [("Host", request.authority ?? "")] + request.headerFields.map { ($0.name.rawName, $0.value) })
    }

    @Test("header auth: the line is the signed one, from an HTTPRequest and from raw parts")
    func header() async throws {
        let signed = try Fixture.signer().sign(Self.request(), payload: .emptySHA256, at: Fixture.date)
        let expected = signed.canonicalRequest.signedHeaders
        #expect(expected == "accept;host;my-header1;x-amz-content-sha256;x-amz-date")
        for request in [VerificationRequest(signed.request), Self.rawParts(signed.request)] {
            let result = await Self.verifier.verify(request, payload: .hash(.emptySHA256), now: Fixture.date)
            #expect(result.verified?.signedHeadersLine == expected)
            #expect(result.verified?.signedHeaders == expected.split(separator: ";").map(String.init))
        }
    }

    @Test("presigned: the line is decoded from the query's escapes, from an HTTPRequest and from raw parts")
    func presigned() async throws {
        let signed = try Fixture.signer().presign(Self.request(), expires: 3600, at: Fixture.date)
        let expected = signed.canonicalRequest.signedHeaders
        #expect(expected == "accept;host;my-header1")
        // The `;` travels escaped, so the kept slice is decoded when read.
        #expect(signed.request.path?.contains("X-Amz-SignedHeaders=accept%3Bhost%3Bmy-header1") == true)
        for request in [VerificationRequest(signed.request), Self.rawParts(signed.request)] {
            let result = await Self.verifier.verify(request, payload: .streamed, now: Fixture.date)
            #expect(result.verified?.signedHeadersLine == expected)
        }
    }

    @Test("the line can be replaced, as text or as names")
    func setters() async throws {
        let signed = try Fixture.signer().sign(Self.request(), payload: .emptySHA256, at: Fixture.date)
        var verified = try #require(
            await Self.verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date).verified)
        verified.signedHeaders = ["host", "x-amz-date"]
        #expect(verified.signedHeadersLine == "host;x-amz-date")
        verified.signedHeadersLine = "a;b"
        #expect(verified.signedHeaders == ["a", "b"])
    }
}
