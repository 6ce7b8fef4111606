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
}
