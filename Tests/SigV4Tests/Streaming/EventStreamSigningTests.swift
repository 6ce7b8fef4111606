import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// `EventStreamSigner` against AWS's Transcribe streaming SDK: `TestVectors/transcribe-eventstream/`
/// holds 10 streams (45 envelopes) signed and framed by amazon-transcribe 0.6.4's `EventSigner` and
/// `EventStreamMessageSerializer` (`scripts/gen-transcribe-eventstream-vectors.py`), each envelope
/// compared byte for byte: its `:date`, its chained `:chunk-signature`, both CRCs.
@Suite("event-stream message signing (amazon-transcribe cross-check)")
struct EventStreamSigningTests {
    struct Stream: CustomTestStringConvertible, Sendable {
        var name: String
        var region: String
        var service: String
        var secret: String
        var seed: String
        var messages: [(milliseconds: Int64, payload: [UInt8], signature: String, envelope: [UInt8])]
        var testDescription: String { name }
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(hex.utf8.count / 2)
        var it = hex.utf8.makeIterator()
        while let h = it.next(), let l = it.next() {
            func v(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
            out.append(v(h) << 4 | v(l))
        }
        return out
    }

    static let streams: [Stream] = {
        guard let file = try? Vectors.json("transcribe-eventstream/vectors.json"),
            let cases = file["cases"] as? [[String: Any]]
        else { return [] }
        return cases.map { c in
            Stream(
                name: c["name"] as! String, region: c["region"] as! String, service: c["service"] as! String,
                secret: c["secret_access_key"] as! String, seed: c["seed_signature"] as! String,
                messages: (c["messages"] as! [[String: Any]]).map {
                    (
                        ($0["milliseconds"] as! NSNumber).int64Value, bytes($0["payload_hex"] as! String),
                        $0["signature"] as! String, bytes($0["envelope_hex"] as! String)
                    )
                })
        }
    }()

    @Test("the vectors are present: 10 streams, 45 envelopes, one stream across midnight UTC")
    func vectorsPresent() {
        #expect(Self.streams.count == 10)
        #expect(Self.streams.reduce(0) { $0 + $1.messages.count } == 45)
        let midnight = Self.streams.first { $0.name == "across-midnight" }
        let days = Set(midnight?.messages.map { $0.milliseconds / 86_400_000 } ?? [])
        #expect(days.count == 2)
    }

    @Test("every envelope equals amazon-transcribe's byte for byte, the signature chain included", arguments: streams)
    func envelopesMatch(_ stream: Stream) throws {
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey(stream.secret))
        var signer = EventStreamSigner(
            credentials: credentials, region: stream.region, service: stream.service,
            seedSignature: try #require(Signature(hex: stream.seed)))
        for (i, message) in stream.messages.enumerated() {
            let envelope =
                message.payload.isEmpty
                ? try signer.signEnd(atMilliseconds: message.milliseconds)
                : try signer.sign(message.payload, atMilliseconds: message.milliseconds)
            #expect(signer.previousSignature.hex == message.signature, "\(stream.name) #\(i): signature")
            let same = envelope == message.envelope  // a Bool: a mismatch prints the index, not two byte dumps
            #expect(same, "\(stream.name) #\(i): envelope bytes differ (\(envelope.count) and \(message.envelope.count) bytes)")
        }
    }

    @Test("any :date signs without trapping, Int64's extremes included (a verifier signs the hostile :date an envelope claims before checking it)")
    func extremeDatesDoNotTrap() throws {
        let seed = try #require(Signature(hex: String(repeating: "cd", count: 32)))
        func signed(_ ms: Int64) throws -> Signature? {
            var signer = EventStreamSigner(
                credentials: Credentials(accessKeyID: "AKID", secretAccessKey: SecretAccessKey("secret")),
                region: "us-east-1", service: "transcribe", seedSignature: seed)
            do {
                _ = try signer.sign([1, 2, 3], atMilliseconds: ms)
            } catch {
                return nil  // a date no scope can hold is refused, typed
            }
            return signer.previousSignature
        }
        for ms in [Int64.min, Int64.min + 1, Int64.min + 998, Int64.min + 999, -1_001, Int64.max, Int64.max - 999] {
            _ = try signed(ms)
        }
        #expect(try signed(-1_001) != nil && signed(0) != nil)
    }

    @Test("a payload over 16 MiB is refused (invalidEventMessage) and leaves the chain where it was")
    func oversizedPayload() throws {
        var signer = EventStreamSigner(
            credentials: Credentials(accessKeyID: "AKID", secretAccessKey: SecretAccessKey("secret")), region: "us-east-1",
            service: "transcribe", seedSignature: try #require(Signature(hex: String(repeating: "ab", count: 32))))
        let before = signer.previousSignature
        #expect(throws: SigV4Error.self) {
            _ = try signer.sign([UInt8](repeating: 0, count: EventStreamSigner.maximumPayload + 1), atMilliseconds: 0)
        }
        #expect(signer.previousSignature == before)
        let atLimit = try signer.sign([UInt8](repeating: 0, count: EventStreamSigner.maximumPayload), atMilliseconds: 0)
        #expect(atLimit.count == EventStreamSigner.maximumPayload + 16 + (1 + 5 + 1 + 8) + (1 + 16 + 1 + 2 + 32))  // framing, :date, :chunk-signature
        #expect(signer.previousSignature != before)
    }

    @Test("a change to the seed, the secret, the date or one payload byte changes the signature; times before 1970 sign in their own day")
    func signatureCoversEachInput() throws {
        let seed = try #require(Signature(hex: String(repeating: "01", count: 32)))
        func signature(secret: String = "s", seed: Signature, ms: Int64 = 1_000_000, payload: [UInt8] = [1, 2, 3]) throws -> String {
            var signer = EventStreamSigner(
                credentials: Credentials(accessKeyID: "AKID", secretAccessKey: SecretAccessKey(secret)), region: "us-east-1",
                service: "transcribe", seedSignature: seed)
            _ = try signer.sign(payload, atMilliseconds: ms)
            return signer.previousSignature.hex
        }
        let base = try signature(seed: seed)
        let other = try #require(Signature(hex: String(repeating: "02", count: 32)))
        #expect(try signature(seed: other) != base)
        #expect(try signature(secret: "t", seed: seed) != base)
        #expect(try signature(seed: seed, ms: 1_000_001) != base)  // the :date header's milliseconds
        #expect(try signature(seed: seed, payload: [1, 2, 4]) != base)
        #expect(try signature(seed: seed, ms: -1) != (try signature(seed: seed, ms: 0)))
    }

    @Test("PayloadHash.streamingEvents is the seed request's x-amz-content-sha256, parsed from its text and not aws-chunked")
    func seedPayloadHash() throws {
        #expect(PayloadHash.streamingEvents.value == "STREAMING-AWS4-HMAC-SHA256-EVENTS")
        #expect(PayloadHash.streamingEvents.isStreaming)
        #expect(PayloadHash.streamingEvents.isEventStream)
        #expect(!PayloadHash.streamingEvents.isAWSChunked)
        #expect(try PayloadHash("STREAMING-AWS4-HMAC-SHA256-EVENTS") == .streamingEvents)
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey("secret")),
            region: "us-east-1", service: "transcribe")
        var fields = HTTPFields()
        fields[HTTPField.Name("x-amz-content-sha256")!] = PayloadHash.streamingEvents.value
        let request = HTTPRequest(
            method: .post, scheme: "https", authority: "transcribestreaming.us-east-1.amazonaws.com:8443",
            path: "/stream-transcription", headerFields: fields)
        let signed = try signer.sign(request, payload: .streamingEvents, at: AmzDate(secondsSince1970: 1_764_806_400))
        #expect(signed.canonicalRequest.text.hasSuffix("\nSTREAMING-AWS4-HMAC-SHA256-EVENTS"))
    }
}
