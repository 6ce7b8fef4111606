import Foundation
import Testing

extension CLITests {
    /// `sigv4 verify --request` and `sigv4 explain --captured` on real curl dumps
    /// (TestVectors/curl-captures, curl 7.88.1 `--aws-sigv4` with the documentation example key).
    @Suite struct CaptureCommandTests {
        static let key = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"]
        static let wrongKey = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ"]
        static let now = ["--now", "2026-12-02T09:20:00Z"]

        static func path(_ name: String) -> String {
            Tool.packageRoot.appendingPathComponent("TestVectors/curl-captures/\(name)").path
        }

        static func verify(_ args: [String], stdin: Data? = nil) throws -> (Tool.Result, [String: Any]?) {
            let dir = try TempDir()
            let result = try Tool.sigv4(["verify"] + args, env: Tool.cleanEnvironment(home: dir.path), stdin: stdin)
            return (result, try? Tool.json(result.stdout))
        }

        /// The dumps that verify as they are, with their input format and payload status.
        static let verifiable: [(String, String, String)] = [
            ("post-api.curl-trace-ascii.txt", "curl-trace", "verified"),
            ("put-s3.curl-trace-hex.txt", "curl-trace", "verified"),
            ("put-s3-unsigned.curl-verbose.txt", "curl-verbose", "unsigned"),
            ("get-s3.curl-verbose.txt", "curl-verbose", "verified"),
        ]

        @Test("a recorded curl dump verifies with the right key (exit 0)", arguments: verifiable)
        func dumpVerifies(_ name: String, _ input: String, _ payload: String) throws {
            let (result, json) = try Self.verify(["--request", Self.path(name)] + Self.now + Self.key)
            #expect(result.status == 0, "\(result.stderr) \(result.out)")
            #expect(json?["ok"] as? Bool == true)
            #expect(json?["input"] as? String == input)
            #expect(json?["payload"] as? String == payload)
            #expect(!result.out.contains("wJalrXUtnFEMI"))
        }

        /// HTTP/2 dumps (curl 7.88.1 `--http2-prior-knowledge` against nghttpd): the request line
        /// reads `HTTP/2`, the fields are curl's HTTP/2 ones (lowercase, `:authority` shown as `Host`).
        static let http2: [(String, String, String)] = [
            ("h2-get-api.curl-verbose.txt", "curl-verbose", "verified"),
            ("h2-put-api.curl-trace-hex.txt", "curl-trace", "verified"),
            ("h2-get-s3.curl-trace-ascii.txt", "curl-trace", "verified"),
        ]
        static let http2Now = ["--now", "2026-12-02T12:41:30Z"]

        @Test(
            "a real curl HTTP/2 dump (-v, --trace, --trace-ascii) verifies, says its request line was HTTP/2, and a wrong secret is refused",
            arguments: http2)
        func http2DumpVerifies(_ name: String, _ input: String, _ payload: String) throws {
            let (result, json) = try Self.verify(["--request", Self.path(name)] + Self.http2Now + Self.key)
            #expect(result.status == 0, "\(result.stderr) \(result.out)")
            #expect(json?["ok"] as? Bool == true)
            #expect(json?["input"] as? String == "\(input) (HTTP/2 request line read as HTTP/1.1)")
            #expect(json?["payload"] as? String == payload)
            let (wrong, wrongJSON) = try Self.verify(["--request", Self.path(name)] + Self.http2Now + Self.wrongKey)
            #expect(wrong.status == 1, "\(wrong.stderr)")
            #expect(wrongJSON?["code"] as? String == "SignatureDoesNotMatch")
        }

        @Test("a recorded curl dump is rejected with a wrong secret (exit 1, SignatureDoesNotMatch)", arguments: verifiable)
        func dumpRejectedWithWrongKey(_ name: String, _ input: String, _ payload: String) throws {
            let (result, json) = try Self.verify(["--request", Self.path(name)] + Self.now + Self.wrongKey)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(json?["code"] as? String == "SignatureDoesNotMatch")
        }

        @Test("the dump is read from stdin too, and --input-format names the format")
        func stdinAndExplicitFormat() throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: Self.path("post-api.curl-trace-ascii.txt")))
            let (result, _) = try Self.verify(["--request", "-", "--input-format", "curl-trace"] + Self.now + Self.key, stdin: data)
            #expect(result.status == 0, "\(result.stderr)")
            // Read as raw, a dump is not an HTTP request: the reader's error, exit 1.
            let (raw, json) = try Self.verify(["--request", "-", "--input-format", "raw"] + Self.now + Self.key, stdin: data)
            #expect(raw.status == 1)
            #expect(json?["code"] as? String == "InvalidRequest")
        }

        @Test("curl -v shows no body: without x-amz-content-sha256 it is a usage error (exit 2) naming --body")
        func verboseWithoutBodyNeedsBodyFile() throws {
            let (result, _) = try Self.verify(["--request", Self.path("post-api.curl-verbose.txt")] + Self.now + Self.key)
            #expect(result.status == 2)
            #expect(result.stderr.contains("shows no body") && result.stderr.contains("--body FILE"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.out.isEmpty)
        }

        @Test("curl -v with --body verifies; another body or key is rejected (exit 1)")
        func verboseWithBodyFile() throws {
            let dump = Self.path("post-api.curl-verbose.txt")
            let (ok, json) = try Self.verify(["--request", dump, "--body", Self.path("post-api.body.json")] + Self.now + Self.key)
            #expect(ok.status == 0, "\(ok.stderr) \(ok.out)")
            #expect(json?["payload"] as? String == "verified")
            let dir = try TempDir()
            let other = try dir.file("other.json", #"{"name":"y"}"#)
            let (bad, badJSON) = try Self.verify(["--request", dump, "--body", other] + Self.now + Self.key)
            #expect(bad.status == 1)
            #expect(badJSON?["code"] as? String == "SignatureDoesNotMatch")
            let (wrong, _) = try Self.verify(["--request", dump, "--body", Self.path("post-api.body.json")] + Self.now + Self.wrongKey)
            #expect(wrong.status == 1)
            // --body with a raw request is a usage error.
            let raw = try dir.file("raw.http", "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            let (usage, _) = try Self.verify(["--request", raw, "--body", other] + Self.now + Self.key)
            #expect(usage.status == 2)
        }

        @Test("curl -v with a declared body hash verifies the signature only, and says the body was not checked")
        func verboseDeclaredHashWarns() throws {
            // The hex trace's request, shown as curl -v would show it (header lines only).
            let dir = try TempDir()
            let trace = try String(contentsOfFile: Self.path("put-s3.curl-trace-hex.txt"), encoding: .utf8)
            var lines: [String] = []
            for line in trace.split(separator: "\n") {
                if line.hasPrefix("=> Send data") { break }
                guard line.count > 6, line.hasPrefix("0"), line.dropFirst(4).hasPrefix(": ") else { continue }
                let hex = line.dropFirst(6).prefix(48).split(separator: " ")
                lines.append(contentsOf: hex.map { String($0) })
            }
            let bytes = lines.compactMap { UInt8($0, radix: 16) }
            let head = String(decoding: bytes, as: UTF8.self)
            let verbose = "* Connected\n" + head.split(separator: "\r\n", omittingEmptySubsequences: false).dropLast()
                .map { "> " + $0 + "\r" }.joined(separator: "\n") + "\n} [11 bytes data]\n"
            let path = try dir.file("put.txt", verbose)
            let (result, json) = try Self.verify(["--request", path] + Self.now + Self.key)
            #expect(result.status == 0, "\(result.stderr) \(result.out)")
            #expect(json?["payload"] as? String == "not checked")
            #expect((json?["warning"] as? String)?.contains("shows no body") == true)
        }

        static let truncated: [(String, String)] = [
            ("curl -v cut in its header block", "* Connected\n> PUT /k HTTP/1.1\r\n> Host: h\r\n"),
            ("trace cut in its Send header block", "=> Send header, 498 bytes (0x1f2)\n0000: PUT /k HTTP/1.1\n"),
            ("trace with no request", "== Info: Trying 127.0.0.1:1...\n== Info: connect failed\n"),
        ]

        @Test("a truncated dump is a one-line usage error (exit 2), for verify and explain", arguments: truncated)
        func truncatedDumps(_ name: String, _ dump: String) throws {
            let (result, _) = try Self.verify(["--request", "-"] + Self.now + Self.key, stdin: Data(dump.utf8))
            #expect(result.status == 2, "\(name): \(result.stderr)")
            #expect(result.stderr.hasPrefix("sigv4: error: ") && result.stderr.split(separator: "\n").count == 1)
            let dir = try TempDir()
            let explain = try Tool.sigv4(
                ["explain", "--captured", "-"] + Self.key, env: Tool.cleanEnvironment(home: dir.path), stdin: Data(dump.utf8))
            #expect(explain.status == 2, "\(name): \(explain.stderr)")
        }

        static func explain(_ args: [String]) throws -> Tool.Result {
            let dir = try TempDir()
            return try Tool.sigv4(["explain"] + args, env: Tool.cleanEnvironment(home: dir.path))
        }

        @Test("explain --captured shows the request's own stages and that the signature matches the key")
        func explainCapturedMatches() throws {
            let result = try Self.explain(["--captured", Self.path("post-api.curl-trace-ascii.txt")] + Self.key)
            #expect(result.status == 0, "\(result.stderr)")
            let out = result.out
            #expect(out.contains("Captured request (curl-trace): POST /prod/items?limit=10\n"))
            #expect(out.contains("3. Canonical query:  limit=10\n"))
            #expect(out.contains("5. Signed headers:   content-type;host;x-amz-date\n"))
            #expect(out.contains("  | 20261202/us-east-1/execute-api/aws4_request\n"))
            #expect(out.contains("Signature check:    matches the one computed with AKIDEXAMPLE"), "\(out)")
            #expect(!out.contains("wJalrXUtnFEMI"))
        }

        @Test("explain --captured with another secret says it does not match; without one, it shows the stages")
        func explainCapturedMismatchAndNoKey() throws {
            let wrong = try Self.explain(["--captured", Self.path("put-s3.curl-trace-hex.txt")] + Self.wrongKey)
            #expect(wrong.status == 0, "\(wrong.stderr)")
            #expect(wrong.out.contains("Signature check:    does NOT match"), "\(wrong.out)")
            let none = try Self.explain(["--captured", Self.path("get-s3.curl-verbose.txt")])
            #expect(none.status == 0, "\(none.stderr)")
            #expect(none.out.contains("2. Canonical URI:    /examplebucket/test.txt\n"))
            #expect(none.out.contains("Signature check:    not done"))
            // A curl -v body-less POST takes its body from --data-file.
            let post = try Self.explain(
                ["--captured", Self.path("post-api.curl-verbose.txt"), "--data-file", Self.path("post-api.body.json")]
                    + Self.key)
            #expect(post.status == 0, "\(post.stderr)")
            #expect(post.out.contains("Signature check:    matches"), "\(post.out)")
            let both = try Self.explain(["https://example.amazonaws.com/", "--captured", Self.path("get-s3.curl-verbose.txt")])
            #expect(both.status == 2)
        }

        /// A raw request whose target and one header value carry a Latin-1 "é" as the byte 0xE9.
        static let latin1Request: Data = {
            var bytes = Array("GET /caf".utf8) + [0xE9] + Array("?x=1 HTTP/1.1\r\nHost: example.com\r\n".utf8)
            bytes += Array("X-Amz-Date: 20150830T123600Z\r\nX-Custom: a".utf8) + [0xE9] + Array("b\r\n".utf8)
            bytes += Array(
                ("Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                    + "SignedHeaders=host;x-amz-date;x-custom, Signature=" + String(repeating: "0", count: 64)
                    + "\r\n\r\n").utf8)
            return Data(bytes)
        }()

        @Test("explain and verify --format text show a byte that is not UTF-8 as \\xNN, as they say, not as U+FFFD")
        func bytesThatAreNotUTF8AreShownAsHex() throws {
            let dir = try TempDir()
            let env = Tool.cleanEnvironment(home: dir.path)
            let explain = try Tool.sigv4(["explain", "--captured", "-"] + Self.key, env: env, stdin: Self.latin1Request)
            #expect(explain.status == 0, "\(explain.stderr)")
            #expect(explain.out.contains("Captured request (raw): GET /caf\\xE9?x=1\n"), "\(explain.out)")
            #expect(explain.out.contains("     x-custom:a\\xE9b\n"))
            #expect(explain.out.contains("  | x-custom:a\\xE9b\n"))
            #expect(!explain.out.contains("\u{FFFD}"))
            let verify = try Tool.sigv4(
                ["verify", "--request", "-", "--now", "20150830T123600Z", "--format", "text"] + Self.key, env: env,
                stdin: Self.latin1Request)
            #expect(verify.status == 1, "\(verify.stderr)")
            #expect(verify.out.contains("\nx-custom:a\\xE9b\n"), "\(verify.out)")
            #expect(!verify.out.contains("\u{FFFD}"))
            // A server's CanonicalRequestBytes with the same byte: the two agree, byte for byte.
            let canonical = try #require(
                explain.out.split(separator: "\n").filter { $0.hasPrefix("  | ") }.map { String($0.dropFirst(4)) }
                    .split(separator: "AWS4-HMAC-SHA256").first)
            let serverBytes = canonical.joined(separator: "\n").replacingOccurrences(of: "\\xE9", with: "\u{1}")
                .utf8.map { $0 == 1 ? UInt8(0xE9) : $0 }
            let hex = serverBytes.map { String(format: "%02x", $0) }.joined(separator: " ")
            let xml = try dir.file(
                "error.xml",
                "<Error><Code>SignatureDoesNotMatch</Code><CanonicalRequestBytes>\(hex)</CanonicalRequestBytes></Error>")
            let compare = try Tool.sigv4(
                ["explain", "--captured", "-", "--compare", xml] + Self.key, env: env, stdin: Self.latin1Request)
            #expect(compare.status == 0, "\(compare.stderr)")
            #expect(compare.out.contains("Canonical request: identical to the server's."), "\(compare.out)")
        }

        @Test("explain --captured --compare diffs the server's canonical request against the captured one")
        func explainCapturedCompare() throws {
            let captured = try Self.explain(["--captured", Self.path("get-s3.curl-verbose.txt")] + Self.key)
            let canonical = captured.out.split(separator: "\n").filter { $0.hasPrefix("  | ") }.map { String($0.dropFirst(4)) }
            // The canonical request is the block before the string to sign (which starts with the algorithm).
            let end = try #require(canonical.firstIndex(of: "AWS4-HMAC-SHA256"))
            let server = canonical[..<end].joined(separator: "\n").replacingOccurrences(
                of: "/examplebucket/test.txt", with: "/examplebucket/test%2Etxt")
            let dir = try TempDir()
            let xml = try dir.file(
                "error.xml",
                "<Error><Code>SignatureDoesNotMatch</Code><CanonicalRequest>\(server)</CanonicalRequest></Error>")
            let result = try Self.explain(["--captured", Self.path("get-s3.curl-verbose.txt"), "--compare", xml] + Self.key)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.contains("- /examplebucket/test%2Etxt"), "\(result.out)")
            #expect(result.out.contains("+ /examplebucket/test.txt"))
            #expect(result.out.contains("Likely cause:"))
        }
    }

    /// `--timestamp` and `--now` in every accepted form, and one-line usage errors for the rest.
    @Suite struct TimestampFormCommandTests {
        static let key = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"]

        static func signature(_ timestamp: String) throws -> Tool.Result {
            let dir = try TempDir()
            return try Tool.sigv4(
                ["sign", "https://example.amazonaws.com/", "--region", "us-east-1", "--service", "service", "--timestamp",
                 timestamp, "--format", "json"] + key, env: Tool.cleanEnvironment(home: dir.path))
        }

        static let forms = [
            "2015-08-30T12:36:00Z", "2015-08-30T13:36:00+01:00", "2015-08-30T07:36:00-0500", "2015-08-30T12:36:00.987654Z",
            "2015-08-30T14:36:00.5+02:00", "@1440938160", "@1440938160.9",
        ]

        @Test("each --timestamp form signs exactly as 20150830T123600Z does", arguments: forms)
        func timestampForms(_ form: String) throws {
            let reference = try Tool.json(try Self.signature("20150830T123600Z").stdout)
            let result = try Self.signature(form)
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            #expect(json["signature"] as? String == reference["signature"] as? String)
            #expect(json["amz_date"] as? String == "20150830T123600Z")
        }

        static let bad = ["2015-08-30T12:36:00", "2015-08-30 12:36", "yesterday", "@", "2015-02-30T00:00:00Z", "+01:00"]

        @Test("a bad --timestamp or --now is a one-line usage error (exit 2)", arguments: bad)
        func badForms(_ text: String) throws {
            let signed = try Self.signature(text)
            #expect(signed.status == 2, "\(signed.stderr)")
            #expect(signed.stderr.split(separator: "\n").count == 1)
            #expect(signed.stderr.contains("@<unix seconds>"))
            let dir = try TempDir()
            let verified = try Tool.sigv4(
                ["verify", "--request", "-", "--now", text] + Self.key, env: Tool.cleanEnvironment(home: dir.path),
                stdin: Data("GET / HTTP/1.1\r\nHost: h\r\n\r\n".utf8))
            #expect(verified.status == 2, "\(verified.stderr)")
            #expect(verified.stderr.split(separator: "\n").count == 1)
        }

        @Test("--now with an offset verifies the request signed at the same instant")
        func nowWithOffset() throws {
            let dir = try TempDir()
            let signed = try Tool.sigv4(
                ["sign", "https://example.amazonaws.com/", "--region", "us-east-1", "--service", "service", "--timestamp",
                 "@1440938160", "--format", "http"] + Self.key, env: Tool.cleanEnvironment(home: dir.path))
            #expect(signed.status == 0, "\(signed.stderr)")
            for now in ["2015-08-30T13:36:00+01:00", "@1440938160", "2015-08-30T07:40:00-05:00"] {
                let result = try Tool.sigv4(
                    ["verify", "--request", "-", "--now", now] + Self.key, env: Tool.cleanEnvironment(home: dir.path),
                    stdin: signed.stdout)
                #expect(result.status == 0, "\(now): \(result.out)")
            }
            // One hour off (+01:00 read as UTC would be) is outside the 15-minute window.
            let off = try Tool.sigv4(
                ["verify", "--request", "-", "--now", "2015-08-30T13:36:00Z"] + Self.key,
                env: Tool.cleanEnvironment(home: dir.path), stdin: signed.stdout)
            #expect(off.status == 1)
        }
    }
}
