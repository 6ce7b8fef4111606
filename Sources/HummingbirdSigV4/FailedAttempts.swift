public import SigV4

/// The signatures of accepted requests that were answered with a status clients retry, remembered
/// for a minute, so that a replay of one can be answered as a retry rather than as an attack.
///
/// SigV4 dates have a one-second resolution, and SDKs re-sign a retry without changing a signed
/// byte (botocore's `amz-sdk-request: attempt=2` is not signed), so a retry sent within the
/// second of a failed attempt is the same signed request: the replay guard refuses it. As
/// `RequestReplayed` (403) the client gives up; as `SlowDown` (503) it backs off, signs again with a
/// later date and succeeds. The refusal itself does not change: the replay never reaches the
/// handler.
///
/// Bounded: at most `capacity` signatures, the oldest dropped first (a dropped one only means its
/// replay is answered `RequestReplayed`, as without this memory).
///
/// ```swift
/// let attempts = FailedAttempts()
/// await attempts.record(verified.signature, now: now)          // the handler answered 503
/// await attempts.contains(failure.replayedSignature!, now: now) // true for a minute
/// ```
public actor FailedAttempts {
    /// The most signatures held.
    public let capacity: Int
    /// How long a signature is held, in seconds.
    public let lifetime: Int64
    private var expiry: [Signature: Int64] = [:]
    /// Recording order, oldest first from `head`.
    private var order: [Signature] = []
    private var head = 0

    /// Creates an empty memory of at most `capacity` signatures, each held for `lifetime` seconds.
    ///
    /// ```swift
    /// let attempts = FailedAttempts(capacity: 10_000, lifetime: 30)
    /// ```
    public init(capacity: Int = 4_096, lifetime: Int64 = 60) {
        self.capacity = max(1, capacity)
        self.lifetime = max(1, lifetime)
    }

    /// Remembers `signature` until `now` plus ``lifetime``.
    public func record(_ signature: Signature, now: AmzDate) {
        let until = now.secondsSince1970 + lifetime
        if expiry.updateValue(until, forKey: signature) != nil { return }
        if expiry.count > capacity {
            // The oldest recorded goes; `order` holds each live signature once.
            expiry.removeValue(forKey: order[head])
            head += 1
        }
        order.append(signature)
        if head > capacity {
            order.removeFirst(head)
            head = 0
        }
    }

    /// True when `signature` was recorded and its time is not over at `now`.
    public func contains(_ signature: Signature, now: AmzDate) -> Bool {
        guard let until = expiry[signature] else { return false }
        return now.secondsSince1970 <= until
    }

    /// How many signatures are held (expired ones included until they are dropped).
    public var count: Int { expiry.count }
}
