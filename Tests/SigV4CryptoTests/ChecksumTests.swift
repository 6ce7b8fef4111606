import Foundation
import Testing
@testable import _SigV4Crypto

/// Known-answer and consistency tests for the trailing-checksum primitives.
@Suite("CRC32, CRC32C and SHA-1")
struct ChecksumTests {
    struct KnownAnswer: Sendable, CustomStringConvertible {
        var name: String
        var input: [UInt8]
        var crc32: UInt32
        var crc32c: UInt32
        var sha1: String
        var description: String { name }
    }

    /// The CRC catalogue check input "123456789", RFC 3720 B.4 (iSCSI) CRC32C vectors and FIPS 180
    /// SHA-1 examples. Every value was also checked against Python's zlib.crc32, awscrt.checksums.crc32c
    /// and hashlib.sha1.
    static let knownAnswers: [KnownAnswer] = [
        KnownAnswer(name: "empty", input: [], crc32: 0, crc32c: 0, sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        KnownAnswer(
            name: "123456789", input: Array("123456789".utf8), crc32: 0xCBF4_3926, crc32c: 0xE306_9283,
            sha1: "f7c3bc1d808e04732adf679965ccc34ca7ae3441"),
        KnownAnswer(
            name: "abc", input: Array("abc".utf8), crc32: 0x3524_41C2, crc32c: 0x364B_3FB7,
            sha1: "a9993e364706816aba3e25717850c26c9cd0d89d"),
        KnownAnswer(
            name: "32 zero bytes", input: [UInt8](repeating: 0, count: 32), crc32: 0x190A_55AD, crc32c: 0x8A91_36AA,
            sha1: "de8a847bff8c343d69b853a215e6ee775ef2ef96"),
        KnownAnswer(
            name: "32 0xff bytes", input: [UInt8](repeating: 0xff, count: 32), crc32: 0xFF6C_AB0B,
            crc32c: 0x62A8_AB43, sha1: "9e5175008751d08f361488c9927086b276b965fa"),
        KnownAnswer(
            name: "bytes 0...31", input: (0..<32).map { UInt8($0) }, crc32: 0x9126_7E8A, crc32c: 0x46DD_794E,
            sha1: "ae5bd8efea5322c4d9986d06680a781392f9a642"),
        KnownAnswer(
            name: "quick brown fox", input: Array("The quick brown fox jumps over the lazy dog".utf8),
            crc32: 0x414F_A339, crc32c: 0x2262_0404, sha1: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ]

    @Test("CRC32 matches known answers", arguments: knownAnswers)
    func crc32(vector: KnownAnswer) {
        #expect(CRC32.checksum(vector.input) == vector.crc32)
    }

    @Test("CRC32C matches known answers on the selected path and on the table path", arguments: knownAnswers)
    func crc32c(vector: KnownAnswer) {
        #expect(CRC32C.checksum(vector.input) == vector.crc32c)
        var software = CRC32C()
        vector.input.withUnsafeBytes { software.updateSoftware($0) }
        #expect(software.checksum == vector.crc32c)
    }

    @Test("SHA-1 matches known answers", arguments: knownAnswers)
    func sha1(vector: KnownAnswer) {
        #expect(Hex.encode(SHA1.hash(vector.input)) == vector.sha1)
    }

    @Test("SHA-1 of a million 'a' (FIPS 180-2 long message)")
    func sha1Million() {
        var h = SHA1()
        let block = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(block) }
        #expect(Hex.encode(h.finalize()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("S3's CRC32C of 66560 'a' is b0e3bcfd, sent as sOO8/Q==")
    func s3Example() {
        let data = [UInt8](repeating: 0x61, count: 66_560)
        #expect(CRC32C.checksum(data) == 0xB0E3_BCFD)
        var c = CRC32C()
        c.update(data)
        #expect(Base64.encode(c.bigEndianBytes) == "sOO8/Q==")
    }

    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    @Test(
        "hardware and table CRC32C agree on random data at every alignment",
        arguments: [0, 1, 7, 8, 15, 16, 17, 63, 64, 1000, 4099, 65_539])
    func hardwareAgreesWithSoftware(length: Int) {
        let data = Self.random(length + 8, seed: UInt64(length))
        for start in 0..<8 {
            data[start..<(start + length)].withUnsafeBytes { raw in
                var hw = CRC32C()
                hw.update(raw)
                var sw = CRC32C()
                sw.updateSoftware(raw)
                #expect(hw.checksum == sw.checksum)
            }
        }
    }

    @Test(
        "carry-less-multiply and table CRC32 agree on random data at every alignment",
        arguments: [0, 1, 15, 16, 63, 64, 65, 79, 80, 127, 128, 129, 1000, 4099, 65_539])
    func crc32FoldingAgreesWithTable(length: Int) {
        let data = Self.random(length + 16, seed: UInt64(length) &+ 555)
        for start in 0..<16 {
            data[start..<(start + length)].withUnsafeBytes { raw in
                var folded = CRC32()
                folded.update(raw)
                var table = CRC32()
                table.updateSoftware(raw)
                #expect(folded.checksum == table.checksum, "length \(length) offset \(start)")
                // And continuing from a non-initial register.
                folded.update(raw)
                table.updateSoftware(raw)
                #expect(folded.checksum == table.checksum, "length \(length) offset \(start), second pass")
            }
        }
    }

    #if os(Linux) && arch(x86_64)
        @Test("the SSE4.2 and PCLMULQDQ paths are selected exactly when /proc/cpuinfo lists them")
        func hardwareSelection() throws {
            let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
            let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ") ?? []
            #expect(CRC32C.isHardwareAccelerated == flags.contains("sse4_2"))
            #expect(CRC32.isHardwareAccelerated == flags.contains("pclmulqdq"))
        }
    #endif

    @Test("incremental updates equal one-shot results whatever the split points", arguments: [1, 2, 3, 5, 8])
    func incremental(seed: Int) {
        let data = Self.random(50_000, seed: UInt64(seed))
        var crc32 = CRC32()
        var crc32c = CRC32C()
        var sha1 = SHA1()
        var offset = 0
        var step = seed
        while offset < data.count {
            let end = min(offset + step, data.count)
            data[offset..<end].withUnsafeBytes { raw in
                crc32.update(raw)
                crc32c.update(raw)
                sha1.update(raw)
            }
            offset = end
            step = (step * 7 + 13) % 9000
        }
        #expect(crc32.checksum == CRC32.checksum(data))
        #expect(crc32c.checksum == CRC32C.checksum(data))
        #expect(sha1.finalize() == SHA1.hash(data))
    }

    @Test("every CRC path equals a bitwise reference CRC on random data")
    func tablesAgainstBitwise() {
        func bitwise(_ data: [UInt8], _ poly: UInt32) -> UInt32 {
            var c: UInt32 = 0xFFFF_FFFF
            for b in data {
                c ^= UInt32(b)
                for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ poly : c >> 1 }
            }
            return ~c
        }
        for length in [0, 1, 15, 16, 17, 33, 64, 100, 255, 1024, 5000] {
            let data = Self.random(length, seed: UInt64(length) + 1000)
            #expect(CRC32.checksum(data) == bitwise(data, 0xEDB8_8320))
            var table = CRC32()
            data.withUnsafeBytes { table.updateSoftware($0) }
            #expect(table.checksum == bitwise(data, 0xEDB8_8320))
            var sw = CRC32C()
            data.withUnsafeBytes { sw.updateSoftware($0) }
            #expect(sw.checksum == bitwise(data, 0x82F6_3B78))
        }
    }
}
