package import _SigV4Crypto

/// The chain of SigV4a (ECDSA P-256) chunk signatures of an aws-chunked body sent with
/// `STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD` (or `…-PAYLOAD-TRAILER`), as aws-c-auth writes it.
///
/// Each chunk's string to sign is `AWS4-ECDSA-P256-SHA256-PAYLOAD`, the date, the SigV4a scope
/// (`<date>/<service>/aws4_request`, no region), the previous signature, the empty body's hash and
/// the chunk's hash, one per line; the trailer's is `AWS4-ECDSA-P256-SHA256-TRAILER` with the
/// canonical trailer's hash in place of the last two. The first chunk chains on the seed request's
/// signature. A signature is the hex of an ECDSA signature's DER over SHA-256 of the string to
/// sign; on the wire (`chunk-signature=`, `x-amz-trailer-signature:`) it is padded with `*` to 144
/// characters, and chained without the padding.
///
/// ECDSA signatures are randomized, so a verifier cannot recompute one: it checks the claimed
/// signature with the public key (``verify(chunkDigest:claimed:)``) and chains on it.
///
/// ```swift
/// let streaming = try sigv4a.signStreaming(request, decodedContentLength: payload.count, at: date)
/// let body = try streaming.encode(payload)            // or streaming.makeEncoder() to stream
/// // the chain alone: SigV4aChunkSigner(signingKey:date:service:seedSignature:)
/// ```
public struct SigV4aChunkSigner: Sendable {
    /// The string-to-sign algorithm line for chunks.
    public static let chunkAlgorithm = "AWS4-ECDSA-P256-SHA256-PAYLOAD"
    /// The string-to-sign algorithm line for the trailer.
    public static let trailerAlgorithm = "AWS4-ECDSA-P256-SHA256-TRAILER"
    /// The width of a signature on the wire: the longest P-256 DER signature (72 bytes) in hex.
    public static let paddedSignatureLength = 144

    /// The key pair derived from the credentials.
    public let signingKey: SigV4aSigningKey
    /// The seed request's `X-Amz-Date`.
    public let date: AmzDate
    /// The service in the scope.
    public let service: String
    /// The hex signature the next chunk chains on (the seed's before the first chunk), without padding.
    public private(set) var previousSignature: String

    /// `<date>\n<date stamp>/<service>/aws4_request\n`, shared by chunks and the trailer.
    let scopeLines: [UInt8]

    /// Starts a chain at the seed request's signature (hex; padding, if any, is removed).
    public init(signingKey: SigV4aSigningKey, date: AmzDate, service: String, seedSignature: String) {
        self.signingKey = signingKey
        self.date = date
        self.service = service
        previousSignature = String(decoding: SigV4aChunkSigner.trimmingPadding(Array(seedSignature.utf8)), as: UTF8.self)
        var lines: [UInt8] = []
        date.appendISO8601Basic(to: &lines)
        lines.append(0x0a)
        lines.append(contentsOf: date.dateStamp.utf8)
        lines.append(0x2f)
        lines.append(contentsOf: service.utf8)
        lines.append(contentsOf: "/aws4_request\n".utf8)
        scopeLines = lines
    }

    // MARK: - Strings to sign

    /// The string to sign of the next chunk, whose SHA-256 is `chunkDigest`.
    package func stringToSign(forChunkDigest chunkDigest: SHA256Digest) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + scopeLines.count + previousSignature.utf8.count + 2 * 64 + 3)
        out.append(contentsOf: SigV4aChunkSigner.chunkAlgorithm.utf8)
        out.append(0x0a)
        out.append(contentsOf: scopeLines)
        out.append(contentsOf: previousSignature.utf8)
        out.append(0x0a)
        SHA256.emptyDigest.appendHex(to: &out)
        out.append(0x0a)
        chunkDigest.appendHex(to: &out)
        return out
    }

    /// The string to sign of the next chunk (for diagnostics and tests).
    public func stringToSign(forChunk bytes: [UInt8]) -> String {
        String(decoding: stringToSign(forChunkDigest: bytes.withUnsafeBytes { SHA256.hash($0) }), as: UTF8.self)
    }

    /// The trailer's string to sign, over ``ChunkSigner/canonicalTrailer(_:)``'s bytes.
    public func trailerStringToSign(canonicalTrailer: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + scopeLines.count + previousSignature.utf8.count + 64 + 2)
        out.append(contentsOf: SigV4aChunkSigner.trailerAlgorithm.utf8)
        out.append(0x0a)
        out.append(contentsOf: scopeLines)
        out.append(contentsOf: previousSignature.utf8)
        out.append(0x0a)
        canonicalTrailer.withUnsafeBytes { SHA256.hash($0) }.appendHex(to: &out)
        return out
    }

    // MARK: - Signing

    /// Signs the next chunk and advances the chain; returns the hex signature (unpadded).
    package mutating func signature(forChunkDigest chunkDigest: SHA256Digest) throws(SigV4Error) -> String {
        let signature = try sign(stringToSign(forChunkDigest: chunkDigest))
        previousSignature = signature
        return signature
    }

    /// Signs the next chunk and advances the chain; returns the hex signature (unpadded).
    public mutating func signature(forChunk bytes: [UInt8]) throws(SigV4Error) -> String {
        try signature(forChunkDigest: bytes.withUnsafeBytes { SHA256.hash($0) })
    }

    /// Signs the trailer (does not advance the chain); returns the hex signature (unpadded).
    public func trailerSignature(canonicalTrailer: [UInt8]) throws(SigV4Error) -> String {
        try sign(trailerStringToSign(canonicalTrailer: canonicalTrailer))
    }

    func sign(_ stringToSign: [UInt8]) throws(SigV4Error) -> String {
        do {
            return Hex.encode(try signingKey.privateKey.signature(forDigest: SHA256.hash(stringToSign)))
        } catch {
            throw SigV4Error(.invalidCredentials, "ECDSA signing failed")
        }
    }

    /// `signature` padded with `*` to ``paddedSignatureLength`` characters, as sent on the wire.
    public static func padded(_ signature: String) -> String {
        let count = signature.utf8.count
        return count >= paddedSignatureLength ? signature : signature + String(repeating: "*", count: paddedSignatureLength - count)
    }

    /// The bytes without a trailing run of `*`.
    package static func trimmingPadding(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "*") { end -= 1 }
        return bytes[..<end]
    }

    /// The DER bytes of a wire signature: an even number (2 to 144) of hex digits, then optionally `*`
    /// up to 144 characters in all; nil for anything else.
    package static func parseWireSignature(_ wire: ArraySlice<UInt8>) -> [UInt8]? {
        guard wire.count <= paddedSignatureLength else { return nil }
        var end = wire.endIndex
        while end > wire.startIndex, wire[end - 1] == UInt8(ascii: "*") { end -= 1 }
        let hex = wire[wire.startIndex..<end]
        guard hex.count >= 2, hex.count % 2 == 0, end == wire.endIndex || wire.count == paddedSignatureLength else {
            return nil
        }
        return Hex.decode(String(decoding: hex, as: UTF8.self))
    }

    // MARK: - Verifying

    /// True when `claimed` (DER) signs the next chunk's string to sign under the key; the chain then
    /// advances to it (`claimedHex`, the signature as sent without padding).
    package mutating func verify(chunkDigest: SHA256Digest, claimed: [UInt8], claimedHex: String) -> Bool {
        guard signingKey.isValidSignature(claimed, stringToSign: stringToSign(forChunkDigest: chunkDigest)) else {
            return false
        }
        previousSignature = claimedHex
        return true
    }

    /// True when `claimed` (DER) signs the trailer's string to sign.
    package func verifyTrailer(canonicalTrailer: [UInt8], claimed: [UInt8]) -> Bool {
        signingKey.isValidSignature(claimed, stringToSign: trailerStringToSign(canonicalTrailer: canonicalTrailer))
    }

    // MARK: - Encoding

    /// The length of ``encode(_:chunkSize:trailer:)``'s output for `decodedLength` bytes (the
    /// seed request's `Content-Length`).
    public static func encodedLength(
        decodedLength: Int, chunkSize: Int, trailer: TrailingChecksum.Algorithm? = nil
    ) throws(SigV4Error) -> Int {
        let encoding: AWSChunkedEncoding = trailer.map { .signedWithTrailer($0) } ?? .signed
        return try encoding.encodedLength(
            decodedLength: decodedLength, chunkSize: chunkSize, signatureWidth: paddedSignatureLength)
    }

    /// The whole aws-chunked body of `data`: chunks of `chunkSize` bytes (the last shorter), each
    /// signed, the final empty chunk, and with `trailer` the checksum trailer and its signature
    /// (through ``AWSChunkedEncoder``). Advances the chain.
    public mutating func encode(
        _ data: [UInt8], chunkSize: Int, trailer: TrailingChecksum.Algorithm? = nil
    ) throws(SigV4Error) -> [UInt8] {
        var encoder = try AWSChunkedEncoder(
            sigV4aEncoding: trailer.map { .signedWithTrailer($0) } ?? .signed, chunkSize: chunkSize,
            decodedContentLength: data.count, chain: self)
        let body = try encoder.encode(data)
        if let chain = encoder.sigV4aChain { self = chain }
        return body
    }
}
