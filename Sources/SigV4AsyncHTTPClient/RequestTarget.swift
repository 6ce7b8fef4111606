#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SigV4

/// The parts of an absolute URL string that SigV4 signs, split by hand so no URL type re-encodes them.
///
/// `http://user@host:8080/a%2Fb?x=1#frag` gives scheme `http`, authority `host:8080`
/// and target `/a%2Fb?x=1`.
struct RequestTarget: Sendable, Hashable {
    var scheme: String
    var authority: String
    var target: String

    /// Splits `url` by hand. Throws for anything that is not `scheme://authority[/path][?query][#fragment]`.
    init(splitting url: String) throws(SigV4Error) {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw SigV4Error(.invalidRequestTarget, "the URL has no scheme: expected scheme://host/path")
        }
        let scheme = url[..<colon].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw SigV4Error(.invalidRequestTarget, "only http and https URLs can be signed")
        }
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty else {
            throw SigV4Error(.missingHost, "the URL has no host")
        }
        var target = String(rest[authorityEnd...])
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        self.scheme = scheme
        self.authority = String(authority)
        self.target = target
    }

    /// The origin-form target AsyncHTTPClient puts on the wire for `url` (its `URL.uri` rule).
    static func asyncHTTPClientWireTarget(_ url: String) -> String? {
        guard let parsed = URL(string: url) else { return nil }
        var uri: String
        if parsed.path.isEmpty {
            uri = "/"
        } else {
            uri = URLComponents(url: parsed, resolvingAgainstBaseURL: true)?.percentEncodedPath ?? parsed.path
        }
        if let query = parsed.query { uri += "?" + query }
        return uri
    }
}
