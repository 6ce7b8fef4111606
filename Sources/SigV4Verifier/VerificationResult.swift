public import SigV4
import _SigV4Crypto

/// The verdict on one request.
///
/// ```swift
/// switch await verifier.verify(request, payload: .body(body), now: now) {
/// case .accepted(let verified): print("hello", verified.principal)
/// case .rejected(let failure): print(failure.code, failure.message)
/// }
/// ```
public enum VerificationResult: Sendable {
    /// The signature and every policy check passed.
    case accepted(VerifiedRequest)
    /// A check failed.
    case rejected(VerificationFailure)

    /// The accepted request, or nil.
    public var verified: VerifiedRequest? {
        if case .accepted(let v) = self { return v }
        return nil
    }

    /// The failure, or nil.
    public var failure: VerificationFailure? {
        if case .rejected(let f) = self { return f }
        return nil
    }

    /// True when accepted. (Matched without binding: `verified != nil` would copy the request.)
    public var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}

/// A request whose signature verified: who signed it, for what scope, and what remains to check.
///
/// ```swift
/// if case .accepted(let verified) = result, verified.payload.needsCheck {
///     var hasher = verified.makePayloadVerifier()!
///     for try await chunk in body { hasher.update(chunk) }
///     try hasher.finalize()   // XAmzContentSHA256Mismatch on a bad body
/// }
/// ```
public struct VerifiedRequest: Sendable {
    /// The access key id that signed.
    public var accessKeyID: String {
        get { credential.accessKeyID }
        set { credential.accessKeyID = newValue }
    }
    /// The key's owner, from the resolver.
    public var principal: String {
        get { credential.principal }
        set { credential.principal = newValue }
    }
    /// The resolver's credential, which holds ``accessKeyID`` and ``principal``: one reference
    /// (a result is destroyed once per verification, and each string of its own was a release).
    var credential: ResolvedCredential
    /// The credential scope of the signature.
    public var scope: CredentialScope {
        get { rare?.scope ?? second.key.scope }
        set { rare = RareFields.make(scope: newValue, diagnostics: rare?.diagnostics, from: rare) }
    }
    /// The signed header names, lowercase and sorted.
    public var signedHeaders: [String] {
        get { ClaimedAuthorization.names(signedHeadersLine) }
        set { signedHeadersLine = newValue.joined(separator: ";") }
    }
    /// The `SignedHeaders` value (the names joined by `;`): kept as the request carries it (a
    /// slice of the `Authorization` value or of the target, no copy), made a string when read and
    /// split when ``signedHeaders`` is read.
    ///
    /// ```swift
    /// print(verified.signedHeadersLine)  // host;x-amz-content-sha256;x-amz-date
    /// ```
    public var signedHeadersLine: String {
        get { signedHeadersText.string }
        set { signedHeadersText = SignedHeadersText(newValue) }
    }
    var signedHeadersText: SignedHeadersText
    /// The signing time (`X-Amz-Date`).
    public var signedAt: AmzDate
    /// True for a presigned (query-string) request.
    public var isPresigned: Bool
    /// `X-Amz-Expires` for presigned requests.
    public var expires: Int?
    /// The signature that verified. For SigV4a, SHA-256 of the string to sign and the access key
    /// id instead: it identifies the request (the replay guard's key), where an ECDSA signature is
    /// randomized and malleable.
    public var signature: Signature
    /// The payload hash line that was signed.
    public var payloadHash: PayloadHash
    /// What remains to be checked about the body.
    public var payload: PayloadStatus
    /// The `+` policy under which the query matched.
    public var plusPolicy: URIEncoding.PlusPolicy
    /// How the target was read into the canonical request that matched.
    public var canonicalForm: CanonicalForm
    /// The canonical request and string to sign, when the policy asks for diagnostics.
    public var diagnostics: VerificationFailure.Diagnostics? {
        get { rare?.diagnostics }
        set { rare = RareFields.make(scope: rare?.scope, diagnostics: newValue, from: rare) }
    }
    /// The key that verified, for chunk signatures (never printed).
    package var signingKey: SigningKey { second.key }
    /// The key cache's second that holds the key (``signingKey``, and the request's scope): one
    /// reference, where the key itself is four (its MAC key and its scope's three strings).
    let second: SigningSecond
    /// True when the request was signed with SigV4a (`AWS4-ECDSA-P256-SHA256`). ``scope``'s region
    /// is then the signed `X-Amz-Region-Set` value as sent (`us-east-1,us-west-2`, `*`).
    public var isSigV4a: Bool
    /// The body's checksum declared in an `x-amz-checksum-<algorithm>` header (see
    /// ``DeclaredChecksum``). Checked already when the body was given to the verifier; otherwise
    /// ``makeChecksumVerifier()`` checks it as the body streams, and on an aws-chunked upload (where
    /// it is the decoded body's) the decoder from ``makeChunkedDecoder(for:limits:)`` does.
    public var declaredChecksum: DeclaredChecksum?
    /// The body's `Content-MD5`; checked like ``declaredChecksum``.
    public var contentMD5: DeclaredChecksum?
    /// True when the verifier checked ``declaredChecksum`` and ``contentMD5`` against the body it
    /// was given.
    public var checksumVerified: Bool
    /// SigV4a aws-chunked uploads: the key pair that verifies the chunk signatures and the seed
    /// signature (hex DER) they chain on.
    package var sigV4aSeed: (key: SigV4aSigningKey, signature: String)? { rare?.sigV4aSeed }
    /// Event streams: the secret that derives each message's day key (never printed).
    package var eventStreamSecret: SecretAccessKey? { rare?.eventStreamSecret }
    /// What few results carry (a scope set by the caller, diagnostics, a stream's seed), nil on
    /// the usual one: one reference, where the fields were a nil check or a release each when a
    /// result is destroyed, and 80 bytes more to move.
    var rare: RareFields?
    /// The bucket the `Host` names by virtual-hosted-style addressing
    /// (``VerificationPolicy/virtualHostedStyle``; `photos` for `photos.s3.example.com`), nil for
    /// path style. The key's path prefixes were checked against the path of
    /// ``pathStyleTarget(_:)``.
    public var bucket: String?

    /// A verified request. `sigV4aSeed` and `eventStreamSecret`: see ``sigV4aSeed`` and
    /// ``eventStreamSecret``; `second`: the key cache's second whose key verified.
    init(
        credential: ResolvedCredential, signedHeadersText: SignedHeadersText, signedAt: AmzDate, isPresigned: Bool,
        expires: Int?, signature: Signature, payloadHash: PayloadHash, payload: PayloadStatus,
        plusPolicy: URIEncoding.PlusPolicy, canonicalForm: CanonicalForm, diagnostics: VerificationFailure.Diagnostics?,
        second: SigningSecond, isSigV4a: Bool = false, declaredChecksum: DeclaredChecksum?,
        contentMD5: DeclaredChecksum?, checksumVerified: Bool,
        sigV4aSeed: (key: SigV4aSigningKey, signature: String)? = nil, eventStreamSecret: SecretAccessKey? = nil,
        bucket: String?
    ) {
        self.credential = credential
        self.signedHeadersText = signedHeadersText
        self.signedAt = signedAt
        self.isPresigned = isPresigned
        self.expires = expires
        self.signature = signature
        self.payloadHash = payloadHash
        self.payload = payload
        self.plusPolicy = plusPolicy
        self.canonicalForm = canonicalForm
        self.second = second
        self.isSigV4a = isSigV4a
        self.declaredChecksum = declaredChecksum
        self.contentMD5 = contentMD5
        self.checksumVerified = checksumVerified
        self.bucket = bucket
        rare = RareFields.make(
            scope: nil, diagnostics: diagnostics, sigV4aSeed: sigV4aSeed, eventStreamSecret: eventStreamSecret)
    }

    /// The request target (`/path?query`, as sent) in path style: `/<bucket>` before it when the
    /// `Host` named a ``bucket`` (`/cat.jpg?acl` at `photos.s3.example.com` is
    /// `/photos/cat.jpg?acl`), the target itself otherwise.
    ///
    /// ```swift
    /// let upstreamTarget = verified.pathStyleTarget(request.path ?? "/")
    /// ```
    public func pathStyleTarget(_ target: String) -> String { bucket.map { "/\($0)\(target)" } ?? target }

    /// SigV4a only: the signed `X-Amz-Region-Set` entries.
    public var regionSet: [String]? {
        isSigV4a ? scope.region.split(separator: ",", omittingEmptySubsequences: false).map(String.init) : nil
    }

    /// The state of the body check.
    public enum PayloadStatus: Sendable, Hashable {
        /// The body was given and matched, or the request has no body: no `Content-Length` above
        /// zero and no `Transfer-Encoding`, with the empty body's hash signed. HTTP/1.1 framing then
        /// carries no body; a transport that can carry one without those headers (HTTP/2) should
        /// check any bytes that arrive against ``VerifiedRequest/payloadHash``, as the Hummingbird
        /// middleware does.
        case verified
        /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature.
        case unsigned
        /// The body must be streamed through ``VerifiedRequest/makePayloadVerifier()``.
        case pending
        /// An aws-chunked body (`STREAMING-*`): decode it with the chunked-body verifier.
        case awsChunked
        /// An event stream (`STREAMING-AWS4-HMAC-SHA256-EVENTS`): read it through
        /// ``VerifiedRequest/makeEventStreamDecoder(limits:clock:)``, which releases each message
        /// after its signature verified.
        case eventStream
        /// True when the caller still has to check the body.
        public var needsCheck: Bool { self == .pending || self == .awsChunked || self == .eventStream }
    }

    /// A hasher for the body when ``payload`` is ``PayloadStatus/pending``, else nil.
    public func makePayloadVerifier() -> PayloadVerifier? {
        guard payload == .pending, let digest = payloadHash.digest else { return nil }
        return PayloadVerifier(expected: digest)
    }

    /// A checker for the body's ``declaredChecksum`` and ``contentMD5`` when they are still to be
    /// checked, else nil (also for an aws-chunked body: its decoder checks them).
    ///
    /// ```swift
    /// var checksum = verified.makeChecksumVerifier()
    /// for try await buffer in body { buffer.withUnsafeReadableBytes { checksum?.update($0) } }
    /// try checksum?.finalize()   // BadDigest
    /// ```
    public func makeChecksumVerifier() -> ChecksumVerifier? {
        // An aws-chunked body's are checked by its decoder (``makeChunkedDecoder(for:limits:)``).
        guard !checksumVerified, payload != .awsChunked, !declaredChecksums.isEmpty else { return nil }
        return ChecksumVerifier(declaredChecksums)
    }

    /// ``declaredChecksum`` and ``contentMD5``, those that are set (no array made when neither is).
    public var declaredChecksums: [DeclaredChecksum] {
        guard declaredChecksum != nil || contentMD5 != nil else { return [] }
        return [declaredChecksum, contentMD5].compactMap { $0 }
    }
}

/// Checks a body against the signed `x-amz-content-sha256` while it streams.
///
/// Feed every body byte to ``update(_:)-(UnsafeRawBufferPointer)`` in order, then call
/// ``finalize()``; only then is the body known to be the one that was signed. Memory use is
/// constant.
///
/// ```swift
/// var hasher = PayloadVerifier(expectedHex: "44ce7dd6…")!
/// hasher.update(Array("Welcome to Amazon S3.".utf8))
/// try hasher.finalize()
/// ```
public struct PayloadVerifier: Sendable {
    var hasher = SHA256()
    let expected: SHA256Digest
    /// Bytes fed so far.
    public private(set) var byteCount: Int = 0

    init(expected: SHA256Digest) { self.expected = expected }

    /// A verifier for a hex SHA-256, or nil when `expectedHex` is not 64 hex digits.
    public init?(expectedHex: String) {
        guard let d = SHA256Digest(hex: expectedHex) else { return nil }
        self.init(expected: d)
    }

    /// Feeds body bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        byteCount += bytes.count
        hasher.update(bytes)
    }

    /// Feeds body bytes.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes; throws `XAmzContentSHA256Mismatch` when the body differs from the signed hash.
    public mutating func finalize() throws(VerificationFailure) {
        let got = hasher.finalize()
        guard got.constantTimeEquals(expected) else {
            throw VerificationFailure(
                .xAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.",
                details: [.init("ClientComputedContentSHA256", expected.hex), .init("S3ComputedContentSHA256", got.hex)])
        }
    }
}

/// How the verifier read the request target into the canonical request that matched.
///
/// ``standard`` is the AWS rule. The others are the readings of widely used signers, tried only
/// after the standard one fails (see `Docs/Verifier.md`). A service that gives `+` or escapes a
/// meaning should read the query the same way the signature did.
///
/// ```swift
/// if verified.canonicalForm != .standard { log.info("non-canonical signer: \(verified.canonicalForm)") }
/// ```
public enum CanonicalForm: String, Sendable, Hashable {
    /// The AWS rule (with ``VerifiedRequest/plusPolicy`` for `+`).
    case standard
    /// Lowercase `%xx` escapes in the query were signed uppercased.
    case uppercasedEscapes
    /// The query was signed decoded and encoded again (awscrt: `%7e` → `~`).
    case reencodedQuery
    /// The raw query was signed as is, sorted, a parameter without a value as `name=` (botocore
    /// header auth).
    case verbatimQuery
    /// The raw path was signed as is (botocore for S3, curl).
    case verbatimPath
    /// Both raw.
    case verbatimPathAndQuery
    /// The query was signed exactly as sent: in its order, a parameter without a value as `name`
    /// (curl 7.x `--aws-sigv4`, Debian 12's curl 7.88).
    case queryAsSent
    /// The raw path and the query exactly as sent (curl 7.x for every service).
    case pathAndQueryAsSent
    /// Under rules that encode the path once (S3), the path was signed percent-decoded and encoded
    /// again: the object key's own encoding (node's aws4: `/%7e/a%2Fb` → `/~/a/b`; S3-style servers
    /// such as MinIO compute it this way). A `+` stays a `+`.
    case reencodedPath
    /// Under rules that normalize the path, the path was signed encoded by the rules but not
    /// normalized: its `.` and `..` segments and `//` kept (the AWS SDK for Go v2's signer).
    case unnormalizedPath
    /// The path encoded but not normalized, and the query exactly as sent (the AWS SDK for Go v2
    /// sorts a repeated parameter's values decoded, so its order can differ from the AWS rule's).
    case unnormalizedPathAndQueryAsSent
    /// The path encoded but not normalized, and the raw query sorted (Ruby's aws-sigv4, which
    /// neither normalizes the path nor encodes the query).
    case unnormalizedPathAndVerbatimQuery
}

/// The fields of a ``VerifiedRequest`` that few results carry, behind one immutable reference
/// (a setter makes a new one): ``VerifiedRequest/scope`` when the caller set it, the diagnostics
/// the policy asks for, and a stream's seed. Never made when all are nil.
final class RareFields: Sendable {
    /// A scope set by the caller; nil: the signing key's, which is the request's.
    let scope: CredentialScope?
    /// The canonical request and string to sign (``VerificationPolicy/includeDiagnostics``).
    let diagnostics: VerificationFailure.Diagnostics?
    /// SigV4a aws-chunked: the key pair and the seed signature (hex DER).
    let sigV4aSeed: (key: SigV4aSigningKey, signature: String)?
    /// An event stream: the key's secret (never printed), for the day keys of messages dated after
    /// the request's day.
    let eventStreamSecret: SecretAccessKey?

    private init(
        scope: CredentialScope?, diagnostics: VerificationFailure.Diagnostics?,
        sigV4aSeed: (key: SigV4aSigningKey, signature: String)?, eventStreamSecret: SecretAccessKey?
    ) {
        self.scope = scope
        self.diagnostics = diagnostics
        self.sigV4aSeed = sigV4aSeed
        self.eventStreamSecret = eventStreamSecret
    }

    /// The fields, or nil when none is set (no allocation for the usual result).
    static func make(
        scope: CredentialScope?, diagnostics: VerificationFailure.Diagnostics?,
        sigV4aSeed: (key: SigV4aSigningKey, signature: String)?, eventStreamSecret: SecretAccessKey?
    ) -> RareFields? {
        guard scope != nil || diagnostics != nil || sigV4aSeed != nil || eventStreamSecret != nil else { return nil }
        return RareFields(
            scope: scope, diagnostics: diagnostics, sigV4aSeed: sigV4aSeed, eventStreamSecret: eventStreamSecret)
    }

    /// `old`'s fields with `scope` and `diagnostics` replaced (a setter's), or nil when none is set.
    static func make(
        scope: CredentialScope?, diagnostics: VerificationFailure.Diagnostics?, from old: RareFields?
    ) -> RareFields? {
        make(
            scope: scope, diagnostics: diagnostics, sigV4aSeed: old?.sigV4aSeed,
            eventStreamSecret: old?.eventStreamSecret)
    }
}
