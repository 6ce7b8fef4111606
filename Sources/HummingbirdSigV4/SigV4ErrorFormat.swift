import HTTPTypes
public import Hummingbird
public import SigV4Verifier

/// How a refusal is written: S3-style XML or a JSON document.
///
/// Both add `x-amz-error-code: <Code>` and `x-amz-request-id`, so the code survives HEAD
/// requests (which have no body) and access logs can record it.
///
/// ```swift
/// var configuration = SigV4Authenticator<BasicSigV4RequestContext>.Configuration()
/// configuration.errorFormat = .json
/// ```
public struct SigV4ErrorFormat: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case xml, json }
    let kind: Kind

    /// `<Error><Code>…</Code><Message>…</Message>…</Error>`, `Content-Type: application/xml` (S3 and XML services).
    public static let s3XML = SigV4ErrorFormat(kind: .xml)
    /// `{"Code": …, "Message": …}` with `x-amzn-ErrorType` (JSON-protocol services).
    public static let json = SigV4ErrorFormat(kind: .json)

    /// `x-amz-error-code`, set on every refusal in either format.
    ///
    /// ```swift
    /// let code = response.headers[SigV4ErrorFormat.errorCodeField]  // "SignatureDoesNotMatch"
    /// ```
    public static let errorCodeField = HTTPField.Name("x-amz-error-code")!

    /// The response for `failure`.
    ///
    /// ```swift
    /// let response = SigV4ErrorFormat.s3XML.response(for: failure, requestID: "4442587FB7D0A2F9")
    /// ```
    public func response(for failure: VerificationFailure, requestID: String? = nil, resource: String? = nil)
        -> Response
    {
        var headers = HTTPFields()
        let body: String
        switch kind {
        case .xml:
            headers[.contentType] = "application/xml"
            body = failure.xmlBody(requestID: requestID, resource: resource)
        case .json:
            headers[.contentType] = "application/json"
            headers[HTTPField.Name("x-amzn-ErrorType")!] = failure.code.name
            body = failure.jsonBody(requestID: requestID)
        }
        // The code also goes in a header: HEAD responses carry no body, and logs can read it.
        headers[Self.errorCodeField] = failure.code.name
        if let requestID {
            headers[HTTPField.Name("x-amz-request-id")!] = requestID
            headers[HTTPField.Name("x-amzn-RequestId")!] = requestID
        }
        let buffer = ByteBuffer(string: body)
        headers[.contentLength] = String(buffer.readableBytes)
        return Response(
            status: HTTPResponse.Status(code: failure.httpStatus), headers: headers, body: ResponseBody(byteBuffer: buffer))
    }
}
