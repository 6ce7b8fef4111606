import Foundation
import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// `sigv4 serve` in front of a streaming service: a signed event stream (`STREAMING-AWS4-HMAC-SHA256-EVENTS`)
/// is verified message by message and forwarded as its messages, or, re-signed for the upstream, as
/// envelopes signed with the upstream's key and chained on the forwarded request's signature.
@Suite("sigv4 serve forwards signed event streams (built binary)", .serialized)
struct GatewayEventStreamTests {
    static let messages: [[UInt8]] = [
        Array("first audio\n\r\n".utf8), (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7) }, Array("last".utf8),
    ]

    /// Alice's seed request (the Go SDK's form: the payload line only, no `x-amz-content-sha256`)
    /// and its envelopes, dated now.
    static func stream(_ rig: GatewayForwardingTests.Rig, path: String, secret: String? = nil)
        throws -> (fields: [(String, String)], body: [UInt8])
    {
        let host = "127.0.0.1:\(rig.port)"
        let signer = Signer(credentials: rig.credentials, region: "us-east-1", service: "transcribe", keyCache: nil)
        let request = HTTPRequest(
            method: .post, scheme: "http", authority: host, path: path,
            headerFields: [.contentType: "application/vnd.amazon.eventstream"])
        let now = Date()
        let signed = try signer.sign(request, payload: .streamingEvents, at: AmzDate(now))
        var events = EventStreamSigner(
            credentials: Credentials(
                accessKeyID: rig.credentials.accessKeyID, secretAccessKey: secret.map { SecretAccessKey($0) } ?? rig.credentials.secretAccessKey),
            region: "us-east-1", service: "transcribe", seedSignature: signed.signature)
        let ms = Int64(now.timeIntervalSince1970 * 1000)
        var body: [UInt8] = []
        for m in messages { body += try events.sign(m, atMilliseconds: ms) }
        body += try events.signEnd(atMilliseconds: ms)
        let fields = [("Host", host)] + signed.request.headerFields.map { ($0.name.rawName, $0.value) }
        return (fields + [("Content-Length", String(body.count))], body)
    }

    /// The upstream's one recorded request: its head lines and its body (decoded from chunked framing).
    /// (The first envelope the gateway releases is the upstream's first word: it is recorded once whole.)
    static func recorded(_ rig: GatewayForwardingTests.Rig) throws -> (lines: [String], body: [UInt8]) {
        let raw = GatewayHygieneTests.file(rig.directory + "/upstream.raw")
        // The python server writes the request line with CRLF and the header lines as
        // `bytes(http.client.HTTPMessage)` does, with LF, ending with an empty line.
        let end = try #require(raw.indices.first { raw[$0...].starts(with: Array("\n\n".utf8)) }, "nothing recorded upstream")
        let head = String(decoding: raw[..<end], as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        // Long values are folded (a space that became a line break and the space): unfold them.
        var lines: [String] = []
        for line in head.split(separator: "\n") {
            if line.first == " ", !lines.isEmpty { lines[lines.count - 1] += line } else { lines.append(String(line)) }
        }
        return (lines, Array(raw[(end + 2)...]))
    }

    @Test("the verified messages go upstream as they are, chunked, without the envelopes' length, marked UNSIGNED-PAYLOAD")
    func forwardedAsMessages() throws {
        let rig = try GatewayForwardingTests.Rig()
        let (fields, body) = try Self.stream(rig, path: "/stream-transcription")
        let (status, response) = try rig.send("POST", "/stream-transcription", fields, body: body)
        #expect(status == 200, "\(response)")
        let (lines, forwarded) = try Self.recorded(rig)
        #expect(lines.first == "POST /stream-transcription HTTP/1.1")
        #expect(forwarded == Self.messages.flatMap { $0 })
        let lowercased = lines.map { $0.lowercased() }
        #expect(lowercased.contains("transfer-encoding: chunked"), "\(lines)")
        #expect(!lowercased.contains { $0.hasPrefix("content-length:") }, "\(lines)")
        #expect(lowercased.contains("x-amz-content-sha256: unsigned-payload"), "\(lines)")
        #expect(lowercased.contains("content-type: application/vnd.amazon.eventstream"), "\(lines)")
    }

    @Test("re-signed for the upstream, the stream verifies there with the upstream's key, message for message, and not with the client's")
    func resignedForTheUpstream() async throws {
        let rig = try GatewayForwardingTests.Rig(resigning: true)
        let (fields, body) = try Self.stream(rig, path: "/stream-transcription")
        let (status, response) = try rig.send("POST", "/stream-transcription", fields, body: body)
        #expect(status == 200, "\(response)")
        let (lines, forwarded) = try Self.recorded(rig)
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }.filter { $0.0.lowercased() != "transfer-encoding" } + [("Transfer-Encoding", "chunked")]
        let request = VerificationRequest(method: "POST", target: "/stream-transcription", headers: headers)
        let upstreamKey = ResolvedCredential(
            accessKeyID: "UPSTREAMKEY", secretAccessKey: SecretAccessKey(GatewayHygieneTests.upstreamSecret), principal: "upstream")
        let result = await Verifier(resolver: InMemoryCredentialResolver([upstreamKey])).verify(request, now: AmzDate(Date()))
        let verified = try #require(result.verified, "\(result.failure?.description ?? "") \(lines)")
        #expect(verified.payload == .eventStream)
        var decoder = try verified.makeEventStreamDecoder(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        var released: [[UInt8]] = []
        try decoder.feed(forwarded) { released.append($0) }
        try decoder.finish()
        #expect(released == Self.messages)
        // The client's own envelopes are not what went upstream.
        #expect(forwarded != body)
    }

    @Test("a stream whose first envelope is not the key holder's is refused before the upstream hears of it")
    func foreignStreamReachesNothing() throws {
        let rig = try GatewayForwardingTests.Rig()
        let (fields, body) = try Self.stream(rig, path: "/stream-transcription", secret: "mallory-secret-0000")
        let (status, response) = try rig.send("POST", "/stream-transcription", fields, body: body)
        #expect(status == 403 && response.contains("<Code>SignatureDoesNotMatch</Code>"), "\(response)")
        #expect(GatewayHygieneTests.file(rig.directory + "/upstream.raw").isEmpty)
    }
}
