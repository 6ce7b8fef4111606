import _SigV4Crypto

/// A SigV4 timestamp: whole seconds since the Unix epoch, in UTC.
///
/// It formats as `X-Amz-Date` (`20150830T123600Z`) and as the scope date
/// (`20150830`) without Foundation's date formatters.
///
/// ```swift
/// let date = try AmzDate(iso8601Basic: "20150830T123600Z")
/// print(date.iso8601Basic) // 20150830T123600Z
/// print(date.dateStamp)    // 20150830
/// ```
public struct AmzDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64

    /// Creates a date from seconds since the epoch.
    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// Parses `YYYYMMDDTHHMMSSZ` (the `X-Amz-Date` form).
    public init(iso8601Basic text: String) throws(SigV4Error) {
        guard let parsed = AmzDate.parse(Array(text.utf8)) else {
            throw SigV4Error(.invalidDate, "expected YYYYMMDDTHHMMSSZ, got \(text.debugDescription.prefix(40))")
        }
        self = parsed
    }

    /// Parses the `X-Amz-Date` form from raw bytes, or returns nil.
    public static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> AmzDate? where Bytes.Index == Int {
        guard bytes.count == 16 else { return nil }
        return Array(bytes).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    /// Parses ISO 8601 extended form `2015-08-30T12:36:00Z` as well as the basic form.
    ///
    /// Fractional seconds are dropped; the zone after them must be UTC (`Z`, `+00:00`) or absent
    /// (read as UTC). Other offsets are refused, never read as UTC. The `sigv4` CLI reads offsets
    /// and `@<unix seconds>` with its own parser.
    public init(iso8601 text: String) throws(SigV4Error) {
        let stripped = text.filter { $0 != "-" && $0 != ":" }
        var basic = stripped
        if let dot = basic.firstIndex(of: ".") {  // drop fractional seconds, keep the zone after them
            let zone = basic[basic.index(after: dot)...].drop { $0.isASCII && $0.isNumber }
            basic = String(basic[..<dot]) + (zone.isEmpty ? "Z" : String(zone))
        }
        basic = basic.replacingOccurrencesOfPlusZero()
        try self.init(iso8601Basic: basic)
    }

    /// `YYYYMMDDTHHMMSSZ`.
    public var iso8601Basic: String {
        String(unsafeUninitializedCapacity: 16) { buffer in
            writeISO8601Basic(to: buffer.baseAddress!)
            return 16
        }
    }

    /// `YYYYMMDD`, the date in a credential scope.
    public var dateStamp: String {
        String(unsafeUninitializedCapacity: 8) { buffer in
            writeDateStamp(to: buffer.baseAddress!)
            return 8
        }
    }

    /// Writes the 8 bytes of `YYYYMMDD` at `p`.
    func writeDateStamp(to p: UnsafeMutablePointer<UInt8>) {
        let (y, m, d) = AmzDate.civilFromDays(dayNumber)
        AmzDate.writeDigits(y, 4, p)
        AmzDate.writeDigits(m, 2, p + 4)
        AmzDate.writeDigits(d, 2, p + 6)
    }

    /// Writes the 16 bytes of `YYYYMMDDTHHMMSSZ` at `p`.
    package func writeISO8601Basic(to p: UnsafeMutablePointer<UInt8>) {
        writeDateStamp(to: p)
        let secs = Int(secondsSince1970 - dayNumber * 86400)
        p[8] = UInt8(ascii: "T")
        AmzDate.writeDigits(secs / 3600, 2, p + 9)
        AmzDate.writeDigits(secs / 60 % 60, 2, p + 11)
        AmzDate.writeDigits(secs % 60, 2, p + 13)
        p[15] = UInt8(ascii: "Z")
    }

    static func writeDigits(_ value: Int, _ width: Int, _ p: UnsafeMutablePointer<UInt8>) {
        var v = max(value, 0)
        var i = width - 1
        while i >= 0 {
            p[i] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
            v /= 10
            i -= 1
        }
    }

    /// The day number since the epoch (for scope comparisons).
    public var dayNumber: Int64 { secondsSince1970 >= 0 ? secondsSince1970 / 86400 : (secondsSince1970 - 86399) / 86400 }

    /// Appends `YYYYMMDD` to `buffer`.
    public func appendDateStamp(to buffer: inout [UInt8]) {
        var tmp = UInt64(0)
        withUnsafeMutableBytes(of: &tmp) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            writeDateStamp(to: p)
            buffer.append(contentsOf: UnsafeBufferPointer(start: p, count: 8))
        }
    }

    /// Appends `YYYYMMDDTHHMMSSZ` to `buffer`.
    public func appendISO8601Basic(to buffer: inout [UInt8]) {
        AmzDateText(self).withUnsafeBytes { buffer.append(contentsOf: $0) }
    }

    /// This date plus `seconds`.
    public func adding(seconds: Int64) -> AmzDate { AmzDate(secondsSince1970: secondsSince1970 + seconds) }

    public static func < (lhs: AmzDate, rhs: AmzDate) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }

    public var description: String { iso8601Basic }

    // MARK: civil calendar (Howard Hinnant's algorithms)

    static func appendDigits(_ value: Int, _ width: Int, _ buffer: inout [UInt8]) {
        var digits = (UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        var v = max(value, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            for i in stride(from: width - 1, through: 0, by: -1) {
                d[i] = UInt8(v % 10) + 0x30
                v /= 10
            }
            for i in 0..<width { buffer.append(d[i]) }
        }
    }

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    /// Days in month `m` (1–12) of year `y`, proleptic Gregorian.
    package static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return isLeap(y) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    package static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (m + 9) % 12
        let doy = (153 * mp + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ z0: Int64) -> (Int, Int, Int) {
        let z = Int(z0) + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

extension String {
    fileprivate func replacingOccurrencesOfPlusZero() -> String {
        if hasSuffix("+0000") { return String(dropLast(5)) + "Z" }
        return self
    }
}

/// A date formatted once as `YYYYMMDDTHHMMSSZ`, held inline (16 bytes, no allocation): a signature
/// formats its date once and copies these bytes into the `X-Amz-Date` header, the string to sign
/// and, for a context, every later signature in the same second.
///
/// ```swift
/// let text = AmzDateText(date)
/// text.withUnsafeBytes { bytes in /* 16 ASCII bytes */ }
/// ```
struct AmzDateText: Sendable {
    private var words: (UInt64, UInt64) = (0, 0)

    init(_ date: AmzDate) {
        Swift.withUnsafeMutableBytes(of: &words) { raw in
            date.writeISO8601Basic(to: raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// The 16 bytes.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: words) { try body($0) }
    }

    /// Copies the 16 bytes to `p`.
    func write(to p: UnsafeMutablePointer<UInt8>) {
        Swift.withUnsafeBytes(of: words) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: 16) }
    }

    /// The text as a `String`.
    var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// The first 8 bytes, `YYYYMMDD` (a small string: no allocation).
    var dateStamp: String {
        withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[0..<8]), as: UTF8.self) }
    }

    /// True when the date stamp is 8 ASCII digits (a year from 0 to 9999).
    var hasDigitDateStamp: Bool {
        ByteLanes.digits(words.0) == ByteLanes.high
    }
}

extension AmzDate {
    /// Parses `YYYYMMDDTHHMMSSZ` from bytes in place (``parse(_:)`` without its copy): what a
    /// verifier reads from a header value or a query parameter.
    ///
    /// ```swift
    /// let date = value.withUnsafeBufferPointer { AmzDate.parse(bytes: $0) }
    /// ```
    package static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> AmzDate? {
        guard b.count == 16, let base = b.baseAddress else { return nil }
        // Two little-endian words: `YYYYMMDD` and `THHMMSSZ`.
        let raw = UnsafeRawPointer(base)
        let date = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        let time = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        // `T` and `Z` at the ends of the time word, digits between them, and a real day before it.
        guard time & 0xff == 0x54, time >> 56 == 0x5a,
            ByteLanes.digits(time) | 0x8000_0000_0000_0080 == ByteLanes.high,
            let days = civilDayNumber(date)
        else { return nil }
        // `HHMMSS`: the six digits of the time word, after `T`, read as eight with two zeros ahead.
        let hms = eightDigitValue((time & 0x00ff_ffff_ffff_ff00) << 8 | 0x3030)
        let h = Int(hms / 10000), mi = Int(hms / 100 % 100), s = Int(hms % 100)
        guard h < 24, mi < 60, s < 60 else { return nil }
        return AmzDate(secondsSince1970: Int64(days) * 86400 + Int64(h * 3600 + mi * 60 + s))
    }

    /// The day (days since 1970-01-01) that eight ASCII digits `YYYYMMDD` name (a little-endian
    /// word, first digit in the low byte), or nil when they are not all digits or name no day.
    @inline(__always)
    static func civilDayNumber(_ word: UInt64) -> Int? {
        guard ByteLanes.digits(word) == ByteLanes.high else { return nil }
        let ymd = eightDigitValue(word)
        let y = Int(ymd / 10000), m = Int(ymd / 100 % 100), d = Int(ymd % 100)
        guard (1...12).contains(m), d >= 1, d <= daysInMonth(y, m) else { return nil }
        return daysFromCivil(y, m, d)
    }

    /// The number written by eight ASCII digits (a little-endian word, first digit in the low byte):
    /// pairs, then fours, then the eight combined, without a loop.
    @inline(__always)
    static func eightDigitValue(_ x: UInt64) -> UInt64 {
        var v = x & 0x0f0f_0f0f_0f0f_0f0f
        v = (v &* (10 << 8 + 1)) >> 8 & 0x00ff_00ff_00ff_00ff
        v = (v &* (100 << 16 + 1)) >> 16 & 0x0000_ffff_0000_ffff
        return (v &* (10000 << 32 + 1)) >> 32
    }

    /// The day (``dayNumber``) a date stamp names: `stamp` holds eight digits, `YYYYMMDD`, of a
    /// real day; nil otherwise. A date has the stamp exactly when its ``dayNumber`` is this.
    ///
    /// ```swift
    /// AmzDate.dayNumber(ofStamp: UnsafeRawBufferPointer(...))   // "19700102" → 1, "20150230" → nil
    /// ```
    package static func dayNumber(ofStamp stamp: UnsafeRawBufferPointer) -> Int64? {
        guard stamp.count == 8, let day = civilDayNumber(UInt64(littleEndian: stamp.loadUnaligned(as: UInt64.self)))
        else { return nil }
        return Int64(day)
    }
}
