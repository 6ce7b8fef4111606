import SigV4
import _SigV4Crypto

/// Non-generic byte helpers for the hot path. The generic versions in `SigV4` are not
/// specialized across the module boundary and cost a heap allocation per byte.
enum ByteParsing {
    static func hexValue(_ c: UInt8) -> UInt8? { URIEncoding.hexValue(c) }

    /// 64 hex digits (either case) → a signature, or nil.
    static func signature(_ hex: ArraySlice<UInt8>) -> Signature? {
        hex.withUnsafeBufferPointer { signature($0) }
    }

    static func signature(_ hex: [UInt8]) -> Signature? { signature(hex[...]) }

    /// 64 hex digits (either case) → a signature, or nil.
    static func signature(_ hex: UnsafeBufferPointer<UInt8>) -> Signature? {
        SHA256Digest(hexDigits: UnsafeRawBufferPointer(hex)).map { Signature(digest: $0) }
    }
}
