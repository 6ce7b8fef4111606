import NIOCore

extension ChannelHandlerContext {
    /// Writes `data`; once it has been written, `then` runs on the event loop with `handler` and this
    /// context (`promise` gets the write's outcome as well). For a handler that must act only after
    /// an answer has left (a close or a shut sooner would drop what is still queued).
    ///
    /// ```swift
    /// context.write(data, promise: promise, handler: self) { handler, context in context.close(promise: nil) }
    /// ```
    func write<Handler: AnyObject>(
        _ data: NIOAny, promise: EventLoopPromise<Void>?, handler: Handler,
        then: @escaping (Handler, ChannelHandlerContext) -> Void
    ) {
        let written = eventLoop.makePromise(of: Void.self)
        written.futureResult.cascade(to: promise)
        let bound = NIOLoopBound((handler, self, then), eventLoop: eventLoop)
        written.futureResult.whenSuccess { bound.value.2(bound.value.0, bound.value.1) }
        write(data, promise: written)
    }
}
