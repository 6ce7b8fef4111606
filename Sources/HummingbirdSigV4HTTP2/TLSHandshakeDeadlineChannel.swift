public import HummingbirdCore
import HummingbirdHTTP2
public import Logging
public import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS

/// A TLS server channel whose TLS handshake must end within `deadline`, else the connection is
/// closed; an HTTP/2 connection then gets its guards (``TLSHandshakeDeadlineHandler``).
///
/// Hummingbird's `HTTP2UpgradeChannel` sets up its HTTP/1.1 or HTTP/2 pipeline, and with it every
/// idle timer, only once ALPN has chosen, after the handshake: a client that connects and never
/// finishes its handshake would hold its connection (a socket and a TLS state) for ever. (The
/// HTTP/1.1-only TLS server's idle timer starts at the connection's accept and covers the handshake.)
/// nil: no deadline (`--idle-timeout 0`); the HTTP/2 guards are installed all the same.
/// ``Hummingbird/HTTPServerBuilder/sigV4HTTP2(tlsConfiguration:customVerificationCallback:idleTimeout:additionalStreamHandlers:)``
/// wraps its `HTTP2UpgradeChannel` in one.
///
/// ```swift
/// let upgrade = try HTTP2UpgradeChannel(tlsConfiguration: tls, responder: responder)
/// let guarded = TLSHandshakeDeadlineChannel(upgrade, deadline: .seconds(60))
/// ```
public struct TLSHandshakeDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value

    let base: Base
    let deadline: TimeAmount?

    /// `base` (a TLS server channel whose first handler is `NIOSSLServerHandler`), its handshake
    /// bounded by `deadline` (nil: none).
    public init(_ base: Base, deadline: TimeAmount?) {
        self.base = base
        self.deadline = deadline
    }

    /// `base`'s setup, then the handshake's deadline right after the TLS handler.
    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            // Right after the TLS handler, which tells its handshake's end to the next handler only.
            let tls = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            try channel.pipeline.syncOperations.addHandler(
                TLSHandshakeDeadlineHandler(deadline, logger: logger), position: .after(tls))
            return value
        }
    }

    /// `base`'s handling.
    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes its channel when no `TLSUserEvent.handshakeCompleted` arrives within the deadline (none
/// when nil); once one does, it puts an ``HTTP2StreamErrorContainment`` and (with a deadline) an
/// ``HTTP2GoAwayDeadlineHandler`` on an HTTP/2 connection, and removes itself.
final class TLSHandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadline: TimeAmount?
    private let logger: Logger
    private var timer: Scheduled<Void>?

    init(_ deadline: TimeAmount?, logger: Logger) {
        self.deadline = deadline
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let deadline else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: deadline) { loopBound.value.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        let completed: Bool
        if case .handshakeCompleted = event as? TLSUserEvent { completed = true } else { completed = false }
        context.fireUserInboundEventTriggered(event)
        if completed {
            timer?.cancel()
            timer = nil
            // ALPN has set the connection up while the event went by: an HTTP/2 one has NIOHTTP2's handler.
            // Both go between it and Hummingbird's connection manager, which comes after it.
            let pipeline = context.pipeline.syncOperations
            if let http2 = try? pipeline.handler(type: NIOHTTP2Handler.self) {
                do {
                    try pipeline.addHandler(HTTP2StreamErrorContainment(), position: .after(http2))
                    if let deadline {
                        try pipeline.addHandler(HTTP2GoAwayDeadlineHandler(deadline), position: .after(http2))
                    }
                } catch {
                    // Only a pipeline already closing refuses a handler.
                    logger.debug("HTTP/2 connection guards not installed", metadata: ["error": "\(error)"])
                }
            }
            pipeline.removeHandler(context: context, promise: nil)
        }
    }
}

@available(*, unavailable)
extension TLSHandshakeDeadlineHandler: Sendable {}

/// Closes an HTTP/2 connection whose client has not answered the server's graceful GOAWAY within the
/// deadline.
///
/// Hummingbird's HTTP/2 connection manager ends a connection (idle for `--idle-timeout`, or the
/// gateway stopping) with a GOAWAY and a PING, and goes on to its final GOAWAY and close only once
/// the PING is acknowledged. A client that never acknowledges it kept its connection for ever, and a
/// stopping gateway waited for it (measured: SIGTERM took as long as such a client stayed, 10.1 s for
/// one that gave up after 10 s). This handler, after NIOHTTP2's, starts the deadline at the first
/// GOAWAY sent and stops it at the PING's acknowledgement; a client that acknowledges keeps its
/// streams in flight until they finish (a stalled one is closed by the stream's idle timeout).
final class HTTP2GoAwayDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?
    private var answered = false

    init(_ deadline: TimeAmount) { self.deadline = deadline }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .goAway = unwrapOutboundIn(data).payload, timer == nil, !answered {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: deadline) { loopBound.value.close(promise: nil) }
        }
        context.write(data, promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
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
