import HummingbirdSigV4
public import NIOCore
import NIOHTTP2
import NIOHTTPTypesHTTP2

/// Ends an HTTP/2 stream answered without its `100 Continue` (``HummingbirdSigV4/ExpectContinueHandler`` refused it
/// before the body was read) with `RST_STREAM(NO_ERROR)`, once the answer has been written: RFC 9113
/// (section 8.1) provides it for a complete response sent before the request's end, and it tells the
/// client to send no body. Without it the stream, its slot among the connection's 100 and its
/// request's task stayed open until the client ended the stream or the idle timeout closed it.
///
/// In each HTTP/2 stream's pipeline after `ExpectContinueHandler`; on an HTTP/1.1 connection it
/// never sees the event (the handler closes the connection there instead).
///
/// ```swift
/// HTTP1Channel.Configuration(additionalChannelHandlers: [
///     ExpectContinueHandler(sending: .whenBodyIsRead), HTTP2StreamRefusalReset(),
/// ])
/// ```
public final class HTTP2StreamRefusalReset: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    /// A handler for one stream's pipeline.
    public init() {}

    /// Writes the reset for ``HummingbirdSigV4/ExpectContinueHandler/AnsweredWithoutBody``; passes every
    /// event on.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        let pipeline = context.pipeline.syncOperations
        if event is ExpectContinueHandler.AnsweredWithoutBody,
            let codec = try? pipeline.context(handlerType: HTTP2FramePayloadToHTTPServerCodec.self)
        {
            // Written below the codec, after the answer's end (already on its way there).
            codec.writeAndFlush(NIOAny(HTTP2Frame.FramePayload.rstStream(.noError)), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }
}

@available(*, unavailable)
extension HTTP2StreamRefusalReset: Sendable {}
