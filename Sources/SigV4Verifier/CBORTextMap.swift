/// A CBOR (RFC 8949) map of text keys to text values, in definite-length encoding: the body of an
/// error in the Smithy RPC v2 CBOR protocol (`{"__type": …, "message": …}`), the only CBOR the
/// toolkit writes. Swift strings are always valid UTF-8, so every value is a valid text string.
///
/// ```swift
/// let body = CBORTextMap.encode([("__type", "AccessDenied"), ("message", "Request has expired")])
/// // a2 66 5f5f74797065 6c 416363657373…
/// ```
package enum CBORTextMap {
    /// Major type 3: a text string.
    static let text: UInt8 = 3
    /// Major type 5: a map.
    static let map: UInt8 = 5

    /// The encoding of `pairs` as one map, keys and values in the order given (a reader takes a
    /// repeated key as it likes: callers pass distinct keys).
    package static func encode(_ pairs: [(key: String, value: String)]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pairs.reduce(9) { $0 + $1.key.utf8.count + $1.value.utf8.count + 18 })
        appendHead(map, UInt64(pairs.count), to: &out)
        for (key, value) in pairs {
            appendText(key, to: &out)
            appendText(value, to: &out)
        }
        return out
    }

    /// A text string: its head, then its UTF-8 bytes.
    static func appendText(_ s: String, to out: inout [UInt8]) {
        appendHead(text, UInt64(s.utf8.count), to: &out)
        out.append(contentsOf: s.utf8)
    }

    /// An item's head: the major type in the top three bits and the argument in the shortest form,
    /// in the low five bits below 24, else in the 1, 2, 4 or 8 big-endian bytes that follow
    /// (additional information 24 to 27).
    static func appendHead(_ major: UInt8, _ argument: UInt64, to out: inout [UInt8]) {
        let type = major << 5
        switch argument {
        case 0..<24:
            out.append(type | UInt8(argument))
        case 24...0xFF:
            out.append(type | 24)
            out.append(UInt8(argument))
        case 0x100...0xFFFF:
            out.append(type | 25)
            appendBigEndian(argument, bytes: 2, to: &out)
        case 0x1_0000...0xFFFF_FFFF:
            out.append(type | 26)
            appendBigEndian(argument, bytes: 4, to: &out)
        default:
            out.append(type | 27)
            appendBigEndian(argument, bytes: 8, to: &out)
        }
    }

    static func appendBigEndian(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
