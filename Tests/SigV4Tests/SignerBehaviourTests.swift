import HTTPTypes
import SigV4
import _SigV4Crypto
import Testing

/// Behaviour of the signer beyond the vector suites: refusals, redaction, rules and the key cache.
@Suite("Signer behaviour")
struct SignerBehaviourTests {
    static let credentials = Credentials(
        accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = AmzDate(secondsSince1970: 1_440_938_160)  // 20150830T123600Z

    func request(_ path: String = "/", headers: [(String, String)] = []) -> HTTPRequest {
        var fields = HTTPFields()
        for (n, v) in headers { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        return HTTPRequest(method: .get, scheme: "https", authority: "example.amazonaws.com", path: path, headerFields: fields)
    }

    var signer: Signer { Signer(credentials: Self.credentials, region: "us-east-1", service: "service") }

    @Test("X-Amz-Expires outside 1...604800 is refused when presigning", arguments: [0, -1, 604_801, Int.max])
    func expiresOutOfRange(expires: Int) {
        #expect(throws: SigV4Error.self) { try signer.presign(request(), expires: expires, at: Self.date) }
        do throws(SigV4Error) {
            _ = try signer.presign(request(), expires: expires, at: Self.date)
            Issue.record("presigning with X-Amz-Expires \(expires) succeeded")
        } catch {
            #expect(error.code == .invalidExpires)
        }
    }

    @Test("X-Amz-Expires at the limits is accepted", arguments: [1, 604_800])
    func expiresAtLimits(expires: Int) throws {
        let signed = try signer.presign(request(), expires: expires, at: Self.date)
        #expect(signed.request.path!.contains("X-Amz-Expires=\(expires)&"))
    }

    @Test("a request that already carries an Authorization header is refused")
    func refusesSignedRequest() {
        let r = request(headers: [("Authorization", "AWS4-HMAC-SHA256 Credential=x")])
        #expect { try signer.sign(r, payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .alreadySigned
        }
    }

    @Test("a presigned target cannot be presigned or signed again")
    func refusesPresignedTarget() throws {
        let once = try signer.presign(request("/a?b=c"), expires: 60, at: Self.date)
        #expect { try signer.presign(once.request, expires: 60, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .alreadySigned
        }
        #expect { try signer.sign(once.request, payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .alreadySigned
        }
    }

    @Test("an existing X-Amz-Date header is replaced, not duplicated")
    func replacesAmzDate() throws {
        let r = request(headers: [("X-Amz-Date", "20000101T000000Z")])
        let signed = try signer.sign(r, payload: .emptySHA256, at: Self.date)
        let dates = signed.request.headerFields[values: HTTPField.Name("X-Amz-Date")!]
        #expect(dates == ["20150830T123600Z"])
    }

    @Test("a caller's x-amz-content-sha256 that disagrees with the payload is refused")
    func conflictingContentSHA() {
        let s3 = Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let r = request(headers: [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")])
        #expect { try s3.sign(r, payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .payloadHashConflict
        }
    }

    @Test("S3 rules add x-amz-content-sha256; other services do not")
    func contentSHAOnlyForS3() throws {
        let s3 = Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let name = HTTPField.Name("x-amz-content-sha256")!
        #expect(try s3.sign(request(), payload: .unsignedPayload, at: Self.date).request.headerFields[name] == "UNSIGNED-PAYLOAD")
        #expect(try signer.sign(request(), payload: .emptySHA256, at: Self.date).request.headerFields[name] == nil)
    }

    @Test("the empty-body payload hash is SHA-256 of no bytes")
    func emptyBodyHashIsTheDigestOfNothing() {
        #expect(PayloadHash.emptySHA256 == PayloadHash.sha256(of: [UInt8]()))
        #expect(PayloadHash.emptySHA256.value == SHA256.hash("").hex)
    }

    @Test("S3 presigning signs UNSIGNED-PAYLOAD by default; other services the empty-body hash")
    func presignDefaultPayload() throws {
        let s3 = Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        #expect(try s3.presign(request(), expires: 60, at: Self.date).canonicalRequest.text.hasSuffix("\nUNSIGNED-PAYLOAD"))
        #expect(try signer.presign(request(), expires: 60, at: Self.date).canonicalRequest.text.hasSuffix(
            "\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"))
    }

    @Test("forService gives each table entry its rules and every other name, near misses included, the standard rules")
    func forServiceMatchesTheTable() {
        for (name, rules) in ServiceRules.table {
            #expect(ServiceRules.forService(name) == rules, "\(name)")
            // Same length, one byte changed (last, then first); one byte longer; one shorter; uppercase.
            var last = Array(name.utf8)
            last[last.count - 1] ^= 0x01
            var first = Array(name.utf8)
            first[0] ^= 0x20
            for other in [String(decoding: last, as: UTF8.self), String(decoding: first, as: UTF8.self), name + "x",
                String(name.dropLast()), name.uppercased()]
            where ServiceRules.table[other] == nil {
                #expect(ServiceRules.forService(other) == .standard, "\(other)")
            }
        }
        #expect(ServiceRules.forService("iotdevicegateway").sessionTokenPlacement == .appendedAfterSigning)
        for other in ["", "service", "execute-api", "s4", "iam", "sts", String(repeating: "s", count: 200)] {
            #expect(ServiceRules.forService(other) == .standard, "\(other)")
        }
    }

    @Test("the service table: S3 family keeps the path, others normalize and double-encode",
          arguments: ["s3", "s3express", "s3-outposts", "s3-object-lambda"])
    func serviceTable(service: String) throws {
        #expect(ServiceRules.forService(service) == (service == "s3express" ? .s3Express : .s3))
        let s = Signer(credentials: Self.credentials, region: "us-east-1", service: service)
        let signed = try s.sign(request("/a//b/../c%2F"), payload: .unsignedPayload, at: Self.date)
        #expect(signed.canonicalRequest.text.split(separator: "\n")[1] == "/a//b/../c%2F")
        let standard = try signer.sign(request("/a//b/../c%2F"), payload: .emptySHA256, at: Self.date)
        #expect(standard.canonicalRequest.text.split(separator: "\n")[1] == "/a/c%252F")
    }

    @Test("the + policy: literal (%2B) by default, space (%20) or verbatim on request",
          arguments: [(URIEncoding.PlusPolicy.literal, "a=b%2Bc"), (.space, "a=b%20c"), (.verbatim, "a=b+c")])
    func plusPolicy(policy: URIEncoding.PlusPolicy, expected: String) throws {
        var s = signer
        s.options.plusPolicy = policy
        let signed = try s.sign(request("/?a=b+c"), payload: .emptySHA256, at: Self.date)
        #expect(signed.canonicalRequest.text.split(separator: "\n")[2] == Substring(expected))
    }

    @Test("user-agent and other unsigned headers are left out unless forced")
    func unsignedHeaders() throws {
        let r = request(headers: [("User-Agent", "x"), ("X-Amzn-Trace-Id", "y"), ("Expect", "100-continue")])
        #expect(try signer.sign(r, payload: .emptySHA256, at: Self.date).canonicalRequest.signedHeaders == "host;x-amz-date")
        var s = signer
        s.options.forcedSignedHeaders = ["user-agent"]
        #expect(try s.sign(r, payload: .emptySHA256, at: Self.date).canonicalRequest.signedHeaders == "host;user-agent;x-amz-date")
    }

    @Test("a request without a host is refused")
    func missingHost() {
        let r = HTTPRequest(method: .get, scheme: "https", authority: nil, path: "/")
        #expect { try signer.sign(r, payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .missingHost
        }
    }

    @Test("a request target with a fragment or not starting with / is refused", arguments: ["/a#b", "a/b", "*"])
    func badTargets(target: String) {
        #expect { try signer.sign(request(target), payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .invalidRequestTarget
        }
    }

    @Test("invalid region or service is refused", arguments: [("", "s3"), ("us east", "s3"), ("us-east-1", "a/b")])
    func badScope(region: String, service: String) {
        let s = Signer(credentials: Self.credentials, region: region, service: service)
        #expect { try s.sign(request(), payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .invalidScope
        }
    }

    @Test(
        "the Authorization field is the value as HTTPTypes' legalizing initializer keeps it, with and without a key cache and from SigningContext",
        arguments: [("AKIDEXAMPLE", "us-east-1", "service"), ("AKID~!.EXAMPLE_", "r\u{E9}gion-\u{20AC}", "execute-api"),
                    (String(repeating: "A", count: 128), String(repeating: "r", count: 128), "s3")])
    func authorizationFieldIsLegal(accessKeyID: String, region: String, service: String) throws {
        let creds = Credentials(accessKeyID: accessKeyID, secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        let r = request("/a", headers: [("My-Header1", "value1")])
        var values: [String] = []
        for cache in [SigningKeyCache(capacity: 8), nil] {
            let s = Signer(credentials: creds, region: region, service: service, keyCache: cache)
            for _ in 0..<2 {  // the second signature in the same second takes the cache's kept second
                let signed = try s.sign(r, payload: .emptySHA256, at: Self.date)
                let value = try #require(signed.authorization)
                let field = try #require(signed.request.headerFields.first { $0.name == .authorization })
                #expect(field == HTTPField(name: .authorization, value: value))
                #expect(field.value == value)
                #expect(value.hasPrefix("AWS4-HMAC-SHA256 Credential=\(accessKeyID)/20150830/\(region)/\(service)/"))
                values.append(value)
            }
            let context = SigningContext(signer: s)
            _ = try context.sign(r, payload: .emptySHA256, at: Self.date)
            var fields = r.headerFields
            context.addHeaders(to: &fields)
            #expect(fields[.authorization] == values.last)
        }
        #expect(Set(values).count == 1)
    }

    @Test(
        "a presigned request's target is the one HTTPRequest.path's legalizing setter would keep, for every kind of target and token",
        arguments: ["/", "/a b/%7E/\u{E9}t\u{E9}.jpg", "/k?", "/k?a=1&b=%20&", "/k?x=a%2Bb"],
        [nil, "tok+en/==\u{1F600}"])
    func presignedTargetIsLegal(target: String, token: String?) throws {
        let creds = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: token)
        for service in ["s3", "service"] {
            let s = Signer(credentials: creds, region: "us-east-1", service: service)
            let signed = try s.presign(request(target, headers: [("My-Header1", "value1")]), expires: 60, at: Self.date)
            let path = try #require(signed.request.path)
            let field = try #require(signed.request.pseudoHeaderFields.path)
            var legalized = HTTPRequest(method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/")
            legalized.path = path
            #expect(field == legalized.pseudoHeaderFields.path)
            #expect(field.name.rawName == ":path")
            #expect(path.hasPrefix(target))
            #expect(path.hasSuffix("&X-Amz-Signature=\(signed.signature.hex)"))
        }
    }

    @Test("an empty session token is not signed")
    func emptySessionToken() throws {
        let creds = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "")
        #expect(creds.sessionToken == nil)
        let s = Signer(credentials: creds, region: "us-east-1", service: "service")
        #expect(try s.sign(request(), payload: .emptySHA256, at: Self.date).canonicalRequest.signedHeaders == "host;x-amz-date")
    }

    @Test("secrets never appear in descriptions, dumps or errors")
    func redaction() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
        let creds = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: secret, sessionToken: "TOKEN123")
        var dumped = ""
        dump(creds, to: &dumped)
        let scope = try CredentialScope(date: Self.date, region: "us-east-1", service: "s3")
        let key = SigningKey(secretAccessKey: creds.secretAccessKey, scope: scope)
        var dumpedKey = ""
        dump(key, to: &dumpedKey)
        for text in [
            "\(creds)", String(describing: creds), String(reflecting: creds), dumped, "\(creds.secretAccessKey)",
            String(reflecting: creds.secretAccessKey), "\(key)", dumpedKey,
        ] {
            #expect(!text.contains(secret))
            #expect(!text.contains("TOKEN123"))
        }
    }

    @Test("the key cache derives once per scope and stays bounded")
    func keyCache() throws {
        let cache = SigningKeyCache(capacity: 4)
        var s = signer
        s.keyCache = cache
        for day in 0..<10 {
            _ = try s.sign(request(), payload: .emptySHA256, at: Self.date.adding(seconds: Int64(day) * 86400))
            _ = try s.sign(request(), payload: .emptySHA256, at: Self.date.adding(seconds: Int64(day) * 86400 + 5))
        }
        #expect(cache.count == 4)
        #expect(cache.statistics.misses == 10)
        #expect(cache.statistics.hits == 10)
    }

    @Test("a rotated secret never reuses the old derived key")
    func cacheKeyedOnSecret() throws {
        let cache = SigningKeyCache(capacity: 8)
        let a = Signer(credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: cache)
        var b = a
        b.credentials.secretAccessKey = SecretAccessKey("another-secret")
        let sa = try a.sign(request(), payload: .emptySHA256, at: Self.date)
        let sb = try b.sign(request(), payload: .emptySHA256, at: Self.date)
        #expect(sa.signature != sb.signature)
        #expect(cache.count == 2)
    }

    @Test(
        "a cache hit skips no check for other parts: a bad access key id, region or service after a good signature is refused",
        arguments: [("AKID/BAD", "us-east-1", "service"), ("AKIDEXAMPLE", "us east", "service"), ("AKIDEXAMPLE", "us-east-1", "a/b")])
    func checksAfterCacheHit(accessKeyID: String, region: String, service: String) throws {
        let cache = SigningKeyCache(capacity: 8)
        let good = Signer(credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: cache)
        _ = try good.sign(request(), payload: .emptySHA256, at: Self.date)
        _ = try good.sign(request(), payload: .emptySHA256, at: Self.date)
        let bad = Signer(
            credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: region, service: service, keyCache: cache)
        #expect { try bad.sign(request(), payload: .emptySHA256, at: Self.date) } throws: {
            let code = ($0 as? SigV4Error)?.code
            return code == .invalidCredentials || code == .invalidScope
        }
        #expect(try good.sign(request(), payload: .emptySHA256, at: Self.date).signature
            == (try good.sign(request(), payload: .emptySHA256, at: Self.date.adding(seconds: 0))).signature)
    }

    @Test("an empty secret is refused even when the cache holds a key for the same id and scope")
    func emptySecretAfterCacheHit() throws {
        let cache = SigningKeyCache(capacity: 8)
        let good = Signer(credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: cache)
        _ = try good.sign(request(), payload: .emptySHA256, at: Self.date)
        var bad = good
        bad.credentials.secretAccessKey = SecretAccessKey("")
        #expect { try bad.sign(request(), payload: .emptySHA256, at: Self.date) } throws: {
            ($0 as? SigV4Error)?.code == .invalidCredentials
        }
    }

    /// The cache keeps what the last signature's key and second share (the date's text and field,
    /// the `Authorization` prefix, the MAC state after the string to sign's fixed text); another
    /// secret, access key id, region or service in the same second must not continue from it.
    @Test("signers taking turns on one cache in one second each sign as without a cache")
    func signersTakingTurnsInOneSecond() throws {
        let cache = SigningKeyCache(capacity: 8)
        let base = Signer(credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: cache)
        var rotated = base
        rotated.credentials.secretAccessKey = SecretAccessKey("another-secret")
        var otherID = base
        otherID.credentials = Credentials(accessKeyID: "AKIDOTHER", secretAccessKey: Self.credentials.secretAccessKey)
        var otherRegion = base
        otherRegion.region = "eu-west-1"
        var otherService = base
        otherService.service = "s3"
        otherService.rules = ServiceRules.forService("s3")
        let signers = [base, rotated, otherID, otherRegion, otherService]
        var signatures = Set<Signature>()
        for round in 0..<3 {
            for (i, s) in signers.enumerated() {
                var uncached = s
                uncached.keyCache = nil
                let given = request("/r\(round)/s\(i)")
                let a = try s.sign(given, payload: .emptySHA256, at: Self.date)
                let b = try uncached.sign(given, payload: .emptySHA256, at: Self.date)
                #expect(a.signature == b.signature, "signer \(i), round \(round)")
                #expect(a.authorization == b.authorization, "signer \(i), round \(round)")
                #expect(a.request.headerFields == b.request.headerFields, "signer \(i), round \(round)")
                let p = try s.presign(given, expires: 60, at: Self.date)
                let q = try uncached.presign(given, expires: 60, at: Self.date)
                #expect(p.request.path == q.request.path, "signer \(i), round \(round)")
                signatures.insert(a.signature)
            }
        }
        #expect(signatures.count == 15)
    }

    @Test("removing keys from the cache also drops what the last second's signatures shared")
    func removeAllDropsTheLastSecond() throws {
        let cache = SigningKeyCache(capacity: 8)
        let s = Signer(credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: cache)
        _ = try s.sign(request(), payload: .emptySHA256, at: Self.date)
        _ = try s.sign(request(), payload: .emptySHA256, at: Self.date)
        #expect(cache.statistics.misses == 1 && cache.statistics.hits == 1)
        cache.removeAll()
        _ = try s.sign(request(), payload: .emptySHA256, at: Self.date)
        #expect(cache.statistics.misses == 2)
        cache.remove(accessKeyID: Self.credentials.accessKeyID)
        _ = try s.sign(request(), payload: .emptySHA256, at: Self.date)
        #expect(cache.statistics.misses == 3)
        #expect(cache.count == 1)
    }

    @Test("many tasks signing with four keys through one cache, in changing seconds, each sign as without a cache")
    func concurrentSignersShareOneCache() async throws {
        let cache = SigningKeyCache(capacity: 3)
        let signers = (0..<4).map { k in
            Signer(
                credentials: Credentials(accessKeyID: "AKID\(k)", secretAccessKey: "secret-\(k)"),
                region: k % 2 == 0 ? "us-east-1" : "eu", service: k < 2 ? "service" : "s3", keyCache: cache)
        }
        let mismatches = await withTaskGroup(of: Int.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var bad = 0
                    for i in 0..<300 {
                        let s = signers[(t + i) % 4]
                        var uncached = s
                        uncached.keyCache = nil
                        let date = Self.date.adding(seconds: Int64((i / 7) % 3) * 1 + Int64(i % 2) * 86_400)
                        let given = request("/t\(t)/\(i)")
                        guard let a = try? s.sign(given, payload: .emptySHA256, at: date),
                            let b = try? uncached.sign(given, payload: .emptySHA256, at: date),
                            a.authorization == b.authorization, a.request.headerFields == b.request.headerFields
                        else { bad += 1; continue }
                    }
                    return bad
                }
            }
            return await group.reduce(0, +)
        }
        #expect(mismatches == 0)
    }

    @Test("a signer without a key cache signs exactly as one with a cache, in the same and in a new second")
    func uncachedMatchesCached() throws {
        let cached = Signer(
            credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: SigningKeyCache(capacity: 2))
        let uncached = Signer(credentials: Self.credentials, region: "us-east-1", service: "service", keyCache: nil)
        // The uncached signer's date parts (`SigningDate`) are kept per second: back to an earlier
        // second and day, and presigning between signatures, they are made again for each.
        let dates = [
            Self.date, Self.date, Self.date.adding(seconds: 1), Self.date.adding(seconds: 86_400), Self.date,
            Self.date.adding(seconds: -86_401),
        ]
        for date in dates {
            let a = try cached.sign(request("/a?b=c"), payload: .emptySHA256, at: date)
            let b = try uncached.sign(request("/a?b=c"), payload: .emptySHA256, at: date)
            #expect(a.signature == b.signature)
            #expect(a.authorization == b.authorization)
            #expect(a.request.headerFields == b.request.headerFields)
            #expect(b.request.headerFields[HTTPField.Name("X-Amz-Date")!] == date.iso8601Basic)
            #expect(b.stringToSign.text.contains(date.iso8601Basic))
            #expect(b.scope == a.scope && b.scope.dateStamp == date.dateStamp)
            let p = try uncached.presign(request("/a?b=c"), expires: 60, at: date.adding(seconds: 7))
            let q = try cached.presign(request("/a?b=c"), expires: 60, at: date.adding(seconds: 7))
            #expect(p.request.path == q.request.path && p.scope == q.scope)
        }
    }

    @Test("without a key cache, the scope's text written once signs as a cache does: parts of every length")
    func uncachedScopeTextParts() throws {
        // The uncached signer writes the scope once and reads the date, region, service and
        // terminator from it for the key, the string to sign and the `Authorization` value.
        let regions = ["r", "us-east-1", "eu-süd-1", String(repeating: "x", count: 128)]
        let services = ["s", "service", String(repeating: "y", count: 127)]
        let secrets = [
            "k", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", String(repeating: "z", count: 60),
            String(repeating: "z", count: 100),
        ]
        for region in regions {
            for service in services {
                for (i, secret) in secrets.enumerated() {
                    let id = i == 3 ? String(repeating: "A", count: 128) : "AKIDEXAMPLE"
                    let credentials = Credentials(accessKeyID: id, secretAccessKey: secret)
                    let cached = Signer(
                        credentials: credentials, region: region, service: service,
                        keyCache: SigningKeyCache(capacity: 2))
                    let uncached = Signer(credentials: credentials, region: region, service: service, keyCache: nil)
                    let a = try cached.sign(request("/a?b=c"), payload: .emptySHA256, at: Self.date)
                    let b = try uncached.sign(request("/a?b=c"), payload: .emptySHA256, at: Self.date)
                    let key = SigningKey(secretAccessKey: credentials.secretAccessKey, scope: b.scope)
                    #expect(b.signature == key.signature(for: b.stringToSign))
                    #expect(a.signature == b.signature)
                    #expect(a.authorization == b.authorization)
                    #expect(b.authorization!.hasPrefix(
                        "AWS4-HMAC-SHA256 Credential=\(id)/20150830/\(region)/\(service)/aws4_request, SignedHeaders="))
                    #expect(b.stringToSign.text.contains("\n20150830/\(region)/\(service)/aws4_request\n"))
                }
            }
        }
    }

    @Test(
        "a header signature's canonical request, rebuilt when read from the signed request, is the one whose hash was signed, also after the request is changed"
    )
    func headerCanonicalRebuilt() throws {
        let creds = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "TOKEN/+=")
        // s3 signs the token and sends x-amz-content-sha256; iotdevicegateway appends the token after signing.
        for service in ["service", "s3", "iotdevicegateway"] {
            let s = Signer(credentials: creds, region: "us-east-1", service: service)
            // The request's own X-Amz-Date and X-Amz-Security-Token are replaced by the signer's.
            let given = request(
                "/a b/./c?x=1&y=%2F",
                headers: [
                    ("My-Header", "  a   b "), ("X-Amz-Date", "20000101T000000Z"), ("Zed", "1"),
                    ("X-Amz-Security-Token", "old"), ("My-Header", "c"),
                ])
            var signed = try s.sign(given, payload: .emptySHA256, at: Self.date)
            let canonical = signed.canonicalRequest
            #expect(signed.stringToSign.text.hasSuffix(canonical.hash.hex))
            #expect(canonical.text.contains("my-header:a b,c\n"))
            #expect(!canonical.text.contains("20000101T000000Z"))
            #expect(!canonical.text.contains("old"))
            #expect(!canonical.text.contains("authorization"))
            #expect(canonical.text.contains("x-amz-security-token") == (service != "iotdevicegateway"))
            // Changing the request afterwards does not change what was signed.
            signed.request.headerFields.append(HTTPField(name: HTTPField.Name("X-Later")!, value: "1"))
            signed.request.method = .put
            #expect(signed.canonicalRequest.text == canonical.text)
            #expect(signed.request.headerFields[HTTPField.Name("X-Later")!] == "1")
        }
    }

    @Test(
        "a signed request's string to sign, written from its date, scope and canonical hash when read, stays the signed one when the date or scope is changed afterwards, and can be set"
    )
    func stringToSignKeptAcrossChanges() throws {
        let creds = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        for service in ["service", "s3"] {
            let s = Signer(credentials: creds, region: "us-east-1", service: service)
            var signed = try s.sign(request("/a?x=1", headers: [("Zed", "1")]), payload: .emptySHA256, at: Self.date)
            let stringToSign = signed.stringToSign.text
            let canonical = signed.canonicalRequest.text
            #expect(stringToSign == "AWS4-HMAC-SHA256\n\(Self.date.iso8601Basic)\n\(signed.scope)\n\(signed.canonicalRequest.hash.hex)")
            // The key over this string gives the signature (the string is the one that was MACed).
            #expect(SigningKey(secretAccessKey: creds.secretAccessKey, scope: signed.scope).signature(for: signed.stringToSign) == signed.signature)
            signed.date = AmzDate(secondsSince1970: Self.date.secondsSince1970 + 86_400)
            #expect(signed.stringToSign.text == stringToSign)
            #expect(signed.canonicalRequest.text == canonical)
            signed.scope = try CredentialScope(dateStamp: "20200101", region: "eu-west-1", service: service)
            #expect(signed.stringToSign.text == stringToSign)
            signed.stringToSign = StringToSign(bytes: Array("other".utf8))
            #expect(signed.stringToSign.text == "other")
        }
        // A presigned request's too.
        var presigned = try Signer(credentials: creds, region: "us-east-1", service: "s3")
            .presign(request("/k", headers: []), expires: 60, at: Self.date)
        let presignedText = presigned.stringToSign.text
        #expect(presignedText.hasSuffix(presigned.canonicalRequest.hash.hex))
        presigned.date = AmzDate(secondsSince1970: 0)
        #expect(presigned.stringToSign.text == presignedText)
    }

    @Test("a presigned request's canonical request, rebuilt when read, is the one whose hash was signed")
    func presignCanonicalRebuilt() throws {
        let creds = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret", sessionToken: "TOKEN/+=")
        for service in ["service", "s3"] {
            let s = Signer(credentials: creds, region: "us-east-1", service: service)
            let signed = try s.presign(
                request("/a b/./c?x=1&y=%2F", headers: [("My-Header", "  a   b ")]), expires: 60, at: Self.date)
            let canonical = signed.canonicalRequest
            #expect(signed.stringToSign.text.hasSuffix(canonical.hash.hex))
            #expect(canonical.text.contains("X-Amz-SignedHeaders=host%3Bmy-header"))
            #expect(!canonical.text.contains("X-Amz-Signature"))
            let key = s.signingKey(for: signed.scope)
            #expect(key.signature(for: signed.stringToSign) == signed.signature)
        }
    }

    @Test(
        "presigning merges its X-Amz-* parameters into the canonical query as written: the same canonical request as the whole presigned target canonicalized"
    )
    func presignMergedQueryMatchesWholeTarget() throws {
        // Targets whose queries cover what canonicalization treats specially: none, empty, a
        // trailing `&` or `?`, empty elements, `+`, escapes in either case, bytes to encode,
        // valueless names, repeats, names that sort before, between and after `X-Amz-*`.
        let pieces = [
            "a=1", "b", "z=%2f", "A=+", "x-amz-meta=v", "X-Amz-Zeta=1", "X-Amz-A=2", "=v", "k=a%20b", "k=a b", "é=ü",
            "k=1", "_=_", "~", "X=", "Z=z", "c=%41", "c=%4a",
        ]
        var rng = SystemRandomNumberGenerator()
        var targets = ["/k", "/k?", "/k?&", "/k?a=1&", "/k?a=b?", "/a b/./c?x=1&y=%2F"]
        for _ in 0..<300 {
            let count = Int.random(in: 0...5, using: &rng)
            let query = (0..<count).map { _ in pieces.randomElement(using: &rng)! }
            var target = "/p/" + String(Int.random(in: 0...9, using: &rng))
            if !query.isEmpty || Bool.random(using: &rng) { target += "?" + query.joined(separator: Bool.random(using: &rng) ? "&" : "&&") }
            targets.append(target)
        }
        let creds = Credentials(accessKeyID: "AKID+=~x", secretAccessKey: "secret", sessionToken: "TOKEN/+= x")
        var compared = 0
        for service in ["service", "s3", "iotdevicegateway"] {
            for plus in [URIEncoding.PlusPolicy.literal, .space, .verbatim] {
                let options = Signer.Options(plusPolicy: plus)
                let s = Signer(credentials: creds, region: "us-east-1", service: service, options: options)
                for target in targets {
                    let signed = try s.presign(request(target, headers: [("My-Header", " v ")]), expires: 60, at: Self.date)
                    // The presigned target without the signature (and a token appended after it).
                    let path = try #require(signed.request.path)
                    var cut = try #require(path.range(of: "X-Amz-Signature="))
                    if let token = path.range(of: "&X-Amz-Security-Token="), token.lowerBound > path.range(of: "X-Amz-SignedHeaders=")!.lowerBound,
                        s.rules.sessionTokenPlacement == .appendedAfterSigning
                    {
                        cut = token
                    }
                    var signedTarget = String(path[..<cut.lowerBound])
                    if signedTarget.hasSuffix("&") { signedTarget.removeLast() }
                    let whole = try CanonicalRequest(
                        method: "GET", target: signedTarget,
                        headers: [("Host", "example.amazonaws.com"), ("My-Header", " v ")],
                        selection: .default, payloadHash: s.rules.presignUnsignedPayload ? .unsignedPayload : .emptySHA256,
                        rules: s.rules, plus: plus)
                    #expect(signed.canonicalRequest.text == whole.text, "\(service) \(plus) \(target)")
                    #expect(signed.stringToSign.text.hasSuffix(whole.hash.hex))
                    compared += 1
                }
            }
        }
        #expect(compared == 3 * 3 * 306)
    }

    @Test("a signed request's string to sign can be replaced")
    func stringToSignSetter() throws {
        var signed = try signer.sign(request(), payload: .emptySHA256, at: Self.date)
        let other = try signer.sign(request("/other"), payload: .emptySHA256, at: Self.date)
        #expect(signed.stringToSign != other.stringToSign)
        signed.stringToSign = other.stringToSign
        #expect(signed.stringToSign == other.stringToSign)
    }
}

@Suite("Canonicalization building blocks")
struct CanonicalizationTests {
    @Test("path normalization removes dot segments and repeated slashes",
          arguments: [
            ("/", "/"), ("", "/"), ("//", "/"), ("/a/./b/../c", "/a/c"), ("/a/b/..", "/a"), ("/a/b/../", "/a/"),
            ("/../..", "/"), ("//example//", "/example/"), ("/./example", "/example"), ("/a/.", "/a"),
          ])
    func normalize(input: String, expected: String) {
        #expect(String(decoding: URIEncoding.normalizePath(Array(input.utf8)), as: UTF8.self) == expected)
    }

    @Test("the 16-byte-step unreserved run ends where the per-byte definition says, for every byte in every position")
    func unreservedRunEndAgreesWithPerByte() {
        // Byte by byte under 16, one step, the overlapping last step, two steps and more.
        for length in [7, 8, 9, 15, 16, 17, 23, 31, 32, 33, 47] {
            for position in 0..<length {
                for byte in 0...255 {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: length)
                    bytes[position] = UInt8(byte)
                    let expected = URIEncoding.isUnreserved(UInt8(byte)) ? length : position
                    let got = bytes.withUnsafeBufferPointer { URIEncoding.unreservedRunEnd($0, from: 0) }
                    if got != expected { Issue.record("length \(length), 0x\(String(byte, radix: 16)) at \(position): \(got), expected \(expected)") }
                }
            }
        }
        // From a start inside the buffer, over a mixed run.
        let text = Array("abc-DEF_0.9~xyz%2Fq".utf8)
        #expect(text.withUnsafeBufferPointer { URIEncoding.unreservedRunEnd($0, from: 2) } == 15)
        #expect(text.withUnsafeBufferPointer { URIEncoding.unreservedRunEnd($0, from: 15) } == 15)
        #expect(text.withUnsafeBufferPointer { URIEncoding.unreservedRunEnd($0, from: 16) } == 19)
    }

    @Test("counting a byte eight at a time agrees with counting one by one, for every length to 40 and every neighbour of the byte")
    func byteCountAgreesWithPerByte() {
        var generator = SystemRandomNumberGenerator()
        // The byte itself, its high-bit twin, and its neighbours: the lanes a carry or a borrow would touch.
        let alphabet: [UInt8] = [0x26, 0xa6, 0x25, 0x27, 0x00, 0x3d, 0x61, 0xff]
        for length in 0...40 {
            for _ in 0..<200 {
                let bytes = (0..<length).map { _ in alphabet.randomElement(using: &generator)! }
                let got = bytes.withUnsafeBufferPointer { ByteSearch.count(of: 0x26, in: $0) }
                #expect(got == bytes.filter { $0 == 0x26 }.count, "\(bytes)")
            }
        }
        let all = [UInt8](repeating: 0x26, count: 33)
        #expect(all.withUnsafeBufferPointer { ByteSearch.count(of: 0x26, in: $0) } == 33)
        #expect(UnsafeBufferPointer<UInt8>(start: nil, count: 0).withMemoryRebound(to: UInt8.self) { ByteSearch.count(of: 0x26, in: $0) } == 0)
    }

    @Test("finding a byte agrees with a byte loop for every start and end near a word boundary and every neighbour of the byte")
    func byteIndexAgreesWithPerByte() {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0x26, 0xa6, 0x25, 0x27, 0x00, 0x3d, 0x61, 0xff]
        for length in [0, 1, 7, 8, 9, 15, 16, 31, 32, 33, 39, 40, 41, 47, 63, 64, 100] {
            for _ in 0..<60 {
                // Mostly other bytes, so that the first hit falls anywhere, or nowhere.
                let bytes = (0..<length).map { _ in
                    Int.random(in: 0..<8, using: &generator) == 0 ? 0x26 : alphabet.randomElement(using: &generator)!
                }
                for lower in Set([0, min(1, length), length / 3, max(0, length - 9), length]) {
                    for upper in Set([lower, min(length, lower + 8), min(length, lower + 33), length]) {
                        let expected = bytes[lower..<upper].firstIndex(of: 0x26) ?? upper
                        let got = bytes.withUnsafeBufferPointer { ByteSearch.index(of: 0x26, in: $0, lower..<upper) }
                        #expect(got == expected, "\(bytes) \(lower)..<\(upper)")
                    }
                }
            }
        }
    }

    @Test("the canonical query is sorted by name bytes, then value bytes, also for names alike in their first eight bytes, prefixes of each other, or empty, from 1 to 600 parameters")
    func canonicalQueryOrder() throws {
        var generator = SystemRandomNumberGenerator()
        let stems = ["", "a", "abcdefg", "abcdefgh", "abcdefghi", "abcdefgi", "X-Amz-", "X-Amz-Date", "X-Amz-Datf", "b"]
        let tails = ["", "a", "A", "-", "~", "0", "zz", "abcdefgh"]
        for round in 0..<400 {
            // Mostly a handful; every tenth round enough for each of the three sorts (up to 16,
            // 17 to 512, more).
            let count = round % 10 == 0 ? Int.random(in: 13...600, using: &generator) : Int.random(in: 1...12, using: &generator)
            var pairs: [(String, String)] = []
            for _ in 0..<count {
                let name = stems.randomElement(using: &generator)! + tails.randomElement(using: &generator)!
                let value = tails.randomElement(using: &generator)! + tails.randomElement(using: &generator)!
                pairs.append((name, value))
            }
            let query = pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            let expected = pairs.sorted { a, b in
                Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8))
                    || (a.0 == b.0 && Array(a.1.utf8).lexicographicallyPrecedes(Array(b.1.utf8)))
            }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            let canonical = try CanonicalRequest(
                method: "GET", target: "/?" + query, headers: [("Host", "h")], payloadHash: .emptySHA256,
                rules: .standard)
            let line = canonical.text.split(separator: "\n", omittingEmptySubsequences: false)[2]
            #expect(line == expected, "\(query)")
            // The same parameters given as already-encoded extras (how presigning adds its own).
            let merged = try CanonicalRequest(
                method: "GET", target: "/", extraQuery: pairs, headers: [("Host", "h")], payloadHash: .emptySHA256,
                rules: .standard)
            #expect(merged.text.split(separator: "\n", omittingEmptySubsequences: false)[2] == expected, "\(query)")
        }
    }

    /// `YYYYMMDDTHHMMSSZ` read byte by byte: the reference for the word-at-a-time parser.
    static func referenceParse(_ b: [UInt8]) -> AmzDate? {
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ from: Int, _ len: Int) -> Int? {
            var v = 0
            for c in b[from..<(from + len)] {
                guard c >= 0x30, c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(4, 2), let d = num(6, 2), let h = num(9, 2), let mi = num(11, 2),
            let s = num(13, 2), (1...12).contains(mo), h < 24, mi < 60, s < 60
        else { return nil }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
        guard d >= 1, d <= days else { return nil }
        // Days from 1970-01-01, counted through the proleptic Gregorian calendar month by month.
        var day = 0
        if y >= 1970 {
            for year in 1970..<y { day += (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365 }
        } else {
            for year in y..<1970 { day -= (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365 }
        }
        for m in 1..<mo { day += [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] }
        day += d - 1
        return AmzDate(secondsSince1970: Int64(day) * 86400 + Int64(h * 3600 + mi * 60 + s))
    }

    @Test("the word-at-a-time X-Amz-Date parser agrees with a byte-by-byte one: valid dates, and every byte of them changed to every value")
    func amzDateParseAgreesWithReference() {
        var generator = SystemRandomNumberGenerator()
        var samples = ["20150830T123600Z", "19700101T000000Z", "20000229T235959Z", "21000228T000000Z", "00000101T000000Z",
            "99991231T235959Z", "20240229T120000Z", "20230229T120000Z", "20150830T240000Z", "20151301T000000Z",
            "20150800T000000Z", "20150431T000000Z", "20150830T126000Z", "20150830T123660Z"]
        for _ in 0..<300 {
            samples.append(AmzDate(secondsSince1970: Int64.random(in: -62_167_219_200...253_402_300_799, using: &generator)).iso8601Basic)
        }
        for text in samples {
            let bytes = Array(text.utf8)
            let got = bytes.withUnsafeBufferPointer { AmzDate.parse(bytes: $0) }
            #expect(got == Self.referenceParse(bytes), "\(text)")
            if let got { #expect(got.iso8601Basic == text) }
        }
        for text in samples.prefix(4) {
            for position in 0..<16 {
                for byte in 0...255 {
                    var bytes = Array(text.utf8)
                    bytes[position] = UInt8(byte)
                    let got = bytes.withUnsafeBufferPointer { AmzDate.parse(bytes: $0) }
                    if got != Self.referenceParse(bytes) {
                        Issue.record("\(text) with 0x\(String(byte, radix: 16)) at \(position): \(String(describing: got))")
                    }
                }
            }
        }
    }

    @Test("dayNumber(ofStamp:) is a date's day exactly for its own YYYYMMDD: other days, invalid days and non-digits are not")
    func stampDayMatchesTheDay() {
        func day(_ stamp: String) -> Int64? { Array(stamp.utf8).withUnsafeBytes { AmzDate.dayNumber(ofStamp: $0) } }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let date = AmzDate(secondsSince1970: Int64.random(in: 0...4_102_444_799, using: &generator))
            let stamp = date.dateStamp
            #expect(day(stamp) == date.dayNumber, "\(stamp)")
            #expect(day(stamp) != date.adding(seconds: 86_400).dayNumber)
            #expect(day(stamp) != date.adding(seconds: -86_400).dayNumber)
            var bytes = Array(stamp.utf8)
            let position = Int.random(in: 0..<8, using: &generator)
            bytes[position] = UInt8.random(in: 0...255, using: &generator)
            let changed = String(decoding: bytes, as: UTF8.self)
            #expect((day(changed) == date.dayNumber) == (changed == stamp), "\(changed)")
        }
        let date = AmzDate(secondsSince1970: 1_425_168_000)  // 20150301
        #expect(day("20150301") == date.dayNumber)
        for other in ["20150229", "20150230", "2015031", "201503010", "2015-3-1", "", "20150300", "20151301"] {
            #expect(day(other) == nil, "\(other)")
        }
    }

    @Test("URI encoding keeps only unreserved bytes")
    func encoding() {
        #expect(URIEncoding.encode("AZaz09-._~") == "AZaz09-._~")
        #expect(URIEncoding.encode("a b/c+d=e&f") == "a%20b%2Fc%2Bd%3De%26f")
        #expect(URIEncoding.encode("/a b/", keepSlash: true) == "/a%20b/")
        #expect(URIEncoding.encode("ሴ") == "%E1%88%B4")
    }

    @Test("every one of the 256 byte values is escaped unless it is A-Z a-z 0-9 - . _ ~ (or / in a path)")
    func encodingOfEveryByte() {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        for b in 0...255 {
            let byte = UInt8(b)
            #expect(URIEncoding.isUnreserved(byte) == unreserved.contains(byte), "byte \(b)")
            for keepSlash in [false, true] {
                var out: [UInt8] = []
                [byte].withUnsafeBufferPointer {
                    URIEncoding.append($0, to: &out, keepSlash: keepSlash, keepEscapes: false)
                }
                let kept = unreserved.contains(byte) || (keepSlash && byte == 0x2f)
                let hex = String(b, radix: 16, uppercase: true)
                let expected = kept ? [byte] : Array("%\(hex.count == 1 ? "0" : "")\(hex)".utf8)
                #expect(out == expected, "byte \(b), keepSlash \(keepSlash)")
                let viaEncode = URIEncoding.encode(String(decoding: [byte], as: UTF8.self), keepSlash: keepSlash)
                if b < 0x80 { #expect(Array(viaEncode.utf8) == expected, "byte \(b) via encode") }
            }
        }
    }

    @Test("AmzDate formats and parses the X-Amz-Date form",
          arguments: [("20150830T123600Z", Int64(1_440_938_160)), ("19700101T000000Z", 0), ("20000229T235959Z", 951_868_799),
                      ("21000301T000000Z", 4_107_542_400)])
    func amzDate(text: String, seconds: Int64) throws {
        let date = try AmzDate(iso8601Basic: text)
        #expect(date.secondsSince1970 == seconds)
        #expect(date.iso8601Basic == text)
        #expect(date.dateStamp == String(text.prefix(8)))
    }

    @Test("malformed dates are refused",
          arguments: ["", "20150830T123600", "20150230T000000Z", "20151301T000000Z", "2015083OT123600Z", "20150830T246000Z"])
    func badDates(text: String) {
        #expect { try AmzDate(iso8601Basic: text) } throws: { ($0 as? SigV4Error)?.code == .invalidDate }
    }

    @Test("AmzDate(iso8601:) drops a fraction but keeps the zone after it: a UTC zone reads, another offset is refused, not read as UTC")
    func iso8601FractionKeepsZone() throws {
        for text in ["2015-08-30T12:36:00.5Z", "2015-08-30T12:36:00.123+00:00", "2015-08-30T12:36:00.9", "2015-08-30T12:36:00Z"] {
            #expect(try AmzDate(iso8601: text).iso8601Basic == "20150830T123600Z", "\(text)")
        }
        for text in ["2015-08-30T13:36:00.5+01:00", "2015-08-30T12:36:00.5+0100", "2015-08-30T12:36:00.5X"] {
            #expect(throws: SigV4Error.self, "\(text)") { try AmzDate(iso8601: text) }
        }
    }

    @Test("payload hashes accept hex and the constants, and refuse anything else")
    func payloadHash() throws {
        #expect(try PayloadHash("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855") == .emptySHA256)
        #expect(try PayloadHash("UNSIGNED-PAYLOAD") == .unsignedPayload)
        #expect(try PayloadHash("STREAMING-AWS4-HMAC-SHA256-PAYLOAD").isStreaming)
        #expect { try PayloadHash("abc") } throws: { ($0 as? SigV4Error)?.code == .invalidPayloadHash }
    }

    @Test("payload hashes are equal exactly when their texts are, whatever storage holds them")
    func payloadHashEquality() throws {
        let digests = (0..<4).map { PayloadHash.sha256(of: [UInt8($0)]) }
        let all = PayloadHash.constants + [.emptySHA256] + digests
        for a in all {
            for b in all {
                // Parsed again from a copy of its text: equal values in storage of their own.
                let copy = try PayloadHash(String(decoding: Array(b.value.utf8), as: UTF8.self))
                #expect((a == copy) == (a.value == b.value), "\(a) \(b)")
                #expect((a == b) == (a.value == b.value), "\(a) \(b)")
                if a == copy { #expect(a.hashValue == copy.hashValue) }
            }
            #expect(a.isEventStream == (a.value == "STREAMING-AWS4-HMAC-SHA256-EVENTS"), "\(a)")
        }
    }

    @Test("isStreaming is true for exactly the STREAMING-* constants, isAWSChunked for all but the event stream's")
    func streamingConstants() throws {
        for constant in PayloadHash.constants {
            #expect(constant.isStreaming == constant.value.hasPrefix("STREAMING-"), "\(constant)")
            #expect(constant.isAWSChunked == (constant.value.hasPrefix("STREAMING-") && !constant.value.hasSuffix("-EVENTS")))
        }
        #expect(PayloadHash.constants.filter(\.isStreaming).count == 6)
        #expect(PayloadHash.constants.filter(\.isAWSChunked).count == 5)
        #expect(!PayloadHash.emptySHA256.isStreaming)
        #expect(!PayloadHash.unsignedPayload.isStreaming)
        #expect(!PayloadHash.sha256(of: Array("STREAMING-".utf8)).isStreaming)
    }

    @Test("canonical headers: repeated names joined in order, values trimmed and collapsed, names sorted")
    func headers() throws {
        let cr = try CanonicalRequest(
            method: "GET", target: "/",
            headers: [("Host", "h"), ("B", "  x   y  "), ("a", "1"), ("b", "\tz\t"), ("A", "2")],
            payloadHash: .emptySHA256, rules: .standard)
        #expect(cr.text == "GET\n/\n\na:1,2\nb:x y,z\nhost:h\n\na;b;host\n\(PayloadHash.emptySHA256.value)")
    }

    @Test("canonical query: valueless keys get '=', duplicates kept and sorted by value")
    func query() throws {
        let cr = try CanonicalRequest(
            method: "GET", target: "/?b=2&a&b=1&c=%2f&&", headers: [("Host", "h")], payloadHash: .emptySHA256,
            rules: .standard)
        #expect(cr.text.split(separator: "\n", omittingEmptySubsequences: false)[2] == "a=&b=1&b=2&c=%2f")
    }
}

/// `Signer.sign` hashes its canonical request on the stack and rebuilds it only when read.
@Suite("Signed request stages")
struct SignedRequestStageTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let date = AmzDate(secondsSince1970: 1_440_938_160)

    static func request(_ headers: [(String, String)]) -> HTTPRequest {
        var fields = HTTPFields()
        for (n, v) in headers { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        return HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a%20b/c?x=1&y", headerFields: fields)
    }

    @Test(
        "the canonical request read back hashes to the string to sign's last line, for every service rule and token placement",
        arguments: ["s3", "service", "iam"], [nil, "session-token-value"])
    func canonicalRequestIsTheOneHashed(service: String, token: String?) throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.secret, sessionToken: token),
            region: "us-east-1", service: service)
        let signed = try signer.sign(
            Self.request([("Content-Type", "text/plain"), ("X-Amz-Meta-A", "  two  spaces ")]),
            payload: .sha256(of: Array("body".utf8)), at: Self.date)
        let lastLine = try #require(signed.stringToSign.text.split(separator: "\n").last)
        #expect(String(lastLine) == PayloadHash.sha256(of: signed.canonicalRequest.bytes).value)
        // The added headers are the request's last fields, and Authorization is among them.
        #expect(signed.addedHeaders.last?.name == .authorization)
        #expect(signed.addedHeaders.last?.value == signed.authorization)
        #expect(Array(signed.request.headerFields.suffix(signed.addedHeaders.count)) == signed.addedHeaders)
        // Reading the stages twice gives the same bytes.
        #expect(signed.canonicalRequest == signed.canonicalRequest)
        #expect(signed.stringToSign.bytes == Array(signed.stringToSign.text.utf8))
    }

    @Test(
        "presigning appends the X-Amz-* parameters with the right separator; a '?' ending a non-empty query stays data",
        arguments: [
            ("/k", "/k?X-Amz-Algorithm="), ("/k?", "/k?X-Amz-Algorithm="), ("/k?a=1&", "/k?a=1&X-Amz-Algorithm="),
            ("/k?a=b?", "/k?a=b?&X-Amz-Algorithm="), ("/k?a=1", "/k?a=1&X-Amz-Algorithm="),
        ])
    func presignSeparator(target: String, prefix: String) throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.secret), region: "us-east-1",
            service: "s3")
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: target)
        let signed = try signer.presign(request, expires: 60, at: Self.date)
        let path = try #require(signed.request.path)
        #expect(path.hasPrefix(prefix), "\(path)")
        // Every parameter of the URL but the signature is in the canonical query.
        let query = path.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        let parameters = query.split(separator: "&").filter { !$0.hasPrefix("X-Amz-Signature=") }
        let canonicalQuery = signed.canonicalRequest.text.split(separator: "\n", omittingEmptySubsequences: false)[2]
        #expect(canonicalQuery.split(separator: "&").count == parameters.count)
    }

    @Test("a signed request keeps no copy of the secret: its dump does not contain it")
    func signedRequestHoldsNoSecret() throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.secret), region: "us-east-1",
            service: "s3")
        let signed = try signer.sign(Self.request([]), payload: .emptySHA256, at: Self.date)
        var dumped = ""
        dump(signed, to: &dumped)
        #expect(!dumped.contains(Self.secret))
        #expect(!dumped.contains("wJalrXUtnFEMI"))
        #expect(!String(describing: signed).contains("wJalrXUtnFEMI"))
    }
}

/// Requests with many header fields: more than the signer's stack scratch holds (24 fields, 768
/// bytes), names that share long starts, values to trim and collapse.
@Suite("Signer with many header fields")
struct ManyHeaderFieldsTests {
    static let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
    static let date = AmzDate(secondsSince1970: 1_440_938_160)  // 20150830T123600Z

    /// The canonical header lines and signed names of `fields` plus what the signer adds, written
    /// from the spec alone: lowercase names sorted by bytes, values trimmed with inner runs of
    /// spaces and tabs collapsed, repeated names joined by `,` in their order.
    static func reference(_ fields: [(String, String)]) -> (lines: String, names: String) {
        var byName: [[UInt8]: [String]] = [:]
        var order: [[UInt8]] = []
        for (name, value) in fields + [("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")] {
            let key = Array(name.lowercased().utf8)
            if byName[key] == nil { order.append(key) }
            let words = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
            byName[key, default: []].append(words.joined(separator: " "))
        }
        order.sort { $0.lexicographicallyPrecedes($1) }
        let lines = order.map { String(decoding: $0, as: UTF8.self) + ":" + byName[$0]!.joined(separator: ",") + "\n" }
        return (lines.joined(), order.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ";"))
    }

    @Test(
        "fields past the stack scratch, with names sharing 8, 16 and more leading bytes, canonicalize as the spec writes them, and the signature is the canonical request's"
    )
    func manyFieldsCanonicalizeAsTheSpecSays() throws {
        let stems = ["X-Amz-Meta-", "x-amz-server-side-encryption-", "X-Bench-Header-", "x-amz-meta-aaaaaaaaaaaaa", "x", "x-amz-m"]
        let tails = ["", "a", "b", "1", "10", "2", "a-b", "ab", "aa", "zz", "0123456789abcdef", "0123456789abcdeg"]
        let values = ["v", "  a   b  ", "", "x,y", "\tq\t r", "value 1  with   spaces"]
        var rng = SystemRandomNumberGenerator()
        let signer = Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        for round in 0..<150 {
            // Every sort: up to 16, 17 to 512 and past 512 fields (with the two the signer adds).
            let count = round < 30 ? round * 5 : round < 34 ? [511, 600, 1_000, 14][round - 30] : Int.random(in: 0...200, using: &rng)
            var fields: [(String, String)] = []
            var httpFields = HTTPFields()
            for _ in 0..<count {
                let name = stems.randomElement(using: &rng)! + tails.randomElement(using: &rng)!
                let value = values.randomElement(using: &rng)!
                fields.append((name, value))
                httpFields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
            }
            let request = HTTPRequest(
                method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/", headerFields: httpFields)
            let signed = try signer.sign(request, payload: .emptySHA256, at: Self.date)
            let expected = Self.reference(fields)
            let canonical = signed.canonicalRequest.text
            #expect(
                canonical == "GET\n/\n\n" + expected.lines + "\n" + expected.names + "\n" + PayloadHash.emptySHA256.value,
                "\(count) fields")
            #expect(signed.stringToSign.text.hasSuffix(SHA256.hash(Array(canonical.utf8)).hex))
        }
    }
}

extension ManyHeaderFieldsTests {
    /// `count` fields `x-amz-meta-<i>: value <i>` (the last ones past the stack scratch when
    /// `count` is over 24) plus `extra`, on `target` at `authority`.
    static func request(
        fields count: Int, extra: [(String, String)] = [], target: String = "/", authority: String? = "example.amazonaws.com"
    ) -> HTTPRequest {
        var fields = HTTPFields()
        for i in 0..<count { fields.append(HTTPField(name: HTTPField.Name("x-amz-meta-\(i)")!, value: "value \(i)")) }
        for (n, v) in extra { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        return HTTPRequest(method: .get, scheme: "https", authority: authority, path: target, headerFields: fields)
    }

    /// The error code `sign` throws, nil when it signs.
    static func refusal(_ sign: () throws(SigV4Error) -> Void) -> SigV4Error.Code? {
        do throws(SigV4Error) {
            try sign()
            return nil
        } catch {
            return error.code
        }
    }

    @Test(
        "a refusal after the fields outgrew the stack scratch (Authorization last, a conflicting x-amz-content-sha256, a signed target, no host, a fragment) is the refusal with few fields, from the signer and a signing context",
        arguments: [0, 23, 30, 600]
    )
    func refusalsAfterTheScratchGrew(count: Int) {
        let s3 = Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let cases: [(HTTPRequest, SigV4Error.Code)] = [
            // Thrown at the end of the field pass, after every field was copied.
            (Self.request(fields: count, extra: [("Authorization", "AWS4-HMAC-SHA256 Credential=x")]), .alreadySigned),
            // Thrown after the field pass: x-amz-content-sha256 is checked once the fields are read.
            (Self.request(fields: count, extra: [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")]), .payloadHashConflict),
            (Self.request(fields: count, target: "/a?X-Amz-Signature=00"), .alreadySigned),
            (Self.request(fields: count, authority: nil), .missingHost),
            // Thrown by the caller's body, with the collected headers in hand.
            (Self.request(fields: count, target: "/a#b"), .invalidRequestTarget),
        ]
        for (request, code) in cases {
            #expect(Self.refusal { () throws(SigV4Error) in _ = try s3.sign(request, payload: .emptySHA256, at: Self.date) } == code, "\(count) fields")
            let context = SigningContext(signer: s3)
            #expect(Self.refusal { () throws(SigV4Error) in _ = try context.sign(request, payload: .emptySHA256, at: Self.date) } == code, "\(count) fields")
        }
        // The same requests without the fault sign, with every field in the canonical request.
        let signed = try? s3.sign(Self.request(fields: count), payload: .emptySHA256, at: Self.date)
        #expect(signed?.canonicalRequest.signedHeaders.split(separator: ";").count == count + 3)
    }

    @Test("past 10,000 fields signing refuses with invalidHeader after growing its scratch to the limit; at 9,998 (10,000 with Host and X-Amz-Date) it signs")
    func fieldLimitAfterGrowth() {
        let signer = Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        // The signer adds Host and X-Amz-Date: 9,998 fields fill the 10,000 entries, one more is past them.
        for (count, refused) in [(9_998, false), (9_999, true), (12_000, true)] {
            let code = Self.refusal { () throws(SigV4Error) in
                _ = try signer.sign(Self.request(fields: count), payload: .emptySHA256, at: Self.date)
            }
            #expect(code == (refused ? .invalidHeader : nil), "\(count) fields")
        }
    }
}
