import _SigV4Crypto

/// Percent-encoding and path normalization for the canonical URI and query.
///
/// AWS documentation: "Create a canonical request" (`CanonicalURI`,
/// `CanonicalQueryString`): every byte except the unreserved characters
/// `A-Z a-z 0-9 - . _ ~` is written as `%XY` with uppercase hex.
///
/// The input is always the request target exactly as it goes on the wire.
/// "Encode once" keeps an existing well-formed `%XY` escape as it is (S3, and
/// every query string); "double encode" escapes the `%` again (standard
/// services' paths).
public enum URIEncoding {
    /// What a literal `+` in a query string means. See `Docs/Architecture.md`.
    public enum PlusPolicy: Sendable, Hashable {
        /// `+` is a literal plus and is signed as `%2B` (RFC 3986; the default).
        case literal
        /// `+` means a space and is signed as `%20` (HTML form encoding).
        case space
        /// `+` is signed as it is, unescaped (what some hand-written signers do).
        case verbatim
    }

    /// True for `A-Z a-z 0-9 - . _ ~`.
    ///
    /// A bit test on two constant words rather than a chain of range compares: inputs mix digits
    /// and letters unpredictably (hex signatures, dates), which made the compares mispredict.
    @inlinable
    public static func isUnreserved(_ b: UInt8) -> Bool {
        isSet(b, low: unreservedLow, high: unreservedHigh)
    }

    /// The index of the first byte at or after `i` in `t` that is not unreserved (`t.count` when
    /// there is none): sixteen bytes a step (``ByteLanes/notUnreserved16(_:)``) while they all are,
    /// then the target's last 16 bytes, those before `i` (tested already) cleared; byte by byte in a
    /// target of fewer than 16 bytes. Queries are mostly long unreserved runs (names, ids, dates, hex
    /// signatures) between a few `=`, `&` and `%XX`.
    @inline(__always)
    package static func unreservedRunEnd(_ t: UnsafeBufferPointer<UInt8>, from i: Int) -> Int {
        var i = i
        let n = t.count
        if let base = t.baseAddress, n >= 16 {
            while i &+ 16 <= n {
                let marked = ByteLanes.notUnreserved16(base + i)
                if marked != 0 { return i &+ marked.trailingZeroBitCount }
                i &+= 16
            }
            guard i < n else { return n }
            let last = n &- 16
            let marked = ByteLanes.notUnreserved16(base + last) & (~0 &<< UInt32(i &- last))
            return marked != 0 ? last &+ marked.trailingZeroBitCount : n
        }
        while i < n && isUnreserved(t[i]) { i += 1 }
        return i
    }

    /// Bytes 0–63 and 64–127 of the unreserved set: `- . 0-9` and `A-Z _ a-z ~`. The one table of
    /// the set: the 16-byte masks of `lanes.h` (``ByteLanes/notUnreserved16(_:)``) compute it from
    /// ranges instead (a table lookup per lane is what they avoid), and tests hold them to it.
    @usableFromInline static let unreservedLow: UInt64 = 0x03FF_6000_0000_0000
    @usableFromInline static let unreservedHigh: UInt64 = 0x47FF_FFFE_87FF_FFFE
    /// The unreserved set plus `/` (0x2f), for paths.
    @usableFromInline static let pathLow: UInt64 = unreservedLow | (1 << 0x2f)

    /// True when `b` is in the 128-bit set (`low`: bytes 0–63, `high`: 64–127).
    @inlinable @inline(__always)
    static func isSet(_ b: UInt8, low: UInt64, high: UInt64) -> Bool {
        guard b < 128 else { return false }
        let word = b < 64 ? low : high
        return (word >> UInt64(b & 63)) & 1 != 0
    }

    @inlinable
    static func isHex(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x46, 0x61...0x66: return true
        default: return false
        }
    }

    /// Appends `b` as `%XX` (uppercase hex, as SigV4 and RFC 3986 write escapes).
    @inlinable
    package static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        out.append(0x25)
        let hi = b >> 4
        let lo = b & 0x0f
        out.append(hi < 10 ? 0x30 + hi : 0x37 + hi)
        out.append(lo < 10 ? 0x30 + lo : 0x37 + lo)
    }

    /// Appends the encoding of `bytes` to `out`.
    ///
    /// - Parameters:
    ///   - keepSlash: leave `/` as it is (paths).
    ///   - keepEscapes: leave a well-formed `%XY` as it is ("encode once").
    ///   - plus: how to treat `+` (queries only; nil means "encode as `%2B`").
    @inlinable
    public static func append(
        _ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], keepSlash: Bool, keepEscapes: Bool,
        plus: PlusPolicy = .literal
    ) {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if isUnreserved(b) || (keepSlash && b == 0x2f) {
                out.append(b)
            } else if b == 0x25 && keepEscapes && i + 2 < n && isHex(bytes[i + 1]) && isHex(bytes[i + 2]) {
                out.append(0x25)
                out.append(bytes[i + 1])
                out.append(bytes[i + 2])
                i += 2
            } else if b == 0x2b && plus != .literal {
                if plus == .space {
                    out.append(contentsOf: [0x25, 0x32, 0x30])
                } else {
                    out.append(b)
                }
            } else {
                appendEscaped(b, to: &out)
            }
            i += 1
        }
    }

    /// Writes the encoding of `bytes` to `out`, which must have room for `3 * bytes.count` bytes,
    /// and returns the number of bytes written. Same rules as ``append(_:to:keepSlash:keepEscapes:plus:)``.
    static func encode(
        _ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>, keepSlash: Bool, keepEscapes: Bool,
        plus: PlusPolicy = .literal
    ) -> Int {
        var i = 0
        var o = 0
        let n = bytes.count
        let low = keepSlash ? pathLow : unreservedLow
        while i < n {
            let b = bytes[i]
            if isSet(b, low: low, high: unreservedHigh) {
                out[o] = b
                o += 1
            } else if b == 0x25 && keepEscapes && i + 2 < n && isHex(bytes[i + 1]) && isHex(bytes[i + 2]) {
                out[o] = 0x25
                out[o + 1] = bytes[i + 1]
                out[o + 2] = bytes[i + 2]
                o += 3
                i += 2
            } else if b == 0x2b && plus == .verbatim {
                out[o] = b
                o += 1
            } else {
                let e = (b == 0x2b && plus == .space) ? UInt8(0x20) : b
                let hi = e >> 4
                let lo = e & 0x0f
                out[o] = 0x25
                out[o + 1] = hi < 10 ? 0x30 + hi : 0x37 + hi
                out[o + 2] = lo < 10 ? 0x30 + lo : 0x37 + lo
                o += 3
            }
            i += 1
        }
        return o
    }

    /// True when ``normalizePath(_:)-(UnsafeBufferPointer<UInt8>)`` would change `path`: it has an
    /// empty, `.` or `..` segment (a trailing `/` is not an empty segment).
    package static func needsNormalization(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = path.count
        guard n > 0, path[0] == 0x2f else { return true }
        var start = 1
        var i = 1
        while i <= n {
            if i == n || path[i] == 0x2f {
                let len = i - start
                if len == 0 && i < n { return true }
                if len == 1 && path[start] == 0x2e { return true }
                if len == 2 && path[start] == 0x2e && path[start + 1] == 0x2e { return true }
                start = i + 1
            }
            i += 1
        }
        return false
    }

    /// Encodes a string with the AWS rule, keeping nothing but unreserved bytes (and `/` when asked).
    ///
    /// ```swift
    /// URIEncoding.encode("a b/c", keepSlash: false) // "a%20b%2Fc"
    /// ```
    public static func encode(_ string: String, keepSlash: Bool = false) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(string.utf8.count * 3)
        var s = string
        s.withUTF8 { append($0, to: &out, keepSlash: keepSlash, keepEscapes: false) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-decodes `bytes` (well-formed escapes only; others are kept). `+` is left as is.
    public static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> [UInt8] where Bytes.Index == Int {
        bytes.withContiguousStorageIfAvailable { decodedArray($0) }
            ?? Array(bytes).withUnsafeBufferPointer { decodedArray($0) }
    }

    static func decodedArray(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: max(bytes.count, 1)) { out, count in
            count = decode(bytes, into: out.baseAddress!)
        }
    }

    /// Percent-decodes `bytes` into `out`, which must have room for `bytes.count` bytes, and
    /// returns the number of bytes written (the rule of ``decode(_:)``; `out`'s bytes past that
    /// count are left undefined). The bytes up to each `%` are copied a word at a time (a signed
    /// names list such as `host%3Bx-amz-date` is mostly runs between escapes); whatever is left
    /// after the last whole word, one byte at a time.
    package static func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = bytes.baseAddress else { return 0 }
        let count = bytes.count
        let raw = UnsafeRawPointer(base)
        var i = 0
        var n = 0
        while i < count {
            if i &+ 8 <= count {
                // The whole word is stored (`n <= i`, so `out` has room for it); only the bytes
                // before its first `%` count.
                let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                UnsafeMutableRawPointer(out + n).storeBytes(of: x, as: UInt64.self)
                let percent = ByteLanes.equal(UInt64(littleEndian: x), 0x25)
                guard percent != 0 else {
                    i &+= 8
                    n &+= 8
                    continue
                }
                let before = percent.trailingZeroBitCount &>> 3
                i &+= before
                n &+= before
            }
            let b = base[i]
            if b == 0x25, i &+ 2 < count, let hi = hexValue(base[i &+ 1]), let lo = hexValue(base[i &+ 2]) {
                out[n] = hi << 4 | lo
                i &+= 3
            } else {
                out[n] = b
                i &+= 1
            }
            n &+= 1
        }
        return n
    }

    /// The value of one hexadecimal digit (either case), or nil.
    @inlinable
    package static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }

    /// Removes `.` and `..` segments and collapses repeated slashes.
    ///
    /// A trailing slash is kept when the input has one and the result is not
    /// the root. `..` above the root is dropped.
    ///
    /// ```swift
    /// URIEncoding.normalizePath(Array("//a/./b/../c/".utf8)) // "/a/c/"
    /// ```
    public static func normalizePath(_ path: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        // Collect segment ranges.
        var segments: [Range<Int>] = []
        var start = 0
        let n = path.count
        var i = 0
        while i <= n {
            if i == n || path[i] == 0x2f {
                let seg = start..<i
                let len = seg.count
                if len == 0 || (len == 1 && path[seg.lowerBound] == 0x2e) {
                    // skip empty and "."
                } else if len == 2 && path[seg.lowerBound] == 0x2e && path[seg.lowerBound + 1] == 0x2e {
                    if !segments.isEmpty { segments.removeLast() }
                } else {
                    segments.append(seg)
                }
                start = i + 1
            }
            i += 1
        }
        var out: [UInt8] = []
        out.reserveCapacity(n + 1)
        out.append(0x2f)
        for (k, seg) in segments.enumerated() {
            if k > 0 { out.append(0x2f) }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: path[seg]))
        }
        if n > 0, path[n - 1] == 0x2f, !segments.isEmpty { out.append(0x2f) }
        return out
    }

    public static func normalizePath(_ path: [UInt8]) -> [UInt8] {
        path.withUnsafeBufferPointer { normalizePath($0) }
    }
}
