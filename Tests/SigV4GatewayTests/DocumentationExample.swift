import Foundation
import SigV4

/// One worked example of the S3 API Reference, from `TestVectors/s3-doc-examples/`.
struct DocumentationExample: Sendable, CustomTestStringConvertible {
    var name: String
    var method: String
    var host: String
    var path: String
    var query: String
    var headers: [[String]]
    var body: String?
    var payloadHash: String
    var date: String
    var accessKeyID: String
    var secretAccessKey: String
    var expectedCanonicalRequest: String
    var expectedSignature: String
    var expectedAuthorization: String?
    var expires: Int?

    var testDescription: String { name }

    init(_ name: String) throws {
        let url = Self.root.appendingPathComponent("s3-doc-examples/\(name).json")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        let input = json["input"] as? [String: Any] ?? [:]
        let expected = json["expected"] as? [String: Any] ?? [:]
        let payload = input["payload"] as? [String: Any] ?? [:]
        self.name = name
        method = input["method"] as? String ?? ""
        host = input["host"] as? String ?? ""
        path = input["path"] as? String ?? ""
        query = input["query"] as? String ?? ""
        headers = input["headers"] as? [[String]] ?? []
        body = payload["text"] as? String
        payloadHash = payload["sha256"] as? String ?? ""
        date = input["date"] as? String ?? ""
        accessKeyID = input["access_key_id"] as? String ?? ""
        secretAccessKey = input["secret_access_key"] as? String ?? ""
        expectedCanonicalRequest = expected["canonical_request"] as? String ?? ""
        expectedSignature = expected["signature"] as? String ?? ""
        expectedAuthorization = expected["authorization_header"] as? String
        expires = input["expires_in_seconds"] as? Int
    }

    /// The documented headers the caller sets (the signer writes x-amz-date and Host itself).
    var callerHeaders: [(String, String)] {
        headers.compactMap { pair in
            let name = pair[0].lowercased()
            return name == "x-amz-date" || name == "host" ? nil : (pair[0], pair[1])
        }
    }

    var url: String { "https://\(host)\(path)\(query.isEmpty ? "" : "?" + query)" }

    var signer: Signer {
        Signer(
            credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey), region: "us-east-1",
            service: "s3", keyCache: nil)
    }

    var amzDate: AmzDate { get throws { try AmzDate(iso8601Basic: date) } }

    static let headerExamples = ["get-object-range", "put-object", "get-bucket-lifecycle", "list-objects"]

    /// `TestVectors/`, found by walking up from this file.
    static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("TestVectors")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "TestVectors")
    }()
}
