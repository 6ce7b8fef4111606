import SigV4
import SigV4Verifier
import Testing

/// `InMemoryReplayGuard`'s high-water mark through every entry point that purges or records:
/// `rememberNow`, `remember` (async), `rememberWithoutSuspending` and `count(now:)`. The mark is the
/// newest `now` any of them passed; buckets before it are gone, so a call whose `until` is before
/// it is refused unless the request is already dead for that call's own `now`.
@Suite("Replay guard: the high-water mark at every entry point")
struct ReplayGuardHighWaterMarkTests {
    static let t = AmzDate(secondsSince1970: 1_440_938_160)

    static func signature(_ n: Int) -> Signature { Fixture.signature(number: n) }

    @Test func theAsyncAndNonSuspendingEntryPointsRefuseALateCallAfterALaterNow() async {
        let store = InMemoryReplayGuard()
        #expect(await store.remember(Self.signature(1), until: Self.t, now: Self.t) == .firstUse)
        #expect(store.rememberWithoutSuspending(Self.signature(2), until: Self.t.adding(seconds: 900), now: Self.t.adding(seconds: 1)) == .firstUse)
        #expect(await store.remember(Self.signature(1), until: Self.t, now: Self.t) == .replayed)
        #expect(store.rememberWithoutSuspending(Self.signature(1), until: Self.t, now: Self.t) == .replayed)
    }

    @Test func countWithALaterNowRaisesTheMarkAsAnInsertDoes() {
        let store = InMemoryReplayGuard()
        #expect(store.rememberNow(Self.signature(1), until: Self.t, now: Self.t) == .firstUse)
        #expect(store.count(now: Self.t.adding(seconds: 1)) == 0)  // its bucket dropped
        #expect(store.rememberNow(Self.signature(1), until: Self.t, now: Self.t) == .replayed)
        // A signature never seen, still live for its caller but before the mark: refused too (fail closed).
        #expect(store.rememberNow(Self.signature(3), until: Self.t, now: Self.t) == .replayed)
    }

    @Test func aLateCallIsRefusedWithoutBeingRecordedAndAnEntryAtTheMarkIsStillRecorded() {
        let store = InMemoryReplayGuard(capacity: 2)
        #expect(store.rememberNow(Self.signature(1), until: Self.t.adding(seconds: 10), now: Self.t.adding(seconds: 10)) == .firstUse)
        #expect(store.rememberNow(Self.signature(2), until: Self.t.adding(seconds: 9), now: Self.t) == .replayed)
        #expect(store.count(now: Self.t) == 1)  // nothing recorded for the refused call
        // `until` equal to the mark: its bucket is intact, so the guard can still tell.
        #expect(store.rememberNow(Self.signature(3), until: Self.t.adding(seconds: 10), now: Self.t) == .firstUse)
        #expect(store.rememberNow(Self.signature(3), until: Self.t.adding(seconds: 10), now: Self.t) == .replayed)
        // Full (capacity 2) still fails closed with `unavailable`, and evicts nothing.
        #expect(store.rememberNow(Self.signature(4), until: Self.t.adding(seconds: 20), now: Self.t) == .unavailable)
        #expect(store.count(now: Self.t) == 2)
        #expect(store.refusedWhenFull == 1)
    }

    /// A request already dead for its caller (`until` before the caller's own `now`) cannot pass
    /// that caller's time check: nothing to remember, answered `firstUse` as before the mark.
    @Test func aRequestDeadForItsCallersNowIsStillAnsweredFirstUseAndNotRecorded() {
        let store = InMemoryReplayGuard()
        #expect(store.rememberNow(Self.signature(1), until: Self.t, now: Self.t.adding(seconds: 1)) == .firstUse)
        #expect(store.count(now: Self.t) == 0)
    }
}
