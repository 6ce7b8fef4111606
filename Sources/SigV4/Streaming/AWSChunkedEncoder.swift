import _SigV4Crypto

/// Turns a payload into an aws-chunked body, one chunk frame at a time, in constant memory.
///
/// Feed it bytes in pieces of any size; it re-cuts them into `chunkSize` chunks, hashes
/// each chunk as it arrives (SHA-256 for the chunk signature, plus the trailing
/// checksum), and hands back each finished frame. Only the chunk being built is held.
/// Get an encoder from ``StreamingSignedRequest/makeEncoder()``, or build one directly.
///
/// ```swift
/// var encoder = streaming.makeEncoder()
/// var body: [UInt8] = []
/// try data.withUnsafeBytes { raw in
///     var rest = raw[...]
///     while !rest.isEmpty {
///         let (used, frame) = try encoder.feed(UnsafeRawBufferPointer(rebasing: rest))
///         rest = rest.dropFirst(used)
///         if let frame { body += frame }
///     }
/// }
/// body += try encoder.finish()
/// ```
public struct AWSChunkedEncoder: Sendable {
    /// The variant.
    public let encoding: AWSChunkedEncoding
    /// Data bytes per chunk (the last one may be shorter).
    public let chunkSize: Int
    /// The declared decoded length; nil when unknown (no check).
    public let decodedContentLength: Int?
    /// The chain of chunk signatures (signed variants).
    public private(set) var chunkSigner: ChunkSigner?
    /// The chain of SigV4a (ECDSA) chunk signatures, instead of ``chunkSigner`` (SigV4a uploads).
    public private(set) var sigV4aChain: SigV4aChunkSigner?
    /// Decoded bytes accepted so far.
    public private(set) var bytesWritten: Int = 0

    var checksum: TrailingChecksum?
    var hasher = SHA256()
    /// The frame under construction: `fullHeaderLength` reserved bytes, then the data so far.
    var frame: [UInt8] = []
    var filled = 0
    var finished = false
    /// True once a `write` closure threw: see ``hasFailed``.
    var failed = false
    let fullHeaderLength: Int
    /// Bytes copied and hashed per step (fits in L1 with room to spare).
    static let blockSize = 8192

    /// Creates an encoder.
    ///
    /// - Parameters:
    ///   - encoding: the variant.
    ///   - chunkSize: data bytes per chunk, 8 KiB ... 64 MiB.
    ///   - decodedContentLength: the payload length declared in `x-amz-decoded-content-length`, or nil.
    ///   - chunkSigner: the chain started at the seed signature; required for the signed variants.
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidChunkSize``, or
    ///   ``SigV4Error/Code-swift.struct/invalidCredentials`` when a signed variant has no chunk signer.
    public init(
        encoding: AWSChunkedEncoding, chunkSize: Int = AWSChunkedEncoding.defaultChunkSize,
        decodedContentLength: Int?, chunkSigner: ChunkSigner?
    ) throws(SigV4Error) {
        try Self.validate(chunkSize: chunkSize, decodedContentLength: decodedContentLength)
        if encoding.signsChunks && chunkSigner == nil {
            throw SigV4Error(.invalidCredentials, "a signed aws-chunked encoding needs a chunk signer")
        }
        self.init(
            validated: encoding, chunkSize: chunkSize, decodedContentLength: decodedContentLength,
            chunkSigner: encoding.signsChunks ? chunkSigner : nil)
    }

    /// Creates an encoder for a SigV4a upload (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`: `.signed`,
    /// or `…-TRAILER`: `.signedWithTrailer`): each chunk and the trailer are signed with `chain`
    /// (ECDSA), the signatures `*`-padded to 144 characters. Prefer
    /// ``SigV4aStreamingSignedRequest/makeEncoder()``.
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/invalidChunkSize``, or
    ///   ``SigV4Error/Code-swift.struct/contentLengthMismatch`` for a negative decoded length.
    public init(
        sigV4aEncoding encoding: AWSChunkedEncoding, chunkSize: Int = AWSChunkedEncoding.defaultChunkSize,
        decodedContentLength: Int?, chain: SigV4aChunkSigner
    ) throws(SigV4Error) {
        try Self.validate(chunkSize: chunkSize, decodedContentLength: decodedContentLength)
        self.init(
            validated: encoding, chunkSize: chunkSize, decodedContentLength: decodedContentLength, chunkSigner: nil,
            sigV4aChain: encoding.signsChunks ? chain : nil)
    }

    /// The checks both public initializers make.
    static func validate(chunkSize: Int, decodedContentLength: Int?) throws(SigV4Error) {
        try AWSChunkedEncoding.validate(chunkSize: chunkSize)
        if let decodedContentLength, decodedContentLength < 0 {
            throw SigV4Error(.contentLengthMismatch, "the decoded content length is negative")
        }
    }

    init(
        validated encoding: AWSChunkedEncoding, chunkSize: Int, decodedContentLength: Int?, chunkSigner: ChunkSigner?,
        sigV4aChain: SigV4aChunkSigner? = nil
    ) {
        self.encoding = encoding
        self.chunkSize = chunkSize
        self.decodedContentLength = decodedContentLength
        self.chunkSigner = chunkSigner
        self.sigV4aChain = sigV4aChain
        self.checksum = encoding.trailer.map { TrailingChecksum($0) }
        self.fullHeaderLength = encoding.headerLength(
            chunkDataLength: chunkSize, signatureWidth: Self.signatureWidth(sigV4a: sigV4aChain != nil))
    }

    /// True once ``finish()`` has returned.
    public var isFinished: Bool { finished }

    /// True once a `write` closure given to ``write(_:to:)`` or ``finish(writingTo:)`` threw.
    ///
    /// By then the encoder has hashed and signed bytes that may not have reached the receiver, so
    /// the body it could go on writing would not verify: every later call throws
    /// ``SigV4Error/Code-swift.struct/streamFailed``. Sign the request again and start a new
    /// encoder. (Errors the encoder throws itself before taking any byte, such as bytes past the
    /// declared length, leave it usable.)
    ///
    /// ```swift
    /// do {
    ///     try encoder.write(block) { try socket.send($0) }
    /// } catch {
    ///     assert(encoder.hasFailed)  // when `send` threw: re-sign and start over
    /// }
    /// ```
    public var hasFailed: Bool { failed }

    /// Throws ``SigV4Error/Code-swift.struct/streamFailed`` once ``hasFailed``.
    @inline(__always)
    func checkNotFailed() throws(SigV4Error) {
        if failed {
            throw SigV4Error(
                .streamFailed,
                "an earlier write of this aws-chunked body failed after its chunk signatures moved on; sign the request again")
        }
    }

    /// Throws unless `count` more payload bytes may come: the encoder has not failed
    /// (``SigV4Error/Code-swift.struct/streamFailed``) or finished, and they stay within the declared
    /// decoded length (``SigV4Error/Code-swift.struct/contentLengthMismatch``).
    @inline(__always)
    func checkAccepts(_ count: Int) throws(SigV4Error) {
        try checkNotFailed()
        guard !finished else {
            throw SigV4Error(.contentLengthMismatch, "payload bytes arrived after the aws-chunked body was finished")
        }
        if let declared = decodedContentLength, count > declared - bytesWritten {
            throw SigV4Error(
                .contentLengthMismatch,
                "the payload is longer than the declared x-amz-decoded-content-length \(declared)")
        }
    }

    /// Consumes bytes until `bytes` is used up or a chunk frame is complete.
    ///
    /// - Returns: how many bytes of `bytes` were consumed, and the completed frame, if any.
    ///   Call again with the rest while `consumed < bytes.count`.
    /// - Throws: ``SigV4Error/Code-swift.struct/contentLengthMismatch`` when the data runs past
    ///   the declared decoded length, or arrives after ``finish()``;
    ///   ``SigV4Error/Code-swift.struct/streamFailed`` once the encoder ``hasFailed``.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(SigV4Error) -> (consumed: Int, frame: [UInt8]?) {
        try checkAccepts(bytes.count)
        guard bytes.count > 0 else { return (0, nil) }
        if frame.isEmpty {
            frame.reserveCapacity(fullHeaderLength + chunkSize + 2)
            frame.append(contentsOf: repeatElement(0, count: fullHeaderLength))
        }
        let take = min(bytes.count, chunkSize - filled)
        // Copy and hash in L1-sized blocks: each block is read from memory once, then hashed
        // (and checksummed) while it is still in the cache.
        var offset = 0
        while offset < take {
            let end = min(offset + AWSChunkedEncoder.blockSize, take)
            let block = UnsafeRawBufferPointer(rebasing: bytes[offset..<end])
            frame.append(contentsOf: block)
            absorb(block)
            offset = end
        }
        filled += take
        bytesWritten += take
        if filled == chunkSize {
            return (take, try completeFullFrame())
        }
        return (take, nil)
    }

    /// Feeds payload bytes to the chunk hash and the trailing checksum.
    @inline(__always)
    mutating func absorb(_ block: UnsafeRawBufferPointer) {
        if encoding.signsChunks { hasher.update(block) }
        checksum?.update(block)
    }

    /// Hashes one whole chunk in place (no copy) and returns its header line.
    mutating func headerForWholeChunk(_ chunk: UnsafeRawBufferPointer) throws(SigV4Error) -> [UInt8] {
        var offset = 0
        while offset < chunk.count {
            let end = min(offset + AWSChunkedEncoder.blockSize, chunk.count)
            absorb(UnsafeRawBufferPointer(rebasing: chunk[offset..<end]))
            offset = end
        }
        bytesWritten += chunk.count
        var header: [UInt8] = []
        header.reserveCapacity(fullHeaderLength)
        try appendChunkHeader(dataLength: chunk.count, to: &header)
        return header
    }

    static let crlf: [UInt8] = [0x0d, 0x0a]

    /// Encodes `bytes` and passes the encoded body to `write` in order, without copying whole chunks.
    ///
    /// Each chunk that lies entirely inside `bytes` is hashed in place and written as three
    /// pieces: its header line, the caller's own bytes, and CRLF. Only a chunk that straddles
    /// two calls is copied (into the encoder's one-chunk buffer). Feed pieces that are
    /// multiples of ``chunkSize`` and nothing is copied at all. The pieces passed to `write`
    /// are valid only during the call. Call ``finish(writingTo:)`` at the end.
    ///
    /// ```swift
    /// var encoder = streaming.makeEncoder()
    /// while let block = try file.read(upTo: 1 << 20) {      // any reader
    ///     try block.withUnsafeBytes { try encoder.write($0) { piece in try out.write(piece) } }
    /// }
    /// try encoder.finish { piece in try out.write(piece) }
    /// ```
    ///
    /// - Throws: ``SigV4Error`` as ``feed(_:)`` does, and whatever `write` throws (after which the
    ///   encoder ``hasFailed``).
    public mutating func write(
        _ bytes: UnsafeRawBufferPointer, to write: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        try checkAccepts(bytes.count)
        // From here bytes are hashed and chunks signed: a failure leaves the encoder unusable.
        do {
            var offset = 0
            if filled > 0 {
                let (used, frame) = try feed(bytes)
                offset = used
                if let frame { try frame.withUnsafeBytes(write) }
            }
            while bytes.count - offset >= chunkSize {
                let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + chunkSize)])
                let header = try headerForWholeChunk(chunk)
                try header.withUnsafeBytes(write)
                try write(chunk)
                try AWSChunkedEncoder.crlf.withUnsafeBytes(write)
                offset += chunkSize
            }
            if offset < bytes.count {
                _ = try feed(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            }
        } catch {
            failed = true
            throw error
        }
    }

    /// Ends the body like ``finish()``, passing the remaining bytes to `write`. When `write`
    /// throws, the encoder ``hasFailed``.
    public mutating func finish(writingTo write: (UnsafeRawBufferPointer) throws -> Void) throws {
        let end = try finish()
        do {
            try end.withUnsafeBytes(write)
        } catch {
            failed = true
            throw error
        }
    }

    /// Writes the header of a full chunk into the reserved bytes and closes the frame.
    mutating func completeFullFrame() throws(SigV4Error) -> [UInt8] {
        var header: [UInt8] = []
        try appendChunkHeader(dataLength: filled, to: &header)
        frame.withUnsafeMutableBufferPointer { dst in
            for i in 0..<header.count { dst[i] = header[i] }
        }
        frame.append(0x0d)
        frame.append(0x0a)
        let done = frame
        frame = []
        filled = 0
        return done
    }

    /// Appends `hex[;chunk-signature=sig]\r\n` for a chunk of `dataLength` bytes, signing it
    /// with the running hash (signed variants) and resetting that hash.
    mutating func appendChunkHeader(dataLength: Int, to out: inout [UInt8]) throws(SigV4Error) {
        out.append(contentsOf: String(dataLength, radix: 16).utf8)
        if hasChain {
            let digest = hasher.finalize()
            hasher = SHA256()
            out.append(contentsOf: ";chunk-signature=".utf8)
            if var chain = sigV4aChain {
                let signature = try signing { () throws(SigV4Error) in try chain.signature(forChunkDigest: digest) }
                out.append(contentsOf: SigV4aChunkSigner.padded(signature).utf8)
                sigV4aChain = chain
            } else if var signer = chunkSigner {
                signer.signature(forChunkDigest: digest).digest.appendHex(to: &out)
                chunkSigner = signer
            }
        }
        out.append(0x0d)
        out.append(0x0a)
    }

    /// Makes a SigV4a chunk or trailer signature with `sign`. When it cannot be made (ECDSA in
    /// libcrypto), the encoder has failed: the signature chain is behind the bytes already hashed,
    /// so no later call may go on (``hasFailed``; `finish` would otherwise answer "already finished").
    mutating func signing(_ sign: () throws(SigV4Error) -> String) throws(SigV4Error) -> String {
        do {
            return try sign()
        } catch {
            failed = true
            throw error
        }
    }

    /// True when chunks are signed: with an HMAC chain (SigV4) or an ECDSA chain (SigV4a).
    var hasChain: Bool { chunkSigner != nil || sigV4aChain != nil }

    /// The characters of a chunk signature as sent: 64 hex digits, or an ECDSA signature padded.
    static func signatureWidth(sigV4a: Bool) -> Int { sigV4a ? SigV4aChunkSigner.paddedSignatureLength : 64 }

    /// Ends the body: the last partial chunk (if any), the zero-length chunk and the trailer.
    ///
    /// - Throws: ``SigV4Error/Code-swift.struct/contentLengthMismatch`` when fewer bytes than the
    ///   declared decoded length were fed, or when called twice;
    ///   ``SigV4Error/Code-swift.struct/streamFailed`` once the encoder ``hasFailed`` (a signature
    ///   that could not be made fails the encoder too).
    public mutating func finish() throws(SigV4Error) -> [UInt8] {
        try checkNotFailed()
        guard !finished else {
            throw SigV4Error(.contentLengthMismatch, "the aws-chunked body was already finished")
        }
        if let declared = decodedContentLength, bytesWritten != declared {
            throw SigV4Error(
                .contentLengthMismatch,
                "the payload has \(bytesWritten) bytes but x-amz-decoded-content-length declares \(declared)")
        }
        finished = true
        var out: [UInt8] = []
        if filled > 0 {
            out.reserveCapacity(encoding.frameLength(chunkDataLength: filled) + encoding.endLength)
            try appendChunkHeader(dataLength: filled, to: &out)
            out.append(contentsOf: frame[fullHeaderLength...])
            out.append(0x0d)
            out.append(0x0a)
            frame = []
            filled = 0
        }
        try appendChunkHeader(dataLength: 0, to: &out)
        if let checksum {
            var trailer: [UInt8] = []
            checksum.appendTrailerField(to: &trailer)
            out.append(contentsOf: trailer)
            out.append(0x0d)
            out.append(0x0a)
            if hasChain {
                trailer.append(0x0a)
                out.append(contentsOf: "x-amz-trailer-signature:".utf8)
                if let chain = sigV4aChain {
                    let signature = try signing { () throws(SigV4Error) in try chain.trailerSignature(canonicalTrailer: trailer) }
                    out.append(contentsOf: SigV4aChunkSigner.padded(signature).utf8)
                } else if let signer = chunkSigner {
                    signer.trailerSignature(canonicalTrailer: trailer).digest.appendHex(to: &out)
                }
                out.append(0x0d)
                out.append(0x0a)
            }
        }
        out.append(0x0d)
        out.append(0x0a)
        return out
    }

    /// The trailing checksum value (base64) of the bytes fed so far, if the variant has a trailer.
    public var trailerValue: String? { checksum?.base64 }

    /// Encodes a whole in-memory payload: every frame, then the end. The payload is copied once,
    /// into the result.
    public mutating func encode(_ bytes: UnsafeRawBufferPointer) throws(SigV4Error) -> [UInt8] {
        var out: [UInt8] = []
        // Sized from the bytes actually given, never from the declared length: a declared length
        // larger than the payload is an error (at `finish`), not a request for that much memory.
        if let length = try? encoding.encodedLength(
            decodedLength: bytes.count, chunkSize: chunkSize,
            signatureWidth: Self.signatureWidth(sigV4a: sigV4aChain != nil))
        {
            out.reserveCapacity(length)
        }
        do {
            try write(bytes) { out.append(contentsOf: $0) }
        } catch let error as SigV4Error {
            throw error
        } catch {
            // Appending to an array does not throw.
            throw SigV4Error(.contentLengthMismatch, "unexpected error while encoding")
        }
        out.append(contentsOf: try finish())
        return out
    }

    /// For ``AWSChunkedBody``: hashes a whole chunk that starts at a chunk boundary and returns its
    /// header, so the chunk's own buffer can be passed on without a copy.
    mutating func passThroughHeader(_ chunk: UnsafeRawBufferPointer) throws(SigV4Error) -> [UInt8] {
        try checkNotFailed()
        guard !finished else {
            throw SigV4Error(.contentLengthMismatch, "payload bytes arrived after the aws-chunked body was finished")
        }
        if let declared = decodedContentLength, chunk.count > declared - bytesWritten {
            throw SigV4Error(
                .contentLengthMismatch,
                "the payload is longer than the declared x-amz-decoded-content-length \(declared)")
        }
        return try headerForWholeChunk(chunk)
    }

    /// Encodes a whole in-memory payload from any collection of bytes.
    public mutating func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(SigV4Error) -> [UInt8] {
        let result: Result<[UInt8], SigV4Error>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SigV4Error) in try encode(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { raw in Result { () throws(SigV4Error) in try encode(raw) } }.get()
    }
}
