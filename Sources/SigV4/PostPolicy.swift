/// An S3 POST policy: what a browser-form upload (an HTTP `POST` of `multipart/form-data` to a
/// bucket) may carry, and until when. The form sends the policy as base64 of its JSON text, and
/// that base64 text is what the signing key signs (``Signer/presignPost(bucket:key:expires:fields:conditions:at:)``).
///
/// ```swift
/// let policy = PostPolicy(
///     expiration: try AmzDate(iso8601: "2015-12-30T12:00:00Z"),
///     conditions: [.equals(field: "bucket", value: "photos"),
///                  .startsWith(field: "key", prefix: "user/alice/"),
///                  .contentLengthRange(min: 1, max: 10 << 20)])
/// let text = policy.json          // {"expiration":"2015-12-30T12:00:00.000Z","conditions":[…]}
/// let again = try PostPolicy(json: Array(text.utf8))
/// ```
public struct PostPolicy: Sendable, Hashable {
    /// The policy's end: forms are accepted until this second.
    public var expiration: AmzDate
    /// What each form field must be.
    public var conditions: [Condition]

    /// One condition on the form (S3's names: a field is named without the `$` of the JSON form).
    public enum Condition: Sendable, Hashable {
        /// The field `field` (compared ignoring ASCII case) is exactly `value`:
        /// `{"field": "value"}` or `["eq", "$field", "value"]`.
        case equals(field: String, value: String)
        /// The field's value starts with `prefix` (an empty prefix allows any value):
        /// `["starts-with", "$field", "prefix"]`.
        case startsWith(field: String, prefix: String)
        /// The uploaded file is `min` to `max` bytes long: `["content-length-range", min, max]`.
        case contentLengthRange(min: Int64, max: Int64)

        /// The field the condition names, lowercase (nil for `contentLengthRange`).
        public var fieldName: String? {
            switch self {
            case .equals(let field, _), .startsWith(let field, _): return PresignedPost.fieldName(field)
            case .contentLengthRange: return nil
            }
        }

        /// The condition as S3 prints it in a refusal (`["eq", "$key", "a.txt"]`).
        public var json: String {
            var out = ""
            append(to: &out)
            return out
        }

        func append(to out: inout String) {
            switch self {
            case .equals(let field, let value), .startsWith(let field, let value):
                let op = if case .equals = self { "eq" } else { "starts-with" }
                out += "[\"\(op)\", " + JSONQuoting.quote("$" + field) + ", " + JSONQuoting.quote(value) + "]"
            case .contentLengthRange(let min, let max):
                out += "[\"content-length-range\", \(min), \(max)]"
            }
        }
    }

    /// Creates a policy.
    public init(expiration: AmzDate, conditions: [Condition]) {
        self.expiration = expiration
        self.conditions = conditions
    }

    /// The largest policy text ``init(json:)`` reads (S3 limits a whole form's fields to 20 KB).
    public static let maxJSONBytes = 64 << 10

    /// The JSON document: `{"expiration":"YYYY-MM-DDTHH:MM:SS.000Z","conditions":[…]}`, each
    /// condition in its array form.
    public var json: String {
        var out = "{\"expiration\":\"" + Self.extendedISO8601(expiration) + "\",\"conditions\":["
        for (i, condition) in conditions.enumerated() {
            if i > 0 { out += "," }
            condition.append(to: &out)
        }
        return out + "]}"
    }

    /// Reads a policy document (the decoded `policy` form field). Conditions are accepted in both
    /// S3 forms (`{"acl": "public-read"}`, `["eq", "$acl", "public-read"]`, operators in any case);
    /// `content-length-range` takes integers or integer strings; numbers given as equality values
    /// are compared as their text. Members other than `expiration` and `conditions` are ignored.
    public init(json bytes: some Collection<UInt8>) throws(Malformed) {
        guard bytes.count <= Self.maxJSONBytes else { throw Malformed("the policy is longer than \(Self.maxJSONBytes) bytes") }
        var reader = JSONReader(Array(bytes))
        let document = try reader.document()
        guard case .object(let members) = document else { throw Malformed("the policy is not a JSON object") }
        guard case .string(let expirationText)? = members.last(where: { $0.0 == "expiration" })?.1 else {
            throw Malformed("the policy has no expiration")
        }
        guard Self.isExtendedISO8601(expirationText), let expiration = try? AmzDate(iso8601: expirationText) else {
            throw Malformed("the policy's expiration is not an ISO 8601 time (2015-12-30T12:00:00.000Z)")
        }
        guard case .array(let items)? = members.last(where: { $0.0 == "conditions" })?.1 else {
            throw Malformed("the policy has no conditions array")
        }
        var conditions: [Condition] = []
        for item in items {
            switch item {
            case .object(let pairs):
                for (field, value) in pairs {
                    guard !field.isEmpty else { throw Malformed("a condition names no field") }
                    guard let text = value.scalarText else { throw Malformed("a condition's value is not a string") }
                    conditions.append(.equals(field: field, value: text))
                }
            case .array(let parts):
                guard case .string(let op)? = parts.first else { throw Malformed("a condition has no operator") }
                switch op.lowercased() {
                case "eq", "starts-with":
                    guard parts.count == 3, case .string(let name) = parts[1], name.hasPrefix("$"), name.count > 1,
                        let value = parts[2].scalarText
                    else { throw Malformed("a condition must be [\"\(op)\", \"$field\", \"value\"]") }
                    let field = String(name.dropFirst())
                    conditions.append(
                        op.lowercased() == "eq" ? .equals(field: field, value: value) : .startsWith(field: field, prefix: value))
                case "content-length-range":
                    guard parts.count == 3, let min = parts[1].integer, let max = parts[2].integer, min >= 0, min <= max
                    else { throw Malformed("content-length-range must be two integers, 0 ≤ min ≤ max") }
                    conditions.append(.contentLengthRange(min: min, max: max))
                default:
                    throw Malformed("unknown condition operator '\(op.prefix(40))'")
                }
            default:
                throw Malformed("a condition is neither an object nor an array")
            }
        }
        self.init(expiration: expiration, conditions: conditions)
    }

    /// A policy document that cannot be read.
    public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
        /// Why.
        public var reason: String
        /// Creates the error.
        public init(_ reason: String) { self.reason = reason }
        public var description: String { "Invalid Policy: \(reason)" }
    }

    /// True for `YYYY-MM-DDTHH:MM:SSZ`, with optional fractional seconds before the `Z` (S3's and
    /// botocore's expiration forms); nothing else.
    static func isExtendedISO8601(_ text: String) -> Bool {
        let b = Array(text.utf8)
        func digits(_ r: Range<Int>) -> Bool { r.allSatisfy { (0x30...0x39).contains(b[$0]) } }
        guard b.count >= 20, b.last == UInt8(ascii: "Z"), digits(0..<4), b[4] == 0x2d, digits(5..<7), b[7] == 0x2d,
            digits(8..<10), b[10] == UInt8(ascii: "T"), digits(11..<13), b[13] == 0x3a, digits(14..<16), b[16] == 0x3a,
            digits(17..<19)
        else { return false }
        if b.count == 20 { return true }
        return b[19] == UInt8(ascii: ".") && b.count > 21 && b.count <= 30 && digits(20..<(b.count - 1))
    }

    /// `YYYY-MM-DDTHH:MM:SS.000Z`.
    static func extendedISO8601(_ date: AmzDate) -> String {
        let b = Array(date.iso8601Basic.utf8)  // YYYYMMDDTHHMMSSZ
        let parts: [ArraySlice<UInt8>] = [b[0..<4], [0x2d], b[4..<6], [0x2d], b[6..<8], [0x54], b[9..<11], [0x3a], b[11..<13], [0x3a], b[13..<15]]
        return String(decoding: parts.joined(), as: UTF8.self) + ".000Z"
    }

}

/// A small strict JSON reader for policy documents: objects, arrays, strings (with escapes and
/// surrogate pairs), integers, `true`, `false`, `null`; at most 8 levels deep and 10,000 values.
struct JSONReader {
    indirect enum Value {
        case object([(String, Value)])
        case array([Value])
        case string(String)
        case integer(Int64)
        case other  // a fraction, an exponent, true, false or null: read, never used

        var scalarText: String? {
            switch self {
            case .string(let s): return s
            case .integer(let n): return String(n)
            default: return nil
            }
        }

        var integer: Int64? {
            switch self {
            case .integer(let n): return n
            case .string(let s): return Int64(s)
            default: return nil
            }
        }
    }

    let bytes: [UInt8]
    var i = 0
    var values = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func document() throws(PostPolicy.Malformed) -> Value {
        let value = try self.value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw PostPolicy.Malformed("Invalid JSON: text after the document") }
        return value
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0a || bytes[i] == 0x0d { i += 1 }
    }

    func fail(_ what: String) -> PostPolicy.Malformed { PostPolicy.Malformed("Invalid JSON: \(what) at byte \(i)") }

    mutating func expect(_ b: UInt8) throws(PostPolicy.Malformed) {
        skipSpace()
        guard i < bytes.count, bytes[i] == b else { throw fail("expected '\(Character(Unicode.Scalar(b)))'") }
        i += 1
    }

    mutating func value(depth: Int) throws(PostPolicy.Malformed) -> Value {
        guard depth < 8 else { throw fail("nested too deeply") }
        values += 1
        guard values <= 10_000 else { throw fail("too many values") }
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [(String, Value)] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
                i += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a member name") }
                let name = try string()
                try expect(UInt8(ascii: ":"))
                members.append((name, try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected ',' or '}'") }
                i += 1
                return .object(members)
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [Value] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
                i += 1
                return .array(items)
            }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("unexpected end") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                guard bytes[i] == UInt8(ascii: "]") else { throw fail("expected ',' or ']'") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        default:
            for word in ["true", "false", "null"] where bytes[i...].starts(with: word.utf8) {
                i += word.utf8.count
                return .other
            }
            throw fail("unexpected byte")
        }
    }

    mutating func number() throws(PostPolicy.Malformed) -> Value {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
        guard i > digitsStart else { throw fail("a number without digits") }
        guard bytes[digitsStart] != 0x30 || i - digitsStart == 1 else { throw fail("a number with a leading zero") }
        var integral = true
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            integral = false
            i += 1
            let f = i
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
            guard i > f else { throw fail("a fraction without digits") }
        }
        if i < bytes.count, bytes[i] | 0x20 == UInt8(ascii: "e") {
            integral = false
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            let e = i
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
            guard i > e else { throw fail("an exponent without digits") }
        }
        guard integral else { return .other }
        guard let n = Int64(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw fail("an integer out of range") }
        return .integer(n)
    }

    mutating func string() throws(PostPolicy.Malformed) -> String {
        i += 1  // the opening quote
        var run = i  // start of the bytes copied as they are
        var out: [UInt8] = []
        func flush(_ end: Int) { out.append(contentsOf: bytes[run..<end]) }
        while true {
            guard i < bytes.count else { throw fail("an unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") {
                flush(i)
                i += 1
                break
            }
            guard b >= 0x20 else { throw fail("a control byte in a string") }
            guard b == UInt8(ascii: "\\") else {
                i += 1
                continue
            }
            flush(i)
            i += 1
            guard i < bytes.count else { throw fail("an unterminated escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xd800..<0xdc00).contains(code) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("an unpaired surrogate")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xdc00..<0xe000).contains(low) else { throw fail("an unpaired surrogate") }
                    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("an unpaired surrogate") }
                out.append(contentsOf: String(scalar).utf8)
            default:
                throw fail("an unknown escape")
            }
            run = i
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return text
    }

    mutating func hex4() throws(PostPolicy.Malformed) -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("a short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46, 0x61...0x66: d = UInt32((c | 0x20) - 0x61 + 10)
            default: throw fail("a bad \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }
}
