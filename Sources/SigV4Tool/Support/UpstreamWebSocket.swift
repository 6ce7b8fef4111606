import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import ServiceLifecycle
import Synchronization
// `WebSocketHandler` (frames to messages, control frames, the closing handshake) is the swift-websocket
// package's SPI, which hummingbird-websocket itself builds on; the package is pinned in Package.swift.
@_spi(WSInternal) import WSCore

/// The WebSocket relay's connection to the upstream (`sigv4 serve --websockets --upstream`), opened
/// within the gateway's upstream timeouts: the TCP connect within `--upstream-connect-timeout`, and the
/// TLS handshake and the upgrade's answer within `--upstream-timeout`, past which the connection is
/// closed. (swift-websocket's `WebSocketClient` waits for the answer without end: an upstream that
/// accepted the connection and never answered held the relay, and the gateway's graceful shutdown, for
/// as long as it stayed silent.)
///
/// ```swift
/// let upstream = try UpstreamWebSocket(url: "ws://127.0.0.1:9000/mqtt?client=7")
/// try await upstream.connect(
///     headers: headers, tlsConfiguration: nil, connectTimeout: .seconds(10), handshakeTimeout: .seconds(300),
///     maxFrameSize: 1 << 16, logger: logger
/// ) { inbound, outbound, _ in
///     for try await message in inbound.messages(maxSize: 1 << 20) { print(message) }
/// }
/// ```
struct UpstreamWebSocket: Sendable {
    /// Why the connection did not open.
    enum Failure: Error, CustomStringConvertible, Equatable {
        /// The URL is not `ws://` or `wss://` with a host.
        case invalidURL(String)
        /// The TCP connection did not open within the connect timeout.
        case connectTimedOut(seconds: Double)
        /// Connected, but the TLS handshake and the upgrade's answer took longer than the handshake timeout.
        case handshakeTimedOut(seconds: Double)
        /// The upstream answered the handshake without switching protocols.
        case notUpgraded
        /// The server shut down, or the task was cancelled, while the connection opened.
        case abandoned

        var description: String {
            switch self {
            case .invalidURL(let url): "not a WebSocket URL: \(url)"
            case .connectTimedOut(let seconds): "the upstream's connection did not open within \(seconds) s"
            case .handshakeTimedOut(let seconds):
                "the upstream did not answer the WebSocket handshake within \(seconds) s (--upstream-timeout)"
            case .notUpgraded: "the upstream refused the WebSocket upgrade"
            case .abandoned: "the connection to the upstream was abandoned while it opened (shutdown)"
            }
        }
    }

    /// The logger the message handler gets.
    struct Context: WebSocketContext {
        let logger: Logger
    }

    /// The host to connect to (an IPv6 address without its brackets) and its port.
    let host: String
    let port: Int
    /// `Host` as sent: the URL's authority.
    let authority: String
    /// The request target: path and query.
    let target: String
    let secure: Bool

    /// Splits a `ws://` or `wss://` URL.
    init(url: String) throws(Failure) {
        let secure: Bool
        let rest: Substring
        if url.hasPrefix("wss://") {
            secure = true
            rest = url.dropFirst(6)
        } else if url.hasPrefix("ws://") {
            secure = false
            rest = url.dropFirst(5)
        } else {
            throw .invalidURL(url)
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        let hostPart: Substring
        var portPart: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .invalidURL(url) }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidURL(url) }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = Substring(authority)
        }
        let port = portPart.map { Int($0) } ?? (secure ? 443 : 80)
        guard !hostPart.isEmpty, let port, (1...65_535).contains(port) else { throw .invalidURL(url) }
        self.host = String(hostPart)
        self.port = port
        self.authority = authority
        self.target = slash == rest.endIndex ? "/" : String(rest[slash...])
        self.secure = secure
    }

    /// What the connection's pipeline gives once the upstream answered.
    private enum Upgrade: Sendable {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case notUpgraded
    }

    /// The connected channel and its upgrade's outcome.
    private struct Pending: Sendable {
        let channel: any Channel
        let upgrade: EventLoopFuture<Upgrade>
        let closedBy: ClosedBy
    }

    /// Why the connection was closed while it opened: 0 not by this code, 1 its handshake's deadline, 2 a
    /// shutdown or a cancellation.
    private final class ClosedBy: Sendable {
        let value = Atomic(0)
        func close(_ channel: any Channel, reason: Int) {
            _ = value.compareExchange(expected: 0, desired: reason, ordering: .relaxed)
            channel.close(promise: nil)
        }
    }

    /// Connects, sends the handshake with `headers` (`Host` is the URL's authority), and once the upstream
    /// switched protocols runs `handler` with its messages until the connection closes. Throws a
    /// ``Failure`` (or the connection's error: refused, the certificate not trusted) when it does not open;
    /// a task cancelled, or a graceful shutdown (ServiceLifecycle's), while it opens closes it.
    func connect(
        headers: HTTPFields, tlsConfiguration: TLSConfiguration?, connectTimeout: TimeAmount,
        handshakeTimeout: TimeAmount?, maxFrameSize: Int, logger: Logger,
        handler: @escaping WebSocketDataHandler<Context>
    ) async throws {
        let sslContext = try secure ? NIOSSLContext(configuration: tlsConfiguration ?? .makeClientConfiguration()) : nil
        var head = HTTPHeaders()
        head.add(name: "Host", value: authority)
        head.add(name: "Origin", value: (secure ? "wss://" : "ws://") + host)
        for field in headers { head.add(name: field.name.rawName, value: field.value) }
        let requestHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: head)
        let host = self.host
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let pending: Pending
        do {
            pending = try await bootstrap.connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: sslContext, serverHostname: host), position: .first)
                    }
                    let upgrader = NIOTypedWebSocketClientUpgrader<Upgrade>(maxFrameSize: maxFrameSize) { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .upgraded(
                                try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                                    wrappingChannelSynchronously: channel))
                        }
                    }
                    var configuration = NIOUpgradableHTTPClientPipelineConfiguration(
                        upgradeConfiguration: NIOTypedHTTPClientUpgradeConfiguration(
                            upgradeRequestHead: requestHead, upgraders: [upgrader],
                            notUpgradingCompletionHandler: { channel in
                                channel.eventLoop.makeSucceededFuture(.notUpgraded)
                            }))
                    configuration.leftOverBytesStrategy = .forwardBytes
                    let upgrade = try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                        configuration: configuration)
                    let closedBy = ClosedBy()
                    if let handshakeTimeout {
                        let deadline = channel.eventLoop.scheduleTask(in: handshakeTimeout) {
                            closedBy.close(channel, reason: 1)
                        }
                        upgrade.whenComplete { _ in deadline.cancel() }
                    }
                    return Pending(channel: channel, upgrade: upgrade, closedBy: closedBy)
                }
            }
        } catch ChannelError.connectTimeout {
            throw Failure.connectTimedOut(seconds: Double(connectTimeout.nanoseconds) / 1e9)
        }
        let outcome: Upgrade
        do {
            // The client's side is closed by the server's graceful shutdown: a connection still opening
            // is not waited for.
            outcome = try await withGracefulShutdownHandler {
                try await withTaskCancellationHandler {
                    try await pending.upgrade.get()
                } onCancel: {
                    pending.closedBy.close(pending.channel, reason: 2)
                }
            } onGracefulShutdown: {
                pending.closedBy.close(pending.channel, reason: 2)
            }
        } catch {
            pending.channel.close(promise: nil)
            switch pending.closedBy.value.load(ordering: .relaxed) {
            case 1: throw Failure.handshakeTimedOut(seconds: Double((handshakeTimeout ?? .zero).nanoseconds) / 1e9)
            case 2: throw Failure.abandoned
            default: throw error
            }
        }
        switch outcome {
        case .notUpgraded:
            try? await pending.channel.close()
            throw Failure.notUpgraded
        case .upgraded(let channel):
            _ = try await WebSocketHandler.handle(
                type: .client,
                configuration: .init(
                    extensions: [], autoPing: .disabled, validateUTF8: false, maxFrameSize: maxFrameSize),
                asyncChannel: channel, context: Context(logger: logger), handler: handler)
        }
    }
}
