import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

@Suite("aws-chunked bodies")
struct AWSChunkedDecoderTests {
    static let docCredential = ResolvedCredential(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: SecretAccessKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        principal: "doc")

    /// The request and wire body of an S3 documentation chunked example.
    static func docExample(_ file: String) throws -> (VerificationRequest, [UInt8], AmzDate) {
        let json = try Vectors.json("s3-doc-examples/\(file).json")
        let input = json["input"] as! [String: Any]
        let expected = json["expected"] as! [String: Any]
        var headers = (input["headers"] as! [[String]]).map { ($0[0], $0[1]) }
        let auth = expected["authorization_header"] as? String ?? expected["authorization_header_minio_go_form"] as! String
        headers.append(("Authorization", auth))
        var body: [UInt8] = []
        for chunk in expected["chunks"] as! [[String: Any]] {
            body += Array((chunk["wire_header"] as! String).utf8)
            let size = chunk["size"] as! Int
            if size > 0 {
                body += [UInt8](repeating: 0x61, count: size)
                body += [0x0d, 0x0a]
            }
        }
        if let trailer = expected["trailer_chunk_wire"] as? String {
            body += Array(trailer.utf8)
        } else {
            body += [0x0d, 0x0a]
        }
        let request = VerificationRequest(method: input["method"] as! String, target: input["path"] as! String, headers: headers)
        return (request, body, try AmzDate(iso8601Basic: input["date"] as! String))
    }

    static func decodeAll(_ verified: VerifiedRequest, _ request: VerificationRequest, _ body: [UInt8], piece: Int)
        throws(VerificationFailure) -> [UInt8]
    {
        var decoder = try verified.makeChunkedDecoder(for: request)
        var out: [UInt8] = []
        var i = 0
        while i < body.count {
            let end = min(body.count, i + piece)
            out += try decoder.feed(Array(body[i..<end]))
            i = end
        }
        try decoder.finish()
        return out
    }

    @Test("the S3 documentation chunked and trailer examples verify and decode", arguments: [
        "chunked-upload-put-object", "chunked-upload-put-object-trailer",
    ])
    func docExamples(file: String) async throws {
        let (request, body, date) = try Self.docExample(file)
        let verifier = Verifier(resolver: InMemoryCredentialResolver([Self.docCredential]))
        let result = await verifier.verify(request, now: date)
        let verified = try #require(result.verified, "\(result.failure?.description ?? "")")
        #expect(verified.payload == .awsChunked)
        for piece in [1, 7, 4096, 70_000] {
            let decoded = try Self.decodeAll(verified, request, body, piece: piece)
            #expect(decoded == [UInt8](repeating: 0x61, count: 66_560), "piece \(piece)")
        }
    }

    static let variants: [AWSChunkedEncoding] = [
        .signed, .signedWithTrailer(.crc32), .signedWithTrailer(.crc32c), .signedWithTrailer(.sha1),
        .signedWithTrailer(.sha256), .signedWithTrailer(.crc64nvme), .signedWithTrailer(.sha512),
        .unsignedWithTrailer(.crc32), .unsignedWithTrailer(.crc32c), .unsignedWithTrailer(.sha256),
        .unsignedWithTrailer(.crc64nvme), .unsignedWithTrailer(.sha512),
    ]

    static func signed(_ encoding: AWSChunkedEncoding, payload: [UInt8], chunkSize: Int = 8192) throws
        -> (VerificationRequest, [UInt8])
    {
        let request = HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/big.bin")
        let streaming = try Fixture.signer().signStreaming(
            request, decodedContentLength: payload.count, encoding: encoding, chunkSize: chunkSize, at: Fixture.date)
        return (VerificationRequest(streaming.request), try streaming.encode(payload))
    }

    static let payload: [UInt8] = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    @Test("every variant the signer produces verifies and decodes to the payload", arguments: variants)
    func roundTrip(encoding: AWSChunkedEncoding) async throws {
        let (request, body) = try Self.signed(encoding, payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        for piece in [1, 100, 8192, 1 << 20] {
            #expect(try Self.decodeAll(verified, request, body, piece: piece) == Self.payload)
        }
        let (emptyRequest, emptyBody) = try Self.signed(encoding, payload: [])
        let emptyVerified = try #require(await Fixture.verifier().verify(emptyRequest, now: Fixture.date).verified)
        #expect(try Self.decodeAll(emptyVerified, emptyRequest, emptyBody, piece: 10) == [])
    }

    @Test(
        "an x-amz-checksum-* or Content-MD5 header on an aws-chunked upload is the decoded body's: checked when it ends",
        arguments: [AWSChunkedEncoding.signed, .signedWithTrailer(.crc32), .unsignedWithTrailer(.sha256)])
    func declaredChecksumOfDecodedBody(encoding: AWSChunkedEncoding) async throws {
        let other = Array(Self.payload.dropFirst()) + [0]
        for (name, algorithm) in [("x-amz-checksum-crc32c", TrailingChecksum.Algorithm.crc32c), ("Content-MD5", .md5)] {
            for (data, accepted) in [(Self.payload, true), (other, false)] {
                let request = HTTPRequest(
                    method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/big.bin",
                    headerFields: [HTTPField.Name(name)!: TrailingChecksum.base64(algorithm, of: data)])
                let streaming = try Fixture.signer().signStreaming(
                    request, decodedContentLength: Self.payload.count, encoding: encoding, chunkSize: 8192,
                    at: Fixture.date)
                let r = VerificationRequest(streaming.request)
                let verified = try #require(await Fixture.verifier().verify(r, now: Fixture.date).verified)
                #expect(verified.declaredChecksums.count == 1 && !verified.checksumVerified)
                // The decoder checks it; a streamed-body checker would read the encoded bytes.
                #expect(verified.makeChecksumVerifier() == nil)
                let body = try streaming.encode(Self.payload)
                if accepted {
                    #expect(try Self.decodeAll(verified, r, body, piece: 1000) == Self.payload, "\(name)")
                } else {
                    // (The decoded bytes are not returned from the closures: a failure would print them all.)
                    #expect(throws: VerificationFailure.self, "\(name)") {
                        _ = try Self.decodeAll(verified, r, body, piece: 1000)
                    }
                    #expect { _ = try Self.decodeAll(verified, r, body, piece: 1 << 20) } throws: {
                        ($0 as? VerificationFailure)?.code == .badDigest
                    }
                }
            }
        }
        // With the check off in the policy, the header is not read.
        var policy = VerificationPolicy()
        policy.verifyBodyChecksums = false
        let request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/big.bin",
            headerFields: [HTTPField.Name("x-amz-checksum-crc32c")!: TrailingChecksum.base64(.crc32c, of: other)])
        let streaming = try Fixture.signer().signStreaming(
            request, decodedContentLength: Self.payload.count, encoding: encoding, chunkSize: 8192, at: Fixture.date)
        let r = VerificationRequest(streaming.request)
        let verified = try #require(await Fixture.verifier(policy: policy).verify(r, now: Fixture.date).verified)
        #expect(try Self.decodeAll(verified, r, try streaming.encode(Self.payload), piece: 1000) == Self.payload)
    }

    /// A PUT signed as awscli signs an upload with an unsigned trailer: `x-amz-trailer: trailer`
    /// and `STREAMING-UNSIGNED-PAYLOAD-TRAILER`.
    static func unsignedTrailerUpload(trailer: String, decodedLength: Int) throws -> SignedRequest {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("Content-Encoding")!, value: "aws-chunked"))
        fields.append(HTTPField(name: HTTPField.Name("X-Amz-Trailer")!, value: trailer))
        fields.append(HTTPField(name: HTTPField.Name("X-Amz-Decoded-Content-Length")!, value: String(decodedLength)))
        let request = HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/k", headerFields: fields)
        return try Fixture.signer().sign(request, payload: .streamingUnsignedTrailer, at: Fixture.date)
    }

    @Test("awscli's unsigned-trailer form (no chunk extensions) is accepted")
    func awscliUnsignedTrailer() async throws {
        let data = Array("hello, aws-chunked world".utf8)
        let signed = try Self.unsignedTrailerUpload(trailer: "x-amz-checksum-crc32", decodedLength: data.count)
        let crc = TrailingChecksum.base64(.crc32, of: data)
        let body = Array("\(String(data.count, radix: 16))\r\n".utf8) + data + Array("\r\n0\r\nx-amz-checksum-crc32:\(crc)\r\n\r\n".utf8)
        let r = VerificationRequest(signed.request)
        let verified = try #require(await Fixture.verifier().verify(r, now: Fixture.date).verified)
        #expect(try Self.decodeAll(verified, r, body, piece: 3) == data)
        var bad = body
        bad[5] ^= 1
        #expect { try Self.decodeAll(verified, r, bad, piece: 3) } throws: { ($0 as? VerificationFailure)?.code == .badDigest }
    }

    @Test(
        "an unsigned-trailer body with a CRC-64/NVME, SHA-512 or xxHash trailer computed by awscrt and hashlib is accepted, and a flipped byte is BadDigest",
        arguments: [
            ("x-amz-checksum-crc64nvme", "FMWa4z4TnMw="),
            ("x-amz-checksum-xxhash64", "soD2G4dDLzQ="),
            ("x-amz-checksum-xxhash3", "DE99QL03SXs="),
            ("x-amz-checksum-xxhash128", "vVG75+Fk0+bGEHSATP01WQ=="),
            (
                "x-amz-checksum-sha512",
                "tMMYgI77ogz9+V4eMfi6LLT80QtU+cdiCwTnCmkf3HE9uSJ7ehlpGS/8ftngWymCNKgvWwyBvK+G3Gkkh2atyg=="
            ),
        ])
    func newerTrailerAlgorithms(name: String, value: String) async throws {
        // The values are Python's, for these bytes: base64(awscrt.checksums.crc64nvme(data), 8 bytes
        // big-endian), base64(hashlib.sha512(data).digest()) and awscrt.checksums.XXHash's
        // (new_xxhash64, new_xxhash3_64, new_xxhash3_128) finalize(), as botocore 1.43 sends them.
        let data = Array("hello, aws-chunked world".utf8)
        let signed = try Self.unsignedTrailerUpload(trailer: name, decodedLength: data.count)
        let body = Array("\(String(data.count, radix: 16))\r\n".utf8) + data + Array("\r\n0\r\n\(name):\(value)\r\n\r\n".utf8)
        let r = VerificationRequest(signed.request)
        let verified = try #require(await Fixture.verifier().verify(r, now: Fixture.date).verified)
        #expect(try Self.decodeAll(verified, r, body, piece: 5) == data)
        var bad = body
        bad[6] ^= 1
        #expect { try Self.decodeAll(verified, r, bad, piece: 5) } throws: { ($0 as? VerificationFailure)?.code == .badDigest }
    }

    @Test("an x-amz-trailer naming an unknown checksum is refused with InvalidArgument before any byte")
    func unknownTrailerRefused() async throws {
        let signed = try Self.unsignedTrailerUpload(trailer: "x-amz-checksum-crc16", decodedLength: 5)
        let r = VerificationRequest(signed.request)
        let verified = try #require(await Fixture.verifier().verify(r, now: Fixture.date).verified)
        #expect { _ = try verified.makeChunkedDecoder(for: r) } throws: {
            ($0 as? VerificationFailure)?.code == .invalidArgument
        }
    }

    /// Feeds `body` and returns (decoded bytes released, the failure).
    static func attempt(
        _ verified: VerifiedRequest, _ request: VerificationRequest, _ body: [UInt8],
        limits: AWSChunkedDecoder.Limits = .default, piece: Int = 1000
    ) -> ([UInt8], VerificationFailure?) {
        var released: [UInt8] = []
        var decoder: AWSChunkedDecoder
        do {
            decoder = try verified.makeChunkedDecoder(for: request, limits: limits)
        } catch {
            return ([], error)
        }
        do throws(VerificationFailure) {
            for part in body.chunks(ofCount: min(piece, max(body.count, 1))) {
                released += try decoder.feed(Array(part))
            }
            try decoder.finish()
            return (released, nil)
        } catch {
            // Bytes released during the failing call are counted too.
            let extra = decoder.releasedByteCount - released.count
            let start = released.count
            if extra > 0 { released += Self.payload[start..<(start + extra)] }
            return (released, error)
        }
    }

    /// Fed 1000 bytes at a time, chunks are buffered; fed all at once, each chunk is verified in
    /// place in the caller's buffer. Either way nothing of the bad chunk comes out.
    @Test(
        "tampered chunk data: SignatureDoesNotMatch, and no byte of the bad chunk is released",
        arguments: [0, 1, 3], [1000, Int.max])
    func tamperedData(chunk: Int, piece: Int) async throws {
        let (request, body) = try Self.signed(.signed, payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        var bad = body
        let frameLength = body.firstIndex(of: 0x0a)! + 1 + 8192 + 2
        bad[chunk * frameLength + 100 + 90] ^= 0x01
        let (released, failure) = Self.attempt(verified, request, bad, piece: piece)
        #expect(failure?.code == .signatureDoesNotMatch)
        #expect(released.count == chunk * 8192)
        #expect(released == Array(Self.payload.prefix(chunk * 8192)))
    }

    @Test("chunk data not followed by CRLF is refused when the whole chunk is in one buffer")
    func missingCRLFInOneBuffer() async throws {
        let (request, body) = try Self.signed(.signed, payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        let dataEnd = body.firstIndex(of: 0x0a)! + 1 + 8192
        for (offset, byte) in [(0, UInt8(0x0a)), (1, UInt8(0x0d))] {
            var bad = body
            bad[dataEnd + offset] = byte
            var decoder = try verified.makeChunkedDecoder(for: request)
            var released = 0
            #expect { try bad.withUnsafeBytes { all in try decoder.feed(all) { released += $0.count } } } throws: {
                ($0 as? VerificationFailure)?.code == .invalidRequest
            }
            #expect(released == 0)
        }
    }

    @Test("a tampered chunk signature, reordered chunks, a tampered trailer signature → SignatureDoesNotMatch")
    func tamperedSignatures() async throws {
        let (request, body) = try Self.signed(.signedWithTrailer(.crc32c), payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        let frame = body.firstIndex(of: 0x0a)! + 1 + 8192 + 2
        var sig = body
        sig[30] = sig[30] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let r1 = Self.attempt(verified, request, sig)
        #expect(r1.1?.code == .signatureDoesNotMatch)
        #expect(r1.0.isEmpty)
        // Swap the first two 8 KiB frames.
        let swapped = Array(body[frame..<(2 * frame)]) + Array(body[0..<frame]) + Array(body[(2 * frame)...])
        let r2 = Self.attempt(verified, request, swapped)
        #expect(r2.1?.code == .signatureDoesNotMatch)
        #expect(r2.0.isEmpty)
        // The trailer signature is the 64 hex digits before the final CRLFCRLF.
        var trailer = body
        trailer[trailer.count - 10] = trailer[trailer.count - 10] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let r3 = Self.attempt(verified, request, trailer)
        #expect(r3.1?.code == .signatureDoesNotMatch)
        #expect(r3.0 == Self.payload)  // data chunks verified; the body as a whole is rejected at the end
    }

    @Test("a wrong trailing checksum under a valid trailer signature is impossible to forge; a wrong checksum → rejected")
    func wrongChecksum() async throws {
        let (request, body) = try Self.signed(.signedWithTrailer(.crc32c), payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        let needle = Array("x-amz-checksum-crc32c:".utf8)
        let start = (0...(body.count - needle.count)).last { body[$0..<($0 + needle.count)].elementsEqual(needle) }!
        var bad = body
        let at = start + needle.count
        bad[at] = bad[at] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let (_, failure) = Self.attempt(verified, request, bad)
        #expect(failure?.code == .signatureDoesNotMatch)
    }

    @Test("a truncated body → IncompleteBody", arguments: [1, 10, 100, 8192, 20_000])
    func truncated(cut: Int) async throws {
        let (request, body) = try Self.signed(.signedWithTrailer(.sha256), payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        let (_, failure) = Self.attempt(verified, request, Array(body.dropLast(cut)))
        #expect(failure?.code == .incompleteBody)
    }

    @Test("an oversized chunk-size line and an oversized chunk are refused before buffering")
    func limits() async throws {
        let (request, body) = try Self.signed(.signed, payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        let longLine = Array(repeating: UInt8(ascii: "0"), count: 5000) + body
        let r1 = Self.attempt(verified, request, longLine)
        #expect(r1.1?.code == .invalidRequest)
        let r2 = Self.attempt(verified, request, body, limits: .init(maxChunkSize: 4096))
        #expect(r2.1?.code == .invalidRequest)
        #expect(r2.1?.message.contains("exceeds") == true)
        #expect(r2.0.isEmpty)
    }

    /// A `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body with chunks of `sizes` bytes, then the final
    /// empty chunk, each signed on the real chain (the encoder makes no chunk under 8 KiB but the last).
    static func signedChunks(_ sizes: [Int]) throws -> (VerificationRequest, [UInt8], [UInt8]) {
        let payload = (0..<sizes.reduce(0, +)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
        let request = HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/big.bin")
        let streaming = try Fixture.signer().signStreaming(
            request, decodedContentLength: payload.count, encoding: .signed, chunkSize: 8192, at: Fixture.date)
        var chain = try #require(streaming.chunkSigner)
        var body: [UInt8] = []
        var offset = 0
        for size in sizes + [0] {
            let data = Array(payload[offset..<(offset + size)])
            offset += size
            let signature = chain.signature(forChunk: data)
            body += Array("\(String(size, radix: 16));chunk-signature=\(signature.hex)\r\n".utf8) + data + Array("\r\n".utf8)
        }
        return (VerificationRequest(streaming.request), body, payload)
    }

    @Test("a signed chunk under 8 KiB followed by more data is InvalidChunkSizeError (S3's rule; a signature per byte otherwise), the last chunk with data may be short, and the limit can be lowered")
    func minimumSignedChunkSize() async throws {
        for sizes in [[8192, 8192, 100], [100], [8192, 8191], [1]] {
            let (request, body, payload) = try Self.signedChunks(sizes)
            let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
            #expect(try Self.decodeAll(verified, request, body, piece: 1000) == payload, "\(sizes)")
        }
        for (sizes, released) in [([100, 8192], 100), ([8192, 1, 1, 1], 8193), ([8191, 8192], 8191)] {
            let (request, body, payload) = try Self.signedChunks(sizes)
            let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
            let (bytes, failure) = Self.attempt(verified, request, body)
            #expect(failure?.code == .invalidChunkSizeError, "\(sizes): \(failure?.description ?? "accepted")")
            #expect(failure?.code.httpStatus == 400)
            // Released: the verified chunks up to and including the short one, nothing after it.
            #expect(bytes.count == released, "\(sizes)")
            let lowered = Self.attempt(verified, request, body, limits: .init(minSignedChunkSize: 0))
            #expect(lowered.1 == nil, "\(sizes) with the check off: \(lowered.1?.description ?? "")")
            #expect(lowered.0.elementsEqual(payload), "\(sizes) with the check off")
        }
    }

    @Test("the decoded length must equal x-amz-decoded-content-length")
    func decodedLength() async throws {
        let (request, body) = try Self.signed(.signed, payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        // Claim fewer bytes than sent: the verifier would reject the signature, so feed a decoder directly.
        var shorter = request
        shorter.fields = shorter.fields.map { $0.name.lowercased() == "x-amz-decoded-content-length" ? .init(name: $0.name, value: "100") : $0 }
        #expect(Self.attempt(verified, shorter, body).1?.code == .invalidRequest)
        var longer = request
        longer.fields = longer.fields.map { $0.name.lowercased() == "x-amz-decoded-content-length" ? .init(name: $0.name, value: "40000") : $0 }
        #expect(Self.attempt(verified, longer, body).1?.code == .incompleteBody)
        var missing = request
        missing.fields.removeAll { $0.name.lowercased() == "x-amz-decoded-content-length" }
        #expect(Self.attempt(verified, missing, body).1?.code == .missingSecurityHeader)
    }

    @Test("bytes after the end, and garbage chunk lines, are refused")
    func trailingGarbage() async throws {
        let (request, body) = try Self.signed(.signed, payload: Self.payload)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        #expect(Self.attempt(verified, request, body + [0x41]).1?.code == .invalidRequest)
        #expect(Self.attempt(verified, request, Array("zz;chunk-signature=00\r\n".utf8)).1?.code == .invalidRequest)
        var rng = HostileInputTests.Random(state: 5)
        for _ in 0..<2000 {
            var b = body
            for _ in 0..<3 { b[rng.below(b.count)] = rng.byte() }
            let (released, failure) = Self.attempt(verified, request, Array(b.prefix(rng.below(b.count + 1))))
            if failure == nil { #expect(released == Self.payload) }
        }
    }
}
