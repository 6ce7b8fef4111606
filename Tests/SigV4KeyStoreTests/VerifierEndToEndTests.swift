import Foundation
import HTTPTypes
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

/// The key store behind the real `Verifier`: requests signed with `Signer` and checked end to end.
@Suite struct VerifierEndToEndTests {
    func verifier(_ store: KeyStore) -> Verifier {
        Verifier(resolver: store, policy: VerificationPolicy(allowedRegions: ["us-east-1"], allowedServices: ["s3"]))
    }

    func verify(_ store: KeyStore, _ signed: SignedRequest, now: AmzDate) async -> VerificationResult {
        await verifier(store).verify(signed.request, payload: .streamed, now: now)
    }

    func presign(_ credentials: Credentials, at date: AmzDate, expires: Int) throws -> SignedRequest {
        try Signer(credentials: credentials, region: "us-east-1", service: "s3", keyCache: nil)
            .presign(sampleRequest, expires: expires, at: date)
    }

    @Test(arguments: Backend.allCases)
    func duringTheOverlapOldAndNewKeysVerifyAndAfterItOnlyTheNewOne(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        let old = try fixture.store.createKey(principal: "alice", actor: "test")
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 600, actor: "test")
        fixture.clock.advance(300)
        var now = fixture.clock.now
        for key in [old, rotation.issued] {
            let result = await verify(fixture.store, try signSample(key.credentials, at: now), now: now)
            #expect(result.isAccepted, "\(String(describing: result.failure))")
            #expect(result.verified?.principal == "alice")
            #expect(result.verified?.accessKeyID == key.accessKeyID)
        }
        fixture.clock.now = rotation.retiresAt.adding(seconds: 1)
        now = fixture.clock.now
        let oldAfter = await verify(fixture.store, try signSample(old.credentials, at: now), now: now)
        #expect(oldAfter.failure?.code == .accessDenied)
        let newAfter = await verify(fixture.store, try signSample(rotation.issued.credentials, at: now), now: now)
        #expect(newAfter.isAccepted, "\(String(describing: newAfter.failure))")
    }

    @Test(arguments: Backend.allCases)
    func aRetiringKeyAcceptsASignatureDatedOneSecondBeforeTheRetireTimeAndRefusesOneSecondAfter(backend: Backend)
        async throws
    {
        let fixture = try Fixture(backend)
        let old = try fixture.store.createKey(principal: "alice", actor: "test")
        let t = try fixture.store.rotate(principal: "alice", overlap: 3600, actor: "test").retiresAt
        let now = t.adding(seconds: 30)
        let before = await verify(fixture.store, try signSample(old.credentials, at: t.adding(seconds: -1)), now: now)
        #expect(before.isAccepted, "\(String(describing: before.failure))")
        let after = await verify(fixture.store, try signSample(old.credentials, at: t.adding(seconds: 1)), now: now)
        #expect(after.failure?.code == .accessDenied)
    }

    @Test func aPresignedURLIssuedBeforeRetirementKeepsWorkingUntilItExpires() async throws {
        let fixture = try Fixture(.sqlite)
        let old = try fixture.store.createKey(principal: "alice", actor: "test")
        let t = try fixture.store.rotate(principal: "alice", overlap: 60, actor: "test").retiresAt
        let early = try presign(old.credentials, at: t.adding(seconds: -10), expires: 86_400)
        let late = try presign(old.credentials, at: t.adding(seconds: 10), expires: 86_400)
        let now = t.adding(seconds: 3600)
        #expect(await verify(fixture.store, early, now: now).isAccepted)
        #expect(await verify(fixture.store, late, now: now).failure?.code == .accessDenied)
        #expect(!(await verify(fixture.store, early, now: t.adding(seconds: 86_400)).isAccepted))
    }

    @Test func aDeactivatedOrDeletedKeyIsRefusedAsInvalidAccessKeyId() async throws {
        let fixture = try Fixture(.sqlite)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let signed = try signSample(issued.credentials, at: now)
        #expect(await verify(fixture.store, signed, now: now).isAccepted)
        try fixture.store.deactivate(keyID: issued.accessKeyID, actor: "test")
        fixture.store.invalidateCache()
        #expect(await verify(fixture.store, signed, now: now).failure?.code == .invalidAccessKeyId)
        try fixture.store.delete(keyID: issued.accessKeyID, force: true, actor: "test")
        #expect(await verify(fixture.store, signed, now: now).failure?.code == .invalidAccessKeyId)
    }

    @Test func aRevocationAndARotationByASecondProcessReachARunningVerifierWithinTwoSeconds() async throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        let store = try KeyStore.open(path: db, masterKeys: try MasterKeyRing.readKeyFile(atPath: db + ".masterkey"))
        let alice = try store.createKey(principal: "alice", actor: "test")
        let bob = try store.createKey(principal: "bob", actor: "test")
        var now = store.now
        #expect(await verify(store, try signSample(alice.credentials, at: now), now: now).isAccepted)
        #expect(await verify(store, try signSample(bob.credentials, at: now), now: now).isAccepted)

        #expect(try runSigV4(["keys", "deactivate", alice.accessKeyID], environment: env).status == 0)
        let rotated = try runSigV4(["keys", "rotate", "--principal", "bob", "--overlap", "0"], environment: env)
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(rotated.stdout.utf8)) as? [String: Any])
        let newBob = Credentials(
            accessKeyID: try #require(json["access_key_id"] as? String),
            secretAccessKey: try #require(json["secret_access_key"] as? String))
        try await Task.sleep(for: .milliseconds(1100))  // the refresh interval is 1 s
        now = store.now.adding(seconds: 1)
        let aliceAfter = await verify(store, try signSample(alice.credentials, at: now), now: now)
        #expect(aliceAfter.failure?.code == .invalidAccessKeyId)
        let bobOld = await verify(store, try signSample(bob.credentials, at: now), now: now)
        #expect(bobOld.failure?.code == .accessDenied)
        let bobNew = await verify(store, try signSample(newBob, at: now), now: now)
        #expect(bobNew.isAccepted, "\(String(describing: bobNew.failure))")
    }
}
