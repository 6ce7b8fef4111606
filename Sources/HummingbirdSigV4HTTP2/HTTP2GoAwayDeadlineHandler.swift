public import NIOCore
public import NIOHTTP2

/// Closes an HTTP/2 connection whose client has not answered the server's graceful GOAWAY within the
/// deadline.
///
/// Hummingbird's HTTP/2 connection manager ends a connection (idle too long, or the server stopping)
/// with a GOAWAY and a PING, and goes on to its final GOAWAY and close only once the PING is
/// acknowledged. A client that never acknowledges it kept its connection for ever, and a stopping
/// server waited for it (measured with `sigv4 serve`: SIGTERM took as long as such a client stayed,
/// 10.1 s for one that gave up after 10 s). This handler, after NIOHTTP2's, starts the deadline at the
/// first GOAWAY sent and stops it at the PING's acknowledgement; a client that acknowledges keeps its
/// streams in flight until they finish (a stalled one is closed by the stream's idle timeout).
///
/// ``GuardedHTTP2Channel`` puts one on each HTTP/2 connection; for a pipeline of your own:
///
/// ```swift
/// let http2 = try pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)
/// try pipeline.syncOperations.addHandler(HTTP2GoAwayDeadlineHandler(.seconds(60)), position: .after(http2))
/// ```
public final class HTTP2GoAwayDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTP2Frame
    public typealias InboundOut = HTTP2Frame
    public typealias OutboundIn = HTTP2Frame
    public typealias OutboundOut = HTTP2Frame

    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    private var answered = false

    /// A handler that closes its connection `deadline` after the first GOAWAY it sees written, unless
    /// the client acknowledges a PING first.
    ///
    /// ```swift
    /// let handler = HTTP2GoAwayDeadlineHandler(.seconds(60))
    /// ```
    public init(_ deadline: Duration) { self.deadline = TimeAmount(deadline) }

    /// Cancels the deadline.
    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    /// Starts the deadline at the first GOAWAY written; passes every frame on.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .goAway = unwrapOutboundIn(data).payload, timer == nil, !answered {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: deadline) { loopBound.value.close(promise: nil) }
        }
        context.write(data, promise: promise)
    }

    /// Stops the deadline at a PING acknowledgement; passes every frame on.
    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .ping(_, ack: true) = unwrapInboundIn(data).payload, timer != nil {
            answered = true
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension HTTP2GoAwayDeadlineHandler: Sendable {}
