import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

@testable import SigV4Verifier

/// Requests as node's aws4 1.11.0 (Debian 12's `node-aws4`) signed and sent them:
/// `TestVectors/aws4-node/cases.json`, recorded by
/// `scripts/differential/curl_diff.py --record TestVectors/aws4-node/cases.json --client aws4`.
/// For S3, aws4 signs an object key's own encoding: the path percent-decoded and encoded again
/// (`/a%7eb` as `/a~b`), which the verifier reads as reading 7, `CanonicalForm.reencodedPath`
/// (`Docs/Verifier.md`). Two of its S3 habits are off the AWS rule and refused: a repeated query
/// parameter signed with its first value only, and a `+` in the path signed as a space. The
/// randomized run over the installed aws4 is `scripts/differential/curl_diff.py --client aws4`
/// (in `scripts/test`).
@Suite("requests signed by node's aws4 verify")
struct Aws4SignedRequestTests {
    static let recorded = RecordedPeerRequests("aws4-node/cases.json")
    static let cases = recorded.cases

    @Test("an aws4-signed request verifies, an S3 key with escapes by its decoded and re-encoded reading",
          arguments: cases.filter { $0.deviation == nil })
    func aws4RequestVerifies(c: RecordedPeerRequests.Case) async throws {
        let result = try await Self.recorded.verify(c)
        let verified = try #require(
            result.verified, "\(c.target): \(result.failure.map { "\($0.code.name): \($0.message)" } ?? "")")
        let path = c.target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let expected: CanonicalForm = c.service == "s3" && path.contains("%") ? .reencodedPath : .standard
        #expect(verified.canonicalForm == expected, "\(c.target)")
    }

    @Test("aws4's two S3 deviations are refused: a repeated parameter signed by its first value, a + signed as a space",
          arguments: cases.filter { $0.deviation != nil })
    func aws4DeviationIsRefused(c: RecordedPeerRequests.Case) async throws {
        let result = try await Self.recorded.verify(c)
        #expect(result.failure?.code == .signatureDoesNotMatch, "\(c.target)")
    }

    @Test("the recording holds both deviations and at least two escaped S3 keys")
    func recordingCoversTheReadings() {
        #expect(Self.cases.filter { $0.deviation != nil }.count == 2)
        #expect(Self.cases.filter { $0.service == "s3" && $0.deviation == nil && $0.target.split(separator: "?")[0].contains("%") }.count >= 2)
    }

    @Test("reading 7 decodes the path's escapes and encodes it again, keeping + and the query as they are")
    func reencodingPathDecodesEscapesOnly() {
        let target = Array("/b/%7e/%41%2Fb+c%3d%20d%25?x=%7e&y=+".utf8)
        #expect(String(decoding: Verifier.reencodingPath(target), as: UTF8.self) == "/b/~/A/b%2Bc%3D%20d%25?x=%7e&y=+")
        // A malformed escape stays a literal `%` (encoded), as the AWS rule encodes it.
        #expect(String(decoding: Verifier.reencodingPath(Array("/a%2g%".utf8)), as: UTF8.self) == "/a%252g%25")
    }

    @Test("reading 7 is tried only for an escape in a path the rules encode once")
    func reencodedPathOnlyForS3Escapes() {
        func other(_ target: String, _ rules: ServiceRules) -> Bool {
            Array(target.utf8).withUnsafeBufferPointer {
                Verifier.OtherReadings($0, rules: rules, policy: .default).reencodedPath
            }
        }
        #expect(other("/bucket/a%7eb", .s3))
        #expect(!other("/bucket/a~b?x=%7e", .s3))
        #expect(!other("/bucket/a%7", .s3))
        #expect(!other("/items/a%7eb", .standard))
    }

    @Test("a signature over an S3 key does not verify a different key sent escaped")
    func reencodedPathBindsTheKey() async throws {
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        let signer = Signer(credentials: credentials, region: "us-east-1", service: "s3", keyCache: nil)
        let date = try AmzDate(iso8601Basic: "20261201T120000Z")
        let signed = try signer.sign(
            HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/bucket/a~b"),
            payload: .unsignedPayload, at: date)
        let verifier = Verifier(
            resolver: InMemoryCredentialResolver([
                ResolvedCredential(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), principal: "p")
            ]))
        func verify(_ target: String) async -> VerificationResult {
            var request = signed.request
            request.path = target
            return await verifier.verify(request, payload: .hash(.unsignedPayload), now: date)
        }
        #expect(await verify("/bucket/a~b").verified?.canonicalForm == .standard)
        #expect(await verify("/bucket/a%7eb").verified?.canonicalForm == .reencodedPath)
        #expect(await verify("/bucket/a%7Eb").verified?.canonicalForm == .reencodedPath)
        #expect(await verify("/bucket/a%7fb").failure?.code == .signatureDoesNotMatch)
        #expect(await verify("/bucket/a%2Bb").failure?.code == .signatureDoesNotMatch)
    }
}
