import HTTPTypes
import SigV4
import SigV4Verifier

/// aws-chunked verification of a 64 MiB signed body, against raw SHA-256 throughput.
///
/// The body is encoded once, before measuring (64 KiB chunks, each with its chained
/// `chunk-signature`); each operation then decodes and verifies all of it through
/// ``AWSChunkedDecoder`` fed 1 MiB at a time, as a server reading the socket would.
enum ChunkedVerificationRows {
    static func make() -> [Row] {
        let size = StreamingRows.payloadSize
        let signer = Fixture.signer(cache: nil)
        var request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/chunkObject.txt")
        request.headerFields[.contentType] = "application/octet-stream"
        guard
            let streaming = try? signer.signStreaming(
                request, decodedContentLength: size, encoding: .signed, at: Fixture.date),
            let scope = try? signer.scope(at: Fixture.date)
        else { fatalError("streaming signing failed") }
        var wire: [UInt8] = []
        wire.reserveCapacity(size + size / 1000)
        var encoder = streaming.makeEncoder()
        do {
            try encoder.write(UnsafeRawBufferPointer(StreamingRows.payload)) { wire.append(contentsOf: $0) }
            try encoder.finish { wire.append(contentsOf: $0) }
        } catch { fatalError("encoding failed") }
        let key = SigningKey(secretAccessKey: Fixture.credentials.secretAccessKey, scope: scope)
        let seed = streaming.seedSignature
        let feedSize = StreamingRows.feedSize

        // Check once that the body verifies and decodes to the payload's length.
        let check = decode(wire, key: key, seed: seed, size: size, feedSize: feedSize)
        guard check == size else { fatalError("chunked verification failed in setup (\(check) bytes)") }

        // The same payload as a SigV4a upload: each 64 KiB chunk carries an ECDSA signature.
        guard
            let sigV4a = try? SigV4aSigner(credentials: Fixture.credentials, regionSet: ["us-east-1"], service: "s3"),
            let ecdsaStreaming = try? sigV4a.signStreaming(request, decodedContentLength: size, at: Fixture.date)
        else { fatalError("SigV4a streaming signing failed") }
        var ecdsaWire: [UInt8] = []
        ecdsaWire.reserveCapacity(ecdsaStreaming.encodedContentLength)
        var ecdsaEncoder = ecdsaStreaming.makeEncoder()
        do {
            try ecdsaEncoder.write(UnsafeRawBufferPointer(StreamingRows.payload)) { ecdsaWire.append(contentsOf: $0) }
            try ecdsaEncoder.finish { ecdsaWire.append(contentsOf: $0) }
        } catch { fatalError("SigV4a encoding failed") }
        let ecdsaKey = sigV4a.signingKey
        let ecdsaSeed = ecdsaStreaming.seed.signatureHex
        func decodeSigV4a() -> Int {
            decode(
                ecdsaWire, feedSize: feedSize,
                AWSChunkedDecoder(
                    sigV4aEncoding: .signed, decodedContentLength: size, signingKey: ecdsaKey, date: Fixture.date,
                    service: "s3", seedSignature: ecdsaSeed))
        }
        guard decodeSigV4a() == size else { fatalError("SigV4a chunked verification failed in setup") }

        return [
            Row(
                name: "chunked_verify_sigv4a_64MiB", kind: .throughput(bytesPerOp: size),
                body: { n in for _ in 0..<n { blackHole(decodeSigV4a()) } },
                floor: StreamingRows.sha256Floor,
                maxAllocsPerOp: 44_000,
                note: "AWSChunkedDecoder.feed, SigV4a: 64 KiB chunks, each ECDSA P-256 signature verified; floor = raw SHA-256"),
            Row(
                name: "chunked_verify_64MiB", kind: .throughput(bytesPerOp: size),
                body: { n in
                    for _ in 0..<n { blackHole(decode(wire, key: key, seed: seed, size: size, feedSize: feedSize)) }
                },
                floor: StreamingRows.sha256Floor,
                maxAllocsPerOp: 1100,
                note: "AWSChunkedDecoder.feed: 64 KiB signed chunks verified, fed 1 MiB at a time; floor = raw SHA-256 of 64 MiB")
        ]
    }

    /// Decodes and verifies `wire` with a SigV4 decoder; returns the number of verified bytes released (-1 on failure).
    static func decode(_ wire: [UInt8], key: SigningKey, seed: Signature, size: Int, feedSize: Int) -> Int {
        decode(
            wire, feedSize: feedSize,
            AWSChunkedDecoder(
                encoding: .signed, decodedContentLength: size, signingKey: key, date: Fixture.date, seedSignature: seed))
    }

    /// Feeds `wire` to `decoder` `feedSize` bytes at a time; returns the verified bytes released (-1 on failure).
    static func decode(_ wire: [UInt8], feedSize: Int, _ decoder: AWSChunkedDecoder) -> Int {
        var decoder = decoder
        var released = 0
        do {
            try wire.withUnsafeBytes { all in
                try forEachPiece(of: all, size: feedSize) { piece in try decoder.feed(piece) { released &+= $0.count } }
            }
            try decoder.finish()
        } catch {
            return -1
        }
        return released
    }
}
