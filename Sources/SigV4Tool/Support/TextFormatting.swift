import Foundation
import SigV4
import SigV4Verifier

/// Small text helpers for CLI output: JSON strings, shell quoting, visible control characters.
///
/// ```swift
/// TextFormatting.json("a\"b")           // "\"a\\\"b\""
/// TextFormatting.shellQuote("it's")     // "'it'\\''s'"
/// TextFormatting.visible("a\tb\u{00A0}") // "a\\tb<U+00A0>"
/// ```
enum TextFormatting {
    /// A JSON string literal (the verifier's quoting: control characters and DEL escaped).
    static func json(_ s: String) -> String { JSONQuoting.quote(s) }

    static func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16, uppercase: false)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// A JSON value written by hand so key order is stable.
    indirect enum JSON {
        case string(String)
        case int(Int)
        case bool(Bool)
        case null
        case array([JSON])
        case object([(String, JSON)])

        /// A string, or `null` when there is none.
        static func optional(_ s: String?) -> JSON { s.map { .string($0) } ?? .null }

        /// On one line, without spaces: `{"a":1,"b":["x"]}`.
        var compact: String {
            switch self {
            case .string(let s): TextFormatting.json(s)
            case .int(let i): String(i)
            case .bool(let b): b ? "true" : "false"
            case .null: "null"
            case .array(let items): "[" + items.map(\.compact).joined(separator: ",") + "]"
            case .object(let fields):
                "{" + fields.map { TextFormatting.json($0.0) + ":" + $0.1.compact }.joined(separator: ",") + "}"
            }
        }

        /// Indented, two spaces per level (arrays of strings stay on one line).
        func render(indent: Int = 0) -> String {
            let pad = String(repeating: "  ", count: indent + 1)
            let close = String(repeating: "  ", count: indent)
            switch self {
            case .string(let s): return TextFormatting.json(s)
            case .int(let i): return String(i)
            case .bool(let b): return b ? "true" : "false"
            case .null: return "null"
            case .array(let items):
                if items.isEmpty { return "[]" }
                if items.allSatisfy({ if case .string = $0 { return true } else { return false } }) {
                    return "[" + items.map { $0.render() }.joined(separator: ", ") + "]"
                }
                return "[\n" + items.map { pad + $0.render(indent: indent + 1) }.joined(separator: ",\n") + "\n"
                    + close + "]"
            case .object(let fields):
                if fields.isEmpty { return "{}" }
                return "{\n"
                    + fields.map { pad + TextFormatting.json($0.0) + ": " + $0.1.render(indent: indent + 1) }
                    .joined(separator: ",\n") + "\n" + close + "}"
            }
        }
    }

    /// Quotes `s` for a POSIX shell: every byte inside single quotes, each `'` written as `'\''`.
    ///
    /// The quotes are found among the UTF-8 bytes, as the shell reads them, never among `Character`s:
    /// a `'` followed by a combining mark (`'\u{301}`) is one grapheme cluster, and a `Character`-level
    /// replace left that quote bare, so the rest of the argument ran as shell code.
    static func shellQuote(_ s: String) -> String {
        if !s.isEmpty,
            s.utf8.allSatisfy({ b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                    || "-_./:=@%+,".utf8.contains(b)
            })
        {
            return s
        }
        var out: [UInt8] = [UInt8(ascii: "'")]
        out.reserveCapacity(s.utf8.count + 2)
        for b in s.utf8 {
            if b == UInt8(ascii: "'") {
                out += Array("'\\''".utf8)
            } else {
                out.append(b)
            }
        }
        out.append(UInt8(ascii: "'"))
        return String(decoding: out, as: UTF8.self)
    }

    /// Where ``text(keepingBytes:)`` puts a byte that is not part of valid UTF-8: byte `b` becomes
    /// the scalar `rawByteBase + b` (plane 16's private use area, U+10FF80...U+10FFFF), which
    /// ``visible(_:)-(Substring)`` shows as `\xNN`.
    static let rawByteBase: UInt32 = 0x10_FF00

    /// `bytes` as text for display, losing nothing: valid UTF-8 decodes as usual, and every byte that
    /// is not part of it (a Latin-1 `é` sent raw, a stray continuation byte) is kept as a stand-in
    /// scalar that ``visible(_:)-(Substring)`` prints as `\xNN`, where `String(decoding:as:)` would print
    /// U+FFFD for any of them. A real character in U+10FF00...U+10FFFF is kept as its four bytes, so
    /// that no stand-in is ambiguous.
    ///
    /// ```swift
    /// TextFormatting.visible(TextFormatting.text(keepingBytes: [0x61, 0xE9, 0x62]))  // "a\\xE9b"
    /// ```
    static func text(keepingBytes bytes: some Collection<UInt8>) -> String {
        var out = String.UnicodeScalarView()
        var source = Array(bytes)[...]
        while let first = source.first {
            // A fresh decoder per scalar: after an error, decoding resumes at the next byte.
            var decoder = UTF8()
            var iterator = source.makeIterator()
            if case .scalarValue(let scalar) = decoder.decode(&iterator), scalar.value < rawByteBase {
                out.append(scalar)
                source = source.dropFirst(UTF8.width(scalar))
                continue
            }
            // Not the start of a valid sequence (or a real character in the stand-ins' range, which is
            // kept as its first byte here and its others in the next rounds).
            out.append(Unicode.Scalar(rawByteBase + UInt32(first))!)
            source = source.dropFirst()
        }
        return String(out)
    }

    /// Makes non-printing characters visible: `\t`, `\r`, `\xNN` for other controls and for bytes
    /// that are not UTF-8 (kept by ``text(keepingBytes:)``), `<U+XXXX>` for invisible Unicode
    /// (no-break and zero-width spaces, BOM), and a trailing space as `\x20`.
    static func visible(_ s: Substring) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u.value {
            case 0x09: out += "\\t"
            case 0x0d: out += "\\r"
            case 0x0a: out += "\\n"
            case 0x00..<0x20, 0x7f: out += "\\x" + String(hex4(u.value).suffix(2)).uppercased()
            case (rawByteBase + 0x80)...(rawByteBase + 0xff):
                out += "\\x" + String(hex4(u.value - rawByteBase).suffix(2)).uppercased()
            case 0x80..<0xa0, 0xa0, 0xad, 0x2000...0x200f, 0x2028...0x202f, 0x205f...0x206f, 0xfeff:
                out += "<U+" + hex4(u.value).uppercased() + ">"
            default: out.unicodeScalars.append(u)
            }
        }
        if out.hasSuffix(" ") { out = String(out.dropLast()) + "\\x20" }
        return out
    }

    static func visible(_ s: String) -> String { visible(s[...]) }

    /// `text`'s lines (split at `\n`, empty ones kept), each made ``visible(_:)-(Substring)``: how
    /// `explain` and `verify --format text` show a canonical request or a string to sign.
    ///
    /// ```swift
    /// TextFormatting.visibleLines("GET\n/a b \n")  // ["GET", "/a b\\x20", ""]
    /// ```
    static func visibleLines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { visible($0) }
    }
}
