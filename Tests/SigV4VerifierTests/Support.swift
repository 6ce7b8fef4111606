import HTTPTypes
import SigV4
import SigV4Verifier

/// Shared fixtures: the suite credentials, a signer and a verifier over them.
enum Fixture {
    static let accessKeyID = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let date = try! AmzDate(iso8601Basic: "20150830T123600Z")

    static func credential(
        token: String? = nil, scope: KeyScope = .unrestricted, retiringAt: AmzDate? = nil, principal: String = "alice"
    ) -> ResolvedCredential {
        ResolvedCredential(
            accessKeyID: accessKeyID, secretAccessKey: SecretAccessKey(secret), principal: principal, scope: scope,
            sessionToken: token, acceptsSignaturesBefore: retiringAt)
    }

    static func verifier(
        _ credential: ResolvedCredential = Fixture.credential(), policy: VerificationPolicy = .default,
        replayGuard: (any ReplayGuard)? = nil
    ) -> Verifier {
        Verifier(resolver: InMemoryCredentialResolver([credential]), policy: policy, replayGuard: replayGuard)
    }

    static func signer(service: String = "s3", region: String = "us-east-1", token: String? = nil) -> Signer {
        Signer(
            credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token),
            region: region, service: service, keyCache: nil)
    }

    /// An S3 PUT with a body, a query and a user header, signed in the Authorization header.
    static func signedPut(body: [UInt8] = Array("Welcome to Amazon S3.".utf8), at date: AmzDate = Fixture.date)
        -> (VerificationRequest, [UInt8])
    {
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("x-amz-meta-color")!, value: "blue green"))
        fields.append(HTTPField(name: .contentType, value: "text/plain"))
        let request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com",
            path: "/photos/2015/cat.txt?partNumber=1&uploadId=abc", headerFields: fields)
        let signed = try! signer().sign(request, payload: .sha256(of: body), at: date)
        return (VerificationRequest(signed.request), body)
    }

    /// The same request as `request` with one header value replaced (first field with that name).
    static func replacing(_ request: VerificationRequest, _ name: String, with value: [UInt8]) -> VerificationRequest {
        var r = request
        if let i = r.fields.firstIndex(where: { $0.name.lowercased() == name }) { r.fields[i].value = value }
        return r
    }

    /// A distinct signature for each `n` (its hex digits, zero-padded): replay-guard entries.
    static func signature(number n: Int) -> Signature {
        let hex = String(n, radix: 16)
        return Signature(hex: String(repeating: "0", count: 64 - hex.count) + hex)!
    }

    static func value(_ request: VerificationRequest, _ name: String) -> [UInt8] {
        request.fields.first { $0.name.lowercased() == name }!.value
    }
}

extension VerificationResult {
    var code: String? { failure?.code.name }
}
