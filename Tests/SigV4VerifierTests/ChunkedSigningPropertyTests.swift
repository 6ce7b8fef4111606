import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// The aws-chunked signer against our own verifier, on random payload sizes, chunk sizes,
/// variants and input cuttings: every body the signer produces has the length it declared in
/// `Content-Length`, is identical whichever API fed it, and verifies and decodes to the payload.
@Suite("aws-chunked signing against the verifier, randomized")
struct ChunkedSigningPropertyTests {
    struct Random {
        var generator: SplitMix64
        init(seed: UInt64) { generator = SplitMix64(seed: seed) }
        mutating func below(_ n: Int) -> Int { Int(generator.next() % UInt64(n)) }
        mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: generator.next()) } }
    }

    static let request = HTTPRequest(
        method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/random.bin")

    static func variant(_ rng: inout Random) -> AWSChunkedEncoding {
        let algorithm = TrailingChecksum.Algorithm.allCases[rng.below(TrailingChecksum.Algorithm.allCases.count)]
        switch rng.below(3) {
        case 0: return .signed
        case 1: return .signedWithTrailer(algorithm)
        default: return .unsignedWithTrailer(algorithm)
        }
    }

    /// A payload size near the interesting points of `chunkSize` (0, ±1 around multiples), or anywhere.
    static func size(_ rng: inout Random, chunkSize: Int) -> Int {
        switch rng.below(3) {
        case 0: return max(0, rng.below(4) * chunkSize + rng.below(3) - 1)
        default: return rng.below(4 * chunkSize + 2)
        }
    }

    /// `payload` cut into pieces of random sizes: empty, one byte, up to more than two chunks.
    static func pieces(_ payload: [UInt8], _ rng: inout Random, chunkSize: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var offset = 0
        while offset < payload.count {
            let n: Int
            switch rng.below(5) {
            case 0: n = 0
            case 1: n = 1
            case 2: n = chunkSize
            default: n = rng.below(2 * chunkSize + 3)
            }
            let end = min(payload.count, offset + n)
            out.append(Array(payload[offset..<end]))
            offset = end
        }
        if rng.below(2) == 0 { out.append([]) }
        return out
    }

    static func decode(_ verified: VerifiedRequest, _ request: VerificationRequest, _ body: [UInt8], _ rng: inout Random)
        throws -> [UInt8]
    {
        var decoder = try verified.makeChunkedDecoder(for: request)
        var out: [UInt8] = []
        var i = 0
        while i < body.count {
            let end = min(body.count, i + 1 + rng.below(20_000))
            out += try decoder.feed(Array(body[i..<end]))
            i = end
        }
        try decoder.finish()
        return out
    }

    @Test("SigV4 chunked bodies of random sizes, chunk sizes, variants and cuttings are exact and verify")
    func sigV4() async throws {
        var rng = Random(seed: 2024)
        let verifier = Fixture.verifier()
        for round in 0..<60 {
            let chunkSize = [8192, 8193, 10_000, 16_384][rng.below(4)]
            let encoding = Self.variant(&rng)
            let size = Self.size(&rng, chunkSize: chunkSize)
            let payload = rng.bytes(size)
            let label = "round \(round): \(encoding), chunk \(chunkSize), size \(size)"
            let streaming = try Fixture.signer().signStreaming(
                Self.request, decodedContentLength: size, encoding: encoding, chunkSize: chunkSize,
                contentLength: [.signed, .unsigned][rng.below(2)], at: Fixture.date)
            let whole = try streaming.encode(payload)
            #expect(whole.count == streaming.encodedContentLength, "\(label)")
            #expect(streaming.request.headerFields[.contentLength] == String(whole.count), "\(label)")
            #expect(
                streaming.request.headerFields[HTTPField.Name("x-amz-decoded-content-length")!] == String(size),
                "\(label)")

            let pieces = Self.pieces(payload, &rng, chunkSize: chunkSize)
            var written: [UInt8] = []
            var encoder = streaming.makeEncoder()
            for piece in pieces { try piece.withUnsafeBytes { raw in try encoder.write(raw) { written += $0 } } }
            try encoder.finish { written += $0 }
            #expect(written == whole, "write(_:to:) \(label)")

            var fed: [UInt8] = []
            var frames = streaming.makeEncoder()
            for piece in pieces {
                try piece.withUnsafeBytes { raw in
                    var rest = raw[...]
                    while !rest.isEmpty {
                        let (used, frame) = try frames.feed(UnsafeRawBufferPointer(rebasing: rest))
                        rest = rest.dropFirst(used)
                        if let frame { fed += frame }
                    }
                }
            }
            fed += try frames.finish()
            #expect(fed == whole, "feed(_:) \(label)")

            let stream = AsyncStream<[UInt8]> { continuation in
                for piece in pieces { continuation.yield(piece) }
                continuation.finish()
            }
            var streamed: [UInt8] = []
            for try await element in streaming.body(stream) { streamed += element }
            #expect(streamed == whole, "body(_:) \(label)")

            let request = VerificationRequest(streaming.request)
            let result = await verifier.verify(request, now: Fixture.date)
            let verified = try #require(result.verified, "\(label): \(result.failure?.description ?? "")")
            #expect(try Self.decode(verified, request, whole, &rng) == payload, "\(label)")
        }
    }

    @Test("SigV4a chunked bodies of random sizes, chunk sizes, trailers and cuttings are exact and verify")
    func sigV4a() async throws {
        var rng = Random(seed: 77)
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["us-east-1"], service: "s3")
        let verifier = Fixture.verifier()
        for round in 0..<12 {
            let chunkSize = [8192, 8193, 12_345][rng.below(3)]
            let algorithms = TrailingChecksum.Algorithm.allCases
            let trailer: TrailingChecksum.Algorithm? = rng.below(2) == 0 ? nil : algorithms[rng.below(algorithms.count)]
            let size = Self.size(&rng, chunkSize: chunkSize)
            let payload = rng.bytes(size)
            let label = "round \(round): \(trailer.map(\.rawValue) ?? "no trailer"), chunk \(chunkSize), size \(size)"
            let streaming = try signer.signStreaming(
                Self.request, decodedContentLength: size, trailer: trailer, chunkSize: chunkSize, at: Fixture.date)
            var body: [UInt8] = []
            var encoder = streaming.makeEncoder()
            for piece in Self.pieces(payload, &rng, chunkSize: chunkSize) {
                try piece.withUnsafeBytes { raw in try encoder.write(raw) { body += $0 } }
            }
            try encoder.finish { body += $0 }
            #expect(body.count == streaming.encodedContentLength, "\(label)")
            #expect(streaming.request.headerFields[.contentLength] == String(body.count), "\(label)")
            let request = VerificationRequest(streaming.request)
            let result = await verifier.verify(request, now: Fixture.date)
            let verified = try #require(result.verified, "\(label): \(result.failure?.description ?? "")")
            #expect(try Self.decode(verified, request, body, &rng) == payload, "\(label)")
        }
    }
}
