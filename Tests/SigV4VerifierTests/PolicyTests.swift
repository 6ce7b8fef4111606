import Foundation
import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

@Suite("policy, key scope and tokens")
struct PolicyTests {
    static let (request, body) = Fixture.signedPut()
    static let now = Fixture.date

    func verify(_ credential: ResolvedCredential, policy: VerificationPolicy = .default, _ r: VerificationRequest = Self.request)
        async -> VerificationResult
    {
        await Fixture.verifier(credential, policy: policy).verify(r, payload: .body(Self.body), now: Self.now)
    }

    @Test("endpoint allow-lists: a region or service not served → AuthorizationHeaderMalformed")
    func allowLists() async {
        var p = VerificationPolicy()
        p.allowedRegions = ["eu-west-1"]
        let r1 = await verify(Fixture.credential(), policy: p)
        #expect(r1.code == "AuthorizationHeaderMalformed")
        #expect(r1.failure?.message.contains("the region 'us-east-1' is wrong; expecting 'eu-west-1'") == true)
        p = VerificationPolicy(allowedRegions: ["us-east-1"], allowedServices: ["sqs"])
        #expect(await verify(Fixture.credential(), policy: p).code == "AuthorizationHeaderMalformed")
        p = VerificationPolicy(allowedRegions: ["us-east-1"], allowedServices: ["s3"])
        #expect(await verify(Fixture.credential(), policy: p).isAccepted)
    }

    @Test("key scope: regions, services, methods → AccessDenied")
    func keyScope() async {
        #expect(await verify(Fixture.credential(scope: KeyScope(regions: ["eu-west-1"]))).code == "AccessDenied")
        #expect(await verify(Fixture.credential(scope: KeyScope(services: ["sqs"]))).code == "AccessDenied")
        #expect(await verify(Fixture.credential(scope: KeyScope(methods: ["GET", "HEAD"]))).code == "AccessDenied")
        #expect(await verify(Fixture.credential(scope: KeyScope(regions: ["us-east-1"], services: ["s3"], methods: ["PUT"]))).isAccepted)
    }

    @Test("key scope: path prefixes compare the decoded, normalized path", arguments: [
        ("/photos/", true), ("/photos/2015/", true), ("/videos/", false), ("/photos/2016/", false),
    ])
    func pathPrefix(prefix: String, accepted: Bool) async {
        let result = await verify(Fixture.credential(scope: KeyScope(pathPrefixes: [prefix])))
        #expect(result.isAccepted == accepted)
        if !accepted { #expect(result.code == "AccessDenied") }
    }

    @Test("key scope: dot segments and encoded dots cannot step out of a prefix", arguments: [
        "/public/../private/x", "/public/%2e%2e/private/x", "/public/%2E%2E/private/x", "/public/./../private/x",
    ])
    func pathTraversal(path: String) async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: path)
        let signed = try Fixture.signer().sign(request, payload: .emptySHA256, at: Fixture.date)
        let credential = Fixture.credential(scope: KeyScope(pathPrefixes: ["/public/"]))
        let result = await Fixture.verifier(credential).verify(VerificationRequest(signed.request), now: Self.now)
        #expect(result.code == "AccessDenied")
    }

    @Test("key scope: a signed x-amz-copy-source is a path too; outside the prefixes (escaped, dotted, an ARN) the copy is refused", arguments: [
        ("/public/a.txt", true), ("public/a.txt?versionId=3", true), ("  /public/a%20b.txt ", true),
        ("/private/a.txt", false), ("private/a.txt", false), ("/public/../private/a.txt", false),
        ("/public/%2e%2e/private/a.txt", false), ("/public/..%5Cprivate/a.txt", false),
        ("arn:aws:s3:us-east-1:123456789012:accesspoint/ap/object/public/a.txt", false),
    ])
    func copySourceInScope(source: String, accepted: Bool) async throws {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("x-amz-copy-source")!, value: source))
        let request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/public/copy.txt",
            headerFields: fields)
        let signed = try Fixture.signer().sign(request, payload: .emptySHA256, at: Fixture.date)
        let scoped = Fixture.verifier(Fixture.credential(scope: KeyScope(pathPrefixes: ["/public/"])))
        let result = await scoped.verify(VerificationRequest(signed.request), now: Self.now)
        #expect(result.isAccepted == accepted, "\(source): \(result.code ?? "accepted")")
        if !accepted { #expect(result.code == "AccessDenied") }
        // Without path prefixes the copy source is the server's business.
        #expect(await Fixture.verifier().verify(VerificationRequest(signed.request), now: Self.now).isAccepted)
        // S3 Express's RenameObject names its source the same way.
        var renameFields = HTTPFields()
        renameFields.append(HTTPField(name: HTTPField.Name("x-amz-rename-source")!, value: source))
        let rename = try Fixture.signer().sign(
            HTTPRequest(
                method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/public/copy.txt?renameObject",
                headerFields: renameFields), payload: .emptySHA256, at: Fixture.date)
        #expect(await scoped.verify(VerificationRequest(rename.request), now: Self.now).isAccepted == accepted, "rename \(source)")
    }

    @Test("key scope: presign lifetime limit")
    func presignLifetime() async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let credential = Fixture.credential(scope: KeyScope(maxPresignLifetime: 3600))
        let long = VerificationRequest(try Fixture.signer().presign(request, expires: 3601, at: Fixture.date).request)
        let short = VerificationRequest(try Fixture.signer().presign(request, expires: 3600, at: Fixture.date).request)
        #expect(await Fixture.verifier(credential).verify(long, now: Self.now).code == "AccessDenied")
        #expect(await Fixture.verifier(credential).verify(short, now: Self.now).isAccepted)
    }

    @Test("key scope: not-before / not-after window")
    func validityWindow() async {
        let early = Fixture.credential(scope: KeyScope(notBefore: Self.now.adding(seconds: 1)))
        #expect(await verify(early).code == "AccessDenied")
        let late = Fixture.credential(scope: KeyScope(notAfter: Self.now.adding(seconds: -1)))
        #expect(await verify(late).code == "AccessDenied")
        let inside = Fixture.credential(scope: KeyScope(notBefore: Self.now, notAfter: Self.now))
        #expect(await verify(inside).isAccepted)
    }

    @Test("a retiring key accepts only signatures dated before its cutoff; old presigned URLs keep working")
    func retiring() async throws {
        let cutoff = Fixture.date.adding(seconds: 60)
        let credential = Fixture.credential(retiringAt: cutoff)
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let before = VerificationRequest(try Fixture.signer().presign(request, expires: 3600, at: Fixture.date).request)
        #expect(await Fixture.verifier(credential).verify(before, now: cutoff.adding(seconds: 1000)).isAccepted)
        let after = VerificationRequest(try Fixture.signer().sign(request, payload: .emptySHA256, at: cutoff).request)
        #expect(await Fixture.verifier(credential).verify(after, now: cutoff).code == "AccessDenied")
    }

    @Test("unknown access key → InvalidAccessKeyId naming it; resolver failure → InternalError (fail closed)")
    func unknownKey() async {
        let v = Verifier(resolver: InMemoryCredentialResolver([]))
        let result = await v.verify(Self.request, payload: .body(Self.body), now: Self.now)
        #expect(result.code == "InvalidAccessKeyId")
        #expect(result.failure?.accessKeyID == "AKIDEXAMPLE")
        #expect(result.failure?.xmlBody().contains("<AWSAccessKeyId>AKIDEXAMPLE</AWSAccessKeyId>") == true)
        struct Broken: CredentialResolver {
            struct Failure: Error {}
            func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? { throw Failure() }
        }
        let failing = await Verifier(resolver: Broken()).verify(Self.request, payload: .body(Self.body), now: Self.now)
        #expect(failing.code == "InternalError")
        #expect(failing.failure?.httpStatus == 500)
    }

    @Test("session tokens: right token accepted; missing, wrong or unexpected → InvalidToken; expired → ExpiredToken")
    func tokens() async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let withToken = VerificationRequest(
            try Fixture.signer(token: "tok+en/1==").sign(request, payload: .emptySHA256, at: Fixture.date).request)
        let without = VerificationRequest(try Fixture.signer().sign(request, payload: .emptySHA256, at: Fixture.date).request)
        let wrongToken = VerificationRequest(
            try Fixture.signer(token: "tok+en/2==").sign(request, payload: .emptySHA256, at: Fixture.date).request)
        let temp = Fixture.credential(token: "tok+en/1==")
        #expect(await Fixture.verifier(temp).verify(withToken, now: Self.now).isAccepted)
        #expect(await Fixture.verifier(temp).verify(without, now: Self.now).code == "InvalidToken")
        #expect(await Fixture.verifier(temp).verify(wrongToken, now: Self.now).code == "InvalidToken")
        #expect(await Fixture.verifier().verify(withToken, now: Self.now).code == "InvalidToken")
        let expired = Fixture.credential(token: "tok+en/1==", scope: KeyScope(notAfter: Self.now.adding(seconds: -1)))
        #expect(await Fixture.verifier(expired).verify(withToken, now: Self.now).code == "ExpiredToken")
        // Presigned with a token.
        let presigned = VerificationRequest(try Fixture.signer(token: "tok+en/1==").presign(request, expires: 60, at: Fixture.date).request)
        #expect(await Fixture.verifier(temp).verify(presigned, now: Self.now).isAccepted)
        #expect(await Fixture.verifier().verify(presigned, now: Self.now).code == "InvalidToken")
    }

    @Test("Authorization spacing variants from SDKs are accepted", arguments: [
        ", ", ",", " , ", ",\t", ",  ",
    ])
    func spacing(separator: String) async {
        let auth = String(decoding: Fixture.value(Self.request, "authorization"), as: UTF8.self)
        let variant = auth.replacingOccurrences(of: ", ", with: separator)
        let r = Fixture.replacing(Self.request, "authorization", with: Array(variant.utf8))
        #expect(await verify(Fixture.credential(), r).isAccepted, "\(variant)")
    }

    @Test("Authorization components in another order, or after several spaces, are accepted")
    func order() async {
        let auth = String(decoding: Fixture.value(Self.request, "authorization"), as: UTF8.self)
        let parts = auth.dropFirst("AWS4-HMAC-SHA256 ".count).components(separatedBy: ", ")
        let reordered = "AWS4-HMAC-SHA256   " + [parts[2], parts[0], parts[1]].joined(separator: ",")
        #expect(await verify(Fixture.credential(), Fixture.replacing(Self.request, "authorization", with: Array(reordered.utf8))).isAccepted)
    }

    @Test("Authorization with a repeated, missing or unknown part → AuthorizationHeaderMalformed", arguments: [
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64)), Extra=1",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host;Host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=x-amz-date;host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws5_request, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4-HMAC-SHA1 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64))",
        "AWS4 AKIDEXAMPLE:abc",
        "aws AKIDEXAMPLE:abc",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=\(String(repeating: "a", count: 64)),",
    ])
    func malformed(header: String) async {
        let r = Fixture.replacing(Self.request, "authorization", with: Array(header.utf8))
        #expect(await verify(Fixture.credential(), r).code == "AuthorizationHeaderMalformed")
    }

    @Test("two Authorization headers → malformed; header and presign together → InvalidArgument; neither → AccessDenied")
    func mechanisms() async {
        var two = Self.request
        two.fields.append(.init(name: "Authorization", value: Fixture.value(Self.request, "authorization")))
        #expect(await verify(Fixture.credential(), two).code == "AuthorizationHeaderMalformed")
        var both = Self.request
        both.target += Array("&X-Amz-Signature=00".utf8)
        #expect(await verify(Fixture.credential(), both).code == "InvalidArgument")
        var none = Self.request
        none.fields.removeAll { $0.name == "Authorization" }
        #expect(await verify(Fixture.credential(), none).code == "AccessDenied")
    }

    @Test("a Signature Version 2 request, header or presigned URL, → InvalidRequest saying to use AWS4-HMAC-SHA256, as S3 answers")
    func signatureVersion2() async {
        let v2Header = Fixture.replacing(Self.request, "authorization", with: Array("AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=".utf8))
        var v2Query = Self.request
        v2Query.fields.removeAll { $0.name == "Authorization" }
        v2Query.target += Array("&AWSAccessKeyId=AKIDEXAMPLE&Expires=1796203357&Signature=dNUNoA4YhiNhXfU3wjnAfhF2qCI%3D".utf8)
        for r in [v2Header, v2Query] {
            let result = await verify(Fixture.credential(), r)
            #expect(result.code == "InvalidRequest")
            #expect(result.failure?.code.httpStatus == 400)
            #expect(result.failure?.message == "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
        }
        // Only one of the two names: an unsigned request, as before.
        var half = Self.request
        half.fields.removeAll { $0.name == "Authorization" }
        half.target += Array("&AWSAccessKeyId=AKIDEXAMPLE&Signaturex=1".utf8)
        #expect(await verify(Fixture.credential(), half).code == "AccessDenied")
    }

    @Test("missing presign parameters → AuthorizationQueryParametersError")
    func missingPresignParameter() async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let target = try Fixture.signer().presign(request, expires: 60, at: Fixture.date).request.path!
        for name in ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders"] {
            let parts = target.split(separator: "?")[1].split(separator: "&").filter { !$0.hasPrefix(name + "=") }
            let r = VerificationRequest(method: "GET", target: "/a?" + parts.joined(separator: "&"), headers: [("Host", "examplebucket.s3.amazonaws.com")])
            #expect(await verify(Fixture.credential(), r).code == "AuthorizationQueryParametersError", "\(name)")
        }
        let doubled = VerificationRequest(method: "GET", target: target + "&X-Amz-Date=20150830T123600Z", headers: [("Host", "examplebucket.s3.amazonaws.com")])
        #expect(await verify(Fixture.credential(), doubled).code == "AuthorizationQueryParametersError")
    }

    @Test("host must be signed; a second Host header is refused")
    func host() async throws {
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=x-amz-content-sha256;x-amz-date, Signature=\(String(repeating: "a", count: 64))"
        let r = Fixture.replacing(Self.request, "authorization", with: Array(auth.utf8))
        let result = await verify(Fixture.credential(), r)
        #expect(result.code == "AccessDenied")
        #expect(result.failure?.details.first?.value.contains("host") == true)
        var twoHosts = Self.request
        twoHosts.fields.append(.init(name: "host", value: "evil.example.com"))
        #expect(await verify(Fixture.credential(), twoHosts).code == "InvalidRequest")
    }

    @Test("a scope date other than X-Amz-Date's day → AuthorizationHeaderMalformed; with requireScopeDateMatch off the signature decides")
    func scopeDateMatch() async throws {
        // Signed as a client that took the scope's day from another clock than X-Amz-Date's: the
        // key and the scope of 20150829, the string to sign's date 20150830T123600Z.
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let signed = try Fixture.signer().sign(request, payload: .emptySHA256, at: Fixture.date)
        let scope = try CredentialScope(dateStamp: "20150829", region: "us-east-1", service: "s3")
        let stringToSign = StringToSign(
            algorithm: StringToSign.algorithm, date: Fixture.date, scope: scope,
            lastLines: [PayloadHash.sha256(of: signed.canonicalRequest.bytes).value])
        let signature = SigningKey(secretAccessKey: SecretAccessKey(Fixture.secret), scope: scope)
            .signature(for: stringToSign)
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150829/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\(signature.hex)"
        let r = Fixture.replacing(VerificationRequest(signed.request), "authorization", with: Array(auth.utf8))
        func check(_ policy: VerificationPolicy, _ r: VerificationRequest) async -> VerificationResult {
            await Fixture.verifier(policy: policy).verify(r, payload: .body([]), now: Fixture.date)
        }
        let refused = await check(.default, r)
        #expect(refused.code == "AuthorizationHeaderMalformed")
        #expect(refused.failure?.message.contains("Invalid credential date \"20150829\"") == true)
        // The same `Authorization` prefix read and kept first, from a request of the 29th that passes
        // (the common form keeps the scope's day with the prefix): the 30th's X-Amz-Date is still refused.
        let verifier = Fixture.verifier(policy: .default)
        let dayBefore = Fixture.date.adding(seconds: -86_400)
        let earlier = try Fixture.signer().sign(request, payload: .emptySHA256, at: dayBefore)
        let keptPrefix = String(auth.prefix(auth.count - 64))
        #expect(earlier.request.headerFields[.authorization]?.hasPrefix(keptPrefix) == true)
        let earlierResult = await verifier.verify(
            VerificationRequest(earlier.request), payload: .body([]), now: dayBefore)
        #expect(earlierResult.isAccepted)
        #expect(await verifier.verify(r, payload: .body([]), now: Fixture.date).code == "AuthorizationHeaderMalformed")
        var policy = VerificationPolicy()
        policy.requireScopeDateMatch = false
        let accepted = await check(policy, r)
        #expect(accepted.isAccepted, "\(accepted.failure.map { "\($0.code.name): \($0.message)" } ?? "")")
        // Off, the signature is still checked: the same scope over the original signature does not match.
        let original = try #require(signed.request.headerFields[.authorization])
        let moved = original.replacingOccurrences(of: "/20150830/", with: "/20150829/")
        let forged = Fixture.replacing(r, "authorization", with: Array(moved.utf8))
        #expect(await check(policy, forged).code == "SignatureDoesNotMatch")
    }

    @Test("a presigned URL whose X-Amz-Date is not its scope's day is refused, its credential read afresh or kept from an accepted URL")
    func presignedScopeDateMatch() async throws {
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let dayBefore = Fixture.date.adding(seconds: -86_400)
        let earlier = try #require(try Fixture.signer().presign(request, expires: 3600, at: dayBefore).request.path)
        #expect(earlier.contains("%2F20150829%2F") && earlier.contains("X-Amz-Date=20150829T123600Z"))
        // The scope of the 29th, X-Amz-Date moved to the 30th (refused on the date, before the signature).
        let moved = earlier.replacingOccurrences(of: "X-Amz-Date=20150829T", with: "X-Amz-Date=20150830T")
        // The target as the `HTTPRequest`'s string (read in place) and as bytes.
        for asText in [true, false] {
            func url(_ path: String) -> VerificationRequest {
                var r = request
                r.path = path
                var v = VerificationRequest(r)
                if !asText { v.target = Array(path.utf8) }
                return v
            }
            let verifier = Fixture.verifier(policy: .default)
            let fresh = await verifier.verify(url(moved), now: Fixture.date)
            #expect(fresh.code == "AuthorizationQueryParametersError")
            #expect(fresh.failure?.message.contains("Invalid credential date \"20150829\"") == true)
            // The credential kept from an accepted URL of the 29th: the moved date is still refused.
            #expect(await verifier.verify(url(earlier), now: dayBefore).isAccepted)
            let kept = await verifier.verify(url(moved), now: Fixture.date)
            #expect(kept.code == fresh.code && kept.failure?.message == fresh.failure?.message)
        }
    }

    @Test("S3 header auth without x-amz-content-sha256 → MissingSecurityHeader")
    func missingContentSHA() async {
        var r = Self.request
        r.fields.removeAll { $0.name.lowercased() == "x-amz-content-sha256" }
        let result = await verify(Fixture.credential(), r)
        #expect(result.code == "MissingSecurityHeader")
    }

    @Test("a streamed body whose signed hash is undeclared is asked for (asksForBody) only after the key, its scope and the token pass; S3's missing x-amz-content-sha256 is final")
    func theBodyIsAskedForLast() async throws {
        var fields = HTTPFields()
        fields[.contentLength] = "2"
        let request = HTTPRequest(
            method: .post, scheme: "https", authority: "dynamodb.us-east-1.amazonaws.com", path: "/",
            headerFields: fields)
        let signed = VerificationRequest(
            try Fixture.signer(service: "dynamodb")
                .sign(request, payload: .sha256(of: Array("{}".utf8)), at: Fixture.date)
                .request)
        let asked = await Fixture.verifier().verify(signed, payload: .streamed, now: Self.now)
        #expect(asked.code == "MissingSecurityHeader" && asked.failure?.asksForBody == true)
        #expect(await Fixture.verifier().verify(signed, payload: .body(Array("{}".utf8)), now: Self.now).isAccepted)
        let stranger = Verifier(resolver: InMemoryCredentialResolver([]))
        #expect(await stranger.verify(signed, payload: .streamed, now: Self.now).code == "InvalidAccessKeyId")
        let outOfScope = Fixture.verifier(Fixture.credential(scope: KeyScope(services: ["sqs"])))
        #expect(await outOfScope.verify(signed, payload: .streamed, now: Self.now).code == "AccessDenied")
        let tokened = Fixture.verifier(Fixture.credential(token: "session"))
        #expect(await tokened.verify(signed, payload: .streamed, now: Self.now).code == "InvalidToken")
        var s3 = Self.request
        s3.fields.removeAll { $0.name.lowercased() == "x-amz-content-sha256" }
        let final = await Fixture.verifier().verify(s3, payload: .streamed, now: Self.now)
        #expect(final.code == "MissingSecurityHeader" && final.failure?.asksForBody == false)
    }

    @Test("UNSIGNED-PAYLOAD and streaming modes follow the policy")
    func payloadModes() async throws {
        let request = HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a")
        let unsigned = VerificationRequest(try Fixture.signer().sign(request, payload: .unsignedPayload, at: Fixture.date).request)
        let accepted = await Fixture.verifier().verify(unsigned, payload: .body([1, 2, 3]), now: Self.now)
        #expect(accepted.verified?.payload == .unsigned)
        var p = VerificationPolicy()
        p.allowUnsignedPayload = false
        #expect(await Fixture.verifier(policy: p).verify(unsigned, now: Self.now).code == "AccessDenied")
        let streaming = VerificationRequest(try Fixture.signer().sign(request, payload: .streamingSigned, at: Fixture.date).request)
        #expect(await Fixture.verifier().verify(streaming, now: Self.now).verified?.payload == .awsChunked)
        p = VerificationPolicy()
        p.allowStreamingPayload = false
        #expect(await Fixture.verifier(policy: p).verify(streaming, now: Self.now).code == "AccessDenied")
        // The unsigned aws-chunked form is an unsigned body too (its trailer checksum is no signature).
        let unsignedTrailer = VerificationRequest(
            try Fixture.signer().sign(request, payload: .streamingUnsignedTrailer, at: Fixture.date).request)
        #expect(await Fixture.verifier().verify(unsignedTrailer, now: Self.now).verified?.payload == .awsChunked)
        p = VerificationPolicy()
        p.allowUnsignedPayload = false
        let refusedTrailer = await Fixture.verifier(policy: p).verify(unsignedTrailer, now: Self.now)
        #expect(
            refusedTrailer.code == "AccessDenied" && refusedTrailer.failure?.message.contains("unsigned body") == true)
        let bogus = Fixture.replacing(unsigned, "x-amz-content-sha256", with: Array("abc".utf8))
        #expect(await Fixture.verifier().verify(bogus, now: Self.now).code == "InvalidArgument")
    }

    @Test("a streamed body is checked by the payload verifier at the end")
    func streamedBody() async throws {
        let result = await Fixture.verifier().verify(Self.request, payload: .streamed, now: Self.now)
        let verified = try #require(result.verified)
        #expect(verified.payload == .pending)
        var good = try #require(verified.makePayloadVerifier())
        for chunk in Self.body.chunks(ofCount: 4) { good.update(Array(chunk)) }
        #expect(throws: Never.self) { try good.finalize() }
        var bad = try #require(verified.makePayloadVerifier())
        bad.update(Array(Self.body.dropLast()))
        #expect { try bad.finalize() } throws: { ($0 as? VerificationFailure)?.code == .xAmzContentSHA256Mismatch }
    }

    @Test("queries with '+' or lowercase escapes verify whichever '+' policy the client used", arguments: [
        URIEncoding.PlusPolicy.literal, .space, .verbatim,
    ])
    func plusPolicies(plus: URIEncoding.PlusPolicy) async throws {
        var signer = Fixture.signer()
        signer.options.plusPolicy = plus
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a?q=a+b&k=%2f")
        let signed = VerificationRequest(try signer.sign(request, payload: .emptySHA256, at: Fixture.date).request)
        let result = await Fixture.verifier().verify(signed, now: Self.now)
        #expect(result.verified?.plusPolicy == plus)
        let presigned = VerificationRequest(try signer.presign(request, expires: 60, at: Fixture.date).request)
        #expect(await Fixture.verifier().verify(presigned, now: Self.now).isAccepted)
    }

    @Test("a query signed with uppercased escapes but sent with lowercase ones verifies")
    func lowercaseEscapes() async throws {
        let upper = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a?k=%2F%3a")
        let signed = try Fixture.signer().sign(
            HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a?k=%2F%3A"),
            payload: .emptySHA256, at: Fixture.date)
        var sent = VerificationRequest(signed.request)
        sent.target = Array(upper.path!.utf8)
        #expect(await Fixture.verifier().verify(sent, now: Self.now).isAccepted)
    }

    /// A request dated by an RFC 1123 `Date` header only (what botocore sends when the caller sets `Date`).
    static func dateOnlyRequest(signing names: [String]) throws -> VerificationRequest {
        let headers = [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            ("x-amz-content-sha256", PayloadHash.emptySHA256.value),
        ]
        let canonical = try CanonicalRequest(
            method: "GET", target: "/a", headers: headers, selection: .exactly(names), payloadHash: .emptySHA256,
            rules: .s3)
        let scope = try CredentialScope(date: Fixture.date, region: "us-east-1", service: "s3")
        let sts = StringToSign(date: Fixture.date, scope: scope, canonicalRequestHash: canonical.hash)
        let signature = SigningKey(secretAccessKey: SecretAccessKey(Fixture.secret), scope: scope).signature(for: sts)
        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
        return VerificationRequest(method: "GET", target: "/a", headers: headers + [("Authorization", auth)])
    }

    @Test("an RFC 1123 Date header dates the request when X-Amz-Date is absent; it must be signed and in the window")
    func dateHeader() async throws {
        let signed = try Self.dateOnlyRequest(signing: ["date", "host", "x-amz-content-sha256"])
        #expect(await Fixture.verifier().verify(signed, now: Fixture.date.adding(seconds: 60)).isAccepted)
        #expect(await Fixture.verifier().verify(signed, now: Fixture.date.adding(seconds: 901)).code == "RequestTimeTooSkewed")
        let unsignedDate = try Self.dateOnlyRequest(signing: ["host", "x-amz-content-sha256"])
        let result = await Fixture.verifier().verify(unsignedDate, now: Fixture.date)
        #expect(result.code == "AccessDenied")
        #expect(result.failure?.details == [.init("HeadersNotSigned", "date")])
        var policy = VerificationPolicy()
        policy.acceptDateHeader = false
        #expect(await Fixture.verifier(policy: policy).verify(signed, now: Fixture.date).code == "AccessDenied")
    }

    @Test("a changed secret takes effect at once (no stale derived key); an unchanged one keeps its derived key across generations")
    func keyChange() async {
        let resolver = InMemoryCredentialResolver([Fixture.credential()])
        let verifier = Verifier(resolver: resolver, keyCache: SigningKeyCache(capacity: 4))
        #expect(await verifier.verify(Self.request, payload: .body(Self.body), now: Self.now).isAccepted)
        var rotated = Fixture.credential()
        rotated.secretAccessKey = SecretAccessKey("another secret")
        resolver.upsert(rotated)
        #expect(await verifier.verify(Self.request, payload: .body(Self.body), now: Self.now).code == "SignatureDoesNotMatch")
        var back = Fixture.credential()
        back.generation = 7
        resolver.upsert(back)
        #expect(await verifier.verify(Self.request, payload: .body(Self.body), now: Self.now).isAccepted)
        // The original secret's derived key is reused: one entry per secret, not per generation.
        #expect(verifier.keyCache.count == 2)
        resolver.remove(accessKeyID: "AKIDEXAMPLE")
        #expect(await verifier.verify(Self.request, payload: .body(Self.body), now: Self.now).code == "InvalidAccessKeyId")
    }

    @Test("diagnostics carry the server's canonical request and string to sign, never the secret")
    func diagnostics() async {
        var p = VerificationPolicy()
        p.includeDiagnostics = true
        let tampered = Fixture.replacing(Self.request, "x-amz-meta-color", with: Array("red".utf8))
        let result = await Fixture.verifier(policy: p).verify(tampered, payload: .body(Self.body), now: Self.now)
        let failure = try! #require(result.failure)
        #expect(failure.diagnostics?.canonicalRequest.contains("x-amz-meta-color:red") == true)
        #expect(failure.diagnostics?.stringToSign.hasPrefix("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/s3/aws4_request\n") == true)
        for text in [failure.xmlBody(), failure.jsonBody(), failure.description, String(describing: failure)] {
            #expect(!text.contains(Fixture.secret))
            #expect(!text.contains("wJalrXUtnFEMI"))
        }
        #expect(failure.xmlBody().contains("<CanonicalRequest>PUT\n/photos/2015/cat.txt\npartNumber=1&amp;uploadId=abc"))
        let plain = await Fixture.verifier().verify(tampered, payload: .body(Self.body), now: Self.now)
        #expect(plain.failure?.diagnostics == nil)
    }

    @Test("CanonicalRequestBytes holds the bytes that were hashed, a byte that is not UTF-8 included, not U+FFFD's")
    func diagnosticsKeepBytesThatAreNotUTF8() async throws {
        var p = VerificationPolicy()
        p.includeDiagnostics = true
        // A Latin-1 "é" sent raw: obs-text in a field value, hashed as the one byte 0xE9.
        let latin1 = Fixture.replacing(Self.request, "x-amz-meta-color", with: [0x72, 0xE9, 0x64])
        let result = await Fixture.verifier(policy: p).verify(latin1, payload: .body(Self.body), now: Self.now)
        let failure = try #require(result.failure)
        let diagnostics = try #require(failure.diagnostics)
        let line = Array("\nx-amz-meta-color:".utf8) + [0x72, 0xE9, 0x64, 0x0A]
        #expect(diagnostics.canonicalRequestBytes.firstRange(of: line) != nil)
        let bytesElement = try #require(failure.bodyElements.first { $0.name == "CanonicalRequestBytes" })
        let hex = diagnostics.canonicalRequestBytes.map { String(format: "%02x", $0) }.joined(separator: " ")
        #expect(bytesElement.value == hex)
        #expect(bytesElement.value.contains("72 e9 64 0a"))
        #expect(!bytesElement.value.contains("ef bf bd"))
        // The text form is for reading: the byte reads as U+FFFD there.
        #expect(diagnostics.canonicalRequest.contains("x-amz-meta-color:r\u{FFFD}d"))
        #expect(failure.bodyElements.first { $0.name == "StringToSignBytes" }?.value.hasPrefix("41 57 53 34") == true)
    }
}

extension Array {
    func chunks(ofCount n: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: n).map { self[$0..<Swift.min($0 + n, count)] }
    }
}
