import Foundation
import Testing

extension CLITests {
    /// The payload a presigned URL signs when the request has a body. Under S3 rules a presigned URL signs
    /// `UNSIGNED-PAYLOAD` (S3 verifies it so, botocore's `generate_presigned_url` signs so, and `sigv4 serve`
    /// too); `presign --data`, `sign --presign --data-file` and `curl --presign -- -T file` signed the body's
    /// hash, a URL that S3 and the gateway refuse with SignatureDoesNotMatch. Other services keep the hash.
    @Suite struct PresignPayloadTests {
        static let credentials = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "presignSecret"]
        static let time = ["--timestamp", "20260101T000000Z"]

        static func canonicalRequest(_ args: [String], home: String) throws -> (String, String) {
            let result = try Tool.sigv4(
                args + ["--format", "json"] + Self.time + Self.credentials, env: Tool.cleanEnvironment(home: home))
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            return (try #require(json["canonical_request"] as? String), try #require(json["url"] as? String))
        }

        @Test("S3 rules: a presigned URL for a request with a body signs UNSIGNED-PAYLOAD, the same URL as without it")
        func s3SignsUnsignedPayload() throws {
            let home = try TempDir()
            let body = try home.file("body.bin", "hello")
            let url = "https://examplebucket.s3.amazonaws.com/upload.bin"
            let (bare, bareURL) = try Self.canonicalRequest(["sign", url, "-X", "PUT", "--presign"], home: home.path)
            #expect(bare.hasSuffix("\nUNSIGNED-PAYLOAD"))
            for bodyArgs in [["--data", "hello"], ["--data-file", body]] {
                let (withBody, withBodyURL) = try Self.canonicalRequest(
                    ["sign", url, "-X", "PUT", "--presign"] + bodyArgs, home: home.path)
                #expect(withBody.hasSuffix("\nUNSIGNED-PAYLOAD"), "\(withBody)")
                #expect(withBodyURL == bareURL)
            }
            let presign = try Tool.sigv4(
                ["presign", url, "-X", "PUT", "--data", "hello"] + Self.time + Self.credentials,
                env: Tool.cleanEnvironment(home: home.path))
            #expect(presign.out == bareURL + "\n", "\(presign.out)")
            let curl = try Tool.sigv4(
                ["curl", "--presign"] + Self.time + Self.credentials + ["--", "-T", body, url],
                env: Tool.cleanEnvironment(home: home.path))
            #expect(curl.out == bareURL + "\n", "\(curl.out) \(curl.stderr)")
        }

        @Test("an explicit --payload-hash or --unsigned-payload is signed as given; other services sign the body's hash")
        func explicitAndStandard() throws {
            let home = try TempDir()
            let hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
            let (given, _) = try Self.canonicalRequest(
                ["sign", "https://examplebucket.s3.amazonaws.com/k", "-X", "PUT", "--presign", "--data", "hello",
                 "--payload-hash", hello], home: home.path)
            #expect(given.hasSuffix("\n" + hello), "\(given)")
            let (standard, _) = try Self.canonicalRequest(
                ["sign", "https://abc.execute-api.us-east-1.amazonaws.com/p", "-X", "PUT", "--presign", "--data",
                 "hello"], home: home.path)
            #expect(standard.hasSuffix("\n" + hello), "\(standard)")
        }
    }
}
