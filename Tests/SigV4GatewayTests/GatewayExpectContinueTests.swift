import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// When `sigv4 serve` answers `Expect: 100-continue`: only once the request has passed what can be
/// checked without its body, so a refused client never sends the body (as Go's servers, MinIO's
/// among them, answer it on the body's first read). Raw HTTP/1.1 over a socket, so the test sees
/// every interim response and when the gateway closes the connection.
@Suite("sigv4 serve: Expect: 100-continue (built binary)", .serialized)
struct GatewayExpectContinueTests {
    /// Sends `bytes` on `fd`.
    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Reads from `fd` until a response head has come whole (up to its blank line), the peer closed,
    /// or the socket's read timeout passed.
    static func readHead(_ fd: Int32) -> String {
        var out: [UInt8] = []
        var byte: UInt8 = 0
        while !out.suffix(4).elementsEqual("\r\n\r\n".utf8) {
            guard recv(fd, &byte, 1, 0) == 1 else { break }
            out.append(byte)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True when the peer closes `fd` (a read gives end of file) before the socket's read timeout.
    static func closedByPeer(_ fd: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }

    /// Everything `fd` receives until the peer closes it (or the socket's read timeout passes; then
    /// `closed` is false).
    static func readAll(_ fd: Int32) -> (text: String, closed: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return (String(decoding: out, as: UTF8.self), n == 0) }
            out += buffer[0..<n]
        }
    }

    /// A signer for S3 in us-east-1 with this key id and secret.
    static func signer(_ accessKeyID: String, _ secret: String) -> Signer {
        Signer(
            credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secret), region: "us-east-1",
            service: "s3", keyCache: nil)
    }

    /// The head of a `PUT target` signed by `signer` for `body`, asking `Expect: 100-continue`.
    static func head(
        _ rig: GatewayForwardingTests.Rig, _ target: String, body: [UInt8], by signer: Signer? = nil,
        expect: String = "Expect: 100-continue\r\n"
    ) throws -> [UInt8] {
        let fields = try rig.signed(
            .put, target, [.contentLength: String(body.count)], payload: .sha256(of: body), by: signer)
        var head = "PUT \(target) HTTP/1.1\r\n"
        for (name, value) in fields { head += "\(name): \(value)\r\n" }
        return Array((head + expect + "\r\n").utf8)
    }

    @Test("a verified upload gets 100 Continue after its head and is answered once the body it then sends has come; the upstream stores that body")
    func verifiedUploadGetsContinue() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = Array("continued body".utf8)
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        Self.write(fd, try Self.head(rig, "/bucket/continued", body: body))
        let interim = Self.readHead(fd)
        #expect(interim.hasPrefix("HTTP/1.1 100 "), "\(interim)")
        Self.write(fd, body)
        let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 200 "), "\(response)")
        let stored = try #require(rig.upstreamRequest("/bucket/continued"), "\(rig.received)")
        #expect(stored.contains("continued body"), "\(stored)")
    }

    @Test("an upload refused on its head (a wrong secret: SignatureDoesNotMatch; an unknown key: InvalidAccessKeyId) gets its 403 with no 100 Continue before it and Connection: close, and the gateway closes the connection without waiting for the body the client was told not to send; nothing reaches the upstream")
    func refusedUploadGetsNoContinue() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = Array("never sent".utf8)
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        let unknownKey = Self.signer("AKIDUNKNOWNUNKNOWN00", "whatever")
        for (signer, code) in [(wrongSecret, "SignatureDoesNotMatch"), (unknownKey, "InvalidAccessKeyId")] {
            let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
            defer { close(fd) }
            Self.write(fd, try Self.head(rig, "/bucket/refused", body: body, by: signer))
            let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
            #expect(response.hasPrefix("HTTP/1.1 403 "), "\(code): \(response)")
            #expect(response.contains("<Code>\(code)</Code>"), "\(response)")
            #expect(response.lowercased().contains("\r\nconnection: close\r\n"), "\(response)")
            // Within the socket's 10 s read timeout; the gateway's idle timeout is 60 s.
            #expect(Self.closedByPeer(fd), "\(code): the gateway kept the connection open for the body")
        }
        #expect(rig.requests.isEmpty, "\(rig.received)")
    }

    @Test("a client that sends its body without waiting for 100 Continue is answered as before: refused, its body read and the connection kept for the next request; accepted, stored")
    func clientThatDoesNotWait() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = Array("sent at once".utf8)
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        Self.write(fd, try Self.head(rig, "/bucket/eager-refused", body: body, by: wrongSecret) + body)
        let refused = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(refused.hasPrefix("HTTP/1.1 403 "), "\(refused)")
        #expect(refused.contains("<Code>SignatureDoesNotMatch</Code>"), "\(refused)")
        #expect(!refused.lowercased().contains("\r\nconnection: close\r\n"), "\(refused)")
        // The same connection carries the next request.
        Self.write(fd, try Self.head(rig, "/bucket/eager", body: body) + body)
        let accepted = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(accepted.hasPrefix("HTTP/1.1 200 ") || accepted.hasPrefix("HTTP/1.1 100 "), "\(accepted)")
        let stored = try #require(rig.upstreamRequest("/bucket/eager"), "\(rig.received)")
        #expect(stored.contains("sent at once"), "\(stored)")
        #expect(rig.upstreamRequest("/bucket/eager-refused") == nil, "\(rig.received)")
    }

    @Test("pipelined requests: the 100 Continue owed and the connection close concern only the request that asked: a GET and, behind it on the same connection, a refused upload asking Expect: 100-continue are answered in order, the GET's answer without Connection: close, and the connection is closed after the upload's 403")
    func pipelinedRequests() throws {
        let rig = try GatewayForwardingTests.Rig()
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        var first = "GET /bucket/first HTTP/1.1\r\n"
        for (name, value) in try rig.signed(.get, "/bucket/first") { first += "\(name): \(value)\r\n" }
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        Self.write(
            fd, Array((first + "\r\n").utf8) + (try Self.head(rig, "/bucket/second", body: [1, 2, 3], by: wrongSecret)))
        let (text, closed) = Self.readAll(fd)
        let heads = text.components(separatedBy: "\r\n\r\n").filter { $0.contains("HTTP/1.1 ") }
        let statuses = heads.compactMap { head in
            head.range(of: "HTTP/1.1 ").map { String(head[$0.upperBound...].prefix(3)) }
        }
        #expect(statuses == ["200", "403"], "\(text)")
        #expect(heads.count == 2 && !heads[0].lowercased().contains("connection: close"), "\(text)")
        #expect(heads.count == 2 && heads[1].lowercased().contains("\r\nconnection: close"), "\(text)")
        #expect(closed, "the gateway kept the connection open for the refused upload's body")
        #expect(rig.upstreamRequest("/bucket/first") != nil && rig.upstreamRequest("/bucket/second") == nil)
    }

    @Test("an upload whose declared length is over --max-body-size (5 GiB against 1000 bytes) is refused 413 EntityTooLarge with no 100 Continue before it, and the connection closed: the client never sends the 5 GiB")
    func tooLargeUploadGetsNoContinue() throws {
        let rig = try GatewayForwardingTests.Rig(arguments: ["--max-body-size", "1000"])
        let fields = try rig.signed(.put, "/bucket/huge", [.contentLength: String(5 << 30)], payload: .unsignedPayload)
        var head = "PUT /bucket/huge HTTP/1.1\r\n"
        for (name, value) in fields { head += "\(name): \(value)\r\n" }
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        Self.write(fd, Array((head + "Expect: 100-continue\r\n\r\n").utf8))
        let (text, closed) = Self.readAll(fd)
        #expect(text.hasPrefix("HTTP/1.1 413 ") && text.contains("<Code>EntityTooLarge</Code>"), "\(text)")
        #expect(text.lowercased().contains("\r\nconnection: close\r\n"), "\(text)")
        #expect(closed, "the gateway kept the connection open for the body")
        #expect(rig.requests.isEmpty, "\(rig.received)")
    }

    @Test("Expect is read as a list in any case: a verified upload sending 'Expect: 100-Continue' twice (one field '100-Continue, 100-Continue') gets its 100 Continue")
    func expectAsAList() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = Array("listed".utf8)
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        let expect = "Expect: 100-Continue\r\nExpect: 100-Continue\r\n"
        Self.write(fd, try Self.head(rig, "/bucket/listed", body: body, expect: expect))
        let interim = Self.readHead(fd)
        #expect(interim.hasPrefix("HTTP/1.1 100 "), "\(interim)")
        Self.write(fd, body)
        let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 200 "), "\(response)")
    }

    @Test("a client that asks Expect: 100-continue but sends its 512 KiB body anyway after the refusal (within --max-unread-body, 1 MiB), over 2.6 s (longer than the 2 s before a refused connection is closed), has all of it read, never a reset mid-upload, and the connection is closed once the body ends, as the 403's Connection: close said")
    func refusedClientThatSendsAnyway() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = [UInt8](repeating: 0x62, count: 512 << 10)
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        Self.write(fd, try Self.head(rig, "/bucket/anyway", body: body, by: wrongSecret))
        let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 403 ") && response.contains("SignatureDoesNotMatch"), "\(response)")
        var sent = 0
        while sent < body.count {
            let piece = body[sent..<min(body.count, sent + (64 << 10))]
            let n = piece.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
            usleep(330_000)
        }
        #expect(sent == body.count, "sent \(sent) of \(body.count) bytes: errno \(errno)")
        #expect(Self.closedByPeer(fd), "the connection stayed open after the body")
        #expect(rig.upstreamRequest("/bucket/anyway") == nil, "\(rig.received.prefix(1000))")
    }

    /// Sends `count` bytes on `fd` (64 KiB at a time, each send waiting at most 10 s) until they are
    /// all sent or a send fails; returns how many were sent and the failing send's `errno` (0: none).
    static func sendUntilRefused(_ fd: Int32, count: Int) -> (sent: Int, error: Int32) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let piece = [UInt8](repeating: 0x62, count: 64 << 10)
        var sent = 0
        while sent < count {
            let n = piece.withUnsafeBytes { send(fd, $0.baseAddress, min($0.count, count - sent), Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return (sent, errno) }
            sent += n
        }
        return (sent, 0)
    }

    @Test("a refused upload whose body is over --max-unread-body (64 MiB declared against 1 MiB), with Expect: 100-continue and without it, sent whole by the client anyway: its 403 says Connection: close and comes whole, then end of file; the gateway reads no more and closes the connection within seconds, so the client is stopped far short of 64 MiB (kernel buffers take a few MiB); nothing reaches the upstream")
    func refusedBodyOverTheLimitClosesTheConnection() throws {
        let rig = try GatewayForwardingTests.Rig()
        let count = 64 << 20
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        for expect in ["Expect: 100-continue\r\n", ""] {
            let fields = try rig.signed(
                .put, "/bucket/big", [.contentLength: String(count)], payload: .unsignedPayload, by: wrongSecret)
            var head = "PUT /bucket/big HTTP/1.1\r\n"
            for (name, value) in fields { head += "\(name): \(value)\r\n" }
            let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
            defer { close(fd) }
            Self.write(fd, Array((head + expect + "\r\n").utf8) + [UInt8](repeating: 0x62, count: 64 << 10))
            let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
            #expect(response.hasPrefix("HTTP/1.1 403 ") && response.contains("SignatureDoesNotMatch"), "\(response)")
            #expect(response.lowercased().contains("\r\nconnection: close\r\n"), "\(expect): \(response)")
            var started = ContinuousClock.now
            #expect(Self.closedByPeer(fd), "\(expect): no end of file after the 403")
            #expect(ContinuousClock.now - started < .seconds(1), "\(expect): \(ContinuousClock.now - started)")
            started = ContinuousClock.now
            let (sent, error) = Self.sendUntilRefused(fd, count: count)
            #expect(
                sent < count / 2 && (error == EPIPE || error == ECONNRESET), "\(expect): sent \(sent), errno \(error)")
            #expect(ContinuousClock.now - started < .seconds(8), "\(expect): \(ContinuousClock.now - started)")
        }
        #expect(rig.upstreamRequest("/bucket/big") == nil, "\(rig.received.prefix(1000))")
    }

    @Test("a refused chunked upload whose client then sends one-byte chunks with 64 KiB chunk extensions, or 64 KiB of zeros before each size (framing the HTTP/1 decoder reads without bound), is stopped as a body over --max-unread-body is: within seconds, far short of the 256 MiB it tries to send")
    func chunkFramingCannotOutrunTheLimit() throws {
        let rig = try GatewayForwardingTests.Rig()
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        let extended = Array(("1;x=" + String(repeating: "a", count: 65536) + "\r\nb\r\n").utf8)
        let padded = Array((String(repeating: "0", count: 65536) + "1\r\nb\r\n").utf8)
        for unit in [extended, padded] {
            let fields = try rig.signed(
                .put, "/bucket/framing", [.transferEncoding: "chunked"], payload: .unsignedPayload, by: wrongSecret)
            var head = "PUT /bucket/framing HTTP/1.1\r\n"
            for (name, value) in fields { head += "\(name): \(value)\r\n" }
            let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
            defer { close(fd) }
            Self.write(fd, Array((head + "\r\n").utf8))
            let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
            #expect(response.hasPrefix("HTTP/1.1 403 ") && response.contains("SignatureDoesNotMatch"), "\(response)")
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let started = ContinuousClock.now
            var sent = 0
            var failure: Int32 = 0
            while sent < 256 << 20 {
                let n = unit.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else {
                    failure = errno
                    break
                }
                sent += n
            }
            #expect(sent < 64 << 20 && (failure == EPIPE || failure == ECONNRESET), "sent \(sent), errno \(failure)")
            #expect(ContinuousClock.now - started < .seconds(8), "\(ContinuousClock.now - started)")
        }
        #expect(rig.upstreamRequest("/bucket/framing") == nil, "\(rig.received.prefix(1000))")
    }

    @Test("over TLS, a refused chunked upload sent one body byte per record, each record padded to 16 KiB (TLS 1.3 record padding, openssl s_client -record_padding), is stopped by --max-unread-body within about 64 records, as it counts the socket's bytes, not the body's; the same bytes in unpadded records keep the connection")
    func paddedRecordsCountAtTheirSize() throws {
        let certificate = try GatewayTLSTests.Certificate()
        defer { certificate.remove() }
        let rig = try GatewayForwardingTests.Rig(
            arguments: ["--tls-certificate", certificate.certificate, "--tls-key", certificate.key])
        // 1 MiB (the default limit) is 64 records of 16 KiB, 64 body bytes when each goes alone (on a
        // busy machine s_client may put a few in one record: the budget is 1,000); unpadded, 1,000
        // one-byte records are about 23 KB, and counted as body bytes the padded ones are 1,000 bytes.
        let padded = try Self.trickle(port: rig.port, ca: certificate.certificate, padding: 16384, bytes: 1000)
        #expect(padded.answer.hasPrefix("HTTP/1.1 403 "), "\(padded.answer)")
        #expect(padded.closedAfter != nil, "the connection outlived 1,000 records of 16 KiB")
        let unpadded = try Self.trickle(port: rig.port, ca: certificate.certificate, padding: 0, bytes: 1000)
        #expect(unpadded.answer.hasPrefix("HTTP/1.1 403 "), "\(unpadded.answer)")
        #expect(unpadded.closedAfter == nil, "\(String(describing: unpadded.closedAfter))")
        #expect(rig.upstreamRequest("/bucket/padded") == nil, "\(rig.received.prefix(1000))")
    }

    /// Sends an unsigned chunked `PUT` through `openssl s_client` (TLS 1.3, records padded to
    /// `padding` bytes when not 0), waits for its answer, then writes up to `bytes` bytes of one-byte
    /// chunks to s_client one byte at a time, 2 ms apart, so that each goes in a record of its own
    /// (unless s_client is slower to read them).
    /// `closedAfter`: how many body bytes had been written when s_client exited (the gateway closed
    /// the connection); nil when it was still connected after all of them.
    static func trickle(port: UInt16, ca: String, padding: Int, bytes: Int) throws
        -> (answer: String, closedAfter: Int?)
    {
        signal(SIGPIPE, SIG_IGN)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        client.arguments =
            ["s_client", "-quiet", "-connect", "127.0.0.1:\(port)", "-CAfile", ca, "-tls1_3", "-alpn", "http/1.1"]
            + (padding > 0 ? ["-record_padding", String(padding)] : [])
        let input = Pipe()
        let output = Pipe()
        client.standardInput = input
        client.standardOutput = output
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer {
            // s_client takes its time over SIGTERM (a minute here); it has nothing to finish.
            if client.isRunning { kill(client.processIdentifier, SIGKILL) }
            client.waitUntilExit()
        }
        let fd = input.fileHandleForWriting.fileDescriptor
        func put(_ data: [UInt8]) -> Bool {
            data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == data.count
        }
        _ = put(Array("PUT /bucket/padded HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        // The refusal comes before any of the body is read.
        let answer = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        let unit = Array("1\r\nb\r\n".utf8)
        for i in 0..<bytes {
            guard client.isRunning, put([unit[i % unit.count]]) else { return (answer, i) }
            usleep(2000)
        }
        usleep(200_000)
        return (answer, client.isRunning ? nil : bytes)
    }

    @Test("a refused request that asks to switch protocols (Connection: Upgrade, HTTP2-Settings with Upgrade: h2c, as curl --http2 sends over http://) says Connection: close, and the bytes its client sends after it are not read: it is stopped within seconds, far short of 256 MiB (NIO's decoder parses nothing after such a request and held them all in memory: 3.7 GiB in 10 s, found by review)")
    func refusedUpgradeIsNotReadOn() throws {
        let rig = try GatewayForwardingTests.Rig()
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        let head = "GET /bucket/h2c HTTP/1.1\r\nHost: 127.0.0.1:\(rig.port)\r\nConnection: Upgrade, HTTP2-Settings\r\n"
            + "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
        Self.write(fd, Array(head.utf8))
        let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.1 403 "), "\(response)")
        #expect(response.lowercased().contains("\r\nconnection: close\r\n"), "\(response)")
        let started = ContinuousClock.now
        let (sent, error) = Self.sendUntilRefused(fd, count: 256 << 20)
        #expect(sent < 64 << 20 && (error == EPIPE || error == ECONNRESET), "sent \(sent), errno \(error)")
        #expect(ContinuousClock.now - started < .seconds(8), "\(ContinuousClock.now - started)")
    }

    @Test("--max-unread-body 0: a refused client that sends its 12-byte body after the 403 (no Expect) is not read: its 403 says Connection: close, and end of file follows; --max-unread-body -1 is a usage error")
    func maxUnreadBodyFlag() throws {
        let rig = try GatewayForwardingTests.Rig(arguments: ["--max-unread-body", "0"])
        let body = Array("sent at once".utf8)
        let wrongSecret = Self.signer(rig.credentials.accessKeyID, "not the secret")
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        Self.write(fd, try Self.head(rig, "/bucket/zero", body: body, by: wrongSecret, expect: ""))
        let refused = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(refused.hasPrefix("HTTP/1.1 403 ") && refused.contains("SignatureDoesNotMatch"), "\(refused)")
        #expect(refused.lowercased().contains("\r\nconnection: close\r\n"), "\(refused)")
        #expect(Self.closedByPeer(fd), "the connection stayed open for the body")
        let refusedFlag = try ChildProcess.run(
            GatewayBinaryTests.binary, ["serve", "--listen", "127.0.0.1:0", "--max-unread-body=-1"])
        let message = String(decoding: refusedFlag.stderr, as: UTF8.self)
        #expect(refusedFlag.status == 2 && message.contains("--max-unread-body must be 0 or more"), "\(message)")
    }

    @Test("an HTTP/1.0 request is never sent 100 Continue (RFC 9110: the expectation is ignored, and no 1xx goes to a 1.0 client): a verified upload asking for it gets nothing until it sends its body, then its answer")
    func http10GetsNoContinue() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = Array("one point oh".utf8)
        var head = try Self.head(rig, "/bucket/old", body: body)
        let line = Array("PUT /bucket/old HTTP/1.1".utf8)
        #expect(Array(head.prefix(line.count)) == line)
        head.replaceSubrange(0..<line.count, with: Array("PUT /bucket/old HTTP/1.0".utf8))
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 2)
        defer { close(fd) }
        Self.write(fd, head)
        let early = Self.readHead(fd)
        #expect(early.isEmpty, "\(early)")
        Self.write(fd, body)
        let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(response.hasPrefix("HTTP/1.") && response.contains(" 200 "), "\(response)")
        #expect(!response.contains(" 100 "), "\(response)")
    }

    @Test("a refused client that sends its body anyway, late (0.3 s after the 403), has it read, and the connection is then closed as the 403's Connection: close said")
    func lateBodyThenClose() throws {
        let rig = try GatewayForwardingTests.Rig()
        let body = Array("late body".utf8)
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        let forged = try Self.head(rig, "/bucket/late", body: body, by: Self.signer(rig.credentials.accessKeyID, "x"))
        Self.write(fd, forged)
        let refused = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
        #expect(refused.hasPrefix("HTTP/1.1 403 "), "\(refused)")
        usleep(300_000)
        Self.write(fd, body)
        let (rest, closed) = Self.readAll(fd)
        #expect(closed && rest.isEmpty, "the connection stayed open after the body: \(rest)")
        #expect(rig.upstreamRequest("/bucket/late") == nil, "\(rig.received.prefix(1000))")
    }
}
