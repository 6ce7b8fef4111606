import Foundation
import Testing

extension CLITests {
    /// `sigv4 curl` against a local recording server: each request curl really sent is re-signed by
    /// botocore (`scripts/botocore-check-recorded.py`) and must carry the same signature.
    @Suite struct CurlCommandTests {
        static let keyID = "AKIDEXAMPLE"
        static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

        static func env(home: String, token: String? = nil) -> [String: String] {
            var env = Tool.cleanEnvironment(home: home)
            env["AWS_ACCESS_KEY_ID"] = keyID
            env["AWS_SECRET_ACCESS_KEY"] = secret
            if let token { env["AWS_SESSION_TOKEN"] = token }
            return env
        }

        /// Runs `sigv4 curl <signing> -- -sS <curl>` and checks the recorded request with botocore
        /// (SigV4; botocore has no SigV4a signer to re-sign with) and `sigv4 verify`.
        @discardableResult
        static func roundTrip(
            signing: [String] = ["--region", "us-east-1", "--service", "execute-api"], curl: [String],
            stdin: Data? = nil, token: String? = nil, checkWithBotocore: Bool = true,
            files: (TempDir) throws -> Void = { _ in }
        ) throws -> [String: Any] {
            let dir = try TempDir()
            try files(dir)
            let server = try RecordingServer(directory: dir.path)
            let curlArgs = curl.map {
                $0.replacingOccurrences(of: "{base}", with: server.base).replacingOccurrences(
                    of: "{dir}", with: dir.path)
            }
            let result = try Tool.run(
                Tool.binary, ["curl"] + signing + ["--", "-sS"] + curlArgs, env: env(home: dir.path, token: token),
                stdin: stdin,
                cwd: dir.path)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out == "{\"ok\":true}\n")
            let requests = try server.requests()
            #expect(requests.count == 1)
            if checkWithBotocore {
                let check = try server.botocoreCheck(secret: secret)
                #expect(check.ok, "botocore disagrees: \(check.lines)")
                #expect(check.lines.count == 1)
            }
            let request = try #require(requests.first)
            let verdict = try verifyWithSigV4(request, token: token, directory: dir)
            #expect(verdict.status == 0, "sigv4 verify rejected it: \(verdict.out) \(verdict.stderr)")
            return request
        }

        /// Rebuilds the recorded request as raw HTTP/1.1 and runs `sigv4 verify` on it at its own X-Amz-Date.
        static func verifyWithSigV4(_ request: [String: Any], token: String?, directory: TempDir) throws -> Tool.Result
        {
            var raw = Data(
                "\(request["method"] as? String ?? "") \(request["target"] as? String ?? "") HTTP/1.1\r\n".utf8)
            for pair in (request["headers"] as? [[String]]) ?? [] { raw += Data("\(pair[0]): \(pair[1])\r\n".utf8) }
            raw += Data("\r\n".utf8)
            raw += body(request)
            let file = directory.path + "/captured-\(UUID().uuidString).http"
            try raw.write(to: URL(fileURLWithPath: file))
            let date = try #require(header(request, "x-amz-date").first)
            var args = [
                "verify", "--request", file, "--access-key-id", keyID, "--secret-access-key", secret, "--now", date,
            ]
            if let token { args += ["--session-token", token] }
            return try Tool.sigv4(args, env: Tool.cleanEnvironment(home: directory.path))
        }

        static func header(_ request: [String: Any], _ name: String) -> [String] {
            ((request["headers"] as? [[String]]) ?? []).filter { $0[0].lowercased() == name }.map { $0[1] }
        }

        static func body(_ request: [String: Any]) -> Data {
            Data(base64Encoded: request["body_b64"] as? String ?? "") ?? Data()
        }

        @Test("GET with a query string")
        func getWithQuery() throws {
            let r = try Self.roundTrip(curl: ["{base}/prod/items?limit=10&name=a%20b&empty="])
            #expect(r["method"] as? String == "GET")
            #expect(r["target"] as? String == "/prod/items?limit=10&name=a%20b&empty=")
        }

        @Test("POST -d joins the parts with & and signs the form Content-Type curl sends")
        func postData() throws {
            let r = try Self.roundTrip(curl: ["-d", "a=1", "--data", "b=2", "--data-raw", "@c", "{base}/form"])
            #expect(r["method"] as? String == "POST")
            #expect(Self.body(r) == Data("a=1&b=2&@c".utf8))
            #expect(Self.header(r, "content-type") == ["application/x-www-form-urlencoded"])
            #expect(Self.header(r, "authorization").first?.contains("content-type;host;x-amz-date") == true)
        }

        @Test("--data-binary @file sends and signs the file's exact bytes; -d @file strips newlines")
        func dataFromFiles() throws {
            let bytes = Data([0x00, 0x0a, 0x0d, 0xff, 0x41, 0x0a])
            let r = try Self.roundTrip(curl: ["--data-binary", "@{dir}/bin.dat", "-X", "PATCH", "{base}/bin"]) { dir in
                try bytes.write(to: URL(fileURLWithPath: dir.path + "/bin.dat"))
            }
            #expect(r["method"] as? String == "PATCH")
            #expect(Self.body(r) == bytes)
            let r2 = try Self.roundTrip(curl: ["-d", "@{dir}/lines.txt", "{base}/lines"]) { dir in
                _ = try dir.file("lines.txt", "x=1\r\ny=2\n")
            }
            #expect(Self.body(r2) == Data("x=1y=2".utf8))
        }

        @Test("stdin (-d @-) is read once and passed on to curl")
        func dataFromStdin() throws {
            let r = try Self.roundTrip(curl: ["--data-binary", "@-", "{base}/stdin"], stdin: Data("from stdin\n".utf8))
            #expect(Self.body(r) == Data("from stdin\n".utf8))
        }

        @Test("PUT -T of 10 MiB is hashed in a streaming pass (S3 rules, x-amz-content-sha256)")
        func uploadTenMiB() throws {
            var blob = Data(count: 10 << 20)
            blob.withUnsafeMutableBytes { raw in
                for i in 0..<raw.count { raw[i] = UInt8(truncatingIfNeeded: i &* 2654435761 >> 13) }
            }
            let r = try Self.roundTrip(
                signing: ["--region", "us-east-1", "--service", "s3"],
                curl: ["-T", "{dir}/big.bin", "{base}/bucket/big.bin"]
            ) { dir in try blob.write(to: URL(fileURLWithPath: dir.path + "/big.bin")) }
            #expect(r["method"] as? String == "PUT")
            #expect(Self.body(r).count == 10 << 20)
            #expect(Self.header(r, "x-amz-content-sha256") == [r["body_sha256"] as? String ?? "?"])
        }

        @Test("-T with --chunked --trailer sends a signed aws-chunked body that sigv4 verify accepts")
        func uploadChunked() throws {
            let payload = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let r = try Self.roundTrip(
                signing: ["--region", "us-east-1", "--service", "s3", "--chunked", "--trailer", "crc32c"],
                curl: ["-T", "{dir}/f.bin", "{base}/bucket/f.bin"]
            ) { dir in try payload.write(to: URL(fileURLWithPath: dir.path + "/f.bin")) }
            #expect(Self.header(r, "x-amz-content-sha256") == ["STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"])
            #expect(Self.header(r, "content-encoding") == ["aws-chunked"])
            #expect(Self.header(r, "x-amz-decoded-content-length") == ["100000"])
            #expect(Self.body(r).count > 100_000)
        }

        @Test("--sigv4a signs with AWS4-ECDSA-P256-SHA256 (a GET, and a -T --chunked upload with ECDSA chunk signatures) that sigv4 verify accepts")
        func sigV4a() throws {
            let get = try Self.roundTrip(
                signing: ["--region", "us-east-1", "--service", "s3", "--sigv4a", "--region-set", "us-east-1,us-west-2"],
                curl: ["{base}/bucket/k?x=1"], checkWithBotocore: false)
            #expect(Self.header(get, "authorization").first?.hasPrefix("AWS4-ECDSA-P256-SHA256 Credential=AKIDEXAMPLE/") == true)
            #expect(Self.header(get, "x-amz-region-set") == ["us-east-1,us-west-2"])
            // With a region set, no region is needed: the host (127.0.0.1) names none.
            let noRegion = try Self.roundTrip(
                signing: ["--service", "s3", "--sigv4a", "--region-set", "*"], curl: ["{base}/bucket/k"],
                checkWithBotocore: false)
            #expect(Self.header(noRegion, "x-amz-region-set") == ["*"])
            let payload = Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
            let upload = try Self.roundTrip(
                signing: ["--region", "us-east-1", "--service", "s3", "--sigv4a", "--chunked", "--chunk-size", "16384"],
                curl: ["-T", "{dir}/f.bin", "{base}/bucket/f.bin"], checkWithBotocore: false
            ) { dir in try payload.write(to: URL(fileURLWithPath: dir.path + "/f.bin")) }
            #expect(Self.header(upload, "x-amz-content-sha256") == ["STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"])
            #expect(Self.header(upload, "x-amz-decoded-content-length") == ["40000"])
        }

        @Test("-T with --unsigned-payload signs UNSIGNED-PAYLOAD")
        func uploadUnsigned() throws {
            let r = try Self.roundTrip(
                signing: ["--region", "us-east-1", "--service", "s3", "--unsigned-payload"],
                curl: ["-T", "{dir}/f.txt", "{base}/bucket/f.txt"]
            ) { dir in _ = try dir.file("f.txt", "payload") }
            #expect(Self.header(r, "x-amz-content-sha256") == ["UNSIGNED-PAYLOAD"])
        }

        @Test("-G with --data-urlencode moves the encoded data into the query")
        func getWithDataURLEncode() throws {
            let r = try Self.roundTrip(curl: [
                "-G", "--data-urlencode", "q=a b/c+d", "--data-urlencode", "x@{dir}/v.txt", "-d", "n=1",
                "{base}/search?p=1",
            ]) { dir in
                _ = try dir.file("v.txt", "é!")
            }
            #expect(r["method"] as? String == "GET")
            #expect(r["target"] as? String == "/search?p=1&q=a%20b%2Fc%2Bd&x=%C3%A9%21&n=1")
            #expect(Self.body(r).isEmpty)
        }

        @Test("custom headers with odd spacing, repeated names, an empty header (Name;) and -H @file")
        func oddHeaders() throws {
            let r = try Self.roundTrip(curl: [
                "-H", "X-Custom:    spaced    value   ", "-H", "X-Dup: one", "-H", "x-dup: two", "-H", "X-Empty;",
                "-H", "@{dir}/headers.txt", "-H", "Accept:", "{base}/h",
            ]) { dir in _ = try dir.file("headers.txt", "X-From-File: f1\r\nX-Other:  f2\n") }
            let auth = Self.header(r, "authorization").first ?? ""
            #expect(auth.contains("SignedHeaders=host;x-amz-date;x-custom;x-dup;x-empty;x-from-file;x-other,"))
            #expect(Self.header(r, "accept").isEmpty)
        }

        @Test("--json sets the JSON headers and signs the body")
        func jsonBody() throws {
            let r = try Self.roundTrip(curl: ["--json", "{\"a\": 1}", "{base}/j"])
            #expect(Self.header(r, "content-type") == ["application/json"])
            #expect(Self.header(r, "accept") == ["application/json"])
            #expect(Self.body(r) == Data("{\"a\": 1}".utf8))
        }

        @Test("-I sends a signed HEAD; -u supplies the key like curl --aws-sigv4")
        func headAndUser() throws {
            let dir = try TempDir()
            let server = try RecordingServer(directory: dir.path)
            let result = try Tool.run(
                Tool.binary,
                [
                    "curl", "--region", "us-east-1", "--service", "s3", "--", "-sS", "-I", "-u",
                    "\(Self.keyID):\(Self.secret)", server.base + "/b/k",
                ],
                env: Tool.cleanEnvironment(home: dir.path))
            #expect(result.status == 0, "\(result.stderr)")
            let r = try #require(try server.requests().first)
            #expect(r["method"] as? String == "HEAD")
            #expect(
                Self.header(r, "authorization").first?.hasPrefix("AWS4-HMAC-SHA256 Credential=\(Self.keyID)/") == true)
            #expect(try server.botocoreCheck(secret: Self.secret).ok)
            #expect(try Self.verifyWithSigV4(r, token: nil, directory: dir).status == 0)
        }

        @Test("a session token is sent and signed")
        func sessionToken() throws {
            let r = try Self.roundTrip(curl: ["{base}/t"], token: "FQoGZXIvYXdzEXAMPLE//token+with/chars=")
            #expect(Self.header(r, "x-amz-security-token") == ["FQoGZXIvYXdzEXAMPLE//token+with/chars="])
            #expect(Self.header(r, "authorization").first?.contains("x-amz-security-token") == true)
        }

        @Test("--data-urlencode splits at the first '=' before looking for '@', as curl does ('a@b=c' is name and content, not a file)")
        func dataURLEncodeNameWithAt() throws {
            let dir = try TempDir()
            _ = try dir.file("example.com=hi there", "not this file")
            _ = try dir.file("v.txt", "é")
            let printed = try Tool.run(
                Tool.binary,
                [
                    "curl", "--region", "us-east-1", "--service", "execute-api", "--dry-run", "--",
                    "--data-urlencode", "to@example.com=hi there", "--data-urlencode", "file@v.txt", "http://127.0.0.1:9/p",
                ],
                env: Self.env(home: dir.path), cwd: dir.path)
            #expect(printed.status == 0, "\(printed.stderr)")
            #expect(printed.out.contains(" --data-raw 'to@example.com=hi%20there&file=%C3%A9' "), "\(printed.out)")
        }

        @Test("--dry-run prints a shell command that, run as is, sends a request botocore accepts")
        func dryRunIsRunnable() throws {
            let dir = try TempDir()
            let server = try RecordingServer(directory: dir.path)
            let printed = try Tool.run(
                Tool.binary,
                [
                    "curl", "--region", "us-east-1", "--service", "execute-api", "--dry-run", "--", "-sS", "-X", "PUT",
                    "-H", "X-Note: it's quoted", "--data-raw", "body with 'quotes' and $dollar", server.base + "/d?x=1",
                ],
                env: Self.env(home: dir.path))
            #expect(printed.status == 0, "\(printed.stderr)")
            #expect(printed.out.hasPrefix("curl -q "))
            #expect(try server.requests().isEmpty)
            let ran = try Tool.run("/bin/sh", ["-c", printed.out], env: Tool.cleanEnvironment(home: dir.path))
            #expect(ran.status == 0, "\(ran.stderr)")
            let r = try #require(try server.requests().first)
            #expect(Self.body(r) == Data("body with 'quotes' and $dollar".utf8))
            #expect(r["method"] as? String == "PUT")
            let check = try server.botocoreCheck(secret: Self.secret)
            #expect(check.ok, "\(check.lines)")
            #expect(try Self.verifyWithSigV4(r, token: nil, directory: dir).status == 0)
        }

        @Test("--presign prints a URL and runs nothing")
        func presignPrintsURL() throws {
            let dir = try TempDir()
            let result = try Tool.run(
                Tool.binary,
                [
                    "curl", "--presign", "--expires", "600", "--timestamp", "20130524T000000Z", "--",
                    "https://examplebucket.s3.amazonaws.com/test.txt",
                ],
                env: Self.env(home: dir.path))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(
                result.out.hasPrefix(
                    "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&"
                ))
            #expect(result.out.contains("X-Amz-Expires=600"))
        }

        @Test("region and service come from *.amazonaws.com hosts; otherwise the error names the flag")
        func regionInference() throws {
            let dir = try TempDir()
            let inferred = try Tool.run(
                Tool.binary,
                [
                    "curl", "--dry-run", "--timestamp", "20260101T000000Z", "--",
                    "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/x",
                ],
                env: Self.env(home: dir.path))
            #expect(inferred.out.contains("/20260101/eu-west-1/execute-api/aws4_request"))
            let missing = try Tool.run(
                Tool.binary, ["curl", "--", "http://127.0.0.1:1/x"], env: Self.env(home: dir.path))
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("--region"))
        }

        static let refusedOptions: [[String]] = [
            ["-F", "a=b"], ["--form", "a=@f"], ["-L"], ["--location"], ["--aws-sigv4", "aws:amz:us-east-1:s3"],
            ["-K", "cfg"], ["--config", "cfg"], ["--next"], ["--url-query", "a=b"], ["--request-target", "*"],
            ["--digest"], ["--ntlm"], ["--negotiate"], ["--basic"], ["--anyauth"], ["--oauth2-bearer", "t"],
            ["-C", "10"], ["--continue-at", "-"], ["-z", "file"], ["--variable", "a=b"], ["--http1.0"], ["--http3"],
            ["-n"], ["--netrc"], ["-Z"], ["--tr-encoding"], ["--proxy-header", "a: b"], ["--unix-socket", "/s"],
            ["-sSL"], ["--some-future-option"], ["--ftp-pasv"], ["-j"], ["-J"], ["--post301"],
        ]

        @Test("unsupported curl options are refused (a usage error: exit 2, one line) and curl never runs", arguments: refusedOptions)
        func refusesUnsupportedOption(option: [String]) throws {
            let dir = try TempDir()
            let result = try Tool.run(
                Tool.binary,
                ["curl", "--region", "us-east-1", "--service", "s3", "--curl", dir.path + "/no-curl-here", "--"]
                    + option
                    + ["http://127.0.0.1:1/x"], env: Self.env(home: dir.path))
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("is not supported"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stdout.isEmpty)
        }

        static let conflicting: [[String]] = [
            ["-H", "Authorization: Bearer x"], ["-H", "X-Amz-Date: 20200101T000000Z"], ["-I", "-d", "a=1"],
            ["-T", "f", "-d", "x"], ["--json", "{}", "-d", "x"], ["http://127.0.0.1:1/other"], ["-H", "Host:"],
            ["-H", "x-amz-content-sha256: 0000000000000000000000000000000000000000000000000000000000000000"],
        ]

        @Test("requests sigv4 would sign wrongly are usage errors", arguments: conflicting)
        func refusesConflicts(args: [String]) throws {
            let dir = try TempDir()
            let result = try Tool.run(
                Tool.binary,
                ["curl", "--region", "us-east-1", "--service", "s3", "--curl", dir.path + "/no-curl-here", "--"] + args
                    + ["http://127.0.0.1:1/x"], env: Self.env(home: dir.path))
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("sigv4: error: "))
            #expect(result.stdout.isEmpty)
        }
    }
}
