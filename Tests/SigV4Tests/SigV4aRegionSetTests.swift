import SigV4
import Testing

/// The one SigV4a region-set entry rule (``SigV4aRegionSet``) and the signer that uses it. The
/// verifier's use of it is pinned in `SigV4VerifierTests/SigV4aRegionSetRuleTests.swift`.
@Suite("SigV4a region set rule")
struct SigV4aRegionSetTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let label: String
        let entries: [String]
        /// Accepted with `allowingSlash: false` (the signer) and with `allowingSlash: true` (the verifier).
        let strict: Bool
        let withSlash: Bool
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "one region", entries: ["us-east-1"], strict: true, withSlash: true),
        Case(label: "*", entries: ["*"], strict: true, withSlash: true),
        Case(label: "a prefix and a region", entries: ["us-*", "eu-west-1"], strict: true, withSlash: true),
        Case(label: "printable punctuation", entries: ["a;b=c!~"], strict: true, withSlash: true),
        Case(label: "128 bytes", entries: [String(repeating: "a", count: 128)], strict: true, withSlash: true),
        Case(label: "64 regions", entries: (0..<64).map { "r\($0)" }, strict: true, withSlash: true),
        Case(label: "'/' in an entry", entries: ["us-east-1/x"], strict: false, withSlash: true),
        Case(label: "no regions", entries: [], strict: false, withSlash: false),
        Case(label: "an empty region", entries: ["us-east-1", ""], strict: false, withSlash: false),
        Case(label: "129 bytes", entries: [String(repeating: "a", count: 129)], strict: false, withSlash: false),
        Case(label: "65 regions", entries: (0..<65).map { "r\($0)" }, strict: false, withSlash: false),
        Case(label: "a space", entries: ["us east-1"], strict: false, withSlash: false),
        Case(label: "a tab", entries: ["us\teast-1"], strict: false, withSlash: false),
        Case(label: "',' in an entry", entries: ["us-east-1,us-west-2"], strict: false, withSlash: false),
        Case(label: "DEL", entries: ["us\u{7f}"], strict: false, withSlash: false),
        Case(label: "non-ASCII", entries: ["r\u{e9}gion"], strict: false, withSlash: false),
    ]

    @Test(
        "a set is 1 to 64 entries of 1 to 128 printable ASCII bytes other than ','; '/' only when allowed",
        arguments: cases)
    func rule(c: Case) {
        #expect(SigV4aRegionSet.isValid(c.entries, allowingSlash: false) == c.strict)
        #expect(SigV4aRegionSet.isValid(c.entries, allowingSlash: true) == c.withSlash)
    }

    @Test("SigV4aSigner accepts exactly the sets the rule accepts without '/'", arguments: cases)
    func signerUsesTheRule(c: Case) {
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        let made = Result { () throws(SigV4Error) in
            try SigV4aSigner(credentials: credentials, regionSet: c.entries, service: "s3")
        }
        switch made {
        case .success: #expect(c.strict)
        case .failure(let error):
            #expect(!c.strict)
            #expect(error.code == .invalidScope)
        }
    }
}
