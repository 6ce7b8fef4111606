import _SigV4Crypto

/// Minimal JSON string quoting (no Foundation).
package enum JSONQuoting {
    /// `s` as a JSON string literal: `"` `\\` and the control characters (DEL included) escaped,
    /// everything else (UTF-8 included) kept as it is.
    ///
    /// Works on the UTF-8 bytes: a string with nothing to escape (the usual case: ids, regions,
    /// paths) is copied between two quotes in one step, any other through ``writeQuoted(_:to:)``.
    package static func quote(_ s: String) -> String {
        if isPlain(s[...]) { return "\"" + s + "\"" }
        var s = s
        return s.withUTF8 { value in
            String(unsafeUninitializedCapacity: quotedBound(value.count)) { out in
                writeQuoted(value, to: out.baseAddress!)
            }
        }
    }

    /// The most bytes ``writeQuoted(_:to:)`` writes for `count` bytes: each may become `\u00XX`.
    package static func quotedBound(_ count: Int) -> Int { 6 * count + 2 }

    /// Writes the JSON string literal of the UTF-8 bytes `value` at `out` (room for
    /// ``quotedBound(_:)`` bytes) and returns how many bytes it wrote.
    package static func writeQuoted(_ value: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        func put(_ b: UInt8) {
            out[n] = b
            n += 1
        }
        put(0x22)
        for b in value {
            guard needsEscape(b) else {
                put(b)
                continue
            }
            put(0x5c)
            switch b {
            case 0x22, 0x5c: put(b)  // \" \\
            case 0x0a: put(0x6e)  // \n
            case 0x0d: put(0x72)  // \r
            case 0x09: put(0x74)  // \t
            default:  // \u00XX
                put(0x75)
                put(0x30)
                put(0x30)
                put(Hex.digit(b >> 4))
                put(Hex.digit(b & 0xf))
            }
        }
        put(0x22)
        return n
    }

    /// True when `s` has nothing JSON needs escaped: its literal is `"` + `s` + `"`.
    package static func isPlain(_ s: Substring) -> Bool { !s.utf8.contains(where: needsEscape) }

    /// True for the bytes JSON needs escaped (of the ones we escape): `"`, `\\`, controls and DEL.
    static func needsEscape(_ b: UInt8) -> Bool { b < 0x20 || b == 0x22 || b == 0x5c || b == 0x7f }
}
