import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing
import _SigV4Crypto

/// SigV4a against aws-c-auth: 300 random requests signed by awscrt 0.38.1
/// (`scripts/gen-awscrt-sigv4a-vectors.py`, header and query form, S3 and other services, session
/// tokens, multi-region sets). ECDSA is randomized, so each case is signed again here and checked
/// by what it must share with awscrt's: the added headers (or query parameters) but the
/// signature, and awscrt's signature verifying under our derived key over our string to sign,
/// which it cannot unless both canonical requests are the same bytes.
@Suite("SigV4a against awscrt (aws-c-auth)")
struct SigV4aDifferentialTests {
    static let cases = AwscrtSigV4aCase.all

    static func signatureHex(_ text: String, after marker: String) -> String {
        guard let r = text.range(of: marker) else { return "" }
        return String(text[r.upperBound...].prefix { $0.isHexDigit })
    }

    @Test("the corpus holds 300 cases, both forms, S3 and other services")
    func corpusShape() {
        #expect(Self.cases.count == 300)
        #expect(Set(Self.cases.map(\.mode)) == ["header", "query"])
        #expect(Self.cases.contains { $0.s3 } && Self.cases.contains { !$0.s3 })
        #expect(Self.cases.contains { $0.session_token != nil })
    }

    @Test("our SigV4a signature of each request shares everything but the signature with awscrt's", arguments: cases)
    func sameAsAwscrt(c: AwscrtSigV4aCase) throws {
        var fields = HTTPFields()
        for h in c.headers { fields.append(HTTPField(name: try #require(HTTPField.Name(h[0])), value: h[1])) }
        let request = HTTPRequest(
            method: try #require(HTTPRequest.Method(c.method)), scheme: "https", authority: nil, path: c.target,
            headerFields: fields)
        let signer = try SigV4aSigner(
            credentials: Credentials(
                accessKeyID: c.access_key_id, secretAccessKey: c.secret_access_key, sessionToken: c.session_token),
            regionSet: c.region_set, service: c.service, rules: c.s3 ? .s3 : .standard)
        let date = try AmzDate(iso8601Basic: c.timestamp)
        let payload = try PayloadHash(c.payload_hash)
        let theirs: String
        if c.mode == "header" {
            let signed = try signer.sign(request, payload: payload, at: date)
            func set(_ pairs: [(String, String)]) -> Set<String> {
                Set(pairs.map { "\($0.0.lowercased()): \($0.0 == "Authorization" || $0.0 == "authorization" ? $0.1.components(separatedBy: "Signature=")[0] : $0.1)" })
            }
            let ours = set(signed.addedHeaders.map { ($0.name.rawName, $0.value) })
            #expect(ours == set(c.added_headers.map { ($0[0], $0[1]) }))
            let authorization = c.added_headers.first { $0[0].lowercased() == "authorization" }?[1] ?? ""
            theirs = Self.signatureHex(authorization, after: "Signature=")
            #expect(
                signer.signingKey.isValidSignature(Hex.decode(theirs) ?? [], stringToSign: Array(signed.stringToSign.utf8)),
                "awscrt's signature does not verify over our string to sign:\n\(signed.canonicalRequest.text)")
        } else {
            let signed = try signer.presign(request, payload: payload, expires: c.expires, at: date)
            func params(_ target: String) -> [String] {
                guard let q = target.firstIndex(of: "?") else { return [] }
                return target[target.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false)
                    .map(String.init).filter { !$0.hasPrefix("X-Amz-Signature=") }.sorted()
            }
            #expect(params(signed.request.path!) == params(c.signed_target))
            theirs = Self.signatureHex(c.signed_target, after: "X-Amz-Signature=")
            #expect(
                signer.signingKey.isValidSignature(Hex.decode(theirs) ?? [], stringToSign: Array(signed.stringToSign.utf8)),
                "awscrt's signature does not verify over our string to sign:\n\(signed.canonicalRequest.text)")
        }
        #expect(theirs.count >= 128)
    }
}
