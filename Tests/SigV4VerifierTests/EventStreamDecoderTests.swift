import Foundation
@testable import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// `EventStreamDecoder`: AWS's own signed event streams (amazon-transcribe 0.6.4's envelopes in
/// `TestVectors/transcribe-eventstream/`) verify and release exactly their inner messages; any
/// changed byte, a reordered or dropped envelope, a wrong key, a stream cut short, a skewed date or
/// an oversized frame is refused, and nothing of the bad envelope is released.
@Suite("event-stream verification (EventStreamDecoder)")
struct EventStreamDecoderTests {
    struct Stream {
        var name: String
        var region: String
        var service: String
        var secret: String
        var seed: Signature
        var envelopes: [[UInt8]]
        var payloads: [[UInt8]]
        var milliseconds: [Int64]

        var body: [UInt8] { envelopes.flatMap { $0 } }

        func decoder(secret: String? = nil, clock: (@Sendable () -> Int64)? = nil, limits: EventStreamDecoder.Limits = .init())
            -> EventStreamDecoder
        {
            EventStreamDecoder(
                credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey(secret ?? self.secret)),
                region: region, service: service, seedSignature: seed, limits: limits, clock: clock)
        }
    }

    static func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 0x39 ? $0 - 0x30 : ($0 | 0x20) - 0x61 + 10 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }

    static let streams: [Stream] = {
        guard let file = try? Vectors.json("transcribe-eventstream/vectors.json"),
            let cases = file["cases"] as? [[String: Any]]
        else { return [] }
        return cases.map { c in
            let messages = c["messages"] as! [[String: Any]]
            return Stream(
                name: c["name"] as! String, region: c["region"] as! String, service: c["service"] as! String,
                secret: c["secret_access_key"] as! String, seed: Signature(hex: c["seed_signature"] as! String)!,
                envelopes: messages.map { bytes($0["envelope_hex"] as! String) },
                payloads: messages.map { bytes($0["payload_hex"] as! String) },
                milliseconds: messages.map { ($0["milliseconds"] as! NSNumber).int64Value })
        }
    }()

    /// Feeds `body` in pieces of `piece` bytes; the released messages, or the failure's code.
    static func run(_ decoder: EventStreamDecoder, _ body: [UInt8], piece: Int = 1 << 30, finish: Bool = true)
        -> (released: [[UInt8]], code: String?)
    {
        var decoder = decoder
        var released: [[UInt8]] = []
        do throws(VerificationFailure) {
            var i = 0
            while i < body.count {
                let end = min(body.count, i + piece)
                try decoder.feed(Array(body[i..<end])) { released.append($0) }
                i = end
            }
            if finish { try decoder.finish() }
            return (released, nil)
        } catch {
            return (released, error.code.name)
        }
    }

    @Test("every amazon-transcribe stream verifies, whole or fed in small pieces, releasing exactly its messages")
    func awsStreamsVerify() {
        #expect(Self.streams.count == 10)
        for stream in Self.streams {
            let expected = Array(stream.payloads.dropLast())
            for piece in [1 << 30, 1, 7, 4096] {
                let (released, code) = Self.run(stream.decoder(), stream.body, piece: piece)
                #expect(code == nil, "\(stream.name), pieces of \(piece): \(code ?? "")")
                #expect(released == expected, "\(stream.name), pieces of \(piece)")
            }
        }
    }

    @Test("one changed byte anywhere in a stream is refused, and the envelope it is in releases nothing")
    func everyByteCounts() throws {
        let stream = try #require(Self.streams.first { $0.name == "lex" })
        let body = stream.body
        var starts: [Int] = []
        var offset = 0
        for envelope in stream.envelopes {
            starts.append(offset)
            offset += envelope.count
        }
        // Every byte of the first three envelopes, then a stride through the rest.
        let positions = Array(0..<(starts[3])) + Array(stride(from: starts[3], to: body.count, by: 13))
        for position in positions {
            var tampered = body
            tampered[position] ^= 0x01
            let (released, code) = Self.run(stream.decoder(), tampered)
            #expect(code != nil, "byte \(position) changed, still accepted")
            let envelope = starts.lastIndex { $0 <= position }!
            #expect(released.count <= envelope, "byte \(position): envelope \(envelope) released")
        }
    }

    @Test("a dropped, repeated or reordered envelope, a wrong secret, a stream without its end: each refused with its code")
    func chainAndEnd() throws {
        let stream = try #require(Self.streams.first { $0.name == "transcribe-us-east-1" })
        var e = stream.envelopes
        #expect(Self.run(stream.decoder(), (e[0..<1] + e[2...]).flatMap { $0 }).code == "SignatureDoesNotMatch")
        #expect(Self.run(stream.decoder(), ([e[0], e[0]] + e[1...]).flatMap { $0 }).code == "SignatureDoesNotMatch")
        e.swapAt(1, 2)
        #expect(Self.run(stream.decoder(), e.flatMap { $0 }).code == "SignatureDoesNotMatch")
        #expect(Self.run(stream.decoder(secret: "wrong"), stream.body).code == "SignatureDoesNotMatch")
        let withoutEnd = stream.envelopes.dropLast().flatMap { $0 }
        let cut = Self.run(stream.decoder(), withoutEnd)
        #expect(cut.code == "IncompleteBody" && cut.released.count == stream.envelopes.count - 1)
        #expect(Self.run(stream.decoder(), Array(stream.body.dropLast(3))).code == "IncompleteBody")
        #expect(Self.run(stream.decoder(), stream.body + [0]).code == "InvalidRequest")
        #expect(Self.run(stream.decoder(), stream.body + stream.envelopes[0]).code == "InvalidRequest")
    }

    @Test("with a clock, each :date must be within the skew: RequestTimeTooSkewed past it, accepted at it")
    func dateSkew() throws {
        let stream = try #require(Self.streams.first { $0.name == "transcribe-us-east-1" })
        let first = stream.milliseconds[0], last = stream.milliseconds.last!
        #expect(Self.run(stream.decoder(clock: { first + 900_000 }), stream.body).code == nil)
        #expect(Self.run(stream.decoder(clock: { last - 900_000 }), stream.body).code == nil)
        #expect(Self.run(stream.decoder(clock: { first + 900_001 }), stream.body).code == "RequestTimeTooSkewed")
        #expect(Self.run(stream.decoder(clock: { last - 900_001 }), stream.body).code == "RequestTimeTooSkewed")
        #expect(Self.run(stream.decoder(clock: { .min }), stream.body).code == "RequestTimeTooSkewed")
    }

    @Test("frames over the limit, short frames, bad prelude checksums and extra headers are refused before anything is buffered or released")
    func hostileFrames() throws {
        let stream = try #require(Self.streams.first { $0.name == "transcribe-us-east-1" })
        let small = EventStreamDecoder.Limits(maxMessageBytes: 64)
        #expect(Self.run(stream.decoder(limits: small), stream.body).code == "InvalidRequest")
        // A prelude claiming 4 GiB: refused from its first 12 bytes.
        var huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xF0, 0, 0, 0, 0]
        huge += Self.bigEndian(Self.crc32(huge))
        #expect(Self.run(stream.decoder(), huge, finish: false).code == "InvalidRequest")
        // Total length under 16, headers longer than the message.
        #expect(Self.run(stream.decoder(), [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0], finish: false).code == "InvalidRequest")
        #expect(Self.run(stream.decoder(), [0, 0, 0, 20, 0, 0, 0, 5, 0, 0, 0, 0], finish: false).code == "InvalidRequest")
        // Well-framed envelopes whose headers are not exactly :date and :chunk-signature.
        let date = EventStreamEncoding.timestampHeader(":date", milliseconds: stream.milliseconds[0])
        var signatureHeader: [UInt8] = []
        EventStreamEncoding.appendBytesHeader(":chunk-signature", [UInt8](repeating: 7, count: 32), to: &signatureHeader)
        var extra: [UInt8] = []
        EventStreamEncoding.appendBytesHeader(":extra", [1], to: &extra)
        var shortSignature: [UInt8] = []
        EventStreamEncoding.appendBytesHeader(":chunk-signature", [UInt8](repeating: 7, count: 31), to: &shortSignature)
        for headers in [date, signatureHeader, date + signatureHeader + extra, date + date + signatureHeader, date + shortSignature] {
            let envelope = EventStreamEncoding.message(headers: headers, payload: [1, 2, 3])
            let (released, code) = Self.run(stream.decoder(), envelope)
            #expect(code == "InvalidRequest" && released.isEmpty)
        }
        // The right headers in the other order, with a wrong signature: a signature mismatch.
        let swapped = EventStreamEncoding.message(headers: signatureHeader + date, payload: [1, 2, 3])
        #expect(Self.run(stream.decoder(), swapped).code == "SignatureDoesNotMatch")
        // Random bytes never crash it, never release anything.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let noise = (0..<Int.random(in: 0...80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let (released, _) = Self.run(stream.decoder(), noise)
            #expect(released.isEmpty)
        }
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    @Test("the project's signer and decoder round-trip a stream across midnight UTC")
    func roundTrip() throws {
        let credentials = Credentials(accessKeyID: "AKID", secretAccessKey: SecretAccessKey("round trip secret"))
        let seed = try #require(Signature(hex: String(repeating: "5a", count: 32)))
        var signer = EventStreamSigner(credentials: credentials, region: "eu-west-1", service: "transcribe", seedSignature: seed)
        let midnight: Int64 = 1_764_892_800_000
        var body: [UInt8] = []
        var messages: [[UInt8]] = []
        for (i, ms) in [midnight - 2_000, midnight - 1, midnight, midnight + 5_000].enumerated() {
            let message = Array("message \(i)".utf8)
            messages.append(message)
            body += try signer.sign(message, atMilliseconds: ms)
        }
        body += try signer.signEnd(atMilliseconds: midnight + 6_000)
        let decoder = EventStreamDecoder(
            credentials: credentials, region: "eu-west-1", service: "transcribe", seedSignature: seed,
            clock: { midnight })
        let (released, code) = Self.run(decoder, body, piece: 5)
        #expect(code == nil)
        #expect(released == messages)
    }
}
