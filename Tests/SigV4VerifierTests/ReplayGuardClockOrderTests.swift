import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

/// The in-memory replay guard when verifications reach it out of clock order.
///
/// Each verification passes its own `now`, read before it takes the guard's lock, so concurrent
/// verifications arrive with `now` values out of order. Before 742e4b3 the guard dropped a bucket
/// as soon as one call's `now` was past it; a later call with an earlier `now` (for which that
/// bucket's requests still pass the time check) then found nothing and recorded a replay as a
/// first use. These tests run such an order one call after another (deterministic: no threads).
@Suite("Replay guard: calls out of clock order")
struct ReplayGuardClockOrderTests {
    static let t = AmzDate(secondsSince1970: 1_440_938_160)

    static func signature(_ n: Int) -> Signature { Fixture.signature(number: n) }

    @Test func aSignatureStillLiveForACallersNowIsAReplayAfterAnotherCallWithALaterNowPurgedItsBucket() {
        let store = InMemoryReplayGuard()
        #expect(store.rememberNow(Self.signature(1), until: Self.t, now: Self.t) == .firstUse)
        // Another request, verified with a clock read one second later, takes the lock first.
        #expect(store.rememberNow(Self.signature(2), until: Self.t.adding(seconds: 900), now: Self.t.adding(seconds: 1)) == .firstUse)
        // The replay of the first, verified with a clock read at `t` (its time check passed).
        #expect(store.rememberNow(Self.signature(1), until: Self.t, now: Self.t) != .firstUse)
    }

    @Test func aReplayAtTheLastSecondOfTheSkewWindowIsRefusedAfterAVerificationWithALaterClockReading() async {
        let store = InMemoryReplayGuard()
        let verifier = Fixture.verifier(replayGuard: store)
        let (request, body) = Fixture.signedPut()
        let edge = Fixture.date.adding(seconds: 900)  // the last second `request` passes the time check
        #expect(await verifier.verify(request, payload: .body(body), now: edge).isAccepted)
        let (other, otherBody) = Fixture.signedPut(at: Fixture.date.adding(seconds: 60))
        #expect(await verifier.verify(other, payload: .body(otherBody), now: edge.adding(seconds: 1)).isAccepted)
        #expect(await verifier.verify(request, payload: .body(body), now: edge).code == "RequestReplayed")
    }

    /// Pins the in-order case the fix must keep: calls whose `now` never goes back see every live
    /// entry up to and including its `until`, and the entry is gone the second after.
    @Test func inClockOrderAnEntryIsAReplayThroughItsUntilAndForgottenTheSecondAfter() {
        let store = InMemoryReplayGuard()
        #expect(store.rememberNow(Self.signature(1), until: Self.t.adding(seconds: 5), now: Self.t) == .firstUse)
        for s in Int64(0)...5 {
            #expect(store.rememberNow(Self.signature(1), until: Self.t.adding(seconds: 5), now: Self.t.adding(seconds: s)) == .replayed)
        }
        #expect(store.count(now: Self.t.adding(seconds: 5)) == 1)
        #expect(store.count(now: Self.t.adding(seconds: 6)) == 0)
    }
}
