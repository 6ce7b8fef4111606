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
    public var accessKeyID: String
    /// The key's owner, from the resolver.
    public var principal: String
    /// The credential scope of the signature.
    public var scope: CredentialScope {
        get { scopeOverride ?? signingKey.scope }
        set { scopeOverride = newValue }
    }
    /// A scope set by the caller; nil (the verifier's result): the signing key's, which is the
    /// request's (one copy of its strings in a result, not two).
    var scopeOverride: CredentialScope? = nil
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
    public var diagnostics: VerificationFailure.Diagnostics?
    /// The key that verified, for chunk signatures (never printed).
    package var signingKey: SigningKey
    /// True when the request was signed with SigV4a (`AWS4-ECDSA-P256-SHA256`). ``scope``'s region
    /// is then the signed `X-Amz-Region-Set` value as sent (`us-east-1,us-west-2`, `*`).
    public var isSigV4a: Bool = false
    /// The body's checksum declared in an `x-amz-checksum-<algorithm>` header (see
    /// ``DeclaredChecksum``). Checked already when the body was given to the verifier; otherwise
    /// ``makeChecksumVerifier()`` checks it as the body streams, and on an aws-chunked upload (where
    /// it is the decoded body's) the decoder from ``makeChunkedDecoder(for:limits:)`` does.
    public var declaredChecksum: DeclaredChecksum? = nil
    /// The body's `Content-MD5`; checked like ``declaredChecksum``.
    public var contentMD5: DeclaredChecksum? = nil
    /// True when the verifier checked ``declaredChecksum`` and ``contentMD5`` against the body it
    /// was given.
    public var checksumVerified: Bool = false
    /// SigV4a aws-chunked uploads: the key pair that verifies the chunk signatures and the seed
    /// signature they chain on; event streams: the secret that derives each message's day key (one
    /// reference: a result without it costs a nil check to release).
    package var streamSeed: StreamSeed? = nil
    /// The bucket the `Host` names by virtual-hosted-style addressing
    /// (``VerificationPolicy/virtualHostedStyle``; `photos` for `photos.s3.example.com`), nil for
    /// path style. The key's path prefixes were checked against the path of
    /// ``pathStyleTarget(_:)``.
    public var bucket: String? = nil

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

/// What a SigV4a aws-chunked upload's chunk signatures are checked with: the key pair derived from
/// the secret, and the seed request's signature (hex) the first chunk chains on.
package final class StreamSeed: Sendable {
    /// SigV4a aws-chunked: the key pair and the seed signature (hex DER).
    let sigV4a: (key: SigV4aSigningKey, signature: String)?
    /// An event stream: the key's secret (never printed), for the day keys of messages dated after
    /// the request's day.
    let eventStreamSecret: SecretAccessKey?

    init(key: SigV4aSigningKey, signature: String) {
        sigV4a = (key, signature)
        eventStreamSecret = nil
    }

    init(eventStreamSecret: SecretAccessKey) {
        sigV4a = nil
        self.eventStreamSecret = eventStreamSecret
    }
}
