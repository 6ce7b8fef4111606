public import SigV4

/// Every check the verifier makes, with the defaults from the design.
///
/// All fields are plain values; change the ones you need.
///
/// | field | default |
/// |---|---|
/// | ``allowedRegions`` / ``allowedServices`` | any (empty set) |
/// | ``maxClockSkew`` | 900 s (±15 min), header auth only |
/// | ``maxPresignExpires`` | 604 800 s (7 days) |
/// | ``allowHeaderAuth`` / ``allowPresigned`` | true / true |
/// | ``allowSigV4a`` | true (SigV4a, `AWS4-ECDSA-P256-SHA256`, header and presigned) |
/// | ``requireScopeDateMatch`` | true (the credential scope's date is `X-Amz-Date`'s day) |
/// | ``requireSignedHost`` | true |
/// | ``requireSignedAmzHeaders`` | true, exempting ``unsignedAmzHeaderExemptions`` (empty) |
/// | ``allowUnsignedPayload`` | true |
/// | ``allowStreamingPayload`` | true |
/// | ``allowEventStreams`` | true (`STREAMING-AWS4-HMAC-SHA256-EVENTS`: signed event-stream messages) |
/// | ``eventStreamPaths`` | Transcribe streaming's paths (read as event streams without a declaration) |
/// | ``presignedSingleUse`` | false (presigned URLs may be used until they expire) |
/// | ``presignWithoutExpires`` | `iotdevicegateway` (AWS IoT's presigned WebSocket handshakes carry no `X-Amz-Expires`) |
/// | ``acceptDateHeader`` | true (RFC 1123 `Date` when `X-Amz-Date` is absent) |
/// | ``plusPolicies`` | literal, then space, then verbatim |
/// | ``acceptVerbatimForms`` | true (botocore's and curl's raw path and query readings) |
/// | ``includeDiagnostics`` | false |
/// | ``virtualHostedStyle`` | nil (every request path style) |
/// | ``verifyBodyChecksums`` | true (`x-amz-checksum-*` and `Content-MD5` checked against the body, decoded when aws-chunked) |
///
/// ```swift
/// var policy = VerificationPolicy()
/// policy.allowedRegions = ["us-east-1"]
/// policy.allowedServices = ["s3"]
/// policy.presignedSingleUse = true
/// ```
public struct VerificationPolicy: Sendable, Hashable {
    /// Regions this endpoint serves (empty: any).
    public var allowedRegions: Set<String>
    /// Service signing names this endpoint serves (empty: any).
    public var allowedServices: Set<String>
    /// Largest accepted difference between `X-Amz-Date` and now, in seconds (header auth), held to
    /// 0 through ``maxClockSkewLimit`` (a value outside is clamped: the replay guard keeps each
    /// signature this long, and the time arithmetic stays far from overflow).
    public var maxClockSkew: Int64 {
        didSet { maxClockSkew = min(max(maxClockSkew, 0), Self.maxClockSkewLimit) }
    }
    /// The largest ``maxClockSkew``: a week, as the longest presigned URL.
    public static let maxClockSkewLimit: Int64 = 604_800
    /// Largest accepted `X-Amz-Expires`, in seconds (at most 604 800).
    public var maxPresignExpires: Int
    /// Accept `Authorization: AWS4-HMAC-SHA256 …`.
    public var allowHeaderAuth: Bool
    /// Accept presigned (query-string) requests.
    public var allowPresigned: Bool
    /// The credential scope's date must be the day of the request's `X-Amz-Date` (or `Date`), as
    /// AWS requires: otherwise `AuthorizationHeaderMalformed` (header auth) or
    /// `AuthorizationQueryParametersError` (presigned), before the key is looked up.
    ///
    /// Turn it off only to diagnose a request, as `sigv4 explain --captured` does to show the
    /// stages of one a verifier refuses: the signature is still computed and compared (with the key
    /// of the scope's own day and the string to sign's `X-Amz-Date`), and the time checks still
    /// read `X-Amz-Date`, so a request signed with an old day's derived key would pass them. A
    /// browser POST form's `x-amz-credential` date is always checked.
    ///
    /// ```swift
    /// var diagnosis = VerificationPolicy()
    /// diagnosis.requireScopeDateMatch = false   // show why such a request's signature fails too
    /// ```
    public var requireScopeDateMatch: Bool = true
    /// `host` must be in the signed headers.
    public var requireSignedHost: Bool
    /// Every `x-amz-*` header present must be signed.
    public var requireSignedAmzHeaders: Bool
    /// Lowercase `x-amz-*` names that may be present unsigned. Keep this short.
    public var unsignedAmzHeaderExemptions: Set<String>
    /// Accept bodies no signature covers: `UNSIGNED-PAYLOAD`, and `STREAMING-UNSIGNED-PAYLOAD-TRAILER`
    /// (aws-chunked with only a checksum trailer, which awscli and the SDKs send by default over
    /// HTTPS; it also needs ``allowStreamingPayload``).
    public var allowUnsignedPayload: Bool
    /// Accept the `STREAMING-*` (aws-chunked) payload modes.
    public var allowStreamingPayload: Bool
    /// Accept `STREAMING-AWS4-HMAC-SHA256-EVENTS`: a body of event-stream messages, each signed and
    /// chained on the request's signature (Transcribe streaming, Lex, Bedrock agents). Such a
    /// request verifies with ``VerifiedRequest/PayloadStatus/eventStream``, and its body must go
    /// through ``VerifiedRequest/makeEventStreamDecoder(limits:clock:)``; off, it is refused with
    /// `AccessDenied`.
    public var allowEventStreams: Bool = true
    /// Paths (exactly as in the request target, without the query) whose requests, when they
    /// declare no `x-amz-content-sha256`, are read as signed event streams whatever their
    /// `Content-Type`: AWS's Python Transcribe SDK (amazon-transcribe) signs its
    /// `/stream-transcription` request with the empty body's hash and no `Content-Type`, then
    /// streams signed messages over HTTP/2. Default: Transcribe streaming's three operations
    /// (``transcribeStreamingPaths``); empty: only the `Content-Type` says so.
    public var eventStreamPaths: Set<String> = VerificationPolicy.transcribeStreamingPaths

    /// `/stream-transcription`, `/medical-stream-transcription` and
    /// `/call-analytics-stream-transcription`.
    public static let transcribeStreamingPaths: Set<String> = [
        "/stream-transcription", "/medical-stream-transcription", "/call-analytics-stream-transcription",
    ]
    /// Remember presigned signatures too, so each presigned URL works once (needs a replay guard).
    public var presignedSingleUse: Bool
    /// Service signing names whose presigned requests may leave out `X-Amz-Expires` (by default
    /// `iotdevicegateway`: the AWS IoT Device SDKs presign their MQTT-over-WebSocket handshake
    /// without it, and AWS IoT accepts it). Such a request is held to a header signature's rules:
    /// its `X-Amz-Date` within ``maxClockSkew`` of now (`RequestTimeTooSkewed`), and its signature
    /// remembered by the replay guard. For any other service a missing `X-Amz-Expires` is
    /// `AuthorizationQueryParametersError`, as S3 answers.
    ///
    /// ```swift
    /// policy.presignWithoutExpires = []   // every presigned URL must say how long it lives
    /// ```
    public var presignWithoutExpires: Set<String> = ["iotdevicegateway"]
    /// Use an RFC 1123 `Date` header when `X-Amz-Date` is absent (header auth).
    public var acceptDateHeader: Bool
    /// The `+` policies tried, in order, when the query holds a `+` or a lowercase `%xx`
    /// escape and the first attempt does not match. The first is always tried.
    public var plusPolicies: [URIEncoding.PlusPolicy]
    /// After the spec reading fails, also try the raw path and raw query as botocore and curl
    /// sign them (``CanonicalForm``). The signature must still match exactly.
    public var acceptVerbatimForms: Bool
    /// Canonicalization rules per service signing name; services not listed use ``ServiceRules/forService(_:)``.
    public var serviceRules: [String: ServiceRules]
    /// Attach the server's canonical request and string to sign to `SignatureDoesNotMatch`
    /// rejections and to accepted results. For operators; never holds a secret.
    public var includeDiagnostics: Bool
    /// Accept SigV4a (`AWS4-ECDSA-P256-SHA256`) signatures, verified with the key pair derived
    /// from the resolved secret; the request's region set must name a region in
    /// ``allowedRegions`` (when it is not empty) and in the key's scope.
    public var allowSigV4a: Bool = true
    /// Check the body (decoded, when aws-chunked) against its `x-amz-checksum-<algorithm>` and
    /// `Content-MD5` headers, as S3 does (``DeclaredChecksum``); off, those headers are not read.
    public var verifyBodyChecksums: Bool = true
    /// The domains under which a `Host` names a bucket (`photos.s3.example.com`): the bucket is
    /// read from the signed `Host`, a key's path prefixes apply to the path-style path
    /// (`/photos/key`), and ``VerifiedRequest/bucket`` carries it. Nil: every request is path style.
    public var virtualHostedStyle: VirtualHostedStyle? = nil

    /// Creates a policy with the defaults.
    public init(
        allowedRegions: Set<String> = [], allowedServices: Set<String> = [], maxClockSkew: Int64 = 900,
        maxPresignExpires: Int = 604_800, allowHeaderAuth: Bool = true, allowPresigned: Bool = true,
        requireSignedHost: Bool = true, requireSignedAmzHeaders: Bool = true,
        unsignedAmzHeaderExemptions: Set<String> = [], allowUnsignedPayload: Bool = true,
        allowStreamingPayload: Bool = true, presignedSingleUse: Bool = false, acceptDateHeader: Bool = true,
        plusPolicies: [URIEncoding.PlusPolicy] = [.literal, .space, .verbatim], acceptVerbatimForms: Bool = true,
        serviceRules: [String: ServiceRules] = [:], includeDiagnostics: Bool = false
    ) {
        self.allowedRegions = allowedRegions
        self.allowedServices = allowedServices
        self.maxClockSkew = min(max(maxClockSkew, 0), Self.maxClockSkewLimit)
        self.maxPresignExpires = min(maxPresignExpires, 604_800)
        self.allowHeaderAuth = allowHeaderAuth
        self.allowPresigned = allowPresigned
        self.requireSignedHost = requireSignedHost
        self.requireSignedAmzHeaders = requireSignedAmzHeaders
        self.unsignedAmzHeaderExemptions = unsignedAmzHeaderExemptions
        self.allowUnsignedPayload = allowUnsignedPayload
        self.allowStreamingPayload = allowStreamingPayload
        self.presignedSingleUse = presignedSingleUse
        self.acceptDateHeader = acceptDateHeader
        self.plusPolicies = plusPolicies.isEmpty ? [.literal] : plusPolicies
        self.acceptVerbatimForms = acceptVerbatimForms
        self.serviceRules = serviceRules
        self.includeDiagnostics = includeDiagnostics
    }

    /// The defaults.
    public static let `default` = VerificationPolicy()

    /// The rules for a service signing name.
    public func rules(for service: String) -> ServiceRules {
        (serviceRules.isEmpty ? nil : serviceRules[service]) ?? ServiceRules.forService(service)
    }
}
