package import SigV4

/// The times the CLI's `--timestamp`, `--now`, `--at`, `--not-before` and `--not-after` accept.
///
/// - `20150830T123600Z`, the `X-Amz-Date` form;
/// - ISO 8601 / RFC 3339: `2015-08-30T12:36:00Z`, with a numeric offset (`+01:00`, `-0500`, `+01`)
///   instead of `Z`, `t` or a space for `T`, and the basic form with an offset
///   (`20150830T133600+0100`); a `-0000` offset is read as UTC;
/// - `@<seconds since the epoch>`, as GNU `date -d @1440938160` reads it (a sign allowed).
///
/// Fractional seconds (`.5`, `,123456`) are allowed in each form and dropped: the time is rounded
/// down to the second, as SigV4 has no finer time. Anything else (no zone, a day that does not
/// exist, spaces around it, a year outside 0000–9999) is refused: ``parse(_:)`` returns nil and the
/// command reports a usage error naming ``expected``. Parsed by hand, without a date formatter or the
/// process's time zone.
///
/// ```swift
/// TimestampArgument.parse("2015-08-30T13:36:00+01:00")?.iso8601Basic   // "20150830T123600Z"
/// TimestampArgument.parse("@1440938160")?.iso8601Basic                 // "20150830T123600Z"
/// ```
package enum TimestampArgument {
    /// The accepted forms, for usage errors.
    package static let expected =
        "use 20150830T123600Z, 2015-08-30T12:36:00Z, an ISO 8601 offset such as 2015-08-30T13:36:00+01:00, or @<unix seconds>"

    /// The first and last second with a four-digit year (0000-01-01T00:00:00Z, 9999-12-31T23:59:59Z).
    static let range: ClosedRange<Int64> = -62_167_219_200...253_402_300_799

    /// The time `text` names, or nil when it is none of the accepted forms.
    package static func parse(_ text: String) -> AmzDate? {
        let b = Array(text.utf8)
        guard !b.isEmpty, b.count <= 64 else { return nil }
        let seconds: Int64?
        if b[0] == UInt8(ascii: "@") {
            seconds = epoch(b[1...])
        } else {
            seconds = calendar(b[...])
        }
        guard let seconds, range.contains(seconds) else { return nil }
        return AmzDate(secondsSince1970: seconds)
    }

    /// `[+-]digits[.fraction]`, rounded down.
    static func epoch(_ b: ArraySlice<UInt8>) -> Int64? {
        var s = b
        var negative = false
        if let f = s.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
            negative = f == UInt8(ascii: "-")
            s = s.dropFirst()
        }
        let whole = s.prefix(while: isDigit)
        guard !whole.isEmpty, whole.count <= 12, let value = Int64(String(decoding: whole, as: UTF8.self)) else {
            return nil
        }
        s = s.dropFirst(whole.count)
        var hasFraction = false
        if let f = s.first, f == UInt8(ascii: ".") || f == UInt8(ascii: ",") {
            let digits = s.dropFirst()
            guard !digits.isEmpty, digits.allSatisfy(isDigit) else { return nil }
            hasFraction = digits.contains { $0 != UInt8(ascii: "0") }
            s = []
        }
        guard s.isEmpty else { return nil }
        // Rounded down: -1.5 is -2.
        return negative ? -value - (hasFraction ? 1 : 0) : value
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f](Z|±HH[:MM])` or `YYYYMMDDTHHMMSS[.f](Z|±HH[MM])`.
    static func calendar(_ b: ArraySlice<UInt8>) -> Int64? {
        var s = b
        func number(_ width: Int) -> Int? {
            let digits = s.prefix(width)
            guard digits.count == width, digits.allSatisfy(isDigit) else { return nil }
            s = s.dropFirst(width)
            return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        func skip(_ c: Character) -> Bool {
            guard s.first == c.asciiValue else { return false }
            s = s.dropFirst()
            return true
        }
        // The extended form separates the date's fields with '-', and then the time's with ':'.
        guard let year = number(4) else { return nil }
        let extended = skip("-")
        guard let month = number(2), !extended || skip("-"), let day = number(2) else { return nil }
        guard skip("T") || skip("t") || (extended && skip(" ")) else { return nil }
        guard let hour = number(2), !extended || skip(":"), let minute = number(2), !extended || skip(":"),
            let second = number(2)
        else { return nil }
        if skip(".") || skip(",") {
            let digits = s.prefix(while: isDigit)
            guard !digits.isEmpty else { return nil }
            s = s.dropFirst(digits.count)
        }
        var offset = 0
        if skip("Z") || skip("z") {
            guard s.isEmpty else { return nil }
        } else if let sign = s.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            s = s.dropFirst()
            guard let oh = number(2), oh <= 23 else { return nil }
            var om = 0
            if !s.isEmpty {
                // `+01:00` or `+0100`, in either form (`date +%Y-%m-%dT%H:%M:%S%z` prints the second).
                _ = skip(":")
                guard let m = number(2), m <= 59 else { return nil }
                om = m
            }
            guard s.isEmpty else { return nil }
            offset = (oh * 60 + om) * 60 * (sign == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil  // no zone: a local time is not a time
        }
        guard (1...12).contains(month), day >= 1, day <= AmzDate.daysInMonth(year, month), hour <= 23, minute <= 59,
            second <= 59
        else { return nil }
        let days = Int64(AmzDate.daysFromCivil(year, month, day))
        return days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
}
