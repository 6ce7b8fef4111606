import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// The S3 documentation's chunked-upload examples and SDK fixtures, byte for byte.
@Suite("aws-chunked signing vectors")
struct ChunkedVectorTests {
    static let plain = "s3-doc-examples/chunked-upload-put-object.json"
    static let trailer = "s3-doc-examples/chunked-upload-put-object-trailer.json"

    /// Builds the body the documentation describes, from its recorded wire headers.
    static func expectedBody(_ example: ChunkedExample, trailerWire: String?) -> [UInt8] {
        var body: [UInt8] = []
        for chunk in example.chunks {
            body += Array((chunk["wire_header"] as! String).utf8)
            let size = chunk["size"] as! Int
            body += [UInt8](repeating: 0x61, count: size)
            if size > 0 { body += Array("\r\n".utf8) }
        }
        body += Array((trailerWire ?? "\r\n").utf8)
        return body
    }

    @Test("signed chunks: seed canonical request, string to sign, signature and Authorization match the S3 docs")
    func signedSeed() throws {
        let example = try ChunkedExample(Self.plain)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength, encoding: .signed,
            chunkSize: 65_536, contentLength: .signed, at: try example.date)
        #expect(streaming.seed.canonicalRequest.text == example.string("canonical_request"))
        #expect(streaming.seed.stringToSign.text == example.string("string_to_sign"))
        #expect(streaming.seedSignature.hex == example.string("seed_signature"))
        #expect(streaming.seed.authorization == example.string("authorization_header"))
        #expect(streaming.encodedContentLength == 66_824)
        let fields = streaming.request.headerFields
        #expect(fields[.contentLength] == "66824")
        #expect(fields[.contentEncoding] == "aws-chunked")
        #expect(fields[HTTPField.Name("x-amz-decoded-content-length")!] == "66560")
        #expect(fields[HTTPField.Name("x-amz-content-sha256")!] == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        #expect(fields[HTTPField.Name("x-amz-trailer")!] == nil)
    }

    @Test("signed chunks: each chunk's string to sign and signature match the S3 docs")
    func signedChunkSignatures() throws {
        let example = try ChunkedExample(Self.plain)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength, at: try example.date)
        var chain = try #require(streaming.chunkSigner)
        for chunk in example.chunks {
            let data = [UInt8](repeating: 0x61, count: chunk["size"] as! Int)
            #expect(chain.stringToSign(forChunk: data).text == chunk["string_to_sign"] as! String)
            #expect(chain.signature(forChunk: data).hex == chunk["signature"] as! String)
        }
        #expect(chain.previousSignature.hex == example.string("final_chunk_signature"))
    }

    @Test("signed chunks: the encoded body equals the documented wire bytes, and its length Content-Length")
    func signedBody() throws {
        let example = try ChunkedExample(Self.plain)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength, at: try example.date)
        let body = try streaming.encode(example.payload)
        let expected = Self.expectedBody(example, trailerWire: nil)
        #expect(body.count == 66_824)
        #expect(body == expected)
    }

    @Test(
        "signed trailer: seed matches the S3 docs when Content-Length is not signed",
        arguments: [
            Signer.StreamingContentLength.unsigned, .omitted,
        ])
    func trailerSeed(contentLength: Signer.StreamingContentLength) throws {
        let example = try ChunkedExample(Self.trailer)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength,
            encoding: .signedWithTrailer(.crc32c), contentLength: contentLength, at: try example.date)
        #expect(streaming.seed.canonicalRequest.text == example.string("canonical_request"))
        #expect(streaming.seed.stringToSign.text == example.string("string_to_sign"))
        #expect(streaming.seedSignature.hex == example.string("seed_signature"))
        let fields = streaming.request.headerFields
        #expect(fields[HTTPField.Name("x-amz-trailer")!] == "x-amz-checksum-crc32c")
        #expect(fields[.contentLength] == (contentLength == .omitted ? nil : "66946"))
        // minio-go prints the same Authorization without spaces after the commas.
        let minioForm = try #require(streaming.seed.authorization).replacingOccurrences(of: ", ", with: ",")
        #expect(minioForm == example.string("authorization_header_minio_go_form"))
    }

    @Test("signed trailer: chunk signatures, canonical trailer, trailer string to sign and signature match the S3 docs")
    func trailerChain() throws {
        let example = try ChunkedExample(Self.trailer)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength,
            encoding: .signedWithTrailer(.crc32c), contentLength: .unsigned, at: try example.date)
        var chain = try #require(streaming.chunkSigner)
        for chunk in example.chunks {
            let data = [UInt8](repeating: 0x61, count: chunk["size"] as! Int)
            #expect(chain.stringToSign(forChunk: data).text == chunk["string_to_sign"] as! String)
            #expect(chain.signature(forChunk: data).hex == chunk["signature"] as! String)
        }
        #expect(TrailingChecksum.base64(.crc32c, of: example.payload) == "sOO8/Q==")
        let canonical = ChunkSigner.canonicalTrailer([("x-amz-checksum-crc32c", "sOO8/Q==")])
        #expect(String(decoding: canonical, as: UTF8.self) == example.string("canonical_trailer"))
        #expect(chain.trailerStringToSign(canonicalTrailer: canonical).text == example.string("trailer_string_to_sign"))
        #expect(chain.trailerSignature(canonicalTrailer: canonical).hex == example.string("trailer_signature"))
    }

    @Test("signed trailer: the encoded body equals the documented wire bytes (66946 bytes)")
    func trailerBody() throws {
        let example = try ChunkedExample(Self.trailer)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength,
            encoding: .signedWithTrailer(.crc32c), contentLength: .unsigned, at: try example.date)
        let body = try streaming.encode(example.payload)
        #expect(body == Self.expectedBody(example, trailerWire: example.string("trailer_chunk_wire")))
        #expect(body.count == streaming.encodedContentLength)
        #expect(body.count == 66_946)
    }

    @Test("aws-c-auth: three trailing headers chained on the doc's final chunk signature")
    func awsCAuthTrailingHeaders() throws {
        let fixture = try Vectors.json("sdk-test-extras/sigv4-chunked-trailing-headers-aws-c-auth.json")
        let input = fixture["input"] as! [String: Any]
        let expected = fixture["expected"] as! [String: Any]
        let example = try ChunkedExample(Self.plain)
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: example.decodedLength, at: try example.date)
        #expect(streaming.seedSignature.hex == expected["seed_signature"] as! String)
        var chain = try #require(streaming.chunkSigner)
        let signatures = example.chunks.map {
            chain.signature(forChunk: [UInt8](repeating: 0x61, count: $0["size"] as! Int)).hex
        }
        #expect(signatures == expected["chunk_signatures"] as! [String])
        #expect(chain.previousSignature.hex == input["previous_signature"] as! String)
        let trailers = (input["trailers"] as! [[String]]).map { (name: $0[0], value: $0[1]) }
        let canonical = ChunkSigner.canonicalTrailer(trailers)
        #expect(String(decoding: canonical, as: UTF8.self) == "first:1st\nsecond:2nd\nthird:3rd\n")
        #expect(chain.trailerSignature(canonicalTrailer: canonical).hex == expected["trailer_signature"] as! String)
    }

    @Test("aws-sdk-java-v2: trailer value wdBDMA== gives ce306fa4… and the same 66946-byte length")
    func javaTrailer() throws {
        let fixture = try Vectors.json("sdk-test-extras/java-sdk-trailer-wdBDMA.json")
        let input = fixture["input"] as! [String: Any]
        let expected = fixture["expected"] as! [String: Any]
        let example = try ChunkedExample(Self.trailer)
        let key = example.signer.signingKey(for: try example.signer.scope(at: try example.date))
        var chain = ChunkSigner(
            signingKey: key, date: try example.date,
            seedSignature: try #require(Signature(hex: input["seed_signature"] as! String)))
        let signatures = [65_536, 1024, 0].map { chain.signature(forChunk: [UInt8](repeating: 0x61, count: $0)).hex }
        #expect(signatures == expected["chunk_signatures"] as! [String])
        let trailers = (input["trailers"] as! [[String]]).map { (name: $0[0], value: $0[1]) }
        let signature = chain.trailerSignature(canonicalTrailer: ChunkSigner.canonicalTrailer(trailers))
        #expect(signature.hex == expected["trailer_signature"] as! String)
        let wire = "\(trailers[0].name):\(trailers[0].value)\r\nx-amz-trailer-signature:\(signature.hex)\r\n\r\n"
        #expect(wire == expected["trailer_chunk_wire"] as! String)
        let length = try AWSChunkedEncoding.signedWithTrailer(.crc32c).encodedLength(
            decodedLength: 66_560, chunkSize: 65_536)
        #expect(length == expected["encoded_body_length"] as! Int)
    }

    @Test("minio-go: seed without a signed Content-Length, a chunk signature, and a stand-alone trailer signature")
    func minioGo() throws {
        let fixture = try Vectors.json("sdk-test-extras/minio-go-streaming.json")
        let vectors = fixture["vectors"] as! [[String: Any]]
        let example = try ChunkedExample(Self.plain)
        let date = try example.date

        // TestGetSeedSignature: Content-Length not among the signed headers.
        let seedVector = vectors[0]
        let seedExpected = seedVector["expected"] as! [String: Any]
        let streaming = try example.signer.signStreaming(
            example.callerRequest, decodedContentLength: 66_560, contentLength: .omitted, at: date)
        #expect(
            streaming.seed.canonicalRequest.signedHeaders == (seedVector["input"] as! [String: Any])["signed_headers"]
                as! String)
        #expect(streaming.seedSignature.hex == seedExpected["seed_signature"] as! String)
        let expectedAuthorization = seedExpected["authorization_header"] as! String
        #expect(streaming.seed.authorization?.replacingOccurrences(of: ", ", with: ",") == expectedAuthorization)

        let key = example.signer.signingKey(for: try example.signer.scope(at: date))
        // TestChunkSignature
        let chunkVector = vectors[1]
        var chain = ChunkSigner(
            signingKey: key, date: date,
            seedSignature: try #require(
                Signature(hex: (chunkVector["input"] as! [String: Any])["previous_signature"] as! String)))
        #expect(
            chain.signature(forChunk: [UInt8](repeating: 0x61, count: 65_536)).hex
                == (chunkVector["expected"] as! [String: Any])["chunk_signature"] as! String)

        // TestTrailerChunkSignature
        let trailerVector = vectors[2]
        let trailerInput = trailerVector["input"] as! [String: Any]
        let trailerChain = ChunkSigner(
            signingKey: key, date: date,
            seedSignature: try #require(Signature(hex: trailerInput["previous_signature"] as! String)))
        let canonical = Array((trailerInput["canonical_trailer"] as! String).utf8)
        #expect(
            trailerChain.trailerSignature(canonicalTrailer: canonical).hex
                == (trailerVector["expected"] as! [String: Any])["trailer_signature"] as! String)

        // TestSetStreamingAuthorizationTrailer
        let trailerExample = try ChunkedExample(Self.trailer)
        let trailerStreaming = try trailerExample.signer.signStreaming(
            trailerExample.callerRequest, decodedContentLength: 66_560, encoding: .signedWithTrailer(.crc32c),
            contentLength: .omitted, at: date)
        #expect(
            trailerStreaming.seedSignature.hex == (vectors[3]["expected"] as! [String: Any])["seed_signature"]
                as! String)
    }
}
