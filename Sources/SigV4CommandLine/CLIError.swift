/// An error the CLI reports as one line on stderr, with a hint and an exit code.
///
/// Usage errors (bad or missing arguments) exit 2; failures (an unreadable file,
/// a refused curl option that cannot be signed, curl not found) exit 1.
///
/// ```swift
/// throw CLIError.usage("--region is missing", hint: "pass --region us-east-1 or set AWS_REGION")
/// ```
package struct CLIError: Error, CustomStringConvertible {
    package enum Kind: Sendable { case usage, failure }

    package var kind: Kind
    package var message: String
    package var hint: String?

    package init(kind: Kind, message: String, hint: String?) {
        self.kind = kind
        self.message = message
        self.hint = hint
    }

    package static func usage(_ message: String, hint: String? = nil) -> CLIError {
        CLIError(kind: .usage, message: message, hint: hint)
    }

    package static func failure(_ message: String, hint: String? = nil) -> CLIError {
        CLIError(kind: .failure, message: message, hint: hint)
    }

    /// The credential source `explain` reports when it signs with a placeholder key.
    package static let placeholderCredentialSource = "placeholder (no credentials found)"

    package var exitCode: Int32 { kind == .usage ? 2 : 1 }

    /// The single line printed on stderr.
    package var line: String {
        var text = "sigv4: error: \(message)"
        if let hint { text += " (hint: \(hint))" }
        return text.replacingNewlines()
    }

    package var description: String { line }
}

extension String {
    /// Replaces line breaks with `; ` so an error always stays on one line.
    package func replacingNewlines() -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        var pendingBreak = false
        for ch in self {
            if ch == "\n" || ch == "\r" || ch == "\r\n" {
                pendingBreak = true
                continue
            }
            if pendingBreak {
                if !out.isEmpty { out += "; " }
                pendingBreak = false
            }
            out.append(ch)
        }
        return out
    }
}
