import Foundation
import SigV4TestSupport
import SigV4
import Testing

/// `JSONQuoting.quote` writes the JSON string literals of error bodies, verdicts, the CLI's JSON and the
/// gateway's identity answer.
@Suite("JSON string quoting")
struct JSONQuotingTests {
    /// Parses a JSON string literal back with Foundation's parser.
    static func parse(_ literal: String) throws -> String? {
        try JSONSerialization.jsonObject(with: Data(literal.utf8), options: .fragmentsAllowed) as? String
    }

    @Test("every control character, DEL, quote and backslash is escaped; the literal parses back to the string")
    func escapes() throws {
        for b in Array(0x00...0x7f) {
            let s = "a" + String(UnicodeScalar(UInt8(b))) + "b"
            let literal = JSONQuoting.quote(s)
            #expect(try Self.parse(literal) == s, "byte \(b): \(literal.debugDescription)")
            let inner = literal.utf8.dropFirst().dropLast()
            #expect(!inner.contains { $0 < 0x20 || $0 == 0x7f }, "byte \(b) left raw")
        }
        // `isPlain` (`quote` copies a plain string between two quotes as it is) holds exactly when
        // quoting changes nothing, for a string and for a substring of one.
        for b in Array(0x00...0x7f) {
            let s = "a" + String(UnicodeScalar(UInt8(b))) + "b"
            let plain = JSONQuoting.quote(s) == "\"" + s + "\""
            #expect(JSONQuoting.isPlain(s[...]) == plain, "byte \(b)")
            #expect(JSONQuoting.isPlain(("/" + s + "?q")[...].dropFirst().dropLast(2)) == plain, "byte \(b), substring")
        }
        #expect(JSONQuoting.quote("say \"hi\"\\\n\t\u{7f}") == #""say \"hi\"\\\n\t\u007f""#)
        #expect(JSONQuoting.quote("AKIDEXAMPLE") == "\"AKIDEXAMPLE\"")
        #expect(JSONQuoting.quote("") == "\"\"")
    }

    @Test("random strings, with multi-byte characters, round-trip through a JSON parser")
    func randomStrings() throws {
        var random = SplitMix64(seed: 0x15_0A)
        let pool: [Character] = ["a", "Z", "0", "/", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1f}", "\u{7f}", "é", "ሴ", "😀", " "]
        for _ in 0..<2_000 {
            let length = Int(random.next() % 24)
            let s = String((0..<length).map { _ in pool[Int(random.next() % UInt64(pool.count))] })
            #expect(try Self.parse(JSONQuoting.quote(s)) == s, "\(s.debugDescription)")
            // The byte writer (the gateway's echo) writes the same literal, plain or not, within its bound.
            var copy = s
            let written = copy.withUTF8 { bytes in
                let bound = JSONQuoting.quotedBound(bytes.count)
                return [UInt8](unsafeUninitializedCapacity: bound) { out, count in
                    count = JSONQuoting.writeQuoted(bytes, to: out.baseAddress!)
                }
            }
            #expect(written == Array(JSONQuoting.quote(s).utf8), "\(s.debugDescription)")
        }
    }
}
