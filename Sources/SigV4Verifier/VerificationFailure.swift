import _SigV4Crypto
public import SigV4

/// Why the verifier rejected a request: an AWS error code, its HTTP status, a message and details.
///
/// A rejection is a value, not a crash: ``Verifier/verify(_:payload:now:)`` returns it inside
/// ``VerificationResult/rejected(_:)``. The message and details never contain a secret or a
/// derived key. Optional ``diagnostics`` hold the canonical request and string to sign as the
/// server computed them (like S3's `SignatureDoesNotMatch` body), for operators.
///
/// ```swift
/// if case .rejected(let failure) = await verifier.verify(request, now: now) {
///     print(failure.code, failure.httpStatus)   // SignatureDoesNotMatch 403
///     let body = failure.xmlBody()              // S3-style <Error> document
/// }
/// ```
public struct VerificationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// An AWS error code and the HTTP status it is sent with. An open-ended set.
    ///
    /// ```swift
    /// let code = VerificationFailure.Code.signatureDoesNotMatch
    /// print(code.name, code.httpStatus) // SignatureDoesNotMatch 403
    /// ```
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The AWS error code, as it appears in `<Code>`.
        public let name: String
        /// The HTTP status the error is sent with.
        public let httpStatus: Int

        /// Creates a code (for extensions).
        public init(_ name: String, httpStatus: Int) {
            self.name = name
            self.httpStatus = httpStatus
        }

        public var description: String { name }

        /// The `Authorization` header cannot be parsed, or names a scope this endpoint does not serve (400).
        public static let authorizationHeaderMalformed = Code("AuthorizationHeaderMalformed", httpStatus: 400)
        /// A presigned URL's `X-Amz-*` parameters are missing, repeated or invalid (400).
        public static let authorizationQueryParametersError = Code(
            "AuthorizationQueryParametersError", httpStatus: 400)
        /// The signature does not match the one the server computed (403).
        public static let signatureDoesNotMatch = Code("SignatureDoesNotMatch", httpStatus: 403)
        /// Header auth: the request time is too far from the server time (403).
        public static let requestTimeTooSkewed = Code("RequestTimeTooSkewed", httpStatus: 403)
        /// Expired or not-yet-valid presigned URL, out-of-scope key, unsigned headers (403).
        public static let accessDenied = Code("AccessDenied", httpStatus: 403)
        /// The access key id is unknown (403).
        public static let invalidAccessKeyId = Code("InvalidAccessKeyId", httpStatus: 403)
        /// The session token is missing, unexpected or wrong (400).
        public static let invalidToken = Code("InvalidToken", httpStatus: 400)
        /// The temporary credentials behind the session token have expired (400).
        public static let expiredToken = Code("ExpiredToken", httpStatus: 400)
        /// The body does not hash to `x-amz-content-sha256` (400).
        public static let xAmzContentSHA256Mismatch = Code("XAmzContentSHA256Mismatch", httpStatus: 400)
        /// A header the request needs is missing (400).
        public static let missingSecurityHeader = Code("MissingSecurityHeader", httpStatus: 400)
        /// This exact signed request was already accepted (403). Not an AWS code: ours.
        public static let requestReplayed = Code("RequestReplayed", httpStatus: 403)
        /// A header value is not acceptable (for example a malformed `x-amz-content-sha256`) (400).
        public static let invalidArgument = Code("InvalidArgument", httpStatus: 400)
        /// The request is malformed in a way not covered by a more specific code (400).
        public static let invalidRequest = Code("InvalidRequest", httpStatus: 400)
        /// aws-chunked: the body ended before the declared length or the final chunk (400).
        public static let incompleteBody = Code("IncompleteBody", httpStatus: 400)
        /// aws-chunked: a signed chunk other than the last is smaller than 8 KiB (S3's code; 400).
        public static let invalidChunkSizeError = Code("InvalidChunkSizeError", httpStatus: 400)
        /// A trailing or declared checksum (`x-amz-checksum-*`, `Content-MD5`) does not match the body (400).
        public static let badDigest = Code("BadDigest", httpStatus: 400)
        /// `Content-MD5` is not the base64 of 16 bytes, or is repeated (400).
        public static let invalidDigest = Code("InvalidDigest", httpStatus: 400)
        /// The `Host` names a bucket under a virtual-hosted-style domain, and the name is not a
        /// valid bucket name (``VirtualHostedStyle``) (400).
        public static let invalidBucketName = Code("InvalidBucketName", httpStatus: 400)
        /// A browser-form upload's `policy` field is not base64 of a policy document (400).
        public static let invalidPolicyDocument = Code("InvalidPolicyDocument", httpStatus: 400)
        /// A browser-form upload's file is shorter than its policy's `content-length-range` (400).
        public static let entityTooSmall = Code("EntityTooSmall", httpStatus: 400)
        /// A browser-form upload's file is longer than its policy's `content-length-range` (400, as S3
        /// answers it for POST; a body over a server's own limit is 413, `HummingbirdSigV4`).
        public static let entityTooLarge = Code("EntityTooLarge", httpStatus: 400)
        /// A browser-form upload's object key is longer than 1,024 bytes once `${filename}` is replaced
        /// (S3's code; 400).
        public static let keyTooLong = Code("KeyTooLongError", httpStatus: 400)
                /// The credential resolver failed; the verifier fails closed (500).
        public static let internalError = Code("InternalError", httpStatus: 500)
        /// The replay guard is full; the verifier fails closed (503).
        public static let slowDown = Code("SlowDown", httpStatus: 503)
    }

    /// One extra element of the error body, such as `ServerTime` or `HeadersNotSigned`.
    public struct Detail: Sendable, Hashable {
        /// The element name.
        public var name: String
        /// The element text.
        public var value: String
        /// Creates a detail.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// What the server computed, for operators debugging a `SignatureDoesNotMatch`.
    ///
    /// Holds no secret and no derived key: only public request data and the signature the
    /// client sent.
    ///
    /// The bytes are kept as they were hashed: a request may carry bytes that are not UTF-8 (a
    /// Latin-1 header value, a raw byte in the path), and its canonical request then holds them.
    /// ``canonicalRequest`` shows such bytes as U+FFFD; ``canonicalRequestBytes`` (and the
    /// `CanonicalRequestBytes` element of the error body) holds the bytes themselves.
    ///
    /// ```swift
    /// if let d = failure.diagnostics {
    ///     print(d.canonicalRequest)                       // for reading
    ///     let exact: [UInt8] = d.canonicalRequestBytes    // what was hashed, byte for byte
    /// }
    /// ```
    public struct Diagnostics: Sendable, Hashable {
        /// The canonical request as the server built it, as text (bytes that are not UTF-8 read as U+FFFD).
        public var canonicalRequest: String {
            get { String(decoding: canonicalRequestBytes, as: UTF8.self) }
            set { canonicalRequestBytes = Array(newValue.utf8) }
        }
        /// The canonical request the server hashed, byte for byte.
        public var canonicalRequestBytes: [UInt8]
        /// The string to sign as the server built it, as text (bytes that are not UTF-8 read as U+FFFD).
        public var stringToSign: String {
            get { String(decoding: stringToSignBytes, as: UTF8.self) }
            set { stringToSignBytes = Array(newValue.utf8) }
        }
        /// The string to sign the server MACed, byte for byte.
        public var stringToSignBytes: [UInt8]
        /// The signature the request carried.
        public var signatureProvided: String
        /// Creates diagnostics from text.
        public init(canonicalRequest: String, stringToSign: String, signatureProvided: String) {
            self.init(
                canonicalRequestBytes: Array(canonicalRequest.utf8), stringToSignBytes: Array(stringToSign.utf8),
                signatureProvided: signatureProvided)
        }
        /// Creates diagnostics from the exact bytes.
        public init(canonicalRequestBytes: [UInt8], stringToSignBytes: [UInt8], signatureProvided: String) {
            self.canonicalRequestBytes = canonicalRequestBytes
            self.stringToSignBytes = stringToSignBytes
            self.signatureProvided = signatureProvided
        }
    }

    /// The AWS code and HTTP status.
    public var code: Code
    /// A human-readable message.
    public var message: String
    /// Extra elements for the error body, in order.
    public var details: [Detail]
    /// The access key id named by the request, when it could be parsed.
    public var accessKeyID: String?
    /// The server's canonical request and string to sign, when the policy asks for diagnostics.
    public var diagnostics: Diagnostics?
    /// For ``Code/requestReplayed``, the signature that was seen again (as the replay guard keys it),
    /// so that a server can answer a replay according to how that signature's first use ended:
    /// ``HummingbirdSigV4`` answers a client's retry of an attempt that failed with a retryable status
    /// with `SlowDown` (503) instead. Not secret: the request carried it in the clear. Nil otherwise.
    ///
    /// ```swift
    /// if failure.code == .requestReplayed, let signature = failure.replayedSignature,
    ///    failedAttempts.contains(signature) { /* answer 503 SlowDown: the client will re-sign */ }
    /// ```
    public var replayedSignature: Signature?
    /// True when the refusal only asks for the body: `MissingSecurityHeader` naming
    /// `x-amz-content-sha256` for a request that signed its body's hash without declaring it, verified
    /// with ``Verifier/Payload/streamed``. Every check that does not need the body has passed (the key
    /// exists, its scope and limits allow the request, the session token matches); verify again with
    /// ``Verifier/Payload/body(_:)``. False for the same code where the service requires the header
    /// (S3): that refusal is final, and reading the body would gain nothing.
    ///
    /// ```swift
    /// if case .rejected(let failure) = result, failure.asksForBody {
    ///     result = await verifier.verify(request, payload: .body(try await readBody(upTo: 16 << 20)), now: now)
    /// }
    /// ```
    public internal(set) var asksForBody = false

    /// Creates a failure.
    public init(
        _ code: Code, _ message: String, details: [Detail] = [], accessKeyID: String? = nil,
        diagnostics: Diagnostics? = nil
    ) {
        self.code = code
        self.message = message
        self.details = details
        self.accessKeyID = accessKeyID
        self.diagnostics = diagnostics
    }

    /// The HTTP status to answer with.
    public var httpStatus: Int { code.httpStatus }

    public var description: String { "\(code.name) (\(code.httpStatus)): \(message)" }

    /// Every element of the error body in order: details, then diagnostics if any.
    public var bodyElements: [Detail] {
        var out = details
        if let accessKeyID, !details.contains(where: { $0.name == "AWSAccessKeyId" }),
            code == .signatureDoesNotMatch || code == .invalidAccessKeyId
        {
            out.append(Detail("AWSAccessKeyId", accessKeyID))
        }
        if let d = diagnostics {
            out.append(Detail("StringToSign", d.stringToSign))
            out.append(Detail("SignatureProvided", d.signatureProvided))
            out.append(Detail("StringToSignBytes", VerificationFailure.spacedHex(d.stringToSignBytes)))
            out.append(Detail("CanonicalRequest", d.canonicalRequest))
            out.append(Detail("CanonicalRequestBytes", VerificationFailure.spacedHex(d.canonicalRequestBytes)))
        }
        return out
    }

    /// The S3-style XML error document.
    ///
    /// ```swift
    /// failure.xmlBody(requestID: "4442587FB7D0A2F9")
    /// // <?xml version="1.0" encoding="UTF-8"?>
    /// // <Error><Code>SignatureDoesNotMatch</Code><Message>…</Message>…<RequestId>4442587FB7D0A2F9</RequestId></Error>
    /// ```
    public func xmlBody(requestID: String? = nil, resource: String? = nil) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
        func element(_ name: String, _ value: String) {
            out += "<\(name)>\(VerificationFailure.xmlEscape(value))</\(name)>"
        }
        element("Code", code.name)
        element("Message", message)
        for d in bodyElements { element(d.name, d.value) }
        if let resource { element("Resource", resource) }
        if let requestID { element("RequestId", requestID) }
        out += "</Error>"
        return out
    }

    /// A JSON error document: `{"Code": …, "Message": …, <details>…}` plus `"RequestId"` when given,
    /// and `"__type"`, the code again: the AWS JSON 1.0/1.1 protocols' error field, the only one
    /// botocore's JSON parser reads the code from (without it boto3 and awscli show a DynamoDB or
    /// Kinesis refusal as error `403`).
    ///
    /// ```swift
    /// failure.jsonBody() // {"Code":"AccessDenied","Message":"Request has expired",…,"__type":"AccessDenied"}
    /// ```
    public func jsonBody(requestID: String? = nil) -> String {
        var pairs: [(String, String)] = [("Code", code.name), ("Message", message)]
        for d in bodyElements { pairs.append((d.name, d.value)) }
        if let requestID { pairs.append(("RequestId", requestID)) }
        pairs.append(("__type", code.name))
        return "{" + pairs.map { "\(JSONQuoting.quote($0.0)):\(JSONQuoting.quote($0.1))" }.joined(separator: ",") + "}"
    }

    /// The Smithy RPC v2 CBOR error document (CloudWatch and the other services whose SDKs speak
    /// `smithy-protocol: rpc-v2-cbor`): a CBOR map of `"__type"` (the code), `"message"`, the
    /// details, and `"RequestId"` when given, every value a text string. Those SDKs read the code
    /// from `__type` (botocore's `RpcV2CBORParser`; without it they show the HTTP status).
    ///
    /// ```swift
    /// failure.cborBody(requestID: "4442587FB7D0A2F9")
    /// // {"__type": "SignatureDoesNotMatch", "message": "…", …, "RequestId": "4442587FB7D0A2F9"} in CBOR
    /// ```
    public func cborBody(requestID: String? = nil) -> [UInt8] {
        var pairs: [(key: String, value: String)] = [("__type", code.name), ("message", message)]
        for d in bodyElements { pairs.append((d.name, d.value)) }
        if let requestID { pairs.append(("RequestId", requestID)) }
        return CBORTextMap.encode(pairs)
    }

    /// The query-protocol error document (STS, IAM, EC2, SNS, CloudFormation and the other services
    /// whose requests are `Action=…` forms): `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code>
    /// <Message>…</Message>…</Error><RequestId>…</RequestId></ErrorResponse>` (`Receiver` for a 5xx).
    /// botocore's query and EC2 parsers find the code only inside such an `Error` element: an S3-style
    /// `<Error>` root reaches awscli as error `Unknown`.
    ///
    /// ```swift
    /// failure.queryXMLBody(requestID: "4442587FB7D0A2F9")
    /// // <ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code>…</Error><RequestId>…
    /// ```
    public func queryXMLBody(requestID: String? = nil) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse><Error>"
        func element(_ name: String, _ value: String) {
            out += "<\(name)>\(VerificationFailure.xmlEscape(value))</\(name)>"
        }
        element("Type", httpStatus >= 500 ? "Receiver" : "Sender")
        element("Code", code.name)
        element("Message", message)
        for d in bodyElements { element(d.name, d.value) }
        out += "</Error>"
        if let requestID { element("RequestId", requestID) }
        out += "</ErrorResponse>"
        return out
    }

    package static func xmlEscape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            default:
                // XML 1.0 forbids most control characters even as references.
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// `47 45 54`: each byte as two lowercase hex digits, space-separated (S3's `*Bytes` elements).
    static func spacedHex(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 3)
        let digits = Array("0123456789abcdef".utf8)
        for (i, b) in bytes.enumerated() {
            if i > 0 { out.append(0x20) }
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

