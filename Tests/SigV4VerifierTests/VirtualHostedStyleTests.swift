import HTTPTypes
import SigV4
import Testing

@testable import SigV4Verifier

/// Virtual-hosted-style addressing: the bucket read from the signed `Host` under the configured
/// domains, a key's path prefixes applied to the path-style path, and hosts that name no valid
/// bucket refused.
@Suite("virtual-hosted-style addressing")
struct VirtualHostedStyleTests {
    static let now = Fixture.date.adding(seconds: 5)
    static let addressing = try! VirtualHostedStyle(domains: ["s3.example.com", "example.com", "S3.Other.Test."])

    @Test("the bucket is what stands before the longest domain; ports, case and a trailing dot do not matter", arguments: [
        ("photos.s3.example.com", "photos"),
        ("photos.s3.example.com:8080", "photos"),
        ("PHOTOS.S3.Example.COM", "photos"),
        ("photos.s3.example.com.", "photos"),
        (" photos.s3.example.com ", "photos"),
        ("my.photos.s3.example.com", "my.photos"),
        ("s3.example.com.example.com", "s3.example.com"),
        ("web.example.com", "web"),
        ("logs.s3.other.test", "logs"),
    ])
    func bucketFromHost(host: String, bucket: String) throws {
        #expect(try Self.addressing.bucket(host: host) == bucket)
    }

    @Test("a domain itself, a host outside every domain, a look-alike and an IP literal are path style", arguments: [
        "s3.example.com", "s3.example.com:443", "example.com", "example.org", "photos.s3.example.org",
        "xs3.example.com.evil", "notexample.com", "[::1]:8080", "127.0.0.1:9000", "",
    ])
    func pathStyleHosts(host: String) throws {
        #expect(try Self.addressing.bucket(host: host) == nil)
    }

    @Test("a host under a domain that names no valid bucket is InvalidBucketName (400)", arguments: [
        "ab.s3.example.com", "-photos.s3.example.com", "photos-.s3.example.com", "ph..otos.s3.example.com",
        "ph_otos.s3.example.com", "ph%2fotos.s3.example.com", "..s3.example.com", ".s3.example.com",
        "192.168.10.1.s3.example.com", "ph/otos.s3.example.com", "evil:x.s3.example.com:80",
        String(repeating: "a", count: 64) + ".s3.example.com",
    ])
    func invalidBuckets(host: String) {
        #expect {
            _ = try Self.addressing.bucket(host: host)
        } throws: { error in
            (error as? VerificationFailure)?.code == .invalidBucketName && (error as? VerificationFailure)?.httpStatus == 400
        }
    }

    @Test("bucket names: S3's rules for general purpose buckets")
    func bucketNames() {
        for name in ["abc", "a.b", "my-bucket.2024", String(repeating: "a", count: 63), "1.2.3", "1.2.3.4a"] {
            #expect(VirtualHostedStyle.isValidBucketName(name), "\(name)")
        }
        for name in ["ab", "ABC", "a..b", ".abc", "abc.", "-abc", "abc-", "a_b", "1.2.3.4", "a b", "é.com"] {
            #expect(!VirtualHostedStyle.isValidBucketName(name), "\(name)")
        }
    }

    @Test("a domain must be a host name", arguments: ["", ".", "a..b", "exa_mple.com", "example.com:80", "*.example.com"])
    func invalidDomains(domain: String) {
        #expect(throws: VirtualHostedStyle.InvalidDomain.self) { try VirtualHostedStyle(domains: [domain]) }
    }

    // MARK: through the verifier

    static func verifier(_ scope: KeyScope, domains: [String]? = ["s3.example.com"]) -> Verifier {
        var policy = VerificationPolicy.default
        policy.virtualHostedStyle = domains.map { try! VirtualHostedStyle(domains: $0) }
        return Fixture.verifier(Fixture.credential(scope: scope), policy: policy)
    }

    static func signed(host: String, path: String, presigned: Bool = false) throws -> VerificationRequest {
        let request = HTTPRequest(method: .get, scheme: "https", authority: host, path: path)
        let signer = Fixture.signer()
        let out = presigned
            ? try signer.presign(request, expires: 300, at: Fixture.date).request
            : try signer.sign(request, payload: .emptySHA256, at: Fixture.date).request
        return VerificationRequest(out)
    }

    @Test("a key's path prefixes apply to the path-style path, in header auth and presigned URLs", arguments: [false, true])
    func pathPrefixesSeeTheBucket(presigned: Bool) async throws {
        let request = try Self.signed(host: "photos.s3.example.com", path: "/2015/cat.jpg?acl", presigned: presigned)
        let inside = await Self.verifier(KeyScope(pathPrefixes: ["/photos/2015/"])).verify(request, now: Self.now)
        #expect(inside.verified?.bucket == "photos")
        #expect(inside.verified?.pathStyleTarget("/2015/cat.jpg?acl") == "/photos/2015/cat.jpg?acl")
        let otherBucket = await Self.verifier(KeyScope(pathPrefixes: ["/videos/"])).verify(request, now: Self.now)
        #expect(otherBucket.code == "AccessDenied")
        // The key's prefix names the object path only: inside it as path style, not under the bucket.
        let keyPathOnly = await Self.verifier(KeyScope(pathPrefixes: ["/2015/"])).verify(request, now: Self.now)
        #expect(keyPathOnly.code == "AccessDenied")
        // Without the domain the request is path style: its own path is what the prefixes see.
        let pathStyle = await Self.verifier(KeyScope(pathPrefixes: ["/2015/"]), domains: nil).verify(request, now: Self.now)
        #expect(pathStyle.isAccepted)
        #expect(pathStyle.verified?.bucket == nil)
        #expect(pathStyle.verified?.pathStyleTarget("/2015/cat.jpg") == "/2015/cat.jpg")
    }

    @Test("dot segments cannot climb out of the bucket the host names", arguments: [
        "/../videos/x", "/%2e%2e/videos/x", "/./../videos/x", "/..%5Cvideos/x",
    ])
    func traversalOutOfTheBucket(path: String) async throws {
        let request = try Self.signed(host: "photos.s3.example.com", path: path)
        let result = await Self.verifier(KeyScope(pathPrefixes: ["/photos/"])).verify(request, now: Self.now)
        #expect(result.code == "AccessDenied")
    }

    @Test("a signed host under the domain that is not a bucket name is refused as such, before the key is looked up")
    func invalidBucketRefusedFirst() async throws {
        let request = try Self.signed(host: "no_such.s3.example.com", path: "/x")
        // An unknown key: the bucket check comes first, so the answer is about the host.
        let verifier = Verifier(
            resolver: InMemoryCredentialResolver([]),
            policy: { var p = VerificationPolicy.default
                p.virtualHostedStyle = try! VirtualHostedStyle(domains: ["s3.example.com"])
                return p }())
        let result = await verifier.verify(request, now: Self.now)
        #expect(result.code == "InvalidBucketName")
        #expect(result.failure?.httpStatus == 400)
    }

    @Test("with requireSignedHost off, a bucket is still read only from a signed Host", arguments: [false, true])
    func unsignedHostNamesNoBucket(presigned: Bool) async throws {
        var signer = Fixture.signer()
        signer.options.unsignedHeaders.insert("host")
        func sign(_ host: String) throws -> VerificationRequest {
            // (One other header, so that a presigned URL signs some header.)
            let request = HTTPRequest(
                method: .get, scheme: "https", authority: host, path: "/cat.jpg", headerFields: [.accept: "*/*"])
            let out = presigned
                ? try signer.presign(request, expires: 300, at: Fixture.date).request
                : try signer.sign(request, payload: .emptySHA256, at: Fixture.date).request
            return VerificationRequest(out)
        }
        var policy = VerificationPolicy.default
        policy.requireSignedHost = false
        policy.virtualHostedStyle = try VirtualHostedStyle(domains: ["s3.example.com"])
        let verifier = Fixture.verifier(Fixture.credential(scope: .unrestricted), policy: policy)
        // The signature covers no Host, so anyone could point it at another bucket: refused.
        let virtual = try sign("photos.s3.example.com")
        // (Path style, the same request passes: the Host is not signed and not required to be.)
        var pathStylePolicy = policy
        pathStylePolicy.virtualHostedStyle = nil
        let asPathStyle = await Fixture.verifier(Fixture.credential(scope: .unrestricted), policy: pathStylePolicy)
            .verify(virtual, now: Self.now)
        #expect(asPathStyle.isAccepted)
        let refused = await verifier.verify(virtual, now: Self.now)
        #expect(refused.code == "AccessDenied")
        #expect(refused.failure?.details.contains { $0.name == "HeadersNotSigned" && $0.value == "host" } == true)
        // A path-style request whose Host names no bucket is what the policy allows.
        let pathStyle = await verifier.verify(try sign("s3.example.com"), now: Self.now)
        #expect(pathStyle.isAccepted)
        #expect(pathStyle.verified?.bucket == nil)
    }

    @Test("the host is signed: changing it to another bucket breaks the signature")
    func hostIsSigned() async throws {
        let request = try Self.signed(host: "photos.s3.example.com", path: "/cat.jpg")
        let moved = Fixture.replacing(request, "host", with: Array("videos.s3.example.com".utf8))
        let result = await Self.verifier(.unrestricted).verify(moved, now: Self.now)
        #expect(result.code == "SignatureDoesNotMatch")
    }
}
