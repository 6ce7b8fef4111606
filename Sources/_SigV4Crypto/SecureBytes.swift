internal import CSigV4OpenSSL

/// Zeroizing storage for secret material.
///
/// The bytes live in one heap allocation that is wiped (a `memset` the optimizer
/// cannot remove) when the last reference goes away. Equality is constant time and the
/// description never shows the contents.
///
/// ```swift
/// let secret = SecureBytes(Array("wJalr…".utf8))
/// secret.withUnsafeBytes { bytes in /* use */ }
/// ```
package final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible
{
    private let storage: UnsafeMutableRawBufferPointer

    /// Copies `bytes` into wiped-on-release storage.
    package init<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        let count = bytes.count
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        var i = 0
        for b in bytes {
            storage[i] = b
            i += 1
        }
        self.count = count
    }

    /// Allocates `count` bytes and lets `body` fill them.
    package init(count: Int, initializingWith body: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        self.count = count
        do {
            try body(UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]))
        } catch {
            CSigV4OpenSSL_cleanse(storage.baseAddress, storage.count)
            storage.deallocate()
            throw error
        }
    }

    /// Number of secret bytes.
    package let count: Int

    deinit {
        CSigV4OpenSSL_cleanse(storage.baseAddress, storage.count)
        storage.deallocate()
    }

    /// Gives temporary read access to the secret bytes.
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    package static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "SecureBytes(<redacted>, \(count) bytes)" }

    /// Test hook: true when every byte of a released buffer at `address` reads zero is not
    /// observable safely, so tests check `cleanse` on live storage instead.
    package func _testOnlyWipeNow() {
        CSigV4OpenSSL_cleanse(storage.baseAddress, storage.count)
    }
}
