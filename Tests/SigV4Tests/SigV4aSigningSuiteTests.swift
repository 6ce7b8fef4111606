import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing
import _SigV4Crypto

/// The official SigV4a suite (aws-c-auth's `aws-signing-test-suite/v4a`), header and query
/// variants, and aws-c-auth's SigV4a key-derivation vectors.
///
/// ECDSA is randomized, so signatures are checked by verification: ours must verify under the
/// suite's public key, and the suite's sample signatures must verify under the key we derive over
/// the string to sign we compute. Canonical requests and strings to sign are compared byte for byte.
@Suite("AWS signing test suite v4a (SigV4a)")
struct SigV4aSigningSuiteTests {
    /// The 38 complete cases (two upstream directories are stubs without expected files).
    static let cases = Vectors.suiteCases("v4a")

    typealias Context = SuiteContext

    static func expected(_ name: String, _ file: String) throws -> String {
        try Vectors.text("aws-signing-test-suite/v4a/\(name)/\(file)").trimmingTrailingNewlines
    }

    /// The suite's public key (the same in every case: AKIDEXAMPLE's).
    static func publicKey(_ name: String) throws -> P256PublicKey {
        let json = try Vectors.json("aws-signing-test-suite/v4a/\(name)/public-key.json")
        return try #require(
            P256PublicKey(x: Hex.decode(json["X"] as! String)!, y: Hex.decode(json["Y"] as! String)!))
    }

    /// The `Signature=` value of an `Authorization` line, or of an `X-Amz-Signature` parameter.
    static func signatureHex(in text: String, after marker: String) -> String? {
        guard let range = text.range(of: marker) else { return nil }
        return String(text[range.upperBound...].prefix { $0.isHexDigit })
    }

    @Test("header signing: canonical request and string to sign byte for byte, signatures verify both ways", arguments: cases)
    func headerSigning(name: String) throws {
        let context = try Context("v4a", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4a/\(name)/request.txt"))
        let signer = try context.sigV4aSigner()
        let signed = try signer.sign(raw.httpRequest(), payload: .sha256(of: raw.body), at: context.date)
        #expect(signed.canonicalRequest.text == (try Self.expected(name, "header-canonical-request.txt")))
        let stringToSign = try Self.expected(name, "header-string-to-sign.txt")
        #expect(signed.stringToSign == stringToSign)
        // Ours verifies under the suite's public key.
        let digest = SHA256.hash(Array(signed.stringToSign.utf8))
        #expect(try Self.publicKey(name).isValidSignature(signed.signature, forDigest: digest))
        // The suite's two samples verify under the key we derive, over our string to sign.
        let samples = [
            try Self.expected(name, "header-signature.txt"),
            Self.signatureHex(in: try Self.expected(name, "header-signed-request.txt"), after: "Signature=") ?? "",
        ]
        for sample in samples {
            #expect(signer.signingKey.isValidSignature(Hex.decode(sample) ?? [], stringToSign: Array(signed.stringToSign.utf8)))
        }
        // The Authorization value up to the signature is the suite's.
        let expectedAuthorization = RawRequest(try Self.expected(name, "header-signed-request.txt")).headers
            .first { $0.0 == "Authorization" }?.1 ?? ""
        let prefix = { (s: String) in s.components(separatedBy: "Signature=")[0] }
        #expect(prefix(signed.authorization ?? "") == prefix(expectedAuthorization))
        #expect(signed.authorization?.hasSuffix("Signature=\(signed.signatureHex)") == true)
    }

    @Test("query signing: canonical request and string to sign byte for byte, signatures verify both ways", arguments: cases)
    func querySigning(name: String) throws {
        let context = try Context("v4a", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4a/\(name)/request.txt"))
        let signer = try context.sigV4aSigner()
        let signed = try signer.presign(
            raw.httpRequest(), payload: .sha256(of: raw.body), expires: context.expires, at: context.date)
        #expect(signed.canonicalRequest.text == (try Self.expected(name, "query-canonical-request.txt")))
        #expect(signed.stringToSign == (try Self.expected(name, "query-string-to-sign.txt")))
        let digest = SHA256.hash(Array(signed.stringToSign.utf8))
        #expect(try Self.publicKey(name).isValidSignature(signed.signature, forDigest: digest))
        for sample in [
            try Self.expected(name, "query-signature.txt"),
            Self.signatureHex(in: try Self.expected(name, "query-signed-request.txt"), after: "X-Amz-Signature=") ?? "",
        ] {
            #expect(signer.signingKey.isValidSignature(Hex.decode(sample) ?? [], stringToSign: Array(signed.stringToSign.utf8)))
        }
        // The query parameters, as a set, with the signatures left out (they differ by design).
        func params(_ target: String) -> [String] {
            guard let q = target.firstIndex(of: "?") else { return [] }
            return target[target.index(after: q)...].split(separator: "&").map(String.init)
                .filter { !$0.hasPrefix("X-Amz-Signature=") }.sorted()
        }
        let expectedTarget = RawRequest(try Self.expected(name, "query-signed-request.txt")).target
        #expect(params(signed.request.path!) == params(expectedTarget))
        #expect(signed.request.path!.hasSuffix("X-Amz-Signature=\(signed.signatureHex)"))
    }

    @Test("a signature does not verify over a string to sign with one byte changed, nor under another key")
    func verificationCanFail() throws {
        let name = "get-vanilla"
        let context = try Context("v4a", name)
        let signer = try context.sigV4aSigner()
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4a/\(name)/request.txt"))
        let signed = try signer.sign(raw.httpRequest(), payload: .emptySHA256, at: context.date)
        var tampered = Array(signed.stringToSign.utf8)
        tampered[tampered.count - 1] ^= 1
        #expect(!signer.signingKey.isValidSignature(signed.signature, stringToSign: tampered))
        let other = try SigV4aSigner(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "another secret"),
            regionSet: ["us-east-1"], service: "service")
        #expect(!other.signingKey.isValidSignature(signed.signature, stringToSign: Array(signed.stringToSign.utf8)))
        #expect(!signer.signingKey.isValidSignature([0x30, 0x00], stringToSign: Array(signed.stringToSign.utf8)))
    }

    @Test("derived public keys equal aws-c-auth's (AKISORANDOMAASORANDOM, AKIAIOSFODNN7EXAMPLE, AKIDEXAMPLE)")
    func keyDerivation() throws {
        let json = try Vectors.json("sdk-test-extras/sigv4a-key-derivation.json")
        let vectors = json["vectors"] as! [[String: Any]]
        #expect(vectors.count == 3)
        for v in vectors {
            let key = try SigV4aSigningKey(
                credentials: Credentials(
                    accessKeyID: v["access_key_id"] as! String, secretAccessKey: v["secret_access_key"] as! String))
            #expect(key.publicKeyHex.x == v["expected_public_x_hex"] as! String)
            #expect(key.publicKeyHex.y == v["expected_public_y_hex"] as! String)
            if let privateHex = v["expected_private_key_hex"] as? String {
                // The private scalar is never exposed; its public point is the check.
                let scalar = try #require(Hex.decode(privateHex))
                let expected = try scalar.withUnsafeBytes { try P256PrivateKey(scalar: $0) }
                #expect(Hex.encode(expected.publicKey.x) == key.publicKeyHex.x)
            }
        }
    }

    @Test("one signer and one key pair used from many tasks at once: every signature verifies")
    func concurrentUse() async throws {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            regionSet: ["*"], service: "s3")
        let date = try AmzDate(iso8601Basic: "20150830T123600Z")
        let results = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let request = HTTPRequest(
                        method: .get, scheme: "https", authority: "b.s3.amazonaws.com", path: "/k\(i)")
                    guard let signed = try? signer.sign(request, payload: .emptySHA256, at: date) else { return false }
                    return signer.signingKey.isValidSignature(signed.signature, stringToSign: Array(signed.stringToSign.utf8))
                }
            }
            var all: [Bool] = []
            for await ok in group { all.append(ok) }
            return all
        }
        #expect(results.count == 64 && results.allSatisfy { $0 })
    }

    @Test("key derivation's range check and +1 (constant time): k0 <= n - 2 is in range, n - 1 and above are not; the carry crosses bytes")
    func derivationArithmetic() throws {
        let n2 = try #require(Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254f"))
        func inRange(_ hex: String) throws -> Bool {
            let k = try #require(Hex.decode(hex))
            return k.withUnsafeBytes { SigV4aSigningKey.isAtMostOrderMinusTwo($0) }
        }
        #expect(try inRange(String(repeating: "00", count: 32)))
        #expect(try inRange(Hex.encode(n2)))
        #expect(try inRange("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254e"))
        #expect(try inRange("fffffffeffffffffffffffffffffffffffffffffffffffffffffffffffffffff"))
        #expect(try !inRange("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550"))
        #expect(try !inRange("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"))
        #expect(try !inRange("ffffffff00000001000000000000000000000000000000000000000000000000"))
        #expect(try !inRange(String(repeating: "ff", count: 32)))
        for (before, after) in [
            ("00000000000000000000000000000000000000000000000000000000000000ff",
             "0000000000000000000000000000000000000000000000000000000000000100"),
            ("00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
             "0100000000000000000000000000000000000000000000000000000000000000"),
            (Hex.encode(n2), "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550"),
        ] {
            var bytes = try #require(Hex.decode(before))
            bytes.withUnsafeMutableBytes { SigV4aSigningKey.addOne($0) }
            #expect(Hex.encode(bytes) == after)
        }
    }

    @Test("the key and the signer print no secret")
    func redaction() throws {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            regionSet: ["*"], service: "s3")
        for text in ["\(signer)", String(reflecting: signer), "\(signer.signingKey)", "\(signer.signingKey.privateKey)"] {
            #expect(!text.contains("wJalrXUtnFEMI"), "\(text)")
        }
    }

    @Test("bad region sets, services and credentials are refused with typed errors")
    func refusals() {
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        for regions in [[], [""], ["us-east-1,us-west-2"], ["us east"]] as [[String]] {
            #expect(throws: SigV4Error.self) { _ = try SigV4aSigner(credentials: credentials, regionSet: regions, service: "s3") }
        }
        #expect(throws: SigV4Error.self) {
            _ = try SigV4aSigner(credentials: Credentials(accessKeyID: "", secretAccessKey: "x"), regionSet: ["*"], service: "s3")
        }
        #expect(throws: SigV4Error.self) { _ = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: "a/b") }
    }

    @Test("a region set the verifier would not read (non-ASCII, more than 64 regions) is refused when the signer is made, not signed")
    func regionSetsTheVerifierRefuses() throws {
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        let sixtyFour = (0..<64).map { "region-\($0)" }
        for regions in [["r\u{e9}gion"], ["us-east-1", "\u{65e5}\u{672c}"], sixtyFour + ["one-more"]] {
            #expect(throws: SigV4Error.self, "\(regions.count) regions") {
                _ = try SigV4aSigner(credentials: credentials, regionSet: regions, service: "s3")
            }
        }
        // 64 printable ASCII regions are fine.
        _ = try SigV4aSigner(credentials: credentials, regionSet: sixtyFour, service: "s3")
    }

    @Test(
        "presigning refuses a target that already carries X-Amz-Region-Set, in any spelling, as it refuses the other signing parameters",
        arguments: ["/k?X-Amz-Region-Set=eu-west-1", "/k?a=1&x-amz-region-set=%2A", "/k?X-AMZ-REGION-SET"])
    func presignRefusesRegionSetInTarget(target: String) throws {
        // Presigning adds its own X-Amz-Region-Set: with the target's, the URL would carry two,
        // which no verifier takes for one region set.
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"), regionSet: ["us-east-1"],
            service: "s3")
        let request = HTTPRequest(method: .get, scheme: "https", authority: "b.s3.amazonaws.com", path: target)
        #expect(throws: SigV4Error.self) { _ = try signer.presign(request, expires: 60, at: AmzDate(secondsSince1970: 1_440_938_160)) }
        do {
            _ = try signer.presign(request, expires: 60, at: AmzDate(secondsSince1970: 1_440_938_160))
        } catch {
            #expect(error.code == .alreadySigned)
        }
        // Header signing keeps it: there it is an ordinary, signed query parameter.
        #expect(throws: Never.self) { _ = try signer.sign(request, payload: .emptySHA256, at: AmzDate(secondsSince1970: 1_440_938_160)) }
    }
}

extension SuiteContext {
    /// A SigV4a signer for the case: the case's region is its region set.
    func sigV4aSigner() throws -> SigV4aSigner {
        try SigV4aSigner(credentials: credentials, regionSet: [region], service: service, rules: rules)
    }
}
