import HTTPTypes
import SigV4
import Testing

@_spi(Fuzzing) @testable import SigV4Verifier

/// A key's path prefixes against the two ways a server reads a path with dot segments: as it is
/// (S3 and other object stores keep `.` and `..` in a key, so `/secrets/../photos/x` is bucket
/// `secrets`, key `../photos/x`) and normalized (servers that clean paths). A key limited to a
/// prefix must be inside it both ways.
@Suite("key scope: a path must be inside the prefix as it is and normalized")
struct PathScopeReadingTests {
    static let scoped = Fixture.verifier(Fixture.credential(scope: KeyScope(pathPrefixes: ["/photos/"])))

    @Test(
        "a path that only its normalized form puts inside the prefix is refused, header auth and presigned",
        arguments: [
            "/secrets/../photos/x", "/secrets/%2e%2e/photos/x", "/secrets/..%2Fphotos/x", "/secrets/./../photos/x",
            "//photos/x", "/./photos/x", "/secrets%2F..%2Fphotos/x",
        ], [false, true])
    func normalizedOnlyIsOutside(path: String, presigned: Bool) async throws {
        let request = try PolicyEdgeTests.request(.put, path: path, presigned: presigned)
        let result = await PolicyEdgeTests.verify(Self.scoped, request)
        #expect(result.code == "AccessDenied", "\(path)")
        #expect(result.failure?.message == "The access key is not allowed to access this path")
    }

    @Test("a path inside the prefix as it is and normalized is accepted", arguments: ["/photos/x", "/photos/a/../b", "/photos/./x", "/photos//x"])
    func insideBothWays(path: String) async throws {
        #expect(await PolicyEdgeTests.verify(Self.scoped, try PolicyEdgeTests.request(path: path, presigned: false)).isAccepted)
    }

    @Test("a copy source that only its normalized form puts inside the prefix is refused", arguments: [
        "/secrets/../photos/a", "secrets/%2e%2e/photos/a",
    ])
    func copySourceNormalizedOnly(source: String) async throws {
        let request = try PolicyEdgeTests.request(
            .put, path: "/photos/copy", headers: [("x-amz-copy-source", source)], presigned: false)
        #expect(await PolicyEdgeTests.verify(Self.scoped, request).code == "AccessDenied", "\(source)")
    }

    @Test("a copy or rename source outside the prefix is refused in every spelling a CGI-style server reads as that header (HTTP_X_AMZ_COPY_SOURCE), signed", arguments: [
        "X_Amz_Copy_Source", "x_amz_copy_source", "x-amz-copy_source", "X-AMZ-COPY-SOURCE", "X_Amz_Rename_Source",
        "x-amz_rename-source",
    ])
    func copySourceInEverySpelling(name: String) async throws {
        let outside = try PolicyEdgeTests.request(
            .put, path: "/photos/copy", headers: [(name, "/secrets/key.pem")], presigned: false)
        let result = await PolicyEdgeTests.verify(Self.scoped, outside)
        #expect(result.code == "AccessDenied", "\(name)")
        #expect(result.failure?.message.contains("copy from '/secrets/key.pem'") == true, "\(name)")
        let inside = try PolicyEdgeTests.request(
            .put, path: "/photos/copy", headers: [(name, "/photos/original.jpg")], presigned: false)
        #expect(await PolicyEdgeTests.verify(Self.scoped, inside).isAccepted, "\(name)")
    }
}
