import SigV4
import _SigV4Crypto

/// Non-generic byte helpers for the hot path. The generic versions in `SigV4` are not
/// specialized across the module boundary and cost a heap allocation per byte.
package enum ByteParsing {
    static func hexValue(_ c: UInt8) -> UInt8? { URIEncoding.hexValue(c) }

    /// A length field's value (`Content-Length`, RFC 9110, section 8.6: `1*DIGIT`) as a number: ASCII
    /// digits only (leading zeros allowed); nil for anything else: empty, a sign (`Int("+5")` is 5,
    /// `Int("-1")` is -1), spaces, a list (`5, 5`, which RFC 9110 lets a recipient take as one value,
    /// but which a forwarder may read otherwise: refused here), or a number past `Int.max`.
    ///
    /// ```swift
    /// ByteParsing.length("0042")  // 42
    /// ByteParsing.length("+5")    // nil
    /// ```
    package static func length(_ text: String) -> Int? {
        var text = text
        return text.withUTF8 { length($0) }
    }

    /// ``length(_:)-(String)`` on the field's bytes.
    package static func length(_ digits: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var n = 0
        for b in digits {
            let d = b &- 0x30
            guard d < 10 else { return nil }
            let (times10, o1) = n.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int(d))
            if o1 || o2 { return nil }
            n = sum
        }
        return n
    }

    /// 64 hex digits (either case) → a signature, or nil.
    static func signature(_ hex: ArraySlice<UInt8>) -> Signature? {
        hex.withUnsafeBufferPointer { signature($0) }
    }

    static func signature(_ hex: [UInt8]) -> Signature? { signature(hex[...]) }

    /// 64 lowercase hex digits → a signature, or nil. AWS compares a signature as the text it
    /// computes, lowercase hex, so one sent in uppercase never verifies there (aws-sdk-js#3322);
    /// refusing it here too keeps a client that passes this verifier from failing at AWS. Checked
    /// and decoded in one pass (``SHA256Digest/init(lowercaseHexDigits:)``).
    static func signature(_ hex: UnsafeBufferPointer<UInt8>) -> Signature? {
        SHA256Digest(lowercaseHexDigits: UnsafeRawBufferPointer(hex)).map { Signature(digest: $0) }
    }
}
