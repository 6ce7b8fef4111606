import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSigV4
import HummingbirdWebSocket
import Logging
import NIOCore
import SigV4
import SigV4AsyncHTTPClient
import SigV4CommandLine
import SigV4Verifier
import Synchronization

/// WebSocket upgrades (`sigv4 serve --websockets`): a `GET` with `Upgrade: websocket`, signed in its
/// headers or presigned (AWS IoT's MQTT over WSS, Transcribe's and API Gateway's WebSocket APIs sign
/// the connect this way), is verified before it is upgraded: time, scope, replay, the key's limits, as
/// any request. A refused upgrade is not upgraded; it gets what the same request refused as a plain
/// one gets, as AWS answers a refused handshake: the failure's status (403 `SignatureDoesNotMatch`,
/// `RequestReplayed`, `AccessDenied`; 400 for a malformed signature or a target the upstream
/// refuses) and the gateway's AWS error document in its configured format, with `Connection: close`
/// (``WebSocketRefusals``; HummingbirdWebSocket alone answers 400 with no body), and the same access
/// log line. An accepted one is relayed, message by message, to the same target upstream (`ws://` or
/// `wss://` for the upstream's `http://` or `https://`), with the identity headers and, with
/// `--upstream-access-key-id`, signed again; in echo mode the gateway answers with the identity as a
/// first text message, then echoes each message.
extension Gateway {
    /// Headers of the client's handshake that the relay's own handshake upstream replaces.
    static let webSocketHandshakeHeaders: Set<String> = [
        "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept",
        // Only the subprotocol the gateway accepted goes on (``subprotocol(of:)``).
        "sec-websocket-protocol",
        // The relay's client sends its own Origin (the upstream's URL), which a second one would contradict.
        "origin",
    ]

    /// The largest message relayed (a larger one closes both connections with 1009, message too big).
    var webSocketMessageLimit: Int { max(maxBufferedBody, 1 << 16) }

    /// Whether to upgrade `head`: verified as any request (no body: an upgrade has none), then relayed.
    /// A refused one is declined, its answer recorded in `refusals` for its connection.
    func shouldUpgrade(_ head: HTTPRequest, channel: any Channel, refusals: WebSocketRefusals, logger: Logger) async
        -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>>
    {
        let started = ContinuousClock.now
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        let forwarding = await origin(of: request, channel: channel)
        // Declined: the library's own answer (400, no body) is replaced by this refusal.
        func decline(_ failure: VerificationFailure) async -> ShouldUpgradeResult<
            WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
        > {
            let refusal = await webSocketRefusal(failure, to: request)
            refusals.record(refusal, for: channel, logger: logger)
            log(request, forwarding, status: refusal.head.status.code, identity: nil, code: failure.code.name, started: started)
            return .dontUpgrade
        }
        // The checks a plain request gets before it is forwarded: its framing (two Host fields, a
        // transfer coding), then, once verified, no signed header named in Connection (the relay's
        // handshake would go without it).
        if let failure = SigV4Authenticator<GatewayRequestContext>.framingFailure(head) {
            return await decline(failure)
        }
        if let upstream, upstream.refuses(head.path ?? "/") {
            return await decline(Self.dotSegmentRefusal)
        }
        var identity: VerifiedRequest? = nil
        if let authenticator {
            let now = authenticator.configuration.clock()
            switch await authenticator.verifier.verify(VerificationRequest(head), payload: .body([]), now: now) {
            case .accepted(let verified): identity = verified
            case .rejected(let failure): return await decline(failure)
            }
        }
        if upstream != nil, let identity,
            let name = Self.signedConnectionOption(head.headerFields, signedHeaders: identity.signedHeaders)
        {
            return await decline(Self.signedConnectionOptionRefusal(name))
        }
        log(request, forwarding, status: 101, identity: identity, code: nil, started: started)
        let verified = identity
        var accepted = HTTPFields()
        if let subprotocol = Self.subprotocol(of: head) { accepted[Self.subprotocolName] = subprotocol }
        return .upgrade(accepted) { inbound, outbound, context in
            try await self.relayWebSocket(
                head, identity: verified, forwarding: forwarding, inbound: inbound, outbound: outbound, logger: context.logger)
        }
    }

    /// Relays an upgraded connection's messages to the upstream and back, or echoes them.
    func relayWebSocket(
        _ head: HTTPRequest, identity: VerifiedRequest?, forwarding: TrustedProxies.Forwarding,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger
    ) async throws {
        let limit = webSocketMessageLimit
        guard let upstream else {
            let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
            let answer = Self.echoBody(request, identity: identity, bodyBytes: 0, certificate: forwarding.clientCertificate)
            try await outbound.write(.text(String(buffer: answer)))
            try await watchingKey(identity, closing: { try? await outbound.close(.policyViolation, reason: Self.keyGone) }) {
                try await Self.pump(inbound, to: outbound, limit: limit)
            }
            return
        }
        let (url, headers) = try webSocketUpstreamRequest(head, upstream: upstream, identity: identity, forwarding: forwarding)
        // The upstream's refusal (its handshake not answered 101) ends the client's connection too,
        // and a connection that never opens (refused, its certificate not trusted, no answer within
        // --upstream-connect-timeout and --upstream-timeout) is logged with why.
        let connected = UpstreamConnected()
        do {
            try await relayWebSocket(
                to: try UpstreamWebSocket(url: url), headers: headers, identity: identity, inbound: inbound,
                outbound: outbound, connected: connected, logger: logger)
        } catch where !connected.value.load(ordering: .relaxed) {
            accessLog.warning(
                "websocket upstream connection failed",
                metadata: ["path": "\(head.path?.prefix { $0 != "?" } ?? "/")", "error": "\(error)"])
            throw error
        }
    }

    /// Set once the relay's upstream WebSocket connection is open.
    final class UpstreamConnected: Sendable { let value = Atomic(false) }

    /// The relay over an upgraded connection to the upstream's WebSocket at `url`.
    private func relayWebSocket(
        to upstream: UpstreamWebSocket, headers: HTTPFields, identity: VerifiedRequest?,
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, connected: UpstreamConnected,
        logger: Logger
    ) async throws {
        let limit = webSocketMessageLimit
        try await upstream.connect(
            headers: headers, tlsConfiguration: upstreamTLS?.configuration,
            connectTimeout: upstreamTimeouts.connect, handshakeTimeout: upstreamTimeouts.answer,
            maxFrameSize: 1 << 16, logger: logger
        ) {
            upstreamInbound, upstreamOutbound, _ in
            connected.value.store(true, ordering: .relaxed)
            // Each direction, when it ends, closes the other: the peer then answers the close, which ends
            // the other direction's loop (no task is cancelled mid-write).
            let closeBoth: @Sendable () async -> Void = {
                try? await outbound.close(.policyViolation, reason: Self.keyGone)
                try? await upstreamOutbound.close(.goingAway, reason: nil)
            }
            try await self.watchingKey(identity, closing: closeBoth) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await Self.pump(inbound, to: upstreamOutbound, limit: limit) }
                    group.addTask { try await Self.pump(upstreamInbound, to: outbound, limit: limit) }
                    try await group.waitForAll()
                }
            }
        }
    }

    /// Writes each message of `inbound` to `outbound` until `inbound` ends, then closes `outbound`
    /// (normally, or with 1011 when reading or writing failed).
    static func pump(_ inbound: WebSocketInboundStream, to outbound: WebSocketOutboundWriter, limit: Int) async throws {
        do {
            for try await message in inbound.messages(maxSize: limit) {
                try await outbound.write(message.outboundFrame)
            }
            try? await outbound.close(.normalClosure, reason: nil)
        } catch {
            try? await outbound.close(.unexpectedServerError, reason: nil)
            throw error
        }
    }

    /// The close reason sent when the connection's key no longer resolves.
    static let keyGone = "The access key that signed this connection was deactivated or deleted"

    /// Runs `body` (a connection's relay); every ``webSocketKeyCheck`` meanwhile, resolves the key
    /// that signed the handshake again, and when it is gone (deactivated, deleted) or past its
    /// `notAfter`, calls `closing` (close frames, 1008 to the client), which ends `body` as any close
    /// does; while it is still good, tells the resolver of the use
    /// (``CredentialResolver/noteAccepted(accessKeyID:scope:now:)``, as the verifier does for each
    /// accepted request), so a long-lived connection keeps its key's last use current. A key store that
    /// cannot be read closes nothing.
    func watchingKey(
        _ identity: VerifiedRequest?, closing: @escaping @Sendable () async -> Void,
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        guard let identity, let interval = webSocketKeyCheck, let verifier = authenticator?.verifier,
            let clock = authenticator?.configuration.clock
        else {
            return try await body()
        }
        let context = (
            accessKeyID: identity.accessKeyID, signedAt: identity.signedAt, region: identity.scope.region,
            service: identity.scope.service, presigned: identity.isPresigned, scope: identity.scope)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                while (try? await Task.sleep(for: interval)) != nil {
                    let now = clock()
                    let credential: ResolvedCredential?
                    do {
                        credential = try await verifier.resolver.resolve(
                            accessKeyID: context.accessKeyID,
                            context: ResolutionContext(
                                signedAt: context.signedAt, now: now, region: context.region, service: context.service,
                                isPresigned: context.presigned))
                    } catch {
                        continue
                    }
                    if let credential, credential.scope.notAfter.map({ now <= $0 }) ?? true {
                        // The connection goes on under the key: a use, noted as an accepted request's is (the
                        // key store's last use, which `keys list` shows).
                        verifier.resolver.noteAccepted(accessKeyID: context.accessKeyID, scope: context.scope, now: now)
                        continue
                    }
                    await closing()
                    return false
                }
                return false
            }
            // The relay ends first (then the watch is stopped) or after the watch closed it.
            while let relayEnded = try await group.next() {
                if relayEnded { group.cancelAll() }
            }
        }
    }

    static let subprotocolName = HTTPField.Name("Sec-WebSocket-Protocol")!

    /// The subprotocol the gateway accepts for the client and asks of the upstream: the first the client
    /// offers (`mqtt` for AWS IoT's clients). The 101 is sent before the upstream is reached, so the
    /// upstream cannot choose among several.
    static func subprotocol(of head: HTTPRequest) -> String? {
        let offered = head.headerFields[values: subprotocolName].flatMap { $0.split(separator: ",") }
        return offered.lazy.map { $0.trimmingCharacters(in: .whitespaces) }.first { !$0.isEmpty }
    }

    /// The upstream's WebSocket URL for `head`'s target (presign parameters removed, the bucket of a
    /// virtual host in the path, as for any forwarded request) and the headers of the relay's handshake:
    /// the client's end-to-end headers but its own handshake's, the identity and forwarding headers,
    /// and a signature with the upstream key when there is one.
    func webSocketUpstreamRequest(
        _ head: HTTPRequest, upstream: Upstream, identity: VerifiedRequest?, forwarding: TrustedProxies.Forwarding
    ) throws -> (url: String, headers: HTTPFields) {
        var outbound = upstreamRequest(
            for: head, upstream: upstream, identity: identity, forwarding: forwarding,
            excluding: Self.webSocketHandshakeHeaders)
        if let subprotocol = Self.subprotocol(of: head) {
            outbound.headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol)
        }
        if let upstreamCredentials, let identity {
            try resign(&outbound, credentials: upstreamCredentials, identity: identity, payload: .emptySHA256)
        }
        var headers = HTTPFields()
        for (name, value) in outbound.headers where name.lowercased() != "host" {
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        let url = outbound.url
        let webSocketURL = url.hasPrefix("https://") ? "wss://" + url.dropFirst(8) : "ws://" + url.dropFirst(7)
        return (webSocketURL, headers)
    }
}

extension WebSocketMessage {
    /// The same message, to write on the other connection.
    var outboundFrame: WebSocketOutboundWriter.OutboundFrame {
        switch self {
        case .text(let text): .text(text)
        case .binary(let bytes): .binary(bytes)
        }
    }
}
