import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import HummingbirdSigV4
import HummingbirdSigV4Testing
import NIOCore
import SigV4
import SigV4Verifier
import Synchronization
import Testing

/// The middleware unwraps a signed event stream (`STREAMING-AWS4-HMAC-SHA256-EVENTS`): the handler
/// reads each verified inner message as it arrives, one body element per message; a bad envelope,
/// a stream cut short, a skewed `:date` or too many bytes end the body and are answered with their
/// AWS code in place of the handler's response.
@Suite("Hummingbird SigV4 middleware: event streams")
struct EventStreamMiddlewareTests {
    typealias Context = AuthenticatorTests.DirectContext

    static let milliseconds = TestApp.now.secondsSince1970 * 1000
    static let messages: [[UInt8]] = [Array("audio one".utf8), [UInt8](repeating: 9, count: 3000), Array("three".utf8)]

    /// Alice's seed request to Transcribe streaming: the Go SDK's form (payload line only, no
    /// `x-amz-content-sha256`), or with `declared` the JavaScript SDK's; chunked, as a client sends it.
    static func seed(declared: Bool = false) throws -> (head: HTTPRequest, signature: Signature) {
        var fields = HTTPFields()
        fields[HTTPField.Name("Host")!] = "localhost"
        fields[.contentType] = "application/vnd.amazon.eventstream"
        if declared { fields[HTTPField.Name("x-amz-content-sha256")!] = PayloadHash.streamingEvents.value }
        let request = HTTPRequest(
            method: .post, scheme: "http", authority: "localhost", path: "/stream-transcription", headerFields: fields)
        let signed = try TestApp.signer(service: "transcribe").sign(request, payload: .streamingEvents, at: TestApp.now)
        var head = signed.request
        head.headerFields[.transferEncoding] = "chunked"
        return (head, signed.signature)
    }

    /// `messages` signed by Alice (or by `secret`), chained on `seed`, a second apart from `start`,
    /// each envelope separately; the last one ends the stream.
    static func envelopes(
        _ messages: [[UInt8]], seed: Signature, secret: String = "alice-secret-0123456789",
        start: Int64 = EventStreamMiddlewareTests.milliseconds
    ) throws -> [[UInt8]] {
        var signer = EventStreamSigner(
            credentials: Credentials(accessKeyID: "AKIDALICE", secretAccessKey: secret), region: "us-east-1",
            service: "transcribe", seedSignature: seed)
        var out: [[UInt8]] = []
        for (i, m) in messages.enumerated() { out.append(try signer.sign(m, atMilliseconds: start + Int64(i) * 1000)) }
        out.append(try signer.signEnd(atMilliseconds: start + Int64(messages.count) * 1000))
        return out
    }

    static func middleware(maxBodySize: Int? = 5 << 30, maxBufferedBodySize: Int = 8 << 20) -> SigV4Authenticator<Context> {
        SigV4Authenticator<Context>(
            verifier: Verifier(resolver: InMemoryCredentialResolver([TestApp.alice])),
            configuration: .init(maxBodySize: maxBodySize, maxBufferedBodySize: maxBufferedBodySize, clock: { TestApp.now }))
    }

    /// Sends `pieces` as the body; the handler collects each body element. Returns the answer, its
    /// error code, and the elements the handler read.
    static func send(_ head: HTTPRequest, _ pieces: [[UInt8]], maxBodySize: Int? = 5 << 30, maxBufferedBodySize: Int = 8 << 20)
        async throws -> (status: Int, code: String?, seen: [[UInt8]], head: HTTPRequest?)
    {
        let seen = Mutex<[[UInt8]]>([])
        let seenHead = Mutex<HTTPRequest?>(nil)
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        for p in pieces { continuation.yield(ByteBuffer(bytes: p)) }
        continuation.finish()
        let response = try await middleware(maxBodySize: maxBodySize, maxBufferedBodySize: maxBufferedBodySize).handle(
            Request(head: head, body: RequestBody(asyncSequence: stream)),
            context: Context(source: .init(logger: Logger(label: "test")))
        ) { request, _ in
            seenHead.withLock { $0 = request.head }
            for try await buffer in request.body { seen.withLock { $0.append(Array(buffer.readableBytesView)) } }
            return Response(status: .ok)
        }
        return (
            response.status.code, response.headers[HTTPField.Name("x-amz-error-code")!], seen.withLock { $0 },
            seenHead.withLock { $0 }
        )
    }

    @Test("the handler reads each verified message as one body element, however the envelopes are cut, with Content-Length gone and UNSIGNED-PAYLOAD", arguments: [false, true])
    func messagesReachTheHandler(declared: Bool) async throws {
        let (head, signature) = try Self.seed(declared: declared)
        let envelopes = try Self.envelopes(Self.messages, seed: signature)
        let whole = envelopes.flatMap { $0 }
        for pieces in [envelopes, [whole], stride(from: 0, to: whole.count, by: 7).map { Array(whole[$0..<min(whole.count, $0 + 7)]) }] {
            var framed = head
            framed.headerFields[.contentLength] = String(whole.count)
            framed.headerFields[.transferEncoding] = nil
            let answer = try await Self.send(framed, pieces)
            #expect(answer.status == 200, "\(answer.code ?? "")")
            #expect(answer.seen == Self.messages)
            #expect(answer.head?.headerFields[.contentLength] == nil)
            #expect(answer.head?.headerFields[HTTPField.Name("x-amz-content-sha256")!] == "UNSIGNED-PAYLOAD")
            #expect(answer.head?.headerFields[.contentType] == "application/vnd.amazon.eventstream")
        }
    }

    @Test("a message reaches the handler before the client has sent the next one", .timeLimit(.minutes(1)))
    func messagesAreNotHeldBack() async throws {
        let (head, signature) = try Self.seed()
        let envelopes = try Self.envelopes(Self.messages, seed: signature)
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        let (firstSeen, seenContinuation) = AsyncStream<[UInt8]>.makeStream()
        continuation.yield(ByteBuffer(bytes: envelopes[0]))
        let sender = Task {
            // The rest is sent only once the handler has read the first message.
            var iterator = firstSeen.makeAsyncIterator()
            let first = await iterator.next()
            for e in envelopes.dropFirst() { continuation.yield(ByteBuffer(bytes: e)) }
            continuation.finish()
            return first
        }
        let seen = Mutex<[[UInt8]]>([])
        let response = try await Self.middleware().handle(
            Request(head: head, body: RequestBody(asyncSequence: stream)),
            context: Context(source: .init(logger: Logger(label: "test")))
        ) { request, _ in
            for try await buffer in request.body {
                let message = Array(buffer.readableBytesView)
                if seen.withLock({ $0.isEmpty }) { seenContinuation.yield(message) }
                seen.withLock { $0.append(message) }
            }
            return Response(status: .ok)
        }
        #expect(response.status == .ok)
        #expect(await sender.value == Self.messages[0])
        #expect(seen.withLock { $0 } == Self.messages)
    }

    @Test("a bad envelope, a foreign key, a stream cut short, a skewed :date and too many bytes are each answered with their code")
    func refusals() async throws {
        let (head, signature) = try Self.seed()
        let good = try Self.envelopes(Self.messages, seed: signature)
        var flipped = good
        flipped[1][flipped[1].count - 40] ^= 0x01  // in the payload: the CRC no longer matches
        var resealed = good
        // The same payload change with the frame's checksum made right again: only the signature tells.
        resealed[1] = Self.reframed(good[1]) { $0[$0.count - 1] ^= 0x01 }
        let cases: [(String, [[UInt8]], Int?, String, Int)] = [
            ("flipped byte", flipped, nil, "InvalidRequest", 1),
            ("payload changed, frame resealed", resealed, nil, "SignatureDoesNotMatch", 1),
            ("another secret", try Self.envelopes(Self.messages, seed: signature, secret: "mallory-secret"), nil, "SignatureDoesNotMatch", 0),
            ("cut short", Array(good.dropLast()), nil, "IncompleteBody", 3),
            ("skewed :date", try Self.envelopes(Self.messages, seed: signature, start: Self.milliseconds + 16 * 60_000), nil,
                "RequestTimeTooSkewed", 0),
            ("over the limit", good, 3004, "EntityTooLarge", 1),
        ]
        for (name, pieces, limit, code, released) in cases {
            // Envelope by envelope, and all in one piece: the messages that verified before the
            // failure reach the handler either way, nothing after it does.
            for body in [pieces, [pieces.flatMap { $0 }]] {
                let answer = try await Self.send(head, body, maxBodySize: limit ?? 5 << 30)
                #expect(answer.code == code, "\(name), \(body.count) pieces")
                #expect(answer.status >= 400 && answer.status < 500, "\(name)")
                #expect(answer.seen == Array(Self.messages.prefix(released)), "\(name), \(body.count) pieces")
            }
        }
    }

    @Test("an envelope larger than maxBufferedBodySize (plus 1 KiB of framing) is refused from its prelude, before it is held")
    func envelopeOverTheBufferLimit() async throws {
        let (head, signature) = try Self.seed()
        let big = [UInt8](repeating: 1, count: 4096)
        let envelopes = try Self.envelopes([Array("small".utf8), big], seed: signature)
        let tight = try await Self.send(head, envelopes, maxBufferedBodySize: 2048)
        #expect(tight.code == "InvalidRequest")
        #expect(tight.seen == [Array("small".utf8)])
        let roomy = try await Self.send(head, envelopes, maxBufferedBodySize: 4096)
        #expect(roomy.status == 200 && roomy.seen == [Array("small".utf8), big])
    }

    @Test("HummingbirdSigV4Testing's executeSignedEventStream: an app's handler reads the messages; a stream without its end is IncompleteBody")
    func testingHelper() async throws {
        let router = Router(context: BasicSigV4RequestContext.self)
        router.add(
            middleware: SigV4Authenticator(
                verifier: Verifier(resolver: InMemoryCredentialResolver([TestApp.alice])),
                configuration: .init(clock: { TestApp.now })))
        router.post("/stream") { request, context in
            var messages = 0
            var bytes = 0
            for try await message in request.body {
                messages += 1
                bytes += message.readableBytes
            }
            return "\(context.sigV4?.principal ?? "-") \(messages) \(bytes)"
        }
        let signer = TestApp.signer(service: "transcribe")
        try await Application(router: router).test(.router) { client in
            try await client.executeSignedEventStream(
                uri: "/stream", messages: Self.messages, signer: signer, at: TestApp.now
            ) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "alice 3 3014")
            }
            try await client.executeSignedEventStream(
                uri: "/stream", messages: Self.messages, signer: signer, at: TestApp.now, endStream: false
            ) { response in
                #expect(response.headers[HTTPField.Name("x-amz-error-code")!] == "IncompleteBody")
            }
        }
    }

    /// `envelope` with its payload changed by `change` and both CRC-32s computed again.
    static func reframed(_ envelope: [UInt8], _ change: (inout [UInt8]) -> Void) -> [UInt8] {
        let headersLength = Int(envelope[4]) << 24 | Int(envelope[5]) << 16 | Int(envelope[6]) << 8 | Int(envelope[7])
        var payload = Array(envelope[(12 + headersLength)..<(envelope.count - 4)])
        change(&payload)
        return EventStreamEncoding.message(headers: Array(envelope[12..<(12 + headersLength)]), payload: payload)
    }
}
