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

    /// 64 lowercase hex digits → a signature, or nil. AWS compares a signature as the text it
    /// computes, lowercase hex, so one sent in uppercase never verifies there (aws-sdk-js#3322);
    /// refusing it here too keeps a client that passes this verifier from failing at AWS.
    static func signature(_ hex: UnsafeBufferPointer<UInt8>) -> Signature? {
        let raw = UnsafeRawBufferPointer(hex)
        guard hex.count == 64, Hex.isLowercaseHex(raw) else { return nil }
        return SHA256Digest(hexDigits: raw).map { Signature(digest: $0) }
    }
}
