import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

@Suite struct ResolverTests {
    @Test(arguments: Backend.allCases)
    func activeKeyResolvesToItsSecretPrincipalAndScope(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        let scope = KeyScope(regions: ["us-east-1"], services: ["s3"], methods: ["GET"], maxPresignLifetime: 600)
        let issued = try fixture.store.createKey(principal: "alice", scope: scope, actor: "test")
        let now = fixture.clock.now
        let credential = try #require(
            try await fixture.store.resolve(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now)))
        #expect(credential.secretAccessKey == issued.secretAccessKey)
        #expect(credential.principal == "alice")
        #expect(credential.scope == scope)
        #expect(credential.acceptsSignaturesBefore == nil)
        #expect(credential.generation == (try fixture.store.generation()))
        #expect(!"\(credential)".contains(issued.secretAccessKey.revealForDisplay()))
        let signed = try signSample(issued.credentials, at: now)
        #expect(try await contractVerify(fixture.store, signed, accessKeyID: issued.accessKeyID, now: now))
    }

    @Test(arguments: Backend.allCases)
    func theVerifiersSynchronousLookupAnswersWhatResolveAnswersAndVerifiesWithoutSuspending(backend: Backend)
        async throws
    {
        let fixture = try Fixture(backend)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let inactive = try makeKey(fixture.store, in: .inactive)
        let now = fixture.clock.now
        for id in [issued.accessKeyID, inactive, "SV4KAAAAAAAAAAAAAAAA", ""] {
            let ctx = context(signedAt: now, now: now)
            let resolved = try await fixture.store.resolve(accessKeyID: id, context: ctx)
            switch try fixture.store.lookUpWithoutSuspending(accessKeyID: id, context: ctx) {
            case .found(let credential):
                #expect(credential == resolved)
                #expect(id == issued.accessKeyID)
            case .notFound: #expect(resolved == nil)
            case .needsSuspension: Issue.record("the key store answers synchronously")
            }
        }
        let signed = try signSample(issued.credentials, at: now)
        let result = await Verifier(resolver: fixture.store).verify(signed.request, payload: .hash(.emptySHA256), now: now)
        #expect(result.verified?.principal == "alice")
    }

    @Test(arguments: Backend.allCases)
    func unknownMalformedInactiveAndDeletedKeysDoNotResolve(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        let inactive = try makeKey(fixture.store, in: .inactive)
        let deleted = try makeKey(fixture.store, in: .deleted)
        let now = fixture.clock.now
        for id in [
            inactive, deleted, "SV4KAAAAAAAAAAAAAAAA", "sv4kaaaaaaaaaaaaaaaa", "", "AKID/EXAMPLE",
            String(repeating: "A", count: 500),
        ] {
            #expect(try await fixture.store.resolve(accessKeyID: id, context: context(signedAt: now, now: now)) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func retiringKeyAcceptsSignaturesDatedOneSecondBeforeTheRetireTimeAndRefusesOneSecondAfter(backend: Backend)
        async throws
    {
        let fixture = try Fixture(backend)
        let old = try fixture.store.createKey(principal: "alice", actor: "test")
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 3600, actor: "test")
        let t = rotation.retiresAt
        fixture.clock.now = t.adding(seconds: 30)
        let credential = try #require(
            try fixture.store.resolveNow(
                accessKeyID: old.accessKeyID, context: context(signedAt: t.adding(seconds: -1), now: fixture.clock.now))
        )
        #expect(credential.acceptsSignaturesBefore == t)
        let before = try signSample(old.credentials, at: t.adding(seconds: -1))
        let atT = try signSample(old.credentials, at: t)
        let after = try signSample(old.credentials, at: t.adding(seconds: 1))
        #expect(try await contractVerify(fixture.store, before, accessKeyID: old.accessKeyID, now: fixture.clock.now))
        #expect(!(try await contractVerify(fixture.store, atT, accessKeyID: old.accessKeyID, now: fixture.clock.now)))
        #expect(!(try await contractVerify(fixture.store, after, accessKeyID: old.accessKeyID, now: fixture.clock.now)))
    }

    @Test(arguments: Backend.allCases)
    func duringTheOverlapBothKeysVerifyAndAfterItOnlyTheNewOne(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        let old = try fixture.store.createKey(principal: "alice", actor: "test")
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 600, actor: "test")
        let new = rotation.issued
        fixture.clock.advance(300)
        var now = fixture.clock.now
        for key in [old, new] {
            let signed = try signSample(key.credentials, at: now)
            #expect(try await contractVerify(fixture.store, signed, accessKeyID: key.accessKeyID, now: now))
        }
        fixture.clock.advance(301)
        now = fixture.clock.now
        let oldAfter = try signSample(old.credentials, at: now)
        let newAfter = try signSample(new.credentials, at: now)
        #expect(!(try await contractVerify(fixture.store, oldAfter, accessKeyID: old.accessKeyID, now: now)))
        #expect(try await contractVerify(fixture.store, newAfter, accessKeyID: new.accessKeyID, now: now))
        // A presigned URL made by the old key during the overlap keeps working until it expires (7 days max).
        let presignedDuringOverlap = try signSample(old.credentials, at: rotation.retiresAt.adding(seconds: -5))
        fixture.clock.now = rotation.retiresAt.adding(seconds: 6 * 86_400)
        #expect(
            try await contractVerify(
                fixture.store, presignedDuringOverlap, accessKeyID: old.accessKeyID, now: fixture.clock.now))
        fixture.clock.now = rotation.retiresAt.adding(seconds: 604_800)
        #expect(
            !(try await contractVerify(
                fixture.store, presignedDuringOverlap, accessKeyID: old.accessKeyID, now: fixture.clock.now)))
    }

    @Test(arguments: Backend.allCases)
    func eachIDIsAnsweredForItselfWhenLookupsRepeatAndAlternate(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        let a = try fixture.store.createKey(principal: "alice", actor: "test").accessKeyID
        let b = try fixture.store.createKey(principal: "bob", actor: "test").accessKeyID
        let inactive = try makeKey(fixture.store, in: .inactive)
        let now = fixture.clock.now
        let ctx = context(signedAt: now, now: now)
        func answer(_ id: Substring) throws -> String? {
            if case .found(let c) = try fixture.store.lookUpWithoutSuspending(accessKeyID: id, context: ctx) {
                return c.accessKeyID
            }
            return nil
        }
        var changedLast = Array(a.utf8)
        changedLast[changedLast.count - 1] = changedLast.last == 0x41 ? 0x42 : 0x41
        let nearA = String(decoding: changedLast, as: UTF8.self)
        // The ids as slices of a larger string, as the verifier hands them over.
        let header = "Credential=\(a)/\(b)/\(nearA)/\(inactive)/\(a)X"
        let parts = header.dropFirst("Credential=".count).split(separator: "/")
        let sequence: [(Substring, String?)] = [
            (parts[0], a), (parts[0], a), (parts[1], b), (parts[0], a), (parts[2], nil), (parts[0], a), (parts[3], nil),
            (parts[0], a), (parts[4], nil), (parts[0].dropLast(), nil), (parts[1], b), (parts[1], b), (Substring(a), a),
        ]
        for (id, expected) in sequence {
            #expect(try answer(id) == expected, "\(id)")
        }
        // A key deactivated while it is the last one found is not answered once the cache is dropped.
        #expect(try answer(parts[0]) == a)
        try fixture.store.deactivate(keyID: a, actor: "test")
        fixture.store.invalidateCache()
        #expect(try answer(parts[0]) == nil)
        #expect(try answer(parts[1]) == b)
        #expect(try answer(parts[0]) == nil)
    }

    @Test func revocationInTheSameStoreIsSeenAtOnce() async throws {
        let fixture = try Fixture(.sqlite)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        #expect(
            try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now))
                != nil)
        try fixture.store.deactivate(keyID: issued.accessKeyID, actor: "test")
        fixture.store.invalidateCache()
        #expect(
            try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now))
                == nil)
    }

    @Test func aChangeByAnotherConnectionIsSeenOnceTheRefreshIntervalHasPassed() async throws {
        var policy = KeyStorePolicy()
        policy.refreshInterval = 0.3
        let fixture = try Fixture(.sqlite, policy: policy)
        let verifierSide = try fixture.secondInstance(policy: policy)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let ctx = context(signedAt: now, now: now)
        #expect(try verifierSide.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) != nil)
        let generationBefore = try verifierSide.generation()
        try fixture.store.deactivate(keyID: issued.accessKeyID, actor: "test")
        #expect(try verifierSide.generation() > generationBefore)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try verifierSide.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) == nil)
        // Re-activation is seen the same way.
        try fixture.store.activate(keyID: issued.accessKeyID, actor: "test")
        try await Task.sleep(for: .milliseconds(400))
        #expect(try verifierSide.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) != nil)
    }

    @Test func aRevocationByASecondProcessIsSeenWithinTwoSeconds() async throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        let initResult = try runSigV4(["keys", "init"], environment: env)
        #expect(initResult.status == 0, "\(initResult.stderr)")
        let ring = try MasterKeyRing.readKeyFile(atPath: db + ".masterkey")
        let verifierSide = try KeyStore.open(path: db, masterKeys: ring)  // default policy: refresh every 1 s
        let issued = try verifierSide.createKey(principal: "alice", actor: "test")
        let now = verifierSide.now
        let ctx = context(signedAt: now, now: now)
        #expect(try verifierSide.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) != nil)
        let revoke = try runSigV4(["keys", "deactivate", issued.accessKeyID], environment: env)
        #expect(revoke.status == 0, "\(revoke.stderr)")
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try verifierSide.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) == nil)
        // A rotation by the second process: the new key resolves, the old one is retiring.
        let other = try verifierSide.createKey(principal: "bob", actor: "test")
        #expect(
            try verifierSide.resolveNow(accessKeyID: other.accessKeyID, context: ctx)?.acceptsSignaturesBefore == nil)
        let rotate = try runSigV4(["keys", "rotate", "--principal", "bob", "--overlap", "1h"], environment: env)
        #expect(rotate.status == 0, "\(rotate.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any])
        let newID = try #require(json["access_key_id"] as? String)
        try await Task.sleep(for: .milliseconds(1100))
        let later = verifierSide.now
        let laterCtx = context(signedAt: later, now: later)
        #expect(try verifierSide.resolveNow(accessKeyID: newID, context: laterCtx) != nil)
        #expect(
            try verifierSide.resolveNow(accessKeyID: other.accessKeyID, context: laterCtx)?.acceptsSignaturesBefore
                != nil)
    }

    @Test(arguments: Backend.allCases)
    func everyChangeBumpsTheGenerationCarriedByResolvedCredentials(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let g1 = try #require(
            try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now))
        ).generation
        try fixture.store.addPrincipal("bob", actor: "test")
        fixture.store.invalidateCache()
        let g2 = try #require(
            try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now))
        ).generation
        #expect(g2 > g1)
    }

    @Test(arguments: Backend.allCases)
    func lastUseIsWrittenBehindNotOnEveryRequest(backend: Backend) throws {
        let fixture = try Fixture(backend)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let auditBefore = try fixture.store.auditLog().count
        let generationBefore = try fixture.store.generation()
        fixture.clock.advance(5)
        let now = fixture.clock.now
        _ = try fixture.store.resolveNow(
            accessKeyID: issued.accessKeyID,
            context: context(signedAt: now, now: now, region: "eu-west-1", service: "s3"))
        fixture.store.noteAccepted(
            accessKeyID: issued.accessKeyID, scope: try CredentialScope(date: now, region: "eu-west-1", service: "s3"),
            now: now)
        #expect(try fixture.store.key(issued.accessKeyID).lastUsed == nil)
        try fixture.store.flushLastUsed()
        #expect(
            try fixture.store.key(issued.accessKeyID).lastUsed == LastUsed(at: now, region: "eu-west-1", service: "s3"))
        #expect(try fixture.store.auditLog().count == auditBefore)
        #expect(try fixture.store.generation() == generationBefore)
    }
}

@Suite struct CachedLookupTests {
    @Test(
        "accepted requests note each key's latest use once (repeats are not written again), lookups answered from the cache included, and a retiring key past its grace is refused from the cache",
        arguments: Backend.allCases)
    func cachedLookupsNoteTheLatestUsePerKeyAndCheckTheGrace(backend: Backend) throws {
        var policy = KeyStorePolicy()
        policy.retiringGrace = 60
        let fixture = try Fixture(backend, policy: policy)
        let a = try fixture.store.createKey(principal: "alice", actor: "test")
        let b = try fixture.store.createKey(principal: "bob", actor: "test")
        let now = fixture.clock.now
        // A lookup that finds the key, then the verifier's word that the request was accepted.
        func use(_ id: String, _ region: String, at t: AmzDate) throws -> Bool {
            guard try fixture.store.resolveNow(accessKeyID: id, context: context(signedAt: t, now: t, region: region)) != nil
            else { return false }
            fixture.store.noteAccepted(
                accessKeyID: id, scope: try CredentialScope(date: t, region: region, service: "s3"), now: t)
            return true
        }
        // The first lookups fill the cache; the rest are answered from it. The same use by two keys
        // is two uses.
        #expect(try use(a.accessKeyID, "r0", at: now))
        #expect(try use(b.accessKeyID, "r0", at: now))
        #expect(try use(a.accessKeyID, "r1", at: now))
        #expect(try use(b.accessKeyID, "r1", at: now))
        try fixture.store.flushLastUsed()
        #expect(try fixture.store.key(a.accessKeyID).lastUsed?.region == "r1")
        #expect(try fixture.store.key(b.accessKeyID).lastUsed?.region == "r1")
        // Interleaved and repeated.
        for (id, region) in [(a, "r1"), (b, "r1"), (a, "r1"), (a, "r1"), (b, "r2"), (a, "r3"), (a, "r3"), (b, "r2")] {
            #expect(try use(id.accessKeyID, region, at: now))
        }
        try fixture.store.flushLastUsed()
        #expect(try fixture.store.key(a.accessKeyID).lastUsed == LastUsed(at: now, region: "r3", service: "s3"))
        #expect(try fixture.store.key(b.accessKeyID).lastUsed == LastUsed(at: now, region: "r2", service: "s3"))
        // After a flush the same use is buffered again: a later second is written.
        #expect(try use(a.accessKeyID, "r3", at: now.adding(seconds: 1)))
        #expect(try use(a.accessKeyID, "r3", at: now.adding(seconds: 1)))
        try fixture.store.flushLastUsed()
        #expect(try fixture.store.key(a.accessKeyID).lastUsed?.at == now.adding(seconds: 1))

        // A retiring key, cached: accepted within its grace, refused (and not noted) after it.
        _ = try fixture.store.retire(keyID: b.accessKeyID, at: now.adding(seconds: 10), actor: "test")
        fixture.store.invalidateCache()
        #expect(try use(b.accessKeyID, "r4", at: now.adding(seconds: 20)))
        #expect(try use(b.accessKeyID, "r5", at: now.adding(seconds: 69)))
        #expect(!(try use(b.accessKeyID, "r6", at: now.adding(seconds: 70))))
        try fixture.store.flushLastUsed()
        #expect(try fixture.store.key(b.accessKeyID).lastUsed?.region == "r5")
    }
}

@Suite struct LastUsedFlushTests {
    @Test(arguments: Backend.allCases)
    func lastUseIsFlushedByTheResolverOnceTheFlushIntervalHasPassed(backend: Backend) throws {
        var policy = KeyStorePolicy()
        policy.lastUsedFlushInterval = 0
        let fixture = try Fixture(backend, policy: policy)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        _ = try fixture.store.resolveNow(
            accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now, region: "ap-south-1"))
        fixture.store.noteAccepted(
            accessKeyID: issued.accessKeyID, scope: try CredentialScope(date: now, region: "ap-south-1", service: "s3"),
            now: now)
        #expect(try fixture.store.key(issued.accessKeyID).lastUsed?.region == "ap-south-1")
    }

    @Test(arguments: Backend.allCases)
    func aRequestThatOnlyNamesTheKeyLeavesNoUse(backend: Backend) async throws {
        var policy = KeyStorePolicy()
        policy.lastUsedFlushInterval = 0
        let fixture = try Fixture(backend, policy: policy)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let verifier = Verifier(resolver: fixture.store)
        func send(secret: String, region: String) async throws -> VerificationResult {
            let signer = Signer(
                credentials: Credentials(accessKeyID: issued.accessKeyID, secretAccessKey: secret),
                region: region, service: "s3")
            return await verifier.verify(try signer.sign(sampleRequest, payload: .emptySHA256, at: now).request, now: now)
        }
        // Anyone who knows the id: a forged signature, here in a made-up region.
        let forged = try await send(secret: "not the secret", region: "mars-north-1")
        guard case .rejected(let failure) = forged else {
            Issue.record("a forged signature was accepted")
            return
        }
        #expect(failure.code == .signatureDoesNotMatch)
        try fixture.store.flushLastUsed()
        #expect(try fixture.store.key(issued.accessKeyID).lastUsed == nil)
        // The key holder's request is a use.
        let accepted = try await send(secret: issued.secretAccessKey.revealForDisplay(), region: "eu-west-1")
        guard case .accepted = accepted else {
            Issue.record("the key holder's request was refused: \(accepted)")
            return
        }
        try fixture.store.flushLastUsed()
        #expect(try fixture.store.key(issued.accessKeyID).lastUsed == LastUsed(at: now, region: "eu-west-1", service: "s3"))
    }
}
