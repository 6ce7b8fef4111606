import Foundation
import SigV4CommandLine
import Testing

extension CLITests {
    /// The curl commands `sigv4` runs or prints send the request it signed, and nothing else: a case
    /// where curl would send other bytes (a header it still sends, a host it rewrites, a `.curlrc`, a
    /// length that is not the body's, a pipe it would read again) is signed as sent or refused as a
    /// usage error (exit 2, one line).
    @Suite struct CurlSendsWhatIsSignedTests {
        static let scope = ["--region", "us-east-1", "--service", "s3"]

        static func expectUsageError(_ result: Tool.Result, naming words: [String]) {
            CurlHeadTests.expectOneLineUsageError(result, naming: words)
        }

        @Test("-H 'Name:' after -H 'Name: value' removes only curl's own header: curl still sends the value, and it is signed (botocore and sigv4 verify accept what arrived)")
        func emptyHeaderKeepsAnEarlierOne() throws {
            let r = try CurlCommandTests.roundTrip(
                signing: Self.scope,
                curl: ["-H", "X-Amz-Meta-Color: red", "-H", "X-Amz-Meta-Color:", "{base}/bucket/k"])
            let headers = (r["headers"] as? [[String]]) ?? []
            #expect(headers.contains { $0[0].lowercased() == "x-amz-meta-color" && $0[1] == "red" }, "\(headers)")
        }

        @Test("sign --format curl runs curl with -q: a ~/.curlrc that adds a header does not change the request, which verifies")
        func printedCommandIgnoresCurlrc() throws {
            let dir = try TempDir()
            let server = try RecordingServer(directory: dir.path)
            _ = try dir.file(".curlrc", "header = \"X-Amz-Request-Payer: requester\"\n")
            let printed = try Tool.sigv4(
                ["sign", server.base + "/b/k", "--format", "curl"] + Self.scope,
                env: CurlCommandTests.env(home: dir.path))
            #expect(printed.status == 0, "\(printed.stderr)")
            #expect(printed.out.hasPrefix("curl -q "), "\(printed.out)")
            let ran = try Tool.run(
                "/bin/sh", ["-c", "exec " + printed.out.trimmingCharacters(in: .newlines) + " -sS -m 20 -o /dev/null"],
                env: Tool.cleanEnvironment(home: dir.path))
            #expect(ran.status == 0, "curl: \(ran.stderr)")
            let r = try #require(try server.requests().first)
            let headers = (r["headers"] as? [[String]]) ?? []
            #expect(!headers.contains { $0[0].lowercased() == "x-amz-request-payer" }, "\(headers)")
            #expect(try CurlCommandTests.verifyWithSigV4(r, token: nil, directory: dir).status == 0)
        }

        /// Hosts curl sends rewritten (`127.1` as `127.0.0.1`, `[0:0:0:0:0:0:0:1]` as `[::1]`, `%6cocalhost`
        /// as `localhost`), look-alikes it sends as written, and hosts it refuses (exit 3), as curl 7.88.1 does.
        static let rewritten = [
            "127.1", "0x7f.0.0.1", "0177.0.0.1", "2130706433", "10.0.0.01", "1.2.3", "0x10.1",
            "0000000000000127.0.0.1", "0x0000000000000000007f.0.0.1", "[0:0:0:0:0:0:0:1]", "[::0001]",
            "[0:0:0:0:0:0:0:ABCD]", "[::1%25eth0]", "%6cocalhost", "%6Cocalhost", "local%2ehost",
        ]
        static let kept = [
            "127.0.0.1", "1.2.3.256", "300.1", "0x", "example.com", "0x-7f.0.0.1", "4294967296", "10.0.0.08",
            "[::1]", "[::ABCD]", "[::FFFF:7f00:1]", "[::ffff:127.0.0.1]",
        ]
        static let refusedByCurl = ["0x+7f.0.0.1", "+127.0.0.1", "a*b", "[1::2::3]", "[::1%25eth0123456789012]"]

        @Test("a host curl rewrites (an IPv4 address in a short, hex, octal or zero-padded form, an IPv6 address it shortens or whose zone it drops, a percent-encoded name) or refuses is refused by sign --format curl and sigv4 curl; look-alikes curl sends as written are signed; real curl sends exactly that split")
        func hostsCurlRewritesAreRefused() throws {
            let dir = try TempDir()
            let server = try RecordingServer(directory: dir.path)
            let env = CurlCommandTests.env(home: dir.path)
            for host in Self.rewritten + Self.kept + Self.refusedByCurl {
                let url = "http://\(host):9/k"
                let printed = try Tool.sigv4(["sign", url, "--format", "curl"] + Self.scope, env: env)
                let ran = try Tool.run(
                    Tool.binary, ["curl"] + Self.scope + ["--dry-run", "--", url], env: env)
                // What curl sends for the host, to the recording server.
                let before = try server.requests().count
                let sent = try Tool.run(
                    "/usr/bin/curl",
                    ["-q", "-g", "-sS", "-o", "/dev/null", "-m", "10", "--connect-to", "::127.0.0.1:\(server.port)",
                     "http://\(host):80/probe"],
                    env: Tool.cleanEnvironment(home: dir.path))
                if Self.refusedByCurl.contains(host) {
                    #expect(sent.status == 3, "\(host): curl \(sent.status) \(sent.stderr)")
                    #expect(try server.requests().count == before, "curl sent a request for \(host)")
                    Self.expectUsageError(printed, naming: ["refuses the host"])
                    Self.expectUsageError(ran, naming: ["refuses the host"])
                    continue
                }
                #expect(sent.status == 0, "\(host): \(sent.stderr)")
                let request = try #require(try server.requests().last)
                let sentHost = ((request["headers"] as? [[String]]) ?? []).first { $0[0].lowercased() == "host" }?[1]
                if Self.rewritten.contains(host) {
                    #expect(sentHost != host, "curl sent \(host) as written")
                    if case .rewritten(let expected) = try RawURL(url).curlHost {
                        #expect(sentHost == expected, "curl sent \(sentHost ?? "nothing") for \(host)")
                    }
                    Self.expectUsageError(printed, naming: ["rewrites the host"])
                    Self.expectUsageError(ran, naming: ["rewrites the host"])
                } else {
                    #expect(sentHost == host, "curl sent \(sentHost ?? "nothing") for \(host)")
                    #expect(printed.status == 0, "\(host): \(printed.stderr)")
                    #expect(ran.status == 0, "\(host): \(ran.stderr)")
                }
            }
        }

        @Test("a Content-Length of the user's that is not the body's length is a usage error; the body's own length is signed and sent")
        func contentLengthMustBeTheBodys() throws {
            let dir = try TempDir()
            let refused = try Tool.run(
                Tool.binary,
                ["curl"] + Self.scope + ["--curl", dir.path + "/no-curl-here", "--", "-H", "Content-Length: 3", "-d",
                                         "hello", "http://127.0.0.1:1/x"],
                env: CurlCommandTests.env(home: dir.path))
            Self.expectUsageError(refused, naming: ["Content-Length: 3", "5 bytes"])
            try CurlCommandTests.roundTrip(
                signing: Self.scope, curl: ["-H", "Content-Length: 5", "-d", "hello", "{base}/bucket/k"])
        }

        @Test("sigv4 curl -T with a pipe (a FIFO) is a usage error at once, where curl waited for ever to read it again")
        func uploadFromAPipeIsRefused() throws {
            let dir = try TempDir()
            let fifo = dir.path + "/pipe"
            #expect(mkfifo(fifo, 0o600) == 0)
            let result = try Tool.run(
                Tool.binary,
                ["curl"] + Self.scope + ["--curl", dir.path + "/no-curl-here", "--", "-T", fifo, "http://127.0.0.1:1/x"],
                env: CurlCommandTests.env(home: dir.path))
            Self.expectUsageError(result, naming: ["not a regular file"])
        }

        /// Writes `text` to the FIFO at `path` from another thread (the open waits for the reader).
        static func feed(_ path: String, _ text: String) {
            Thread {
                if let handle = FileHandle(forWritingAtPath: path) {
                    handle.write(Data(text.utf8))
                    try? handle.close()
                }
            }.start()
        }

        @Test("--data-binary @fifo and -d @fifo (as @<(cmd) gives) are read as curl reads them, signed and sent; over 64 MiB (@/dev/zero) is a one-line failure naming the limit")
        func dataFromAPipe() throws {
            let body = "line one\nline two\n"
            let binary = try CurlCommandTests.roundTrip(
                signing: Self.scope, curl: ["--data-binary", "@{dir}/pipe", "{base}/bucket/k"]
            ) { dir in
                #expect(mkfifo(dir.path + "/pipe", 0o600) == 0)
                Self.feed(dir.path + "/pipe", body)
            }
            #expect(CurlCommandTests.body(binary) == Data(body.utf8))
            let ascii = try CurlCommandTests.roundTrip(
                signing: Self.scope, curl: ["-d", "@{dir}/pipe", "{base}/bucket/k"]
            ) {
                dir in
                #expect(mkfifo(dir.path + "/pipe", 0o600) == 0)
                Self.feed(dir.path + "/pipe", body)
            }
            #expect(CurlCommandTests.body(ascii) == Data("line oneline two".utf8))

            // Process substitution itself: --dry-run cannot name /dev/fd/63 again (it has been read), so the
            // body is printed inline.
            let dir = try TempDir()
            let shell = try Tool.run(
                "/bin/bash",
                ["-c", "exec \"$0\" curl --region us-east-1 --service s3 --dry-run -- "
                    + "--data-binary @<(printf 'from a pipe') http://127.0.0.1:1/bucket/k", Tool.binary],
                env: CurlCommandTests.env(home: dir.path))
            #expect(shell.status == 0, "\(shell.stderr)")
            #expect(shell.out.contains("--data-raw 'from a pipe'") && !shell.out.contains("/dev/fd/"), "\(shell.out)")

            let endless = try Tool.run(
                Tool.binary,
                ["curl"] + Self.scope + ["--curl", dir.path + "/no-curl-here", "--", "--data-binary", "@/dev/zero",
                                         "http://127.0.0.1:1/x"],
                env: CurlCommandTests.env(home: dir.path))
            #expect(endless.status == 1, "\(endless.stderr)")
            #expect(
                endless.stderr.hasPrefix("sigv4: error: '/dev/zero': the pipe or device gave more than 64 MiB")
                    && endless.stderr.split(separator: "\n").count == 1, "\(endless.stderr)")
        }

        @Test("-H @fifo reads the headers from a pipe as curl does (signed and sent, as -d @fifo); a pipe over 64 MiB is a one-line failure naming the limit")
        func headersFromAPipe() throws {
            let r = try CurlCommandTests.roundTrip(
                signing: Self.scope, curl: ["-H", "@{dir}/pipe", "{base}/bucket/k"]
            ) { dir in
                #expect(mkfifo(dir.path + "/pipe", 0o600) == 0)
                Self.feed(dir.path + "/pipe", "X-Amz-Meta-Color: red\r\n\nX-Custom: from a pipe\n")
            }
            let headers = (r["headers"] as? [[String]]) ?? []
            #expect(headers.contains { $0[0].lowercased() == "x-amz-meta-color" && $0[1] == "red" }, "\(headers)")
            #expect(headers.contains { $0[0].lowercased() == "x-custom" && $0[1] == "from a pipe" }, "\(headers)")

            // A writer (another process) with more than the limit: the read stops at it, and the writer
            // gets SIGPIPE when sigv4 closes the pipe.
            let dir = try TempDir()
            let fifo = dir.path + "/pipe"
            #expect(mkfifo(fifo, 0o600) == 0)
            let over = try Tool.run(
                "/bin/bash",
                ["-c", "yes 'X-Amz-Meta-A: b' | head -c $((64 * 1024 * 1024 + 1)) > \"$1\" & exec \"$0\" curl "
                    + "--region us-east-1 --service s3 --curl \"$2\" -- -H @\"$1\" http://127.0.0.1:1/x",
                 Tool.binary, fifo, dir.path + "/no-curl-here"],
                env: CurlCommandTests.env(home: dir.path))
            #expect(over.status == 1, "\(over.stderr)")
            #expect(
                over.stderr.hasPrefix("sigv4: error: '\(fifo)': the pipe or device gave more than 64 MiB")
                    && over.stderr.split(separator: "\n").count == 1, "\(over.stderr)")
        }

        @Test("sign --chunked --data-file with a pipe declares the bytes the pipe gave (its size is 0), and the encoded body carries them")
        func chunkedBodyFromAPipe() throws {
            let dir = try TempDir()
            let fifo = dir.path + "/pipe"
            #expect(mkfifo(fifo, 0o600) == 0)
            let body = "hello through a pipe\n"
            let writer = Thread {
                if let handle = FileHandle(forWritingAtPath: fifo) {
                    handle.write(Data(body.utf8))
                    try? handle.close()
                }
            }
            writer.start()
            let result = try Tool.sigv4(
                ["sign", "http://127.0.0.1:9/b/k", "-X", "PUT", "--data-file", fifo, "--chunked", "--output",
                 dir.path + "/body.chunked", "--format", "json"] + Self.scope,
                env: CurlCommandTests.env(home: dir.path))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.contains("[\"x-amz-decoded-content-length\", \"\(body.utf8.count)\"]"), "\(result.out)")
            let encoded = try #require(FileManager.default.contents(atPath: dir.path + "/body.chunked"))
            #expect(String(decoding: encoded, as: UTF8.self).contains(body), "\(encoded.count) bytes")
        }

        @Test("sign --data-file with a directory is a one-line failure, not a crash")
        func dataFileDirectoryIsRefused() throws {
            let dir = try TempDir()
            let result = try Tool.sigv4(
                ["sign", "http://127.0.0.1:9/b/k", "--data-file", dir.path, "--format", "json"] + Self.scope,
                env: CurlCommandTests.env(home: dir.path))
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("sigv4: error: cannot read --data-file"), "\(result.stderr)")
        }

        @Test("a refused or unknown curl option is a usage error (exit 2), as is --json given twice")
        func refusedOptionsAreUsageErrors() throws {
            let dir = try TempDir()
            for args in [["-sSL"], ["--request=PUT"], ["--json", "{}", "--json", "{}"]] {
                let result = try Tool.run(
                    Tool.binary,
                    ["curl"] + Self.scope + ["--curl", dir.path + "/no-curl-here", "--"] + args + ["http://127.0.0.1:1/x"],
                    env: CurlCommandTests.env(home: dir.path))
                Self.expectUsageError(result, naming: [])
            }
        }
    }
}
