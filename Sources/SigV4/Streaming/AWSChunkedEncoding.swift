/// Which aws-chunked variant a streaming upload uses, and the arithmetic of its wire format.
///
/// AWS documentation: S3 API Reference, "Authenticating Requests: Using the Authorization
/// Header (Transferring Payload in Multiple Chunks)" and its trailer page. Wire forms:
///
/// - ``signed`` (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`): chunks `hex;chunk-signature=sig\r\n data \r\n`,
///   ending with `0;chunk-signature=sig\r\n\r\n`.
/// - ``signedWithTrailer(_:)`` (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`): the same chunks, ending
///   with `0;chunk-signature=sig\r\n`, `x-amz-checksum-…:v\r\n`, `x-amz-trailer-signature:sig\r\n\r\n`.
/// - ``unsignedWithTrailer(_:)`` (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): chunks `hex\r\n data \r\n`,
///   ending with `0\r\n`, `x-amz-checksum-…:v\r\n\r\n`.
///
/// ```swift
/// let encoding = AWSChunkedEncoding.signedWithTrailer(.crc32c)
/// let length = try encoding.encodedLength(decodedLength: 66_560, chunkSize: 65_536) // 66946
/// ```
public enum AWSChunkedEncoding: Sendable, Hashable {
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD`: every chunk signed, no trailer.
    case signed
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`: every chunk signed, then a signed checksum trailer.
    case signedWithTrailer(TrailingChecksum.Algorithm)
    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: plain chunks, then an unsigned checksum trailer.
    case unsignedWithTrailer(TrailingChecksum.Algorithm)

    /// The smallest chunk AWS accepts for every chunk but the last: 8 KiB.
    public static let minimumChunkSize = 8 * 1024
    /// The largest chunk size this encoder buffers: 64 MiB (one chunk is held in memory).
    public static let maximumChunkSize = 64 * 1024 * 1024
    /// The chunk size the AWS SDKs use: 64 KiB.
    public static let defaultChunkSize = 64 * 1024
    /// The `Content-Encoding` token.
    public static let contentEncoding = "aws-chunked"

    /// The `x-amz-content-sha256` value and last canonical-request line of the seed.
    public var payloadHash: PayloadHash {
        switch self {
        case .signed: return .streamingSigned
        case .signedWithTrailer: return .streamingSignedTrailer
        case .unsignedWithTrailer: return .streamingUnsignedTrailer
        }
    }

    /// The trailing checksum, if any.
    public var trailer: TrailingChecksum.Algorithm? {
        switch self {
        case .signed: return nil
        case .signedWithTrailer(let a), .unsignedWithTrailer(let a): return a
        }
    }

    /// True when chunks carry `chunk-signature` (and the trailer `x-amz-trailer-signature`).
    public var signsChunks: Bool {
        if case .unsignedWithTrailer = self { return false }
        return true
    }

    /// Checks a chunk size: 8 KiB ... 64 MiB.
    public static func validate(chunkSize: Int) throws(SigV4Error) {
        guard chunkSize >= minimumChunkSize else {
            throw SigV4Error(
                .invalidChunkSize, "aws-chunked chunks must be at least 8192 bytes (except the last), got \(chunkSize)")
        }
        guard chunkSize <= maximumChunkSize else {
            throw SigV4Error(.invalidChunkSize, "chunk size \(chunkSize) exceeds the 64 MiB maximum")
        }
    }

    /// `";chunk-signature="` (17) + 64 hex digits.
    /// `;chunk-signature=` and a SigV4 signature (`signatureWidth` 64; SigV4a's padded ones are 144).
    static func signatureExtensionLength(_ signatureWidth: Int) -> Int { 17 + signatureWidth }

    /// Number of lowercase hex digits of `n` (at least 1).
    static func hexDigits(_ n: Int) -> Int {
        var digits = 1
        var v = n >> 4
        while v > 0 {
            digits += 1
            v >>= 4
        }
        return digits
    }

    /// Bytes before the data of a chunk holding `size` bytes: size line with its CRLF.
    func headerLength(chunkDataLength size: Int, signatureWidth: Int = 64) -> Int {
        AWSChunkedEncoding.hexDigits(size)
            + (signsChunks ? AWSChunkedEncoding.signatureExtensionLength(signatureWidth) : 0) + 2
    }

    /// Bytes of a data chunk frame: header, data, CRLF.
    func frameLength(chunkDataLength size: Int, signatureWidth: Int = 64) -> Int {
        headerLength(chunkDataLength: size, signatureWidth: signatureWidth) + size + 2
    }

    /// Bytes after the last data chunk: the zero-length chunk, the trailer (if any) and the final CRLF.
    var endLength: Int { endLength(signatureWidth: 64) }

    func endLength(signatureWidth: Int) -> Int {
        var n = headerLength(chunkDataLength: 0, signatureWidth: signatureWidth)
        if let trailer {
            n += trailer.headerName.utf8.count + 1 + trailer.base64Length + 2
            if signsChunks { n += "x-amz-trailer-signature:".utf8.count + signatureWidth + 2 }
        }
        return n + 2
    }

    /// The encoded body length (`Content-Length`) for a body of `decodedLength` bytes cut into `chunkSize` chunks.
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidChunkSize`` for a bad chunk size,
    ///   ``SigV4Error/Code-swift.struct/contentLengthMismatch`` for a negative or overflowing length.
    public func encodedLength(decodedLength: Int, chunkSize: Int) throws(SigV4Error) -> Int {
        try encodedLength(decodedLength: decodedLength, chunkSize: chunkSize, signatureWidth: 64)
    }

    /// ``encodedLength(decodedLength:chunkSize:)`` for signatures `signatureWidth` characters wide
    /// on the wire (SigV4a: ``SigV4aChunkSigner/paddedSignatureLength``).
    func encodedLength(decodedLength: Int, chunkSize: Int, signatureWidth: Int) throws(SigV4Error) -> Int {
        try AWSChunkedEncoding.validate(chunkSize: chunkSize)
        guard decodedLength >= 0 else {
            throw SigV4Error(.contentLengthMismatch, "the decoded content length is negative")
        }
        let fullChunks = decodedLength / chunkSize
        let rest = decodedLength % chunkSize
        let (full, o1) = fullChunks.multipliedReportingOverflow(
            by: frameLength(chunkDataLength: chunkSize, signatureWidth: signatureWidth))
        var total = full
        var overflow = o1
        if rest > 0 {
            let (t, o) = total.addingReportingOverflow(frameLength(chunkDataLength: rest, signatureWidth: signatureWidth))
            total = t
            overflow = overflow || o
        }
        let (t, o) = total.addingReportingOverflow(endLength(signatureWidth: signatureWidth))
        guard !overflow, !o else {
            throw SigV4Error(.contentLengthMismatch, "the encoded content length overflows")
        }
        return t
    }
}
