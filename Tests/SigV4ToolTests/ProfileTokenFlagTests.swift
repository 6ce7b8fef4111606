import Foundation
import Testing

extension CLITests {
    /// `--session-token` with `--profile`: it was dropped without a word (the profile's keys were used with
    /// no token), while with `AWS_PROFILE` or the default profile the same flag was sent.
    @Suite struct ProfileTokenFlagTests {
        static let credentials = "[dev]\naws_access_key_id = AKIDCREDFILE\naws_secret_access_key = credSecret\n"

        @Test("--session-token is sent with --profile's keys, as it is with AWS_PROFILE's")
        func tokenWithProfileFlag() throws {
            let (flag, flagJSON) = try ProfileResolutionTests.sign(
                credentials: Self.credentials, config: "", extra: ["--profile", "dev", "--session-token", "FLAGTOKEN", "--region", "us-east-1"])
            #expect(flag.status == 0, "\(flag.stderr)")
            #expect(ProfileResolutionTests.token(flagJSON) == "FLAGTOKEN")
            #expect(flag.stderr.contains("with a session token"), "\(flag.stderr)")
            let (env, envJSON) = try ProfileResolutionTests.sign(
                credentials: Self.credentials, config: "", extra: ["--session-token", "FLAGTOKEN", "--region", "us-east-1"],
                env: ["AWS_PROFILE": "dev"])
            #expect(env.status == 0, "\(env.stderr)")
            #expect(ProfileResolutionTests.token(envJSON) == "FLAGTOKEN")
            #expect(flagJSON?["signature"] as? String == envJSON?["signature"] as? String)
        }

        @Test("--session-token replaces the profile's own token")
        func tokenReplacesProfileToken() throws {
            let (result, json) = try ProfileResolutionTests.sign(
                credentials: Self.credentials + "aws_session_token = FILETOKEN\n", config: "",
                extra: ["--profile", "dev", "--session-token", "FLAGTOKEN", "--region", "us-east-1"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(ProfileResolutionTests.token(json) == "FLAGTOKEN")
        }
    }
}
