import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSigV4
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SigV4
import SigV4AsyncHTTPClient
import SigV4CommandLine
import SigV4Verifier

/// The verifying gateway behind `sigv4 serve` and `sigv4 demo`: verify, then forward or echo.
struct Gateway: Sendable {
    /// Where verified requests go; nil answers the verified identity as JSON (echo mode).
    var upstream: Upstream?
    /// The middleware; nil only with the hidden `--dev-no-auth` flag (for the overhead benchmark).
    var authenticator: SigV4Authenticator<GatewayRequestContext>?
    var accessLog: Logger
    /// The upstream's client. Its own timeouts are the only ones (`--upstream-connect-timeout`,
    /// `--upstream-timeout`): an exchange has no deadline (``upstreamDeadline``).
    var httpClient: HTTPClient?
    /// The TLS configuration toward an https upstream (`--upstream-ca`, `--upstream-tls-certificate`),
    /// read again on `SIGHUP`: the HTTP client's (carried by each forwarded request once the CAs were
    /// read again), and the WebSocket relay's for each `wss://` connection. nil: the system's CAs, no
    /// client certificate.
    var upstreamTLS: UpstreamTLS? = nil
    /// When set, forwarded requests are signed again with these credentials (for upstreams that check
    /// signatures themselves, such as S3 or MinIO), in the scope the client signed for.
    var upstreamCredentials: Credentials?
    /// Bodies whose check completes only at their end (a signed hash, aws-chunked) and that are at most
    /// this long are read whole before the upstream is contacted, so a refused body never reaches it.
    var maxBufferedBody: Int = 16 << 20
    /// Where a browser form's file larger than ``maxBufferedBody`` is held (unlinked) before it goes upstream.
    var spoolDirectory: String = NSTemporaryDirectory()
    /// How often an open WebSocket connection's key is resolved again (`--websocket-key-check`); nil: never.
    var webSocketKeyCheck: Duration? = .seconds(30)
    /// The gateway's limits toward the upstream (forwarded requests have them in the HTTP client's
    /// configuration too): its TCP connect (`--upstream-connect-timeout`), and its answer
    /// (`--upstream-timeout`; nil: never), which bounds the WebSocket relay's TLS handshake with the
    /// upgrade's answer and how long the upstream may leave a streamed request body untaken before the
    /// exchange is cut and answered 504 (``UploadStall``).
    var upstreamTimeouts: (connect: TimeAmount, answer: TimeAmount?) = (.seconds(10), .seconds(300))
    /// Proxies whose `X-Forwarded-For` chain and `X-Forwarded-Proto` are kept (`--trusted-proxy`);
    /// by default none, and the gateway speaks only for its connection's peer.
    var trustedProxies = TrustedProxies.none
    /// `https` when the gateway itself listens with TLS (`--tls-certificate`): the
    /// `X-Forwarded-Proto` it sends for a client it speaks for.
    var scheme = "http"
    /// With `--tls-client-ca`: each request's client certificate is read from its connection (once
    /// per connection, ``ConnectionCertificates``) and named to the upstream (``ClientCertificate``),
    /// in the echo answer and in the access log.
    var clientCertificates: ConnectionCertificates? = nil
    /// `--health-path`: the path answered without authentication, and what it checks.
    var health: Health? = nil

    /// An upstream base URL split into the parts we need; its path prefix is prepended to every target.
    struct Upstream: Sendable {
        var scheme: String
        var authority: String
        var pathPrefix: String

        init(_ url: String) throws {
            guard let schemeEnd = url.range(of: "://") else { throw GatewayError("--upstream must be http://host:port[/prefix]") }
            let scheme = url[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" || scheme == "https" else { throw GatewayError("--upstream must use http or https") }
            let rest = url[schemeEnd.upperBound...]
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            guard slash != rest.startIndex else { throw GatewayError("--upstream has no host") }
            self.scheme = scheme
            self.authority = String(rest[..<slash])
            var prefix = String(rest[slash...])
            while prefix.hasSuffix("/") { prefix.removeLast() }
            self.pathPrefix = prefix
            // The target is appended to the prefix: after a `?` or `#` it would be the upstream's query
            // or fragment (`http://h/tenant?x=1` sent every request to `/tenant`, its path in the query),
            // and user info is not sent. Until 2026-12-06 such URLs were taken at start.
            guard !authority.contains(where: { "?#@".contains($0) }) else {
                throw GatewayError(
                    "--upstream must be http[s]://host[:port][/prefix], without user info, a query or a fragment")
            }
            guard !prefix.contains(where: { "?#".contains($0) }), Gateway.wireTarget(prefix) == prefix else {
                throw GatewayError(
                    "--upstream's path prefix must be a plain path: no query, fragment, space or byte to encode")
            }
        }

        func url(forTarget target: String) -> String { "\(scheme)://\(authority)\(pathPrefix)\(target)" }

        /// True when AsyncHTTPClient sends `url` (one of ``url(forTarget:)``) with the target written in
        /// it, byte for byte. It sends the path its URL parser reads, and Foundation reads a path whose
        /// percent-escapes do not decode to UTF-8 (`/public/%ff`) as empty, which AsyncHTTPClient sends
        /// as `/`: a request verified (and scoped) for `/public/%ff` would reach `/`.
        func sendsAsWritten(_ url: String) -> Bool {
            RequestTarget.asyncHTTPClientWireTarget(url)?.utf8.elementsEqual(
                url.utf8.dropFirst(scheme.utf8.count + 3 + authority.utf8.count)) ?? false
        }

        /// True when the host is an IP address (`10.0.0.5`, `[::1]`) rather than a name.
        var hostIsIPAddress: Bool {
            if authority.hasPrefix("[") { return true }
            let host = String(authority.prefix { $0 != ":" })
            var address = in_addr()
            return inet_pton(AF_INET, host, &address) == 1
        }

        /// True when `target` cannot be forwarded under this upstream: with a path prefix, a target
        /// whose path has a `.` or `..` segment (``hasDotSegment(_:)``) would leave the prefix at an
        /// upstream (or an HTTP client) that resolves dot segments, so `/../other` under
        /// `http://h/tenant` would reach `/other`. Without a prefix every target goes as it came
        /// (S3 keys may hold such segments; the upstream sees what the client signed).
        func refuses(_ target: String) -> Bool { !pathPrefix.isEmpty && Gateway.hasDotSegment(target) }
    }

    /// True when the path of `target` (up to `?`) has a segment that is `.` or `..`, with `%2E`/`%2e`
    /// read as `.`, and `%2F`/`%2f`, `\` and `%5C`/`%5c` read as separators (servers that decode them
    /// once, or take a backslash for a slash, would see those segments), and a segment read up to
    /// its first `;` or `%3B` (`..;jsessionid=1`: Tomcat and servlet containers strip path
    /// parameters before resolving dot segments; until 2026-12-03 `/..;/other` left the prefix).
    static func hasDotSegment(_ target: String) -> Bool {
        var dots = 0  // dots in the current segment; -1 once it holds anything else
        var bytes = target.utf8[...]
        func endSegment() -> Bool {
            defer { dots = 0 }
            return dots == 1 || dots == 2
        }
        while let b = bytes.first {
            bytes = bytes.dropFirst()
            var byte = b
            if b == UInt8(ascii: "%"), bytes.count >= 2 {
                let pair = (bytes[bytes.startIndex] | 0x20, bytes[bytes.index(after: bytes.startIndex)] | 0x20)
                switch pair {
                case (UInt8(ascii: "2"), UInt8(ascii: "e")): byte = UInt8(ascii: ".")
                case (UInt8(ascii: "2"), UInt8(ascii: "f")): byte = UInt8(ascii: "/")
                case (UInt8(ascii: "5"), UInt8(ascii: "c")): byte = UInt8(ascii: "\\")
                case (UInt8(ascii: "3"), UInt8(ascii: "b")): byte = UInt8(ascii: ";")
                default: break
                }
                if byte != b { bytes = bytes.dropFirst(2) }
            }
            switch byte {
            case UInt8(ascii: "?"): return endSegment()
            case UInt8(ascii: "/"), UInt8(ascii: "\\"): if endSegment() { return true }
            case UInt8(ascii: "."): if dots >= 0 { dots += 1 }
            case UInt8(ascii: ";"): if dots == 1 || dots == 2 { return true } else { dots = -1 }
            default: dots = -1
            }
        }
        return endSegment()
    }

    /// Headers never forwarded: hop-by-hop, the credentials and `host`. Besides these, every header named
    /// in a `Connection` field (hop-by-hop too, RFC 9110 section 7.6.1) and every header of the gateway's
    /// own `x-sigv4-` namespace in any spelling (``isIdentityHeader(_:)``) are dropped.
    static let droppedRequestHeaders: Set<String> = [
        "authorization", "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "expect",
    ]

    /// True for a name in the gateway's `x-sigv4-` namespace, `_` read as `-` (any case): the identity
    /// headers are set by the gateway only. Many servers and frameworks (CGI's `HTTP_*` variables,
    /// WSGI, PHP, Rack) map `X-SigV4_Principal` and `X-SigV4-Principal` to the same variable, so a
    /// client's `X_SigV4_Principal` could stand beside or in for the gateway's `X-SigV4-Principal`.
    static func isIdentityHeader(_ canonicalName: String) -> Bool {
        let prefix = "x-sigv4-".utf8
        var name = canonicalName.utf8.makeIterator()
        for expected in prefix {
            guard let b = name.next() else { return false }
            if b != expected && !(b == UInt8(ascii: "_") && expected == UInt8(ascii: "-")) { return false }
        }
        return true
    }

    /// Headers by which a client would speak for the gateway or redirect the upstream: where the
    /// request came from (`Forwarded`, `X-Forwarded-*`, `X-Real-IP`, ...), which the gateway has not
    /// checked and an upstream reads as its proxy's word (for an IP condition, a log, a scheme or
    /// host it builds URLs from), and another method or path than the one verified
    /// (`X-HTTP-Method-Override`, `X-Original-URL`, ...), which frameworks behind a proxy honour
    /// and which would take a key past its methods or path prefixes. Dropped whether signed or
    /// not, in any spelling, `_` read as `-` (``isClientAssertion(_:)``).
    ///
    /// The address headers are those client-IP libraries read beside `X-Forwarded-For`: python-ipware
    /// (django-ipware's engine) reads `X-Forwarded`, `Forwarded-For`, `CF-Connecting-IP` and
    /// `Fastly-Client-IP` among others and returns the first *public* address it finds, so when the
    /// gateway's peer is a private address (a client in the same network, a load balancer not named
    /// with `--trusted-proxy`) it skips the gateway's `X-Forwarded-For` and takes the client's word.
    /// Node's request-ip reads `DO-Connecting-IP`, `X-AppEngine-User-IP` and `CF-Pseudo-IPv4` too;
    /// ingress-nginx moves a client's chain to `X-Original-Forwarded-For`; Envoy sets
    /// `X-Envoy-External-Address` to the client's address for the services behind it to read. Until
    /// 2026-12-06 these were forwarded.
    static let clientAssertions: Set<String> = [
        "forwarded", "x-real-ip", "x-client-ip", "true-client-ip", "x-cluster-client-ip", "client-ip",
        "x-forwarded", "forwarded-for", "cf-connecting-ip", "cf-connecting-ipv6", "cf-pseudo-ipv4",
        "fastly-client-ip", "do-connecting-ip", "x-appengine-user-ip", "x-original-forwarded-for",
        "x-envoy-external-address",
        "x-http-method-override", "x-http-method", "x-method-override", "x-original-method", "x-original-url",
        "x-rewrite-url", "x-original-uri", "x-override-url",
    ]

    /// The gateway's own word on where a forwarded request came from, in place of the client's
    /// (dropped, ``isClientAssertion(_:)``): `X-Forwarded-For` with the connection peer's address
    /// (when the channel has one) and `X-Forwarded-Proto` (`https` with `--tls-certificate`, else `http`).
    /// One value each, as AWS's load balancers send them: the gateway does not extend a client's list,
    /// since nothing vouches for it, unless the peer is a trusted proxy (``TrustedProxies``), whose
    /// chain and scheme are kept.
    static func addForwardingHeaders(_ headers: inout HTTPHeaders, _ forwarding: TrustedProxies.Forwarding) {
        if let value = forwarding.forwardedFor { headers.add(name: "X-Forwarded-For", value: value) }
        headers.add(name: "X-Forwarded-Proto", value: forwarding.proto)
        // A mutual-TLS client's certificate (`--tls-client-ca`); the client's own `x-sigv4-` fields
        // never get this far (``isIdentityHeader(_:)``).
        if let certificate = forwarding.clientCertificate {
            if let subject = certificate.subject { headers.add(name: ClientCertificate.subjectHeader, value: subject) }
            headers.add(name: ClientCertificate.sha256Header, value: certificate.sha256)
        }
    }

    /// What the gateway says of `request`, which came on `channel`: ``forwarding(_:peer:scheme:trusting:)``
    /// for the connection's peer, and with `--tls-client-ca` the client's certificate
    /// (``ConnectionCertificates/certificate(of:)``).
    func origin(of request: Request, channel: any Channel) async -> TrustedProxies.Forwarding {
        var forwarding = Self.forwarding(
            request, peer: channel.remoteAddress?.ipAddress, scheme: scheme, trusting: trustedProxies)
        if let clientCertificates { forwarding.clientCertificate = await clientCertificates.certificate(of: channel) }
        return forwarding
    }

    /// What the gateway says of `request`'s origin (``TrustedProxies/forwarding(peer:forwardedFor:forwardedProto:)``):
    /// the request's `X-Forwarded-For` and `X-Forwarded-Proto` fields are read only when `peer` is trusted.
    static func forwarding(_ request: Request, peer: String?, scheme: String, trusting trusted: TrustedProxies)
        -> TrustedProxies.Forwarding
    {
        guard let peer, trusted.trusts(peer) else {
            return trusted.forwarding(peer: peer, forwardedFor: [], forwardedProto: [], scheme: scheme)
        }
        return trusted.forwarding(
            peer: peer, forwardedFor: request.headers[values: forwardedForName],
            forwardedProto: request.headers[values: forwardedProtoName], forwarded: request.headers[values: forwardedName],
            scheme: scheme)
    }

    static let forwardedName = HTTPField.Name("Forwarded")!
    static let forwardedForName = HTTPField.Name("X-Forwarded-For")!
    static let forwardedProtoName = HTTPField.Name("X-Forwarded-Proto")!

    /// True for a name of ``clientAssertions`` or any `x-forwarded-` name (lowercase `canonicalName`;
    /// `_` read as `-`, as CGI-style servers map both to one variable).
    static func isClientAssertion(_ canonicalName: String) -> Bool {
        guard let first = canonicalName.utf8.first,
            first == UInt8(ascii: "x") || first == UInt8(ascii: "f") || first == UInt8(ascii: "t")
                || first == UInt8(ascii: "c") || first == UInt8(ascii: "d")
        else { return false }
        let name =
            canonicalName.utf8.contains(UInt8(ascii: "_"))
            ? String(decoding: canonicalName.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: "-") : $0 }, as: UTF8.self)
            : canonicalName
        return name.hasPrefix("x-forwarded-") || clientAssertions.contains(name)
    }

    /// The first header that a `Connection` field of `fields` names and that `signedHeaders` (lowercase)
    /// covers, when the gateway would otherwise forward it; nil when there is none. A proxy removes
    /// every header its `Connection` fields name (RFC 9110, section 7.6.1), so a client (or anyone
    /// holding a signed request: the field itself is not signed) could have the gateway drop a signed
    /// `If-None-Match`, `x-amz-object-lock-*` or `x-amz-server-side-encryption` and forward less than
    /// was signed. Hop-by-hop headers (`TE`, `Keep-Alive`, ...) are dropped anyway and may be named.
    static func signedConnectionOption(_ fields: HTTPFields, signedHeaders: [String]) -> String? {
        let options = connectionOptions(fields)
        return signedHeaders.first { options.contains($0) && !droppedRequestHeaders.contains($0) }
    }

    /// The refusal of a request whose `Connection` field names the signed header `name`.
    static func signedConnectionOptionRefusal(_ name: String) -> VerificationFailure {
        VerificationFailure(
            .invalidRequest, "A header named in the Connection header is signed: it cannot be removed as hop-by-hop",
            details: [.init("Header", name)])
    }

    /// The header names listed in `fields`' `Connection` fields, lowercased: hop-by-hop headers of the
    /// client's connection, which a proxy removes before forwarding (RFC 9110, section 7.6.1).
    static func connectionOptions(_ fields: HTTPFields) -> Set<String> {
        connectionOptions(values: fields[values: .connection])
    }

    /// The header names listed in `values`, the values of `Connection` fields, lowercased.
    static func connectionOptions(values: some Sequence<String>) -> Set<String> {
        var options: Set<String> = []
        for value in values {
            for name in FieldList.members(value) { options.insert(asciiLowercased(name)) }
        }
        return options
    }

    /// `bytes` as text with `A`-`Z` lowercased, and nothing else changed.
    static func asciiLowercased(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The request's headers that go to the upstream, in order, with their names as received: all but
    /// ``droppedRequestHeaders``, those a `Connection` field names, the `x-sigv4-` namespace and
    /// ``clientAssertions``.
    static func forwardedHeaders(_ fields: HTTPFields) -> [HTTPField] {
        let hopByHop = fields[.connection] == nil ? [] : connectionOptions(fields)
        return fields.filter { field in
            let name = field.name.canonicalName
            return !droppedRequestHeaders.contains(name) && !hopByHop.contains(name) && !isIdentityHeader(name)
                && !isClientAssertion(name)
        }
    }
    static let droppedResponseHeaders: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]
    /// Presigned-URL parameters removed from a presigned request's forwarded query (ASCII case-insensitive,
    /// as the signer refuses to presign a target carrying any spelling of them): the upstream gets no
    /// credentials. A header-signed request's query is forwarded whole: there these names are ordinary
    /// parameters, signed and verified like the others.
    static let presignParameters: Set<String> = [
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
        "x-amz-signature", "x-amz-security-token", "x-amz-region-set",
    ]

    /// The Hummingbird responder: access log around authentication around forward/echo.
    func responder() -> CallbackResponder<GatewayRequestContext> {
        CallbackResponder { request, context in
            try await self.respond(to: request, context: context)
        }
    }

    func respond(to request: Request, context: GatewayRequestContext) async throws -> Response {
        if let health, health.asks(request.head) { return health.answer(request.head.method) }
        let started = ContinuousClock.now
        // The identity is kept for the access log only when the log is written: a copy of a
        // verified request is a retain and a release of each of its strings.
        let logging = accessLog.logLevel <= .info
        let forwarding = await origin(of: request, channel: context.channel)
        var identity: VerifiedRequest?
        if let upstream, upstream.refuses(request.head.path ?? "/") {
            let failure = Self.dotSegmentRefusal
            let response = errorResponse(failure, to: request)
            log(request, forwarding, status: response.status.code, identity: nil, code: failure.code.name, started: started)
            return response
        }
        var form: VerifiedPostForm?
        let response: Response
        // A body's own failures are told from the upstream's (``ClientBody``); a request without one
        // (most of them) goes on untouched. `Expect: 100-continue` is answered when the body is first
        // read (by the verifier when it needs the body, or to forward or echo it): a request refused
        // before then never has its body sent.
        let request =
            Self.hasBody(request.head)
            ? Self.taggingBodyFailures(request.sendingContinueWhenBodyIsRead(on: context.channel)) : request
        // The checksum an aws-chunked body carries in its trailer, which the middleware checks and
        // removes with the framing (``forwardTrailingChecksum(_:of:in:)``).
        let trailing = request.head.headerFields[Self.trailerField].flatMap {
            try? TrailingChecksum.Algorithm(name: $0)
        }
        do {
            if let authenticator {
                response = try await authenticator.handle(request, context: context) { request, context in
                    if let verified = context.sigV4Form {
                        // A browser-form upload, verified: the body is its file, checked as it arrives.
                        if logging { form = verified }
                        return try await self.storePostUpload(request, verified: verified, forwarding: forwarding)
                    }
                    if logging { identity = context.sigV4 }
                    return try await self.serve(
                        request, identity: context.sigV4, trailing: trailing, forwarding: forwarding)
                }
            } else {
                response = try await serve(request, identity: nil, forwarding: forwarding)
            }
        } catch {
            if Self.isClientGone(error) {
                // The client went away mid-request (its body cut short): not the upstream's failure.
                // nginx's 499, for the log; the client reads no answer.
                log(request, forwarding, status: 499, identity: identity, form: form, code: "ClientClosedRequest", started: started)
                return Response(status: .init(code: 499, reasonPhrase: "Client Closed Request"))
            }
            // The operator's log says why the upstream failed (refused, its certificate not trusted, a
            // timeout); the client's answer names neither the upstream nor the error.
            if Self.isUpstreamBusy(error) {
                log(
                    request, forwarding, status: 503, identity: identity, form: form, code: "SlowDown",
                    started: started, upstreamError: error)
                return errorResponse(Self.upstreamBusy, to: request)
            }
            if Self.isUpstreamTimeout(error) {
                log(
                    request, forwarding, status: 504, identity: identity, form: form, code: "GatewayTimeout",
                    started: started, upstreamError: error)
                return errorResponse(Self.gatewayTimeout, to: request)
            }
            log(
                request, forwarding, status: 502, identity: identity, form: form, code: "BadGateway", started: started,
                upstreamError: error)
            return errorResponse(Self.badGateway, to: request)
        }
        let code = response.headers[SigV4ErrorFormat.errorCodeField]
        log(request, forwarding, status: response.status.code, identity: identity, form: form, code: code, started: started)
        return response
    }

    /// The refusal of a verified target that the upstream would not get as it was signed
    /// (``Upstream/sendsAsWritten(_:)``), as S3 refuses a path that is not UTF-8.
    static let unsendableTargetRefusal = VerificationFailure(
        VerificationFailure.Code("InvalidURI", httpStatus: 400),
        "Couldn't parse the specified URI: it cannot be forwarded as it was signed")

    /// The refusal of a target that ``Upstream/refuses(_:)``.
    static let dotSegmentRefusal = VerificationFailure(
        .invalidRequest, "A path with '.' or '..' segments cannot be forwarded below the upstream's path prefix")

    /// The refusal of `request` for `failure`, as the middleware writes its own: the configured
    /// ``SigV4ErrorFormat`` (S3-style XML without the middleware), a fresh request id.
    func errorResponse(_ failure: VerificationFailure, to request: Request) -> Response {
        (authenticator?.configuration.errorFormat ?? .s3XML).response(
            for: failure, request: request.head, requestID: authenticator?.configuration.requestID(),
            resource: request.uri.path)
    }

    /// True for the failure of reading the client's body (``ClientBody``: its HTTP/1.1 connection closed
    /// before the declared length, its HTTP/2 stream reset), however deep it was rethrown.
    static func isClientGone(_ error: any Error) -> Bool { error is ClientBody.ReadFailure }

    /// No deadline for a forwarded exchange: an upload lasts as long as its client sends, and the
    /// client's timeouts watch the time the upstream owes an answer (`--upstream-timeout`, counted
    /// once the request's end has gone) and the time to connect (`--upstream-connect-timeout`).
    /// (Until 2026-12-05 every exchange had 300 s to its response head, which cut uploads slower
    /// than that.)
    static let upstreamDeadline = NIODeadline.distantFuture

    /// The health check (`--health-path`): a GET or HEAD of `path` (its query ignored) is answered
    /// `200 {"status":"ok"}` before authentication, for load balancers and probes; never forwarded,
    /// and not in the access log (a load balancer asks every few seconds). Any other method, or any
    /// other path, is an ordinary request.
    struct Health: Sendable {
        var path: String

        /// True when `head` asks for the health check.
        func asks(_ head: HTTPRequest) -> Bool {
            guard head.method == .get || head.method == .head, let target = head.path else { return false }
            let end = target.utf8.firstIndex(of: UInt8(ascii: "?")) ?? target.utf8.endIndex
            return target.utf8[..<end].elementsEqual(path.utf8)
        }

        /// The answer, with a body for GET (a HEAD gets the same head without it).
        func answer(_ method: HTTPRequest.Method) -> Response {
            let body = ByteBuffer(string: "{\"status\":\"ok\"}\n")
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            headers[.contentLength] = String(body.readableBytes)
            headers[.cacheControl] = "no-store"
            return Response(
                status: .ok, headers: headers, body: method == .head ? ResponseBody() : ResponseBody(byteBuffer: body))
        }
    }

    /// True when `error` says every connection to the upstream (`--upstream-max-connections`) stayed
    /// busy for `--upstream-connect-timeout` while the request waited for one. Answered 503
    /// `SlowDown`, which SDKs retry with backoff.
    static func isUpstreamBusy(_ error: any Error) -> Bool {
        (error as? HTTPClientError) == .getConnectionFromPoolTimeout
    }

    /// True when `error` is the upstream's client giving up on time: no connection within
    /// `--upstream-connect-timeout` (with no refusal to report), or no answer within
    /// `--upstream-timeout`. Answered 504 `GatewayTimeout`; other upstream failures are 502.
    static func isUpstreamTimeout(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return error == .connectTimeout || error == .readTimeout || error == .deadlineExceeded
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return true }
        return error is UploadStall.Stalled
    }

    /// True when the head declares a body (a length other than 0, or a transfer coding) or may carry
    /// one undeclared (HTTP/2 DATA frames: no `Content-Length` is needed there; watched as well).
    static func hasBody(_ head: HTTPRequest) -> Bool {
        if let length = head.headerFields[.contentLength] { return length != "0" }
        return head.headerFields[.transferEncoding] != nil || head.method != .get && head.method != .head
    }

    /// `request` with its body's read failures tagged (``ClientBody``).
    static func taggingBodyFailures(_ request: Request) -> Request {
        var request = request
        request.body = RequestBody(asyncSequence: ClientBody(base: request.body))
        return request
    }

    /// One structured access-log line: the client's address and mutual-TLS certificate (subject and
    /// fingerprint) as `forwarding` names them, the request's identity (`identity`), or a
    /// browser-form upload's (`form`), or none. Never logs the query (it may hold a presigned token)
    /// or any header value other than the public access key id. Nothing is built when
    /// the access log is filtered out.
    func log(
        _ request: Request, _ forwarding: TrustedProxies.Forwarding, status: Int, identity: VerifiedRequest? = nil,
        form: VerifiedPostForm? = nil, code: String?, started: ContinuousClock.Instant, upstreamError: (any Error)? = nil
    ) {
        guard accessLog.logLevel <= .info else { return }
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)",
            "path": "\(request.uri.path)",
            "status": "\(status)",
            "ms": "\(Self.milliseconds(ContinuousClock.now - started))",
        ]
        if let client = forwarding.client { metadata["client"] = "\(client)" }
        if let certificate = forwarding.clientCertificate {
            if let subject = certificate.subject { metadata["client_cert_subject"] = "\(subject)" }
            metadata["client_cert_sha256"] = "\(certificate.sha256)"
        }
        if let identity {
            metadata["access_key_id"] = "\(identity.accessKeyID)"
            metadata["principal"] = "\(identity.principal)"
            metadata["region"] = "\(identity.scope.region)"
            metadata["service"] = "\(identity.scope.service)"
            metadata["presigned"] = "\(identity.isPresigned)"
        } else if let form {
            metadata["access_key_id"] = "\(form.accessKeyID)"
            metadata["principal"] = "\(form.principal)"
            metadata["region"] = "\(form.scope.region)"
            metadata["service"] = "\(form.scope.service)"
        }
        if BrowserFormUpload.isBrowserFormUpload(request) { metadata["form"] = "true" }
        if let code { metadata["code"] = "\(code)" }
        if let upstreamError { metadata["upstream_error"] = "\(upstreamError)" }
        accessLog.info("request", metadata: metadata)
    }

    /// `elapsed` in milliseconds with two decimals (`"12.34"`), without Foundation's `String(format:)`.
    static func milliseconds(_ elapsed: Duration) -> String {
        let (seconds, attoseconds) = elapsed.components
        let hundredths = max(0, seconds) * 100_000 + max(0, attoseconds) / 10_000_000_000_000
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// Forwards a verified request, or answers its identity. `forwarding`: the `X-Forwarded-For` and
    /// `X-Forwarded-Proto` values sent upstream.
    func serve(
        _ request: Request, identity: VerifiedRequest?, trailing: TrailingChecksum.Algorithm? = nil,
        forwarding: TrustedProxies.Forwarding
    ) async throws -> Response {
        guard let upstream, let httpClient else {
            if let identity, identity.payload == .eventStream {
                return Self.echoEventStream(request, identity: identity)
            }
            // Read the body through the middleware's checks, so a tampered body is refused here too.
            var received = 0
            for try await buffer in request.body { received += buffer.readableBytes }
            return Self.echo(request, identity: identity, bodyBytes: received, certificate: forwarding.clientCertificate)
        }
        if let identity, request.headers[.connection] != nil,
            let name = Self.signedConnectionOption(request.headers, signedHeaders: identity.signedHeaders)
        {
            return errorResponse(Self.signedConnectionOptionRefusal(name), to: request)
        }
        let path = request.head.path ?? "/"
        var outbound = upstreamRequest(for: request.head, upstream: upstream, identity: identity, forwarding: forwarding)
        guard upstream.sendsAsWritten(outbound.url) else {
            return errorResponse(Self.unsendableTargetRefusal, to: request)
        }
        if let identity, identity.payload == .eventStream {
            var upstreamSeed: Signature? = nil
            if let upstreamCredentials {
                upstreamSeed = try resign(&outbound, credentials: upstreamCredentials, identity: identity)
            }
            // A signed event stream is a conversation: its verified messages go on as they arrive,
            // never buffered, with no length (the middleware removed the envelopes' `Content-Length`).
            // The upstream is contacted at once, before the first message: a streaming client (the
            // AWS SDKs' Transcribe clients) sends its first event only after the response's head has
            // come, which the upstream sends. Re-signed for the upstream, each message goes in an
            // envelope of its own, signed with the upstream's key and chained on the outbound
            // request's signature.
            let messages = request.body
            if let upstreamCredentials, let upstreamSeed {
                outbound.body = .stream(
                    EventStreamEnvelopes(
                        messages: messages,
                        signer: EventStreamSigner(
                            credentials: upstreamCredentials, region: identity.scope.region,
                            service: identity.scope.service, seedSignature: upstreamSeed),
                        clock: { Int64(Date().timeIntervalSince1970 * 1000) }),
                    length: .unknown)
            } else {
                outbound.body = .stream(messages, length: .unknown)
            }
            return try await relay(
                httpClient.execute(outbound, deadline: Self.upstreamDeadline), path: path)
        }
        // A body read whole (or none) can be sent again; a streamed one cannot, and is watched for an
        // upstream that stops taking it.
        var streamed = false
        // The body, when it is read whole before the upstream is contacted.
        var whole: ByteBuffer? = nil
        let stall = UploadStall()
        let contentLength = request.headers[.contentLength].flatMap { ByteParsing.length($0) }.map { Int64($0) }
        let chunked = request.headers[.transferEncoding] != nil
        let checkedAtEnd =
            identity.map {
                $0.payload == .pending || $0.payload == .awsChunked
                    || (!$0.checksumVerified && !$0.declaredChecksums.isEmpty)
            } ?? false
        if checkedAtEnd, contentLength == 0 || (contentLength == nil && !chunked) {
            // No body, or an empty one (for aws-chunked: nothing decoded): its check still completes at its
            // end (the empty body against a signed hash or a declared checksum; the final chunk and trailer).
            // The body is read here, once: no branch below may iterate it again.
            whole = try await request.body.collect(upTo: 0)
            if contentLength == 0 { outbound.headers.replaceOrAdd(name: "Content-Length", value: "0") }
        } else if let contentLength, contentLength > 0, checkedAtEnd, contentLength <= Int64(maxBufferedBody) {
            // Read, and so verify, the whole body before the upstream sees a byte of the request.
            let body = try await request.body.collect(upTo: Int(contentLength))
            outbound.body = .bytes(body)
            whole = body
        } else if let contentLength, contentLength > 0 {
            // Larger bodies stream; the last buffer is held back until verified, and a failure aborts
            // the upstream request before its declared length is reached. The upstream is contacted
            // only once the middleware has released the first bytes (for aws-chunked: the first chunk
            // verified), so a body refused at its start never opens an upstream request.
            streamed = true
            outbound.body = .stream(
                UploadStall.Watched(try await StartedBody(request.body), stall: stall), length: .known(contentLength))
        } else if chunked, checkedAtEnd {
            // No declared length: read up to --max-buffered-body before the upstream is contacted. A
            // body that ends within it is verified whole and goes with its length; a longer one streams
            // on from there, its last buffer held back, as a declared long body does.
            let started = try await StartedBody(request.body, upTo: maxBufferedBody)
            if let body = started.whole {
                outbound.body = .bytes(body)
                whole = body
            } else {
                streamed = true
                outbound.body = .stream(UploadStall.Watched(started, stall: stall), length: .unknown)
            }
        } else if chunked {
            streamed = true
            outbound.body = .stream(
                UploadStall.Watched(try await StartedBody(request.body), stall: stall), length: .unknown)
        } else if contentLength == 0 {
            outbound.headers.replaceOrAdd(name: "Content-Length", value: "0")
        }
        if let trailing, identity?.payload == .awsChunked {
            Self.forwardTrailingChecksum(trailing, of: whole, in: &outbound.headers)
        }
        // Signed for the upstream last, over the headers as they go.
        if let upstreamCredentials, let identity {
            try resign(&outbound, credentials: upstreamCredentials, identity: identity)
        }
        let resendable = !streamed && Self.isIdempotent(request.head.method)
        if streamed {
            let sending = outbound
            return try await relay(
                stall.guarding(limit: upstreamTimeouts.answer.map { .nanoseconds($0.nanoseconds) }) { [self] in
                    try await send(sending, over: httpClient, resendable: false)
                }, path: path)
        }
        return try await relay(send(outbound, over: httpClient, resendable: resendable), path: path)
    }

    /// `x-amz-trailer`: the checksum an aws-chunked body's trailer carries.
    static let trailerField = HTTPField.Name("x-amz-trailer")!

    /// The checksum of a decoded aws-chunked body, verified by the middleware against the trailer that
    /// carried it, for the upstream: as its header (`x-amz-checksum-crc32c: …`) when the body was read
    /// `whole` before the upstream was contacted (the value, computed again here, is the one verified);
    /// else the head goes before the value is known, and `x-amz-sdk-checksum-algorithm` goes too (S3
    /// refuses an algorithm named without its value). Before 2026-12-06 the value was dropped and the
    /// algorithm sent alone: botocore's and awscli's default uploads over HTTPS (CRC32 trailers)
    /// reached moto without it, which then stored a checksum of its own that did not match.
    static func forwardTrailingChecksum(
        _ algorithm: TrailingChecksum.Algorithm, of whole: ByteBuffer?, in headers: inout HTTPHeaders
    ) {
        guard let whole else {
            headers.remove(name: "x-amz-sdk-checksum-algorithm")
            return
        }
        var checksum = TrailingChecksum(algorithm)
        whole.withUnsafeReadableBytes { checksum.update($0) }
        headers.replaceOrAdd(name: algorithm.headerName, value: checksum.base64)
    }

    /// Sends `outbound` to the upstream. When `resendable` (an idempotent method, a body held whole
    /// or none) and the connection closed before any answer came, it is sent once more, on another
    /// connection: the upstream may close a kept-alive connection (its own idle timeout; Node's is
    /// 5 s, nginx's 75 s) just as the gateway sends a request on it, which then meets no server.
    /// RFC 9110, section 9.2.2, lets a client send an idempotent request again; Go's transport and
    /// nginx do. Anything else (no connection, a timeout, a streamed body, another method) fails as it came.
    func send(_ outbound: HTTPClientRequest, over httpClient: HTTPClient, resendable: Bool) async throws
        -> HTTPClientResponse
    {
        do {
            return try await httpClient.execute(outbound, deadline: Self.upstreamDeadline)
        } catch where resendable && Self.isClosedBeforeAnswer(error) {
            return try await httpClient.execute(outbound, deadline: Self.upstreamDeadline)
        }
    }

    /// GET, HEAD, OPTIONS, TRACE, PUT and DELETE (RFC 9110, section 9.2.2).
    static func isIdempotent(_ method: HTTPRequest.Method) -> Bool {
        switch method {
        case .get, .head, .options, .trace, .put, .delete: return true
        default: return false
        }
    }

    /// True when `error` says the upstream's connection closed (or was reset) before its answer's
    /// head came: what a kept-alive connection the upstream closed meanwhile gives.
    static func isClosedBeforeAnswer(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError { return error == .remoteConnectionClosed }
        if let error = error as? IOError { return error.errnoCode == ECONNRESET || error.errnoCode == EPIPE }
        if let error = error as? ChannelError {
            switch error {
            case .ioOnClosedChannel, .eof, .outputClosed, .alreadyClosed: return true
            default: return false
            }
        }
        return false
    }

    /// The upstream's response, streamed back without its hop-by-hop headers. A body that fails
    /// partway (the upstream's connection cut, its read timeout) is logged (`response body cut`,
    /// with `path` and the error): the access line, written with the head, says 200 for it. A
    /// response whose transfer coding is not `chunked` alone throws ``UnknownTransferCoding`` (502).
    func relay(_ upstreamResponse: HTTPClientResponse, path: String) throws -> Response {
        if let coding = Self.unknownTransferCoding(upstreamResponse.headers) {
            throw UnknownTransferCoding(value: coding)
        }
        var headers = HTTPFields()
        // Hop-by-hop headers of the upstream's connection go no further: the fixed ones and those its
        // `Connection` fields name (RFC 9110, section 7.6.1), as for requests.
        let hopByHop = Self.connectionOptions(values: upstreamResponse.headers["connection"])
        for (name, value) in upstreamResponse.headers {
            let lowercased = name.lowercased()
            guard !Self.droppedResponseHeaders.contains(lowercased), !hopByHop.contains(lowercased) else { continue }
            if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
        }
        let accessLog = accessLog
        let body = CutResponseBody(base: upstreamResponse.body) { error, bytes in
            accessLog.warning(
                "response body cut",
                metadata: ["path": "\(path.prefix { $0 != "?" })", "bytes_sent": "\(bytes)", "error": "\(error)"])
        }
        return Response(
            status: HTTPResponse.Status(code: Int(upstreamResponse.status.code)), headers: headers,
            body: ResponseBody(asyncSequence: body))
    }

    /// An upstream response framed with a transfer coding other than `chunked` (`Transfer-Encoding:
    /// gzip, chunked`, or `gzip` alone, read to the connection's end): the HTTP client removes only
    /// the chunked framing, so its body is still coded, and `Transfer-Encoding` is hop-by-hop, so
    /// the client would get those coded bytes as the representation with nothing saying so (until
    /// 2026-12-06 it did: a gzip-coded `ok` reached curl as 22 bytes of gzip). Answered 502
    /// `BadGateway`, as nginx answers "upstream sent unknown Transfer-Encoding".
    struct UnknownTransferCoding: Error, CustomStringConvertible {
        var value: String
        var description: String { "upstream sent unknown Transfer-Encoding: \(value.prefix(64))" }
    }

    /// The `Transfer-Encoding` value of `headers` when it names a coding other than `chunked`; nil
    /// when there is none or only `chunked`.
    static func unknownTransferCoding(_ headers: HTTPHeaders) -> String? {
        let values = headers["transfer-encoding"]
        for value in values {
            for coding in value.split(separator: ",") {
                let name = coding.trimmingCharacters(in: .whitespaces)
                if !name.isEmpty && name.lowercased() != "chunked" { return values.joined(separator: ", ") }
            }
        }
        return nil
    }

    /// What the upstream gets for a verified request's `head`, before any signature: the target with
    /// the presign parameters removed (a presigned or unauthenticated request's) and the bucket of a
    /// virtual host in the path, the end-to-end headers but those named in `excluding` (lowercase), the
    /// identity headers and the gateway's forwarding headers.
    func upstreamRequest(
        for head: HTTPRequest, upstream: Upstream, identity: VerifiedRequest?, forwarding: TrustedProxies.Forwarding,
        excluding: Set<String> = []
    ) -> HTTPClientRequest {
        let target = head.path ?? "/"
        // Without authentication (--dev-no-auth) there is no verdict on the query: presign parameters go.
        let presigned = identity?.isPresigned ?? true
        // `X-Amz-Region-Set` is a presign parameter of SigV4a only; in a SigV4 URL it is an ordinary, signed one.
        let stripped =
            presigned ? Self.forwardedTarget(target, keepingRegionSet: identity.map { !$0.isSigV4a } ?? false) : target
        // Virtual-hosted style (`--virtual-host-domain`): the bucket goes into the path, where the
        // key's path prefixes were checked.
        let forwarded = Self.wireTarget(identity?.pathStyleTarget(stripped) ?? stripped)
        var outbound = HTTPClientRequest(url: upstream.url(forTarget: forwarded))
        outbound.tlsConfiguration = upstreamTLS?.requestConfiguration
        outbound.method = HTTPMethod(rawValue: head.method.rawValue)
        for field in Self.forwardedHeaders(head.headerFields)
        where excluding.isEmpty || !excluding.contains(field.name.canonicalName) {
            outbound.headers.add(name: field.name.rawName, value: field.value)
        }
        if let identity {
            outbound.headers.add(name: "X-SigV4-Access-Key-Id", value: identity.accessKeyID)
            outbound.headers.add(name: "X-SigV4-Principal", value: identity.principal)
        }
        Self.addForwardingHeaders(&outbound.headers, forwarding)
        return outbound
    }

    /// Signs the outbound request for the upstream in the client's scope, with the client's algorithm:
    /// SigV4 in its region and service, or SigV4a over its region set (a SigV4a request's scope names
    /// no region: until 2026-12-06 it was signed with SigV4 in the region "`*`" or
    /// "`us-east-1,us-west-2`", which no upstream accepts). Returns the SigV4 signature (the seed of a
    /// re-signed event stream; nil for SigV4a, which the verifier refuses for event streams). The body
    /// was verified here: its signed hash is kept when it has one, else it goes as `UNSIGNED-PAYLOAD`;
    /// an event stream is signed as one (`STREAMING-AWS4-HMAC-SHA256-EVENTS`), its messages then signed
    /// again one by one. `payload` overrides the hash (a WebSocket handshake has no body: the empty
    /// body's hash).
    @discardableResult
    func resign(
        _ outbound: inout HTTPClientRequest, credentials: Credentials, identity: VerifiedRequest,
        payload override: PayloadHash? = nil
    ) throws -> Signature? {
        for name in ["X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256"] { outbound.headers.remove(name: name) }
        let payload: PayloadHash =
            override ?? (identity.payload == .eventStream
            ? .streamingEvents
            : identity.payloadHash.isStreaming || identity.isPresigned ? .unsignedPayload : identity.payloadHash)
        if let regionSet = identity.regionSet {
            outbound.headers.remove(name: "X-Amz-Region-Set")
            let signer = try SigV4aSigner(
                credentials: credentials, regionSet: regionSet, service: identity.scope.service)
            try outbound.sign(with: signer, payload: payload, at: AmzDate(Date()))
            return nil
        }
        let signer = Signer(
            credentials: credentials, region: identity.scope.region, service: identity.scope.service)
        return try outbound.sign(with: signer, payload: payload, at: AmzDate(Date())).signature
    }

    /// The target with presign parameters removed from the query (`X-Amz-Region-Set` kept when
    /// `keepingRegionSet`: the URL was presigned with SigV4, not SigV4a); every other byte as received. The
    /// query is split on its `&` and `=` bytes and names are compared as ASCII (a `Character` split
    /// would not split at an `&` that a preceding prepend mark or a following combining mark joins into
    /// one grapheme, and Unicode lowercasing maps the Kelvin sign to `k`).
    static func forwardedTarget(_ target: String, keepingRegionSet: Bool = false) -> String {
        let bytes = Array(target.utf8)
        guard let q = bytes.firstIndex(of: UInt8(ascii: "?")) else { return target }
        var kept: [ArraySlice<UInt8>] = []
        for element in bytes[(q + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: false) {
            let name = element.prefix { $0 != UInt8(ascii: "=") }
            let lowercased = asciiLowercased(name)
            if !presignParameters.contains(lowercased) || (keepingRegionSet && lowercased == "x-amz-region-set") {
                kept.append(element)
            }
        }
        var out = Array(bytes[..<q])
        if !kept.isEmpty {
            out.append(UInt8(ascii: "?"))
            out += kept.joined(separator: [UInt8(ascii: "&")])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `target` with every byte RFC 3986 does not allow in a path or query percent-encoded (`|` as
    /// `%7C`, `{`, `}`, `^`, `` ` ``, `"`, `<`, `>`, `\`, `[`, `]`, `#`, controls, bytes of non-ASCII
    /// characters), and a `%` that does not start an escape as `%25`: the target AsyncHTTPClient sends,
    /// written by the gateway itself. Each names the same resource at the upstream as the raw byte
    /// (curl signs and sends `/a|b` raw, and the verifier accepts it). The target is returned as it is
    /// when nothing needs encoding. Forwarding re-signed for the upstream (`--upstream-access-key-id`)
    /// needs it: the signing adapter refuses a URL the HTTP client would rewrite, and before
    /// 2026-12-02 such verified requests were answered 502 `BadGateway`.
    static func wireTarget(_ target: String) -> String {
        var contiguous = target
        let encoded = contiguous.withUTF8 { bytes -> String? in
            guard bytes.indices.contains(where: { !isWireSafe(bytes, at: $0) }) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count + 16)
            for i in bytes.indices {
                if isWireSafe(bytes, at: i) {
                    out.append(bytes[i])
                } else {
                    URIEncoding.appendEscaped(bytes[i], to: &out)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
        return encoded ?? target
    }

    /// True when the byte at `i` may stand in a request target as it is (RFC 3986: unreserved,
    /// sub-delims, `:`, `@`, `/`, `?`, and a `%` followed by two hex digits).
    static func isWireSafe(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
        let b = bytes[i]
        if URIEncoding.isUnreserved(b) { return true }
        switch b {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"), UInt8(ascii: "/"), UInt8(ascii: "?"):
            return true
        case UInt8(ascii: "%"):
            return i + 2 < bytes.count && URIEncoding.hexValue(bytes[i + 1]) != nil
                && URIEncoding.hexValue(bytes[i + 2]) != nil
        default:
            return false
        }
    }

    /// Echo mode: the verified identity as JSON (the body, already verified, is counted). The keys
    /// are fixed ASCII and only the values are quoted.
    static func echo(_ request: Request, identity: VerifiedRequest?, bodyBytes: Int, certificate: ClientCertificate? = nil)
        -> Response
    {
        let body = echoBody(request, identity: identity, bodyBytes: bodyBytes, certificate: certificate)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
    }

    /// The JSON line ``echo(_:identity:bodyBytes:certificate:)`` answers (with `"messages"` after `"body_bytes"`
    /// when `messages` is given).
    static func echoBody(
        _ request: Request, identity: VerifiedRequest?, bodyBytes: Int, messages: Int? = nil,
        certificate: ClientCertificate? = nil
    ) -> ByteBuffer {
        let target = request.head.path ?? "/"
        let path = target[..<(target.utf8.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex)]
        let bodyText = String(bodyBytes)
        let messagesText = messages.map { String($0) }
        var body = ByteBuffer()
        EchoObject.write(to: &body) { object in
            object.member("method", request.method.rawValue)
            object.member("path", path)
            object.member("body_bytes", bodyText)
            if let messagesText { object.member("messages", messagesText) }
            // Read through the optional in place: `if let` would copy the whole verified request
            // (a retain and a release of each of its strings), and this closure runs twice.
            if identity != nil {
                object.member("access_key_id", identity!.accessKeyID)
                object.member("principal", identity!.principal)
                object.member("region", identity!.scope.region)
                object.member("service", identity!.scope.service)
                if let bucket = identity!.bucket { object.member("bucket", bucket) }
                object.member("signed_at", date: identity!.signedAt)
                object.member("presigned", identity!.isPresigned ? "true" : "false")
            } else {
                object.member("authentication", "disabled")
            }
            if let certificate {
                if let subject = certificate.subject { object.member("client_cert_subject", subject) }
                object.member("client_cert_sha256", certificate.sha256)
            }
        }
        return body
    }

    /// Echo mode for a signed event stream: answered at once (a streaming client sends its first
    /// event only after the response's head has come), then one JSON line per verified message
    /// (`{"message":"1","bytes":"4096"}`), and at the end the identity as ``echo(_:identity:bodyBytes:)``
    /// writes it with `"messages"`; a failure mid-stream ends the answer with a line naming its code
    /// (`{"code":"SignatureDoesNotMatch","message":"…"}`), since the status is already sent.
    static func echoEventStream(_ request: Request, identity: VerifiedRequest) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { (writer: inout any ResponseBodyWriter) in
                var messages = 0
                var bytes = 0
                var last: ByteBuffer
                do {
                    for try await message in request.body {
                        messages += 1
                        bytes += message.readableBytes
                        var line = ByteBuffer()
                        let count = String(messages)
                        let size = String(message.readableBytes)
                        EchoObject.write(to: &line) { object in
                            object.member("message", count)
                            object.member("bytes", size)
                        }
                        try await writer.write(line)
                    }
                    last = Self.echoBody(request, identity: identity, bodyBytes: bytes, messages: messages)
                } catch let failure as VerificationFailure {
                    last = ByteBuffer()
                    EchoObject.write(to: &last) { object in
                        object.member("code", failure.code.name)
                        object.member("message", failure.message)
                    }
                }
                try await writer.write(last)
                try await writer.finish(nil)
            })
    }

    /// A one-line JSON object of string members and a newline, written in one pass straight into a
    /// `ByteBuffer`'s storage. The echo runs on every request, and a `ByteBuffer` write per piece
    /// (a capacity and a uniqueness check each) took more time than the writing.
    struct EchoObject {
        /// Where the bytes go; nil while the members are only measured.
        private var out: UnsafeMutablePointer<UInt8>?
        private(set) var count = 0

        /// Measures the members, reserves that much, and writes them.
        static func write(to buffer: inout ByteBuffer, _ members: (inout EchoObject) -> Void) {
            var measure = EchoObject(out: nil)
            members(&measure)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: measure.count + 3) { raw in
                var object = EchoObject(out: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
                members(&object)
                object.put("}\n")
                return object.count
            }
        }

        /// `"key":"value"`, after `{` or `,`; the value quoted as JSON needs. The value's bytes are
        /// read where they are (a `Substring` made of it, or a copy, is a retain and a release).
        mutating func member(_ key: StaticString, _ value: String) {
            value.withBorrowedUTF8 { member(key, bytes: $0) }
        }

        /// The same for a slice.
        mutating func member(_ key: StaticString, _ value: Substring) {
            value.withBorrowedUTF8 { member(key, bytes: $0) }
        }

        private mutating func member(_ key: StaticString, bytes: UnsafeBufferPointer<UInt8>) {
            put(count == 0 ? "{\"" : ",\"")
            put(key)
            put("\":")
            if let out {
                count += JSONQuoting.writeQuoted(bytes, to: out + count)
            } else {
                count += JSONQuoting.quotedBound(bytes.count)
            }
        }

        /// `"key":"YYYYMMDDTHHMMSSZ"` (no string made for the date).
        mutating func member(_ key: StaticString, date: AmzDate) {
            put(count == 0 ? "{\"" : ",\"")
            put(key)
            put("\":\"")
            out.map { date.writeISO8601Basic(to: $0 + count) }
            count += 16
            put("\"")
        }

        private mutating func put(_ text: StaticString) {
            out?.advanced(by: count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            count += text.utf8CodeUnitCount
        }
    }

    /// 502 `BadGateway`: the upstream could not be reached or failed mid-answer. The gateway's own
    /// answers to the upstream's failures take its configured error format (`--error-format`), as its
    /// refusals do; none names the upstream or the error (the access log does).
    static let badGateway = VerificationFailure(
        .init("BadGateway", httpStatus: 502), "The upstream service did not answer")

    /// 504 `GatewayTimeout`: the upstream took longer than its timeouts allow (``isUpstreamTimeout(_:)``).
    static let gatewayTimeout = VerificationFailure(
        .init("GatewayTimeout", httpStatus: 504), "The upstream service did not answer in time")

    /// 503 `SlowDown`: no connection to the upstream came free in time (``isUpstreamBusy(_:)``).
    static let upstreamBusy = VerificationFailure(
        .slowDown, "Too many requests are waiting for the upstream service")
}

/// A usage or startup problem of the gateway, printed without a stack.
struct GatewayError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A body whose first buffer has already been read: it yields that buffer, then the rest of the
/// base sequence. Reading the first buffer runs the middleware's checks on it (an aws-chunked body
/// releases a chunk only after its signature verified), so the gateway can wait for it before it
/// contacts the upstream.
///
/// One consumer only (the upstream request's body writer); the iterator lives in a box that is
/// never shared with a second reader, hence `@unchecked Sendable`.
///
/// ```swift
/// outbound.body = .stream(try await StartedBody(request.body), length: .unknown)
/// ```
struct StartedBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer

    final class Box: @unchecked Sendable {
        var first: ByteBuffer?
        var rest: Base.AsyncIterator

        init(first: ByteBuffer?, rest: Base.AsyncIterator) {
            self.first = first
            self.rest = rest
        }
    }

    let box: Box

    /// The whole body, when ``init(_:upTo:)`` read it to its end.
    let whole: ByteBuffer?

    /// Reads the first buffer of `base` (throwing what its checks throw).
    init(_ base: Base) async throws {
        var iterator = base.makeAsyncIterator()
        let first = try await iterator.next()
        box = Box(first: first, rest: iterator)
        whole = nil
    }

    /// Reads `base` until it ends or more than `limit` bytes arrived (throwing what its checks throw):
    /// ``whole`` holds the body when it ended, else the sequence yields what was read, then the rest.
    init(_ base: Base, upTo limit: Int) async throws {
        var iterator = base.makeAsyncIterator()
        var read = ByteBuffer()
        while read.readableBytes <= limit {
            guard var next = try await iterator.next() else {
                box = Box(first: nil, rest: iterator)
                whole = read
                return
            }
            read.writeBuffer(&next)
        }
        box = Box(first: read, rest: iterator)
        whole = nil
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let box: Box

        mutating func next() async throws -> ByteBuffer? {
            if let first = box.first {
                box.first = nil
                return first
            }
            return try await box.rest.next()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(box: box) }
}

/// The upstream's response body, passed through; when it fails partway (not by a cancellation: the
/// client's side ended), `onCut` gets the error and the bytes passed so far (then the error goes on).
struct CutResponseBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let base: Base
    let onCut: @Sendable (any Error, Int) -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let onCut: @Sendable (any Error, Int) -> Void
        var bytes = 0

        mutating func next() async throws -> ByteBuffer? {
            do {
                let buffer = try await base.next()
                bytes += buffer?.readableBytes ?? 0
                return buffer
            } catch {
                // A cancellation is the client's side ending the exchange (its connection or HTTP/2
                // stream closed), not the upstream cutting the body.
                if !(error is CancellationError) { onCut(error, bytes) }
                throw error
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), onCut: onCut) }
}
