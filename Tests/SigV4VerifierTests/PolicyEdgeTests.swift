import HTTPTypes
import SigV4
import Testing

@_spi(Fuzzing) @testable import SigV4Verifier

/// Policy checks against spellings that a server behind the verifier reads as something else:
/// `x_amz_*` header names (CGI, WSGI, PHP and Rack give them the variable of `x-amz-*`), `..;`
/// and `\` in a path (Tomcat and IIS or WHATWG URL parsers resolve them as `..` and `/`), and a
/// presigned URL's session token repeated in a header. Each request is also held to the common
/// form's agreement with the full verification.
@Suite("policy edges: spellings a server reads as another")
struct PolicyEdgeTests {
    static let now = Fixture.date

    static func request(
        _ method: HTTPRequest.Method = .get, path: String, headers: [(String, String)] = [], presigned: Bool,
        token: String? = nil
    ) throws -> VerificationRequest {
        var fields = HTTPFields()
        for (name, value) in headers { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        let request = HTTPRequest(
            method: method, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: path,
            headerFields: fields)
        let signer = Fixture.signer(token: token)
        return VerificationRequest(
            presigned
                ? try signer.presign(request, expires: 600, at: Fixture.date).request
                : try signer.sign(request, payload: .emptySHA256, at: Fixture.date).request)
    }

    static func verify(_ verifier: Verifier, _ request: VerificationRequest) async -> VerificationResult {
        #expect(FuzzingEntryPoints.commonFormDisagreement(verifier, request, payload: .streamed, now: now) == nil)
        return await verifier.verify(request, now: now)
    }

    @Test(
        "an unsigned x-amz-* header spelled with '_' for '-' is refused as unsigned, header auth and presigned",
        arguments: ["X_Amz_Copy_Source", "x_amz_copy_source", "x-amz_copy-source", "X_AMZ-Copy-Source"],
        [false, true])
    func underscoreAmzHeaderMustBeSigned(name: String, presigned: Bool) async throws {
        var request = try Self.request(.put, path: "/uploads/a", presigned: presigned)
        request.fields.append(.init(name: name, value: "otherbucket/secret"))
        let result = await Self.verify(Fixture.verifier(), request)
        #expect(result.code == "AccessDenied")
        #expect(result.failure?.details.first { $0.name == "HeadersNotSigned" }?.value == name.lowercased())
    }

    @Test("an x_amz_* header that is signed is accepted (it is covered)", arguments: [false, true])
    func signedUnderscoreAmzHeader(presigned: Bool) async throws {
        let request = try Self.request(
            .put, path: "/uploads/a", headers: [("x_amz_meta_note", "hi")], presigned: presigned)
        #expect(await Self.verify(Fixture.verifier(), request).isAccepted)
    }

    @Test(
        "key scope: '..;' path parameters and '\\' separators cannot step out of a prefix",
        arguments: [
            "/public/..;/private/x", "/public/..;jsessionid=1/private/x", "/public/.;/../private/x",
            "/public/..%5Cprivate/x", "/public/a%5C..%5C..%5Cprivate/x", "/public/..%3B/private/x",
        ], [false, true])
    func prefixParametersAndBackslashes(path: String, presigned: Bool) async throws {
        let verifier = Fixture.verifier(Fixture.credential(scope: KeyScope(pathPrefixes: ["/public/"])))
        let result = await Self.verify(verifier, try Self.request(path: path, presigned: presigned))
        #expect(result.code == "AccessDenied")
        #expect(result.failure?.message == "The access key is not allowed to access this path")
    }

    @Test(
        "key scope: paths with ';' or '\\' that stay inside the prefix are accepted",
        arguments: ["/public/a;b/c", "/public/a%5Cb", "/public/x/..;/y", "/public/a%5C..%5Cb"])
    func prefixParametersAndBackslashesInside(path: String) async throws {
        let verifier = Fixture.verifier(Fixture.credential(scope: KeyScope(pathPrefixes: ["/public/"])))
        #expect(await Self.verify(verifier, try Self.request(path: path, presigned: false)).isAccepted)
    }

    @Test("presigned: a session token in a header as well as the query is InvalidToken")
    func presignedTokenTwice() async throws {
        let temporary = Fixture.verifier(Fixture.credential(token: "tok1"))
        let twice = try Self.request(
            path: "/a", headers: [("X-Amz-Security-Token", "tok2")], presigned: true, token: "tok1")
        let result = await Self.verify(temporary, twice)
        #expect(result.code == "InvalidToken")
        #expect(result.failure?.message.contains("more than one") == true)
        // The same token twice is still two.
        let same = try Self.request(
            path: "/a", headers: [("X-Amz-Security-Token", "tok1")], presigned: true, token: "tok1")
        #expect(await Self.verify(temporary, same).code == "InvalidToken")
    }

    @Test("presigned: a signed session-token header is the request's token, present iff the key has one")
    func presignedTokenInHeader() async throws {
        let inHeader = try Self.request(path: "/a", headers: [("X-Amz-Security-Token", "tok1")], presigned: true)
        #expect(await Self.verify(Fixture.verifier(), inHeader).code == "InvalidToken")
        #expect(await Self.verify(Fixture.verifier(Fixture.credential(token: "tok1")), inHeader).isAccepted)
        #expect(await Self.verify(Fixture.verifier(Fixture.credential(token: "tok2")), inHeader).code == "InvalidToken")
    }
}
