import Foundation

/// A URL split into scheme, authority and request target without re-encoding anything.
///
/// Foundation's `URL` percent-encodes, decodes and normalizes; SigV4 must sign the
/// request target byte for byte as it is sent, so the CLI splits the text itself:
///
/// ```swift
/// let url = try RawURL("https://bucket.s3.amazonaws.com/a%2Fb?x=1")
/// url.target // "/a%2Fb?x=1"
/// url.hostHeader // "bucket.s3.amazonaws.com"
/// ```
package struct RawURL: Sendable, Equatable {
    /// `http` or `https`, lowercased.
    package var scheme: String
    /// The host as written (IPv6 keeps its brackets).
    package var host: String
    /// The port when written.
    package var port: Int?
    /// Path and query exactly as written; `/` when the URL has no path.
    package var target: String

    /// The `Host` header value curl and the SDKs send: the port is dropped when it is the scheme's default.
    package var hostHeader: String {
        guard let port, port != defaultPort else { return host }
        return "\(host):\(port)"
    }

    package var defaultPort: Int { scheme == "https" ? 443 : 80 }

    /// The host name without IPv6 brackets, lowercased (for region inference).
    package var hostName: String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return h
    }

    /// The path part of ``target``.
    package var path: Substring {
        if let q = target.firstIndex(of: "?") { return target[..<q] }
        return target[...]
    }

    /// `scheme://host[:port]target`.
    package var text: String {
        var s = "\(scheme)://\(host)"
        if let port { s += ":\(port)" }
        return s + target
    }

    /// Parses `url`. A URL without a scheme is taken as `http://`, as curl does.
    package init(_ url: String) throws(CLIError) {
        var rest = Substring(url)
        if let range = rest.range(of: "://") {
            scheme = rest[..<range.lowerBound].lowercased()
            rest = rest[range.upperBound...]
        } else {
            scheme = "http"
        }
        guard scheme == "http" || scheme == "https" else {
            throw .usage("unsupported URL scheme '\(scheme)'", hint: "use an http:// or https:// URL")
        }
        for b in url.utf8 where b <= 0x20 || b >= 0x7f {
            throw .usage(
                "the URL contains a space, a control character or a non-ASCII byte",
                hint: "percent-encode it (for example a space as %20) so it is signed exactly as sent")
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let targetPart = rest[authorityEnd...]
        if authority.contains("@") {
            throw .usage(
                "the URL contains user information ('user@host')",
                hint: "remove it; credentials come from --access-key-id, --profile or the environment")
        }
        guard !authority.isEmpty else { throw .usage("the URL '\(url)' has no host") }
        var hostPart = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .usage("bad IPv6 host in '\(url)'") }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw .usage("bad host in '\(url)'")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw .usage("the URL '\(url)' has no host") }
        host = String(hostPart)
        if let portText {
            guard let p = Int(portText), p > 0, p < 65536 else { throw .usage("bad port in '\(url)'") }
            port = p
        }
        if targetPart.isEmpty {
            target = "/"
        } else if targetPart.hasPrefix("?") {
            target = "/" + targetPart
        } else {
            target = String(targetPart)
        }
    }
}
