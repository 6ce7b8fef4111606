public import NIOCore
import HTTPTypes
public import NIOHTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1
import SigV4Verifier

/// Bounds how much of a request's body an HTTP/1.1 server reads and throws away after answering
/// without it.
///
/// A handler that answers before it has read the whole body (a refusal from `SigV4Authenticator`, a
/// 404, a `413`) leaves the rest on the wire, and Hummingbird reads and discards it so that the
/// connection can carry the next request: for a forged 5 GiB upload, all 5 GiB. With this handler
/// the server discards at most `limit` bytes of such a body after its answer, as Go's `net/http`
/// does (256 KiB there); past that the connection is closed instead:
///
/// - An answer that is not 2xx, written while more than `limit` bytes of a declared
///   `Content-Length` are still to come, or while the body of a request whose `Content-Length` is no
///   length (`+5`, `-1`, digits past `Int.max`: how much is to come is not known) is open, says
///   `Connection: close`.
/// - Once such an answer has been written, or once `limit` bytes of a body have been discarded after
///   an answer and the body has not ended (a chunked body has no length to judge by), the server
///   shuts its side of the connection (the client reads the whole answer, then end of file) and
///   throws away what still comes for at most two seconds, until the body ends, or until the
///   client closes; then it closes the connection. Closing at once with unread bytes would make the
///   kernel reset the connection, which can destroy the answer before the client reads it
///   (RFC 9112, section 9.6).
/// - A body that ends within `limit` bytes is read as before, and the connection kept.
/// - A request that asks to switch protocols (`Connection: upgrade` with `Upgrade`, or `CONNECT`) and
///   is answered otherwise ends its connection the same way: NIO's HTTP/1 decoder parses nothing
///   after it (the rest is in the other protocol) and would hold every later byte in memory. Its
///   answer says `Connection: close`, and the socket is not read from the request's end on.
///
/// The decision is taken when the answer's end is handed over; only the shut waits for it to have been
/// written, and until then the socket is not read (an answer that cannot be sent, to a client that
/// does not read, does not let it send on). The bytes counted are those the connection reads from the
/// socket (before TLS and the HTTP/1 decoder), so neither a chunked body's framing (one-byte chunks
/// with long chunk extensions or zero-padded sizes) nor TLS records padded around a byte of data can
/// make the server read on.
///
/// An HTTP/2 stream is left alone: flow control bounds what its client sends, and a refused stream
/// is reset (HummingbirdSigV4HTTP2's `HTTP2StreamRefusalReset`).
///
/// ```swift
/// let handlers: [any RemovableChannelHandler] = [
///     ExpectContinueHandler(sending: .whenBodyIsRead), UnreadBodyLimit(limit: 1 << 20),
/// ]
/// let app = Application(router: router, server: .http1(configuration: .init(additionalChannelHandlers: handlers)))
/// ```
public final class UnreadBodyLimit: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// The default `limit`: 1 MiB.
    ///
    /// ```swift
    /// let handler = UnreadBodyLimit(limit: UnreadBodyLimit.defaultLimit)
    /// ```
    public static let defaultLimit = 1 << 20

    /// How long a connection whose output has been shut stays open (not read) before it is closed, for
    /// the answer to reach the client first.
    static let linger: TimeAmount = .seconds(2)

    private let limit: Int
    /// The handler is on an HTTP/1.1 connection (after Hummingbird's HTTP/1 codec), not an HTTP/2 stream.
    private var isHTTP1 = false
    /// Request heads read and answers ended on this connection: answer `answered` is the one being
    /// written, and it answers the newest request when `answered == heads - 1`.
    private var heads = 0
    private var answered = 0
    /// The newest request's body has not ended; its declared length, whether its `Content-Length` is
    /// no length (``ByteParsing/length(_:)-(String)``), and the bytes of it read so far.
    private var bodyOpen = false
    private var declaredLength: Int?
    private var lengthUnreadable = false
    private var received = 0
    /// The newest request asks to switch protocols (``asksToSwitch(_:)``).
    private var switchAsked = false
    /// Body bytes read on this connection in all (what ``wire`` falls back to).
    private var bodyBytes = 0
    /// Counts the bytes the connection reads from its socket; nil when there is no HTTP/1 decoder.
    private var counter: WireBytes?
    /// The handler's context while it is in the pipeline (for ``WireBytes``' reads).
    private var context: ChannelHandlerContext?
    /// The answer being written said `Connection: close` (this handler set it).
    private var closeAfterAnswer = false
    /// The number of the last answer this handler acts on that has been written (answers are numbered
    /// from 0 in order, and written in order); -1 before the first.
    private var lastWritten = -1
    /// While holding: the number of the answer after whose write the output is shut.
    private var shutAfter = 0

    private enum State {
        /// Every body is passed on.
        case reading
        /// The newest request has been answered without its whole body: its bytes are passed on (and
        /// discarded by the server) until the connection has read `limit` more than ``wire`` was
        /// when the answer's end was handed over.
        case discarding(since: Int, answer: Int)
        /// The connection is to be closed once answer ``shutAfter`` has been written: the socket is not
        /// read, and what was read already is dropped.
        case holding
        /// The output is shut: the socket is not read, and the timer closes the connection (or the
        /// body's end, or the client's close, sooner).
        case closing(Scheduled<Void>)
    }
    private var state = State.reading

    /// Creates the handler (one per connection); `limit`: the most bytes of a body discarded after its
    /// answer before the connection is closed instead (0: a body still coming after its answer always
    /// closes the connection).
    ///
    /// ```swift
    /// let server = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [UnreadBodyLimit()]))
    /// ```
    public init(limit: Int = UnreadBodyLimit.defaultLimit) {
        self.limit = max(0, limit)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        isHTTP1 = (try? pipeline.handler(type: HTTP1ToHTTPServerCodec.self)) != nil
        self.context = context
        // First in the pipeline of a connection whose HTTP/1 decoder reads its socket: what it counts
        // is what the socket gave (before TLS, when there is TLS).
        guard isHTTP1, (try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)) != nil else {
            return
        }
        let counter = WireBytes(owner: self)
        if (try? pipeline.addHandler(counter, position: .first)) != nil { self.counter = counter }
    }

    /// Counts the bytes the connection reads from its socket, and has the owner look at its budget
    /// once the pipeline has taken each read (a read of chunk framing alone gives the owner no part;
    /// one that ends the body has ended the discarding by then).
    final class WireBytes: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        var total = 0
        weak var owner: UnreadBodyLimit?

        init(owner: UnreadBodyLimit) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            total += unwrapInboundIn(data).readableBytes
            context.fireChannelRead(data)
            owner?.checkBudget()
        }
    }

    /// The bytes read so far: the connection's, or (without a counter) its bodies'.
    private var wire: Int { counter?.total ?? bodyBytes }

    /// While discarding, ends the connection once it has read more than `limit` since the answer.
    private func checkBudget() {
        guard case .discarding(let since, let answer) = state, wire - since > limit, let context else { return }
        stopReading(after: answer, context: context)
    }

    /// True when `head` asks to switch protocols as NIO's HTTP/1 parser (llhttp) reads it: `CONNECT`, or
    /// an `Upgrade` field with `upgrade` among the `Connection` options. The parser stops after such a
    /// request.
    static func asksToSwitch(_ head: HTTPRequest) -> Bool {
        if head.method == .connect { return true }
        guard head.headerFields[.upgrade] != nil, let connection = head.headerFields[.connection] else { return false }
        return FieldList.contains(connection, "upgrade")
    }

    /// The bytes of the newest request's declared body still to come; nil when it declared none
    /// (chunked); `Int.max` when its `Content-Length` is no length: what is to come is not known, so an
    /// answer without it ends the connection rather than discards.
    private var unread: Int? {
        if lengthUnreadable { return .max }
        return declaredLength.map { max(0, $0 - received) }
    }

    /// The answer being written is to the newest request.
    private var answersNewest: Bool { answered == heads - 1 }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard isHTTP1 else {
            context.fireChannelRead(data)
            return
        }
        let part = unwrapInboundIn(data)
        switch state {
        case .holding:
            return
        case .closing:
            // The body's end leaves nothing to wait for.
            if case .end = part { closeNow(context: context) }
            return
        case .reading, .discarding:
            break
        }
        switch part {
        case .head(let head):
            heads += 1
            bodyOpen = true
            received = 0
            let length = head.headerFields[.contentLength]
            declaredLength = length.flatMap { ByteParsing.length($0) }
            lengthUnreadable = length != nil && declaredLength == nil
            switchAsked = Self.asksToSwitch(head)
        case .body(let buffer):
            received += buffer.readableBytes
            bodyBytes += buffer.readableBytes
            // With a counter, the budget is judged once the pipeline has taken the whole read
            // (``WireBytes``): a read that ends this body and starts a pipelined request must not be
            // charged to this body before its end has been seen. Without one, the body's bytes are
            // judged here.
            if counter == nil, case .discarding(let since, let answer) = state, wire - since > limit {
                stopReading(after: answer, context: context)
                return
            }
        case .end:
            bodyOpen = false
            if case .discarding = state { state = .reading }
            if switchAsked {
                // Nothing after it will be parsed: the socket is not read again, and the connection
                // ends after its answer (unless it switches).
                context.fireChannelRead(data)
                hold(until: heads - 1)
                return
            }
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard isHTTP1 else {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status == .switchingProtocols:
            // Switched: the connection is the other protocol's now, and its reads (held until now) go on.
            switchAsked = false
            if case .holding = state {
                state = .reading
                context.read()
            }
        case .head(var head) where head.status.kind != .informational:
            let tooMuch = bodyOpen && head.status.kind != .successful && (unread ?? 0) > limit
            guard answersNewest, tooMuch || switchAsked else { break }
            head.headerFields[.connection] = "close"
            closeAfterAnswer = true
            context.write(wrapOutboundOut(.head(head)), promise: promise)
            return
        case .end:
            let newest = answersNewest
            let openBody = newest && bodyOpen
            let switching = newest && switchAsked
            answered += 1
            let close = closeAfterAnswer
            closeAfterAnswer = false
            guard openBody || close || switching else { break }
            if case .closing = state { break }
            let answer = answered - 1
            // Decided now, for the request this answers; only the shut waits for the answer to have
            // been written (shutting before would drop it).
            if openBody && (close || (unread ?? 0) > limit) {
                hold(until: answer)
            } else if openBody, case .reading = state {
                state = .discarding(since: wire, answer: answer)
            }
            context.write(data, promise: promise, handler: self) {
                $0.answerWritten(answer, close: close, context: $1)
            }
            return
        default:
            break
        }
        context.write(data, promise: promise)
    }

    /// The end of answer `answer`, one this handler acts on, has been written: a connection held until
    /// it (or whose answer said `Connection: close`) now shuts its output. An earlier answer written
    /// while a later one holds the connection shuts nothing: the later one is still to be sent.
    private func answerWritten(_ answer: Int, close: Bool, context: ChannelHandlerContext) {
        lastWritten = answer
        switch state {
        case .holding where answer >= shutAfter:
            startClosing(context: context)
        case .reading where close, .discarding where close:
            startClosing(context: context)
        case .reading, .discarding, .holding, .closing:
            break
        }
    }

    /// Holds the connection (the socket not read, what comes dropped) until answer `answer` has been
    /// written, then shuts its output.
    private func hold(until answer: Int) {
        shutAfter = answer
        state = .holding
    }

    /// Stops reading for the body answer `answer` left unread: the output is shut at once when that
    /// answer has been written, else once it has.
    private func stopReading(after answer: Int, context: ChannelHandlerContext) {
        if lastWritten >= answer {
            startClosing(context: context)
        } else {
            hold(until: answer)
        }
    }

    /// Shuts the output, and closes the connection after ``linger`` (or sooner: the body's end, the
    /// client's close). A channel that cannot shut only its output is closed at once.
    private func startClosing(context: ChannelHandlerContext) {
        if case .closing = state { return }
        let channel = context.channel
        state = .closing(context.eventLoop.scheduleTask(in: Self.linger) { channel.close(promise: nil) })
        let shut = context.eventLoop.makePromise(of: Void.self)
        shut.futureResult.whenFailure { _ in channel.close(promise: nil) }
        context.close(mode: .output, promise: shut)
    }

    private func closeNow(context: ChannelHandlerContext) {
        stopTimer()
        context.close(promise: nil)
    }

    private func stopTimer() {
        if case .closing(let timer) = state { timer.cancel() }
    }

    /// While holding or closing, the socket is not read: the client's bytes wait in the kernel's
    /// buffers, and flow control stops it, so a fast client cannot push gigabytes through the linger.
    /// (Reads are what pull bytes from the socket; the close discards what waits.)
    public func read(context: ChannelHandlerContext) {
        switch state {
        case .holding, .closing: return
        case .reading, .discarding: context.read()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .closing = state, let event = event as? ChannelEvent, event == .inputClosed {
            closeNow(context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
        self.context = nil
        if let counter { context.pipeline.syncOperations.removeHandler(counter, promise: nil) }
    }
}

@available(*, unavailable)
extension UnreadBodyLimit: Sendable {}

@available(*, unavailable)
extension UnreadBodyLimit.WireBytes: Sendable {}
