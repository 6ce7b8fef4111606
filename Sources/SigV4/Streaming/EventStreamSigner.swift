import _SigV4Crypto

/// Signs the messages of an `application/vnd.amazon.eventstream` request body, each chained on the
/// previous signature: the input streams of Transcribe streaming, Lex `StartConversation`, Bedrock
/// agents and other bidirectional APIs.
///
/// The request is signed first with `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-EVENTS`
/// (``PayloadHash/streamingEvents``); its signature is the seed. Each message the client sends
/// (already encoded as an event-stream message) then travels as the payload of an envelope message
/// with two headers, `:date` (a timestamp, milliseconds) and `:chunk-signature` (32 bytes), where the
/// signature's string to sign is
/// ```
/// AWS4-HMAC-SHA256-PAYLOAD
/// <the envelope's :date as yyyyMMddTHHmmssZ>
/// <credential scope of that date>
/// <previous signature, hex>
/// <hex SHA-256 of the encoded :date header>
/// <hex SHA-256 of the payload (the inner message)>
/// ```
/// The stream ends with an envelope whose payload is empty (``signEnd(atMilliseconds:)``). Each
/// message is signed in the scope of its own date, so a stream that crosses midnight UTC derives
/// the next day's key (the key of the current day is kept).
///
/// ```swift
/// let seed = try signer.sign(request, payload: .streamingEvents, at: now)  // the HTTP/2 request
/// var events = EventStreamSigner(
///     credentials: credentials, region: "us-east-1", service: "transcribe", seedSignature: seed.signature)
/// let frame = try events.sign(audioEventMessage, atMilliseconds: clockMilliseconds())
/// let end = try events.signEnd(atMilliseconds: clockMilliseconds())
/// ```
public struct EventStreamSigner: Sendable {
    /// The string-to-sign algorithm line of a message.
    public static let algorithm = "AWS4-HMAC-SHA256-PAYLOAD"
    /// The largest payload an event-stream message may carry (16 MiB).
    public static let maximumPayload = 16 * 1024 * 1024

    /// The region of every message's scope.
    public let region: String
    /// The service signing name of every message's scope.
    public let service: String
    /// The signature the next message chains on (the seed signature before the first message).
    public private(set) var previousSignature: Signature

    private let secretAccessKey: SecretAccessKey
    /// The key of the day of the last message signed.
    private var key: SigningKey?

    /// Starts a chain at the seed request's signature. The secret is kept to derive each day's key.
    public init(credentials: Credentials, region: String, service: String, seedSignature: Signature) {
        self.init(secretAccessKey: credentials.secretAccessKey, region: region, service: service, seedSignature: seedSignature)
    }

    /// Starts a chain from the secret alone (a verifier has no access key id to give).
    package init(secretAccessKey: SecretAccessKey, region: String, service: String, seedSignature: Signature) {
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
        self.previousSignature = seedSignature
    }

    /// Signs `message` (an encoded event-stream message; empty for the end of the stream) at
    /// `milliseconds` since 1970 and returns the envelope to send; advances the chain.
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidEventMessage`` for a message over
    ///   ``maximumPayload``; ``SigV4Error/Code-swift.struct/invalidScope`` for an unusable region or service.
    public mutating func sign<Bytes: Collection<UInt8>>(_ message: Bytes, atMilliseconds milliseconds: Int64)
        throws(SigV4Error) -> [UInt8]
    {
        let payload = Array(message)
        guard payload.count <= Self.maximumPayload else {
            throw SigV4Error(
                .invalidEventMessage, "an event-stream payload is at most \(Self.maximumPayload) bytes, not \(payload.count)")
        }
        let dateHeader = EventStreamEncoding.timestampHeader(":date", milliseconds: milliseconds)
        let signature = try signature(dateHeader: dateHeader, payload: payload, milliseconds: milliseconds)
        var headers = dateHeader
        EventStreamEncoding.appendBytesHeader(":chunk-signature", signature.digest.bytes, to: &headers)
        return EventStreamEncoding.message(headers: headers, payload: payload)
    }

    /// The end of the stream: an envelope with an empty payload.
    public mutating func signEnd(atMilliseconds milliseconds: Int64) throws(SigV4Error) -> [UInt8] {
        try sign([UInt8](), atMilliseconds: milliseconds)
    }

    /// The signature of the next envelope (its encoded `:date` header and payload) and the chain
    /// advanced. A verifier calls it on a copy and keeps the copy only when the signature matched.
    package mutating func signature(dateHeader: [UInt8], payload: [UInt8], milliseconds: Int64) throws(SigV4Error)
        -> Signature
    {
        // Rounded down to the second, for any value (a hostile `:date` near Int64.min included).
        let date = AmzDate(secondsSince1970: milliseconds / 1000 - (milliseconds % 1000 < 0 ? 1 : 0))
        if key == nil || key!.scope.dateStamp != date.dateStamp {
            key = SigningKey(
                secretAccessKey: secretAccessKey, scope: try CredentialScope(date: date, region: region, service: service))
        }
        let signingKey = key!
        let stringToSign = StringToSign(
            algorithm: Self.algorithm, date: date, scope: signingKey.scope,
            lastLines: [
                previousSignature.hex, SHA256.hash(dateHeader).hex,
                payload.withUnsafeBytes { SHA256.hash($0) }.hex,
            ])
        let signature = signingKey.signature(for: stringToSign)
        previousSignature = signature
        return signature
    }
}

/// The binary framing of `application/vnd.amazon.eventstream`, as far as signing needs it: a
/// message is its total length and its headers' length (big-endian `UInt32`s), the CRC-32 of those
/// 8 bytes, the headers, the payload, and the CRC-32 of everything before it. A header is a 1-byte
/// name length, the name, a type byte and the value (type 6, bytes: a 2-byte length and the bytes;
/// type 8, timestamp: milliseconds since 1970 as a big-endian `Int64`).
package enum EventStreamEncoding {
    /// An encoded timestamp header.
    package static func timestampHeader(_ name: String, milliseconds: Int64) -> [UInt8] {
        var out: [UInt8] = []
        appendName(name, to: &out)
        out.append(8)
        appendBigEndian(UInt64(bitPattern: milliseconds), bytes: 8, to: &out)
        return out
    }

    /// Appends an encoded byte-array header (at most 32,767 bytes of value).
    package static func appendBytesHeader(_ name: String, _ value: [UInt8], to out: inout [UInt8]) {
        precondition(value.count <= Int(Int16.max))
        appendName(name, to: &out)
        out.append(6)
        appendBigEndian(UInt64(value.count), bytes: 2, to: &out)
        out.append(contentsOf: value)
    }

    /// A whole message of `headers` (already encoded) and `payload`.
    package static func message(headers: [UInt8], payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16 + headers.count + payload.count)
        appendBigEndian(UInt64(16 + headers.count + payload.count), bytes: 4, to: &out)
        appendBigEndian(UInt64(headers.count), bytes: 4, to: &out)
        var crc = CRC32()
        crc.update(out)
        appendBigEndian(UInt64(crc.checksum), bytes: 4, to: &out)
        out.append(contentsOf: headers)
        out.append(contentsOf: payload)
        crc = CRC32()
        crc.update(out)
        appendBigEndian(UInt64(crc.checksum), bytes: 4, to: &out)
        return out
    }

    /// What the bytes from `start` hold, as far as the frame goes (lengths and both CRC-32s; the
    /// headers are not read).
    package enum Frame: Equatable {
        /// Not enough bytes yet to tell, or to hold the whole message.
        case incomplete
        /// A whole, sound message of `total` bytes whose headers take `headersLength`.
        case message(total: Int, headersLength: Int)
        /// A total length under 16 or over the limit, or headers that do not fit in it.
        case badLength(total: Int, headersLength: Int)
        /// The prelude's CRC-32 is wrong.
        case badPreludeChecksum
        /// The message's CRC-32 is wrong.
        case badChecksum
    }

    /// The frame of the message at `start` in `bytes`, of at most `maxTotal` bytes. A bad length or
    /// prelude is told from the first 12 bytes, before the rest has come.
    package static func frame(_ bytes: [UInt8], at start: Int, maxTotal: Int) -> Frame {
        guard bytes.count - start >= 12 else { return .incomplete }
        let total = Int(uint32(bytes, start))
        let headersLength = Int(uint32(bytes, start + 4))
        guard total >= 16, total <= maxTotal, headersLength <= total - 16 else {
            return .badLength(total: total, headersLength: headersLength)
        }
        guard crc(bytes[start..<(start + 8)]) == uint32(bytes, start + 8) else { return .badPreludeChecksum }
        guard bytes.count - start >= total else { return .incomplete }
        guard crc(bytes[start..<(start + total - 4)]) == uint32(bytes, start + total - 4) else { return .badChecksum }
        return .message(total: total, headersLength: headersLength)
    }

    static func uint32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    static func crc(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var crc = CRC32()
        bytes.withUnsafeBytes { crc.update($0) }
        return crc.checksum
    }

    static func appendName(_ name: String, to out: inout [UInt8]) {
        precondition(name.utf8.count <= 255)
        out.append(UInt8(name.utf8.count))
        out.append(contentsOf: name.utf8)
    }

    static func appendBigEndian(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> shift)) }
    }
}
