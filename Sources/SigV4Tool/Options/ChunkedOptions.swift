import ArgumentParser
import Foundation
import HTTPTypes
import SigV4
import SigV4CommandLine

/// aws-chunked streaming upload options shared by `sign --chunked` and `curl -T … --chunked`.
///
/// ```
/// sigv4 sign https://b.s3.amazonaws.com/k -X PUT --data-file big.bin --chunked --trailer crc32c --output body.chunked
/// sigv4 curl --chunked --trailer sha256 -- -T big.bin https://b.s3.amazonaws.com/k
/// ```
struct ChunkedOptions: ParsableArguments {
    @Flag(
        help: "Sign an aws-chunked streaming upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]; with --sigv4a STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD[-TRAILER]) and encode the body."
    )
    var chunked = false

    @Option(name: .customLong("chunk-size"), help: "Data bytes per chunk, 8192 to 67108864.")
    var chunkSize: Int = AWSChunkedEncoding.defaultChunkSize

    @Option(help: "A trailing checksum: crc32c, crc32, crc64nvme, sha1, sha256, sha512, xxhash64, xxhash3, xxhash128 or md5.")
    var trailer: String?

    @Flag(
        name: .customLong("unsigned-trailer"),
        help: "STREAMING-UNSIGNED-PAYLOAD-TRAILER: plain chunks and an unsigned checksum trailer (needs --trailer).")
    var unsignedTrailer = false

    func encoding() throws(CLIError) -> AWSChunkedEncoding {
        guard let trailer else {
            if unsignedTrailer {
                let names = TrailingChecksum.Algorithm.allCases.map(\.rawValue).joined(separator: "|")
                throw .usage("--unsigned-trailer needs --trailer \(names)")
            }
            return .signed
        }
        let algorithm: TrailingChecksum.Algorithm
        do { algorithm = try TrailingChecksum.Algorithm(name: trailer) } catch {
            throw .usage(
                "unknown --trailer '\(trailer)'",
                hint: "use crc32c, crc32, crc64nvme, sha1, sha256, sha512, xxhash64, xxhash3, xxhash128 or md5")
        }
        return unsignedTrailer ? .unsignedWithTrailer(algorithm) : .signedWithTrailer(algorithm)
    }

    func validate(body: RequestSpec.Body, payloadOverride: PayloadHash?) throws(CLIError) {
        guard chunked else {
            if trailer != nil || unsignedTrailer || chunkSize != AWSChunkedEncoding.defaultChunkSize {
                throw .usage("--trailer, --unsigned-trailer and --chunk-size need --chunked")
            }
            return
        }
        if payloadOverride != nil {
            throw .usage("--chunked cannot be combined with --payload-hash or --unsigned-payload")
        }
        do { try AWSChunkedEncoding.validate(chunkSize: chunkSize) } catch {
            throw .usage("--chunk-size must be between 8192 and 67108864")
        }
    }

    /// Signs the seed request for `spec`'s body, with SigV4 or, given `sigV4a`, SigV4a (ECDSA chunk signatures).
    func signSeed(_ spec: RequestSpec, context: SigningContext, sigV4a: SigV4aSigner? = nil) throws(CLIError)
        -> ChunkedUpload
    {
        let length: Int
        switch spec.body {
        case .none: length = 0
        case .bytes(let b): length = b.count
        case .file(let path):
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
                throw .failure("cannot read the size of '\(path)'")
            }
            length = size
        }
        let request = try spec.httpRequest()
        let encoding = try encoding()
        do {
            if let sigV4a {
                guard encoding.signsChunks else {
                    throw CLIError.usage("--unsigned-trailer is not available with --sigv4a (its chunks are ECDSA-signed)")
                }
                let streaming = try sigV4a.signStreaming(
                    request, decodedContentLength: length, trailer: encoding.trailer, chunkSize: chunkSize,
                    at: context.date)
                return ChunkedUpload(streaming, signer: sigV4a)
            }
            return ChunkedUpload(
                try context.signer.signStreaming(
                    request, decodedContentLength: length, encoding: encoding, chunkSize: chunkSize,
                    contentLength: .signed, at: context.date))
        } catch let error as CLIError {
            throw error
        } catch let error as SigV4Error {
            throw CLIError.signing(error)
        } catch {
            throw .failure("signing the seed request failed")
        }
    }

    /// Streams the encoded body of `spec` to `handle` in constant memory (1 MiB reads).
    static func writeEncodedBody(_ spec: RequestSpec, upload: ChunkedUpload, to handle: FileHandle)
        throws(CLIError)
    {
        var encoder = upload.encoder
        func emit(_ piece: UnsafeRawBufferPointer) throws { try handle.write(contentsOf: Data(piece)) }
        do {
            switch spec.body {
            case .none: break
            case .bytes(let bytes): try bytes.withUnsafeBytes { try encoder.write($0, to: emit) }
            case .file(let path):
                guard let input = FileHandle(forReadingAtPath: path) else {
                    throw CLIError.failure("cannot read '\(path)'")
                }
                defer { try? input.close() }
                while let block = try input.read(upToCount: 1 << 20), !block.isEmpty {
                    try block.withUnsafeBytes { try encoder.write($0, to: emit) }
                }
            }
            try encoder.finish(writingTo: emit)
        } catch let error as CLIError {
            throw error
        } catch let error as SigV4Error {
            throw CLIError.failure(error.reason, hint: "the body changed while it was read?")
        } catch {
            throw .failure("writing the aws-chunked body failed")
        }
    }

    /// The headers of the seed request that the user did not give verbatim (what must be added).
    static func addedHeaders(_ upload: ChunkedUpload, spec: RequestSpec) -> [(String, String)] {
        var given = spec.headers.map { ($0.0.lowercased(), $0.1) }
        var added: [(String, String)] = []
        for field in upload.view.request.headerFields {
            let pair = (field.name.canonicalName, field.value)
            if let i = given.firstIndex(where: { $0.0 == pair.0 && $0.1 == pair.1 }) {
                given.remove(at: i)
                continue
            }
            added.append((field.name.rawName, field.value))
        }
        return added
    }
}

/// A signed aws-chunked seed request, SigV4 or SigV4a, as `sign --chunked` and `curl --chunked`
/// print and encode it.
struct ChunkedUpload {
    /// The seed request, signed.
    var view: SignedView
    var decodedContentLength: Int?
    var encodedContentLength: Int?
    var chunkSize: Int
    /// The seed signature the chunk signatures chain on (hex).
    var seedSignature: String
    /// A fresh encoder (a value: each copy encodes from the seed).
    var encoder: AWSChunkedEncoder

    init(_ streaming: StreamingSignedRequest) {
        view = SignedView(streaming.seed)
        decodedContentLength = streaming.decodedContentLength
        encodedContentLength = streaming.encodedContentLength
        chunkSize = streaming.chunkSize
        seedSignature = streaming.seedSignature.hex
        encoder = streaming.makeEncoder()
    }

    init(_ streaming: SigV4aStreamingSignedRequest, signer: SigV4aSigner) {
        view = SignedView(streaming.seed, signer: signer)
        decodedContentLength = streaming.decodedContentLength
        encodedContentLength = streaming.encodedContentLength
        chunkSize = streaming.chunkSize
        seedSignature = streaming.seed.signatureHex
        encoder = streaming.makeEncoder()
    }
}
