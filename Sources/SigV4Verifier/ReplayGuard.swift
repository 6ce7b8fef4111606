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

/// An in-process ``ReplayGuard``: a hash set of signatures plus time buckets for expiry.
///
/// Each entry lives until the end of its one-second bucket, so it is forgotten at the first
/// second it could no longer pass the time check. Expired buckets are dropped on every
/// insert, oldest first, through a min-heap of bucket times. When ``capacity`` live entries
/// are held, new signatures get ``ReplayGuardResult/unavailable``: the guard never evicts a
/// live entry to make room, since that would reopen a replay window.
///
/// Out of clock order: the guard keeps the newest `now` any call has passed (its high-water
/// mark) and drops buckets by that mark, not by each call's own `now`. A call whose `until`
/// is before the mark, but not before its own `now` (the request still passes that call's
/// time check, and its bucket may already be gone), is answered
/// ``ReplayGuardResult/replayed``: the guard fails closed rather than record a possible replay
/// as a first use. With the verifier that refuses only a request verified in the last second
/// of its window while another verification already read the next second, or every request
/// whose window ended before the mark after the clock steps back.
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
        /// The newest `now` (seconds) any call has passed: every bucket before it has been
        /// dropped, none at or after it has.
        var newestNow: Int64 = .min
    }

    private let state: Locked<State>
    /// The most entries held at once.
    public let capacity: Int

    /// Creates a guard holding at most `capacity` live signatures.
    public init(capacity: Int = 1_000_000) {
        self.capacity = max(1, capacity)
        self.state = Locked(State())
    }

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
        return state.withLock { s in
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

    /// Live entries now (after dropping those expired before `now`, or before a later `now` an
    /// earlier call passed: the high-water mark).
    public func count(now: AmzDate) -> Int {
        state.withLock { s in
            InMemoryReplayGuard.purge(&s, now: now.secondsSince1970)
            return s.live.count
        }
    }

    /// How many inserts were refused because the guard was full.
    public var refusedWhenFull: UInt64 { state.withLock { $0.rejectedFull } }

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
