import Hummingbird
public import HummingbirdCore
public import HummingbirdHTTP2
import HummingbirdSigV4
public import NIOCore
public import NIOSSL

extension HTTPServerBuilder {
    /// HTTPS with HTTP/2 and HTTP/1.1 on one port, for a service that verifies SigV4 with
    /// ``HummingbirdSigV4/SigV4Authenticator``: Hummingbird's `HTTP2UpgradeChannel` (TLS, then ALPN:
    /// `h2` to its HTTP/2 connection, `http/1.1` or no ALPN to its HTTP/1.1 channel) with the guards
    /// `sigv4 serve` runs it with.
    ///
    /// - Each HTTP/2 stream, and each HTTP/1.1 connection of a client that does not offer `h2`, gets
    ///   ``HummingbirdSigV4/ExpectContinueHandler`` sending its `100` when the body is first read (add
    ///   ``HummingbirdSigV4/ExpectContinueMiddleware`` ahead of the authenticator), then
    ///   ``HTTP2StreamRefusalReset`` (a stream refused before its `100` is reset with `NO_ERROR` once
    ///   its answer has left, as HTTP/1.1 closes its connection), then `additionalStreamHandlers`.
    /// - `idleTimeout` closes a stream whose request stalls, as HTTP/1.1 closes its connection, sends
    ///   GOAWAY to a connection with no open stream for that long, and bounds what Hummingbird 2.28.1
    ///   leaves unbounded: the TLS handshake (``TLSHandshakeDeadlineChannel``) and a client's answer to
    ///   the GOAWAY (``HTTP2GoAwayDeadlineHandler``). nil: none of these.
    /// - A stream that breaks HTTP/2's rules is reset alone and its connection goes on
    ///   (``HTTP2StreamErrorContainment``; Hummingbird alone closes the whole connection).
    ///
    /// The HTTP/2 settings are NIOHTTP2's defaults (Hummingbird 2.28.1 passes no others): at most 100
    /// concurrent streams a connection, a header list of at most 16 KiB decoded, 64 KiB flow-control
    /// windows (Docs/ThreatModel.md, "HTTP/2").
    ///
    /// ```swift
    /// let router = Router(context: BasicSigV4RequestContext.self)
    /// router.add(middleware: ExpectContinueMiddleware())
    /// router.add(middleware: SigV4Authenticator(keyStore: keyStore, policy: policy))
    /// let tls = TLSConfiguration.makeServerConfiguration(
    ///     certificateChain: try NIOSSLCertificate.fromPEMFile("cert.pem").map { .certificate($0) },
    ///     privateKey: .privateKey(try NIOSSLPrivateKey(file: "key.pem", format: .pem)))
    /// let app = Application(
    ///     router: router, server: .sigV4HTTP2(tlsConfiguration: tls),
    ///     configuration: .init(address: .hostname("0.0.0.0", port: 8443)))
    /// try await app.runService()
    /// ```
    public static func sigV4HTTP2(
        tlsConfiguration: TLSConfiguration,
        customVerificationCallback: TLSChannelConfiguration.CustomVerificationCallback? = nil,
        idleTimeout: Duration? = .seconds(60),
        additionalStreamHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        let idle = idleTimeout.map { TimeAmount($0) }
        return HTTPServerBuilder { responder in
            let streams = HTTP1Channel.Configuration(
                additionalChannelHandlers: [ExpectContinueHandler(sending: .whenBodyIsRead), HTTP2StreamRefusalReset()]
                    + additionalStreamHandlers(),
                idleTimeout: idle)
            let upgrade = try HTTP2UpgradeChannel(
                tlsChannelConfiguration: .init(
                    tlsConfiguration: tlsConfiguration, customVerificationCallback: customVerificationCallback),
                configuration: .init(idleTimeout: idleTimeout, streamConfiguration: streams),
                responder: responder)
            return TLSHandshakeDeadlineChannel(upgrade, deadline: idle)
        }
    }
}
