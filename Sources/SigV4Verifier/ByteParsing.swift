import SigV4
import _SigV4Crypto

/// Non-generic byte helpers for the hot path. The generic versions in `SigV4` are not
/// specialized across the module boundary and cost a heap allocation per byte.
enum ByteParsing {
    static func hexValue(_ c: UInt8) -> UInt8? { URIEncoding.hexValue(c) }

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
}
