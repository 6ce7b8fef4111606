public import HummingbirdCore
public import HummingbirdHTTP2
public import HummingbirdSigV4
public import NIOCore

extension HTTPServerBuilder {
    /// HTTPS with HTTP/2 and HTTP/1.1 on one port, for a service that verifies SigV4 with
    /// `SigV4Authenticator`: Hummingbird's `HTTP2UpgradeChannel` (TLS, then ALPN: `h2` to its HTTP/2
    /// connection, `http/1.1` or no ALPN to its HTTP/1.1 channel) with the guards `sigv4 serve` runs it
    /// with.
    ///
    /// - Each HTTP/2 stream, and each HTTP/1.1 connection of a client that does not offer `h2`, gets an
    ///   `ExpectContinueHandler(sending: expectContinue)`, then an ``HTTP2StreamRefusalReset`` (a stream
    ///   refused before its `100` is reset with `NO_ERROR` once its answer has left, as HTTP/1.1 closes
    ///   its connection), then the handlers `additionalStreamHandlers` returns (called once for each).
    ///   An HTTP/1.1 connection also gets an `UnreadBodyLimit(limit: unreadBodyLimit)`: at most that many
    ///   bytes of a body left unread by its answer are read and discarded before the connection is
    ///   closed instead.
    /// - Each stream and each HTTP/1.1 connection gets a `SendTimeout(sendTimeout)`: one whose answer has
    ///   not drained for that long (its client stopped reading, or an HTTP/2 client never opened the
    ///   stream's flow-control window) is closed. Each HTTP/2 connection gets one too, where its bytes go
    ///   to the socket (``GuardedHTTP2Channel``): a client that stops reading but keeps opening streams
    ///   (each waits for the connection, so nothing of it is timed) is closed all the same. Nil, zero or
    ///   negative: never.
    /// - `idleTimeout` closes a stream whose request stalls, as HTTP/1.1 closes its connection, and sends
    ///   GOAWAY to a connection with no open stream for that long; it also bounds what Hummingbird
    ///   2.28.1 leaves unbounded, the TLS handshake and a client's answer to the GOAWAY
    ///   (``GuardedHTTP2Channel``). Nil, zero or negative: none of these.
    /// - A stream that breaks HTTP/2's header or length rules is reset alone and its connection goes on
    ///   (``HTTP2StreamErrorContainment``; with Hummingbird's own builder the whole connection closes).
    ///
    /// - Important: With `.whenBodyIsRead` (the default), put `ExpectContinueMiddleware` ahead of the
    ///   authenticator (or wrap each request with `Request.sendingContinueWhenBodyIsRead(on:)`);
    ///   otherwise a client that sends `Expect: 100-continue` waits for a `100` that never comes.
    ///   `.immediately` sends it as soon as a head arrives, before the request is judged.
    ///
    /// The HTTP/2 settings are NIOHTTP2's defaults, and the connection's maximum age and graceful-close
    /// timeout Hummingbird's (Hummingbird 2.28.1 passes no others): at most 100 concurrent streams a
    /// connection, a header list of at most 16 KiB decoded, 64 KiB flow-control windows.
    ///
    /// ```swift
    /// import HummingbirdHTTP2  // TLSChannelConfiguration, TLSConfiguration, NIOSSLCertificate, NIOSSLPrivateKey
    /// import HummingbirdSigV4HTTP2
    ///
    /// let router = Router(context: BasicSigV4RequestContext.self)
    /// router.add(middleware: ExpectContinueMiddleware())
    /// router.add(middleware: SigV4Authenticator(keyStore: keyStore, policy: policy))
    /// let tls = TLSConfiguration.makeServerConfiguration(
    ///     certificateChain: try NIOSSLCertificate.fromPEMFile("cert.pem").map { .certificate($0) },
    ///     privateKey: .privateKey(try NIOSSLPrivateKey(file: "key.pem", format: .pem)))
    /// let app = Application(
    ///     router: router, server: .sigV4HTTP2(tlsChannelConfiguration: .init(tlsConfiguration: tls)),
    ///     configuration: .init(address: .hostname("0.0.0.0", port: 8443)))
    /// try await app.runService()
    /// ```
    public static func sigV4HTTP2(
        tlsChannelConfiguration: TLSChannelConfiguration,
        idleTimeout: Duration? = .seconds(60),
        expectContinue: ExpectContinueHandler.Timing = .whenBodyIsRead,
        unreadBodyLimit: Int = UnreadBodyLimit.defaultLimit,
        sendTimeout: Duration? = .seconds(60),
        additionalStreamHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        let configuration = sigV4Configuration(
            idleTimeout, expectContinue, unreadBodyLimit, sendTimeout, additionalStreamHandlers)
        return HTTPServerBuilder { responder in
            let upgrade = try HTTP2UpgradeChannel(
                tlsChannelConfiguration: tlsChannelConfiguration, configuration: configuration, responder: responder)
            return GuardedHTTP2Channel(upgrade, idleTimeout: configuration.idleTimeout, sendTimeout: sendTimeout)
        }
    }

    /// HTTP/2 without TLS, by prior knowledge (RFC 9113, section 3.3: no upgrade, no HTTP/1.1), with
    /// the guards of
    /// ``sigV4HTTP2(tlsChannelConfiguration:idleTimeout:expectContinue:unreadBodyLimit:sendTimeout:additionalStreamHandlers:)``
    /// but the TLS handshake's: for a service behind a proxy that ends TLS and speaks HTTP/2 to it
    /// (Hummingbird's `plaintextHTTP2`). A client that speaks HTTP/1.1 to it is refused.
    ///
    /// ```swift
    /// let app = Application(router: router, server: .sigV4PlaintextHTTP2(idleTimeout: .seconds(60)))
    /// ```
    public static func sigV4PlaintextHTTP2(
        idleTimeout: Duration? = .seconds(60),
        expectContinue: ExpectContinueHandler.Timing = .whenBodyIsRead,
        unreadBodyLimit: Int = UnreadBodyLimit.defaultLimit,
        sendTimeout: Duration? = .seconds(60),
        additionalStreamHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        let configuration = sigV4Configuration(
            idleTimeout, expectContinue, unreadBodyLimit, sendTimeout, additionalStreamHandlers)
        return HTTPServerBuilder { responder in
            let http2 = HTTP2Channel(responder: responder, configuration: configuration)
            return GuardedHTTP2Channel(http2, idleTimeout: configuration.idleTimeout, sendTimeout: sendTimeout)
        }
    }

    /// The HTTP/2 configuration of the builders above: `idleTimeout` (nil when zero or negative) for
    /// the connection and its streams, each stream with the handlers they name.
    static func sigV4Configuration(
        _ idleTimeout: Duration?, _ expectContinue: ExpectContinueHandler.Timing, _ unreadBodyLimit: Int,
        _ sendTimeout: Duration?, _ additionalStreamHandlers: @escaping @Sendable () -> [any RemovableChannelHandler]
    ) -> HTTP2ChannelConfiguration {
        let idleTimeout = idleTimeout.flatMap { $0 > .zero ? $0 : nil }
        let streams = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ExpectContinueHandler(sending: expectContinue), UnreadBodyLimit(limit: unreadBodyLimit),
                HTTP2StreamRefusalReset(), SendTimeout(sendTimeout.map { TimeAmount($0) } ?? .zero),
            ] + additionalStreamHandlers(),
            idleTimeout: idleTimeout.map { TimeAmount($0) })
        return HTTP2ChannelConfiguration(idleTimeout: idleTimeout, streamConfiguration: streams)
    }

    /// ``sigV4HTTP2(tlsChannelConfiguration:idleTimeout:expectContinue:unreadBodyLimit:sendTimeout:additionalStreamHandlers:)``
    /// with
    /// `tlsConfiguration` and the TLS library's own certificate verification.
    ///
    /// ```swift
    /// let app = Application(router: router, server: .sigV4HTTP2(tlsConfiguration: tls))
    /// ```
    public static func sigV4HTTP2(
        tlsConfiguration: TLSConfiguration,
        idleTimeout: Duration? = .seconds(60),
        expectContinue: ExpectContinueHandler.Timing = .whenBodyIsRead,
        unreadBodyLimit: Int = UnreadBodyLimit.defaultLimit,
        sendTimeout: Duration? = .seconds(60),
        additionalStreamHandlers: @escaping @Sendable () -> [any RemovableChannelHandler] = { [] }
    ) -> HTTPServerBuilder {
        sigV4HTTP2(
            tlsChannelConfiguration: TLSChannelConfiguration(tlsConfiguration: tlsConfiguration),
            idleTimeout: idleTimeout, expectContinue: expectContinue, unreadBodyLimit: unreadBodyLimit,
            sendTimeout: sendTimeout, additionalStreamHandlers: additionalStreamHandlers)
    }
}
