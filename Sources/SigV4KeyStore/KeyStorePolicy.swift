/// The limits and periods a key store enforces.
///
/// ```swift
/// var policy = KeyStorePolicy()
/// policy.maxActiveKeysPerPrincipal = 1
/// policy.deletionRetention = 7 * 86_400
/// ```
public struct KeyStorePolicy: Sendable, Hashable {
    /// At most this many keys per principal are in state `active` (2 by default, like IAM).
    /// Retiring keys do not count: they are on their way out.
    public var maxActiveKeysPerPrincipal: Int = 2
    /// A key must have been inactive this long (seconds) before it may be deleted without `force`. 30 days.
    public var deletionRetention: Int64 = 30 * 86_400
    /// How long after its retire time a retiring key still resolves, so presigned URLs signed before the
    /// retire time keep working until they expire. 7 days (the longest `X-Amz-Expires`). After that the key
    /// becomes inactive by itself.
    public var retiringGrace: Int64 = 604_800
    /// The overlap used by `rotate` when none is given: 1 day.
    public var defaultOverlap: Int64 = 86_400
    /// How often (seconds of monotonic time) the resolver re-reads the generation counter. 1 s, so a change
    /// made by another process is seen within 2 s; keep it at or below 1 s to keep that promise.
    ///
    /// Zero, negative or NaN: the counter is re-read on every lookup. `.infinity`, or about 292 years
    /// (9 223 372 036 s) or more: read once, then again only after ``KeyStore/invalidateCache()``, so a
    /// revocation, even one made through this `KeyStore`, is not seen by its resolver until then.
    public var refreshInterval: Double = 1.0
    /// How often (seconds) last-used data is written behind. 60 s.
    ///
    /// Zero, negative or NaN: written on every noted use. `.infinity`, or about 292 years or more: written
    /// only by ``KeyStore/flushLastUsed()``.
    public var lastUsedFlushInterval: Double = 60
    /// The most entries the resolver cache holds (including negative entries) before it is cleared.
    public var cacheCapacity: Int = 10_000

    /// The default policy.
    public init() {}
}
