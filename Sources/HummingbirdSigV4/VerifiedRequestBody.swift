import Hummingbird
import SigV4
import SigV4Verifier

/// Remembers the first body failure, so the middleware can answer with it even when the
/// handler (an HTTP client forwarding the body, say) reports it as some other error.
actor BodyFailureRecorder {
    private(set) var failure: VerificationFailure?

    func record(_ failure: VerificationFailure) {
        if self.failure == nil { self.failure = failure }
    }
}

extension VerificationFailure.Code {
    /// The body is larger than the configured limit (S3's code `EntityTooLarge`, sent with 413; the
    /// verifier's ``VerificationFailure/Code/entityTooLarge`` is the 400 S3 answers to a browser form's
    /// file over its policy's `content-length-range`).
    static let bodyTooLarge = VerificationFailure.Code("EntityTooLarge", httpStatus: 413)
    /// A header asks for something not implemented, such as a transfer coding other than `chunked`
    /// (S3's code; sent with 501).
    static let notImplemented = VerificationFailure.Code("NotImplemented", httpStatus: 501)
}

/// A request body that enforces the size limit and, when the payload hash is signed, checks it;
/// so it does the checksums declared in `x-amz-checksum-<algorithm>` and `Content-MD5` headers.
///
/// With a hash or checksum to check, one buffer is always held back: the last bytes are released
/// only after the whole body matched, so a consumer that forwards the body never completes a
/// request whose body was tampered with.
///
/// A request signed and framed as bodiless (the empty body's hash, no `Content-Length` or
/// `Transfer-Encoding`) gets `hashIfBytesArrive`: nothing is hashed unless a byte arrives, which
/// HTTP/1.1 framing rules out but HTTP/2 allows; then it is checked like any signed body.
struct VerifiedRequestBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    let base: RequestBody
    let payloadVerifier: PayloadVerifier?
    var hashIfBytesArrive: PayloadHash? = nil
    var checksumVerifier: ChecksumVerifier? = nil
    let limit: Int?
    let recorder: BodyFailureRecorder

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            base: base.makeAsyncIterator(), payloadVerifier: payloadVerifier, hashIfBytesArrive: hashIfBytesArrive,
            checksumVerifier: checksumVerifier, limit: limit, recorder: recorder)
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator
        var payloadVerifier: PayloadVerifier?
        let hashIfBytesArrive: PayloadHash?
        var checksumVerifier: ChecksumVerifier?
        let limit: Int?
        let recorder: BodyFailureRecorder
        var held: ByteBuffer?
        var count = 0
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            if finished {
                defer { held = nil }
                return held
            }
            while true {
                guard let buffer = try await base.next() else {
                    finished = true
                    do throws(VerificationFailure) {
                        if var hasher = payloadVerifier { try hasher.finalize() }
                        try checksumVerifier?.finalize()
                    } catch {
                        held = nil
                        await recorder.record(error)
                        throw error
                    }
                    defer { held = nil }
                    return held
                }
                count += buffer.readableBytes
                if let limit, count > limit {
                    finished = true
                    held = nil
                    let failure = VerificationFailure(
                        .bodyTooLarge, "Your proposed upload exceeds the maximum allowed size",
                        details: [.init("MaxSizeAllowed", String(limit))])
                    await recorder.record(failure)
                    throw failure
                }
                if payloadVerifier == nil, buffer.readableBytes > 0, let signed = hashIfBytesArrive {
                    payloadVerifier = PayloadVerifier(expectedHex: signed.value)
                }
                guard payloadVerifier != nil || checksumVerifier != nil else { return buffer }
                buffer.withUnsafeReadableBytes {
                    payloadVerifier?.update($0)
                    checksumVerifier?.update($0)
                }
                if let previous = held {
                    held = buffer
                    return previous
                }
                held = buffer
            }
        }
    }
}
