import SigV4
import _SigV4Crypto

/// The last few readings a verifier made of some bytes of a request, found by those bytes.
///
/// What a client sends again and again (the common form's `Authorization` prefix,
/// ``CommonFormPrefix``; a presigned URL's credential and signed names, ``PresignCredential``) is
/// read once and kept, as the key cache keeps a derived key. A reading must be a function of its
/// key's bytes alone (and of the verifier's policy, fixed for a ``Verifier/Storage``, which owns
/// the caches), so a request reads the same thing whether it was kept or not.
///
/// A handful of slots, replaced in turn: enough for the few keys and header sets that sign most of
/// a service's requests at a time. A key that is not kept costs one comparison per slot (the
/// lengths first) and is then read as it would be without the cache. A key has one or two parts
/// (compared part by part, so two keys that only join to the same bytes differ). The keys' bytes
/// live in memory allocated once: keeping a reading copies its key there and allocates nothing
/// beyond the reading itself, made once per key read. Thread-safe: one lock, held for the
/// comparison or the copy.
///
/// ```swift
/// let prefixes = CommonFormPrefixes()
/// if let known = prefixes.lookUp(prefix) { /* use it */ }
/// else if let read = CommonFormPrefix.read(p, signatureStart: n, policy: policy) {
///     prefixes.remember(read, for: prefix)
/// }
/// ```
final class KeptReadings<Reading: Sendable>: @unchecked Sendable {
    /// How many readings are kept.
    static var capacity: Int { 4 }
    /// The longest key kept, its parts together (a longer one is read every time).
    static var maximumBytes: Int { 384 }

    /// `capacity` slots of `maximumBytes` each, each key's two lengths, and a reading per slot (in
    /// memory of their own, not arrays: an array element read is copied out through a temporary);
    /// read and written only with `next`'s lock held (hence `@unchecked Sendable`). A key's first
    /// length is -1 in an empty slot; its second, -1 when it has one part.
    private let bytes: UnsafeMutablePointer<UInt8>
    private let counts: UnsafeMutablePointer<Int>
    private let readings: UnsafeMutablePointer<Reading?>
    /// The slot to replace next.
    private let next = Locked(0)

    init() {
        let capacity = Self.capacity
        let n = capacity * Self.maximumBytes
        bytes = .allocate(capacity: n)
        bytes.initialize(repeating: 0, count: n)
        counts = .allocate(capacity: 2 * capacity)
        counts.initialize(repeating: -1, count: 2 * capacity)
        readings = .allocate(capacity: capacity)
        readings.initialize(repeating: nil, count: capacity)
    }

    deinit {
        bytes.deallocate()
        counts.deallocate()
        readings.deinitialize(count: Self.capacity)
        readings.deallocate()
    }

    /// The reading kept for exactly these bytes (`first`, then `second` when given), if any.
    func lookUp(_ first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>? = nil) -> Reading? {
        let n = first.count
        let m = second?.count ?? -1
        guard n + max(m, 0) <= Self.maximumBytes else { return nil }
        let bytes = self.bytes
        let counts = self.counts
        let readings = self.readings
        let capacity = Self.capacity
        let slotBytes = Self.maximumBytes
        return next.withLock { _ in
            for k in 0..<capacity where counts[2 * k] == n && counts[2 * k + 1] == m {
                let slot = bytes + k * slotBytes
                guard ByteSearch.compare(UnsafeBufferPointer(start: slot, count: n), first) == 0 else { continue }
                if let second, ByteSearch.compare(UnsafeBufferPointer(start: slot + n, count: m), second) != 0 {
                    continue
                }
                return readings[k]
            }
            return nil
        }
    }

    /// Keeps `reading` for these bytes (`first`, then `second` when given), in place of the slot
    /// kept longest.
    func remember(
        _ reading: Reading, for first: UnsafeBufferPointer<UInt8>, _ second: UnsafeBufferPointer<UInt8>? = nil
    ) {
        let n = first.count
        let m = second?.count ?? -1
        guard n + max(m, 0) <= Self.maximumBytes else { return }
        let bytes = self.bytes
        let counts = self.counts
        let readings = self.readings
        let capacity = Self.capacity
        let slotBytes = Self.maximumBytes
        next.withLock { next in
            let k = next
            next = (k + 1) % capacity
            let slot = bytes + k * slotBytes
            if let source = first.baseAddress { slot.update(from: source, count: n) }
            if let second, let source = second.baseAddress { (slot + n).update(from: source, count: m) }
            counts[2 * k] = n
            counts[2 * k + 1] = m
            readings[k] = reading
        }
    }
}
