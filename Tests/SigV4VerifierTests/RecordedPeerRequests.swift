import Foundation
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Requests a peer client signed and sent to a capture server, as recorded in a
/// `TestVectors/<peer>/cases.json` (`scripts/differential/curl_diff.py --record`): the
/// credentials at the top, and per case the service, method, target, header lines and body.
/// Shared by `CurlSignedRequestTests` and `Aws4SignedRequestTests`.
struct RecordedPeerRequests: Sendable {
    /// One recorded request.
    struct Case: Sendable, CustomTestStringConvertible {
        var service: String
        var method: String
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]
        /// The recorder's note of why AWS's rule refuses this one (aws4's deviations), if any.
        var deviation: String?
        var testDescription: String { "\(service) \(method) \(target)" }
    }

    let accessKeyID: String
    let secretAccessKey: String
    let cases: [Case]

    /// Loads `TestVectors/<path>`.
    init(_ path: String) {
        let document: [String: Any] = try! Vectors.json(path)
        accessKeyID = document["access_key_id"] as! String
        secretAccessKey = document["secret_access_key"] as! String
        cases = (document["cases"] as! [[String: Any]]).map {
            Case(
                service: $0["service"] as! String, method: $0["method"] as! String, target: $0["target"] as! String,
                headers: ($0["headers"] as! [[String]]).map { ($0[0], $0[1]) },
                body: [UInt8](Data(base64Encoded: $0["body_b64"] as! String)!), deviation: $0["aws4_deviation"] as? String)
        }
    }

    /// Verifies `c` with the recording's key, at the request's own `X-Amz-Date`.
    func verify(_ c: Case, policy: VerificationPolicy = .default) async throws -> VerificationResult {
        let credential = ResolvedCredential(
            accessKeyID: accessKeyID, secretAccessKey: SecretAccessKey(secretAccessKey), principal: "peer")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]), policy: policy)
        let stamp = c.headers.first { $0.0.lowercased() == "x-amz-date" }!.1
        let request = VerificationRequest(method: c.method, target: c.target, headers: c.headers)
        return await verifier.verify(request, payload: .body(c.body), now: try AmzDate(iso8601Basic: stamp))
    }
}
