public import HummingbirdCore
public import Logging
public import NIOCore
import NIOHTTP2
import NIOSSL
import NIOTLS
import HummingbirdSigV4

/// A server channel with the guards an HTTP/2 server needs and Hummingbird 2.28.1 leaves out, for
/// `HTTP2UpgradeChannel` (TLS, then ALPN) and any other `ServerChildChannel`.
///
/// - Over TLS, the handshake must end within `idleTimeout`, else the connection is closed:
///   `HTTP2UpgradeChannel` sets up its HTTP/1.1 or HTTP/2 pipeline, and with it every idle timer,
///   only once ALPN has chosen, after the handshake, so a client that connected and never finished
///   its handshake held its connection (a socket and a TLS state) for ever.
/// - Each HTTP/2 connection (once ALPN has chosen `h2`, or at once when it speaks HTTP/2 without TLS)
///   gets an ``HTTP2StreamErrorContainment`` (a stream that breaks HTTP/2's header or length rules is
///   reset alone; Hummingbird closes the whole connection) and, with a timeout, an
///   ``HTTP2GoAwayDeadlineHandler`` (a client that never answers the GOAWAY's PING is closed
///   `idleTimeout` after it), and, with a send timeout, a `SendTimeout` first in its pipeline, where
///   the bytes go to the socket: a connection whose bytes have stopped leaving (its client stopped
///   reading) is closed, however many streams it opens (each new one waits for the connection to take
///   its answer, so the streams' own `SendTimeout`s time nothing).
/// - A channel that is neither TLS nor HTTP/2 (plain HTTP/1.1) goes on unchanged.
///
/// `idleTimeout` nil, zero or negative: no deadlines (the stream guard is installed all the same);
/// `sendTimeout` nil (the default), zero or negative: no connection `SendTimeout`.
/// `HTTPServerBuilder.sigV4HTTP2(tlsConfiguration:…)`
/// wraps its `HTTP2UpgradeChannel` in one, and `sigV4PlaintextHTTP2` its `HTTP2Channel`.
///
/// ```swift
/// let upgrade = try HTTP2UpgradeChannel(tlsConfiguration: tls, responder: responder)
/// let guarded = GuardedHTTP2Channel(upgrade, idleTimeout: .seconds(60))
/// ```
public struct GuardedHTTP2Channel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value

    let base: Base
    let deadline: Duration?
    let sendTimeout: Duration?

    /// `base` with the guards, its deadlines `idleTimeout` long (none when nil, zero or negative), each
    /// HTTP/2 connection closed when its bytes have not left for `sendTimeout` (never when nil, zero or
    /// negative).
    ///
    /// ```swift
    /// let guarded = GuardedHTTP2Channel(try HTTP2UpgradeChannel(tlsConfiguration: tls, responder: responder),
    ///                                   idleTimeout: .seconds(60), sendTimeout: .seconds(60))
    /// ```
    public init(_ base: Base, idleTimeout: Duration?, sendTimeout: Duration? = nil) {
        self.base = base
        self.deadline = idleTimeout.flatMap { $0 > .zero ? $0 : nil }
        self.sendTimeout = sendTimeout.flatMap { $0 > .zero ? $0 : nil }
    }

    /// `base`'s setup, then the guards: the handshake's deadline right after the TLS handler (which
    /// tells its handshake's end to the next handler only), or, without TLS, the HTTP/2 guards at once.
    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let deadline = self.deadline
        let sendTimeout = self.sendTimeout
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            if let tls = try? pipeline.handler(type: NIOSSLServerHandler.self) {
                try pipeline.addHandler(
                    TLSHandshakeGuard(deadline, sendTimeout: sendTimeout, logger: logger), position: .after(tls))
            } else {
                HTTP2Guards.add(pipeline, deadline: deadline, sendTimeout: sendTimeout, logger: logger)
            }
            return value
        }
    }

    /// `base`'s handling.
    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// The guards ``GuardedHTTP2Channel`` puts on each HTTP/2 connection.
enum HTTP2Guards {
    /// Puts the HTTP/2 guards between NIOHTTP2's handler and Hummingbird's connection manager, which
    /// comes after it, and a `SendTimeout(sendTimeout)` (when not nil) first, where the bytes go to the
    /// socket (below TLS, whose writes it would otherwise see complete only a whole flush at a time),
    /// when `pipeline` has NIOHTTP2's handler.
    static func add(
        _ pipeline: ChannelPipeline.SynchronousOperations, deadline: Duration?, sendTimeout: Duration?,
        logger: Logger
    ) {
        guard let http2 = try? pipeline.handler(type: NIOHTTP2Handler.self) else { return }
        do {
            try pipeline.addHandler(HTTP2StreamErrorContainment(logger: logger), position: .after(http2))
            if let deadline {
                try pipeline.addHandler(HTTP2GoAwayDeadlineHandler(deadline), position: .after(http2))
            }
            if let sendTimeout {
                try pipeline.addHandler(SendTimeout(TimeAmount(sendTimeout)), position: .first)
            }
        } catch {
            // Only a pipeline already closing refuses a handler.
            logger.debug("HTTP/2 connection guards not installed", metadata: ["error": "\(error)"])
        }
    }
}

/// Guards a TLS connection's handshake: closes its channel when no `TLSUserEvent.handshakeCompleted`
/// arrives within the deadline (none when nil); once one does, it puts the HTTP/2 guards on an HTTP/2
/// connection (``GuardedHTTP2Channel``) and removes itself.
final class TLSHandshakeGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let deadline: Duration?
    private let sendTimeout: Duration?
    private let logger: Logger
    private var timer: Scheduled<Void>?

    init(_ deadline: Duration?, sendTimeout: Duration?, logger: Logger) {
        self.deadline = deadline
        self.sendTimeout = sendTimeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let deadline else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: TimeAmount(deadline)) { loopBound.value.close(promise: nil) }
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
            let pipeline = context.pipeline.syncOperations
            HTTP2Guards.add(pipeline, deadline: deadline, sendTimeout: sendTimeout, logger: logger)
            pipeline.removeHandler(context: context, promise: nil)
        }
    }
}

@available(*, unavailable)
extension TLSHandshakeGuard: Sendable {}
