import SigV4
import SigV4Verifier
import Testing

/// A verified request keeps its access key id and principal in the resolver's credential, its
/// scope in the key, and a caller's scope and the diagnostics in one optional reference: the
/// public fields must still read as the verifier set them and round-trip through their setters,
/// each setter leaving the others (and any copy) as they were.
@Suite("the verified request's fields")
struct VerifiedRequestFieldsTests {
    /// The accepted `signedPut` request, verified under `policy`.
    static func verified(policy: VerificationPolicy = .default) async throws -> VerifiedRequest {
        let (request, body) = Fixture.signedPut()
        return try #require(
            await Fixture.verifier(policy: policy).verify(request, payload: .body(body), now: Fixture.date).verified)
    }

    @Test("the verifier's values: the credential's id and principal, the request's scope, no diagnostics")
    func asVerified() async throws {
        let verified = try await Self.verified()
        #expect(verified.accessKeyID == Fixture.accessKeyID)
        #expect(verified.principal == "alice")
        #expect(verified.scope == (try CredentialScope(date: Fixture.date, region: "us-east-1", service: "s3")))
        #expect(verified.diagnostics == nil)
    }

    @Test("each setter round-trips and leaves the other fields and a copy as they were")
    func setters() async throws {
        let original = try await Self.verified()
        var verified = original
        let scope = try CredentialScope(dateStamp: "20150831", region: "eu-west-1", service: "sqs")
        verified.accessKeyID = "AKIDOTHER"
        verified.principal = "bob"
        verified.scope = scope
        let diagnostics = VerificationFailure.Diagnostics(
            canonicalRequest: "GET\n/", stringToSign: "AWS4-HMAC-SHA256", signatureProvided: "ab")
        verified.diagnostics = diagnostics
        #expect(verified.accessKeyID == "AKIDOTHER" && verified.principal == "bob")
        #expect(verified.scope == scope && verified.diagnostics == diagnostics)
        verified.diagnostics = nil
        #expect(verified.scope == scope && verified.diagnostics == nil)
        verified.scope = original.scope
        #expect(verified.scope == original.scope)
        // The copy taken before is untouched.
        #expect(original.accessKeyID == Fixture.accessKeyID && original.principal == "alice")
        #expect(original.scope != scope && original.diagnostics == nil)
    }

    @Test("diagnostics the policy asks for are kept, and a scope set beside them keeps them")
    func diagnosticsKept() async throws {
        var policy = VerificationPolicy.default
        policy.includeDiagnostics = true
        var verified = try await Self.verified(policy: policy)
        let diagnostics = try #require(verified.diagnostics)
        #expect(diagnostics.canonicalRequest.hasPrefix("PUT\n/photos/2015/cat.txt\n"))
        let scope = try CredentialScope(dateStamp: "20150831", region: "eu-west-1", service: "sqs")
        verified.scope = scope
        #expect(verified.diagnostics == diagnostics && verified.scope == scope)
    }
}
