import Testing

import _SigV4Crypto

/// `withBorrowedUTF8` hands out a string's bytes in place (no copy of its storage). Whatever the
/// string's form — empty, held inline (up to 15 bytes), in its own storage, not ASCII, or a slice
/// of any of these — the bytes must be exactly its UTF-8.
@Suite("borrowed UTF-8 bytes")
struct BorrowedUTF8Tests {
    static let texts: [String] = [
        "", "a", "GET", "x-amz-date", "fifteen bytes!!", "sixteen bytes!!!",
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
        "ünïcödé value ✓", String(repeating: "0123456789abcdef", count: 64),
    ]

    @Test("a string's borrowed bytes are its UTF-8, inline or stored")
    func stringBytes() {
        for text in Self.texts {
            let bytes = text.withBorrowedUTF8 { Array($0) }
            #expect(bytes == Array(text.utf8), "\(text.prefix(20))")
        }
    }

    @Test("a slice's borrowed bytes are its own UTF-8, not its base's")
    func substringBytes() {
        for text in Self.texts {
            let utf8 = Array(text.utf8)
            // Every slice on character boundaries of the first 40 characters.
            let indices = Array(text.indices.prefix(40)) + [text.endIndex]
            for (i, lower) in indices.enumerated() {
                for upper in indices[i...] {
                    let slice = text[lower..<upper]
                    let lo = text.utf8.distance(from: text.startIndex, to: lower)
                    let hi = text.utf8.distance(from: text.startIndex, to: upper)
                    #expect(slice.withBorrowedUTF8 { Array($0) } == Array(utf8[lo..<hi]))
                }
            }
        }
    }

    @Test("a string built at run time (its own storage) reads the same as a literal")
    func runtimeString() {
        var built = ""
        for i in 0..<100 { built += String(i) }
        #expect(built.withBorrowedUTF8 { Array($0) } == Array(built.utf8))
        let slice = built.dropFirst(7).dropLast(3)
        #expect(slice.withBorrowedUTF8 { Array($0) } == Array(slice.utf8))
    }

    @Test("a typed error thrown by the body comes out unchanged")
    func typedThrows() {
        struct Refused: Error, Equatable { let byte: UInt8 }
        #expect(throws: Refused(byte: 0x47)) {
            try "GET".withBorrowedUTF8 { (bytes) throws(Refused) -> Int in throw Refused(byte: bytes[0]) }
        }
    }
}
