import HTTPTypes
import SigV4
import Testing

/// `RequestTarget` splits absolute URL text without decoding, normalizing or re-encoding anything.
@Suite("Request target splitting")
struct RequestTargetTests {
    /// (URL, scheme, authority, path).
    static let splits: [(String, String, String, String)] = [
        ("http://user@host:8080/a%2Fb?x=1#frag", "http", "host:8080", "/a%2Fb?x=1"),
        ("HTTPS://Example.COM", "https", "Example.COM", "/"),
        ("https://bucket.example.com?list-type=2", "https", "bucket.example.com", "/?list-type=2"),
        ("http://h/a/./b/../c", "http", "h", "/a/./b/../c"),
        ("http://h//double//slash", "http", "h", "//double//slash"),
        ("http://h/%E2%82%AC/x?prefix=a%2Fb&x=a+b", "http", "h", "/%E2%82%AC/x?prefix=a%2Fb&x=a+b"),
        ("http://h/p#frag?not-a-query", "http", "h", "/p"),
        ("http://h#frag", "http", "h", "/"),
        ("http://u:p@ss@h/x", "http", "h", "/x"),
        ("http://[::1]:9000/k?acl", "http", "[::1]:9000", "/k?acl"),
        ("https://h/a b", "https", "h", "/a b"),
    ]

    @Test("an absolute URL splits into scheme, authority and the target as written", arguments: splits)
    func splitsByHand(url: String, scheme: String, authority: String, path: String) throws {
        let parts = try RequestTarget(absoluteURL: url)
        #expect(parts.scheme == scheme)
        #expect(parts.authority == authority)
        #expect(parts.path == path)
    }

    @Test(
        "text that is not an http or https URL is refused as an invalid request target",
        arguments: ["", ":", "example.com/x", "/relative?x=1", "http:/h/x", "http:h", "ftp://h/x", "file:///etc/passwd"])
    func refusesNonHTTPURLs(url: String) {
        let error = #expect(throws: SigV4Error.self) { try RequestTarget(absoluteURL: url) }
        #expect(error?.code == .invalidRequestTarget)
    }

    @Test(
        "a URL with an empty authority is refused as missing its host",
        arguments: ["http://", "https:///x", "http://user@/x", "http://?x=1", "http://#frag"])
    func refusesEmptyAuthority(url: String) {
        let error = #expect(throws: SigV4Error.self) { try RequestTarget(absoluteURL: url) }
        #expect(error?.code == .missingHost)
    }

    @Test(
        "the Host header drops only the scheme's own default port",
        arguments: [
            ("https://h:443/", "h"), ("http://h:80/", "h"), ("http://h:443/", "h:443"), ("https://h:80/", "h:80"),
            ("http://h:8080/", "h:8080"), ("https://h/", "h"), ("http://[::1]:80/", "[::1]"),
            // WebSocket handshakes: wss's default port is 443, ws's 80.
            ("wss://h:443/mqtt", "h"), ("ws://h:80/", "h"), ("wss://h:80/", "h:80"), ("wss://h:8443/", "h:8443"),
        ])
    func hostHeaderDropsDefaultPort(url: String, host: String) throws {
        #expect(try RequestTarget(absoluteURL: url).hostHeader == host)
    }

    @Test("the parts build an HTTPRequest the signer signs with the target unchanged")
    func partsSignAsWritten() throws {
        let parts = try RequestTarget(absoluteURL: "https://examplebucket.s3.amazonaws.com/photos/a%2Fb.jpg?acl")
        let request = HTTPRequest(method: .get, scheme: parts.scheme, authority: parts.hostHeader, path: parts.path)
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret"), region: "us-east-1",
            service: "s3")
        let signed = try signer.sign(request, payload: .emptySHA256, at: AmzDate(secondsSince1970: 1_440_938_160))
        #expect(signed.canonicalRequest.text.hasPrefix("GET\n/photos/a%2Fb.jpg\nacl=\n"))
    }
}
