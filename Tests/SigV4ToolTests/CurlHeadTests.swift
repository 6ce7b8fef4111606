import Foundation
import Testing

extension CLITests {
    /// HEAD in the curl commands `sigv4` prints or runs. curl refuses `--head` with a body ("You can only
    /// select one HTTP request method!"), and with `-X HEAD` plus a body it sends the body, then waits for
    /// a response body a HEAD reply never has. Such a request is a usage error; a HEAD without a body is
    /// written `--head`, which curl runs.
    @Suite struct CurlHeadTests {
        static let scope = ["--region", "us-east-1", "--service", "s3"]

        static func env(home: String) -> [String: String] { CurlCommandTests.env(home: home) }

        static func expectOneLineUsageError(_ result: Tool.Result, naming words: [String]) {
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stdout.isEmpty, "\(result.out)")
            #expect(result.stderr.hasPrefix("sigv4: error: "), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            for word in words { #expect(result.stderr.contains(word), "\(result.stderr)") }
        }

        static let bodies: [[String]] = [
            ["--data", "x"], ["--data", ""], ["--data-file", "{dir}/body.txt"],
            ["--data-file", "{dir}/body.txt", "--chunked", "--output", "{dir}/body.chunked"],
            ["--data", "x", "--presign"],
        ]

        @Test(
            "sign -X HEAD with a body and --format curl is a usage error naming the conflict (exit 2, one line)",
            arguments: bodies)
        func signFormatCurlRefusesHeadWithBody(body: [String]) throws {
            let dir = try TempDir()
            _ = try dir.file("body.txt", "hello")
            let args = body.map { $0.replacingOccurrences(of: "{dir}", with: dir.path) }
            let result = try Tool.sigv4(
                ["sign", "http://127.0.0.1:9/k", "-X", "HEAD", "--format", "curl"] + args + Self.scope,
                env: Self.env(home: dir.path))
            Self.expectOneLineUsageError(result, naming: ["HEAD", "body"])
            #expect(!FileManager.default.fileExists(atPath: dir.path + "/body.chunked"))
        }

        @Test("sign -X HEAD with a body still signs in the formats that can carry it (json, http)")
        func otherFormatsStillSignHeadWithBody() throws {
            let dir = try TempDir()
            for format in ["json", "http"] {
                let result = try Tool.sigv4(
                    ["sign", "http://127.0.0.1:9/k", "-X", "HEAD", "--data", "x", "--format", format] + Self.scope,
                    env: Self.env(home: dir.path))
                #expect(result.status == 0, "\(format): \(result.stderr)")
            }
        }

        @Test(
            "sign -X HEAD --format curl without a body prints --head, and the printed command, run, sends a HEAD botocore and sigv4 verify accept"
        )
        func signFormatCurlHeadRuns() throws {
            let dir = try TempDir()
            let server = try RecordingServer(directory: dir.path)
            let printed = try Tool.sigv4(
                ["sign", server.base + "/b/k", "-X", "HEAD", "--format", "curl"] + Self.scope,
                env: Self.env(home: dir.path))
            #expect(printed.status == 0, "\(printed.stderr)")
            #expect(printed.out.contains(" --head "), "\(printed.out)")
            #expect(!printed.out.contains("-X"), "\(printed.out)")
            let ran = try Tool.run(
                "/bin/sh", ["-c", "exec " + printed.out.trimmingCharacters(in: .newlines) + " -sS -m 20"],
                env: Tool.cleanEnvironment(home: dir.path))
            #expect(ran.status == 0, "curl: \(ran.stderr)")
            let r = try #require(try server.requests().first)
            #expect(r["method"] as? String == "HEAD")
            #expect(CurlCommandTests.body(r).isEmpty)
            #expect(try server.botocoreCheck(secret: CurlCommandTests.secret).ok)
            #expect(try CurlCommandTests.verifyWithSigV4(r, token: nil, directory: dir).status == 0)
        }

        static let curlBodies: [[String]] = [
            ["-X", "HEAD", "-d", "a=1"], ["-X", "HEAD", "--json", "{}"], ["-X", "HEAD", "-T", "{dir}/body.txt"],
            ["-I", "-d", "a=1"], ["-I", "-T", "{dir}/body.txt"],
        ]

        @Test(
            "sigv4 curl: HEAD (-X HEAD or -I) with a body is a usage error (exit 2, one line) and curl never runs",
            arguments: curlBodies)
        func curlRefusesHeadWithBody(curl: [String]) throws {
            let dir = try TempDir()
            _ = try dir.file("body.txt", "hello")
            let args = curl.map { $0.replacingOccurrences(of: "{dir}", with: dir.path) }
            let result = try Tool.run(
                Tool.binary,
                ["curl"] + Self.scope + ["--curl", dir.path + "/no-curl-here", "--"] + args + ["http://127.0.0.1:1/x"],
                env: Self.env(home: dir.path))
            Self.expectOneLineUsageError(result, naming: [curl[0]])
        }

        @Test("sigv4 curl -X HEAD -G -d puts the data in the query: no body, so it is signed, not refused")
        func curlHeadWithGetDataIsAQuery() throws {
            let dir = try TempDir()
            let result = try Tool.run(
                Tool.binary,
                ["curl"] + Self.scope + ["--dry-run", "--", "-X", "HEAD", "-G", "-d", "a=1", "http://127.0.0.1:1/x"],
                env: Self.env(home: dir.path))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.contains("http://127.0.0.1:1/x?a=1"), "\(result.out)")
        }
    }
}
