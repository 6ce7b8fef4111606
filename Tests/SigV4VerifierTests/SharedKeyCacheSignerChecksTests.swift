import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// A key cache shared by a verifier and a signer: the signer's fast path must not take what the
/// verifier kept as "checked".
///
/// `Signer.sign` and `presign` skip `validateCredentials()` when the cache's last `SigningSecond`
/// matches their key, on the premise that only a signer, after those checks, makes one. Since
/// 4f829e9 the verifier's common path makes and keeps them too (`SigningKeyCache.second`), from
/// whatever access key id and secret its resolver answered, and before the signature is compared:
/// a request with any signature puts one there. A signer whose credentials its checks refuse
/// (an empty secret, an access key id with a space) then signs in that second as if they passed.
/// The reference is the same signer without a cache, and with a cache nobody else wrote to.
@Suite("Shared key cache: the signer's checks after a verification")
struct SharedKeyCacheSignerChecksTests {
    static let request = HTTPRequest(
        method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/test.txt")

    /// Verifies a request claiming `id` (signed with another secret: refused, but only after the
    /// key lookup) with a resolver answering `id` with `secret`, through `cache`.
    static func verifyThrough(_ cache: SigningKeyCache, id: String, secret: String) async -> VerificationResult {
        let signer = Signer(
            credentials: Credentials(accessKeyID: id, secretAccessKey: "some other secret"), region: "us-east-1",
            service: "s3", keyCache: nil)
        let signed = try! signer.sign(request, payload: .emptySHA256, at: Fixture.date)
        let resolver = InMemoryCredentialResolver([
            ResolvedCredential(accessKeyID: id, secretAccessKey: SecretAccessKey(secret), principal: "p")
        ])
        let verifier = Verifier(resolver: resolver, keyCache: cache)
        return await verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date)
    }

    static func signer(id: String, secret: String, cache: SigningKeyCache?) -> Signer {
        Signer(
            credentials: Credentials(accessKeyID: id, secretAccessKey: secret), region: "us-east-1", service: "s3",
            keyCache: cache)
    }

    @Test func aSignerWithAnEmptySecretIsRefusedAfterAVerificationOfItsIDThroughTheSameCache() async {
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: "AKIDEXAMPLE", secret: "", cache: nil).sign(Self.request, payload: .emptySHA256, at: Fixture.date)
        }
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: "AKIDEXAMPLE", secret: "", cache: SigningKeyCache(capacity: 4))
                .sign(Self.request, payload: .emptySHA256, at: Fixture.date)
        }
        let cache = SigningKeyCache(capacity: 4)
        #expect(await Self.verifyThrough(cache, id: "AKIDEXAMPLE", secret: "").code == "SignatureDoesNotMatch")
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: "AKIDEXAMPLE", secret: "", cache: cache).sign(Self.request, payload: .emptySHA256, at: Fixture.date)
        }
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: "AKIDEXAMPLE", secret: "", cache: cache).presign(Self.request, expires: 60, at: Fixture.date)
        }
    }

    @Test func aSignerWithAnAccessKeyIDItsChecksRefuseIsRefusedAfterAVerificationOfThatIDThroughTheSameCache()
        async
    {
        // The resolver answers a request's id with a credential of another id (an alias): the
        // verifier keeps its second under the credential's id, which no signer check has seen.
        let cache = SigningKeyCache(capacity: 4)
        let signer = Signer(
            credentials: Credentials(accessKeyID: "AKIDALIAS", secretAccessKey: "some other secret"),
            region: "us-east-1", service: "s3", keyCache: nil)
        let signed = try! signer.sign(Self.request, payload: .emptySHA256, at: Fixture.date)
        struct Alias: CredentialResolver {
            func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
                lookUp()
            }
            func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) throws -> CredentialLookup {
                .found(lookUp())
            }
            func lookUp() -> ResolvedCredential {
                ResolvedCredential(accessKeyID: "bad id", secretAccessKey: SecretAccessKey(Fixture.secret), principal: "p")
            }
        }
        let verifier = Verifier(resolver: Alias(), keyCache: cache)
        #expect(await verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date).code == "SignatureDoesNotMatch")
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: "bad id", secret: Fixture.secret, cache: nil).sign(Self.request, payload: .emptySHA256, at: Fixture.date)
        }
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: "bad id", secret: Fixture.secret, cache: cache).sign(Self.request, payload: .emptySHA256, at: Fixture.date)
        }
    }

    /// Pins what sharing must keep: a valid signer after a verification of its own key through the
    /// same cache signs exactly as without a cache (header and presign), and its signature verifies.
    @Test func aValidSignerAfterAVerificationOfItsKeyThroughTheSameCacheSignsAsWithoutACache() async throws {
        let cache = SigningKeyCache(capacity: 4)
        #expect(await Self.verifyThrough(cache, id: Fixture.accessKeyID, secret: Fixture.secret).code == "SignatureDoesNotMatch")
        let cached = Self.signer(id: Fixture.accessKeyID, secret: Fixture.secret, cache: cache)
        let reference = Self.signer(id: Fixture.accessKeyID, secret: Fixture.secret, cache: nil)
        let other = HTTPRequest(method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/b")
        for r in [Self.request, other] {
            let a = try cached.sign(r, payload: .emptySHA256, at: Fixture.date)
            let b = try reference.sign(r, payload: .emptySHA256, at: Fixture.date)
            #expect(a.authorization == b.authorization)
            #expect(try cached.presign(r, expires: 60, at: Fixture.date).url == reference.presign(r, expires: 60, at: Fixture.date).url)
            let verifier = Verifier(resolver: InMemoryCredentialResolver([Fixture.credential()]), keyCache: cache)
            #expect(await verifier.verify(a.request, payload: .hash(.emptySHA256), now: Fixture.date).isAccepted)
        }
    }
}
