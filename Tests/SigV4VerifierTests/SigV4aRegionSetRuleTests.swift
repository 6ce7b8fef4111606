import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// The verifier reads an `X-Amz-Region-Set` under the shared rule (``SigV4aRegionSet``, with `/`
/// allowed in an entry). A request whose set was changed after signing tells which way the set was
/// read: an unreadable set is `AuthorizationHeaderMalformed` before any signature check, a readable
/// one reaches the signature check and fails it (`SignatureDoesNotMatch`).
@Suite("SigV4a region set rule in the verifier")
struct SigV4aRegionSetRuleTests {
    /// Sets other than the signed `us-east-1`.
    static let texts: [String] = [
        "us-west-2", "*", "us-*,eu-west-1", "a;b=c!~", String(repeating: "a", count: 128),
        (0..<64).map { "r\($0)" }.joined(separator: ","), "us-east-1/x", "a/b,c",
        "us-east-1,", ",us-east-1", "a,,b", String(repeating: "a", count: 129),
        (0..<65).map { "r\($0)" }.joined(separator: ","), "us east-1", "r\u{e9}gion",
    ]

    @Test("a set is read exactly when the shared rule, '/' allowed, accepts its entries", arguments: texts)
    func verifierUsesTheRule(text: String) async throws {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["us-east-1"], service: "s3")
        let signed = try signer.sign(
            HTTPRequest(
                method: .get, scheme: "https", authority: "mrap.accesspoint.s3-global.amazonaws.com", path: "/k"),
            payload: .emptySHA256, at: Fixture.date)
        var changed = signed.request
        changed.headerFields[HTTPField.Name("X-Amz-Region-Set")!] = text
        let readable = SigV4aRegionSet.isValid(
            text.split(separator: ",", omittingEmptySubsequences: false).map(String.init), allowingSlash: true)
        let failure = await Fixture.verifier().verify(VerificationRequest(changed), now: Fixture.date).failure
        #expect(
            failure?.code == (readable ? .signatureDoesNotMatch : .authorizationHeaderMalformed),
            "\(failure?.description ?? "accepted")")
    }

    @Test("'/' in an entry is the one difference kept: the verifier reads the set, the signer refuses it")
    func slashIsReadButNotSigned() {
        #expect(SigV4aRegionSet.isValid(["us-east-1/x"], allowingSlash: true))
        #expect(!SigV4aRegionSet.isValid(["us-east-1/x"], allowingSlash: false))
        #expect(throws: SigV4Error.self) {
            _ = try SigV4aSigner(
                credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
                regionSet: ["us-east-1/x"], service: "s3")
        }
    }
}
