import HTTPTypes
import Hummingbird
import SigV4
import SigV4Verifier

/// A signed event-stream request body (`STREAMING-AWS4-HMAC-SHA256-EVENTS`: Transcribe streaming,
/// Lex, Bedrock agents) verified as it streams by the verifier's ``SigV4Verifier/EventStreamDecoder``:
/// the handler reads the inner messages (each an encoded event-stream message, concatenated; each
/// element of the body one whole message), and each is released as soon as its envelope's signature
/// verified, not held back: an event stream is
/// a conversation, and every message released was signed by the key's holder, chained on the
/// request's signature. A stream that stops before its final signed (empty) envelope, or any bad
/// envelope, ends the body with the failure (`IncompleteBody`, `SignatureDoesNotMatch`, ...), which
/// the middleware answers in place of the handler's response when it can. Memory: one envelope, at
/// most ``SigV4Authenticator/Configuration/maxBufferedBodySize`` (and 16 MiB) plus 1 KiB.
struct EventStreamRequestBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let base: RequestBody
    let decoder: EventStreamDecoder
    let limit: Int?
    let recorder: BodyFailureRecorder

    static let contentSHA256 = HTTPField.Name("x-amz-content-sha256")!

    /// The request the handler sees: the decoded messages as its body, `Content-Length` removed (it
    /// counted the envelopes; the messages' length is known only at the end) and
    /// `x-amz-content-sha256: UNSIGNED-PAYLOAD` (verified here: nothing downstream must verify it
    /// again). `Content-Type` stays `application/vnd.amazon.eventstream`: the body is still a stream
    /// of event-stream messages. Each envelope's `:date` must be within 15 minutes of `now()`.
    static func decodedRequest(
        _ request: Request, verified: VerifiedRequest, limit: Int?, recorder: BodyFailureRecorder,
        maxBufferedBodySize: Int = EventStreamSigner.maximumPayload, now: @escaping @Sendable () -> AmzDate
    ) throws(VerificationFailure) -> Request {
        // One envelope is held until it verified: at most what the middleware reads into memory
        // anywhere (its framing and headers aside).
        let limits = EventStreamDecoder.Limits(
            maxMessageBytes: Swift.min(EventStreamSigner.maximumPayload, Swift.max(0, maxBufferedBodySize)) + 1024)
        let decoder = try verified.makeEventStreamDecoder(limits: limits, clock: { now().secondsSince1970 * 1000 })
        var head = request.head
        head.headerFields[.contentLength] = nil
        head.headerFields[Self.contentSHA256] = PayloadHash.unsignedPayload.value
        let body = EventStreamRequestBody(base: request.body, decoder: decoder, limit: limit, recorder: recorder)
        return Request(head: head, body: RequestBody(asyncSequence: body))
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), decoder: decoder, limit: limit, recorder: recorder)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var decoder: EventStreamDecoder
        let limit: Int?
        let recorder: BodyFailureRecorder
        var released = 0
        var finished = false
        /// Verified messages of the last wire buffer not yet returned.
        var pending: [ByteBuffer] = []
        var nextPending = 0
        /// A failure found after some messages of the same wire buffer verified: thrown once they
        /// have been returned.
        var pendingFailure: VerificationFailure?

        mutating func next() async throws -> ByteBuffer? {
            if nextPending < pending.count {
                defer { nextPending += 1 }
                return pending[nextPending]
            }
            if let failure = pendingFailure {
                pendingFailure = nil
                throw failure
            }
            guard !finished else { return nil }
            while true {
                guard let wire = try await base.next() else {
                    finished = true
                    do {
                        try decoder.finish()
                    } catch {
                        await recorder.record(error)
                        throw error
                    }
                    return nil
                }
                var messages: [ByteBuffer] = []
                var failure: VerificationFailure?
                var tooLarge: VerificationFailure?
                let limit = self.limit
                var released = self.released
                defer { self.released = released }
                wire.withUnsafeReadableBytes { raw in
                    do throws(VerificationFailure) {
                        try decoder.feed(raw) { message in
                            guard tooLarge == nil else { return }
                            if let limit, message.count > limit - released {
                                tooLarge = VerificationFailure(
                                    .bodyTooLarge, "Your proposed upload exceeds the maximum allowed size",
                                    details: [.init("MaxSizeAllowed", String(limit))])
                                return
                            }
                            released += message.count
                            messages.append(ByteBuffer(bytes: message))
                        }
                    } catch {
                        failure = error
                    }
                }
                if let tooLarge { failure = tooLarge }
                if let error = failure {
                    finished = true
                    await recorder.record(error)
                    // The messages that verified before it in this buffer go first.
                    guard !messages.isEmpty else { throw error }
                    pendingFailure = error
                }
                if !messages.isEmpty {
                    pending = messages
                    nextPending = 1
                    return messages[0]
                }
            }
        }
    }
}
