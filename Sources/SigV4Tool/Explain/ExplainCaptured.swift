import Foundation
import SigV4
import SigV4CommandLine
import SigV4Verifier

extension Explain {
    /// `sigv4 explain --captured FILE`: the stages of a captured request's signature, computed as a
    /// verifier computes them from the request's own scope, signed headers and date; whether its
    /// signature matches the given credentials; and, with `report`, the diff against the server's.
    func explainCaptured(_ path: String, report: ServerSignatureReport?) async throws -> String {
        guard let bytes = try Verify.readBounded(path: path, limit: Verify.maxInputBytes) else {
            throw CLIError.usage("--captured \(path) is larger than \(Verify.maxInputBytes) bytes")
        }
        let capture = try CapturedRequest(bytes, format: inputFormat.format)
        var givenBody: [UInt8]?
        if let data = request.data { givenBody = Array(data.utf8) }
        if let file = request.dataFile {
            guard let body = try Verify.readBounded(path: file, limit: HTTPRequestReader.Limits.default.maxBodyBytes)
            else { throw CLIError.usage("--data-file \(file) is larger than the 64 MiB body limit") }
            givenBody = body
        }
        if capture.format == .raw, givenBody != nil {
            throw CLIError.usage("--data/--data-file are for a capture that shows no body (curl -v); a raw request holds its own")
        }
        let reader = HTTPRequestReader(allowBareLF: true)
        let raw: RawHTTPRequest
        var bodyNote: String
        var payload: Verifier.Payload
        do {
            if capture.format == .raw {
                raw = try reader.read(capture.head)
                bodyNote = "\(raw.body.count) bytes, from the request"
                payload = .body(raw.body)
            } else if let body = givenBody ?? capture.body {
                raw = try reader.read(capture.head + body)
                bodyNote = "\(raw.body.count) bytes, " + (givenBody != nil ? "from --data/--data-file" : "from the trace")
                if givenBody == nil && capture.bodyMayBeLossy {
                    bodyNote += " (--trace-ascii shows bytes outside 0x20-0x7F as '.': it may differ from what was sent)"
                }
                payload = .body(raw.body)
            } else {
                raw = try reader.readHead(capture.head)
                let declaresBody = raw.fields.contains { field in
                    let name = field.name.lowercased()
                    return name == "transfer-encoding"
                        || (name == "content-length" && !field.value.allSatisfy { $0 == UInt8(ascii: "0") || $0 == 0x20 })
                }
                bodyNote = declaresBody ? "not in the capture (curl -v never shows it; pass --data-file)" : "none"
                payload = declaresBody ? .streamed : .body([])
            }
        } catch {
            throw CLIError.usage("cannot read the captured request: \(error.reason)")
        }
        let verificationRequest = Verify.originForm(raw).verificationRequest

        // The clock: --timestamp, else the request's own date, so that time checks stay out of the way.
        let now: AmzDate
        if signing.timestamp != nil {
            now = try signing.signingDate()
        } else if let date = Self.requestDate(raw) {
            now = date
        } else {
            now = AmzDate(Date())
        }
        let chain = CredentialChain(environment: ProcessInfo.processInfo.environment)
        let flags = signing.credentialFlags
        let resolved: CredentialChain.Resolved?
        switch Result(catching: { () throws(CLIError) in try chain.resolve(flags: flags, now: now) }) {
        case .success(let found): resolved = found
        case .failure(let error) where error.message == CredentialChain.noCredentials: resolved = nil
        case .failure(let error): throw error
        }
        let resolver: any CredentialResolver
        if let resolved {
            resolver = InMemoryCredentialResolver([
                ResolvedCredential(
                    accessKeyID: resolved.credentials.accessKeyID, secretAccessKey: resolved.credentials.secretAccessKey,
                    principal: resolved.credentials.accessKeyID, sessionToken: resolved.credentials.sessionToken)
            ])
        } else {
            resolver = PlaceholderResolver(sessionToken: Self.sessionToken(raw))
        }
        var policy = VerificationPolicy()
        policy.includeDiagnostics = true
        let verifier = Verifier(resolver: resolver, policy: policy)
        var result = await verifier.verify(verificationRequest, payload: payload, now: now)
        // A refusal before the signature is computed carries no canonical request: verify again with
        // the checks before it set aside, for the stages and the signature's verdict, and report the
        // refusal on its own line.
        var refusal: VerificationFailure?
        if case .rejected(let f) = result, f.diagnostics == nil {
            refusal = f
            result = await Self.verifyForDiagnosis(
                verificationRequest, raw: raw, payload: payload, now: now, credentials: resolved?.credentials)
        }

        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        let v: (String) -> String = { TextFormatting.visible($0) }
        var input = capture.format.rawValue
        if let version = capture.rewrittenVersion { input += ", its \(version) request line read as HTTP/1.1" }
        line("Captured request (\(input)): \(v(raw.method)) \(v(TextFormatting.text(keepingBytes: raw.target)))")
        line("Body:               \(bodyNote)")
        let diagnostics: VerificationFailure.Diagnostics?
        var failure: VerificationFailure?
        switch result {
        case .accepted(let accepted): diagnostics = accepted.diagnostics
        case .rejected(let f):
            diagnostics = f.diagnostics
            failure = f
        }
        // Bytes that are not UTF-8 (a raw Latin-1 header value) are shown as \xNN, not as U+FFFD.
        let canonicalRequest = diagnostics.map { TextFormatting.text(keepingBytes: $0.canonicalRequestBytes) }
        let stringToSign = diagnostics.map { TextFormatting.text(keepingBytes: $0.stringToSignBytes) } ?? ""
        guard let diagnostics, let canonicalRequest, let parts = MismatchAnalysis.Parts(canonicalRequest) else {
            if failure?.asksForBody == true {
                throw CLIError.failure(
                    "the captured request cannot be explained without its body: its hash is signed but not declared "
                        + "in x-amz-content-sha256 (pass the body with --data-file)")
            }
            let f =
                (refusal ?? failure).map { "\($0.code.name) (\($0.httpStatus)): \($0.message)" }
                ?? "no canonical request"
            throw CLIError.failure("the captured request cannot be explained: \(f)")
        }
        line()
        out += Self.stages(parts)
        line("Canonical request (SHA-256 \(stringToSign.split(separator: "\n").last.map(String.init) ?? "")):")
        out += Self.quoted(canonicalRequest)
        line()
        line("String to sign:")
        out += Self.quoted(stringToSign)
        line()
        line("Signature (sent):   \(diagnostics.signatureProvided)")
        var matches: Bool? = nil
        if let resolved {
            var who = "\(resolved.credentials.accessKeyID) (\(resolved.source))"
            if let named = failure?.accessKeyID ?? refusal?.accessKeyID ?? result.acceptedAccessKeyID,
                named != resolved.credentials.accessKeyID
            {
                who = "the secret of \(who), though the request names \(v(named))"
            }
            switch result {
            case .accepted(let accepted):
                matches = true
                line("Signature check:    matches the one computed with \(who)")
                if accepted.payload == .pending {
                    line("                    over the declared x-amz-content-sha256; the body itself was not checked")
                }
            case .rejected(let f) where f.code == .signatureDoesNotMatch:
                matches = false
                line(
                    "Signature check:    does NOT match the one computed with \(who): the client signed these stages with another secret, or other bytes than these"
                )
            case .rejected(let f):
                line("Signature check:    \(f.code.name) (\(f.httpStatus)): \(f.message)")
            }
        } else {
            line("Signature check:    not done (no credentials found; pass --access-key-id/--secret-access-key or --profile)")
        }
        if let refusal { out += Self.verdict(refusal) }
        if let report {
            let providedID = failure?.accessKeyID ?? result.acceptedAccessKeyID
            let signatures = MismatchAnalysis.Signatures(
                provided: report.signatureProvided, providedAccessKeyID: report.accessKeyID,
                // The captured signature stands for ours only when the given secret reproduces it.
                ours: matches == true ? diagnostics.signatureProvided : nil,
                ourAccessKeyID: matches == true ? providedID : nil)
            out += Self.comparison(
                report, canonicalRequest: canonicalRequest, stringToSign: stringToSign,
                signatures: signatures)
        }
        return out
    }

    /// The verification `explain --captured` shows when a verifier with the default policy refuses
    /// `request` without a canonical request to show: every check before the signature that can be
    /// set aside is (the signed `host` and `x-amz-*` headers, the scope's date, the body's checksums,
    /// S3's required `x-amz-content-sha256`), the clock is the request's own date (so that neither
    /// the skew nor a presigned URL's expiry stops it), the key is looked up under whatever access
    /// key id the request names, with the request's own session token, and a body whose hash the
    /// request declares is not read (a body that does not match it is the refusal, shown apart).
    static func verifyForDiagnosis(
        _ request: VerificationRequest, raw: RawHTTPRequest, payload: Verifier.Payload, now: AmzDate,
        credentials: Credentials?
    ) async -> VerificationResult {
        var policy = VerificationPolicy()
        policy.includeDiagnostics = true
        policy.requireSignedHost = false
        policy.requireSignedAmzHeaders = false
        policy.requireScopeDateMatch = false
        policy.verifyBodyChecksums = false
        policy.maxClockSkew = VerificationPolicy.maxClockSkewLimit
        var resolver = PlaceholderResolver(sessionToken: Self.sessionToken(raw))
        if let credentials {
            resolver.secretAccessKey = credentials.secretAccessKey
            resolver.principal = credentials.accessKeyID
        }
        let declaresHash = raw.fields.contains { $0.name.lowercased() == "x-amz-content-sha256" }
        // S3 rules refuse a request without x-amz-content-sha256 (MissingSecurityHeader): its body's
        // hash, when the capture holds the body, is what such a client signed.
        if !declaresHash, let service = Self.claimedService(raw) {
            var rules = policy.rules(for: service)
            rules.sendContentSHA256 = false
            policy.serviceRules[service] = rules
        }
        return await Verifier(resolver: resolver, policy: policy).verify(
            request, payload: declaresHash ? .streamed : payload, now: Self.requestDate(raw) ?? now)
    }

    /// `Verifier's verdict: <code> (<status>): <message>` for a refusal that carries no canonical
    /// request, naming the headers left unsigned and any other detail the refusal carries, with a
    /// hint for unsigned headers and session tokens, then that the stages were computed without it.
    static func verdict(_ refusal: VerificationFailure) -> String {
        let pad = String(repeating: " ", count: 20)
        var text = "Verifier's verdict: \(refusal.code.name) (\(refusal.httpStatus)): \(refusal.message)"
        var unsigned: String?
        let others = refusal.details.filter { detail in
            if detail.name == "HeadersNotSigned" {
                unsigned = detail.value
                return false
            }
            return true
        }
        if let unsigned { text += ": \(TextFormatting.visible(unsigned))" }
        if !others.isEmpty {
            text += " (" + others.map { "\($0.name) \(TextFormatting.visible($0.value))" }.joined(separator: ", ") + ")"
        }
        var out = text + "\n"
        if let unsigned {
            out += pad + "to be accepted, \(TextFormatting.visible(unsigned)) must be signed (listed in SignedHeaders) "
                + "or not added after signing\n"
        }
        if refusal.code == .invalidToken || refusal.code == .expiredToken {
            out += pad + "compare the request's X-Amz-Security-Token with the credentials' session token "
                + "(--session-token, AWS_SESSION_TOKEN)\n"
        }
        out += pad + "(the refusal of a verifier with the default policy; the stages above are computed with "
            + "that check set aside)\n"
        return out
    }

    /// The service of the credential scope the request claims (its `Authorization`'s `Credential=`,
    /// else its `X-Amz-Credential`), nil when there is none to read.
    static func claimedService(_ raw: RawHTTPRequest) -> String? {
        let authorization = raw.fields.first { $0.name.lowercased() == "authorization" }
        return ClaimedService.read(
            authorization: authorization.map { String(decoding: $0.value, as: UTF8.self) },
            target: String(decoding: raw.target, as: UTF8.self))
    }

    /// `X-Amz-Date` from the header, else from the query (a presigned URL).
    static func requestDate(_ raw: RawHTTPRequest) -> AmzDate? {
        if let field = raw.fields.first(where: { $0.name.lowercased() == "x-amz-date" }) {
            return AmzDate.parse(field.value)
        }
        return queryValue(raw, "x-amz-date").flatMap { AmzDate.parse(Array($0.utf8)) }
    }

    /// The request's session token (header or query), percent-decoded: the placeholder key carries
    /// it so that the token check does not stop the explanation.
    static func sessionToken(_ raw: RawHTTPRequest) -> String? {
        if let field = raw.fields.first(where: { $0.name.lowercased() == "x-amz-security-token" }) {
            return String(decoding: field.value, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        return queryValue(raw, "x-amz-security-token")?.removingPercentEncoding
    }

    static func queryValue(_ raw: RawHTTPRequest, _ name: String) -> String? {
        let target = String(decoding: raw.target, as: UTF8.self)
        guard let q = target.firstIndex(of: "?") else { return nil }
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts[0].lowercased() == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }
}

/// Answers every access key id with one secret (a placeholder unless set), so that
/// `explain --captured` without credentials, or with those of another key id, still gets the
/// verifier's canonical request and string to sign.
struct PlaceholderResolver: CredentialResolver {
    var sessionToken: String?
    /// The secret every key id is answered with.
    var secretAccessKey = SecretAccessKey("placeholder")
    /// The principal every key id is answered with.
    var principal = "placeholder"

    func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
        ResolvedCredential(
            accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, principal: principal,
            sessionToken: sessionToken)
    }
}

extension VerificationResult {
    /// The accepted request's access key id, nil when rejected.
    fileprivate var acceptedAccessKeyID: String? {
        if case .accepted(let v) = self { return v.accessKeyID }
        return nil
    }
}
