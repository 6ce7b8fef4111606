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

    /// What curl 7.88.1 (Debian 12) was seen to do with each host (`curl -v -g --connect-to` to a local
    /// `python3 -m http.server`, reading the `Host` line it sent, or its exit 3 for a refused URL).
    static let curlHosts: [(String, RawURL.CurlHost)] = [
        ("127.0.0.1", .asWritten),
        ("127.1", .rewritten("127.0.0.1")),
        ("0X7F.0.0.1", .rewritten("127.0.0.1")),
        ("0000000000000127.0.0.1", .rewritten("87.0.0.1")),  // octal, however many zeros
        ("00000000000000000000000000000000000000000037777777777", .rewritten("255.255.255.255")),
        ("0x0000000000000000000000000000000000000000ffffffff", .rewritten("255.255.255.255")),
        ("0x0.0x0.0x0.0x0", .rewritten("0.0.0.0")),
        ("0xAbCdEf01", .rewritten("171.205.239.1")),  // hex digits in either case
        ("017.0xfF.9", .rewritten("15.255.0.9")),
        ("0", .rewritten("0.0.0.0")),
        ("1.16777215", .rewritten("1.255.255.255")),
        ("1.2.65535", .rewritten("1.2.255.255")),
        ("127.0.0.01", .rewritten("127.0.0.1")),
        ("1.16777216", .asWritten),
        ("1.2.65536", .asWritten),
        ("4294967296", .asWritten),
        ("0x100000000", .asWritten),
        ("0x1ffffffffffffffff.1", .asWritten),
        ("18446744073709551616", .asWritten),
        ("10.0.0.08", .asWritten),  // strtoul stops at the 8
        ("1.2.3.4.5", .asWritten),
        ("127.0.0.1.", .asWritten),
        ("127.1.", .asWritten),
        ("0x.0.0.1", .asWritten),
        ("0x-7f.0.0.1", .asWritten),
        ("0x1g", .asWritten),
        ("LOCALHOST", .asWritten),
        ("a_b", .asWritten),
        ("a|b", .asWritten),
        ("0x+7f.0.0.1", .refused("it allows no '+' in a host name")),
        ("+127.0.0.1", .refused("it allows no '+' in a host name")),
        ("a*b", .refused("it allows no '*' in a host name")),
        ("a!b", .refused("it allows no '!' in a host name")),
        ("%6cocalhost", .percentDecoded),
        ("a%zz", .percentDecoded),  // sent as a%25zz
        ("[::1]", .asWritten),
        ("[::]", .asWritten),
        ("[::ABCD]", .asWritten),  // inet_ntop's ::abcd is no shorter
        ("[ABCD::]", .asWritten),
        ("[::FFFF:7f00:1]", .asWritten),
        ("[::ffff:127.0.0.1]", .asWritten),
        ("[::1.2.3.4]", .asWritten),
        ("[0:0:0:0:0:0:0:1]", .rewritten("[::1]")),
        ("[::0001]", .rewritten("[::1]")),
        ("[0::1]", .rewritten("[::1]")),
        ("[0::]", .rewritten("[::]")),
        ("[abcd::0]", .rewritten("[abcd::]")),
        ("[::0.0.0.1]", .rewritten("[::1]")),
        ("[0:0:0:0:0:ffff:1.2.3.4]", .rewritten("[::ffff:1.2.3.4]")),
        ("[1:0:0:2:0:0:0:3]", .rewritten("[1:0:0:2::3]")),
        ("[1:0:0:0:2:0:0:3]", .rewritten("[1::2:0:0:3]")),
        ("[fe80::1%25eth0]", .rewritten("[fe80::1]")),
        ("[::1%eth0]", .rewritten("[::1]")),
        ("[::1%25]", .rewritten("[::1]")),
        ("[::1%25eth012345678901]", .rewritten("[::1]")),
        ("[::1%25eth0123456789012]", .refused("it takes an IPv6 zone ID of 1 to 15 characters")),
        ("[::1%]", .refused("it takes an IPv6 zone ID of 1 to 15 characters")),
        ("[v1.x]", .refused("it reads no IPv6 address between the brackets")),
        ("[1::2::3]", .refused("it reads no IPv6 address between the brackets")),
        ("[1.2.3.4]", .refused("it reads no IPv6 address between the brackets")),
        ("[::g]", .refused("it reads no IPv6 address between the brackets")),
    ]

    @Test("curlHost says what curl 7.88.1 sends for the host, or that it refuses it", arguments: curlHosts)
    func curlHost(_ host: String, _ expected: RawURL.CurlHost) throws {
        #expect(try RawURL("http://\(host)/").curlHost == expected)
    }
}
