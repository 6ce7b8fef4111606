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

@Suite("Client adapters sign what goes on the wire")
struct ClientAdapterTests {
    @Test("HTTPClientRequest signed by the adapter matches the S3 documentation", arguments: DocumentationExample.headerExamples)
    func asyncHTTPClientMatchesDocumentation(name: String) throws {
        let example = try DocumentationExample(name)
        var request = HTTPClientRequest(url: example.url)
        request.method = HTTPMethod(rawValue: example.method)
        for (name, value) in example.callerHeaders { request.headers.add(name: name, value: value) }
        let signed: SignedRequest
        if let body = example.body {
            signed = try request.sign(with: example.signer, body: ByteBuffer(string: body), at: try example.amzDate)
        } else {
            signed = try request.sign(with: example.signer, payload: try PayloadHash(example.payloadHash), at: try example.amzDate)
        }
        #expect(signed.canonicalRequest.text == example.expectedCanonicalRequest)
        #expect(signed.signature.hex == example.expectedSignature)
        #expect(request.headers.first(name: "Authorization") == example.expectedAuthorization)
        #expect(request.headers.first(name: "Host") == example.host)
        #expect(request.headers.first(name: "X-Amz-Date") == example.date)
    }

    @Test("URLRequest signed by the adapter matches the S3 documentation", arguments: DocumentationExample.headerExamples)
    func urlRequestMatchesDocumentation(name: String) throws {
        let example = try DocumentationExample(name)
        let url = try #require(URL(string: example.url))
        var request = URLRequest(url: url)
        request.httpMethod = example.method
        for (name, value) in example.callerHeaders { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = example.body.map { Data($0.utf8) }
        let signed = try request.sign(with: example.signer, at: try example.amzDate)
        #expect(signed.canonicalRequest.text == example.expectedCanonicalRequest)
        #expect(signed.signature.hex == example.expectedSignature)
        #expect(request.value(forHTTPHeaderField: "Authorization") == example.expectedAuthorization)
    }

    @Test("a presigned URL from the Foundation adapter matches the S3 documentation")
    func presignedURLMatchesDocumentation() throws {
        let example = try DocumentationExample("presigned-get-object")
        let url = try example.signer.presignedURL(
            for: try #require(URL(string: example.url)), expires: try #require(example.expires), at: try example.amzDate)
        #expect(url.absoluteString.hasSuffix("X-Amz-Signature=\(example.expectedSignature)"))
        #expect(url.absoluteString.hasPrefix("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm="))
    }

    @Test("the Foundation adapter presigns a wss:// URL (a URLSessionWebSocketTask's handshake, as AWS IoT takes it): the scheme kept, verified as the handshake")
    func presignedWebSocketURL() async throws {
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "eu-west-1", service: "iotdevicegateway")
        let date = try AmzDate(iso8601Basic: "20261204T090000Z")
        let url = try signer.presignedURL(
            for: try #require(URL(string: "wss://abc-ats.iot.eu-west-1.amazonaws.com:443/mqtt")), expires: 300, at: date)
        #expect(url.absoluteString.hasPrefix("wss://abc-ats.iot.eu-west-1.amazonaws.com:443/mqtt?X-Amz-Algorithm="), "\(url)")
        let target = String(url.absoluteString.dropFirst("wss://abc-ats.iot.eu-west-1.amazonaws.com:443".count))
        // URLSession sends the Host without wss's default port.
        let request = VerificationRequest(
            method: "GET", target: target,
            headers: [("Host", "abc-ats.iot.eu-west-1.amazonaws.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade")])
        let verifier = Verifier(resolver: InMemoryCredentialResolver([
            ResolvedCredential(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                principal: "device")
        ]))
        let verdict = await verifier.verify(request, payload: .body([]), now: date.adding(seconds: 10))
        #expect(verdict.isAccepted, "\(verdict)")
    }

    /// Request targets that a URL type could rewrite: every byte must be signed as written.
    static let wireTargets = [
        "/photos/a%2Fb%20c.jpg", "/a/./b/../c", "/%E2%82%AC/x?list-type=2&prefix=a%2Fb", "/k?x=a+b&y=%2B",
        "/test$file.text", "//double//slash", "/?acl",
    ]

    /// The wire targets URLSession sends as written (it removes `.` and `..` segments, so the
    /// Foundation adapter refuses those; see `ClientAdapterWireTests`).
    static let urlSessionTargets = wireTargets.filter { !$0.contains("/./") && !$0.contains("/../") }

    @Test("AsyncHTTPClient adapter signs the target byte for byte as written", arguments: wireTargets)
    func asyncHTTPClientKeepsTargetBytes(target: String) throws {
        let signer = Signer(credentials: Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "s3")
        let date = try AmzDate(iso8601Basic: "20240102T030405Z")
        var request = HTTPClientRequest(url: "http://127.0.0.1:9000\(target)")
        let signed = try request.sign(with: signer, payload: .emptySHA256, at: date)
        let direct = try signer.sign(
            HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1:9000", path: target), payload: .emptySHA256,
            at: date)
        #expect(signed.request.path == target)
        #expect(signed.signature == direct.signature)
        #expect(request.headers.first(name: "Host") == "127.0.0.1:9000")
    }

    @Test("URLRequest adapter signs the URL's percent-encoded target as written", arguments: urlSessionTargets)
    func urlRequestKeepsTargetBytes(target: String) throws {
        let signer = Signer(credentials: Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "s3")
        let date = try AmzDate(iso8601Basic: "20240102T030405Z")
        var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:9000\(target)")))
        let signed = try request.sign(with: signer, payload: .emptySHA256, at: date)
        #expect(signed.request.path == target)
        #expect(signed.request.authority == "127.0.0.1:9000")
    }

    @Test("both adapters sign with SigV4a what SigV4aSigner signs, and the verifier accepts it", arguments: wireTargets)
    func sigv4aAdapters(target: String) async throws {
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        let signer = try SigV4aSigner(credentials: credentials, regionSet: ["us-east-1", "eu-west-1"], service: "s3")
        let date = try AmzDate(iso8601Basic: "20240102T030405Z")
        let verifier = Verifier(
            resolver: InMemoryCredentialResolver([
                ResolvedCredential(
                    accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, principal: "p")
            ]), policy: VerificationPolicy(allowedRegions: ["eu-west-1"]))
        let direct = try signer.sign(
            HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1:9000", path: target), payload: .emptySHA256,
            at: date)

        var client = HTTPClientRequest(url: "http://127.0.0.1:9000\(target)")
        let viaClient = try client.sign(with: signer, payload: .emptySHA256, at: date)
        #expect(viaClient.canonicalRequest == direct.canonicalRequest)
        #expect(client.headers.first(name: "X-Amz-Region-Set") == "us-east-1,eu-west-1")

        var urlRequest = URLRequest(url: try #require(URL(string: "http://127.0.0.1:9000\(target)")))
        guard Self.urlSessionTargets.contains(target) else {
            #expect(throws: SigV4Error.self) { _ = try urlRequest.sign(with: signer, at: date) }
            return
        }
        let viaURLRequest = try urlRequest.sign(with: signer, at: date)
        #expect(viaURLRequest.canonicalRequest == direct.canonicalRequest)
        #expect(urlRequest.value(forHTTPHeaderField: "Authorization")?.hasPrefix("AWS4-ECDSA-P256-SHA256 ") == true)

        let accepted = await verifier.verify(VerificationRequest(viaURLRequest.request), now: date)
        #expect(accepted.isAccepted, "\(accepted.failure?.description ?? "")")
    }

    @Test("a URL AsyncHTTPClient would re-encode is refused, not signed wrongly")
    func asyncHTTPClientRefusesTargetItWouldRewrite() throws {
        let signer = Signer(credentials: Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "s3")
        var request = HTTPClientRequest(url: "http://127.0.0.1:9000/a b")
        #expect(throws: SigV4Error.self) {
            try request.sign(with: signer, payload: .emptySHA256, at: AmzDate(secondsSince1970: 1_700_000_000))
        }
        #expect(request.headers.first(name: "Authorization") == nil)
    }

    @Test("the default port is dropped from the signed host, as clients send it")
    func urlRequestDropsDefaultPort() throws {
        let signer = Signer(credentials: Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "s3")
        var request = URLRequest(url: try #require(URL(string: "https://bucket.example.com:443/key")))
        let signed = try request.sign(with: signer, payload: .emptySHA256, at: AmzDate(secondsSince1970: 1_700_000_000))
        #expect(signed.canonicalRequest.text.contains("\nhost:bucket.example.com\n"))
    }

    @Test("a streamed URLRequest body must name its payload hash")
    func urlRequestStreamNeedsPayloadHash() throws {
        let signer = Signer(credentials: Credentials(accessKeyID: "AKID", secretAccessKey: "secret"), region: "us-east-1", service: "s3")
        var request = URLRequest(url: try #require(URL(string: "https://bucket.example.com/key")))
        request.httpMethod = "PUT"
        request.httpBodyStream = InputStream(data: Data("abc".utf8))
        #expect(throws: SigV4Error.self) { try request.sign(with: signer, at: AmzDate(secondsSince1970: 1_700_000_000)) }
        let signed = try request.sign(with: signer, payload: .unsignedPayload, at: AmzDate(secondsSince1970: 1_700_000_000))
        #expect(signed.canonicalRequest.text.hasSuffix("\nUNSIGNED-PAYLOAD"))
    }
}
