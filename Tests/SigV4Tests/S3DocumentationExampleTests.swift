import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// The worked examples of the S3 API Reference ("Examples: Signature calculations"), header and presigned.
@Suite("S3 documentation examples")
struct S3DocumentationExampleTests {
    struct Example {
        var input: [String: Any]
        var expected: [String: Any]

        init(_ name: String) throws {
            let json = try Vectors.json("s3-doc-examples/\(name).json")
            input = json["input"] as! [String: Any]
            expected = json["expected"] as! [String: Any]
        }

        var signer: Signer {
            Signer(
                credentials: Credentials(
                    accessKeyID: input["access_key_id"] as! String,
                    secretAccessKey: input["secret_access_key"] as! String),
                region: input["region"] as! String, service: input["service"] as! String, keyCache: nil)
        }

        var date: AmzDate { get throws { try AmzDate(iso8601Basic: input["date"] as! String) } }

        /// The documented request minus the headers the signer writes itself.
        func request(dropping: Set<String> = ["x-amz-date"]) -> HTTPRequest {
            var fields = HTTPFields()
            for pair in input["headers"] as! [[String]] where !dropping.contains(pair[0].lowercased()) {
                fields.append(HTTPField(name: HTTPField.Name(pair[0])!, value: pair[1]))
            }
            let path = input["path"] as! String
            let query = input["query"] as? String ?? ""
            return HTTPRequest(
                method: HTTPRequest.Method(input["method"] as! String)!, scheme: "https",
                authority: input["host"] as? String, path: query.isEmpty ? path : "\(path)?\(query)",
                headerFields: fields)
        }
    }

    static let headerExamples = ["get-object-range", "put-object", "get-bucket-lifecycle", "list-objects"]

    @Test("header-signed examples match the documentation", arguments: headerExamples)
    func headerExample(name: String) throws {
        let example = try Example(name)
        let payload = try PayloadHash((example.input["payload"] as! [String: Any])["sha256"] as! String)
        let signed = try example.signer.sign(example.request(), payload: payload, at: try example.date)
        #expect(signed.canonicalRequest.text == example.expected["canonical_request"] as! String)
        #expect(signed.stringToSign.text == example.expected["string_to_sign"] as! String)
        #expect(signed.signature.hex == example.expected["signature"] as! String)
        #expect(signed.authorization == example.expected["authorization_header"] as? String)
    }

    @Test("the PUT example's body hashes to the documented payload hash")
    func putObjectBody() throws {
        let hash = PayloadHash.sha256(of: Array("Welcome to Amazon S3.".utf8))
        #expect(hash.value == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    }

    @Test("the presigned GET example matches the documentation")
    func presignedGet() throws {
        let example = try Example("presigned-get-object")
        let expires = example.input["expires_in_seconds"] as! Int
        let signed = try example.signer.presign(example.request(), expires: expires, at: try example.date)
        #expect(signed.canonicalRequest.text == example.expected["canonical_request"] as! String)
        #expect(signed.stringToSign.text == example.expected["string_to_sign"] as! String)
        #expect(signed.signature.hex == example.expected["signature"] as! String)
        let query = signed.request.path!.split(separator: "?", maxSplits: 1)[1]
        let expectedQuery = example.expected["signed_query_string"] as! String
        #expect(Set(query.split(separator: "&")) == Set(expectedQuery.split(separator: "&")))
    }
}
