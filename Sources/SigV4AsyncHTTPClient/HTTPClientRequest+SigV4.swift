public import AsyncHTTPClient
public import NIOCore
public import SigV4
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
import NIOHTTP1

extension HTTPClientRequest {
    /// Sets `bytes` as the body and signs the request with its SHA-256 in the `Authorization` header.
    ///
    /// The request target is taken from ``HTTPClientRequest/url`` exactly as written (split by hand,
    /// never re-encoded by a URL type). A URL that AsyncHTTPClient would put on the wire differently
    /// (for example one with a space or other byte that must be percent-encoded) is refused with
    /// `SigV4Error.invalidRequestTarget`: percent-encode it yourself first. A `Host` header equal to
    /// the URL's authority is added when the request has none, so the signed host is the sent host.
    ///
    /// ```swift
    /// var request = HTTPClientRequest(url: "https://examplebucket.s3.amazonaws.com/photos/cat%20one.jpg")
    /// request.method = .PUT
    /// try request.sign(with: signer, body: ByteBuffer(bytes: jpegBytes), at: AmzDate(Date()))
    /// let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    /// ```
    ///
    /// - Returns: every signing stage, for logging or debugging.
    @discardableResult
    public mutating func sign(with signer: Signer, body bytes: ByteBuffer, at date: AmzDate) throws(SigV4Error)
        -> SignedRequest
    {
        let hash = bytes.withUnsafeReadableBytes { PayloadHash.sha256(of: $0) }
        self.body = .bytes(bytes)
        return try sign(with: signer, payload: hash, at: date)
    }

    /// Signs the request with a payload hash you give, leaving ``HTTPClientRequest/body`` as it is.
    ///
    /// Use ``PayloadHash/emptySHA256`` for a request without a body, and ``PayloadHash/unsignedPayload``
    /// for a streaming body you do not want to hash (S3 accepts it over HTTPS; the signature then
    /// covers the method, target and headers only).
    ///
    /// AsyncHTTPClient sets `Content-Length` (or `Transfer-Encoding: chunked`) itself from
    /// ``HTTPClientRequest/body`` when it sends the request, replacing any you set; so a
    /// `Content-Length` or `Transfer-Encoding` header you added is removed and not signed.
    /// A caller's `X-Amz-Date` or `X-Amz-Security-Token` is replaced by the signer's (removed when the
    /// credentials have no session token); a request that already has `Authorization` is refused.
    ///
    /// ```swift
    /// var request = HTTPClientRequest(url: "https://examplebucket.s3.amazonaws.com/big.bin")
    /// request.method = .PUT
    /// request.body = .stream(fileChunks, length: .known(size))
    /// try request.sign(with: signer, payload: .unsignedPayload, at: AmzDate(Date()))
    /// ```
    @discardableResult
    public mutating func sign(with signer: Signer, payload: PayloadHash, at date: AmzDate) throws(SigV4Error)
        -> SignedRequest
    {
        let signed = try signer.sign(try httpRequestForSigning(), payload: payload, at: date)
        setSignedHeaders(signed.request, added: signed.addedHeaders)
        return signed
    }

    /// Makes the headers those of the signed request: sets the fields the signer added (replacing
    /// any of the same name) and removes those the signer left out of it, such as a caller's
    /// `X-Amz-Security-Token` when the credentials have no session token (sent, it would be an
    /// unsigned `x-amz-*` header the server refuses).
    mutating func setSignedHeaders(_ signed: HTTPRequest, added fields: [HTTPField]) {
        var dropped: [String] = []
        for (name, _) in headers {
            if let fieldName = HTTPField.Name(name), signed.headerFields[fieldName] == nil { dropped.append(name) }
        }
        for name in dropped { headers.remove(name: name) }
        for field in fields { headers.replaceOrAdd(name: field.name.rawName, value: field.value) }
    }

    /// Signs the request with SigV4a (`AWS4-ECDSA-P256-SHA256`), for multi-region endpoints, with a
    /// payload hash you give; the same target and `Host` rules as ``sign(with:payload:at:)``.
    ///
    /// ```swift
    /// let signer = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: "s3")
    /// var request = HTTPClientRequest(url: "https://mfzwi23gnjvgw.mrap.accesspoint.s3-global.amazonaws.com/key")
    /// try request.sign(with: signer, payload: .emptySHA256, at: AmzDate(Date()))
    /// ```
    @discardableResult
    public mutating func sign(with signer: SigV4aSigner, payload: PayloadHash, at date: AmzDate) throws(SigV4Error)
        -> SigV4aSignedRequest
    {
        let signed = try signer.sign(try httpRequestForSigning(), payload: payload, at: date)
        setSignedHeaders(signed.request, added: signed.addedHeaders)
        return signed
    }

    /// Signs an aws-chunked streaming upload: sets the seed headers and a body that encodes and
    /// signs `payload` chunk by chunk as AsyncHTTPClient sends it.
    ///
    /// Memory stays at about one chunk whatever the payload size. The seed request carries
    /// `Content-Encoding: aws-chunked`, `x-amz-decoded-content-length: length`, the encoded
    /// `Content-Length`, `x-amz-content-sha256: STREAMING-…` and, for the trailer variants,
    /// `x-amz-trailer`; the body is sent with its exact encoded length.
    ///
    /// ```swift
    /// var request = HTTPClientRequest(url: "https://examplebucket.s3.amazonaws.com/big.bin")
    /// request.method = .PUT
    /// try request.signAWSChunked(
    ///     with: signer, body: fileChunks, length: size, encoding: .signedWithTrailer(.crc32c), at: AmzDate(Date()))
    /// let response = try await HTTPClient.shared.execute(request, timeout: .minutes(10))
    /// ```
    ///
    /// - Parameters:
    ///   - payload: the decoded bytes, as buffers of any size; exactly `length` bytes in all.
    ///   - length: the decoded length (S3 requires it).
    ///   - encoding: `.signed`, `.signedWithTrailer(_:)` or `.unsignedWithTrailer(_:)`.
    ///   - chunkSize: data bytes per chunk, 8 KiB to 64 MiB (default 64 KiB).
    @discardableResult
    public mutating func signAWSChunked<Payload: AsyncSequence & Sendable>(
        with signer: Signer, body payload: Payload, length: Int, encoding: AWSChunkedEncoding = .signed,
        chunkSize: Int = AWSChunkedEncoding.defaultChunkSize, at date: AmzDate
    ) throws(SigV4Error) -> StreamingSignedRequest where Payload.Element == ByteBuffer {
        let request = try httpRequestForSigning()
        let streaming = try signer.signStreaming(
            request, decodedContentLength: length, encoding: encoding, chunkSize: chunkSize, contentLength: .signed,
            at: date)
        setStreamingUpload(
            streaming.request, frames: streaming.body(payload.map { $0.readableBytesView }),
            length: streaming.encodedContentLength ?? 0)
        return streaming
    }

    /// Signs a SigV4a aws-chunked streaming upload (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`, or
    /// `…-TRAILER` with `trailer`): as ``signAWSChunked(with:body:length:encoding:chunkSize:at:)-(Signer,_,_,_,_,_)``,
    /// each chunk signed with ECDSA as it is sent.
    ///
    /// ```swift
    /// let signer = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: "s3")
    /// try request.signAWSChunked(with: signer, body: fileChunks, length: size, trailer: .crc32c, at: AmzDate(Date()))
    /// ```
    @discardableResult
    public mutating func signAWSChunked<Payload: AsyncSequence & Sendable>(
        with signer: SigV4aSigner, body payload: Payload, length: Int, trailer: TrailingChecksum.Algorithm? = nil,
        chunkSize: Int = AWSChunkedEncoding.defaultChunkSize, at date: AmzDate
    ) throws(SigV4Error) -> SigV4aStreamingSignedRequest where Payload.Element == ByteBuffer {
        let streaming = try signer.signStreaming(
            try httpRequestForSigning(), decodedContentLength: length, trailer: trailer, chunkSize: chunkSize, at: date)
        setStreamingUpload(
            streaming.request, frames: streaming.body(payload.map { $0.readableBytesView }),
            length: streaming.encodedContentLength)
        return streaming
    }

    /// Signs a request whose body is a signed event stream (`STREAMING-AWS4-HMAC-SHA256-EVENTS`: the
    /// input of Transcribe streaming, Lex `StartConversation`, Bedrock's bidirectional APIs): the
    /// request is signed with `x-amz-content-sha256` declared and `Content-Type:
    /// application/vnd.amazon.eventstream` (unless one is set), and each element of `messages` (an
    /// encoded event-stream message, such as an AudioEvent) is sent as it comes, in an envelope
    /// signed with `signer`'s key, chained on the request's signature and dated by `clock`
    /// (milliseconds since 1970; default the wall clock) when it is sent; the signed empty envelope that ends the stream
    /// follows the last. The length is unknown: the body streams (HTTP/2 DATA frames, or chunked
    /// over HTTP/1.1). Returns the seed request as signed.
    ///
    /// ```swift
    /// var request = HTTPClientRequest(url: "https://transcribestreaming.us-east-1.amazonaws.com:8443/stream-transcription")
    /// request.method = .POST
    /// request.headers.add(name: "x-amzn-transcribe-language-code", value: "en-US")
    /// try request.signEventStream(with: signer, messages: audioEvents, at: AmzDate(Date()))
    /// let response = try await HTTPClient.shared.execute(request, timeout: .minutes(30))
    /// ```
    @discardableResult
    public mutating func signEventStream<Messages: AsyncSequence & Sendable>(
        with signer: Signer, messages: Messages, at date: AmzDate,
        clock: (@Sendable () -> Int64)? = nil
    ) throws(SigV4Error) -> SignedRequest where Messages.Element == ByteBuffer {
        if headers["Content-Type"].isEmpty { headers.add(name: "Content-Type", value: "application/vnd.amazon.eventstream") }
        headers.replaceOrAdd(name: "x-amz-content-sha256", value: PayloadHash.streamingEvents.value)
        let signed = try sign(with: signer, payload: .streamingEvents, at: date)
        let events = EventStreamSigner(
            credentials: signer.credentials, region: signer.region, service: signer.service,
            seedSignature: signed.signature)
        let now = clock ?? { Int64(Date().timeIntervalSince1970 * 1000) }
        body = .stream(EventStreamEnvelopes(messages: messages, signer: events, clock: now), length: .unknown)
        return signed
    }

    /// Sets the seed request's headers and the encoded body, sent with its exact length.
    mutating func setStreamingUpload<Frames: AsyncSequence & Sendable>(
        _ seed: HTTPRequest, frames: Frames, length: Int
    ) where Frames.Element == [UInt8] {
        var signedHeaders = HTTPHeaders()
        for field in seed.headerFields {
            signedHeaders.add(name: field.name.rawName, value: field.value)
        }
        headers = signedHeaders
        body = .stream(frames.map { ByteBuffer(bytes: $0) }, length: .known(Int64(length)))
    }

    /// This request as an `HTTPRequest` with the byte-exact target, adding `Host` when missing.
    ///
    /// AsyncHTTPClient writes the framing itself: it removes the caller's `Content-Length` and
    /// `Transfer-Encoding` and sets its own from ``HTTPClientRequest/body`` (none for a `GET`
    /// without a body, `Transfer-Encoding: chunked` for a stream of unknown length). A value the
    /// caller set is therefore never the one sent, and is removed here rather than signed. The
    /// request is changed only when every check has passed.
    mutating func httpRequestForSigning() throws(SigV4Error) -> HTTPRequest {
        let parts = try RequestTarget(absoluteURL: url)
        guard RequestTarget.asyncHTTPClientWireTarget(url) == parts.path else {
            throw SigV4Error(
                .invalidRequestTarget,
                "AsyncHTTPClient would send a different request target than the URL string holds; percent-encode the path and query first"
            )
        }
        var request = HTTPRequest(
            method: HTTPRequest.Method(method.rawValue) ?? .get, scheme: parts.scheme, authority: parts.authority,
            path: parts.path)
        guard request.method.rawValue == method.rawValue else {
            throw SigV4Error(.invalidRequestTarget, "the HTTP method is not a valid token")
        }
        var fields = try Self.fields(headers)
        fields[.contentLength] = nil
        fields[.transferEncoding] = nil
        headers.remove(name: "Content-Length")
        headers.remove(name: "Transfer-Encoding")
        let host = HTTPField.Name("Host")!
        if fields[host] == nil {
            fields.append(HTTPField(name: host, value: parts.authority))
            headers.add(name: "Host", value: parts.authority)
        }
        request.headerFields = fields
        return request
    }

    /// Converts NIO headers to `HTTPFields`, refusing names that are not HTTP tokens.
    static func fields(_ headers: HTTPHeaders) throws(SigV4Error) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in headers {
            guard let fieldName = HTTPField.Name(name) else {
                throw SigV4Error(.invalidHeader, "header name \(name.debugDescription.prefix(40)) is not a token")
            }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }
}

/// The envelopes of a signed event stream: each message signed when it is sent (dated by `clock`,
/// milliseconds since 1970), then the end. Each element of `messages` is one message; an empty one
/// is not sent (it would read as the end). Also what `sigv4 serve` sends upstream when it signs a
/// verified stream again.
package struct EventStreamEnvelopes<Messages: AsyncSequence & Sendable>: AsyncSequence, Sendable where Messages.Element == ByteBuffer {
    package typealias Element = ByteBuffer

    let messages: Messages
    let signer: EventStreamSigner
    let clock: @Sendable () -> Int64

    package init(messages: Messages, signer: EventStreamSigner, clock: @escaping @Sendable () -> Int64) {
        self.messages = messages
        self.signer = signer
        self.clock = clock
    }

    package func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(messages: messages.makeAsyncIterator(), signer: signer, clock: clock)
    }

    package struct AsyncIterator: AsyncIteratorProtocol {
        var messages: Messages.AsyncIterator
        var signer: EventStreamSigner
        let clock: @Sendable () -> Int64
        var ended = false

        package mutating func next() async throws -> ByteBuffer? {
            while !ended {
                guard let message = try await messages.next() else {
                    ended = true
                    return ByteBuffer(bytes: try signer.signEnd(atMilliseconds: clock()))
                }
                // An empty message would read as the end of the stream: none is sent.
                guard message.readableBytes > 0 else { continue }
                return ByteBuffer(bytes: try signer.sign(message.readableBytesView, atMilliseconds: clock()))
            }
            return nil
        }
    }
}
