/// Lowercase hexadecimal encoding and decoding without `String(format:)`.
package enum Hex {
    static let digits: (UInt64, UInt64) = (0x3736_3534_3332_3130, 0x6665_6463_6261_3938)  // "0123456789abcdef"

    
    package static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 &+ nibble : 0x57 &+ nibble
    }

    /// Appends the lowercase hex of `bytes` to `buffer`.
    package static func append(_ bytes: UnsafeRawBufferPointer, to buffer: inout [UInt8]) {
        let n = bytes.count * 2
        guard n > 0 else { return }
        if n <= 128 {
            // Encode on the stack, then one bulk append.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n) { tmp in
                write(bytes, to: tmp.baseAddress!)
                buffer.append(contentsOf: UnsafeBufferPointer(tmp))
            }
        } else {
            buffer.reserveCapacity(buffer.count + n)
            for b in bytes {
                buffer.append(digit(b >> 4))
                buffer.append(digit(b & 0x0f))
            }
        }
    }

    /// Writes the lowercase hex of `bytes` at `p` (`2 * bytes.count` bytes).
    package static func write(_ bytes: UnsafeRawBufferPointer, to p: UnsafeMutablePointer<UInt8>) {
        let n = bytes.count
        guard n > 0 else { return }
        let src = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let out = UnsafeMutableRawPointer(p)
        var i = 0
        // Eight input bytes at a time: spread nibbles into 16 lanes, then map 0-9/a-f branch-free.
        while i + 8 <= n {
            let x = UInt64(littleEndian: UnsafeRawPointer(src + i).loadUnaligned(as: UInt64.self))
            out.storeBytes(of: spread(UInt32(truncatingIfNeeded: x)), toByteOffset: 2 * i, as: UInt64.self)
            out.storeBytes(of: spread(UInt32(truncatingIfNeeded: x >> 32)), toByteOffset: 2 * i + 8, as: UInt64.self)
            i += 8
        }
        while i < n {
            let b = src[i]
            p[2 * i] = digit(b >> 4)
            p[2 * i + 1] = digit(b & 0x0f)
            i += 1
        }
    }

    /// Hex of four bytes as eight ASCII digits in memory order (little-endian word).
    @inline(__always)
    static func spread(_ v: UInt32) -> UInt64 {
        // Byte k of v goes to bytes 2k (high nibble) and 2k+1 (low nibble).
        var x = UInt64(v)
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF
        let hi = (x >> 4) & 0x000F_000F_000F_000F
        let lo = (x & 0x000F_000F_000F_000F) << 8
        let nibbles = hi | lo
        // '0' + n, plus 39 more for n > 9 ('a' - '0' - 10).
        let over9 = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        return nibbles &+ 0x3030_3030_3030_3030 &+ over9 &* 39
    }

    /// Lowercase hex string of `bytes`.
    package static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { dst in
            var i = 0
            for b in bytes {
                dst[i] = digit(b >> 4)
                dst[i + 1] = digit(b & 0x0f)
                i += 2
            }
            return i
        }
    }

    package static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        Array(bytes).withUnsafeBytes { encode($0) }
    }

    /// Value of one hex digit, or nil.
    
    package static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c &- 0x30
        case 0x41...0x46: return c &- 0x37
        case 0x61...0x66: return c &- 0x57
        default: return nil
        }
    }

    /// Decodes `hex` (even length, either case) into `out`, which must be exactly half as long.
    package static func decode<Bytes: Collection<UInt8>>(_ hex: Bytes, into out: UnsafeMutableRawBufferPointer) -> Bool
    {
        guard hex.count == out.count * 2 else { return false }
        var i = 0
        var it = hex.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            guard let h = value(hi), let l = value(lo) else { return false }
            out[i] = h << 4 | l
            i += 1
        }
        return true
    }

    /// Decodes `hex` (either case) into `out`, which must be exactly half as long; false on any
    /// byte that is not a hex digit. Sixteen digits at a time, without a branch per digit: the
    /// signatures a verifier reads are 64 digits.
    package static func decode(_ hex: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        decode(hex, into: out, lowercaseOnly: false)
    }

    /// ``decode(_:into:)-(UnsafeRawBufferPointer,_)`` for lowercase digits only (`0-9`, `a-f`):
    /// false on any other byte, `A-F` included. One pass checks and decodes a signature, where
    /// ``isLowercaseHex(_:)`` and then the decoder read it twice.
    ///
    /// ```swift
    /// Hex.decodeLowercase(UnsafeRawBufferPointer(...), into: out)   // "00abff" → true, "00ABFF" → false
    /// ```
    package static func decodeLowercase(
        _ hex: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        decode(hex, into: out, lowercaseOnly: true)
    }

    /// The two decoders' one body (`lowercaseOnly` a constant in each, so each gets its own copy).
    @inline(__always)
    private static func decode(
        _ hex: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, lowercaseOnly: Bool
    ) -> Bool {
        guard hex.count == out.count * 2 else { return false }
        var i = 0
        var bad: UInt64 = 0
        while i + 16 <= hex.count {
            let (a, okA) = nibbles(hex.loadUnaligned(fromByteOffset: i, as: UInt64.self), lowercaseOnly: lowercaseOnly)
            let (b, okB) = nibbles(
                hex.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self), lowercaseOnly: lowercaseOnly)
            bad |= ~(okA & okB) & 0x8080_8080_8080_8080
            out.storeBytes(of: (pack(a) | pack(b) << 32).littleEndian, toByteOffset: i / 2, as: UInt64.self)
            i += 16
        }
        while i < hex.count {
            let (hi, lo) = (hex[i], hex[i + 1])
            if lowercaseOnly && (hi &- 0x41 < 6 || lo &- 0x41 < 6) { return false }
            guard let h = value(hi), let l = value(lo) else { return false }
            out[i / 2] = h << 4 | l
            i += 2
        }
        return bad == 0
    }

    /// Eight ASCII bytes (little-endian word) → their digit values, one per byte, and a mask with
    /// the high bit of each byte set where that byte is a hex digit (`A-F` not one when
    /// `lowercaseOnly`).
    @inline(__always)
    static func nibbles(_ word: UInt64, lowercaseOnly: Bool = false) -> (values: UInt64, valid: UInt64) {
        let x = UInt64(littleEndian: word)
        let low7 = ByteLanes.low7(x)
        let digit = ByteLanes.digits(x)
        let letter = ByteLanes.inRange(lowercaseOnly ? low7 : low7 | 0x2020_2020_2020_2020, 0x61, 0x67)
        // '0'…'9' & 0xf = 0…9; 'a'/'A' & 0xf = 1, plus 9 for a letter.
        let values = (x & 0x0f0f_0f0f_0f0f_0f0f) &+ (letter >> 7) &* 9
        return (values, (digit | letter) & ~x)
    }

    /// True when every byte of `bytes` is `0-9` or `a-f` (lowercase hex, as `x-amz-content-sha256`
    /// carries it): eight bytes at a time, as ``decode(_:into:)`` reads them.
    ///
    /// ```swift
    /// Hex.isLowercaseHex(UnsafeRawBufferPointer(...))   // "e3b0…b855" → true, "E3B0…" → false
    /// ```
    package static func isLowercaseHex(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var ok = ByteLanes.high
        var i = 0
        while i + 8 <= bytes.count {
            let x = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let low7 = ByteLanes.low7(x)
            ok &= ByteLanes.digits(x) | ByteLanes.inRange(low7, 0x61, 0x67) & ~x
            i += 8
        }
        while i < bytes.count {
            let b = bytes[i]
            if !((b &- 0x30) < 10 || (b &- 0x61) < 6) { return false }
            i += 1
        }
        return ok == ByteLanes.high
    }

    /// Eight digit values (byte 2k the high nibble of output byte k) → four bytes in the low word.
    @inline(__always)
    static func pack(_ v: UInt64) -> UInt64 {
        var t = ((v << 4) | (v >> 8)) & 0x00ff_00ff_00ff_00ff
        t = (t | (t >> 8)) & 0x0000_ffff_0000_ffff
        return (t | (t >> 16)) & 0x0000_0000_ffff_ffff
    }

    /// Decodes a hex string into bytes, or nil.
    package static func decode(_ hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: utf8.count / 2)
        let ok = out.withUnsafeMutableBytes { decode(utf8, into: $0) }
        return ok ? out : nil
    }
}
