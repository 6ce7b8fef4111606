import Foundation

/// One request of `TestVectors/awscrt-sigv4a/cases.json`: a random request signed with SigV4a by
/// awscrt (`scripts/gen-awscrt-sigv4a-vectors.py`), what it was given and what it added. Read by
/// the signer's differential test and by the verifier's.
public struct AwscrtSigV4aCase: Decodable, Sendable, CustomStringConvertible {
    public var name: String
    /// `header` or `query`.
    public var mode: String
    public var method: String
    public var target: String
    /// The request's own fields, `[name, value]`.
    public var headers: [[String]]
    public var body_hex: String
    public var payload_hash: String
    public var s3: Bool
    public var service: String
    public var region_set: [String]
    public var access_key_id: String
    public var secret_access_key: String
    public var session_token: String?
    /// `X-Amz-Date` of the signature.
    public var timestamp: String
    public var expires: Int
    /// The target awscrt returned (the presigned one in query mode).
    public var signed_target: String
    /// The fields awscrt appended (header mode), `[name, value]`.
    public var added_headers: [[String]]

    public var description: String { "\(name) \(mode) \(service)" }

    struct File: Decodable { var cases: [AwscrtSigV4aCase] }

    /// Every case of the file.
    public static let all: [AwscrtSigV4aCase] = {
        let data = try! Data(contentsOf: Vectors.url("awscrt-sigv4a/cases.json"))
        return try! JSONDecoder().decode(File.self, from: data).cases
    }()
}
