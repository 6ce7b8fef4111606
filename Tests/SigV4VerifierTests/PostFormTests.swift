import Foundation
import SigV4
import SigV4TestSupport
import Testing

@testable import SigV4Verifier

/// Browser-form uploads (S3's POST Object with a SigV4 POST policy): forms botocore's
/// `generate_presigned_post` signed verify, forms `Signer.presignPost` signs verify, and every
/// change to a signed part, a condition, the time or the key's scope is refused with S3's code.
@Suite("browser-form uploads: POST policies")
struct PostFormTests {
    static let date = try! AmzDate(iso8601Basic: "20260301T120000Z")
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    static func signer(token: String? = nil) -> Signer {
        Signer(
            credentials: Credentials(accessKeyID: "AKIDPOSTEXAMPLE", secretAccessKey: secret, sessionToken: token),
            region: "us-east-1", service: "s3", keyCache: nil)
    }

    static func verifier(scope: KeyScope = .unrestricted, token: String? = nil, policy: VerificationPolicy = .default)
        -> Verifier
    {
        Verifier(
            resolver: InMemoryCredentialResolver([
                ResolvedCredential(
                    accessKeyID: "AKIDPOSTEXAMPLE", secretAccessKey: SecretAccessKey(secret), principal: "alice",
                    scope: scope, sessionToken: token)
            ]), policy: policy)
    }

    static func post(key: String = "uploads/${filename}", expires: Int = 3600, token: String? = nil) throws -> PresignedPost {
        try signer(token: token).presignPost(
            bucket: "photos", key: key, expires: expires,
            fields: [("Content-Type", "image/jpeg"), ("x-amz-meta-uuid", "14365123651274")],
            conditions: [.contentLengthRange(min: 1, max: 1000), .startsWith(field: "x-amz-meta-tag", prefix: "")],
            at: date)
    }

    static func verify(
        _ form: PostForm, bucket: String = "photos", now: AmzDate = date.adding(seconds: 10), verifier: Verifier = verifier()
    ) async -> Result<VerifiedPostForm, VerificationFailure> {
        await verifier.verifyPostForm(form, bucket: bucket, now: now)
    }

    static func code(_ result: Result<VerifiedPostForm, VerificationFailure>) -> String? {
        if case .failure(let f) = result { return f.code.name }
        return nil
    }

    @Test("a form Signer.presignPost signed verifies: key with ${filename} replaced, object fields, length range")
    func signedFormVerifies() async throws {
        let post = try Self.post()
        var form = PostForm(post, filename: "cat.jpg")
        form.fields.insert(PresignedPost.Field("x-amz-meta-tag", "anything"), at: 1)
        let verified = try await Self.verify(form).get()
        #expect(verified.key == "uploads/cat.jpg")
        #expect(verified.bucket == "photos" && verified.principal == "alice")
        #expect(verified.pathStyleTarget == "/photos/uploads/cat.jpg")
        #expect(verified.contentLengthRange == 1...1000)
        #expect(verified.objectFields.map(\.name) == ["x-amz-meta-tag", "Content-Type", "x-amz-meta-uuid"])
        #expect(verified.scope.description == "20260301/us-east-1/s3/aws4_request")
        #expect(throws: Never.self) { try verified.checkContentLength(1000) }
        #expect { try verified.checkContentLength(0) } throws: { ($0 as? VerificationFailure)?.code == .entityTooSmall }
        #expect { try verified.checkContentLength(1001) } throws: { ($0 as? VerificationFailure)?.code == .entityTooLarge }
    }

    @Test("the policy document: written as JSON, read back equal; both condition forms and integer strings read")
    func policyDocument() throws {
        let post = try Self.post()
        let text = post.policy.json
        #expect(try PostPolicy(json: Array(text.utf8)) == post.policy)
        let other = """
            { "expiration": "2015-12-30T12:00:00.000Z",
              "conditions": [ {"bucket": "sigv4examplebucket"}, ["starts-with", "$key", "user/user1/"],
                {"acl": "public-read"}, ["EQ", "$x-amz-meta-uuid", "14365123651274"],
                ["content-length-range", "0", 10485760], {"x-amz-meta-tag": "a\\"b\\u00e9\\ud83d\\ude00"} ] }
            """
        let policy = try PostPolicy(json: Array(other.utf8))
        #expect(policy.expiration == (try AmzDate(iso8601Basic: "20151230T120000Z")))
        #expect(policy.conditions == [
            .equals(field: "bucket", value: "sigv4examplebucket"), .startsWith(field: "key", prefix: "user/user1/"),
            .equals(field: "acl", value: "public-read"), .equals(field: "x-amz-meta-uuid", value: "14365123651274"),
            .contentLengthRange(min: 0, max: 10_485_760), .equals(field: "x-amz-meta-tag", value: "a\"bé😀"),
        ])
    }

    @Test("malformed policy documents are refused, never crash", arguments: [
        "", "{", "[]", "{\"conditions\": []}", "{\"expiration\": \"tomorrow\", \"conditions\": []}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\"}", "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [1]}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [[\"gt\", \"$key\", \"a\"]]}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [[\"eq\", \"key\", \"a\"]]}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [[\"content-length-range\", 5, 1]]}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [{\"a\": [1]}]}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": []} x", "{\"a\": \"\\ud800\"}", "{\"a\": \"\\q\"}",
        "{\"expiration\": \"2015-12-30T12:00:00\", \"conditions\": []}",
        "{\"expiration\": \"20151230T120000Z\", \"conditions\": []}",
        "{\"expiration\": \"2015-12-30T12:00:00+01:00\", \"conditions\": []}",
        "{\"expiration\": \"2015--12-30T12:00:00Z\", \"conditions\": []}",
        "{\"expiration\": \"2015-12-30T12:00:00.Z\", \"conditions\": []}",
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [{\"\": \"A\"}]}",
        "{\"a\": 01}", "{\"a\": \"\u{01}\"}", String(repeating: "[", count: 100_000),
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [[\"content-length-range\", 1, 99999999999999999999]]}",
        // Control bytes 0x10-0x19 are not hex digits (read as '0'-'9' until this case).
        "{\"expiration\": \"2015-12-30T12:00:00Z\", \"conditions\": [{\"a\": \"\\u\u{10}\u{10}41\"}]}",
    ])
    func malformedPolicies(text: String) {
        #expect(throws: PostPolicy.Malformed.self) { try PostPolicy(json: Array(text.utf8)) }
    }

    @Test("every botocore generate_presigned_post form verifies, and is refused one second after its policy expires")
    func botocoreForms() async throws {
        #expect(try await checkBotocoreForms("botocore-post/cases.json", service: "s3") >= 300)
    }

    @Test(
        "S3 Express: every form botocore's S3ExpressPostAuth signs (X-Amz-S3session-Token) verifies with the key's token and expires to the second; ours for the same inputs has the same conditions and verifies; another token is InvalidToken"
    )
    func botocoreS3ExpressForms() async throws {
        #expect(try await checkBotocoreForms("botocore-post/s3express-cases.json", service: "s3express") == 60)
        let cases = try #require(try Vectors.json("botocore-post/s3express-cases.json")["cases"] as? [[String: Any]])
        for c in cases.prefix(20) {
            let form = PostForm(fields: (c["form"] as! [[String]]).map { ($0[0], $0[1]) }, filename: "f.txt")
            #expect(form.values("X-Amz-S3session-Token").first == c["token"] as? String)
            var policy = VerificationPolicy.default
            policy.allowedServices = ["s3express"]
            let verifier = Verifier(
                resolver: InMemoryCredentialResolver([
                    ResolvedCredential(
                        accessKeyID: c["access_key_id"] as! String,
                        secretAccessKey: SecretAccessKey(c["secret"] as! String), principal: "p",
                        sessionToken: "another token")
                ]), policy: policy)
            let time = try AmzDate(iso8601Basic: c["time"] as! String)
            let refused = await verifier.verifyPostForm(form, bucket: c["bucket"] as! String, now: time)
            #expect(Self.code(refused) == "InvalidToken", "case \(c["index"] as? Int ?? -1)")
        }
    }

    /// Verifies every form of the botocore POST corpus at `path` (signed for `service`) and checks
    /// that `Signer.presignPost` given the same inputs writes the same conditions; returns how many.
    func checkBotocoreForms(_ path: String, service: String) async throws -> Int {
        let cases = try #require(try Vectors.json(path)["cases"] as? [[String: Any]])
        for c in cases {
            let id = c["index"] as! Int
            let form = PostForm(fields: (c["form"] as! [[String]]).map { ($0[0], $0[1]) }, filename: "file name.txt")
            let time = try AmzDate(iso8601Basic: c["time"] as! String)
            let expires = Int64(c["expires"] as! Int)
            var policy = VerificationPolicy.default
            policy.allowedServices = [service]
            let verifier = Verifier(
                resolver: InMemoryCredentialResolver([
                    ResolvedCredential(
                        accessKeyID: c["access_key_id"] as! String, secretAccessKey: SecretAccessKey(c["secret"] as! String),
                        principal: "p", sessionToken: c["token"] as? String)
                ]), policy: policy)
            let bucket = c["bucket"] as! String
            let accepted = await verifier.verifyPostForm(form, bucket: bucket, now: time.adding(seconds: expires))
            let key = (c["key"] as! String).replacing("${filename}", with: "file name.txt")
            #expect((try? accepted.get())?.key == key, "case \(id): \(accepted)")
            let late = await verifier.verifyPostForm(form, bucket: bucket, now: time.adding(seconds: expires + 1))
            #expect(Self.code(late) == "AccessDenied", "case \(id)")
            // Our signer, given botocore's inputs, writes a policy with the same conditions.
            let signer = Signer(
                credentials: Credentials(
                    accessKeyID: c["access_key_id"] as! String, secretAccessKey: c["secret"] as! String,
                    sessionToken: c["token"] as? String),
                region: c["region"] as! String, service: service, keyCache: nil)
            let fields = (c["fields"] as! [String: String]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            let ours = try signer.presignPost(
                bucket: bucket, key: c["key"] as! String, expires: Int(expires), fields: fields, at: time)
            let theirs = try PostPolicy(json: Array((c["policy_json"] as! String).utf8))
            // botocore's own conditions beside the fields' (ours were not given them): a length range, a
            // Content-Type prefix.
            func isExtra(_ condition: PostPolicy.Condition) -> Bool {
                switch condition {
                case .contentLengthRange: return true
                case .startsWith(let field, _): return field == "Content-Type"
                case .equals: return false
                }
            }
            #expect(Set(ours.policy.conditions) == Set(theirs.conditions.filter { !isExtra($0) }), "case \(id)")
            #expect(ours.policy.expiration == theirs.expiration, "case \(id)")
            let ourForm = PostForm(ours, filename: "file name.txt")
            #expect((try? (await verifier.verifyPostForm(ourForm, bucket: bucket, now: time)).get()) != nil, "case \(id)")
        }
        return cases.count
    }

    @Test("a changed policy, signature, date, credential or key value is refused with S3's code")
    func mutations() async throws {
        let post = try Self.post()
        func changed(_ name: String, _ transform: (String) -> String) -> PostForm {
            var form = PostForm(post, filename: "cat.jpg")
            let i = form.fields.firstIndex { $0.name == name }!
            form.fields[i].value = transform(form.fields[i].value)
            return form
        }
        func flipLast(_ s: String) -> String { String(s.dropLast()) + (s.last == "a" ? "b" : "a") }
        // The policy's base64 text is what is signed: any change is a wrong signature or an unreadable policy.
        let policy = try #require(post["policy"])
        for i in stride(from: 0, to: policy.utf8.count, by: 7) {
            var bytes = Array(policy.utf8)
            bytes[i] = bytes[i] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let form = changed("policy") { _ in String(decoding: bytes, as: UTF8.self) }
            let code = Self.code(await Self.verify(form))
            #expect(code == "SignatureDoesNotMatch" || code == "InvalidPolicyDocument", "byte \(i): \(code ?? "accepted")")
        }
        #expect(Self.code(await Self.verify(changed("x-amz-signature", flipLast))) == "SignatureDoesNotMatch")
        #expect(Self.code(await Self.verify(changed("x-amz-signature") { _ in "zz" })) == "InvalidArgument")
        #expect(Self.code(await Self.verify(changed("x-amz-date") { _ in "20260301T120001Z" })) == "AccessDenied")
        #expect(Self.code(await Self.verify(changed("x-amz-date") { _ in "20260302T120000Z" })) == "InvalidArgument")
        #expect(Self.code(await Self.verify(changed("x-amz-credential") { $0.replacing("AKIDPOSTEXAMPLE", with: "AKIDOTHER") }))
            == "InvalidAccessKeyId")
        #expect(Self.code(await Self.verify(changed("x-amz-algorithm") { _ in "AWS4-HMAC-SHA512" })) == "InvalidArgument")
        // Conditions: the key outside its prefix, another content type, another bucket.
        #expect(Self.code(await Self.verify(changed("key") { _ in "elsewhere/cat.jpg" })) == "AccessDenied")
        #expect(Self.code(await Self.verify(changed("Content-Type") { _ in "text/html" })) == "AccessDenied")
        #expect(Self.code(await Self.verify(PostForm(post), bucket: "videos")) == "AccessDenied")
        // A field no condition names (refused as an extra field), and one named x-ignore-* (allowed).
        func expectExtraField(_ name: String, listedAs listed: String) async {
            var extra = PostForm(post, filename: "cat.jpg")
            extra.fields.append(PresignedPost.Field(name, "other/x"))
            let refusal = await Self.verify(extra)
            #expect(Self.code(refusal) == "AccessDenied", "\(name)")
            if case .failure(let f) = refusal { #expect(f.message.contains("Extra input fields: \(listed)"), "\(f.message)") }
        }
        await expectExtraField("x-amz-website-redirect-location", listedAs: "x-amz-website-redirect-location")
        // A name that only Unicode lowercasing makes "key" (the Kelvin sign) is another field.
        await expectExtraField("\u{212A}ey", listedAs: "\u{212A}ey")
        var ignored = PostForm(post, filename: "cat.jpg")
        ignored.fields.append(PresignedPost.Field("x-ignore-submit", "Upload"))
        #expect((try? await Self.verify(ignored).get()) != nil)
        // Required fields, missing or repeated.
        for name in ["key", "policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"] {
            var missing = PostForm(post)
            missing.fields.removeAll { $0.name == name }
            #expect(Self.code(await Self.verify(missing)) == "InvalidArgument", "\(name) missing")
            var twice = PostForm(post)
            twice.fields.append(twice.fields.first { $0.name == name }!)
            #expect(Self.code(await Self.verify(twice)) == "InvalidArgument", "\(name) repeated")
        }
        // Any field given twice, in any case: one value could pass the condition, the other set the object.
        var twice = PostForm(post, filename: "cat.jpg")
        twice.fields.append(PresignedPost.Field("content-type", "text/html"))
        #expect(Self.code(await Self.verify(twice)) == "InvalidArgument")
    }

    @Test("conditions on the key read it with ${filename} replaced: a prefix reaching into '${' does not let a file name step past it, and an exact key with ${filename} in it matches no upload")
    func keyConditionsSeeTheFileName() async throws {
        let signer = Self.signer()
        // starts-with "uploads/${f": the stored key "uploads/cat.jpg" does not start with it.
        let sneaky = try signer.presignPost(
            bucket: "photos", key: "uploads/${filename}", expires: 300,
            conditions: [.startsWith(field: "key", prefix: "uploads/${f")], at: Self.date)
        #expect(Self.code(await Self.verify(PostForm(sneaky, filename: "cat.jpg"))) == "AccessDenied")
        // The signer's own starts-with on the part before ${filename} holds for any file name.
        #expect((try? await Self.verify(PostForm(try Self.post(), filename: "any name.jpg")).get()) != nil)
        // An exact key naming a file holds only for that file.
        let exact = try signer.presignPost(bucket: "photos", key: "uploads/cat.jpg", expires: 300, at: Self.date)
        var renamed = PostForm(exact, filename: "dog.jpg")
        let i = renamed.fields.firstIndex { $0.name == "key" }!
        renamed.fields[i].value = "uploads/${filename}"
        #expect(Self.code(await Self.verify(renamed)) == "AccessDenied")
        renamed.filename = "cat.jpg"
        #expect((try? await Self.verify(renamed).get())?.key == "uploads/cat.jpg")
    }

    /// A form `Signer.presignPost` signed for `key` with `conditions`, the sent `key` field replaced
    /// by `sentKey` (when given), `extra` fields added, and the file named `filename`.
    static func form(
        key: String, conditions: [PostPolicy.Condition] = [], sentKey: String? = nil, extra: [(String, String)] = [],
        filename: String = "x.txt"
    ) throws -> PostForm {
        let post = try signer().presignPost(
            bucket: "photos", key: key, expires: 3600, conditions: conditions, at: date)
        var form = PostForm(post, filename: filename)
        if let sentKey { form.fields = form.fields.map { $0.name == "key" ? PresignedPost.Field("key", sentKey) : $0 } }
        form.fields += extra.map { PresignedPost.Field($0.0, $0.1) }
        return form
    }

    @Test("conditions compare bytes, as S3 does: a key or value that is the same text in other bytes (KELVIN SIGN for K, a decomposed é, GREEK QUESTION MARK for ;) fails its eq condition, and a prefix followed by a combining mark passes its starts-with")
    func conditionsCompareBytes() async throws {
        let kelvin = try Self.form(key: "reports/K1.txt", sentKey: "reports/\u{212A}1.txt")
        #expect(Self.code(await Self.verify(kelvin)) == "AccessDenied")
        let decomposed = try Self.form(key: "docs/caf\u{E9}.txt", sentKey: "docs/cafe\u{301}.txt")
        #expect(Self.code(await Self.verify(decomposed)) == "AccessDenied")
        let greek = try Self.form(
            key: "k", conditions: [.equals(field: "Content-Type", value: "text/plain; charset=utf-8")],
            extra: [("Content-Type", "text/plain\u{37E} charset=utf-8")])
        #expect(Self.code(await Self.verify(greek)) == "AccessDenied")
        let combining = try Self.form(key: "uploads/${filename}", sentKey: "uploads/\u{301}x")
        #expect((try? await Self.verify(combining).get())?.key == "uploads/\u{301}x")
        // The same bytes pass.
        let same = try Self.form(key: "reports/\u{212A}1.txt")
        #expect((try? await Self.verify(same).get())?.key == "reports/\u{212A}1.txt")
        // A field name is matched by its bytes too: one spelled with GREEK QUESTION MARK is not the
        // field a condition names (it is an extra field).
        let name = try Self.form(
            key: "k", conditions: [.startsWith(field: "x-amz-meta-a;b", prefix: "")], extra: [("x-amz-meta-a\u{37E}b", "v")])
        let refusal = await Self.verify(name)
        #expect(Self.code(refusal) == "AccessDenied", "\(refusal)")
    }

    @Test("${filename} is replaced byte for byte: a combining mark after its } does not hide it")
    func fileNameReplacedAsBytes() async throws {
        let form = try Self.form(key: "u/${filename}", sentKey: "u/${filename}\u{301}", filename: "a")
        #expect((try? await Self.verify(form).get())?.key == "u/a\u{301}")
    }

    @Test("a key longer than 1,024 bytes once ${filename} is replaced is KeyTooLongError (400), measured before it is built; a forged form's key is never built: it is SignatureDoesNotMatch")
    func keyLengthIsBounded() async throws {
        // A policy key of `${filename}` alone: starts-with "" (any key).
        let any = "${filename}"
        let exact = try Self.form(key: any, sentKey: "${filename}/" + String(repeating: "a", count: 1_000),
            filename: String(repeating: "n", count: 23))
        #expect((try? await Self.verify(exact).get())?.key.utf8.count == 1_024)
        let over = try Self.form(key: any, sentKey: "${filename}/" + String(repeating: "a", count: 1_000),
            filename: String(repeating: "n", count: 24))
        let refusal = await Self.verify(over)
        guard case .failure(let failure) = refusal else {
            Issue.record("a 1,025-byte key was accepted")
            return
        }
        #expect(failure.code.name == "KeyTooLongError" && failure.code.httpStatus == 400, "\(failure)")
        // Thousands of ${filename} beside a long file name: refused without building the key.
        let amplified = try Self.form(
            key: any, sentKey: String(repeating: "${filename}", count: 50_000),
            filename: String(repeating: "A", count: 100_000))
        #expect(Self.code(await Self.verify(amplified)) == "KeyTooLongError")
        // Forged: the signature is checked before the key is read.
        var forged = amplified
        forged.fields = forged.fields.map {
            $0.name == "x-amz-signature" ? PresignedPost.Field("x-amz-signature", String(repeating: "0", count: 64)) : $0
        }
        #expect(Self.code(await Self.verify(forged)) == "SignatureDoesNotMatch")
    }

    @Test("time: accepted until the policy's expiration second, refused after; a policy longer than the endpoint allows is refused")
    func time() async throws {
        let post = try Self.post(expires: 60)
        #expect((try? await Self.verify(PostForm(post), now: Self.date.adding(seconds: 60)).get()) != nil)
        #expect(Self.code(await Self.verify(PostForm(post), now: Self.date.adding(seconds: 61))) == "AccessDenied")
        var short = VerificationPolicy.default
        short.maxPresignExpires = 59
        #expect(Self.code(await Self.verify(PostForm(post), verifier: Self.verifier(policy: short))) == "AccessDenied")
        // Signed in the future beyond the skew allowance: not yet valid.
        #expect(Self.code(await Self.verify(PostForm(post), now: Self.date.adding(seconds: -901))) == "AccessDenied")
    }

    @Test("the key's scope: path prefixes see /bucket/key (with the file's name), methods see POST, presign lifetime sees the policy's")
    func keyScope() async throws {
        let post = try Self.post()
        let inside = Self.verifier(scope: KeyScope(pathPrefixes: ["/photos/uploads/"]))
        #expect((try? await Self.verify(PostForm(post, filename: "cat.jpg"), verifier: inside).get()) != nil)
        let elsewhere = Self.verifier(scope: KeyScope(pathPrefixes: ["/photos/private/"]))
        #expect(Self.code(await Self.verify(PostForm(post, filename: "cat.jpg"), verifier: elsewhere)) == "AccessDenied")
        // A file name that climbs out of the prefix does not leave it unnoticed.
        #expect(Self.code(await Self.verify(PostForm(post, filename: "../../private/x"), verifier: inside)) == "AccessDenied")
        #expect(Self.code(await Self.verify(PostForm(post), verifier: Self.verifier(scope: KeyScope(methods: ["GET"]))))
            == "AccessDenied")
        #expect((try? await Self.verify(PostForm(post), verifier: Self.verifier(scope: KeyScope(methods: ["POST"]))).get()) != nil)
        #expect(Self.code(await Self.verify(PostForm(post), verifier: Self.verifier(scope: KeyScope(maxPresignLifetime: 600))))
            == "AccessDenied")
        var regions = VerificationPolicy.default
        regions.allowedRegions = ["eu-west-1"]
        #expect(Self.code(await Self.verify(PostForm(post), verifier: Self.verifier(policy: regions))) == "InvalidArgument")
    }

    @Test("two content-length-range conditions: their overlap is the range; ranges that do not overlap fail the condition, never crash")
    func disjointContentLengthRanges() async throws {
        func signed(_ ranges: [(Int64, Int64)]) throws -> PostForm {
            PostForm(
                try Self.signer().presignPost(
                    bucket: "photos", key: "a.txt", expires: 60,
                    conditions: ranges.map { .contentLengthRange(min: $0.0, max: $0.1) }, at: Self.date))
        }
        let overlapping = try await Self.verify(try signed([(0, 10), (5, 30)])).get()
        #expect(overlapping.contentLengthRange == 5...10)
        // Until this test, 20...10 was built as a ClosedRange: a trap that ended the process.
        let disjoint = await Self.verify(try signed([(0, 10), (20, 30)]))
        #expect(Self.code(disjoint) == "AccessDenied")
        if case .failure(let f) = disjoint { #expect(f.message.contains("[\"content-length-range\", 20, 30]")) }
    }

    @Test("session tokens: the key's token must be the form's x-amz-security-token field")
    func sessionTokens() async throws {
        let post = try Self.post(token: "session-token-1")
        #expect(post["x-amz-security-token"] == "session-token-1")
        #expect((try? await Self.verify(PostForm(post), verifier: Self.verifier(token: "session-token-1")).get()) != nil)
        #expect(Self.code(await Self.verify(PostForm(post), verifier: Self.verifier(token: "session-token-2"))) == "InvalidToken")
        #expect(Self.code(await Self.verify(PostForm(try Self.post()), verifier: Self.verifier(token: "session-token-1")))
            == "InvalidToken")
    }

    @Test(
        "S3 Express POST forms: the token is the X-Amz-S3session-Token field (as botocore's S3ExpressPostAuth names it), verified against the key's; an x-amz-security-token field is not read as the token"
    )
    func s3ExpressSessionToken() async throws {
        var signer = Self.signer(token: "express-session-1")
        signer.service = "s3express"
        signer.rules = .s3Express
        let post = try signer.presignPost(bucket: "photos", key: "uploads/a.jpg", expires: 3600, at: Self.date)
        #expect(post["X-Amz-S3session-Token"] == "express-session-1" && post["x-amz-security-token"] == nil)
        #expect(post.policy.json.contains("[\"eq\", \"$X-Amz-S3session-Token\", \"express-session-1\"]"))
        let keyed = Self.verifier(token: "express-session-1")
        #expect((try? await Self.verify(PostForm(post), verifier: keyed).get()) != nil)
        let other = Self.verifier(token: "express-session-2")
        #expect(Self.code(await Self.verify(PostForm(post), verifier: other)) == "InvalidToken")
        // The same token under the usual field name (policy and signature made for it): not S3 Express's token.
        var usual = Self.signer(token: "express-session-1")
        usual.service = "s3express"
        usual.rules = .s3
        let moved = try usual.presignPost(bucket: "photos", key: "uploads/a.jpg", expires: 3600, at: Self.date)
        #expect(moved["x-amz-security-token"] == "express-session-1")
        #expect(Self.code(await Self.verify(PostForm(moved), verifier: keyed)) == "InvalidToken")
    }

    @Test("10,000 mutated, truncated and random policy documents and forms: refused or read, never a crash or a hang")
    func hostilePolicies() async throws {
        var rng = SplitMix64(seed: 0x9057)
        let post = try Self.post()
        let valid = Array(post.policy.json.utf8)
        let alphabet = Array("{}[]\",:\\-0123456789.eEtrufalsn $ ".utf8)
        var read = 0
        for round in 0..<10_000 {
            var bytes = valid
            switch round % 4 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
            case 1:
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = alphabet.randomElement(using: &rng)!
                }
            case 2: bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }
            default: bytes = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            if (try? PostPolicy(json: bytes)) != nil { read += 1 }
            // The same text as a signed form's policy: refused (its signature is another text's), never accepted.
            if round % 50 == 0 {
                var form = PostForm(post)
                let i = form.fields.firstIndex { $0.name == "policy" }!
                form.fields[i].value = Data(bytes).base64EncodedString()
                if bytes != valid { #expect((try? await Self.verify(form).get()) == nil, "round \(round)") }
            }
        }
        #expect(read > 0 && read < 10_000)
    }
}
