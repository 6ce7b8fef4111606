internal import CSigV4OpenSSL

/// Lookup tables for a reflected CRC-32, laid out for slicing-by-16.
///
/// Table `k` (entries `k*256 ..< (k+1)*256`) gives the CRC contribution of a byte
/// that is followed by `k` zero bytes. The tables live in one allocation made on
/// first use and kept for the life of the process (16 KiB per polynomial).
package final class CRC32Tables: @unchecked Sendable {
    /// 16 × 256 entries.
    let table: UnsafeMutablePointer<UInt32>

    /// Builds the tables for a reflected polynomial (`0xEDB88320` for IEEE, `0x82F63B78` for Castagnoli).
    package init(reflectedPolynomial poly: UInt32) {
        table = .allocate(capacity: 16 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1 }
            table[i] = c
        }
        for k in 1..<16 {
            for i in 0..<256 {
                let prev = table[(k - 1) * 256 + i]
                table[k * 256 + i] = (prev >> 8) ^ table[Int(prev & 0xff)]
            }
        }
    }

    /// The IEEE 802.3 polynomial (zlib, PNG, `x-amz-checksum-crc32`).
    package static let ieee = CRC32Tables(reflectedPolynomial: 0xEDB8_8320)
    /// The Castagnoli polynomial (iSCSI, `x-amz-checksum-crc32c`).
    package static let castagnoli = CRC32Tables(reflectedPolynomial: 0x82F6_3B78)

    /// Advances a raw CRC register (pre-inverted) over `bytes`, 16 bytes per step.
    @inline(__always)
    package func update(_ register: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return register }
        var n = bytes.count
        var crc = register
        let t = UnsafePointer(table)
        while n >= 16 {
            let a = p.loadUnaligned(as: UInt32.self).littleEndian ^ crc
            let b = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
            let c = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian
            let d = p.loadUnaligned(fromByteOffset: 12, as: UInt32.self).littleEndian
            var x = t[15 * 256 + Int(a & 0xff)] ^ t[14 * 256 + Int((a >> 8) & 0xff)]
            x ^= t[13 * 256 + Int((a >> 16) & 0xff)] ^ t[12 * 256 + Int(a >> 24)]
            x ^= t[11 * 256 + Int(b & 0xff)] ^ t[10 * 256 + Int((b >> 8) & 0xff)]
            x ^= t[9 * 256 + Int((b >> 16) & 0xff)] ^ t[8 * 256 + Int(b >> 24)]
            x ^= t[7 * 256 + Int(c & 0xff)] ^ t[6 * 256 + Int((c >> 8) & 0xff)]
            x ^= t[5 * 256 + Int((c >> 16) & 0xff)] ^ t[4 * 256 + Int(c >> 24)]
            x ^= t[3 * 256 + Int(d & 0xff)] ^ t[2 * 256 + Int((d >> 8) & 0xff)]
            x ^= t[256 + Int((d >> 16) & 0xff)] ^ t[Int(d >> 24)]
            crc = x
            p += 16
            n -= 16
        }
        while n > 0 {
            crc = t[Int((crc ^ UInt32(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
            p += 1
            n -= 1
        }
        return crc
    }
}

/// Incremental CRC-32 (IEEE 802.3, reflected, the zlib/PNG CRC).
///
/// On x86-64 with PCLMULQDQ, inputs of 64 bytes or more are folded with carry-less
/// multiplication, and the last 16 folded bytes and the tail go through the slicing-by-16
/// table; elsewhere the table does everything. Both give the same result.
///
/// ```swift
/// var crc = CRC32()
/// crc.update(Array("123456789".utf8))
/// print(String(crc.checksum, radix: 16)) // cbf43926
/// ```
package struct CRC32: Sendable, Hashable {
    var register: UInt32 = 0xFFFF_FFFF

    /// True when the PCLMULQDQ folding path is used.
    package static let isHardwareAccelerated: Bool = CSigV4OpenSSL_cpu_has_pclmul() != 0

    package init() {}

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard CRC32.isHardwareAccelerated, bytes.count >= 64, let base = bytes.baseAddress else {
            register = CRC32Tables.ieee.update(register, bytes)
            return
        }
        var folded = (UInt64(0), UInt64(0))
        let used = withUnsafeMutableBytes(of: &folded) { out in
            CSigV4OpenSSL_crc32_pclmul_fold(
                register, base.assumingMemoryBound(to: UInt8.self), bytes.count,
                out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard used >= 16 else {
            register = CRC32Tables.ieee.update(register, bytes)
            return
        }
        register = withUnsafeBytes(of: &folded) { CRC32Tables.ieee.update(0, $0) }
        register = CRC32Tables.ieee.update(register, UnsafeRawBufferPointer(rebasing: bytes[used...]))
    }

    /// The table-driven path, whatever the CPU (tests compare it with the folding path).
    package mutating func updateSoftware(_ bytes: UnsafeRawBufferPointer) {
        register = CRC32Tables.ieee.update(register, bytes)
    }

    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC of everything fed so far (the hasher stays usable).
    package var checksum: UInt32 { ~register }

    /// The checksum as 4 big-endian bytes (the form S3 base64-encodes).
    package var bigEndianBytes: [UInt8] { CRC32.bigEndian(checksum) }

    package static func checksum<Bytes: ContiguousBytes>(_ bytes: Bytes) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.checksum
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] {
        [
            UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8),
            UInt8(truncatingIfNeeded: v),
        ]
    }
}

/// Incremental CRC-32C (Castagnoli). Uses the SSE4.2 `crc32` instruction when the CPU has it,
/// and a slicing-by-16 table otherwise; both give the same result.
///
/// ```swift
/// var crc = CRC32C()
/// crc.update(Array("123456789".utf8))
/// print(String(crc.checksum, radix: 16)) // e3069283
/// ```
package struct CRC32C: Sendable, Hashable {
    var register: UInt32 = 0xFFFF_FFFF

    /// True when the SSE4.2 instruction path is used.
    package static let isHardwareAccelerated: Bool = CSigV4OpenSSL_cpu_has_sse42() != 0

    package init() {}

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if CRC32C.isHardwareAccelerated {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            register = CSigV4OpenSSL_crc32c_sse42(register, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        } else {
            register = CRC32Tables.castagnoli.update(register, bytes)
        }
    }

    /// The table-driven path, whatever the CPU (tests compare it with the hardware path).
    package mutating func updateSoftware(_ bytes: UnsafeRawBufferPointer) {
        register = CRC32Tables.castagnoli.update(register, bytes)
    }

    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC of everything fed so far (the hasher stays usable).
    package var checksum: UInt32 { ~register }

    /// The checksum as 4 big-endian bytes (the form S3 base64-encodes).
    package var bigEndianBytes: [UInt8] { CRC32.bigEndian(checksum) }

    package static func checksum<Bytes: ContiguousBytes>(_ bytes: Bytes) -> UInt32 {
        var c = CRC32C()
        c.update(bytes)
        return c.checksum
    }
}
