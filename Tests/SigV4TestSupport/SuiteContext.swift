import Foundation
public import SigV4

/// A case's `context.json` in the official suites (`aws-signing-test-suite/v4` and `/v4a`):
/// credentials, region (the region set for v4a), service, time, and the rule flags, with the
/// rules they mean. Shared by the signer's and the verifier's suite tests.
public struct SuiteContext: Sendable {
    public var accessKeyID: String
    public var secret: String
    public var token: String?
    public var omitToken: Bool
    public var region: String
    public var service: String
    public var date: AmzDate
    public var normalize: Bool
    public var signBody: Bool
    public var expires: Int

    /// Reads `aws-signing-test-suite/<suite>/<name>/context.json` (`suite`: `v4` or `v4a`).
    public init(_ suite: String, _ name: String) throws {
        let json = try Vectors.json("aws-signing-test-suite/\(suite)/\(name)/context.json")
        let creds = json["credentials"] as! [String: Any]
        accessKeyID = creds["access_key_id"] as! String
        secret = creds["secret_access_key"] as! String
        token = creds["token"] as? String
        omitToken = json["omit_session_token"] as? Bool ?? false
        region = json["region"] as! String
        service = json["service"] as! String
        date = try AmzDate(iso8601: json["timestamp"] as! String)
        normalize = json["normalize"] as? Bool ?? true
        signBody = json["sign_body"] as? Bool ?? false
        expires = json["expiration_in_seconds"] as? Int ?? 3600
    }

    /// The credentials, with the session token when the case has one.
    public var credentials: Credentials {
        Credentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token)
    }

    /// `-normalized` cases use standard rules, `-unnormalized` cases S3 path rules; `sign_body`
    /// sends `x-amz-content-sha256`; `omit_session_token` adds the token after signing.
    public var rules: ServiceRules {
        var rules: ServiceRules = normalize ? .standard : .s3
        rules.sendContentSHA256 = signBody
        rules.presignUnsignedPayload = false
        if omitToken { rules.sessionTokenPlacement = .appendedAfterSigning }
        return rules
    }
}
