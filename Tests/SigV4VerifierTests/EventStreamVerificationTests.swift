import HTTPTypes
@testable import SigV4
import SigV4Verifier
import Testing

/// The verifier takes a signed event stream's request (`STREAMING-AWS4-HMAC-SHA256-EVENTS`) in
/// each form AWS's SDKs send it, answers `.eventStream`, and hands out a decoder chained on the
/// request's own signature and key: the messages its holder signed come out, nothing else does.
@Suite("event-stream requests (Verifier, makeEventStreamDecoder)")
struct EventStreamVerificationTests {
    /// How the seed request says its body is an event stream.
    enum Form: String, CaseIterable, CustomStringConvertible {
        /// `x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-EVENTS` sent and signed (the JavaScript SDK v3).
        case declared
        /// The payload line `STREAMING-AWS4-HMAC-SHA256-EVENTS` signed, no header (the Go and Java SDKs).
        case payloadLineOnly
        /// The empty body's hash signed, no header (AWS's Python Transcribe SDK).
        case emptyHash

        var description: String { rawValue }
    }

    static let contentType = "application/vnd.amazon.eventstream"
    /// 2015-08-30T23:59:58Z: the stream crosses midnight UTC.
    static let date = AmzDate(secondsSince1970: 1_440_979_198)

    /// A seed request of a streaming API signed in `form`, with `Transfer-Encoding: chunked` (added
    /// after signing, as a client's HTTP layer does), to a path that is not one of the policy's
    /// `eventStreamPaths` unless `path` says so.
    static func seed(
        _ form: Form, contentType: String? = EventStreamVerificationTests.contentType, path: String = "/v1/conversation"
    ) throws -> (request: VerificationRequest, signature: Signature)
    {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        fields[HTTPField.Name("x-amzn-transcribe-language-code")!] = "en-US"
        if form == .declared { fields[HTTPField.Name("x-amz-content-sha256")!] = PayloadHash.streamingEvents.value }
        let request = HTTPRequest(
            method: .post, scheme: "https", authority: "transcribestreaming.us-east-1.amazonaws.com:8443",
            path: path, headerFields: fields)
        let signed = try Fixture.signer(service: "transcribe").sign(
            request, payload: form == .emptyHash ? .emptySHA256 : .streamingEvents, at: date)
        var verification = VerificationRequest(signed.request)
        verification.fields.append(.init(name: "Transfer-Encoding", value: Array("chunked".utf8)))
        return (verification, signed.signature)
    }

    /// Messages signed by a client holding `secret`, chained on `seed`, one per second from `date`;
    /// the last envelope ends the stream.
    static func envelopes(_ messages: [[UInt8]], seed: Signature, secret: String = Fixture.secret) throws -> [UInt8] {
        var signer = EventStreamSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: secret), region: "us-east-1",
            service: "transcribe", seedSignature: seed)
        var body: [UInt8] = []
        var ms = date.secondsSince1970 * 1000
        for m in messages {
            body += try signer.sign(m, atMilliseconds: ms)
            ms += 1000
        }
        body += try signer.signEnd(atMilliseconds: ms)
        return body
    }

    static let messages: [[UInt8]] = [Array("first audio".utf8), [UInt8](repeating: 7, count: 5000), [0], Array("fourth".utf8)]

    /// The messages `verified`'s decoder releases from `body`, fed in `piece`-byte pieces.
    static func decode(_ verified: VerifiedRequest, _ body: [UInt8], piece: Int = 1 << 30) throws(VerificationFailure)
        -> [[UInt8]]
    {
        var decoder = try verified.makeEventStreamDecoder()
        var out: [[UInt8]] = []
        var i = 0
        while i < body.count {
            let end = min(body.count, i + piece)
            try decoder.feed(Array(body[i..<end])) { out.append($0) }
            i = end
        }
        try decoder.finish()
        return out
    }

    @Test("each SDK's form of the seed request verifies as an event stream and its messages decode across midnight", arguments: Form.allCases)
    func formsVerify(form: Form) async throws {
        let (request, signature) = try Self.seed(form)
        let result = await Fixture.verifier().verify(request, payload: .streamed, now: Self.date)
        let verified = try #require(result.verified, "\(result.failure?.description ?? "")")
        #expect(verified.payload == .eventStream)
        #expect(verified.payload.needsCheck)
        #expect(verified.payloadHash == (form == .emptyHash ? .emptySHA256 : .streamingEvents))
        let body = try Self.envelopes(Self.messages, seed: signature)
        for piece in [1, 13, 4096, 1 << 30] {
            #expect(try Self.decode(verified, body, piece: piece) == Self.messages, "piece \(piece)")
        }
        // The whole body given to the verifier reads the same way (the common path steps aside).
        let whole = await Fixture.verifier().verify(request, payload: .body(body), now: Self.date)
        #expect(whole.verified?.payload == .eventStream, "\(whole.failure?.description ?? "")")
    }

    @Test("messages signed with another secret, chained on another seed, or cut short are refused, and nothing of them is released")
    func foreignMessagesRefused() async throws {
        let (request, signature) = try Self.seed(.payloadLineOnly)
        let verified = try #require(await Fixture.verifier().verify(request, now: Self.date).verified)
        let other = try #require(Signature(hex: String(repeating: "ab", count: 32)))
        for (name, body) in [
            ("other secret", try Self.envelopes(Self.messages, seed: signature, secret: "not-the-secret")),
            ("other seed", try Self.envelopes(Self.messages, seed: other)),
        ] {
            var decoder = try verified.makeEventStreamDecoder()
            var released: [[UInt8]] = []
            #expect(throws: VerificationFailure.self, "\(name)") { try decoder.feed(body) { released.append($0) } }
            #expect(released.isEmpty, "\(name)")
        }
        let body = try Self.envelopes(Self.messages, seed: signature)
        let cut = Array(body.dropLast(30))
        #expect { try Self.decode(verified, cut) } throws: { ($0 as? VerificationFailure)?.code == .incompleteBody }
    }

    @Test("without the event-stream Content-Type a request that signed no x-amz-content-sha256 is not read as an event stream")
    func contentTypeDecidesTheReading() async throws {
        for form in [Form.payloadLineOnly, .emptyHash] {
            let (request, _) = try Self.seed(form, contentType: "application/octet-stream")
            let result = await Fixture.verifier().verify(request, payload: .streamed, now: Self.date)
            #expect(result.failure?.code == .missingSecurityHeader, "\(form)")
        }
        // Parameters and case do not matter.
        let (request, _) = try Self.seed(.payloadLineOnly, contentType: "Application/VND.Amazon.EventStream; charset=binary")
        #expect(await Fixture.verifier().verify(request, now: Self.date).verified?.payload == .eventStream)
        // A type that only starts with it is another type.
        let (longer, _) = try Self.seed(.payloadLineOnly, contentType: "application/vnd.amazon.eventstreamx")
        #expect(await Fixture.verifier().verify(longer, now: Self.date).failure?.code == .missingSecurityHeader)
    }

    @Test("a path among eventStreamPaths (Transcribe's, by default) is read as an event stream without the Content-Type, even with no body declared (HTTP/2); other paths are not")
    func eventStreamPaths() async throws {
        for path in VerificationPolicy.transcribeStreamingPaths {
            let seed = try Self.seed(.emptyHash, contentType: nil, path: path)
            var request = seed.request
            let verified = try #require(await Fixture.verifier().verify(request, now: Self.date).verified, "\(path)")
            #expect(verified.payload == .eventStream, "\(path)")
            #expect(try Self.decode(verified, try Self.envelopes(Self.messages, seed: seed.signature)) == Self.messages)
            // HTTP/2: no Transfer-Encoding and no Content-Length.
            request.fields.removeAll { $0.name == "Transfer-Encoding" }
            #expect(await Fixture.verifier().verify(request, now: Self.date).verified?.payload == .eventStream, "\(path)")
        }
        // A path only close to one, and a policy without paths: the empty hash is the body's.
        let (other, _) = try Self.seed(.emptyHash, contentType: nil, path: "/stream-transcription/")
        #expect(await Fixture.verifier().verify(other, now: Self.date).failure?.code == .missingSecurityHeader)
        var policy = VerificationPolicy()
        policy.eventStreamPaths = []
        let (transcribe, _) = try Self.seed(.emptyHash, contentType: nil, path: "/stream-transcription")
        #expect(await Fixture.verifier(policy: policy).verify(transcribe, now: Self.date).failure?.code == .missingSecurityHeader)
    }

    @Test("an ordinary body of declared length under the event-stream Content-Type, signed by its hash, is asked for and then verifies; without a length the refusal comes at once")
    func ordinaryBodyUnderTheEventStreamType() async throws {
        let body = Array("not an event stream".utf8)
        var fields = HTTPFields()
        fields[.contentType] = Self.contentType
        fields[.contentLength] = String(body.count)
        let request = HTTPRequest(
            method: .post, scheme: "https", authority: "api.example.com", path: "/v1/blob", headerFields: fields)
        let signed = try Fixture.signer(service: "execute-api").sign(request, payload: .sha256(of: body), at: Self.date)
        let streamed = await Fixture.verifier().verify(VerificationRequest(signed.request), payload: .streamed, now: Self.date)
        #expect(streamed.failure?.code == .missingSecurityHeader)
        let whole = await Fixture.verifier().verify(VerificationRequest(signed.request), payload: .body(body), now: Self.date)
        #expect(whole.verified?.payload == .verified, "\(whole.failure?.description ?? "")")
        // Without a length the same request is refused at once: a streaming client sends its body only
        // after the answer, so the verifier does not ask for it.
        var chunked = VerificationRequest(signed.request)
        chunked.fields.removeAll { $0.name.lowercased() == "content-length" }
        chunked.fields.append(.init(name: "Transfer-Encoding", value: "chunked"))
        #expect(await Fixture.verifier().verify(chunked, payload: .streamed, now: Self.date).failure?.code == .signatureDoesNotMatch)
    }

    @Test("a policy without event streams refuses the declared form and does not read the others as one")
    func policyOff() async throws {
        var policy = VerificationPolicy()
        policy.allowEventStreams = false
        let declared = try Self.seed(.declared).request
        let refused = await Fixture.verifier(policy: policy).verify(declared, now: Self.date)
        #expect(refused.failure?.code == .accessDenied)
        #expect(refused.failure?.message.contains("event stream") == true)
        let lineOnly = try Self.seed(.payloadLineOnly).request
        #expect(await Fixture.verifier(policy: policy).verify(lineOnly, now: Self.date).failure?.code == .missingSecurityHeader)
        // aws-chunked is a policy of its own.
        policy.allowEventStreams = true
        policy.allowStreamingPayload = false
        #expect(await Fixture.verifier(policy: policy).verify(declared, now: Self.date).verified?.payload == .eventStream)
    }

    @Test("an event stream cannot carry a body checksum, nor be signed with SigV4a")
    func checksumsAndSigV4aRefused() async throws {
        var fields = HTTPFields()
        fields[.contentType] = Self.contentType
        fields[HTTPField.Name("x-amz-content-sha256")!] = PayloadHash.streamingEvents.value
        fields[HTTPField.Name("x-amz-checksum-crc32")!] = "AAAAAA=="
        let request = HTTPRequest(
            method: .post, scheme: "https", authority: "transcribestreaming.us-east-1.amazonaws.com", path: "/stream-transcription",
            headerFields: fields)
        let signed = try Fixture.signer(service: "transcribe").sign(request, payload: .streamingEvents, at: Self.date)
        let checksum = await Fixture.verifier().verify(VerificationRequest(signed.request), now: Self.date)
        #expect(checksum.failure?.code == .invalidRequest)
        #expect(checksum.failure?.message.contains("x-amz-checksum") == true)

        let sigV4a = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["us-east-1"], service: "transcribe")
        var plain = request
        plain.headerFields[HTTPField.Name("x-amz-checksum-crc32")!] = nil
        let a = try sigV4a.sign(plain, payload: .streamingEvents, at: Self.date)
        let refused = await Fixture.verifier().verify(VerificationRequest(a.request), now: Self.date)
        #expect(refused.failure?.code == .invalidRequest)
        #expect(refused.failure?.message.contains("SigV4 (AWS4-HMAC-SHA256)") == true)
    }

    @Test("each decoder is made only for its own kind of body")
    func decodersForTheirKind() async throws {
        let (request, _) = try Self.seed(.declared)
        let events = try #require(await Fixture.verifier().verify(request, now: Self.date).verified)
        #expect { try events.makeChunkedDecoder(for: request) } throws: { ($0 as? VerificationFailure)?.code == .invalidRequest }
        let (put, body) = Fixture.signedPut()
        let plain = try #require(await Fixture.verifier().verify(put, payload: .body(body), now: Fixture.date).verified)
        #expect { try plain.makeEventStreamDecoder() } throws: { ($0 as? VerificationFailure)?.code == .invalidRequest }
    }

    @Test("the verified request keeps the key's secret for the day keys but never prints it")
    func secretNotPrinted() async throws {
        let (request, _) = try Self.seed(.declared)
        let verified = try #require(await Fixture.verifier().verify(request, now: Self.date).verified)
        let decoder = try verified.makeEventStreamDecoder()
        for text in [String(describing: verified), String(reflecting: verified), String(describing: decoder), String(reflecting: decoder)] {
            #expect(!text.contains(Fixture.secret))
            #expect(!text.contains("wJalrXUtnFEMI"))
        }
    }

    @Test("ten thousand small messages in one piece are each verified and released in order")
    func manyMessagesInOnePiece() async throws {
        let (request, signature) = try Self.seed(.declared)
        let verified = try #require(await Fixture.verifier().verify(request, now: Self.date).verified)
        let messages = (0..<10_000).map { i in [UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)] }
        let body = try Self.envelopes(messages, seed: signature)
        var decoder = try verified.makeEventStreamDecoder()
        var released: [[UInt8]] = []
        try decoder.feed(body) { released.append($0) }
        try decoder.finish()
        #expect(released == messages)
    }
}
