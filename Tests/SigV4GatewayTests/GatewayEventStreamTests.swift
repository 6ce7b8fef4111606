import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sigv4 serve` in front of a streaming service: a signed event stream (`STREAMING-AWS4-HMAC-SHA256-EVENTS`)
/// is verified message by message and forwarded as its messages, or, re-signed for the upstream, as
/// envelopes signed with the upstream's key and chained on the forwarded request's signature.
@Suite("sigv4 serve forwards signed event streams (built binary)", .serialized)
struct GatewayEventStreamTests {
    static let messages: [[UInt8]] = [
        Array("first audio\n\r\n".utf8), (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7) }, Array("last".utf8),
    ]

    /// Alice's seed request (the Go SDK's form: the payload line only, no `x-amz-content-sha256`)
    /// and its envelopes, dated now.
    static func stream(_ rig: GatewayForwardingTests.Rig, path: String, secret: String? = nil)
        throws -> (fields: [(String, String)], body: [UInt8])
    {
        let host = "127.0.0.1:\(rig.port)"
        let signer = Signer(credentials: rig.credentials, region: "us-east-1", service: "transcribe", keyCache: nil)
        let request = HTTPRequest(
            method: .post, scheme: "http", authority: host, path: path,
            headerFields: [.contentType: "application/vnd.amazon.eventstream"])
        let now = Date()
        let signed = try signer.sign(request, payload: .streamingEvents, at: AmzDate(now))
        var events = EventStreamSigner(
            credentials: Credentials(
                accessKeyID: rig.credentials.accessKeyID, secretAccessKey: secret.map { SecretAccessKey($0) } ?? rig.credentials.secretAccessKey),
            region: "us-east-1", service: "transcribe", seedSignature: signed.signature)
        let ms = Int64(now.timeIntervalSince1970 * 1000)
        var body: [UInt8] = []
        for m in messages { body += try events.sign(m, atMilliseconds: ms) }
        body += try events.signEnd(atMilliseconds: ms)
        let fields = [("Host", host)] + signed.request.headerFields.map { ($0.name.rawName, $0.value) }
        return (fields + [("Content-Length", String(body.count))], body)
    }

    /// The upstream's one recorded request: its head lines and its body (decoded from chunked framing).
    /// (The first envelope the gateway releases is the upstream's first word: it is recorded once whole.)
    static func recorded(_ rig: GatewayForwardingTests.Rig) throws -> (lines: [String], body: [UInt8]) {
        let raw = GatewayHygieneTests.file(rig.directory + "/upstream.raw")
        // The python server writes the request line with CRLF and the header lines as
        // `bytes(http.client.HTTPMessage)` does, with LF, ending with an empty line.
        let end = try #require(raw.indices.first { raw[$0...].starts(with: Array("\n\n".utf8)) }, "nothing recorded upstream")
        let head = String(decoding: raw[..<end], as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        // Long values are folded (a space that became a line break and the space): unfold them.
        var lines: [String] = []
        for line in head.split(separator: "\n") {
            if line.first == " ", !lines.isEmpty { lines[lines.count - 1] += line } else { lines.append(String(line)) }
        }
        return (lines, Array(raw[(end + 2)...]))
    }

    @Test("the verified messages go upstream as they are, chunked, without the envelopes' length, marked UNSIGNED-PAYLOAD")
    func forwardedAsMessages() throws {
        let rig = try GatewayForwardingTests.Rig()
        let (fields, body) = try Self.stream(rig, path: "/stream-transcription")
        let (status, response) = try rig.send("POST", "/stream-transcription", fields, body: body)
        #expect(status == 200, "\(response)")
        let (lines, forwarded) = try Self.recorded(rig)
        #expect(lines.first == "POST /stream-transcription HTTP/1.1")
        #expect(forwarded == Self.messages.flatMap { $0 })
        let lowercased = lines.map { $0.lowercased() }
        #expect(lowercased.contains("transfer-encoding: chunked"), "\(lines)")
        #expect(!lowercased.contains { $0.hasPrefix("content-length:") }, "\(lines)")
        #expect(lowercased.contains("x-amz-content-sha256: unsigned-payload"), "\(lines)")
        #expect(lowercased.contains("content-type: application/vnd.amazon.eventstream"), "\(lines)")
    }

    @Test("re-signed for the upstream, the stream verifies there with the upstream's key, message for message, and not with the client's")
    func resignedForTheUpstream() async throws {
        let rig = try GatewayForwardingTests.Rig(resigning: true)
        let (fields, body) = try Self.stream(rig, path: "/stream-transcription")
        let (status, response) = try rig.send("POST", "/stream-transcription", fields, body: body)
        #expect(status == 200, "\(response)")
        let (lines, forwarded) = try Self.recorded(rig)
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }.filter { $0.0.lowercased() != "transfer-encoding" } + [("Transfer-Encoding", "chunked")]
        let request = VerificationRequest(method: "POST", target: "/stream-transcription", headers: headers)
        let upstreamKey = ResolvedCredential(
            accessKeyID: "UPSTREAMKEY", secretAccessKey: SecretAccessKey(GatewayHygieneTests.upstreamSecret), principal: "upstream")
        let result = await Verifier(resolver: InMemoryCredentialResolver([upstreamKey])).verify(request, now: AmzDate(Date()))
        let verified = try #require(result.verified, "\(result.failure?.description ?? "") \(lines)")
        #expect(verified.payload == .eventStream)
        var decoder = try verified.makeEventStreamDecoder(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        var released: [[UInt8]] = []
        try decoder.feed(forwarded) { released.append($0) }
        try decoder.finish()
        #expect(released == Self.messages)
        // The client's own envelopes are not what went upstream.
        #expect(forwarded != body)
    }

    @Test("a stream whose first envelope is not the key holder's is refused, and the upstream (contacted at once, for the conversation's sake) never receives a whole request")
    func foreignStreamReachesNothing() throws {
        let rig = try GatewayForwardingTests.Rig()
        let (fields, body) = try Self.stream(rig, path: "/stream-transcription", secret: "mallory-secret-0000")
        let (status, response) = try rig.send("POST", "/stream-transcription", fields, body: body)
        // In JSON: an event-stream client speaks a JSON protocol (--error-format auto).
        #expect(status == 403 && response.lowercased().contains("x-amzn-errortype: signaturedoesnotmatch"), "\(response)")
        #expect(response.lowercased().contains("content-type: application/json"), "\(response)")
        #expect(GatewayHygieneTests.file(rig.directory + "/upstream.raw").isEmpty)
    }
}

/// A streaming client's conversation through `sigv4 serve`: the answer's head must come before the
/// client sends its first event (the AWS SDKs' Transcribe clients wait for it), and each message
/// must reach the other side while the client waits to send the next.
@Suite("sigv4 serve carries an event-stream conversation both ways (built binary)", .serialized)
struct GatewayEventStreamConversationTests {
    /// An upstream that answers at once (200, chunked) and then sends back every request chunk it
    /// reads as a response chunk, as a streaming service answers events while they come.
    static let duplexUpstream = #"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            data = self.rfile.read(size)
            self.rfile.readline()
            self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(f"upstream listening on {s.server_address[1]}", flush=True)
s.serve_forever()
"""#

    /// One HTTP/1.1 connection driven a piece at a time; the answer's body is read through its
    /// chunked framing.
    final class Conversation {
        let fd: Int32
        var received: [UInt8] = []

        init(port: UInt16) throws { fd = try RawSocket.connect(port: port, timeoutSeconds: 20) }
        deinit { close(fd) }

        func send(_ bytes: [UInt8]) {
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { return }
                sent += n
            }
        }

        /// Sends `bytes` as one chunk of a chunked request body.
        func sendChunk(_ bytes: [UInt8]) { send(Array((String(bytes.count, radix: 16) + "\r\n").utf8) + bytes + Array("\r\n".utf8)) }

        /// The answer's head, and its body decoded from chunked framing so far, with whether the
        /// last chunk came.
        var answer: (head: String, body: [UInt8], ended: Bool)? {
            guard let end = received.indices.first(where: { received[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else {
                return nil
            }
            var body: [UInt8] = []
            var i = end + 4
            while let lineEnd = received[i...].indices.first(where: { received[$0...].starts(with: Array("\r\n".utf8)) }),
                let size = Int(String(decoding: received[i..<lineEnd], as: UTF8.self), radix: 16)
            {
                if size == 0 { return (String(decoding: received[..<end], as: UTF8.self), body, true) }
                guard received.count >= lineEnd + 2 + size + 2 else { break }
                body += received[(lineEnd + 2)..<(lineEnd + 2 + size)]
                i = lineEnd + 2 + size + 2
            }
            return (String(decoding: received[..<end], as: UTF8.self), body, false)
        }

        /// Reads until `done` holds for the answer (false when the connection ends or 20 s pass first).
        func read(until done: ((head: String, body: [UInt8], ended: Bool)) -> Bool) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                if let answer, done(answer) { return true }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return false }
                received += buffer[0..<n]
            }
        }
    }

    /// The head of Alice's seed request for `path` at `port` (chunked), and her envelope signer.
    static func seed(_ credentials: Credentials, port: UInt16, path: String) throws -> (head: [UInt8], events: EventStreamSigner) {
        let host = "127.0.0.1:\(port)"
        let signer = Signer(credentials: credentials, region: "us-east-1", service: "transcribe", keyCache: nil)
        let request = HTTPRequest(
            method: .post, scheme: "http", authority: host, path: path,
            headerFields: [.contentType: "application/vnd.amazon.eventstream"])
        let signed = try signer.sign(request, payload: .streamingEvents, at: AmzDate(Date()))
        var head = "POST \(path) HTTP/1.1\r\nHost: \(host)\r\n"
        for field in signed.request.headerFields { head += "\(field.name.rawName): \(field.value)\r\n" }
        head += "Transfer-Encoding: chunked\r\n\r\n"
        let events = EventStreamSigner(
            credentials: credentials, region: "us-east-1", service: "transcribe", seedSignature: signed.signature)
        return (Array(head.utf8), events)
    }

    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    @Test("forwarding: the upstream's answer starts before the first event is sent, and each message comes back before the next is sent")
    func forwardedConversation() throws {
        let fixture = try ServeFixture(label: "eventstream-duplex")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let upstream = try GatewayHygieneTests.Child(
            "/usr/bin/env", ["python3", "-c", Self.duplexUpstream], environment: fixture.environment,
            directory: fixture.directory, name: "upstream")
        defer { upstream.stop() }
        let line = try #require(upstream.line(startingWith: "upstream listening on "), "the upstream did not start")
        let (gateway, port) = try fixture.startServe(["--upstream", "http://127.0.0.1:\(line.split(separator: " ").last ?? "")"])
        defer { gateway.stop() }
        let credentials = Credentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secret)
        let seed = try Self.seed(credentials, port: port, path: "/stream-transcription")
        var events = seed.events
        let conversation = try Conversation(port: port)
        conversation.send(seed.head)
        // Nothing of the body sent yet: the head of the answer must come.
        #expect(conversation.read { $0.head.hasPrefix("HTTP/1.1 200") }, "\(String(decoding: conversation.received, as: UTF8.self))")
        var expected: [UInt8] = []
        for message in GatewayEventStreamTests.messages {
            conversation.sendChunk(try events.sign(message, atMilliseconds: Self.nowMilliseconds))
            expected += message
            let want = expected
            #expect(conversation.read { $0.body == want }, "message \(expected.count)")
        }
        conversation.sendChunk(try events.signEnd(atMilliseconds: Self.nowMilliseconds))
        conversation.send(Array("0\r\n\r\n".utf8))
        #expect(conversation.read { $0.ended })
        #expect(conversation.answer?.body == GatewayEventStreamTests.messages.flatMap { $0 })
    }

    @Test("echo mode: answered at once, a line per verified message as it comes, the identity at the end; a bad envelope mid-stream ends the answer with its code")
    func echoConversation() throws {
        let fixture = try ServeFixture(label: "eventstream-echo")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let (gateway, port) = try fixture.startServe([])
        defer { gateway.stop() }
        let credentials = Credentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secret)
        for tampered in [false, true] {
            // Another path each time: the same request signed twice in one second is a replay.
            let seed = try Self.seed(credentials, port: port, path: "/v1/conversation-\(tampered)")
            var events = seed.events
            let conversation = try Conversation(port: port)
            conversation.send(seed.head)
            #expect(conversation.read { $0.head.hasPrefix("HTTP/1.1 200") })
            for (i, message) in GatewayEventStreamTests.messages.enumerated() {
                var envelope = try events.sign(message, atMilliseconds: Self.nowMilliseconds)
                if tampered && i == 1 { envelope[envelope.count - 5] ^= 1 }
                conversation.sendChunk(envelope)
                if tampered && i == 1 { break }
                let want = "{\"message\":\"\(i + 1)\",\"bytes\":\"\(message.count)\"}\n"
                #expect(conversation.read { String(decoding: $0.body, as: UTF8.self).hasSuffix(want) }, "message \(i + 1)")
            }
            if !tampered {
                conversation.sendChunk(try events.signEnd(atMilliseconds: Self.nowMilliseconds))
                conversation.send(Array("0\r\n\r\n".utf8))
            }
            #expect(conversation.read { $0.ended })
            let text = String(decoding: conversation.answer?.body ?? [], as: UTF8.self)
            if tampered {
                #expect(text.hasSuffix("{\"code\":\"InvalidRequest\",\"message\":\"an event-stream message's checksum is wrong\"}\n"), "\(text)")
            } else {
                #expect(text.contains("\"messages\":\"3\"") && text.contains("\"principal\":\"alice\""), "\(text)")
            }
        }
    }
}

/// A real streaming client end to end: the AWS SDK for Go v2's Transcribe streaming client (Debian
/// 12's golang-github-aws-aws-sdk-go-v2-dev, driven by `scripts/peers/go-transcribe-capture` with
/// `TRANSCRIBE_ENDPOINT`), over HTTP/2 and TLS, through `sigv4 serve` to the duplex upstream, which
/// answers each AudioEvent it receives with that event.
@Suite("the Go SDK's Transcribe streaming client through sigv4 serve over h2 (built binary)", .serialized)
struct GatewayTranscribeClientTests {
    /// The Go driver, built once (offline, GOPATH mode).
    static let driver: String? = {
        let source = Vectors.root.deletingLastPathComponent().appendingPathComponent("scripts/peers/go-transcribe-capture")
        let output = NSTemporaryDirectory() + "sigv4-go-transcribe-\(UInt32.random(in: 0...UInt32.max))"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["go", "build", "-o", output, "."]
        process.currentDirectoryURL = source
        process.environment = [
            "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": NSTemporaryDirectory(), "GO111MODULE": "off",
            "GOPATH": "/usr/share/gocode", "GOFLAGS": "", "GOCACHE": NSTemporaryDirectory() + "sigv4-gocache",
        ]
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? output : nil
    }()

    /// Runs the client against `port` with `secret`, sending chunks of `sizes` bytes: its JSON report.
    static func transcribe(port: UInt16, ca: String, accessKeyID: String, secret: String, sizes: [Int]) throws
        -> [String: Any]
    {
        let driver = try #require(Self.driver, "the Go driver did not build (golang-go, golang-github-aws-aws-sdk-go-v2-dev)")
        let result = try ChildProcess.run(
            URL(fileURLWithPath: driver), [accessKeyID, secret] + sizes.map(String.init),
            environment: [
                "TRANSCRIBE_ENDPOINT": "https://127.0.0.1:\(port)", "TRANSCRIBE_CA_FILE": ca, "HOME": NSTemporaryDirectory(),
            ])
        let data = result.stdout
        let errors = String(decoding: result.stderr, as: UTF8.self)
        if result.status != 0 { return ["exit": Int(result.status), "stderr": errors] }
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(errors)")
    }

    /// The audio in an echoed AudioEvent message (its payload).
    static func audio(_ message: [UInt8]) -> [UInt8] {
        let headersLength = Int(message[4]) << 24 | Int(message[5]) << 16 | Int(message[6]) << 8 | Int(message[7])
        return Array(message[(12 + headersLength)..<(message.count - 4)])
    }

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 0x39 ? $0 - 0x30 : ($0 | 0x20) - 0x61 + 10 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    @Test("every audio event the client sends is verified, forwarded and answered back to it; a wrong secret gets the refusal and nothing is answered")
    func goClientConversation() throws {
        let upstream = ["-c", GatewayEventStreamConversationTests.duplexUpstream]
        try TranscribeGateway.run(label: "transcribe-go", upstream: upstream) { try Self.conversation($0) }
    }

    static func conversation(_ rig: TranscribeGateway) throws {
        let (port, ca, key, gateway) = (rig.port, rig.ca, rig.key, rig.gateway)
        let sizes = [3, 0, 4096, 32_768, 1]
        let report = try transcribe(
            port: port, ca: ca, accessKeyID: key.accessKeyID, secret: key.secret, sizes: sizes)
        #expect(report["error"] as? String == "", "\(report)")
        #expect(report["sent"] as? Int == sizes.count, "\(report)")
        let events = report["events"] as? [[String: String]] ?? []
        #expect(events.map { $0["type"] } == Array(repeating: "AudioEvent", count: sizes.count), "\(report)")
        // The driver's audio: byte j of chunk i is i*31 + j*7.
        let sent = sizes.enumerated().map { i, n in (0..<n).map { j in UInt8(truncatingIfNeeded: i * 31 + j * 7) } }
        #expect(events.map { audio(bytes($0["payload_hex"] ?? "")) } == sent)
        let log = String(decoding: gateway.stdout, as: UTF8.self)
        #expect(log.contains("path=/stream-transcription") && log.contains("principal=alice") && log.contains("status=200"), "\(log)")

        let refused = try transcribe(
            port: port, ca: ca, accessKeyID: key.accessKeyID, secret: "not-the-secret-0000", sizes: [3])
        // The gateway answers a JSON-protocol client in JSON (--error-format auto): the SDK names the code.
        #expect((refused["stderr"] as? String)?.contains("SignatureDoesNotMatch") == true, "\(refused)")
    }
}

extension GatewayEventStreamConversationTests {
    @Test("--event-stream-path reads a path's requests as event streams without a declaration or Content-Type (as AWS's Python client signs them); without it the same stream is refused; a path that is not one is a usage error")
    func eventStreamPathFlag() throws {
        let fixture = try ServeFixture(label: "eventstream-path")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let credentials = Credentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secret)
        for flagged in [true, false] {
            let (gateway, port) = try fixture.startServe(flagged ? ["--event-stream-path", "/v1/custom"] : [])
            defer { gateway.stop() }
            // Signed over the empty body's hash, no x-amz-content-sha256, no Content-Type.
            let host = "127.0.0.1:\(port)"
            let request = HTTPRequest(method: .post, scheme: "http", authority: host, path: "/v1/custom")
            let signed = try Signer(credentials: credentials, region: "us-east-1", service: "custom", keyCache: nil)
                .sign(request, payload: .emptySHA256, at: AmzDate(Date()))
            var head = "POST /v1/custom HTTP/1.1\r\nHost: \(host)\r\n"
            for field in signed.request.headerFields { head += "\(field.name.rawName): \(field.value)\r\n" }
            head += "Transfer-Encoding: chunked\r\n\r\n"
            var events = EventStreamSigner(
                credentials: credentials, region: "us-east-1", service: "custom", seedSignature: signed.signature)
            let conversation = try Conversation(port: port)
            conversation.send(Array(head.utf8))
            for message in GatewayEventStreamTests.messages {
                conversation.sendChunk(try events.sign(message, atMilliseconds: Self.nowMilliseconds))
            }
            conversation.sendChunk(try events.signEnd(atMilliseconds: Self.nowMilliseconds))
            conversation.send(Array("0\r\n\r\n".utf8))
            if flagged {
                #expect(conversation.read { $0.ended })
                let text = String(decoding: conversation.answer?.body ?? [], as: UTF8.self)
                #expect(conversation.answer?.head.hasPrefix("HTTP/1.1 200") == true)
                #expect(text.contains("\"messages\":\"3\""), "\(text)")
            } else {
                // Read as an ordinary body signed as empty: refused, whatever code says so.
                #expect(conversation.read { $0.head.contains(" 403 ") || $0.head.contains(" 400 ") })
                #expect(conversation.answer?.head.hasPrefix("HTTP/1.1 200") == false)
            }
        }
        let (status, output) = try GatewayBinaryTests.run(["serve", "--listen", "127.0.0.1:0", "--event-stream-path", "v1/no-slash"])
        #expect(status == 2, "\(output)")
    }
}
