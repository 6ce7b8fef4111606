import Foundation
import SigV4

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
    /// `http`, `https`, `ws` or `wss`, lowercased (a WebSocket handshake is signed as an HTTP request).
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

    package var defaultPort: Int { scheme == "https" || scheme == "wss" ? 443 : 80 }

    /// The host name without IPv6 brackets, lowercased (for region inference).
    package var hostName: String {
        var h = host.lowercased()
        if h.hasPrefix("["), h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        return h
    }

    /// True when curl sends another `Host` than ``host``: an IPv4 address written other than as four
    /// decimal numbers 0 to 255 without leading zeros (`127.1`, `0x7f.0.0.1`, `0177.0.0.1`,
    /// `2130706433`), which curl's URL parser reads as C's `strtoul` does (`0x` hex, `0` octal, fewer
    /// than four parts filling the last bytes) and rewrites to dotted decimal before sending.
    ///
    /// ```swift
    /// try RawURL("http://127.1:8080/").curlRewritesHost    // true: curl sends Host: 127.0.0.1:8080
    /// try RawURL("http://127.0.0.1:8080/").curlRewritesHost  // false
    /// ```
    package var curlRewritesHost: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return false }
        var canonical = parts.count == 4
        for (index, part) in parts.enumerated() {
            let b = Array(part.utf8)
            guard let first = b.first, b.count <= 12 else { return false }
            let value: UInt64?
            if b.count >= 2, first == 0x30, b[1] | 0x20 == 0x78 {
                value = UInt64(String(decoding: b.dropFirst(2), as: UTF8.self), radix: 16)
                canonical = false
            } else if first == 0x30, b.count > 1 {
                value = UInt64(String(part), radix: 8)
                canonical = false
            } else {
                value = b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) ? UInt64(String(part)) : nil
            }
            // Out of range: not an address to curl, which then sends the name as written.
            let isLast = index == parts.count - 1
            guard let value, value <= (isLast ? (1 << (8 * (5 - parts.count))) - 1 : 255) else { return false }
        }
        return !canonical
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

    /// Parses `url`. A URL without a scheme is taken as `http://`, as curl does. The split itself is
    /// `RequestTarget`'s (the client adapters' too); this adds curl's conventions and refuses, with a
    /// usage message, what cannot be signed as sent.
    package init(_ url: String) throws(CLIError) {
        let absolute: String
        if let range = url.range(of: "://") {
            let scheme = url[..<range.lowerBound].lowercased()
            guard ["http", "https", "ws", "wss"].contains(scheme) else {
                throw .usage("unsupported URL scheme '\(scheme)'", hint: "use an http://, https://, ws:// or wss:// URL")
            }
            absolute = url
        } else {
            absolute = "http://" + url
        }
        for b in url.utf8 where b <= 0x20 || b >= 0x7f {
            throw .usage(
                "the URL contains a space, a control character or a non-ASCII byte",
                hint: "percent-encode it (for example a space as %20) so it is signed exactly as sent")
        }
        let parts: (scheme: String, userInfo: Substring?, authority: String, path: String)
        do {
            parts = try RequestTarget.split(absoluteURL: absolute)
        } catch {
            throw .usage("the URL '\(url)' has no host")
        }
        if parts.userInfo != nil {
            throw .usage(
                "the URL contains user information ('user@host')",
                hint: "remove it; credentials come from --access-key-id, --profile or the environment")
        }
        scheme = parts.scheme
        target = parts.path
        let authority = Substring(parts.authority)
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
    }
}
