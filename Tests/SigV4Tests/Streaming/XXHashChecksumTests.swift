import Foundation
import SigV4
import SigV4TestSupport
import Testing

/// XXH64, XXH3-64 and XXH3-128 (S3's `XXHASH64`, `XXHASH3`, `XXHASH128` checksums) against the
/// values awscrt (aws-checksums, what botocore uses for them) computes, made by
/// `scripts/gen-awscrt-xxhash-vectors.py`: 326 input lengths covering every XXH3 size class.
@Suite("xxHash checksums against awscrt")
struct XXHashChecksumTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let length: Int
        let values: [TrailingChecksum.Algorithm: String]
        var testDescription: String { "\(length) bytes" }
    }

    static let cases: [Case] = {
        guard let json = try? Vectors.json("awscrt-xxhash/vectors.json"),
            let list = json["cases"] as? [[String: Any]]
        else { return [] }
        return list.map { c in
            Case(
                length: c["length"] as! Int,
                values: [
                    .xxhash64: c["xxhash64"] as! String, .xxhash3: c["xxhash3"] as! String,
                    .xxhash128: c["xxhash128"] as! String,
                ])
        }
    }()

    /// The generator's input: byte i is (i * 131 + 7) % 251.
    static func input(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(($0 * 131 + 7) % 251) } }

    @Test("the vector file is present and covers every size class")
    func vectorsPresent() {
        #expect(Self.cases.count == 326)
        let lengths = Set(Self.cases.map(\.length))
        for n in [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 256, 257, 1024, 1025, 100_003] {
            #expect(lengths.contains(n), "length \(n) missing")
        }
    }

    @Test("one update gives awscrt's value for every length", arguments: [TrailingChecksum.Algorithm.xxhash64, .xxhash3, .xxhash128])
    func oneShot(algorithm: TrailingChecksum.Algorithm) {
        #expect(!Self.cases.isEmpty)
        for c in Self.cases {
            #expect(
                TrailingChecksum.base64(algorithm, of: Self.input(c.length)) == c.values[algorithm],
                "\(algorithm) of \(c.length) bytes")
        }
    }

    @Test("any split into updates gives the same value", arguments: [TrailingChecksum.Algorithm.xxhash64, .xxhash3, .xxhash128])
    func streaming(algorithm: TrailingChecksum.Algorithm) {
        // Pieces around the buffer (32 bytes for XXH64, 256 for XXH3), stripe (64) and block (1024) sizes.
        let patterns: [[Int]] = [[1], [7], [31, 33], [63, 1, 64], [255, 2], [256], [257, 1023], [1000, 24, 1]]
        for c in Self.cases where c.length > 0 && (c.length < 300 || c.length % 7 != 2) {
            let data = Self.input(c.length)
            for pattern in patterns {
                var checksum = TrailingChecksum(algorithm)
                var at = 0
                var k = 0
                while at < data.count {
                    let n = min(pattern[k % pattern.count], data.count - at)
                    checksum.update(data[at..<(at + n)])
                    at += n
                    k += 1
                }
                #expect(checksum.base64 == c.values[algorithm], "\(algorithm), \(c.length) bytes in pieces of \(pattern)")
            }
        }
    }

    @Test("names and sizes as S3 uses them")
    func names() throws {
        #expect(try TrailingChecksum.Algorithm(name: "XXHASH64") == .xxhash64)
        #expect(try TrailingChecksum.Algorithm(name: "x-amz-checksum-xxhash3") == .xxhash3)
        #expect(TrailingChecksum.Algorithm.xxhash128.headerName == "x-amz-checksum-xxhash128")
        #expect(TrailingChecksum.Algorithm.xxhash64.base64Length == 12)
        #expect(TrailingChecksum.Algorithm.xxhash128.base64Length == 24)
        #expect(throws: SigV4Error.self) { try TrailingChecksum.Algorithm(name: "xxhash32") }
    }
}
