import SigV4

/// Compares a server's canonical request (and string to sign) with ours and names the likely cause.
///
/// ```swift
/// let server = try ServerSignatureReport(text: xmlFromS3)
/// let causes = MismatchAnalysis.causes(server: server, ourCanonical: cr, ourStringToSign: sts)
/// // ["header 'range': the server signed \"bytes=0-10\", we sign \"bytes=0-9\""]
/// ```
enum MismatchAnalysis {
    /// The six parts of a canonical request.
    struct Parts {
        var method: String
        var uri: String
        var query: String
        var headers: [(String, String)]
        var signedHeaders: String
        var payload: String

        init?(_ text: String) {
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard lines.count >= 6, let blank = lines[3...].firstIndex(of: ""), blank + 2 < lines.count else {
                return nil
            }
            method = lines[0]
            uri = lines[1]
            query = lines[2]
            headers = lines[3..<blank].map { line in
                guard let c = line.firstIndex(of: ":") else { return (line, "") }
                return (String(line[..<c]), String(line[line.index(after: c)...]))
            }
            signedHeaders = lines[blank + 1]
            payload = lines[(blank + 2)...].joined(separator: "\n")
        }
    }

    /// Decodes `%XX` escapes (for comparing encodings): the library's rule (`URIEncoding.decode`).
    static func percentDecoded(_ s: String) -> [UInt8] { URIEncoding.decode(Array(s.utf8)) }

    static func fullyDecoded(_ s: String) -> [UInt8] {
        var current = Array(s.utf8)
        for _ in 0..<3 {
            let next = percentDecoded(String(decoding: current, as: UTF8.self))
            if next == current { break }
            current = next
        }
        return current
    }

    /// What the client sent, from the server's error, and what these credentials give, to tell a
    /// server-side secret from a client that signed otherwise once the strings to sign agree.
    struct Signatures {
        /// `<SignatureProvided>`: the signature the client sent.
        var provided: String?
        /// `<AWSAccessKeyId>`: the key id the client signed with.
        var providedAccessKeyID: String?
        /// Our signature over our string to sign, and the key id we sign with; nil when we sign
        /// with the placeholder key (no credentials given), which says nothing about the secret.
        var ours: String?
        var ourAccessKeyID: String?
    }

    static func causes(
        server: String, serverStringToSign: String?, ours: String, oursStringToSign: String,
        signatures: Signatures = Signatures()
    ) -> [String] {
        var causes: [String] = []
        let v: (String) -> String = { TextFormatting.visible($0) }
        guard let theirs = Parts(server) else {
            return [
                "the server text is not a canonical request (expected method, URI, query, headers, a blank line, signed headers and the payload hash)"
            ]
        }
        guard let mine = Parts(ours) else { return ["internal: our canonical request did not parse"] }
        if theirs.method != mine.method {
            causes.append("method: the server signed '\(v(theirs.method))', we sign '\(v(mine.method))' (-X)")
        }
        if theirs.uri != mine.uri {
            if fullyDecoded(theirs.uri) == fullyDecoded(mine.uri) {
                causes.append(
                    "encoding of the path: the server's canonical URI is '\(v(theirs.uri))', ours is '\(v(mine.uri))'; S3 encodes the path once (--s3), other services twice (--no-s3, --[no-]double-encode)"
                )
            } else if theirs.uri.contains("/./") || theirs.uri.contains("/../") || theirs.uri.contains("//")
                || mine.uri.contains("/./") || mine.uri.contains("/../") || mine.uri.contains("//")
            {
                causes.append(
                    "path normalization: the server's canonical URI is '\(v(theirs.uri))', ours is '\(v(mine.uri))' (--[no-]normalize-path)"
                )
            } else {
                causes.append("the path differs: the server signed '\(v(theirs.uri))', we sign '\(v(mine.uri))'")
            }
        }
        if theirs.query != mine.query {
            let t = theirs.query.replacingAllPlus(), m = mine.query.replacingAllPlus()
            if fullyDecoded(t) == fullyDecoded(m) || fullyDecoded(theirs.query) == fullyDecoded(mine.query) {
                causes.append(
                    "encoding of the query: the server has '\(v(theirs.query))', we have '\(v(mine.query))' (a '+' read as a space, or a reserved character left unencoded)"
                )
            } else {
                causes.append("the query differs: the server signed '\(v(theirs.query))', we sign '\(v(mine.query))'")
            }
        }
        let theirNames = Set(theirs.headers.map(\.0)), myNames = Set(mine.headers.map(\.0))
        for (name, value) in theirs.headers where !myNames.contains(name) {
            causes.append(
                "a missing signed header: the server signed '\(name)' (value \"\(v(value))\") and we do not; add -H '\(name): \(value)' or check --sign-header"
            )
        }
        for (name, value) in mine.headers where !theirNames.contains(name) {
            causes.append(
                "a signed header the server did not see: we sign '\(name)' (value \"\(v(value))\"); a proxy may drop it, or exclude it with --exclude-header \(name)"
            )
        }
        for (name, value) in theirs.headers {
            guard let ourValue = mine.headers.first(where: { $0.0 == name })?.1, ourValue != value else { continue }
            if name == "x-amz-date" {
                causes.append(
                    "clock: x-amz-date differs (server \(value), ours \(ourValue)); sign with --timestamp \(value) to compare, and check the system clock"
                )
            } else if name == "host" {
                causes.append(
                    "header 'host': the server signed \"\(v(value))\", we sign \"\(v(ourValue))\" (a port, a proxy or virtual-host vs path style)"
                )
            } else if name == "x-amz-content-sha256" {
                causes.append(
                    "header 'x-amz-content-sha256': the server signed \(value), we sign \(ourValue) (the body or --unsigned-payload)"
                )
            } else {
                causes.append("header '\(name)': the server signed \"\(v(value))\", we sign \"\(v(ourValue))\"")
            }
        }
        if theirs.payload != mine.payload
            && !causes.contains(where: { $0.hasPrefix("header 'x-amz-content-sha256'") })
        {
            causes.append(
                "payload hash: the server computed \(v(theirs.payload)), we sign \(v(mine.payload)) (the body sent differs from the body signed, or UNSIGNED-PAYLOAD)"
            )
        }
        if causes.isEmpty && server != ours {
            causes.append(
                "the canonical requests differ in bytes that are not visible (trailing whitespace or line endings)")
        }
        if causes.isEmpty {
            guard let sts = serverStringToSign else {
                causes.append(
                    "the canonical requests match; if the signature still differs, check the scope (date, --region, --service) and the secret key"
                )
                return causes
            }
            let a = sts.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let b = oursStringToSign.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if a.count >= 3, b.count >= 3 {
                if a[1] != b[1] {
                    causes.append("clock: the server's request time is \(a[1]), ours is \(b[1])")
                }
                let sa = a[2].split(separator: "/").map(String.init), sb = b[2].split(separator: "/").map(String.init)
                if sa.count == 4, sb.count == 4 {
                    if sa[0] != sb[0] {
                        causes.append("clock: the scope date is \(sa[0]) at the server, \(sb[0]) here")
                    }
                    if sa[1] != sb[1] {
                        causes.append("region: the server expects '\(sa[1])', we sign '\(sb[1])' (--region)")
                    }
                    if sa[2] != sb[2] {
                        causes.append("service: the server expects '\(sa[2])', we sign '\(sb[2])' (--service)")
                    }
                }
            }
            if causes.isEmpty && sts != oursStringToSign {
                causes.append("the strings to sign differ: \(v(sts)) vs \(v(oursStringToSign))")
            }
            if causes.isEmpty {
                causes.append(secretCause(signatures))
            }
        }
        return causes
    }

    /// The cause once the canonical request and string to sign match: the server's secret, or a
    /// client that signed with another key or over other bytes, told apart by `<SignatureProvided>`
    /// (the client's signature) against ours over the same string to sign.
    static func secretCause(_ s: Signatures) -> String {
        let match = "the canonical request and string to sign match"
        guard let sent = s.provided, let ours = s.ours else {
            return "\(match): the secret key differs (a wrong secret, or an access key id of another account)"
        }
        let provided = sent.lowercased()
        if provided == ours && sent != provided {
            return "\(match) and the client's signature is ours in uppercase hex: AWS compares signatures as "
                + "lowercase hex text, so the client must send its hex digits in lowercase"
        }
        if let theirs = s.providedAccessKeyID, let mine = s.ourAccessKeyID, theirs != mine {
            return "\(match), but the client signed with access key id \(theirs) and these credentials are \(mine): explain with the client's credentials"
        }
        if provided == ours {
            return "\(match) and the client's signature equals ours: the server holds another secret for this access key id (a key rotated or mistyped on the server's side)"
        }
        return "\(match), but the client sent signature \(provided) where these credentials give \(ours): the client signed with another secret, or signed other bytes than it sent (for example a path it encoded twice or a header changed after signing)"
    }

    /// A line diff (longest common subsequence): `  ` same, `- ` server only, `+ ` ours only.
    static func diff(server: [String], ours: [String]) -> [String] {
        let n = server.count, m = ours.count
        guard n <= 2000, m <= 2000 else { return ["(too long to diff)"] }
        var lcs = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                lcs[i][j] = server[i] == ours[j] ? lcs[i + 1][j + 1] + 1 : max(lcs[i + 1][j], lcs[i][j + 1])
            }
        }
        var out: [String] = []
        var i = 0, j = 0
        while i < n || j < m {
            if i < n, j < m, server[i] == ours[j] {
                out.append("  " + TextFormatting.visible(server[i]))
                i += 1
                j += 1
            } else if i < n, j == m || lcs[i + 1][j] >= lcs[i][j + 1] {
                out.append("- " + TextFormatting.visible(server[i]))
                i += 1
            } else {
                out.append("+ " + TextFormatting.visible(ours[j]))
                j += 1
            }
        }
        return out
    }
}

extension String {
    fileprivate func replacingAllPlus() -> String {
        String(unicodeScalars.map { $0 == "+" ? "%20" : String($0) }.joined())
    }
}
