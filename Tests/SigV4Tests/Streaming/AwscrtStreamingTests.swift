import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// Cross-checks against awscrt 0.38.1 (aws-c-auth seeds, aws-c-s3 uploads); see
/// `scripts/gen-awscrt-streaming-vectors.py` for how the vectors were made and what the
/// Python binding cannot sign (chunks and trailers).
@Suite("awscrt streaming cross-check")
struct AwscrtStreamingTests {
    static var seeds: [String: Any] { (try? Vectors.json("awscrt-streaming/seed-signatures.json")) ?? [:] }
    static var captures: [String: Any] {
        (try? Vectors.json("awscrt-streaming/s3-client-unsigned-trailer.json")) ?? [:]
    }
    static let seedCases = (seeds["cases"] as? [[String: Any]] ?? []).map { $0["name"] as! String }
    static let captureCases = (captures["cases"] as? [[String: Any]] ?? []).map { $0["name"] as! String }

    @Test("the awscrt vector files are present and non-empty")
    func vectorsPresent() {
        #expect(Self.seedCases.count == 3)
        #expect(Self.captureCases.count == 5)
    }

    static func payload(_ spec: [String: Any]) -> [UInt8] {
        let salt = spec["salt"] as! Int
        return (0..<(spec["size"] as! Int)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ salt) }
    }

    static func signer(_ file: [String: Any]) -> Signer {
        Signer(
            credentials: Credentials(
                accessKeyID: file["access_key_id"] as! String, secretAccessKey: file["secret_access_key"] as! String),
            region: file["region"] as! String, service: file["service"] as! String, keyCache: nil)
    }

    static func encoding(_ contentSHA: String, _ trailer: String?) throws -> AWSChunkedEncoding {
        let algorithm = try trailer.map { try TrailingChecksum.Algorithm(name: $0) }
        switch (contentSHA, algorithm) {
        case ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", nil): return .signed
        case ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", let a?): return .signedWithTrailer(a)
        case ("STREAMING-UNSIGNED-PAYLOAD-TRAILER", let a?): return .unsignedWithTrailer(a)
        default: throw SigV4Error(.invalidPayloadHash, "unexpected vector \(contentSHA)")
        }
    }

    @Test(
        "seed signature, added headers and Authorization equal aws-c-auth's; chunks equal the reference chain",
        arguments: seedCases)
    func seed(name: String) throws {
        let file = Self.seeds
        let vector = (file["cases"] as! [[String: Any]]).first { $0["name"] as! String == name }!
        let inputHeaders = (vector["input_headers"] as! [[String]]).map { ($0[0], $0[1]) }
        let trailer = vector["trailer"] as? [String]
        let encoding = try Self.encoding(vector["x_amz_content_sha256"] as! String, trailer?[0])
        // Only the caller's own headers: the streaming signer adds the aws-chunked ones itself.
        var fields = HTTPFields()
        for (n, v) in inputHeaders where n.lowercased() == "x-amz-meta-note" {
            fields.append(HTTPField(name: HTTPField.Name(n)!, lenientValue: Array(v.utf8)))
        }
        let host = inputHeaders.first { $0.0 == "Host" }!.1
        let path = vector["path"] as! String
        let request = HTTPRequest(method: .put, scheme: "https", authority: host, path: path, headerFields: fields)
        let payload = Self.payload(vector["payload"] as! [String: Any])
        let date = try AmzDate(iso8601Basic: file["date"] as! String)
        let streaming = try Self.signer(file).signStreaming(
            request, decodedContentLength: payload.count, encoding: encoding, chunkSize: vector["chunk_size"] as! Int,
            contentLength: .signed, at: date)

        let crt = vector["awscrt"] as! [String: Any]
        #expect(streaming.seedSignature.hex == crt["seed_signature"] as! String)
        let authorization = crt["authorization"] as! String
        #expect(streaming.seed.authorization == authorization)
        for (name, value) in inputHeaders where name != "Host" && name != "x-amz-meta-note" {
            #expect(streaming.request.headerFields[HTTPField.Name(name)!] == value, "header \(name)")
        }
        #expect(streaming.encodedContentLength == vector["encoded_length"] as? Int)

        let body = try streaming.encode(payload)
        #expect(body.count == vector["encoded_length"] as! Int)
        let parsed = try ParsedChunkedBody(body, signed: encoding.signsChunks)
        #expect(parsed.payload == payload)
        if let trailer {
            #expect(parsed.trailers.map { [$0.0, $0.1] } == [trailer])
        }
        if let reference = vector["reference_python"] as? [String: Any] {
            #expect(parsed.chunks.map(\.size) == reference["chunk_sizes"] as! [Int])
            #expect(parsed.chunks.map { $0.signature ?? "" } == reference["chunk_signatures"] as! [String])
            #expect(parsed.trailerSignature == reference["trailer_signature"] as? String)
        }
    }

    @Test(
        "aws-c-s3's STREAMING-UNSIGNED-PAYLOAD-TRAILER upload: same Authorization and same body bytes",
        arguments: captureCases)
    func s3Client(name: String) throws {
        let file = Self.captures
        let vector = (file["cases"] as! [[String: Any]]).first { $0["name"] as! String == name }!
        let headers = (vector["headers"] as! [[String]]).map { ($0[0], $0[1]) }
        func header(_ n: String) -> String? { headers.first { $0.0.lowercased() == n }?.1 }
        let algorithm = try TrailingChecksum.Algorithm(name: vector["algorithm"] as! String)
        let payload = Self.payload(vector["payload"] as! [String: Any])
        let requestLine = (vector["request_line"] as! String).split(separator: " ")
        var fields = HTTPFields()
        fields.append(HTTPField(name: .userAgent, value: header("user-agent")!))
        let request = HTTPRequest(
            method: .put, scheme: "http", authority: header("host")!, path: String(requestLine[1]),
            headerFields: fields)
        let date = try AmzDate(iso8601Basic: header("x-amz-date")!)
        let streaming = try Self.signer(file).signStreaming(
            request, decodedContentLength: payload.count, encoding: .unsignedWithTrailer(algorithm),
            chunkSize: max(payload.count, AWSChunkedEncoding.minimumChunkSize), contentLength: .signed, at: date)
        #expect(streaming.seed.authorization == header("authorization"))
        #expect(streaming.request.headerFields[.contentLength] == header("content-length"))
        #expect(streaming.request.headerFields[HTTPField.Name("x-amz-trailer")!] == header("x-amz-trailer"))
        #expect(
            streaming.request.headerFields[HTTPField.Name("x-amz-content-sha256")!] == header("x-amz-content-sha256"))

        // aws-c-s3 writes the chunk size in uppercase hex; we write lowercase like the S3 docs.
        let before = Array((vector["body_before_payload"] as! String).lowercased().utf8)
        let after = Array((vector["body_after_payload"] as! String).utf8)
        #expect(try streaming.encode(payload) == before + payload + after)
        #expect(TrailingChecksum.base64(algorithm, of: payload) == vector["trailer_value_python"] as! String)
    }
}
