import SigV4TestSupport
import Testing

@testable import SigV4

/// `WordCompare` (session 52: the one word-at-a-time shape behind `CanonicalHeaders.equal`, the
/// case-insensitive name compare and the header value's space check) against byte-by-byte rules, at
/// the lengths where its paths meet: 0, 1–3 (first, middle and last byte), 4–7 (two half-words), 8,
/// and past every word boundary up to 33 (the last word overlapping). Every run sits between guard
/// bytes that differ in the two operands, so a lane read outside the run would show as a mismatch.
@Suite("word compares")
struct WordCompareTests {
    static let lengths = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33]

    /// `A`–`Z` as `a`–`z`, every other byte as it is: the rule the case-insensitive compare keeps.
    static func lower(_ b: UInt8) -> UInt8 { (0x41...0x5a).contains(b) ? b | 0x20 : b }

    /// Runs `body` on `a` and `b` placed at odd offsets between 11 guard bytes each (0x00 around
    /// `a`, 0xff around `b`).
    static func placed(_ a: [UInt8], _ b: [UInt8], _ body: (UnsafeRawPointer, UnsafeRawPointer) -> Bool) -> Bool {
        let x = [UInt8](repeating: 0x00, count: 11) + a + [UInt8](repeating: 0x00, count: 11)
        let y = [UInt8](repeating: 0xff, count: 11) + b + [UInt8](repeating: 0xff, count: 11)
        return x.withUnsafeBytes { p in y.withUnsafeBytes { q in body(p.baseAddress! + 11, q.baseAddress! + 11) } }
    }

    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        placed(a, b) { WordCompare.equal($0, $1, count: a.count) }
    }

    static func equalIgnoringCase(_ a: [UInt8], _ lowercase: [UInt8]) -> Bool {
        placed(a, lowercase) { WordCompare.equalIgnoringCase($0, $1, count: a.count) }
    }

    /// A lowercase header name of `n` bytes: letters, digits and `-`.
    static func name(_ n: Int) -> [UInt8] {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)
        return (0..<n).map { alphabet[($0 &* 7 &+ 3) % alphabet.count] }
    }

    @Test("equal: equal runs, and a difference in any byte (the last too) at the edge lengths", arguments: lengths)
    func equalAtEdges(n: Int) {
        let a = Self.name(n)
        #expect(Self.equal(a, a))
        for i in 0..<n {
            for flip: UInt8 in [0x01, 0x20, 0x80] {
                var b = a
                b[i] ^= flip
                #expect(!Self.equal(a, b), "length \(n), byte \(i) ^ \(flip)")
            }
        }
        if n > 0 {
            var b = a
            b[n - 1] = a[n - 1] &+ 1
            #expect(!Self.equal(a, b), "length \(n): the last byte differs")
        }
    }

    @Test("equal is a byte-by-byte compare on random bytes of every length 0-40")
    func equalRandom() {
        var rng = SplitMix64(seed: 5252)
        for n in 0...40 {
            for _ in 0..<300 {
                let a = (0..<n).map { _ in UInt8.random(in: 0...3, using: &rng) &* 0x55 }
                var b = a
                if n > 0 && Bool.random(using: &rng) {
                    b[Int.random(in: 0..<n, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                #expect(Self.equal(a, b) == (a == b), "\(a) \(b)")
            }
        }
    }

    @Test("equalIgnoringCase: any letter case matches, a difference in the last byte does not", arguments: lengths)
    func ignoringCaseAtEdges(n: Int) {
        let lowercase = Self.name(n)
        let upper = lowercase.map { (0x61...0x7a).contains($0) ? $0 & ~0x20 : $0 }
        let mixed = lowercase.enumerated().map { i, b in i % 2 == 0 ? upper[i] : b }
        #expect(Self.equalIgnoringCase(lowercase, lowercase))
        #expect(Self.equalIgnoringCase(upper, lowercase))
        #expect(Self.equalIgnoringCase(mixed, lowercase))
        if n > 0 {
            var last = upper
            last[n - 1] = Self.name(n + 1)[n]  // another name byte
            if last[n - 1] != lowercase[n - 1] {
                #expect(!Self.equalIgnoringCase(last, lowercase), "length \(n): the last byte differs")
            }
            // An uppercase letter in the lowercase operand matches nothing, not even itself.
            if (0x61...0x7a).contains(lowercase[n - 1]) {
                #expect(!Self.equalIgnoringCase(upper, upper), "length \(n): uppercase operand")
            }
        }
    }

    @Test(
        "equalIgnoringCase: every byte value at the first, middle and last byte, against letters",
        arguments: lengths)
    func ignoringCaseEveryByte(n: Int) {
        guard n > 0 else {
            #expect(Self.equalIgnoringCase([], []))
            return
        }
        // A name of letters only, so every position holds a letter the changed byte is held against.
        let lowercase = (0..<n).map { UInt8(0x61 + ($0 * 5) % 26) }
        for i in Set([0, n / 2, n - 1]) {
            for byte in UInt8.min...UInt8.max {
                var a = lowercase
                a[i] = byte
                let expected = Self.lower(byte) == lowercase[i]
                #expect(Self.equalIgnoringCase(a, lowercase) == expected, "length \(n), byte \(i) = \(byte)")
                // Bytes at or above 0x80 (0xc1 is `A` | 0x80, 0xe1 is `a` | 0x80) never match a letter.
                if byte >= 0x80 { #expect(!Self.equalIgnoringCase(a, lowercase), "length \(n), byte \(i) = \(byte)") }
            }
        }
    }

    @Test("the high half of the alphabet never equals a letter case-insensitively")
    func highBytesAgainstLetters() {
        for n in Self.lengths where n > 0 {
            for letter in UInt8(0x61)...UInt8(0x7a) {
                let lowercase = [UInt8](repeating: letter, count: n)
                for high in [letter | 0x80, (letter & ~0x20) | 0x80, letter ^ 0xa0, 0x80, 0xff] {
                    let a = [UInt8](repeating: high, count: n)
                    #expect(!Self.equalIgnoringCase(a, lowercase), "length \(n): \(high) against \(letter)")
                }
            }
        }
    }

    @Test("all sees every byte of the run and nothing outside it", arguments: lengths)
    func allCoversTheRun(n: Int) {
        // The space check: a byte at or below 0x20 anywhere in the run is found; the guard bytes
        // (0x00, which the check would flag) around it are never read.
        let a = [UInt8](repeating: 0x61, count: n)
        #expect(Self.placed(a, a) { p, _ in WordCompare.all(p, p, count: n) { x, _ in !Self.atOrBelowSpace(x) } })
        for i in 0..<n {
            var b = a
            b[i] = 0x20
            #expect(
                !Self.placed(b, b) { p, _ in WordCompare.all(p, p, count: n) { x, _ in !Self.atOrBelowSpace(x) } },
                "length \(n), byte \(i)")
            b.withUnsafeBufferPointer {
                #expect(!CanonicalHeaders.hasNoByteAtOrBelowSpace($0), "length \(n), byte \(i)")
            }
        }
    }

    /// True when a lane of `x` is 0x20 or less (a lane test of its own, not the library's).
    static func atOrBelowSpace(_ x: UInt64) -> Bool {
        (0..<8).contains { (x >> UInt64(8 * $0)) & 0xff <= 0x20 }
    }
}
