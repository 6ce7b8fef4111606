public import HTTPTypes

extension SigV4aSigner {
    /// Signs the seed request of a SigV4a aws-chunked upload (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`,
    /// or `…-PAYLOAD-TRAILER` with `trailer`), as aws-c-auth and the CRT-based SDKs send them.
    ///
    /// Adds `Content-Encoding: aws-chunked`, `x-amz-decoded-content-length`, the encoded
    /// `Content-Length` (signed; chunk signatures take 144 characters each), `x-amz-trailer` and
    /// `X-Amz-Content-SHA256`, then signs like ``sign(_:payload:at:)``. The result makes an
    /// encoder whose chunk signatures chain on the seed's.
    ///
    /// ```swift
    /// let streaming = try sigv4a.signStreaming(request, decodedContentLength: data.count, trailer: .crc32c, at: date)
    /// let body = try streaming.encode(data)
    /// ```
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidChunkSize``,
    ///   ``SigV4Error/Code-swift.struct/contentLengthMismatch``, and every error of ``sign(_:payload:at:)``.
    public func signStreaming(
        _ request: HTTPRequest, decodedContentLength: Int, trailer: TrailingChecksum.Algorithm? = nil,
        chunkSize: Int = AWSChunkedEncoding.defaultChunkSize, at date: AmzDate
    ) throws(SigV4Error) -> SigV4aStreamingSignedRequest {
        let encodedLength = try SigV4aChunkSigner.encodedLength(
            decodedLength: decodedContentLength, chunkSize: chunkSize, trailer: trailer)
        let payloadHash: PayloadHash = trailer == nil ? .streamingECDSASigned : .streamingECDSASignedTrailer
        let seed = try Signer.streamingSeed(
            request, decodedContentLength: decodedContentLength, contentLength: encodedLength, trailer: trailer,
            payloadHash: payloadHash)
        let signed = try sign(seed, payload: payloadHash, at: date)
        return SigV4aStreamingSignedRequest(
            seed: signed, trailer: trailer, chunkSize: chunkSize, decodedContentLength: decodedContentLength,
            encodedContentLength: encodedLength,
            chain: SigV4aChunkSigner(signingKey: signingKey, date: date, service: service, seedSignature: signed.signatureHex))
    }
}

/// A SigV4a aws-chunked seed request and what encodes its body (``SigV4aSigner/signStreaming(_:decodedContentLength:trailer:chunkSize:at:)``).
///
/// ```swift
/// let streaming = try sigv4a.signStreaming(request, decodedContentLength: data.count, at: date)
/// var encoder = streaming.makeEncoder()      // feed(_:) / write(_:to:) / finish(), as for SigV4
/// ```
public struct SigV4aStreamingSignedRequest: Sendable {
    /// The signed seed request.
    public let seed: SigV4aSignedRequest
    /// The trailing checksum, if any.
    public let trailer: TrailingChecksum.Algorithm?
    /// Data bytes per chunk.
    public let chunkSize: Int
    /// `x-amz-decoded-content-length`.
    public let decodedContentLength: Int
    /// The signed `Content-Length`.
    public let encodedContentLength: Int
    /// The chunk-signature chain at the seed.
    public let chain: SigV4aChunkSigner

    /// The request to send (the seed).
    public var request: HTTPRequest { seed.request }

    /// A fresh encoder for the body (each signs the chain from the seed).
    public func makeEncoder() -> AWSChunkedEncoder {
        AWSChunkedEncoder(
            validated: trailer.map { .signedWithTrailer($0) } ?? .signed, chunkSize: chunkSize,
            decodedContentLength: decodedContentLength, chunkSigner: nil, sigV4aChain: chain)
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
