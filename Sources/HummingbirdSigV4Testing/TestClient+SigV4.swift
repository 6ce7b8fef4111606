#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
public import HummingbirdTesting
public import Hummingbird
public import SigV4
import HTTPTypes

/// How a test request's body is covered by its signature.
///
/// ```swift
/// try await client.executeSigned(uri: "/upload", method: .put, body: body, signer: signer, payload: .unsigned)
/// ```
public struct SigV4TestPayload: Sendable {
    enum Kind: Sendable {
        case sha256
        case fixed(PayloadHash)
        case awsChunked(AWSChunkedEncoding, chunkSize: Int)
    }
    let kind: Kind

    /// The SHA-256 of the body (the default).
    public static let sha256 = SigV4TestPayload(kind: .sha256)
    /// `UNSIGNED-PAYLOAD`.
    public static let unsigned = SigV4TestPayload(kind: .fixed(.unsignedPayload))
    /// A payload hash you give (for example a wrong one, to test a refusal).
    public static func hash(_ hash: PayloadHash) -> SigV4TestPayload { SigV4TestPayload(kind: .fixed(hash)) }
    /// The body sent aws-chunked in the given variant (chunk signatures and trailer computed for you).
    public static func awsChunked(_ encoding: AWSChunkedEncoding = .signed, chunkSize: Int = 8192) -> SigV4TestPayload {
        SigV4TestPayload(kind: .awsChunked(encoding, chunkSize: chunkSize))
    }
}

let hostField = HTTPField.Name("Host")!

extension TestClientProtocol {
    /// Sends a request signed with `signer` (header auth) and passes the response to `testCallback`.
    ///
    /// `date` defaults to now. A `Host` header (`host`) is added and signed, so the request verifies in `.router`,
    /// `.live` and `.ahc` test modes alike.
    ///
    /// - Important: `host` must be the authority the test client sends, `localhost` (the default):
    ///   Hummingbird's test clients set their own authority, and `SigV4Authenticator` refuses a request
    ///   whose `Host` field is not its authority (400 `InvalidRequest`), so another `host`, a
    ///   virtual-hosted bucket's name among them, cannot be tested through these helpers.
    ///
    /// ```swift
    /// let signer = Signer(credentials: Credentials(accessKeyID: id, secretAccessKey: secret),
    ///                     region: "us-east-1", service: "s3")
    /// try await app.test(.router) { client in
    ///     try await client.executeSigned(uri: "/bucket/key", method: .put, body: ByteBuffer(string: "hi"),
    ///                                    signer: signer) { response in
    ///         #expect(response.status == .ok)
    ///     }
    /// }
    /// ```
    @discardableResult
    public func executeSigned<Return>(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
        signer: Signer, payload: SigV4TestPayload = .sha256, host: String = "localhost",
        at date: AmzDate? = nil,
        testCallback: @escaping (TestResponse) async throws -> Return = { $0 }
    ) async throws -> Return {
        let (signedHeaders, sentBody) = try Self.signedHeaders(
            uri: uri, method: method, headers: headers, body: body, signer: signer, payload: payload, host: host,
            at: date ?? AmzDate(Date()))
        return try await execute(
            uri: uri, method: method, headers: signedHeaders, body: sentBody, testCallback: testCallback)
    }

    /// Sends a request signed with SigV4a (`AWS4-ECDSA-P256-SHA256`, header auth) and passes the
    /// response to `testCallback`. `payload` defaults to the SHA-256 of `body`.
    ///
    /// ```swift
    /// let signer = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: "s3")
    /// try await client.executeSigned(uri: "/bucket/key", method: .get, signer: signer) { response in
    ///     #expect(response.status == .ok)
    /// }
    /// ```
    @discardableResult
    public func executeSigned<Return>(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
        signer: SigV4aSigner, payload: PayloadHash? = nil, host: String = "localhost", at date: AmzDate? = nil,
        testCallback: @escaping (TestResponse) async throws -> Return = { $0 }
    ) async throws -> Return {
        var fields = headers
        fields[hostField] = host
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        if body != nil { fields[HTTPField.Name.contentLength] = String(bytes.count) }
        let request = HTTPRequest(method: method, scheme: "http", authority: host, path: uri, headerFields: fields)
        let signed = try signer.sign(request, payload: payload ?? .sha256(of: bytes), at: date ?? AmzDate(Date()))
        return try await execute(
            uri: uri, method: method, headers: signed.request.headerFields, body: body, testCallback: testCallback)
    }

    /// Sends a request presigned with `signer` (query auth) and passes the response to `testCallback`.
    ///
    /// ```swift
    /// try await client.executePresigned(uri: "/bucket/key", method: .get, signer: signer, expires: 60) {
    ///     #expect($0.status == .ok)
    /// }
    /// ```
    @discardableResult
    public func executePresigned<Return>(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil,
        signer: Signer, expires: Int, host: String = "localhost", at date: AmzDate? = nil,
        testCallback: @escaping (TestResponse) async throws -> Return = { $0 }
    ) async throws -> Return {
        var fields = headers
        fields[hostField] = host
        let request = HTTPRequest(method: method, scheme: "http", authority: host, path: uri, headerFields: fields)
        let signed = try signer.presign(request, expires: expires, at: date ?? AmzDate(Date()))
        return try await execute(
            uri: signed.request.path ?? uri, method: method, headers: signed.request.headerFields, body: body,
            testCallback: testCallback)
    }

    /// Sends a signed event stream (`STREAMING-AWS4-HMAC-SHA256-EVENTS`, as the AWS SDKs' streaming
    /// clients do): the request is signed with `x-amz-content-sha256` declared and `Content-Type:
    /// application/vnd.amazon.eventstream`, and its body is `messages` (each an encoded event-stream
    /// message, or any bytes), each in an envelope signed with `signer`'s key and chained on the
    /// request's signature, dated `date`, then the empty envelope that ends the stream. With
    /// `endStream` false the end is left out (to test `IncompleteBody`).
    ///
    /// ```swift
    /// try await client.executeSignedEventStream(
    ///     uri: "/stream-transcription", messages: [audioEvent1, audioEvent2], signer: signer
    /// ) { response in
    ///     #expect(response.status == .ok)
    /// }
    /// ```
    @discardableResult
    public func executeSignedEventStream<Return>(
        uri: String, method: HTTPRequest.Method = .post, headers: HTTPFields = [:], messages: [[UInt8]],
        signer: Signer, host: String = "localhost", at date: AmzDate? = nil, endStream: Bool = true,
        testCallback: @escaping (TestResponse) async throws -> Return = { $0 }
    ) async throws -> Return {
        let date = date ?? AmzDate(Date())
        var fields = headers
        fields[hostField] = host
        fields[HTTPField.Name.contentType] = "application/vnd.amazon.eventstream"
        fields[HTTPField.Name("x-amz-content-sha256")!] = PayloadHash.streamingEvents.value
        let request = HTTPRequest(method: method, scheme: "http", authority: host, path: uri, headerFields: fields)
        let signed = try signer.sign(request, payload: .streamingEvents, at: date)
        var events = EventStreamSigner(
            credentials: signer.credentials, region: signer.region, service: signer.service,
            seedSignature: signed.signature)
        var body: [UInt8] = []
        let milliseconds = date.secondsSince1970 * 1000
        for message in messages { body += try events.sign(message, atMilliseconds: milliseconds) }
        if endStream { body += try events.signEnd(atMilliseconds: milliseconds) }
        var sent = signed.request.headerFields
        sent[HTTPField.Name.contentLength] = String(body.count)
        return try await execute(
            uri: uri, method: method, headers: sent, body: ByteBuffer(bytes: body), testCallback: testCallback)
    }

    /// The signed header fields and the body to send (aws-chunked encoded when asked).
    static func signedHeaders(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?, signer: Signer,
        payload: SigV4TestPayload, host: String, at date: AmzDate
    ) throws -> (HTTPFields, ByteBuffer?) {
        var fields = headers
        fields[hostField] = host
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        if body != nil, case .awsChunked = payload.kind {} else if body != nil {
            // The verifier learns that a body exists from Content-Length, as from a real client.
            fields[HTTPField.Name.contentLength] = String(bytes.count)
        }
        let request = HTTPRequest(method: method, scheme: "http", authority: host, path: uri, headerFields: fields)
        switch payload.kind {
        case .sha256:
            return (try signer.sign(request, payload: .sha256(of: bytes), at: date).request.headerFields, body)
        case .fixed(let hash):
            return (try signer.sign(request, payload: hash, at: date).request.headerFields, body)
        case .awsChunked(let encoding, let chunkSize):
            let streaming = try signer.signStreaming(
                request, decodedContentLength: bytes.count, encoding: encoding, chunkSize: chunkSize,
                contentLength: .unsigned, at: date)
            let encoded = try streaming.encode(bytes)
            return (streaming.request.headerFields, ByteBuffer(bytes: encoded))
        }
    }
}
