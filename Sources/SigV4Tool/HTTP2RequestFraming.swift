import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP2

/// Gives each HTTP/2 request the HTTP/1.1 framing the gateway and the middleware read: a request
/// whose content follows its head with no `Content-Length` gets `Transfer-Encoding: chunked`, and
/// `cookie` fields split for HTTP/2's header compression are joined again.
///
/// Over HTTP/1.1 a request without `Content-Length` or `Transfer-Encoding` has no body (RFC 9112,
/// section 6.3), and the gateway forwards it so: no body read, none sent. Over HTTP/2 the same head
/// may be followed by DATA frames up to the stream's end (RFC 9113, section 8.1), and such a body
/// would have been refused (a signed hash of other bytes), answered 502 (read as an empty body), or
/// dropped on the way upstream (`UNSIGNED-PAYLOAD`). This handler, in each HTTP/2 stream's pipeline
/// after Hummingbird's HTTP/2 codec, marks such a request as one of unknown length, which is what
/// chunked framing means to everything behind it: the middleware verifies the bytes as they arrive
/// (against the signed hash, the empty body's included), and the gateway reads up to
/// `--max-buffered-body` before contacting the upstream, as for an HTTP/1.1 chunked upload.
/// NIOHTTP2's own HTTP/2-to-HTTP/1 codec adds the same field; the field is never on the wire
/// (HTTP/2 forbids it in a request, NIOHTTP2 refuses one that has it, and the gateway drops it
/// from what it forwards) and never signed.
///
/// HTTP/2 lets a client send its `Cookie` as several `cookie` fields, which must be joined with `"; "`
/// before the request goes on in HTTP/1.1 terms (RFC 9113, section 8.2.3): the signer signed the one
/// `Cookie` value (the verifier would join split ones with `,`, as for any repeated name, and find
/// another signature), and the upstream is sent one `Cookie` line.
///
/// A request whose HEADERS frame ends the stream has no content: the codec passes its head and
/// its end in one read, and the head goes on unchanged. Otherwise the head waits until the next
/// part or the end of the read that brought it, never longer, so a client waiting for a response
/// before it sends DATA (`Expect: 100-continue`, answered by ``ExpectContinueHandler`` ahead of
/// this handler) is not kept waiting. A request with `Content-Length` is framed by it (NIOHTTP2
/// checks the DATA frames against it) and goes unchanged. Hummingbird gives its HTTP/1.1 connections
/// (a client that does not offer `h2`) the same handlers as its HTTP/2 streams; on a channel that is
/// not an HTTP/2 stream the handler passes every part on as it came.
///
/// ```swift
/// var http2 = HTTP2ChannelConfiguration()
/// http2.streamConfiguration = .init(additionalChannelHandlers: [HTTP2RequestFramingHandler()])
/// ```
final class HTTP2RequestFramingHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    /// The stream's request head, held until it is known whether content follows it.
    private var head: HTTPRequest?
    /// False on an HTTP/1.1 connection: every part goes on as it came.
    private var isHTTP2Stream = false

    init() {}

    func handlerAdded(context: ChannelHandlerContext) {
        // (Not the stream-id channel option: a socket channel traps on an option it does not know.)
        isHTTP2Stream =
            (try? context.pipeline.syncOperations.handler(type: HTTP2FramePayloadToHTTPServerCodec.self)) != nil
    }

    /// `head` as the gateway reads it: split `cookie` fields joined, and, when content follows,
    /// `Transfer-Encoding: chunked` added when it declares no `Content-Length`.
    static func translated(_ head: HTTPRequest, contentFollows: Bool) -> HTTPRequest {
        var head = head
        let cookies = head.headerFields[values: .cookie]
        if cookies.count > 1 {
            // (Not the `.cookie` subscript's setter: it splits the value at each "; " again.)
            head.headerFields[values: .cookie] = [cookies.joined(separator: "; ")]
        }
        if contentFollows, head.headerFields[.contentLength] == nil, head.headerFields[.transferEncoding] == nil {
            head.headerFields[.transferEncoding] = "chunked"
        }
        return head
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard isHTTP2Stream else { return context.fireChannelRead(data) }
        switch unwrapInboundIn(data) {
        case .head(let received):
            release(context, contentFollows: true)
            head = received
            return
        case .body:
            release(context, contentFollows: true)
        case .end:
            // The head's own read ends here: the stream ended with no content.
            release(context, contentFollows: false)
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // The stream is still open after the read that brought the head: content may follow.
        release(context, contentFollows: true)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        release(context, contentFollows: true)
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        release(context, contentFollows: true)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        head = nil
        context.fireChannelInactive()
    }

    /// Passes the held head on, translated (``translated(_:contentFollows:)``).
    private func release(_ context: ChannelHandlerContext, contentFollows: Bool) {
        guard let held = head else { return }
        head = nil
        context.fireChannelRead(wrapInboundOut(.head(Self.translated(held, contentFollows: contentFollows))))
    }
}

@available(*, unavailable)
extension HTTP2RequestFramingHandler: Sendable {}
