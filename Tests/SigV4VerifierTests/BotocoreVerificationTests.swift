import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Requests botocore signed (`TestVectors/botocore-differential/cases.json`) verify.
///
/// Cases botocore signs the SigV4 way (`spec_divergent == false`) must all be accepted under the
/// standard reading. The spec-divergent cases (raw query in header auth, raw S3 path) are accepted
/// through the verbatim readings, and the canonical request that matched is botocore's, byte for
/// byte (see Docs/Verifier.md).
@Suite("botocore-signed requests verify")
struct BotocoreVerificationTests {
    struct Case: Sendable {
        var id: Int
        var mode: String
        var divergent: Bool
        var deviation: String?
        var method: String
        var authority: String
        var path: String
        var query: String
        var headers: [(String, String)]
        var body: [UInt8]
        var timestamp: String
        var accessKeyID: String
        var secret: String
        var token: String?
        var canonicalRequest: String
        var signature: String
        var addedHeaders: [(String, String)]
        var url: String?
        var expires: Int?

        init(_ d: [String: Any]) {
            id = d["id"] as! Int
            mode = d["mode"] as! String
            divergent = d["spec_divergent"] as! Bool
            deviation = d["botocore_deviation"] as? String
            method = d["method"] as! String
            authority = d["authority"] as! String
            path = d["path"] as! String
            query = d["query"] as! String
            headers = (d["headers"] as! [[String]]).map { ($0[0], $0[1]) }
            body = (d["body_b64"] as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? []
            timestamp = d["timestamp"] as! String
            accessKeyID = d["access_key_id"] as! String
            secret = d["secret_access_key"] as! String
            token = d["session_token"] as? String
            expires = d["expires"] as? Int
            let e = d["expected"] as! [String: Any]
            canonicalRequest = e["canonical_request"] as! String
            signature = e["signature"] as! String
            addedHeaders = (e["added_headers"] as! [[String]]).map { ($0[0], $0[1]) }
            url = e["url"] as? String
        }

        /// The request as botocore would send it: Host first, the supplied headers, botocore's headers.
        var request: VerificationRequest {
            let host = [("Host", authority)]
            if mode == "header" {
                let target = query.isEmpty ? path : "\(path)?\(query)"
                return VerificationRequest(method: method, target: target, headers: host + headers + addedHeaders)
            }
            let u = url!
            let afterScheme = u.range(of: "://")!.upperBound
            let slash = u[afterScheme...].firstIndex(of: "/")!
            return VerificationRequest(method: method, target: String(u[slash...]), headers: host + headers)
        }

        var verifier: Verifier {
            let credential = ResolvedCredential(
                accessKeyID: accessKeyID, secretAccessKey: SecretAccessKey(secret), principal: "p\(id)",
                sessionToken: token)
            return Verifier(resolver: InMemoryCredentialResolver([credential]), policy: Self.policy)
        }

        /// The corpus tests signatures: its random `Content-MD5` values are not its bodies' digests,
        /// which S3 (and the verifier by default) would refuse with `BadDigest`.
        static var policy: VerificationPolicy {
            var policy = VerificationPolicy()
            policy.verifyBodyChecksums = false
            return policy
        }

        var now: AmzDate { try! AmzDate(iso8601Basic: timestamp).adding(seconds: mode == "query" ? Int64(expires!) : 300) }
    }

    static let cases: [Case] = load("botocore-differential/cases.json")
    /// S3 Express One Zone requests (`gen-botocore-vectors.py --s3express`): the session token in
    /// `x-amz-s3session-token`, or `X-Amz-S3session-Token` in a presigned URL.
    static let s3ExpressCases: [Case] = load("botocore-s3express/cases.json")

    static func load(_ path: String) -> [Case] {
        let data = try! Data(contentsOf: Vectors.url(path))
        return (try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]).map(Case.init)
    }

    @Test(
        "S3 Express: every request botocore's S3ExpressAuth and S3ExpressQueryAuth sign is accepted with the key's session token, and refused (InvalidToken) with another token or without one"
    )
    func s3ExpressCasesVerify() async throws {
        var accepted = 0
        for c in Self.s3ExpressCases {
            var verifier = c.verifier
            verifier.policy.includeDiagnostics = true
            let result = await verifier.verify(c.request, payload: .body(c.body), now: c.now)
            #expect(result.isAccepted, "case \(c.id) (\(c.mode)): \(result.failure?.description ?? "")")
            if result.isAccepted { accepted += 1 }
        }
        #expect(accepted == Self.s3ExpressCases.count)
        // A sample of each mode against the wrong token and no token.
        for c in Self.s3ExpressCases.prefix(40) {
            let token = try #require(c.token)
            for expected in ["another-\(token)", nil] {
                let credential = ResolvedCredential(
                    accessKeyID: c.accessKeyID, secretAccessKey: SecretAccessKey(c.secret), principal: "p",
                    sessionToken: expected)
                let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]), policy: Case.policy)
                let result = await verifier.verify(c.request, payload: .body(c.body), now: c.now)
                let expecting = expected == nil ? "none" : "another"
                #expect(result.failure?.code == .invalidToken, "case \(c.id) expecting \(expecting)")
            }
        }
    }

    @Test(
        "S3 Express: a request correctly signed with its session token as X-Amz-Security-Token (header or query) is refused with InvalidToken, since S3 Express reads only x-amz-s3session-token"
    )
    func s3ExpressRefusesTheUsualTokenField() async throws {
        let credentials = Credentials(
            accessKeyID: "AKIDEXPRESS", secretAccessKey: "express-secret", sessionToken: "tok/en+1")
        let resolved = ResolvedCredential(
            accessKeyID: "AKIDEXPRESS", secretAccessKey: SecretAccessKey("express-secret"), principal: "p",
            sessionToken: "tok/en+1")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([resolved]), policy: Case.policy)
        let date = try AmzDate(iso8601Basic: "20260101T000000Z")
        let host = "b--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com"
        let request = HTTPRequest(method: .get, scheme: "https", authority: host, path: "/k?x=1")
        // Plain S3 rules under the s3express name: the token goes out as X-Amz-Security-Token.
        let usual = Signer(
            credentials: credentials, region: "us-west-2", service: "s3express", rules: .s3, keyCache: nil)
        let express = Signer(credentials: credentials, region: "us-west-2", service: "s3express", keyCache: nil)
        for (signer, acceptedExpected) in [(usual, false), (express, true)] {
            let header = try signer.sign(request, payload: .emptySHA256, at: date).request
            let presigned = try signer.presign(request, expires: 300, at: date).request
            for signed in [header, presigned] {
                let result = await verifier.verify(VerificationRequest(signed), payload: .body([]), now: date)
                #expect(result.isAccepted == acceptedExpected, "\(signed.path ?? "")")
                if !acceptedExpected {
                    #expect(result.failure?.code == .invalidToken, "\(result.failure?.description ?? "")")
                }
            }
        }
    }

    @Test("every request botocore signs the SigV4 way is accepted (header and query, S3 and not)")
    func conformingCasesVerify() async {
        var accepted = 0
        for c in Self.cases where !c.divergent {
            let result = await c.verifier.verify(c.request, payload: .body(c.body), now: c.now)
            #expect(result.isAccepted, "case \(c.id) (\(c.mode), \(c.deviation ?? "-")): \(result.failure?.description ?? "")")
            #expect(result.verified?.principal == "p\(c.id)")
            #expect(result.verified.map { $0.canonicalForm == .standard || $0.canonicalForm == .reencodedQuery } != false, "case \(c.id)")
            if result.isAccepted { accepted += 1 }
        }
        #expect(accepted >= 1600)
    }

    @Test("spec-divergent botocore requests are accepted through botocore's own (verbatim) reading")
    func divergentCases() async {
        var accepted = 0
        var rejected = 0
        for c in Self.cases where c.divergent {
            var policy = Case.policy
            policy.includeDiagnostics = true
            var verifier = c.verifier
            verifier.policy = policy
            let result = await verifier.verify(c.request, payload: .body(c.body), now: c.now)
            switch result {
            case .accepted(let v):
                accepted += 1
                // Accepted only if the AWS canonical request equals botocore's.
                #expect(v.diagnostics?.canonicalRequest == c.canonicalRequest, "case \(c.id)")
            case .rejected(let f):
                rejected += 1
                #expect(f.code == .signatureDoesNotMatch, "case \(c.id): \(f)")
                #expect(f.diagnostics?.canonicalRequest != c.canonicalRequest, "case \(c.id)")
            }
        }
        #expect(accepted == Self.cases.filter(\.divergent).count)
        #expect(rejected == 0)
        print("botocore spec-divergent cases: \(accepted) accepted, \(rejected) rejected with SignatureDoesNotMatch")
    }

    @Test("with verbatim readings off, spec-divergent botocore requests get SignatureDoesNotMatch")
    func divergentStrict() async {
        var rejected = 0
        for c in Self.cases where c.divergent {
            var verifier = c.verifier
            verifier.policy.acceptVerbatimForms = false
            let result = await verifier.verify(c.request, payload: .body(c.body), now: c.now)
            if result.code == "SignatureDoesNotMatch" { rejected += 1 } else { #expect(result.isAccepted, "case \(c.id)") }
        }
        #expect(rejected > 300)
    }

    @Test("a botocore request verified a second time under a replay guard is RequestReplayed (header mode)")
    func botocoreReplay() async {
        let guardStore = InMemoryReplayGuard()
        var checked = 0
        // In clock order, as one server sees them: the generated cases' dates go back and forth by
        // years, and the guard refuses (fail closed) a request whose window ended before the newest
        // `now` it has seen, since its entry may already be gone (ReplayGuardClockOrderTests).
        let inClockOrder = Self.cases.prefix(200).filter { !$0.divergent && $0.mode == "header" }
            .sorted { $0.now < $1.now }
        for c in inClockOrder {
            var verifier = c.verifier
            verifier.replayGuard = guardStore
            let first = await verifier.verify(c.request, payload: .body(c.body), now: c.now)
            let second = await verifier.verify(c.request, payload: .body(c.body), now: c.now)
            #expect(first.isAccepted, "case \(c.id)")
            #expect(second.code == "RequestReplayed", "case \(c.id)")
            checked += 1
        }
        #expect(checked > 30)
    }
}
