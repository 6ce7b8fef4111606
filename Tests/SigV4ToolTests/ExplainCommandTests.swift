import Foundation
import Testing

extension CLITests {
    /// `sigv4 explain`: the stages, visible control characters, and `--compare` naming the cause.
    @Suite struct ExplainCommandTests {
        static let url = "https://examplebucket.s3.amazonaws.com/test.txt"
        static let args = [
            url, "-H", "Range: bytes=0-9", "--timestamp", "20130524T000000Z", "--access-key-id", "AKIAIOSFODNN7EXAMPLE",
            "--secret-access-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ]

        static func docExample() throws -> [String: String] {
            let data = try Data(
                contentsOf: Tool.packageRoot.appendingPathComponent("TestVectors/s3-doc-examples/get-object-range.json")
            )
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return try #require(json["expected"] as? [String: String])
        }

        static func explain(_ extra: [String], files: [String: String] = [:]) throws -> Tool.Result {
            let dir = try TempDir()
            var extra = extra
            for (name, contents) in files {
                let path = try dir.file(name, contents)
                extra = extra.map { $0 == name ? path : $0 }
            }
            return try Tool.sigv4(["explain"] + args + extra, env: Tool.cleanEnvironment(home: dir.path))
        }

        @Test("--compare reads at most 16 MiB: more, from stdin, is a one-line usage error (it was read whole: 8.7 GB of memory for 3 GB piped in)")
        func compareInputIsBounded() throws {
            let dir = try TempDir()
            let result = try Tool.sigv4(
                ["explain"] + Self.args + ["--compare", "-"], env: Tool.cleanEnvironment(home: dir.path),
                stdin: Data(count: (16 << 20) + 1))
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("--compare input is over 16 MiB"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }

        @Test("explain prints every stage of the S3 documentation example and its signature")
        func stages() throws {
            let expected = try Self.docExample()
            let result = try Self.explain([])
            #expect(result.status == 0, "\(result.stderr)")
            let out = result.out
            #expect(out.contains("2. Canonical URI:    /test.txt\n"))
            #expect(out.contains("3. Canonical query:  (empty)\n"))
            #expect(out.contains("     range:bytes=0-9\n"))
            #expect(out.contains("5. Signed headers:   host;range;x-amz-content-sha256;x-amz-date\n"))
            #expect(out.contains("Credential scope:   20130524/us-east-1/s3/aws4_request\n"))
            #expect(out.contains("Signature:          \(expected["signature"] ?? "?")\n"))
            for line in (expected["canonical_request"] ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
                #expect(out.contains("  | \(line)\n"))
            }
        }

        @Test("non-printing characters in header values are made visible")
        func visibleControlCharacters() throws {
            let result = try Self.explain(["-H", "X-Odd: a\u{00A0}b\u{200B}c"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.contains("x-odd:a<U+00A0>b<U+200B>c"))
        }

        @Test("--compare with the server's XML and one header changed names that header")
        func compareNamesChangedHeader() throws {
            let expected = try Self.docExample()
            let serverCR = (expected["canonical_request"] ?? "").replacingOccurrences(
                of: "range:bytes=0-9", with: "range:bytes=0-99")
            let xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message>\
                <AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256
                20130524T000000Z
                20130524/us-east-1/s3/aws4_request
                0000000000000000000000000000000000000000000000000000000000000000</StringToSign>\
                <CanonicalRequest>\(serverCR)</CanonicalRequest></Error>
                """
            let result = try Self.explain(["--compare", "error.xml"], files: ["error.xml": xml])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.contains("  - range:bytes=0-99\n"))
            #expect(result.out.contains("  + range:bytes=0-9\n"))
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains("header 'range'"))
            #expect(!cause.contains("host"))
        }

        struct CauseCase: CustomTestStringConvertible, Sendable {
            let name: String
            let from: String
            let to: String
            let cause: String
            var testDescription: String { name }
        }

        static let causes: [CauseCase] = [
            CauseCase(
                name: "missing signed header", from: "range:bytes=0-9\n", to: "range:bytes=0-9\nx-amz-meta-a:1\n",
                cause: "a missing signed header: the server signed 'x-amz-meta-a'"),
            CauseCase(
                name: "clock", from: "x-amz-date:20130524T000000Z", to: "x-amz-date:20130524T000500Z", cause: "clock"),
            CauseCase(name: "path encoding", from: "/test.txt", to: "/test%252Etxt", cause: "encoding of the path"),
            CauseCase(name: "payload", from: "x-amz-date;x-amz-content-sha256", to: "", cause: "payload hash"),
        ]

        @Test("--compare with a pasted canonical request names the likely cause", arguments: causes)
        func compareNamesCause(c: CauseCase) throws {
            let expected = try Self.docExample()
            var server = expected["canonical_request"] ?? ""
            if c.name == "payload" {
                server = String(server.dropLast(64)) + "UNSIGNED-PAYLOAD"
            } else {
                server = server.replacingOccurrences(of: c.from, with: c.to)
                if c.name == "missing signed header" {
                    server = server.replacingOccurrences(of: "host;range;", with: "host;range;x-amz-meta-a;")
                }
            }
            let result = try Self.explain(["--compare", "cr.txt"], files: ["cr.txt": server + "\n"])
            #expect(result.status == 0, "\(result.stderr)")
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains(c.cause), "\(cause)")
        }

        /// S3's error when the canonical request and string to sign match ours, with the client's
        /// signature and key id: who holds the other secret follows from them.
        static func matchingError(signatureProvided: String, accessKeyID: String) throws -> String {
            let expected = try docExample()
            return "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>\(accessKeyID)</AWSAccessKeyId>"
                + "<StringToSign>\(expected["string_to_sign"] ?? "")</StringToSign><SignatureProvided>\(signatureProvided)</SignatureProvided>"
                + "<CanonicalRequest>\(expected["canonical_request"] ?? "")</CanonicalRequest></Error>"
        }

        @Test("--compare with matching strings to sign: the client's signature equal to ours puts the other secret at the server")
        func compareBlamesTheServerSecretWhenTheClientSignedAsWeDo() throws {
            let ours = try #require(try Self.docExample()["signature"])
            let xml = try Self.matchingError(signatureProvided: ours, accessKeyID: "AKIAIOSFODNN7EXAMPLE")
            let result = try Self.explain(["--compare", "e.xml"], files: ["e.xml": xml])
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains("the server holds another secret"), "\(cause)")
        }

        @Test("--compare with matching strings to sign: the client's signature equal to ours but in uppercase hex is named as the cause")
        func compareNamesAnUppercaseSignature() throws {
            let ours = try #require(try Self.docExample()["signature"])
            let xml = try Self.matchingError(signatureProvided: ours.uppercased(), accessKeyID: "AKIAIOSFODNN7EXAMPLE")
            let result = try Self.explain(["--compare", "e.xml"], files: ["e.xml": xml])
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains("ours in uppercase hex"), "\(cause)")
            #expect(!cause.contains("the server holds another secret"), "\(cause)")
        }

        @Test("--compare with matching strings to sign: another client signature means the client signed otherwise")
        func compareBlamesTheClientWhenItsSignatureDiffers() throws {
            let other = String(repeating: "ab", count: 32)
            let xml = try Self.matchingError(signatureProvided: other, accessKeyID: "AKIAIOSFODNN7EXAMPLE")
            let result = try Self.explain(["--compare", "e.xml"], files: ["e.xml": xml])
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains("the client sent signature \(other)"), "\(cause)")
            #expect(cause.contains("signed other bytes than it sent"), "\(cause)")
        }

        @Test("--compare with matching strings to sign names a client key id other than ours")
        func compareNamesAnotherAccessKeyID() throws {
            let xml = try Self.matchingError(signatureProvided: String(repeating: "0", count: 64), accessKeyID: "AKIDOTHERCLIENT")
            let result = try Self.explain(["--compare", "e.xml"], files: ["e.xml": xml])
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains("signed with access key id AKIDOTHERCLIENT"), "\(cause)")
        }

        @Test("--compare names the region when only the string to sign's scope differs")
        func compareNamesRegion() throws {
            let expected = try Self.docExample()
            let sts = (expected["string_to_sign"] ?? "").replacingOccurrences(of: "us-east-1", with: "eu-west-1")
            let xml =
                "<Error><Code>SignatureDoesNotMatch</Code><StringToSign>\(sts)</StringToSign><CanonicalRequest>\(expected["canonical_request"] ?? "")</CanonicalRequest></Error>"
            let result = try Self.explain(["--compare", "e.xml"], files: ["e.xml": xml])
            let cause = result.out.components(separatedBy: "Likely cause:\n").last ?? ""
            #expect(cause.contains("region: the server expects 'eu-west-1', we sign 'us-east-1'"), "\(cause)")
        }
    }

    /// `sigv4 explain --captured` on requests a verifier with the default policy refuses before it
    /// computes the signature (it gave up on them with one line): the stages, the signature's verdict
    /// with the given key, and the refusal on its own line.
    @Suite struct ExplainCapturedRefusalTests {
        static let key = [
            "--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        ]
        static let url = "https://examplebucket.s3.amazonaws.com/test.txt"
        /// The signature check's line when the signature matches the test key.
        static let matches = "Signature check:    matches the one computed with AKIDEXAMPLE"
        static let doesNotMatch = "Signature check:    does NOT match"

        /// `sigv4 sign --format http` at 20130524T000000Z with `extra` options: a raw request, CRLF lines.
        static func signed(_ extra: [String] = []) throws -> String {
            let dir = try TempDir()
            let result = try Tool.sigv4(
                ["sign", url, "--format", "http", "--timestamp", "20130524T000000Z"] + key + extra,
                env: Tool.cleanEnvironment(home: dir.path))
            #expect(result.status == 0, "\(result.stderr)")
            return result.out
        }

        /// `request` with `line` added as the last header.
        static func adding(_ line: String, to request: String) throws -> String {
            let end = try #require(request.range(of: "\r\n\r\n"))
            return request[..<end.lowerBound] + "\r\n" + line + request[end.lowerBound...]
        }

        static func explain(_ request: String, _ extra: [String] = key) throws -> Tool.Result {
            let dir = try TempDir()
            return try Tool.sigv4(
                ["explain", "--captured", "-"] + extra, env: Tool.cleanEnvironment(home: dir.path),
                stdin: Data(request.utf8))
        }

        /// The stages are shown: the canonical request's signed-headers line and the string to sign's
        /// date and scope, each as quoted.
        static func expectStages(
            _ out: String, signedHeaders: String, scope: String = "20130524/us-east-1/s3/aws4_request"
        ) {
            #expect(out.contains("Canonical request (SHA-256 "), "\(out)")
            #expect(out.contains("  | \(signedHeaders)\n"), "\(out)")
            let stringToSign = "String to sign:\n  | AWS4-HMAC-SHA256\n  | 20130524T000000Z\n  | \(scope)\n"
            #expect(out.contains(stringToSign), "\(out)")
        }

        /// The request was explained (exit 0): the stages (``expectStages(_:signedHeaders:scope:)``),
        /// the signature check's line, `check` (by default: it matches), and the verdict line's text
        /// after `Verifier's verdict: ` when given.
        static func expectExplained(
            _ result: Tool.Result, signedHeaders: String, scope: String = "20130524/us-east-1/s3/aws4_request",
            check: String = matches, verdict: String? = nil
        ) {
            #expect(result.status == 0, "\(result.stderr)")
            expectStages(result.out, signedHeaders: signedHeaders, scope: scope)
            #expect(result.out.contains(check), "\(result.out)")
            if let verdict { #expect(result.out.contains("Verifier's verdict: " + verdict), "\(result.out)") }
        }

        @Test("an x-amz-* header added after signing: the stages, the signature matches, and the verdict names the header")
        func unsignedAmzHeader() throws {
            let request = try Self.adding("X-Amz-Meta-Foo: bar", to: try Self.signed())
            let result = try Self.explain(request)
            Self.expectExplained(
                result, signedHeaders: "host;x-amz-content-sha256;x-amz-date",
                verdict: "AccessDenied (403): There were headers present in the request which were not "
                    + "signed: x-amz-meta-foo\n")
            #expect(result.out.contains("x-amz-meta-foo must be signed (listed in SignedHeaders)"), "\(result.out)")
            // Without credentials the stages and the verdict are still there; the signature is not checked.
            let none = try Self.explain(request, [])
            #expect(none.status == 0, "\(none.stderr)")
            Self.expectStages(none.out, signedHeaders: "host;x-amz-content-sha256;x-amz-date")
            #expect(none.out.contains("Signature check:    not done"), "\(none.out)")
            #expect(none.out.contains("Verifier's verdict: AccessDenied (403)"), "\(none.out)")
        }

        @Test("host not signed: the stages without it, the signature does not match, and the verdict names host")
        func hostNotSigned() throws {
            let request = try Self.signed().replacingOccurrences(of: "SignedHeaders=host;", with: "SignedHeaders=")
            let result = try Self.explain(request)
            Self.expectExplained(
                result, signedHeaders: "x-amz-content-sha256;x-amz-date", check: Self.doesNotMatch,
                verdict: "AccessDenied (403): There were headers present in the request which were not "
                    + "signed: host\n")
        }

        @Test("a scope date other than X-Amz-Date's day: the string to sign with the scope's day, and the verdict says so")
        func scopeDateIsNotTheAmzDate() throws {
            let request = try Self.signed().replacingOccurrences(
                of: "Credential=AKIDEXAMPLE/20130524/", with: "Credential=AKIDEXAMPLE/20130523/")
            let result = try Self.explain(request)
            Self.expectExplained(
                result, signedHeaders: "host;x-amz-content-sha256;x-amz-date",
                scope: "20130523/us-east-1/s3/aws4_request", check: Self.doesNotMatch,
                verdict: "AuthorizationHeaderMalformed (400): The authorization header is malformed; "
                    + "Invalid credential date \"20130523\". This date is not the same as X-Amz-Date: \"20130524\".\n")
        }

        @Test("a presigned URL expired at --timestamp: the stages at its own date, the signature matches, the verdict says when it expired")
        func expiredPresignedURL() throws {
            let request = try Self.signed(["--presign", "--expires", "60"])
            let result = try Self.explain(request, Self.key + ["--timestamp", "20130524T010000Z"])
            Self.expectExplained(
                result, signedHeaders: "host",
                verdict: "AccessDenied (403): Request has expired (X-Amz-Expires 60, Expires "
                    + "20130524T000100Z, ServerTime 20130524T010000Z)\n")
            // Within its lifetime there is no verdict line: the signature check says it all.
            let valid = try Self.explain(request, Self.key + ["--timestamp", "20130524T000030Z"])
            #expect(valid.out.contains("Signature check:    matches"), "\(valid.out)")
            #expect(!valid.out.contains("Verifier's verdict"), "\(valid.out)")
        }

        /// The default policy accepts `UNSIGNED-PAYLOAD` (``VerificationPolicy/allowUnsignedPayload``):
        /// explain gives such a request no verdict line. What it refuses about a body is a body other
        /// than the one whose hash was signed, after the signature: that too had no canonical request.
        @Test("a body other than its signed x-amz-content-sha256: the signature matches over the declared hash, and the verdict is the mismatch")
        func bodyOtherThanSigned() throws {
            let unsigned = try Self.explain(try Self.signed(["-X", "PUT", "--data", "hello", "--unsigned-payload"]))
            #expect(unsigned.out.contains("6. Payload hash:     UNSIGNED-PAYLOAD"), "\(unsigned.out)")
            #expect(!unsigned.out.contains("Verifier's verdict"), "\(unsigned.out)")
            let request = try Self.signed(["-X", "PUT", "--data", "hello"])
                .replacingOccurrences(of: "hello", with: "jello")
            let result = try Self.explain(request)
            Self.expectExplained(result, signedHeaders: "host;x-amz-content-sha256;x-amz-date")
            #expect(result.out.contains("the body itself was not checked"), "\(result.out)")
            #expect(
                result.out.contains("Verifier's verdict: XAmzContentSHA256Mismatch (400): "), "\(result.out)")
        }

        @Test("a session token other than the credentials': the signature matches, the verdict is InvalidToken with a hint")
        func sessionTokenMismatch() throws {
            let request = try Self.signed(["--session-token", "TOKEN1"])
            let result = try Self.explain(request)
            Self.expectExplained(result, signedHeaders: "host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
            #expect(result.out.contains("Verifier's verdict: InvalidToken (400): "), "\(result.out)")
            #expect(result.out.contains("compare the request's X-Amz-Security-Token"), "\(result.out)")
            let same = try Self.explain(request, Self.key + ["--session-token", "TOKEN1"])
            #expect(!same.out.contains("Verifier's verdict"), "\(same.out)")
        }

        @Test("S3 rules without x-amz-content-sha256: the stages over the body's hash, the signature matches, the verdict is MissingSecurityHeader")
        func missingContentSHA256() throws {
            let request = try Self.signed(["-X", "PUT", "--data", "hello", "--no-content-sha256"])
            let result = try Self.explain(request)
            Self.expectExplained(
                result, signedHeaders: "host;x-amz-date",
                verdict: "MissingSecurityHeader (400): Your request was missing a required header "
                    + "(MissingHeaderName x-amz-content-sha256)\n")
        }

        @Test("an Authorization that cannot be parsed still fails with one line naming the refusal")
        func malformedAuthorization() throws {
            let request = try Self.signed().replacingOccurrences(of: ", SignedHeaders=", with: ", Signed=")
            let result = try Self.explain(request)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(
                result.stderr.hasPrefix(
                    "sigv4: error: the captured request cannot be explained: AuthorizationHeaderMalformed")
                    && result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
    }
}
