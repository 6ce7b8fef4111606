package import _SigV4Crypto

/// Signs aws-chunked chunks and the trailer, chaining each signature on the previous one.
///
/// AWS documentation: S3 API Reference, "Transferring Payload in Multiple Chunks
/// (Chunked Upload)" and "… with trailing headers". Each chunk's string to sign is
/// ```
/// AWS4-HMAC-SHA256-PAYLOAD
/// <X-Amz-Date>
/// <credential scope>
/// <previous signature>
/// <hex SHA-256 of "">
/// <hex SHA-256 of the chunk data>
/// ```
/// The first chunk chains on the seed signature; the final chunk is empty. The trailer's is
/// ```
/// AWS4-HMAC-SHA256-TRAILER
/// <X-Amz-Date>
/// <credential scope>
/// <signature of the final (empty) chunk>
/// <hex SHA-256 of the canonical trailer>
/// ```
/// A verifier uses the same type to compute the signatures it expects.
///
/// ```swift
/// var chunks = ChunkSigner(signingKey: key, date: date, seedSignature: seed)
/// let first = chunks.signature(forChunk: Array(repeating: 0x61, count: 65_536))
/// let last = chunks.signature(forChunk: [UInt8]())
/// let trailer = chunks.trailerSignature(canonicalTrailer: Array("x-amz-checksum-crc32c:sOO8/Q==\n".utf8))
/// ```
public struct ChunkSigner: Sendable {
    /// The string-to-sign algorithm line for chunks.
    public static let chunkAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD"
    /// The string-to-sign algorithm line for the trailer.
    public static let trailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER"

    /// The signing key of the seed request's scope.
    public let signingKey: SigningKey
    /// The seed request's `X-Amz-Date`.
    public let date: AmzDate
    /// The signature the next chunk chains on (the seed signature before the first chunk).
    public private(set) var previousSignature: Signature

    /// `AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n`.
    let chunkPrefix: [UInt8]

    /// Starts a chain at the seed request's signature.
    public init(signingKey: SigningKey, date: AmzDate, seedSignature: Signature) {
        self.signingKey = signingKey
        self.date = date
        self.previousSignature = seedSignature
        chunkPrefix = ChunkSigner.prefix(ChunkSigner.chunkAlgorithm, date, signingKey.scope)
    }

    /// The credential scope (the signing key's).
    public var scope: CredentialScope { signingKey.scope }

    static func prefix(_ algorithm: String, _ date: AmzDate, _ scope: CredentialScope) -> [UInt8] {
        var b: [UInt8] = []
        b.reserveCapacity(96)
        b.append(contentsOf: algorithm.utf8)
        b.append(0x0a)
        date.appendISO8601Basic(to: &b)
        b.append(0x0a)
        scope.append(to: &b)
        b.append(0x0a)
        return b
    }

    // MARK: - Chunks

    /// Signs the next chunk given the SHA-256 of its data, and advances the chain.
    ///
    /// This is the fast path: the caller hashes the chunk while it streams, with no copy.
    package mutating func signature(forChunkDigest chunkDigest: SHA256Digest) -> Signature {
        var mac = signingKey.hmac.makeMAC()
        mac.update(chunkPrefix)
        var tail: [UInt8] = []
        tail.reserveCapacity(64 * 3 + 2)
        previousSignature.digest.appendHex(to: &tail)
        tail.append(0x0a)
        SHA256.emptyDigest.appendHex(to: &tail)
        tail.append(0x0a)
        chunkDigest.appendHex(to: &tail)
        mac.update(tail)
        let signature = Signature(digest: mac.finalize())
        previousSignature = signature
        return signature
    }

    /// Signs the next chunk (an empty buffer for the final chunk) and advances the chain.
    public mutating func signature(forChunk bytes: UnsafeRawBufferPointer) -> Signature {
        signature(forChunkDigest: SHA256.hash(bytes))
    }

    /// Signs the next chunk (an empty collection for the final chunk) and advances the chain.
    public mutating func signature<Bytes: Collection<UInt8>>(forChunk bytes: Bytes) -> Signature {
        let digest =
            bytes.withContiguousStorageIfAvailable { SHA256.hash(UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(Array(bytes))
        return signature(forChunkDigest: digest)
    }

    /// Signs the next chunk given its data's SHA-256 as a ``PayloadHash`` (hex), and advances the chain.
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidPayloadHash`` when `chunkHash` is a constant, not a digest.
    public mutating func signature(forChunkHash chunkHash: PayloadHash) throws(SigV4Error) -> Signature {
        guard let digest = chunkHash.digest else {
            throw SigV4Error(.invalidPayloadHash, "a chunk hash must be a hex SHA-256 digest")
        }
        return signature(forChunkDigest: digest)
    }

    /// The string to sign for a chunk whose data hashes to `chunkDigest`, chaining on `previousSignature`.
    package static func chunkStringToSign(
        date: AmzDate, scope: CredentialScope, previousSignature: Signature, chunkDigest: SHA256Digest
    ) -> StringToSign {
        StringToSign(
            algorithm: chunkAlgorithm, date: date, scope: scope,
            lastLines: [previousSignature.hex, SHA256.emptyDigest.hex, chunkDigest.hex])
    }

    /// The string to sign for the next chunk holding `bytes` (for diagnostics; does not advance the chain).
    public func stringToSign<Bytes: Collection<UInt8>>(forChunk bytes: Bytes) -> StringToSign {
        let digest =
            bytes.withContiguousStorageIfAvailable { SHA256.hash(UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(Array(bytes))
        return ChunkSigner.chunkStringToSign(
            date: date, scope: scope, previousSignature: previousSignature, chunkDigest: digest)
    }

    // MARK: - Trailer

    /// The canonical trailer: one `name:value\n` line per field, names lowercased, values trimmed,
    /// sorted by name; `x-amz-trailer-signature` is never part of it.
    ///
    /// ```swift
    /// ChunkSigner.canonicalTrailer([("x-amz-checksum-crc32c", "sOO8/Q==")])
    /// // "x-amz-checksum-crc32c:sOO8/Q==\n" as bytes
    /// ```
    public static func canonicalTrailer(_ fields: [(name: String, value: String)]) -> [UInt8] {
        var lines: [([UInt8], [UInt8])] = []
        for field in fields {
            let name = CanonicalRequestBuilder.lowercased(Array(field.name.utf8))
            if name == Array("x-amz-trailer-signature".utf8) { continue }
            var value = Array(field.value.utf8)[...]
            while let f = value.first, f == 0x20 || f == 0x09 { value.removeFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value.removeLast() }
            lines.append((name, Array(value)))
        }
        lines.sort { $0.0.lexicographicallyPrecedes($1.0) }
        var out: [UInt8] = []
        for (name, value) in lines {
            out.append(contentsOf: name)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: value)
            out.append(0x0a)
        }
        return out
    }

    /// The string to sign for a trailer, chaining on `previousSignature` (the final chunk's).
    public func trailerStringToSign<Bytes: Collection<UInt8>>(canonicalTrailer: Bytes) -> StringToSign {
        let digest =
            canonicalTrailer.withContiguousStorageIfAvailable { SHA256.hash(UnsafeRawBufferPointer($0)) }
            ?? SHA256.hash(Array(canonicalTrailer))
        return StringToSign(
            algorithm: ChunkSigner.trailerAlgorithm, date: date, scope: scope,
            lastLines: [previousSignature.hex, digest.hex])
    }

    /// The `x-amz-trailer-signature` for `canonicalTrailer`, chained on the final chunk's signature.
    /// The trailer signature ends the chain; ``previousSignature`` does not move.
    public func trailerSignature<Bytes: Collection<UInt8>>(canonicalTrailer: Bytes) -> Signature {
        signingKey.signature(for: trailerStringToSign(canonicalTrailer: canonicalTrailer))
    }
}
