import Foundation
import SigV4
import SigV4TestSupport
import Testing
import _SigV4Crypto

/// `sigv4 serve` at trace log level with operator diagnostics on, in echo mode and forwarding to an upstream
/// with re-signing: valid, replayed, tampered, unknown-key, presigned and hostile requests (10,000 headers, a
/// 1 MiB Authorization header, an aws-chunked size line claiming 4 GiB). Everything the gateway writes (stdout,
/// which carries the access log, and stderr), every response (status line, headers, body) and everything the
/// upstream receives is scanned for the client's secret, the upstream secret, the master key and the signing
/// keys derived from both secrets: none appear. Hostile requests get a 4xx or a closed connection.
@Suite("sigv4 serve secret hygiene (built binary)", .serialized)
struct GatewayHygieneTests {
    static let upstreamSecret = "uPsTrEaM/hYgIeNe+SeCrEt0123456789abcdefg"
    static let masterHex = "9a7e" + String(repeating: "5ec2", count: 15)

    enum Mode: String, CaseIterable, CustomTestStringConvertible {
        case echo, forwarding
        var testDescription: String { rawValue }
    }

    /// The key-derivation chain of `secret` for one scope (kDate, kRegion, kService, kSigning), checked
    /// against `SigningKey`: the last key must MAC exactly as the library's signing key does, so the test
    /// scans for the keys the gateway really holds.
    static func derivedKeys(_ secret: String, dateStamp: String, region: String, service: String) throws -> [(String, [UInt8])] {
        var keys: [(String, [UInt8])] = []
        var key = Array("AWS4\(secret)".utf8)
        for (name, part) in [("kDate", dateStamp), ("kRegion", region), ("kService", service), ("kSigning", "aws4_request")] {
            let digest = key.withUnsafeBytes { k in
                Array(part.utf8).withUnsafeBytes { HMACKey.authenticationCode(key: k, message: $0) }
            }
            key = digest.withUnsafeBytes { Array($0) }
            keys.append(("\(name) \(dateStamp)/\(region)/\(service)", key))
        }
        let library = SigningKey(
            secretAccessKey: SecretAccessKey(secret),
            scope: try CredentialScope(dateStamp: dateStamp, region: region, service: service))
        let probe = Array("hygiene probe".utf8)
        let ours = key.withUnsafeBytes { k in probe.withUnsafeBytes { HMACKey.authenticationCode(key: k, message: $0) } }
        let theirs = probe.withUnsafeBytes { library.mac($0) }
        #expect(ours == theirs, "the derived key chain must match SigningKey")
        return keys
    }

    /// Every spelling in which a secret, its derived keys or the master key must not appear.
    static func forbidden(secrets: [(String, String)], now: Date) throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        func spellings(_ name: String, _ bytes: [UInt8]) {
            out.append(("\(name) raw", bytes))
            out.append(("\(name) hex", Array(bytes.map { String(format: "%02x", $0) }.joined().utf8)))
            out.append(("\(name) HEX", Array(bytes.map { String(format: "%02X", $0) }.joined().utf8)))
            out.append(("\(name) base64", Array(Data(bytes).base64EncodedString().utf8)))
        }
        let seconds = Int64(now.timeIntervalSince1970)
        // Yesterday and tomorrow too: the run may cross midnight UTC, and clients sign near it.
        let dates = Set([-86_400, 0, 86_400].map { AmzDate(secondsSince1970: seconds + Int64($0)).dateStamp })
        for (who, secret) in secrets {
            out.append(("\(who) secret", Array(secret.utf8)))
            out.append(("\(who) secret base64", Array(Data(secret.utf8).base64EncodedString().utf8)))
            for date in dates.sorted() {
                for (name, key) in try derivedKeys(secret, dateStamp: date, region: "us-east-1", service: "s3") {
                    spellings("\(who) \(name)", key)
                }
            }
        }
        out.append(("master key hex", Array(masterHex.utf8)))
        out.append(("master key HEX", Array(masterHex.uppercased().utf8)))
        var master: [UInt8] = []
        var index = masterHex.startIndex
        while index < masterHex.endIndex {
            let next = masterHex.index(index, offsetBy: 2)
            master.append(UInt8(masterHex[index..<next], radix: 16) ?? 0)
            index = next
        }
        out.append(("master key raw", master))
        out.append(("master key base64", Array(Data(master).base64EncodedString().utf8)))
        return out
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    static func file(_ path: String) -> [UInt8] { FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? [] }

    /// A child process whose stdout and stderr go to files (a chatty server can never block on a full pipe).
    final class Child {
        let process = Process()
        let stdoutPath: String
        let stderrPath: String

        init(_ executable: String, _ arguments: [String], environment: [String: String], directory: String, name: String) throws {
            stdoutPath = directory + "/\(name).stdout"
            stderrPath = directory + "/\(name).stderr"
            _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.environment = environment
            process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
            process.standardError = FileHandle(forWritingAtPath: stderrPath)
            try process.run()
        }

        var stdout: [UInt8] { FileManager.default.contents(atPath: stdoutPath).map { [UInt8]($0) } ?? [] }
        var stderr: [UInt8] { FileManager.default.contents(atPath: stderrPath).map { [UInt8]($0) } ?? [] }

        /// The first stdout line starting with `prefix`, waiting up to a minute (the process may be slow to start
        /// on a loaded machine); nil when the process exits first.
        func line(startingWith prefix: String) -> String? {
            for _ in 0..<1200 {
                let text = String(decoding: stdout, as: UTF8.self)
                if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }), text.contains("\(line)\n") {
                    return String(line)
                }
                if !process.isRunning { return nil }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return nil
        }

        /// The first stdout line containing `text` (an access-log line, say), waiting up to 30 s for it
        /// (a loaded CI machine); empty when none came.
        func line(containing text: String) -> String {
            for _ in 0..<600 {
                let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
                if let line = lines.first(where: { $0.contains(text) }) { return String(line) }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return ""
        }

        /// Peak resident set size (VmHWM) while still running.
        var peakRSS: String {
            let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? "VmHWM: ?"
            return line.dropFirst("VmHWM:".count).trimmingCharacters(in: .whitespaces)
        }

        /// Whether the process has exited, waiting up to `seconds` for it (a loaded machine is slow).
        func exited(within seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            return !process.isRunning
        }

        /// Sends `signal` and waits. SIGTERM lets the gateway shut down gracefully; children spawned from a test
        /// thread may inherit a signal mask that blocks SIGTERM (python), so they get SIGKILL.
        func stop(_ signal: Int32 = SIGKILL) {
            if process.isRunning { kill(process.processIdentifier, signal) }
            process.waitUntilExit()
        }
    }

    /// A minimal upstream: answers 200 to everything and prints every request it receives as one JSON line
    /// (`{"head": target}` when its head has come, then the request once its body has been read).
    static let upstream = #"""
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_any(self):
        print(json.dumps(dict(head=self.path)), flush=True)  # the head came (the body may never end)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():  # recorded decoded
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
        print(json.dumps(dict(method=self.command, target=self.path, headers=[[k, v] for k, v in self.headers.items()], bytes=len(body))), flush=True)
        with open(sys.argv[1], "ab") as raw:
            raw.write(self.requestline.encode("latin-1") + b"\r\n" + bytes(self.headers) + body)
        reply = b"upstream ok\n"
        # The status and response headers a test asks for (a browser form's x-amz-meta-* fields reach
        # here as headers; "|" separates headers in one value).
        self.send_response(int(self.headers.get("X-Amz-Meta-Test-Status") or 200))
        self.send_header("Content-Length", str(len(reply)))
        for extra in (self.headers.get_all("X-Test-Reply") or []) + (self.headers.get_all("X-Amz-Meta-Test-Reply") or []):
            for item in extra.split("|"):
                name, value = item.split(":", 1)
                self.send_header(name.strip(), value.strip())
        self.end_headers()
        self.wfile.write(reply)
    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_any
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(f"upstream listening on {s.server_address[1]}", flush=True)
s.serve_forever()
"""#

    /// The client: botocore-signed requests and hostile ones; one JSON line per request with the whole response.
    static let client = #"""
import http.client, json, sys
import botocore.auth, botocore.awsrequest, botocore.credentials
host, port, akid, secret, dump = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
creds = botocore.credentials.Credentials(akid, secret)
def signed(method, path, body=b"", headers=None, query=False, trailer=False):
    r = botocore.awsrequest.AWSRequest(method=method, url=f"http://{host}:{port}{path}", data=body, headers=headers or {})
    if trailer:
        r.context["checksum"] = {"request_algorithm": {"in": "trailer", "algorithm": "crc32"}}
    (botocore.auth.S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=300) if query else botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1")).add_auth(r)
    p = r.prepare()
    rest = p.url.split("://", 1)[1]
    return p.method, rest[rest.index("/"):], dict(p.headers), body
def send(name, method, target, headers, body=b""):
    try:
        c = http.client.HTTPConnection(host, port, timeout=60)
        c.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        if not any(k.lower() == "host" for k, _ in headers):
            c.putheader("Host", f"{host}:{port}")
        for k, v in headers:
            if k.lower() != "content-length":
                c.putheader(k, v)
        c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        body = r.read()
        out = dict(name=name, status=r.status, bytes=len(body))
        with open(dump, "ab") as raw:
            raw.write(f"HTTP {r.status} {r.reason}\r\n".encode("latin-1"))
            raw.write("".join(f"{k}: {v}\r\n" for k, v in r.getheaders()).encode("latin-1") + b"\r\n" + body)
    except Exception as e:
        out = dict(name=name, status=0, error=type(e).__name__)
    print(json.dumps(out), flush=True)
m, t, h, b = signed("GET", "/bucket/key?x=1")
send("valid", m, t, list(h.items()), b)
send("replayed", m, t, list(h.items()), b)
m, t, h, b = signed("PUT", "/bucket/obj", b"hello world")
send("valid put", m, t, list(h.items()), b)
m, t, h, b = signed("PUT", "/bucket/obj2", b"hello world")
send("tampered body", m, t, list(h.items()), b"hello w0rld")
m, t, h, b = signed("PUT", "/bucket/obj3", b"hello world")
h2 = dict(h); h2["Authorization"] = h2["Authorization"][:-4] + ("0000" if not h2["Authorization"].endswith("0000") else "1111")
send("tampered signature", m, t, list(h2.items()), b)
m, t, h, b = signed("PUT", "/bucket/obj4", b"hello world")
h3 = dict(h); h3["Authorization"] = h3["Authorization"].replace(akid, "AKIDUNKNOWN000000000")
send("unknown key", m, t, list(h3.items()), b)
m, t, h, b = signed("GET", "/bucket/presigned", query=True)
send("presigned", m, t, list(h.items()), b)
send("presigned tampered", m, t.replace("presigned", "presigneD"), list(h.items()), b)
m, t, h, b = signed("GET", "/bucket/many")
send("10,000 headers", m, t, list(h.items()) + [(f"x-amz-meta-h{i}", "v") for i in range(10000)], b)
send("1 MiB Authorization", "GET", "/bucket/big", [("X-Amz-Date", h["X-Amz-Date"]), ("Authorization", "AWS4-HMAC-SHA256 Credential=" + "A" * (1 << 20))])
body = b"100000000\r\n" + b"x" * 64
m, t, h, b = signed("PUT", "/bucket/chunked", body, headers={"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": "4294967296", "X-Amz-Trailer": "x-amz-checksum-crc32"}, trailer=True)
send("4 GiB chunk", m, t, list(h.items()), b)
"""#

    static let expectedStatus: [String: ClosedRange<Int>] = [
        "valid": 200...200, "replayed": 403...403, "valid put": 200...200, "tampered body": 400...499,
        "tampered signature": 403...403, "unknown key": 403...403, "presigned": 200...200,
        "presigned tampered": 403...403,
    ]
    static let hostile = ["10,000 headers", "1 MiB Authorization", "4 GiB chunk"]

    @Test("the gateway at trace level never prints, returns or forwards a secret or a derived key", arguments: Mode.allCases)
    func gatewayOutputsCarryNoSecrets(mode: Mode) throws {
        let executable = GatewayBinaryTests.binary.path
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build sigv4 first (swift build)")
        let fixture = try ServeFixture(
            label: "gateway-hygiene",
            environment: ["SIGV4_UPSTREAM_SECRET_ACCESS_KEY": Self.upstreamSecret, "SIGV4_LOG_LEVEL": "trace", "LOG_LEVEL": "trace"])
        defer { fixture.remove() }
        let (directory, environment) = (fixture.directory, fixture.environment)
        let (id, secret) = try fixture.createKey(principal: "alice")

        var upstream: Child?
        var arguments = ["--log-level", "trace", "--diagnostics"]
        if mode == .forwarding {
            let server = try Child(
                "/usr/bin/env", ["python3", "-c", Self.upstream, directory + "/upstream.raw"], environment: environment,
                directory: directory, name: "upstream")
            upstream = server
            let line = try #require(server.line(startingWith: "upstream listening on "), "\(String(decoding: server.stderr, as: UTF8.self))")
            arguments += ["--upstream", "http://127.0.0.1:\(line.split(separator: " ").last ?? "")", "--upstream-access-key-id", "AKIDUPSTREAM"]
        }
        defer { upstream?.stop() }
        let (gateway, port) = try fixture.startServe(arguments)
        defer { gateway.stop() }
        let hostPort = ["127.0.0.1", String(port)]

        let client = try Child(
            "/usr/bin/env", ["python3", "-c", Self.client, String(hostPort[0]), String(hostPort[1]), id, secret, directory + "/responses.raw"],
            environment: ProcessInfo.processInfo.environment, directory: directory, name: "client")
        client.process.waitUntilExit()
        let peak = gateway.peakRSS
        let stillRunning = gateway.process.isRunning
        gateway.stop(SIGTERM)
        upstream?.stop()

        var responses: [String: Int] = [:]
        for line in String(decoding: client.stdout, as: UTF8.self).split(separator: "\n") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let name = object["name"] as? String, let status = object["status"] as? Int
            {
                responses[name] = status
            }
        }
        let clientErrors = String(decoding: client.stderr, as: UTF8.self)
        print("gateway (\(mode)): peak RSS \(peak) after the hostile requests; "
            + responses.sorted { $0.key < $1.key }.map { "\($0.key) → \($0.value)" }.joined(separator: ", "))
        #expect(stillRunning, "the gateway survived every request")
        #expect(responses.count == Self.expectedStatus.count + Self.hostile.count, "\(clientErrors.suffix(2000))")
        for (name, range) in Self.expectedStatus {
            #expect(responses[name].map(range.contains) == true, "\(name): \(responses[name] ?? -1)")
        }
        for name in Self.hostile {
            let status = responses[name] ?? -1
            #expect(status == 0 || (400..<500).contains(status), "\(name): \(status)")
        }

        let logs = gateway.stdout
        #expect(logs.count > 1000, "trace logging produced output")
        #expect(String(decoding: logs, as: UTF8.self).contains("sigv4.access"), "the access log is on stdout")
        // The gateway's log handler formats metadata only when it writes a line: the request id
        // Hummingbird sets on each request's logger must still be on the lines.
        #expect(String(decoding: logs, as: UTF8.self).contains("hb.request.id="), "per-request metadata is logged")
        var scanned: [(String, [UInt8])] = [
            ("gateway stdout", logs), ("gateway stderr", gateway.stderr), ("client output", client.stdout),
            ("responses", Self.file(directory + "/responses.raw")),
        ]
        #expect(Self.file(directory + "/responses.raw").count > 1000, "the responses were recorded")
        if let upstream {
            var forwarded: [String: Int] = [:]
            for line in String(decoding: upstream.stdout, as: UTF8.self).split(separator: "\n") {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let target = object["target"] as? String, let bytes = object["bytes"] as? Int
                {
                    forwarded[target] = bytes
                }
            }
            // Verified requests are forwarded whole. The aws-chunked upload claims a decoded length of 4 GiB, above
            // --max-buffered-body, so it would stream; but the gateway contacts the upstream only after the first
            // chunk verified, and that chunk's size line is refused: the upstream never sees the request.
            #expect(forwarded["/bucket/key?x=1"] == 0 && forwarded["/bucket/obj"] == 11 && forwarded["/bucket/presigned"] == 0)
            #expect(Set(forwarded.keys).isSubset(of: ["/bucket/key?x=1", "/bucket/obj", "/bucket/presigned"]), "only verified requests reach the upstream: \(forwarded)")
            #expect(forwarded["/bucket/chunked"] == nil, "a body refused at its first chunk never opens an upstream request")
            let received = Self.file(directory + "/upstream.raw")
            #expect(String(decoding: received, as: UTF8.self).contains("Credential=AKIDUPSTREAM/"), "the upstream got re-signed requests")
            scanned += [("upstream requests", received), ("upstream stdout", upstream.stdout), ("upstream stderr", upstream.stderr)]
        }
        let forbidden = try Self.forbidden(secrets: [("client", secret), ("upstream", Self.upstreamSecret)], now: Date())
        #expect(forbidden.count > 100)
        var findings: [String] = []
        for (what, bytes) in scanned {
            for (name, needle) in forbidden where Self.contains(bytes, needle) {
                findings.append("\(what) contain the \(name)")
            }
        }
        #expect(findings.isEmpty, "\(findings)")
    }
}
