#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HTTPTypes
public import Hummingbird
public import SigV4Verifier

/// How a refusal is written: S3-style XML, a JSON document, the query protocol's XML, Smithy RPC v2
/// CBOR, or whichever the request's client reads (``automatic``).
///
/// Both add `x-amz-error-code: <Code>` and `x-amz-request-id`, so the code survives HEAD
/// requests (which have no body) and access logs can record it.
///
/// ```swift
/// var configuration = SigV4Authenticator<BasicSigV4RequestContext>.Configuration()
/// configuration.errorFormat = .json
/// ```
public struct SigV4ErrorFormat: Sendable, Hashable {
    enum Kind: Sendable, Hashable { case xml, json, queryXML, cbor, automatic }
    let kind: Kind

    /// `<Error><Code>…</Code><Message>…</Message>…</Error>`, `Content-Type: application/xml` (S3 and XML services).
    public static let s3XML = SigV4ErrorFormat(kind: .xml)
    /// `{"Code": …, "Message": …}` with `x-amzn-ErrorType` (JSON-protocol services).
    public static let json = SigV4ErrorFormat(kind: .json)
    /// `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code>…</Error><RequestId>…</RequestId>`
    /// `</ErrorResponse>`, `Content-Type: text/xml` (the query-protocol services: STS, IAM, EC2, SNS…).
    public static let queryXML = SigV4ErrorFormat(kind: .queryXML)
    /// A CBOR map `{"__type": …, "message": …}` with `Content-Type: application/cbor`,
    /// `smithy-protocol: rpc-v2-cbor` and `x-amzn-query-error: <Code>;Sender` (the Smithy RPC v2 CBOR
    /// protocol: CloudWatch in the SDKs that choose CBOR, and the newer JSON services). The
    /// query-error field is what a query-compatible service (CloudWatch) adds; other clients ignore it.
    public static let rpcV2CBOR = SigV4ErrorFormat(kind: .cbor)
    /// Each refusal in the format the request's client reads (``resolved(for:)``): CBOR for a
    /// Smithy RPC v2 CBOR request (`smithy-protocol: rpc-v2-cbor` or an `application/cbor` body), JSON for a
    /// JSON-protocol request (a JSON or event-stream `Content-Type`, an `X-Amz-Target`, or a
    /// credential scope naming a service other than S3 and the XML-protocol services), the query
    /// protocol's XML for a query service's scope (STS, IAM, EC2…), S3-style XML otherwise.
    /// SES v2, which signs as SES (`ses`) but is a JSON API, is told apart by its `/v2/` paths.
    /// A gateway in front of several services answers each client in its own protocol,
    /// so the SDK shows the code (`SignatureDoesNotMatch`) instead of a parse error.
    public static let automatic = SigV4ErrorFormat(kind: .automatic)

    /// Services whose clients read S3-style XML errors: S3 and the REST-XML services (Route 53,
    /// CloudFront; botocore's REST-XML parser reads both XML forms).
    static let restXMLServices: Set<String> = ["s3", "s3-object-lambda", "s3express", "route53", "cloudfront"]

    /// The query-protocol services (`Action=…` forms; EC2's own variant reads the same document). SQS
    /// moved to a JSON protocol, and its requests say so in their `Content-Type`; CloudWatch
    /// (`monitoring`) offers JSON 1.0 (botocore 1.43 chooses it, with `X-Amz-Target`) and CBOR, whose
    /// requests say so in their `smithy-protocol` field.
    static let queryServices: Set<String> = [
        "sts", "iam", "ec2", "sns", "sqs", "cloudformation", "elasticloadbalancing", "rds", "autoscaling",
        "monitoring", "email", "ses", "elasticache", "redshift", "sdb", "elasticbeanstalk", "importexport",
        "cloudsearch", "docdb", "neptune",
    ]

    /// The concrete format for `request`: this one, or for ``automatic`` the one its client reads.
    ///
    /// ```swift
    /// let format = SigV4ErrorFormat.automatic.resolved(for: request.head)  // .json for a Transcribe stream
    /// ```
    public func resolved(for request: HTTPRequest) -> SigV4ErrorFormat {
        guard kind == .automatic else { return self }
        let fields = request.headerFields
        if fields[HTTPField.Name("smithy-protocol")!]?.lowercased() == "rpc-v2-cbor"
            || fields[.contentType]?.lowercased().hasPrefix("application/cbor") == true
        {
            return .rpcV2CBOR
        }
        if fields[HTTPField.Name("x-amz-target")!] != nil { return .json }
        if let type = fields[.contentType]?.lowercased(),
            type.hasPrefix("application/json") || type.hasPrefix("application/x-amz-json")
                || type.hasPrefix("application/vnd.amazon.eventstream")
        {
            return .json
        }
        guard let service = Self.scopeService(request) else { return .s3XML }
        if Self.restXMLServices.contains(service) { return .s3XML }
        // SES v2 is a REST-JSON API under SES v1's signing name (`ses`), its paths under `/v2/`.
        if service == "ses", request.path?.hasPrefix("/v2/") == true { return .json }
        return Self.queryServices.contains(service) ? .queryXML : .json
    }

    /// The service of the request's credential scope (`Credential=AKID/date/region/service/aws4_request`
    /// in `Authorization`, or `X-Amz-Credential` in the query), lowercased; nil when neither says.
    static func scopeService(_ request: HTTPRequest) -> String? {
        ClaimedService.read(authorization: request.headerFields[.authorization], target: request.path)?.lowercased()
    }

    /// `x-amz-error-code`, set on every refusal in either format.
    ///
    /// ```swift
    /// let code = response.headers[SigV4ErrorFormat.errorCodeField]  // "SignatureDoesNotMatch"
    /// ```
    public static let errorCodeField = HTTPField.Name("x-amz-error-code")!

    /// The response for `failure` (``automatic`` without a request: XML; see
    /// ``response(for:request:requestID:resource:)``).
    ///
    /// ```swift
    /// let response = SigV4ErrorFormat.s3XML.response(for: failure, requestID: "4442587FB7D0A2F9")
    /// ```
    public func response(for failure: VerificationFailure, requestID: String? = nil, resource: String? = nil)
        -> Response
    {
        var headers = HTTPFields()
        let buffer: ByteBuffer
        switch kind {
        case .xml, .automatic:
            headers[.contentType] = "application/xml"
            buffer = ByteBuffer(string: failure.xmlBody(requestID: requestID, resource: resource))
        case .queryXML:
            headers[.contentType] = "text/xml"
            buffer = ByteBuffer(string: failure.queryXMLBody(requestID: requestID))
        case .json:
            headers[.contentType] = "application/json"
            headers[HTTPField.Name("x-amzn-ErrorType")!] = failure.code.name
            buffer = ByteBuffer(string: failure.jsonBody(requestID: requestID))
        case .cbor:
            headers[.contentType] = "application/cbor"
            headers[HTTPField.Name("smithy-protocol")!] = "rpc-v2-cbor"
            headers[Self.queryErrorField] = Self.queryError(failure)
            buffer = ByteBuffer(bytes: failure.cborBody(requestID: requestID))
        }
        // The code also goes in a header: HEAD responses carry no body, and logs can read it.
        headers[Self.errorCodeField] = failure.code.name
        if let requestID {
            headers[HTTPField.Name("x-amz-request-id")!] = requestID
            headers[HTTPField.Name("x-amzn-RequestId")!] = requestID
        }
        headers[.contentLength] = String(buffer.readableBytes)
        return Response(
            status: HTTPResponse.Status(code: failure.httpStatus), headers: headers, body: ResponseBody(byteBuffer: buffer))
    }

    /// The response for `failure` to `request`, in ``resolved(for:)``'s format.
    ///
    /// A JSON answer to a request that says `x-amzn-query-mode: true` (what a query-compatible
    /// service's client sends: SQS, and CloudWatch over JSON 1.0) also carries
    /// `x-amzn-query-error: <Code>;Sender`, from which those clients read the query protocol's
    /// code and fault type, as they do from a CBOR answer.
    ///
    /// ```swift
    /// let response = SigV4ErrorFormat.automatic.response(for: failure, request: request.head, requestID: id)
    /// ```
    public func response(for failure: VerificationFailure, request: HTTPRequest, requestID: String? = nil, resource: String? = nil)
        -> Response
    {
        let format = resolved(for: request)
        var response = format.response(for: failure, requestID: requestID, resource: resource)
        if format.kind == .json, request.headerFields[Self.queryModeField]?.lowercased() == "true" {
            response.headers[Self.queryErrorField] = Self.queryError(failure)
        }
        return response
    }

    /// `x-amzn-query-mode`, which a query-compatible service's client sends as `true`.
    package static let queryModeField = HTTPField.Name("x-amzn-query-mode")!
    /// `x-amzn-query-error`, the query protocol's code and fault for a query-compatible client.
    package static let queryErrorField = HTTPField.Name("x-amzn-query-error")!

    /// `<Code>;Sender`, or `<Code>;Receiver` for a server-side failure (5xx).
    static func queryError(_ failure: VerificationFailure) -> String {
        "\(failure.code.name);\(failure.httpStatus >= 500 ? "Receiver" : "Sender")"
    }
}
