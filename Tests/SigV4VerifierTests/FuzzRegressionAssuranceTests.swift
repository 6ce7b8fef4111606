import SigV4
import SigV4Verifier
import Testing

/// Inputs found by the libFuzzer targets (Fuzz/), kept as regression tests. The raw inputs are in
/// Fuzz/Regressions/; Docs/Assurance.md lists each finding.
@Suite("fuzz regressions")
struct FuzzRegressionAssuranceTests {
    /// FuzzAWSChunked, Fuzz/Regressions/FuzzAWSChunked-released-count: an unsigned-trailer body whose data
    /// chunk is released and whose final-chunk line is then broken (`0\r` + `k`), in one feed. The closure API
    /// hands over the 5 released bytes before the failure and `releasedByteCount` counts them; the `[UInt8]`
    /// convenience throws and returns nothing. Not a memory-safety bug: under the unsigned-trailer variant those
    /// bytes are unverified until `finish()` and must be discarded on failure (the type's documentation).
    @Test("bytes released before a failure in the same feed are counted and handed to the closure")
    func releasedBeforeFailure() throws {
        let body = Array("5\r\nhehlo\r\n0\rksum-crc32:NhmC=gh=\r\n\r\n".utf8)
        let scope = try CredentialScope(date: Fixture.date, region: "us-east-1", service: "s3")
        let key = SigningKey(secretAccessKey: SecretAccessKey(Fixture.secret), scope: scope)
        func decoder() -> AWSChunkedDecoder {
            AWSChunkedDecoder(
                encoding: .unsignedWithTrailer(.crc32), decodedContentLength: 5, signingKey: key, date: Fixture.date,
                seedSignature: Signature(hex: String(repeating: "4f", count: 32))!)
        }
        var d = decoder()
        var delivered: [UInt8] = []
        var failure: VerificationFailure?
        body.withUnsafeBytes { raw in
            do throws(VerificationFailure) { try d.feed(raw) { delivered.append(contentsOf: $0) } } catch { failure = error }
        }
        #expect(failure?.code.httpStatus == 400)
        #expect(delivered == Array("hehlo".utf8))
        #expect(d.releasedByteCount == delivered.count)

        var e = decoder()
        #expect(throws: VerificationFailure.self) { _ = try e.feed(body) }
        #expect(throws: VerificationFailure.self) { try e.finish() }
    }

    /// FuzzCanonicalRequest, Fuzz/Regressions/FuzzCanonicalRequest-method-newline: the public
    /// `CanonicalRequest(method:…)` puts any method bytes into the first line, so a method with a newline makes
    /// the canonical request ambiguous (`"GET\n/a"` + target `/b` vs other splits). Signing through `Signer` is
    /// safe (HTTPRequest.Method only takes tokens). Fixed: the builder refuses a method that is not an RFC 9110
    /// token (`invalidMethod`); a verifier given such a method answers InvalidRequest.
    @Test("a method that is not an HTTP token is refused by CanonicalRequest", arguments: ["GET\n/a", "", "G ET", "GE\u{8}T", "GÉT"])
    func methodMustBeAToken(method: String) {
        do {
            _ = try CanonicalRequest(
                method: method, target: "/b", headers: [("Host", "h")], payloadHash: .emptySHA256, rules: .standard)
            Issue.record("method \(method.debugDescription) was accepted")
        } catch {
            #expect(error.code == .invalidMethod)
        }
    }

    @Test("the verifier answers InvalidRequest for a method with a newline")
    func verifierRefusesNewlineMethod() async {
        var (request, body) = Fixture.signedPut()
        request.method = "PUT\n/x"
        let result = await Fixture.verifier().verify(request, payload: .body(body), now: Fixture.date.adding(seconds: 5))
        #expect(result.failure?.code.name == "InvalidRequest")
    }
}
