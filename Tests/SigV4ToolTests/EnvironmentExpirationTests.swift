import Foundation
import Testing

extension CLITests {
    /// `AWS_CREDENTIAL_EXPIRATION`, which `aws configure export-credentials --format env` prints with temporary
    /// credentials: botocore refuses the environment's credentials once it has passed ("the refreshed
    /// credentials are still expired"), and `presign` warns when a URL would outlive them, as it does for a
    /// `credential_process` `Expiration`.
    @Suite struct EnvironmentExpirationTests {
        static let url = "https://examplebucket.s3.amazonaws.com/k"

        static func run(_ command: [String], expiration: String) throws -> Tool.Result {
            let home = try TempDir()
            var env = Tool.cleanEnvironment(home: home.path)
            env["AWS_ACCESS_KEY_ID"] = "ASIAENVEXAMPLE"
            env["AWS_SECRET_ACCESS_KEY"] = "envExpirySecret"
            env["AWS_SESSION_TOKEN"] = "ENVTOKEN"
            env["AWS_CREDENTIAL_EXPIRATION"] = expiration
            // Before curl's arguments, which follow `--`.
            var args = command
            args.insert(contentsOf: ["--timestamp", "20260101T000000Z"], at: args.firstIndex(of: "--") ?? args.endIndex)
            return try Tool.sigv4(args, env: env)
        }

        @Test("expired environment credentials are a one-line failure that names AWS_CREDENTIAL_EXPIRATION")
        func expired() throws {
            for command in [["sign", Self.url], ["presign", Self.url], ["curl", "--dry-run", "--", Self.url]] {
                let result = try Self.run(command, expiration: "2025-12-31T23:59:59Z")
                #expect(result.status == 1, "\(command): \(result.stderr)")
                #expect(result.stdout.isEmpty)
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
                #expect(result.stderr.contains("AWS_CREDENTIAL_EXPIRATION"), "\(result.stderr)")
                #expect(!result.stderr.contains("envExpirySecret"))
            }
        }

        @Test("an AWS_CREDENTIAL_EXPIRATION that is not a time is a usage error")
        func notATime() throws {
            let result = try Self.run(["sign", Self.url], expiration: "tomorrow")
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.contains("AWS_CREDENTIAL_EXPIRATION"), "\(result.stderr)")
        }

        @Test("presign warns when the URL outlives the environment's credentials, and not otherwise")
        func presignWarning() throws {
            let short = try Self.run(["presign", Self.url, "--expires", "7200"], expiration: "2026-01-01T01:00:00Z")
            #expect(short.status == 0, "\(short.stderr)")
            #expect(short.out.contains("X-Amz-Security-Token=ENVTOKEN"))
            #expect(short.stderr.contains("warning: the credentials expire at 20260101T010000Z"), "\(short.stderr)")
            let long = try Self.run(["presign", Self.url, "--expires", "600"], expiration: "2026-01-01T01:00:00+00:00")
            #expect(long.status == 0, "\(long.stderr)")
            #expect(!long.stderr.contains("warning"), "\(long.stderr)")
        }
    }
}
