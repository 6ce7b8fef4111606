public import NIOCore

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
/// Nothing waiting to leave (a request being read, an answer being prepared, an idle connection):
/// nothing is timed; those are the idle timer's. Put it on an HTTP/1.1 connection (among Hummingbird's
/// `additionalChannelHandlers`) or on each HTTP/2 stream.
///
/// ```swift
/// let handlers: [any RemovableChannelHandler] = [SendTimeout(.seconds(60)), UnreadBodyLimit()]
/// let app = Application(router: router, server: .http1(configuration: .init(additionalChannelHandlers: handlers)))
/// ```
public final class SendTimeout: ChannelDuplexHandler, RemovableChannelHandler {
    /// Reads and writes pass through as they are (the handler sits anywhere in a pipeline).
    public typealias InboundIn = Never
    public typealias OutboundIn = Never

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

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard timeout > .zero else {
            context.write(data, promise: promise)
            return
        }
        let done = promise ?? context.eventLoop.makePromise()
        issued += 1
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        done.futureResult.whenComplete { _ in bound.value.completed += 1 }
        context.write(data, promise: done)
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
