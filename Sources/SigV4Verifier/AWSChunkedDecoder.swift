public import SigV4
import _SigV4Crypto

/// Decodes and verifies an aws-chunked body, releasing each chunk's bytes only after its
/// signature has verified.
///
/// AWS documentation: S3 API Reference, "Transferring Payload in Multiple Chunks (Chunked
/// Upload)" and "… with trailing headers". It accepts the three variants the signer
/// produces (``AWSChunkedEncoding``) and awscli's `STREAMING-UNSIGNED-PAYLOAD-TRAILER` uploads:
///
/// - signed chunks: `hex;chunk-signature=<64 hex>\r\n<data>\r\n`, each signature chained on the
///   previous one starting from the seed (the request signature); the final chunk is empty;
/// - a signed trailer: the checksum named by `x-amz-trailer`, then `x-amz-trailer-signature`;
/// - unsigned chunks (`hex\r\n<data>\r\n`) with a checksum trailer.
///
/// Limits: a signed chunk is buffered until its signature is checked, so chunks larger than
/// ``Limits/maxChunkSize`` are refused before any byte is buffered; chunk-size and trailer
/// lines are bounded; the decoded length must equal `x-amz-decoded-content-length`. Memory
/// stays at one chunk whatever the body size.
///
/// For `STREAMING-UNSIGNED-PAYLOAD-TRAILER` nothing is signed per chunk: bytes are released as
/// they arrive and only the trailing checksum, checked by ``finish()``, covers them. Do not
/// commit such a body before ``finish()`` returns.
///
/// ```swift
/// guard case .accepted(let verified) = await verifier.verify(request, now: now),
///       verified.payload == .awsChunked else { … }
/// var decoder = try verified.makeChunkedDecoder(for: request)
/// for try await piece in wire {
///     try decoder.feed(piece) { verifiedBytes in sink.write(verifiedBytes) }
/// }
/// try decoder.finish()
/// ```
public struct AWSChunkedDecoder: Sendable {
    /// Size limits.
    public struct Limits: Sendable, Hashable {
        /// Largest chunk accepted (buffered when signed). Default 16 MiB.
        public var maxChunkSize: Int
        /// Longest chunk-size line, without CRLF. Default 4 KiB (a signed line is about 90 bytes).
        public var maxLineLength: Int
        /// Largest trailer section, bytes. Default 4 KiB.
        public var maxTrailerBytes: Int
        /// Smallest signed chunk but the last that carries data, bytes. Default 8,192, S3's rule
        /// (`InvalidChunkSizeError`, 400): every signed chunk costs a signature check (an HMAC, or
        /// about 40 µs of ECDSA for SigV4a), so a body of 1-byte chunks would cost a signature per
        /// byte. The signer never makes smaller chunks. Unsigned chunks are not limited; 0 turns the
        /// check off.
        public var minSignedChunkSize: Int
        /// Creates limits.
        ///
        /// ```swift
        /// let limits = AWSChunkedDecoder.Limits(maxChunkSize: 1 << 20)
        /// ```
        public init(
            maxChunkSize: Int = 16 * 1024 * 1024, maxLineLength: Int = 4096, maxTrailerBytes: Int = 4096,
            minSignedChunkSize: Int = 8192
        ) {
            self.maxChunkSize = maxChunkSize
            self.maxLineLength = maxLineLength
            self.maxTrailerBytes = maxTrailerBytes
            self.minSignedChunkSize = minSignedChunkSize
        }
        /// The defaults.
        public static let `default` = Limits()
    }

    enum State: Sendable {
        case sizeLine
        case data(remaining: Int)
        case dataCR
        case dataLF
        case trailer
        case finalCRLF
        case done
        case failed
    }

    /// The variant.
    public let encoding: AWSChunkedEncoding
    /// The declared decoded length (`x-amz-decoded-content-length`).
    public let decodedContentLength: Int
    /// The limits.
    public let limits: Limits
    /// Decoded bytes released so far (all verified, except under the unsigned-trailer variant).
    public private(set) var releasedByteCount = 0
    /// The checksum the trailer carried (`x-amz-checksum-crc32c: …`), set once it matched the decoded
    /// body (and, under the signed variants, the trailer's signature verified); nil before that and
    /// for variants without a trailer. A store keeps it to answer `GetObject` with `ChecksumMode`.
    ///
    /// ```swift
    /// try decoder.finish()
    /// if let checksum = decoder.trailerChecksum { print(checksum.algorithm, checksum.value) }  // crc32c yZRlqg==
    /// ```
    public private(set) var trailerChecksum: DeclaredChecksum?

    var chunkSigner: ChunkSigner?
    /// SigV4a (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD…`): the ECDSA chain instead of `chunkSigner`.
    var ecdsaChain: SigV4aChunkSigner?
    /// The current chunk's claimed SigV4a signature: DER, and its hex as sent (unpadded), to chain on.
    var claimedECDSA: (der: [UInt8], hex: String)?
    /// True when chunks carry signatures (and are released only once verified).
    var signsChunks: Bool { chunkSigner != nil || ecdsaChain != nil }
    /// The size of a signed chunk under ``Limits/minSignedChunkSize`` seen so far: only the last
    /// chunk with data may be one.
    var shortSignedChunk: Int? = nil
    var state: State = .sizeLine
    var line: [UInt8] = []
    var chunk: [UInt8] = []
    var chunkHash = SHA256()
    var claimedChunkSignature: Signature?
    var checksum: TrailingChecksum?
    /// The decoded body's declared checksums (`x-amz-checksum-*`, `Content-MD5` request headers),
    /// checked when the body ends.
    var declared: ChecksumVerifier?
    var trailerBytes: [UInt8] = []
    var sawFinalChunk = false
    var decodedSoFar = 0

    /// Creates a decoder for `encoding`, chained on `seedSignature` with `signingKey` at `date`.
    ///
    /// Prefer ``VerifiedRequest/makeChunkedDecoder(for:limits:)``, which takes all of these from
    /// the verified request.
    ///
    /// `declaredChecksums` are the request headers' checksums of the decoded body (S3 reads an
    /// `x-amz-checksum-*` header on an aws-chunked upload as the decoded object's): the body ends
    /// with `BadDigest` when it does not have them.
    public init(
        encoding: AWSChunkedEncoding, decodedContentLength: Int, signingKey: SigningKey, date: AmzDate,
        seedSignature: Signature, declaredChecksums: [DeclaredChecksum] = [], limits: Limits = .default
    ) {
        self.init(
            encoding: encoding, decodedContentLength: decodedContentLength, declaredChecksums: declaredChecksums,
            limits: limits)
        if encoding.signsChunks {
            chunkSigner = ChunkSigner(signingKey: signingKey, date: date, seedSignature: seedSignature)
        }
    }

    /// Creates a decoder for a SigV4a upload (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`, with
    /// `encoding` `.signed`, or `…-PAYLOAD-TRAILER`, `.signedWithTrailer`): each chunk's ECDSA
    /// signature is checked with `signingKey`'s public key and chained on, starting at the seed
    /// request's signature (`seedSignature`, hex).
    ///
    /// Prefer ``VerifiedRequest/makeChunkedDecoder(for:limits:)``.
    public init(
        sigV4aEncoding encoding: AWSChunkedEncoding, decodedContentLength: Int, signingKey: SigV4aSigningKey,
        date: AmzDate, service: String, seedSignature: String, declaredChecksums: [DeclaredChecksum] = [],
        limits: Limits = .default
    ) {
        self.init(
            encoding: encoding, decodedContentLength: decodedContentLength, declaredChecksums: declaredChecksums,
            limits: limits)
        if encoding.signsChunks {
            ecdsaChain = SigV4aChunkSigner(signingKey: signingKey, date: date, service: service, seedSignature: seedSignature)
        }
    }

    /// Everything but the chunk-signature chain.
    private init(
        encoding: AWSChunkedEncoding, decodedContentLength: Int, declaredChecksums: [DeclaredChecksum], limits: Limits
    ) {
        self.encoding = encoding
        self.decodedContentLength = decodedContentLength
        self.limits = limits
        self.checksum = encoding.trailer.map { TrailingChecksum($0) }
        self.declared = declaredChecksums.isEmpty ? nil : ChecksumVerifier(declaredChecksums)
    }

    /// True once the whole body, final chunk and trailer included, has been read and verified.
    public var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    // MARK: feeding

    /// Feeds wire bytes; `deliver` receives each verified run of decoded bytes, in order.
    ///
    /// After a thrown failure the decoder refuses further input.
    public mutating func feed(
        _ bytes: UnsafeRawBufferPointer, _ deliver: (UnsafeRawBufferPointer) -> Void
    ) throws(VerificationFailure) {
        var i = 0
        let n = bytes.count
        do throws(VerificationFailure) {
            while i < n {
                switch state {
                case .failed:
                    throw fail(.invalidRequest, "the aws-chunked body already failed verification")
                case .done:
                    throw fail(.invalidRequest, "bytes follow the end of the aws-chunked body")
                case .sizeLine:
                    let b = bytes[i]
                    i += 1
                    if b == 0x0a {
                        guard line.last == 0x0d else { throw fail(.invalidRequest, "a chunk-size line must end with CRLF") }
                        line.removeLast()
                        try startChunk()
                    } else {
                        guard line.count < limits.maxLineLength + 1 else {
                            throw fail(.invalidRequest, "a chunk-size line is longer than \(limits.maxLineLength) bytes")
                        }
                        line.append(b)
                    }
                case .data(let remaining):
                    if signsChunks && chunk.isEmpty && remaining <= n - i - 2 {
                        // The whole chunk and its CRLF are in this buffer: verify it in place and
                        // release it from the caller's bytes, without copying it.
                        let piece = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + remaining)])
                        checksum?.update(piece)
                        declared?.update(piece)
                        chunkHash.update(piece)
                        guard bytes[i + remaining] == 0x0d, bytes[i + remaining + 1] == 0x0a else {
                            throw fail(.invalidRequest, "chunk data is not followed by CRLF")
                        }
                        try verifyChunkSignature()
                        releasedByteCount += remaining
                        deliver(piece)
                        i += remaining + 2
                        state = .sizeLine
                        continue
                    }
                    let take = min(remaining, n - i)
                    let piece = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)])
                    checksum?.update(piece)
                    declared?.update(piece)
                    if signsChunks {
                        chunkHash.update(piece)
                        if chunk.isEmpty { chunk.reserveCapacity(remaining) }
                        chunk.append(contentsOf: piece)
                    } else {
                        releasedByteCount += take
                        deliver(piece)
                    }
                    i += take
                    state = remaining == take ? .dataCR : .data(remaining: remaining - take)
                case .dataCR:
                    guard bytes[i] == 0x0d else { throw fail(.invalidRequest, "chunk data is not followed by CRLF") }
                    i += 1
                    state = .dataLF
                case .dataLF:
                    guard bytes[i] == 0x0a else { throw fail(.invalidRequest, "chunk data is not followed by CRLF") }
                    i += 1
                    try endChunk(deliver)
                case .trailer:
                    let b = bytes[i]
                    i += 1
                    guard trailerBytes.count < limits.maxTrailerBytes else {
                        throw fail(.invalidRequest, "the trailer is longer than \(limits.maxTrailerBytes) bytes")
                    }
                    trailerBytes.append(b)
                    if trailerBytes.count >= 2, trailerBytes[trailerBytes.count - 2] == 0x0d, b == 0x0a,
                        trailerBytes.count == 2 || endsWithBlankLine(trailerBytes)
                    {
                        try verifyTrailer()
                        try declared?.finalize()
                        state = .done
                    }
                case .finalCRLF:
                    line.append(bytes[i])
                    i += 1
                    if line.count == 2 {
                        guard line == [0x0d, 0x0a] else {
                            throw fail(.invalidRequest, "the final chunk is not followed by CRLF")
                        }
                        line.removeAll()
                        try declared?.finalize()
                        state = .done
                    }
                }
            }
        } catch {
            state = .failed
            chunk.removeAll()
            throw error
        }
    }

    /// Feeds wire bytes and returns the verified decoded bytes they completed (often none).
    public mutating func feed(_ bytes: [UInt8]) throws(VerificationFailure) -> [UInt8] {
        var out: [UInt8] = []
        var failure: VerificationFailure? = nil
        bytes.withUnsafeBytes { raw in
            do throws(VerificationFailure) {
                try feed(raw) { out.append(contentsOf: $0) }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return out
    }

    /// Call when the wire body has ended: throws `IncompleteBody` unless the final chunk and
    /// trailer were read and every length and checksum matched.
    public func finish() throws(VerificationFailure) {
        guard isComplete else {
            throw fail(.incompleteBody, "The request body terminated unexpectedly")
        }
    }

    // MARK: steps

    func fail(_ code: VerificationFailure.Code, _ message: String) -> VerificationFailure {
        VerificationFailure(code, message)
    }

    func endsWithBlankLine(_ b: [UInt8]) -> Bool {
        let c = b.count
        return c >= 4 && b[c - 4] == 0x0d && b[c - 3] == 0x0a && b[c - 2] == 0x0d && b[c - 1] == 0x0a
    }

    mutating func startChunk() throws(VerificationFailure) {
        // "<hex>[;chunk-signature=<64 hex>]" (SigV4a: "<hex>;chunk-signature=<DER hex, '*'-padded to 144>")
        var sizeEnd = line.count
        var signature: Signature? = nil
        var ecdsa: (der: [UInt8], hex: String)? = nil
        if let semi = line.firstIndex(of: 0x3b) {
            sizeEnd = semi
            let ext = line[(semi + 1)...]
            let prefix = "chunk-signature=".utf8
            guard signsChunks, ext.starts(with: prefix) else {
                throw fail(.invalidRequest, "a chunk-size line has an invalid extension")
            }
            let value = line[(semi + 1 + prefix.count)...]
            if ecdsaChain != nil {
                guard let der = SigV4aChunkSigner.parseWireSignature(value) else {
                    throw fail(.invalidRequest, "a chunk-size line has an invalid extension")
                }
                // Chained on as lowercase hex, as the seed is (the header's signature re-encoded).
                ecdsa = (der, Hex.encode(der))
            } else {
                guard value.count == 64, let sig = ByteParsing.signature(value) else {
                    throw fail(.invalidRequest, "a chunk-signature must be 64 lowercase hex digits")
                }
                signature = sig
            }
        }
        guard sizeEnd >= 1, sizeEnd <= 15 else { throw fail(.invalidRequest, "a chunk size must be 1 to 15 hex digits") }
        var size = 0
        for k in 0..<sizeEnd {
            guard let v = ByteParsing.hexValue(line[k]) else {
                throw fail(.invalidRequest, "a chunk size is not hexadecimal")
            }
            size = size << 4 | Int(v)
        }
        line.removeAll(keepingCapacity: true)
        if signsChunks && signature == nil && ecdsa == nil {
            throw fail(.invalidRequest, "a chunk has no chunk-signature")
        }
        guard size <= limits.maxChunkSize else {
            throw fail(.invalidRequest, "a chunk of \(size) bytes exceeds the \(limits.maxChunkSize)-byte limit")
        }
        guard size <= decodedContentLength - decodedSoFar else {
            throw fail(.invalidRequest, "the decoded body is longer than x-amz-decoded-content-length (\(decodedContentLength))")
        }
        // Only the last chunk with data may be short: a short one followed by more data is refused
        // when that data's chunk line arrives (so that a body that merely ends early, after a short
        // chunk, is refused as incomplete instead). One short chunk costs one signature check.
        if signsChunks, size > 0 {
            if let short = shortSignedChunk {
                throw VerificationFailure(
                    .invalidChunkSizeError,
                    "Only the last chunk is allowed to have a size less than \(limits.minSignedChunkSize) bytes",
                    details: [.init("BadChunkSize", String(short))])
            }
            if size < limits.minSignedChunkSize { shortSignedChunk = size }
        }
        claimedChunkSignature = signature
        claimedECDSA = ecdsa
        decodedSoFar += size
        if size == 0 {
            try verifyChunkSignature()
            sawFinalChunk = true
            guard decodedSoFar == decodedContentLength else {
                throw fail(
                    .incompleteBody,
                    "The request body terminated unexpectedly: \(decodedSoFar) of \(decodedContentLength) decoded bytes")
            }
            state = encoding.trailer == nil ? .finalCRLF : .trailer
            return
        }
        state = .data(remaining: size)
    }

    mutating func endChunk(_ deliver: (UnsafeRawBufferPointer) -> Void) throws(VerificationFailure) {
        try verifyChunkSignature()
        if signsChunks {
            releasedByteCount += chunk.count
            chunk.withUnsafeBytes { deliver($0) }
            chunk.removeAll(keepingCapacity: true)
        }
        state = .sizeLine
    }

    mutating func verifyChunkSignature() throws(VerificationFailure) {
        if var chain = ecdsaChain, let claimed = claimedECDSA {
            let digest = chunkHash.finalize()
            chunkHash = SHA256()
            let valid = chain.verify(chunkDigest: digest, claimed: claimed.der, claimedHex: claimed.hex)
            ecdsaChain = chain
            guard valid else {
                throw fail(
                    .signatureDoesNotMatch,
                    "The chunk-signature you provided does not verify (SigV4a, chunk ending at decoded byte \(decodedSoFar)).")
            }
            return
        }
        guard var signer = chunkSigner, let claimed = claimedChunkSignature else { return }
        let digest = chunkHash.finalize()
        chunkHash = SHA256()
        let expected = signer.signature(forChunkDigest: digest)
        chunkSigner = signer
        guard expected.constantTimeEquals(claimed) else {
            throw fail(
                .signatureDoesNotMatch,
                "The chunk signature we calculated does not match the chunk-signature you provided (chunk ending at decoded byte \(decodedSoFar)).")
        }
    }

    mutating func verifyTrailer() throws(VerificationFailure) {
        guard let checksum else { return }
        // Parse "name:value\r\n" lines up to the blank line.
        var fields: [(name: String, value: String)] = []
        var trailerSignature: Signature? = nil
        var trailerECDSA: [UInt8]? = nil
        var start = 0
        let b = trailerBytes
        while start < b.count {
            var end = start
            while end + 1 < b.count, !(b[end] == 0x0d && b[end + 1] == 0x0a) { end += 1 }
            if end == start { break }  // blank line
            let lineBytes = b[start..<end]
            guard let colon = lineBytes.firstIndex(of: 0x3a) else {
                throw fail(.invalidRequest, "a trailer line has no colon")
            }
            let name = String(decoding: lineBytes[start..<colon], as: UTF8.self).lowercased()
            var value = lineBytes[(colon + 1)...]
            while let f = value.first, f == 0x20 || f == 0x09 { value.removeFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value.removeLast() }
            if name == "x-amz-trailer-signature" && ecdsaChain != nil {
                guard trailerECDSA == nil, let der = SigV4aChunkSigner.parseWireSignature(value) else {
                    throw fail(.invalidRequest, "x-amz-trailer-signature is repeated or not a padded SigV4a signature")
                }
                trailerECDSA = der
            } else if name == "x-amz-trailer-signature" {
                guard trailerSignature == nil, let sig = ByteParsing.signature(value) else {
                    throw fail(.invalidRequest, "x-amz-trailer-signature is repeated or not 64 lowercase hex digits")
                }
                trailerSignature = sig
            } else {
                guard name == checksum.algorithm.headerName, !fields.contains(where: { $0.name == name }) else {
                    throw fail(.invalidRequest, "unexpected trailer \"\(name.prefix(64))\"; x-amz-trailer declares \(checksum.algorithm.headerName)")
                }
                fields.append((name, String(decoding: value, as: UTF8.self)))
            }
            start = end + 2
        }
        guard let sent = fields.first else {
            throw fail(.incompleteBody, "the trailer does not carry \(checksum.algorithm.headerName)")
        }
        if let chain = ecdsaChain {
            guard let trailerECDSA else { throw fail(.invalidRequest, "the trailer has no x-amz-trailer-signature") }
            guard chain.verifyTrailer(canonicalTrailer: ChunkSigner.canonicalTrailer(fields), claimed: trailerECDSA) else {
                throw fail(.signatureDoesNotMatch, "The x-amz-trailer-signature you provided does not verify (SigV4a).")
            }
        } else if let signer = chunkSigner {
            guard let trailerSignature else { throw fail(.invalidRequest, "the trailer has no x-amz-trailer-signature") }
            let expected = signer.trailerSignature(canonicalTrailer: ChunkSigner.canonicalTrailer(fields))
            guard expected.constantTimeEquals(trailerSignature) else {
                throw fail(.signatureDoesNotMatch, "The trailer signature we calculated does not match x-amz-trailer-signature.")
            }
        } else if trailerSignature != nil {
            throw fail(.invalidRequest, "an unsigned trailer must not carry x-amz-trailer-signature")
        }
        let computed = checksum.base64
        guard ConstantTime.equals(Array(computed.utf8), Array(sent.value.utf8)) else {
            throw fail(
                .badDigest, "The \(checksum.algorithm.headerName) you specified did not match the calculated checksum.")
        }
        trailerChecksum = DeclaredChecksum(algorithm: checksum.algorithm, value: computed)
    }
}

extension VerifiedRequest {
    /// A decoder for this request's aws-chunked body (``payload`` is ``PayloadStatus/awsChunked``).
    ///
    /// Reads `x-amz-decoded-content-length` (required) and `x-amz-trailer` (required for the
    /// trailer variants) from `request`, which must be the request that was verified.
    ///
    /// ```swift
    /// var decoder = try verified.makeChunkedDecoder(for: request)
    /// ```
    public func makeChunkedDecoder(
        for request: VerificationRequest, limits: AWSChunkedDecoder.Limits = .default
    ) throws(VerificationFailure) -> AWSChunkedDecoder {
        guard payload == .awsChunked else {
            throw VerificationFailure(.invalidRequest, "the request body is not aws-chunked")
        }
        let lengths = request.values("x-amz-decoded-content-length")
        guard lengths.count == 1 else {
            throw VerificationFailure(
                .missingSecurityHeader, "Your request was missing a required header",
                details: [.init("MissingHeaderName", "x-amz-decoded-content-length")])
        }
        let digits = lengths[0]
        guard digits.count <= 15, let decoded = digits.withUnsafeBufferPointer({ ByteParsing.length($0) }) else {
            throw VerificationFailure(.invalidArgument, "x-amz-decoded-content-length must be a decimal number")
        }
        var algorithm: TrailingChecksum.Algorithm? = nil
        let trailers = request.values("x-amz-trailer")
        if payloadHash != .streamingSigned && payloadHash != .streamingECDSASigned {
            guard trailers.count == 1 else {
                throw VerificationFailure(
                    .missingSecurityHeader, "Your request was missing a required header",
                    details: [.init("MissingHeaderName", "x-amz-trailer")])
            }
            do {
                algorithm = try TrailingChecksum.Algorithm(name: String(decoding: trailers[0], as: UTF8.self))
            } catch {
                let names = TrailingChecksum.Algorithm.allCases.map(\.headerName).joined(separator: ", ")
                throw VerificationFailure(.invalidArgument, "x-amz-trailer must name one of \(names)")
            }
        }
        let encoding: AWSChunkedEncoding
        switch (payloadHash, algorithm) {
        case (.streamingSigned, _), (.streamingECDSASigned, _): encoding = .signed
        case (.streamingSignedTrailer, .some(let a)), (.streamingECDSASignedTrailer, .some(let a)):
            encoding = .signedWithTrailer(a)
        case (.streamingUnsignedTrailer, .some(let a)): encoding = .unsignedWithTrailer(a)
        default: throw VerificationFailure(.invalidRequest, "unsupported aws-chunked variant")
        }
        if let seed = sigV4aSeed, encoding.signsChunks {
            return AWSChunkedDecoder(
                sigV4aEncoding: encoding, decodedContentLength: decoded, signingKey: seed.key, date: signedAt,
                service: scope.service, seedSignature: seed.signature, declaredChecksums: declaredChecksums,
                limits: limits)
        }
        return AWSChunkedDecoder(
            encoding: encoding, decodedContentLength: decoded, signingKey: signingKey, date: signedAt,
            seedSignature: signature, declaredChecksums: declaredChecksums, limits: limits)
    }
}
