import Foundation
import HTTPTypes
import SigV4
import Testing

/// Session 31's attacks on what `sigv4 serve` forwards: a key holder (or the holder of a captured or
/// presigned request) adds unsigned parts, or framing, that would make the upstream do what the
/// signature did not authorize. Each test drives the built binary in front of the recording upstream
/// of ``GatewayForwardingTests/Rig`` with raw HTTP/1.1 bytes.
@Suite("sigv4 serve forwards nothing the signature did not cover (built binary)", .serialized)
struct GatewayForwardingAttackTests {
    typealias Rig = GatewayForwardingTests.Rig

    /// One request as the upstream received it (its JSON line): method, target, headers (names
    /// lowercased) and how many body bytes it read.
    struct Received {
        var method: String
        var target: String
        var fields: [(String, String)]
        var bytes: Int
        var names: [String] { fields.map(\.0) }
    }

    /// Every request the upstream received, in order.
    static func requests(_ rig: Rig) -> [Received] {
        String(decoding: rig.upstream.stdout, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let method = object["method"] as? String, let target = object["target"] as? String,
                let headers = object["headers"] as? [[String]], let bytes = object["bytes"] as? Int
            else { return nil }
            return Received(
                method: method, target: target, fields: headers.map { ($0[0].lowercased(), $0.count > 1 ? $0[1] : "") },
                bytes: bytes)
        }
    }

    /// The upstream's request for `target`, exactly.
    static func request(_ rig: Rig, _ target: String) -> Received? { requests(rig).first { $0.target == target } }

    @Test("a Connection field naming a signed header is refused (InvalidRequest): the gateway would otherwise drop that header and forward less than was signed")
    func connectionCannotStripASignedHeader() throws {
        let rig = try Rig()
        // A conditional create (`If-None-Match: *`) and an object-lock setting, both signed; then, unsigned,
        // a Connection field that names them as hop-by-hop.
        let body = Array("hello".utf8)
        for (n, connection) in ["If-None-Match", "keep-alive, X-Amz-Object-Lock-Mode", "content-length"].enumerated() {
            let signed = try rig.signed(
                .put, "/bucket/locked\(n)",
                [
                    HTTPField.Name("If-None-Match")!: "*", HTTPField.Name("x-amz-object-lock-mode")!: "COMPLIANCE",
                    .contentLength: "5",
                ], payload: .sha256(of: body))
            #expect(signed.contains { $0.0 == "Authorization" && $0.1.contains("content-length;host;if-none-match;") })
            let (status, response) = try rig.send("PUT", "/bucket/locked\(n)", signed + [("Connection", connection)], body: body)
            #expect(status == 400 && response.contains("<Code>InvalidRequest</Code>"), "\(connection): \(response)")
        }
        #expect(Self.requests(rig).isEmpty, "nothing reaches the upstream: \(rig.received)")
        // Naming unsigned or hop-by-hop headers is fine, and the signed ones go through whole.
        let again = try rig.signed(
            .put, "/bucket/kept",
            [HTTPField.Name("If-None-Match")!: "*", .contentLength: "5", HTTPField.Name("TE")!: "trailers"],
            payload: .sha256(of: body))
        let (status, response) = try rig.send(
            "PUT", "/bucket/kept",
            again + [("Connection", "TE, X-Hop, X-SigV4-Principal"), ("X-Hop", "1"), ("X-SigV4-Principal", "mallory")], body: body)
        #expect(status == 200, "\(response)")
        let forwarded = try #require(Self.request(rig, "/bucket/kept"), "\(rig.received)")
        let names = forwarded.names
        #expect(names.contains("if-none-match") && !names.contains("x-hop") && !names.contains("te"), "\(names)")
        #expect(forwarded.bytes == 5)
        // The gateway's own identity headers are added after the client's Connection options were applied.
        #expect(forwarded.fields.filter { $0.0 == "x-sigv4-principal" }.map(\.1) == ["alice"], "\(forwarded.fields)")
    }

    @Test("client-sent forwarding and override headers (X-Forwarded-*, Forwarded, X-Real-IP, X-HTTP-Method-Override, X-Original-URL, ...) never reach the upstream, in any spelling, signed or not; the gateway sends its own X-Forwarded-For (its peer) and X-Forwarded-Proto")
    func forwardingAndOverrideHeadersAreDropped() throws {
        let rig = try Rig()
        let spoofed: [(String, String)] = [
            ("X-Forwarded-For", "10.0.0.1"), ("x-forwarded-host", "admin.internal"), ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Port", "443"), ("X-Forwarded-Prefix", "/admin"), ("Forwarded", "for=10.0.0.1;host=admin"),
            ("X-Real-IP", "10.0.0.1"), ("X_Forwarded_For", "10.0.0.2"), ("X-Client-IP", "10.0.0.3"),
            ("True-Client-IP", "10.0.0.4"), ("X-HTTP-Method-Override", "DELETE"), ("X-HTTP-Method", "DELETE"),
            ("X-Method-Override", "DELETE"), ("X_HTTP_Method_Override", "DELETE"), ("X-Original-URL", "/admin/secret"),
            ("X-Rewrite-URL", "/admin/secret"), ("X-Original-Method", "DELETE"),
        ]
        // Unsigned, added to a header-signed GET (as the holder of a captured request could).
        let (status, response) = try rig.send(
            "GET", "/bucket/spoof", try rig.signed(.get, "/bucket/spoof") + spoofed + [("X-Kept", "kept")])
        #expect(status == 200, "\(response)")
        // Signed by the key holder itself: a signature does not make a client's word on its address or on
        // another method or path the gateway's.
        var signedFields = HTTPFields()
        for (name, value) in spoofed where !name.contains("_") { signedFields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let (signedStatus, signedResponse) = try rig.send(
            "POST", "/bucket/spoof-signed", try rig.signed(.post, "/bucket/spoof-signed", signedFields))
        #expect(signedStatus == 200, "\(signedResponse)")
        let all = Self.requests(rig)
        #expect(all.count == 2, "\(rig.received)")
        // The gateway's own X-Forwarded-For (its peer, 127.0.0.1 here) and X-Forwarded-Proto stand in for the client's.
        let own: Set<String> = ["x-forwarded-for", "x-forwarded-proto"]
        for forwarded in all {
            for (name, _) in spoofed where !own.contains(name.lowercased()) {
                #expect(!forwarded.names.contains(name.lowercased()), "\(name) reached the upstream: \(forwarded.fields)")
            }
            #expect(forwarded.fields.filter { $0.0 == "x-forwarded-for" }.map(\.1) == ["127.0.0.1"], "\(forwarded.fields)")
            #expect(forwarded.fields.filter { $0.0 == "x-forwarded-proto" }.map(\.1) == ["http"], "\(forwarded.fields)")
            #expect(!forwarded.fields.contains { $0.1.contains("10.0.0.") || $0.1.contains("admin") }, "\(forwarded.fields)")
        }
        #expect(all.first?.fields.contains { $0 == ("x-kept", "kept") } == true, "\(rig.received)")
        #expect(all.last?.method == "POST" && all.last?.target == "/bucket/spoof-signed", "\(rig.received)")
    }

    @Test("behind a --trusted-proxy, its X-Forwarded-For chain (the peer appended) and X-Forwarded-Proto reach the upstream; other forwarding headers, and a chain that is not addresses, still do not")
    func trustedProxyChainIsKept() throws {
        let rig = try Rig(arguments: ["--trusted-proxy", "127.0.0.0/8"])
        let (status, response) = try rig.send(
            "GET", "/bucket/behind-proxy",
            try rig.signed(.get, "/bucket/behind-proxy") + [
                ("X-Forwarded-For", "203.0.113.7"), ("X-Forwarded-For", "10.0.0.2"), ("X-Forwarded-Proto", "https"),
                ("X_Forwarded_For", "10.0.0.66"), ("Forwarded", "for=10.0.0.67"), ("X-Forwarded-Host", "admin.internal"),
            ])
        #expect(status == 200, "\(response)")
        let (badStatus, badResponse) = try rig.send(
            "GET", "/bucket/behind-proxy-bad",
            try rig.signed(.get, "/bucket/behind-proxy-bad") + [("X-Forwarded-For", "203.0.113.7, evil.example")])
        #expect(badStatus == 200, "\(badResponse)")
        let kept = try #require(Self.request(rig, "/bucket/behind-proxy"), "\(rig.received)")
        #expect(kept.fields.filter { $0.0 == "x-forwarded-for" }.map(\.1) == ["203.0.113.7, 10.0.0.2, 127.0.0.1"], "\(kept.fields)")
        #expect(kept.fields.filter { $0.0 == "x-forwarded-proto" }.map(\.1) == ["https"], "\(kept.fields)")
        #expect(!kept.names.contains("x_forwarded_for") && !kept.names.contains("forwarded") && !kept.names.contains("x-forwarded-host"))
        let dropped = try #require(Self.request(rig, "/bucket/behind-proxy-bad"), "\(rig.received)")
        #expect(dropped.fields.filter { $0.0 == "x-forwarded-for" }.map(\.1) == ["127.0.0.1"], "\(dropped.fields)")
        // A proxy that sends only RFC 7239's Forwarded: its chain and scheme, as X-Forwarded-For and -Proto.
        let (rfcStatus, rfcResponse) = try rig.send(
            "GET", "/bucket/behind-rfc7239",
            try rig.signed(.get, "/bucket/behind-rfc7239") + [("Forwarded", "for=203.0.113.8;proto=https, for=\"[2001:db8::3]:443\"")])
        #expect(rfcStatus == 200, "\(rfcResponse)")
        let rfc = try #require(Self.request(rig, "/bucket/behind-rfc7239"), "\(rig.received)")
        #expect(rfc.fields.filter { $0.0 == "x-forwarded-for" }.map(\.1) == ["203.0.113.8, 2001:db8::3, 127.0.0.1"], "\(rfc.fields)")
        #expect(rfc.fields.filter { $0.0 == "x-forwarded-proto" }.map(\.1) == ["https"], "\(rfc.fields)")
        #expect(!rfc.names.contains("forwarded"))
        // The access log names the rightmost hop that is not a trusted proxy.
        let log = String(decoding: rig.gateway.stdout, as: UTF8.self)
        #expect(log.contains("client=10.0.0.2") || log.contains("client=\"10.0.0.2\""), "\(log)")
        // A --trusted-proxy that is not an address or a range (or has bits past its prefix) is a usage error.
        for bad in ["nope", "10.0.0.1/8", "10.0.0.0/33", "[::1]"] {
            let (status, output) = try GatewayBinaryTests.run(["serve", "--listen", "127.0.0.1:0", "--trusted-proxy", bad])
            #expect(status == 2, "\(bad): \(output)")
        }
    }

    @Test("a body checked at its end and framed with Transfer-Encoding: chunked, no longer than --max-buffered-body, is verified whole before the upstream is contacted")
    func chunkedBodiesWithinTheBufferAreVerifiedFirst() throws {
        let rig = try Rig()
        let hello = Array("hello world".utf8)
        // HTTP chunks "hello " and "w0rld": the server reads them as two buffers.
        func send(_ path: String, _ fields: HTTPFields, payload: PayloadHash, chunks: [String]) throws -> (Int, String) {
            let signed = try rig.signed(.put, path, fields, payload: payload)
            var framed = ""
            for chunk in chunks { framed += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
            framed += "0\r\n\r\n"
            return try rig.send("PUT", path, signed + [("Transfer-Encoding", "chunked")], body: Array(framed.utf8))
        }
        let (tampered, tamperedResponse) = try send("/bucket/te-signed", [:], payload: .sha256(of: hello), chunks: ["hello ", "w0rld"])
        #expect(tampered == 400 && tamperedResponse.contains("<Code>XAmzContentSHA256Mismatch</Code>"), "\(tamperedResponse)")
        // UNSIGNED-PAYLOAD with a declared CRC-32 of "hello world".
        let crc: HTTPFields = [HTTPField.Name("x-amz-checksum-crc32")!: "DUoRhQ=="]
        let (badDigest, badDigestResponse) = try send(
            "/bucket/te-declared", crc, payload: .unsignedPayload, chunks: ["hello ", "w0rld"])
        #expect(badDigest == 400 && badDigestResponse.contains("<Code>BadDigest</Code>"), "\(badDigestResponse)")
        #expect(Self.requests(rig).isEmpty, "a refused body reached the upstream: \(rig.received)")
        // The genuine bodies go through whole, with their length declared.
        let (good, goodResponse) = try send("/bucket/te-good", [:], payload: .sha256(of: hello), chunks: ["hello ", "world"])
        #expect(good == 200, "\(goodResponse)")
        let (goodCRC, goodCRCResponse) = try send("/bucket/te-crc", crc, payload: .unsignedPayload, chunks: ["hello ", "world"])
        #expect(goodCRC == 200, "\(goodCRCResponse)")
        for path in ["/bucket/te-good", "/bucket/te-crc"] {
            let forwarded = try #require(Self.request(rig, path), "\(rig.received)")
            #expect(forwarded.bytes == 11 && forwarded.fields.contains { $0 == ("content-length", "11") }, "\(forwarded.fields)")
        }
        #expect(rig.received.components(separatedBy: "hello world").count == 3, "\(rig.received)")
    }
}

extension GatewayForwardingAttackTests {
    @Test("a key limited to a path prefix cannot leave it through dot segments that an upstream keeps as they are (S3 reads /secrets/../photos/x as bucket secrets), in the path or in x-amz-copy-source")
    func dotSegmentsCannotCarryAScopedKeyOutOfItsPrefix() throws {
        let rig = try Rig(scopedKeyPrefix: "/photos/")
        let bob = try #require(rig.scopedSigner)
        for target in ["/secrets/../photos/x", "/secrets/%2e%2e/photos/x", "/secrets/..%2Fphotos/x", "/secrets/..%5Cphotos/x"] {
            let (status, response) = try rig.send("PUT", target, try rig.signed(.put, target, [.contentLength: "0"], by: bob))
            #expect(status == 403 && response.contains("<Code>AccessDenied</Code>"), "\(target): \(response)")
        }
        var copy = HTTPFields()
        copy.append(HTTPField(name: HTTPField.Name("x-amz-copy-source")!, value: "/secrets/../photos/a"))
        let (copyStatus, copyResponse) = try rig.send("PUT", "/photos/copy", try rig.signed(.put, "/photos/copy", copy, by: bob))
        #expect(copyStatus == 403 && copyResponse.contains("<Code>AccessDenied</Code>"), "\(copyResponse)")
        #expect(Self.requests(rig).isEmpty, "\(rig.received)")
        // Inside the prefix however it is read: accepted, and forwarded as signed.
        let (inside, insideResponse) = try rig.send("GET", "/photos/a/../b", try rig.signed(.get, "/photos/a/../b", by: bob))
        #expect(inside == 200, "\(insideResponse)")
        #expect(Self.request(rig, "/photos/a/../b") != nil, "\(rig.received)")
    }
}

extension GatewayForwardingAttackTests {
    @Test("a verified path whose percent-escapes do not decode to UTF-8 (/photos/%ff, which AsyncHTTPClient would send as /) is refused InvalidURI (400), header-signed and presigned, plain and re-signed for the upstream: a key limited to /photos/ reaches nothing outside it; a UTF-8 escape (%C3%A9) goes as signed")
    func pathThatIsNotUTF8IsNotForwarded() throws {
        for resigning in [false, true] {
            let rig = try Rig(resigning: resigning, scopedKeyPrefix: "/photos/")
            let bob = try #require(rig.scopedSigner)
            for target in ["/photos/%ff?list-type=2", "/photos/a%ffb", "/photos/x%c3", "/photos/%c0%ae"] {
                let (status, response) = try rig.send("GET", target, try rig.signed(.get, target, by: bob))
                #expect(status == 400 && response.contains("<Code>InvalidURI</Code>"), "\(target): \(response)")
            }
            let presigned = try rig.presigned("/photos/%ff")
            let (presignedStatus, presignedResponse) = try rig.send("GET", presigned, [("Host", "127.0.0.1:\(rig.port)")])
            #expect(presignedStatus == 400 && presignedResponse.contains("InvalidURI"), "\(presignedResponse)")
            #expect(Self.requests(rig).isEmpty, "resigning \(resigning): \(rig.received)")
            let (utf8, utf8Response) = try rig.send("GET", "/photos/%C3%A9", try rig.signed(.get, "/photos/%C3%A9", by: bob))
            #expect(utf8 == 200, "\(utf8Response)")
            #expect(Self.request(rig, "/photos/%C3%A9") != nil, "\(rig.received)")
        }
    }
}

extension GatewayForwardingAttackTests {
    @Test("below an upstream path prefix, an absolute-form target goes to the upstream as its path, and targets that are no path ('*', CONNECT's host:port, a fragment) are refused: nothing leaves the prefix or reaches another host")
    func targetFormsStayBelowThePrefix() throws {
        let rig = try Rig(upstreamPath: "/tenant")
        let (absolute, absoluteResponse) = try rig.send(
            "GET", "http://evil.example/bucket/x?y=1", try rig.signed(.get, "/bucket/x?y=1"))
        #expect(absolute == 200, "\(absoluteResponse)")
        #expect(Self.request(rig, "/tenant/bucket/x?y=1") != nil, "\(rig.received)")
        // Signed for "/" (the signer refuses the others), sent with targets that are no path.
        for (method, target) in [("OPTIONS", "*"), ("CONNECT", "evil.example:443"), ("GET", "/bucket/frag#x")] {
            let (status, response) = try rig.send(method, target, try rig.signed(.get, "/"))
            #expect(status == 0 || (400..<500).contains(status), "\(method) \(target): \(response)")
        }
        #expect(Self.requests(rig).count == 1, "\(rig.received)")
    }
}

extension GatewayForwardingAttackTests {
    /// Sends `parts` on one connection with a pause between them (so the server reads them as separate
    /// buffers), then reads the response.
    static func sendSlowly(port: UInt16, _ parts: [[UInt8]]) throws -> String {
        let fd = try RawSocket.connect(port: port, timeoutSeconds: 20)
        defer { close(fd) }
        for (k, part) in parts.enumerated() {
            if k > 0 { Thread.sleep(forTimeInterval: 0.3) }
            var sent = 0
            while sent < part.count {
                let n = part[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard n > 0 else { break }
                sent += n
            }
        }
        return String(decoding: RawSocket.readResponse(fd), as: UTF8.self)
    }

    @Test("bodies that differ from what was declared or signed never reach the upstream whole: a long tampered body is cut short upstream, aws-chunked bytes after the end or a decoded length that differs are refused before it is contacted, and one Content-Length goes")
    func bodyAttacksNeverCompleteUpstream() throws {
        let rig = try Rig(arguments: ["--max-buffered-body", "1000"])
        // 4,000 bytes signed, the last one changed, sent in three parts: it streams (over the buffer limit).
        let signedBody = [UInt8](repeating: 0x61, count: 4000)
        var sentBody = signedBody
        sentBody[3999] = 0x62
        let fields = try rig.signed(.put, "/bucket/long", [.contentLength: "4000"], payload: .sha256(of: signedBody))
        var head = "PUT /bucket/long HTTP/1.1\r\n"
        for (name, value) in fields { head += "\(name): \(value)\r\n" }
        head += "Connection: close\r\n\r\n"
        let response = try Self.sendSlowly(
            port: rig.port, [Array(head.utf8) + sentBody[0..<1500], Array(sentBody[1500..<3000]), Array(sentBody[3000...])])
        #expect(response.contains("<Code>XAmzContentSHA256Mismatch</Code>"), "\(response)")
        Thread.sleep(forTimeInterval: 0.5)
        // The upstream may have read the first parts (released as they verified nothing yet: the hash is
        // known at the end), never the held-back last one, which holds the changed byte.
        if let long = Self.request(rig, "/bucket/long") {
            #expect(long.bytes <= 3000, "the upstream read \(long.bytes) bytes of a tampered body")
        }

        // STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies (checked at their end, within the buffer limit).
        func chunked(_ path: String, declared: Int, _ encoded: String) throws -> (Int, String) {
            let signed = try rig.signed(
                .put, path,
                [
                    .contentEncoding: "aws-chunked", .contentLength: String(encoded.utf8.count),
                    HTTPField.Name("x-amz-decoded-content-length")!: String(declared),
                    HTTPField.Name("x-amz-trailer")!: "x-amz-checksum-crc32",
                ], payload: .streamingUnsignedTrailer)
            return try rig.send("PUT", path, signed, body: Array(encoded.utf8))
        }
        let hello = "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
        let (after, afterResponse) = try chunked("/bucket/after", declared: 5, hello + "GET / HTTP/1.1\r\n\r\n")
        #expect((400..<500).contains(after), "bytes after the final chunk: \(afterResponse)")
        let (longer, longerResponse) = try chunked("/bucket/longer", declared: 6, hello)
        #expect((400..<500).contains(longer), "decoded length short of the declared one: \(longerResponse)")
        let (shorter, shorterResponse) = try chunked("/bucket/shorter", declared: 4, hello)
        #expect((400..<500).contains(shorter), "decoded length over the declared one: \(shorterResponse)")
        for path in ["/bucket/after", "/bucket/longer", "/bucket/shorter"] {
            #expect(Self.request(rig, path) == nil, "\(path) reached the upstream: \(rig.received)")
        }
        let (good, goodResponse) = try chunked("/bucket/good", declared: 5, hello)
        #expect(good == 200, "\(goodResponse)")
        #expect(Self.request(rig, "/bucket/good").map { ($0.bytes, $0.fields.filter { $0.0 == "content-length" }.map(\.1)) }
            .map { $0.0 == 5 && $0.1 == ["5"] } == true, "\(rig.received)")

        // Content-Length given twice with one value: the upstream gets one.
        let twice = try rig.signed(.put, "/bucket/twice", [.contentLength: "5"], payload: .sha256(of: Array("hello".utf8)))
        let (twiceStatus, twiceResponse) = try rig.send(
            "PUT", "/bucket/twice", twice + [("Content-Length", "5")], body: Array("hello".utf8))
        if twiceStatus == 200 {
            let forwarded = try #require(Self.request(rig, "/bucket/twice"), "\(rig.received)")
            #expect(forwarded.fields.filter { $0.0 == "content-length" }.map(\.1) == ["5"] && forwarded.bytes == 5)
        } else {
            #expect((400..<500).contains(twiceStatus) || twiceStatus == 0, "\(twiceResponse)")
        }
    }
}

extension GatewayForwardingAttackTests {
    /// (An upstream that does not answer: ``GatewayUpstreamLimitsTests``, on a port no other server
    /// can take meanwhile. This test stopped its upstream and sent again until 2026-12-05.)
    @Test("without --diagnostics a refusal names no canonical request or string to sign")
    func refusalsTellNothing() throws {
        let rig = try Rig()
        let wrong = Signer(
            credentials: Credentials(accessKeyID: rig.credentials.accessKeyID, secretAccessKey: "not-the-secret"),
            region: "us-east-1", service: "s3", keyCache: nil)
        let (status, response) = try rig.send("GET", "/bucket/x", try rig.signed(.get, "/bucket/x", by: wrong))
        #expect(status == 403 && response.contains("<Code>SignatureDoesNotMatch</Code>"), "\(response)")
        let tampered = try rig.signed(.put, "/bucket/t", [.contentLength: "5"], payload: .sha256(of: Array("hello".utf8)))
        let (tamperedStatus, tamperedResponse) = try rig.send("PUT", "/bucket/t", tampered, body: Array("jello".utf8))
        #expect(tamperedStatus == 400, "\(tamperedResponse)")
        for text in [response, tamperedResponse] {
            for word in ["CanonicalRequest", "StringToSign", "aws4_request\n", "AWS4-HMAC-SHA256\n"] {
                #expect(!text.contains(word), "\(word) in \(text)")
            }
        }
    }
}

extension GatewayForwardingAttackTests {
    @Test("below an upstream path prefix, a '.' or '..' segment with path parameters ('..;', Tomcat's reading, raw or escaped) is refused as a dot segment; other ';' are ordinary bytes")
    func dotSegmentsWithPathParametersCannotLeaveThePrefix() throws {
        let rig = try Rig(upstreamPath: "/tenant")
        for target in ["/..;/other", "/bucket/..;jsessionid=1/../../other", "/bucket/..%3B/..%3b/other", "/.;x/other", "/bucket/..;"] {
            let (status, response) = try rig.send("GET", target, try rig.signed(.get, target))
            #expect(status == 400 && response.contains("<Code>InvalidRequest</Code>"), "\(target): \(response)")
        }
        #expect(Self.requests(rig).isEmpty, "\(rig.received)")
        for target in ["/bucket/a;b", "/bucket/...;x", "/bucket/;/x"] {
            let (status, response) = try rig.send("GET", target, try rig.signed(.get, target))
            #expect(status == 200, "\(target): \(response)")
        }
        #expect(Self.requests(rig).count == 3, "\(rig.received)")
    }

    @Test("trailer fields of a chunked request (an identity header, X-Forwarded-For) never reach the upstream")
    func requestTrailersAreNotForwarded() throws {
        let rig = try Rig()
        let signed = try rig.signed(.put, "/bucket/trailers", payload: .unsignedPayload)
        let body = Array("5\r\nhello\r\n0\r\nX-SigV4-Principal: mallory\r\nX-Forwarded-For: 10.0.0.9\r\n\r\n".utf8)
        let (status, response) = try rig.send(
            "PUT", "/bucket/trailers", signed + [("Transfer-Encoding", "chunked"), ("Trailer", "X-SigV4-Principal")], body: body)
        #expect(status == 200, "\(response)")
        let forwarded = try #require(Self.request(rig, "/bucket/trailers"), "\(rig.received)")
        #expect(forwarded.fields.filter { $0.0 == "x-sigv4-principal" }.map(\.1) == ["alice"], "\(forwarded.fields)")
        #expect(!rig.received.contains("mallory") && !rig.received.contains("10.0.0.9"), "\(rig.received)")
    }
}

extension GatewayForwardingAttackTests {
    @Test("a target with '+', '//', '%2F', a second '?' and repeated or valueless parameters goes to the upstream byte for byte as it was verified")
    func awkwardTargetsGoAsVerified() throws {
        let rig = try Rig()
        let target = "/bucket/a+b//c%2Fd?x=1?y=2&v&v=&r=2&r=1&p=a+b"
        let (status, response) = try rig.send("GET", target, try rig.signed(.get, target))
        #expect(status == 200, "\(response)")
        #expect(Self.request(rig, target) != nil, "\(rig.received)")
        // A parameter added after signing is not the signed request.
        let signed = try rig.signed(.get, "/bucket/q?a=1")
        let (added, addedResponse) = try rig.send("GET", "/bucket/q?a=1&acl", signed)
        #expect(added == 403 && addedResponse.contains("<Code>SignatureDoesNotMatch</Code>"), "\(addedResponse)")
        #expect(Self.requests(rig).count == 1, "\(rig.received)")
    }
}

extension GatewayForwardingAttackTests {
    @Test("client-address headers that client-IP libraries read beside X-Forwarded-For (X-Forwarded, Forwarded-For, CF-Connecting-IP, Fastly-Client-IP, ...) never reach the upstream, signed or not, in any spelling")
    func clientAddressHeadersOfLibrariesAreDropped() throws {
        // python-ipware (django-ipware's engine) returns the first public address among X-Forwarded-For,
        // X-Forwarded, Forwarded-For, CF-Connecting-IP, Fastly-Client-IP, ...: with the gateway's peer a
        // private address (127.0.0.1 here), any of these that reached the upstream became the client's.
        let rig = try Rig()
        let spoofed: [(String, String)] = [
            ("X-Forwarded", "for=8.8.8.1"), ("Forwarded-For", "8.8.8.2"), ("CF-Connecting-IP", "8.8.8.3"),
            ("CF-Connecting-IPv6", "2001:4860::8"), ("CF-Pseudo-IPv4", "8.8.8.4"), ("Fastly-Client-IP", "8.8.8.5"),
            ("DO-Connecting-IP", "8.8.8.6"), ("X-AppEngine-User-IP", "8.8.8.7"),
            ("X-Original-Forwarded-For", "8.8.8.9"),
            ("X-Envoy-External-Address", "8.8.4.1"), ("X_Forwarded", "8.8.4.2"), ("cf_connecting_ip", "8.8.4.3"),
        ]
        let (status, response) = try rig.send(
            "GET", "/bucket/addresses", try rig.signed(.get, "/bucket/addresses") + spoofed + [("X-Kept", "kept")])
        #expect(status == 200, "\(response)")
        var signedFields = HTTPFields()
        for (name, value) in spoofed where !name.contains("_") {
            signedFields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        let (signedStatus, signedResponse) = try rig.send(
            "GET", "/bucket/addresses-signed", try rig.signed(.get, "/bucket/addresses-signed", signedFields))
        #expect(signedStatus == 200, "\(signedResponse)")
        let all = Self.requests(rig)
        #expect(all.count == 2, "\(rig.received)")
        for forwarded in all {
            let fields = forwarded.fields
            for (name, _) in spoofed {
                #expect(!forwarded.names.contains(name.lowercased()), "\(name) reached the upstream: \(fields)")
            }
            #expect(!fields.contains { $0.1.contains("8.8.") || $0.1.contains("2001:") }, "\(fields)")
            #expect(fields.filter { $0.0 == "x-forwarded-for" }.map(\.1) == ["127.0.0.1"], "\(fields)")
        }
        #expect(all.first?.fields.contains { $0 == ("x-kept", "kept") } == true, "\(rig.received)")
    }
}

extension GatewayForwardingAttackTests {
    /// An upstream that answers each request with the raw response its path names: `Transfer-Encoding:
    /// gzip, chunked`, `gzip` alone (read to the connection's end), or `chunked`, each over a gzip of `ok`
    /// (the last over `ok` itself).
    static let codingUpstream = #"""
        import gzip, socketserver
        coded = gzip.compress(b"ok")
        answers = {
            "/gzip-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                + b"%x\r\n" % len(coded) + coded + b"\r\n0\r\n\r\n",
            "/gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n" + coded,
            "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        }
        class H(socketserver.StreamRequestHandler):
            def handle(self):
                target = self.rfile.readline().split(b" ")[1].decode()
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                self.wfile.write(answers[target.split("?")[0]])
        s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        print("listening", s.server_address[1], flush=True)
        s.serve_forever()
        """#

    @Test("an upstream response framed with a transfer coding other than chunked (gzip, chunked; gzip alone) is 502 BadGateway, not its still-coded bytes passed on as the body with the coding dropped; chunked alone goes through")
    func upstreamTransferCodingsOtherThanChunkedAreRefused() throws {
        let directory = NSTemporaryDirectory() + "sigv4-coding-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let upstream = try GatewayHygieneTests.Child(
            "/usr/bin/env", ["python3", "-c", Self.codingUpstream], environment: ProcessInfo.processInfo.environment,
            directory: directory, name: "coding")
        defer { upstream.stop() }
        let port = try #require(
            upstream.line(startingWith: "listening")?.split(separator: " ").last, "the upstream did not start")
        let rig = try GatewayUpstreamLimitsTests.Rig(upstream: "http://127.0.0.1:\(port)", [])
        defer { rig.stop() }
        for path in ["/gzip-chunked", "/gzip"] {
            let (status, response) = try rig.exchange(try rig.head(.get, path, payload: .emptySHA256), within: 10)
            #expect(status == 502 && response.contains("<Code>BadGateway</Code>"), "\(path): \(response)")
            #expect(!response.contains("\u{1f}"), "\(path): gzip bytes reached the client: \(response)")
            let logged = rig.gateway.line(containing: "path=\(path) ")
            #expect(logged.contains("upstream sent unknown Transfer-Encoding"), "\(path): \(logged)")
        }
        let (status, response) = try rig.exchange(try rig.head(.get, "/chunked", payload: .emptySHA256), within: 10)
        #expect(status == 200 && response.hasSuffix("\r\n2\r\nok\r\n0\r\n\r\n"), "\(response)")
    }
}
