import HTTPTypes
import Hummingbird
import SigV4
import SigV4Verifier

/// An aws-chunked request body decoded and verified as it streams, by the verifier's
/// ``SigV4Verifier/AWSChunkedDecoder``.
///
/// The decoder releases a signed chunk only after its signature verified. On top of that, one
/// run of decoded bytes is always held back, so the last bytes are released only after the final
/// chunk, the trailer (checksum and signature) and the decoded length all checked out: a consumer
/// that forwards the body never completes an upload whose end fails verification, and under
/// `STREAMING-UNSIGNED-PAYLOAD-TRAILER` (no chunk signatures) a tampered body never arrives whole.
/// Memory: at most one chunk plus one held run.
struct AWSChunkedRequestBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let base: RequestBody
    let decoder: AWSChunkedDecoder
    let recorder: BodyFailureRecorder
    /// Where the trailer's verified checksum goes (the handler reads it from its context).
    let trailer: SigV4BodyTrailer?

    static let decodedContentLength = HTTPField.Name("x-amz-decoded-content-length")!
    static let trailer = HTTPField.Name("x-amz-trailer")!
    static let contentSHA256 = HTTPField.Name("x-amz-content-sha256")!

    /// The request the handler sees: the decoded body, `Content-Length` set to the decoded length,
    /// `aws-chunked` removed from `Content-Encoding`, `x-amz-decoded-content-length` and
    /// `x-amz-trailer` removed, and `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body was verified
    /// here, so nothing downstream must decode or verify it again). `Transfer-Encoding` goes too: it
    /// framed the encoded bytes on the wire (botocore sends aws-chunked bodies over HTTPS with
    /// `Transfer-Encoding: chunked` and no `Content-Length`), and the decoded body's length is now
    /// declared; a head with both says two things about one body (RFC 9112, section 6.3).
    static func decodedRequest(
        _ request: Request, verified: VerifiedRequest, limit: Int?, recorder: BodyFailureRecorder
    ) throws(VerificationFailure) -> (request: Request, trailer: SigV4BodyTrailer?) {
        let decoder = try verified.makeChunkedDecoder(for: VerificationRequest(request.head))
        if let limit, decoder.decodedContentLength > limit {
            throw VerificationFailure(
                .bodyTooLarge, "Your proposed upload exceeds the maximum allowed size",
                details: [.init("MaxSizeAllowed", String(limit))])
        }
        var head = request.head
        var fields = HTTPFields()
        for field in head.headerFields {
            switch field.name {
            case .contentLength, .transferEncoding, Self.decodedContentLength, Self.trailer, Self.contentSHA256:
                continue
            case .contentEncoding:
                let rest = field.value.split(separator: ",").map { $0.trimmingSpaces }.filter {
                    $0.lowercased() != "aws-chunked" && !$0.isEmpty
                }
                if !rest.isEmpty { fields.append(HTTPField(name: .contentEncoding, value: rest.joined(separator: ","))) }
            default:
                fields.append(field)
            }
        }
        fields[Self.contentSHA256] = PayloadHash.unsignedPayload.value
        fields[.contentLength] = String(decoder.decodedContentLength)
        head.headerFields = fields
        let trailer = decoder.encoding.trailer.map { SigV4BodyTrailer(algorithm: $0) }
        let body = AWSChunkedRequestBody(base: request.body, decoder: decoder, recorder: recorder, trailer: trailer)
        return (Request(head: head, body: RequestBody(asyncSequence: body)), trailer)
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), decoder: decoder, recorder: recorder, trailer: trailer)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var decoder: AWSChunkedDecoder
        let recorder: BodyFailureRecorder
        let trailer: SigV4BodyTrailer?
        /// Verified decoded bytes not yet released.
        var held: ByteBuffer?
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            if finished {
                defer { held = nil }
                return held
            }
            while true {
                guard let wire = try await base.next() else {
                    finished = true
                    do {
                        try decoder.finish()
                    } catch {
                        held = nil
                        await recorder.record(error)
                        throw error
                    }
                    // Known before the last bytes go out: a handler that reads to the end finds it set.
                    if let trailer, let checksum = decoder.trailerChecksum { trailer.record(checksum) }
                    defer { held = nil }
                    return held
                }
                var decoded = ByteBuffer()
                var failure: VerificationFailure?
                wire.withUnsafeReadableBytes { raw in
                    do throws(VerificationFailure) {
                        try decoder.feed(raw) { piece in decoded.writeBytes(piece) }
                    } catch {
                        failure = error
                    }
                }
                if let error = failure {
                    finished = true
                    held = nil
                    await recorder.record(error)
                    throw error
                }
                guard decoded.readableBytes > 0 else { continue }
                if let previous = held {
                    held = decoded
                    return previous
                }
                held = decoded
            }
        }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
