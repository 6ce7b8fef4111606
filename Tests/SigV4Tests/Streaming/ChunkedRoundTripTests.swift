import HTTPTypes
import SigV4
import Testing

/// Encodes payloads of edge-case sizes, parses the output with an independent parser, and
/// checks the bytes, the framing, every signature and the trailer.
@Suite("aws-chunked round trips")
struct ChunkedRoundTripTests {
    static let chunkSize = 8192
    static let sizes = [0, 1, 8191, 8192, 8193, 2 * 8192 - 1, 2 * 8192, 2 * 8192 + 1, 5 * 8192 + 77]
    static let encodings: [AWSChunkedEncoding] = [
        .signed, .signedWithTrailer(.crc32), .signedWithTrailer(.crc32c), .signedWithTrailer(.sha1),
        .signedWithTrailer(.sha256), .signedWithTrailer(.crc64nvme), .signedWithTrailer(.sha512),
        .unsignedWithTrailer(.crc32c), .unsignedWithTrailer(.sha256), .unsignedWithTrailer(.crc64nvme),
    ]

    static func streaming(_ encoding: AWSChunkedEncoding, _ size: Int, chunkSize: Int = chunkSize) throws
        -> StreamingSignedRequest
    {
        try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: size, encoding: encoding, chunkSize: chunkSize,
            at: StreamingFixtures.date)
    }

    /// Checks `body` against `payload` with the test parser and fresh signature computations.
    static func check(_ body: [UInt8], payload: [UInt8], streaming: StreamingSignedRequest) throws {
        let encoding = streaming.encoding
        #expect(body.count == streaming.encodedContentLength)
        let parsed = try ParsedChunkedBody(body, signed: encoding.signsChunks)
        #expect(parsed.payload == payload)
        // Every chunk but the last two (partial, then empty) has exactly the chunk size.
        let sizes = parsed.chunks.map(\.size)
        #expect(sizes.last == 0)
        let expectedFull = payload.count / streaming.chunkSize
        #expect(sizes.prefix(expectedFull).allSatisfy { $0 == streaming.chunkSize })
        #expect(sizes.count == expectedFull + (payload.count % streaming.chunkSize > 0 ? 1 : 0) + 1)

        if encoding.signsChunks {
            // Recompute the chain from the seed signature with a fresh signer.
            let key = StreamingFixtures.signer.signingKey(for: streaming.seed.scope)
            var chain = ChunkSigner(
                signingKey: key, date: StreamingFixtures.date, seedSignature: streaming.seedSignature)
            for chunk in parsed.chunks {
                #expect(chunk.signature == chain.signature(forChunk: chunk.data).hex)
            }
            if encoding.trailer != nil {
                let canonical = ChunkSigner.canonicalTrailer(parsed.trailers.map { (name: $0.0, value: $0.1) })
                #expect(parsed.trailerSignature == chain.trailerSignature(canonicalTrailer: canonical).hex)
            } else {
                #expect(parsed.trailerSignature == nil)
            }
        } else {
            #expect(parsed.chunks.allSatisfy { $0.signature == nil })
            #expect(parsed.trailerSignature == nil)
        }
        if let algorithm = encoding.trailer {
            #expect(parsed.trailers.count == 1)
            #expect(parsed.trailers.first?.0 == algorithm.headerName)
            #expect(parsed.trailers.first?.1 == TrailingChecksum.base64(algorithm, of: payload))
            #expect(parsed.trailers.first?.1.utf8.count == algorithm.base64Length)
        } else {
            #expect(parsed.trailers.isEmpty)
        }
    }

    @Test(
        "in-memory encoding decodes back to the payload, with valid framing, signatures and trailer",
        arguments: encodings, sizes)
    func inMemory(encoding: AWSChunkedEncoding, size: Int) throws {
        var random = SeededBytes(seed: UInt64(size) &* 31 &+ 7)
        let payload = random.bytes(size)
        let streaming = try Self.streaming(encoding, size)
        try Self.check(try streaming.encode(payload), payload: payload, streaming: streaming)
    }

    @Test("the async body equals the in-memory encoding whatever the input piece sizes", arguments: encodings)
    func asyncMatchesInMemory(encoding: AWSChunkedEncoding) async throws {
        var random = SeededBytes(seed: 42)
        for size in [0, 1, 8192, 3 * 8192 + 5, 70_001] {
            let payload = random.bytes(size)
            var pieces: [[UInt8]] = []
            var offset = 0
            while offset < size {
                let n = min(random.int(in: 0...20_000), size - offset)
                pieces.append(Array(payload[offset..<(offset + n)]))
                offset += n
            }
            let streaming = try Self.streaming(encoding, size)
            let stream = AsyncStream<[UInt8]> { continuation in
                for piece in pieces { continuation.yield(piece) }
                continuation.finish()
            }
            var body: [UInt8] = []
            for try await piece in streaming.body(stream) { body += piece }
            #expect(body == (try streaming.encode(payload)))
            try Self.check(body, payload: payload, streaming: streaming)
        }
    }

    @Test(
        "chunk-sized input arrays pass through the async body uncopied, between their header and CRLF",
        arguments: encodings)
    func asyncPassThrough(encoding: AWSChunkedEncoding) async throws {
        var random = SeededBytes(seed: 77)
        let size = 3 * 8192 + 100
        let payload = random.bytes(size)
        // Chunk-sized pieces, then a short one, then chunk-sized again (no longer aligned).
        let pieces = [
            Array(payload[0..<8192]), Array(payload[8192..<16384]), Array(payload[16384..<16484]),
            Array(payload[16484..<24676]), Array(payload[24676...]),
        ]
        let streaming = try Self.streaming(encoding, size)
        let stream = AsyncStream<[UInt8]> { continuation in
            for piece in pieces { continuation.yield(piece) }
            continuation.finish()
        }
        var elements: [[UInt8]] = []
        for try await element in streaming.body(stream) { elements.append(element) }
        #expect(elements.flatMap { $0 } == (try streaming.encode(payload)))
        // header, chunk 1 itself, CRLF+header, chunk 2 itself, then copied frames for the rest.
        #expect(elements.count == 6)
        #expect(elements.count > 1 && elements[1] == pieces[0])
        #expect(elements.count > 3 && elements[3] == pieces[1])
        #expect(elements.count > 2 && elements[2].starts(with: [0x0d, 0x0a]))
        try Self.check(elements.flatMap { $0 }, payload: payload, streaming: streaming)
    }

    @Test(
        "the writer API equals the in-memory encoding and hands whole chunks over without copying",
        arguments: encodings)
    func writerAPI(encoding: AWSChunkedEncoding) throws {
        var random = SeededBytes(seed: 123)
        let size = 5 * 8192 + 3
        let payload = random.bytes(size)
        let streaming = try Self.streaming(encoding, size)
        for pieceSize in [1, 1000, 8192, 8193, 3 * 8192, size] {
            var encoder = streaming.makeEncoder()
            var body: [UInt8] = []
            var aliased = 0
            try payload.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let piece = UnsafeRawBufferPointer(rebasing: raw[offset..<min(offset + pieceSize, raw.count)])
                    try encoder.write(piece) { out in
                        if let base = out.baseAddress, let start = raw.baseAddress,
                            base >= start, base < start + raw.count
                        {
                            aliased += out.count
                        }
                        body.append(contentsOf: out)
                    }
                    offset += piece.count
                }
            }
            try encoder.finish { body.append(contentsOf: $0) }
            #expect(body == (try streaming.encode(payload)), "piece size \(pieceSize)")
            // Whole chunks inside one piece are written straight from the caller's memory.
            // Model: a partial chunk carried over is completed by copying; then whole chunks alias.
            var expectedAliased = 0
            var carried = 0
            for start in stride(from: 0, to: size, by: pieceSize) {
                var rest = min(pieceSize, size - start)
                if carried > 0 {
                    let take = min(rest, 8192 - carried)
                    carried = (carried + take) % 8192
                    rest -= take
                }
                if carried == 0 {
                    expectedAliased += rest / 8192 * 8192
                    carried = rest % 8192
                }
            }
            #expect(aliased == expectedAliased, "piece size \(pieceSize)")
        }
    }

    @Test(
        "non-contiguous input elements are accepted",
        arguments: [AWSChunkedEncoding.signed, .unsignedWithTrailer(.crc32)])
    func nonContiguousElements(encoding: AWSChunkedEncoding) async throws {
        var random = SeededBytes(seed: 9)
        let payload = random.bytes(20_000)
        let streaming = try Self.streaming(encoding, payload.count)
        let pieces = AsyncStream<LazyMapSequence<[UInt8], UInt8>> { continuation in
            for start in stride(from: 0, to: payload.count, by: 3000) {
                continuation.yield(Array(payload[start..<min(start + 3000, payload.count)]).lazy.map { $0 })
            }
            continuation.finish()
        }
        var body: [UInt8] = []
        for try await frame in streaming.body(pieces) { body += frame }
        #expect(body == (try streaming.encode(payload)))
    }

    @Test("the encoded length computed up front equals the body length", arguments: encodings)
    func encodedLength(encoding: AWSChunkedEncoding) throws {
        for chunkSize in [8192, 65_536, 1_000_000] {
            for size in [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3 * chunkSize + 11] {
                let streaming = try Self.streaming(encoding, size, chunkSize: chunkSize)
                let body = try streaming.encode([UInt8](repeating: 0x5a, count: size))
                #expect(body.count == streaming.encodedContentLength)
                #expect(body.count == (try encoding.encodedLength(decodedLength: size, chunkSize: chunkSize)))
            }
        }
    }

    @Test("an unknown decoded length signs without x-amz-decoded-content-length or Content-Length")
    func unknownLength() async throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: nil, encoding: .signedWithTrailer(.crc32c),
            at: StreamingFixtures.date)
        #expect(streaming.encodedContentLength == nil)
        #expect(streaming.request.headerFields[HTTPField.Name("x-amz-decoded-content-length")!] == nil)
        #expect(streaming.request.headerFields[.contentLength] == nil)
        var random = SeededBytes(seed: 5)
        let payload = random.bytes(30_000)
        let parsed = try ParsedChunkedBody(try streaming.encode(payload), signed: true)
        #expect(parsed.payload == payload)
    }

    @Test("an existing content coding follows aws-chunked")
    func existingContentEncoding() throws {
        var request = StreamingFixtures.request
        request.headerFields[.contentEncoding] = "gzip"
        let streaming = try StreamingFixtures.signer.signStreaming(
            request, decodedContentLength: 10, at: StreamingFixtures.date)
        #expect(streaming.request.headerFields[.contentEncoding] == "aws-chunked,gzip")
        #expect(streaming.seed.canonicalRequest.text.contains("\ncontent-encoding:aws-chunked,gzip\n"))
    }

    @Test("the fixture date is the S3 examples' 20130524T000000Z")
    func fixtureDate() {
        #expect(StreamingFixtures.date.iso8601Basic == "20130524T000000Z")
    }

    @Test("each encoder restarts the chain at the seed signature")
    func encodersAreIndependent() throws {
        let streaming = try Self.streaming(.signed, 10_000)
        let payload = [UInt8](repeating: 1, count: 10_000)
        #expect((try streaming.encode(payload)) == (try streaming.encode(payload)))
    }
}
