import ArgumentParser
import Foundation
import SigV4
import SigV4CommandLine
import SigV4Verifier

/// `sigv4 explain`: every stage of a signature, and a diff against a server's `SignatureDoesNotMatch`.
struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each signing stage; with --compare, diff a server's canonical request against ours.",
        discussion: """
            Takes the request like 'sign' does. Non-printing characters are shown as \\t, \\r, \\xNN \
            or <U+XXXX>. --compare reads an S3 SignatureDoesNotMatch error body (its CanonicalRequest \
            and StringToSign, or the *Bytes forms) or a canonical request pasted into a file, prints a \
            line diff (- server, + ours) and names the likely cause: encoding, a header value, a missing \
            signed header, the clock, the region or the service. Without --timestamp the server's \
            x-amz-date is used so that only real differences show.

            --captured FILE explains a request as it was sent instead of a URL: a raw HTTP request, the \
            stderr of `curl -v` or a `curl --trace-ascii` dump (--input-format; the first request is \
            read). The stages are computed from its own Authorization (or presigned query): its scope, \
            signed headers and date. With credentials, it says whether the signature matches them; \
            --compare diffs it against a server's SignatureDoesNotMatch. curl -v shows no body: pass \
            it with --data-file, or the hash in x-amz-content-sha256 is used. A request the verifier \
            refuses for another reason (an unsigned header, a scope date, an expired URL, a session \
            token) is explained with that check set aside, and the refusal is given on its own line \
            ("Verifier's verdict: ...").

            Examples:
              sigv4 explain https://examplebucket.s3.amazonaws.com/test.txt \\
                  -H 'Range: bytes=0-9'
              aws s3api get-object ... --debug 2>&1 | ...   # error body to error.xml
              sigv4 explain https://examplebucket.s3.amazonaws.com/test.txt \\
                  --compare error.xml
              curl --aws-sigv4 aws:amz:us-east-1:s3 --user "$KEY:$SECRET" \\
                  -v https://… 2> curl.txt
              sigv4 explain --captured curl.txt --compare error.xml
            """)

    @OptionGroup var request: RequestOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var presigning: PresignOptions

    @Option(help: "A server's SignatureDoesNotMatch XML or a canonical request to compare with ours ('-' for stdin).")
    var compare: String?

    @Option(
        help:
            "Explain this captured request instead of a URL: raw HTTP, curl -v's stderr or a curl --trace-ascii dump ('-' for stdin)."
    )
    var captured: String?

    @Option(
        name: .customLong("input-format"),
        help: "What --captured holds: auto (detect), raw, curl-verbose or curl-trace.")
    var inputFormat: CaptureFormatOption = .auto

    /// The most `--compare` reads.
    static let maxCompareBytes = 16 << 20

    func run() async throws {
        var report: ServerSignatureReport?
        if let compare {
            if compare == "-" && captured == "-" { throw CLIError.usage("--compare and --captured cannot both read stdin") }
            // A server's error body is a few KiB; more is not one (and is not read on without bound).
            guard let data = try Verify.readBounded(path: compare, limit: Self.maxCompareBytes) else {
                throw CLIError.usage(
                    "--compare input is over \(Self.maxCompareBytes >> 20) MiB: not a server's error report")
            }
            report = ServerSignatureReport(text: TextFormatting.text(keepingBytes: data))
        }
        if let captured {
            if request.url != nil {
                throw CLIError.usage("--captured explains the captured request: give no URL with it")
            }
            Console.out(try await explainCaptured(captured, report: report))
            return
        }
        var signing = self.signing
        if signing.timestamp == nil, let date = report?.amzDate, (try? AmzDate(iso8601Basic: date)) != nil {
            signing.timestamp = date
        }
        let spec = try request.spec()
        let context = try signing.makeContext(for: spec.url, allowMissingCredentials: true)
        let signed = try spec.sign(with: context, presignExpires: presigning.presign ? presigning.expires : nil)
        let rules = context.signer.rules
        let canonicalRequest = TextFormatting.text(keepingBytes: signed.canonicalRequest.bytes)
        guard let parts = MismatchAnalysis.Parts(canonicalRequest) else {
            throw CLIError.failure("internal error: canonical request did not split into its parts")
        }
        let v: (String) -> String = { TextFormatting.visible($0) }
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        line(
            "Rules: \(rules.doubleEncodePath ? "encode the path twice" : "encode the path once"), \(rules.normalizePath ? "normalize the path" : "never normalize the path"), \(rules.sendContentSHA256 ? "send x-amz-content-sha256" : "no x-amz-content-sha256")"
        )
        line("Request target (as sent): \(v(signed.request.path ?? "/"))")
        line()
        out += Self.stages(parts)
        line(
            "Canonical request (SHA-256 \(signed.stringToSign.text.split(separator: "\n").last.map(String.init) ?? "")):"
        )
        out += Self.quoted(canonicalRequest)
        line()
        line("Credential scope:   \(signed.scope)")
        line("String to sign:")
        out += Self.quoted(signed.stringToSign.text)
        line()
        if context.credentialSource == CLIError.placeholderCredentialSource {
            line(
                "Signature:          (no credentials found; signed with a placeholder key, so only the stages above are meaningful)"
            )
        } else {
            line("Signature:          \(signed.signature.hex)")
            if let auth = signed.authorization {
                line("Authorization:      \(auth)")
            } else {
                line("URL:                \(signed.url)")
            }
        }
        if let report {
            let placeholder = context.credentialSource == CLIError.placeholderCredentialSource
            let signatures = MismatchAnalysis.Signatures(
                provided: report.signatureProvided, providedAccessKeyID: report.accessKeyID,
                ours: placeholder ? nil : signed.signature.hex,
                ourAccessKeyID: placeholder ? nil : context.signer.credentials.accessKeyID)
            out += Self.comparison(
                report, canonicalRequest: canonicalRequest, stringToSign: signed.stringToSign.text,
                signatures: signatures)
        }
        Console.out(out)
    }

    /// The diff of `report` (the server's) against our canonical request and string to sign, and the
    /// likely causes.
    static func comparison(
        _ report: ServerSignatureReport, canonicalRequest: String, stringToSign: String,
        signatures: MismatchAnalysis.Signatures
    ) -> String {
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        do {
            line()
            let server = report.canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false).map(
                String.init)
            let ours = canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false).map(
                String.init)
            if server == ours {
                line("Canonical request: identical to the server's.")
            } else {
                line("Canonical request diff (- server, + ours):")
                for d in MismatchAnalysis.diff(server: server, ours: ours) { line("  " + d) }
            }
            if let sts = report.stringToSign {
                if sts == stringToSign {
                    line("String to sign: identical to the server's.")
                } else {
                    line("String to sign diff (- server, + ours):")
                    let a = sts.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                    let b = stringToSign.split(separator: "\n", omittingEmptySubsequences: false).map(
                        String.init)
                    for d in MismatchAnalysis.diff(server: a, ours: b) { line("  " + d) }
                }
            }
            line()
            line("Likely cause:")
            for cause in MismatchAnalysis.causes(
                server: report.canonicalRequest, serverStringToSign: report.stringToSign,
                ours: canonicalRequest, oursStringToSign: stringToSign, signatures: signatures)
            {
                line("  - \(cause)")
            }
        }
        return out
    }

    /// The six stages of a canonical request, a line each (the headers one per line), then a blank line.
    static func stages(_ parts: MismatchAnalysis.Parts) -> String {
        let v: (String) -> String = { TextFormatting.visible($0) }
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        line("1. HTTP method:      \(v(parts.method))")
        line("2. Canonical URI:    \(v(parts.uri))")
        line("3. Canonical query:  \(parts.query.isEmpty ? "(empty)" : v(parts.query))")
        line("4. Canonical headers:")
        for (name, value) in parts.headers { line("     \(name):\(v(value))") }
        line("5. Signed headers:   \(parts.signedHeaders)")
        line("6. Payload hash:     \(v(parts.payload))\(Explain.describePayload(parts.payload))")
        line()
        return out
    }

    /// `text` a line at a time, each as `  | <line>` with invisible bytes made visible.
    static func quoted(_ text: String) -> String {
        TextFormatting.visibleLines(text).map { "  | \($0)\n" }.joined()
    }

    static func describePayload(_ value: String) -> String {
        switch value {
        case PayloadHash.emptySHA256.value: return "  (SHA-256 of an empty body)"
        case PayloadHash.unsignedPayload.value: return "  (the body is not signed)"
        default: return value.hasPrefix("STREAMING-") ? "  (aws-chunked streaming)" : "  (SHA-256 of the body)"
        }
    }
}
