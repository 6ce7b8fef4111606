import AsyncHTTPClient
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import NIOCore
import NIOHTTP1
import SigV4
import SigV4AsyncHTTPClient
import SigV4Foundation
import SigV4Verifier
import Testing

/// Requests signed by the adapters, sent by the real client (AsyncHTTPClient, URLSession) to a
/// capturing server on 127.0.0.1, and verified from the bytes that arrived.
@Suite("Client adapters: what the client puts on the wire verifies")
struct ClientAdapterWireTests {
    static let date = AmzDate(secondsSince1970: 1_735_689_600)  // 20250101T000000Z
    static let credential = ResolvedCredential(
        accessKeyID: "AKIDWIRE", secretAccessKey: SecretAccessKey("wire-secret-0123456789"), principal: "wire")

    static func signer(service: String = "s3") -> Signer {
        Signer(
            credentials: Credentials(accessKeyID: credential.accessKeyID, secretAccessKey: credential.secretAccessKey),
            region: "us-east-1", service: service, keyCache: nil)
    }

    /// Verifies a captured request with its body (or, `streamed`, its headers only), as a server would.
    static func verify(_ raw: RawHTTPRequest, streamed: Bool = false) async -> VerificationResult {
        let verifier = Verifier(
            resolver: InMemoryCredentialResolver([credential]), policy: VerificationPolicy(allowedRegions: ["us-east-1"]))
        return await verifier.verify(raw.verificationRequest, payload: streamed ? .streamed : .body(raw.body), now: date)
    }

    static func target(_ raw: RawHTTPRequest) -> String { String(decoding: raw.target, as: UTF8.self) }

    static func field(_ raw: RawHTTPRequest, _ name: String) -> String? {
        raw.fields.first { $0.name.lowercased() == name }.map { String(decoding: $0.value, as: UTF8.self) }
    }

    /// Targets that URL types and HTTP stacks treat specially; none has a `.` or `..` segment.
    static let targets = [
        "/photos/a%2Fb%20c.jpg", "/%E2%82%AC/x?list-type=2&prefix=a%2Fb", "/k?x=a+b&y=%2B", "/test$file.text",
        "//double//slash", "/?acl", "/a%2fb%7e~%7E", "/a;b=c/d?x=1;y", "/k?", "/a/.../b/..b/.c", "/a/%2E%2E/b",
        "/k?empty=&flag&x=%20",
    ]

    /// Targets with a `.` or `..` path segment (URLSession on Linux, through libcurl, removes them).
    static let dotTargets = ["/a/./b/../c", "/a/..", "/a/.", "/.", "/..", "/a/./", "/x/../k?y=/../z", "/a/b/.."]

    // MARK: - AsyncHTTPClient

    @Test("AsyncHTTPClient sends the target the adapter signed, and it verifies", arguments: targets + dotTargets)
    func asyncHTTPClientSendsSignedTarget(target: String) async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)\(target)")
        request.method = .PUT
        let signed = try request.sign(with: Self.signer(), body: ByteBuffer(string: "hello"), at: Self.date)
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let raw = try #require(capture.requests.first)
        #expect(Self.target(raw) == signed.request.path)
        let result = await Self.verify(raw)
        #expect(result.isAccepted, "\(target): \(result.failure?.description ?? "")")
    }

    @Test("AsyncHTTPClient: a URL fragment is not sent and not signed")
    func asyncHTTPClientFragment() async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)/k?a=1#frag")
        try request.sign(with: Self.signer(), payload: .emptySHA256, at: Self.date)
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let raw = try #require(capture.requests.first)
        #expect(Self.target(raw) == "/k?a=1")
        #expect(await Self.verify(raw).isAccepted)
    }

    @Test("AsyncHTTPClient: a caller's X-Amz-Security-Token the signer left out (no session token) is not sent")
    func asyncHTTPClientDropsStaleSecurityToken() async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)/k")
        request.headers.add(name: "X-Amz-Security-Token", value: "token-of-earlier-credentials")
        let signed = try request.sign(with: Self.signer(), payload: .emptySHA256, at: Self.date)
        #expect(!signed.canonicalRequest.text.contains("x-amz-security-token"))
        #expect(request.headers.first(name: "X-Amz-Security-Token") == nil)
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let raw = try #require(capture.requests.first)
        let result = await Self.verify(raw)
        #expect(result.isAccepted, "\(result.failure?.description ?? "")")
    }

    @Test("AsyncHTTPClient: a session token replaces the caller's and is signed")
    func asyncHTTPClientReplacesSecurityToken() throws {
        var signer = Self.signer()
        signer.credentials = Credentials(
            accessKeyID: "AKIDWIRE", secretAccessKey: "wire-secret-0123456789", sessionToken: "fresh-token")
        var request = HTTPClientRequest(url: "http://127.0.0.1:9/k")
        request.headers.add(name: "X-Amz-Security-Token", value: "stale-token")
        let signed = try request.sign(with: signer, payload: .emptySHA256, at: Self.date)
        #expect(request.headers["X-Amz-Security-Token"] == ["fresh-token"])
        #expect(signed.canonicalRequest.text.contains("\nx-amz-security-token:fresh-token\n"))
    }

    @Test("AsyncHTTPClient: the adapter sends and signs an IPv6 literal's Host with its brackets and port")
    func asyncHTTPClientIPv6Host() throws {
        // AsyncHTTPClient's own Host (when none is set) trims the brackets on Linux: "::1:8080".
        var request = HTTPClientRequest(url: "http://[::1]:8080/k?x=1")
        let signed = try request.sign(with: Self.signer(), payload: .emptySHA256, at: Self.date)
        #expect(request.headers["Host"] == ["[::1]:8080"])
        #expect(signed.canonicalRequest.text.contains("\nhost:[::1]:8080\n"))
        #expect(signed.request.path == "/k?x=1")
    }

    /// (method, body length (nil: no body, -1: a stream of unknown length), the caller's Content-Length).
    static let framingCases: [(String, Int?, String)] = [
        ("GET", nil, "0"), ("DELETE", nil, "0"), ("PUT", 5, "4"), ("PUT", nil, "5"), ("PUT", -1, "5"), ("PUT", 5, "5"),
    ]

    @Test(
        "AsyncHTTPClient writes Content-Length from the body: the caller's is not signed, and what is sent verifies",
        arguments: 0..<6)
    func asyncHTTPClientLeavesFramingToTheClient(index: Int) async throws {
        let (method, bodyLength, contentLength) = Self.framingCases[index]
        let capture = try WireCapture()
        defer { capture.stop() }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)/k")
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Content-Length", value: contentLength)
        if let bodyLength {
            request.body =
                bodyLength < 0
                ? .stream([ByteBuffer(string: "hello")].async, length: .unknown)
                : .bytes(ByteBuffer(repeating: 0x61, count: bodyLength))
        }
        let signed = try request.sign(with: Self.signer(), payload: .unsignedPayload, at: Self.date)
        #expect(!signed.canonicalRequest.text.contains("content-length"))
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let raw = try #require(capture.requests.first)
        let result = await Self.verify(raw)
        #expect(result.isAccepted, "\(method) \(String(describing: bodyLength)) \(contentLength): \(result.failure?.description ?? "")")
    }

    @Test("AsyncHTTPClient: an aws-chunked body shorter or longer than declared fails the request with contentLengthMismatch")
    func asyncHTTPClientChunkedLengthMismatch() async throws {
        for (declared, actual) in [(20_000, 19_999), (20_000, 20_001), (20_000, 0)] {
            let capture = try WireCapture()
            defer { capture.stop() }
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)/k")
            request.method = .PUT
            let pieces = stride(from: 0, to: actual, by: 7_000).map {
                ByteBuffer(repeating: 0x62, count: min(7_000, actual - $0))
            }
            try request.signAWSChunked(
                with: Self.signer(), body: pieces.async, length: declared, encoding: .signedWithTrailer(.crc32c),
                chunkSize: 8_192, at: Self.date)
            let error = await #expect(throws: SigV4Error.self) {
                _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            }
            #expect(error?.code == .contentLengthMismatch, "declared \(declared), sent \(actual)")
            #expect(capture.requests.isEmpty, "a complete request reached the server")
        }
    }

    @Test(
        "AsyncHTTPClient: the same aws-chunked request executed again (a retry) re-sends a body signed from the seed",
        arguments: [AWSChunkedEncoding.signed, .signedWithTrailer(.sha256), .unsignedWithTrailer(.crc32c)])
    func asyncHTTPClientChunkedBodyRetried(encoding: AWSChunkedEncoding) async throws {
        // (AsyncHTTPClient itself never re-sends a streamed body: a 307 comes back to the caller.)
        let capture = try WireCapture(responses: ["HTTP/1.1 503 Slow Down"])
        defer { capture.stop() }
        let data = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let pieces = stride(from: 0, to: data.count, by: 6_000).map {
            ByteBuffer(bytes: data[$0..<min($0 + 6_000, data.count)])
        }
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)/k")
        request.method = .PUT
        let streaming = try request.signAWSChunked(
            with: Self.signer(), body: pieces.async, length: data.count, encoding: encoding, chunkSize: 8_192,
            at: Self.date)
        let first = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(first.status == .serviceUnavailable)
        let second = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(second.status == .ok)
        let sent = capture.requests
        try #require(sent.count == 2)
        let expected = try streaming.encode(data)
        #expect(sent[0].body == expected)
        #expect(sent[1].body == expected)
        for raw in sent {
            let result = await Self.verify(raw, streamed: true)
            #expect(result.isAccepted, "\(result.failure?.description ?? "")")
        }
    }

    @Test("AsyncHTTPClient: signEventStream sends each message in a chained envelope and the end; the server's verifier releases exactly the messages")
    func asyncHTTPClientEventStream() async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        let messages: [[UInt8]] = [Array("first".utf8), [], (0..<5000).map { UInt8(truncatingIfNeeded: $0) }, [7]]
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(capture.port)/stream-transcription")
        request.method = .POST
        request.headers.add(name: "x-amzn-transcribe-language-code", value: "en-US")
        let milliseconds = Self.date.secondsSince1970 * 1000
        let signed = try request.signEventStream(
            with: Self.signer(service: "transcribe"), messages: messages.map { ByteBuffer(bytes: $0) }.async,
            at: Self.date, clock: { milliseconds })
        #expect(signed.request.headerFields[HTTPField.Name("x-amz-content-sha256")!] == "STREAMING-AWS4-HMAC-SHA256-EVENTS")
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let raw = try #require(capture.requests.first)
        #expect(Self.field(raw, "content-type") == "application/vnd.amazon.eventstream")
        let result = await Self.verify(raw, streamed: true)
        let verified = try #require(result.verified, "\(result.failure?.description ?? "")")
        #expect(verified.payload == .eventStream)
        var decoder = try verified.makeEventStreamDecoder(clock: { milliseconds })
        var released: [[UInt8]] = []
        try decoder.feed(raw.body) { released.append($0) }
        try decoder.finish()
        // The empty message is not sent: it would read as the end of the stream.
        #expect(released == messages.filter { !$0.isEmpty })
    }

    // MARK: - URLSession

    /// Sends `request` with URLSession and returns what arrived at `capture`.
    static func send(_ request: URLRequest, to capture: WireCapture) async throws -> RawHTTPRequest {
        _ = try await URLSession.shared.data(for: request)
        return try #require(capture.requests.first)
    }

    @Test(
        "URLSession uploads a file signed as aws-chunked (signAWSChunkedUpload, then upload(for:fromFile:)) with its encoded Content-Length, no chunked transfer coding, and the server's decoder releases exactly the file",
        arguments: [AWSChunkedEncoding.signed, .signedWithTrailer(.crc32c), .unsignedWithTrailer(.sha256)])
    func urlSessionAWSChunkedFileUpload(encoding: AWSChunkedEncoding) async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sigv4-chunked-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // Three whole 8 KiB chunks and a short one.
        let data = (0..<(3 * 8_192 + 1_001)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let file = directory.appendingPathComponent("payload.bin")
        let encoded = directory.appendingPathComponent("payload.aws-chunked")
        try Data(data).write(to: file)
        let url = try #require(URL(string: "http://127.0.0.1:\(capture.port)/bucket/big%20file.bin"))
        var request = URLRequest(url: url)
        request.httpMethod = "PUT"
        let streaming = try request.signAWSChunkedUpload(
            of: file, to: encoded, with: Self.signer(), encoding: encoding, chunkSize: 8_192, at: Self.date)
        #expect(try Data(contentsOf: encoded) == Data(try streaming.encode(data)))
        _ = try await URLSession.shared.upload(for: request, fromFile: encoded)
        let raw = try #require(capture.requests.first)
        #expect(Self.field(raw, "content-length") == String(try #require(streaming.encodedContentLength)))
        #expect(Self.field(raw, "transfer-encoding") == nil)
        #expect(Self.field(raw, "x-amz-decoded-content-length") == String(data.count))
        let result = await Self.verify(raw, streamed: true)
        let verified = try #require(result.verified, "\(result.failure?.description ?? "")")
        #expect(verified.payload == .awsChunked)
        var decoder = try verified.makeChunkedDecoder(for: raw.verificationRequest)
        var released: [UInt8] = []
        try raw.body.withUnsafeBytes { wire in try decoder.feed(wire) { released += $0 } }
        try decoder.finish()
        #expect(released == data)
    }

    @Test(
        "signAWSChunkedUpload refuses a request that already has a body, and a file that runs past the length it had (contentLengthMismatch), leaving no encoded file"
    )
    func urlSessionAWSChunkedFileUploadRefusals() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sigv4-chunked-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("payload.bin")
        let encoded = directory.appendingPathComponent("payload.aws-chunked")
        try Data("hello".utf8).write(to: file)
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:9/k")))
        request.httpMethod = "PUT"
        request.httpBody = Data("other".utf8)
        let bodyError = #expect(throws: SigV4Error.self) {
            try request.signAWSChunkedUpload(of: file, to: encoded, with: Self.signer(), at: Self.date)
        }
        #expect(bodyError?.code == .invalidPayloadHash)
        request.httpBody = nil
        // /dev/zero has no length when asked and never ends when read.
        let growing = #expect(throws: SigV4Error.self) {
            try request.signAWSChunkedUpload(
                of: URL(fileURLWithPath: "/dev/zero"), to: encoded, with: Self.signer(), at: Self.date)
        }
        #expect(growing?.code == .contentLengthMismatch)
        #expect(!FileManager.default.fileExists(atPath: encoded.path))
        #expect(request.value(forHTTPHeaderField: "Authorization") == nil)
    }

    @Test("URLSession sends the target the adapter signed, and it verifies", arguments: targets)
    func urlSessionSendsSignedTarget(target: String) async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(capture.port)\(target)")))
        request.httpMethod = "PUT"
        request.httpBody = Data("hello".utf8)
        let signed = try request.sign(with: Self.signer(), at: Self.date)
        let raw = try await Self.send(request, to: capture)
        #expect(Self.target(raw) == signed.request.path)
        let result = await Self.verify(raw)
        #expect(result.isAccepted, "\(target): \(result.failure?.description ?? "")")
    }

    #if canImport(FoundationNetworking)
    @Test("URLSession (libcurl) removes . and .. path segments before sending", arguments: dotTargets)
    func urlSessionRemovesDotSegments(target: String) async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        let request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(capture.port)\(target)")))
        let raw = try await Self.send(request, to: capture)
        #expect(Self.target(raw) != target)
    }
    #endif

    @Test(
        "URLRequest with a . or .. path segment is refused (URLSession would send another path), for every service",
        arguments: dotTargets)
    func urlRequestRefusesDotSegments(target: String) throws {
        for service in ["s3", "sqs"] {
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:9\(target)")))
            #expect(throws: SigV4Error.self) { _ = try request.sign(with: Self.signer(service: service), at: Self.date) }
            #expect(request.value(forHTTPHeaderField: "Authorization") == nil)
            #expect(throws: SigV4Error.self) {
                _ = try Self.signer(service: service).presignedURL(for: try #require(request.url), expires: 60, at: Self.date)
            }
        }
    }

    @Test("URLSession: a caller's X-Amz-Security-Token the signer left out (no session token) is not sent")
    func urlSessionDropsStaleSecurityToken() async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(capture.port)/k")))
        request.setValue("token-of-earlier-credentials", forHTTPHeaderField: "X-Amz-Security-Token")
        try request.sign(with: Self.signer(), at: Self.date)
        #expect(request.value(forHTTPHeaderField: "X-Amz-Security-Token") == nil)
        let raw = try await Self.send(request, to: capture)
        let result = await Self.verify(raw)
        #expect(result.isAccepted, "\(result.failure?.description ?? "")")
    }

    @Test("URLSession: a presigned URL from the adapter verifies as URLSession sends it", arguments: targets)
    func urlSessionPresignedURL(target: String) async throws {
        let capture = try WireCapture()
        defer { capture.stop() }
        let url = try Self.signer().presignedURL(
            for: try #require(URL(string: "http://127.0.0.1:\(capture.port)\(target)")), expires: 300, at: Self.date)
        let raw = try await Self.send(URLRequest(url: url), to: capture)
        let result = await Self.verify(raw)
        #expect(result.isAccepted, "\(target): \(result.failure?.description ?? "")")
    }
}
