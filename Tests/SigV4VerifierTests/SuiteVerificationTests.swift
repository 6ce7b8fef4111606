import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Every request of the official suite verifies: the upstream signed requests, and what our signer
/// produces, in header and query mode.
@Suite("official suite verifies")
struct SuiteVerificationTests {
    static let cases = Vectors.directories("aws-signing-test-suite/v4")

    typealias Context = SuiteContext

    static func request(_ raw: RawRequest) -> VerificationRequest {
        VerificationRequest(method: raw.method, target: raw.target, headers: raw.headers)
    }

    @Test("the upstream header-signed request verifies", arguments: cases)
    func upstreamHeaderSigned(name: String) async throws {
        let context = try Context("v4", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/header-signed-request.txt"))
        let result = await context.verifier.verify(Self.request(raw), payload: .body(raw.body), now: context.date)
        #expect(result.isAccepted, "\(name): \(result.failure?.description ?? "")")
        let expected = try Vectors.text("aws-signing-test-suite/v4/\(name)/header-canonical-request.txt")
            .trimmingTrailingNewlines
        #expect(result.verified?.diagnostics?.canonicalRequest == expected)
        #expect(result.verified?.principal == "alice")
    }

    @Test("the upstream query-signed (presigned) request verifies", arguments: cases)
    func upstreamQuerySigned(name: String) async throws {
        let context = try Context("v4", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/query-signed-request.txt"))
        let result = await context.verifier.verify(Self.request(raw), payload: .body(raw.body), now: context.date)
        #expect(result.isAccepted, "\(name): \(result.failure?.description ?? "")")
        let expected = try Vectors.text("aws-signing-test-suite/v4/\(name)/query-canonical-request.txt")
            .trimmingTrailingNewlines
        #expect(result.verified?.diagnostics?.canonicalRequest == expected)
        #expect(result.verified?.isPresigned == true)
    }

    @Test("every request our signer produces verifies (header and query)", arguments: cases)
    func signerRoundTrip(name: String) async throws {
        let context = try Context("v4", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/request.txt"))
        let signed = try context.signer.sign(raw.httpRequest(), payload: .sha256(of: raw.body), at: context.date)
        let header = await context.verifier.verify(VerificationRequest(signed.request), payload: .body(raw.body), now: context.date)
        #expect(header.isAccepted, "\(name) header: \(header.failure?.description ?? "")")
        let presigned = try context.signer.presign(
            raw.httpRequest(), payload: .sha256(of: raw.body), expires: context.expires, at: context.date)
        let query = await context.verifier.verify(
            VerificationRequest(presigned.request), payload: .body(raw.body), now: context.date.adding(seconds: 60))
        #expect(query.isAccepted, "\(name) query: \(query.failure?.description ?? "")")
    }

    @Test(
        "the S3 documentation examples verify, with both Authorization spellings",
        arguments: ["get-object-range", "put-object", "get-bucket-lifecycle", "list-objects", "presigned-get-object"])
    func s3DocExample(file: String) async throws {
        let json = try Vectors.json("s3-doc-examples/\(file).json")
        let input = json["input"] as! [String: Any]
        let expected = json["expected"] as! [String: Any]
        let headers = (input["headers"] as! [[String]]).map { ($0[0], $0[1]) }
        let path = input["path"] as! String
        let query = input["query"] as? String ?? ""
        let date = try AmzDate(iso8601Basic: input["date"] as! String)
        let payload = input["payload"] as! [String: Any]
        let body = Array((payload["text"] as? String ?? "").utf8)
        let credential = ResolvedCredential(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: SecretAccessKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), principal: "doc")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]))
        var requests: [VerificationRequest] = []
        if let signedQuery = expected["signed_query_string"] as? String {
            requests.append(VerificationRequest(method: input["method"] as! String, target: path + "?" + signedQuery, headers: headers))
        } else {
            let target = query.isEmpty ? path : path + "?" + query
            for key in ["authorization_header", "authorization_header_as_printed_in_doc"] {
                let auth = expected[key] as! String
                requests.append(
                    VerificationRequest(method: input["method"] as! String, target: target, headers: headers + [("Authorization", auth)]))
            }
        }
        for request in requests {
            let result = await verifier.verify(request, payload: .body(body), now: date.adding(seconds: 1))
            #expect(result.isAccepted, "\(file): \(result.failure?.description ?? "")")
        }
    }
}

extension SuiteContext {
    /// A verifier that knows the case's key (as `alice`), its rules and diagnostics.
    var verifier: Verifier {
        var policy = VerificationPolicy()
        policy.serviceRules = [service: rules]
        policy.includeDiagnostics = true
        return Fixture.verifier(Fixture.credential(token: token), policy: policy)
    }

    /// A SigV4 signer for the case with the fixture's key, without a key cache.
    var signer: Signer {
        Signer(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret, sessionToken: token),
            region: region, service: service, rules: rules, keyCache: nil)
    }
}
