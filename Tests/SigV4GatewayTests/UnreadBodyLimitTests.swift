import HTTPTypes
import HummingbirdSigV4
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

/// `UnreadBodyLimit` on an `EmbeddedChannel` behind Hummingbird's HTTP/1 codec: what it does with a
/// body its answer left unread, step by step, with the clock in the test's hands.
@Suite("UnreadBodyLimit: the body left unread by an answer, bounded")
struct UnreadBodyLimitTests {
    /// Stands in front of the handler and records each `close(mode: .output)` (an `EmbeddedChannel`
    /// would close whole), and each `read` it lets through.
    final class OutputShutRecorder: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = Any
        var shut = 0
        var reads = 0

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            if mode == .output {
                shut += 1
                promise?.succeed(())
            } else {
                context.close(mode: mode, promise: promise)
            }
        }

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// What passes the handler inbound.
    final class InboundRecorder: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        var parts: [HTTPRequestPart] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
    }

    struct Rig {
        let channel = EmbeddedChannel()
        let shut = OutputShutRecorder()
        let passed = InboundRecorder()

        /// The codec, the recorder of shuts, the handler (limit 100 bytes), the recorder of what passes.
        init(limit: Int = 100) throws {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(shut)
            try pipeline.addHandler(UnreadBodyLimit(limit: limit))
            try pipeline.addHandler(passed)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        /// The head of a `PUT` with a declared `length`, or chunked when nil.
        func head(length: Int?) throws {
            var head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/upload")
            head.headers.add(name: "Host", value: "127.0.0.1")
            if let length {
                head.headers.add(name: "Content-Length", value: String(length))
            } else {
                head.headers.add(name: "Transfer-Encoding", value: "chunked")
            }
            try channel.writeInbound(HTTPServerRequestPart.head(head))
        }

        /// The head of a `PUT` whose `Content-Length` field is `value` as written.
        func head(contentLength value: String) throws {
            var head = HTTPRequestHead(version: .http1_1, method: .PUT, uri: "/upload")
            head.headers.add(name: "Host", value: "127.0.0.1")
            head.headers.add(name: "Content-Length", value: value)
            try channel.writeInbound(HTTPServerRequestPart.head(head))
        }

        func body(_ count: Int) throws {
            try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 0x62, count: count)))
        }

        func end() throws { try channel.writeInbound(HTTPServerRequestPart.end(nil)) }

        /// Answers `status` (head and end, flushed); returns the head as written.
        @discardableResult
        func answer(_ status: HTTPResponse.Status, flush: Bool = true) throws -> HTTPResponseHead? {
            channel.write(HTTPResponsePart.head(HTTPResponse(status: status)), promise: nil)
            if flush {
                channel.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
            } else {
                channel.write(HTTPResponsePart.end(nil), promise: nil)
            }
            guard case .head(let head) = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
            while try channel.readOutbound(as: HTTPServerResponsePart.self) != nil {}
            return head
        }

        /// The body bytes that passed the handler.
        var passedBodyBytes: Int {
            passed.parts.reduce(0) { total, part in
                if case .body(let buffer) = part { return total + buffer.readableBytes }
                return total
            }
        }
    }

    @Test("a refusal with more than the limit of a declared body still to come says Connection: close; once written the output is shut, the socket no longer read, what comes dropped, and the connection closed 2 s later")
    func refusalOverTheLimitClosesAfterTheLinger() throws {
        let rig = try Rig()
        try rig.head(length: 10_000)
        try rig.body(50)
        let head = try #require(try rig.answer(.forbidden))
        #expect(head.status.code == 403 && head.headers["connection"] == ["close"], "\(head)")
        #expect(rig.shut.shut == 1)
        let reads = rig.shut.reads
        rig.channel.read()
        #expect(rig.shut.reads == reads, "the socket is still read while closing")
        try rig.body(1_000)
        #expect(rig.passedBodyBytes == 50, "bytes after the answer passed on")
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1_900))
        #expect(rig.channel.isActive)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        #expect(!rig.channel.isActive, "open 2.1 s after the shut")
    }

    @Test("a refusal to a request whose Content-Length is no length ('-1', '+5', digits past Int.max, which Int() read as -1, 5 and none): what is still to come is not known, so the answer says Connection: close and the output is shut (NIO's HTTP/1 parser refuses such fields before the handler; the handler does not rely on it)")
    func refusalOfALengthThatIsNoLengthCloses() throws {
        for value in ["-1", "+5", "99999999999999999999"] {
            let rig = try Rig()
            try rig.head(contentLength: value)
            try rig.body(50)
            let head = try #require(try rig.answer(.badRequest))
            #expect(head.headers["connection"] == ["close"], "\(value): \(head)")
            #expect(rig.shut.shut == 1, "\(value)")
        }
    }

    @Test("the shut waits for the answer to have been written (here, flushed): shutting before would drop it; but the socket is not read from the moment the answer's end is handed over, so a client that does not read its answer cannot send on meanwhile")
    func shutWaitsForTheAnswer() throws {
        let rig = try Rig()
        try rig.head(length: 10_000)
        try rig.answer(.forbidden, flush: false)
        #expect(rig.shut.shut == 0)
        let reads = rig.shut.reads
        rig.channel.read()
        #expect(rig.shut.reads == reads, "the socket is read while the answer waits")
        try rig.body(5_000)
        #expect(rig.passedBodyBytes == 0)
        rig.channel.flush()
        #expect(rig.shut.shut == 1)
    }

    @Test("a chunked body past the limit while its answer still waits to be sent: the socket is no longer read and what comes is dropped, and the output is shut once the answer has been written")
    func budgetSpentWhileTheAnswerWaits() throws {
        let rig = try Rig()
        try rig.head(length: nil)
        try rig.answer(.forbidden, flush: false)
        try rig.body(60)
        try rig.body(60)
        #expect(rig.shut.shut == 0 && rig.passedBodyBytes == 60)
        let reads = rig.shut.reads
        rig.channel.read()
        #expect(rig.shut.reads == reads)
        rig.channel.flush()
        #expect(rig.shut.shut == 1)
    }

    @Test("a body that ends while closing closes the connection at once")
    func endWhileClosingClosesAtOnce() throws {
        let rig = try Rig()
        try rig.head(length: 10_000)
        try rig.answer(.forbidden)
        #expect(rig.channel.isActive)
        try rig.end()
        #expect(!rig.channel.isActive)
    }

    @Test("a refusal with at most the limit still to come keeps the connection: no Connection: close, the rest of the body passed on (the server discards it), and the next request read")
    func refusalWithinTheLimitKeepsTheConnection() throws {
        let rig = try Rig()
        try rig.head(length: 150)
        try rig.body(60)
        let head = try #require(try rig.answer(.forbidden))
        #expect(head.headers["connection"].isEmpty, "\(head)")
        try rig.body(90)
        try rig.end()
        #expect(rig.shut.shut == 0 && rig.channel.isActive)
        #expect(rig.passedBodyBytes == 150)
        try rig.head(length: 0)
        #expect(rig.passed.parts.count == 5)
        rig.channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(rig.channel.isActive)
    }

    @Test("a chunked body (no length to judge by) answered without being read: the limit's bytes pass after the answer, the next chunk over it shuts the output and is dropped")
    func chunkedBodyOverTheLimit() throws {
        let rig = try Rig()
        try rig.head(length: nil)
        try rig.body(500)
        let head = try #require(try rig.answer(.forbidden))
        #expect(head.headers["connection"].isEmpty, "\(head)")
        #expect(rig.shut.shut == 0)
        try rig.body(60)
        try rig.body(40)
        #expect(rig.shut.shut == 0 && rig.passedBodyBytes == 600)
        try rig.body(1)
        #expect(rig.shut.shut == 1 && rig.passedBodyBytes == 600)
        rig.channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        #expect(!rig.channel.isActive)
    }

    @Test("a 2xx answer sent before the body was read says nothing at its head (the handler may still read it: a streaming answer), but once it has ended with more than the limit still to come the output is shut")
    func successfulAnswerOverTheLimit() throws {
        let rig = try Rig()
        try rig.head(length: 10_000)
        let head = try #require(try rig.answer(.ok))
        #expect(head.headers["connection"].isEmpty, "\(head)")
        #expect(rig.shut.shut == 1)
    }

    @Test("an answer to an earlier pipelined request, ended while a later request's body is still coming, leaves that body alone; the later request's own refusal is judged by it")
    func pipelinedAnswers() throws {
        let rig = try Rig()
        try rig.head(length: 0)
        try rig.end()
        try rig.head(length: 10_000)
        try rig.body(10)
        let first = try #require(try rig.answer(.ok))
        #expect(first.headers["connection"].isEmpty && rig.shut.shut == 0, "\(first)")
        try rig.body(2_000)
        #expect(rig.passedBodyBytes == 2_010)
        let second = try #require(try rig.answer(.forbidden))
        #expect(second.headers["connection"] == ["close"] && rig.shut.shut == 1, "\(second)")
    }

    @Test("an answer still waiting to be sent when its request's body ends and the next request's head comes (a pipelining client) leaves the next request alone once sent: its declared body over the limit is not cut, as it has not been answered")
    func answerSentAfterTheNextHead() throws {
        let rig = try Rig()
        try rig.head(length: 10)
        rig.channel.write(HTTPResponsePart.head(HTTPResponse(status: .ok)), promise: nil)
        rig.channel.write(HTTPResponsePart.end(nil), promise: nil)
        try rig.body(10)
        try rig.end()
        try rig.head(length: 10_000)
        rig.channel.flush()
        #expect(rig.shut.shut == 0 && rig.channel.isActive)
        try rig.body(5_000)
        #expect(rig.passedBodyBytes == 5_010)
    }

    /// An `EmbeddedChannel` with NIO's HTTP/1 decoder and encoder before the codec, the recorder of
    /// shuts, the handler (limit `limit`), and the recorder of what passes: raw bytes go in.
    static func decodingChannel(limit: Int) throws -> (EmbeddedChannel, OutputShutRecorder, InboundRecorder) {
        let channel = EmbeddedChannel()
        let shut = OutputShutRecorder()
        let passed = InboundRecorder()
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try pipeline.addHandler(HTTPResponseEncoder())
        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try pipeline.addHandler(shut)
        try pipeline.addHandler(UnreadBodyLimit(limit: limit))
        try pipeline.addHandler(passed)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, shut, passed)
    }

    @Test("a read that ends a refused body within the limit and carries a pipelined request (its head and 2,000 body bytes) keeps the connection: only the refused body's bytes count, and the next request passes")
    func pipelinedRequestInTheSameRead() throws {
        let (channel, shut, passed) = try Self.decodingChannel(limit: 1_000)
        try channel.writeInbound(ByteBuffer(string: "PUT /refused HTTP/1.1\r\nHost: h\r\nContent-Length: 900\r\n\r\n"))
        channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        channel.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        let next =
            "PUT /next HTTP/1.1\r\nHost: h\r\nContent-Length: 2000\r\n\r\n" + String(repeating: "n", count: 2_000)
        try channel.writeInbound(ByteBuffer(string: String(repeating: "r", count: 900) + next))
        #expect(shut.shut == 0 && channel.isActive)
        let heads = passed.parts.compactMap { part -> String? in
            if case .head(let head) = part { return head.path }
            return nil
        }
        #expect(heads == ["/refused", "/next"], "\(heads)")
    }

    @Test("a request that asks to switch protocols (Connection: Upgrade with Upgrade, or CONNECT), answered otherwise: the socket is not read from its end on (NIO's decoder would hold every later byte), its answer says Connection: close, the output is shut once it is written, and the connection closed 2 s later; an Upgrade field without the Connection option changes nothing")
    func refusedSwitchEndsTheConnection() throws {
        for request in [
            "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
        ] {
            let (channel, shut, _) = try Self.decodingChannel(limit: 1 << 20)
            try channel.writeInbound(ByteBuffer(string: request))
            let reads = shut.reads
            channel.read()
            #expect(shut.reads == reads, "the socket is read after \(request)")
            channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
            channel.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
            var written = ""
            while let data = try channel.readOutbound(as: IOData.self) {
                if case .byteBuffer(let buffer) = data { written += String(buffer: buffer) }
            }
            #expect(written.lowercased().contains("\r\nconnection: close\r\n"), "\(written)")
            #expect(shut.shut == 1)
            channel.embeddedEventLoop.advanceTime(by: .milliseconds(2_100))
            #expect(!channel.isActive)
        }
        let (plain, plainShut, _) = try Self.decodingChannel(limit: 1 << 20)
        try plain.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"))
        plain.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        plain.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        let reads = plainShut.reads
        plain.read()
        #expect(plainShut.shut == 0 && plainShut.reads == reads + 1 && plain.isActive)
    }

    /// The head of a `GET` asking to switch to `upgrade`.
    static func switchHead(_ upgrade: String) -> HTTPServerRequestPart {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/switch")
        head.headers.add(name: "Host", value: "h")
        head.headers.add(name: "Connection", value: "Upgrade")
        head.headers.add(name: "Upgrade", value: upgrade)
        return .head(head)
    }

    @Test("an earlier answer written while a later, pipelined request holds the connection (it asked to switch protocols) shuts nothing: the output is shut only once the later request's own answer has been written")
    func earlierAnswerDoesNotShutForALaterOne() throws {
        let rig = try Rig()
        try rig.head(length: 150)
        try rig.body(100)
        rig.channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        rig.channel.write(HTTPResponsePart.end(nil), promise: nil)
        try rig.body(50)
        try rig.end()
        try rig.channel.writeInbound(Self.switchHead("h2c"))
        try rig.end()
        rig.channel.flush()
        #expect(rig.shut.shut == 0, "shut before the second request was answered")
        rig.channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        rig.channel.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        #expect(rig.shut.shut == 1)
    }

    @Test("a request that asks to switch protocols and is answered 101 gets its reads back: the read held since its end is issued again (else the connection would never be read)")
    func switchedConnectionIsReadAgain() throws {
        let rig = try Rig()
        try rig.channel.writeInbound(Self.switchHead("websocket"))
        try rig.end()
        let reads = rig.shut.reads
        rig.channel.read()
        #expect(rig.shut.reads == reads)
        rig.channel.writeAndFlush(HTTPResponsePart.head(HTTPResponse(status: .switchingProtocols)), promise: nil)
        #expect(rig.shut.reads == reads + 1 && rig.shut.shut == 0)
    }

    @Test("what counts is the bytes the connection reads, not the body's: after a refusal of a chunked body, one-byte chunks with 4 KiB chunk extensions (a body of 30 bytes in 120 KiB) shut the output once the limit's bytes have been read; with an HTTP decoder in front, each raw read is counted")
    func chunkFramingCountsAgainstTheLimit() throws {
        let (channel, shut, _) = try Self.decodingChannel(limit: 64 << 10)
        let head = "PUT /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        try channel.writeInbound(ByteBuffer(string: head))
        channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        channel.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        let chunk = "1;x=" + String(repeating: "a", count: 4096) + "\r\nb\r\n"
        var reads = 0
        while shut.shut == 0 && reads < 100 {
            try channel.writeInbound(ByteBuffer(string: chunk))
            reads += 1
        }
        #expect(shut.shut == 1, "not shut after \(reads) reads of \(chunk.utf8.count) bytes")
        #expect(reads == 16, "\(reads)")
    }

    @Test("an answer whose request body ended before it is left alone, even over the limit; one that said Connection: close because of it shuts the output once written, and closes 2 s later")
    func bodyEndedBeforeTheAnswer() throws {
        let rig = try Rig()
        try rig.head(length: 1_000)
        try rig.body(1_000)
        try rig.end()
        let kept = try #require(try rig.answer(.forbidden))
        #expect(kept.headers["connection"].isEmpty && rig.shut.shut == 0 && rig.channel.isActive, "\(kept)")

        let closing = try Rig()
        try closing.head(length: 1_000)
        closing.channel.write(HTTPResponsePart.head(HTTPResponse(status: .forbidden)), promise: nil)
        try closing.body(1_000)
        try closing.end()
        closing.channel.writeAndFlush(HTTPResponsePart.end(nil), promise: nil)
        #expect(closing.shut.shut == 1, "not shut after an answer that said Connection: close")
        closing.channel.embeddedEventLoop.advanceTime(by: .milliseconds(2_100))
        #expect(!closing.channel.isActive)
    }
}
