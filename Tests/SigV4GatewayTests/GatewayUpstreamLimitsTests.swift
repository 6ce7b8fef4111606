import Foundation
import Glibc
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// `sigv4 serve --upstream-connect-timeout`, `--upstream-timeout` and `--upstream-max-connections`
/// on the built binary: an upstream that refuses connections, one that takes a connection and never
/// answers, one that stops in the middle of its answer, an upload slower than the timeout (which is
/// not the upstream's silence and goes through), and slow upstreams with many requests at once.
///
/// The dead upstreams are sockets of this process that keep their port for the whole test (one not
/// listening refuses; one listening but never accepting answers nothing), so no other test's server
/// can take the port while the gateway retries it. (Until 2026-12-05 a dead upstream was a stopped
/// server whose port the gateway retried for 10 s, AsyncHTTPClient's default, and a server of a
/// test running beside it could have taken that port meanwhile.)
@Suite("sigv4 serve: upstream timeouts and connection limit (built binary)", .serialized)
struct GatewayUpstreamLimitsTests {
    /// A TCP socket of 127.0.0.1 on a port the kernel chose, held open: listening (the kernel
    /// completes connections and takes their bytes, and nothing reads or answers them) or not
    /// (connections are refused).
    final class HeldPort {
        let fd: Int32
        let port: UInt16
        /// With `unanswered`: the one connection that fills the accept queue.
        private var filler: Int32 = -1

        /// A port listening with an accept queue of one, held full by a connection of the test's
        /// own: the kernel drops every further SYN, so a connection to it is never completed (as
        /// to a host that is down or behind a firewall that drops).
        convenience init(unanswered: ()) throws {
            try self.init(listening: true, backlog: 0)
            filler = try RawSocket.connect(port: port, timeoutSeconds: 5)
        }

        init(listening: Bool, backlog: Int32 = 16) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw RawSocket.Failure(description: "socket: \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                    bind(fd, p, length) == 0 && getsockname(fd, p, &length) == 0
                }
            }
            guard bound, !listening || listen(fd, backlog) == 0 else {
                close(fd)
                throw RawSocket.Failure(description: "bind or listen: \(errno)")
            }
            self.fd = fd
            port = UInt16(bigEndian: address.sin_port)
        }

        /// Takes the next connection made to this listening port, waiting up to `seconds`: its
        /// descriptor, for the caller to hold and close (nothing reads or answers it); nil when none came.
        func acceptConnection(within seconds: Double) -> Int32? {
            var ready = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, Int32(seconds * 1000)) == 1 else { return nil }
            let connection = accept(fd, nil, nil)
            return connection >= 0 ? connection : nil
        }

        deinit {
            if filler >= 0 { close(filler) }
            close(fd)
        }
    }

    /// A gateway forwarding to `upstream` with `arguments`, and a signer of a key it knows.
    struct Rig {
        let fixture: ServeFixture
        let gateway: GatewayHygieneTests.Child
        let port: UInt16
        let signer: Signer

        init(upstream: String, _ arguments: [String]) throws {
            fixture = try ServeFixture(label: "upstream-timeouts")
            let key = try fixture.createKey(principal: "alice")
            signer = Signer(
                credentials: Credentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secret),
                region: "us-east-1", service: "s3", keyCache: nil)
            (gateway, port) = try fixture.startServe(["--upstream", upstream] + arguments)
        }

        func stop() {
            gateway.stop()
            fixture.remove()
        }

        /// The head of `method target`, header-signed for `payload` with `fields`, ending the head.
        func head(_ method: HTTPRequest.Method, _ target: String, _ fields: HTTPFields = [:], payload: PayloadHash)
            throws -> [UInt8]
        {
            let host = "127.0.0.1:\(port)"
            let request = HTTPRequest(
                method: method, scheme: "http", authority: host, path: target, headerFields: fields)
            let signed = try signer.sign(request, payload: payload, at: AmzDate(Date()))
            var text = "\(method.rawValue) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
            for field in signed.request.headerFields { text += "\(field.name.rawName): \(field.value)\r\n" }
            return Array((text + "Connection: close\r\n\r\n").utf8)
        }

        /// Sends `bytes` and reads the answer, giving up after `seconds`: the status (0 for none)
        /// and the response.
        func exchange(_ bytes: [UInt8], within seconds: Int) throws -> (Int, String) {
            try Self.exchange(port: port, bytes, within: seconds)
        }

        /// ``exchange(_:within:)`` with the gateway on `port`.
        static func exchange(port: UInt16, _ bytes: [UInt8], within seconds: Int) throws -> (Int, String) {
            let fd = try RawSocket.connect(port: port, timeoutSeconds: seconds)
            defer { close(fd) }
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return Self.answer(RawSocket.readResponse(fd))
        }

        static func answer(_ response: [UInt8]) -> (Int, String) {
            let text = String(decoding: response, as: UTF8.self)
            return (text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0, text)
        }
    }

    @Test(
        "an upstream that refuses connections is a bare 502 BadGateway once --upstream-connect-timeout passes (1 s here, not the client library's 10 s), naming neither the upstream nor the error; the access log line says why (upstream_error, the connection refused)"
    )
    func refusedUpstreamIsBadGatewayAfterTheConnectTimeout() throws {
        let refusing = try HeldPort(listening: false)
        let rig = try Rig(upstream: "http://127.0.0.1:\(refusing.port)", ["--upstream-connect-timeout", "1"])
        defer { rig.stop() }
        // 8 s: answered after the 1 s of retries, well before the 10 s the default would take.
        let (status, response) = try rig.exchange(try rig.head(.get, "/bucket/down", payload: .emptySHA256), within: 8)
        #expect(status == 502 && response.contains("<Code>BadGateway</Code>"), "\(response)")
        #expect(!response.contains(String(refusing.port)) && !response.lowercased().contains("refused"), "\(response)")
        #expect(rig.gateway.process.isRunning)
        let line = rig.gateway.line(containing: "path=/bucket/down")
        #expect(line.contains("status=502") && line.contains("code=BadGateway"), "\(line)")
        #expect(line.contains("upstream_error=") && line.lowercased().contains("refused"), "\(line)")
    }

    @Test(
        "the gateway's own answers to an upstream's failure take --error-format as its refusals do: with json a refused upstream is 502 with a JSON document, x-amzn-ErrorType and x-amz-error-code BadGateway"
    )
    func upstreamFailureTakesTheErrorFormat() throws {
        let refusing = try HeldPort(listening: false)
        let rig = try Rig(
            upstream: "http://127.0.0.1:\(refusing.port)",
            ["--upstream-connect-timeout", "1", "--error-format", "json"])
        defer { rig.stop() }
        let (status, response) = try rig.exchange(try rig.head(.get, "/bucket/json", payload: .emptySHA256), within: 8)
        let lower = response.lowercased()
        #expect(status == 502 && response.contains("\"Code\":\"BadGateway\""), "\(response)")
        #expect(
            lower.contains("content-type: application/json") && lower.contains("x-amzn-errortype: badgateway"),
            "\(response)")
        #expect(lower.contains("x-amz-error-code: badgateway") && !response.contains("<Error>"), "\(response)")
    }

    @Test(
        "a WebSocket handshake is refused as a plain request is when its Connection field names a signed header (the relay's handshake would go without it: 400 InvalidRequest), and when it has two Host fields"
    )
    func webSocketHandshakeGetsThePlainRequestsChecks() throws {
        let refusing = try HeldPort(listening: false)
        let rig = try Rig(upstream: "http://127.0.0.1:\(refusing.port)", ["--websockets"])
        defer { rig.stop() }
        let host = "127.0.0.1:\(rig.port)"
        let request = HTTPRequest(
            method: .get, scheme: "http", authority: host, path: "/socket",
            headerFields: [HTTPField.Name("X-Amz-Meta-Tenant")!: "acme"])
        let signed = try rig.signer.sign(request, payload: .emptySHA256, at: AmzDate(Date()))
        func handshake(connection: String, extra: String = "") -> [UInt8] {
            var text = "GET /socket HTTP/1.1\r\nHost: \(host)\r\n\(extra)"
            for field in signed.request.headerFields { text += "\(field.name.rawName): \(field.value)\r\n" }
            text += "Connection: \(connection)\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
            return Array((text + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").utf8)
        }
        let (status, response) = try rig.exchange(handshake(connection: "Upgrade, X-Amz-Meta-Tenant"), within: 10)
        #expect(
            status == 400 && response.contains("InvalidRequest") && response.contains("x-amz-meta-tenant"),
            "\(response)")
        let (twoHosts, second) = try rig.exchange(
            handshake(connection: "Upgrade", extra: "Host: evil.example\r\n"), within: 10)
        #expect(twoHosts == 400 && second.contains("InvalidRequest"), "\(second)")
    }

    @Test(
        "an upstream whose connection is never completed (every SYN dropped) is 504 GatewayTimeout once --upstream-connect-timeout passes, naming neither the upstream nor the error; the access log says GatewayTimeout"
    )
    func unansweredConnectIsGatewayTimeout() throws {
        let unanswered = try HeldPort(unanswered: ())
        let rig = try Rig(upstream: "http://127.0.0.1:\(unanswered.port)", ["--upstream-connect-timeout", "1"])
        defer { rig.stop() }
        // 8 s: answered after the 1 s of trying, well before the 10 s the default would take.
        let request = try rig.head(.get, "/bucket/dropped", payload: .emptySHA256)
        let (status, response) = try rig.exchange(request, within: 8)
        #expect(status == 504 && response.contains("<Code>GatewayTimeout</Code>"), "\(response)")
        let named = response.contains(String(unanswered.port)) || response.lowercased().contains("connect")
        #expect(!named, "\(response)")
        let line = rig.gateway.line(containing: "path=/bucket/dropped")
        #expect(line.contains("status=504") && line.contains("code=GatewayTimeout"), "\(line)")
        #expect(line.contains("upstream_error="), "\(line)")
    }

    @Test(
        "an upstream that takes the connection and stops reading a streamed upload is cut once --upstream-timeout passes with nothing taken (AsyncHTTPClient's write timeout does not watch this): the access log says 504 GatewayTimeout and why, and SIGTERM then stops the gateway"
    )
    func stalledUploadIsCut() throws {
        let stopped = try HeldPort(listening: true)  // takes the connection (the kernel's backlog), reads nothing
        let rig = try Rig(upstream: "http://127.0.0.1:\(stopped.port)", ["--upstream-timeout", "2"])
        defer { rig.stop() }
        let length = 1 << 30
        let head = try rig.head(.put, "/bucket/stalled", [.contentLength: String(length)], payload: .unsignedPayload)
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 60)
        defer { close(fd) }
        // The client sends as fast as the gateway takes it, on its own thread: its sends block once the
        // gateway, held back by the upstream, stops reading.
        let sender = Thread {
            var sent = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            let chunk = [UInt8](repeating: 0x61, count: 1 << 20)
            while sent > 0 && sent < length {
                let n = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { break }
                sent += n
            }
        }
        sender.start()
        let line = rig.gateway.line(containing: "path=/bucket/stalled")
        shutdown(fd, Int32(SHUT_RDWR))
        #expect(line.contains("status=504") && line.contains("code=GatewayTimeout"), "\(line)")
        #expect(line.contains("read none of the request body for 2.0 s"), "\(line)")
        kill(rig.gateway.process.processIdentifier, SIGTERM)
        #expect(rig.gateway.exited(within: 30), "SIGTERM did not stop the gateway")
    }

    @Test(
        "a response body cut partway (here the upstream's read timeout, which AsyncHTTPClient counts while a paused client holds the gateway back) is logged 'response body cut' with the bytes passed, beside the access line that said 200"
    )
    func aCutResponseBodyIsLogged() throws {
        let directory = NSTemporaryDirectory() + "sigv4-cut-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let big = try GatewayHygieneTests.Child(
            "/usr/bin/env",
            ["python3", "-c", """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"
                def do_GET(self):
                    self.send_response(200); self.send_header("Content-Length", str(200 << 20)); self.end_headers()
                    chunk = b"b" * (1 << 20)
                    try:
                        for _ in range(200): self.wfile.write(chunk)
                    except OSError:
                        pass
                def log_message(self, *a): pass
            s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
            print("listening", s.server_address[1], flush=True)
            s.serve_forever()
            """], environment: ProcessInfo.processInfo.environment, directory: directory, name: "big")
        defer { big.stop() }
        let port = try #require(
            big.line(startingWith: "listening")?.split(separator: " ").last, "the upstream did not start")
        let rig = try Rig(upstream: "http://127.0.0.1:\(port)", ["--upstream-timeout", "1"])
        defer { rig.stop() }
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 10)
        defer { close(fd) }
        let head = try rig.head(.get, "/bucket/large", payload: .emptySHA256)
        _ = head.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var received = 0
        while received < 1 << 20 {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += n
        }
        // The client pauses: the gateway stops reading the upstream, whose read timeout fires meanwhile;
        // the client then reads on, up to the cut.
        Thread.sleep(forTimeInterval: 3)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += n
        }
        #expect(received < 200 << 20, "the whole body came through: \(received) bytes")
        let cut = rig.gateway.line(containing: "response body cut")
        #expect(cut.contains("path=/bucket/large") && cut.contains("bytes_sent="), "\(cut)")
        #expect(rig.gateway.line(containing: "path=/bucket/large").contains("status=200"))
    }

    @Test(
        "an upstream that takes the request and never answers is 504 GatewayTimeout once --upstream-timeout passes, naming neither the upstream nor the error; the access log says GatewayTimeout"
    )
    func silentUpstreamIsGatewayTimeout() throws {
        let silent = try HeldPort(listening: true)
        let rig = try Rig(upstream: "http://127.0.0.1:\(silent.port)", ["--upstream-timeout", "1"])
        defer { rig.stop() }
        let (status, response) = try rig.exchange(try rig.head(.get, "/bucket/slow", payload: .emptySHA256), within: 8)
        #expect(status == 504 && response.contains("<Code>GatewayTimeout</Code>"), "\(response)")
        #expect(!response.contains(String(silent.port)) && !response.lowercased().contains("timeout:"), "\(response)")
        let line = rig.gateway.line(containing: "path=/bucket/slow")
        #expect(line.contains("status=504") && line.contains("code=GatewayTimeout"), "\(line)")
        #expect(line.contains("upstream_error="), "\(line)")
    }

    @Test(
        "an upstream that sends its head and part of its body and then nothing has the client's connection cut once --upstream-timeout passes (the status was sent), not held for ever"
    )
    func upstreamSilentMidResponseIsCut() throws {
        let upstream = try HeldPort(listening: true)
        // Takes one connection, reads the request head, answers 200 with 5 of 10 promised bytes, and
        // then keeps the connection open, silent, until the test ends.
        let fd = upstream.fd
        let served = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let connection = accept(fd, nil, nil)
            guard connection >= 0 else { return }
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), recv(connection, &byte, 1, 0) == 1 {
                head.append(byte)
            }
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello".utf8)
            _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            served.wait()
            close(connection)
        }
        defer { served.signal() }
        let rig = try Rig(upstream: "http://127.0.0.1:\(upstream.port)", ["--upstream-timeout", "1"])
        defer { rig.stop() }
        let client = try RawSocket.connect(port: rig.port, timeoutSeconds: 8)
        defer { close(client) }
        let request = try rig.head(.get, "/bucket/half", payload: .emptySHA256)
        _ = request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var end = 0
        repeat {
            end = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if end > 0 { received += buffer[0..<end] }
        } while end > 0
        let readError = errno
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 ") && text.hasSuffix("\r\n\r\nhello"), "\(text)")
        // Closed or reset by the gateway, not the 8 s read timeout (EAGAIN).
        #expect(end == 0 || (readError != EAGAIN && readError != EWOULDBLOCK), "read ended with errno \(readError)")
    }

    @Test(
        "--upstream-timeout counts the upstream's silence after the request, not the upload: a body sent over 7.5 s through a gateway with a 2 s timeout reaches the upstream whole"
    )
    func aSlowUploadIsNotCut() throws {
        // The recording upstream of the forwarding tests; the body streams (nothing buffered first).
        // (2 s and pieces 2.5 s apart: the upstream, a python server that writes its record first,
        // answers inside the timeout on a loaded machine too.)
        let rig = try GatewayForwardingTests.Rig(arguments: ["--upstream-timeout", "2", "--max-buffered-body", "0"])
        let pieces = ["slow ", "upload ", "body"].map { Array($0.utf8) }
        let length = pieces.reduce(0) { $0 + $1.count }
        let fields = try rig.signed(
            .put, "/bucket/slow-upload",
            [HTTPField.Name("x-amz-content-sha256")!: "UNSIGNED-PAYLOAD", .contentLength: String(length)],
            payload: .unsignedPayload)
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 20)
        defer { close(fd) }
        var head = "PUT /bucket/slow-upload HTTP/1.1\r\n"
        for (name, value) in fields + [("Connection", "close")] { head += "\(name): \(value)\r\n" }
        for bytes in [Array((head + "\r\n").utf8)] + pieces {
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            Thread.sleep(forTimeInterval: 2.5)
        }
        let (status, response) = Rig.answer(RawSocket.readResponse(fd))
        #expect(status == 200, "\(response)")
        let received = try #require(GatewayForwardingAttackTests.request(rig, "/bucket/slow-upload"), "\(rig.received)")
        #expect(received.bytes == length)
    }

    /// An upstream on `port` that answers every request `200 ok` after `delay` seconds, each on a thread
    /// of its own, and counts the connections it holds at once.
    final class SlowUpstream: @unchecked Sendable {
        let port: HeldPort
        private let lock = NSLock()
        private var open = 0
        private var mostOpen = 0
        private var answered = 0

        init(delay: Double) throws {
            port = try HeldPort(listening: true)
            let fd = port.fd
            Thread.detachNewThread { [self] in
                while true {
                    let connection = accept(fd, nil, nil)
                    guard connection >= 0 else { return }
                    Thread.detachNewThread { [self] in self.serve(connection, delay: delay) }
                }
            }
        }

        private func serve(_ connection: Int32, delay: Double) {
            lock.withLock {
                open += 1
                mostOpen = max(mostOpen, open)
            }
            var head: [UInt8] = []
            var byte: UInt8 = 0
            while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)), recv(connection, &byte, 1, 0) == 1 {
                head.append(byte)
            }
            Thread.sleep(forTimeInterval: delay)
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
            _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            lock.withLock {
                open -= 1
                answered += 1
            }
            close(connection)
        }

        /// Stops accepting (the accepting thread ends, and with it its hold on this upstream).
        func stop() { shutdown(port.fd, Int32(SHUT_RDWR)) }

        /// The most connections held at once, and how many requests were answered.
        var counts: (mostOpen: Int, answered: Int) { lock.withLock { (mostOpen, answered) } }
    }

    /// Sends `count` signed GETs at once, each from a thread of its own; their statuses and responses.
    static func sendAtOnce(_ rig: Rig, _ count: Int) throws -> [(Int, String)] {
        let requests = try (0..<count).map { try rig.head(.get, "/bucket/busy\($0)", payload: .emptySHA256) }
        let port = rig.port
        let lock = NSLock()
        nonisolated(unsafe) var answers: [(Int, String)] = []
        let done = DispatchGroup()
        for request in requests {
            done.enter()
            Thread.detachNewThread {
                let answer = (try? Rig.exchange(port: port, request, within: 20)) ?? (0, "no connection")
                lock.withLock { answers.append(answer) }
                done.leave()
            }
        }
        done.wait()
        return lock.withLock { answers }
    }

    @Test(
        "twelve slow requests at once all reach the upstream (--upstream-max-connections is 1024 by default; the client library's own limit, 8, made the ninth wait --upstream-connect-timeout and fail)"
    )
    func manySlowRequestsAtOnceAllGoThrough() throws {
        // Each answer held 5 s: long enough that all twelve are open at once even when a loaded
        // machine spreads their arrival over seconds.
        let upstream = try SlowUpstream(delay: 5)
        defer { upstream.stop() }
        let rig = try Rig(upstream: "http://127.0.0.1:\(upstream.port.port)", ["--upstream-connect-timeout", "1"])
        defer { rig.stop() }
        let answers = try Self.sendAtOnce(rig, 12)
        #expect(
            answers.filter { $0.0 == 200 }.count == 12,
            "\(answers.map(\.0)) \(answers.first { $0.0 != 200 } ?? (0, ""))")
        #expect(upstream.counts.answered == 12 && upstream.counts.mostOpen > 8, "\(upstream.counts)")
    }

    @Test(
        "with --upstream-max-connections 2, two of four slow requests at once reach the upstream and the others, once --upstream-connect-timeout passes without a free connection, get 503 SlowDown (logged), naming nothing of the upstream"
    )
    func requestsBeyondTheConnectionLimitAreSlowDown() throws {
        // The two held 6 s: the other two arrive, wait their 1 s and are refused while both are still held,
        // even when a loaded machine spreads the four over seconds.
        let upstream = try SlowUpstream(delay: 6)
        defer { upstream.stop() }
        let rig = try Rig(
            upstream: "http://127.0.0.1:\(upstream.port.port)",
            ["--upstream-max-connections", "2", "--upstream-connect-timeout", "1"])
        defer { rig.stop() }
        let answers = try Self.sendAtOnce(rig, 4)
        #expect(answers.map(\.0).sorted() == [200, 200, 503, 503], "\(answers)")
        for (status, response) in answers where status == 503 {
            #expect(
                response.contains("<Code>SlowDown</Code>") && !response.contains(String(upstream.port.port)),
                "\(response)")
        }
        #expect(upstream.counts.mostOpen == 2, "\(upstream.counts)")
        let log = String(decoding: rig.gateway.stdout, as: UTF8.self)
        #expect(
            log.split(separator: "\n").filter { $0.contains("status=503") && $0.contains("code=SlowDown") }.count == 2,
            "\(log)")
    }

    /// An upstream that answers the first request of each connection (`200`, kept alive) and closes
    /// the connection, unanswered, when a second request comes on it: a server whose idle timeout
    /// closed a kept-alive connection just as a request was sent on it. It records each request line
    /// it read, with the body bytes it read after it.
    final class FirstRequestOnlyUpstream: @unchecked Sendable {
        let port: HeldPort
        private let lock = NSLock()
        private var seen: [String] = []

        init() throws {
            port = try HeldPort(listening: true)
            let fd = port.fd
            Thread.detachNewThread { [self] in
                while true {
                    let connection = accept(fd, nil, nil)
                    guard connection >= 0 else { return }
                    Thread.detachNewThread { [self] in self.serve(connection) }
                }
            }
        }

        private func serve(_ connection: Int32) {
            defer { close(connection) }
            for k in 0..<2 {
                var head: [UInt8] = []
                var byte: UInt8 = 0
                while !head.suffix(4).elementsEqual(Array("\r\n\r\n".utf8)) {
                    guard recv(connection, &byte, 1, 0) == 1 else { return }
                    head.append(byte)
                }
                let text = String(decoding: head, as: UTF8.self)
                let length =
                    text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                var body: [UInt8] = []
                while body.count < length {
                    guard recv(connection, &byte, 1, 0) == 1 else { return }
                    body.append(byte)
                }
                let line = text.components(separatedBy: "\r\n")[0]
                lock.withLock { seen.append(line + " body=" + String(decoding: body, as: UTF8.self)) }
                if k == 1 { return }  // the second request: closed unanswered
                let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
                _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
        }

        /// Stops accepting (the accepting thread ends, and with it its hold on this upstream).
        func stop() { shutdown(port.fd, Int32(SHUT_RDWR)) }

        /// The request lines read so far (with their bodies), in order.
        var requests: [String] { lock.withLock { seen } }
    }

    @Test(
        "an idempotent request (GET, or PUT with its body held whole) that meets a kept-alive upstream connection closing unanswered is sent again on a new one and answered; a POST is not sent again (502), nor a streamed body"
    )
    func idempotentRequestsAreSentAgainOnAClosedConnection() throws {
        let upstream = try FirstRequestOnlyUpstream()
        defer { upstream.stop() }
        let rig = try Rig(upstream: "http://127.0.0.1:\(upstream.port.port)", ["--upstream-connect-timeout", "1"])
        defer { rig.stop() }
        /// `streamed`: the body goes chunked and unsigned, so the gateway streams it on (with no length).
        func send(_ method: HTTPRequest.Method, _ target: String, body: String = "", streamed: Bool = false) throws
            -> Int
        {
            let bytes = Array(body.utf8)
            if streamed {
                let fields: HTTPFields = [
                    HTTPField.Name("x-amz-content-sha256")!: "UNSIGNED-PAYLOAD", .transferEncoding: "chunked",
                ]
                let chunked = Array("\(String(bytes.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n".utf8)
                return try rig.exchange(
                    try rig.head(method, target, fields, payload: .unsignedPayload) + chunked, within: 8
                ).0
            }
            let fields: HTTPFields = body.isEmpty && method != .post ? [:] : [.contentLength: String(bytes.count)]
            return try rig.exchange(
                try rig.head(method, target, fields, payload: .sha256(of: bytes)) + bytes, within: 8
            ).0
        }
        // One request opens a connection (answered, kept alive); each request after it goes on the
        // connection the one before left open, as its second request, and meets it closing. (A
        // request sent again is the first of a new connection, answered, and leaves that one open.)
        #expect(try send(.get, "/bucket/opens-1") == 200)
        #expect(try send(.get, "/bucket/get") == 200)
        #expect(try send(.put, "/bucket/put", body: "whole") == 200)
        #expect(try send(.post, "/bucket/post", body: "once") == 502)
        // (The POST's connection is gone: another one is opened first.)
        #expect(try send(.get, "/bucket/opens-2") == 200)
        #expect(try send(.put, "/bucket/streamed", body: "stream", streamed: true) == 502)
        let seen = upstream.requests
        func times(_ line: String) -> Int { seen.filter { $0 == line }.count }
        #expect(times("GET /bucket/get HTTP/1.1 body=") == 2, "\(seen)")
        #expect(times("PUT /bucket/put HTTP/1.1 body=whole") == 2, "\(seen)")
        #expect(times("POST /bucket/post HTTP/1.1 body=once") == 1, "\(seen)")
        #expect(seen.filter { $0.hasPrefix("PUT /bucket/streamed ") }.count == 1, "\(seen)")
    }

    @Test(
        "--shutdown-timeout: on SIGTERM a request still waiting on a silent upstream is cut after the timeout, and the gateway exits (having written the key store's last-use data); without it the gateway waits for the request"
    )
    func shutdownTimeoutCutsWhatIsStillRunning() throws {
        let silent = try HeldPort(listening: true)
        for bounded in [true, false] {
            let rig = try Rig(
                upstream: "http://127.0.0.1:\(silent.port)",
                ["--upstream-timeout", "0"] + (bounded ? ["--shutdown-timeout", "1"] : []))
            defer { rig.stop() }
            // A request in flight that nothing will answer.
            let client = try RawSocket.connect(port: rig.port, timeoutSeconds: 20)
            defer { close(client) }
            let request = try rig.head(.get, "/bucket/hangs", payload: .emptySHA256)
            _ = request.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // In flight once the gateway, having read and verified it, connects upstream (however long
            // that takes on a loaded machine; a fixed wait could signal a gateway with nothing running).
            let upstreamSide = silent.acceptConnection(within: 30)
            defer { if let upstreamSide { close(upstreamSide) } }
            #expect(upstreamSide != nil, "the gateway never connected upstream")
            kill(rig.gateway.process.processIdentifier, SIGTERM)
            // Up to 8 s for the bounded gateway to exit (it should take about 1 s); the unbounded one is
            // still running after 3 s, holding the request.
            var waited = 0.0
            while rig.gateway.process.isRunning && waited < (bounded ? 8 : 3) {
                Thread.sleep(forTimeInterval: 0.1)
                waited += 0.1
            }
            if bounded {
                #expect(!rig.gateway.process.isRunning, "still running \(waited) s after SIGTERM")
                #expect(rig.gateway.process.isRunning || rig.gateway.process.terminationStatus == 0)
                let out = String(decoding: rig.gateway.stdout, as: UTF8.self)
                #expect(out.contains("stopped"), "\(out.suffix(2000))")
            } else {
                #expect(rig.gateway.process.isRunning, "exited with a request in flight")
            }
        }
    }

    @Test(
        "the gateway raises its soft limit on open files to the hard one (started with 256 of 4096, it runs with 4096): a forwarded request holds two descriptors"
    )
    func openFileLimitIsRaised() throws {
        let fixture = try ServeFixture(label: "nofile")
        defer { fixture.remove() }
        // prlimit sets the limits and execs the gateway: the process it starts is the gateway.
        let gateway = try GatewayHygieneTests.Child(
            "/usr/bin/prlimit",
            [
                "--nofile=256:4096", GatewayBinaryTests.binary.path, "serve", "--listen", "127.0.0.1:0", "--keystore",
                fixture.store,
            ],
            environment: fixture.environment, directory: fixture.directory, name: "gateway")
        defer { gateway.stop() }
        #expect(gateway.line(startingWith: "sigv4 serve: listening on http") != nil)
        let limits = try String(contentsOfFile: "/proc/\(gateway.process.processIdentifier)/limits", encoding: .utf8)
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }.map(String.init) ?? ""
        #expect(
            line.split(separator: " ", omittingEmptySubsequences: true).suffix(3).prefix(2) == ["4096", "4096"],
            "\(line)")
    }

    @Test(
        "--upstream-connect-timeout must be above 0, --upstream-timeout 0 or more and --upstream-max-connections 1 or more: otherwise a usage error (exit 2)"
    )
    func timeoutFlagsAreChecked() throws {
        for arguments in [
            ["--upstream-connect-timeout", "0"], ["--upstream-connect-timeout", "-1"], ["--upstream-timeout", "-1"],
            ["--upstream-timeout", "86401"], ["--upstream-timeout", "soon"], ["--upstream-max-connections", "0"],
            ["--upstream-max-connections", "65537"], ["--shutdown-timeout", "-1"],
        ] {
            let result = try ChildProcess.run(
                GatewayBinaryTests.binary,
                ["serve", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:9"] + arguments)
            let message = String(decoding: result.stderr, as: UTF8.self)
            #expect(result.status == 2, "\(arguments): \(message)")
            // One line naming the flag, no stack.
            #expect(message.hasPrefix("sigv4: error: ") && message.contains(arguments[0]), "\(arguments): \(message)")
            #expect(message.split(separator: "\n").count == 1 && result.stdout.isEmpty, "\(arguments): \(message)")
        }
    }
}
