import ArgumentParser
import Foundation
import SigV4
import SigV4CommandLine

/// `sign --event-stream`: a request whose body is a signed event stream
/// (`STREAMING-AWS4-HMAC-SHA256-EVENTS`, as Transcribe streaming takes audio).
///
/// The body given (`--data` or `--data-file`) is a run of encoded event-stream messages (an
/// AudioEvent after another, as an SDK would encode them); each becomes the payload of an envelope
/// signed with the request's key, chained on the request's signature and dated at `--timestamp`,
/// and the signed empty envelope that ends the stream follows.
///
/// ```
/// sigv4 sign https://transcribestreaming.us-east-1.amazonaws.com:8443/stream-transcription -X POST \
///     --service transcribe --event-stream --data-file audio-events.bin --output body.bin
/// ```
struct EventStreamOptions: ParsableArguments {
    @Flag(
        name: .customLong("event-stream"),
        help: """
            Sign an event-stream request (STREAMING-AWS4-HMAC-SHA256-EVENTS): the body (--data or --data-file) is \
            a run of encoded event-stream messages, each sent in an envelope signed and chained on the \
            request's signature, then the end. Needs --output FILE (or --format http).
            """)
    var eventStream = false

    /// The most body bytes read (the messages are held to be framed).
    static let maximumBody = 256 << 20

    /// The encoded messages of `body`, each checked to be a whole event-stream message (its length,
    /// both CRC-32s) of at most ``EventStreamSigner/maximumPayload`` bytes.
    static func messages(of body: RequestSpec.Body) throws(CLIError) -> [[UInt8]] {
        let bytes: [UInt8]
        switch body {
        case .none: throw .usage("--event-stream needs the messages to send (--data or --data-file)")
        case .bytes(let b): bytes = b
        case .file(let path):
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = attributes[.size] as? Int, size <= maximumBody, let data = FileManager.default.contents(atPath: path)
            else { throw .failure("cannot read '\(path)' (or it is over \(maximumBody >> 20) MiB)") }
            bytes = [UInt8](data)
        }
        guard !bytes.isEmpty else { throw .usage("--event-stream needs at least one message") }
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            func notAMessage(_ why: String) -> CLIError {
                .usage(
                    "--event-stream: the body is not a run of event-stream messages at byte \(i): \(why)",
                    hint: "each message: total length and headers length (UInt32 big-endian), their CRC-32, headers, payload, CRC-32")
            }
            switch EventStreamEncoding.frame(bytes, at: i, maxTotal: EventStreamSigner.maximumPayload) {
            case .incomplete: throw notAMessage("the last \(bytes.count - i) bytes are not a whole message")
            case .badLength(let total, _): throw notAMessage("a total length of \(total) bytes")
            case .badPreludeChecksum: throw notAMessage("the prelude's CRC-32 is wrong")
            case .badChecksum: throw notAMessage("the message's CRC-32 is wrong")
            case .message(let total, _):
                out.append(Array(bytes[i..<(i + total)]))
                i += total
            }
        }
        return out
    }
}
