import HTTPTypes
import SigV4
import Testing

@testable import SigV4Verifier

/// A presigned URL's `X-Amz-Credential` and `X-Amz-SignedHeaders`, read once and kept by their
/// bytes (`PresignCredential`): a URL parses to the same claim, or the same refusal, whether its
/// values were kept or not; only SigV4 URLs that parse are kept.
@Suite("presigned credentials kept by their bytes")
struct PresignCredentialTests {
    static let signature = String(repeating: "0", count: 64)

    static func target(
        path: String = "/bucket/a%20b?x=1&",
        credential: String = "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
        signedHeaders: String = "host", date: String = "20150830T123600Z", algorithm: String = "AWS4-HMAC-SHA256",
        extra: String = ""
    ) -> String {
        "\(path)X-Amz-Algorithm=\(algorithm)&X-Amz-Credential=\(credential)&X-Amz-Date=\(date)&X-Amz-Expires=60"
            + "&X-Amz-SignedHeaders=\(signedHeaders)\(extra)&X-Amz-Signature=\(signature)"
    }

    /// Everything the parser says of `target`, as text: the claim's every field, or the refusal.
    static func parse(_ target: String, source: Bool, readings: PresignCredentials?) -> String {
        let bytes = Array(target.utf8)
        let query = ((bytes.firstIndex(of: UInt8(ascii: "?")) ?? -1) + 1)..<bytes.count
        var claim: ClaimedAuthorization? = nil
        let result = bytes.withUnsafeBufferPointer { p in
            Result { () throws(VerificationFailure) in
                try AuthorizationParser.parseQuery(
                    target: p, query: query, source: source ? target : nil, readings: readings, into: &claim)
            }
        }
        switch result {
        case .failure(let failure): return "refused \(failure.code) \(failure.message)"
        case .success:
            guard let c = claim, let presign = c.presign else { return "no claim" }
            return [
                String(c.accessKeyID), c.dateStamp, c.dateDay.map { String($0) } ?? "-", c.region, c.service,
                c.terminator, c.signedHeadersLine,
                c.signedHeaders.joined(separator: ","), c.signature.hex, presign.date.iso8601Basic,
                String(presign.expires), presign.sessionToken ?? "-", "\(presign.signatureElement)",
                "\(String(describing: presign.tokenElement))", "\(c.isSigV4a)", "\(c.signedHeadersText.signsHost)",
            ].joined(separator: " | ")
        }
    }

    /// Credentials with escapes in the id, after it or nowhere, other terminators and regions.
    static let credentials = [
        "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
        "AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request",
        "AKIDEXAMPLE%2f20150830%2feu-west-1%2fs3%2faws4_request",
        "AK%49DEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
        "AKIDEXAMPL%45%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
        "%41KIDEXAMPLE/20150830/us-east-1/s3/aws4_request",
        "AKIDEXAMPLE/20150830%2Fus-east-1/s3/aws4_request",
        "AKIDEXAMPLE/20150830/us-east-1/s3/aws5_request",
        "AKIDEXAMPLE/2015083/us-east-1/s3/aws4_request",
        "AKIDEXAMPLE/20150830/us-east-1/s3",
        "AKIDEXAMPLE%2F20150830%2F%2Fs3%2Faws4_request",
        "AKID%20EXAMPLE/20150830/us-east-1/s3/aws4_request",
    ]
    static let signedHeaderLines = [
        "host", "host%3Bx-amz-date", "host;x-amz-date", "content-type%3bhost", "x-amz-date;host", "Host",
        "x-amz-date", "content-type%3Bx-amz-date", "accept%3Bhost%3Bmy-header1",
    ]
    static let paths = ["/bucket/a%20b?x=1&", "/?", "/k?X-Amz-Security-Token=tok%2Fen&z=9&"]

    @Test("every URL parses to the claim, or the refusal, a fresh parse gives, its values kept or not")
    func keptReadingsParseAsAFreshParse() {
        let readings = PresignCredentials()
        var checked = 0
        var kept = 0
        for credential in Self.credentials {
            for signedHeaders in Self.signedHeaderLines {
                // The same two values under several paths in a row: the later ones find them kept.
                for path in Self.paths {
                    for date in ["20150830T123600Z", "2015-08-30"] {
                        let target = Self.target(
                            path: path, credential: credential, signedHeaders: signedHeaders, date: date)
                        for source in [true, false] {
                            let fresh = Self.parse(target, source: source, readings: nil)
                            let wasKept = Self.lookUp(readings, target) != nil
                            #expect(Self.parse(target, source: source, readings: readings) == fresh, "\(target)")
                            #expect(Self.parse(target, source: source, readings: readings) == fresh, "\(target)")
                            if wasKept { kept += 1 }
                            checked += 1
                        }
                    }
                }
            }
        }
        #expect(checked == Self.credentials.count * Self.signedHeaderLines.count * Self.paths.count * 4)
        // Most URLs that parse found their values kept by an earlier one.
        #expect(kept > checked / 8)
    }

    /// The reading kept for `target`'s two values, if any.
    static func lookUp(_ readings: PresignCredentials, _ target: String) -> PresignCredential? {
        func value(_ name: String) -> [UInt8] {
            let after = target.components(separatedBy: "\(name)=")[1]
            return Array(after.prefix { $0 != "&" }.utf8)
        }
        let credential = value("X-Amz-Credential")
        let names = value("X-Amz-SignedHeaders")
        return credential.withUnsafeBufferPointer { c in names.withUnsafeBufferPointer { readings.lookUp(c, $0) } }
    }

    @Test("with a URL's values kept, each byte of either value replaced, removed or doubled is read afresh")
    func changedValuesAreReadAfresh() {
        let credential = "AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"
        let signedHeaders = "host%3Bx-amz-date"
        let readings = PresignCredentials()
        let good = Self.target(credential: credential, signedHeaders: signedHeaders)
        let parsed = Self.parse(good, source: true, readings: readings)
        #expect(!parsed.hasPrefix("refused"))
        #expect(Self.lookUp(readings, good) != nil)
        var variants: [String] = []
        for (value, isCredential) in [(credential, true), (signedHeaders, false)] {
            let bytes = Array(value.utf8)
            for i in bytes.indices {
                for replacement: UInt8 in [bytes[i] ^ 0x01, bytes[i] ^ 0x20, 0x2f, 0x25, 0x3b, 0x20] {
                    var changed = bytes
                    changed[i] = replacement
                    variants.append(String(decoding: changed, as: UTF8.self))
                }
                var shorter = bytes
                shorter.remove(at: i)
                variants.append(String(decoding: shorter, as: UTF8.self))
                var longer = bytes
                longer.insert(bytes[i], at: i)
                variants.append(String(decoding: longer, as: UTF8.self))
            }
            for variant in variants where !variant.contains("&") && !variant.contains("#") {
                let target =
                    isCredential
                    ? Self.target(credential: variant, signedHeaders: signedHeaders)
                    : Self.target(credential: credential, signedHeaders: variant)
                for source in [true, false] {
                    let fresh = Self.parse(target, source: source, readings: nil)
                    #expect(Self.parse(target, source: source, readings: readings) == fresh, "\(target)")
                    // And the kept original still parses as it did.
                    #expect(
                        Self.parse(good, source: source, readings: readings)
                            == Self.parse(good, source: source, readings: nil))
                }
            }
            variants = []
        }
    }

    @Test("only a SigV4 URL that parses is kept: not a SigV4a one, nor one refused after its credential")
    func onlyParsedSigV4URLsAreKept() {
        let readings = PresignCredentials()
        let sigV4a = Self.target(
            credential: "AKIDEXAMPLE%2F20150830%2Fs3%2Faws4_request", algorithm: "AWS4-ECDSA-P256-SHA256",
            extra: "&X-Amz-Region-Set=us-east-1")
        _ = Self.parse(sigV4a, source: true, readings: readings)
        #expect(Self.lookUp(readings, sigV4a) == nil)
        let badDate = Self.target(date: "20150830")
        #expect(Self.parse(badDate, source: true, readings: readings).hasPrefix("refused"))
        #expect(Self.lookUp(readings, badDate) == nil)
        // The same credential on a SigV4 URL that parses: kept, and a SigV4a URL with those bytes
        // is still read as SigV4a (its credential then has one part too many).
        let good = Self.target(credential: "AKIDEXAMPLE%2F20150830%2Fs3%2Faws4_request%2Fx")
        #expect(!Self.parse(good, source: true, readings: readings).hasPrefix("refused"))
        #expect(Self.lookUp(readings, good) != nil)
        let sameBytesV4a = Self.target(
            credential: "AKIDEXAMPLE%2F20150830%2Fs3%2Faws4_request%2Fx", algorithm: "AWS4-ECDSA-P256-SHA256",
            extra: "&X-Amz-Region-Set=us-east-1")
        #expect(
            Self.parse(sameBytesV4a, source: true, readings: readings)
                == Self.parse(sameBytesV4a, source: true, readings: nil))
    }

    @Test("one verifier verifying presigned URLs of several keys, regions and header sets, again and again, gives each the verdict a fresh verifier gives")
    func verifierAgreesWithAFreshOne() throws {
        let other = ResolvedCredential(
            accessKeyID: "AKIDOTHER", secretAccessKey: SecretAccessKey("other-secret"), principal: "bob",
            scope: .unrestricted, sessionToken: nil, acceptsSignaturesBefore: nil)
        let resolver = InMemoryCredentialResolver([Fixture.credential(), other])
        let shared = Verifier(resolver: resolver, policy: .default)
        var urls: [VerificationRequest] = []
        let keys = [(Fixture.accessKeyID, Fixture.secret), ("AKIDOTHER", "other-secret"), ("AKIDOTHER", "wrong")]
        for (id, secret) in keys {
            for region in ["us-east-1", "eu-west-1"] {
                for extra in [false, true] {
                    var fields = HTTPFields()
                    if extra { fields[HTTPField.Name("x-amz-meta-a")!] = "1" }
                    let request = HTTPRequest(
                        method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com",
                        path: "/photos/cat.txt?versionId=3", headerFields: fields)
                    let signer = Signer(
                        credentials: Credentials(accessKeyID: id, secretAccessKey: secret), region: region,
                        service: "s3", keyCache: nil)
                    let presigned = try signer.presign(request, expires: 3600, at: Fixture.date)
                    urls.append(VerificationRequest(presigned.request))
                }
            }
        }
        let now = Fixture.date.adding(seconds: 60)
        func verdict(_ verifier: Verifier, _ url: VerificationRequest) -> String {
            switch verifier.verifyWithoutSuspending(url, payload: .streamed, now: now) {
            case .accepted(let v): return "accepted \(v.accessKeyID) \(v.signedHeaders)"
            case .rejected(let f): return "refused \(f.code)"
            case nil: return "suspends"
            }
        }
        var accepted = 0
        for _ in 0..<3 {
            for url in urls {
                let fresh = verdict(Verifier(resolver: resolver, policy: .default), url)
                #expect(verdict(shared, url) == fresh)
                if fresh.hasPrefix("accepted") { accepted += 1 }
            }
        }
        #expect(accepted == 3 * 8)
    }
}
