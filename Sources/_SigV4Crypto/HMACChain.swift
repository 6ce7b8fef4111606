/// HMAC-SHA256s with keys used once, run back to back: SigV4's key derivation, where each MAC's
/// output keys the next (`kDate`, `kRegion`, `kService`, `kSigning`, then the signature itself when
/// the key is not kept).
///
/// The key block, both SHA-256 states and the last MAC live in this value from the first MAC to the
/// last and are wiped once, when ``run(_:)`` returns, instead of after every MAC; an intermediate key
/// never leaves it (each is written into the next key block in place). A derivation and a signature
/// make four wipes where five one-shot MACs made twenty. Noncopyable, and made only by
/// ``run(_:)``, so no copy of the secret-derived state outlives the wipe.
///
/// ```swift
/// let key = HMACChain.run { chain in
///     chain.start(keyPrefix: "AWS4", key: secret, message: date)  // kDate
///     chain.next(region); chain.next(service); chain.next(terminator)  // kSigning
///     return chain.withLast { HMACKey(key: $0) }
/// }
/// ```
package struct HMACChain: ~Copyable {
    /// The 64-byte key block, padded with zeros; XORed with the pads in place.
    private var block = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
    private var inner = SHA256()
    private var outer = SHA256()
    /// The last MAC (between the two hashes of a MAC, its inner digest).
    private var last = SHA256Digest()

    private init() {}

    /// Runs `body` with an empty chain (``start(keyPrefix:key:message:)`` makes its first MAC) and
    /// wipes the chain when `body` returns.
    package static func run<R>(_ body: (inout HMACChain) -> R) -> R {
        var chain = HMACChain()
        defer { chain.wipe() }
        return body(&chain)
    }

    /// Tests only: runs `body` on a chain, then `inspect` with the chain's bytes before the wipe and
    /// again after it.
    static func _testOnlyRun(
        _ body: (inout HMACChain) -> Void, inspect: (_ wiped: Bool, UnsafeRawBufferPointer) -> Void
    ) {
        var chain = HMACChain()
        body(&chain)
        Swift.withUnsafeBytes(of: &chain) { inspect(false, $0) }
        chain.wipe()
        Swift.withUnsafeBytes(of: &chain) { inspect(true, $0) }
    }

    private mutating func wipe() {
        Swift.withUnsafeMutableBytes(of: &block) { ConstantTime.cleanse($0) }
        inner.cleanse()
        outer.cleanse()
        last.withUnsafeMutableBytes { ConstantTime.cleanse($0) }
    }

    /// The MAC of `message` under the key `keyPrefix + key` (SigV4: `"AWS4" + secret`), read in
    /// place: a key of at most 64 bytes goes straight into the key block, a longer one is hashed
    /// first (RFC 2104), so the concatenation is never made.
    package mutating func start(
        keyPrefix: StaticString, key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer
    ) {
        let prefix = UnsafeRawBufferPointer(start: keyPrefix.utf8Start, count: keyPrefix.utf8CodeUnitCount)
        let count = prefix.count + key.count
        block = (0, 0, 0, 0, 0, 0, 0, 0)
        if count > 64 {
            inner.reset()
            inner.update(prefix)
            inner.update(key)
            last = inner.finalize()
            block = (last.w0, last.w1, last.w2, last.w3, 0, 0, 0, 0)
        } else {
            Swift.withUnsafeMutableBytes(of: &block) { b in
                if prefix.count > 0 { b.copyMemory(from: prefix) }
                if key.count > 0 { UnsafeMutableRawBufferPointer(rebasing: b[prefix.count...]).copyMemory(from: key) }
            }
        }
        mac(message)
    }

    /// The MAC of `message` under the last MAC (its 32 bytes as the key): one link of the chain.
    package mutating func next(_ message: UnsafeRawBufferPointer) {
        block = (last.w0, last.w1, last.w2, last.w3, 0, 0, 0, 0)
        mac(message)
    }

    /// `body` with the last MAC's 32 bytes (a key: wiped with the chain).
    package mutating func withLast<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        Swift.withUnsafeBytes(of: &last) { body($0) }
    }

    /// A copy of the last MAC, for a value that is not secret (a signature).
    package var lastMAC: SHA256Digest { last }

    /// RFC 2104 over the key block as it stands: inner hash of (key ⊕ ipad) ‖ message, outer hash
    /// of (key ⊕ opad) ‖ inner digest, into ``last``.
    private mutating func mac(_ message: UnsafeRawBufferPointer) {
        inner.reset()
        outer.reset()
        Swift.withUnsafeMutableBytes(of: &block) { b in
            HMACKey.xorPad(b, HMACKey.innerPad)
            inner.update(UnsafeRawBufferPointer(b))
            HMACKey.xorPad(b, HMACKey.innerPad ^ HMACKey.outerPad)
            outer.update(UnsafeRawBufferPointer(b))
        }
        inner.update(message)
        last = inner.finalize()
        Swift.withUnsafeBytes(of: &last) { outer.update($0) }
        last = outer.finalize()
    }
}
