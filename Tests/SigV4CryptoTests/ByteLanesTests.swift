import Testing

@testable import _SigV4Crypto

/// The eight-lane byte tests against their one-byte definitions, on words built from every byte
/// value in every lane (the hex decoder, the lowercase-hex check, the date-stamp check and the
/// verifier's credential scan all rest on them), and the sixteen-lane ones of `lanes.h` (the target
/// scan's path and query), SSE2 and scalar, against theirs.
@Suite("byte lanes")
struct ByteLanesTests {
    /// `answer` as one Bool per lane (lane 0 is the word's lowest byte).
    static func lanes(_ answer: UInt64) -> [Bool] {
        (0..<8).map { answer >> (8 * UInt64($0) + 7) & 1 == 1 }
    }

    @Test("zero, equal, digits, atLeast and inRange mark exactly the lanes their byte definitions pick")
    func lanesMatchTheirDefinitions() {
        var rng = SystemRandomNumberGenerator()
        let ranges: [(UInt64, UInt64)] = [(0x30, 0x3a), (0x61, 0x67), (0x21, 0x7f), (0x00, 0x80), (0x7f, 0x80)]
        for lane in 0..<8 {
            for byte in 0...255 {
                var bytes = (0..<8).map { _ in UInt8.random(in: 0...255, using: &rng) }
                bytes[lane] = UInt8(byte)
                // A zero or equal lane next to the tested one exercises the borrow between lanes.
                if lane > 0 && Bool.random(using: &rng) { bytes[lane - 1] = 0 }
                let x = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                #expect(Self.lanes(ByteLanes.zero(x)) == bytes.map { $0 == 0 })
                #expect(Self.lanes(ByteLanes.equal(x, 0x2f)) == bytes.map { $0 == 0x2f })
                #expect(Self.lanes(ByteLanes.digits(x)) == bytes.map { $0 >= 0x30 && $0 <= 0x39 })
                let low7 = ByteLanes.low7(x)
                for (lower, upper) in ranges {
                    let expected = bytes.map { UInt64($0 & 0x7f) >= lower && UInt64($0 & 0x7f) < upper }
                    #expect(Self.lanes(ByteLanes.inRange(low7, lower, upper)) == expected, "\(lower)..<\(upper) \(bytes)")
                    #expect(Self.lanes(ByteLanes.atLeast(low7, lower)) == bytes.map { UInt64($0 & 0x7f) >= lower })
                }
                #expect(ByteLanes.zero(x) & ~ByteLanes.high == 0)
            }
        }
    }

    /// RFC 3986's unreserved bytes, one comparison at a time.
    static func isUnreserved(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x2e
            || b == 0x5f || b == 0x7e
    }

    /// The mask `notUnreserved16` should give for `bytes` (bit k for byte k: not unreserved).
    static func notUnreservedMask(_ bytes: [UInt8]) -> UInt32 {
        bytes.enumerated().reduce(0) { $0 | (isUnreserved($1.element) ? 0 : 1 << UInt32($1.offset)) }
    }

    /// The mask `equal16` should give for `bytes` and `byte` (bit k for byte k: equal to `byte`).
    static func equalMask(_ bytes: [UInt8], _ byte: UInt8) -> UInt32 {
        bytes.enumerated().reduce(0) { $0 | ($1.element == byte ? 1 << UInt32($1.offset) : 0) }
    }

    /// Every byte value in every lane of 16 (the other lanes random, half of them from the bytes
    /// around the edges of the unreserved set, and `/` and `.`), then 20,000 blocks of edge bytes.
    static func blocks() -> [[UInt8]] {
        var rng = SystemRandomNumberGenerator()
        let edges: [UInt8] = [0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x39, 0x3a, 0x40, 0x41, 0x5a, 0x5b, 0x5e, 0x5f, 0x60, 0x61,
                              0x7a, 0x7b, 0x7d, 0x7e, 0x7f, 0x80, 0xad, 0xae, 0xaf, 0xc1, 0xdf, 0xe1, 0xfe, 0xff, 0x00]
        var inputs: [[UInt8]] = []
        for lane in 0..<16 {
            for byte in 0...255 {
                var bytes = (0..<16).map { _ in
                    Bool.random(using: &rng)
                        ? edges.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                }
                bytes[lane] = UInt8(byte)
                inputs.append(bytes)
            }
        }
        for _ in 0..<20_000 { inputs.append((0..<16).map { _ in edges.randomElement(using: &rng)! }) }
        return inputs
    }

    @Test("notUnreserved16 and its scalar fallback mark exactly the bytes that are not unreserved")
    func notUnreserved16MatchesItsDefinition() {
        for bytes in Self.blocks() {
            bytes.withUnsafeBufferPointer { p in
                let expected = Self.notUnreservedMask(bytes)
                #expect(ByteLanes.notUnreserved16(p.baseAddress!) == expected, "\(bytes)")
                #expect(ByteLanes.notUnreserved16Scalar(p.baseAddress!) == expected, "\(bytes)")
            }
        }
    }

    @Test("equal16 and its scalar fallback mark exactly the bytes equal to the one asked for, for every byte")
    func equal16MatchesItsDefinition() {
        var rng = SystemRandomNumberGenerator()
        var cases: [(UInt8, [UInt8])] = []
        for byte in 0...255 {
            let c = UInt8(byte)
            // `c` in every lane, its neighbours (which a borrow between lanes would mark) around it.
            let near = [c, c &- 1, c &+ 1, c ^ 0x80, c ^ 0x01, 0x00, 0xff]
            for lane in 0..<16 {
                for _ in 0..<4 {
                    var bytes = (0..<16).map { _ in
                        Bool.random(using: &rng)
                            ? near.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                    }
                    bytes[lane] = c
                    cases.append((c, bytes))
                }
            }
        }
        // The path scan's bytes against every block of the unreserved test.
        for bytes in Self.blocks() { cases += [(0x2f, bytes), (0x2e, bytes)] }
        for (byte, bytes) in cases {
            bytes.withUnsafeBufferPointer { p in
                let expected = Self.equalMask(bytes, byte)
                #expect(ByteLanes.equal16(p.baseAddress!, byte) == expected, "\(byte) in \(bytes)")
                #expect(ByteLanes.equal16Scalar(p.baseAddress!, byte) == expected, "\(byte) in \(bytes)")
            }
        }
    }
}
