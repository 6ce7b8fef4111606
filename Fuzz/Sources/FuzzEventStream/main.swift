// libFuzzer target: event-stream signing and verification (`EventStreamSigner`, `EventStreamDecoder`).
// The first byte picks a mode and the second a piece size.
// - Mode 0: the rest is fed to a decoder as a signed event-stream body. Oracles: no crash, no hang;
//   nothing is released (no input here carries a valid signature chain from the fixed seed).
// - Mode 1: the rest, split at 0xFF bytes, is up to 8 messages, signed into a body (their dates 777 ms
//   apart, across midnight UTC). Oracles: the body verifies in pieces and releases exactly those
//   messages; with one byte of it changed (position and bit from the input) it is refused.
import LibFuzzerDriver
import SigV4
import SigV4Verifier

let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey("fuzz secret"))
let seed = Signature(hex: String(repeating: "3c", count: 32))!
let midnight: Int64 = 1_764_892_800_000

func decoder() -> EventStreamDecoder {
    EventStreamDecoder(credentials: credentials, region: "us-east-1", service: "transcribe", seedSignature: seed)
}

/// Feeds `body` in pieces of `piece` bytes: the released messages and whether it verified to its end.
func run(_ body: [UInt8], piece: Int) -> (released: [[UInt8]], ok: Bool) {
    var d = decoder()
    var released: [[UInt8]] = []
    do throws(VerificationFailure) {
        var i = 0
        while i < body.count {
            let end = min(body.count, i + piece)
            try d.feed(Array(body[i..<end])) { released.append($0) }
            i = end
        }
        try d.finish()
        return (released, true)
    } catch {
        return (released, false)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard bytes.count >= 2 else { return 0 }
    let piece = Int(bytes[1]) + 1
    let rest = Array(bytes[2...])
    if bytes[0] & 1 == 0 {
        let (released, _) = run(rest, piece: piece)
        precondition(released.isEmpty, "a message was released from an unsigned body")
        return 0
    }
    let messages = rest.split(separator: 0xFF, omittingEmptySubsequences: true).prefix(8).map { Array($0) }
    var signer = EventStreamSigner(credentials: credentials, region: "us-east-1", service: "transcribe", seedSignature: seed)
    var body: [UInt8] = []
    for (i, message) in messages.enumerated() {
        body += try! signer.sign(message, atMilliseconds: midnight - 2_000 + Int64(i) * 777)
    }
    body += try! signer.signEnd(atMilliseconds: midnight + 10_000)
    let (released, ok) = run(body, piece: piece)
    precondition(ok && released == messages, "a signed stream did not verify to its messages")
    var tampered = body
    let position = (Int(bytes[1]) &* 7919 &+ rest.count) % tampered.count
    tampered[position] ^= UInt8(1) << (bytes[0] >> 1 & 7)
    precondition(!run(tampered, piece: piece).ok, "a stream with byte \(position) changed was accepted")
    return 0
}

runFuzzer(fuzzOne)
