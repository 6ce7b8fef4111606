import HTTPTypes
import HummingbirdCore
import Hummingbird
import HummingbirdSigV4
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTPTypes
import SigV4Verifier
import Synchronization

/// A refused WebSocket handshake's answer: the head and body the gateway gives the same request
/// refused as a plain one, with `Connection: close`.
struct WebSocketRefusal: Sendable {
    var head: HTTPResponse
    var body: ByteBuffer
}

/// The refusals of handshakes being declined, by connection, until each is written
/// (``WebSocketRefusalWriter``) or its connection closes.
///
/// HummingbirdWebSocket 2.8 answers a declined upgrade itself (`writeFailedUpgrade`: 400, no body) and
/// gives it to no responder, and its channel's value (`HTTP1WebSocketUpgradeChannel.Value`) keeps the
/// upgrade's result internal, so a wrapping channel cannot tell a declined upgrade and answer it. The
/// gateway's `shouldUpgrade` records the refusal here, keyed by its connection; the writer, which the
/// library adds to a connection that was not upgraded (the HTTP/1.1 configuration's additional
/// handlers, ahead of its answer), puts it in place of the library's empty 400.
final class WebSocketRefusals: Sendable {
    private let pending = Mutex<[ObjectIdentifier: WebSocketRefusal]>([:])
    /// Written when a declined upgrade's connection has no recorded refusal (none is expected: every
    /// declined handshake is recorded): a 400 with an `InvalidRequest` document.
    let fallback: WebSocketRefusal?

    init(fallback: WebSocketRefusal?) {
        self.fallback = fallback
    }

    /// Records `refusal` for `channel`'s declined upgrade, until it is taken or the channel closes
    /// (whichever comes first: nothing outlives its connection, however the upgrade ends).
    func record(_ refusal: WebSocketRefusal, for channel: any Channel, logger: Logger) {
        let key = ObjectIdentifier(channel)
        pending.withLock { $0[key] = refusal }
        // Registered after the entry is in: a channel already closed runs this at once.
        channel.closeFuture.whenComplete { _ in
            let left = self.pending.withLock { pending in
                pending[key] = nil
                return pending.count
            }
            logger.debug("websocket refusal released", metadata: ["sigv4.websocket_refusals_pending": "\(left)"])
        }
    }

    /// The refusal recorded for `channel`, removed.
    func take(for channel: any Channel) -> WebSocketRefusal? {
        pending.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// How many refusals are held (each until it is written or its connection closes).
    var count: Int { pending.withLock { $0.count } }
}

/// Writes a declined WebSocket upgrade's recorded refusal (``WebSocketRefusals``) in place of the
/// empty 400 HummingbirdWebSocket answers: the refusal's head and body, then the library's end, after
/// which the library closes the connection. Any other response, and every one on a connection that
/// asked for no upgrade, passes as it came.
final class WebSocketRefusalWriter: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let refusals: WebSocketRefusals
    /// The request asked for a WebSocket upgrade (NIO passes the declined handshake's head on).
    private var upgradeAsked = false
    /// The connection's first final response was seen: the only one a declined upgrade gets.
    private var answered = false

    init(_ refusals: WebSocketRefusals) {
        self.refusals = refusals
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !upgradeAsked, case .head(let head) = unwrapInboundIn(data),
            head.headerFields[.upgrade]?.lowercased().contains("websocket") == true
        {
            upgradeAsked = true
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !answered, case .head(let head) = unwrapOutboundIn(data), head.status.kind != .informational else {
            context.write(data, promise: promise)
            return
        }
        answered = true
        let recorded = refusals.take(for: context.channel)
        // The library's answer to a declined upgrade: 400 and `Content-Length: 0`.
        let declined = head.status == .badRequest && head.headerFields[.contentLength] == "0"
        guard declined, let refusal = recorded ?? (upgradeAsked ? refusals.fallback : nil) else {
            context.write(data, promise: promise)
            return
        }
        context.write(wrapOutboundOut(.head(refusal.head)), promise: nil)
        context.write(wrapOutboundOut(.body(refusal.body)), promise: promise)
    }
}

@available(*, unavailable)
extension WebSocketRefusalWriter: Sendable {}

extension Gateway {
    /// The message of the refusal a handshake gets when no refusal was recorded for it.
    static let unrecordedWebSocketRefusal = "The WebSocket handshake was refused"

    /// The server of `sigv4 serve --websockets`: HTTP/1.1 with WebSocket upgrades, each verified by
    /// ``shouldUpgrade(_:channel:refusals:logger:)``, a refused one answered as a plain request
    /// refused for the same reason (``WebSocketRefusalWriter``).
    func webSocketServer(http1: HTTP1Channel.Configuration, maxFrameSize: Int) async -> HTTPServerBuilder {
        let unrecorded = VerificationFailure(.invalidRequest, Self.unrecordedWebSocketRefusal)
        let refusals = WebSocketRefusals(fallback: await webSocketRefusal(unrecorded, to: nil))
        var http1 = http1
        let handlers = http1.additionalChannelHandlers
        http1.additionalChannelHandlers = { handlers() + [WebSocketRefusalWriter(refusals)] }
        return .http1WebSocketUpgrade(configuration: .init(http1: http1, ws: .init(maxFrameSize: maxFrameSize))) {
            head, channel, logger in
            await self.shouldUpgrade(head, channel: channel, refusals: refusals, logger: logger)
        }
    }

    /// The answer to a handshake refused for `failure`: what the gateway answers a plain `request`
    /// refused for it (``errorResponse(_:to:)``, the middleware's rendering in the configured
    /// ``SigV4ErrorFormat``), with `Connection: close`. Without a request: the configured format's
    /// document for no particular request, with no request id.
    func webSocketRefusal(_ failure: VerificationFailure, to request: Request?) async -> WebSocketRefusal {
        let response =
            request.map { errorResponse(failure, to: $0) }
            ?? (authenticator?.configuration.errorFormat ?? .s3XML).response(for: failure)
        var head = response.head
        head.headerFields[.connection] = "close"
        let collected = CollectedBody()
        // An error document is one buffer: writing it cannot fail.
        try? await response.body.write(BodyCollector(collected: collected))
        head.headerFields[.contentLength] = String(collected.buffer.readableBytes)
        return WebSocketRefusal(head: head, body: collected.buffer)
    }
}

/// The bytes a ``BodyCollector`` gathered.
private final class CollectedBody {
    var buffer = ByteBuffer()
}

/// Gathers a response body as Hummingbird writes it.
private struct BodyCollector: ResponseBodyWriter {
    let collected: CollectedBody

    mutating func write(_ buffer: ByteBuffer) async throws {
        collected.buffer.writeImmutableBuffer(buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
