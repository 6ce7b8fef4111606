import Foundation
import SigV4
import SigV4CommandLine

/// Finds credentials the way awscli does, without any network call.
///
/// Order: the command-line flags; then `--profile`; then `AWS_ACCESS_KEY_ID` /
/// `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`; then the profile named by
/// `AWS_PROFILE` (or `default`) in `~/.aws/credentials` and `~/.aws/config`
/// (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`). A profile may hold static keys,
/// a `credential_process` (JSON output, `Expiration` honoured), or a `source_profile`
/// whose credentials it reuses, in botocore's order: credentials-file keys, then
/// `credential_process`, then config-file keys (id, secret and token from one file). A profile
/// named by `AWS_PROFILE` that neither file holds is an error, as awscli's `ProfileNotFound`.
/// An empty session token is ignored.
///
/// ```swift
/// let chain = CredentialChain(environment: ProcessInfo.processInfo.environment)
/// let found = try chain.resolve(flags: .init(profile: "dev"), now: AmzDate(Date()))
/// print(found.source) // profile 'dev' in /home/me/.aws/credentials
/// ```
struct CredentialChain {
    struct Flags {
        var accessKeyID: String?
        var secretAccessKey: String?
        var sessionToken: String?
        var profile: String?
    }

    struct Resolved {
        var credentials: Credentials
        /// Where they came from, for `--verbose`. Never holds a secret.
        var source: String
        /// The profile in use, if any (its `region` is a fallback).
        var profile: String?
    }

    var environment: [String: String]
    var files: ProfileFiles

    init(environment: [String: String]) {
        self.environment = environment
        self.files = ProfileFiles.load(environment: environment)
    }

    func env(_ name: String) -> String? {
        guard let v = environment[name], !v.isEmpty else { return nil }
        return v
    }

    /// The profile whose settings apply: `--profile`, else `AWS_PROFILE`, else `default`.
    func activeProfile(flags: Flags) -> String {
        flags.profile ?? env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE") ?? "default"
    }

    /// The region from `AWS_REGION`, `AWS_DEFAULT_REGION`, then the active profile's `region`.
    func region(flags: Flags) -> (value: String, source: String)? {
        if let r = env("AWS_REGION") { return (r, "AWS_REGION") }
        if let r = env("AWS_DEFAULT_REGION") { return (r, "AWS_DEFAULT_REGION") }
        let profile = activeProfile(flags: flags)
        if let r = files.settings(for: profile)?["region"], !r.isEmpty {
            // The credentials file's keys win over the config file's (``ProfileFiles/settings(for:)``),
            // `region` too: name the file the value came from.
            let file = files.credentials[profile]?["region"] != nil ? files.credentialsPath : files.configPath
            return (r, "profile '\(profile)' in \(file)")
        }
        return nil
    }

    func resolve(flags: Flags, now: AmzDate) throws(CLIError) -> Resolved {
        if flags.accessKeyID != nil || flags.secretAccessKey != nil {
            guard let id = flags.accessKeyID, let secret = flags.secretAccessKey else {
                throw .usage(
                    "--access-key-id and --secret-access-key must be given together",
                    hint: "or use --profile / AWS_ACCESS_KEY_ID")
            }
            return Resolved(
                credentials: Credentials(accessKeyID: id, secretAccessKey: secret, sessionToken: flags.sessionToken),
                source: "command-line flags", profile: nil)
        }
        if let profile = flags.profile {
            // --session-token goes with the profile's keys (replacing a token of its own), as it does with
            // AWS_PROFILE's or the default profile's; it was dropped here without a word.
            var resolved = try resolveProfile(profile, now: now, explicit: true)
            if let token = flags.sessionToken, !token.isEmpty { resolved.credentials.sessionToken = token }
            return resolved
        }
        // awscli refuses a profile named by AWS_PROFILE that neither file holds, even when the
        // environment has keys (ProfileNotFound).
        if let named = env("AWS_PROFILE") ?? env("AWS_DEFAULT_PROFILE"), files.settings(for: named) == nil {
            throw Self.profileNotFound(named, files: files)
        }
        if let id = env("AWS_ACCESS_KEY_ID") {
            guard let secret = env("AWS_SECRET_ACCESS_KEY") else {
                throw .usage("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
            }
            let token = flags.sessionToken.flatMap { $0.isEmpty ? nil : $0 } ?? env("AWS_SESSION_TOKEN")
                ?? env("AWS_SECURITY_TOKEN")
            return Resolved(
                credentials: Credentials(
                    accessKeyID: id, secretAccessKey: secret, sessionToken: token,
                    expiration: try environmentExpiration(now: now)),
                source: "environment (AWS_ACCESS_KEY_ID)", profile: nil)
        }
        let name = activeProfile(flags: flags)
        let explicit = env("AWS_PROFILE") != nil || env("AWS_DEFAULT_PROFILE") != nil
        do {
            var resolved = try resolveProfile(name, now: now, explicit: explicit)
            if let token = flags.sessionToken, !token.isEmpty { resolved.credentials.sessionToken = token }
            return resolved
        } catch let error where !explicit && files.settings(for: name) == nil {
            _ = error
            throw .usage(
                Self.noCredentials,
                hint:
                    "pass --access-key-id and --secret-access-key, --profile NAME, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or add a [default] profile to \(files.credentialsPath)"
            )
        }
    }

    /// `AWS_CREDENTIAL_EXPIRATION`, which `aws configure export-credentials --format env` prints with
    /// temporary credentials: kept so `presign` can warn when a URL outlives them, and, once passed, an
    /// error, as botocore refuses them ("the refreshed credentials are still expired").
    func environmentExpiration(now: AmzDate) throws(CLIError) -> AmzDate? {
        guard let text = env("AWS_CREDENTIAL_EXPIRATION") else { return nil }
        guard let expiration = TimestampArgument.parse(text) else {
            throw .usage(
                "AWS_CREDENTIAL_EXPIRATION \(text.debugDescription.prefix(60)) is not a time",
                hint: "use ISO 8601, such as 2026-01-01T00:00:00Z, or unset it")
        }
        guard expiration > now else {
            throw .failure(
                "the credentials in AWS_ACCESS_KEY_ID expired at \(expiration.iso8601Basic) (AWS_CREDENTIAL_EXPIRATION)",
                hint: "export fresh ones, for example from 'aws configure export-credentials --format env'")
        }
        return expiration
    }

    /// The message of the error thrown when no source holds credentials (`explain` then signs
    /// with a placeholder key); a source that is named but broken throws its own error.
    static let noCredentials = "no credentials found"

    static func profileNotFound(_ name: String, files: ProfileFiles) -> CLIError {
        .usage(
            "profile '\(name)' not found in \(files.credentialsPath) or \(files.configPath)",
            hint: "check --profile / AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE")
    }

    func resolveProfile(_ name: String, now: AmzDate, explicit: Bool, chain: [String] = []) throws(CLIError)
        -> Resolved
    {
        guard let settings = files.settings(for: name) else { throw Self.profileNotFound(name, files: files) }
        let path = (chain + [name]).map { "'\($0)'" }.joined(separator: " -> source_profile ")
        if settings["role_arn"] != nil {
            throw .failure(
                "profile '\(name)' assumes a role (role_arn), which needs a network call to STS",
                hint:
                    "sigv4 never calls the network for credentials: export temporary credentials or use credential_process"
            )
        }
        // botocore's order: static keys in the credentials file, then credential_process (from
        // either file), then static keys in the config file. Keys, secret and token always come
        // from one file: a stale token in the other file is never sent with them.
        func staticKeys(_ section: [String: String]?, in file: String) throws(CLIError) -> Resolved? {
            guard let section, let id = section["aws_access_key_id"], !id.isEmpty else { return nil }
            guard let secret = section["aws_secret_access_key"], !secret.isEmpty else {
                throw .usage("profile '\(name)' has aws_access_key_id but no aws_secret_access_key in \(file)")
            }
            return Resolved(
                credentials: Credentials(
                    accessKeyID: id, secretAccessKey: secret,
                    sessionToken: section["aws_session_token"] ?? section["aws_security_token"]),
                source: "profile \(path) in \(file)", profile: chain.first ?? name)
        }
        if let found = try staticKeys(files.credentials[name], in: files.credentialsPath) { return found }
        if let command = settings["credential_process"], !command.isEmpty {
            let credentials = try CredentialProcess.run(command, profile: name, now: now)
            return Resolved(
                credentials: credentials, source: "credential_process of profile \(path)",
                profile: chain.first ?? name)
        }
        if let found = try staticKeys(files.config[name], in: files.configPath) { return found }
        if let source = settings["source_profile"], !source.isEmpty {
            if chain.contains(source) || source == name {
                throw .usage("profile '\(name)': source_profile loop (\(path) -> '\(source)')")
            }
            return try resolveProfile(source, now: now, explicit: true, chain: chain + [name])
        }
        if settings["sso_start_url"] != nil || settings["sso_session"] != nil {
            throw .failure(
                "profile '\(name)' uses IAM Identity Center (SSO), which needs a network call",
                hint: "run 'aws configure export-credentials --profile \(name) --format env' and use the environment")
        }
        throw .usage(
            "profile '\(name)' has no credentials",
            hint: "it needs aws_access_key_id/aws_secret_access_key, credential_process or source_profile")
    }
}
