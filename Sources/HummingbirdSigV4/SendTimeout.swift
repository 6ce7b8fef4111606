public import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Closes a channel whose answer stops leaving: when something written and flushed has waited
/// `timeout` with no write of the channel completing meanwhile, the channel is closed (within twice
/// `timeout` of the last write that left).
///
/// A client that sends requests and never reads the answers (pipelining them, or one request with a
/// large answer) otherwise holds its connection, its socket buffers and the task writing to it for
/// ever: the answer waits for room in the socket, and a server's idle timer does not run while an
/// answer is being written. The same holds for an HTTP/2 stream whose client never opens its
/// flow-control window. nginx bounds both with `send_timeout` (60 s by default), which this follows:
/// the timeout runs between two writes that leave, not over the whole answer, so a client that reads,
/// however slowly, keeps its connection as long as some write completes within each `timeout`.
///
/// A write completes when its bytes have been handed to the kernel (on a socket) or to the
/// connection (on an HTTP/2 stream). So a client that stopped reading is seen once the kernel's send
/// buffer is full, and one that reads again once it has taken enough for the kernel to accept more
/// (on Linux, about half that buffer, which grows to a few MiB on a fast link).
///
/// A write completes only once all its bytes have left, so one large buffer would show no progress
/// until its end, however steadily its client read it. A write of more than ``sliceSize`` bytes (a
/// `ByteBuffer`, `IOData` or the body part of an HTTP response) is therefore passed on as slices of at
/// most that many, in order, each flushed as the next is passed on (the last one waits for the flush
/// that comes from above): the timeout then runs between two slices that leave, and a TLS handler,
/// which encrypts what one flush gives it as one write, completes each slice as it goes. The write's
/// promise completes once every slice has, and fails if any fails.
///
/// Nothing waiting to leave (a request being read, an answer being prepared, an idle connection):
/// nothing is timed; those are the idle timer's. Put it on an HTTP/1.1 connection (among Hummingbird's
/// `additionalChannelHandlers`) or on each HTTP/2 stream.
///
/// ```swift
/// let handlers: [any RemovableChannelHandler] = [SendTimeout(.seconds(60)), UnreadBodyLimit()]
/// let app = Application(router: router, server: .http1(configuration: .init(additionalChannelHandlers: handlers)))
/// ```
public final class SendTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    /// Reads pass through as they are, and writes too but for those split in slices (the handler sits
    /// anywhere in a pipeline).
    public typealias InboundIn = Never
    public typealias OutboundIn = Any

    /// The most bytes one write is passed on with: 256 KiB (a larger one goes as slices of this size).
    ///
    /// ```swift
    /// let slices = (body.readableBytes + SendTimeout.sliceSize - 1) / SendTimeout.sliceSize
    /// ```
    public static let sliceSize = 256 * 1024

    /// The default `timeout`: 60 seconds, as nginx's `send_timeout`.
    ///
    /// ```swift
    /// let handler = SendTimeout(SendTimeout.defaultTimeout)
    /// ```
    public static let defaultTimeout: TimeAmount = .seconds(60)

    private let timeout: TimeAmount
    /// Writes passed on, writes passed on before the last flush, and writes completed (a channel
    /// completes its writes in order, so `completed < flushed` means a flushed write is waiting).
    private var issued = 0
    private var flushed = 0
    private var completed = 0
    /// While a flushed write waits: the check `timeout` on, and `completed` when it was set.
    private var timer: Scheduled<Void>?
    private var completedWhenSet = 0

    /// Creates the handler (one per channel); `timeout` zero or negative: never closes.
    ///
    /// ```swift
    /// let handler = SendTimeout(.seconds(30))
    /// ```
    public init(_ timeout: TimeAmount = SendTimeout.defaultTimeout) {
        self.timeout = timeout
    }

    /// Passes `data` on, in slices if it is a buffer of more than ``sliceSize`` bytes, timing it once flushed.
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard timeout > .zero else {
            context.write(data, promise: promise)
            return
        }
        guard let slices = Self.slices(of: unwrapOutboundIn(data)) else {
            pass(context: context, data, promise: promise)
            return
        }
        var sent: [EventLoopFuture<Void>] = []
        for (index, slice) in slices.enumerated() {
            if index > 0 { flush(context: context) }
            let done = context.eventLoop.makePromise(of: Void.self)
            sent.append(done.futureResult)
            pass(context: context, slice, promise: done)
        }
        guard let promise else { return }
        EventLoopFuture.whenAllComplete(sent, on: context.eventLoop).whenSuccess { results in
            for case .failure(let error) in results {
                promise.fail(error)
                return
            }
            promise.succeed(())
        }
    }

    /// Passes one write on, counted as issued, and as completed when it completes.
    private func pass(context: ChannelHandlerContext, _ data: NIOAny, promise: EventLoopPromise<Void>?) {
        let done = promise ?? context.eventLoop.makePromise()
        issued += 1
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        done.futureResult.whenComplete { _ in bound.value.completed += 1 }
        context.write(data, promise: done)
    }

    /// `value` as slices of at most ``sliceSize`` bytes, each of its own type, when it is a buffer
    /// (`ByteBuffer` and `IOData`, which a `ByteBuffer` is passed as, or an HTTP response's body part)
    /// of more than that; nil otherwise.
    static func slices(of value: Any) -> [NIOAny]? {
        func split(_ buffer: ByteBuffer) -> [ByteBuffer]? {
            guard buffer.readableBytes > sliceSize else { return nil }
            var rest = buffer
            var slices: [ByteBuffer] = []
            while let slice = rest.readSlice(length: min(sliceSize, rest.readableBytes)), slice.readableBytes > 0 {
                slices.append(slice)
            }
            return slices
        }
        switch value {
        case let data as IOData:
            guard case .byteBuffer(let buffer) = data, let slices = split(buffer) else { return nil }
            return slices.map { NIOAny(IOData.byteBuffer($0)) }
        case let part as HTTPResponsePart:
            guard case .body(let buffer) = part, let slices = split(buffer) else { return nil }
            return slices.map { NIOAny(HTTPResponsePart.body($0)) }
        case let part as HTTPServerResponsePart:
            guard case .body(.byteBuffer(let buffer)) = part, let slices = split(buffer) else { return nil }
            return slices.map { NIOAny(HTTPServerResponsePart.body(.byteBuffer($0))) }
        default:
            return nil
        }
    }

    public func flush(context: ChannelHandlerContext) {
        flushed = issued
        context.flush()
        if timer == nil, completed < flushed { setTimer(context: context) }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stopTimer()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stopTimer()
    }

    private func setTimer(context: ChannelHandlerContext) {
        completedWhenSet = completed
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.check(context: context)
        }
    }

    /// `timeout` after the timer was set: closes the channel when a flushed write still waits and none
    /// completed since; sets the timer again when one did.
    private func check(context: ChannelHandlerContext) {
        timer = nil
        guard completed < flushed else { return }
        if completed == completedWhenSet {
            context.close(promise: nil)
        } else {
            setTimer(context: context)
        }
    }

    private func stopTimer() {
        timer?.cancel()
        timer = nil
    }
}

@available(*, unavailable)
extension SendTimeout: Sendable {}
