import ArgumentParser
import Foundation
import SigV4
import SigV4CommandLine

/// Options every signing command shares: credentials, scope, time and rule overrides.
///
/// ```
/// sigv4 sign https://sts.amazonaws.com/?Action=GetCallerIdentity --profile dev --region us-east-1 --service sts
/// ```
struct SigningOptions: ParsableArguments {
    @Option(
        help:
            "Region in the credential scope (default: from a *.amazonaws.com host, AWS_REGION, AWS_DEFAULT_REGION or the profile)."
    )
    var region: String?

    @Option(help: "Service signing name, e.g. s3, execute-api, sts (default: from a *.amazonaws.com host).")
    var service: String?

    @Option(name: .customLong("access-key-id"), help: "Access key id (with --secret-access-key).")
    var accessKeyID: String?

    @Option(
        name: .customLong("secret-access-key"),
        help: "Secret access key. Prefer a profile or AWS_SECRET_ACCESS_KEY: arguments are visible to other users.")
    var secretAccessKey: String?

    @Option(
        name: .customLong("session-token"), help: "Session token for temporary credentials. An empty value is ignored.")
    var sessionToken: String?

    @Option(help: "Profile in ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, then 'default').")
    var profile: String?

    @Option(
        help:
            "Signing time: 20150830T123600Z, ISO 8601 with Z or an offset (2015-08-30T13:36:00+01:00), or @<unix seconds> (default: now)."
    )
    var timestamp: String?

    @Flag(
        inversion: .prefixedNo,
        help:
            "Use S3 rules (encode the path once, never normalize, send x-amz-content-sha256). Default: S3 rules when the service is s3."
    )
    var s3: Bool?

    @Flag(inversion: .prefixedNo, help: "Override: remove dot segments and repeated slashes from the path.")
    var normalizePath: Bool?

    @Flag(inversion: .prefixedNo, help: "Override: encode the path a second time (standard services).")
    var doubleEncode: Bool?

    @Flag(
        name: .customLong("content-sha256"), inversion: .prefixedNo,
        help: "Override: send and sign x-amz-content-sha256.")
    var contentSha256: Bool?

    @Option(
        name: .customLong("sign-header"), help: "Sign this header even though it is unsigned by default (repeatable).")
    var signHeaders: [String] = []

    @Option(name: .customLong("exclude-header"), help: "Do not sign this header (repeatable).")
    var excludeHeaders: [String] = []

    @Flag(help: "Print where the credentials, region and service came from (never the secret) on stderr.")
    var verbose = false

    /// The region a SigV4a signer with a `--region-set` is given when none was found: its credential
    /// scope names no region and `X-Amz-Region-Set` is the set, so no signature reads it.
    static let unusedRegion = "us-east-1"

    var credentialFlags: CredentialChain.Flags {
        CredentialChain.Flags(
            accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken, profile: profile)
    }

    /// The signing time: `--timestamp` or the clock.
    func signingDate() throws(CLIError) -> AmzDate {
        guard let timestamp else { return AmzDate(Date()) }
        guard let date = TimestampArgument.parse(timestamp) else {
            throw .usage("--timestamp \(timestamp.debugDescription.prefix(60)) is not a time", hint: TimestampArgument.expected)
        }
        return date
    }

    /// The rules: `--s3/--no-s3` (else the service's table entry), then each override.
    func rules(service: String) -> ServiceRules {
        var rules: ServiceRules
        switch s3 {
        case .some(true): rules = .s3
        case .some(false): rules = .standard
        case .none: rules = ServiceRules.forService(service)
        }
        if let normalizePath { rules.normalizePath = normalizePath }
        if let doubleEncode { rules.doubleEncodePath = doubleEncode }
        if let contentSha256 { rules.sendContentSHA256 = contentSha256 }
        return rules
    }

    func signerOptions() -> Signer.Options {
        var options = Signer.Options()
        for name in signHeaders.map({ $0.lowercased() }) {
            options.forcedSignedHeaders.insert(name)
            options.unsignedHeaders.remove(name)
        }
        for name in excludeHeaders.map({ $0.lowercased() }) { options.unsignedHeaders.insert(name) }
        return options
    }

    /// Resolves credentials, region and service and builds a signer for `url`.
    ///
    /// `regionSet`: the `--region-set` of a SigV4a signature, when one is given. Its credential
    /// scope names no region, so a region found nowhere is then not an error: the signer gets
    /// ``SigningOptions/unusedRegion``, which no signature reads.
    func makeContext(
        for url: RawURL, environment: [String: String] = ProcessInfo.processInfo.environment,
        fallbackCredentials: CredentialChain.Flags? = nil, allowMissingCredentials: Bool = false,
        regionSet: String? = nil
    ) throws(CLIError) -> SigningContext {
        let date = try signingDate()
        let chain = CredentialChain(environment: environment)
        var flags = credentialFlags
        if flags.accessKeyID == nil, flags.secretAccessKey == nil, let fallback = fallbackCredentials {
            flags.accessKeyID = fallback.accessKeyID
            flags.secretAccessKey = fallback.secretAccessKey
        }
        // Credentials first: a named profile that does not exist is the error to report, not the
        // region it would have given.
        let resolved: CredentialChain.Resolved
        do {
            resolved = try chain.resolve(flags: flags, now: date)
        } catch let error where allowMissingCredentials && error.message == CredentialChain.noCredentials {
            resolved = CredentialChain.Resolved(
                credentials: Credentials(accessKeyID: "AKIDPLACEHOLDER", secretAccessKey: "placeholder"),
                source: CLIError.placeholderCredentialSource, profile: nil)
        }
        let inferred = HostInference.infer(url.hostName)
        // `regionSource` nil: no region was found and none is needed (SigV4a with a `--region-set`).
        let regionSource: String?
        let resolvedRegion: String
        if let region {
            (resolvedRegion, regionSource) = (region, "--region")
        } else if let r = inferred?.region {
            (resolvedRegion, regionSource) = (r, "host \(url.hostName)")
        } else if let r = chain.region(flags: flags) {
            (resolvedRegion, regionSource) = r
        } else if regionSet != nil {
            (resolvedRegion, regionSource) = (Self.unusedRegion, nil)
        } else {
            throw .usage(
                "cannot tell the region for host '\(url.hostName)'",
                hint: "pass --region (for example --region us-east-1) or set AWS_REGION")
        }
        let resolvedService: String
        let serviceSource: String
        if let service {
            (resolvedService, serviceSource) = (service, "--service")
        } else if let s = inferred?.service {
            (resolvedService, serviceSource) = (s, "host \(url.hostName)")
        } else {
            throw .usage(
                "cannot tell the service for host '\(url.hostName)'",
                hint: "pass --service (for example --service execute-api or --service s3)")
        }
        if verbose {
            Console.error(
                "sigv4: credentials: \(resolved.source), access key id \(resolved.credentials.accessKeyID)"
                    + (resolved.credentials.sessionToken != nil ? ", with a session token" : ""))
            let regionLine =
                regionSource.map { "region \(resolvedRegion) (from \($0))" }
                ?? "no region (SigV4a: the --region-set is signed)"
            Console.error("sigv4: \(regionLine), service \(resolvedService) (from \(serviceSource))")
        }
        let signer = Signer(
            credentials: resolved.credentials, region: resolvedRegion, service: resolvedService,
            rules: rules(service: resolvedService), options: signerOptions())
        return SigningContext(signer: signer, date: date, credentialSource: resolved.source)
    }
}

/// A ready signer plus the signing time.
struct SigningContext {
    var signer: Signer
    var date: AmzDate
    var credentialSource: String
}

/// Presigning options shared by `sign`, `curl` and `explain`.
struct PresignOptions: ParsableArguments {
    @Flag(help: "Put the signature in the query string (a presigned URL) instead of the Authorization header.")
    var presign = false

    @Option(name: .customLong("expires"), help: "With --presign: seconds the URL stays valid, 1 to 604800 (default 3600).")
    var expiresSeconds: Int?

    /// `--expires`, else 3600.
    var expires: Int { expiresSeconds ?? 3600 }

    /// `--expires` without `--presign` would be ignored (an Authorization header does not expire): a usage error.
    func validate() throws {
        if expiresSeconds != nil && !presign {
            throw ValidationError("--expires is for --presign (a header signature has no expiry)")
        }
    }
}

/// Writes to stdout/stderr.
enum Console {
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func out(bytes: [UInt8]) {
        FileHandle.standardOutput.write(Data(bytes))
    }
}
