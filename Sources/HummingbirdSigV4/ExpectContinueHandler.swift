public import NIOCore
import HTTPTypes
public import NIOHTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Answers `Expect: 100-continue` with an interim `100 Continue`, so uploading clients send their body.
///
/// AWS clients (awscli, boto3, the SDKs) send `Expect: 100-continue` on S3 uploads and wait for the
/// interim response before sending the body; over TLS, botocore may wait until its read timeout.
/// Hummingbird does not answer `Expect` itself. Add this handler to the HTTP/1 server:
///
/// ```swift
/// let app = Application(
///     router: router,
///     server: .http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()])))
/// ```
///
/// By default (``Timing/immediately``) the interim response is sent as soon as the request head
/// arrives: a request the SigV4 middleware refuses still gets its error response, but its client has
/// sent the body by then, which the server reads and discards.
///
/// With ``Timing/whenBodyIsRead`` the `100 Continue` waits until the application first reads the
/// body, as Go's `net/http` does: wrap each request's body with
/// `Request.sendingContinueWhenBodyIsRead(on:)` (``ExpectContinueMiddleware`` does it for a
/// router). A request refused before its body is read (a bad signature, an unknown key, a key
/// outside its scope: any final status but 2xx) then gets no `100`, and its client never sends the
/// body; a 2xx answer that starts before the body is read gets its `100` just before it. Over
/// HTTP/1.1 a refusal without its `100` carries `Connection: close`, and the connection is closed
/// two seconds after it unless a byte of the body has come by then (the client did not send it, so
/// the request's framing cannot be resumed); a client that sends its body anyway has it read and
/// discarded (up to ``UnreadBodyLimit``'s limit, when that handler is on the connection too), and the
/// connection is closed when that body ends, as the answer said. An HTTP/2 stream
/// is left for its client to end (or the idle timeout), with ``AnsweredWithoutBody`` fired for a
/// handler that can reset it (HummingbirdSigV4HTTP2's `HTTP2StreamRefusalReset`). Requests pipelined
/// on one HTTP/1.1 connection are each owed their own `100`, sent only once the answers to the
/// requests before them have ended. An HTTP/1.0 request is never sent a `100` (RFC 9110, section
/// 15.2), whatever the timing.
///
/// ```swift
/// let router = Router(context: BasicSigV4RequestContext.self)
/// router.add(middleware: ExpectContinueMiddleware())
/// router.add(middleware: SigV4Authenticator(verifier: verifier))
/// let handlers: [any RemovableChannelHandler] = [ExpectContinueHandler(sending: .whenBodyIsRead)]
/// let app = Application(router: router, server: .http1(configuration: .init(additionalChannelHandlers: handlers)))
/// ```
public final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// When the interim `100 Continue` is sent.
    ///
    /// ```swift
    /// let handler = ExpectContinueHandler(sending: .whenBodyIsRead)
    /// ```
    public enum Timing: Sendable {
        /// As soon as the request head arrives: `ExpectContinueHandler(sending: .immediately)`.
        case immediately
        /// When the application first reads the body (``SendContinue`` reaches the handler):
        /// `ExpectContinueHandler(sending: .whenBodyIsRead)` with ``ExpectContinueMiddleware``.
        case whenBodyIsRead
    }

    /// The user outbound event that sends the `100 Continue` owed to the current request, if one is
    /// (the head asked for it, no part of the body has come, and no final response has gone).
    ///
    /// ```swift
    /// channel.triggerUserOutboundEvent(ExpectContinueHandler.SendContinue(), promise: nil)
    /// ```
    public struct SendContinue: Sendable {
        /// The event.
        public init() {}
    }

    /// The user inbound event fired on an HTTP/2 stream once the end of a final answer, sent while its
    /// request was still owed its `100` (a refusal before the body was read), has been written. The
    /// client has been told not to send the body, and the stream stays open until it ends it; a
    /// handler after this one that can write HTTP/2 frames may end it with `RST_STREAM(NO_ERROR)`,
    /// which RFC 9113 (section 8.1) provides for a complete response sent before the request's end.
    ///
    /// ```swift
    /// func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    ///     if event is ExpectContinueHandler.AnsweredWithoutBody { /* write RST_STREAM(NO_ERROR) */ }
    ///     context.fireUserInboundEventTriggered(event)
    /// }
    /// ```
    public struct AnsweredWithoutBody: Sendable {
        /// The event.
        public init() {}
    }

    private let timing: Timing
    /// For each request whose head has come and whose response has not ended, oldest first (more than
    /// one when a client pipelines): whether it is owed a `100 Continue` (it asked, no part of its body
    /// has come, and no final response has gone).
    private var owed: CircularBuffer<Bool> = []
    /// A final response went out while the continue was owed: after its end the HTTP/1.1 connection
    /// is closed (unless its client turns out to send the body after all), and on an HTTP/2 stream
    /// ``AnsweredWithoutBody`` is fired.
    private var refusing = false
    /// The connection's close after such a response: armed when its end is written, timed from when
    /// that write is done (``closeGrace``), and given up when a byte of the body comes; then the
    /// connection is closed when that request's body ends, as its answer's `Connection: close` said.
    private enum AfterRefusal {
        case open
        case armed
        case timing(Scheduled<Void>)
        case closeWhenRequestEnds
    }
    private var afterRefusal = AfterRefusal.open
    /// What of the refused request's body came after its answer's head and before its end.
    private enum RefusedBody { case none, started, ended }
    private var refusedBody = RefusedBody.none
    /// How long a connection whose refusal went without its `100` stays open for a body its client
    /// sends anyway (one that did not wait for the `100`: its bytes may still be on their way). A byte
    /// of it within this time holds the close until the body has been read (and discarded);
    /// closing with unread bytes would make the kernel reset the connection, which can destroy the
    /// answer before the client reads it (RFC 9112, section 9.6). Clients that wait for the `100` (curl,
    /// botocore) send nothing after a final answer, and are closed after it.
    static let closeGrace: TimeAmount = .seconds(2)
    /// The handler is on an HTTP/1.1 connection (after Hummingbird's HTTP/1 codec), not an HTTP/2 stream.
    private var isHTTP1 = false

    /// Creates the handler (one per connection); `timing`: when the `100 Continue` goes.
    ///
    /// ```swift
    /// let server = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ExpectContinueHandler()]))
    /// ```
    public init(sending timing: Timing = .immediately) {
        self.timing = timing
    }

    /// The HTTP version of each request head, read before Hummingbird's codec drops it.
    private let versions = VersionReader()

    public func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        guard let codec = try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self) else { return }
        isHTTP1 = true
        try? pipeline.addHandler(versions, position: .before(codec))
    }

    /// Notes whether the last request head was HTTP/1.0: such a client is never sent a `100`
    /// (RFC 9110, sections 10.1.1 and 15.2: the expectation is ignored, and a 1.0 client may take an
    /// interim answer for the final one).
    final class VersionReader: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        var lastHeadIsHTTP10 = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head(let head) = unwrapInboundIn(data) {
                lastHeadIsHTTP10 = head.version.major == 1 && head.version.minor == 0
            }
            context.fireChannelRead(data)
        }
    }

    /// True when `fields` ask for `100-continue` (RFC 9110, section 10.1.1): a member of the `Expect`
    /// field (its lines joined with `,`), spaces around it ignored, in any case.
    static func asksForContinue(_ fields: HTTPFields) -> Bool {
        guard let value = fields[.expect] else { return false }
        return FieldList.contains(value, "100-continue")
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch afterRefusal {
        case .open:
            break
        case .armed, .timing:
            // The client sends after all (its body, without waiting): it is read and discarded, and the
            // connection closed at its end.
            if case .timing(let close) = afterRefusal { close.cancel() }
            afterRefusal = .closeWhenRequestEnds
        case .closeWhenRequestEnds:
            break
        }
        if case .closeWhenRequestEnds = afterRefusal, case .end = unwrapInboundIn(data) {
            context.fireChannelRead(data)
            afterRefusal = .open
            context.close(promise: nil)
            return
        }
        if refusing {
            // The body came between the refusal's head and its end: the close waits for the body's end.
            switch unwrapInboundIn(data) {
            case .head: break
            case .body: refusedBody = .started
            case .end: refusedBody = .ended
            }
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            owed.append(Self.asksForContinue(head.headerFields) && !versions.lastHeadIsHTTP10)
            // A pipelined request's 100 waits for the responses before its own.
            if timing == .immediately, owed.count == 1 { sendOwedContinue(context: context) }
        case .body, .end:
            // The client sent (part of) its body without waiting: RFC 9110 lets the server omit the 100.
            if !owed.isEmpty { owed[owed.index(before: owed.endIndex)] = false }
        }
        context.fireChannelRead(data)
    }

    /// Sends the current request's `100 Continue` if it is owed one.
    private func sendOwedContinue(context: ChannelHandlerContext) {
        guard owed.first == true else { return }
        owed[owed.startIndex] = false
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stopClose()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stopClose()
        if isHTTP1 { context.pipeline.syncOperations.removeHandler(versions, promise: nil) }
    }

    private func stopClose() {
        if case .timing(let close) = afterRefusal { close.cancel() }
        afterRefusal = .open
    }

    /// The end of a refusal without its `100` has been written: the close is timed from now, unless
    /// the body started meanwhile.
    private func refusalWritten(channel: any Channel) {
        guard case .armed = afterRefusal else { return }
        afterRefusal = .timing(channel.eventLoop.scheduleTask(in: Self.closeGrace) { channel.close(promise: nil) })
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is SendContinue else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        sendOwedContinue(context: context)
        promise?.succeed(())
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where owed.first == true && head.status.kind == .successful:
            // Accepted before its body was read (a streaming answer whose handler reads the body
            // afterwards): the body is wanted, so its 100 goes first.
            sendOwedContinue(context: context)
        case .head(var head) where owed.first == true && head.status.kind != .informational:
            owed[owed.startIndex] = false
            refusing = true
            // An HTTP/2 stream has no connection to close, and no Connection field.
            guard isHTTP1 else { break }
            head.headerFields[.connection] = "close"
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        case .end:
            if !owed.isEmpty { owed.removeFirst() }
            guard refusing else {
                context.write(data, promise: promise)
                if timing == .immediately { sendOwedContinue(context: context) }
                return
            }
            refusing = false
            let body = refusedBody
            refusedBody = .none
            guard isHTTP1 else {
                // Once the end has left the stream: a reset written before would drop the answer's
                // frames still queued there.
                context.write(data, promise: promise, handler: self) {
                    $1.fireUserInboundEventTriggered(AnsweredWithoutBody())
                }
                return
            }
            switch body {
            case .started:
                afterRefusal = .closeWhenRequestEnds
                context.write(data, promise: promise)
            case .ended:
                // Nothing is left to read: closed once the answer has been written.
                context.write(data, promise: promise, handler: self) { $1.close(promise: nil) }
            case .none:
                // Timed from the write's end, not its start: a close while the answer (or an earlier
                // pipelined one) still waits to be sent would drop it.
                afterRefusal = .armed
                context.write(data, promise: promise, handler: self) { $0.refusalWritten(channel: $1.channel) }
            }
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension ExpectContinueHandler: Sendable {}

@available(*, unavailable)
extension ExpectContinueHandler.VersionReader: Sendable {}
