import Foundation
import Testing

extension CLITests {
    /// awscli-compatible credential resolution: flags, environment, profiles, source_profile, credential_process.
    @Suite struct CredentialTests {
        static let url = "https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15"
        static let keyID = "AKIDPROFILEEXAMPLE"
        static let secret = "profileSecretKey/EXAMPLE+abc123"
        static let token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN=="

        /// Signs `url` at a fixed time and returns the parsed JSON (or the failed result).
        static func sign(_ extra: [String], env: [String: String]) throws -> (Tool.Result, [String: Any]?) {
            let result = try Tool.sigv4(
                ["sign", url, "--timestamp", "20260101T000000Z", "--format", "json"] + extra, env: env)
            return (result, result.status == 0 ? try Tool.json(result.stdout) : nil)
        }

        /// The signature with the same key given as flags: the reference every other source must reproduce.
        static func referenceSignature(home: String, token: String? = nil, region: [String] = []) throws -> String {
            var flags = ["--access-key-id", keyID, "--secret-access-key", secret] + region
            if let token { flags += ["--session-token", token] }
            let (_, json) = try sign(flags, env: Tool.cleanEnvironment(home: home))
            return try #require(json?["signature"] as? String)
        }

        @Test("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN sign like the flags")
        func environmentVariables() throws {
            let dir = try TempDir()
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_ACCESS_KEY_ID"] = Self.keyID
            env["AWS_SECRET_ACCESS_KEY"] = Self.secret
            env["AWS_SESSION_TOKEN"] = Self.token
            let (result, json) = try Self.sign([], env: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(json?["signature"] as? String == (try Self.referenceSignature(home: dir.path, token: Self.token)))
            let headers = try #require(json?["headers"] as? [[String]])
            #expect(headers.contains(["X-Amz-Security-Token", Self.token]))
        }

        @Test("an empty AWS_SESSION_TOKEN is ignored, not signed")
        func emptySessionTokenIgnored() throws {
            let dir = try TempDir()
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_ACCESS_KEY_ID"] = Self.keyID
            env["AWS_SECRET_ACCESS_KEY"] = Self.secret
            env["AWS_SESSION_TOKEN"] = ""
            let (result, json) = try Self.sign([], env: env)
            #expect(result.status == 0)
            let headers = try #require(json?["headers"] as? [[String]])
            #expect(!headers.contains { $0[0].lowercased() == "x-amz-security-token" })
            #expect(json?["signature"] as? String == (try Self.referenceSignature(home: dir.path)))
        }

        @Test("--profile reads AWS_SHARED_CREDENTIALS_FILE, and beats the environment")
        func profileFromCredentialsFile() throws {
            let dir = try TempDir()
            let credentials = try dir.file(
                "credentials",
                """
                [default]
                aws_access_key_id = AKIDDEFAULT
                aws_secret_access_key = other

                # a comment
                [dev]
                aws_access_key_id = \(Self.keyID)
                aws_secret_access_key = \(Self.secret)
                aws_session_token =
                """)
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_SHARED_CREDENTIALS_FILE"] = credentials
            env["AWS_CONFIG_FILE"] = dir.path + "/missing-config"
            env["AWS_ACCESS_KEY_ID"] = "AKIDFROMENV"
            env["AWS_SECRET_ACCESS_KEY"] = "envsecret"
            let (result, json) = try Self.sign(["--profile", "dev", "--verbose"], env: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(json?["signature"] as? String == (try Self.referenceSignature(home: dir.path)))
            #expect(result.stderr.contains("profile 'dev'"))
            #expect(result.stderr.contains(credentials))
            #expect(!result.stderr.contains(Self.secret))
        }

        @Test(
            "AWS_PROFILE selects a [profile x] section of AWS_CONFIG_FILE whose source_profile holds the keys; its region applies"
        )
        func sourceProfileChain() throws {
            let dir = try TempDir()
            let config = try dir.file(
                "config",
                """
                [default]
                region = us-west-2

                [profile child]
                source_profile = base
                region = eu-central-1

                [profile base]
                aws_access_key_id = \(Self.keyID)
                aws_secret_access_key = \(Self.secret)
                """)
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_CONFIG_FILE"] = config
            env["AWS_SHARED_CREDENTIALS_FILE"] = dir.path + "/none"
            env["AWS_PROFILE"] = "child"
            let result = try Tool.sigv4(
                [
                    "sign", "https://api.example.com/items", "--service", "execute-api", "--timestamp",
                    "20260101T000000Z",
                    "--format", "json", "--verbose",
                ], env: env)
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            #expect(json["credential_scope"] as? String == "20260101/eu-central-1/execute-api/aws4_request")
            #expect(result.stderr.contains("'child' -> source_profile 'base'"))
            let reference = try Tool.sigv4(
                [
                    "sign", "https://api.example.com/items", "--service", "execute-api", "--region", "eu-central-1",
                    "--timestamp", "20260101T000000Z", "--format", "json", "--access-key-id", Self.keyID,
                    "--secret-access-key", Self.secret,
                ], env: Tool.cleanEnvironment(home: dir.path))
            #expect(json["signature"] as? String == (try Tool.json(reference.stdout))["signature"] as? String)
        }

        @Test("~/.aws/credentials [default] is used when nothing else is set")
        func defaultProfileInHome() throws {
            let dir = try TempDir()
            try FileManager.default.createDirectory(atPath: dir.path + "/.aws", withIntermediateDirectories: true)
            _ = try dir.file(
                ".aws/credentials", "[default]\naws_access_key_id=\(Self.keyID)\naws_secret_access_key=\(Self.secret)\n"
            )
            let (result, json) = try Self.sign([], env: Tool.cleanEnvironment(home: dir.path))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(json?["signature"] as? String == (try Self.referenceSignature(home: dir.path)))
        }

        @Test("credential_process: its JSON credentials (with session token) sign the request")
        func credentialProcess() throws {
            let dir = try TempDir()
            let script = try dir.file(
                "creds.sh",
                """
                #!/bin/sh
                cat <<'JSON'
                {"Version": 1, "AccessKeyId": "\(Self.keyID)", "SecretAccessKey": "\(Self.secret)",
                 "SessionToken": "\(Self.token)", "Expiration": "2026-01-01T01:00:00Z"}
                JSON
                """, executable: true)
            let config = try dir.file("config", "[profile proc]\ncredential_process = \(script) --some-arg\n")
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_CONFIG_FILE"] = config
            let (result, json) = try Self.sign(["--profile", "proc", "--verbose"], env: env)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(json?["signature"] as? String == (try Self.referenceSignature(home: dir.path, token: Self.token)))
            #expect(result.stderr.contains("credential_process"))
            #expect(!result.stderr.contains(Self.secret))

            // The URL outlives the credentials (they expire at 01:00, the URL at 02:00): a warning.
            let presign = try Tool.sigv4(
                ["presign", Self.url, "--profile", "proc", "--timestamp", "20260101T000000Z", "--expires", "7200"],
                env: env)
            #expect(presign.status == 0)
            #expect(presign.stderr.contains("warning: the credentials expire at 20260101T010000Z"))
            let short = try Tool.sigv4(
                ["presign", Self.url, "--profile", "proc", "--timestamp", "20260101T000000Z", "--expires", "600"],
                env: env)
            #expect(short.stderr.isEmpty)
        }

        @Test("credential_process returning expired credentials is a one-line failure (exit 1)")
        func credentialProcessExpired() throws {
            let dir = try TempDir()
            let script = try dir.file(
                "creds.sh",
                """
                #!/bin/sh
                echo '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "s", "Expiration": "2025-01-01T00:00:00Z"}'
                """, executable: true)
            let config = try dir.file("config", "[profile old]\ncredential_process = \(script)\n")
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_CONFIG_FILE"] = config
            let (result, _) = try Self.sign(["--profile", "old"], env: env)
            #expect(result.status == 1)
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("expired"))
        }

        @Test(
            "credential_process Expiration with a UTC offset is read at that offset (a fraction with an offset once lost the offset)",
            arguments: [("2026-01-01T01:30:00+01:00", Int32(0)), ("2026-01-01T00:30:00.5+01:00", Int32(1))])
        func credentialProcessExpirationOffset(expiration: String, status: Int32) throws {
            let dir = try TempDir()
            let script = try dir.file(
                "creds.sh",
                """
                #!/bin/sh
                echo '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "s", "Expiration": "\(expiration)"}'
                """, executable: true)
            let config = try dir.file("config", "[profile p]\ncredential_process = \(script)\n")
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_CONFIG_FILE"] = config
            // Signed at 2026-01-01T00:00:00Z: the first expires at 00:30Z, the second expired at 23:30Z the day before.
            let (result, _) = try Self.sign(["--profile", "p"], env: env)
            #expect(result.status == status, "\(result.stderr)")
            if status == 1 { #expect(result.stderr.contains("expired")) }
        }

        @Test("a role_arn profile is refused (no network calls), and a missing profile is a usage error")
        func unsupportedProfiles() throws {
            let dir = try TempDir()
            let config = try dir.file(
                "config", "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\n")
            var env = Tool.cleanEnvironment(home: dir.path)
            env["AWS_CONFIG_FILE"] = config
            let (role, _) = try Self.sign(["--profile", "role"], env: env)
            #expect(role.status == 1)
            #expect(role.stderr.contains("role_arn"))
            let (missing, _) = try Self.sign(["--profile", "nope"], env: env)
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("profile 'nope' not found"))
            let (none, _) = try Self.sign([], env: Tool.cleanEnvironment(home: dir.path))
            #expect(none.status == 2)
            #expect(none.stderr.contains("no credentials found"))
        }
    }
}
