internal import CSigV4OpenSSL

/// An HMAC-SHA256 key with its inner and outer states precomputed.
///
/// Creating the key absorbs the `ipad` and `opad` blocks once; each MAC then
/// costs only the message blocks plus one outer block. The states live in the
/// object itself (one allocation), are wiped on release, and local copies made
/// during a MAC are wiped before returning.
///
/// ```swift
/// let key = HMACKey(key: Array("key".utf8))
/// let mac = key.authenticationCode(for: Array("message".utf8))
/// ```
package final class HMACKey: @unchecked Sendable {
    /// The states after absorbing the key block XOR `ipad` and XOR `opad`. Stored in the object
    /// (not a second allocation); wiped in `deinit`. Written only by `init` and `deinit`, so
    /// reads need no dynamic exclusivity check.
    @exclusivity(unchecked) private var inner: SHA256
    @exclusivity(unchecked) private var outer: SHA256

    /// Precomputes the states for `key` (any length; keys over 64 bytes are hashed first).
    package init(key: UnsafeRawBufferPointer) {
        var block = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &block) { blockBytes in
            if key.count > 64 {
                var digest = SHA256.hash(key)
                digest.withUnsafeBytes { d in
                    for i in 0..<32 { blockBytes[i] = d[i] }
                }
                digest.withUnsafeMutableBytes { ConstantTime.cleanse($0) }
            } else {
                for i in 0..<key.count { blockBytes[i] = key[i] }
            }
        }
        inner = SHA256()
        outer = SHA256()
        withUnsafeMutableBytes(of: &block) { blockBytes in
            HMACKey.xorPad(blockBytes, HMACKey.innerPad)
            inner.update(UnsafeRawBufferPointer(blockBytes))
            HMACKey.xorPad(blockBytes, HMACKey.innerPad ^ HMACKey.outerPad)
            outer.update(UnsafeRawBufferPointer(blockBytes))
            ConstantTime.cleanse(blockBytes)
        }
    }

    package convenience init<Bytes: ContiguousBytes>(key: Bytes) {
        self.init(key: key.withUnsafeBytes { $0 })
    }

    deinit {
        inner.cleanse()
        outer.cleanse()
    }

    /// Starts an incremental MAC.
    
    package func makeMAC() -> HMAC { HMAC(inner: inner, outer: outer) }

    /// HMAC-SHA256 of `message`.
    
    package func authenticationCode(for message: UnsafeRawBufferPointer) -> SHA256Digest {
        var mac = makeMAC()
        mac.update(message)
        return mac.finalize()
    }

    
    package func authenticationCode<Bytes: ContiguousBytes>(for message: Bytes) -> SHA256Digest {
        message.withUnsafeBytes { authenticationCode(for: $0) }
    }

    package func authenticationCode(for message: String) -> SHA256Digest {
        var m = message
        return m.withUTF8 { authenticationCode(for: UnsafeRawBufferPointer($0)) }
    }

    /// `ipad` and `opad` (RFC 2104) as eight repeated bytes.
    static let innerPad: UInt64 = 0x3636_3636_3636_3636
    static let outerPad: UInt64 = 0x5c5c_5c5c_5c5c_5c5c

    /// XORs the 64-byte key block with `pad`, a word at a time. `block` is the memory of an
    /// eight-`UInt64` tuple (so it is bound to `UInt64`).
    @inline(__always)
    static func xorPad(_ block: UnsafeMutableRawBufferPointer, _ pad: UInt64) {
        let words = block.baseAddress!.assumingMemoryBound(to: UInt64.self)
        for i in 0..<8 { words[i] ^= pad }
    }

    /// One-shot HMAC-SHA256 with a key used once (no precomputation kept): a chain of one MAC
    /// (``HMACChain``), every secret-derived byte on the stack and wiped afterwards.
    package static func authenticationCode(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) -> SHA256Digest
    {
        HMACChain.run { chain in
            chain.start(keyPrefix: "", key: key, message: message)
            return chain.lastMAC
        }
    }
}

/// An HMAC-SHA256 computation in progress.
package struct HMAC: @unchecked Sendable {
    var inner: SHA256
    var outer: SHA256

    init(inner: SHA256, outer: SHA256) {
        self.inner = inner
        self.outer = outer
    }

    
    package mutating func update(_ bytes: UnsafeRawBufferPointer) { inner.update(bytes) }

    
    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) { inner.update(bytes) }

    /// Wipes both states (a MAC kept to be copied, and not finished, must be wiped this way).
    package mutating func cleanse() {
        inner.cleanse()
        outer.cleanse()
    }

    /// Finishes the MAC and wipes the working states.
    package mutating func finalize() -> SHA256Digest {
        var innerDigest = inner.finalize()
        innerDigest.withUnsafeBytes { outer.update($0) }
        let result = outer.finalize()
        innerDigest.withUnsafeMutableBytes { ConstantTime.cleanse($0) }
        cleanse()
        return result
    }
}
