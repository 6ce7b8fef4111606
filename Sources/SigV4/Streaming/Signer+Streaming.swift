public import HTTPTypes
import _SigV4Crypto

extension Signer {
    /// How the seed request carries `Content-Length` (the encoded body length).
    public enum StreamingContentLength: Sendable, Hashable {
        /// Set `Content-Length` and sign it (the S3 documentation's chunked example).
        case signed
        /// Set `Content-Length` but leave it out of `SignedHeaders` (the S3 trailer example, most SDKs).
        case unsigned
        /// Leave `Content-Length` to the HTTP client (it must send exactly ``StreamingSignedRequest/encodedContentLength``).
        case omitted
    }

    /// Signs the seed request of an aws-chunked streaming upload.
    ///
    /// AWS documentation: S3 API Reference, "Transferring Payload in Multiple Chunks" and
    /// "… with trailing headers". Sets:
    /// - `Content-Encoding: aws-chunked` (prepended to an existing content coding);
    /// - `x-amz-decoded-content-length` (when the length is known);
    /// - `Content-Length`: the encoded length computed up front (see `contentLength`);
    /// - `x-amz-content-sha256`: the streaming constant of `encoding`;
    /// - `x-amz-trailer: x-amz-checksum-<algorithm>` for the trailer variants;
    /// then signs the seed with ``sign(_:payload:at:)`` and returns what signs the chunks.
    ///
    /// ```swift
    /// let streaming = try signer.signStreaming(
    ///     request, decodedContentLength: 66_560, encoding: .signedWithTrailer(.crc32c), at: date)
    /// var http = streaming.request          // send these headers
    /// let body = try streaming.encode(data) // or streaming.body(asyncChunks)
    /// ```
    ///
    /// - Parameters:
    ///   - request: the upload request; `path` is the wire request target.
    ///   - decodedContentLength: the payload length, or nil when unknown (then neither
    ///     `x-amz-decoded-content-length` nor `Content-Length` is set; S3 itself requires the length).
    ///   - encoding: the aws-chunked variant.
    ///   - chunkSize: data bytes per chunk, 8 KiB ... 64 MiB (every chunk but the last has this size).
    ///   - contentLength: whether `Content-Length` is set and signed.
    ///   - date: the signing time.
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidChunkSize``,
    ///   ``SigV4Error/Code-swift.struct/contentLengthMismatch`` (negative length, or a caller-set
    ///   `x-amz-decoded-content-length` that disagrees), and every error of ``sign(_:payload:at:)``.
    public func signStreaming(
        _ request: HTTPRequest, decodedContentLength: Int?, encoding: AWSChunkedEncoding = .signed,
        chunkSize: Int = AWSChunkedEncoding.defaultChunkSize, contentLength: StreamingContentLength = .signed,
        at date: AmzDate
    ) throws(SigV4Error) -> StreamingSignedRequest {
        try AWSChunkedEncoding.validate(chunkSize: chunkSize)
        var encodedLength: Int?
        if let decodedContentLength {
            encodedLength = try encoding.encodedLength(decodedLength: decodedContentLength, chunkSize: chunkSize)
        }
        let seed = try Signer.streamingSeed(
            request, decodedContentLength: decodedContentLength,
            contentLength: contentLength == .omitted ? nil : encodedLength, trailer: encoding.trailer,
            payloadHash: encoding.payloadHash)

        var seedSigner = self
        if contentLength == .unsigned {
            seedSigner.options.unsignedHeaders.insert("content-length")
            seedSigner.options.forcedSignedHeaders.remove("content-length")
        }
        let signed = try seedSigner.sign(seed, payload: encoding.payloadHash, at: date)
        var chunkSigner: ChunkSigner?
        if encoding.signsChunks {
            chunkSigner = ChunkSigner(
                signingKey: signingKey(for: signed.scope), date: date, seedSignature: signed.signature)
        }
        return StreamingSignedRequest(
            seed: signed, encoding: encoding, chunkSize: chunkSize, decodedContentLength: decodedContentLength,
            encodedContentLength: encodedLength, chunkSigner: chunkSigner)
    }
}

extension Signer {
    /// `request` with the fields of an aws-chunked seed request: `Content-Encoding: aws-chunked`
    /// (before any other codings), `x-amz-decoded-content-length`, `Content-Length` (the encoded
    /// length, when given), `x-amz-trailer` and `X-Amz-Content-SHA256` (unless the request has one).
    /// `Signer.signStreaming` and `SigV4aSigner.signStreaming` both build their seed here.
    static func streamingSeed(
        _ request: HTTPRequest, decodedContentLength: Int?, contentLength: Int?, trailer: TrailingChecksum.Algorithm?,
        payloadHash: PayloadHash
    ) throws(SigV4Error) -> HTTPRequest {
        var seed = request
        var fields = request.headerFields

        // Content-Encoding: aws-chunked[,<existing codings>]
        let existingCoding = fields[values: .contentEncoding].joined(separator: ",")
        let tokens = existingCoding.split(separator: ",").map { $0.trimmingASCIISpaces() }.filter { !$0.isEmpty }
        fields[.contentEncoding] = nil
        let coding = ([AWSChunkedEncoding.contentEncoding] + tokens.filter { $0.lowercased() != "aws-chunked" })
            .joined(separator: ",")
        fields[.contentEncoding] = coding

        let decodedName = HTTPField.Name("x-amz-decoded-content-length")!
        if let existing = fields[decodedName], existing != decodedContentLength.map(String.init) {
            throw SigV4Error(
                .contentLengthMismatch, "x-amz-decoded-content-length disagrees with the declared decoded length")
        }
        fields[decodedName] = decodedContentLength.map(String.init)

        fields[.contentLength] = nil
        if let contentLength { fields[.contentLength] = String(contentLength) }

        let trailerName = HTTPField.Name("x-amz-trailer")!
        fields[trailerName] = trailer?.headerName

        let contentSHA = HTTPField.Name("X-Amz-Content-SHA256")!
        if fields[contentSHA] == nil {
            fields[contentSHA] = payloadHash.value
        }
        seed.headerFields = fields
        return seed
    }
}

extension Substring {
    func trimmingASCIISpaces() -> String {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

/// A signed seed request of an aws-chunked upload, and everything needed to encode its body.
///
/// ```swift
/// let streaming = try signer.signStreaming(request, decodedContentLength: data.count, at: date)
/// print(streaming.seedSignature.hex)
/// let body = try streaming.encode(data)          // in memory
/// for try await frame in streaming.body(chunks) { // or streamed, in constant memory
///     try await write(frame)
/// }
/// ```
public struct StreamingSignedRequest: Sendable {
    /// The signed seed request: headers, canonical request, string to sign and seed signature.
    public let seed: SignedRequest
    /// The variant.
    public let encoding: AWSChunkedEncoding
    /// Data bytes per chunk.
    public let chunkSize: Int
    /// `x-amz-decoded-content-length`, when known.
    public let decodedContentLength: Int?
    /// The length of the encoded body (the `Content-Length` to send), when the decoded length is known.
    public let encodedContentLength: Int?
    /// The chain of chunk signatures, starting at the seed signature (signed variants only).
    public let chunkSigner: ChunkSigner?

    /// The request to send (seed headers, `Authorization` included).
    public var request: HTTPRequest { seed.request }
    /// The seed signature.
    public var seedSignature: Signature { seed.signature }

    /// A fresh encoder for the body (each encoder signs the chain from the seed).
    public func makeEncoder() -> AWSChunkedEncoder {
        AWSChunkedEncoder(
            validated: encoding, chunkSize: chunkSize, decodedContentLength: decodedContentLength,
            chunkSigner: chunkSigner)
    }

    /// Encodes an in-memory payload into the complete aws-chunked body.
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/contentLengthMismatch`` when `payload`'s length
    ///   differs from ``decodedContentLength``.
    public func encode<Bytes: Collection<UInt8>>(_ payload: Bytes) throws(SigV4Error) -> [UInt8] {
        var encoder = makeEncoder()
        return try encoder.encode(payload)
    }

    /// The aws-chunked body of an asynchronous stream of byte buffers, one frame per element.
    public func body<Base: AsyncSequence>(_ payload: Base) -> AWSChunkedBody<Base> where Base.Element: Sequence<UInt8> {
        AWSChunkedBody(payload, encoder: makeEncoder())
    }
}
