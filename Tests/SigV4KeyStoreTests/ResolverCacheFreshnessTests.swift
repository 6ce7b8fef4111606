import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

/// The resolver's cache against changes it must see without `invalidateCache()`: a change through
/// the same store and one through another connection, each while the key is the resolver's "last
/// key found" (the repeat-lookup shortcut that compares the id's bytes before the dictionary), and
/// the refresh interval's conversion to the monotonic clock's nanoseconds.
@Suite struct ResolverCacheFreshnessTests {
    /// Three lookups: the first loads the key, the second finds it in the dictionary and makes it
    /// the last key found, the third is answered by that shortcut.
    static func warm(_ store: KeyStore, _ id: String, _ ctx: ResolutionContext) throws -> Bool {
        var all = true
        for _ in 0..<3 {
            let found = try store.resolveNow(accessKeyID: id, context: ctx) != nil
            all = all && found
        }
        return all
    }

    @Test(arguments: Backend.allCases)
    func aKeyDeactivatedThroughTheSameStoreIsRefusedOnceTheRefreshIntervalPassesWithoutInvalidatingTheCache(
        backend: Backend
    ) async throws {
        var policy = KeyStorePolicy()
        policy.refreshInterval = 0.05
        let fixture = try Fixture(backend, policy: policy)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let ctx = context(signedAt: now, now: now)
        #expect(try Self.warm(fixture.store, issued.accessKeyID, ctx))
        try fixture.store.deactivate(keyID: issued.accessKeyID, actor: "test")
        try await Task.sleep(for: .milliseconds(120))
        #expect(try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) == nil)
        // And back: re-activation is seen the same way, the negative entry dropped with the rest.
        try fixture.store.activate(keyID: issued.accessKeyID, actor: "test")
        try await Task.sleep(for: .milliseconds(120))
        #expect(try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) != nil)
    }

    @Test func aRotationByAnotherConnectionReplacesTheLastKeyFoundOnceTheRefreshIntervalPasses() async throws {
        var policy = KeyStorePolicy()
        policy.refreshInterval = 0.05
        let fixture = try Fixture(.sqlite, policy: policy)
        let verifierSide = try fixture.secondInstance(policy: policy)
        let old = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let ctx = context(signedAt: now, now: now)
        #expect(try Self.warm(verifierSide, old.accessKeyID, ctx))
        #expect(try verifierSide.resolveNow(accessKeyID: old.accessKeyID, context: ctx)?.acceptsSignaturesBefore == nil)
        let rotation = try fixture.store.rotate(principal: "alice", overlap: 60, actor: "test")
        try await Task.sleep(for: .milliseconds(120))
        // The cached active key is now the store's retiring one.
        #expect(
            try verifierSide.resolveNow(accessKeyID: old.accessKeyID, context: ctx)?.acceptsSignaturesBefore
                == rotation.retiresAt)
        #expect(try verifierSide.resolveNow(accessKeyID: rotation.issued.accessKeyID, context: ctx) != nil)
    }

    /// A refresh interval too long for nanoseconds in an `Int64` (about 292 years, or infinity:
    /// "never re-read") must not trap when the store is made (`ResolverState.init` converts it with
    /// `Int64(_:)`, which traps above `Int64.max`). Run in a child process: the trap ends it.
    @Test func aStoreWithAnInfiniteRefreshIntervalOpens() async {
        await #expect(processExitsWith: .success) {
            var policy = KeyStorePolicy()
            policy.refreshInterval = .infinity
            policy.lastUsedFlushInterval = .infinity
            _ = try KeyStore(storage: InMemoryKeyStoreStorage(), masterKeys: MasterKeyRing.generate(), policy: policy)
        }
    }
}
