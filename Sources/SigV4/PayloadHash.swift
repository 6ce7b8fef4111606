package import _SigV4Crypto

/// The last line of a canonical request: how the body is covered by the signature.
///
/// AWS documentation: "Create a canonical request", `HashedPayload`, and the S3
/// pages on `x-amz-content-sha256` (unsigned payloads and streaming uploads).
///
/// ```swift
/// let hash = PayloadHash.sha256(of: Array("Welcome to Amazon S3.".utf8))
/// let unsigned = PayloadHash.unsignedPayload
/// ```
public struct PayloadHash: Sendable, Hashable, CustomStringConvertible {
    /// The text that appears in the canonical request and in `x-amz-content-sha256`.
    public let value: String

    private init(unchecked value: String) { self.value = value }

    /// `UNSIGNED-PAYLOAD`.
    public static let unsignedPayload = PayloadHash(unchecked: "UNSIGNED-PAYLOAD")
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` (signed aws-chunked).
    public static let streamingSigned = PayloadHash(unchecked: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER` (signed aws-chunked with a signed trailer).
    public static let streamingSignedTrailer = PayloadHash(unchecked: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (unsigned aws-chunked with a checksum trailer).
    public static let streamingUnsignedTrailer = PayloadHash(unchecked: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    /// `STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`: aws-chunked with SigV4a (ECDSA) chunk signatures
    /// (``SigV4aChunkSigner``).
    public static let streamingECDSASigned = PayloadHash(unchecked: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
    /// `STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER`: SigV4a chunk signatures and a signed
    /// trailer.
    public static let streamingECDSASignedTrailer = PayloadHash(
        unchecked: "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
    /// `STREAMING-AWS4-HMAC-SHA256-EVENTS`: an event-stream body whose messages are signed one by
    /// one (``EventStreamSigner``), each chained on the request's signature.
    public static let streamingEvents = PayloadHash(unchecked: "STREAMING-AWS4-HMAC-SHA256-EVENTS")
    /// SHA-256 of the empty body. Written as a literal: a literal's storage is immortal, so the
    /// copies a verification makes of this value (its candidates, its match, its result) neither
    /// retain nor release it, where a string made at run time pays an atomic pair per copy.
    public static let emptySHA256 = PayloadHash(
        unchecked: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

    /// The constants that are not a hex digest.
    public static let constants: [PayloadHash] = [
        .unsignedPayload, .streamingSigned, .streamingSignedTrailer, .streamingUnsignedTrailer, .streamingECDSASigned,
        .streamingECDSASignedTrailer, .streamingEvents,
    ]

    /// The hex SHA-256 of `body`.
    public static func sha256<Bytes: Collection<UInt8>>(of body: Bytes) -> PayloadHash {
        let digest = body.withContiguousStorageIfAvailable { SHA256.hash(UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(Array(body))
        return PayloadHash(unchecked: digest.hex)
    }

    /// Wraps a finished SHA-256 digest.
    package init(digest: SHA256Digest) { self.value = digest.hex }

    /// Accepts 64 hex digits (normalized to lowercase) or one of the constants.
    public init(_ text: String) throws(SigV4Error) {
        if let known = PayloadHash.constants.first(where: { $0.value == text }) {
            self = known
            return
        }
        guard let digest = SHA256Digest(hex: text) else {
            throw SigV4Error(
                .invalidPayloadHash,
                "payload hash must be 64 hex digits, UNSIGNED-PAYLOAD or a STREAMING-* constant")
        }
        self.value = digest.hex
    }

    /// A declared `x-amz-content-sha256` from the UTF-8 bytes of its value: 64 lowercase hex digits
    /// or one of the ``constants``, taking `source` (the string they are the bytes of, when there is
    /// one) as the value, not copied into a new string. Uppercase hex digits are refused (unlike
    /// ``init(_:)``, which normalizes them): the value is signed as sent, and S3 compares it as text
    /// with the lowercase digest it computes, so an uppercase one never verifies there.
    ///
    /// ```swift
    /// let hash = try field.withUnsafeBytesOfValue { try PayloadHash($0, source: field.value) }
    /// ```
    package init(_ bytes: UnsafeBufferPointer<UInt8>, source: String?) throws(SigV4Error) {
        if bytes.count == 64, Hex.isLowercaseHex(UnsafeRawBufferPointer(bytes)) {
            self.init(unchecked: source ?? String(decoding: bytes, as: UTF8.self))
            return
        }
        if let known = PayloadHash.constants.first(where: { $0.value.utf8.elementsEqual(bytes) }) {
            self = known
            return
        }
        throw SigV4Error(
            .invalidPayloadHash,
            "payload hash must be 64 lowercase hex digits, UNSIGNED-PAYLOAD or a STREAMING-* constant")
    }

    /// Equal when the two texts are the same bytes (every payload hash is ASCII, where that is
    /// what `String`'s `==` decides too). The byte counts are compared first: they differ between
    /// a digest and every constant, and between most constants, and reading them is two loads
    /// where `String`'s comparison is a call of about 90 instructions (a verification asks
    /// ``isEventStream`` and ``unsignedPayload`` of its candidates several times).
    ///
    /// ```swift
    /// PayloadHash.sha256(of: []) == .emptySHA256   // true
    /// ```
    public static func == (lhs: PayloadHash, rhs: PayloadHash) -> Bool {
        lhs.value.utf8.count == rhs.value.utf8.count && lhs.value == rhs.value
    }

    /// True for ``streamingEvents``: the body is an event stream of signed messages, not aws-chunked.
    public var isEventStream: Bool { self == .streamingEvents }

    /// True for the aws-chunked `STREAMING-*` constants: every one but ``streamingEvents``.
    public var isAWSChunked: Bool { isStreaming && !isEventStream }

    /// True for the `STREAMING-*` constants (``streamingEvents`` among them; see ``isAWSChunked``).
    public var isStreaming: Bool {
        // A byte comparison: `String.hasPrefix` compares by Unicode rules, and this runs for every
        // payload hash a verification tries. The byte count settles nearly every call without
        // reading a byte (every value is 64 hex digits, `UNSIGNED-PAYLOAD`'s 16 bytes or a
        // `STREAMING-*` constant of 33 to 47: the initializers take nothing else); the first byte
        // then skips the generic prefix loop.
        let count = value.utf8.count
        return count != 64 && count != 16 && value.utf8.first == UInt8(ascii: "S")
            && value.utf8.starts(with: "STREAMING-".utf8)
    }

    /// The digest when this is a hex SHA-256, else nil.
    package var digest: SHA256Digest? { SHA256Digest(hex: value) }

    public var description: String { value }
}
