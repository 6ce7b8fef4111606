import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// The official SigV4 suite (aws-c-auth's `aws-signing-test-suite/v4`), header and query variants.
@Suite("AWS signing test suite v4")
struct AWSSigningSuiteTests {
    static let cases = Vectors.directories("aws-signing-test-suite/v4")

    typealias Context = SuiteContext

    func expected(_ name: String, _ file: String) throws -> String {
        try Vectors.text("aws-signing-test-suite/v4/\(name)/\(file)").trimmingTrailingNewlines
    }

    @Test("header signing matches canonical request, string to sign and signature", arguments: cases)
    func headerSigning(name: String) throws {
        let context = try Context("v4", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/request.txt"))
        let signed = try context.signer.sign(
            raw.httpRequest(), payload: .sha256(of: raw.body), at: context.date)
        #expect(signed.canonicalRequest.text == (try expected(name, "header-canonical-request.txt")))
        #expect(signed.stringToSign.text == (try expected(name, "header-string-to-sign.txt")))
        #expect(signed.signature.hex == (try expected(name, "header-signature.txt")))
        let signedRequest = RawRequest(try expected(name, "header-signed-request.txt"))
        let expectedAuthorization = signedRequest.headers.first { $0.0 == "Authorization" }?.1
        #expect(signed.authorization == expectedAuthorization)
    }

    @Test("query signing (presign) matches canonical request, string to sign and signature", arguments: cases)
    func querySigning(name: String) throws {
        let context = try Context("v4", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/request.txt"))
        let signed = try context.signer.presign(
            raw.httpRequest(), payload: .sha256(of: raw.body), expires: context.expires, at: context.date)
        #expect(signed.canonicalRequest.text == (try expected(name, "query-canonical-request.txt")))
        #expect(signed.stringToSign.text == (try expected(name, "query-string-to-sign.txt")))
        #expect(signed.signature.hex == (try expected(name, "query-signature.txt")))
        // The signed request's query parameters, compared as a set (their order is not canonical).
        let expectedTarget = RawRequest(try expected(name, "query-signed-request.txt")).target
        func params(_ target: String) -> [String] {
            guard let q = target.firstIndex(of: "?") else { return [] }
            return target[target.index(after: q)...].split(separator: "&").map(String.init).sorted()
        }
        #expect(params(signed.request.path!) == params(expectedTarget))
    }
}

extension SuiteContext {
    /// A SigV4 signer for the case, without a key cache.
    var signer: Signer {
        Signer(credentials: credentials, region: region, service: service, rules: rules, keyCache: nil)
    }
}
