import SigV4

/// What a request claims about its signature, from the `Authorization` header or the
/// presigned query parameters. Syntax only: nothing here is trusted yet.
struct ClaimedAuthorization: Sendable {
    var accessKeyID: String
    var dateStamp: String
    var region: String
    var service: String
    var terminator: String
    var signedHeaders: [String]
    var signature: Signature
    /// Presigned only.
    var presign: Presign?

    struct Presign: Sendable {
        var date: AmzDate
        var expires: Int
        var sessionToken: String?
        /// Every query parameter, as `name=value` byte ranges of the query, in order.
        var parameters: [QueryParameter]
    }
}

/// One `name[=value]` element of a query string, as ranges into the query bytes.
struct QueryParameter: Sendable {
    var whole: Range<Int>
    var name: Range<Int>
    var value: Range<Int>?

    /// Splits a query on `&` (empty elements are dropped).
    static func split(_ q: ArraySlice<UInt8>) -> [QueryParameter] {
        var out: [QueryParameter] = []
        var start = q.startIndex
        var i = q.startIndex
        while i <= q.endIndex {
            if i == q.endIndex || q[i] == 0x26 {
                if i > start {
                    var eq = start
                    while eq < i && q[eq] != 0x3d { eq += 1 }
                    out.append(
                        QueryParameter(whole: start..<i, name: start..<eq, value: eq < i ? (eq + 1)..<i : nil))
                }
                start = i + 1
            }
            i += 1
        }
        return out
    }
}

enum AuthorizationParser {
    static let algorithm = Array(StringToSign.algorithm.utf8)
    static let maxSignedHeaders = 128

    static func malformed(_ message: String) -> VerificationFailure {
        VerificationFailure(.authorizationHeaderMalformed, "The authorization header is malformed; \(message)")
    }

    static func queryError(_ message: String) -> VerificationFailure {
        VerificationFailure(.authorizationQueryParametersError, message)
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var lo = s.startIndex
        var hi = s.endIndex
        while lo < hi, isSpace(s[lo]) { lo += 1 }
        while hi > lo, isSpace(s[hi - 1]) { hi -= 1 }
        return s[lo..<hi]
    }

    // MARK: Authorization header

    /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    ///
    /// The three components may come in any order, separated by `,` with optional spaces or
    /// tabs around each component and around `=` (SDKs emit `, `; the AWS docs print `,`).
    /// Each must appear exactly once; nothing else may appear.
    static func parseHeader(_ raw: [UInt8]) throws(VerificationFailure) -> ClaimedAuthorization {
        let value = trimmed(raw[...])
        guard value.count > algorithm.count, value.starts(with: algorithm), isSpace(value[value.startIndex + algorithm.count])
        else {
            if let sp = value.firstIndex(where: isSpace) ?? Optional(value.endIndex), sp > value.startIndex {
                let scheme = String(decoding: value[value.startIndex..<sp].prefix(40), as: UTF8.self)
                throw malformed("unsupported algorithm \"\(scheme)\"; expecting \"AWS4-HMAC-SHA256\"")
            }
            throw malformed("expecting \"AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…\"")
        }
        let rest = value[(value.startIndex + algorithm.count)...]
        var credential: ArraySlice<UInt8>?
        var signedHeaders: ArraySlice<UInt8>?
        var signature: ArraySlice<UInt8>?
        for component in rest.split(separator: 0x2c, omittingEmptySubsequences: false) {
            let part = trimmed(component)
            guard let eq = part.firstIndex(of: 0x3d) else {
                throw malformed(part.isEmpty ? "empty component" : "a component has no '='")
            }
            let name = trimmed(part[part.startIndex..<eq])
            let v = trimmed(part[(eq + 1)...])
            if name.elementsEqual("Credential".utf8) {
                guard credential == nil else { throw malformed("Credential appears more than once") }
                credential = v
            } else if name.elementsEqual("SignedHeaders".utf8) {
                guard signedHeaders == nil else { throw malformed("SignedHeaders appears more than once") }
                signedHeaders = v
            } else if name.elementsEqual("Signature".utf8) {
                guard signature == nil else { throw malformed("Signature appears more than once") }
                signature = v
            } else {
                throw malformed("unknown component \"\(String(decoding: name.prefix(40), as: UTF8.self))\"")
            }
        }
        guard let credential else { throw malformed("missing Credential") }
        guard let signedHeaders else { throw malformed("missing SignedHeaders") }
        guard let signature else { throw malformed("missing Signature") }
        let scope = try parseCredential(credential, fail: malformed)
        let names = try parseSignedHeaders(signedHeaders, fail: malformed)
        guard let sig = ByteParsing.signature(signature) else {
            throw malformed("the Signature must be 64 hexadecimal digits")
        }
        return ClaimedAuthorization(
            accessKeyID: scope.0, dateStamp: scope.1, region: scope.2, service: scope.3, terminator: scope.4,
            signedHeaders: names, signature: sig, presign: nil)
    }

    /// `AKID/YYYYMMDD/region/service/aws4_request` → its five parts (terminator not yet checked).
    static func parseCredential(
        _ v: ArraySlice<UInt8>, fail: (String) -> VerificationFailure
    ) throws(VerificationFailure) -> (String, String, String, String, String) {
        guard v.count <= 512 else { throw fail("the Credential is too long") }
        let parts = v.split(separator: 0x2f, omittingEmptySubsequences: false)
        guard parts.count == 5 else {
            throw fail("the Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request")
        }
        for p in parts {
            guard !p.isEmpty, p.count <= 128, p.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x2c && $0 != 0x3b })
            else {
                throw fail("the Credential has an empty or invalid component")
            }
        }
        guard parts[1].count == 8, parts[1].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw fail("the Credential date must be YYYYMMDD")
        }
        let s = parts.map { String(decoding: $0, as: UTF8.self) }
        return (s[0], s[1], s[2], s[3], s[4])
    }

    /// `a;b;c` → names; lowercase tokens, strictly ascending, no repeats.
    static func parseSignedHeaders(
        _ v: ArraySlice<UInt8>, fail: (String) -> VerificationFailure
    ) throws(VerificationFailure) -> [String] {
        guard !v.isEmpty else { throw fail("SignedHeaders is empty") }
        var names: [String] = []
        var previous: ArraySlice<UInt8>? = nil
        for name in v.split(separator: 0x3b, omittingEmptySubsequences: false) {
            guard !name.isEmpty, name.allSatisfy(isLowerToken) else {
                throw fail("SignedHeaders must be lowercase header names separated by ';'")
            }
            if let previous, !previous.lexicographicallyPrecedes(name) {
                throw fail("SignedHeaders must be sorted and must not repeat a name")
            }
            previous = name
            names.append(String(decoding: name, as: UTF8.self))
            guard names.count <= maxSignedHeaders else { throw fail("too many SignedHeaders") }
        }
        return names
    }

    static func isLowerToken(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x61...0x7a: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    // MARK: Presigned query

    static let presignNames: [String] = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
        "X-Amz-Signature", "X-Amz-Security-Token",
    ]

    /// True when the query carries any presign parameter (exact spelling).
    static func looksPresigned(_ query: ArraySlice<UInt8>) -> Bool {
        guard !query.isEmpty else { return false }
        for p in QueryParameter.split(query) {
            let name = query[p.name]
            if name.count >= 10, name.starts(with: "X-Amz-".utf8),
                name.elementsEqual("X-Amz-Algorithm".utf8) || name.elementsEqual("X-Amz-Credential".utf8)
                    || name.elementsEqual("X-Amz-Signature".utf8)
            {
                return true
            }
        }
        return false
    }

    /// Parses and validates the presign parameters of `query`.
    static func parseQuery(_ query: ArraySlice<UInt8>) throws(VerificationFailure) -> ClaimedAuthorization {
        let parameters = QueryParameter.split(query)
        var found = [ArraySlice<UInt8>?](repeating: nil, count: presignNames.count)
        for p in parameters {
            let name = query[p.name]
            guard name.count >= 10, name.starts(with: "X-Amz-".utf8) else { continue }
            for (k, known) in presignNames.enumerated() where name.elementsEqual(known.utf8) {
                guard found[k] == nil else { throw queryError("\(known) appears more than once") }
                found[k] = p.value.map { query[$0] } ?? []
            }
        }
        func decoded(_ k: Int) throws(VerificationFailure) -> [UInt8] {
            guard let raw = found[k] else {
                throw queryError(
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
                )
            }
            return ByteParsing.percentDecoded(raw)
        }
        let algorithmValue = try decoded(0)
        let credential = try decoded(1)
        let dateValue = try decoded(2)
        let expiresValue = try decoded(3)
        let signedHeaders = try decoded(4)
        let signatureValue = try decoded(5)
        guard algorithmValue == algorithm else {
            throw queryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        }
        let scope = try parseCredential(credential[...]) { queryError("Error parsing the X-Amz-Credential parameter; \($0)") }
        guard let date = ByteParsing.amzDate(dateValue) else {
            throw queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        guard !expiresValue.isEmpty, expiresValue.count <= 9, expiresValue.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
        else {
            throw queryError("X-Amz-Expires should be a number")
        }
        var expires = 0
        for d in expiresValue { expires = expires * 10 + Int(d - 0x30) }
        guard expires >= 1 else { throw queryError("X-Amz-Expires must be non-negative and at least 1") }
        guard expires <= 604_800 else {
            throw queryError("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        }
        let names = try parseSignedHeaders(signedHeaders[...]) { queryError("Error parsing the X-Amz-SignedHeaders parameter; \($0)") }
        guard let sig = ByteParsing.signature(signatureValue) else {
            throw queryError("X-Amz-Signature must be 64 hexadecimal digits")
        }
        var token: String? = nil
        if found[6] != nil {
            let t = try decoded(6)
            token = String(decoding: t, as: UTF8.self)
        }
        return ClaimedAuthorization(
            accessKeyID: scope.0, dateStamp: scope.1, region: scope.2, service: scope.3, terminator: scope.4,
            signedHeaders: names, signature: sig,
            presign: .init(date: date, expires: expires, sessionToken: token, parameters: parameters))
    }
}
