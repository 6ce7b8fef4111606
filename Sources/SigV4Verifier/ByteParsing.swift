import SigV4
import _SigV4Crypto

/// Non-generic byte helpers for the hot path. The generic versions in `SigV4` are not
/// specialized across the module boundary and cost a heap allocation per byte.
enum ByteParsing {
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c &- 0x30
        case 0x41...0x46: return c &- 0x37
        case 0x61...0x66: return c &- 0x57
        default: return nil
        }
    }

    /// 64 hex digits (either case) → a signature, or nil.
    static func signature(_ hex: ArraySlice<UInt8>) -> Signature? {
        guard hex.count == 64 else { return nil }
        var digest = SHA256Digest()
        let ok = digest.withUnsafeMutableBytes { out -> Bool in
            var i = hex.startIndex
            var k = 0
            while k < 32 {
                guard let hi = hexValue(hex[i]), let lo = hexValue(hex[i + 1]) else { return false }
                out[k] = hi << 4 | lo
                i += 2
                k += 1
            }
            return true
        }
        return ok ? Signature(digest: digest) : nil
    }

    static func signature(_ hex: [UInt8]) -> Signature? { signature(hex[...]) }

    /// 64 hex digits (either case) → a signature, or nil.
    static func signature(_ hex: UnsafeBufferPointer<UInt8>) -> Signature? {
        guard hex.count == 64 else { return nil }
        var digest = SHA256Digest()
        let ok = digest.withUnsafeMutableBytes { out -> Bool in
            for k in 0..<32 {
                guard let hi = hexValue(hex[2 * k]), let lo = hexValue(hex[2 * k + 1]) else { return false }
                out[k] = hi << 4 | lo
            }
            return true
        }
        return ok ? Signature(digest: digest) : nil
    }

    /// Percent-decodes well-formed `%XY` escapes; everything else (including `+`) is kept.
    static func percentDecoded(_ s: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = s.startIndex
        while i < s.endIndex {
            let b = s[i]
            if b == 0x25, i + 2 < s.endIndex, let hi = hexValue(s[i + 1]), let lo = hexValue(s[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    /// `YYYYMMDDTHHMMSSZ` → a date, or nil (validates through `AmzDate.parse` on an exact 16-byte array).
    static func amzDate(_ s: [UInt8]) -> AmzDate? {
        guard s.count == 16 else { return nil }
        return AmzDate.parse(s)
    }
}
