import SigV4CommandLine
import Testing

/// `RawURL`, the CLI's URL split: curl's conventions (no scheme means `http`), refusals with a
/// usage message, and the target kept byte for byte.
@Suite("RawURL: the CLI's byte-exact URL split")
struct RawURLTests {
    struct Case: Sendable, CustomStringConvertible {
        var url: String
        var scheme: String
        var host: String
        var port: Int?
        var target: String
        var hostHeader: String
        var description: String { url }
    }

    static let accepted: [Case] = [
        Case(url: "https://bucket.s3.amazonaws.com/a%2Fb?x=1", scheme: "https", host: "bucket.s3.amazonaws.com", port: nil,
             target: "/a%2Fb?x=1", hostHeader: "bucket.s3.amazonaws.com"),
        Case(url: "localhost:8080/p?q", scheme: "http", host: "localhost", port: 8080, target: "/p?q",
             hostHeader: "localhost:8080"),
        Case(url: "HTTPS://h:443", scheme: "https", host: "h", port: 443, target: "/", hostHeader: "h"),
        Case(url: "http://h?list-type=2", scheme: "http", host: "h", port: nil, target: "/?list-type=2", hostHeader: "h"),
        Case(url: "http://[::1]:9000/x/../y#frag", scheme: "http", host: "[::1]", port: 9000, target: "/x/../y",
             hostHeader: "[::1]:9000"),
        Case(url: "http://[fe80::1]/", scheme: "http", host: "[fe80::1]", port: nil, target: "/", hostHeader: "[fe80::1]"),
        Case(url: "http://h:80//a//b/?", scheme: "http", host: "h", port: 80, target: "//a//b/?", hostHeader: "h"),
        // WebSocket handshakes (AWS IoT, Transcribe, API Gateway): signed as HTTP GETs, their ports 80 and 443.
        Case(url: "wss://abc-ats.iot.us-east-1.amazonaws.com:443/mqtt", scheme: "wss", host: "abc-ats.iot.us-east-1.amazonaws.com",
             port: 443, target: "/mqtt", hostHeader: "abc-ats.iot.us-east-1.amazonaws.com"),
        Case(url: "WS://h:80?x", scheme: "ws", host: "h", port: 80, target: "/?x", hostHeader: "h"),
        Case(url: "wss://h:8443/stream-transcription-websocket", scheme: "wss", host: "h", port: 8443,
             target: "/stream-transcription-websocket", hostHeader: "h:8443"),
    ]

    @Test("splits scheme, host, port and target without touching the target", arguments: accepted)
    func splits(_ c: Case) throws {
        let url = try RawURL(c.url)
        #expect(url.scheme == c.scheme)
        #expect(url.host == c.host)
        #expect(url.port == c.port)
        #expect(url.target == c.target)
        #expect(url.hostHeader == c.hostHeader)
    }

    static let refused: [(String, String)] = [
        ("ftp://h/x", "unsupported URL scheme 'ftp'"),
        ("http://user:pw@h/x", "user information"),
        ("http:///x", "has no host"),
        ("http://", "has no host"),
        ("http://h:0/", "bad port"),
        ("http://h:99999/", "bad port"),
        ("http://h:x/", "bad port"),
        ("http://[::1/", "bad IPv6 host"),
        ("http://[::1]x/", "bad host"),
        ("http://h/a b", "space"),
        ("http://h/\u{e9}", "non-ASCII"),
    ]

    @Test("refuses what cannot be signed as sent, with a usage message", arguments: refused)
    func refuses(_ url: String, _ expected: String) {
        #expect {
            _ = try RawURL(url)
        } throws: { error in
            guard let e = error as? CLIError else { return false }
            return e.kind == .usage && e.message.contains(expected)
        }
    }
}
