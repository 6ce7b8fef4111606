#if canImport(Glibc)
import Glibc
import Testing
@testable import _SigV4Crypto

/// Secret storage is wiped before it is given back to the allocator.
///
/// How: glibc's allocator keeps a freed small block in the thread's cache and overwrites only its first 16
/// bytes (the cache links), so bytes 16..<64 of a freed 64-byte block still hold what was there at `free`. The
/// test reads them right after the release, on the same thread, with no allocation in between. A plain buffer
/// (the control) must still show its pattern there, which proves the method can see leftovers; a `SecureBytes`
/// must show zeros. Reading freed memory is what the address sanitizer forbids, so the test is off under it
/// (Docs/Assurance.md). `HMACKey`'s precomputed states are checked the same way.
@Suite("zeroization")
struct ZeroizationHygieneTests {
    static let underAddressSanitizer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__asan_init") != nil
    static let pattern: UInt8 = 0xA5

    /// Bytes 16..<64 of a block at `address`, read after it was freed.
    @inline(never)
    static func leftovers(_ address: UInt) -> [UInt8] {
        let p = UnsafePointer<UInt8>(bitPattern: address)!
        var out = [UInt8](repeating: 0, count: 48)
        for i in 0..<48 { out[i] = p[16 + i] }
        return out
    }

    @inline(never)
    static func releasedPlainBuffer() -> UInt {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 16)
        buffer.initializeMemory(as: UInt8.self, repeating: pattern)
        let address = UInt(bitPattern: buffer.baseAddress)
        buffer.deallocate()
        return address
    }

    @inline(never)
    static func releasedSecureBytes() -> UInt {
        var address: UInt = 0
        do {
            let secret = SecureBytes([UInt8](repeating: pattern, count: 64))
            secret.withUnsafeBytes { address = UInt(bitPattern: $0.baseAddress) }
        }
        return address
    }

    @Test("SecureBytes storage is zero after release; a plain buffer's is not (control)",
        .enabled(if: !underAddressSanitizer, "reads freed memory, which the address sanitizer forbids"))
    func secureBytesAreWipedOnRelease() {
        let control = Self.leftovers(Self.releasedPlainBuffer())
        #expect(control.allSatisfy { $0 == Self.pattern }, "the allocator must keep leftovers for this check to mean anything")
        for _ in 0..<8 {
            let wiped = Self.leftovers(Self.releasedSecureBytes())
            #expect(wiped.allSatisfy { $0 == 0 }, "\(wiped)")
        }
    }

    /// The address of an `HMACKey` made from a patterned key, after its release.
    @inline(never)
    static func releasedHMACKey() -> UInt {
        var address: UInt = 0
        do {
            let key = HMACKey(key: [UInt8](repeating: Self.pattern, count: 32))
            address = UInt(bitPattern: Unmanaged.passUnretained(key).toOpaque())
            withExtendedLifetime(key) {}
        }
        return address
    }

    @Test("a released HMACKey's precomputed states (derived from the key) are zero",
        .enabled(if: !underAddressSanitizer, "reads freed memory, which the address sanitizer forbids"))
    func hmacKeyStatesAreWipedOnRelease() {
        // The states are two SHA-256 contexts after a block each: their chaining values are not zero
        // unless wiped. Bytes 16..<64 of the object are the first context's chaining value, counters
        // and the start of its block buffer.
        for _ in 0..<8 {
            let wiped = Self.leftovers(Self.releasedHMACKey())
            #expect(wiped.allSatisfy { $0 == 0 }, "\(wiped)")
        }
    }

    @Test("an explicit wipe zeroes SecureBytes in place")
    func explicitWipe() {
        let secret = SecureBytes([UInt8](repeating: Self.pattern, count: 40))
        secret._testOnlyWipeNow()
        secret.withUnsafeBytes { #expect($0.allSatisfy { $0 == 0 }) }
    }
}
#endif
