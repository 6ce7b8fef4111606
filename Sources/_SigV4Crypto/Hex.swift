internal import CSigV4OpenSSL

/// Lowercase hexadecimal encoding and decoding without `String(format:)`.
package enum Hex {
    /// The lowercase hex digit of `nibble` (0-15).
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

    /// Writes the lowercase hex of `bytes` at `p` (`2 * bytes.count` bytes): sixteen bytes a step
    /// (``encode16(_:to:)``), the last sixteen overlapping the step before when the count is not a
    /// multiple of 16; under sixteen bytes, one byte at a time.
    ///
    /// ```swift
    /// digest.withUnsafeBytes { Hex.write($0, to: out) }   // 64 digits at out
    /// ```
    package static func write(_ bytes: UnsafeRawBufferPointer, to p: UnsafeMutablePointer<UInt8>) {
        let n = bytes.count
        guard n > 0 else { return }
        let src = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard n >= 16 else {
            for i in 0..<n {
                let b = src[i]
                p[2 * i] = digit(b >> 4)
                p[2 * i + 1] = digit(b & 0x0f)
            }
            return
        }
        var i = 0
        while i + 16 <= n {
            encode16(src + i, to: p + 2 * i)
            i += 16
        }
        // The last sixteen bytes again, from n - 16: the digits before i are rewritten unchanged.
        if i < n { encode16(src + (n - 16), to: p + 2 * (n - 16)) }
    }

    /// Writes the lowercase hex of the 16 bytes at `p` (32 digits) at `out`: SSE2 on x86-64, one
    /// byte at a time elsewhere (`lanes.h`).
    ///
    /// ```swift
    /// Hex.encode16(digest, to: out)        // out[0..<32]: the hex of digest[0..<16]
    /// ```
    @inline(__always)
    package static func encode16(_ p: UnsafePointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) {
        CSigV4OpenSSL_hex_encode16(p, out)
    }

    /// ``encode16(_:to:)`` one byte at a time (its fallback where SSE2 is missing), under its own
    /// name so that tests hold the SSE2 one to it on every platform.
    ///
    /// ```swift
    /// Hex.encode16Bytewise(bytes, to: out)   // the same 32 digits as Hex.encode16(bytes, to: out)
    /// ```
    package static func encode16Bytewise(_ p: UnsafePointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) {
        CSigV4OpenSSL_hex_encode16_scalar(p, out)
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
    /// byte that is not a hex digit. Sixteen digits a step with SSE2 (``decode16(_:into:lowercaseOnly:)``):
    /// the signatures a verifier reads are 64 digits.
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

    /// The two decoders' one body (`lowercaseOnly` a constant in each, so each gets its own copy):
    /// sixteen digits a step, the last sixteen overlapping the step before when the count is not a
    /// multiple of 16 (an even count: the overlap starts on a digit pair); under sixteen digits, one
    /// pair at a time.
    @inline(__always)
    private static func decode(
        _ hex: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, lowercaseOnly: Bool
    ) -> Bool {
        let n = hex.count
        guard n == out.count * 2 else { return false }
        guard n >= 16 else {
            var i = 0
            while i < n {
                let (hi, lo) = (hex[i], hex[i + 1])
                if lowercaseOnly && (hi &- 0x41 < 6 || lo &- 0x41 < 6) { return false }
                guard let h = value(hi), let l = value(lo) else { return false }
                out[i / 2] = h << 4 | l
                i += 2
            }
            return true
        }
        let src = hex.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let dst = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var bad: UInt32 = 0
        var i = 0
        while i + 16 <= n {
            bad |= decode16(src + i, into: dst + i / 2, lowercaseOnly: lowercaseOnly)
            i += 16
        }
        if i < n { bad |= decode16(src + (n - 16), into: dst + (n - 16) / 2, lowercaseOnly: lowercaseOnly) }
        return bad == 0
    }

    /// Decodes the 16 hex digits at `p` (`0-9`, `a-f`; `A-F` too unless `lowercaseOnly`) into the
    /// 8 bytes at `out`, and returns the mask of the digits that are not hex (bit k for `p[k]`), 0
    /// when all are; `out` is written either way. SSE2 on x86-64, one digit at a time elsewhere
    /// (`lanes.h`).
    ///
    /// ```swift
    /// let bad = Hex.decode16(hex, into: out, lowercaseOnly: true)   // "0123456789abcdef" → 0
    /// ```
    @inline(__always)
    package static func decode16(
        _ p: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>, lowercaseOnly: Bool
    ) -> UInt32 {
        CSigV4OpenSSL_hex_decode16(p, out, lowercaseOnly ? 1 : 0)
    }

    /// ``decode16(_:into:lowercaseOnly:)`` one digit at a time (its fallback where SSE2 is
    /// missing), under its own name so that tests hold the SSE2 one to it on every platform.
    ///
    /// ```swift
    /// #expect(Hex.decode16(p, into: a, lowercaseOnly: true) == Hex.decode16Bytewise(p, into: b, lowercaseOnly: true))
    /// ```
    package static func decode16Bytewise(
        _ p: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>, lowercaseOnly: Bool
    ) -> UInt32 {
        CSigV4OpenSSL_hex_decode16_scalar(p, out, lowercaseOnly ? 1 : 0)
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

    /// Decodes a hex string into bytes, or nil.
    package static func decode(_ hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: utf8.count / 2)
        let ok = out.withUnsafeMutableBytes { decode(utf8, into: $0) }
        return ok ? out : nil
    }
}
