public import Logging
public import NIOCore
import NIOHTTP2

/// Keeps an HTTP/2 stream's error to its stream: the errors NIOHTTP2 raises for one stream (a body
/// shorter or longer than its `content-length`, a malformed or forbidden header field, trailers that
/// do not end the stream) stop here instead of reaching Hummingbird's connection manager, which closes
/// the whole connection on any error it is told of.
///
/// For such an error in what a client sent, NIOHTTP2 does what RFC 9113 (sections 5.4.2 and 8.1.1)
/// asks: it resets that stream (`RST_STREAM(PROTOCOL_ERROR)`), closes its channel (whose request ends
/// as a client that went away), and reports the error down the connection's pipeline for
/// information. Hummingbird 2.28.1's `HTTP2ServerConnectionManager` closes the connection on that
/// report, without a GOAWAY (measured: one stream whose DATA fell 50 bytes short of its
/// `content-length` was reset, and the connection then closed with TLS's close_notify while the next
/// stream's answer was on its way), so every other request in flight on the connection was lost with
/// it: a proxy that multiplexes many clients' requests onto one connection lost all of them for one
/// client's malformed request. (For an error in what the server writes, NIOHTTP2 tells the stream's
/// channel, whose request then fails and is reset `CANCEL`.)
///
/// Only the types NIOHTTP2 raises as stream errors and never as connection errors stop here:
/// those of its header-block and `content-length` validation, and its `StreamError` (a stream
/// refused after a GOAWAY). Everything else goes on and closes the connection as before: connection
/// errors (NIOHTTP2 has already sent its GOAWAY), the abuse limits' (too many stream errors, resets or
/// glitches: `ENHANCE_YOUR_CALM`), TLS's and the socket's, and also the stream errors whose types
/// NIOHTTP2 raises either way, which cannot be told apart here: `BadStreamStateTransition` (a frame
/// on a stream the client had ended), `FlowControlViolation` and `InvalidFlowControlWindowSize` (a
/// stream's window overrun), `InvalidWindowIncrementSize` (a stream's `WINDOW_UPDATE` of 0). Those
/// still end the connection without a GOAWAY; a client or proxy that keeps to the protocol's framing
/// never sends them.
///
/// Put after `NIOHTTP2Handler`, before the connection manager (``GuardedHTTP2Channel`` does):
///
/// ```swift
/// let http2 = try pipeline.syncOperations.handler(type: NIOHTTP2Handler.self)
/// try pipeline.syncOperations.addHandler(HTTP2StreamErrorContainment(), position: .after(http2))
/// ```
public final class HTTP2StreamErrorContainment: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    private let logger: Logger?

    /// A handler for one connection's pipeline; with `logger`, each error it keeps to its stream is
    /// logged at debug level by its type only (a value NIOHTTP2 quotes may hold a credential).
    ///
    /// ```swift
    /// let containment = HTTP2StreamErrorContainment(logger: Logger(label: "http2"))
    /// ```
    public init(logger: Logger? = nil) { self.logger = logger }

    /// Whether NIOHTTP2 raises `error`'s type only for one stream (which it has reset, or whose
    /// channel it has told), never for the whole connection.
    ///
    /// ```swift
    /// import NIOHTTP2
    /// HTTP2StreamErrorContainment.isStreamScoped(NIOHTTP2Errors.contentLengthViolated())  // true
    /// ```
    public static func isStreamScoped(_ error: any Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.StreamError,
            // Content-Length: the DATA frames against it, and the field itself.
            is NIOHTTP2Errors.ContentLengthViolated, is NIOHTTP2Errors.ContentLengthHeadersMismatch,
            is NIOHTTP2Errors.ContentLengthHeaderNegative, is NIOHTTP2Errors.ContentLengthHeaderMalformedValue,
            // The header block's validation (RFC 9113, section 8.2).
            is NIOHTTP2Errors.InvalidHTTP2HeaderFieldName, is NIOHTTP2Errors.InvalidHTTP2HeaderFieldValue,
            is NIOHTTP2Errors.ForbiddenHeaderField, is NIOHTTP2Errors.DuplicatePseudoHeader,
            is NIOHTTP2Errors.PseudoHeaderAfterRegularHeader, is NIOHTTP2Errors.UnknownPseudoHeader,
            is NIOHTTP2Errors.UnsupportedPseudoHeader, is NIOHTTP2Errors.InvalidPseudoHeaders,
            is NIOHTTP2Errors.InvalidPseudoHeaderValue, is NIOHTTP2Errors.EmptyPathHeader,
            is NIOHTTP2Errors.TrailersWithoutEndStream:
            return true
        default:
            return false
        }
    }

    /// Drops `error` when ``isStreamScoped(_:)``; passes every other error on.
    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard Self.isStreamScoped(error) else { return context.fireErrorCaught(error) }
        logger?.debug("HTTP/2 stream error kept to its stream", metadata: ["error": "\(type(of: error))"])
    }
}

@available(*, unavailable)
extension HTTP2StreamErrorContainment: Sendable {}
