import HTTPTypes
@testable import HummingbirdSigV4
import SigV4Verifier
import Testing

/// `HeadFraming`, the middleware's one pass over a head's field names, against the lookups by name it
/// replaced (`fields[.contentLength]` read by `ByteParsing.length`, `fields.contains(_:)`).
@Suite("Head framing fields")
struct HeadFramingTests {
    /// Fields near and at the framing names: lengths valid, invalid and past `Int.max`, names one byte
    /// longer or shorter, and other fields.
    static let pool: [(String, String)] = [
        ("Host", "example.com"), ("Content-Length", "36"), ("content-length", "0042"), ("Content-Length", "+5"),
        ("Content-Length", ""), ("Content-Length", "99999999999999999999"), ("Content-Length", "36, 36"),
        ("Transfer-Encoding", "chunked"), ("transfer-encoding", "gzip, chunked"), ("Hosts", "x"), ("Hos", "x"),
        ("Content-Lengths", "1"), ("X-Amz-Date", "20250101T000000Z"), ("Transfer-Encodings", "chunked"),
    ]

    static func lookups(_ fields: HTTPFields) -> (length: Int?, invalid: Bool, transferEncoding: Bool, host: Bool) {
        var length: Int?
        var invalid = false
        if let text = fields[.contentLength] {
            length = ByteParsing.length(text)
            invalid = length == nil
        }
        return (length, invalid, fields.contains(.transferEncoding), fields.contains(HTTPField.Name("Host")!))
    }

    @Test("one pass over the names answers as the lookups by name do, for every list of up to four fields from the pool")
    func onePassMatchesLookups() {
        var seed: UInt64 = 0x5eed_58
        var checked = 0
        for count in 0...4 {
            for _ in 0..<(count == 0 ? 1 : 600) {
                var fields = HTTPFields()
                for _ in 0..<count {
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    let (name, value) = Self.pool[Int(seed >> 33) % Self.pool.count]
                    fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
                }
                let expected = Self.lookups(fields)
                let framing = HeadFraming(fields)
                switch framing.length {
                case .absent: #expect(expected.length == nil && !expected.invalid, "\(fields)")
                case .declared(let n): #expect(expected.length == n, "\(fields)")
                case .invalid: #expect(expected.invalid, "\(fields)")
                }
                #expect(framing.hasTransferEncoding == expected.transferEncoding, "\(fields)")
                #expect(framing.hasHost == expected.host, "\(fields)")
                checked += 1
            }
        }
        #expect(checked == 2_401)
    }
}
