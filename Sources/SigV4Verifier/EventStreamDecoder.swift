public import SigV4
import _SigV4Crypto

/// Decodes and verifies a signed event-stream request body (`x-amz-content-sha256:
/// STREAMING-AWS4-HMAC-SHA256-EVENTS`), releasing each inner message only after its envelope's
/// signature has verified: the server side of ``EventStreamSigner``.
///
/// Each envelope must be a well-framed event-stream message (both CRC-32s right, at most
/// ``Limits/maxMessageBytes``) whose headers are exactly `:date` (timestamp) and
/// `:chunk-signature` (32 bytes), its signature chained on the previous one from the seed (the
/// request's signature) in the scope of the envelope's own date. With a clock, each `:date` must be
/// within ``Limits/maxSkewMilliseconds`` of it. The stream ends with an envelope whose payload is
/// empty; ``finish()`` refuses a stream that stopped before it. After a failure the decoder refuses
/// further input. Memory stays at one envelope.
///
/// ```swift
/// var events = EventStreamDecoder(
///     credentials: resolved, region: "us-east-1", service: "transcribe", seedSignature: requestSignature,
///     clock: { currentMilliseconds() })
/// for try await piece in body {
///     try events.feed(piece) { message in handle(message) }   // each verified inner message
/// }
/// try events.finish()
/// ```
public struct EventStreamDecoder: Sendable {
    /// Size and time limits.
    public struct Limits: Sendable, Hashable {
        /// The largest envelope, framing and headers included. Default 16 MiB plus 1 KiB.
        public var maxMessageBytes: Int
        /// How far an envelope's `:date` may be from the clock, when there is one. Default 15 minutes.
        public var maxSkewMilliseconds: Int64

        /// Creates limits.
        ///
        /// ```swift
        /// let limits = EventStreamDecoder.Limits(maxMessageBytes: 1 << 20)
        /// ```
        public init(maxMessageBytes: Int = EventStreamSigner.maximumPayload + 1024, maxSkewMilliseconds: Int64 = 900_000) {
            self.maxMessageBytes = maxMessageBytes
            self.maxSkewMilliseconds = maxSkewMilliseconds
        }
    }

    private var chain: EventStreamSigner
    private let limits: Limits
    private let clock: (@Sendable () -> Int64)?
    private var buffer: [UInt8] = []
    private var ended = false
    private var failed = false

    /// Starts at the seed request's signature. `clock` gives the server's time in milliseconds since
    /// 1970; without one, envelope dates are not checked against it.
    public init(
        credentials: Credentials, region: String, service: String, seedSignature: Signature, limits: Limits = Limits(),
        clock: (@Sendable () -> Int64)? = nil
    ) {
        self.init(
            chain: EventStreamSigner(credentials: credentials, region: region, service: service, seedSignature: seedSignature),
            limits: limits, clock: clock)
    }

    init(chain: EventStreamSigner, limits: Limits, clock: (@Sendable () -> Int64)?) {
        self.chain = chain
        self.limits = limits
        self.clock = clock
    }

    /// True once the empty envelope that ends the stream has verified.
    public var isComplete: Bool { ended }

    /// Feeds body bytes (an array, a slice, an `UnsafeRawBufferPointer`); `deliver` receives each
    /// verified inner message (an encoded event-stream message), in order.
    public mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ deliver: ([UInt8]) -> Void)
        throws(VerificationFailure)
    {
        guard !failed else { throw VerificationFailure(.invalidRequest, "the event stream already failed verification") }
        do throws(VerificationFailure) {
            if ended, !bytes.isEmpty { throw VerificationFailure(.invalidRequest, "bytes follow the end of the event stream") }
            buffer.append(contentsOf: bytes)
            // Whole messages are read from `start` on and the buffer is shifted once per feed, not
            // once per message (many small messages in one piece would otherwise move the rest of
            // the piece for each).
            var start = 0
            defer { buffer.removeFirst(start) }
            framing: while true {
                let total: Int
                let headersLength: Int
                switch EventStreamEncoding.frame(buffer, at: start, maxTotal: limits.maxMessageBytes) {
                case .incomplete: break framing
                case .badLength(let t, let h):
                    throw VerificationFailure(.invalidRequest, "an event-stream message of \(t) bytes (headers \(h)) is not allowed")
                case .badPreludeChecksum:
                    throw VerificationFailure(.invalidRequest, "an event-stream message's prelude checksum is wrong")
                case .badChecksum:
                    throw VerificationFailure(.invalidRequest, "an event-stream message's checksum is wrong")
                case .message(let t, let h): (total, headersLength) = (t, h)
                }
                guard !ended else { throw VerificationFailure(.invalidRequest, "bytes follow the end of the event stream") }
                let payload = Array(buffer[(start + 12 + headersLength)..<(start + total - 4)])
                try verify(headers: buffer[(start + 12)..<(start + 12 + headersLength)], payload: payload)
                start += total
                if payload.isEmpty { ended = true } else { deliver(payload) }
            }
            if ended, buffer.count > start { throw VerificationFailure(.invalidRequest, "bytes follow the end of the event stream") }
        } catch {
            failed = true
            throw error
        }
    }

    /// Checks that the stream ended with its empty envelope, with nothing left over.
    public func finish() throws(VerificationFailure) {
        guard !failed else { throw VerificationFailure(.invalidRequest, "the event stream failed verification") }
        guard ended, buffer.isEmpty else {
            throw VerificationFailure(.incompleteBody, "the event stream ended before its final (empty) signed message")
        }
    }

    /// Reads `:date` and `:chunk-signature` (exactly these two) and checks the signature in constant time.
    private mutating func verify(headers: ArraySlice<UInt8>, payload: [UInt8]) throws(VerificationFailure) {
        var milliseconds: Int64?
        var signature: [UInt8]?
        var i = headers.startIndex
        func malformed() -> VerificationFailure {
            VerificationFailure(
                .invalidRequest, "an event-stream envelope must carry exactly a :date and a :chunk-signature header")
        }
        while i < headers.endIndex {
            let nameLength = Int(headers[i])
            guard headers.endIndex - i >= 2 + nameLength else { throw malformed() }
            let name = headers[(i + 1)..<(i + 1 + nameLength)]
            let type = headers[i + 1 + nameLength]
            i += 2 + nameLength
            if name.elementsEqual(":date".utf8), type == 8, milliseconds == nil, headers.endIndex - i >= 8 {
                milliseconds = Int64(bitPattern: headers[i..<(i + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                i += 8
            } else if name.elementsEqual(":chunk-signature".utf8), type == 6, signature == nil, headers.endIndex - i >= 2 {
                let length = Int(headers[i]) << 8 | Int(headers[i + 1])
                guard length == 32, headers.endIndex - i >= 2 + length else { throw malformed() }
                signature = Array(headers[(i + 2)..<(i + 2 + length)])
                i += 2 + length
            } else {
                throw malformed()
            }
        }
        guard let milliseconds, let signature else { throw malformed() }
        if let clock {
            let now = clock()
            let (difference, overflow) = now.subtractingReportingOverflow(milliseconds)
            guard !overflow, difference.magnitude <= UInt64(limits.maxSkewMilliseconds) else {
                throw VerificationFailure(
                    .requestTimeTooSkewed, "an event-stream message's :date is too far from the server's time")
            }
        }
        var next = chain
        let expected: Signature
        do {
            expected = try next.signature(
                dateHeader: EventStreamEncoding.timestampHeader(":date", milliseconds: milliseconds), payload: payload,
                milliseconds: milliseconds)
        } catch {
            throw VerificationFailure(.invalidRequest, "an event-stream message cannot be verified: \(error.reason)")
        }
        guard let claimed = Signature(hexBytes: Hex.encode(signature).utf8), claimed.constantTimeEquals(expected) else {
            throw VerificationFailure(
                .signatureDoesNotMatch, "The request signature we calculated does not match the signature you provided.")
        }
        chain = next
    }

}

extension VerifiedRequest {
    /// A decoder for this request's event-stream body (``payload`` is ``PayloadStatus/eventStream``):
    /// each message's signature chained on this request's, in its scope's region and service, with
    /// the day keys derived from the resolved key's secret (which the decoder keeps, never prints).
    /// `clock` gives the server's time in milliseconds since 1970, to hold each message's `:date`
    /// within ``EventStreamDecoder/Limits/maxSkewMilliseconds`` of it.
    ///
    /// ```swift
    /// var events = try verified.makeEventStreamDecoder(clock: { currentMilliseconds() })
    /// for try await piece in body { try events.feed(piece) { message in handle(message) } }
    /// try events.finish()
    /// ```
    public func makeEventStreamDecoder(
        limits: EventStreamDecoder.Limits = EventStreamDecoder.Limits(), clock: (@Sendable () -> Int64)? = nil
    ) throws(VerificationFailure) -> EventStreamDecoder {
        guard payload == .eventStream, let secret = eventStreamSecret else {
            throw VerificationFailure(.invalidRequest, "the request body is not a signed event stream")
        }
        return EventStreamDecoder(
            chain: EventStreamSigner(
                secretAccessKey: secret, region: scope.region, service: scope.service, seedSignature: signature),
            limits: limits, clock: clock)
    }
}
