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

    @Test("decodedCount accepts exactly what decode accepts, with its length")
    func decodedCountAgreesWithDecode() {
        var texts = Base64Tests.rfc4648.map { Array($0.1.utf8) }
        texts += ["Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zm9v=", "Zm 9", "====", "Zg==Zg==", "Zm-_"].map { Array($0.utf8) }
        // Every one-byte change of a few encodings (letters, digits, `+/=`, bytes outside the alphabet).
        let alphabetAndMore = Array("AZaz09+/=-_ \n".utf8) + [0x00, 0x7f, 0x80, 0xff]
        for n in [1, 2, 3, 4, 16, 32] {
            let good = Array(Base64.encode((0..<n).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) }).utf8)
            texts.append(good)
            for i in good.indices {
                for b in alphabetAndMore where b != good[i] {
                    var t = good
                    t[i] = b
                    texts.append(t)
                }
            }
        }
        var accepted = 0
        for text in texts {
            let decoded = Base64.decode(bytes: text)
            let count = text.withUnsafeBufferPointer { Base64.decodedCount($0) }
            #expect(count == decoded?.count, "\(text)")
            if decoded != nil { accepted += 1 }
        }
        // Both kinds are in the sample.
        #expect(accepted > 20 && accepted < texts.count - 100)
    }
}
