import HummingbirdCore
import HummingbirdHTTP2
import HummingbirdSigV4HTTP2
import NIOCore

extension Serve {
    /// The HTTPS server with HTTP/2: HummingbirdSigV4HTTP2's
    /// `HTTPServerBuilder.sigV4HTTP2(tlsChannelConfiguration:…)`
    /// (the `100 Continue` when the body is first read, refused streams reset, stream errors kept to
    /// their stream, the TLS handshake and the GOAWAY's answer bounded by `idleTimeout`), each stream
    /// also given ``HTTP2RequestFramingHandler`` (a pass-through on HTTP/1.1): the framing the
    /// gateway forwards by. An HTTP/1.1 connection discards at most `unreadBodyLimit` bytes of a body
    /// its answer left unread (`--max-unread-body`); a stream or HTTP/1.1 connection whose answer has
    /// not drained for `sendTimeout` is closed (`--send-timeout`; zero: never).
    ///
    /// With `verifyClient` (`--tls-client-ca`), each client's certificate chain is judged by it
    /// (``ClientCertificateAuthorities/verificationCallback``) instead of by the TLS library.
    ///
    /// ```swift
    /// let server = Serve.http2Server(tls: tlsConfiguration, verifyClient: nil, idleTimeout: .seconds(60),
    ///     unreadBodyLimit: 1 << 20, sendTimeout: .seconds(60))
    /// ```
    static func http2Server(
        tls: TLSConfiguration, verifyClient: TLSChannelConfiguration.CustomVerificationCallback?,
        idleTimeout: TimeAmount?, unreadBodyLimit: Int, sendTimeout: TimeAmount
    ) -> HTTPServerBuilder {
        .sigV4HTTP2(
            tlsChannelConfiguration: .init(tlsConfiguration: tls, customVerificationCallback: verifyClient),
            idleTimeout: idleTimeout.map { .nanoseconds($0.nanoseconds) }, unreadBodyLimit: unreadBodyLimit,
            sendTimeout: .nanoseconds(sendTimeout.nanoseconds),
            additionalStreamHandlers: { [HTTP2RequestFramingHandler()] })
    }
}
