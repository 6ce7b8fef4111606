import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSigV4
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// `SigV4ErrorFormat.automatic` answers each client in the protocol it parses: an SDK shows the AWS
/// code only when the refusal is in its own format.
@Suite("SigV4ErrorFormat.automatic")
struct ErrorFormatTests {
    static func request(
        service: String?, presigned: Bool = false, contentType: String? = nil, target: String? = nil,
        path: String = "/p"
    ) -> HTTPRequest {
        var fields = HTTPFields()
        var path = path
        if let service {
            let credential = "AKIDEXAMPLE/20260101/us-east-1/\(service)/aws4_request"
            if presigned {
                path += "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(credential.replacingOccurrences(of: "/", with: "%2F"))"
            } else {
                fields[.authorization] =
                    "AWS4-HMAC-SHA256 Credential=\(credential), SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))"
            }
        }
        if let contentType { fields[.contentType] = contentType }
        if let target { fields[HTTPField.Name("X-Amz-Target")!] = target }
        return HTTPRequest(method: .post, scheme: "https", authority: "example.com", path: path, headerFields: fields)
    }

    @Test("S3 and the REST-XML services get S3-style XML, the query services (STS, IAM, EC2) the query protocol's XML; other services, JSON and event-stream bodies and X-Amz-Target get JSON")
    func resolvesByProtocol() {
        let cases: [(HTTPRequest, SigV4ErrorFormat, String)] = [
            (Self.request(service: "s3"), .s3XML, "s3 header auth"),
            (Self.request(service: "s3", presigned: true), .s3XML, "s3 presigned"),
            (Self.request(service: "sts"), .queryXML, "sts (query)"),
            (Self.request(service: "ec2"), .queryXML, "ec2 (its query variant)"),
            (Self.request(service: "iam", presigned: true), .queryXML, "iam presigned"),
            (Self.request(service: "cloudfront"), .s3XML, "cloudfront (REST-XML)"),
            (Self.request(service: "route53"), .s3XML, "route53 (REST-XML)"),
            (Self.request(service: "transcribe"), .json, "transcribe"),
            (Self.request(service: "lambda", presigned: true), .json, "lambda presigned"),
            (Self.request(service: "execute-api"), .json, "execute-api"),
            (Self.request(service: nil), .s3XML, "no credential"),
            (Self.request(service: nil, contentType: "application/x-amz-json-1.0"), .json, "awsJson body"),
            (Self.request(service: "s3", contentType: "application/vnd.amazon.eventstream"), .json, "event stream"),
            (Self.request(service: "sqs", target: "AmazonSQS.SendMessage"), .json, "sqs's JSON protocol"),
            (Self.request(service: "s3", contentType: "application/xml"), .s3XML, "s3 with an XML body"),
            // SES v1 (query) and v2 (REST-JSON, a GET has no body to say so) share the signing name `ses`.
            (Self.request(service: "ses", path: "/"), .queryXML, "ses v1 (query)"),
            (Self.request(service: "ses", path: "/v2/email/account"), .json, "ses v2 GET (REST-JSON)"),
            (Self.request(service: "ses", presigned: true, path: "/v2/email/identities"), .json, "ses v2 presigned"),
            (Self.request(service: "sts", path: "/v2/x"), .queryXML, "a /v2/ path of another query service"),
        ]
        for (request, expected, name) in cases {
            #expect(SigV4ErrorFormat.automatic.resolved(for: request) == expected, "\(name)")
        }
        // A fixed format stays fixed.
        #expect(SigV4ErrorFormat.s3XML.resolved(for: Self.request(service: "transcribe")) == .s3XML)
        #expect(SigV4ErrorFormat.json.resolved(for: Self.request(service: "s3")) == .json)
    }

    /// Parses each `[protocol, body, headers]` case as botocore does for a 403 and prints, for each, its
    /// `[code, message, request id]` as JSON.
    static let botocoreParse = """
        import json, sys
        from botocore import parsers
        out = []
        for protocol, body, headers in json.loads(sys.argv[1]):
            parsed = parsers.create_parser(protocol).parse(
                {"status_code": 403, "headers": headers, "body": body.encode()}, None)
            error = parsed.get("Error", {})
            out.append([error.get("Code"), error.get("Message"), parsed.get("ResponseMetadata", {}).get("RequestId")])
        print(json.dumps(out))
        """

    @Test("each refusal reads as its client's SDK reads it: botocore's JSON 1.0/1.1, query and EC2 parsers, and its REST-XML and REST-JSON ones, find the code, the message and the request id in the bodies and headers the formats write")
    func botocoreReadsTheCode() throws {
        let failure = VerificationFailure(.signatureDoesNotMatch, "The signature <we> calculated & yours")
        let headers = ["x-amz-request-id": "REQ123", "x-amzn-requestid": "REQ123"]
        let json = headers.merging(["x-amzn-errortype": "SignatureDoesNotMatch"]) { $1 }
        let cases: [[Any]] = [
            ["json", failure.jsonBody(requestID: "REQ123"), json],
            ["rest-json", failure.jsonBody(requestID: "REQ123"), json],
            ["query", failure.queryXMLBody(requestID: "REQ123"), headers],
            ["ec2", failure.queryXMLBody(requestID: "REQ123"), headers],
            ["rest-xml", failure.xmlBody(requestID: "REQ123"), headers],
        ]
        let argument = String(decoding: try JSONSerialization.data(withJSONObject: cases), as: UTF8.self)
        let result = try ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", Self.botocoreParse, argument])
        let output = String(decoding: result.stdout, as: UTF8.self)
        #expect(result.status == 0, "\(output) \(String(decoding: result.stderr, as: UTF8.self))")
        let parsed = (try? JSONSerialization.jsonObject(with: result.stdout) as? [[Any]]) ?? []
        #expect(parsed.count == cases.count, "\(output)")
        for (k, row) in parsed.enumerated() {
            let strings = row.map { $0 as? String }
            #expect(
                strings == ["SignatureDoesNotMatch", "The signature <we> calculated & yours", "REQ123"],
                "\(cases[k][0]): \(row)")
        }
    }

    @Test("the response is written in the resolved format: x-amzn-ErrorType and a JSON body, or an XML body")
    func responseFollowsTheRequest() {
        let failure = VerificationFailure(.signatureDoesNotMatch, "no")
        let json = SigV4ErrorFormat.automatic.response(for: failure, request: Self.request(service: "transcribe"))
        #expect(json.headers[.contentType] == "application/json")
        #expect(json.headers[HTTPField.Name("x-amzn-ErrorType")!] == "SignatureDoesNotMatch")
        let xml = SigV4ErrorFormat.automatic.response(for: failure, request: Self.request(service: "s3"))
        #expect(xml.headers[.contentType] == "application/xml")
        #expect(xml.headers[SigV4ErrorFormat.errorCodeField] == "SignatureDoesNotMatch")
    }
}
