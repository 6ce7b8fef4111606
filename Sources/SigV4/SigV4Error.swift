/// An error thrown by the signer for input it cannot sign.
///
/// Each error has a stable ``Code`` and a one-line reason. No secret ever appears in either.
///
/// ```swift
/// do {
///     _ = try signer.presign(request, expires: 0, at: date)
/// } catch let error as SigV4Error where error.code == .invalidExpires {
///     print(error.reason)
/// }
/// ```
public struct SigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an open-ended set of codes.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's stable name.
        public let name: String
        /// Creates a code (for extensions in other modules).
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// `X-Amz-Expires` outside 1...604800.
        public static let invalidExpires = Code("invalidExpires")
        /// The request already carries `Authorization` or presign parameters.
        public static let alreadySigned = Code("alreadySigned")
        /// The request has no host (authority or `Host` header).
        public static let missingHost = Code("missingHost")
        /// The request target is not origin-form (`/path?query`).
        public static let invalidRequestTarget = Code("invalidRequestTarget")
        /// The method is empty or not an HTTP token (RFC 9110 `tchar`s only).
        public static let invalidMethod = Code("invalidMethod")
        /// A header name or value cannot be signed.
        public static let invalidHeader = Code("invalidHeader")
        /// A region, service or access key id is empty or contains `/`, spaces or control bytes.
        public static let invalidScope = Code("invalidScope")
        /// A timestamp could not be parsed or is out of range.
        public static let invalidDate = Code("invalidDate")
        /// A payload hash is neither 64 hex digits nor a known constant.
        public static let invalidPayloadHash = Code("invalidPayloadHash")
        /// A caller-supplied `x-amz-content-sha256` disagrees with the payload.
        public static let payloadHashConflict = Code("payloadHashConflict")
        /// aws-chunked: a chunk size is below the 8 KiB minimum or otherwise unusable.
        public static let invalidChunkSize = Code("invalidChunkSize")
        /// aws-chunked: the stream's length disagrees with the declared decoded length.
        public static let contentLengthMismatch = Code("contentLengthMismatch")
        /// aws-chunked: an unknown trailing-checksum algorithm.
        public static let unsupportedChecksum = Code("unsupportedChecksum")
        /// aws-chunked: an earlier call failed after the encoder had taken bytes (its `write`
        /// closure threw), so the body sent so far is incomplete and the encoder cannot continue it.
        public static let streamFailed = Code("streamFailed")
        /// The credentials are unusable (for example, an empty access key id).
        public static let invalidCredentials = Code("invalidCredentials")
        /// An event-stream message cannot be framed (a payload over 16 MiB).
        public static let invalidEventMessage = Code("invalidEventMessage")
    }

    /// The error's code.
    public var code: Code
    /// A human-readable reason. Never holds secret material.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "SigV4Error.\(code.name): \(reason)" }
}
