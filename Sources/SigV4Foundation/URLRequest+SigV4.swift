#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif
public import Foundation
public import SigV4
import HTTPTypes

extension URLRequest {
    /// Signs the request in place with the `Authorization` header, hashing ``URLRequest/httpBody``.
    ///
    /// The request target is the URL's percent-encoded form exactly as it is (taken from
    /// `url.absoluteString`, never rebuilt from decoded components), which is what URLSession
    /// sends; a path with a `.` or `..` segment is refused with `SigV4Error.invalidRequestTarget`,
    /// because URLSession removes such segments before sending. A caller's `X-Amz-Date` and
    /// `X-Amz-Security-Token` are replaced (the token removed when the credentials have none), and
    /// a request that already has `Authorization` is refused. A request with an `httpBodyStream`
    /// cannot be hashed here: use ``sign(with:payload:at:)`` with ``PayloadHash/unsignedPayload`` or
    /// a hash you computed.
    ///
    /// ```swift
    /// var request = URLRequest(url: URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")!)
    /// request.httpMethod = "PUT"
    /// request.httpBody = Data("Welcome to Amazon S3.".utf8)
    /// try request.sign(with: signer, at: AmzDate(Date()))
    /// let (data, response) = try await URLSession.shared.data(for: request)
    /// ```
    ///
    /// - Returns: every signing stage, for logging or debugging.
    @discardableResult
    public mutating func sign(with signer: Signer, at date: AmzDate) throws(SigV4Error) -> SignedRequest {
        try sign(with: signer, payload: try bodyHash(), at: date)
    }

    /// SHA-256 of ``httpBody`` (of nothing when there is none); a streamed body cannot be hashed here.
    func bodyHash() throws(SigV4Error) -> PayloadHash {
        if httpBodyStream != nil {
            throw SigV4Error(
                .invalidPayloadHash, "a streamed body cannot be hashed; pass payload: .unsignedPayload or its SHA-256")
        }
        return httpBody.map { PayloadHash.sha256(of: $0) } ?? .emptySHA256
    }

    /// Signs the request in place with a payload hash you give (for streamed or pre-hashed bodies).
    ///
    /// ```swift
    /// request.httpBodyStream = InputStream(url: fileURL)
    /// try request.sign(with: signer, payload: .unsignedPayload, at: AmzDate(Date()))
    /// ```
    @discardableResult
    public mutating func sign(with signer: Signer, payload: PayloadHash, at date: AmzDate) throws(SigV4Error)
        -> SignedRequest
    {
        let signed = try signer.sign(try httpRequest(), payload: payload, at: date)
        setSignedHeaders(signed.request, added: signed.addedHeaders)
        return signed
    }

    /// Makes the headers those of the signed request: sets the fields the signer added (replacing
    /// any of the same name) and removes those the signer left out of it, such as a caller's
    /// `X-Amz-Security-Token` when the credentials have no session token (sent, it would be an
    /// unsigned `x-amz-*` header the server refuses).
    mutating func setSignedHeaders(_ signed: HTTPRequest, added fields: [HTTPField]) {
        for name in (allHTTPHeaderFields ?? [:]).keys {
            if let fieldName = HTTPField.Name(name), signed.headerFields[fieldName] == nil {
                setValue(nil, forHTTPHeaderField: name)
            }
        }
        for field in fields { setValue(field.value, forHTTPHeaderField: field.name.rawName) }
    }

    /// Signs the request in place with SigV4a (`AWS4-ECDSA-P256-SHA256`), for multi-region
    /// endpoints: ``httpBody`` is hashed unless `payload` is given (a streamed body needs one).
    ///
    /// ```swift
    /// let signer = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: "s3")
    /// try request.sign(with: signer, at: AmzDate(Date()))
    /// ```
    @discardableResult
    public mutating func sign(with signer: SigV4aSigner, payload: PayloadHash? = nil, at date: AmzDate)
        throws(SigV4Error) -> SigV4aSignedRequest
    {
        let hash: PayloadHash
        if let payload { hash = payload } else { hash = try bodyHash() }
        let signed = try signer.sign(try httpRequest(), payload: hash, at: date)
        setSignedHeaders(signed.request, added: signed.addedHeaders)
        return signed
    }

    /// This request as an `HTTPRequest` with the byte-exact target and the `Host` URLSession will send.
    ///
    /// A path with a `.` or `..` segment is refused: URLSession on Linux (libcurl) removes dot
    /// segments before sending (`/a/./b/../c` goes out as `/a/c`, `/a/.` as `/a/`), so no signature
    /// over the written target or over its SigV4-normalized form would match what arrives.
    func httpRequest() throws(SigV4Error) -> HTTPRequest {
        guard let url else { throw SigV4Error(.invalidRequestTarget, "the request has no URL") }
        let parts = try RequestTarget(absoluteURL: url.absoluteString)
        if RequestTarget.hasDotSegment(parts.path) {
            throw SigV4Error(
                .invalidRequestTarget,
                "the URL path has a '.' or '..' segment, which URLSession removes before sending (the signature would not match the path sent); resolve it first"
            )
        }
        let methodName = httpMethod ?? "GET"
        guard let method = HTTPRequest.Method(methodName) else {
            throw SigV4Error(.invalidRequestTarget, "the HTTP method is not a valid token")
        }
        var request = HTTPRequest(method: method, scheme: parts.scheme, authority: parts.hostHeader, path: parts.path)
        var fields = HTTPFields()
        for (name, value) in allHTTPHeaderFields ?? [:] {
            guard let fieldName = HTTPField.Name(name) else {
                throw SigV4Error(.invalidHeader, "header name \(name.debugDescription.prefix(40)) is not a token")
            }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        request.headerFields = fields
        return request
    }
}

extension Signer {
    /// Presigns `url`: returns the URL with the `X-Amz-*` query parameters and the signature.
    ///
    /// The URL's percent-encoded path and query are signed exactly as they are. A path with a `.` or
    /// `..` segment is refused (`SigV4Error.invalidRequestTarget`): URLSession and other URL
    /// clients remove dot segments before sending.
    ///
    /// ```swift
    /// let url = try signer.presignedURL(
    ///     for: URL(string: "https://examplebucket.s3.amazonaws.com/test.txt")!, expires: 86400, at: AmzDate(Date()))
    /// ```
    public func presignedURL(
        for url: URL, method: String = "GET", headers: [String: String] = [:], expires: Int, at date: AmzDate
    ) throws(SigV4Error) -> URL {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let signed = try presign(try request.httpRequest(), expires: expires, at: date)
        let parts = try RequestTarget(absoluteURL: url.absoluteString)
        guard let result = URL(string: "\(parts.scheme)://\(parts.authority)\(signed.request.path ?? "/")") else {
            throw SigV4Error(.invalidRequestTarget, "the presigned URL is not a valid URL")
        }
        return result
    }
}

extension RequestTarget {
    /// True when the path part of `target` (before any `?`) has a segment that is exactly `.` or
    /// `..`; a percent-encoded dot (`%2E`) is not one, and is sent as written.
    static func hasDotSegment(_ target: String) -> Bool {
        let path = target.utf8.prefix { $0 != UInt8(ascii: "?") }
        return path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).contains {
            $0.elementsEqual(".".utf8) || $0.elementsEqual("..".utf8)
        }
    }
}
