/// The scheme, authority and origin-form target of an absolute URL string, split by hand so that no
/// URL type decodes or re-encodes the bytes that SigV4 signs.
///
/// SigV4 signs the request target exactly as it goes on the wire (AWS documentation: "Create a
/// canonical request", `CanonicalURI` and `CanonicalQueryString`). URL types normalize: they decode
/// `%2F`, resolve `.` and `..`, or re-encode bytes they consider unsafe, and a signature over their
/// output no longer matches the bytes sent. The client adapters split the URL text with this type
/// instead and give the parts to `HTTPRequest`.
///
/// The URL must be `scheme://[userinfo@]authority[/path][?query][#fragment]` with an `http` or
/// `https` scheme (any letter case; stored lowercased). The user information and the fragment are
/// dropped (neither is sent); everything else is kept byte for byte. An empty path becomes `/`.
///
/// ```swift
/// let parts = try RequestTarget(absoluteURL: "http://user@host:8080/a%2Fb?x=1#frag")
/// // parts.scheme == "http", parts.authority == "host:8080", parts.path == "/a%2Fb?x=1"
/// let request = HTTPRequest(method: .get, scheme: parts.scheme, authority: parts.hostHeader, path: parts.path)
/// ```
public struct RequestTarget: Sendable, Hashable {
    /// The scheme, lowercased: `http`, `https`, `ws` or `wss`.
    public let scheme: String
    /// The authority as written in the URL (`host` or `host:port`), without user information.
    public let authority: String
    /// The origin-form request target: the path and query as written, starting with `/`, without
    /// the fragment. The same meaning as `HTTPRequest.path`.
    public let path: String

    /// Splits `url` into scheme, authority and target without decoding anything.
    ///
    /// ```swift
    /// let parts = try RequestTarget(absoluteURL: "https://examplebucket.s3.amazonaws.com?list-type=2")
    /// // parts.path == "/?list-type=2"
    /// ```
    ///
    /// - Throws: `SigV4Error.invalidRequestTarget` when `url` has no `scheme://` or a scheme other than
    ///   `http`, `https`, `ws` or `wss`; `SigV4Error.missingHost` when the authority is empty.
    public init(absoluteURL url: String) throws(SigV4Error) {
        let parts = try Self.split(absoluteURL: url)
        self.scheme = parts.scheme
        self.authority = parts.authority
        self.path = parts.path
    }

    /// The split behind ``init(absoluteURL:)``, with the user information it drops (nil when the
    /// URL has no `@` before its target), for callers that refuse URLs carrying it.
    package static func split(absoluteURL url: String) throws(SigV4Error)
        -> (scheme: String, userInfo: Substring?, authority: String, path: String)
    {
        guard let colon = url.firstIndex(of: ":"), url[colon...].hasPrefix("://") else {
            throw SigV4Error(.invalidRequestTarget, "the URL has no scheme: expected scheme://host/path")
        }
        let scheme = url[..<colon].lowercased()
        // ws and wss: a WebSocket handshake is an HTTP GET, signed as one (AWS IoT, Transcribe and API
        // Gateway presign or sign them).
        guard ["http", "https", "ws", "wss"].contains(scheme) else {
            throw SigV4Error(.invalidRequestTarget, "only http, https, ws and wss URLs can be signed")
        }
        var rest = url[url.index(colon, offsetBy: 3)...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var userInfo: Substring?
        if let at = authority.lastIndex(of: "@") {
            userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
        }
        guard !authority.isEmpty else {
            throw SigV4Error(.missingHost, "the URL has no host")
        }
        var path = String(rest[authorityEnd...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        return (scheme, userInfo, String(authority), path)
    }

    /// The authority as URLSession and most HTTP clients send it in `Host`: without the scheme's
    /// default port (`:80` for `http`, `:443` for `https`).
    ///
    /// ```swift
    /// try RequestTarget(absoluteURL: "https://bucket.example.com:443/key").hostHeader // "bucket.example.com"
    /// ```
    public var hostHeader: String {
        let defaultPort = scheme == "https" || scheme == "wss" ? ":443" : ":80"
        if authority.hasSuffix(defaultPort) {
            return String(authority.dropLast(defaultPort.count))
        }
        return authority
    }
}
