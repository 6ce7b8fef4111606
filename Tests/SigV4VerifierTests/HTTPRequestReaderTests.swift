import SigV4
import SigV4Verifier
import Testing

@Suite("HTTP/1.1 request reader")
struct HTTPRequestReaderTests {
    func read(_ text: String, _ reader: HTTPRequestReader = HTTPRequestReader()) throws(HTTPReadError) -> RawHTTPRequest {
        try reader.read(Array(text.utf8))
    }

    func code(_ text: String, _ reader: HTTPRequestReader = HTTPRequestReader()) -> HTTPReadError.Code? {
        do {
            _ = try read(text, reader)
            return nil
        } catch { return error.code }
    }

    @Test("a Content-Length request: method, raw target, ordered headers (names as sent, values trimmed), body")
    func contentLength() throws {
        let raw = try read("PUT /a%20b/c?x=1&y HTTP/1.1\r\nHost: h\r\nX-Amz-Meta-A:  v1 \r\nx-amz-meta-a: v2\r\nContent-Length: 5\r\n\r\nhello")
        #expect(raw.method == "PUT")
        #expect(raw.target == Array("/a%20b/c?x=1&y".utf8))
        #expect(raw.fields.map(\.name) == ["Host", "X-Amz-Meta-A", "x-amz-meta-a", "Content-Length"])
        #expect(raw.fields[1].value == Array("v1".utf8))
        #expect(raw.body == Array("hello".utf8))
    }

    @Test("readHead reads a head whose body is not there (curl -v), still checks framing, refuses bytes after it")
    func readHeadWithoutBody() throws {
        let head = "PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
        #expect(code(head) == .truncated)  // read(_:) wants the 5 bytes
        let raw = try HTTPRequestReader().readHead(Array(head.utf8))
        #expect(raw.method == "PUT" && raw.target == Array("/k".utf8) && raw.body.isEmpty)
        #expect(raw.fields.map(\.name) == ["Host", "Content-Length"])
        func headCode(_ text: String) -> HTTPReadError.Code? {
            do {
                _ = try HTTPRequestReader().readHead(Array(text.utf8))
                return nil
            } catch { return error.code }
        }
        #expect(headCode(head + "hello") == .trailingData)
        #expect(headCode("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == .badFraming)
        #expect(headCode("PUT /k HTTP/1.1\r\nContent-Length: 5\r\n\r\n") == .badHeader)  // no Host
        #expect(headCode("PUT /k HTTP/1.1\r\nHost: h\r\n") == .truncated)
    }

    @Test("a chunked body is de-framed, extensions ignored, trailers kept")
    func chunked() throws {
        let raw = try read("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n")
        #expect(raw.body == Array("hello0123456789".utf8))
        #expect(raw.trailers == [.init(name: "X-Trailer", value: "t")])
    }

    @Test("malformed or ambiguous requests are refused with a code", arguments: [
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "badFraming"),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "badFraming"),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", "badFraming"),
        ("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "badFraming"),
        ("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", "badHeader"),
        ("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", "badHeader"),
        ("GET / HTTP/1.1\r\nHost: h\r\nX: a\u{0}b\r\n\r\n", "badHeader"),
        ("GET / HTTP/1.1\r\nX: y\r\n\r\n", "badHeader"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "badHeader"),
        ("GET / HTTP/1.1\nHost: h\n\n", "badHeader"),
        ("GET / HTTP/2.0\r\nHost: h\r\n\r\n", "badRequestLine"),
        ("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", "badRequestLine"),
        ("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", "truncated"),
        ("GET / HTTP/1.1\r\nHost: h\r\n", "truncated"),
        ("GET / HTTP/1.1\r\nHost: h\r\n\r\nextra", "trailingData"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", "badFraming"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "badFraming"),
        ("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", "truncated"),
    ])
    func refused(text: String, expected: String) {
        #expect(code(text)?.name == expected, "\(text.debugDescription)")
    }

    @Test("limits: line length, header count, header bytes and body size")
    func limits() {
        let small = HTTPRequestReader(limits: .init(maxRequestLine: 32, maxHeaderLine: 32, maxHeaderCount: 3, maxHeaderBytes: 80, maxBodyBytes: 4))
        #expect(code("GET /\(String(repeating: "a", count: 40)) HTTP/1.1\r\nHost: h\r\n\r\n", small) == .limitExceeded)
        #expect(code("GET / HTTP/1.1\r\nHost: h\r\nX: \(String(repeating: "a", count: 40))\r\n\r\n", small) == .limitExceeded)
        #expect(code("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", small) == .limitExceeded)
        #expect(code("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", small) == .limitExceeded)
        #expect(code("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", small) == .limitExceeded)
        #expect(code("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd", small) == nil)
    }

    @Test("bare LF is accepted only when allowed")
    func bareLF() throws {
        let raw = try read("GET / HTTP/1.1\nHost: h\n\n", HTTPRequestReader(allowBareLF: true))
        #expect(raw.fields.count == 1)
    }

    @Test("a signed request read from raw bytes verifies")
    func readsAndVerifies() async throws {
        let raw = try read(
            "GET / HTTP/1.1\r\nHost:example.amazonaws.com\r\nX-Amz-Date:20150830T123600Z\r\nAuthorization:AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31\r\n\r\n")
        let result = await Fixture.verifier().verify(raw.verificationRequest, payload: .body(raw.body), now: Fixture.date)
        #expect(result.isAccepted)
    }
}

@Suite("error bodies")
struct ErrorBodyTests {
    @Test("XML is S3-style and escaped; JSON is escaped")
    func rendering() {
        let f = VerificationFailure(
            .accessDenied, "Request has expired <now> & \"then\"",
            details: [.init("X-Amz-Expires", "60"), .init("ServerTime", "20150830T123600Z")])
        #expect(
            f.xmlBody(requestID: "R1")
                == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired &lt;now&gt; &amp; &quot;then&quot;</Message><X-Amz-Expires>60</X-Amz-Expires><ServerTime>20150830T123600Z</ServerTime><RequestId>R1</RequestId></Error>"
        )
        #expect(
            f.jsonBody()
                == "{\"Code\":\"AccessDenied\",\"Message\":\"Request has expired <now> & \\\"then\\\"\",\"X-Amz-Expires\":\"60\",\"ServerTime\":\"20150830T123600Z\",\"__type\":\"AccessDenied\"}"
        )
        #expect(f.httpStatus == 403)
    }

    @Test("every code has the documented HTTP status")
    func statuses() {
        let table: [(VerificationFailure.Code, Int)] = [
            (.authorizationHeaderMalformed, 400), (.authorizationQueryParametersError, 400), (.signatureDoesNotMatch, 403),
            (.requestTimeTooSkewed, 403), (.accessDenied, 403), (.invalidAccessKeyId, 403), (.invalidToken, 400),
            (.expiredToken, 400), (.xAmzContentSHA256Mismatch, 400), (.missingSecurityHeader, 400), (.requestReplayed, 403),
            (.internalError, 500), (.slowDown, 503),
        ]
        for (code, status) in table { #expect(code.httpStatus == status, "\(code)") }
    }
}

@Suite("ByteParsing.length: a Content-Length value, 1*DIGIT")
struct ContentLengthParsingTests {
    @Test("ASCII digits only, leading zeros allowed, up to Int.max; a sign, a space, a list, a non-ASCII digit, nothing, or a number past Int.max is no length")
    func strictDigits() {
        let lengths: [(String, Int?)] = [
            ("0", 0), ("5", 5), ("0042", 42), ("9223372036854775807", .max),
            ("9223372036854775808", nil), ("99999999999999999999", nil), ("", nil), ("+5", nil), ("-1", nil),
            (" 5", nil), ("5 ", nil), ("5, 5", nil), ("5,5", nil), ("0x10", nil), ("5\u{0}", nil), ("\u{0665}", nil),
        ]
        for (text, expected) in lengths {
            #expect(ByteParsing.length(text) == expected, "\(text.debugDescription)")
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBufferPointer { ByteParsing.length($0) } == expected, "\(text.debugDescription)")
        }
    }
}
