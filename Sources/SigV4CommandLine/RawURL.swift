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

    /// What curl does with ``host`` before sending it as the `Host` header.
    package enum CurlHost: Sendable, Equatable {
        /// curl sends the host as written.
        case asWritten
        /// curl sends this text instead: an IPv4 address as four decimal numbers, or an IPv6 address shortened
        /// or without its zone ID (brackets kept).
        case rewritten(String)
        /// curl percent-decodes a host name (`%6cocalhost` is sent as `localhost`) and converts what that gives
        /// to IDNA or refuses it: the `%` text is never sent.
        case percentDecoded
        /// curl refuses the URL ("URL using bad/illegal format", exit 3), for the reason given.
        case refused(String)
    }

    /// What curl does with ``host``, as curl 7.88.1 (Debian 12) was seen to do it: its URL parser
    /// (`lib/urlapi.c`) reads an IPv4 address as C's `strtoul` with base 0 does (`0x` hex, `0` octal,
    /// any number of leading zeros, fewer than four parts filling the last bytes) and sends it as four
    /// decimal numbers; shortens an IPv6 address when `inet_ntop` writes it shorter (`[0:0:0:0:0:0:0:1]`
    /// as `[::1]`, `[::0001]` as `[::1]`, but `[::ABCD]` as written) and drops a zone ID; percent-decodes a
    /// host name; and refuses a host name holding any of `! $ & ' ( ) * + , ; < = > [ \ ] ^ { }`, a quote or
    /// a backquote (so `0x+7f.0.0.1`, which `strtoul` reads no further than its `0`, is refused, not rewritten).
    ///
    /// ```swift
    /// try RawURL("http://127.1:8080/").curlHost    // .rewritten("127.0.0.1"): curl sends Host: 127.0.0.1:8080
    /// try RawURL("http://127.0.0.1:8080/").curlHost  // .asWritten
    /// ```
    package var curlHost: CurlHost {
        if host.hasPrefix("[") { return Self.curlIPv6(host) }
        if let dotted = Self.curlIPv4(host) { return dotted == host ? .asWritten : .rewritten(dotted) }
        if host.contains("%") { return .percentDecoded }
        if let bad = host.first(where: { "!$&'()*+,;<=>[\\]^`{}\"/:#?@".contains($0) }) {
            return .refused("it allows no '\(bad)' in a host name")
        }
        return .asWritten
    }

    /// The IPv4 address curl reads `host` as, in dotted decimal, or nil when curl takes it for a name.
    /// Each part is what `strtoul(part, &end, 0)` reads; a part that does not end at a `.` or the end of the
    /// host, a fifth part, a value above 32 bits or a part out of its range makes the host a name.
    private static func curlIPv4(_ host: String) -> String? {
        let b = Array(host.utf8)
        var parts: [UInt64] = []
        var i = 0
        while true {
            guard i < b.count, b[i] >= 0x30, b[i] <= 0x39 else { return nil }  // no sign, no space
            var radix: UInt64 = 10
            if b[i] == 0x30 {
                radix = 8
                if i + 2 < b.count, b[i + 1] | 0x20 == 0x78, URIEncoding.hexValue(b[i + 2]) != nil {
                    radix = 16
                    i += 2
                }
            }
            var value: UInt64 = 0
            while i < b.count, let digit = URIEncoding.hexValue(b[i]).map(UInt64.init), digit < radix {
                if value <= UInt64(UInt32.max) { value = value * radix + digit }  // stays above 32 bits once there
                i += 1
            }
            guard value <= UInt64(UInt32.max) else { return nil }
            parts.append(value)
            if i == b.count { break }
            guard b[i] == 0x2e, parts.count < 4 else { return nil }
            i += 1
        }
        let lastLimit: UInt64 = (1 << (8 * (5 - UInt64(parts.count)))) - 1
        guard parts.dropLast().allSatisfy({ $0 <= 255 }), parts[parts.count - 1] <= lastLimit else { return nil }
        var address: UInt64 = parts[parts.count - 1]
        for (index, part) in parts.dropLast().enumerated() { address |= part << (24 - 8 * UInt64(index)) }
        return "\(address >> 24).\(address >> 16 & 255).\(address >> 8 & 255).\(address & 255)"
    }

    /// What curl does with a bracketed IPv6 host: only hex digits, `:` and `.` and then an optional zone
    /// ID (`%25` or `%` and 1 to 15 characters, dropped); the address must pass `inet_pton`, and is sent
    /// as `inet_ntop` writes it when that is shorter than what was written.
    private static func curlIPv6(_ host: String) -> CurlHost {
        let inside = Array(host.utf8.dropFirst().dropLast())
        let length = inside.prefix(while: { URIEncoding.hexValue($0) != nil || $0 == 0x3a || $0 == 0x2e }).count
        var hasZone = false
        if length != inside.count {
            guard inside[length] == 0x25 else { return .refused("it reads no IPv6 address between the brackets") }
            var zone = inside[(length + 1)...]
            if zone.starts(with: Array("25".utf8)), zone.count > 2 { zone = zone.dropFirst(2) }
            guard (1...15).contains(zone.count) else {
                return .refused("it takes an IPv6 zone ID of 1 to 15 characters")
            }
            hasZone = true
        }
        let written = String(decoding: inside[..<length], as: UTF8.self)
        var address = in6_addr()
        guard inet_pton(AF_INET6, written, &address) == 1 else {
            return .refused("it reads no IPv6 address between the brackets")
        }
        var sent = written
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil {
            let short = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if short.utf8.count < written.utf8.count { sent = short }
        }
        return sent == written && !hasZone ? .asWritten : .rewritten("[\(sent)]")
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
