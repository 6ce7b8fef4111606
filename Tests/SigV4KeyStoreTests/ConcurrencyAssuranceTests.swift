import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

/// Concurrency checks written for the thread sanitizer (`scripts/test --sanitizers`): they also pass, and
/// check their results, in a normal run. They cover the signing-key cache, the replay guard and two key store
/// instances (two connection pools over one SQLite file) used from many tasks at once.
@Suite("concurrency (thread-sanitizer targets)")
struct ConcurrencyAssuranceTests {
    static let date = AmzDate(secondsSince1970: 1_780_000_000)

    @Test("the signing-key cache under concurrent lookups and eviction returns the right key every time")
    func keyCache() async throws {
        let cache = SigningKeyCache(capacity: 4)
        let credentials = (0..<3).map { Credentials(accessKeyID: "AKID\($0)", secretAccessKey: "secret-\($0)") }
        let scopes = try ["us-east-1", "eu-west-1", "ap-south-1"].map {
            try CredentialScope(date: Self.date, region: $0, service: "s3")
        }
        let canonical = try CanonicalRequest(
            method: "GET", target: "/", headers: [("Host", "h")], payloadHash: .emptySHA256, rules: .s3)
        let probe = StringToSign(date: Self.date, scope: scopes[0], canonicalRequestHash: canonical.hash)
        // The expected signature of the probe under every (credentials, scope), computed without the cache.
        var expected: [String: Signature] = [:]
        for c in credentials {
            for s in scopes {
                expected["\(c.accessKeyID) \(s)"] = SigningKey(secretAccessKey: c.secretAccessKey, scope: s).signature(
                    for: probe)
            }
        }
        let expectedSignatures = expected
        let wrong = await withTaskGroup(of: Int.self) { group in
            for t in 0..<8 {
                group.addTask {
                    var wrong = 0
                    for i in 0..<300 {
                        let c = credentials[(i + t) % credentials.count]
                        let s = scopes[(i / 3 + t) % scopes.count]
                        let key = cache.signingKey(for: c, scope: s)
                        if key.signature(for: probe) != expectedSignatures["\(c.accessKeyID) \(s)"] { wrong += 1 }
                        if i % 97 == 0 { cache.remove(accessKeyID: c.accessKeyID) }
                    }
                    return wrong
                }
            }
            return await group.reduce(0, +)
        }
        #expect(wrong == 0)
        #expect(cache.count <= 4)
    }

    @Test("the replay guard under concurrent use accepts each signature exactly once")
    func replayGuard() async {
        let guardian = InMemoryReplayGuard(capacity: 10_000)
        let signatures = (0..<400).map { i in
            Signature(hex: String(repeating: "0", count: 56) + String(format: "%08x", i))!
        }
        let now = Self.date
        let firstUses = await withTaskGroup(of: [Int].self) { group in
            for t in 0..<8 {
                group.addTask {
                    var accepted: [Int] = []
                    for k in 0..<signatures.count {
                        let i = (k * 7 + t * 13) % signatures.count
                        if await guardian.remember(signatures[i], until: now.adding(seconds: 900), now: now)
                            == .firstUse
                        {
                            accepted.append(i)
                        }
                    }
                    return accepted
                }
            }
            return await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(firstUses.count == signatures.count)
        #expect(Set(firstUses).count == signatures.count)
        #expect(guardian.count(now: now) == signatures.count)
    }

    @Test("two key store instances over one SQLite file: concurrent creates, rotations and resolves stay consistent")
    func keyStoreInstances() async throws {
        let fixture = try Fixture(.sqlite)
        let second = try fixture.secondInstance()
        let stores = [fixture.store, second]
        for p in 0..<4 { _ = try fixture.store.createKey(principal: "rot\(p)", actor: "seed") }
        let now = fixture.clock.now
        let issued = try await withThrowingTaskGroup(of: [IssuedKey].self) { group in
            for t in 0..<8 {
                group.addTask {
                    let store = stores[t % 2]
                    var mine: [IssuedKey] = []
                    for i in 0..<4 {
                        if t < 4 && i % 2 == 1 {
                            mine.append(try store.rotate(principal: "rot\(t)", overlap: 3600, actor: "t\(t)").issued)
                        } else {
                            mine.append(try store.createKey(principal: "p\(t)-\(i)", actor: "t\(t)"))
                        }
                        // Resolve what this task issued so far, through the other instance.
                        for key in mine {
                            let resolved = try stores[(t + 1) % 2].resolveNow(
                                accessKeyID: key.accessKeyID, context: context(signedAt: now, now: now))
                            if resolved?.secretAccessKey != key.secretAccessKey {
                                throw KeyStoreError(.storage, "\(key.accessKeyID) did not resolve to its secret")
                            }
                        }
                    }
                    return mine
                }
            }
            return try await group.reduce(into: [IssuedKey]()) { $0 += $1 }
        }
        #expect(issued.count == 32)
        #expect(Set(issued.map(\.accessKeyID)).count == 32)
        let storage = try #require(fixture.store.storage as? SQLiteKeyStoreStorage)
        #expect(try storage.integrityProblems().isEmpty)
        #expect(try fixture.store.verifySecrets().isEmpty)
        for key in issued {
            let resolved = try fixture.store.resolveNow(
                accessKeyID: key.accessKeyID, context: context(signedAt: now, now: now))
            #expect(resolved?.secretAccessKey == key.secretAccessKey)
        }
        let active = Dictionary(grouping: try fixture.store.keys().filter { $0.state == .active }, by: \.principal)
        for p in 0..<4 { #expect(active["rot\(p)"]?.count == 1, "rot\(p) keeps exactly one active key") }
        #expect(active.values.map(\.count).reduce(0, +) == 4 + 24)
    }

    @Test("a serving instance resolves every key from many tasks while a rewrap elsewhere moves and drops its version")
    func resolvesThroughARewrap() async throws {
        let fixture = try Fixture(.sqlite)
        let keyFile = fixture.dir.file("keys.db.masterkey")
        try fixture.ring.writeKeyFile(atPath: keyFile)
        var policy = KeyStorePolicy()
        policy.refreshInterval = 0  // every lookup checks the generation, so the rewrap's batches empty the cache
        let serving = try KeyStore.open(
            path: fixture.dbPath, masterKeys: fixture.ring, masterKeyFile: keyFile, policy: policy,
            clock: fixture.clock.closure)
        var keys: [IssuedKey] = []
        for i in 0..<12 { keys.append(try fixture.store.createKey(principal: "p\(i)", actor: "seed")) }
        let issued = keys
        let now = fixture.clock.now
        let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                // `sigv4 keys rewrap --drop-unused` in small batches, while the lookups run.
                let ring = try fixture.store.addMasterKeyVersion(keyFile: keyFile, actor: "ops")
                let rewrapping = try KeyStore.open(path: fixture.dbPath, masterKeys: ring, masterKeyFile: keyFile)
                let moved = try rewrapping.rewrap(batchSize: 2, actor: "ops")
                _ = try rewrapping.dropMasterKey(version: 1, keyFile: keyFile, actor: "ops")
                return moved == issued.count ? 0 : 1000
            }
            for t in 0..<6 {
                group.addTask {
                    var wrong = 0
                    for i in 0..<120 {
                        let key = issued[(i * 5 + t) % issued.count]
                        let resolved = try serving.resolveNow(
                            accessKeyID: key.accessKeyID, context: context(signedAt: now, now: now))
                        if resolved?.secretAccessKey != key.secretAccessKey { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(wrong == 0)
        #expect(try serving.masterKeyUsage() == [2: issued.count])
        for key in issued {
            let resolved = try serving.resolveNow(
                accessKeyID: key.accessKeyID, context: context(signedAt: now, now: now))
            #expect(resolved?.secretAccessKey == key.secretAccessKey)
        }
    }
}
