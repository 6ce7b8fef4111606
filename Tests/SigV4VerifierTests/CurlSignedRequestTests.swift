import Foundation
import SigV4
import SigV4TestSupport
import Testing

@testable import SigV4Verifier

/// Requests as curl 7.88.1 `--aws-sigv4` (Debian 12's curl) sent them:
/// `TestVectors/curl-sigv4/cases.json`, recorded by `scripts/differential/curl_diff.py --record`.
/// curl 7.x signs the query exactly as sent (in its order, a parameter without a value as `name`,
/// not `name=`) and the path raw for every service, so `?acl`, `?uploads` or `?b=2&a=1` from curl
/// match only the verifier's "as sent" readings (`Docs/Verifier.md`). The randomized run over
/// the installed curl is `scripts/differential/curl_diff.py` (in `scripts/test`).
@Suite("requests signed by curl --aws-sigv4 verify")
struct CurlSignedRequestTests {
    static let recorded = RecordedPeerRequests("curl-sigv4/cases.json")
    static let cases = recorded.cases

    static func verify(_ c: RecordedPeerRequests.Case, policy: VerificationPolicy = .default) async throws
        -> VerificationResult
    {
        try await recorded.verify(c, policy: policy)
    }

    @Test("a curl-signed request verifies, read the way curl signed it", arguments: cases)
    func curlRequestVerifies(c: RecordedPeerRequests.Case) async throws {
        let result = try await Self.verify(c)
        let verified = try #require(
            result.verified, "\(c.target): \(result.failure.map { "\($0.code.name): \($0.message)" } ?? "")")
        // The reading that matched: the query as sent when curl's order or a valueless parameter
        // differs from the AWS rule's; the raw path when it holds a `+` (the rule encodes it) or,
        // outside S3, an escape (the rule encodes it twice); the AWS rule otherwise.
        let query = c.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
        let parameters = query.isEmpty ? [] : query.split(separator: "&", omittingEmptySubsequences: false)
        let asSent = parameters.contains { !$0.contains("=") } || parameters != parameters.sorted()
        let path = c.target.split(separator: "?")[0]
        let rawPath = path.contains("+") || (c.service != "s3" && path.contains("%"))
        let expected: CanonicalForm =
            asSent ? (rawPath ? .pathAndQueryAsSent : .queryAsSent) : (rawPath ? .verbatimPath : .standard)
        #expect(verified.canonicalForm == expected, "\(c.target)")
    }

    @Test("without the verbatim readings, curl's as-sent queries are refused (as AWS refuses them)")
    func asSentNeedsTheVerbatimReadings() async throws {
        var strict = VerificationPolicy.default
        strict.acceptVerbatimForms = false
        var refused = 0
        for c in Self.cases {
            let result = try await Self.verify(c, policy: strict)
            if let failure = result.failure {
                #expect(failure.code == .signatureDoesNotMatch, "\(c.target)")
                refused += 1
            }
        }
        // `?acl`, `?uploads`, `?versions&…`, the unsorted ones and the non-S3 escaped paths.
        #expect(refused >= 6)
    }

    @Test("queryIsSortedWithValues agrees with a reference over random queries")
    func sortedWithValuesAgreesWithAReference() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = Array("ab=&%2".utf8)
        func reference(_ target: [UInt8]) -> Bool {
            guard let q = target.firstIndex(of: 0x3f), q + 1 < target.count else { return true }
            let elements = target[(q + 1)...].split(separator: 0x26, omittingEmptySubsequences: false)
            var pairs: [([UInt8], [UInt8])] = []
            for e in elements {
                guard let eq = e.firstIndex(of: 0x3d) else { return false }
                pairs.append((Array(e[..<eq]), Array(e[(eq + 1)...])))
            }
            for i in pairs.indices.dropFirst() {
                let (a, b) = (pairs[i - 1], pairs[i])
                if b.0.lexicographicallyPrecedes(a.0) || (a.0 == b.0 && b.1.lexicographicallyPrecedes(a.1)) {
                    return false
                }
            }
            return true
        }
        var disagreements = 0
        var sorted = 0
        for _ in 0..<5_000 {
            let n = Int.random(in: 0...9, using: &rng)
            var target: [UInt8] = Array("/p".utf8)
            if Bool.random(using: &rng) {
                target.append(0x3f)
                for _ in 0..<n { target.append(alphabet.randomElement(using: &rng)!) }
            }
            let expected = reference(target)
            if expected { sorted += 1 }
            let got = target.withUnsafeBufferPointer { Verifier.queryIsSortedWithValues($0) }
            if got != expected { disagreements += 1 }
        }
        #expect(disagreements == 0)
        #expect(sorted > 100 && sorted < 4_900, "both outcomes are exercised")
    }
}
