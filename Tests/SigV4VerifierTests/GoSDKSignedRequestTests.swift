import Foundation
import SigV4
import SigV4TestSupport
import Testing

@testable import SigV4Verifier

/// Requests signed by the AWS SDK for Go v2's signer (`aws/signer/v4` 1.17.1, Debian 12's
/// `golang-github-aws-aws-sdk-go-v2-dev`) as the SDK would send them: `TestVectors/go-sdk-v2/cases.json`,
/// recorded by `scripts/differential/hypothesis_diff.py --record-go`, each with the verifier
/// reading it must match, chosen by hand (`Docs/Verifier.md`). The SDK leaves non-S3 paths
/// unnormalized (reading 8), sorts a repeated parameter's values decoded (the query as sent) and
/// signs S3 paths raw. The randomized run is `hypothesis_diff.py --go` (in `scripts/test`).
@Suite("requests signed by the AWS SDK for Go v2 verify")
struct GoSDKSignedRequestTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var mode: String
        var method: String
        var target: String
        var headers: [(String, String)]
        var now: String
        var expected: CanonicalForm
        var canonicalRequest: String
        var s3: Bool
        var testDescription: String { "\(mode) \(method) \(target.prefix(60))" }
    }

    static func document() -> [String: Any] { try! Vectors.json("go-sdk-v2/cases.json") }

    static let cases: [Case] = (document()["cases"] as! [[String: Any]]).map {
        Case(
            mode: $0["mode"] as! String, method: $0["method"] as! String, target: $0["target"] as! String,
            headers: ($0["headers"] as! [[String]]).map { ($0[0], $0[1]) }, now: $0["now"] as! String,
            expected: CanonicalForm(rawValue: $0["expected_form"] as! String)!,
            canonicalRequest: $0["canonical_request"] as! String, s3: ($0["service"] as! String) == "s3")
    }

    static func verify(_ c: Case, policy: VerificationPolicy) async throws -> VerificationResult {
        let document = Self.document()
        let credential = ResolvedCredential(
            accessKeyID: document["access_key_id"] as! String,
            secretAccessKey: SecretAccessKey(document["secret_access_key"] as! String), principal: "go")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]), policy: policy)
        let request = VerificationRequest(method: c.method, target: c.target, headers: c.headers)
        return await verifier.verify(request, payload: .body([]), now: try AmzDate(iso8601Basic: c.now))
    }

    @Test("a Go-signed request verifies by the expected reading, with the SDK's canonical request byte for byte",
          arguments: cases)
    func goRequestVerifies(c: Case) async throws {
        var policy = VerificationPolicy.default
        policy.includeDiagnostics = true
        let result = try await Self.verify(c, policy: policy)
        let verified = try #require(
            result.verified, "\(c.target): \(result.failure.map { "\($0.code.name): \($0.message)" } ?? "")")
        #expect(verified.canonicalForm == c.expected, "\(c.target)")
        #expect(verified.diagnostics?.canonicalRequest == c.canonicalRequest, "\(c.target)")
    }

    @Test("without the verbatim readings, the Go SDK's unnormalized paths and decoded-sorted queries are refused",
          arguments: cases.filter { $0.expected != .standard })
    func offTheRuleNeedsTheVerbatimReadings(c: Case) async throws {
        var strict = VerificationPolicy.default
        strict.acceptVerbatimForms = false
        let result = try await Self.verify(c, policy: strict)
        #expect(result.failure?.code == .signatureDoesNotMatch, "\(c.target)")
    }

    @Test("reading 8 is tried only where the rules normalize and the path has dot segments or //")
    func unnormalizedPathOnlyWhereNormalizationChangesThePath() {
        func other(_ target: String, _ rules: ServiceRules, verbatim: Bool = true) -> Bool {
            var policy = VerificationPolicy.default
            policy.acceptVerbatimForms = verbatim
            return Array(target.utf8).withUnsafeBufferPointer {
                Verifier.OtherReadings($0, rules: rules, policy: policy).unnormalizedPath
            }
        }
        #expect(other("/a/./b", .standard))
        #expect(other("/a//b?x=1", .standard))
        #expect(other("/a/..", .standard))
        #expect(!other("/a/b/?x=/../", .standard))
        #expect(!other("/a/./b", .s3))
        #expect(!other("/a/./b", .standard, verbatim: false))
    }
}
