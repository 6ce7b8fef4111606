import ArgumentParser
import Foundation
import HTTPTypes
import SigV4
import SigV4CommandLine
import _SigV4Crypto

/// One HTTP request as it will go on the wire: method, URL (target byte-exact), headers in
/// order, and where the body comes from.
///
/// `sign`, `presign`, `explain` and `curl` all build one of these and sign it.
///
/// ```swift
/// let spec = RequestSpec(method: "GET", url: try RawURL("https://s3.amazonaws.com/b/k"), headers: [], body: .none)
/// let signed = try spec.sign(with: context, presignExpires: nil)
/// ```
struct RequestSpec {
    enum Body {
        case none
        case bytes([UInt8])
        /// A file hashed in a streaming pass, never loaded whole.
        case file(String)

        var isEmpty: Bool {
            if case .none = self { return true }
            if case .bytes(let b) = self { return b.isEmpty }
            return false
        }
    }

    var method: String
    var url: RawURL
    /// Header fields as sent (name, value), in order. `Host` only when the user sets it.
    var headers: [(String, String)]
    var body: Body
    /// `--payload-hash` / `--unsigned-payload`: used instead of hashing the body.
    var payloadOverride: PayloadHash?

    /// The payload hash: the override, or SHA-256 of the body (a file is streamed in 1 MiB reads).
    func payloadHash() throws(CLIError) -> PayloadHash {
        if let payloadOverride { return payloadOverride }
        switch body {
        case .none: return .emptySHA256
        case .bytes(let bytes): return .sha256(of: bytes)
        case .file(let path): return try RequestSpec.sha256(ofFile: path)
        }
    }

    static func sha256(ofFile path: String) throws(CLIError) -> PayloadHash {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .failure("cannot read '\(path)'", hint: "check the path and its permissions")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk: Data
            do { chunk = try handle.read(upToCount: 1 << 20) ?? Data() } catch {
                throw .failure("error reading '\(path)'")
            }
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return PayloadHash(digest: hasher.finalize())
    }

    /// The body bytes (reads a file body whole; used only for `--format http`).
    func bodyBytes() throws(CLIError) -> [UInt8] {
        switch body {
        case .none: return []
        case .bytes(let b): return b
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw .failure("cannot read '\(path)'") }
            return [UInt8](data)
        }
    }

    /// The swift-http-types request the signer takes.
    func httpRequest() throws(CLIError) -> HTTPRequest {
        guard let m = HTTPRequest.Method(method) else {
            throw .usage("'\(method)' is not a valid HTTP method")
        }
        var request = HTTPRequest(method: m, scheme: url.scheme, authority: url.hostHeader, path: url.target)
        for (name, value) in headers {
            guard let n = HTTPField.Name(name) else {
                throw .usage("'\(name)' is not a valid header name")
            }
            request.headerFields.append(HTTPField(name: n, value: value))
        }
        return request
    }

    /// Signs in the `Authorization` header, or presigns when `presignExpires` is set.
    func sign(with context: SigningContext, presignExpires: Int?) throws(CLIError) -> SignedRequest {
        try sign(
            presignExpires: presignExpires, rules: context.signer.rules,
            header: { request, payload in try context.signer.sign(request, payload: payload, at: context.date) },
            presign: { request, payload, expires in
                try context.signer.presign(request, payload: payload, expires: expires, at: context.date)
            })
    }

    /// Signs (or, with `presignExpires`, presigns) with SigV4a.
    func sign(with signer: SigV4aSigner, at date: AmzDate, presignExpires: Int?) throws(CLIError) -> SigV4aSignedRequest {
        try sign(
            presignExpires: presignExpires, rules: signer.rules,
            header: { request, payload in try signer.sign(request, payload: payload, at: date) },
            presign: { request, payload, expires in
                try signer.presign(request, payload: payload, expires: expires, at: date)
            })
    }

    /// Signed with `sigV4a` when given (`--sigv4a`), else with SigV4, as `sign` and `curl` print it.
    func signedView(with context: SigningContext, sigV4a: SigV4aSigner?, presignExpires: Int?) throws(CLIError)
        -> SignedView
    {
        if let sigV4a {
            return SignedView(try sign(with: sigV4a, at: context.date, presignExpires: presignExpires), signer: sigV4a)
        }
        return SignedView(try sign(with: context, presignExpires: presignExpires))
    }

    /// This request and its payload hash handed to a signer's header or presign entry point, with
    /// its errors as the CLI reports them. A presign without `--payload-hash`/`--unsigned-payload` gets
    /// nil, so the signer chooses, for a bodiless request and for any request under S3 rules
    /// (`UNSIGNED-PAYLOAD`: S3 verifies a presigned URL so, and botocore presigns so, whatever the
    /// body; a URL signed over the body's hash is refused). Other services sign the body's hash.
    private func sign<Signed>(
        presignExpires: Int?, rules: ServiceRules, header: (HTTPRequest, PayloadHash) throws -> Signed,
        presign: (HTTPRequest, PayloadHash?, Int) throws -> Signed
    ) throws(CLIError) -> Signed {
        let request = try httpRequest()
        do {
            if let expires = presignExpires {
                let payload: PayloadHash? =
                    try payloadOverride ?? (body.isEmpty || rules.presignUnsignedPayload ? nil : payloadHash())
                return try presign(request, payload, expires)
            }
            return try header(request, try payloadHash())
        } catch let error as CLIError {
            throw error
        } catch let error as SigV4Error {
            throw CLIError.signing(error)
        } catch {
            throw .failure("signing failed")
        }
    }
}

/// `--sigv4a` and `--region-set`, shared by `sign` and `curl`.
///
/// ```
/// sigv4 sign https://mrap.accesspoint.s3-global.amazonaws.com/k --service s3 --sigv4a --region-set '*'
/// sigv4 curl --sigv4a --region-set us-east-1,us-west-2 -- https://mrap.accesspoint.s3-global.amazonaws.com/k
/// ```
struct SigV4aFlags: ParsableArguments {
    @Flag(
        name: .customLong("sigv4a"),
        help: "Sign with SigV4a (AWS4-ECDSA-P256-SHA256) instead of SigV4: valid in every region of --region-set.")
    var sigv4a = false

    @Option(
        name: .customLong("region-set"),
        help: "With --sigv4a: the regions the signature is valid in, comma-separated, or '*' (default: the region).")
    var regionSet: String?

    /// `--region-set` without `--sigv4a` is a usage error (checked before anything is read).
    func checkUsage() throws(CLIError) {
        if regionSet != nil && !sigv4a { throw CLIError.usage("--region-set is for --sigv4a") }
    }

    /// The SigV4a signer when `--sigv4a` is given, else nil.
    func signer(context: SigningContext) throws(CLIError) -> SigV4aSigner? {
        guard sigv4a else { return nil }
        return try SigV4aOptions.signer(context: context, regionSet: regionSet)
    }
}

/// `--sigv4a`: a SigV4a signer from the resolved SigV4 signing context.
enum SigV4aOptions {
    /// The context's credentials, service, rules and options; `regionSet` (comma-separated, or
    /// `*`) or else the context's region.
    static func signer(context: SigningContext, regionSet: String?) throws(CLIError) -> SigV4aSigner {
        let regions = (regionSet ?? context.signer.region).split(separator: ",", omittingEmptySubsequences: false)
            .map { String($0) }
        do {
            return try SigV4aSigner(
                credentials: context.signer.credentials, regionSet: regions, service: context.signer.service,
                rules: context.signer.rules, options: context.signer.options)
        } catch {
            if error.code == .invalidScope {
                throw CLIError.usage(error.reason, hint: "use --region-set us-east-1,us-west-2 or --region-set '*'")
            }
            throw CLIError.signing(error)
        }
    }
}

extension CLIError {
    static func signing(_ error: SigV4Error) -> CLIError {
        switch error.code {
        case .invalidExpires: return .usage(error.reason, hint: "use --expires between 1 and 604800")
        case .alreadySigned:
            return .usage(error.reason, hint: "remove the existing Authorization header or X-Amz-* query parameters")
        case .payloadHashConflict:
            return .usage(error.reason, hint: "drop the x-amz-content-sha256 header; sigv4 sets it")
        case .invalidCredentials: return .usage(error.reason, hint: "check the access key id and secret")
        case .invalidScope: return .usage(error.reason, hint: "check --region and --service")
        default: return .usage(error.reason)
        }
    }
}
