import Foundation
import SigV4
import SigV4CommandLine
import Testing

/// `CapturedRequest`: the first request out of `curl -v` output and `curl --trace-ascii`/`--trace`
/// dumps (TestVectors/curl-captures, recorded with curl 7.88.1), and clear errors for broken ones.
@Suite("CapturedRequest: curl -v and curl trace dumps")
struct CapturedRequestTests {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = Tool.packageRoot.appendingPathComponent("TestVectors/curl-captures/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    static let fixtures: [(String, CapturedRequest.Format)] = [
        ("post-api.curl-verbose.txt", .curlVerbose), ("post-api.curl-trace-ascii.txt", .curlTrace),
        ("put-s3.curl-trace-hex.txt", .curlTrace), ("put-s3-unsigned.curl-verbose.txt", .curlVerbose),
        ("get-s3.curl-verbose.txt", .curlVerbose),
    ]

    @Test("each recorded dump's format is detected", arguments: fixtures)
    func detectsFormat(_ name: String, _ format: CapturedRequest.Format) throws {
        #expect(CapturedRequest.detect(try Self.fixture(name)) == format)
    }

    @Test("a raw request (CRLF or bare LF) is detected as raw and passed through whole")
    func rawPassesThrough() throws {
        for text in ["GET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.1\nHost: h\n\n"] {
            let capture = try CapturedRequest(Array(text.utf8), format: nil)
            #expect(capture.format == .raw)
            #expect(capture.head == Array(text.utf8))
            #expect(capture.body == nil)
        }
    }

    @Test("curl -v: the first request's '> ' lines, rebuilt with CRLF, and no body")
    func curlVerboseHead() throws {
        let capture = try CapturedRequest(try Self.fixture("post-api.curl-verbose.txt"), format: nil)
        let head = String(decoding: capture.head, as: UTF8.self)
        #expect(head.hasPrefix("POST /prod/items?limit=10 HTTP/1.1\r\nHost: 127.0.0.1:18765\r\nAuthorization: AWS4-HMAC-SHA256 "))
        #expect(head.hasSuffix("\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n"))
        #expect(!head.contains("< ") && !head.contains("Trying"))
        #expect(capture.body == nil)
    }

    @Test("--trace-ascii: the Send header block with its CRLFs put back, and the Send data body")
    func traceAsciiHeadAndBody() throws {
        let capture = try CapturedRequest(try Self.fixture("post-api.curl-trace-ascii.txt"), format: nil)
        let head = String(decoding: capture.head, as: UTF8.self)
        // The Authorization line is wrapped over 64-byte rows in the dump; it comes back whole.
        let verbose = try CapturedRequest(try Self.fixture("post-api.curl-verbose.txt"), format: nil)
        let authorization = { (h: String) in h.split(separator: "\r\n").first { $0.hasPrefix("Authorization:") } }
        #expect(authorization(head) != nil)
        #expect(head.hasSuffix("Content-Length: 12\r\n\r\n"))
        #expect(capture.body == Array(#"{"name":"x"}"#.utf8))
        #expect(capture.bodyMayBeLossy == false)
        // Same request line and headers as curl -v showed for the same call (the signature differs: other second).
        #expect(head.split(separator: "\r\n").count == String(decoding: verbose.head, as: UTF8.self).split(separator: "\r\n").count)
    }

    @Test("--trace (hex): exact bytes, the body included")
    func traceHex() throws {
        let capture = try CapturedRequest(try Self.fixture("put-s3.curl-trace-hex.txt"), format: nil)
        let head = String(decoding: capture.head, as: UTF8.self)
        #expect(head.hasPrefix("PUT /examplebucket/hello.txt HTTP/1.1\r\nHost: 127.0.0.1:18765\r\n"))
        #expect(head.hasSuffix("Content-Length: 11\r\n\r\n"))
        #expect(capture.head.count == 498)  // "=> Send header, 498 bytes"
        #expect(capture.body == Array("hello world".utf8))
    }

    @Test("an HTTP/2 request line is read as HTTP/1.1 and says so; a --trace-time clock is skipped")
    func http2AndTraceTime() throws {
        let dump = "09:11:08.123456 * Connected\n09:11:08.123456 > GET /p HTTP/2\r\n09:11:08.123456 > Host: h\r\n09:11:08.123456 > \r\n"
        let capture = try CapturedRequest(Array(dump.utf8), format: nil)
        #expect(capture.format == .curlVerbose)
        #expect(String(decoding: capture.head, as: UTF8.self) == "GET /p HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(capture.rewrittenVersion == "HTTP/2")
    }

    @Test("a --trace-ascii body with a '.' is flagged: the dot may stand for another byte")
    func lossyTraceBody() throws {
        let dump = """
            => Send header, 47 bytes (0x2f)
            0000: POST / HTTP/1.1
            0011: Host: h
            001a: Content-Length: 3
            002d: 
            => Send data, 3 bytes (0x3)
            0000: a.b

            """
        let capture = try CapturedRequest(Array(dump.utf8), format: nil)
        #expect(capture.body == Array("a.b".utf8))
        #expect(capture.bodyMayBeLossy)
    }

    /// Broken dumps and the words their usage error must hold.
    static let broken: [(String, String, String)] = [
        ("curl -v cut before the empty '> ' line", "* x\n> GET / HTTP/1.1\n> Host: h\n", "ends before its empty"),
        ("curl -v with a response line inside the request", "> GET / HTTP/1.1\n< HTTP/1.1 200 OK\n", "ends before its empty"),
        ("curl -v with no request", "* Trying 127.0.0.1\n* Closing connection 0\n", "no request line"),
        ("curl -v with an empty request line", "> \n> Host: h\n> \n", "empty"),
        ("trace without a Send header", "== Info: Trying\n== Info: refused\n", "no '=> Send header'"),
        ("trace block shorter than its size", "=> Send header, 100 bytes (0x64)\n0000: GET / HTTP/1.1\n", "of its 100 bytes"),
        ("trace offsets that jump", "=> Send header, 30 bytes (0x1e)\n0000: GET / HTTP/1.1\n0100: Host: h\n", "do not follow"),
        ("trace offset beyond Int", "=> Send header, 9 bytes (0x9)\nffffffffffffffff: x\n", "0 of its 9 bytes"),
        ("trace offset near Int.max", "=> Send header, 9 bytes (0x9)\n7fffffffffffffff: x\n", "do not follow"),
        ("trace size beyond any input", "=> Send header, 999999999999999999999 bytes\n0000: GET / HTTP/1.1\n", "no '=> Send header'"),
        ("trace block larger than its size", "=> Send header, 4 bytes (0x4)\n0000: GET / HTTP/1.1\n", "more than its 4 bytes"),
        ("trace head with an empty request line", "=> Send header, 4 bytes (0x4)\n0000: \n0002: \n", "empty line, not a request line"),
        ("trace head without an empty line", "=> Send header, 16 bytes (0x10)\n0000: GET / HTTP/1.1\n", "does not end with an empty line"),
        (
            "trace hex row with a bad digit",
            "=> Send header, 20 bytes (0x14)\n0000: 47 45 54 20 2f 20 48 54 54 50 2f 31 2e 31 0d 0a GET / HTTP/1.1..\n0010: 0d 0a zz 0a                                     ....\n",
            "malformed hex line"
        ),
    ]

    @Test("a truncated or hostile dump is a one-line usage error that says what is wrong", arguments: broken)
    func brokenDumps(_ name: String, _ dump: String, _ words: String) throws {
        do {
            let capture = try CapturedRequest(Array(dump.utf8), format: nil)
            Issue.record("\(name): accepted as \(capture.format)")
        } catch {
            #expect(error.kind == .usage, "\(name)")
            #expect(error.message.contains(words), "\(name): \(error.message)")
            #expect(!error.line.contains("\n"))
        }
    }

    @Test("every prefix of every recorded dump parses or fails with a usage error, never a crash")
    func everyPrefix() throws {
        for (name, _) in Self.fixtures {
            let bytes = try Self.fixture(name)
            var accepted = 0
            for n in 0...bytes.count {
                do {
                    let capture = try CapturedRequest(Array(bytes[..<n]), format: nil)
                    if capture.format != .raw { accepted += 1 }
                    // Whatever is accepted ends its head with the empty line (or is raw input).
                    if capture.format != .raw { #expect(capture.head.suffix(4).elementsEqual([13, 10, 13, 10])) }
                } catch {
                    #expect(error.kind == .usage)
                }
            }
            #expect(accepted > 0, "\(name)")
        }
    }
}

/// `TimestampArgument`: the times `--timestamp`, `--now` and the key store's `--at` accept.
@Suite("TimestampArgument: --timestamp and --now forms")
struct TimestampArgumentTests {
    static let reference = "20261202T090000Z"

    static let equivalent = [
        "20261202T090000Z", "2026-12-02T09:00:00Z", "2026-12-02t09:00:00z", "2026-12-02 09:00:00Z",
        "2026-12-02T10:00:00+01:00", "2026-12-02T04:00:00-05:00", "2026-12-02T04:00:00-0500",
        "2026-12-02T10:00:00+0100", "20261202T100000+01:00",
        "20261202T040000-0500", "20261202T100000+0100", "2026-12-02T10:00:00+01", "2026-12-02T09:00:00.999Z",
        "2026-12-02T09:00:00,5+00:00", "2026-12-02T10:00:00.123456789+01:00", "2026-12-01T23:30:00-09:30",
        "@1796202000", "@+1796202000", "@1796202000.75", "20261202T090000.5Z",
    ]

    @Test("each accepted form names the same second as the Z form", arguments: equivalent)
    func equivalentForms(_ text: String) throws {
        let date = try #require(TimestampArgument.parse(text))
        #expect(date.iso8601Basic == Self.reference)
    }

    @Test("the epoch form rounds fractions down, before 1970 too")
    func epochRoundsDown() {
        #expect(TimestampArgument.parse("@0")?.secondsSince1970 == 0)
        #expect(TimestampArgument.parse("@-1")?.secondsSince1970 == -1)
        #expect(TimestampArgument.parse("@-1.5")?.secondsSince1970 == -2)
        #expect(TimestampArgument.parse("@1.999")?.secondsSince1970 == 1)
    }

    static let refused = [
        "", " 20261202T090000Z", "20261202T090000Z ", "2026-12-02T09:00:00", "2026-12-02", "2026-12-02T09:00Z",
        "2026-12-02T09:00:00+1:00", "2026-12-02T09:00:00+01:0", "2026-12-02T09:00:00+24:00",
        "2026-12-02T09:00:00+01:60", "2026-12-02T09:00:00+01:", "2026-13-02T09:00:00Z",
        "2026-02-29T09:00:00Z", "2026-12-02T24:00:00Z", "2026-12-02T09:60:00Z", "2026-12-02T09:00:60Z",
        "2026-12-02T09:00:00.Z", "2026-1202T09:00:00Z", "2026--12-02T09:00:00Z", "-20261202T090000Z",
        "2026-12-02T09:00:00ZZ", "2026-12-02T09:00:00EST", "@", "@abc", "@1e9", "@1.", "@ 1", "@999999999999999",
        "@1796202000Z", "tomorrow", "1796202000", "2015-08-30T12:36:00.5+01:00x",
    ]

    @Test("anything else is refused", arguments: refused)
    func refusedForms(_ text: String) {
        #expect(TimestampArgument.parse(text) == nil, "\(text.debugDescription)")
    }

    @Test("leap days and the ends of the four-digit years")
    func calendarEdges() {
        #expect(TimestampArgument.parse("2024-02-29T00:00:00Z")?.iso8601Basic == "20240229T000000Z")
        #expect(TimestampArgument.parse("2000-02-29T00:00:00Z") != nil)
        #expect(TimestampArgument.parse("1900-02-29T00:00:00Z") == nil)
        #expect(TimestampArgument.parse("0000-01-01T00:00:00Z")?.iso8601Basic == "00000101T000000Z")
        #expect(TimestampArgument.parse("9999-12-31T23:59:59Z")?.iso8601Basic == "99991231T235959Z")
        #expect(TimestampArgument.parse("9999-12-31T23:59:59-00:01") == nil)  // past year 9999 in UTC
        #expect(TimestampArgument.parse("0000-01-01T00:00:00+00:01") == nil)  // before year 0 in UTC
    }
}
