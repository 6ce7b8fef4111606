import Foundation
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// Event streams as AWS's own Transcribe streaming clients send them, captured by
/// `scripts/gen-eventstream-sdk-vectors.py` into `TestVectors/eventstream-sdk-captures/cases.json`:
/// amazon-transcribe 0.6.4 (Python: the empty body's hash, no `x-amz-content-sha256`, no
/// `Content-Type`) and the AWS SDK for Go v2's transcribestreaming client (the header declared).
/// Each seed request verifies as an event stream and its body releases exactly the SDK's
/// AudioEvent messages, carrying the audio the client sent; any changed byte is refused.
@Suite("event streams captured from AWS's Transcribe streaming SDKs (Python, Go) verify")
struct SDKEventStreamCaptureTests {
    struct Capture: Sendable, CustomTestStringConvertible {
        var client: String
        var method: String
        var target: String
        var headers: [(String, String)]
        var body: [UInt8]
        var audio: [[UInt8]]
        var now: AmzDate
        var testDescription: String { "\(client) \(body.count) bytes" }

        var request: VerificationRequest { VerificationRequest(method: method, target: target, headers: headers) }
    }

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 0x39 ? $0 - 0x30 : ($0 | 0x20) - 0x61 + 10 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    static func document() -> [String: Any] { (try? Vectors.json("eventstream-sdk-captures/cases.json")) ?? [:] }

    static let accessKeyID = document()["access_key_id"] as? String ?? ""
    static let secret = document()["secret_access_key"] as? String ?? ""

    static let captures: [Capture] = ((document()["cases"] as? [[String: Any]]) ?? []).map { c in
        Capture(
            client: c["client"] as! String, method: c["method"] as! String, target: c["target"] as! String,
            headers: (c["headers"] as! [[String]]).map { ($0[0], $0[1]) }, body: bytes(c["body_hex"] as! String),
            audio: (c["audio_hex"] as! [String]).map(bytes),
            now: AmzDate(secondsSince1970: (c["now"] as! NSNumber).int64Value))
    }

    static var verifier: Verifier {
        Verifier(
            resolver: InMemoryCredentialResolver([
                ResolvedCredential(accessKeyID: accessKeyID, secretAccessKey: SecretAccessKey(secret), principal: "sdk")
            ]))
    }

    /// The payload of an encoded event-stream message and whether its `:event-type` is `AudioEvent`.
    static func audioEvent(_ message: [UInt8]) -> (payload: [UInt8], isAudioEvent: Bool) {
        let total = Int(message[0]) << 24 | Int(message[1]) << 16 | Int(message[2]) << 8 | Int(message[3])
        let headersLength = Int(message[4]) << 24 | Int(message[5]) << 16 | Int(message[6]) << 8 | Int(message[7])
        let headers = message[12..<(12 + headersLength)]
        let name = Array(":event-type".utf8)
        let value = Array("AudioEvent".utf8)
        let isAudio = headers.indices.contains { i in
            headers[i...].starts(with: [UInt8(name.count)] + name + [7, 0, UInt8(value.count)] + value)
        }
        return (Array(message[(12 + headersLength)..<(total - 4)]), isAudio)
    }

    /// The messages `capture`'s body releases, fed in `piece`-byte pieces.
    static func decode(_ verified: VerifiedRequest, _ body: [UInt8], now: AmzDate, piece: Int) throws(VerificationFailure)
        -> [[UInt8]]
    {
        var decoder = try verified.makeEventStreamDecoder(clock: { now.secondsSince1970 * 1000 })
        var out: [[UInt8]] = []
        var i = 0
        while i < body.count {
            let end = min(body.count, i + piece)
            try decoder.feed(body[i..<end]) { out.append($0) }
            i = end
        }
        try decoder.finish()
        return out
    }

    @Test("the captures are there: three streams from each client")
    func capturesLoaded() {
        #expect(Self.captures.count == 6)
        #expect(Self.captures.filter { $0.client.hasPrefix("amazon-transcribe") }.count == 3)
    }

    @Test("each capture verifies as an event stream and releases exactly its AudioEvents, whole or in pieces", arguments: captures)
    func captureVerifies(capture: Capture) async throws {
        let result = await Self.verifier.verify(capture.request, payload: .streamed, now: capture.now)
        let verified = try #require(result.verified, "\(result.failure?.description ?? "")")
        #expect(verified.payload == .eventStream)
        for piece in [1, 9, 4096, 1 << 30] {
            let messages = try Self.decode(verified, capture.body, now: capture.now, piece: piece)
            #expect(messages.map { Self.audioEvent($0).payload } == capture.audio, "piece \(piece)")
            #expect(messages.allSatisfy { Self.audioEvent($0).isAudioEvent })
        }
        // The whole body given at once reads the same way.
        let whole = await Self.verifier.verify(capture.request, payload: .body(capture.body), now: capture.now)
        #expect(whole.verified?.payload == .eventStream, "\(whole.failure?.description ?? "")")
    }

    @Test("a changed byte anywhere in a capture's body is refused, and the envelope it is in releases nothing", arguments: captures.prefix(2))
    func changedBytesRefused(capture: Capture) async throws {
        let verified = try #require(await Self.verifier.verify(capture.request, now: capture.now).verified)
        for position in stride(from: 0, to: capture.body.count, by: 7) {
            var body = capture.body
            body[position] ^= 0x10
            var decoder = try verified.makeEventStreamDecoder()
            var released = 0
            var failed = false
            do {
                try decoder.feed(body) { _ in released += 1 }
                try decoder.finish()
            } catch {
                failed = true
            }
            #expect(failed, "byte \(position)")
            // Only the messages of the envelopes before the changed one come out.
            var start = 0
            var before = 0
            while start + 4 <= position {
                let total = Int(capture.body[start]) << 24 | Int(capture.body[start + 1]) << 16
                    | Int(capture.body[start + 2]) << 8 | Int(capture.body[start + 3])
                if start + total > position { break }
                start += total
                before += 1
            }
            #expect(released <= before, "byte \(position)")
        }
    }

    @Test("without Transcribe's paths among eventStreamPaths the Python client's request is not an event stream", arguments: captures.filter { $0.client.hasPrefix("amazon-transcribe") }.prefix(1))
    func pythonFormNeedsThePath(capture: Capture) async throws {
        var policy = VerificationPolicy()
        policy.eventStreamPaths = []
        let credential = ResolvedCredential(
            accessKeyID: Self.accessKeyID, secretAccessKey: SecretAccessKey(Self.secret), principal: "sdk")
        let verifier = Verifier(resolver: InMemoryCredentialResolver([credential]), policy: policy)
        let result = await verifier.verify(capture.request, payload: .streamed, now: capture.now)
        // Signed as bodiless: over HTTP/2 its bytes would then be checked against the empty hash.
        #expect(result.verified?.payload == .verified)
    }
}
