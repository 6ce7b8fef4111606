import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// `SigningContext` (the allocation-free path) must produce exactly what `Signer.sign` produces.
@Suite("Signing context")
struct SigningContextTests {
    @Test("the context's signature, Authorization, canonical request and string to sign equal Signer.sign's",
        arguments: AWSSigningSuiteTests.cases)
    func contextMatchesSigner(name: String) throws {
        let context = try AWSSigningSuiteTests.Context("v4", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/request.txt"))
        let request = raw.httpRequest()
        let payload = PayloadHash.sha256(of: raw.body)
        let expected = try context.signer.sign(request, payload: payload, at: context.date)
        let signing = SigningContext(signer: context.signer)
        // Twice: the second call runs on the reused buffers and the remembered key.
        for _ in 0..<2 {
            let signature = try signing.sign(request, payload: payload, at: context.date)
            #expect(signature == expected.signature)
            #expect(signing.authorizationValue == expected.authorization)
            #expect(signing.withCanonicalRequest { Array($0) } == expected.canonicalRequest.bytes)
            #expect(signing.withStringToSign { Array($0) } == expected.stringToSign.bytes)
        }
        var fields = request.headerFields
        signing.addHeaders(to: &fields)
        #expect(fields == expected.request.headerFields)
    }

    @Test("the context equals Signer.sign on every header-mode case of the botocore corpus, on the day and the next")
    func contextMatchesSignerOnTheCorpus() throws {
        var checked = 0
        for c in BotocoreDifferentialTests.cases where c.mode == "header" {
            let request = c.request()
            let payload = try PayloadHash(c.payloadHash)
            let signer = c.signer
            let signing = SigningContext(signer: signer)
            let day = try AmzDate(iso8601Basic: c.timestamp)
            // The same second twice (cached date text and MAC state after the string to sign's first
            // block), a later second, the next day (new prefixes), then the first second again.
            for date in [day, day, day.adding(seconds: 1), day.adding(seconds: 86_400), day] {
                let expected = try signer.sign(request, payload: payload, at: date)
                let signature = try signing.sign(request, payload: payload, at: date)
                #expect(signature == expected.signature, "case \(c.id)")
                #expect(signing.authorizationValue == expected.authorization, "case \(c.id)")
                #expect(signing.withCanonicalRequest { Array($0) } == expected.canonicalRequest.bytes, "case \(c.id)")
                #expect(signing.withStringToSign { Array($0) } == expected.stringToSign.bytes, "case \(c.id)")
            }
            checked += 1
        }
        #expect(checked > 900)
    }

    @Test("a context moves to the new scope when the day changes")
    func contextFollowsTheDate() throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service", keyCache: nil)
        let request = HTTPRequest(method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/")
        let signing = SigningContext(signer: signer)
        for stamp in ["20150830T123600Z", "20150831T000000Z", "20150830T235959Z"] {
            let date = try AmzDate(iso8601Basic: stamp)
            let signature = try signing.sign(request, payload: .emptySHA256, at: date)
            #expect(signature == (try signer.sign(request, payload: .emptySHA256, at: date)).signature)
        }
    }

    /// The MAC state a context keeps per second covers the string to sign's first 64 bytes; with a
    /// scope under 30 bytes (region and service under 7 bytes together) those bytes reach past the
    /// scope into the canonical request's hash, which differs from one request to the next.
    @Test("a context signs different requests in one second right when the scope is shorter than 30 bytes",
        arguments: [("r", "s"), ("eu", "s3"), ("us-e1", "s"), ("local", "s3"), ("us-east-1", "s3")])
    func contextSignsDifferentRequestsInOneSecondWithAShortScope(region: String, service: String) throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: region, service: service, keyCache: nil)
        let signing = SigningContext(signer: signer)
        let date = try AmzDate(iso8601Basic: "20150830T123600Z")
        for path in ["/", "/a", "/b?x=1", "/c/d", "/"] {
            let request = HTTPRequest(method: .get, scheme: "https", authority: "example.amazonaws.com", path: path)
            let expected = try signer.sign(request, payload: .emptySHA256, at: date)
            #expect(try signing.sign(request, payload: .emptySHA256, at: date) == expected.signature, "\(path)")
            #expect(signing.withStringToSign { Array($0) } == expected.stringToSign.bytes, "\(path)")
        }
    }

    @Test("a context refuses what Signer.sign refuses")
    func contextRefusesSignedRequests() throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"), region: "us-east-1",
            service: "service")
        var request = HTTPRequest(method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/")
        request.headerFields[.authorization] = "AWS4-HMAC-SHA256 Credential=x"
        let date = try AmzDate(iso8601Basic: "20150830T123600Z")
        #expect(throws: SigV4Error.self) { try SigningContext(signer: signer).sign(request, payload: .emptySHA256, at: date) }
    }
}
