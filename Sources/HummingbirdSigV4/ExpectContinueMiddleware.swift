public import Hummingbird
public import NIOCore

/// A request context that knows the channel its request came on (for HTTP/2, the stream's).
///
/// ``ExpectContinueMiddleware`` needs it to ask the connection's ``ExpectContinueHandler`` for the
/// `100 Continue`. ``BasicSigV4RequestContext`` adopts it.
///
/// ```swift
/// struct AppContext: SigV4RequestContext, SigV4ChannelRequestContext {
///     var coreContext: CoreRequestContextStorage
///     var sigV4: VerifiedRequest?
///     let channel: any Channel
///     init(source: Source) {
///         self.coreContext = .init(source: source)
///         self.channel = source.channel
///     }
/// }
/// ```
public protocol SigV4ChannelRequestContext: RequestContext {
    /// The channel the request came on.
    ///
    /// ```swift
    /// request.sendingContinueWhenBodyIsRead(on: context.channel)
    /// ```
    var channel: any Channel { get }
}

/// Sends the `100 Continue` a request asked for only when its body is first read, so a request
/// refused before then (by ``SigV4Authenticator`` after it, or any handler) never has its body sent.
///
/// It works with an ``ExpectContinueHandler`` made with ``ExpectContinueHandler/Timing/whenBodyIsRead``
/// in the server's channel handlers; add it before the authenticator.
///
/// ```swift
/// let router = Router(context: BasicSigV4RequestContext.self)
/// router.add(middleware: ExpectContinueMiddleware())
/// router.add(middleware: SigV4Authenticator(verifier: verifier))
/// ```
public struct ExpectContinueMiddleware<Context: SigV4ChannelRequestContext>: RouterMiddleware {
    /// Creates the middleware.
    ///
    /// ```swift
    /// router.add(middleware: ExpectContinueMiddleware())
    /// ```
    public init() {}

    /// Passes `request` on with its body wrapped (`Request.sendingContinueWhenBodyIsRead(on:)`).
    ///
    /// ```swift
    /// let response = try await middleware.handle(request, context: context) { request, _ in
    ///     Response(status: .ok)   // a handler that never reads the body: no 100 is sent
    /// }
    /// ```
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        try await next(request.sendingContinueWhenBodyIsRead(on: context.channel), context)
    }
}

extension Request {
    /// This request with its body asking `channel`'s ``ExpectContinueHandler`` for the owed
    /// `100 Continue` when it is first read; the request itself when it did not ask for one
    /// (`Expect: 100-continue`).
    ///
    /// ```swift
    /// let responder = CallbackResponder { (request: Request, context: AppContext) in
    ///     try await handle(request.sendingContinueWhenBodyIsRead(on: context.channel), context)
    /// }
    /// ```
    public func sendingContinueWhenBodyIsRead(on channel: any Channel) -> Request {
        guard ExpectContinueHandler.asksForContinue(headers) else { return self }
        var request = self
        request.body = RequestBody(asyncSequence: ContinueOnFirstRead(base: body, channel: channel))
        return request
    }
}

/// A request body that sends ``ExpectContinueHandler/SendContinue`` down its channel before its first
/// read, which the client answers with the body.
struct ContinueOnFirstRead: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let base: RequestBody
    let channel: any Channel

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var channel: (any Channel)?

        mutating func next() async throws -> ByteBuffer? {
            if let channel {
                self.channel = nil
                channel.triggerUserOutboundEvent(ExpectContinueHandler.SendContinue(), promise: nil)
            }
            return try await base.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), channel: channel) }
}
