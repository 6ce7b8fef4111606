import Foundation
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Requests signed by real peers (botocore header and presign, awscrt header and query, curl
/// `--aws-sigv4`) for query strings with a literal `+` and lowercase escapes, and a path with `+`:
/// `TestVectors/peer-plus-policy/cases.json`, recorded by `scripts/peers/plus_policy.py`. Each peer
/// reads these differently (see Docs/Architecture.md); the verifier must accept all of them.
@Suite("Verifier accepts every peer's reading of '+' and escapes")
struct PeerPolicyTests {
    struct PeerCase: Sendable, CustomTestStringConvertible {
        var peer: String
        var mode: String
        var input: String
        var target: String
        var headers: [(String, String)]
        var testDescription: String { "\(peer) \(mode) \(input)" }
    }

    static func document() -> [String: Any] { try! Vectors.json("peer-plus-policy/cases.json") }

    static let cases: [PeerCase] = (document()["cases"] as! [[String: Any]]).map {
        PeerCase(
            peer: $0["peer"] as! String, mode: $0["mode"] as! String, input: $0["input_target"] as! String,
            target: $0["wire_target"] as! String, headers: ($0["headers"] as! [[String]]).map { ($0[0], $0[1]) })
    }

    @Test("a peer-signed request verifies", arguments: cases)
    func peerRequestVerifies(c: PeerCase) async throws {
        let document = Self.document()
        let credential = ResolvedCredential(
            accessKeyID: document["access_key_id"] as! String,
            secretAccessKey: SecretAccessKey(document["secret_access_key"] as! String), principal: "peer")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]))
        var headers = c.headers
        if !headers.contains(where: { $0.0.lowercased() == "host" }) {
            headers.insert(("Host", document["host"] as! String), at: 0)
        }
        // Verify at the time the peer signed.
        let stamp: String
        if let date = headers.first(where: { $0.0.lowercased() == "x-amz-date" })?.1 {
            stamp = date
        } else {
            let q = c.target.split(separator: "?", maxSplits: 1)[1]
            stamp = q.split(separator: "&").first { $0.hasPrefix("X-Amz-Date=") }!.dropFirst("X-Amz-Date=".count)
                .description
        }
        let now = try AmzDate(iso8601Basic: stamp)
        let request = VerificationRequest(method: "GET", target: c.target, headers: headers)
        let result = await verifier.verify(request, payload: .body([]), now: now)
        #expect(result.failure == nil, "\(c.peer) \(c.mode) \(c.input): \(result.failure.map { "\($0.code.name): \($0.message)" } ?? "")")
    }
}
