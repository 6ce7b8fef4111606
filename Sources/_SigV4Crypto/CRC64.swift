internal import CSigV4OpenSSL

/// Lookup tables for a reflected CRC-64, laid out for slicing-by-8.
///
/// Table `k` (entries `k*256 ..< (k+1)*256`) gives the CRC contribution of a byte followed by
/// `k` zero bytes, as ``CRC32Tables`` does for CRC-32. One allocation, made on first use and
/// kept for the life of the process (16 KiB).
package final class CRC64Tables: @unchecked Sendable {
    /// 8 × 256 entries.
    let table: UnsafeMutablePointer<UInt64>

    /// Builds the tables for a reflected polynomial (`0x9A6C9329AC4BC9B5` for NVMe).
    package init(reflectedPolynomial poly: UInt64) {
        table = .allocate(capacity: 8 * 256)
        for i in 0..<256 {
            var c = UInt64(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1 }
            table[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let prev = table[(k - 1) * 256 + i]
                table[k * 256 + i] = (prev >> 8) ^ table[Int(prev & 0xff)]
            }
        }
    }

    /// The NVMe polynomial (`0xAD93D23594C93659`, bit-reflected), used by `x-amz-checksum-crc64nvme`.
    package static let nvme = CRC64Tables(reflectedPolynomial: 0x9A6C_9329_AC4B_C9B5)

    /// Advances a raw CRC register (pre-inverted) over `bytes`, 8 bytes per step.
    @inline(__always)
    package func update(_ register: UInt64, _ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return register }
        var n = bytes.count
        var crc = register
        let t = UnsafePointer(table)
        while n >= 8 {
            let a = p.loadUnaligned(as: UInt64.self).littleEndian ^ crc
            var x = t[7 * 256 + Int(a & 0xff)] ^ t[6 * 256 + Int((a >> 8) & 0xff)]
            x ^= t[5 * 256 + Int((a >> 16) & 0xff)] ^ t[4 * 256 + Int((a >> 24) & 0xff)]
            x ^= t[3 * 256 + Int((a >> 32) & 0xff)] ^ t[2 * 256 + Int((a >> 40) & 0xff)]
            x ^= t[256 + Int((a >> 48) & 0xff)] ^ t[Int(a >> 56)]
            crc = x
            p += 8
            n -= 8
        }
        while n > 0 {
            crc = t[Int((crc ^ UInt64(p.load(as: UInt8.self))) & 0xff)] ^ (crc >> 8)
            p += 1
            n -= 1
        }
        return crc
    }
}

/// Incremental CRC-64/NVME (polynomial `0xAD93D23594C93659`, reflected, initial value and final
/// XOR all ones): the CRC of `x-amz-checksum-crc64nvme`, S3's default full-object checksum.
///
/// On x86-64 with PCLMULQDQ, inputs of 64 bytes or more are folded with carry-less
/// multiplication (constants derived and checked by `scripts/crc64-fold-constants.py`), and the
/// last 16 folded bytes and the tail go through the slicing-by-8 table; elsewhere the table does
/// everything. Both give the same result.
///
/// ```swift
/// var crc = CRC64NVME()
/// crc.update(Array("123456789".utf8))
/// print(String(crc.checksum, radix: 16)) // ae8b14860a799888
/// ```
package struct CRC64NVME: Sendable, Hashable {
    var register: UInt64 = ~0

    /// True when the PCLMULQDQ folding path is used.
    package static let isHardwareAccelerated: Bool = CSigV4OpenSSL_cpu_has_pclmul() != 0

    package init() {}

    package mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard CRC64NVME.isHardwareAccelerated, bytes.count >= 64, let base = bytes.baseAddress else {
            register = CRC64Tables.nvme.update(register, bytes)
            return
        }
        var folded = (UInt64(0), UInt64(0))
        let used = withUnsafeMutableBytes(of: &folded) { out in
            CSigV4OpenSSL_crc64_pclmul_fold(
                register, base.assumingMemoryBound(to: UInt8.self), bytes.count,
                out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard used >= 16 else {
            register = CRC64Tables.nvme.update(register, bytes)
            return
        }
        register = withUnsafeBytes(of: &folded) { CRC64Tables.nvme.update(0, $0) }
        register = CRC64Tables.nvme.update(register, UnsafeRawBufferPointer(rebasing: bytes[used...]))
    }

    /// The table-driven path, whatever the CPU (tests compare it with the folding path).
    package mutating func updateSoftware(_ bytes: UnsafeRawBufferPointer) {
        register = CRC64Tables.nvme.update(register, bytes)
    }

    package mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC of everything fed so far (the hasher stays usable).
    package var checksum: UInt64 { ~register }

    /// The checksum as 8 big-endian bytes (the form S3 base64-encodes).
    package var bigEndianBytes: [UInt8] { CRC64NVME.bigEndian(checksum) }

    /// The 8 bytes of `v`, most significant first (how S3 sends a 64-bit checksum; the xxHashes too).
    static func bigEndian(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) }
    }

    package static func checksum<Bytes: ContiguousBytes>(_ bytes: Bytes) -> UInt64 {
        var c = CRC64NVME()
        c.update(bytes)
        return c.checksum
    }
}
