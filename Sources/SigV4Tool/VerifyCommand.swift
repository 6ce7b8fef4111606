import ArgumentParser
import Foundation
import HummingbirdSigV4
import NIOCore
import SigV4
import SigV4CommandLine
import SigV4KeyStore
import SigV4Verifier

/// `sigv4 verify`: verify a captured raw HTTP/1.1 request and print the verdict.
///
/// ```
/// sigv4 verify --request captured.http --access-key-id AKIDEXAMPLE --secret-access-key … --now 20150830T123600Z
/// sigv4 sign https://example.amazonaws.com/ --region us-east-1 --service service --format http | sigv4 verify --request -
/// ```
///
/// Prints `{ok, code, http_status, message, access_key_id, principal, canonical_request, string_to_sign}`
/// (plus a few more fields) and exits 0 when accepted, 1 when rejected, 2 on bad usage.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a captured request (raw HTTP/1.1, curl -v output or a curl trace) signed with AWS SigV4.",
        discussion: """
            Reads one request (request line, headers, empty line, body) from a file or stdin and runs \
            every check of the SigV4Verifier: signature, time (±15 min, presign expiry), signed host and \
            x-amz-* headers, payload hash, aws-chunked bodies, allow-lists.

            The input may also be what curl printed: the stderr of `curl -v` (its '> ' lines) or a \
            `curl --trace-ascii FILE` / `--trace FILE` dump; the format is detected (--input-format). \
            The first request is verified. curl -v never shows the body: pass it with --body FILE, or \
            only the signature is checked (the body's hash is then taken from x-amz-content-sha256, and \
            without that header the request cannot be verified).

            Keys come from --access-key-id/--secret-access-key (or AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
            AWS_SESSION_TOKEN). Exit status: 0 accepted, 1 rejected, 2 bad usage.

            Examples:
              sigv4 verify --request captured.http --access-key-id AKIDEXAMPLE \\
                  --secret-access-key … --now 20150830T123600Z
              sigv4 sign https://examplebucket.s3.amazonaws.com/a.txt \\
                  --region us-east-1 --service s3 --format http \\
                | sigv4 verify --request - --region us-east-1 --service s3
              curl --aws-sigv4 aws:amz:us-east-1:execute-api --user "$KEY:$SECRET" \\
                  -v --data-binary @body.json https://… 2> curl.txt
              sigv4 verify --request curl.txt --body body.json \\
                  --now 2026-12-02T10:00:00+01:00
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, text
    }

    @Option(name: .long, help: "The request file (raw HTTP/1.1, curl -v output or a curl trace), or - for stdin.")
    var request: String = "-"

    @Option(
        name: .customLong("input-format"),
        help: "What --request holds: auto (detect), raw, curl-verbose (curl -v's stderr) or curl-trace (--trace-ascii).")
    var inputFormat: CaptureFormatOption = .auto

    @Option(help: "The body that was sent, for a capture that does not show it (curl -v); replaces a trace's body.")
    var body: String?

    @Option(help: "A key store (see `sigv4 keys`) to resolve access keys from, instead of one key given by flags.")
    var keystore: String?

    @Option(name: .customLong("master-key-file"), help: "The key store's master key file (default: $SIGV4_KEYSTORE_MASTER_KEY_FILE or <keystore>.masterkey).")
    var masterKeyFile: String?

    @Option(name: .customLong("access-key-id"), help: "The access key id that may sign (default: $AWS_ACCESS_KEY_ID).")
    var accessKeyID: String?

    @Option(name: .customLong("secret-access-key"), help: "Its secret (default: $AWS_SECRET_ACCESS_KEY).")
    var secretAccessKey: String?

    @Option(name: .customLong("session-token"), help: "The session token the request must carry (default: $AWS_SESSION_TOKEN).")
    var sessionToken: String?

    @Option(help: "The principal reported for the key.")
    var principal: String?

    @Option(help: "The verifier's clock: 20150830T123600Z, ISO 8601 with Z or an offset, or @<unix seconds> (default: now).")
    var now: String?

    @Option(name: .customLong("region"), help: "An allowed region (repeatable; default: any).")
    var regions: [String] = []

    @Option(name: .customLong("service"), help: "An allowed service signing name (repeatable; default: any).")
    var services: [String] = []

    @Option(name: .customLong("max-skew"), help: "Largest clock skew for header auth, in seconds.")
    var maxSkew: Int = 900

    @Option(
        name: .customLong("virtual-host-domain"),
        help: "A domain under which the Host names a bucket (bucket.DOMAIN: virtual-hosted style; repeatable).")
    var virtualHostDomains: [String] = []

    @Flag(name: .customLong("strict-line-endings"), help: "Refuse bare LF line endings (servers must; files often have them).")
    var strictLineEndings = false

    @Option(help: "Output format: json or text.")
    var format: Format = .json

    // MARK: run

    func validate() throws {
        guard maxSkew >= 0, maxSkew <= VerificationPolicy.maxClockSkewLimit else {
            throw ValidationError("--max-skew must be 0 to \(VerificationPolicy.maxClockSkewLimit) seconds")
        }
    }

    func run() async throws {
        let input = try readRequestBytes()
        let now = try clock()
        let resolver = try makeResolver()
        let bodyBytes = try body.map { path throws -> [UInt8] in
            guard let bytes = try Self.readBounded(path: path, limit: HTTPRequestReader.Limits.default.maxBodyBytes) else {
                throw usage("--body \(path) is larger than \(HTTPRequestReader.Limits.default.maxBodyBytes) bytes")
            }
            return bytes
        }
        guard let bytes = input else {
            let verdict = Verdict(
                ok: false, code: "InvalidRequest", httpStatus: 400,
                message: "cannot read the HTTP request: the input is larger than \(Self.maxInputBytes) bytes")
            print(format == .json ? verdict.json : verdict.text)
            throw ExitCode(1)
        }
        var policy = VerificationPolicy()
        policy.allowedRegions = Set(regions)
        policy.allowedServices = Set(services)
        policy.maxClockSkew = Int64(maxSkew)
        policy.includeDiagnostics = true
        do {
            if !virtualHostDomains.isEmpty { policy.virtualHostedStyle = try VirtualHostedStyle(domains: virtualHostDomains) }
        } catch {
            throw usage("--virtual-host-domain: \(error)")
        }
        let verifier = Verifier(resolver: resolver, policy: policy)
        let reader = HTTPRequestReader(allowBareLF: !strictLineEndings)
        let capture = try CapturedRequest(bytes, format: inputFormat.format)
        if capture.format == .raw, body != nil {
            throw usage("--body is for a capture that shows no body (curl -v, a curl trace); a raw request holds its own")
        }
        let verdict = try await Verify.verify(capture, body: bodyBytes, reader: reader, verifier: verifier, now: now)
        // The key's last use goes to the store, as a server's does (`keys list` shows it).
        if let store = resolver as? KeyStore { try? store.flushLastUsed() }
        print(format == .json ? verdict.json : verdict.text)
        throw ExitCode(verdict.ok ? 0 : 1)
    }

    /// The resolver for this run: the key store with `--keystore`, else the one key given by flags.
    func makeResolver() throws -> any CredentialResolver {
        if let keystore {
            if accessKeyID != nil || secretAccessKey != nil {
                throw usage("--keystore and --access-key-id/--secret-access-key are exclusive")
            }
            do {
                return try openKeyStoreResolver(path: keystore, masterKeyFile: masterKeyFile)
            } catch {
                throw usage("cannot open the key store \(keystore): \(error)")
            }
        }
        let env = ProcessInfo.processInfo.environment
        guard let id = accessKeyID ?? env["AWS_ACCESS_KEY_ID"], !id.isEmpty else {
            throw usage("no access key: pass --access-key-id and --secret-access-key (or set AWS_ACCESS_KEY_ID)")
        }
        guard let secret = secretAccessKey ?? env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw usage("no secret: pass --secret-access-key (or set AWS_SECRET_ACCESS_KEY)")
        }
        let token = sessionToken ?? env["AWS_SESSION_TOKEN"]
        return InMemoryCredentialResolver([
            ResolvedCredential(
                accessKeyID: id, secretAccessKey: SecretAccessKey(secret), principal: principal ?? id,
                sessionToken: (token?.isEmpty ?? true) ? nil : token)
        ])
    }

    func clock() throws -> AmzDate {
        guard let now else { return AmzDate(Date()) }
        guard let date = TimestampArgument.parse(now) else {
            throw usage("--now \(now.debugDescription.prefix(60)): \(TimestampArgument.expected)")
        }
        return date
    }

    /// The most input `verify` reads: the reader's request line, header section and body limits,
    /// with as many bytes again as the body for `Transfer-Encoding: chunked` framing. Anything
    /// longer is refused unread, so a huge file or an endless stdin cannot exhaust memory.
    static let maxInputBytes: Int = {
        let limits = HTTPRequestReader.Limits.default
        return limits.maxRequestLine + limits.maxHeaderBytes + 2 * limits.maxBodyBytes
    }()

    /// The request bytes, or nil when the input holds more than ``maxInputBytes`` (it is read
    /// in 1 MiB pieces and never past that bound).
    func readRequestBytes() throws -> [UInt8]? {
        try Self.readBounded(path: request, limit: Self.maxInputBytes)
    }

    /// The bytes of the file at `path` (`-`: stdin), or nil when it holds more than `limit` bytes
    /// (it is read in 1 MiB pieces and never past that bound). A file that cannot be read is a
    /// usage error.
    static func readBounded(path: String, limit: Int) throws -> [UInt8]? {
        let handle: FileHandle
        if path == "-" {
            handle = FileHandle.standardInput
        } else {
            guard let file = FileHandle(forReadingAtPath: path) else { throw usage("cannot read \(path)") }
            handle = file
        }
        defer { if path != "-" { try? handle.close() } }
        do { return try RequestOptions.read(handle, atMost: limit) } catch { throw usage("cannot read \(path)") }
    }

    /// Reports a usage error on one line and exits 2.
    func usage(_ message: String) -> ExitCode { Self.usage(message) }

    /// Reports a usage error on one line and exits 2.
    static func usage(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("sigv4: error: \(message) (hint: run with --help for usage and examples)\n".utf8))
        return ExitCode(2)
    }

    // MARK: verdict

    /// The verdict printed by `sigv4 verify`.
    struct Verdict {
        var ok: Bool
        var code: String?
        var httpStatus: Int
        var message: String
        var accessKeyID: String?
        var principal: String?
        /// The canonical request and string to sign the verifier built, byte for byte.
        var canonicalRequest: [UInt8]?
        var stringToSign: [UInt8]?
        var scope: String?
        /// The bucket the `Host` names (virtual-hosted style, `--virtual-host-domain`).
        var bucket: String?
        var signedHeaders: [String]?
        var presigned: Bool?
        var payload: String?
        /// The signing algorithm of an accepted request (`AWS4-HMAC-SHA256` or SigV4a's).
        var algorithm: String?
        /// The body's declared `x-amz-checksum-*` and `Content-MD5` of an accepted request, checked
        /// (``checksumSummary(_:verified:)``).
        var checksum: String?
        var details: [VerificationFailure.Detail] = []
        /// The input format when it was not a raw request (`curl-verbose`, `curl-trace`).
        var input: String?
        /// What the capture did not let `verify` check (no body shown, a lossy trace body).
        var warning: String?

        var json: String {
            func s(_ v: String?) -> String { v.map { JSONQuoting.quote($0) } ?? "null" }
            var pairs: [(String, String)] = [
                ("ok", ok ? "true" : "false"), ("code", s(code)), ("http_status", String(httpStatus)),
                ("message", s(message)), ("access_key_id", s(accessKeyID)), ("principal", s(principal)),
                ("canonical_request", s(canonicalRequest.map { String(decoding: $0, as: UTF8.self) })),
                ("string_to_sign", s(stringToSign.map { String(decoding: $0, as: UTF8.self) })),
            ]
            if let scope { pairs.append(("scope", s(scope))) }
            if let bucket { pairs.append(("bucket", s(bucket))) }
            if let signedHeaders { pairs.append(("signed_headers", "[" + signedHeaders.map { s($0) }.joined(separator: ",") + "]")) }
            if let presigned { pairs.append(("presigned", presigned ? "true" : "false")) }
            if let payload { pairs.append(("payload", s(payload))) }
            if let algorithm { pairs.append(("algorithm", s(algorithm))) }
            if let checksum { pairs.append(("checksum", s(checksum))) }
            if !details.isEmpty {
                pairs.append(("details", "{" + details.map { "\(s($0.name)):\(s($0.value))" }.joined(separator: ",") + "}"))
            }
            if let input { pairs.append(("input", s(input))) }
            if let warning { pairs.append(("warning", s(warning))) }
            return "{" + pairs.map { "\(JSONQuoting.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }

        var text: String {
            var out = ok
                ? "ACCEPTED \(accessKeyID ?? "") (principal \(principal ?? "")), scope \(scope ?? ""), payload \(payload ?? "")"
                    + (checksum.map { ", checksum \($0)" } ?? "")
                : "REJECTED \(code ?? "") (\(httpStatus)): \(message)"
            for d in details { out += "\n  \(d.name): \(d.value)" }
            if let input { out += "\n  input: \(input)" }
            if let warning { out += "\n  warning: \(warning)" }
            // Lines as `explain` shows them: controls and bytes that are not UTF-8 as \xNN.
            func lines(_ bytes: [UInt8]) -> String {
                TextFormatting.visibleLines(TextFormatting.text(keepingBytes: bytes)).joined(separator: "\n")
            }
            if let canonicalRequest { out += "\n\nCanonical request:\n\(lines(canonicalRequest))" }
            if let stringToSign { out += "\n\nString to sign:\n\(lines(stringToSign))" }
            return out
        }
    }

    /// `crc32 DUoRhQ== verified`, `content-md5 XrY7u+Ae7tCTyyK7j1rNww== verified`, both joined by `, `;
    /// nil when the body declares neither.
    static func checksumSummary(_ v: VerifiedRequest, verified: Bool) -> String? {
        let declared = v.declaredChecksums
        guard !declared.isEmpty else { return nil }
        return declared.map {
            "\($0.isContentMD5 ? "content-md5" : $0.algorithm.rawValue) \($0.value) \(verified ? "verified" : "not checked")"
        }.joined(separator: ", ")
    }

    /// `raw` as an origin server reads it when its target is in absolute form (`GET http://host/p?q
    /// HTTP/1.1`: what a client sends to a forward proxy, and what a capture at the proxy holds), RFC
    /// 9112, section 3.2.2: the target's path and query (`/p?q`, byte for byte) and, since the
    /// target's host wins over `Host`, a `Host` that names another host replaced by the target's
    /// authority. Any other target is returned as it came.
    static func originForm(_ raw: RawHTTPRequest) -> RawHTTPRequest {
        guard raw.target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }),
            let split = try? RequestTarget(absoluteURL: String(decoding: raw.target, as: UTF8.self))
        else { return raw }
        var request = raw
        request.target = Array(split.path.utf8)
        let sameHost = { (value: [UInt8]) -> Bool in
            let host = String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
            return host == split.authority.lowercased() || host == split.hostHeader.lowercased()
        }
        for i in request.fields.indices where request.fields[i].name.lowercased() == "host" {
            if !sameHost(request.fields[i].value) { request.fields[i].value = Array(split.authority.utf8) }
        }
        return request
    }

    /// The note on a capture that shows no body (`curl -v`).
    static let noBodyWarning =
        "the capture shows no body (curl -v never does; a trace has none when curl did not send it, as after a refused Expect: 100-continue): the signature was checked against the declared x-amz-content-sha256, the body was not; pass --body FILE or capture with curl --trace-ascii"

    /// Verifies the first request of a capture: a raw request as it came, a trace with its body (or
    /// `body`, which replaces it), and a `curl -v` head with `body`, or without one over the declared
    /// `x-amz-content-sha256` only (``noBodyWarning``). Throws a usage error (exit 2) when the capture
    /// shows no body, the request has one, and nothing declares its hash.
    static func verify(
        _ capture: CapturedRequest, body: [UInt8]?, reader: HTTPRequestReader, verifier: Verifier, now: AmzDate
    ) async throws -> Verdict {
        if capture.format == .raw { return await verify(capture.head, reader: reader, verifier: verifier, now: now) }
        var input = capture.format.rawValue
        if let version = capture.rewrittenVersion { input += " (\(version) request line read as HTTP/1.1)" }
        if let shown = body ?? capture.body {
            var verdict = await verify(capture.head + shown, reader: reader, verifier: verifier, now: now)
            verdict.input = input
            if body == nil, capture.bodyMayBeLossy, !verdict.ok {
                verdict.warning =
                    "the body comes from a --trace-ascii dump, which shows bytes outside 0x20-0x7F as '.': it may differ from what was sent; capture with curl --trace (hex) or pass --body FILE"
            }
            return verdict
        }
        let raw: RawHTTPRequest
        do {
            raw = try reader.readHead(capture.head)
        } catch {
            var verdict = Verdict(
                ok: false, code: "InvalidRequest", httpStatus: 400, message: "cannot read the HTTP request: \(error.reason)")
            verdict.input = input
            return verdict
        }
        let declaresBody = raw.fields.contains { field in
            let name = field.name.lowercased()
            return name == "transfer-encoding"
                || (name == "content-length" && !field.value.allSatisfy { $0 == UInt8(ascii: "0") || $0 == 0x20 })
        }
        var verdict: Verdict
        if declaresBody {
            let hasContentSHA256 = raw.fields.contains { $0.name.lowercased() == "x-amz-content-sha256" }
            let presigned = String(decoding: raw.target, as: UTF8.self).lowercased().contains("x-amz-signature=")
            guard hasContentSHA256 || presigned else {
                throw usage(
                    "the capture shows no body (curl -v never does; a trace has none when curl did not send it) and the request signs the body's hash without an x-amz-content-sha256 header, so it cannot be verified: pass --body FILE with the bytes sent, or capture with curl --trace-ascii FILE"
                )
            }
            verdict = await verify(raw, payload: .streamed, decodeChunked: false, reader: reader, verifier: verifier, now: now)
            if verdict.ok, verdict.payload == "\(VerifiedRequest.PayloadStatus.pending)" {
                verdict.payload = "not checked"
                verdict.warning = noBodyWarning
            }
        } else {
            verdict = await verify(raw, payload: .body([]), reader: reader, verifier: verifier, now: now)
        }
        verdict.input = input
        return verdict
    }

    static func verify(_ bytes: [UInt8], reader: HTTPRequestReader, verifier: Verifier, now: AmzDate) async -> Verdict {
        let raw: RawHTTPRequest
        do {
            raw = try reader.read(bytes)
        } catch {
            return Verdict(ok: false, code: "InvalidRequest", httpStatus: 400, message: "cannot read the HTTP request: \(error.reason)")
        }
        if let form = await verifyBrowserForm(raw, verifier: verifier, now: now) { return form }
        return await verify(raw, payload: .body(raw.body), reader: reader, verifier: verifier, now: now)
    }

    /// A captured browser-form upload (a `multipart/form-data` POST without `Authorization` or
    /// presign parameters): its policy verified as `sigv4 serve` verifies it; nil for other requests.
    static func verifyBrowserForm(_ captured: RawHTTPRequest, verifier: Verifier, now: AmzDate) async -> Verdict? {
        let raw = originForm(captured)
        func field(_ name: String) -> String? {
            raw.fields.first { $0.name.lowercased() == name }.map { String(decoding: $0.value, as: UTF8.self) }
        }
        let target = String(decoding: raw.target, as: UTF8.self)
        guard raw.method == "POST", field("authorization") == nil, let type = field("content-type"),
            type.lowercased().hasPrefix("multipart/form-data"), !target.lowercased().contains("x-amz-signature=")
        else { return nil }
        do throws(VerificationFailure) {
            let path = String(target.prefix { $0 != "?" })
            let bucket = try BrowserFormUpload.bucket(path: path, host: field("host"), policy: verifier.policy)
            let upload = try BrowserFormUpload.parse(
                ByteBuffer(bytes: raw.body), contentType: type, limits: .init(maxFileBytes: raw.body.count))
            let form = try await verifier.verifyPostForm(upload.form, bucket: bucket, now: now).get()
            try form.checkContentLength(Int64(upload.file.readableBytes))
            return Verdict(
                ok: true, code: nil, httpStatus: 200, message: "The form's policy signature and every condition passed.",
                accessKeyID: form.accessKeyID, principal: form.principal, scope: form.scope.description, bucket: form.bucket,
                payload: "browser form: key \(form.key), \(upload.file.readableBytes) bytes of file")
        } catch {
            return Verdict(
                ok: false, code: error.code.name, httpStatus: error.httpStatus, message: error.message,
                accessKeyID: error.accessKeyID, details: error.details)
        }
    }

    static func verify(
        _ raw: RawHTTPRequest, payload: Verifier.Payload, decodeChunked: Bool = true, reader: HTTPRequestReader,
        verifier: Verifier, now: AmzDate
    ) async -> Verdict {
        let request = originForm(raw).verificationRequest
        switch await verifier.verify(request, payload: payload, now: now) {
        case .rejected(let f):
            return Verdict(
                ok: false, code: f.code.name, httpStatus: f.httpStatus, message: f.message, accessKeyID: f.accessKeyID,
                canonicalRequest: f.diagnostics?.canonicalRequestBytes, stringToSign: f.diagnostics?.stringToSignBytes,
                details: f.details)
        case .accepted(let v):
            var verdict = Verdict(
                ok: true, code: nil, httpStatus: 200, message: "The signature and every check passed.",
                accessKeyID: v.accessKeyID, principal: v.principal,
                canonicalRequest: v.diagnostics?.canonicalRequestBytes,
                stringToSign: v.diagnostics?.stringToSignBytes, scope: v.scope.description, bucket: v.bucket,
                signedHeaders: v.signedHeaders,
                presigned: v.isPresigned, payload: "\(v.payload)",
                algorithm: v.isSigV4a ? SigV4aSigner.algorithm : StringToSign.algorithm,
                checksum: Self.checksumSummary(v, verified: v.checksumVerified))
            if (v.payload == .awsChunked || v.payload == .eventStream) && !decodeChunked {
                verdict.payload = "\(v.payload) (not checked)"
                verdict.warning = noBodyWarning
            } else if v.payload == .eventStream {
                // Each envelope's signature, chained on the request's, and its :date within 15
                // minutes of `now` (the time the verification is made at).
                do throws(VerificationFailure) {
                    var decoder = try v.makeEventStreamDecoder(clock: { now.secondsSince1970 * 1000 })
                    var messages = 0
                    var bytes = 0
                    try decoder.feed(raw.body) { message in
                        messages += 1
                        bytes += message.count
                    }
                    try decoder.finish()
                    verdict.payload = "eventStream (\(messages) signed messages, \(bytes) bytes, verified)"
                } catch {
                    verdict.ok = false
                    verdict.code = error.code.name
                    verdict.httpStatus = error.httpStatus
                    verdict.message = error.message
                }
            } else if v.payload == .awsChunked {
                do throws(VerificationFailure) {
                    var decoder = try v.makeChunkedDecoder(for: request)
                    _ = try decoder.feed(raw.body)
                    try decoder.finish()
                    verdict.payload = "awsChunked (\(decoder.releasedByteCount) decoded bytes verified)"
                    // The decoder checked the declared checksums against the decoded body.
                    verdict.checksum = Self.checksumSummary(v, verified: true)
                } catch {
                    verdict.ok = false
                    verdict.code = error.code.name
                    verdict.httpStatus = error.httpStatus
                    verdict.message = error.message
                }
            }
            return verdict
        }
    }
}

/// `--input-format`: what `sigv4 verify --request` / `sigv4 explain --captured` hold.
enum CaptureFormatOption: String, ExpressibleByArgument, CaseIterable {
    case auto, raw
    case curlVerbose = "curl-verbose"
    case curlTrace = "curl-trace"

    /// The format to read, nil to detect it.
    var format: CapturedRequest.Format? {
        switch self {
        case .auto: return nil
        case .raw: return .raw
        case .curlVerbose: return .curlVerbose
        case .curlTrace: return .curlTrace
        }
    }
}
