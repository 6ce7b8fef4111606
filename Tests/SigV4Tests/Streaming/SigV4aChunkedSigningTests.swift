import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing
import _SigV4Crypto

/// SigV4a aws-chunked signing (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`) against aws-c-auth's
/// chunked-signing tests (`sdk-test-extras/sigv4a-chunked-upload.json`): the seed's canonical
/// request, every chunk's and the trailer's string to sign byte for byte (ECDSA is randomized, so
/// signatures are checked by verifying them with the vector's public key).
@Suite("SigV4a aws-chunked signing")
struct SigV4aChunkedSigningTests {
    static var fixture: [String: Any] { try! Vectors.json("sdk-test-extras/sigv4a-chunked-upload.json") }
    static var input: [String: Any] { fixture["input"] as! [String: Any] }
    static var expected: [String: Any] { fixture["expected"] as! [String: Any] }

    static func signer() throws -> SigV4aSigner {
        try SigV4aSigner(
            credentials: Credentials(
                accessKeyID: input["access_key_id"] as! String,
                secretAccessKey: input["secret_access_key"] as! String),
            regionSet: [input["region_set"] as! String], service: input["service"] as! String)
    }

    static func request(trailer: Bool) -> HTTPRequest {
        var fields = HTTPFields()
        for pair in input["headers"] as! [[String]] where pair[0].lowercased() != "host" {
            fields.append(HTTPField(name: HTTPField.Name(pair[0])!, value: pair[1]))
        }
        if trailer {
            for pair in input["trailer_variant_extra_headers"] as! [[String]] {
                fields.append(HTTPField(name: HTTPField.Name(pair[0])!, value: pair[1]))
            }
        }
        let path = input["path"] as! String
        return HTTPRequest(method: .put, scheme: "https", authority: "s3.amazonaws.com", path: path, headerFields: fields)
    }

    static var date: AmzDate { try! AmzDate(iso8601Basic: input["date"] as! String) }

    @Test("the seed request's canonical request is aws-c-auth's, with and without the trailer")
    func seedCanonicalRequest() throws {
        let plain = try Self.signer().sign(Self.request(trailer: false), payload: .streamingECDSASigned, at: Self.date)
        #expect(plain.canonicalRequest.text == Self.expected["canonical_request"] as? String)
        let trailer = try Self.signer().sign(
            Self.request(trailer: true), payload: .streamingECDSASignedTrailer, at: Self.date)
        #expect(trailer.canonicalRequest.text == Self.expected["trailer_variant_canonical_request"] as? String)
    }

    @Test("each chunk's and the trailer's string to sign is aws-c-auth's, chained on the previous signature; each signature verifies with the vector's public key")
    func chunkStringsToSign() throws {
        let signer = try Self.signer()
        #expect(signer.signingKey.publicKeyHex.x == (Self.fixture["verification_public_key"] as! [String: String])["x"])
        let seed = try signer.sign(Self.request(trailer: true), payload: .streamingECDSASignedTrailer, at: Self.date)
        var chain = SigV4aChunkSigner(
            signingKey: signer.signingKey, date: Self.date, service: "s3", seedSignature: seed.signatureHex)
        #expect(chain.previousSignature == seed.signatureHex)
        let sizes = (Self.input["payload"] as! [String: Any])["chunk_sizes"] as! [Int]
        let parts = Self.expected["chunk_string_to_sign_parts"] as! [[String: Any]]
        #expect(sizes.count == parts.count && sizes.count == 3)
        for (size, part) in zip(sizes, parts) {
            let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: size)
            let stringToSign = chain.stringToSign(forChunk: chunk)
            #expect(stringToSign == (part["prefix"] as! String) + chain.previousSignature + (part["suffix"] as! String))
            let signature = try chain.signature(forChunk: chunk)
            #expect(chain.previousSignature == signature)
            let der = try #require(Hex.decode(signature))
            #expect(signer.signingKey.isValidSignature(der, stringToSign: Array(stringToSign.utf8)))
            #expect(SigV4aChunkSigner.padded(signature).utf8.count == 144)
            #expect(SigV4aChunkSigner.padded(signature).hasPrefix(signature))
        }
        let trailers = (Self.input["trailers"] as! [[String]]).map { (name: $0[0], value: $0[1]) }
        let canonical = ChunkSigner.canonicalTrailer(trailers)
        let trailerParts = Self.expected["trailer_string_to_sign_parts"] as! [String: String]
        let trailerStringToSign = chain.trailerStringToSign(canonicalTrailer: canonical)
        #expect(
            String(decoding: trailerStringToSign, as: UTF8.self)
                == trailerParts["prefix"]! + chain.previousSignature + trailerParts["suffix"]!)
        let trailerSignature = try #require(Hex.decode(try chain.trailerSignature(canonicalTrailer: canonical)))
        #expect(signer.signingKey.isValidSignature(trailerSignature, stringToSign: trailerStringToSign))
    }

    @Test("encode writes the whole body at the length encodedLength gives, padded signatures included")
    func encodedLength() throws {
        let signer = try Self.signer()
        for (length, trailer) in [(0, nil), (1, nil), (66_560, nil), (20_000, TrailingChecksum.Algorithm.crc32c), (8192, .sha256)] {
            var chain = SigV4aChunkSigner(
                signingKey: signer.signingKey, date: Self.date, service: "s3", seedSignature: String(repeating: "ab", count: 70))
            let data = [UInt8](repeating: 0x61, count: length)
            let body = try chain.encode(data, chunkSize: 8192, trailer: trailer)
            #expect(body.count == (try SigV4aChunkSigner.encodedLength(decodedLength: length, chunkSize: 8192, trailer: trailer)))
            #expect(String(decoding: body, as: UTF8.self).contains(";chunk-signature="))
        }
        #expect(throws: SigV4Error.self) { try SigV4aChunkSigner.encodedLength(decodedLength: 10, chunkSize: 100) }
    }

    @Test("a SigV4a in-memory payload shorter than a huge declared length fails with contentLengthMismatch, without allocating for the declared length")
    func hugeDeclaredLength() throws {
        let signer = try Self.signer()
        for trailer in [nil, TrailingChecksum.Algorithm.crc32c] {
            let streaming = try signer.signStreaming(
                StreamingFixtures.request, decodedContentLength: 1 << 52, trailer: trailer, chunkSize: 64 << 20,
                at: Self.date)
            #expect { _ = try streaming.encode([UInt8]([1, 2, 3])) } throws: {
                ($0 as? SigV4Error)?.code == .contentLengthMismatch
            }
        }
    }
}
