import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// Re-signs every request of the botocore corpus (`TestVectors/botocore-differential/cases.json`,
/// made by `scripts/gen-botocore-vectors.py`) and compares each stage with botocore's.
///
/// Where botocore deviates from the SigV4 rules (`spec_divergent`), the test checks that every
/// other line of the canonical request still equals botocore's and that the divergent line
/// follows the AWS rule, computed here by an independent reference encoder.
@Suite("botocore differential corpus")
struct BotocoreDifferentialTests {
    struct Case: Sendable {
        var id: Int
        var mode: String
        var s3: Bool
        var method: String
        var authority: String
        var path: String
        var query: String
        var originalQuery: String
        var deviation: String?
        var divergent: Bool
        var headers: [(String, String)]
        var body: [UInt8]
        var payloadSigningEnabled: Bool
        var payloadHash: String
        var region: String
        var service: String
        var timestamp: String
        var accessKeyID: String
        var secret: String
        var token: String?
        var expires: Int?
        var expected: Expected

        struct Expected: Sendable {
            var canonicalRequest, stringToSign, signature: String
            var authorization, url: String?
            var addedHeaders: [[String]]
        }

        init(_ d: [String: Any]) {
            id = d["id"] as! Int
            mode = d["mode"] as! String
            s3 = d["s3"] as! Bool
            method = d["method"] as! String
            authority = d["authority"] as! String
            path = d["path"] as! String
            query = d["query"] as! String
            originalQuery = d["original_query"] as! String
            deviation = d["botocore_deviation"] as? String
            divergent = d["spec_divergent"] as! Bool
            headers = (d["headers"] as! [[String]]).map { ($0[0], $0[1]) }
            body = (d["body_b64"] as? String).flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? []
            payloadSigningEnabled = d["payload_signing_enabled"] as! Bool
            payloadHash = d["payload_hash"] as! String
            region = d["region"] as! String
            service = d["service"] as! String
            timestamp = d["timestamp"] as! String
            accessKeyID = d["access_key_id"] as! String
            secret = d["secret_access_key"] as! String
            token = d["session_token"] as? String
            expires = d["expires"] as? Int
            let e = d["expected"] as! [String: Any]
            expected = Expected(
                canonicalRequest: e["canonical_request"] as! String, stringToSign: e["string_to_sign"] as! String,
                signature: e["signature"] as! String, authorization: e["authorization"] as? String,
                url: e["url"] as? String, addedHeaders: e["added_headers"] as! [[String]])
        }

        var target: String { query.isEmpty ? path : "\(path)?\(query)" }

        func request(query q: String? = nil) -> HTTPRequest {
            var fields = HTTPFields()
            for (n, v) in headers { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
            let queryPart = q ?? query
            return HTTPRequest(
                method: HTTPRequest.Method(method)!, scheme: "https", authority: authority,
                path: queryPart.isEmpty ? path : "\(path)?\(queryPart)", headerFields: fields)
        }

        /// The signer configured as botocore was (service table, plus botocore's unsigned-payload header).
        var signer: Signer {
            var rules = ServiceRules.forService(service)
            if !s3 && mode == "header" && !payloadSigningEnabled { rules.sendContentSHA256 = true }
            return Signer(
                credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token),
                region: region, service: service, rules: rules, keyCache: nil)
        }

        var tags: [String] { deviation?.split(separator: ",").map(String.init) ?? [] }
    }

    static let cases: [Case] = load("botocore-differential/cases.json")

    /// The S3 Express One Zone corpus (`gen-botocore-vectors.py --s3express`): signing name
    /// `s3express`, botocore's `S3ExpressAuth` and `S3ExpressQueryAuth`, a session token in every case.
    static let s3ExpressCases: [Case] = load("botocore-s3express/cases.json")

    static func load(_ path: String) -> [Case] {
        let data = try! Data(contentsOf: Vectors.url(path))
        return (try! JSONSerialization.jsonObject(with: data) as! [[String: Any]]).map(Case.init)
    }

    // MARK: independent reference encoder (AWS rule: unreserved kept, well-formed %XX kept, all else %XX)

    static func awsEncode(_ s: Substring, keepSlash: Bool) -> String {
        let bytes = Array(s.utf8)
        var out = ""
        var i = 0
        let hex = Set("0123456789ABCDEFabcdef".utf8)
        while i < bytes.count {
            let b = bytes[i]
            let ch = Character(UnicodeScalar(b))
            if b < 0x80 && (ch.isLetter || ch.isNumber || "-._~".contains(ch) || (keepSlash && ch == "/")) {
                out.append(ch)
            } else if b == 0x25, i + 2 < bytes.count, hex.contains(bytes[i + 1]), hex.contains(bytes[i + 2]) {
                out += String(decoding: bytes[i...(i + 2)], as: UTF8.self)
                i += 2
            } else {
                out += String(format: "%%%02X", b)
            }
            i += 1
        }
        return out
    }

    static func referenceQuery(_ query: String) -> String {
        let pairs = query.split(separator: "&", omittingEmptySubsequences: true).map { part -> (String, String) in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (awsEncode(kv[0], keepSlash: false), kv.count > 1 ? awsEncode(kv[1], keepSlash: false) : "")
        }
        return pairs.sorted { a, b in
            a.0 != b.0 ? Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
                : Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8))
        }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    // MARK: tests

    @Test("the corpus is present and large enough")
    func corpusSize() {
        #expect(Self.cases.count >= 2000)
        #expect(Self.cases.filter { $0.mode == "header" }.count >= 500)
        #expect(Self.cases.filter { $0.mode == "query" }.count >= 500)
        #expect(Self.cases.filter { $0.s3 }.count >= 500)
    }

    @Test("header signing matches botocore byte for byte where botocore follows the spec")
    func headerMode() throws {
        #expect(try checkHeaderMode(Self.cases) >= 1000)
    }

    @Test("presigning matches botocore byte for byte where botocore follows the spec")
    func queryMode() throws {
        #expect(try checkQueryMode(Self.cases) >= 1000)
    }

    @Test(
        "S3 Express One Zone (s3express): header signing and presigning match botocore's S3ExpressAuth and S3ExpressQueryAuth byte for byte, the session token signed as x-amz-s3session-token / X-Amz-S3session-Token and never as X-Amz-Security-Token"
    )
    func s3Express() throws {
        let cases = Self.s3ExpressCases
        #expect(cases.count == 400 && cases.allSatisfy { $0.service == "s3express" && $0.token != nil })
        #expect(try checkHeaderMode(cases) >= 150)
        #expect(try checkQueryMode(cases) >= 150)
        for c in cases where c.mode == "header" && !c.divergent {
            let added = c.expected.addedHeaders.map { $0[0].lowercased() }
            #expect(added.contains("x-amz-s3session-token") && !added.contains("x-amz-security-token"), "case \(c.id)")
        }
        for c in cases where c.mode == "query" {
            let url = try #require(c.expected.url)
            #expect(url.contains("&X-Amz-S3session-Token=") && !url.contains("X-Amz-Security-Token"), "case \(c.id)")
        }
    }

    /// Signs every header-mode case of `cases` and compares with botocore; returns how many.
    func checkHeaderMode(_ cases: [Case]) throws -> Int {
        var checked = 0
        for c in cases where c.mode == "header" {
            if !c.body.isEmpty || c.payloadHash.count == 64 {
                if c.headers.contains(where: { $0.0.lowercased() == "x-amz-content-sha256" }) == false
                    && c.payloadHash.count == 64
                {
                    #expect(PayloadHash.sha256(of: c.body).value == c.payloadHash, "case \(c.id): body hash")
                }
            }
            let signed = try c.signer.sign(
                c.request(), payload: try PayloadHash(c.payloadHash), at: try AmzDate(iso8601Basic: c.timestamp))
            let expectedCR = c.expected.canonicalRequest
            if c.divergent {
                try checkDivergent(c, ours: signed.canonicalRequest.text, theirs: expectedCR)
            } else {
                #expect(signed.canonicalRequest.text == expectedCR, "case \(c.id): canonical request")
                #expect(signed.stringToSign.text == c.expected.stringToSign, "case \(c.id): sts")
                #expect(signed.signature.hex == c.expected.signature, "case \(c.id): signature")
                #expect(signed.authorization == c.expected.authorization, "case \(c.id): authorization")
                let theirs = c.expected.addedHeaders.map { "\($0[0].lowercased()):\($0[1])" }
                let ours = signed.addedHeaders.map { "\($0.name.canonicalName):\($0.value)" }
                #expect(ours == theirs, "case \(c.id): added headers")
            }
            checked += 1
        }
        return checked
    }

    /// Presigns every query-mode case of `cases` and compares with botocore; returns how many.
    func checkQueryMode(_ cases: [Case]) throws -> Int {
        var checked = 0
        for c in cases where c.mode == "query" {
            let signed = try c.signer.presign(
                c.request(), payload: try PayloadHash(c.payloadHash), expires: c.expires!,
                at: try AmzDate(iso8601Basic: c.timestamp))
            let expectedCR = c.expected.canonicalRequest
            if c.divergent {
                try checkDivergent(c, ours: signed.canonicalRequest.text, theirs: expectedCR)
            } else {
                #expect(signed.canonicalRequest.text == expectedCR, "case \(c.id): canonical request")
                #expect(signed.stringToSign.text == c.expected.stringToSign, "case \(c.id): sts")
                #expect(signed.signature.hex == c.expected.signature, "case \(c.id): signature")
                let url = c.expected.url!
                let theirParams = Set(url[url.firstIndex(of: "?")!...].dropFirst().split(separator: "&").map(String.init))
                let target = signed.request.path!
                let ourParams = Set(target[target.firstIndex(of: "?")!...].dropFirst().split(separator: "&").map(String.init))
                #expect(ourParams == theirParams, "case \(c.id): presigned URL parameters")
            }
            checked += 1
        }
        return checked
    }

    /// botocore keeps only the first value of a repeated key when presigning; the AWS rule keeps every
    /// value, sorted. Sign the original query and check that nothing was dropped.
    @Test("presigning keeps every value of a repeated query key (botocore drops all but the first)")
    func repeatedKeysKept() throws {
        var checked = 0
        for c in Self.cases where c.tags.contains("repeated-query-key-dropped") {
            // botocore decodes '+' as a space here; use the space policy to compare like with like.
            var signer = c.signer
            signer.options.plusPolicy = .space
            let signed = try signer.presign(
                c.request(query: c.originalQuery), payload: try PayloadHash(c.payloadHash), expires: c.expires!,
                at: try AmzDate(iso8601Basic: c.timestamp))
            let canonicalQuery = signed.canonicalRequest.text.split(separator: "\n", omittingEmptySubsequences: false)[2]
            let originalCount = c.originalQuery.split(separator: "&").count
            let authParams = c.token == nil ? 5 : 6
            #expect(canonicalQuery.split(separator: "&").count == originalCount + authParams, "case \(c.id)")
            checked += 1
        }
        #expect(checked > 50)
    }

    func checkDivergent(_ c: Case, ours: String, theirs: String) throws {
        let o = ours.split(separator: "\n", omittingEmptySubsequences: false)
        let t = theirs.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(o.count == t.count, "case \(c.id): same number of lines")
        guard o.count == t.count else { return }
        var allowed = Set<Int>()
        for tag in c.tags {
            switch tag {
            case "s3-path-not-canonical":
                allowed.insert(1)
                #expect(String(o[1]) == Self.awsEncode(Substring(c.path), keepSlash: true), "case \(c.id): S3 path")
            case "query-not-canonical":
                allowed.insert(2)
                #expect(String(o[2]) == Self.referenceQuery(c.query), "case \(c.id): canonical query")
            case "dot-segment-trailing-slash-dropped":
                // We follow botocore here (a trailing '/' only when the input ends with '/').
                break
            case "repeated-query-key-dropped", "plus-decoded-as-space":
                break
            default:
                Issue.record("case \(c.id): unknown deviation tag \(tag)")
            }
        }
        for i in 0..<o.count where !allowed.contains(i) {
            #expect(o[i] == t[i], "case \(c.id): line \(i) must equal botocore's")
        }
    }
}
