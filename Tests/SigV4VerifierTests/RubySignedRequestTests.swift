import SigV4
import Testing

@testable import SigV4Verifier

/// A request as Ruby's aws-sigv4 1.5.1 (the AWS SDK for Ruby's signer, Debian 12's `ruby-aws-sigv4`)
/// signed it, recorded on 2026-12-02 with `scripts/differential/ruby-signer/signer.rb` (the example
/// key): it encodes a non-S3 path twice but does not normalize it, and puts the raw query in the
/// canonical request, sorted. Only reading 8's pairing with the raw query matches it
/// (`CanonicalForm.unnormalizedPathAndVerbatimQuery`, `Docs/Verifier.md`); the randomized run is
/// `scripts/differential/hypothesis_diff.py --ruby` (in `scripts/test`).
@Suite("requests signed by Ruby's aws-sigv4 verify")
struct RubySignedRequestTests {
    static let target = "/a,b/./c//d?b=2&a=x+y&a=%7e"
    /// Ruby's own canonical request for it, as its signer returned it.
    static let rubyCanonicalRequest = """
        GET
        /a%2Cb/./c//d
        a=%7e&a=x+y&b=2
        host:example.amazonaws.com
        x-amz-date:20261202T003000Z
        x-custom:v

        host;x-amz-date;x-custom
        e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
        """
    static let headers = [
        ("X-Custom", "v"), ("host", "example.amazonaws.com"), ("x-amz-date", "20261202T003000Z"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date;x-custom, Signature=d428530a7a2172e156c5e18859da224d695d2231123c1051076a8c11b11cdaa4"
        ),
    ]

    func verify(policy: VerificationPolicy) async throws -> VerificationResult {
        let verifier = Fixture.verifier(Fixture.credential(), policy: policy)
        return await verifier.verify(
            VerificationRequest(method: "GET", target: Self.target, headers: Self.headers), payload: .body([]),
            now: try AmzDate(iso8601Basic: "20261202T003000Z"))
    }

    @Test("an unnormalized path with a raw sorted query verifies by that reading, with Ruby's canonical request byte for byte")
    func rubyRequestVerifies() async throws {
        var policy = VerificationPolicy.default
        policy.includeDiagnostics = true
        let verified = try #require(try await verify(policy: policy).verified)
        #expect(verified.canonicalForm == .unnormalizedPathAndVerbatimQuery)
        #expect(verified.diagnostics?.canonicalRequest == Self.rubyCanonicalRequest)
    }

    @Test("without the verbatim readings it is refused")
    func refusedWithoutVerbatimReadings() async throws {
        var strict = VerificationPolicy.default
        strict.acceptVerbatimForms = false
        #expect(try await verify(policy: strict).failure?.code == .signatureDoesNotMatch)
    }
}
