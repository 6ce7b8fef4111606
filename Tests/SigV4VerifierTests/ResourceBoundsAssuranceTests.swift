import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// Hostile sizes at the verifier and reader level: each is cut off with a typed 4xx-class error after a bounded
/// amount of work. Peak memory for the same cases is measured by `scripts/faults/resource-bounds` (one process
/// per case under `/usr/bin/time -v`, figures in Docs/Assurance.md).
@Suite("resource bounds")
struct ResourceBoundsAssuranceTests {
    static let now = Fixture.date.adding(seconds: 5)

    static func raw(_ lines: [String], body: [UInt8] = []) -> [UInt8] {
        Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8) + body
    }

    static func readError(_ bytes: [UInt8]) -> HTTPReadError? {
        do {
            _ = try HTTPRequestReader().read(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("10,000 header fields: the reader stops at its field limit; the verifier rejects them unsigned")
    func tenThousandHeaders() async {
        var lines = ["GET / HTTP/1.1", "Host: h"]
        for i in 0..<10_000 { lines.append("x-amz-meta-h\(i): v") }
        #expect(Self.readError(Self.raw(lines))?.code == .limitExceeded)

        // Given straight to the verifier (a server that parsed them itself), the unsigned x-amz-* fields are refused:
        // past the 10,000-field limit of the canonicalization too, every field is read first, so the refusal names
        // them (it said the request was not signed while the collection refused before reading the fields).
        var (request, body) = Fixture.signedPut()
        for i in 0..<10_000 { request.fields.append(.init(name: "x-amz-meta-h\(i)", value: "v")) }
        let result = await Fixture.verifier().verify(request, payload: .body(body), now: Self.now)
        #expect(result.failure?.code.name == "AccessDenied")
        #expect(result.failure?.message == "There were headers present in the request which were not signed")
        #expect(result.failure.map { (400..<500).contains($0.code.httpStatus) } == true)
    }

    @Test("a 1 MiB Authorization header: the reader refuses the line; the verifier answers AuthorizationHeaderMalformed")
    func hugeAuthorization() async {
        let value = "AWS4-HMAC-SHA256 Credential=" + String(repeating: "A", count: 1 << 20)
        #expect(Self.readError(Self.raw(["GET / HTTP/1.1", "Host: h", "Authorization: " + value]))?.code == .limitExceeded)

        var (request, body) = Fixture.signedPut()
        let k = request.fields.firstIndex { $0.name.lowercased() == "authorization" }!
        request.fields[k].value = Array(value.utf8)
        let result = await Fixture.verifier().verify(request, payload: .body(body), now: Self.now)
        #expect(result.failure?.code.name == "AuthorizationHeaderMalformed")
        // The error message never echoes the megabyte back.
        #expect((result.failure?.description.utf8.count ?? 0) < 4096)
    }

    static func chunkedDecoder(_ encoding: AWSChunkedEncoding = .signed, length: Int = 1 << 20) throws -> AWSChunkedDecoder {
        let scope = try CredentialScope(date: Fixture.date, region: "us-east-1", service: "s3")
        let key = SigningKey(secretAccessKey: SecretAccessKey(Fixture.secret), scope: scope)
        return AWSChunkedDecoder(
            encoding: encoding, decodedContentLength: length, signingKey: key, date: Fixture.date,
            seedSignature: Signature(hex: String(repeating: "ab", count: 32))!)
    }

    @Test("a chunk-size line claiming 4 GiB is refused before any data is buffered")
    func fourGiBChunk() throws {
        var decoder = try Self.chunkedDecoder()
        let line = Array("100000000;chunk-signature=\(String(repeating: "ab", count: 32))\r\n".utf8)
        #expect(throws: VerificationFailure.self) { _ = try decoder.feed(line) }
        var d = try Self.chunkedDecoder()
        do throws(VerificationFailure) {
            _ = try d.feed(line)
        } catch {
            #expect((400..<500).contains(error.code.httpStatus))
        }
        // An unsigned variant and an absurd number of hex digits too.
        var unsigned = try Self.chunkedDecoder(.unsignedWithTrailer(.crc32))
        #expect(throws: VerificationFailure.self) { _ = try unsigned.feed(Array("ffffffffffffffffffff\r\n".utf8)) }
        // The HTTP reader's own chunked framing.
        let framed = Self.raw(["PUT /o HTTP/1.1", "Host: h", "Transfer-Encoding: chunked"], body: Array("100000000\r\nabc".utf8))
        let error = Self.readError(framed)
        #expect(error?.code == .limitExceeded || error?.code == .truncated)
    }

    @Test("a trailer that never ends is cut off at the trailer limit")
    func endlessTrailer() throws {
        var decoder = try Self.chunkedDecoder(.unsignedWithTrailer(.crc32), length: 0)
        _ = try decoder.feed(Array("0\r\n".utf8))
        let line = Array("x-amz-meta-more: ".utf8) + [UInt8](repeating: 0x61, count: 100) + [0x0d, 0x0a]
        var fed = 0
        var failure: VerificationFailure?
        while fed < 1 << 20 && failure == nil {
            do { _ = try decoder.feed(line) } catch { failure = error }
            fed += line.count
        }
        #expect(failure != nil)
        #expect(fed <= AWSChunkedDecoder.Limits.default.maxTrailerBytes + line.count)
        #expect(failure.map { (400..<500).contains($0.code.httpStatus) } == true)

        var trailers = ["PUT /o HTTP/1.1", "Host: h", "Transfer-Encoding: chunked", "", "0"]
        for i in 0..<10_000 { trailers.append("t\(i): v") }
        #expect(Self.readError(Self.raw(trailers))?.code == .limitExceeded)
    }

    @Test("a body dripped one byte at a time: a size line without end is cut off; a stalled body is incomplete")
    func slowloris() throws {
        var decoder = try Self.chunkedDecoder()
        var failure: VerificationFailure?
        var fed = 0
        while fed < 1 << 20 && failure == nil {
            do { _ = try decoder.feed([UInt8(ascii: "1")]) } catch { failure = error }
            fed += 1
        }
        #expect(failure != nil)
        #expect(fed <= AWSChunkedDecoder.Limits.default.maxLineLength + 2, "the line limit plus its CRLF")

        // Valid framing, dripped byte by byte, that stops mid-chunk: nothing is released and finish() fails.
        var stalled = try Self.chunkedDecoder()
        var released = 0
        for b in Array("2000;chunk-signature=\(String(repeating: "ab", count: 32))\r\n".utf8) + [UInt8](repeating: 0x61, count: 4096) {
            released += try stalled.feed([b]).count
        }
        #expect(released == 0)
        #expect(throws: VerificationFailure.self) { try stalled.finish() }
        do { try stalled.finish() } catch { #expect(error.code.httpStatus == 400) }
    }
}
