import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// The classic AWS SigV4 suite (botocore's copy): `.req` → `.creq`, `.sts`, `.authz`.
@Suite("aws4_testsuite (classic)")
struct AWS4TestsuiteTests {
    static let stsToken =
        "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    static let cases: [String] = {
        var all = Vectors.directories("aws4_testsuite").filter { $0 != "normalize-path" && $0 != "post-sts-token" }
        all += Vectors.directories("aws4_testsuite/normalize-path").map { "normalize-path/\($0)" }
        all += Vectors.directories("aws4_testsuite/post-sts-token").map { "post-sts-token/\($0)" }
        return all
    }()

    @Test("header signing matches .creq, .sts and .authz", arguments: cases)
    func classic(path: String) throws {
        let name = path.split(separator: "/").last.map(String.init)!
        let base = "aws4_testsuite/\(path)/\(name)"
        var raw = RawRequest(try Vectors.text("\(base).req"))
        // The .req already holds X-Amz-Date (and sometimes the token); the signer adds its own.
        let token = raw.headers.first { $0.0.lowercased() == "x-amz-security-token" }?.1
        raw.headers.removeAll { ["x-amz-date", "x-amz-security-token"].contains($0.0.lowercased()) }
        var rules = ServiceRules.standard
        if name == "post-sts-header-after" { rules.sessionTokenPlacement = .appendedAfterSigning }
        let sessionToken: String? = switch name {
        case "post-sts-header-after": Self.stsToken
        case "get-vanilla-with-session-token": "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        default: token
        }
        let signer = Signer(
            credentials: Credentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                sessionToken: sessionToken),
            region: "us-east-1", service: "service", rules: rules, keyCache: nil)
        let signed = try signer.sign(
            raw.httpRequest(), payload: .sha256(of: raw.body), at: try AmzDate(iso8601Basic: "20150830T123600Z"))
        #expect(signed.canonicalRequest.text == (try Vectors.text("\(base).creq").trimmingTrailingNewlines))
        #expect(signed.stringToSign.text == (try Vectors.text("\(base).sts").trimmingTrailingNewlines))
        #expect(signed.authorization == (try Vectors.text("\(base).authz").trimmingTrailingNewlines))
    }
}
