import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdSigV4
import Logging
import NIOCore
import NIOSSL
import NIOTLS

extension Serve {
    /// The HTTPS server with HTTP/2: Hummingbird's `HTTP2UpgradeChannel` (TLS, then ALPN: `h2` to
    /// its HTTP/2 connection, `http/1.1` or no ALPN to its HTTP/1.1 channel), behind a deadline for
    /// the TLS handshake (``TLSHandshakeDeadlineChannel``).
    ///
    /// Each HTTP/2 stream, and each HTTP/1.1 connection of a client that does not offer `h2`, gets
    /// ``ExpectContinueHandler`` and ``HTTP2RequestFramingHandler`` (a pass-through on HTTP/1.1),
    /// and `idleTimeout` as HTTP/1.1 gets it without HTTP/2: a stream that stops sending its request
    /// is closed after it. An HTTP/2 connection with no open stream for `idleTimeout` is sent GOAWAY
    /// and closed. A stopping gateway sends GOAWAY and lets the streams in flight finish, as HTTP/1.1
    /// lets its request in flight finish.
    ///
    /// The HTTP/2 settings are NIOHTTP2's defaults (Hummingbird 2.28.1 passes no others): at most
    /// 100 concurrent streams a connection, a header list of at most 16 KiB decoded, an HPACK table
    /// of 4 KiB, at most 5 CONTINUATION frames in a row, 200 RST_STREAMs and 200 stream errors in
    /// 30 s, 200 glitches a connection, 64 KiB flow-control windows.
    ///
    /// ```swift
    /// let server = Serve.http2Server(tls: tlsConfiguration, idleTimeout: .seconds(60))
    /// ```
    static func http2Server(tls: TLSConfiguration, idleTimeout: TimeAmount?) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let streams = HTTP1Channel.Configuration(
                additionalChannelHandlers: [ExpectContinueHandler(), HTTP2RequestFramingHandler()],
                idleTimeout: idleTimeout)
            let upgrade = try HTTP2UpgradeChannel(
                tlsConfiguration: tls,
                configuration: .init(
                    idleTimeout: idleTimeout.map { .nanoseconds($0.nanoseconds) }, streamConfiguration: streams),
                responder: responder)
            return TLSHandshakeDeadlineChannel(upgrade, deadline: idleTimeout)
        }
    }
}

/// A TLS server channel whose TLS handshake must end within `deadline`, else the connection is
/// closed.
///
/// Hummingbird's `HTTP2UpgradeChannel` sets up its HTTP/1.1 or HTTP/2 pipeline, and with it every
/// idle timer, only once ALPN has chosen, after the handshake: a client that connects and never
/// finishes its handshake would hold its connection (a socket and a TLS state) for ever. (The
/// HTTP/1.1-only TLS server's idle timer starts at the connection's accept and covers the handshake.)
/// nil: no deadline (`--idle-timeout 0`).
struct TLSHandshakeDeadlineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base
    let deadline: TimeAmount?

    init(_ base: Base, deadline: TimeAmount?) {
        self.base = base
        self.deadline = deadline
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            if let deadline {
                // Right after the TLS handler, which tells its handshake's end to the next handler only.
                let tls = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
                try channel.pipeline.syncOperations.addHandler(
                    TLSHandshakeDeadlineHandler(deadline), position: .after(tls))
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes its channel when no `TLSUserEvent.handshakeCompleted` arrives within the deadline; once
/// one does, it removes itself.
final class TLSHandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadline: TimeAmount
    private var timer: Scheduled<Void>?

    init(_ deadline: TimeAmount) { self.deadline = deadline }

    func handlerAdded(context: ChannelHandlerContext) {
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
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }
}

@available(*, unavailable)
extension TLSHandshakeDeadlineHandler: Sendable {}
