public import SigV4
import _SigV4Crypto

/// Remembers accepted signatures so that each signed request is accepted once.
///
/// The verifier calls ``remember(_:until:now:)`` after a signature has verified, with the
/// last instant at which that request could still pass the time check. An implementation
/// must make the check-and-insert atomic: of N concurrent calls with the same signature,
/// exactly one returns ``ReplayGuardResult/firstUse``. Back it with a shared store (for
/// example Redis `SET NX PX`, or a table with a unique key) to protect several verifier nodes.
///
/// Calls arrive out of clock order: each verification reads its `now` before it reaches the
/// guard, so a call with an earlier `now` can follow one with a later `now`. A guard must not
/// forget an entry while a call can still arrive for which that entry is live (its `until` at
/// or after the call's `now`), or it must refuse such a call (answer
/// ``ReplayGuardResult/replayed`` or ``ReplayGuardResult/unavailable``) instead of answering
/// ``ReplayGuardResult/firstUse``. A store that expires entries by its own clock (Redis `EXAT`)
/// meets this when its clock is not ahead of the verifiers'.
///
/// ```swift
/// struct RedisReplayGuard: ReplayGuard {
///     func remember(_ signature: Signature, until: AmzDate, now: AmzDate) async -> ReplayGuardResult {
///         // SET sig:<hex> 1 NX EXAT <until + 1>  →  .firstUse / .replayed; on error → .unavailable
///     }
/// }
/// ```
public protocol ReplayGuard: Sendable {
    /// Records `signature` as used until `until` (inclusive) and says whether it was new.
    func remember(_ signature: Signature, until: AmzDate, now: AmzDate) async -> ReplayGuardResult

    /// The same without suspending, for a guard that can answer at once (an in-process one); nil
    /// (the default) when it cannot, and has recorded nothing: the verifier then calls
    /// ``remember(_:until:now:)``.
    ///
    /// ```swift
    /// func rememberWithoutSuspending(_ signature: Signature, until: AmzDate, now: AmzDate) -> ReplayGuardResult? {
    ///     localSet.insert(signature, until: until, now: now)   // atomic check-and-insert
    /// }
    /// ```
    func rememberWithoutSuspending(_ signature: Signature, until: AmzDate, now: AmzDate) -> ReplayGuardResult?
}

extension ReplayGuard {
    /// No answer without suspending: the verifier calls ``remember(_:until:now:)``.
    public func rememberWithoutSuspending(_ signature: Signature, until: AmzDate, now: AmzDate) -> ReplayGuardResult? {
        nil
    }
}

/// The answer of a ``ReplayGuard``.
public enum ReplayGuardResult: Sendable, Hashable {
    /// Not seen before; now remembered.
    case firstUse
    /// Already remembered and still live: a replay.
    case replayed
    /// The guard cannot take another entry (full, or its store is down). The verifier fails closed.
    case unavailable
}

/// An in-process ``ReplayGuard``: hash sets of signatures plus time buckets for expiry, in
/// shards that each have their own lock.
///
/// Each entry lives until the end of its one-second bucket, so it is forgotten at the first
/// second it could no longer pass the time check. Expired buckets are dropped on every
/// insert, oldest first, through a min-heap of bucket times. The guard never evicts a live
/// entry to make room, since that would reopen a replay window: a new signature that finds no
/// room gets ``ReplayGuardResult/unavailable``.
///
/// Shards: a signature always goes to the same shard (chosen from its bytes mixed with a random
/// value of the guard's, so a client cannot aim its signatures at one shard), and concurrent verifications
/// of different signatures mostly take different locks. A guard of `capacity` entries has, unless
/// ``init(capacity:shards:)`` is told otherwise, one shard per 8,192 entries, at most 16 (a power
/// of two; one for a capacity under 16,384), and
/// each shard holds at most `capacity / shardCount` (the total never exceeds ``capacity``), so a
/// sharded guard can answer `unavailable` when one shard's share is full a little before the whole
/// guard is (with a million entries in 16 shards of 62,500 and evenly spread signatures, within
/// about 1% of full).
///
/// Out of clock order: each shard keeps the newest `now` any call to it has passed (its
/// high-water mark) and drops buckets by that mark, not by each call's own `now`. A call whose
/// `until` is before the mark, but not before its own `now` (the request still passes that
/// call's time check, and its bucket may already be gone), is answered
/// ``ReplayGuardResult/replayed``: the guard fails closed rather than record a possible replay
/// as a first use. With the verifier that refuses only a request verified in the last second
/// of its window while another verification of its shard already read the next second, or every
/// request whose window ended before the mark after the clock steps back.
///
/// Memory: about 100 bytes per entry, so the default 1 000 000 entries stay near 100 MB.
///
/// ```swift
/// let guard = InMemoryReplayGuard(capacity: 100_000)
/// let verifier = Verifier(resolver: resolver, replayGuard: guard)
/// ```
public final class InMemoryReplayGuard: ReplayGuard {
    struct State {
        var live: Set<SHA256Digest> = []
        var buckets: [Int64: [SHA256Digest]] = [:]
        var heap: [Int64] = []  // bucket times, min-heap
        var rejectedFull: UInt64 = 0
        /// The newest `now` (seconds) any call to this shard has passed: every bucket before it
        /// has been dropped, none at or after it has.
        var newestNow: Int64 = .min
    }

    /// The shards; a power-of-two count, indexed by a signature's seeded hash.
    private let shards: [Locked<State>]
    /// A random value per guard, mixed into a signature before its shard is chosen.
    private let shardSeed: UInt64
    /// 64 minus the bits of the shard index (the index is the mixed value's top bits).
    private let shardShift: UInt64
    /// The most entries one shard holds: `capacity / shards.count`.
    private let shardCapacity: Int
    /// The most entries held at once, all shards together.
    public let capacity: Int

    /// The shard count for `capacity`: one per 8,192 entries, a power of two from 1 to 16.
    static func shardCount(capacity: Int) -> Int {
        var count = 1
        while count < 16 && capacity / (count * 2) >= 8_192 { count *= 2 }
        return count
    }

    /// Creates a guard holding at most `capacity` live signatures.
    ///
    /// - Parameters:
    ///   - capacity: the most entries held at once, all shards together (at least 1).
    ///   - shards: how many locks to split the entries over; nil (the default) for one per 8,192
    ///     entries, at most 16. Otherwise rounded down to a power of two, and to at most 256 and
    ///     at most `capacity`. More shards suit more cores; each holds `capacity / shards`.
    ///
    /// ```swift
    /// let guard = InMemoryReplayGuard(capacity: 4_000_000, shards: 64)   // a 64-core gateway
    /// ```
    public init(capacity: Int = 1_000_000, shards: Int? = nil) {
        self.capacity = max(1, capacity)
        var count = InMemoryReplayGuard.shardCount(capacity: self.capacity)
        if let shards {
            count = 1
            while count * 2 <= min(shards, 256, self.capacity) { count *= 2 }
        }
        self.shardCapacity = self.capacity / count
        self.shards = (0..<count).map { _ in Locked(State()) }
        self.shardSeed = UInt64.random(in: .min ... .max)
        self.shardShift = UInt64(64 - count.trailingZeroBitCount)
    }

    /// How many shards the guard has (1 for a capacity under 16,384).
    public var shardCount: Int { shards.count }

    public func remember(_ signature: Signature, until: AmzDate, now: AmzDate) async -> ReplayGuardResult {
        rememberNow(signature, until: until, now: now)
    }

    /// Answers at once: ``rememberNow(_:until:now:)``.
    public func rememberWithoutSuspending(_ signature: Signature, until: AmzDate, now: AmzDate) -> ReplayGuardResult? {
        rememberNow(signature, until: until, now: now)
    }

    /// The synchronous form of ``remember(_:until:now:)``.
    public func rememberNow(_ signature: Signature, until: AmzDate, now: AmzDate) -> ReplayGuardResult {
        let key = signature.digest
        let expiry = until.secondsSince1970
        let callersNow = now.secondsSince1970
        // The top bits of (the signature's words xor the seed) times an odd constant (Fibonacci
        // hashing): a client does not know the seed, so it cannot aim signatures at one shard.
        // A shift by 64 (one shard) gives 0.
        let mixed = key.w0 ^ key.w1 ^ key.w2 ^ key.w3 ^ shardSeed
        let index = (mixed &* 0x9E37_79B9_7F4A_7C15) >> shardShift
        let shard = shards[Int(truncatingIfNeeded: index)]
        let capacity = shardCapacity
        return shard.withLock { s in
            let newest = InMemoryReplayGuard.purge(&s, now: callersNow)
            if s.live.contains(key) { return .replayed }
            if expiry < newest {
                // Its bucket is before the mark, so it has been dropped (or would be at once): the
                // guard cannot tell a first use from a replay. Already dead for this caller: it
                // could not pass the time check, so there is nothing to remember. Still live for
                // this caller (a call with a later `now` came first): fail closed.
                return expiry < callersNow ? .firstUse : .replayed
            }
            guard s.live.count < capacity else {
                s.rejectedFull &+= 1
                return .unavailable
            }
            s.live.insert(key)
            if s.buckets[expiry] == nil {
                s.buckets[expiry] = [key]
                InMemoryReplayGuard.heapPush(&s.heap, expiry)
            } else {
                s.buckets[expiry]!.append(key)
            }
            return .firstUse
        }
    }

    /// Raises the high-water mark to `now` (it never goes back) and drops every bucket whose time
    /// is before the mark; returns the mark. Buckets go by the mark, not by `now`, so that a call
    /// with an earlier `now` than one before it knows which buckets may be gone.
    @discardableResult
    static func purge(_ s: inout State, now: Int64) -> Int64 {
        let newest = max(s.newestNow, now)
        s.newestNow = newest
        while let oldest = s.heap.first, oldest < newest {
            heapPop(&s.heap)
            if let keys = s.buckets.removeValue(forKey: oldest) {
                for k in keys { s.live.remove(k) }
            }
        }
        return newest
    }

    /// Live entries now, all shards together (after each shard drops those expired before `now`,
    /// or before a later `now` an earlier call to it passed: its high-water mark).
    public func count(now: AmzDate) -> Int {
        shards.reduce(0) { total, shard in
            total + shard.withLock { s in
                InMemoryReplayGuard.purge(&s, now: now.secondsSince1970)
                return s.live.count
            }
        }
    }

    /// How many inserts were refused because the guard (a shard's share of it) was full.
    public var refusedWhenFull: UInt64 { shards.reduce(0) { $0 + $1.withLock { $0.rejectedFull } } }

    // MARK: min-heap

    static func heapPush(_ h: inout [Int64], _ v: Int64) {
        h.append(v)
        var i = h.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if h[parent] <= h[i] { break }
            h.swapAt(parent, i)
            i = parent
        }
    }

    static func heapPop(_ h: inout [Int64]) {
        guard !h.isEmpty else { return }
        h.swapAt(0, h.count - 1)
        h.removeLast()
        var i = 0
        let n = h.count
        while true {
            let l = 2 * i + 1
            let r = l + 1
            var m = i
            if l < n, h[l] < h[m] { m = l }
            if r < n, h[r] < h[m] { m = r }
            if m == i { break }
            h.swapAt(i, m)
            i = m
        }
    }
}
