import HummingbirdSigV4
import NIOCore
import NIOEmbedded
import Testing

/// `SendTimeout` on an `EmbeddedChannel`: the writes' completions and the clock in the test's hands.
@Suite("SendTimeout: a channel whose answer stops leaving is closed")
struct SendTimeoutTests {
    /// Stands between the handler and the channel's end, as a socket that takes nothing: keeps each
    /// write's promise, and completes the oldest ones when the test says they left.
    final class HeldWrites: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = Any
        var waiting: [EventLoopPromise<Void>?] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            waiting.append(promise)
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

    @Test("the timer ends with the channel: closed otherwise first, nothing fires later")
    func closedChannelStopsTheTimer() throws {
        let (channel, _) = try Self.channel(.seconds(2))
        Self.write(channel)
        channel.close(promise: nil)
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(!channel.isActive)
    }
}
