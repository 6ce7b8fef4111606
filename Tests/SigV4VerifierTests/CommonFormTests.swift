import HTTPTypes
import SigV4
import SigV4TestSupport
import Synchronization
import Testing

@_spi(Fuzzing) @testable import SigV4Verifier

/// The common form's own path (`Verifier.verifyCommonForm`) accepts exactly what the full
/// verification accepts, with the same result, and hands every other request over.
///
/// Each request here is verified twice, by the common path alone and by the full verification
/// alone: when the common path accepts, the full verification must accept with an equal result;
/// when the full verification refuses, the common path must not accept. The requests: every
/// botocore-signed case, the suite fixture, and thousands of mutations of them (each byte of the
/// `Authorization` value, fields added, repeated and removed, clocks at the skew limits, policies
/// and key scopes that refuse).
@Suite("the common form's path agrees with the full verification")
struct CommonFormTests {
    struct Both {
        var common: VerifiedRequest?
        /// The common path's refusal (a wrong signature it need not hand over).
        var commonRefusal: VerificationFailure?
        var full: Result<VerifiedRequest, VerificationFailure>
        var fullAccepted: VerifiedRequest? { try? full.get() }
        var fullRefusal: VerificationFailure? {
            if case .failure(let f) = full { return f }
            return nil
        }
    }

    /// The request verified by each path alone (no replay guard).
    static func both(
        _ verifier: Verifier, _ request: VerificationRequest, payload: Verifier.Payload, now: AmzDate
    ) -> Both {
        var outcome = Verifier.Outcome()
        var lookup = Verifier.Lookup.immediate
        var accepted = false
        var refusal: VerificationFailure? = nil
        do {
            accepted = try verifier.verifyCommonForm(request, payload: payload, now: now, into: &outcome, lookup: &lookup)
        } catch {
            refusal = error
        }
        var full = Verifier.Outcome()
        let result: Result<VerifiedRequest, VerificationFailure>
        do {
            try verifier.evaluate(request, payload: payload, now: now, lookup: .immediate, into: &full)
            result = .success(full.verified!)
        } catch {
            result = .failure(error)
        }
        #expect(outcome.needsLookup == nil, "the in-memory resolver answers at once")
        return Both(common: accepted ? outcome.verified : nil, commonRefusal: refusal, full: result)
    }

    /// Checks the two paths agree on `request`; returns true when the common path accepted it.
    @discardableResult
    static func expectAgreement(
        _ verifier: Verifier, _ request: VerificationRequest, payload: Verifier.Payload, now: AmzDate, _ what: String
    ) -> Bool {
        let disagreement = FuzzingEntryPoints.commonFormDisagreement(verifier, request, payload: payload, now: now)
        #expect(disagreement == nil, "\(what): \(disagreement ?? "")")
        return both(verifier, request, payload: payload, now: now).common != nil
    }

    static let now = Fixture.date.adding(seconds: 5)

    @Test("the suite fixture takes the common path, as an HTTPRequest and as raw fields, and agrees")
    func fixtureTakesTheCommonPath() {
        let (request, body) = Fixture.signedPut()
        let verifier = Fixture.verifier()
        #expect(Self.expectAgreement(verifier, request, payload: .body(body), now: Self.now, "fixture"))
        #expect(Self.expectAgreement(verifier, request, payload: .streamed, now: Self.now, "fixture, streamed"))
        #expect(Self.expectAgreement(verifier, request, payload: .hash(.sha256(of: body)), now: Self.now, "fixture, hash"))
        // The same request held as fields (no `String` to slice the id and names from).
        var raw = request
        raw.fields = request.fields
        #expect(Self.expectAgreement(verifier, raw, payload: .body(body), now: Self.now, "fixture, raw fields"))
    }

    @Test("every botocore-signed case: the paths agree, and SDK-form requests take the common path")
    func botocoreCorpus() {
        var common = (header: 0, query: 0)
        var cases = (header: 0, query: 0)
        for c in BotocoreVerificationTests.cases {
            let verifier = c.verifier
            let taken = Self.expectAgreement(verifier, c.request, payload: .body(c.body), now: c.now, "case \(c.id)")
            if c.mode == "header" {
                cases.header += 1
                if taken { common.header += 1 }
            } else {
                cases.query += 1
                if taken { common.query += 1 }
            }
        }
        // Cases with a declared checksum or Content-MD5, a `Date` header instead of `X-Amz-Date`
        // or a spec-divergent target go the full way; the rest take the common path.
        print(
            "botocore corpus: \(common.header) of \(cases.header) header-auth cases took the common path (presigned: \(common.query) of \(cases.query))"
        )
        #expect(common.header >= cases.header / 2)
        #expect(common.query == 0, "presigned URLs go the full way")
    }

    /// The suite fixture presigned for an hour: an S3 GET with a query.
    static func presignedGet(token: String? = nil) -> VerificationRequest {
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com",
            path: "/photos/2015/cat.txt?versionId=3&a=b%20c", headerFields: [:])
        return VerificationRequest(try! Fixture.signer(token: token).presign(request, expires: 3600, at: Fixture.date).request)
    }

    @Test("a presigned URL, valid or carrying an Authorization header too, goes the full way")
    func presignedGoesTheFullWay() {
        let request = Self.presignedGet()
        let verifier = Fixture.verifier()
        let b = Self.both(verifier, request, payload: .streamed, now: Self.now)
        #expect(b.common == nil)
        #expect(b.fullAccepted != nil)
        // Both mechanisms: refused by the full verification (InvalidArgument), not taken here.
        let (put, _) = Fixture.signedPut()
        var both = request
        both.fields.append(.init(name: "Authorization", value: Fixture.value(put, "authorization")))
        let refused = Self.both(verifier, both, payload: .streamed, now: Self.now)
        #expect(refused.common == nil)
        #expect((try? refused.full.get()) == nil)
    }

    @Test("each byte of the Authorization value replaced, removed or doubled: the paths agree")
    func authorizationMutations() {
        let (request, body) = Fixture.signedPut()
        let verifier = Fixture.verifier()
        let original = Fixture.value(request, "authorization")
        let replacements: [UInt8] = Array(" \t,;=/xX0aA-_.".utf8) + [0x00, 0x7f, 0xc3]
        var accepted = 0
        var tried = 0
        var refused = 0
        for i in original.indices {
            var values: [[UInt8]] = []
            for r in replacements where r != original[i] {
                var v = original
                v[i] = r
                values.append(v)
            }
            var removed = original
            removed.remove(at: i)
            var doubled = original
            doubled.insert(original[i], at: i)
            var spaced = original
            spaced.insert(0x20, at: i)
            values += [removed, doubled, spaced]
            // Letters in the other case (a signature's hex digits in uppercase are refused, as at AWS).
            if original[i] >= 0x41 && original[i] <= 0x7a && (original[i] | 0x20) >= 0x61 {
                var v = original
                v[i] ^= 0x20
                values.append(v)
            }
            for v in values {
                tried += 1
                let request = Fixture.replacing(request, "authorization", with: v)
                if Self.expectAgreement(verifier, request, payload: .body(body), now: Self.now, "byte \(i)") { accepted += 1 }
                if let refusal = Self.both(verifier, request, payload: .body(body), now: Self.now).commonRefusal {
                    #expect(refusal.code == .signatureDoesNotMatch, "byte \(i)")
                    refused += 1
                }
            }
        }
        print("Authorization mutations: \(tried) tried, \(accepted) accepted and \(refused) refused by the common path")
        #expect(tried > 3000)
        // No change to the value is accepted: not even a signature's hex letters in uppercase.
        #expect(accepted == 0)
        // Each signature byte replaced by another hex digit (and its letters' other case) is a wrong
        // signature the common path refuses itself: at least the digits 0 and a, for each of 64.
        #expect(refused >= 64)
    }

    /// `request` with the last hex digit of its signature changed.
    static func wrongSignature(_ request: VerificationRequest) -> VerificationRequest {
        var value = Fixture.value(request, "authorization")
        value[value.count - 1] = value[value.count - 1] == 0x30 ? 0x31 : 0x30
        return Fixture.replacing(request, "authorization", with: value)
    }

    @Test("a wrong signature: the common path refuses it as the full verification does, unless another reading could match")
    func wrongSignature() async throws {
        let (request, body) = Fixture.signedPut()
        let verifier = Fixture.verifier()
        let wrong = Self.wrongSignature(request)
        for payload: Verifier.Payload in [.body(body), .streamed, .hash(.sha256(of: body))] {
            #expect(!Self.expectAgreement(verifier, wrong, payload: payload, now: Self.now, "wrong signature"))
            let b = Self.both(verifier, wrong, payload: payload, now: Self.now)
            let refusal = try #require(b.commonRefusal)
            #expect(refusal.code == .signatureDoesNotMatch)
            #expect(refusal.accessKeyID == Fixture.accessKeyID)
            #expect(refusal.diagnostics == nil)
            #expect(b.fullRefusal == refusal)
        }
        // A verification through the public entry point gives that answer too.
        let result = await verifier.verify(wrong, payload: .body(body), now: Self.now)
        #expect(result.code == "SignatureDoesNotMatch")
        #expect(result.failure?.accessKeyID == Fixture.accessKeyID)

        // Targets the full verification also reads another way (a `+`, an escape, a lowercase
        // escape, a byte a spec signer would encode, a query out of order or with a parameter
        // without a value): a wrong signature is handed over, and refused there after the other
        // readings.
        for path in ["/a?x=b+c", "/a?x=b%20c", "/a?x=%2f", "/a?x=b*c", "/a*b", "/a?x=1&y", "/a?b=1&a=2"] {
            let signed = try Fixture.signer().sign(
                HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: path,
                    headerFields: [:]),
                payload: .unsignedPayload, at: Fixture.date)
            let right = VerificationRequest(signed.request)
            #expect(Self.expectAgreement(verifier, right, payload: .streamed, now: Self.now, path), "\(path) verifies")
            let b = Self.both(verifier, Self.wrongSignature(right), payload: .streamed, now: Self.now)
            #expect(b.commonRefusal == nil, "\(path)")
            #expect(b.fullRefusal?.code == .signatureDoesNotMatch, "\(path)")
        }
        // A plain query and path: refused by the common path.
        let plain = try Fixture.signer().sign(
            HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a/b.txt?x=1&y=",
                headerFields: [:]),
            payload: .unsignedPayload, at: Fixture.date)
        let b = Self.both(verifier, Self.wrongSignature(VerificationRequest(plain.request)), payload: .streamed, now: Self.now)
        #expect(b.commonRefusal?.code == .signatureDoesNotMatch)
        // With diagnostics the short path is not taken: the full verification gives them.
        var policy = VerificationPolicy.default
        policy.includeDiagnostics = true
        let diagnosing = Fixture.verifier(policy: policy)
        let d = Self.both(diagnosing, wrong, payload: .body(body), now: Self.now)
        #expect(d.commonRefusal == nil)
        #expect(d.fullRefusal?.diagnostics != nil)
    }

    @Test("fields added, repeated, removed and reordered: the paths agree")
    func fieldMutations() {
        let (request, body) = Fixture.signedPut()
        let verifier = Fixture.verifier()
        let fields = request.fields
        var variants: [(String, VerificationRequest)] = []
        let extra: [(String, String)] = [
            ("x-amz-meta-unsigned", "1"), ("X-Amz-Date", "20150830T123600Z"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("Host", "examplebucket.s3.amazonaws.com"), ("Content-MD5", "1B2M2Y8AsgTpgAZPy7iD/w=="),
            ("x-amz-checksum-crc32", "AAAAAA=="), ("X-Amz-Security-Token", "token"), ("Authorization", "AWS4-HMAC-SHA256 x"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"), ("Content-Length", "21"), ("Transfer-Encoding", "chunked"),
            ("x-amz-region-set", "us-east-1"), ("X-AMZ-META-COLOR", "blue green"), ("user-agent", "test"),
        ]
        for (name, value) in extra {
            var r = request
            r.fields.append(.init(name: name, value: value))
            variants.append(("added \(name)", r))
            var first = request
            first.fields.insert(.init(name: name, value: value), at: 0)
            variants.append(("added \(name) first", first))
        }
        for i in fields.indices {
            var r = request
            r.fields.remove(at: i)
            variants.append(("removed \(fields[i].name)", r))
            var doubled = request
            doubled.fields.insert(fields[i], at: i)
            variants.append(("doubled \(fields[i].name)", doubled))
        }
        var reversed = request
        reversed.fields = fields.reversed()
        variants.append(("reversed", reversed))
        var accepted = 0
        for (what, r) in variants {
            for payload: Verifier.Payload in [.body(body), .streamed, .hash(.emptySHA256)] {
                if Self.expectAgreement(verifier, r, payload: payload, now: Self.now, what) { accepted += 1 }
            }
        }
        #expect(variants.count > 40)
        // Reordered fields, a `User-Agent`, and the body's Content-Length still verify.
        #expect(accepted > 0)
    }

    @Test("declared checksums and Content-MD5, signed: the paths agree, and well-formed ones take the common path")
    func declaredChecksums() throws {
        let body = Array("Welcome to Amazon S3.".utf8)
        let other = Array("Welcome to Amazon S4.".utf8)
        let crc32 = TrailingChecksum.base64(.crc32, of: body)
        let sha256 = TrailingChecksum.base64(.sha256, of: body)
        let md5 = TrailingChecksum.base64(.md5, of: body)
        let fieldSets: [(String, [(String, String)], String)] = [
            ("crc32", [("x-amz-checksum-crc32", crc32)], "PUT /a"),
            ("crc32 of another body", [("x-amz-checksum-crc32", TrailingChecksum.base64(.crc32, of: other))], "PUT /a"),
            ("crc32 malformed", [("x-amz-checksum-crc32", "AAAAAA=")], "PUT /a"),
            ("crc32 not canonical", [("x-amz-checksum-crc32", "AAAAAB==")], "PUT /a"),
            ("sha256", [("x-amz-checksum-sha256", sha256)], "PUT /a"),
            ("two algorithms", [("x-amz-checksum-crc32", crc32), ("x-amz-checksum-sha256", sha256)], "PUT /a"),
            ("crc32 twice", [("x-amz-checksum-crc32", crc32), ("x-amz-checksum-crc32", crc32)], "PUT /a"),
            ("Content-MD5", [("Content-MD5", md5)], "PUT /a"),
            ("Content-MD5 of another body", [("Content-MD5", TrailingChecksum.base64(.md5, of: other))], "PUT /a"),
            ("Content-MD5 malformed", [("Content-MD5", "not base64")], "PUT /a"),
            ("Content-MD5 twice", [("Content-MD5", md5), ("Content-MD5", md5)], "PUT /a"),
            ("crc32 and Content-MD5", [("x-amz-checksum-crc32", crc32), ("Content-MD5", md5)], "PUT /a"),
            ("CompleteMultipartUpload", [("x-amz-checksum-crc32", "AAAAAA==")], "POST /a?uploadId=1"),
            ("an unknown algorithm", [("x-amz-checksum-crc99", "AAAAAA==")], "PUT /a"),
        ]
        var policies: [(String, VerificationPolicy)] = [("default", .default)]
        var unchecked = VerificationPolicy.default
        unchecked.verifyBodyChecksums = false
        policies.append(("checksums not read", unchecked))
        var taken: Set<String> = []
        for (what, extra, line) in fieldSets {
            var fields = HTTPFields()
            for (name, value) in extra { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
            let parts = line.split(separator: " ")
            let request = HTTPRequest(
                method: HTTPRequest.Method(String(parts[0]))!, scheme: "https", authority: "examplebucket.s3.amazonaws.com",
                path: String(parts[1]), headerFields: fields)
            for (h, signedHash) in [("digest", PayloadHash.sha256(of: body)), ("UNSIGNED-PAYLOAD", .unsignedPayload)] {
                let signed = VerificationRequest(try Fixture.signer().sign(request, payload: signedHash, at: Fixture.date).request)
                for (p, policy) in policies {
                    let verifier = Fixture.verifier(policy: policy)
                    for (k, payload) in [("body", Verifier.Payload.body(body)), ("other body", .body(other)), ("streamed", .streamed)]
                    {
                        let label = "\(what), \(h), \(p), \(k)"
                        if Self.expectAgreement(verifier, signed, payload: payload, now: Self.now, label) { taken.insert(label) }
                    }
                }
            }
        }
        // A well-formed declared checksum takes the common path, checked against a body given whole.
        for label in [
            "crc32, digest, default, body", "crc32, UNSIGNED-PAYLOAD, default, body",
            "crc32, UNSIGNED-PAYLOAD, default, streamed", "sha256, UNSIGNED-PAYLOAD, default, streamed",
            "Content-MD5, UNSIGNED-PAYLOAD, default, body", "crc32 and Content-MD5, UNSIGNED-PAYLOAD, default, body",
            "crc32 of another body, UNSIGNED-PAYLOAD, checksums not read, body",
            "CompleteMultipartUpload, UNSIGNED-PAYLOAD, default, streamed",
        ] {
            #expect(taken.contains(label), "\(label) takes the common path")
        }
        // A checksum the body does not have, a malformed or repeated one: the full verification refuses.
        for label in [
            "crc32 of another body, UNSIGNED-PAYLOAD, default, body", "crc32 malformed, UNSIGNED-PAYLOAD, default, streamed",
            "crc32 not canonical, UNSIGNED-PAYLOAD, default, streamed", "two algorithms, UNSIGNED-PAYLOAD, default, streamed",
            "crc32 twice, UNSIGNED-PAYLOAD, default, streamed", "Content-MD5 twice, UNSIGNED-PAYLOAD, default, streamed",
            "Content-MD5 of another body, UNSIGNED-PAYLOAD, default, body",
            "Content-MD5 malformed, UNSIGNED-PAYLOAD, default, streamed",
        ] {
            #expect(!taken.contains(label), "\(label) goes the full way")
        }
        // The result says what was declared and whether the body was checked.
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("x-amz-checksum-crc32")!, value: crc32))
        let request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a", headerFields: fields)
        let signed = VerificationRequest(try Fixture.signer().sign(request, payload: .unsignedPayload, at: Fixture.date).request)
        let whole = Self.both(Fixture.verifier(), signed, payload: .body(body), now: Self.now).common
        #expect(whole?.declaredChecksum?.value == crc32 && whole?.checksumVerified == true)
        let streamed = Self.both(Fixture.verifier(), signed, payload: .streamed, now: Self.now).common
        #expect(streamed?.declaredChecksum?.value == crc32 && streamed?.checksumVerified == false)
        #expect(streamed?.makeChecksumVerifier() != nil)
    }

    @Test("clocks at and beyond the skew limits, and other days: the paths agree")
    func clocks() {
        let (request, body) = Fixture.signedPut()
        let verifier = Fixture.verifier()
        let skew = verifier.policy.maxClockSkew
        var accepted = 0
        for offset in [-skew - 1, -skew, -skew + 1, 0, skew - 1, skew, skew + 1, 86_400, -86_400] {
            let now = Fixture.date.adding(seconds: offset)
            if Self.expectAgreement(verifier, request, payload: .body(body), now: now, "offset \(offset)") { accepted += 1 }
        }
        #expect(accepted == 5)
    }

    @Test("policies and key scopes that refuse, or accept: the paths agree")
    func policiesAndScopes() {
        let (request, body) = Fixture.signedPut()
        var policies: [(String, VerificationPolicy)] = [("default", .default)]
        func policy(_ what: String, _ change: (inout VerificationPolicy) -> Void) {
            var p = VerificationPolicy.default
            change(&p)
            policies.append((what, p))
        }
        policy("other region") { $0.allowedRegions = ["eu-west-1"] }
        policy("this region") { $0.allowedRegions = ["us-east-1", "eu-west-1"] }
        policy("other service") { $0.allowedServices = ["sqs"] }
        policy("this service") { $0.allowedServices = ["s3"] }
        policy("no header auth") { $0.allowHeaderAuth = false }
        policy("diagnostics") { $0.includeDiagnostics = true }
        policy("no unsigned payload") { $0.allowUnsignedPayload = false }
        policy("host not required") { $0.requireSignedHost = false }
        policy("x-amz-* not required") { $0.requireSignedAmzHeaders = false }
        policy("short skew") { $0.maxClockSkew = 1 }
        policy("space for +") { $0.plusPolicies = [.space] }
        policy("virtual-hosted style") { $0.virtualHostedStyle = try! VirtualHostedStyle(domains: ["s3.amazonaws.com"]) }
        policy("the host is the domain") {
            $0.virtualHostedStyle = try! VirtualHostedStyle(domains: ["examplebucket.s3.amazonaws.com"])
        }
        let credentials: [(String, ResolvedCredential)] = [
            ("unrestricted", Fixture.credential()),
            ("region scope", Fixture.credential(scope: KeyScope(regions: ["us-east-1"]))),
            ("other region scope", Fixture.credential(scope: KeyScope(regions: ["eu-west-1"]))),
            ("service scope", Fixture.credential(scope: KeyScope(services: ["sqs"]))),
            ("method scope", Fixture.credential(scope: KeyScope(methods: ["PUT"]))),
            ("other method scope", Fixture.credential(scope: KeyScope(methods: ["GET"]))),
            ("path scope", Fixture.credential(scope: KeyScope(pathPrefixes: ["/photos/"]))),
            ("other path scope", Fixture.credential(scope: KeyScope(pathPrefixes: ["/videos/"]))),
            ("bucket path scope", Fixture.credential(scope: KeyScope(pathPrefixes: ["/examplebucket/photos/"]))),
            ("not yet valid", Fixture.credential(scope: KeyScope(notBefore: Fixture.date.adding(seconds: 60)))),
            ("expired", Fixture.credential(scope: KeyScope(notAfter: Fixture.date.adding(seconds: -60)))),
            ("retired", Fixture.credential(retiringAt: Fixture.date)),
            ("retiring later", Fixture.credential(retiringAt: Fixture.date.adding(seconds: 1))),
            ("token expected", Fixture.credential(token: "token")),
            ("other principal", Fixture.credential(principal: "bob")),
        ]
        var accepted = 0
        for (p, policy) in policies {
            for (c, credential) in credentials {
                let verifier = Fixture.verifier(credential, policy: policy)
                if Self.expectAgreement(verifier, request, payload: .body(body), now: Self.now, "\(p), \(c)") { accepted += 1 }
            }
        }
        #expect(accepted > 20)
    }

    @Test("one verifier, scopes alternating (days, regions, services, allowed or not): each answered for its own scope")
    func alternatingScopes() throws {
        var policy = VerificationPolicy.default
        policy.allowedRegions = ["us-east-1", "eu-west-1"]
        policy.allowedServices = ["s3", "sqs"]
        let verifier = Fixture.verifier(policy: policy)
        let scopes: [(String, String, Int64, Bool)] = [
            ("us-east-1", "s3", 0, true), ("eu-west-1", "s3", 0, true), ("us-east-1", "s3", 86_400, true),
            ("us-west-2", "s3", 0, false), ("us-east-1", "sqs", 0, true), ("us-east-1", "sns", 0, false),
            ("us-east-1", "s3", 0, true), ("eu-west-1", "sqs", 86_400, true), ("eu-west-11", "s3", 0, false),
            ("us-east-1", "s3", 0, true),
        ]
        for _ in 0..<2 {
            for (region, service, day, allowed) in scopes {
                let date = Fixture.date.adding(seconds: day)
                let request = HTTPRequest(
                    method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/a?b=c", headerFields: [:])
                let signed = try Fixture.signer(service: service, region: region).sign(
                    request, payload: .emptySHA256, at: date)
                let taken = Self.expectAgreement(
                    verifier, VerificationRequest(signed.request), payload: .hash(.emptySHA256), now: date.adding(seconds: 1),
                    "\(region)/\(service)/+\(day)")
                #expect(taken == allowed, "\(region)/\(service)/+\(day)")
            }
        }
    }

    @Test("session tokens: the right one, another, none, two: the paths agree")
    func sessionTokens() throws {
        var fields = HTTPFields()
        fields.append(HTTPField(name: .contentType, value: "text/plain"))
        let signed = try Fixture.signer(token: "the-token").sign(
            HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/a", headerFields: fields),
            payload: .emptySHA256, at: Fixture.date)
        let request = VerificationRequest(signed.request)
        for (expected, shouldAccept) in [("the-token", true), ("the-token2", false), ("the-toke", false)] {
            let verifier = Fixture.verifier(Fixture.credential(token: expected))
            #expect(Self.expectAgreement(verifier, request, payload: .streamed, now: Self.now, expected) == shouldAccept)
        }
        #expect(!Self.expectAgreement(Fixture.verifier(), request, payload: .streamed, now: Self.now, "no token expected"))
        var two = request
        two.fields.append(.init(name: "x-amz-security-token", value: "the-token"))
        #expect(
            !Self.expectAgreement(
                Fixture.verifier(Fixture.credential(token: "the-token")), two, payload: .streamed, now: Self.now, "two"))
    }

    /// A resolver that counts how often it is asked.
    final class CountingResolver: CredentialResolver {
        let inner: InMemoryCredentialResolver
        let count = Mutex(0)
        var asked: Int { count.withLock { $0 } }
        init(_ credential: ResolvedCredential) { inner = InMemoryCredentialResolver([credential]) }
        func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
            count.withLock { $0 += 1 }
            return try await inner.resolve(accessKeyID: accessKeyID, context: context)
        }
        func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) throws -> CredentialLookup {
            count.withLock { $0 += 1 }
            return inner.lookUpWithoutSuspending(accessKeyID: accessKeyID, context: context)
        }
    }

    @Test("a request the common path hands over after the key lookup is not looked up again")
    func oneLookup() async {
        let (request, body) = Fixture.signedPut()
        let resolver = CountingResolver(Fixture.credential())
        let verifier = Verifier(resolver: resolver)
        let good = await verifier.verify(request, payload: .body(body), now: Self.now)
        #expect(good.isAccepted)
        #expect(resolver.asked == 1)
        // A tampered signed header passes the lookup and fails the signature: the full verification
        // refuses it with the key the common path looked up.
        let tampered = Fixture.replacing(request, "x-amz-meta-color", with: Array("red".utf8))
        let bad = await verifier.verify(tampered, payload: .body(body), now: Self.now)
        #expect(bad.code == "SignatureDoesNotMatch")
        #expect(resolver.asked == 2)
        // A key scope that refuses: handed over after the lookup too.
        let scoped = CountingResolver(Fixture.credential(scope: KeyScope(regions: ["eu-west-1"])))
        let refused = await Verifier(resolver: scoped).verify(request, payload: .body(body), now: Self.now)
        #expect(refused.code == "AccessDenied")
        #expect(scoped.asked == 1)
    }
}
