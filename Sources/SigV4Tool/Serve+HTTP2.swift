import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdSigV4
import Logging
import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS

extension Serve {
    /// The HTTPS server with HTTP/2: Hummingbird's `HTTP2UpgradeChannel` (TLS, then ALPN: `h2` to
    /// its HTTP/2 connection, `http/1.1` or no ALPN to its HTTP/1.1 channel), behind a deadline for
    /// the TLS handshake (``TLSHandshakeDeadlineChannel``).
    ///
    /// Each HTTP/2 stream, and each HTTP/1.1 connection of a client that does not offer `h2`, gets
    /// ``ExpectContinueHandler``, ``HTTP2StreamRefusalReset`` and ``HTTP2RequestFramingHandler`` (both
    /// pass-throughs on HTTP/1.1),
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
    /// With `verifyClient` (`--tls-client-ca`), each client's certificate chain is judged by it
    /// (``ClientCertificateAuthorities/verificationCallback``) instead of by the TLS library.
    ///
    /// ```swift
    /// let server = Serve.http2Server(tls: tlsConfiguration, verifyClient: nil, idleTimeout: .seconds(60))
    /// ```
    static func http2Server(
        tls: TLSConfiguration, verifyClient: HummingbirdHTTP2.TLSChannelConfiguration.CustomVerificationCallback?,
        idleTimeout: TimeAmount?
    ) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            let streams = HTTP1Channel.Configuration(
                additionalChannelHandlers: [
                    ExpectContinueHandler(sending: .whenBodyIsRead), HTTP2StreamRefusalReset(),
                    HTTP2RequestFramingHandler(),
                ],
                idleTimeout: idleTimeout)
            let upgrade = try HTTP2UpgradeChannel(
                tlsChannelConfiguration: .init(tlsConfiguration: tls, customVerificationCallback: verifyClient),
                configuration: .init(
                    idleTimeout: idleTimeout.map { .nanoseconds($0.nanoseconds) }, streamConfiguration: streams),
                responder: responder)
            return TLSHandshakeDeadlineChannel(upgrade, deadline: idleTimeout)
        }
    }
}

/// A TLS server channel whose TLS handshake must end within `deadline`, else the connection is
/// closed; an HTTP/2 connection then gets its guards (``TLSHandshakeDeadlineHandler``).
///
/// Hummingbird's `HTTP2UpgradeChannel` sets up its HTTP/1.1 or HTTP/2 pipeline, and with it every
/// idle timer, only once ALPN has chosen, after the handshake: a client that connects and never
/// finishes its handshake would hold its connection (a socket and a TLS state) for ever. (The
/// HTTP/1.1-only TLS server's idle timer starts at the connection's accept and covers the handshake.)
/// nil: no deadline (`--idle-timeout 0`); the HTTP/2 guards are installed all the same.
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
            // Right after the TLS handler, which tells its handshake's end to the next handler only.
            let tls = try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)
            try channel.pipeline.syncOperations.addHandler(TLSHandshakeDeadlineHandler(deadline), position: .after(tls))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Closes its channel when no `TLSUserEvent.handshakeCompleted` arrives within the deadline (none
/// when nil); once one does, it puts an ``HTTP2StreamErrorContainment`` and (with a deadline) an
/// ``HTTP2GoAwayDeadlineHandler`` on an HTTP/2 connection, and removes itself.
final class TLSHandshakeDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadline: TimeAmount?
    private var timer: Scheduled<Void>?

    init(_ deadline: TimeAmount?) { self.deadline = deadline }

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
                try? pipeline.addHandler(HTTP2StreamErrorContainment(), position: .after(http2))
                if let deadline {
                    try? pipeline.addHandler(HTTP2GoAwayDeadlineHandler(deadline), position: .after(http2))
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
