public import AsyncHTTPClient
public import NIOCore
public import SigV4
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
        let parts = try RequestTarget(splitting: url)
        guard RequestTarget.asyncHTTPClientWireTarget(url) == parts.target else {
            throw SigV4Error(
                .invalidRequestTarget,
                "AsyncHTTPClient would send a different request target than the URL string holds; percent-encode the path and query first"
            )
        }
        if !headers.contains(name: "host") {
            headers.add(name: "Host", value: parts.authority)
        }
        var request = HTTPRequest(
            method: HTTPRequest.Method(method.rawValue) ?? .get, scheme: parts.scheme, authority: parts.authority,
            path: parts.target)
        guard request.method.rawValue == method.rawValue else {
            throw SigV4Error(.invalidRequestTarget, "the HTTP method is not a valid token")
        }
        request.headerFields = try Self.fields(headers)
        let signed = try signer.sign(request, payload: payload, at: date)
        for field in signed.addedHeaders {
            headers.replaceOrAdd(name: field.name.rawName, value: field.value)
        }
        return signed
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
