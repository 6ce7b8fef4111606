import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSigV4
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import SigV4
import SigV4Verifier
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ExpectContinueHandler` and `ExpectContinueMiddleware` in a Hummingbird app of the library's user:
/// a live server in front of ``TestApp``'s routes, spoken to in raw HTTP/1.1 so the test sees every
/// interim response and when the server closes the connection.
@Suite("Hummingbird: Expect: 100-continue with the SigV4 middleware (live server)")
struct ExpectContinueMiddlewareTests {
    /// ``TestApp``'s `/upload` behind the authenticator, with the handler sending its `100` per `timing`
    /// (and, for `.whenBodyIsRead`, ``ExpectContinueMiddleware`` before the authenticator).
    static func application(_ timing: ExpectContinueHandler.Timing) -> some ApplicationProtocol {
        let verifier = Verifier(
            resolver: InMemoryCredentialResolver([TestApp.alice]),
            policy: VerificationPolicy(allowedRegions: ["us-east-1"]))
        let router = Router(context: BasicSigV4RequestContext.self)
        if timing == .whenBodyIsRead { router.add(middleware: ExpectContinueMiddleware()) }
        router.add(middleware: SigV4Authenticator(verifier: verifier, configuration: .init(clock: { TestApp.now })))
        router.put("/upload") { request, _ in
            var count = 0
            for try await buffer in request.body { count += buffer.readableBytes }
            return "\(count)"
        }
        // Answers before it reads the body: the head goes first, then the body's bytes as they come.
        router.put("/echo") { request, _ in
            Response(
                status: .ok,
                body: ResponseBody { writer in
                    for try await buffer in request.body { try await writer.write(buffer) }
                    try await writer.finish(nil)
                })
        }
        return Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler(sending: timing)])))
    }

    /// The head of `PUT path` (`/upload` by default) with `body`'s hash, signed with `secret` (alice's by
    /// default), asking `Expect: 100-continue`.
    static func head(port: Int, body: [UInt8], secret: String? = nil, path: String = "/upload") throws -> [UInt8] {
        let request = HTTPRequest(
            method: .put, scheme: "http", authority: "127.0.0.1:\(port)", path: path,
            headerFields: [.contentLength: String(body.count)])
        let signed = try TestApp.signer(secret: secret).sign(request, payload: .sha256(of: body), at: TestApp.now)
        var head = "PUT \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        for field in signed.request.headerFields { head += "\(field.name.rawName): \(field.value)\r\n" }
        return Array((head + "Expect: 100-continue\r\n\r\n").utf8)
    }

    /// How long one read of the live server's answer waits, in seconds. Long: the server's handlers
    /// share the cooperative pool (two threads) with other suites' synchronous tests, which block it while
    /// they wait for child processes; a fresh-clone CI run saw a first answer not come within 10 s.
    static let readTimeout = 60

    /// Runs `exchange` (blocking socket calls) on a thread of its own: the server's handlers run on the
    /// cooperative pool, which a blocked test task would starve (two threads on this machine).
    static func offPool<T: Sendable>(_ exchange: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try exchange() }) }.start()
        }
    }

    @Test("with .whenBodyIsRead a verified upload gets 100 Continue when the handler reads its body, and a refused one none: its 403 says Connection: close and the server closes the connection without waiting for the body")
    func continueWhenBodyIsRead() async throws {
        try await Self.application(.whenBodyIsRead).test(.live) { client in
            let port = try #require(client.port)
            let body = Array("twelve bytes".utf8)
            let accepted = try Self.head(port: port, body: body)
            let (interim, answer) = try await Self.offPool {
                let fd = try RawSocket.connect(port: UInt16(port), timeoutSeconds: Self.readTimeout)
                defer { close(fd) }
                GatewayExpectContinueTests.write(fd, accepted)
                let interim = GatewayExpectContinueTests.readHead(fd)
                GatewayExpectContinueTests.write(fd, body)
                return (interim, String(decoding: RawSocket.readResponse(fd), as: UTF8.self))
            }
            #expect(interim.hasPrefix("HTTP/1.1 100 "), "\(interim)")
            #expect(answer.hasPrefix("HTTP/1.1 200 ") && answer.hasSuffix("\r\n\r\n12"), "\(answer)")

            let forged = try Self.head(port: port, body: body, secret: "not alice's secret")
            let (response, closed) = try await Self.offPool {
                let fd = try RawSocket.connect(port: UInt16(port), timeoutSeconds: Self.readTimeout)
                defer { close(fd) }
                GatewayExpectContinueTests.write(fd, forged)
                let response = String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
                return (response, GatewayExpectContinueTests.closedByPeer(fd))
            }
            #expect(response.hasPrefix("HTTP/1.1 403 ") && response.contains("SignatureDoesNotMatch"), "\(response)")
            #expect(response.lowercased().contains("\r\nconnection: close\r\n"), "\(response)")
            #expect(closed, "the server waited for the body")
        }
    }

    @Test("with the default timing (.immediately) the 100 Continue goes as soon as the head arrives, before the request is judged: a refused upload's client gets it before its 403")
    func continueImmediately() async throws {
        try await Self.application(.immediately).test(.live) { client in
            let port = try #require(client.port)
            let forged = try Self.head(port: port, body: Array("twelve bytes".utf8), secret: "not alice's secret")
            let (interim, response) = try await Self.offPool {
                let fd = try RawSocket.connect(port: UInt16(port), timeoutSeconds: Self.readTimeout)
                defer { close(fd) }
                GatewayExpectContinueTests.write(fd, forged)
                let interim = GatewayExpectContinueTests.readHead(fd)
                return (interim, String(decoding: RawSocket.readResponse(fd), as: UTF8.self))
            }
            #expect(interim.hasPrefix("HTTP/1.1 100 "), "\(interim)")
            #expect(response.hasPrefix("HTTP/1.1 403 "), "\(response)")
        }
    }

    @Test("with .immediately a pipelined request's 100 Continue waits for the answer to the request before it: an upload sent whole and, behind it, one asking Expect: 100-continue get 200, then 100, then (once its body came) 200")
    func pipelinedContinueWaitsItsTurn() async throws {
        try await Self.application(.immediately).test(.live) { client in
            let port = try #require(client.port)
            let body = Array("twelve bytes".utf8)
            var whole = try Self.head(port: port, body: body)
            whole.removeLast("Expect: 100-continue\r\n\r\n".utf8.count)
            let first = whole + Array("\r\n".utf8) + body
            let second = try Self.head(port: port, body: body)
            let heads = try await Self.offPool {
                let fd = try RawSocket.connect(port: UInt16(port), timeoutSeconds: Self.readTimeout)
                defer { close(fd) }
                GatewayExpectContinueTests.write(fd, first + second)
                var heads = [GatewayExpectContinueTests.readHead(fd)]
                // The first answer's body ("12"), then the 100 (if it did not come before).
                var two: [UInt8] = [0, 0]
                _ = recv(fd, &two, 2, Int32(MSG_WAITALL))
                heads.append(GatewayExpectContinueTests.readHead(fd))
                GatewayExpectContinueTests.write(fd, body)
                heads.append(GatewayExpectContinueTests.readHead(fd))
                return heads
            }
            let statuses = heads.map { $0.dropFirst("HTTP/1.1 ".count).prefix(3) }
            #expect(statuses == ["200", "100", "200"], "\(heads)")
        }
    }

    @Test("with .whenBodyIsRead a 2xx answer that starts before the handler reads the body (a streaming echo) gets its 100 Continue just before it, so the client sends the body the handler then reads")
    func successfulAnswerBeforeTheBody() async throws {
        try await Self.application(.whenBodyIsRead).test(.live) { client in
            let port = try #require(client.port)
            let body = Array("echoed bytes".utf8)
            let head = try Self.head(port: port, body: body, path: "/echo")
            let (heads, echoed) = try await Self.offPool {
                let fd = try RawSocket.connect(port: UInt16(port), timeoutSeconds: Self.readTimeout)
                defer { close(fd) }
                GatewayExpectContinueTests.write(fd, head)
                let heads = [GatewayExpectContinueTests.readHead(fd), GatewayExpectContinueTests.readHead(fd)]
                GatewayExpectContinueTests.write(fd, body)
                var rest: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while !String(decoding: rest, as: UTF8.self).contains("\r\n0\r\n\r\n") {
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n <= 0 { break }
                    rest += buffer[0..<n]
                }
                return (heads, String(decoding: rest, as: UTF8.self))
            }
            #expect(heads.map { $0.prefix(12) } == ["HTTP/1.1 100", "HTTP/1.1 200"], "\(heads)")
            #expect(echoed.contains("echoed bytes"), "\(echoed)")
        }
    }

    /// A connected `EmbeddedChannel` with Hummingbird's HTTP/1 codec and a `.whenBodyIsRead` handler,
    /// which has read the head of a 10-byte `PUT` asking `Expect: 100-continue`.
    static func embeddedWithOwedContinue() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try channel.pipeline.syncOperations.addHandler(ExpectContinueHandler(sending: .whenBodyIsRead))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/upload")
        head.headers.add(name: "Host", value: "127.0.0.1")
        head.headers.add(name: "Content-Length", value: "10")
        head.headers.add(name: "Expect", value: "100-continue")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        #expect(try channel.readInbound(as: HTTPRequestPart.self) != nil)
        return channel
    }

    @Test("after a refusal without its 100: a request end that is the first thing to come closes the connection at once; a body that starts between the refusal's head and its end holds the close until the body ends, past the 2 s")
    func closeFollowsTheRefusedBody() throws {
        let ended = try Self.embeddedWithOwedContinue()
        ended.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        ended.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        try ended.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(!ended.isActive, "open after the refused request ended")

        let started = try Self.embeddedWithOwedContinue()
        started.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        try started.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "01234")))
        started.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        started.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(started.isActive, "closed with the body's rest unread")
        try started.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "56789")))
        #expect(started.isActive)
        try started.writeInbound(HTTPServerRequestPart.end(nil))
        #expect(!started.isActive, "open after the refused request's body ended")
    }

    @Test("the close after a refusal without its 100 is timed from when the refusal has been sent, not handed over: an answer still unsent (here unflushed) is never dropped by it; once sent, the connection closes 2 s later, and the refusal said Connection: close")
    func closeIsTimedFromTheSentAnswer() throws {
        let channel = try Self.embeddedWithOwedContinue()
        channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        channel.write(HTTPResponsePart.end(nil), promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(channel.isActive, "closed before its answer was sent")
        channel.flush()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive)
        guard case .head(let sent) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(sent.status == .forbidden && sent.headers["connection"] == ["close"], "\(sent)")
    }
}
