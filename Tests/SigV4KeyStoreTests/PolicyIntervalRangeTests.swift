import Foundation
import SigV4
import SigV4KeyStore
import SigV4Verifier
import Testing

/// `KeyStorePolicy.refreshInterval` and `lastUsedFlushInterval` outside the ordinary range, as
/// Docs/KeyStore.md describes them: zero, negative or NaN re-read the generation on every lookup
/// (a change is seen at once, without waiting); `.infinity` or 292 years or more read it once and
/// then only after `invalidateCache()`. None of them traps (the trap itself is pinned by
/// `ResolverCacheFreshnessTests.aStoreWithAnInfiniteRefreshIntervalOpens`, in a child process).
@Suite struct PolicyIntervalRangeTests {
    @Test(arguments: [0, -1, -Double.infinity, Double.nan])
    func aRefreshIntervalOfZeroNegativeOrNaNSeesADeactivationAtTheNextLookup(interval: Double) throws {
        let (fixture, id, ctx) = try Self.deactivatedAfterThreeLookups(interval: interval)
        #expect(try fixture.store.resolveNow(accessKeyID: id, context: ctx) == nil)
    }

    /// A store whose two intervals are `interval`, with a key resolved three times and then
    /// deactivated through the same store.
    static func deactivatedAfterThreeLookups(interval: Double) throws -> (Fixture, String, ResolutionContext) {
        var policy = KeyStorePolicy()
        policy.refreshInterval = interval
        policy.lastUsedFlushInterval = interval
        let fixture = try Fixture(.memory, policy: policy)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        let ctx = context(signedAt: now, now: now)
        for _ in 0..<3 { #expect(try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: ctx) != nil) }
        try fixture.store.deactivate(keyID: issued.accessKeyID, actor: "test")
        return (fixture, issued.accessKeyID, ctx)
    }

    @Test(arguments: [Double.infinity, 9_223_372_036, 1e10, Double.greatestFiniteMagnitude])
    func aRefreshIntervalOfInfinityOr292YearsOrMoreNeverReReadsUntilTheCacheIsInvalidated(interval: Double) throws {
        let (fixture, id, ctx) = try Self.deactivatedAfterThreeLookups(interval: interval)
        // "Never": the cached key still resolves...
        #expect(try fixture.store.resolveNow(accessKeyID: id, context: ctx) != nil)
        // ...until the cache is dropped by hand.
        fixture.store.invalidateCache()
        #expect(try fixture.store.resolveNow(accessKeyID: id, context: ctx) == nil)
        try fixture.store.flushLastUsed()
    }

    /// Just under the limit converts normally (a finite, very long interval: no refresh within the test).
    @Test func aRefreshIntervalJustUnder292YearsOpensAndResolves() throws {
        var policy = KeyStorePolicy()
        policy.refreshInterval = 9_223_372_035.999
        policy.lastUsedFlushInterval = 9_223_372_035.999
        let fixture = try Fixture(.memory, policy: policy)
        let issued = try fixture.store.createKey(principal: "alice", actor: "test")
        let now = fixture.clock.now
        #expect(try fixture.store.resolveNow(accessKeyID: issued.accessKeyID, context: context(signedAt: now, now: now)) != nil)
    }
}
