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
        path: String = "/p", extra: [(String, String)] = []
    ) -> HTTPRequest {
        var fields = HTTPFields()
        for (name, value) in extra { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
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
            // Smithy RPC v2 CBOR: CloudWatch (a query service's scope) and any other service, by the
            // protocol field (any case) or the body's type; another protocol's value is not CBOR.
            (
                Self.request(service: "monitoring", extra: [("smithy-protocol", "rpc-v2-cbor")]), .rpcV2CBOR,
                "cloudwatch over rpc-v2-cbor"
            ),
            (
                Self.request(
                    service: "dynamodb", contentType: "application/cbor", extra: [("Smithy-Protocol", "RPC-V2-CBOR")]),
                .rpcV2CBOR, "a JSON service over CBOR"
            ),
            (Self.request(service: nil, contentType: "application/cbor"), .rpcV2CBOR, "a CBOR body, no credential"),
            (
                Self.request(service: "monitoring", target: "GraniteServiceVersion20100801.ListMetrics"), .json,
                "cloudwatch over JSON 1.0 (botocore 1.43)"
            ),
            (Self.request(service: "monitoring", extra: [("smithy-protocol", "rpc-v2-json")]), .queryXML, "not CBOR"),
        ]
        for (request, expected, name) in cases {
            #expect(SigV4ErrorFormat.automatic.resolved(for: request) == expected, "\(name)")
        }
        // A fixed format stays fixed.
        #expect(SigV4ErrorFormat.s3XML.resolved(for: Self.request(service: "transcribe")) == .s3XML)
        #expect(SigV4ErrorFormat.json.resolved(for: Self.request(service: "s3")) == .json)
        let cborBody = Self.request(service: nil, contentType: "application/cbor")
        #expect(SigV4ErrorFormat.queryXML.resolved(for: cborBody) == .queryXML)
    }

    /// Parses each `[protocol, body, headers]` case as botocore does for a 403 and prints, for each, its
    /// `[code, message, request id]` as JSON. A body `hex:…` is bytes (CBOR), any other the text's UTF-8.
    static let botocoreParse = """
        import json, sys
        from botocore import parsers
        out = []
        for protocol, body, headers in json.loads(sys.argv[1]):
            raw = bytes.fromhex(body[4:]) if body.startswith("hex:") else body.encode()
            parsed = parsers.create_parser(protocol).parse(
                {"status_code": 403, "headers": headers, "body": raw}, None)
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
            ["smithy-rpc-v2-cbor", "hex:" + Self.hexString(failure.cborBody(requestID: "REQ123")),
             Self.cborHeaders(failure)],
            // Without the query-error field (a client that is not query-compatible reads `__type` alone).
            ["smithy-rpc-v2-cbor", "hex:" + Self.hexString(failure.cborBody(requestID: "REQ123")), headers],
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

    static func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// The fields `SigV4ErrorFormat.rpcV2CBOR` answers `failure` with, lowercased as botocore reads them.
    static func cborHeaders(_ failure: VerificationFailure) -> [String: String] {
        let response = SigV4ErrorFormat.rpcV2CBOR.response(for: failure, requestID: "REQ123")
        var out: [String: String] = [:]
        for field in response.headers { out[field.name.canonicalName] = field.value }
        return out
    }

    @Test("a CBOR text map encodes each length in the shortest head (0, 23, 24, 255, 256, 65,535, 65,536 and 100,000 bytes, counted in UTF-8 bytes), byte for byte as RFC 8949 writes it")
    func cborHeads() {
        #expect(CBORTextMap.encode([]) == [0xa0])
        #expect(CBORTextMap.encode([("a", "")]) == [0xa1, 0x61, 0x61, 0x60])
        // "é" is two bytes, "😀" four: the head counts bytes.
        #expect(CBORTextMap.encode([("é", "😀")]) == [0xa1, 0x62, 0xc3, 0xa9, 0x64, 0xf0, 0x9f, 0x98, 0x80])
        let heads: [(Int, [UInt8])] = [
            (23, [0x77]), (24, [0x78, 24]), (255, [0x78, 0xff]), (256, [0x79, 0x01, 0x00]),
            (65_535, [0x79, 0xff, 0xff]), (65_536, [0x7a, 0x00, 0x01, 0x00, 0x00]),
            (100_000, [0x7a, 0x00, 0x01, 0x86, 0xa0]),
        ]
        for (length, head) in heads {
            let encoded = CBORTextMap.encode([("k", String(repeating: "x", count: length))])
            #expect(Array(encoded.prefix(3)) == [0xa1, 0x61, 0x6b], "\(length)")
            #expect(Array(encoded.dropFirst(3).prefix(head.count)) == head, "\(length)")
            #expect(encoded.count == 3 + head.count + length, "\(length)")
        }
        var pairs: [(key: String, value: String)] = []
        for i in 0..<24 { pairs.append(("k\(i)", "")) }
        #expect(Array(CBORTextMap.encode(pairs).prefix(2)) == [0xb8, 24], "a map of 24 pairs")
        #expect(CBORTextMap.encode(Array(pairs.prefix(23))).first == 0xb7, "a map of 23 pairs")
    }

    @Test("botocore's CBOR decoder reads back every CBOR error body: long values, every head size, non-ASCII text, diagnostics")
    func botocoreDecodesTheCBOR() throws {
        var cases: [VerificationFailure] = []
        for length in [0, 23, 24, 255, 256, 65_535, 65_536] {
            cases.append(VerificationFailure(.accessDenied, String(repeating: "m", count: length)))
        }
        cases.append(VerificationFailure(.signatureDoesNotMatch, "é 😀 \u{7f} \\ \"quoted\" <&>"))
        cases.append(
            VerificationFailure(
                .requestTimeTooSkewed, "skewed",
                details: [.init("RequestTime", "20260101T000000Z"), .init("ServerTime", "20260101T001600Z")]))
        cases.append(
            VerificationFailure(
                .signatureDoesNotMatch, "mismatch", accessKeyID: "AKIDEXAMPLE",
                diagnostics: .init(
                    canonicalRequest: "GET\n/\n\nhost:example.com\n\nhost\nUNSIGNED-PAYLOAD",
                    stringToSign: "AWS4-HMAC-SHA256\n20260101T000000Z\n…",
                    signatureProvided: String(repeating: "0", count: 64))))
        let script = """
            import json, sys
            from botocore import parsers
            p = parsers.RpcV2CBORParser()
            print(json.dumps([p._initial_body_parse(bytes.fromhex(h)) for h in json.load(open(sys.argv[1]))]))
            """
        // The bodies go in a file: a 64 KiB one, as hex, is past the kernel's limit for one argument.
        let hexes = cases.map { Self.hexString($0.cborBody(requestID: "R1")) }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("cbor-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: hexes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, file.path])
        #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
        let decoded = (try? JSONSerialization.jsonObject(with: result.stdout) as? [[String: String]]) ?? []
        #expect(decoded.count == cases.count)
        for (failure, map) in zip(cases, decoded) {
            var expected = ["__type": failure.code.name, "message": failure.message, "RequestId": "R1"]
            for d in failure.bodyElements { expected[d.name] = d.value }
            #expect(map == expected, "\(failure.code.name) \(failure.message.prefix(20))")
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
        let cbor = SigV4ErrorFormat.automatic.response(
            for: VerificationFailure(.requestTimeTooSkewed, "no"),
            request: Self.request(service: "monitoring", extra: [("smithy-protocol", "rpc-v2-cbor")]))
        #expect(cbor.headers[.contentType] == "application/cbor")
        #expect(cbor.headers[HTTPField.Name("smithy-protocol")!] == "rpc-v2-cbor")
        #expect(cbor.headers[HTTPField.Name("x-amzn-query-error")!] == "RequestTimeTooSkewed;Sender")
        #expect(cbor.headers[SigV4ErrorFormat.errorCodeField] == "RequestTimeTooSkewed")
        #expect(cbor.status == .forbidden)
        let serverSide = SigV4ErrorFormat.rpcV2CBOR.response(for: VerificationFailure(.internalError, "resolver"))
        #expect(serverSide.headers[HTTPField.Name("x-amzn-query-error")!] == "InternalError;Receiver")
        let bodyCount = VerificationFailure(.internalError, "resolver").cborBody().count
        #expect(serverSide.headers[.contentLength] == String(bodyCount))
    }

    @Test("a JSON answer to a request with x-amzn-query-mode: true carries x-amzn-query-error (Sender, or Receiver for a 5xx), which botocore's JSON parser reads as the code and fault type; without the field, or with XML, it is absent")
    func queryModeJSONCarriesTheQueryError() throws {
        let sqs: [(String, String)] = [("x-amzn-query-mode", "true"), ("x-amz-target", "AmazonSQS.ListQueues")]
        let request = Self.request(service: "sqs", contentType: "application/x-amz-json-1.0", extra: sqs)
        let denied = VerificationFailure(.signatureDoesNotMatch, "no")
        let refused = SigV4ErrorFormat.automatic.response(for: denied, request: request, requestID: "R1")
        #expect(refused.headers[.contentType] == "application/json")
        #expect(refused.headers[SigV4ErrorFormat.queryErrorField] == "SignatureDoesNotMatch;Sender")
        // A JSON format chosen by configuration behaves alike.
        let configured = SigV4ErrorFormat.json.response(for: VerificationFailure(.internalError, "x"), request: request)
        #expect(configured.headers[SigV4ErrorFormat.queryErrorField] == "InternalError;Receiver")
        // Not asked for: no field.
        for extra in [[], [("x-amzn-query-mode", "false")]] {
            let other = Self.request(service: "sqs", contentType: "application/x-amz-json-1.0", extra: extra)
            let response = SigV4ErrorFormat.automatic.response(for: denied, request: other)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.headers[SigV4ErrorFormat.queryErrorField] == nil, "\(extra)")
        }
        // The query protocol's own XML already carries <Type>: no field.
        let query = Self.request(service: "sts", extra: [("x-amzn-query-mode", "true")])
        let xml = SigV4ErrorFormat.automatic.response(for: denied, request: query)
        #expect(xml.headers[.contentType] == "text/xml")
        #expect(xml.headers[SigV4ErrorFormat.queryErrorField] == nil)

        var headers: [String: String] = [:]
        for field in refused.headers { headers[field.name.canonicalName] = field.value }
        let script = """
            import json, sys
            from botocore import parsers
            headers = json.loads(sys.argv[1])
            parsed = parsers.create_parser("json").parse(
                {"status_code": 403, "headers": headers, "body": sys.argv[2].encode()}, None)
            error = parsed["Error"]
            print(json.dumps([error.get("Code"), error.get("Type"), error.get("QueryErrorCode")]))
            """
        let argument = String(decoding: try JSONSerialization.data(withJSONObject: headers), as: UTF8.self)
        let result = try ChildProcess.run(
            URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, argument, denied.jsonBody(requestID: "R1")])
        #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
        let parsed = (try? JSONSerialization.jsonObject(with: result.stdout) as? [String]) ?? []
        #expect(parsed == ["SignatureDoesNotMatch", "Sender", "SignatureDoesNotMatch"])
    }
}
