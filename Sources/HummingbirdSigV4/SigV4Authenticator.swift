#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import NIOCore
public import Hummingbird
public import SigV4
public import SigV4Verifier
public import SigV4KeyStore

/// Hummingbird middleware that verifies AWS Signature Version 4 requests.
///
/// Every request is verified with a ``SigV4Verifier/Verifier`` before the next responder runs:
/// a refused request is answered at once with the AWS error code (S3-style XML or JSON, see
/// ``SigV4ErrorFormat``) and never reaches your handlers. An accepted request carries the verified
/// identity in ``SigV4RequestContext/sigV4``, and its body is replaced by one your handler can
/// trust:
///
/// - a signed payload hash (`x-amz-content-sha256: <hex>`) is checked as the body streams; the
///   last buffer is held back until the whole body matched, and a mismatch ends the body with
///   `XAmzContentSHA256Mismatch`, which the middleware answers in place of your handler's response
///   (thrown through, or caught by the handler: either way). Every buffer before the last reaches
///   the handler before the hash is known: act on the body (store it, apply it) only once it has
///   ended without an error, and do not stream it into the response (a response already under way
///   cannot be replaced: the client gets its start, then a cut connection);
/// - aws-chunked bodies (`STREAMING-*`) are decoded, each chunk released only after its signature
///   (and the trailing checksum, for the last chunk) verified: the handler sees decoded bytes only;
/// - signed event streams (`STREAMING-AWS4-HMAC-SHA256-EVENTS`, `application/vnd.amazon.eventstream`)
///   are unwrapped, each inner message released as soon as its envelope's signature verified;
/// - a body whose hash is signed but not declared in `x-amz-content-sha256` (services other than
///   S3) is read into memory, up to ``Configuration/maxBufferedBodySize``, and verified before the
///   handler runs;
/// - every body is limited to ``Configuration/maxBodySize`` (`EntityTooLarge`, 413).
///
/// ```swift
/// let keyStore = try KeyStoreLocation.open(path: "keys.db")
/// let router = Router(context: BasicSigV4RequestContext.self)
/// router.add(middleware: SigV4Authenticator(
///     verifier: Verifier(resolver: keyStore, policy: VerificationPolicy(allowedServices: ["s3"]),
///                        replayGuard: InMemoryReplayGuard())))
/// router.get("/whoami") { _, context in context.sigV4?.principal ?? "" }
/// ```
public struct SigV4Authenticator<Context: SigV4RequestContext>: RouterMiddleware {
    /// How the middleware answers and what it limits.
    public struct Configuration: Sendable {
        /// How refusals are written (default S3-style XML; ``SigV4ErrorFormat/automatic`` answers
        /// each client in its protocol).
        public var errorFormat: SigV4ErrorFormat
        /// The largest body accepted, in decoded bytes (default 5 GiB, S3's single-PUT limit); nil: no limit.
        public var maxBodySize: Int?
        /// The largest body read into memory to verify a request that does not declare its payload hash
        /// in `x-amz-content-sha256` (services other than S3 sign the body's hash), and the largest
        /// signed event-stream envelope held until it verified (plus 1 KiB of framing). Default 8 MiB.
        public var maxBufferedBodySize: Int
        /// The verifier's notion of now. Inject a fixed clock in tests.
        public var clock: @Sendable () -> AmzDate
        /// A fresh request id for each refusal (`x-amz-request-id` and `<RequestId>`).
        public var requestID: @Sendable () -> String
        /// What the server's transport guarantees about request bodies (default ``Transport/any``).
        public var transport: Transport
        /// How a replay of a request that was answered with a status clients retry (429, 500, 502,
        /// 503 or 504, from the handler or an error it threw) within the last minute is refused: true
        /// (the default) answers `SlowDown` (503, `Retry-After: 1`), which SDKs retry with a new
        /// signature; false answers `RequestReplayed` (403), which they do not. Either way the
        /// replay is refused and never reaches the handler.
        ///
        /// A client that retries within the second of a failed attempt (botocore waits 0 to 1 s
        /// before its first retry) re-sends the same signed request, since the signature's date has
        /// one-second resolution and the attempt counter SDKs send is not signed.
        public var retryableReplays: Bool
        /// Browser-form uploads (S3's POST Object: a `multipart/form-data` POST whose fields carry a
        /// signed POST policy): nil (the default) refuses them as unsigned requests; set, the
        /// middleware reads such a form's fields within these limits and verifies them
        /// (``BrowserFormUpload``, `Verifier.verifyPostForm`) before it reads the file, checks the
        /// file against the policy's `content-length-range`, and passes the request on with the file
        /// as its body (as ``browserFormFiles`` says) and the verified form in the context's
        /// ``SigV4RequestContext/sigV4Form``.
        public var browserForms: BrowserFormUpload.Limits?
        /// How a verified browser form's file reaches the handler: whole, with its `Content-Length`
        /// (``BrowserFormUpload/FileDelivery/buffered``, the default), or as it arrives
        /// (``BrowserFormUpload/FileDelivery/streamed``).
        public var browserFormFiles: BrowserFormUpload.FileDelivery

        /// What the transport guarantees about a request that declares no body.
        ///
        /// ```swift
        /// // A server built with Hummingbird's `.http1` only:
        /// let configuration = SigV4Authenticator<BasicSigV4RequestContext>.Configuration(transport: .http1)
        /// ```
        public enum Transport: Sendable {
            /// Any HTTP version: a request signed with the empty body's hash and sent without
            /// `Content-Length` or `Transfer-Encoding` may still carry bytes (HTTP/2 DATA frames), so
            /// its body is watched and any byte is checked against the signed hash.
            case any
            /// HTTP/1.x only: a request without `Content-Length` or `Transfer-Encoding` has no body
            /// (RFC 9112, section 6.3), so such a request's body is passed on as it is, without the
            /// wrapper that would watch it for bytes and count them against `maxBodySize` (about
            /// 1 µs per request in `sigv4 serve`). A declared checksum is still checked. Use it only
            /// when every connection the middleware sees is HTTP/1.x.
            case http1
        }

        /// The wall clock, the default ``clock``.
        public static func systemClock() -> AmzDate { AmzDate(Date()) }

        /// Creates a configuration.
        ///
        /// ```swift
        /// let configuration = SigV4Authenticator<BasicSigV4RequestContext>.Configuration(
        ///     errorFormat: .json, maxBodySize: 64 << 20)
        /// ```
        public init(
            errorFormat: SigV4ErrorFormat = .s3XML, maxBodySize: Int? = 5 << 30, maxBufferedBodySize: Int = 8 << 20,
            clock: @escaping @Sendable () -> AmzDate = Configuration.systemClock,
            requestID: @escaping @Sendable () -> String = { SigV4Authenticator.randomRequestID() },
            transport: Transport = .any, retryableReplays: Bool = true, browserForms: BrowserFormUpload.Limits? = nil,
            browserFormFiles: BrowserFormUpload.FileDelivery = .buffered
        ) {
            self.errorFormat = errorFormat
            self.maxBodySize = maxBodySize
            self.maxBufferedBodySize = maxBufferedBodySize
            self.clock = clock
            self.requestID = requestID
            self.transport = transport
            self.retryableReplays = retryableReplays
            self.browserForms = browserForms
            self.browserFormFiles = browserFormFiles
        }
    }

    /// The verifier (resolver, policy, replay guard).
    public let verifier: Verifier
    /// Answers and limits.
    public var configuration: Configuration
    /// The signatures of accepted requests answered with a status clients retry
    /// (``Configuration/retryableReplays``).
    public let failedAttempts: FailedAttempts

    /// Creates the middleware from a verifier.
    public init(verifier: Verifier, configuration: Configuration = Configuration()) {
        self.verifier = verifier
        self.configuration = configuration
        self.failedAttempts = FailedAttempts()
    }

    /// Creates the middleware with keys from a key store, the default policy (or yours) and an
    /// in-memory replay guard.
    ///
    /// ```swift
    /// let middleware = SigV4Authenticator<BasicSigV4RequestContext>(
    ///     keyStore: try KeyStoreLocation.open(path: "keys.db"))
    /// ```
    public init(
        keyStore: KeyStore, policy: VerificationPolicy = .default,
        replayGuard: (any ReplayGuard)? = InMemoryReplayGuard(), configuration: Configuration = Configuration()
    ) {
        self.init(
            verifier: Verifier(resolver: keyStore, policy: policy, replayGuard: replayGuard),
            configuration: configuration)
    }

    /// Verifies `request`; refuses it or passes it on with the identity and a checked body.
    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // One pass over the field names serves the framing checks, the verifier's `Host` question and the
        // body checks: six lookups by name, each a walk comparing every field's name, were 2,000
        // instructions a request (Docs/Performance.md, session 58, helper 95).
        let framing = HeadFraming(request.head.headerFields)
        if let failure = Self.framingFailure(request.head, framing) { return refusal(failure, request: request) }
        if let limits = configuration.browserForms, BrowserFormUpload.isBrowserFormUpload(request) {
            return try await browserForm(request, limits: limits, context: context, next: next)
        }
        let now = configuration.clock()
        let result = await verifier.verify(
            VerificationRequest(request.head, hasHostField: framing.hasHost), payload: .streamed, now: now)
        if Self.needsBufferedBody(result, request: request) {
            // A service without x-amz-content-sha256 (everything but S3) signs the body's hash:
            // read the body (bounded), then verify again with it. Only this path changes the
            // request; the common one passes it on without a copy (a retain of each of its parts).
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.body.collect(upTo: configuration.maxBufferedBodySize)
            } catch is NIOTooManyBytesError {
                // Only a body over the limit is EntityTooLarge; a body that fails otherwise (the
                // client went away, an HTTP/2 stream reset) is not answered as one.
                return refusal(
                    VerificationFailure(
                        .bodyTooLarge, "The request body is too large to verify without x-amz-content-sha256",
                        details: [.init("MaxSizeAllowed", String(configuration.maxBufferedBodySize))]),
                    request: request)
            }
            request.body = RequestBody(buffer: buffer)
            let second = await verifier.verify(
                VerificationRequest(request.head), payload: .body(Array(buffer.readableBytesView)), now: now)
            return try await proceed(second, request: request, context: context, next: next, framing: framing)
        }
        return try await proceed(consume result, request: request, context: context, next: next, framing: framing)
    }

    /// A browser-form upload: its fields read and verified before any of its file is read (a form
    /// refused for its signature or policy is answered without reading the file), then passed on with
    /// the file as the body (``Configuration/browserFormFiles``: read whole and checked first, or
    /// checked as it streams) and the form in the context.
    func browserForm(
        _ request: Request, limits: BrowserFormUpload.Limits, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let upload: StreamingBrowserFormUpload
        let verified: VerifiedPostForm
        do throws(VerificationFailure) {
            let bucket = try BrowserFormUpload.bucket(of: request, policy: verifier.policy)
            upload = try await BrowserFormUpload.open(request, limits: limits)
            verified = try await verifier.verifyPostForm(upload.form, bucket: bucket, now: configuration.clock()).get()
        } catch {
            return refusal(error, request: request)
        }
        var head = request.head
        var context = context
        context.sigV4Form = verified
        let recorder = BodyFailureRecorder()
        var file = upload.file.checked(against: verified)
        file.recorder = recorder
        switch configuration.browserFormFiles {
        case .buffered:
            var whole = ByteBuffer()
            do {
                for try await bytes in file { whole.writeImmutableBuffer(bytes) }
            } catch let failure as VerificationFailure {
                return refusal(failure, request: request)
            } catch {
                // The body failed (the client went away): not a form to answer as one.
                return refusal(BrowserFormUpload.malformed("the body ended early"), request: request)
            }
            head.headerFields[.contentLength] = String(whole.readableBytes)
            return try await next(Request(head: head, body: RequestBody(buffer: whole)), context)
        case .streamed:
            head.headerFields[.contentLength] = nil
            do {
                return try await next(Request(head: head, body: RequestBody(asyncSequence: file)), context)
            } catch {
                if let failure = await recorder.failure { return refusal(failure, request: request) }
                if let failure = error as? VerificationFailure { return refusal(failure, request: request) }
                throw error
            }
        }
    }

    /// The rest of ``handle(_:context:next:)`` once `result` is known: the refusal, or the body
    /// checks, the identity in the context and the next responder.
    func proceed(
        _ result: consuming VerificationResult, request: Request, context: Context,
        next: (Request, Context) async throws -> Response, framing: HeadFraming? = nil
    ) async throws -> Response {
        // The verified request is moved out of the result and then into the context, not copied
        // (a copy is a retain of each of its strings, and a release).
        let verified: VerifiedRequest
        switch consume result {
        case .rejected(let failure):
            context.logger.debug(
                "sigv4 refused", metadata: ["sigv4.code": "\(failure.code.name)", "sigv4.access_key_id": "\(failure.accessKeyID ?? "-")"])
            if failure.code == .requestReplayed, configuration.retryableReplays, let signature = failure.replayedSignature,
                await failedAttempts.contains(signature, now: configuration.clock())
            {
                var response = refusal(Self.replayOfFailedAttempt(failure), request: request)
                response.headers[.retryAfter] = "1"
                return response
            }
            return refusal(failure, request: request)
        case .accepted(let v):
            verified = v
        }
        let checked: Request?
        let recorder: BodyFailureRecorder?
        let trailer: SigV4BodyTrailer?
        do {
            (checked, recorder, trailer) = try Self.checkedRequest(
                request, verified: verified, limit: configuration.maxBodySize, transport: configuration.transport,
                maxBufferedBodySize: configuration.maxBufferedBodySize, clock: configuration.clock, framing: framing)
        } catch {
            return refusal(error, request: request)
        }
        let signature = verified.signature
        var context = context
        context.sigV4 = consume verified
        context.sigV4Trailer = trailer
        do {
            // A request whose body needs no check goes on as it came (no copy).
            let response: Response
            if let checked { response = try await next(checked, context) } else { response = try await next(request, context) }
            // A handler that caught the body's failure (`try?`) and answered anyway: its answer is
            // replaced, as when the failure reaches here thrown.
            if let failure = await recorder?.failure {
                context.logger.debug("sigv4 body refused", metadata: ["sigv4.code": "\(failure.code.name)"])
                return refusal(failure, request: request)
            }
            if Self.clientsRetry(response.status) { await recordFailedAttempt(signature, recorder: recorder) }
            return response
        } catch {
            if let failure = await recorder?.failure {
                context.logger.debug("sigv4 body refused", metadata: ["sigv4.code": "\(failure.code.name)"])
                return refusal(failure, request: request)
            }
            if let failure = error as? VerificationFailure {
                return refusal(failure, request: request)
            }
            // Hummingbird answers the error with its status, or 500.
            if Self.clientsRetry((error as? any HTTPResponseError)?.status ?? .internalServerError) {
                await recordFailedAttempt(signature, recorder: recorder)
            }
            throw error
        }
    }

    /// True for the statuses SDKs retry: 429 and 500, 502, 503, 504.
    static func clientsRetry(_ status: HTTPResponse.Status) -> Bool {
        switch status.code {
        case 429, 500, 502, 503, 504: return true
        default: return false
        }
    }

    /// Remembers an accepted request's signature after a retryable answer, unless its body failed
    /// verification (then the request was not the signer's, and its replay is no retry).
    func recordFailedAttempt(_ signature: Signature, recorder: BodyFailureRecorder?) async {
        guard configuration.retryableReplays else { return }
        if let recorder, await recorder.failure != nil { return }
        await failedAttempts.record(signature, now: configuration.clock())
    }

    /// The refusal of a replay whose first use was answered with a retryable status: `SlowDown`,
    /// with the replay's details, so that the client signs again.
    static func replayOfFailedAttempt(_ replay: VerificationFailure) -> VerificationFailure {
        VerificationFailure(
            .slowDown,
            "This signed request was already used, and that attempt failed with a status clients retry. Retry after a second: the new signature will be accepted.",
            details: replay.details, accessKeyID: replay.accessKeyID)
    }

    /// True when verification needs the whole body: the hash is not declared in a header and the
    /// request has a body (a signed `Content-Length` of zero or no body at all verifies streamed).
    static func needsBufferedBody(_ result: VerificationResult, request: Request) -> Bool {
        // An accepted result is told apart without binding its case (a binding copies the whole
        // verified request); only a refusal's failure is read.
        if result.isAccepted { return false }
        guard case .rejected(let failure) = result else { return false }
        // Where the service requires x-amz-content-sha256 (S3) the same refusal is final: nothing
        // is read.
        guard failure.asksForBody, request.headers[HTTPField.Name("x-amz-content-sha256")!] == nil else { return false }
        if let length = request.headers[.contentLength] { return length != "0" }
        return request.headers[.transferEncoding] != nil
    }

    /// The refusal for a request head the middleware cannot verify as the application will read it, in
    /// one pass over the fields:
    ///
    /// - a `Host` field that is not the authority byte for byte (`InvalidRequest`, 400). NIO's HTTP/1
    ///   conversion makes the first of two `Host` headers the authority and leaves the second among the
    ///   fields; the verifier reads the field (a `Host` field wins over the authority), while the
    ///   application routes on `request.head.authority`. Over HTTP/2 it is an `:authority` and a
    ///   different `Host` (RFC 9113, section 8.3.1: malformed).
    /// - a transfer coding other than `chunked` alone (`NotImplemented`, 501, as S3 answers): the server
    ///   removes the chunked framing only, so the body would reach the handler still coded, and a
    ///   forwarder that drops the header would hand it on as content (RFC 9112, section 6.1).
    /// - a `Content-Length` that is not one decimal number (`InvalidRequest`, 400): `36, 36` (two
    ///   equal fields, which HTTP/2 lets through), `+5`, `-1`, or digits past `Int.max` (which a parse
    ///   took for no length at all: a body then went unbounded and, over `.http1`, unwatched).
    package static func framingFailure(_ head: HTTPRequest) -> VerificationFailure? {
        framingFailure(head, HeadFraming(head.headerFields))
    }

    /// ``framingFailure(_:)`` with the head's ``HeadFraming`` already read.
    static func framingFailure(_ head: HTTPRequest, _ framing: HeadFraming) -> VerificationFailure? {
        // Most requests have neither field (NIO's HTTP/1 conversion makes the first `Host` the
        // authority and leaves it out of the fields): the walk below, which copies each field (its
        // three strings retained and released), is taken only when one is there.
        let fields = head.headerFields
        // A length that is not one decimal number: over HTTP/2 two equal `content-length` fields pass
        // NIOHTTP2 and read as the list `36, 36`, which no parse takes for a length, so the body went
        // unframed (until 2026-12-06 the gateway forwarded such a request without its verified body).
        // NIO's HTTP/1 parser refuses such lists itself.
        if case .invalid = framing.length { return invalidContentLength() }
        guard framing.hasHost || framing.hasTransferEncoding else { return nil }
        var codings: [String] = []
        for field in fields {
            if field.name == .transferEncoding {
                codings.append(field.value)
            } else if field.name == hostFieldName, let authority = head.authority, !field.value.utf8.elementsEqual(authority.utf8) {
                return VerificationFailure(
                    .invalidRequest, "The request's Host header is not its authority: it has more than one Host header",
                    details: [.init("Header", "Host")])
            }
        }
        if !codings.isEmpty, !isChunked(codings.joined(separator: ",")) {
            return VerificationFailure(
                .notImplemented, "A header you provided implies functionality that is not implemented",
                details: [.init("Header", "Transfer-Encoding")])
        }
        return nil
    }

    /// The refusal of a `Content-Length` that ``ByteParsing/length(_:)-(String)`` does not read as a length.
    static func invalidContentLength() -> VerificationFailure {
        VerificationFailure(
            .invalidRequest, "The Content-Length header is not a single decimal number",
            details: [.init("Header", "Content-Length")])
    }

    /// True when the `Transfer-Encoding` value (its fields joined) is `chunked` alone, in any case,
    /// with optional spaces or tabs around it.
    static func isChunked(_ coding: String) -> Bool {
        var bytes = Substring(coding).utf8[...]
        while let b = bytes.first, b == 0x20 || b == 0x09 { bytes = bytes.dropFirst() }
        while let b = bytes.last, b == 0x20 || b == 0x09 { bytes = bytes.dropLast() }
        return bytes.count == 7 && zip(bytes, "chunked".utf8).allSatisfy { ($0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0) == $1 }
    }

    /// The error response for `failure`, in the configured format.
    func refusal(_ failure: VerificationFailure, request: Request) -> Response {
        configuration.errorFormat.response(
            for: failure, request: request.head, requestID: configuration.requestID(), resource: request.uri.path)
    }

    /// `request` with its body replaced by a verified (and, for aws-chunked, decoded) one, and the
    /// recorder of that body's failures and, for an aws-chunked body with a trailer, where its
    /// checksum goes; nil and no recorder when the body needs no check (the request then goes on as
    /// it came, not copied): one already verified or unsigned whose `Content-Length` is declared
    /// within the limit, since HTTP framing stops it at that length, or, over an HTTP/1.x
    /// `transport`, that declares no length and no transfer coding (no body at all).
    static func checkedRequest(
        _ request: Request, verified: VerifiedRequest, limit: Int?, transport: Configuration.Transport,
        maxBufferedBodySize: Int = 8 << 20, clock: @escaping @Sendable () -> AmzDate = Configuration.systemClock,
        framing: HeadFraming? = nil
    ) throws(VerificationFailure) -> (Request?, BodyFailureRecorder?, SigV4BodyTrailer?) {
        let framing = framing ?? HeadFraming(request.headers)
        let declaredLength: Int?
        switch framing.length {
        case .absent: declaredLength = nil
        case .declared(let length): declaredLength = length
        // (``framingFailure(_:)`` has refused such a length already; a length is never read as absent.)
        case .invalid: throw invalidContentLength()
        }
        if let limit, verified.payload != .awsChunked, verified.payload != .eventStream, let length = declaredLength,
            length > limit
        {
            // Refuse at once on the declared length, before a byte of the body is read.
            throw VerificationFailure(
                .bodyTooLarge, "Your proposed upload exceeds the maximum allowed size",
                details: [.init("MaxSizeAllowed", String(limit))])
        }
        let chunkedTransfer = framing.hasTransferEncoding
        let framed = declaredLength != nil && !chunkedTransfer
        // Neither header: over HTTP/1.x no body at all (RFC 9112, section 6.3); over HTTP/2 DATA
        // frames may still come.
        let unframed = declaredLength == nil && !chunkedTransfer
        // Verified without a declared body: the verifier took the headers' word that there is none,
        // so bytes that arrive anyway are checked, unless the transport rules them out.
        let declaredBodiless = verified.payload == .verified && unframed
        // Checksums declared in `x-amz-checksum-*` or `Content-MD5` and not checked yet (the body streams).
        let checksumVerifier = verified.makeChecksumVerifier()
        if verified.payload == .verified || verified.payload == .unsigned, checksumVerifier == nil,
            (transport == .http1 && unframed) || (!declaredBodiless && (limit == nil || framed))
        {
            return (nil, nil, nil)
        }
        var checked = request
        let recorder = BodyFailureRecorder()
        var trailer: SigV4BodyTrailer? = nil
        switch verified.payload {
        case .awsChunked:
            (checked, trailer) = try AWSChunkedRequestBody.decodedRequest(
                request, verified: verified, limit: limit, recorder: recorder)
        case .eventStream:
            checked = try EventStreamRequestBody.decodedRequest(
                request, verified: verified, limit: limit, recorder: recorder, maxBufferedBodySize: maxBufferedBodySize,
                now: clock)
        case .pending:
            checked.body = RequestBody(
                asyncSequence: VerifiedRequestBody(
                    base: request.body, payloadVerifier: verified.makePayloadVerifier(),
                    checksumVerifier: checksumVerifier, limit: limit, recorder: recorder))
        case .verified, .unsigned:
            checked.body = RequestBody(
                asyncSequence: VerifiedRequestBody(
                    base: request.body, payloadVerifier: nil,
                    hashIfBytesArrive: declaredBodiless ? verified.payloadHash : nil, checksumVerifier: checksumVerifier,
                    limit: limit, recorder: recorder))
        }
        return (checked, recorder, trailer)
    }

    /// 16 random hex digits.
    public static func randomRequestID() -> String {
        let value = UInt64.random(in: UInt64.min...UInt64.max)
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// `Host` (HTTPTypes marks its own `.host` unavailable: HTTP/2 and HTTP/3 carry the authority instead).
let hostFieldName = HTTPField.Name("Host")!

/// What the middleware needs to know of a request head's framing fields, read in one pass over the
/// field names: `Content-Length` (its value read only when it is there), whether `Transfer-Encoding`
/// and `Host` are there. The same answers as a lookup by name for each (`fields[.contentLength]`,
/// `fields.contains(_:)`), each of which walks every field comparing its name, without the walks.
struct HeadFraming {
    /// A request's `Content-Length`, as ``ByteParsing/length(_:)-(String)`` reads its fields' values
    /// joined with `, ` (the lookup's answer).
    enum Length {
        /// No `Content-Length` field.
        case absent
        /// One field, one decimal number.
        case declared(Int)
        /// Not one decimal number: a value that is not, or more than one field (joined, `36, 36`).
        case invalid
    }

    /// The declared length.
    var length = Length.absent
    /// True when there is a `Transfer-Encoding` field.
    var hasTransferEncoding = false
    /// True when there is a `Host` field.
    var hasHost = false

    /// Reads `fields`' names once; a name is compared only with the framing name of its length
    /// (canonical names are lowercase).
    init(_ fields: HTTPFields) {
        var lengthIndex: Int?
        var lengthFields = 0
        for i in fields.indices {
            let name = fields[i].name.canonicalName
            switch name.utf8.count {
            case 4: if name == "host" { hasHost = true }
            case 14: if name == "content-length" { lengthFields += 1; lengthIndex = i }
            case 17: if name == "transfer-encoding" { hasTransferEncoding = true }
            default: break
            }
        }
        guard let lengthIndex else { return }
        // Two fields or more read joined (`36, 36`), which no parse takes for a length.
        if lengthFields == 1, let declared = ByteParsing.length(fields[lengthIndex].value) {
            length = .declared(declared)
        } else {
            length = .invalid
        }
    }
}
