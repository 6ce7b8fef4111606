import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdWebSocket
import HummingbirdCore
import HummingbirdSigV4
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import SigV4
import SigV4CommandLine
import SigV4KeyStore
import SigV4Verifier

/// `sigv4 serve`: a verifying gateway in front of a service, or an identity echo without one.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a verifying gateway: check SigV4 signatures, then forward to an upstream or echo the identity.",
        discussion: """
            Every request is verified against the key store (region/service allow-lists, clock skew, replay, \
            the key's own scope). Refused requests get the AWS error code as S3-style XML (or JSON with \
            --error-format json) and never reach the upstream. Accepted requests are forwarded with the \
            Authorization header and presign parameters removed, aws-chunked bodies decoded and verified, \
            and X-SigV4-Access-Key-Id / X-SigV4-Principal added. Without --upstream the gateway answers \
            the verified identity as JSON.

            With --tls-certificate/--tls-key the gateway serves HTTPS and offers HTTP/2 (ALPN h2) beside \
            HTTP/1.1 on the same port (--no-http2: HTTP/1.1 only). Every check holds over both.

            Examples:
              sigv4 serve --keystore keys.db --upstream http://127.0.0.1:9000 \\
                  --region us-east-1 --service s3
              sigv4 serve --listen 127.0.0.1:0 --keystore keys.db   # echo, any port
              sigv4 serve --listen 0.0.0.0:8443 --tls-certificate chain.pem \\
                  --tls-key key.pem --upstream http://127.0.0.1:9000
            """)

    @Option(help: "host:port to listen on (port 0 picks a free one; the chosen address is printed).")
    var listen: String = "127.0.0.1:8080"

    @Option(
        help: """
            Serve HTTPS with this PEM certificate chain (the server's certificate first; with --tls-key). \
            SIGHUP reads both files again (new connections get the new pair; a bad pair is logged and \
            ignored). Default: plain HTTP.
            """)
    var tlsCertificate: String?

    @Option(help: "The PEM private key of --tls-certificate (read at start and on SIGHUP; never printed).")
    var tlsKey: String?

    @Option(
        help: """
            With --tls-certificate: require every client to present a TLS certificate issued by one of the \
            CA certificates in this PEM file (mutual TLS, checked before any request is read; the SigV4 \
            signature is still required). The certificate's subject and SHA-256 fingerprint go upstream as \
            X-SigV4-Client-Cert-Subject and X-SigV4-Client-Cert-SHA256, and into the access log. SIGHUP reads \
            the file again (new handshakes are judged by the new CAs; a file that cannot be used is logged \
            and ignored).
            """)
    var tlsClientCa: String?

    @Flag(
        inversion: .prefixedNo,
        help: """
            With --tls-certificate, offer HTTP/2 (ALPN h2) beside HTTP/1.1 on the same port (default: on; \
            --no-http2 offers HTTP/1.1 only). Needs --tls-certificate: no cleartext HTTP/2.
            """)
    var http2: Bool?

    @Flag(
        help: """
            Accept WebSocket upgrades (a GET with Upgrade: websocket, header-signed or presigned, as AWS IoT, \
            Transcribe and API Gateway WebSocket clients sign them): verified as any request, then relayed \
            message by message to the same target upstream (ws:// or wss://), or echoed without an upstream. \
            Serves HTTP/1.1 only (no h2 with --tls-certificate).
            """)
    var websockets = false

    @Option(
        help: """
            With --websockets: every this many seconds, resolve the key that signed each open WebSocket \
            connection again, and close the connection (1008) once the key is deactivated, deleted or past \
            its not-after time. 0: never.
            """)
    var websocketKeyCheck: Int = 30

    @Option(help: "Key store file (default: $SIGV4_KEYSTORE or ~/.local/share/sigv4/keys.db).")
    var keystore: String?

    @Option(help: "Master key file (default: $SIGV4_KEYSTORE_MASTER_KEY_FILE or <keystore>.masterkey).")
    var masterKeyFile: String?

    @Option(help: "Forward verified requests to this base URL (http[s]://host:port[/prefix]).")
    var upstream: String?

    @Option(
        help: """
            Sign forwarded requests again with this access key id (secret from $SIGV4_UPSTREAM_SECRET_ACCESS_KEY), \
            for upstreams that check signatures themselves (S3, MinIO). Default: forward unsigned.
            """)
    var upstreamAccessKeyID: String?

    @Option(
        help: """
            Seconds to keep trying to open a connection to the upstream (retrying with backoff) before \
            the request is answered 502 BadGateway (connection refused) or 504 GatewayTimeout. The \
            WebSocket relay's connection gets one attempt this long.
            """)
    var upstreamConnectTimeout: Double = 10

    @Option(
        help: """
            Seconds the upstream may stay silent once a request, its body included, has gone to it: \
            before its response head (then 504 GatewayTimeout) and between pieces of its response \
            (then the connection is cut). An upload's own length is not limited. The WebSocket relay's \
            TLS handshake and upgrade answer are held to it too. 0: never.
            """)
    var upstreamTimeout: Double = 300

    @Option(
        help: """
            Most connections open to the upstream at once (one per request in flight). A request that \
            finds them all busy waits up to --upstream-connect-timeout for one, then gets 503 SlowDown. \
            Over HTTP/2 (see --upstream-http2) requests share one connection instead.
            """)
    var upstreamMaxConnections: Int = 1024

    @Flag(
        inversion: .prefixedNo,
        help: """
            Speak HTTP/2 to an https --upstream that offers it by ALPN, its requests sharing one \
            connection up to the upstream's stream limit. --no-upstream-http2 speaks \
            HTTP/1.1 only: a connection per request in flight, bounded by --upstream-max-connections.
            """)
    var upstreamHttp2: Bool = true

    @Option(
        name: .customLong("upstream-ca"),
        help: """
            With an https --upstream: trust the CA certificates in this PEM file (and only them) for the \
            upstream's certificate, for upstreams with a private CA. Default: the system's trusted CAs.
            """)
    var upstreamCA: String?

    @Option(
        name: .customLong("upstream-tls-certificate"),
        help: """
            With an https --upstream that asks for a client certificate: present this PEM certificate \
            chain (the gateway's certificate first), with --upstream-tls-key. SIGHUP reads both files \
            again (new upstream connections present the new pair; a bad pair is logged and ignored).
            """)
    var upstreamTLSCertificate: String?

    @Option(
        name: .customLong("upstream-tls-key"),
        help: "The PEM private key of --upstream-tls-certificate (read at start and on SIGHUP; never printed).")
    var upstreamTLSKey: String?

    @Option(name: .customLong("region"), help: "Allowed region (repeatable; default any).")
    var regions: [String] = []

    @Option(name: .customLong("service"), help: "Allowed service signing name (repeatable; default any).")
    var services: [String] = []

    @Option(
        name: .customLong("virtual-host-domain"),
        help: """
            A domain under which the Host names a bucket (virtual-hosted style: bucket.DOMAIN); such \
            requests go upstream as path style, /bucket/key (repeatable; default: every request path style).
            """)
    var virtualHostDomains: [String] = []

    @Option(
        name: .customLong("event-stream-path"),
        help: """
            A path whose requests are read as signed event streams when they declare no \
            x-amz-content-sha256, whatever their Content-Type, as AWS's Python Transcribe client signs \
            them (repeatable; added to Transcribe's /stream-transcription, /medical-stream-transcription \
            and /call-analytics-stream-transcription).
            """)
    var eventStreamPaths: [String] = []

    @Option(help: "Largest accepted clock skew for header-signed requests, in seconds.")
    var maxSkew: Int = 900

    @Option(help: "Refuse a header-signed request seen before: on or off.")
    var replayProtection: OnOff = .on

    @Option(
        name: .customLong("sigv4a"),
        help: "Accept SigV4a (AWS4-ECDSA-P256-SHA256) requests: on or off (each costs an ECDSA verification).")
    var sigv4a: OnOff = .on

    @Option(help: "Replay cache capacity (entries); when full the gateway refuses with SlowDown (503).")
    var replayCapacity: Int = 1_000_000

    @Flag(help: "Put the canonical request and string to sign in SignatureDoesNotMatch errors (for operators).")
    var diagnostics = false

    @Option(
        help: """
            Error body format: auto (the default: CBOR for Smithy RPC v2 CBOR requests, which send \
            smithy-protocol: rpc-v2-cbor; JSON for JSON-protocol requests, such as a Content-Type \
            of application/json or application/vnd.amazon.eventstream, an X-Amz-Target, or a service other \
            than S3 and the XML services; the query protocol's XML for STS, IAM, EC2 and the other query \
            services; S3-style XML otherwise), xml, json, query or cbor.
            """)
    var errorFormat: ErrorFormatOption = .auto

    @Option(help: "Largest request body in bytes (decoded); larger bodies get EntityTooLarge (413).")
    var maxBodySize: Int = 5 << 30

    @Option(
        help: """
            Bodies up to this many bytes are read and verified whole before anything is sent upstream \
            (larger ones stream and are aborted upstream if their check fails at the end).
            """)
    var maxBufferedBody: Int = 16 << 20

    @Option(
        help: """
            After an answer sent before its request's body was read (a refusal), read and discard at most \
            this many bytes of the body to keep the connection; past that (or when more is declared), \
            close the connection (HTTP/1.1).
            """)
    var maxUnreadBody: Int = UnreadBodyLimit.defaultLimit

    @Option(
        help: """
            Directory for browser-form files larger than --max-buffered-body while they are checked, \
            before they go upstream (created 0600 and unlinked at once; default: $TMPDIR or /tmp).
            """)
    var spoolDirectory: String?

    @Option(
        help: """
            Close a connection after this many seconds without a byte of a request in progress (a head \
            not finished, a body stalled) or between requests; a response being prepared is never cut. \
            0: never.
            """)
    var idleTimeout: Double = 60

    @Option(
        help: """
            Close a connection (an HTTP/2 stream: that stream) whose answer has stopped leaving: a write \
            waited this many seconds and none left meanwhile (its client stopped reading, or never opened \
            an HTTP/2 stream's window). 0: never.
            """)
    var sendTimeout: Double = 60

    @Option(
        name: .customLong("trusted-proxy"),
        help: """
            A proxy in front of the gateway (an address or CIDR range, repeatable): from it, the \
            X-Forwarded-For chain and X-Forwarded-Proto are kept (the peer appended) instead of dropped.
            """)
    var trustedProxies: [String] = []

    @Option(
        help: """
            Answer GET and HEAD of this path (query ignored) with 200 {"status":"ok"} without \
            authentication, for load balancers and probes. Never forwarded, not in the access log. \
            Default: none (every path needs a signature).
            """)
    var healthPath: String?

    @Option(
        help: """
            After SIGTERM or SIGINT, give the requests in flight this many seconds to finish, then cut them \
            (the key store's last-use data is still written before exit). 0: wait for every one.
            """)
    var shutdownTimeout: Double = 0

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(name: .customLong("dev-no-auth"), help: .hidden)
    var devNoAuth = false

    enum OnOff: String, ExpressibleByArgument { case on, off }
    enum ErrorFormatOption: String, ExpressibleByArgument {
        case auto, xml, json, query, cbor

        var format: SigV4ErrorFormat {
            switch self {
            case .auto: return .automatic
            case .xml: return .s3XML
            case .json: return .json
            case .query: return .queryXML
            case .cbor: return .rpcV2CBOR
            }
        }
    }

    func validate() throws {
        guard (try? Self.parseListen(listen)) != nil else {
            throw ValidationError("--listen must be host:port, for example 127.0.0.1:8080")
        }
        if let upstream {
            // A value that is not an upstream URL is a usage error (exit 2), as every other flag's.
            let parsed: Gateway.Upstream
            do { parsed = try Gateway.Upstream(upstream) } catch { throw ValidationError("\(error)") }
            // swift-websocket's client sends the URL's host as TLS SNI, which NIOSSL refuses for an address.
            if websockets, parsed.scheme == "https", parsed.hostIsIPAddress {
                throw ValidationError(
                    """
                    --websockets with an https --upstream needs the upstream named by a host name, not an IP \
                    address: the relay's wss:// connection sends the name in TLS (SNI) and checks the certificate \
                    against it
                    """)
            }
        }
        _ = try upstreamTLSConfiguration()
        if upstreamAccessKeyID != nil {
            guard upstream != nil else { throw ValidationError("--upstream-access-key-id needs --upstream") }
            guard let secret = ProcessInfo.processInfo.environment["SIGV4_UPSTREAM_SECRET_ACCESS_KEY"], !secret.isEmpty
            else { throw ValidationError("--upstream-access-key-id needs $SIGV4_UPSTREAM_SECRET_ACCESS_KEY") }
        }
        do {
            _ = try VirtualHostedStyle(domains: virtualHostDomains)
        } catch {
            throw ValidationError("--virtual-host-domain: \(error)")
        }
        for path in eventStreamPaths where !path.hasPrefix("/") || path.contains("?") {
            throw ValidationError("--event-stream-path \(path): a path, starting with / and without a query")
        }
        guard maxSkew >= 0, maxSkew <= VerificationPolicy.maxClockSkewLimit else {
            throw ValidationError("--max-skew must be 0 to \(VerificationPolicy.maxClockSkewLimit) seconds")
        }
        guard maxBodySize >= 0 else { throw ValidationError("--max-body-size must be 0 or more") }
        guard maxBufferedBody >= 0 else { throw ValidationError("--max-buffered-body must be 0 or more") }
        guard maxUnreadBody >= 0 else { throw ValidationError("--max-unread-body must be 0 or more") }
        if let spoolDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: spoolDirectory, isDirectory: &isDirectory), isDirectory.boolValue
            else { throw ValidationError("--spool-directory \(spoolDirectory) is not a directory") }
        }
        guard replayCapacity > 0 else { throw ValidationError("--replay-capacity must be positive") }
        guard idleTimeout >= 0, idleTimeout <= 86_400 else {
            throw ValidationError("--idle-timeout must be 0 (never) to 86400 seconds")
        }
        guard sendTimeout >= 0, sendTimeout <= 86_400 else {
            throw ValidationError("--send-timeout must be 0 (never) to 86400 seconds")
        }
        guard upstreamConnectTimeout > 0, upstreamConnectTimeout <= 3_600 else {
            throw ValidationError("--upstream-connect-timeout must be more than 0 and at most 3600 seconds")
        }
        guard upstreamTimeout >= 0, upstreamTimeout <= 86_400 else {
            throw ValidationError("--upstream-timeout must be 0 (never) to 86400 seconds")
        }
        if let healthPath,
            !healthPath.hasPrefix("/") || healthPath.contains("?") || healthPath.contains("#")
                || healthPath.utf8.count > 256 || healthPath.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7f })
        {
            throw ValidationError("--health-path must be a path: starting with /, without a query, at most 256 bytes")
        }
        guard shutdownTimeout >= 0, shutdownTimeout <= 86_400 else {
            throw ValidationError("--shutdown-timeout must be 0 (wait for every request) to 86400 seconds")
        }
        guard upstreamMaxConnections >= 1, upstreamMaxConnections <= 65_536 else {
            throw ValidationError("--upstream-max-connections must be 1 to 65536")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        do {
            _ = try TrustedProxies(trustedProxies)
        } catch {
            throw ValidationError(error.message)
        }
        _ = try tlsConfiguration()
        if http2 == true, tlsCertificate == nil {
            throw ValidationError("--http2 needs --tls-certificate and --tls-key (HTTP/2 is offered by ALPN, over TLS only)")
        }
        guard websocketKeyCheck >= 0 else { throw ValidationError("--websocket-key-check must be 0 or more") }
        if http2 == true, websockets {
            throw ValidationError("--websockets serves HTTP/1.1 only: it cannot be used with --http2")
        }
    }

    /// True when the server offers HTTP/2: with TLS, unless `--no-http2` or `--websockets`.
    var servesHTTP2: Bool { tlsCertificate != nil && http2 != false && !websockets }

    /// `--idle-timeout` for the server's channels; nil for 0 (never).
    var idleTimeAmount: TimeAmount? { Self.timeAmount(idleTimeout) }

    /// `--send-timeout` for ``SendTimeout`` (zero: never).
    var sendTimeAmount: TimeAmount { Self.timeAmount(sendTimeout) ?? .zero }

    /// Raises the soft limit on open files to the hard one, as Go's runtime does at start: a forwarded
    /// request holds two descriptors (its client's connection and the upstream's), and the usual soft
    /// limit, 1024, would refuse connections long before `--upstream-max-connections`. A failure
    /// changes nothing (the gateway runs with the limit it was given).
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// The TLS configuration for an https upstream with `--upstream-ca` (its certificates the only
    /// trust roots, read again on `SIGHUP`; hostnames still verified) and
    /// `--upstream-tls-certificate`/`--upstream-tls-key` (a client certificate for an upstream that
    /// asks for one, read again on `SIGHUP` too); nil without them (AsyncHTTPClient's default: the
    /// system's roots, no client certificate). A `ValidationError` for these flags without an https
    /// `--upstream`, a certificate without its key (or the reverse), or files that cannot be read,
    /// hold no PEM certificate, or a key that does not go with the certificate.
    func upstreamTLSConfiguration() throws -> UpstreamTLS? {
        let flag =
            upstreamCA != nil
            ? "--upstream-ca" : upstreamTLSCertificate != nil ? "--upstream-tls-certificate"
            : upstreamTLSKey != nil ? "--upstream-tls-key" : nil
        guard let flag else { return nil }
        guard let upstream, (try? Gateway.Upstream(upstream))?.scheme == "https" else {
            throw ValidationError("\(flag) needs an https --upstream")
        }
        var clientCertificate: TLSCertificateReloader?
        switch (upstreamTLSCertificate, upstreamTLSKey) {
        case (nil, nil): break
        case (.some, nil): throw ValidationError("--upstream-tls-certificate needs --upstream-tls-key")
        case (nil, .some): throw ValidationError("--upstream-tls-key needs --upstream-tls-certificate")
        case (let certificatePath?, let keyPath?):
            // Presented through the reloader's callback alone (which a client runs when the upstream
            // asks for a certificate): the pair in force after each SIGHUP, and no key in the
            // configuration that AsyncHTTPClient hashes to pool connections.
            clientCertificate = try TLSCertificateReloader(
                certificatePath: certificatePath, keyPath: keyPath, flags: TLSCertificateReloader.upstreamFlags,
                logName: "upstream client certificate")
        }
        return try UpstreamTLS(caPath: upstreamCA, clientCertificate: clientCertificate)
    }

    /// `seconds` as a `TimeAmount`; nil for 0 (never).
    static func timeAmount(_ seconds: Double) -> TimeAmount? { seconds > 0 ? .nanoseconds(Int64(seconds * 1e9)) : nil }

    /// The server's TLS configuration from `--tls-certificate` and `--tls-key` (TLS 1.2 or later;
    /// ALPN `h2` and `http/1.1`, or `http/1.1` alone with `--no-http2`); nil without them. A
    /// `ValidationError` names the file that cannot be read, never the key's bytes.
    func tlsConfiguration() throws -> TLSConfiguration? { try tlsSetup()?.configuration }

    /// ``tlsConfiguration()`` and the reloader that keeps its certificate and key (read again on
    /// `SIGHUP`; every handshake asks it for the pair in force).
    func tlsSetup() throws -> (configuration: TLSConfiguration, reloader: TLSCertificateReloader)? {
        switch (tlsCertificate, tlsKey) {
        case (nil, nil):
            if tlsClientCa != nil { throw ValidationError("--tls-client-ca needs --tls-certificate and --tls-key") }
            return nil
        case (.some, nil): throw ValidationError("--tls-certificate needs --tls-key")
        case (nil, .some): throw ValidationError("--tls-key needs --tls-certificate")
        case (let certificatePath?, let keyPath?):
            // With --tls-client-ca: the CAs libcrypto judges client chains by (read again on SIGHUP).
            let authorities = try tlsClientCa.map { path throws(ValidationError) in try ClientCertificateAuthorities(path: path) }
            let reloader = try TLSCertificateReloader(
                certificatePath: certificatePath, keyPath: keyPath, clientAuthorities: authorities)
            let pair = reloader.pair
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
            configuration.minimumTLSVersion = .tlsv12
            configuration.applicationProtocols = servesHTTP2 ? ["h2", "http/1.1"] : ["http/1.1"]
            configuration.sslContextCallback = reloader.contextCallback
            if tlsClientCa != nil {
                // Mutual TLS: a server that verifies peers asks for a client certificate and refuses the
                // handshake without one. Whether it chains to a CA in force is judged by the channel's
                // verification callback (``tlsChannelConfiguration(_:)``), from the file read once above
                // (and again on SIGHUP). The context's own roots stay empty: nil would load the system's,
                // which nothing here trusts. No CA names are sent in the certificate request
                // (`sendCANameList` stays false), so none can go stale on SIGHUP.
                configuration.trustRoots = .certificates([])
                configuration.certificateVerification = .noHostnameVerification
            }
            return (configuration, reloader)
        }
    }

    /// The TLS channel's configuration: `configuration`, and with `--tls-client-ca` the callback that
    /// judges each client chain by the CAs in force (``ClientCertificateAuthorities``).
    static func tlsChannelConfiguration(_ setup: (configuration: TLSConfiguration, reloader: TLSCertificateReloader))
        -> TLSChannelConfiguration
    {
        TLSChannelConfiguration(
            tlsConfiguration: setup.configuration,
            customVerificationCallback: setup.reloader.clientAuthorities?.verificationCallback)
    }

    static func parseListen(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw GatewayError("bad --listen") }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = GatewayLogHandler(StreamLogHandler.standardOutput(label: label))
            handler.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            return handler
        }
        Self.raiseOpenFileLimit()
        let environment = ProcessInfo.processInfo.environment
        let storePath = keystore ?? KeyStoreLocation.defaultStorePath(environment: environment)
        let store: KeyStore
        do {
            store = try KeyStoreLocation.open(path: storePath, keyFile: masterKeyFile, environment: environment)
        } catch {
            throw GatewayError("cannot open the key store at \(storePath): \(error)")
        }
        var policy = VerificationPolicy.default
        policy.allowedRegions = Set(regions)
        policy.allowedServices = Set(services)
        policy.maxClockSkew = Int64(maxSkew)
        policy.includeDiagnostics = diagnostics
        policy.allowSigV4a = sigv4a == .on
        if !virtualHostDomains.isEmpty { policy.virtualHostedStyle = try VirtualHostedStyle(domains: virtualHostDomains) }
        policy.eventStreamPaths.formUnion(eventStreamPaths)
        let verifier = Verifier(
            resolver: store, policy: policy,
            replayGuard: replayProtection == .on ? InMemoryReplayGuard(capacity: replayCapacity) : nil)
        let authenticator = SigV4Authenticator<GatewayRequestContext>(
            verifier: verifier,
            // HTTP/1.1 only: a request without Content-Length or Transfer-Encoding has no body, so it
            // is not watched for one. With HTTP/2 such a request may carry DATA frames: every body is
            // watched (HTTP2RequestFramingHandler also marks it chunked, so the gateway forwards it).
            configuration: .init(
                errorFormat: errorFormat.format, maxBodySize: maxBodySize,
                maxBufferedBodySize: maxBufferedBody, transport: servesHTTP2 ? .any : .http1,
                browserForms: BrowserFormUpload.Limits(maxFileBytes: maxBodySize), browserFormFiles: .streamed))
        let (host, port) = try Self.parseListen(listen)
        let upstreamURL = try upstream.map { try Gateway.Upstream($0) }
        var logger = Logger(label: "sigv4.gateway")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        if devNoAuth {
            logger.warning("authentication is DISABLED (--dev-no-auth): for benchmarks only")
        }
        // A gateway passes the upstream's redirects and encodings through untouched.
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.decompression = .disabled
        // No deadline for a whole exchange (an upload takes as long as its client sends): the upstream
        // is timed while it owes an answer. (No write timeout: the gateway writes at its client's
        // pace, and a client that stalls is --idle-timeout's.)
        clientConfiguration.timeout = HTTPClient.Configuration.Timeout(
            connect: Self.timeAmount(upstreamConnectTimeout), read: Self.timeAmount(upstreamTimeout))
        // A request holds its connection until its response has streamed back: the limit is the
        // number of exchanges in flight (the client library's default, 8, made a ninth slow
        // upload wait and then fail).
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = upstreamMaxConnections
        // AsyncHTTPClient's `.automatic` takes h2 when an https upstream offers it by ALPN.
        clientConfiguration.httpVersion = upstreamHttp2 ? .automatic : .http1Only
        let upstreamTLS = try upstreamTLSConfiguration()
        if let upstreamTLS { clientConfiguration.tlsConfiguration = upstreamTLS.configuration }
        let httpClient =
            upstreamURL == nil ? nil : HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
        let tlsSetup = try tlsSetup()
        let tls = tlsSetup?.configuration
        TLSCertificateReloader.reloadOnHangUp(
            ([tlsSetup?.reloader, upstreamTLS] as [(any HangUpReloadable)?]).compactMap { $0 }, logger: logger)
        let gateway = Gateway(
            upstream: upstreamURL, authenticator: devNoAuth ? nil : authenticator,
            accessLog: Logger(label: "sigv4.access"), httpClient: httpClient, upstreamTLS: upstreamTLS,
            upstreamCredentials: upstreamAccessKeyID.map {
                Credentials(
                    accessKeyID: $0, secretAccessKey: environment["SIGV4_UPSTREAM_SECRET_ACCESS_KEY"] ?? "")
            }, maxBufferedBody: maxBufferedBody, spoolDirectory: spoolDirectory ?? NSTemporaryDirectory(),
            webSocketKeyCheck: websocketKeyCheck > 0 ? .seconds(websocketKeyCheck) : nil,
            upstreamTimeouts: (
                Self.timeAmount(upstreamConnectTimeout) ?? .seconds(10), Self.timeAmount(upstreamTimeout)),
            trustedProxies: try TrustedProxies(trustedProxies),
            scheme: tls == nil ? "http" : "https",
            clientCertificates: tlsClientCa == nil ? nil : ConnectionCertificates(logger: logger),
            health: healthPath.map { Gateway.Health(path: $0) })
        let serverLogger = logger
        let mode = upstream.map { "forwarding to \($0)" } ?? "echo mode (no upstream)"
        let http1Configuration = HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ExpectContinueHandler(sending: .whenBodyIsRead), UnreadBodyLimit(limit: maxUnreadBody),
                SendTimeout(sendTimeAmount),
            ], idleTimeout: idleTimeAmount)
        let http1: HTTPServerBuilder
        if websockets {
            // A refused handshake is answered as the same request refused as a plain one.
            http1 = await gateway.webSocketServer(http1: http1Configuration, maxFrameSize: 1 << 16)
        } else {
            http1 = .http1(configuration: http1Configuration)
        }
        let scheme = tls == nil ? "http" : "https"
        let server: HTTPServerBuilder
        if let tlsSetup, servesHTTP2 {
            server = Self.http2Server(
                tls: tlsSetup.configuration, verifyClient: tlsSetup.reloader.clientAuthorities?.verificationCallback,
                idleTimeout: idleTimeAmount, unreadBodyLimit: maxUnreadBody, sendTimeout: sendTimeAmount)
        } else {
            server = try tlsSetup.map { try .tls(http1, configuration: Self.tlsChannelConfiguration($0)) } ?? http1
        }
        let app = Application(
            responder: gateway.responder(),
            server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                serverLogger.notice(
                    "listening", metadata: ["address": "\(host):\(bound)", "mode": "\(mode)", "keystore": "\(storePath)"])
                let protocols = (tls == nil ? "" : servesHTTP2 ? ", h2 and http/1.1" : ", http/1.1")
                    + (websockets ? ", WebSocket upgrades" : "")
                FileHandle.standardOutput.write(
                    Data("sigv4 serve: listening on \(scheme)://\(host):\(bound) (\(mode)\(protocols))\n".utf8))
            },
            logger: logger)
        // Hummingbird's `runService()`, with --shutdown-timeout: past it, graceful shutdown becomes
        // cancellation of what is still running.
        var group = ServiceGroupConfiguration(
            services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        if shutdownTimeout > 0 { group.maximumGracefulShutdownDuration = .nanoseconds(Int64(shutdownTimeout * 1e9)) }
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            try? await httpClient?.shutdown()
            throw error
        }
        try? await httpClient?.shutdown()
        try? store.flushLastUsed()
        logger.notice("stopped")
    }
}
