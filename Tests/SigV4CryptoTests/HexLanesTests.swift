import Testing

@testable import _SigV4Crypto

/// The sixteen-at-a-time hex routines of `lanes.h` (SSE2 on x86-64) and their one-at-a-time
/// fallbacks, against per-byte definitions: every byte value in every position of a 64-digit
/// input, and random round trips through `Hex.write` and the decoders.
@Suite("hex lanes")
struct HexLanesTests {
    /// A digit's value by its definition, or nil (`A-F` only when `upper`).
    static func value(_ c: UInt8, upper: Bool) -> UInt8? {
        if c >= 0x30 && c <= 0x39 { return c - 0x30 }
        if c >= 0x61 && c <= 0x66 { return c - 0x61 + 10 }
        if upper && c >= 0x41 && c <= 0x46 { return c - 0x41 + 10 }
        return nil
    }

    /// The lowercase hex of `bytes`, one byte at a time.
    static func hex(_ bytes: [UInt8]) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }
    }

    @Test(
        "decode16, its fallback and the decoders refuse exactly a byte not a digit, any value in any of 64 places",
        arguments: [true, false])
    func decodeMatchesDefinition(lowercaseOnly: Bool) {
        var rng = SystemRandomNumberGenerator()
        let digits = Array((lowercaseOnly ? "0123456789abcdef" : "0123456789abcdefABCDEF").utf8)
        var accepted = 0
        for position in 0..<64 {
            for byte in 0...255 {
                var hex = (0..<64).map { _ in digits.randomElement(using: &rng)! }
                hex[position] = UInt8(byte)
                let values = hex.map { Self.value($0, upper: !lowercaseOnly) }
                let expectedOK = !values.contains(nil)
                let expected = stride(from: 0, to: 64, by: 2).map { (values[$0] ?? 0) << 4 | (values[$0 + 1] ?? 0) }
                // Each 16-digit step, both ways: the mask marks exactly the bytes that are not digits.
                for step in 0..<4 {
                    let expectedMask = (0..<16).reduce(UInt32(0)) {
                        $0 | (values[16 * step + $1] == nil ? 1 << $1 : 0)
                    }
                    var sse = [UInt8](repeating: 0xEE, count: 10)
                    var bytewise = [UInt8](repeating: 0xEE, count: 10)
                    let (maskSSE, maskBytewise) = hex.withUnsafeBufferPointer { h in
                        let p = h.baseAddress! + 16 * step
                        return (
                            sse.withUnsafeMutableBufferPointer {
                                Hex.decode16(p, into: $0.baseAddress! + 1, lowercaseOnly: lowercaseOnly)
                            },
                            bytewise.withUnsafeMutableBufferPointer {
                                Hex.decode16Bytewise(p, into: $0.baseAddress! + 1, lowercaseOnly: lowercaseOnly)
                            }
                        )
                    }
                    #expect(maskSSE == expectedMask, "byte \(byte) at \(position), step \(step)")
                    #expect(maskBytewise == expectedMask, "byte \(byte) at \(position), step \(step)")
                    // Eight bytes written, no more.
                    #expect(sse.first == 0xEE && sse.last == 0xEE && bytewise.first == 0xEE && bytewise.last == 0xEE)
                    if expectedMask == 0 {
                        #expect(Array(sse[1...8]) == Array(expected[(8 * step)..<(8 * step + 8)]))
                        #expect(Array(bytewise[1...8]) == Array(expected[(8 * step)..<(8 * step + 8)]))
                    }
                }
                var out = [UInt8](repeating: 0, count: 32)
                let ok = hex.withUnsafeBytes { h in
                    out.withUnsafeMutableBytes {
                        lowercaseOnly ? Hex.decodeLowercase(h, into: $0) : Hex.decode(h, into: $0)
                    }
                }
                #expect(ok == expectedOK, "byte \(byte) at \(position)")
                if ok && expectedOK {
                    #expect(out == expected, "byte \(byte) at \(position)")
                    accepted += 1
                }
            }
        }
        #expect(accepted == digits.count * 64)
    }

    @Test("encode16 and its bytewise fallback write a per-byte reference's digits for every byte in every position")
    func encode16MatchesDefinition() {
        var rng = SystemRandomNumberGenerator()
        for position in 0..<16 {
            for byte in 0...255 {
                var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
                bytes[position] = UInt8(byte)
                let expected = Self.hex(bytes)
                var sse = [UInt8](repeating: 0xEE, count: 34)
                var bytewise = [UInt8](repeating: 0xEE, count: 34)
                bytes.withUnsafeBufferPointer { b in
                    sse.withUnsafeMutableBufferPointer { Hex.encode16(b.baseAddress!, to: $0.baseAddress! + 1) }
                    bytewise.withUnsafeMutableBufferPointer {
                        Hex.encode16Bytewise(b.baseAddress!, to: $0.baseAddress! + 1)
                    }
                }
                #expect(Array(sse[1...32]) == expected, "byte \(byte) at \(position)")
                #expect(Array(bytewise[1...32]) == expected, "byte \(byte) at \(position)")
                #expect(sse.first == 0xEE && sse.last == 0xEE && bytewise.first == 0xEE && bytewise.last == 0xEE)
            }
        }
    }

    @Test("0 to 80 random bytes round-trip through Hex.write and both decoders (uppercase: the either-case one)")
    func randomRoundTrips() {
        var rng = SystemRandomNumberGenerator()
        for count in 0...80 {
            for _ in 0..<50 {
                let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
                var hex = [UInt8](repeating: 0xEE, count: 2 * count + 2)
                bytes.withUnsafeBytes { b in
                    hex.withUnsafeMutableBufferPointer { Hex.write(b, to: $0.baseAddress! + 1) }
                }
                #expect(hex.first == 0xEE && hex.last == 0xEE)
                hex = Array(hex[1..<(1 + 2 * count)])
                #expect(hex == Self.hex(bytes), "\(count) bytes")
                var lower = [UInt8](repeating: 0, count: count)
                var either = [UInt8](repeating: 0, count: count)
                #expect(hex.withUnsafeBytes { h in lower.withUnsafeMutableBytes { Hex.decodeLowercase(h, into: $0) } })
                #expect(hex.withUnsafeBytes { h in either.withUnsafeMutableBytes { Hex.decode(h, into: $0) } })
                #expect(lower == bytes && either == bytes, "\(count) bytes")
                // Uppercase: the either-case decoder reads it; the lowercase one refuses it when it has a letter.
                let upper = hex.map { $0 >= 0x61 ? $0 - 0x20 : $0 }
                var fromUpper = [UInt8](repeating: 0, count: count)
                #expect(upper.withUnsafeBytes { h in fromUpper.withUnsafeMutableBytes { Hex.decode(h, into: $0) } })
                #expect(fromUpper == bytes)
                let lowerOK = upper.withUnsafeBytes { h in
                    lower.withUnsafeMutableBytes { Hex.decodeLowercase(h, into: $0) }
                }
                #expect(lowerOK == (upper == hex), "\(count) bytes")
                // A length that is not twice the output's is refused.
                if count > 0 {
                    var short = [UInt8](repeating: 0, count: count - 1)
                    #expect(!hex.withUnsafeBytes { h in
                        short.withUnsafeMutableBytes { Hex.decodeLowercase(h, into: $0) }
                    })
                }
            }
        }
    }
}
