import Foundation
import Hummingbird
import HummingbirdSigV4
import HummingbirdTesting
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `SendTimeout` on an `EmbeddedChannel`: the writes' completions and the clock in the test's hands.
@Suite("SendTimeout: a channel whose answer stops leaving is closed")
struct SendTimeoutTests {
    /// Stands between the handler and the channel's end, as a socket that takes nothing: keeps each
    /// write's promise, and completes the oldest ones when the test says they left; a close fails
    /// those still waiting, as a channel's does.
    final class HeldWrites: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = Any
        var waiting: [EventLoopPromise<Void>?] = []
        /// Every write, in order, and how many had been written at each flush.
        var written: [Any] = []
        var flushes: [Int] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            written.append(unwrapOutboundIn(data))
            waiting.append(promise)
        }

        func flush(context: ChannelHandlerContext) {
            flushes.append(written.count)
        }

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            let failed = waiting
            waiting = []
            for write in failed { write?.fail(ChannelError.ioOnClosedChannel) }
            context.close(mode: mode, promise: promise)
        }

        /// Completes the `count` oldest writes, as sent.
        func leave(_ count: Int) {
            for _ in 0..<count where !waiting.isEmpty { waiting.removeFirst()?.succeed(()) }
        }
    }

    /// An active embedded channel with the handler in front of ``HeldWrites``.
    static func channel(_ timeout: TimeAmount) throws -> (EmbeddedChannel, HeldWrites) {
        let channel = EmbeddedChannel()
        let held = HeldWrites()
        try channel.pipeline.syncOperations.addHandler(held)
        try channel.pipeline.syncOperations.addHandler(SendTimeout(timeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, held)
    }

    static func write(_ channel: EmbeddedChannel, flush: Bool = true) {
        let data = NIOAny(ByteBuffer(string: "answer"))
        if flush {
            channel.pipeline.writeAndFlush(data, promise: nil)
        } else {
            channel.pipeline.write(data, promise: nil)
        }
    }

    @Test("a flushed write that waits the whole timeout, with none leaving, closes the channel, and not a moment before")
    func stalledWriteCloses() throws {
        let (channel, _) = try Self.channel(.seconds(5))
        Self.write(channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test("a client that takes a write in each timeout keeps its channel, however long the answer")
    func slowReaderKeepsTheChannel() throws {
        let (channel, held) = try Self.channel(.seconds(5))
        for _ in 0..<20 { Self.write(channel) }
        for _ in 0..<19 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(4))
            held.leave(1)
        }
        #expect(channel.isActive)
        // The last write waits on: the channel stays for a timeout after the last write that left, and
        // goes within twice it.
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        #expect(!channel.isActive)
    }

    @Test("once every write has left nothing is timed: an idle channel is the idle timer's")
    func drainedChannelStaysOpen() throws {
        let (channel, held) = try Self.channel(.seconds(1))
        Self.write(channel)
        Self.write(channel)
        held.leave(2)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3_600))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test("a write not yet flushed is not timed (the answer is still being prepared), alone or after one that left")
    func unflushedWriteIsNotTimed() throws {
        let (channel, held) = try Self.channel(.seconds(1))
        Self.write(channel)
        held.leave(1)
        Self.write(channel, flush: false)
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        channel.pipeline.flush()
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("a timeout of zero never closes a channel whose writes wait")
    func zeroTimeoutNeverCloses() throws {
        let (channel, _) = try Self.channel(.zero)
        Self.write(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3_600))
        #expect(channel.isActive)
    }

    @Test(
        "the timer ends with the channel: closed otherwise first, its check is cancelled at once (the handler is freed without the clock moving), and nothing fires later"
    )
    func closedChannelStopsTheTimer() throws {
        let channel = EmbeddedChannel()
        let held = HeldWrites()
        weak var freed: SendTimeout?
        do {
            let handler = SendTimeout(.seconds(2))
            freed = handler
            try channel.pipeline.syncOperations.addHandler(held)
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        Self.write(channel)
        #expect(freed != nil)
        channel.close(promise: nil)
        channel.embeddedEventLoop.run()
        // A timer left scheduled keeps the handler (and its context) until it fires.
        #expect(freed == nil, "the send timer was still scheduled after the channel closed")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive)
    }

    /// The bytes of a write as ``HeldWrites`` saw it (a `ByteBuffer` is passed as `IOData`), or of an
    /// HTTP response's body part.
    static func bytes(_ write: Any) -> ByteBuffer? {
        if case .byteBuffer(let buffer) = write as? IOData { return buffer }
        if case .body(let buffer) = write as? HTTPResponsePart { return buffer }
        return nil
    }

    /// `count` bytes, no two neighbouring slices alike.
    static func body(_ count: Int) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: $0 / 7 &+ $0) })
    }

    @Test(
        "one write larger than sliceSize leaves as slices, in order, each flushed before the next goes: a client that takes a slice in each timeout keeps its channel, and the write's promise completes with the last slice"
    )
    func largeWriteLeavesInSlices() throws {
        let (channel, held) = try Self.channel(.seconds(5))
        let body = Self.body(4 * SendTimeout.sliceSize + 100)
        let promise = channel.embeddedEventLoop.makePromise(of: Void.self)
        var done = false
        promise.futureResult.assumeIsolated().whenSuccess { done = true }
        channel.pipeline.writeAndFlush(NIOAny(body), promise: promise)
        let slices = held.written.compactMap(Self.bytes)
        #expect(slices.map(\.readableBytes) == [Int](repeating: SendTimeout.sliceSize, count: 4) + [100])
        #expect(slices.reduce(into: ByteBuffer()) { $0.writeImmutableBuffer($1) } == body)
        #expect(held.flushes == [1, 2, 3, 4, 5])
        // A slice leaves every 4 s, the whole taking 20 s with a timeout of 5: never cut.
        for _ in 0..<4 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(4))
            held.leave(1)
            #expect(channel.isActive)
            #expect(!done)
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        held.leave(1)
        #expect(channel.isActive && done)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3_600))
        #expect(channel.isActive)
    }

    @Test("a large write none of whose slices leaves closes the channel after the timeout; its promise fails")
    func largeWriteNotLeavingCloses() throws {
        let (channel, held) = try Self.channel(.seconds(5))
        let promise = channel.embeddedEventLoop.makePromise(of: Void.self)
        var failed = false
        promise.futureResult.assumeIsolated().whenFailure { _ in failed = true }
        channel.pipeline.writeAndFlush(NIOAny(Self.body(3 * SendTimeout.sliceSize)), promise: promise)
        #expect(held.written.count == 3)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(4_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive && failed)
    }

    @Test("an HTTP response's large body part goes as body parts; its head, a small part and its end go as they are")
    func responseBodyPartsAreSliced() throws {
        let (channel, held) = try Self.channel(.seconds(5))
        let body = Self.body(SendTimeout.sliceSize + 1)
        for part: HTTPResponsePart in [.head(.init(status: .ok)), .body(body), .body(Self.body(10)), .end(nil)] {
            channel.pipeline.write(NIOAny(part), promise: nil)
        }
        channel.pipeline.flush()
        let parts = held.written.map { $0 as? HTTPResponsePart }
        #expect(parts.count == 5)
        if case .head = parts.first {} else { Issue.record("first: \(String(describing: parts.first))") }
        #expect(parts[1...3].map { $0.flatMap(Self.bytes)?.readableBytes } == [SendTimeout.sliceSize, 1, 10])
        if case .end = parts.last {} else { Issue.record("last: \(String(describing: parts.last))") }
    }

    /// Asks a live server at 127.0.0.1:`port` for `GET /big` with a 64 KiB receive buffer, waits for the
    /// answer's first byte (the handler may be slow to run on a loaded machine), then `delay` seconds, then
    /// reads at most `chunk` bytes every `pause` seconds until the server closes (or a
    /// read waits 60 s): the body it got, and whether the whole answer came.
    static func download(port: Int, delay: Double, chunk: Int, pause: Double) throws -> (body: Int, whole: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocket.Failure(description: "socket: \(errno)") }
        defer { close(fd) }
        var size: Int32 = 65_536
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw RawSocket.Failure(description: "connect: \(errno)") }
        let request = "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        GatewayExpectContinueTests.write(fd, Array(request.utf8))
        var buffer = [UInt8](repeating: 0, count: chunk)
        let first = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, 1, 0) }
        var received = first == 1 ? [buffer[0]] : []
        Thread.sleep(forTimeInterval: delay)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, chunk, 0) }
            guard n > 0 else { break }
            received += buffer[0..<n]
            if pause > 0 { Thread.sleep(forTimeInterval: pause) }
        }
        let end = received.indices.first { received[$0...].starts(with: Array("\r\n\r\n".utf8)) } ?? received.count
        let body = max(0, received.count - end - 4)
        return (body, body == Self.bigSize)
    }

    /// The size of `GET /big`'s answer in ``liveSlowReaderGetsALargeBody()``: 10 MiB, in one buffer.
    static let bigSize = 10 << 20

    @Test(
        "live HTTP/1.1, send timeout 2 s: one 10 MiB body buffer to a client reading 32 KiB every 20 ms (over 6 s) arrives whole, while a client that reads nothing for 6 s once its answer has begun is cut (its answer short)"
    )
    func liveSlowReaderGetsALargeBody() async throws {
        let router = Router()
        router.get("/big") { _, _ in
            let body = ByteBuffer(repeating: UInt8(ascii: "x"), count: Self.bigSize)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
        let app = Application(
            // 2 s: each 256 KiB slice drains in about 0.16 s at this reader's pace, so a loaded machine that
            // holds the reader back for a second does not cut it; the 10 MiB buffer sent as one write (no
            // slices) still is (about 3.7 s of it left once the socket's buffers are full).
            router: router, server: .http1(configuration: .init(additionalChannelHandlers: [SendTimeout(.seconds(2))])))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            async let steady = ExpectContinueMiddlewareTests.offPool {
                try Self.download(port: port, delay: 0, chunk: 32_768, pause: 0.02)
            }
            async let silent = ExpectContinueMiddlewareTests.offPool {
                try Self.download(port: port, delay: 6, chunk: 1 << 20, pause: 0)
            }
            let (read, unread) = try await (steady, silent)
            #expect(read.whole, "the steady reader got \(read.body) of \(Self.bigSize) bytes")
            #expect(!unread.whole && unread.body < Self.bigSize, "the silent client got \(unread.body) bytes")
        }
    }
}
