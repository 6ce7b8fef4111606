public import NIOCore
import HTTPTypes
public import NIOHTTPTypes

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
/// The interim response is sent as soon as the request head arrives. A request refused by the
/// SigV4 middleware still gets its error response; its body is then read and discarded by the server.
public final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// Creates the handler (one per connection).
    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
            head.headerFields[.expect]?.lowercased() == "100-continue"
        {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension ExpectContinueHandler: Sendable {}
