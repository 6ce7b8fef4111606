import Testing
@testable import _SigV4Crypto

@Suite("Base64")
struct Base64Tests {
    /// RFC 4648 §10 test vectors.
    static let rfc4648: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    @Test("encodes and decodes the RFC 4648 vectors", arguments: rfc4648)
    func rfcVectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("round-trips every length up to 300")
    func roundTrip() {
        for n in 0...300 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ n) }
            let text = Base64.encode(bytes)
            #expect(text.utf8.count == Base64.encodedLength(of: n))
            #expect(Base64.decode(text) == bytes)
        }
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
        #expect(Base64.decode("+/+/") == [0xfb, 0xff, 0xbf])
    }

    @Test(
        "rejects non-canonical or malformed text",
        arguments: ["Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm9v=", "Zm 9", "Zm9v\n", "====", "Zg==Zg==", "Zm-_", "é==="])
    func rejects(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
