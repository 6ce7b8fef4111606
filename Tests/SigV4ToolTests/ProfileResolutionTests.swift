import Foundation
import Testing

extension CLITests {
    /// Which of a profile's sources awscli (botocore 1.43) uses, and the errors for a profile that
    /// does not exist. Every expectation here was checked against
    /// `botocore.session.Session(profile=…).get_credentials()` on the same files.
    @Suite struct ProfileResolutionTests {
        static let url = "https://example.com/"

        /// `sign --format json --verbose` (or `command`) with `credentials` and `config` as `~/.aws/credentials`
        /// and `~/.aws/config` (`$DIR` standing for the home directory, which holds `process.sh`).
        static func sign(
            credentials: String, config: String, extra: [String] = [], env extraEnv: [String: String] = [:],
            command: String = "sign"
        ) throws -> (Tool.Result, [String: Any]?) {
            let dir = try TempDir()
            try FileManager.default.createDirectory(atPath: dir.path + "/.aws", withIntermediateDirectories: true)
            _ = try dir.file(".aws/credentials", credentials.replacingOccurrences(of: "$DIR", with: dir.path))
            _ = try dir.file(".aws/config", config.replacingOccurrences(of: "$DIR", with: dir.path))
            _ = try dir.file(
                "process.sh", "#!/bin/sh\necho '{\"Version\":1,\"AccessKeyId\":\"AKIDFROMPROCESS\",\"SecretAccessKey\":\"processSecret\"}'\n",
                executable: true)
            let env = Tool.cleanEnvironment(home: dir.path).merging(extraEnv) { $1 }
            var args = [command, url, "--service", "svc", "--timestamp", "20260101T000000Z"] + extra
            if command == "sign" { args += ["--format", "json", "--verbose"] }
            let result = try Tool.sigv4(args, env: env)
            return (result, result.status == 0 && command == "sign" ? try Tool.json(result.stdout) : nil)
        }

        static func accessKey(_ json: [String: Any]?) -> String? {
            (json?["credential_scope"] as? String).flatMap { _ in
                (json?["authorization"] as? String)?.split(separator: "=").dropFirst().first?.split(separator: "/").first
                    .map(String.init)
            }
        }

        static func token(_ json: [String: Any]?) -> String? {
            (json?["headers"] as? [[String]])?.first { $0[0].lowercased() == "x-amz-security-token" }?[1]
        }

        @Test("keys, secret and token come from one file: a token in the config file is not sent with the credentials file's keys")
        func tokenFromTheKeysFile() throws {
            let (result, json) = try Self.sign(
                credentials: "[dev]\naws_access_key_id = AKIDCREDFILE\naws_secret_access_key = credSecret\n",
                config: "[profile dev]\nregion = us-east-2\naws_session_token = STALECONFIGTOKEN\n",
                extra: ["--profile", "dev"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(Self.accessKey(json) == "AKIDCREDFILE")
            #expect(Self.token(json) == nil)
            #expect(!result.stderr.contains("with a session token"))
        }

        @Test("--verbose names the file a profile's region came from: the credentials file's region wins and is named")
        func verboseNamesTheRegionsFile() throws {
            let keys = "aws_access_key_id = AKIDCREDFILE\naws_secret_access_key = credSecret\n"
            let (fromCredentials, json) = try Self.sign(
                credentials: "[dev]\n" + keys + "region = eu-north-1\n",
                config: "[profile dev]\nregion = us-east-2\n", extra: ["--profile", "dev"])
            #expect(fromCredentials.status == 0, "\(fromCredentials.stderr)")
            #expect((json?["credential_scope"] as? String)?.contains("/eu-north-1/") == true)
            #expect(
                fromCredentials.stderr.contains("region eu-north-1 (from profile 'dev' in ")
                    && fromCredentials.stderr.contains("/.aws/credentials)"), "\(fromCredentials.stderr)")
            let (fromConfig, _) = try Self.sign(
                credentials: "[dev]\n" + keys, config: "[profile dev]\nregion = us-east-2\n",
                extra: ["--profile", "dev"])
            #expect(fromConfig.status == 0, "\(fromConfig.stderr)")
            #expect(
                fromConfig.stderr.contains("region us-east-2 (from profile 'dev' in ")
                    && fromConfig.stderr.contains("/.aws/config)"), "\(fromConfig.stderr)")
        }

        @Test("an access key id in the credentials file needs its secret there too (awscli: partial credentials)")
        func partialCredentialsFile() throws {
            let (result, _) = try Self.sign(
                credentials: "[dev]\naws_access_key_id = AKIDCREDFILE\n",
                config: "[profile dev]\nregion = us-east-2\naws_secret_access_key = configSecret\n",
                extra: ["--profile", "dev"])
            #expect(result.status == 2)
            #expect(result.stderr.contains("no aws_secret_access_key in"), "\(result.stderr)")
        }

        @Test("credential_process beats static keys in the config file; static keys in the credentials file beat both")
        func processBetweenTheFiles() throws {
            let config = """
                [profile dev]
                region = us-east-2
                aws_access_key_id = AKIDCONFIGFILE
                aws_secret_access_key = configSecret
                credential_process = $DIR/process.sh
                """
            let (fromProcess, json) = try Self.sign(credentials: "", config: config, extra: ["--profile", "dev"])
            #expect(fromProcess.status == 0, "\(fromProcess.stderr)")
            #expect(Self.accessKey(json) == "AKIDFROMPROCESS")

            // The same, with credential_process in the credentials file instead.
            let (processInCredentials, json2) = try Self.sign(
                credentials: "[dev]\ncredential_process = $DIR/process.sh\n",
                config: "[profile dev]\nregion = us-east-2\naws_access_key_id = AKIDCONFIGFILE\naws_secret_access_key = s\n",
                extra: ["--profile", "dev"])
            #expect(processInCredentials.status == 0, "\(processInCredentials.stderr)")
            #expect(Self.accessKey(json2) == "AKIDFROMPROCESS")

            let (fromCredentials, json3) = try Self.sign(
                credentials: "[dev]\naws_access_key_id = AKIDCREDFILE\naws_secret_access_key = credSecret\n", config: config,
                extra: ["--profile", "dev"])
            #expect(fromCredentials.status == 0, "\(fromCredentials.stderr)")
            #expect(Self.accessKey(json3) == "AKIDCREDFILE")
        }

        @Test(
            "a profile named by AWS_PROFILE that neither file holds is a usage error naming it, with keys in the environment and without a region",
            arguments: [
                ["AWS_PROFILE": "nope"], ["AWS_PROFILE": "nope", "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"],
                ["AWS_DEFAULT_PROFILE": "nope"],
            ])
        func missingEnvironmentProfile(env: [String: String]) throws {
            let (result, _) = try Self.sign(
                credentials: "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s\n", config: "",
                env: env)
            #expect(result.status == 2)
            #expect(result.stderr.hasPrefix("sigv4: error: profile 'nope' not found in "), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }

        @Test("a missing --profile is named even when the region cannot be told (it would have come from the profile)")
        func missingProfileBeforeRegion() throws {
            let (result, _) = try Self.sign(credentials: "", config: "", extra: ["--profile", "typo"])
            #expect(result.status == 2)
            #expect(result.stderr.hasPrefix("sigv4: error: profile 'typo' not found in "), "\(result.stderr)")
        }

        @Test("explain signs with a placeholder key only when no credentials are named; a --profile typo is an error")
        func explainPlaceholderOnlyWithoutCredentials() throws {
            let (none, _) = try Self.sign(credentials: "", config: "", extra: ["--region", "us-east-1"], command: "explain")
            #expect(none.status == 0, "\(none.stderr)")
            #expect(none.out.contains("signed with a placeholder key"))
            let (typo, _) = try Self.sign(
                credentials: "", config: "", extra: ["--region", "us-east-1", "--profile", "typo"], command: "explain")
            #expect(typo.status == 2)
            #expect(typo.stderr.hasPrefix("sigv4: error: profile 'typo' not found in "), "\(typo.stderr)")
        }
    }
}
