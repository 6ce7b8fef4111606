/// Standard base64 (RFC 4648 §4, `+/` alphabet, `=` padding) without Foundation.
///
/// Decoding is strict: the length must be a multiple of 4, padding only at the end,
/// no whitespace, and the unused bits of the last group must be zero, so every value
/// has exactly one accepted spelling (what a checksum comparison needs).
///
/// ```swift
/// Base64.encode([0xb0, 0xe3, 0xbc, 0xfd]) // "sOO8/Q=="
/// Base64.decode("sOO8/Q==")               // [0xb0, 0xe3, 0xbc, 0xfd]
/// ```
package enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Length of the encoding of `byteCount` bytes.
    package static func encodedLength(of byteCount: Int) -> Int { (byteCount + 2) / 3 * 4 }

    /// Appends the encoding of `bytes` to `out`.
    package static func append(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + encodedLength(of: bytes.count))
        var i = 0
        let n = bytes.count
        while i + 3 <= n {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            out.append(alphabet[Int(v & 63)])
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(bytes[i]) << 16
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(0x3d)
            out.append(0x3d)
        } else if n - i == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out.append(alphabet[Int(v >> 18)])
            out.append(alphabet[Int((v >> 12) & 63)])
            out.append(alphabet[Int((v >> 6) & 63)])
            out.append(0x3d)
        }
    }

    /// The base64 text of `bytes`.
    package static func encode<Bytes: ContiguousBytes>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        bytes.withUnsafeBytes { append($0, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    static func value(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x41...0x5a: return UInt32(c - 0x41)
        case 0x61...0x7a: return UInt32(c - 0x61 + 26)
        case 0x30...0x39: return UInt32(c - 0x30 + 52)
        case 0x2b: return 62
        case 0x2f: return 63
        default: return nil
        }
    }

    /// Decodes canonical base64, or returns nil.
    package static func decode<Text: Collection<UInt8>>(bytes text: Text) -> [UInt8]? {
        let s = Array(text)
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 4 * 3)
        let ok = s.withUnsafeBufferPointer { decode($0) { out.append($0) } }
        return ok ? out : nil
    }

    /// How many bytes canonical base64 `text` decodes to, or nil when it is not canonical base64:
    /// the check ``decode(bytes:)`` makes, without making the bytes (no allocation).
    ///
    /// ```swift
    /// "sOO8/Q==".utf8.withContiguousStorageIfAvailable { Base64.decodedCount($0) }   // 4
    /// ```
    package static func decodedCount(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
        var n = 0
        return decode(text) { _ in n += 1 } ? n : nil
    }

    /// The strict decoding loop: hands each decoded byte to `emit`; false (after emitting part of
    /// the bytes) when `s` is not canonical base64.
    @inline(__always)
    static func decode(_ s: UnsafeBufferPointer<UInt8>, _ emit: (UInt8) -> Void) -> Bool {
        guard s.count % 4 == 0 else { return false }
        var i = 0
        while i < s.count {
            let last = i + 4 == s.count
            let pad = last ? (s[i + 3] == 0x3d ? (s[i + 2] == 0x3d ? 2 : 1) : 0) : 0
            guard let a = value(s[i]), let b = value(s[i + 1]) else { return false }
            var v = a << 18 | b << 12
            if pad == 2 {
                guard b & 0x0f == 0 else { return false }
                emit(UInt8(truncatingIfNeeded: v >> 16))
            } else {
                guard let c = value(s[i + 2]) else { return false }
                v |= c << 6
                if pad == 1 {
                    guard c & 0x03 == 0 else { return false }
                    emit(UInt8(truncatingIfNeeded: v >> 16))
                    emit(UInt8(truncatingIfNeeded: v >> 8))
                } else {
                    guard let d = value(s[i + 3]) else { return false }
                    v |= d
                    emit(UInt8(truncatingIfNeeded: v >> 16))
                    emit(UInt8(truncatingIfNeeded: v >> 8))
                    emit(UInt8(truncatingIfNeeded: v))
                }
            }
            i += 4
        }
        return true
    }

    /// Decodes canonical base64 text, or returns nil.
    package static func decode(_ text: String) -> [UInt8]? { decode(bytes: Array(text.utf8)) }
}
