#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SigV4

extension RequestTarget {
    /// The origin-form target AsyncHTTPClient puts on the wire for `url` (its `URL.uri` rule).
    ///
    /// The adapter signs ``RequestTarget/path`` and refuses a URL for which this differs; the gateway
    /// refuses to forward a request whose URL this would rewrite (a path whose escapes do not decode
    /// to UTF-8 goes as `/`).
    package static func asyncHTTPClientWireTarget(_ url: String) -> String? {
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
