import Foundation
import Testing
@testable import _SigV4Crypto

/// Known-answer and consistency tests for the trailing-checksum primitives.
@Suite("CRC32, CRC32C, CRC-64/NVME, SHA-1 and SHA-512")
struct ChecksumTests {
    struct KnownAnswer: Sendable, CustomStringConvertible {
        var name: String
        var input: [UInt8]
        var crc32: UInt32
        var crc32c: UInt32
        var sha1: String
        var crc64nvme: UInt64
        var sha512: String
        var description: String { name }
    }

    /// The CRC catalogue check input "123456789" (CRC-64/NVME's catalogue check value is
    /// ae8b14860a799888), RFC 3720 B.4 (iSCSI) CRC32C vectors and FIPS 180 SHA-1 and SHA-512
    /// examples. Every value was also checked against Python's zlib.crc32, awscrt.checksums.crc32c
    /// and .crc64nvme (awscrt 0.38.1), hashlib.sha1 and hashlib.sha512.
    static let knownAnswers: [KnownAnswer] = [
        KnownAnswer(
            name: "empty", input: [], crc32: 0, crc32c: 0, sha1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
            crc64nvme: 0x0000_0000_0000_0000,
            sha512:
                "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"),
        KnownAnswer(
            name: "123456789", input: Array("123456789".utf8), crc32: 0xCBF4_3926, crc32c: 0xE306_9283,
            sha1: "f7c3bc1d808e04732adf679965ccc34ca7ae3441",
            crc64nvme: 0xAE8B_1486_0A79_9888,
            sha512:
                "d9e6762dd1c8eaf6d61b3c6192fc408d4d6d5f1176d0c29169bc24e71c3f274ad27fcd5811b313d681f7e55ec02d73d499c95455b6b5bb503acf574fba8ffe85"),
        KnownAnswer(
            name: "abc", input: Array("abc".utf8), crc32: 0x3524_41C2, crc32c: 0x364B_3FB7,
            sha1: "a9993e364706816aba3e25717850c26c9cd0d89d",
            crc64nvme: 0x05E5_CABB_3FC1_FAEB,
            sha512:
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"),
        KnownAnswer(
            name: "32 zero bytes", input: [UInt8](repeating: 0, count: 32), crc32: 0x190A_55AD, crc32c: 0x8A91_36AA,
            sha1: "de8a847bff8c343d69b853a215e6ee775ef2ef96",
            crc64nvme: 0xCF34_7343_4D4E_CF3B,
            sha512:
                "5046adc1dba838867b2bbbfdd0c3423e58b57970b5267a90f57960924a87f1960a6a85eaa642dac835424b5d7c8d637c00408c7a73da672b7f498521420b6dd3"),
        KnownAnswer(
            name: "32 0xff bytes", input: [UInt8](repeating: 0xff, count: 32), crc32: 0xFF6C_AB0B,
            crc32c: 0x62A8_AB43, sha1: "9e5175008751d08f361488c9927086b276b965fa",
            crc64nvme: 0xA0A0_6974_C34D_63C4,
            sha512:
                "27cd6935864716a79d74dd5fabbd8964304051ca41a31c4659158ebb7c3d0b979b4522968797885508e64703de1cc0593063264b74b588f71b7de0161f21cf29"),
        KnownAnswer(
            name: "bytes 0...31", input: (0..<32).map { UInt8($0) }, crc32: 0x9126_7E8A, crc32c: 0x46DD_794E,
            sha1: "ae5bd8efea5322c4d9986d06680a781392f9a642",
            crc64nvme: 0xB9D9_D4A8_492C_BD7F,
            sha512:
                "3d94eea49c580aef816935762be049559d6d1440dede12e6a125f1841fff8e6fa9d71862a3e5746b571be3d187b0041046f52ebd850c7cbd5fde8ee38473b649"),
        KnownAnswer(
            name: "quick brown fox", input: Array("The quick brown fox jumps over the lazy dog".utf8),
            crc32: 0x414F_A339, crc32c: 0x2262_0404, sha1: "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
            crc64nvme: 0xD76C_5405_4954_C143,
            sha512:
                "07e547d9586f6a73f73fbac0435ed76951218fb7d0c8d788a309d785436bbb642e93a252a954f23912547d1e8a3b5ed6e1bfd7097821233fa0538f3db854fee6"),
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

    @Test("CRC-64/NVME matches known answers", arguments: knownAnswers)
    func crc64nvme(vector: KnownAnswer) {
        #expect(CRC64NVME.checksum(vector.input) == vector.crc64nvme)
    }

    @Test("SHA-512 matches known answers", arguments: knownAnswers)
    func sha512(vector: KnownAnswer) {
        #expect(Hex.encode(SHA512.hash(vector.input)) == vector.sha512)
    }

    @Test("SHA-512 of a million 'a' (FIPS 180-2 long message)")
    func sha512Million() {
        var h = SHA512()
        let block = [UInt8](repeating: 0x61, count: 1000)
        for _ in 0..<1000 { h.update(block) }
        #expect(
            Hex.encode(h.finalize())
                == "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973ebde0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"
        )
    }

    @Test("CRC-64/NVME and SHA-512 of 66560 'a' as S3 sends them (values from awscrt and hashlib)")
    func s3Base64Forms() {
        let data = [UInt8](repeating: 0x61, count: 66_560)
        var c = CRC64NVME()
        c.update(data)
        #expect(Base64.encode(c.bigEndianBytes) == "pRf+emrnL+A=")
        #expect(
            Base64.encode(SHA512.hash(data))
                == "b6Ak3CEJMUvcQgyGW2AIDp8HaZIqtTc+4Ge6dwGka3WvR30eTeYeNUi5ToGWx1+uHCOQGLAHZtKnssRnaX8ZGg==")
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

    @Test(
        "carry-less-multiply and table CRC-64/NVME agree on random data at every alignment",
        arguments: [0, 1, 15, 16, 63, 64, 65, 79, 80, 127, 128, 129, 1000, 4099, 65_539])
    func crc64FoldingAgreesWithTable(length: Int) {
        let data = Self.random(length + 16, seed: UInt64(length) &+ 777)
        for start in 0..<16 {
            data[start..<(start + length)].withUnsafeBytes { raw in
                var folded = CRC64NVME()
                folded.update(raw)
                var table = CRC64NVME()
                table.updateSoftware(raw)
                #expect(folded.checksum == table.checksum, "length \(length) offset \(start)")
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
            #expect(CRC64NVME.isHardwareAccelerated == flags.contains("pclmulqdq"))
        }
    #endif

    @Test("incremental updates equal one-shot results whatever the split points", arguments: [1, 2, 3, 5, 8])
    func incremental(seed: Int) {
        let data = Self.random(50_000, seed: UInt64(seed))
        var crc32 = CRC32()
        var crc32c = CRC32C()
        var sha1 = SHA1()
        var crc64 = CRC64NVME()
        var sha512 = SHA512()
        var offset = 0
        var step = seed
        while offset < data.count {
            let end = min(offset + step, data.count)
            data[offset..<end].withUnsafeBytes { raw in
                crc32.update(raw)
                crc32c.update(raw)
                sha1.update(raw)
                crc64.update(raw)
                sha512.update(raw)
            }
            offset = end
            step = (step * 7 + 13) % 9000
        }
        #expect(crc32.checksum == CRC32.checksum(data))
        #expect(crc32c.checksum == CRC32C.checksum(data))
        #expect(sha1.finalize() == SHA1.hash(data))
        #expect(crc64.checksum == CRC64NVME.checksum(data))
        #expect(sha512.finalize() == SHA512.hash(data))
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
            #expect(CRC64NVME.checksum(data) == bitwise64(data))
            var table64 = CRC64NVME()
            data.withUnsafeBytes { table64.updateSoftware($0) }
            #expect(table64.checksum == bitwise64(data))
            // Every start offset: the slicing loop's unaligned loads and its tail.
            for start in 0..<min(8, length) {
                #expect(CRC64NVME.checksum(Array(data[start...])) == bitwise64(Array(data[start...])))
            }
        }
    }

    /// CRC-64/NVME a bit at a time, from the polynomial alone.
    func bitwise64(_ data: [UInt8]) -> UInt64 {
        var c: UInt64 = ~0
        for b in data {
            c ^= UInt64(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x9A6C_9329_AC4B_C9B5 : c >> 1 }
        }
        return ~c
    }
}
