// libFuzzer target: the aws-chunked decoder and verifier.
//
// Byte 0 picks the mode and the variant (signed, signed + trailer, unsigned + trailer; every trailing
// checksum algorithm, the CRCs, SHAs, xxHashes and MD5), byte 1 the piece size the body is fed in.
// - raw mode (byte 0 even): the rest of the input is the wire body, verified against a fixed seed: random
//   framing, chunk sizes, extensions, signatures and trailers.
//   Oracle: no crash, no hang, never more bytes released than declared.
// - structured mode (byte 0 odd): bytes 2-3 give a payload length (up to 20,000; the payload repeats the
//   input), the body is encoded with the real signer (8 KiB chunks), then bytes 4-7 flip one byte of it.
//   Oracles: unmodified → accepted and decoded byte for byte; modified → whatever is released is a prefix of
//   the payload for signed variants (nothing unverified is released), and an accepted body decodes exactly.
// Signed variants also run as SigV4a (ECDSA chunk signatures, '*'-padded): in raw mode when bit 1 of byte 2
// is set, in structured mode when bit 7 of byte 0 is (the body then encoded by SigV4aChunkSigner).
import LibFuzzerDriver
import Glibc
import HTTPTypes
import SigV4
import SigV4Verifier

let date = AmzDate(secondsSince1970: 1_440_938_160)
let signer = Signer(
    credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    region: "us-east-1", service: "s3")
let seed = Signature(hex: String(repeating: "4f", count: 32))!
let ecdsaKey = try! SigV4aSigningKey(
    credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
let algorithms = TrailingChecksum.Algorithm.allCases

func encoding(_ b: UInt8) -> AWSChunkedEncoding {
    let algorithm = algorithms[Int(b >> 3) % algorithms.count]
    switch (b >> 1) % 3 {
    case 0: return .signed
    case 1: return .signedWithTrailer(algorithm)
    default: return .unsignedWithTrailer(algorithm)
    }
}

/// Feeds `body` in pieces of `piece` bytes; returns the released bytes and whether the body was accepted.
/// Uses the closure API, which hands over every released byte, also those released before a failure within
/// the same call (the `[UInt8]` convenience returns nothing from a call that throws).
func decode(_ decoder: inout AWSChunkedDecoder, _ body: [UInt8], piece: Int) -> (released: [UInt8], ok: Bool) {
    let piece = max(piece, body.count / 64)  // at most ~64 feeds per input keeps executions fast
    var out: [UInt8] = []
    var failure: VerificationFailure?
    var i = 0
    while i < body.count && failure == nil {
        let end = min(body.count, i + piece)
        Array(body[i..<end]).withUnsafeBytes { raw in
            do throws(VerificationFailure) {
                try decoder.feed(raw) { out.append(contentsOf: $0) }
            } catch {
                failure = error
            }
        }
        i = end
    }
    if failure == nil {
        do throws(VerificationFailure) { try decoder.finish() } catch { failure = error }
    }
    if let failure {
        precondition(failure.code.httpStatus >= 400 && failure.code.httpStatus < 500, "not a 4xx: \(failure.code)")
        return (out, false)
    }
    return (out, true)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard bytes.count >= 8 else { return 0 }
    let variant = encoding(bytes[0])
    let piece = Int(bytes[1]) * 37 + 1
    if bytes[0] & 1 == 0 {
        let declared = Int(bytes[2]) | Int(bytes[3]) << 8
        let scope = try! CredentialScope(dateStamp: date.dateStamp, region: "us-east-1", service: "s3")
        let limits = bytes[2] & 1 == 0 ? .default : AWSChunkedDecoder.Limits(maxChunkSize: 64, maxLineLength: 96, maxTrailerBytes: 128)
        var decoder =
            bytes[2] & 2 != 0 && variant.signsChunks
            ? AWSChunkedDecoder(
                sigV4aEncoding: variant, decodedContentLength: declared, signingKey: ecdsaKey, date: date, service: "s3",
                seedSignature: String(repeating: "4f", count: 70), limits: limits)
            : AWSChunkedDecoder(
                encoding: variant, decodedContentLength: declared, signingKey: signer.signingKey(for: scope), date: date,
                seedSignature: seed, limits: limits)
        let (released, _) = decode(&decoder, Array(bytes[8...]), piece: piece)
        precondition(released.count <= declared, "released more than the declared decoded length")
        precondition(decoder.releasedByteCount == released.count)
        return 0
    }
    let length = (Int(bytes[2]) | Int(bytes[3]) << 8) % 20_001
    let pattern = bytes.count > 8 ? Array(bytes[8...]) : [0x61]
    let payload = (0..<length).map { pattern[$0 % pattern.count] }
    let request = HTTPRequest(method: .put, scheme: "https", authority: "bucket.s3.amazonaws.com", path: "/object")
    let streaming = try! signer.signStreaming(request, decodedContentLength: length, encoding: variant, chunkSize: 8192, at: date)
    let sigV4a = bytes[0] & 0x80 != 0 && variant.signsChunks
    let ecdsaSeed = String(repeating: "5a", count: 71)
    var ecdsaChain = SigV4aChunkSigner(signingKey: ecdsaKey, date: date, service: "s3", seedSignature: ecdsaSeed)
    var body = sigV4a
        ? try! ecdsaChain.encode(payload, chunkSize: 8192, trailer: variant.trailer) : try! streaming.encode(payload)
    let position = (Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16) % body.count
    let flip = bytes[7]
    body[position] ^= flip
    var decoder =
        sigV4a
        ? AWSChunkedDecoder(
            sigV4aEncoding: variant, decodedContentLength: length, signingKey: ecdsaKey, date: date, service: "s3",
            seedSignature: ecdsaSeed)
        : AWSChunkedDecoder(
            encoding: variant, decodedContentLength: length, signingKey: signer.signingKey(for: streaming.seed.scope),
            date: date, seedSignature: streaming.seedSignature)
    let (released, ok) = decode(&decoder, body, piece: piece)
    if flip == 0 {
        precondition(ok && released == payload, "an untouched body was not accepted byte for byte")
    } else if ok {
        precondition(released == payload, "a modified body was accepted with different content")
    } else if variant.signsChunks {
        precondition(released.count <= payload.count && Array(payload[..<released.count]) == released,
            "unverified bytes were released")
    }
    return 0
}

runFuzzer(fuzzOne)
