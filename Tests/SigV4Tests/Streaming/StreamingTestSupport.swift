import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport

/// One of the S3 documentation's chunked-upload examples, loaded from JSON.
struct ChunkedExample {
    let json: [String: Any]
    let input: [String: Any]
    let expected: [String: Any]

    init(_ relative: String) throws {
        json = try Vectors.json(relative)
        input = json["input"] as! [String: Any]
        expected = json["expected"] as! [String: Any]
    }

    var date: AmzDate { get throws { try AmzDate(iso8601Basic: input["date"] as! String) } }

    var signer: Signer {
        Signer(
            credentials: Credentials(
                accessKeyID: input["access_key_id"] as! String,
                secretAccessKey: input["secret_access_key"] as! String),
            region: input["region"] as! String, service: input["service"] as! String, keyCache: nil)
    }

    var headers: [(String, String)] { (input["headers"] as! [[String]]).map { ($0[0], $0[1]) } }

    /// The request with only the caller's own headers: the streaming signer adds the rest.
    var callerRequest: HTTPRequest {
        let added: Set<String> = [
            "x-amz-date", "x-amz-content-sha256", "content-encoding", "x-amz-decoded-content-length",
            "content-length", "x-amz-trailer", "host",
        ]
        var fields = HTTPFields()
        for (name, value) in headers where !added.contains(name.lowercased()) {
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        let host = input["host"] as! String
        let path = input["path"] as! String
        return HTTPRequest(
            method: HTTPRequest.Method(input["method"] as! String)!, scheme: "https",
            authority: host, path: path, headerFields: fields)
    }

    var chunks: [[String: Any]] { expected["chunks"] as! [[String: Any]] }
    var chunkSizes: [Int] { ((input["payload"] as! [String: Any])["chunk_sizes"] as! [Int]) }
    var decodedLength: Int { chunkSizes.reduce(0, +) }
    var payload: [UInt8] { [UInt8](repeating: 0x61, count: decodedLength) }
    func string(_ key: String) -> String { expected[key] as! String }
}

/// Deterministic pseudo-random bytes (SplitMix64), so failures reproduce.
struct SeededBytes {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        for i in 0..<count { out[i] = UInt8(truncatingIfNeeded: next()) }
        return out
    }
    mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}

enum StreamingFixtures {
    /// 20130524T000000Z (a test checks the formatting).
    static let date = AmzDate(secondsSince1970: 1_369_353_600)
    static let signer = Signer(
        credentials: Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3", keyCache: nil)
    static let request = HTTPRequest(
        method: .put, scheme: "https", authority: "s3.amazonaws.com", path: "/examplebucket/chunkObject.txt")
}
