import SigV4
import SigV4Verifier
import Testing

/// `InMemoryReplayGuard`'s shards: a large guard splits its entries over up to 16 locks so that
/// concurrent verifications of different signatures do not queue on one, and keeps every promise
/// of the single-lock guard: each signature accepted once (under concurrency too), no live entry
/// evicted, never more than `capacity` entries, entries forgotten the second after their `until`.
@Suite("Replay guard: shards")
struct ReplayGuardShardTests {
    static let t = AmzDate(secondsSince1970: 1_440_938_160)

    static func signature(_ n: Int) -> Signature { Fixture.signature(number: n) }

    @Test(arguments: [
        (1, 1), (2, 1), (16_383, 1), (16_384, 2), (32_767, 2), (32_768, 4), (65_536, 8), (131_072, 16),
        (1_000_000, 16), (Int.max, 16), (0, 1), (-5, 1),
    ])
    func theShardCountIsOnePer8192EntriesAPowerOfTwoUpTo16(capacity: Int, shards: Int) {
        #expect(InMemoryReplayGuard(capacity: capacity).shardCount == shards)
    }

    @Test(arguments: [
        (1_000_000, 64, 64), (1_000_000, 1_000, 256), (1_000_000, 3, 2), (1_000_000, 1, 1), (1_000_000, 0, 1),
        (1_000_000, -4, 1), (10, 64, 8), (1, 16, 1),
    ])
    func anExplicitShardCountIsRoundedDownToAPowerOfTwoAtMost256AndTheCapacity(capacity: Int, asked: Int, shards: Int) {
        let store = InMemoryReplayGuard(capacity: capacity, shards: asked)
        #expect(store.shardCount == shards)
        #expect(store.capacity == capacity)
    }

    /// Ten entries over eight shards: each shard holds one (10 / 8), so at most eight are taken.
    @Test func aGuardWithMoreShardsThanEntriesPerShardStillNeverExceedsItsCapacity() {
        let store = InMemoryReplayGuard(capacity: 10, shards: 8)
        var accepted = 0
        for n in 1...200 where store.rememberNow(Self.signature(n), until: Self.t, now: Self.t) == .firstUse {
            accepted += 1
        }
        #expect(accepted == 8)
        #expect(store.count(now: Self.t) == 8)
    }

    @Test func aShardedGuardAcceptsEachSignatureOnceAndForgetsItTheSecondAfterItsUntil() {
        let store = InMemoryReplayGuard()
        #expect(store.shardCount == 16)
        let until = Self.t.adding(seconds: 5)
        for n in 1...4_000 {
            #expect(store.rememberNow(Self.signature(n), until: until, now: Self.t) == .firstUse)
        }
        #expect(store.count(now: Self.t) == 4_000)
        for n in 1...4_000 where store.rememberNow(Self.signature(n), until: until, now: until) != .replayed {
            Issue.record("signature \(n) was not remembered through its until")
        }
        #expect(store.count(now: until) == 4_000)
        #expect(store.count(now: until.adding(seconds: 1)) == 0)
    }

    /// Two shards of 8,192: the total never exceeds the capacity, each shard refuses once its share
    /// is full, and nothing accepted is evicted to make room (every accepted signature is still a
    /// replay afterwards).
    @Test func aShardedGuardNeverHoldsMoreThanItsCapacityAndNeverEvictsALiveEntry() {
        let store = InMemoryReplayGuard(capacity: 16_384)
        #expect(store.shardCount == 2)
        let until = Self.t.adding(seconds: 60)
        var accepted: [Int] = []
        var unavailable = 0
        for n in 1...20_000 {
            switch store.rememberNow(Self.signature(n), until: until, now: Self.t) {
            case .firstUse: accepted.append(n)
            case .unavailable: unavailable += 1
            case .replayed: Issue.record("a fresh signature \(n) was answered replayed")
            }
        }
        #expect(accepted.count == 16_384)  // both shards filled to their share
        #expect(unavailable == 20_000 - 16_384)
        #expect(store.refusedWhenFull == UInt64(unavailable))
        #expect(store.count(now: Self.t) == 16_384)
        for n in accepted where store.rememberNow(Self.signature(n), until: until, now: Self.t) != .replayed {
            Issue.record("accepted signature \(n) was evicted")
        }
    }

    /// Many tasks race to record the same 1,000 signatures on a 16-shard guard: each is accepted by
    /// exactly one of them.
    @Test func concurrentTasksOnAShardedGuardAcceptEachSignatureExactlyOnce() async {
        let store = InMemoryReplayGuard()
        let until = Self.t.adding(seconds: 900)
        let firstUses = await withTaskGroup(of: [Int].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var mine: [Int] = []
                    for i in 0..<1_000 {
                        let n = (i * 7 + task * 131) % 1_000 + 1  // each task in its own order
                        if await store.remember(Self.signature(n), until: until, now: Self.t) == .firstUse {
                            mine.append(n)
                        }
                    }
                    return mine
                }
            }
            var all: [Int] = []
            for await mine in group { all += mine }
            return all
        }
        #expect(firstUses.count == 1_000)
        #expect(Set(firstUses).count == 1_000)
        #expect(store.count(now: Self.t) == 1_000)
    }

    /// The out-of-order rule holds shard by shard: after `count(now:)` raised every shard's mark,
    /// a signature whose window ended before the mark but not before its caller's `now` is refused
    /// (fail closed) whatever shard it falls in.
    @Test func everyShardFailsClosedForACallBehindItsMark() {
        let store = InMemoryReplayGuard()
        #expect(store.count(now: Self.t.adding(seconds: 10)) == 0)
        for n in 1...64 {
            #expect(store.rememberNow(Self.signature(n), until: Self.t.adding(seconds: 9), now: Self.t) == .replayed)
            #expect(store.rememberNow(Self.signature(n), until: Self.t.adding(seconds: 10), now: Self.t) == .firstUse)
        }
    }
}
