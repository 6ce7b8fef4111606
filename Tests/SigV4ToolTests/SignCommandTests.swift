import Foundation
import SigV4
import SigV4Verifier
import Testing

extension CLITests {
    /// `sigv4 sign` / `sigv4 presign` on the S3 documentation examples, output formats and usage errors.
    @Suite struct SignCommandTests {
        static let vectorDirectory = Tool.packageRoot.appendingPathComponent("TestVectors/s3-doc-examples")

        struct DocExample: CustomTestStringConvertible, Sendable {
            let name: String
            var testDescription: String { name }

            func load() throws -> [String: Any] {
                let data = try Data(contentsOf: SignCommandTests.vectorDirectory.appendingPathComponent("\(name).json"))
                return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            }
        }

        static let credentialFlags = [
            "--access-key-id", "AKIAIOSFODNN7EXAMPLE", "--secret-access-key",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ]

        /// `sigv4 verify --request -` of `request` at 20260101T000100Z, a minute after the
        /// `--timestamp` these tests sign at, with the test credentials (JSON verdict unless `json` is false).
        static func verify(_ request: Data, env: [String: String], json: Bool = true, extra: [String] = [])
            throws -> Tool.Result
        {
            try Tool.sigv4(
                ["verify", "--request", "-", "--now", "20260101T000100Z"] + (json ? ["--format", "json"] : []) + extra
                    + credentialFlags, env: env, stdin: request)
        }

        /// sign arguments rebuilt from a vector's input: URL, -X, every header except the ones sigv4 adds, the body.
        static func signArguments(_ vector: [String: Any]) throws -> [String] {
            let input = try #require(vector["input"] as? [String: Any])
            let host = try #require(input["host"] as? String)
            let path = try #require(input["path"] as? String)
            let query = input["query"] as? String ?? ""
            var args = ["sign", "https://\(host)\(path)\(query.isEmpty ? "" : "?" + query)"]
            args += ["-X", try #require(input["method"] as? String)]
            for pair in try #require(input["headers"] as? [[String]]) {
                let name = pair[0].lowercased()
                if ["host", "x-amz-date", "x-amz-content-sha256"].contains(name) { continue }
                args += ["-H", "\(pair[0]): \(pair[1])"]
            }
            if let payload = input["payload"] as? [String: Any], let text = payload["text"] as? String {
                args += ["--data", text]
            }
            args += [
                "--region", try #require(input["region"] as? String), "--service",
                try #require(input["service"] as? String),
            ]
            args += ["--timestamp", try #require(input["date"] as? String)]
            return args + credentialFlags
        }

        @Test("sign --sigv4a prints the v4a suite's canonical request and string to sign, and a signature that verifies")
        func sigv4aMatchesSuite() throws {
            let home = try TempDir()
            let suite = Tool.packageRoot.appendingPathComponent("TestVectors/aws-signing-test-suite/v4a/get-vanilla")
            func expected(_ file: String) throws -> String {
                try String(contentsOf: suite.appendingPathComponent(file), encoding: .utf8)
                    .trimmingCharacters(in: .newlines)
            }
            let common = [
                "https://example.amazonaws.com/", "--region", "us-east-1", "--service", "service", "--timestamp",
                "20150830T123600Z", "--access-key-id", "AKIDEXAMPLE", "--secret-access-key",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "--sigv4a", "--format", "json",
            ]
            for (extra, prefix) in [([String](), "header"), (["--presign"], "query")] {
                let result = try Tool.sigv4(["sign"] + common + extra, env: Tool.cleanEnvironment(home: home.path))
                #expect(result.status == 0, "\(result.stderr)")
                let json = try Tool.json(result.stdout)
                #expect(json["canonical_request"] as? String == (try expected("\(prefix)-canonical-request.txt")))
                #expect(json["string_to_sign"] as? String == (try expected("\(prefix)-string-to-sign.txt")))
                #expect(json["algorithm"] as? String == "AWS4-ECDSA-P256-SHA256")
                // The suite's public key is AKIDEXAMPLE's: the printed one must be it.
                let key = try #require(json["public_key"] as? [String: String])
                #expect(key["x"] == "b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1")
                #expect(key["y"] == "865ed22a7eadc9c5cb9d2cbaca1b3699139fedc5043dc6661864218330c8e518")
                #expect(!String(decoding: result.stdout, as: UTF8.self).contains("wJalrXUtnFEMI"))
            }
            // sign --sigv4a | verify: accepted, and a tampered signature is not (exit 1).
            for extra in [[String](), ["--presign"]] {
                let signed = try Tool.sigv4(
                    [
                        "sign", "http://127.0.0.1:9/bucket/key?x=1", "--region", "us-east-1", "--service", "s3",
                        "--timestamp", "20260101T000000Z", "--sigv4a", "--region-set", "us-*", "--format", "http",
                    ] + extra + Self.credentialFlags, env: Tool.cleanEnvironment(home: home.path))
                #expect(signed.status == 0, "\(signed.stderr)")
                let verdict = try Self.verify(signed.stdout, env: Tool.cleanEnvironment(home: home.path))
                #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")
                #expect(try Tool.json(verdict.stdout)["algorithm"] as? String == "AWS4-ECDSA-P256-SHA256")
                var tampered = signed.stdout
                let at = try #require(signed.out.range(of: extra.isEmpty ? "Signature=30" : "X-Amz-Signature=30"))
                let index = signed.out.utf8.distance(from: signed.out.utf8.startIndex, to: at.upperBound.samePosition(in: signed.out.utf8)!) + 4
                tampered[index] = tampered[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                let refused = try Self.verify(tampered, env: Tool.cleanEnvironment(home: home.path), json: false)
                #expect(refused.status == 1, "\(refused.out)")
            }
            for bad in [
                ["--region-set", "us-east-1"], ["--sigv4a", "--region-set", "us east"],
                ["--sigv4a", "--chunked", "--trailer", "crc32", "--unsigned-trailer", "--output", "/dev/null"],
            ] {
                let result = try Tool.sigv4(
                    ["sign", "https://b.s3.amazonaws.com/k", "--access-key-id", "AKID", "--secret-access-key", "s"] + bad,
                    env: Tool.cleanEnvironment(home: home.path))
                #expect(result.status == 2, "\(bad): \(result.stderr)")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            }
        }

        @Test(
            "sign reproduces the S3 documentation's header-auth examples",
            arguments: ["get-object-range", "put-object", "get-bucket-lifecycle", "list-objects"].map(DocExample.init))
        func signMatchesDocExample(example: DocExample) throws {
            let vector = try example.load()
            let expected = try #require(vector["expected"] as? [String: Any])
            let home = try TempDir()
            let result = try Tool.sigv4(
                try Self.signArguments(vector) + ["--format", "json"], env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            #expect(json["canonical_request"] as? String == expected["canonical_request"] as? String)
            #expect(json["string_to_sign"] as? String == expected["string_to_sign"] as? String)
            #expect(json["signature"] as? String == expected["signature"] as? String)
            #expect(json["authorization"] as? String == expected["authorization_header"] as? String)
        }

        @Test("sign --sigv4a --region-set needs no region (its scope names none); without --region-set it still does")
        func sigv4aRegionSetNeedsNoRegion() throws {
            let home = try TempDir()
            let env = Tool.cleanEnvironment(home: home.path)
            let url = "http://127.0.0.1:9/bucket/key"
            let common =
                ["sign", url, "--service", "s3", "--timestamp", "20260101T000000Z", "--sigv4a"] + Self.credentialFlags
            for extra in [[String](), ["--presign"]] {
                let signed = try Tool.sigv4(
                    common + ["--region-set", "us-*", "--format", "http", "--verbose"] + extra, env: env)
                #expect(signed.status == 0, "\(signed.stderr)")
                #expect(signed.stderr.contains("no region (SigV4a: the --region-set is signed)"), "\(signed.stderr)")
                let regionSet = extra.isEmpty ? "X-Amz-Region-Set: us-*" : "X-Amz-Region-Set=us-%2A"
                #expect(signed.out.contains(regionSet), "\(signed.out)")
                let verdict = try Self.verify(signed.stdout, env: env)
                #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")
            }
            let chunked = try Tool.sigv4(
                common + ["--region-set", "*", "-X", "PUT", "--data", "abc", "--chunked", "--output", "/dev/null"],
                env: env)
            #expect(chunked.status == 0, "\(chunked.stderr)")
            // The region set defaults to the region: without either, the region is still asked for.
            let missing = try Tool.sigv4(common, env: env)
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("cannot tell the region"), "\(missing.stderr)")
        }

        @Test("sign | verify checks an x-amz-checksum-crc32 header against the body (BadDigest when it differs)")
        func verifyChecksumHeader() throws {
            let home = try TempDir()
            // CRC-32 of "hello world" (zlib): DUoRhQ==. UNSIGNED-PAYLOAD: only the checksum covers the body.
            let signed = try Tool.sigv4(
                [
                    "sign", "http://127.0.0.1:9/bucket/hello.txt", "-X", "PUT", "--data", "hello world", "-H",
                    "x-amz-checksum-crc32: DUoRhQ==", "--unsigned-payload", "--region",
                    "us-east-1", "--service", "s3", "--timestamp", "20260101T000000Z", "--format", "http",
                ] + Self.credentialFlags, env: Tool.cleanEnvironment(home: home.path))
            #expect(signed.status == 0, "\(signed.stderr)")
            let verdict = try Self.verify(signed.stdout, env: Tool.cleanEnvironment(home: home.path))
            #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")
            #expect(try Tool.json(verdict.stdout)["checksum"] as? String == "crc32 DUoRhQ== verified")
            // The same request with the last body byte changed (its length and signature unchanged).
            var tampered = signed.stdout
            tampered[tampered.count - 1] = UInt8(ascii: "e")
            let refused = try Self.verify(tampered, env: Tool.cleanEnvironment(home: home.path))
            #expect(refused.status == 1, "\(refused.out)")
            #expect(try Tool.json(refused.stdout)["code"] as? String == "BadDigest")
        }

        @Test("sign --format headers prints the headers to add, Authorization last")
        func headersFormat() throws {
            let vector = try DocExample(name: "get-object-range").load()
            let expected = try #require(vector["expected"] as? [String: Any])
            let home = try TempDir()
            let result = try Tool.sigv4(try Self.signArguments(vector), env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0)
            let lines = result.out.split(separator: "\n").map(String.init)
            #expect(
                lines == [
                    "X-Amz-Date: 20130524T000000Z",
                    "X-Amz-Content-SHA256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                    "Authorization: \(try #require(expected["authorization_header"] as? String))",
                ])
        }

        @Test(
            "sign for an S3 Express One Zone endpoint infers us-west-2/s3express from a directory bucket's zonal host and sends the session token as x-amz-s3session-token (presigned: X-Amz-S3session-Token), never X-Amz-Security-Token"
        )
        func s3ExpressEndpoint() throws {
            let home = try TempDir()
            let url = "https://photos--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com/key.jpg"
            let base = ["sign", url, "--timestamp", "20260101T000000Z", "--session-token", "express/session+token"]
            let env = Tool.cleanEnvironment(home: home.path)
            let header = try Tool.sigv4(base + ["--format", "headers"] + Self.credentialFlags, env: env)
            #expect(header.status == 0, "\(header.stderr)")
            #expect(header.out.contains("/20260101/us-west-2/s3express/aws4_request"), "\(header.out)")
            #expect(header.out.contains("x-amz-s3session-token: express/session+token"), "\(header.out)")
            #expect(header.out.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-s3session-token,"))
            #expect(!header.out.lowercased().contains("x-amz-security-token"))
            let presigned = try Tool.sigv4(base + ["--presign"] + Self.credentialFlags, env: env)
            #expect(presigned.status == 0, "\(presigned.stderr)")
            #expect(presigned.out.contains("&X-Amz-S3session-Token=express%2Fsession%2Btoken"), "\(presigned.out)")
            #expect(!presigned.out.contains("X-Amz-Security-Token"))
        }

        @Test("sign --presign and presign give the documented presigned URL")
        func presignMatchesDocExample() throws {
            let vector = try DocExample(name: "presigned-get-object").load()
            let expected = try #require(vector["expected"] as? [String: Any])
            let query = try #require(expected["signed_query_string"] as? String)
            let url = "https://examplebucket.s3.amazonaws.com/test.txt"
            let home = try TempDir()
            let common =
                [url, "--timestamp", "20130524T000000Z", "--region", "us-east-1", "--service", "s3"]
                + Self.credentialFlags
            let viaSign = try Tool.sigv4(
                ["sign"] + common + ["--presign", "--expires", "86400"], env: Tool.cleanEnvironment(home: home.path))
            #expect(viaSign.status == 0, "\(viaSign.stderr)")
            #expect(viaSign.out == "\(url)?\(query)\n")
            let viaPresign = try Tool.sigv4(
                ["presign"] + common + ["--expires", "86400"], env: Tool.cleanEnvironment(home: home.path))
            #expect(viaPresign.out == "\(url)?\(query)\n")
            let json = try Tool.sigv4(
                ["sign"] + common + ["--presign", "--expires", "86400", "--format", "json"],
                env: Tool.cleanEnvironment(home: home.path))
            let object = try Tool.json(json.stdout)
            #expect(object["canonical_request"] as? String == expected["canonical_request"] as? String)
            #expect(object["string_to_sign"] as? String == expected["string_to_sign"] as? String)
            #expect(object["signature"] as? String == expected["signature"] as? String)
            #expect(object["url"] as? String == "\(url)?\(query)")
            #expect(object["authorization"] is NSNull)
            #expect((object["headers"] as? [Any])?.isEmpty == true)
        }

        @Test("presign takes a wss:// URL (an AWS IoT WebSocket handshake): the same query and signature as its https:// twin, the wss scheme kept, and the verifier accepts it as the handshake it is")
        func presignWebSocketURL() async throws {
            let home = try TempDir()
            func presign(_ url: String) throws -> String {
                let result = try Tool.sigv4(
                    ["presign", url, "--timestamp", "20261204T090000Z", "--region", "us-east-1", "--service", "iotdevicegateway",
                     "--expires", "300"] + Self.credentialFlags,
                    env: Tool.cleanEnvironment(home: home.path))
                #expect(result.status == 0, "\(result.stderr)")
                return result.out.trimmingCharacters(in: .newlines)
            }
            let wss = try presign("wss://abc-ats.iot.us-east-1.amazonaws.com/mqtt")
            let https = try presign("https://abc-ats.iot.us-east-1.amazonaws.com/mqtt")
            #expect(wss.hasPrefix("wss://abc-ats.iot.us-east-1.amazonaws.com/mqtt?X-Amz-Algorithm="), "\(wss)")
            #expect(wss.dropFirst("wss".count) == https.dropFirst("https".count), "\(wss)\n\(https)")
            let target = String(wss.dropFirst("wss://abc-ats.iot.us-east-1.amazonaws.com".count))
            let request = VerificationRequest(
                method: "GET", target: target,
                headers: [("Host", "abc-ats.iot.us-east-1.amazonaws.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade")])
            let verifier = Verifier(resolver: InMemoryCredentialResolver([
                ResolvedCredential(
                    accessKeyID: Self.credentialFlags[1], secretAccessKey: SecretAccessKey(Self.credentialFlags[3]),
                    principal: "device")
            ]))
            let verdict = await verifier.verify(request, payload: .body([]), now: try AmzDate(iso8601Basic: "20261204T090100Z"))
            #expect(verdict.isAccepted, "\(verdict)")
        }

        @Test("sign --format json has every documented field, headers as [name, value] pairs")
        func jsonFields() throws {
            let home = try TempDir()
            let result = try Tool.sigv4(
                [
                    "sign", "https://example.amazonaws.com/", "--region", "us-east-1", "--service", "service",
                    "--timestamp", "20150830T123600Z", "--format", "json", "--access-key-id", "AKIDEXAMPLE",
                    "--secret-access-key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                ],
                env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            for key in ["canonical_request", "string_to_sign", "signature", "authorization", "headers", "url"] {
                #expect(json[key] != nil, "missing \(key)")
            }
            // The AWS suite's get-vanilla-query case (standard rules, no x-amz-content-sha256).
            let suite = Tool.packageRoot.appendingPathComponent(
                "TestVectors/aws-signing-test-suite/v4/get-vanilla-query")
            let expected = try String(contentsOf: suite.appendingPathComponent("header-signature.txt"), encoding: .utf8)
            #expect(json["signature"] as? String == expected.trimmingCharacters(in: .whitespacesAndNewlines))
            let headers = try #require(json["headers"] as? [[String]])
            #expect(headers.map { $0[0] } == ["X-Amz-Date", "Authorization"])
            #expect(json["url"] as? String == "https://example.amazonaws.com/")
            #expect(!result.out.contains("wJalrXUtnFEMI"))
        }

        @Test("sign --format http prints the raw request with its body")
        func httpFormat() throws {
            let home = try TempDir()
            let result = try Tool.sigv4(
                [
                    "sign", "http://127.0.0.1:9/a%2Fb?x=1", "-X", "PUT", "--data", "hello", "-H",
                    "Content-Type: text/plain",
                    "--region", "us-east-1", "--service", "s3", "--timestamp", "20150830T123600Z", "--format", "http",
                ]
                    + Self.credentialFlags,
                env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0, "\(result.stderr)")
            let text = result.out
            #expect(text.hasPrefix("PUT /a%2Fb?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nContent-Type: text/plain\r\n"))
            #expect(
                text.contains(
                    "\r\nX-Amz-Content-SHA256: 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\r\n"))
            #expect(
                text.contains(
                    "\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature="
                ))
            #expect(text.hasSuffix("\r\nContent-Length: 5\r\n\r\nhello"))
        }

        @Test(
            "sign --format http | sigv4 verify --request - round-trips; a changed body is rejected",
            arguments: [
                ["http://127.0.0.1:9/a%2Fb/c?x=1&y=a+b", "-X", "PUT", "--data", "hello", "--service", "s3"],
                ["https://example.amazonaws.com/p/../q//r?b=2&a=1", "--service", "service"],
                [
                    "https://abc.execute-api.us-east-1.amazonaws.com/prod", "-X", "POST", "--data", "{\"a\":1}",
                    "-H", "Content-Type:  application/json ", "--session-token", "TOKEN/with+chars=",
                ],
            ])
        func httpRoundTripsThroughVerify(args: [String]) throws {
            let home = try TempDir()
            let env = Tool.cleanEnvironment(home: home.path)
            let signed = try Tool.sigv4(
                ["sign"] + args + ["--region", "us-east-1", "--timestamp", "20260101T000000Z", "--format", "http"]
                    + Self.credentialFlags, env: env)
            #expect(signed.status == 0, "\(signed.stderr)")
            let token = args.firstIndex(of: "--session-token").map { ["--session-token", args[$0 + 1]] } ?? []
            let verdict = try Self.verify(signed.stdout, env: env, json: false, extra: token)
            #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")
            #expect((try Tool.json(verdict.stdout))["ok"] as? Bool == true)
            if args.contains("--data") {
                var tampered = signed.stdout
                tampered[tampered.count - 1] ^= 0x01
                let rejected = try Self.verify(tampered, env: env, json: false, extra: token)
                #expect(rejected.status == 1)
            }
        }

        @Test(
            "sign --chunked --format http | sigv4 verify accepts every aws-chunked variant",
            arguments: [
                ([], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
                (["--trailer", "crc32c"], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
                (["--trailer", "sha512"], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"),
                (
                    ["--trailer", "sha256", "--unsigned-trailer", "--chunk-size", "8192"],
                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
                ),
                (
                    ["--trailer", "CRC64NVME", "--unsigned-trailer", "--chunk-size", "8192"],
                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
                ),
            ])
        func chunkedRoundTripsThroughVerify(options: [String], constant: String) throws {
            let dir = try TempDir()
            let env = Tool.cleanEnvironment(home: dir.path)
            var payload = Data(count: 150_000)
            for i in 0..<payload.count { payload[i] = UInt8(truncatingIfNeeded: i &* 31) }
            let file = dir.path + "/payload.bin"
            try payload.write(to: URL(fileURLWithPath: file))
            let signed = try Tool.sigv4(
                [
                    "sign", "http://127.0.0.1:9/bucket/key", "-X", "PUT", "--data-file", file, "--region", "us-east-1",
                    "--service", "s3", "--timestamp", "20260101T000000Z", "--chunked", "--format", "http",
                ] + options
                    + Self.credentialFlags, env: env)
            #expect(signed.status == 0, "\(signed.stderr)")
            #expect(signed.out.contains("\r\nX-Amz-Content-SHA256: \(constant)\r\n"))
            #expect(signed.out.contains("\r\nx-amz-decoded-content-length: 150000\r\n"))
            let verdict = try Self.verify(signed.stdout, env: env, json: false)
            #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")

            // --output: headers on stdout, the encoded body (of the signed Content-Length) in the file.
            let out = dir.path + "/body.aws-chunked"
            let headers = try Tool.sigv4(
                [
                    "sign", "http://127.0.0.1:9/bucket/key", "-X", "PUT", "--data-file", file, "--region", "us-east-1",
                    "--service", "s3", "--timestamp", "20260101T000000Z", "--chunked", "--output", out,
                ] + options
                    + Self.credentialFlags, env: env)
            #expect(headers.status == 0)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
            #expect(headers.out.contains("Content-Length: \(size)\n"))
            #expect(headers.out.contains("Authorization: AWS4-HMAC-SHA256 "))
        }

        /// `sigv4 argv` run from `/bin/sh -c` after `shellPrefix`, its input `redirect`, under `timeout 60` and
        /// 4 GiB of address space: one that reads without bound is stopped, not left to fill the machine.
        static func boundedRun(_ argv: [String], shellPrefix: String = "", redirect: String = "") throws
            -> Tool.Result
        {
            let dir = try TempDir()
            let words = (["/usr/bin/timeout", "60", Tool.binary] + argv + Self.credentialFlags).map { "'\($0)'" }
            return try Tool.run(
                "/bin/sh",
                ["-c", shellPrefix + "(ulimit -v 4194304; exec " + words.joined(separator: " ") + redirect + ")"],
                env: Tool.cleanEnvironment(home: dir.path))
        }

        @Test(
            "sign and presign --data-file of an endless device or pipe (/dev/zero, stdin from /dev/zero, yes |) end at once with a one-line failure (exit 1) past 64 MiB instead of reading for ever",
            arguments: [
                (["sign"], "/dev/zero", "", ""), (["sign"], "-", "", " < /dev/zero"),
                (["sign"], "/dev/stdin", "yes | ", ""), (["presign"], "/dev/zero", "", ""),
            ])
        func endlessBodyIsRefused(command: [String], file: String, prefix: String, redirect: String) throws {
            let started = Date()
            let result = try Self.boundedRun(
                command + ["http://127.0.0.1:9/b/k", "-X", "PUT", "--data-file", file, "--region", "us-east-1",
                           "--service", "s3"],
                shellPrefix: prefix, redirect: redirect)
            let seconds = Date().timeIntervalSince(started)
            #expect(result.status == 1, "exit \(result.status) after \(seconds) s: \(result.stderr)")
            #expect(result.stderr.hasPrefix("sigv4: error: --data-file '\(file)'"), "\(result.stderr)")
            #expect(result.stderr.contains("more than 64 MiB"), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.out.isEmpty, "\(result.out)")
        }

        @Test(
            "sign --sigv4a --chunked --format http | sigv4 verify accepts SigV4a aws-chunked uploads; a flipped data byte is refused",
            arguments: [[], ["--trailer", "crc32c"]])
        func sigV4aChunkedRoundTrip(options: [String]) throws {
            let dir = try TempDir()
            let env = Tool.cleanEnvironment(home: dir.path)
            let signed = try Tool.sigv4(
                [
                    "sign", "http://127.0.0.1:9/bucket/key", "-X", "PUT", "--data", String(repeating: "abc", count: 5000),
                    "--region", "us-east-1", "--service", "s3", "--timestamp", "20260101T000000Z", "--sigv4a", "--chunked",
                    "--chunk-size", "8192", "--format", "http",
                ] + options + Self.credentialFlags, env: env)
            #expect(signed.status == 0, "\(signed.stderr)")
            #expect(signed.out.contains("X-Amz-Content-SHA256: STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"))
            #expect(signed.out.contains("Authorization: AWS4-ECDSA-P256-SHA256 "))
            let verdict = try Self.verify(signed.stdout, env: env)
            #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")
            #expect(try Tool.json(verdict.stdout)["payload"] as? String == "awsChunked (15000 decoded bytes verified)")
            var tampered = signed.stdout
            let data = try #require(signed.out.range(of: "abcabc")).lowerBound
            let index = signed.out.utf8.distance(from: signed.out.utf8.startIndex, to: data.samePosition(in: signed.out.utf8)!) + 1
            tampered[index] = UInt8(ascii: "x")
            let refused = try Self.verify(tampered, env: env)
            #expect(refused.status == 1)
            #expect(try Tool.json(refused.stdout)["code"] as? String == "SignatureDoesNotMatch")
        }

        @Test("sign --chunked | verify checks an x-amz-checksum-* header against the decoded body")
        func chunkedChecksumHeader() throws {
            let dir = try TempDir()
            let env = Tool.cleanEnvironment(home: dir.path)
            // CRC-32 of "hello world" (zlib): DUoRhQ==; of "hello worle": another value.
            for (value, accepted) in [("DUoRhQ==", true), ("AAAAAA==", false)] {
                let signed = try Tool.sigv4(
                    [
                        "sign", "http://127.0.0.1:9/bucket/hello.txt", "-X", "PUT", "--data", "hello world", "-H",
                        "x-amz-checksum-crc32: \(value)", "--region", "us-east-1", "--service", "s3", "--timestamp",
                        "20260101T000000Z", "--chunked", "--chunk-size", "8192", "--format", "http",
                    ] + Self.credentialFlags, env: env)
                #expect(signed.status == 0, "\(signed.stderr)")
                let verdict = try Self.verify(signed.stdout, env: env)
                let json = try Tool.json(verdict.stdout)
                if accepted {
                    #expect(verdict.status == 0, "\(verdict.out) \(verdict.stderr)")
                    #expect(json["checksum"] as? String == "crc32 DUoRhQ== verified")
                } else {
                    #expect(verdict.status == 1)
                    #expect(json["code"] as? String == "BadDigest")
                }
            }
        }

        @Test("the URL's path and query are signed byte for byte (no re-encoding)")
        func targetIsByteExact() throws {
            let home = try TempDir()
            let result = try Tool.sigv4(
                [
                    "sign", "https://b.s3.amazonaws.com/a%2Fb/c+d/./e?z=%2F&a=b+c", "--timestamp", "20150830T123600Z",
                    "--format", "json",
                ] + Self.credentialFlags,
                env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            let lines = (json["canonical_request"] as? String ?? "").split(
                separator: "\n", omittingEmptySubsequences: false)
            #expect(lines[1] == "/a%2Fb/c%2Bd/./e")
            #expect(lines[2] == "a=b%2Bc&z=%2F")
            #expect(json["url"] as? String == "https://b.s3.amazonaws.com/a%2Fb/c+d/./e?z=%2F&a=b+c")
        }

        struct UsageCase: CustomTestStringConvertible, Sendable {
            let name: String
            let args: [String]
            let message: String
            var testDescription: String { name }
        }

        static let usageCases: [UsageCase] = [
            UsageCase(name: "missing URL", args: ["sign"], message: "url"),
            UsageCase(
                name: "unknown option", args: ["sign", "https://s3.amazonaws.com/b", "--no-such-flag"],
                message: "no-such-flag"),
            UsageCase(
                name: "no region for a non-AWS host",
                args: ["sign", "https://api.example.com/x", "--service", "execute-api"], message: "--region"),
            UsageCase(
                name: "no service for a non-AWS host",
                args: ["sign", "https://api.example.com/x", "--region", "us-east-1"], message: "--service"),
            UsageCase(
                name: "bad timestamp", args: ["sign", "https://s3.amazonaws.com/b", "--timestamp", "yesterday"],
                message: "--timestamp"),
            UsageCase(
                name: "expires out of range",
                args: ["sign", "https://s3.amazonaws.com/b", "--presign", "--expires", "604801"], message: "604800"),
            UsageCase(
                name: "bad payload hash", args: ["sign", "https://s3.amazonaws.com/b", "--payload-hash", "xyz"],
                message: "payload-hash"),
            UsageCase(
                name: "bad format", args: ["sign", "https://s3.amazonaws.com/b", "--format", "yaml"], message: "format"),
            UsageCase(
                name: "header without colon", args: ["sign", "https://s3.amazonaws.com/b", "-H", "NoColon"],
                message: "NoColon"),
            UsageCase(name: "bad URL scheme", args: ["sign", "ftp://s3.amazonaws.com/b"], message: "scheme"),
            UsageCase(name: "space in URL", args: ["sign", "https://s3.amazonaws.com/a b"], message: "percent-encode"),
            UsageCase(
                name: "half the key flags", args: ["sign", "https://s3.amazonaws.com/b", "--access-key-id", "AKID"],
                message: "--secret-access-key"),
        ]

        @Test("usage errors exit 2 with one line on stderr and no stack trace", arguments: usageCases)
        func usageErrors(usage: UsageCase) throws {
            let home = try TempDir()
            var env = Tool.cleanEnvironment(home: home.path)
            env["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
            env["AWS_SECRET_ACCESS_KEY"] = "secret"
            let result = try Tool.sigv4(
                usage.args + ["--timestamp", "20150830T123600Z"].filter { _ in !usage.args.contains("--timestamp") },
                env: env)
            #expect(result.status == 2, "stderr: \(result.stderr)")
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n")
            #expect(lines.count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("sigv4: error: "))
            #expect(result.stderr.contains(usage.message), "\(result.stderr)")
            #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack"))
        }

        @Test("--help on each signing command shows an example", arguments: ["sign", "presign", "curl", "explain"])
        func helpHasExample(command: String) throws {
            let home = try TempDir()
            let result = try Tool.sigv4([command, "--help"], env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0)
            #expect(result.out.contains("Examples:"))
            #expect(result.out.contains("sigv4 \(command)"))
        }

        @Test("shell completion scripts come from the argument parser", arguments: ["bash", "zsh", "fish"])
        func completionScript(shell: String) throws {
            let home = try TempDir()
            let result = try Tool.sigv4(
                ["--generate-completion-script", shell], env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0)
            #expect(result.out.contains("sigv4"))
            #expect(result.out.contains("presign"))
        }
    }
}
