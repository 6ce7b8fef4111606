import SigV4

/// Parses the RFC 9110 IMF-fixdate form of the HTTP `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`),
/// which SigV4 accepts in place of `X-Amz-Date`.
enum HTTPDate {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func parse(_ raw: [UInt8]) -> AmzDate? {
        // "Sun, 06 Nov 1994 08:49:37 GMT": 29 bytes.
        guard raw.count == 29, raw[3] == 0x2c, raw[4] == 0x20, raw[7] == 0x20, raw[11] == 0x20, raw[16] == 0x20,
            raw[19] == 0x3a, raw[22] == 0x3a, raw[25] == 0x20, raw[26...].elementsEqual("GMT".utf8)
        else { return nil }
        let monthText = String(decoding: raw[8..<11], as: UTF8.self)
        guard let month = months.firstIndex(of: monthText) else { return nil }
        var basic: [UInt8] = []
        basic.reserveCapacity(16)
        basic.append(contentsOf: raw[12..<16])
        let m = month + 1
        basic.append(UInt8(0x30 + m / 10))
        basic.append(UInt8(0x30 + m % 10))
        basic.append(contentsOf: raw[5..<7])
        basic.append(UInt8(ascii: "T"))
        basic.append(contentsOf: raw[17..<19])
        basic.append(contentsOf: raw[20..<22])
        basic.append(contentsOf: raw[23..<25])
        basic.append(UInt8(ascii: "Z"))
        return AmzDate.parse(basic)
    }
}
