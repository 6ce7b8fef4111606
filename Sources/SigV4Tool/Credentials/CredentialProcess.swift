import Foundation
import SigV4
import SigV4CommandLine

/// Runs an awscli `credential_process` and reads its JSON output.
///
/// The process prints `{"Version": 1, "AccessKeyId": …, "SecretAccessKey": …,
/// "SessionToken": …, "Expiration": "2026-01-01T00:00:00Z"}`. Expired credentials
/// are refused; the expiry is kept so `presign` can warn when a URL outlives them.
///
/// ```swift
/// let credentials = try CredentialProcess.run("/usr/local/bin/get-creds --dev", profile: "dev", now: now)
/// ```
enum CredentialProcess {
    static let maximumOutput = 1 << 20

    static func run(_ command: String, profile: String, now: AmzDate) throws(CLIError) -> Credentials {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw .failure("profile '\(profile)': could not start credential_process")
        }
        var output = Data()
        let handle = stdout.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            output.append(chunk)
            if output.count > maximumOutput {
                process.terminate()
                throw .failure("profile '\(profile)': credential_process printed more than 1 MiB")
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw .failure("profile '\(profile)': credential_process exited with status \(process.terminationStatus)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw .failure("profile '\(profile)': credential_process did not print a JSON object")
        }
        guard (object["Version"] as? Int) == 1 else {
            throw .failure("profile '\(profile)': credential_process output must have \"Version\": 1")
        }
        guard let id = object["AccessKeyId"] as? String, !id.isEmpty,
            let secret = object["SecretAccessKey"] as? String, !secret.isEmpty
        else {
            throw .failure("profile '\(profile)': credential_process output lacks AccessKeyId or SecretAccessKey")
        }
        var expiration: AmzDate?
        if let value = object["Expiration"], !(value is NSNull) {
            // A number (epoch seconds) or anything else was ignored, so credentials that said when they
            // expire were used as if they never did; botocore fails on it too. null is no expiration.
            guard let text = value as? String else {
                throw .failure(
                    "profile '\(profile)': credential_process Expiration must be an ISO 8601 string",
                    hint: "for example \"Expiration\": \"2026-01-01T00:00:00Z\"")
            }
            // ISO 8601 with Z or an offset, fractions rounded down (TimestampArgument); AmzDate(iso8601:)
            // kept only `Z`/`+00:00` and dropped an offset that followed a fraction.
            guard let parsed = TimestampArgument.parse(text) else {
                throw .failure("profile '\(profile)': credential_process Expiration '\(text)' is not ISO 8601")
            }
            guard parsed > now else {
                throw .failure(
                    "profile '\(profile)': credential_process returned credentials that expired at \(text)",
                    hint: "refresh the process's source of credentials")
            }
            expiration = parsed
        }
        return Credentials(
            accessKeyID: id, secretAccessKey: secret, sessionToken: object["SessionToken"] as? String,
            expiration: expiration)
    }
}
