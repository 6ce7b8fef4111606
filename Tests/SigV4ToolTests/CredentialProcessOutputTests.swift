import Foundation
import Testing

extension CLITests {
    /// What a `credential_process` prints, beyond the well-formed case `CredentialTests` covers: an
    /// `Expiration` that is not a string was ignored, so credentials that said when they expire were used
    /// as if they never did (botocore fails on it: "Parser must be a string").
    @Suite struct CredentialProcessOutputTests {
        static func sign(processOutput: String) throws -> Tool.Result {
            let dir = try TempDir()
            let script = try dir.file("creds.sh", "#!/bin/sh\necho '\(processOutput)'\n", executable: true)
            let config = try dir.file("config", "[profile p]\ncredential_process = \(script)\n")
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_CONFIG_FILE"] = config
            return try Tool.sigv4(
                [
                    "sign", CredentialTests.url, "--profile", "p", "--timestamp", "20260101T000000Z", "--format",
                    "json",
                ], env: env)
        }

        @Test(
            "an Expiration that is not a string (epoch seconds, a bool, an object) is a one-line failure",
            arguments: ["1735689600", "true", "{\"at\": \"2030-01-01T00:00:00Z\"}"])
        func expirationNotAString(expiration: String) throws {
            let result = try Self.sign(
                processOutput:
                    "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"procSecret\", \"Expiration\": \(expiration)}"
            )
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("Expiration"), "\(result.stderr)")
            #expect(!result.stderr.contains("procSecret"))
        }

        @Test("an Expiration of null means no expiration, as in botocore")
        func expirationNull() throws {
            let result = try Self.sign(
                processOutput:
                    "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"procSecret\", \"Expiration\": null}"
            )
            #expect(result.status == 0, "\(result.stderr)")
        }
    }
}
