import SigV4
import _SigV4Crypto

/// What a request claims about its signature, from the `Authorization` header or the
/// presigned query parameters. Syntax only: nothing here is trusted yet.
struct ClaimedAuthorization: Sendable {
    /// The access key id: a slice of the `Authorization` value (or of a presigned target read
    /// afresh) when the parser had it as a string (no copy: a real id has 20 characters, too many
    /// for a string held inline, so a `String` of its own would be an allocation per request), a
    /// kept presigned reading's string (``PresignCredential/accessKeyID``), else a string of its own.
    var accessKeyID: Substring
    var dateStamp: String
    /// The day ``dateStamp`` names (``AmzDate/dayNumber``), nil when it names none (`20150230`):
    /// read from the credential's bytes when it is parsed (or kept with a presigned reading), so the
    /// scope-date check compares two numbers instead of reading the stamp's text per request.
    var dateDay: Int64?
    var region: String
    var service: String
    var terminator: String
    /// The `SignedHeaders` value as checked: lowercase tokens, strictly ascending, joined by `;`.
    var signedHeadersText: SignedHeadersText
    var signature: Signature
    /// Presigned only.
    var presign: Presign?
    /// SigV4a (`AWS4-ECDSA-P256-SHA256`) only. One reference, nil for SigV4: a claim is copied
    /// and destroyed several times per verification, and each optional field costs a release.
    var sigV4a: SigV4aClaim? = nil

    /// True for a SigV4a claim.
    var isSigV4a: Bool { sigV4a != nil }

    /// What a SigV4a claim adds.
    final class SigV4aClaim: Sendable {
        /// The DER signature. The claim's credential scope has no region (`region` is empty), and
        /// its ``ClaimedAuthorization/signature`` holds SHA-256 of these bytes.
        let der: [UInt8]
        /// Presigned only: the decoded `X-Amz-Region-Set` value (header auth carries it in the
        /// signed `X-Amz-Region-Set` header).
        let regionSet: String?

        init(der: [UInt8], regionSet: String?) {
            self.der = der
            self.regionSet = regionSet
        }
    }

    struct Presign: Sendable {
        var date: AmzDate
        /// `X-Amz-Expires`, or 0 when the query has none (``hasExpires``).
        var expires: Int
        /// False for a query without `X-Amz-Expires` (AWS IoT's WebSocket handshakes).
        var hasExpires: Bool { expires != 0 }
        var sessionToken: String?
        /// The `X-Amz-Signature=…` element, as indices of the query (left out of what was signed).
        var signatureElement: Range<Int>
        /// The `X-Amz-Security-Token=…` element, when there is one.
        var tokenElement: Range<Int>?
    }

    /// The `SignedHeaders` value as a string.
    var signedHeadersLine: String { signedHeadersText.string }

    /// The signed header names.
    var signedHeaders: [String] { ClaimedAuthorization.names(signedHeadersLine) }

    /// `a;b;c` → `["a", "b", "c"]`.
    static func names(_ line: String) -> [String] { line.split(separator: ";").map(String.init) }

    /// Runs `body` with the bytes of ``signedHeadersLine``.
    func withSignedHeaderBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try signedHeadersText.withBytes(body)
    }

    /// True when `name` (lowercase) is one of the signed names.
    func signs(_ name: StaticString) -> Bool { signedHeadersText.contains(name) }

    /// True when `name` (any case) is one of the names of `line` (`a;b;c`, lowercase).
    static func names(_ line: UnsafeBufferPointer<UInt8>, contain name: UnsafeBufferPointer<UInt8>) -> Bool {
        ByteSearch.anyName(of: line) { VerificationRequest.equalsIgnoringCase(name, $0) }
    }
}

/// A `SignedHeaders` value as the request carries it: a range of the bytes of the `Authorization`
/// value or of the request target (the string and the byte offsets: no copy, no allocation, and no
/// `Substring`, whose making checks both bounds against the string's scalars), percent-decoded when
/// read if it came from a query and holds escapes (`host%3Bx-amz-date`).
///
/// ```swift
/// let text = SignedHeadersText(source: target, range: range, percentEncoded: true)
/// text.withBytes { line in /* host;x-amz-date */ }
/// ```
struct SignedHeadersText: Sendable {
    /// The string the value is a part of.
    var source: String
    /// Where the value is in `source`'s UTF-8.
    var start: Int
    var end: Int
    /// True when the value holds `%` escapes (only ever from a query).
    var percentEncoded: Bool
    /// Whether `host` is one of the names, when a kept reading knows it
    /// (``PresignCredential/signsHost``); nil when it is to be searched for (``signsHost``).
    var knownToSignHost: Bool?

    /// The bytes at `range` of `source`'s UTF-8 (whose bounds are ASCII delimiters or the ends).
    init(source: String, range: Range<Int>, percentEncoded: Bool, knownToSignHost: Bool? = nil) {
        self.source = source
        self.start = range.lowerBound
        self.end = range.upperBound
        self.percentEncoded = percentEncoded
        self.knownToSignHost = knownToSignHost
    }

    /// True when `host` is one of the names: what a kept reading noted, else ``contains(_:)``.
    var signsHost: Bool { knownToSignHost ?? contains("host") }

    /// True when `name` (lowercase) is one of the names (a method of its own, not of the claim:
    /// a closure over the claim copied all of its strings).
    func contains(_ name: StaticString) -> Bool {
        withBytes { line in
            ClaimedAuthorization.names(
                line.bindMemory(to: UInt8.self),
                contain: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        }
    }

    /// A value held as a string of its own.
    init(_ line: String, knownToSignHost: Bool? = nil) {
        self.init(source: line, range: 0..<line.utf8.count, percentEncoded: false, knownToSignHost: knownToSignHost)
    }

    /// The value (decoded).
    var string: String { withBytes { String(decoding: $0, as: UTF8.self) } }

    /// Runs `body` with the value's bytes (decoded): in place, or decoded into temporary memory.
    func withBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        // Borrowed in place (`withBorrowedUTF8`): this runs several times per verification.
        let decode = percentEncoded
        let range = start..<end
        func run(_ whole: UnsafeBufferPointer<UInt8>) throws(E) -> R {
            let r = UnsafeBufferPointer(rebasing: whole[range])
            guard decode else { return try body(UnsafeRawBufferPointer(r)) }
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: r.count) { (out) throws(E) -> R in
                let n = URIEncoding.decode(r, into: out.baseAddress!)
                return try body(UnsafeRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(out)[0..<n]))
            }
        }
        return try source.withBorrowedUTF8(run)
    }
}

/// One `name[=value]` element of a query string, as ranges into the query bytes.
struct QueryParameter: Sendable {
    var name: Range<Int>
    var value: Range<Int>?

    /// Splits a query on `&` (empty elements are dropped). Ranges are indices of `q`.
    static func split(_ q: ArraySlice<UInt8>) -> [QueryParameter] {
        q.withUnsafeBufferPointer { p in
            let n = p.count
            var out: [QueryParameter] = []
            if n > 0 { out.reserveCapacity(8) }
            let base = q.startIndex
            var start = 0
            var i = 0
            while i <= n {
                if i == n || p[i] == 0x26 {
                    if i > start {
                        var eq = start
                        while eq < i && p[eq] != 0x3d { eq += 1 }
                        out.append(
                            QueryParameter(
                                name: (base + start)..<(base + eq),
                                value: eq < i ? (base + eq + 1)..<(base + i) : nil))
                    }
                    start = i + 1
                }
                i += 1
            }
            return out
        }
    }
}

enum AuthorizationParser {
    static let algorithm = Array(StringToSign.algorithm.utf8)
    static let maxSignedHeaders = 128
    /// SigV4a's algorithm name.
    static let ecdsaAlgorithm: StaticString = "AWS4-ECDSA-P256-SHA256"

    /// The bytes of a SigV4a signature as sent (hex of DER: 8 to 72 bytes), or nil.
    static func ecdsaSignature(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> [UInt8]? {
        guard r.count >= 16, r.count <= 144, r.count % 2 == 0 else { return nil }
        var out = [UInt8](repeating: 0, count: r.count / 2)
        let ok = out.withUnsafeMutableBytes {
            Hex.decode(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[r]), into: $0)
        }
        return ok ? out : nil
    }

    /// A claim's `signature` for SigV4a: SHA-256 of the DER bytes (a fixed-size stand-in; the
    /// verifier checks the DER itself).
    static func digestOf(_ der: [UInt8]) -> Signature { Signature(digest: SHA256.hash(der)) }

    static func malformed(_ message: String) -> VerificationFailure {
        VerificationFailure(.authorizationHeaderMalformed, "The authorization header is malformed; \(message)")
    }

    /// The refusal of a Signature Version 2 request (`Authorization: AWS AKID:signature`, or the
    /// `AWSAccessKeyId`, `Signature` and `Expires` query parameters of a version 2 presigned URL):
    /// S3's own answer where it takes only version 4 (`InvalidRequest`, 400). awscli v1 and boto3
    /// presign S3 URLs with version 2 unless `signature_version = s3v4` is configured, so this is
    /// the error a user of those clients most often meets first.
    static func signatureVersion2() -> VerificationFailure {
        VerificationFailure(
            .invalidRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.")
    }

    /// True when the query names both `AWSAccessKeyId` and `Signature`: a Signature Version 2
    /// presigned URL (see ``signatureVersion2()``).
    static func looksSignatureVersion2(_ q: UnsafeBufferPointer<UInt8>) -> Bool {
        anyParameterName(in: q) { ByteSearch.equals(q, $0, "AWSAccessKeyId") }
            && anyParameterName(in: q) { ByteSearch.equals(q, $0, "Signature") }
    }

    static func queryError(_ message: String) -> VerificationFailure {
        VerificationFailure(.authorizationQueryParametersError, message)
    }

    /// S3's answer to a presigned query without one of its parameters (`X-Amz-Expires` may be left out
    /// only for `VerificationPolicy.presignWithoutExpires` services, which the verifier decides).
    static func missingQueryParameters() -> VerificationFailure {
        queryError(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
        )
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }

    /// `r` without leading and trailing spaces and tabs.
    static func trimmed(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> Range<Int> {
        var lo = r.lowerBound
        var hi = r.upperBound
        while lo < hi, isSpace(p[lo]) { lo += 1 }
        while hi > lo, isSpace(p[hi - 1]) { hi -= 1 }
        return lo..<hi
    }

    /// `r` of `source`, whose UTF-8 bytes are the buffer `r` indexes, as a `Substring` (shares
    /// `source`'s storage). `r` is on ASCII bytes (the parser's delimiters), so on character
    /// boundaries.
    static func slice(_ source: String, _ r: Range<Int>) -> Substring {
        // Both bounds offset from the start (an offset from `lo` walked from it: ~20% slower).
        let u = source.utf8
        return Substring(u[u.index(u.startIndex, offsetBy: r.lowerBound)..<u.index(u.startIndex, offsetBy: r.upperBound)])
    }

    /// The bytes at `r` of `p` as a string (invalid UTF-8 repaired).
    ///
    /// Up to 15 bytes (a region, a service, a date stamp) through
    /// `String(unsafeUninitializedCapacity:initializingUTF8With:)`, which makes a small string and
    /// checks an ASCII one with a mask instead of validating it byte by byte as
    /// `String(decoding:as:)` does.
    static func text(_ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) -> String {
        let bytes = UnsafeBufferPointer(rebasing: p[r])
        guard bytes.count <= 15, let source = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: bytes.count) { out in
            out.baseAddress!.update(from: source, count: bytes.count)
            return bytes.count
        }
    }

    // MARK: Authorization header

    /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
    ///
    /// The three components may come in any order, separated by `,` with optional spaces or
    /// tabs around each component and around `=` (SDKs emit `, `; the AWS docs print `,`).
    /// Each must appear exactly once; nothing else may appear.
    static func parseHeader(_ raw: [UInt8]) throws(VerificationFailure) -> ClaimedAuthorization {
        var claim: ClaimedAuthorization? = nil
        try raw.withUnsafeBufferPointer { p in
            Result { () throws(VerificationFailure) in try parseHeader(p, source: nil, into: &claim) }
        }.get()
        return claim!
    }

    /// ``parseHeader(_:)`` on the value's bytes (one scan over indices, no intermediate arrays),
    /// written into `claim` (the verifier's, in place: a claim is large, and returning it through
    /// the header accessors' closures copies it at each level). When `source` is given, `p` is its
    /// UTF-8 and the `SignedHeaders` value is kept as a slice of it.
    static func parseHeader(
        _ p: UnsafeBufferPointer<UInt8>, source: String?, into claim: inout ClaimedAuthorization?
    ) throws(VerificationFailure) {
        let value = trimmed(p, 0..<p.count)
        var n = algorithm.count
        var asymmetric = false
        let isHMAC =
            value.count > n && ByteSearch.equals(p, value.lowerBound..<(value.lowerBound + n), "AWS4-HMAC-SHA256")
            && isSpace(p[value.lowerBound + n])
        if isHMAC {
            // SigV4: the common case, checked first.
        } else if value.count > ecdsaAlgorithm.utf8CodeUnitCount,
            ByteSearch.equals(
                p, value.lowerBound..<(value.lowerBound + ecdsaAlgorithm.utf8CodeUnitCount), ecdsaAlgorithm),
            isSpace(p[value.lowerBound + ecdsaAlgorithm.utf8CodeUnitCount])
        {
            n = ecdsaAlgorithm.utf8CodeUnitCount
            asymmetric = true
        } else {
            var sp = value.lowerBound
            while sp < value.upperBound && !isSpace(p[sp]) { sp += 1 }
            if sp > value.lowerBound {
                if ByteSearch.equals(p, value.lowerBound..<sp, "AWS") {
                    throw signatureVersion2()
                }
                let scheme = text(p, value.lowerBound..<min(sp, value.lowerBound + 40))
                throw malformed(
                    "unsupported algorithm \"\(scheme)\"; expecting \"AWS4-HMAC-SHA256\" or \"AWS4-ECDSA-P256-SHA256\"")
            }
            throw malformed("expecting \"AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…\"")
        }
        let rest = (value.lowerBound + n)..<value.upperBound
        var credential: Range<Int>?
        var signedHeaders: Range<Int>?
        var signature: Range<Int>?
        // Components separated by `,` (empty ones included, so they are refused).
        var componentStart = rest.lowerBound
        while true {
            let componentEnd = ByteSearch.index(of: 0x2c, in: p, componentStart..<rest.upperBound)
            let part = trimmed(p, componentStart..<componentEnd)
            let eq = ByteSearch.indexInShortRange(of: 0x3d, in: p, part)
            guard eq < part.upperBound else {
                throw malformed(part.isEmpty ? "empty component" : "a component has no '='")
            }
            let name = trimmed(p, part.lowerBound..<eq)
            let v = trimmed(p, (eq + 1)..<part.upperBound)
            if ByteSearch.equals(p, name, "Credential") {
                guard credential == nil else { throw malformed("Credential appears more than once") }
                credential = v
            } else if ByteSearch.equals(p, name, "SignedHeaders") {
                guard signedHeaders == nil else { throw malformed("SignedHeaders appears more than once") }
                signedHeaders = v
            } else if ByteSearch.equals(p, name, "Signature") {
                guard signature == nil else { throw malformed("Signature appears more than once") }
                signature = v
            } else {
                throw malformed("unknown component \"\(text(p, name.lowerBound..<min(name.upperBound, name.lowerBound + 40)))\"")
            }
            if componentEnd >= rest.upperBound { break }
            componentStart = componentEnd + 1
        }
        guard let credential else { throw malformed("missing Credential") }
        guard let signedHeaders else { throw malformed("missing SignedHeaders") }
        guard let signature else { throw malformed("missing Signature") }
        let scope = try parseCredential(
            p, credential, asymmetric: asymmetric, idSlice: { id in source.map { slice($0, id) } }, fail: malformed)
        try checkSignedHeaders(p, signedHeaders, fail: malformed)
        let names =
            source.map { SignedHeadersText(source: $0, range: signedHeaders, percentEncoded: false) }
            ?? SignedHeadersText(text(p, signedHeaders))
        if asymmetric {
            try setSigV4aClaim(p, signature: signature, scope: scope, names: names, into: &claim)
            return
        }
        guard let sig = signature.count == 64 ? ByteParsing.signature(UnsafeBufferPointer(rebasing: p[signature])) : nil
        else {
            throw malformed("the Signature must be 64 lowercase hexadecimal digits")
        }
        claim = ClaimedAuthorization(
            accessKeyID: scope.0, dateStamp: scope.1, dateDay: scope.2, region: scope.3, service: scope.4,
            terminator: scope.5, signedHeadersText: names, signature: sig, presign: nil)
    }

    /// ``parseHeader(_:source:into:)``'s end for SigV4a, out of line so the SigV4 path stays as small
    /// as it was (an extra inlined branch there cost header verification several per cent).
    @inline(never)
    static func setSigV4aClaim(
        _ p: UnsafeBufferPointer<UInt8>, signature: Range<Int>,
        scope: (Substring, String, Int64?, String, String, String),
        names: SignedHeadersText, into claim: inout ClaimedAuthorization?
    ) throws(VerificationFailure) {
        guard let der = ecdsaSignature(p, signature) else {
            throw malformed("the Signature must be the hexadecimal DER encoding of an ECDSA signature")
        }
        claim = ClaimedAuthorization(
            accessKeyID: scope.0, dateStamp: scope.1, dateDay: scope.2, region: scope.3, service: scope.4,
            terminator: scope.5, signedHeadersText: names, signature: digestOf(der), presign: nil,
            sigV4a: ClaimedAuthorization.SigV4aClaim(der: der, regionSet: nil))
    }

    /// `AKID/YYYYMMDD/region/service/aws4_request` in `r` → its five parts, with the day the date
    /// names (``AmzDate/dayNumber(ofStamp:)``, nil for eight digits that name no day) after the date;
    /// `asymmetric` (SigV4a): `AKID/YYYYMMDD/service/aws4_request`, with an empty region. `idSlice`:
    /// the access key id at a range of `p` as a slice of the string `p` was read from, when it can be one.
    static func parseCredential(
        _ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, asymmetric: Bool = false,
        idSlice: (Range<Int>) -> Substring? = { _ in nil }, fail: (String) -> VerificationFailure
    ) throws(VerificationFailure) -> (Substring, String, Int64?, String, String, String) {
        let parts = try credentialParts(p, r, asymmetric: asymmetric, fail: fail)
        // The terminator is nearly always `aws4_request`: its text is not made again.
        let terminator =
            ByteSearch.equals(p, parts.terminator, "aws4_request") ? CredentialScope.terminator : text(p, parts.terminator)
        let accessKeyID = idSlice(parts.id) ?? Substring(text(p, parts.id))
        return (
            accessKeyID, text(p, parts.date), parts.dateDay, parts.region.map { text(p, $0) } ?? "",
            text(p, parts.service), terminator
        )
    }

    /// Where a credential's parts are, as indices of the buffer it was read from.
    struct CredentialParts {
        var id: Range<Int>
        /// Eight digits.
        var date: Range<Int>
        /// The day ``date`` names (``AmzDate/dayNumber(ofStamp:)``), nil for eight digits that name none.
        var dateDay: Int64?
        /// nil for SigV4a.
        var region: Range<Int>?
        var service: Range<Int>
        var terminator: Range<Int>
    }

    /// ``parseCredential(_:_:asymmetric:idSlice:fail:)``'s checks, with the parts as ranges (no
    /// strings made): printable bytes other than `,` and `;`, four `/` (three for SigV4a), each part
    /// 1 to 128 bytes, the date eight digits. The terminator's text is not checked.
    static func credentialParts(
        _ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, asymmetric: Bool, fail: (String) -> VerificationFailure
    ) throws(VerificationFailure) -> CredentialParts {
        guard r.count <= 512 else { throw fail("the Credential is too long") }
        // One pass over the bytes, eight at a time: each checked (printable, not `,` or `;`), and
        // the first four `/` (which separate the parts) noted, with how many there are.
        var bad = false
        var cuts = (0, 0, 0, 0)
        var slashes = 0
        func noteSlash(_ i: Int) {
            switch slashes {
            case 0: cuts.0 = i
            case 1: cuts.1 = i
            case 2: cuts.2 = i
            case 3: cuts.3 = i
            default: break
            }
            slashes += 1
        }
        var i = r.lowerBound
        if let base = p.baseAddress {
            let raw = UnsafeRawPointer(base)
            var invalid: UInt64 = 0
            while i + 8 <= r.upperBound {
                let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                invalid |= ~credentialBytes(x) & ByteLanes.high
                var slash = ByteLanes.equal(x, 0x2f)
                while slash != 0 {
                    noteSlash(i + slash.trailingZeroBitCount / 8)
                    slash &= slash &- 1
                }
                i += 8
            }
            bad = invalid != 0
        }
        while i < r.upperBound {
            let b = p[i]
            if !isCredentialByte(b) { bad = true }
            if b == 0x2f { noteSlash(i) }
            i += 1
        }
        guard slashes == (asymmetric ? 3 : 4) else {
            throw fail(
                asymmetric
                    ? "the Credential must have the form <access key id>/<YYYYMMDD>/<service>/aws4_request"
                    : "the Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request")
        }
        // SigV4a has no region: its service follows the date.
        let id = r.lowerBound..<cuts.0
        let date = (cuts.0 + 1)..<cuts.1
        let region: Range<Int>? = asymmetric ? nil : (cuts.1 + 1)..<cuts.2
        let service = asymmetric ? (cuts.1 + 1)..<cuts.2 : (cuts.2 + 1)..<cuts.3
        let end = ((asymmetric ? cuts.2 : cuts.3) + 1)..<r.upperBound
        guard !bad, isCredentialPart(id), isCredentialPart(date), region.map(isCredentialPart) ?? true,
            isCredentialPart(service), isCredentialPart(end)
        else {
            throw fail("the Credential has an empty or invalid component")
        }
        guard date.count == 8, p[date].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw fail("the Credential date must be YYYYMMDD")
        }
        let dateDay = AmzDate.dayNumber(ofStamp: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: p[date])))
        return CredentialParts(
            id: id, date: date, dateDay: dateDay, region: region, service: service, terminator: end)
    }

    /// The lanes of `x` that ``isCredentialByte(_:)`` accepts: `0x21`–`0x7e` other than `,` and `;`.
    @inline(__always)
    static func credentialBytes(_ x: UInt64) -> UInt64 {
        ByteLanes.inRange(ByteLanes.low7(x), 0x21, 0x7f) & ~x & ~ByteLanes.equal(x, 0x2c) & ~ByteLanes.equal(x, 0x3b)
    }

    /// A credential part's length: 1 to 128 bytes (its bytes are checked by ``isCredentialByte(_:)``).
    static func isCredentialPart(_ r: Range<Int>) -> Bool { !r.isEmpty && r.count <= 128 }

    /// Printable ASCII other than space, `,` and `;` (a credential part's bytes, and the `/`
    /// that separates them).
    @inline(__always)
    static func isCredentialByte(_ b: UInt8) -> Bool { (b &- 0x21) < 0x5e && b != 0x2c && b != 0x3b }

    /// `a;b;c` in `r`, checked: lowercase tokens, strictly ascending, no repeats.
    static func checkSignedHeaders(
        _ p: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, fail: (String) -> VerificationFailure
    ) throws(VerificationFailure) {
        guard !r.isEmpty else { throw fail("SignedHeaders is empty") }
        // One scan: each name checked, counted and compared with the one before it. Too many
        // names is reported before a bad name (the count is taken over the whole line first only
        // when the line is long enough to hold more names than allowed).
        if r.count > 2 * maxSignedHeaders {
            var count = 1
            var from = r.lowerBound
            while count <= maxSignedHeaders {
                let i = ByteSearch.index(of: 0x3b, in: p, from..<r.upperBound)
                guard i < r.upperBound else { break }
                count += 1
                from = i + 1
            }
            guard count <= maxSignedHeaders else { throw fail("too many SignedHeaders") }
        }
        var previous = r.lowerBound..<r.lowerBound
        var nameStart = r.lowerBound
        while nameStart <= r.upperBound {
            var nameEnd = nameStart
            while nameEnd < r.upperBound && p[nameEnd] != 0x3b {
                guard isLowerToken(p[nameEnd]) else {
                    throw fail("SignedHeaders must be lowercase header names separated by ';'")
                }
                nameEnd += 1
            }
            let name = nameStart..<nameEnd
            nameStart = nameEnd + 1
            guard !name.isEmpty else {
                throw fail("SignedHeaders must be lowercase header names separated by ';'")
            }
            if !previous.isEmpty,
                ByteSearch.compare(
                    UnsafeBufferPointer(rebasing: p[previous]), UnsafeBufferPointer(rebasing: p[name])) >= 0
            {
                throw fail("SignedHeaders must be sorted and must not repeat a name")
            }
            previous = name
        }

    }

    /// A lowercase `tchar` (RFC 9110): digits, lowercase letters, ``!#$%&'*+-.^_`|~``.
    @inline(__always)
    static func isLowerToken(_ b: UInt8) -> Bool {
        // Bit b of (low, high) is set for each allowed byte b < 128.
        let low: UInt64 = 0x03ff_6cfa_0000_0000  // ! # $ % & ' * + - . 0-9
        let high: UInt64 = 0x57ff_ffff_c000_0000  // ^ _ ` a-z | ~
        return b < 64 ? (low >> UInt64(b)) & 1 == 1 : b < 128 && (high >> UInt64(b &- 64)) & 1 == 1
    }

    // MARK: Presigned query

    static let presignNames: [String] = [
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
        "X-Amz-Signature", "X-Amz-Security-Token", "X-Amz-Region-Set",
    ]

    /// The presign parameter the query element `start..<end` of `q` names (exact spelling): its
    /// index in ``presignNames`` and where its name ends (at the first `=`, or at `end`); nil for
    /// any other element. No scan for the `=`: the first word, `X-Amz-` and two bytes, picks the
    /// one name the element can be (two for `X-Amz-Si`), whose length gives the byte to look at,
    /// and the rest of the name is compared a word at a time. (The names hold no `=`, so a name
    /// that matches ends at the first `=` when the byte after it is one.)
    @inline(__always)
    static func presignParameter(
        _ q: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
    ) -> (index: Int, nameEnd: Int)? {
        guard end - start >= 10, let base = q.baseAddress else { return nil }
        let p = UnsafeRawPointer(base + start)
        let first = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
        // `X-Amz-`: the low six bytes of the first little-endian word.
        guard first & 0xFFFF_FFFF_FFFF == 0x2D7A_6D41_2D58 else { return nil }
        // The name is the `n` bytes of `literal` (its first word known equal), ending at `=` or `end`.
        func named(_ k: Int, _ literal: StaticString) -> (index: Int, nameEnd: Int)? {
            let n = literal.utf8CodeUnitCount
            guard start + n == end || (start + n < end && base[start + n] == 0x3d),
                sameNameAfterFirstWord(p, literal)
            else { return nil }
            return (k, start + n)
        }
        // Bytes 6 and 7, the name's first two after `X-Amz-`.
        switch first >> 48 {
        case 0x6C41: return named(0, "X-Amz-Algorithm")  // "Al"
        case 0x7243: return named(1, "X-Amz-Credential")  // "Cr"
        case 0x6144: return named(2, "X-Amz-Date")  // "Da"
        case 0x7845: return named(3, "X-Amz-Expires")  // "Ex"
        case 0x6953: return named(5, "X-Amz-Signature") ?? named(4, "X-Amz-SignedHeaders")  // "Si"
        case 0x6553: return named(6, "X-Amz-Security-Token")  // "Se"
        case 0x6552: return named(7, "X-Amz-Region-Set")  // "Re"
        default: return nil
        }
    }

    /// True when the bytes at `p` are `literal` (10 to 20 bytes, all readable at `p`) given that
    /// their first eight are `literal`'s: the last eight bytes compared as one word, and the word at
    /// 8 when `literal` is longer than 16 bytes.
    @inline(__always)
    static func sameNameAfterFirstWord(_ p: UnsafeRawPointer, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        let l = UnsafeRawPointer(literal.utf8Start)
        func same(at offset: Int) -> Bool {
            p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                == l.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        }
        return same(at: n - 8) && (n <= 16 || same(at: 8))
    }

    /// True when the query carries any presign parameter (exact spelling).
    static func looksPresigned(_ query: ArraySlice<UInt8>) -> Bool {
        query.withUnsafeBufferPointer { looksPresigned($0) }
    }

    /// ``looksPresigned(_:)`` on the query's bytes: an `X-Amz-Algorithm`, `X-Amz-Credential` or
    /// `X-Amz-Signature` element, named as the parser names them (``presignParameter(_:_:_:)``).
    static func looksPresigned(_ q: UnsafeBufferPointer<UInt8>) -> Bool {
        anyElement(in: q) { start, end in
            guard let k = presignParameter(q, start, end)?.index else { return false }
            return k == 0 || k == 1 || k == 5
        }
    }

    /// True when `match` holds for the name (up to `=`, as indices of `q`) of some `&`-separated
    /// element of the query `q`; the names are compared in place.
    static func anyParameterName(in q: UnsafeBufferPointer<UInt8>, where match: (Range<Int>) -> Bool) -> Bool {
        anyElement(in: q) { start, end in match(start..<ByteSearch.indexInShortRange(of: 0x3d, in: q, start..<end)) }
    }

    /// True when `match` holds for some `&`-separated element (`start..<end`, indices of `q`) of the query `q`.
    static func anyElement(in q: UnsafeBufferPointer<UInt8>, where match: (_ start: Int, _ end: Int) -> Bool) -> Bool {
        var start = 0
        while start < q.count {
            let end = ByteSearch.index(of: 0x26, in: q, start..<q.count)
            if match(start, end) { return true }
            start = end + 1
        }
        return false
    }

    /// The ends of the `&`-separated elements of a query, in order: where each `&` is, 32 bytes of
    /// the query classified a step (two `ByteLanes.equal16`) and their marks taken one by one,
    /// instead of one `memchr` call per element (a call about 50 instructions, where a step is a
    /// dozen). A query of fewer than 32 bytes is searched with ``ByteSearch/index(of:in:_:)``.
    ///
    /// ```swift
    /// var ends = AuthorizationParser.ElementEnds(q)
    /// var start = 0
    /// while start < q.count {
    ///     let end = ends.next()  // the `&` ending the element at `start`, or q.count
    ///     start = end + 1
    /// }
    /// ```
    struct ElementEnds {
        private let q: UnsafeBufferPointer<UInt8>
        /// Where the 32 bytes `marks` covers start (-32 before the first step).
        private var window = -32
        /// The `&`s of the window not yet returned: bit `k` for the byte at `window + k`.
        private var marks: UInt32 = 0

        init(_ q: UnsafeBufferPointer<UInt8>) { self.q = q }

        /// The next `&` of the query after the last one returned (the first one at first), or
        /// `q.count` when there is none. Called once for each element, from the first: the element
        /// that starts after the last `&` returned ends there.
        @inline(__always)
        mutating func next() -> Int {
            let n = q.count
            guard n >= 32, let base = q.baseAddress else {
                let start = window < 0 ? 0 : window
                let end = ByteSearch.index(of: 0x26, in: q, start..<n)
                window = end + 1
                return end
            }
            while marks == 0 {
                window &+= 32
                if window >= n { return n }
                if window &+ 32 <= n {
                    marks =
                        ByteLanes.equal16(base + window, 0x26) | ByteLanes.equal16(base + (window &+ 16), 0x26) &<< 16
                } else {
                    // The query's last 32 bytes, those before `window` (seen already) cleared.
                    let last = n &- 32
                    marks = (ByteLanes.equal16(base + last, 0x26) | ByteLanes.equal16(base + (last &+ 16), 0x26) &<< 16)
                        & (~0 &<< UInt32(window &- last))
                    window = last
                }
            }
            let end = window &+ marks.trailingZeroBitCount
            marks &= marks &- 1
            return end
        }
    }

    /// Where the eight presign parameters are in a query: value and element ranges, by
    /// ``presignNames`` index. Fixed size, so a presigned URL is parsed without a heap array.
    struct PresignRanges {
        var values:
            (Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?) =
                (nil, nil, nil, nil, nil, nil, nil, nil)
        var signatureElement = 0..<0
        var tokenElement: Range<Int>?

        subscript(_ k: Int) -> Range<Int>? {
            get {
                switch k {
                case 0: values.0
                case 1: values.1
                case 2: values.2
                case 3: values.3
                case 4: values.4
                case 5: values.5
                case 6: values.6
                default: values.7
                }
            }
            set {
                switch k {
                case 0: values.0 = newValue
                case 1: values.1 = newValue
                case 2: values.2 = newValue
                case 3: values.3 = newValue
                case 4: values.4 = newValue
                case 5: values.5 = newValue
                case 6: values.6 = newValue
                default: values.7 = newValue
                }
            }
        }
    }

    /// Parses and validates the presign parameters of `query`.
    static func parseQuery(_ query: ArraySlice<UInt8>) throws(VerificationFailure) -> ClaimedAuthorization {
        // Parsed in place (a claim is large: returned through the closure it would be copied).
        var claim: ClaimedAuthorization? = nil
        try query.withUnsafeBufferPointer { q in
            // Element ranges are reported in the slice's own indices.
            Result { () throws(VerificationFailure) in
                try parseQuery(q, source: nil, elementsAt: query.startIndex, into: &claim)
            }
        }.get()
        return claim!
    }

    /// The presign parameters of the query at `query` in `target`, parsed into `claim`; element
    /// ranges are indices of `target`. When `source` is given, `target` is its UTF-8 and the
    /// `X-Amz-SignedHeaders` value is kept as a slice of it.
    ///
    /// `readings`: credentials and signed names read before, found by their bytes
    /// (``PresignCredential``); a SigV4 URL's are kept there once it parses.
    static func parseQuery(
        target: UnsafeBufferPointer<UInt8>, query: Range<Int>, source: String?, readings: PresignCredentials? = nil,
        into claim: inout ClaimedAuthorization?
    ) throws(VerificationFailure) {
        try parseQuery(
            UnsafeBufferPointer(rebasing: target[query]), source: source.map { ($0, query.lowerBound) },
            elementsAt: query.lowerBound, readings: readings, into: &claim)
    }

    /// The presign parameter the element `start..<end` of `q` names once its name is percent-decoded
    /// (any case), when its name holds a `%`; nil otherwise. Only names starting `X`, `x` or `%` are
    /// looked at (every presign name starts `X-Amz-`).
    static func encodedPresignName(_ q: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String? {
        guard start < end, q[start] | 0x20 == 0x78 || q[start] == 0x25 else { return nil }
        var nameEnd = start
        var escaped = false
        while nameEnd < end && q[nameEnd] != 0x3d {
            if q[nameEnd] == 0x25 { escaped = true }
            nameEnd += 1
        }
        // The longest presign name is 20 bytes, each at most three when escaped.
        guard escaped, nameEnd - start <= 60 else { return nil }
        var decoded: [UInt8] = []
        var i = start
        while i < nameEnd {
            if q[i] == 0x25, i + 2 < nameEnd, let hi = URIEncoding.hexValue(q[i + 1]),
                let lo = URIEncoding.hexValue(q[i + 2])
            {
                decoded.append(hi << 4 | lo)
                i += 3
            } else {
                decoded.append(q[i])
                i += 1
            }
        }
        let text = String(decoding: decoded, as: UTF8.self).lowercased()
        return presignNames.first { $0.lowercased() == text }
    }

    /// ``parseQuery(_:)`` on the query's bytes: one scan over the `&`-separated elements, values
    /// read in place (percent-decoded into stack memory only when they hold a `%`). `source`: the
    /// string whose UTF-8 holds `q` at `offset`, for keeping the signed-headers value as a slice.
    /// `shift`: what the claim's element ranges add to indices of `q` (where `q` starts in the
    /// buffer they index).
    static func parseQuery(
        _ q: UnsafeBufferPointer<UInt8>, source: (text: String, offset: Int)?, elementsAt shift: Int = 0,
        readings: PresignCredentials? = nil, into claim: inout ClaimedAuthorization?
    ) throws(VerificationFailure) {
        var found = PresignRanges()
        var ends = ElementEnds(q)
        var start = 0
        while start < q.count {
            let end = ends.next()
            if let (k, eq) = presignParameter(q, start, end) {
                guard found[k] == nil else { throw queryError("\(presignNames[k]) appears more than once") }
                found[k] = eq < end ? (eq + 1)..<end : end..<end
                if k == 5 { found.signatureElement = (start + shift)..<(end + shift) }
                if k == 6 { found.tokenElement = (start + shift)..<(end + shift) }
            } else if let name = encodedPresignName(q, start, end) {
                // The signature's readings decode parameter names (`X-Amz-%45xpires` is signed as
                // `X-Amz-Expires`): a presign parameter found only once decoded would be checked by the
                // signature and skipped by every other check (an expiry added to a URL that had none).
                throw queryError("\(name) must not be percent-encoded in the query")
            }
            start = end + 1
        }
        // X-Amz-Expires may be missing: AWS IoT's device SDKs presign their WebSocket handshake without
        // it. `expires` is then 0 (a given 0 is refused below), and the verifier accepts that only for
        // the services of `VerificationPolicy.presignWithoutExpires`, time-checked as a header signature.
        guard let algorithmValue = found[0], let credential = found[1], let dateValue = found[2],
            let signedHeaders = found[4], let signatureValue = found[5]
        else {
            throw missingQueryParameters()
        }
        // The algorithm, the date, the expiry and a SigV4 signature are read in place first
        // (``inPlaceOrDecoded(_:_:_:orThrow:)``): none of their forms holds a `%`, so the usual URL's
        // values are not searched for escapes (a `memchr` call each).
        let asymmetric = try inPlaceOrDecoded(
            q, algorithmValue,
            { v -> Bool? in
                if ByteSearch.equals(v, 0..<v.count, "AWS4-HMAC-SHA256") { return false }
                return ByteSearch.equals(v, 0..<v.count, ecdsaAlgorithm) ? true : nil
            },
            orThrow: queryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\" and \"AWS4-ECDSA-P256-SHA256\""))
        // A SigV4 credential and signed names read before (checked then: their checks below are
        // functions of these bytes alone, so they would pass again).
        let credentialBytes = UnsafeBufferPointer(rebasing: q[credential])
        let namesBytes = UnsafeBufferPointer(rebasing: q[signedHeaders])
        let kept = asymmetric ? nil : readings?.lookUp(credentialBytes, namesBytes)
        let isKept = kept != nil
        let accessKeyID: Substring
        let dateStamp: String
        let dateDay: Int64?
        let region: String
        let service: String
        let terminator: String
        if let kept {
            accessKeyID = Substring(kept.accessKeyID)
            dateStamp = kept.dateStamp
            dateDay = kept.dateDay
            region = kept.region
            service = kept.service
            terminator = kept.terminator
        } else {
            // The id is read as a slice of the target when no escape comes before its end (ids are
            // unreserved characters; the escapes are the `%2F`s after it), as it is then in the target.
            let firstEscape = ByteSearch.index(of: 0x25, in: q, credential)
            // Taken apart at once: reading `scope.0` … `scope.4` of a tuple of strings copies the whole
            // tuple for each element (a retain per string each time).
            (accessKeyID, dateStamp, dateDay, region, service, terminator) = try withDecoded(q, credential) {
                p, r throws(VerificationFailure) in
                try parseCredential(
                    p, r, asymmetric: asymmetric,
                    idSlice: { id in
                        // `id` starts the credential: at `r.lowerBound` of `p`, which is the
                        // credential's start in `q` (read in place) or 0 (decoded).
                        let end = credential.lowerBound + (id.upperBound - r.lowerBound)
                        guard end <= firstEscape, let source else { return nil }
                        return slice(source.text, (source.offset + credential.lowerBound)..<(source.offset + end))
                    }
                ) {
                    queryError("Error parsing the X-Amz-Credential parameter; \($0)")
                }
            }
        }
        var regionSet: String? = nil
        if asymmetric {
            guard let v = found[7] else {
                throw queryError("Query-string authentication with AWS4-ECDSA-P256-SHA256 requires the X-Amz-Region-Set parameter.")
            }
            regionSet = try withDecoded(q, v) { p, r throws(VerificationFailure) in text(p, r) }
        }
        let date = try inPlaceOrDecoded(
            q, dateValue, { $0.count == 16 ? AmzDate.parse(bytes: $0) : nil },
            orThrow: queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""))
        var expires = 0
        if let expiresValue = found[3] {
            expires = try inPlaceOrDecoded(
                q, expiresValue, expiresNumber, orThrow: queryError("X-Amz-Expires should be a number"))
            guard expires >= 1 else { throw queryError("X-Amz-Expires must be non-negative and at least 1") }
            guard expires <= 604_800 else {
                throw queryError("X-Amz-Expires must be less than a week (in seconds) that is 604800")
            }
        }
        // Checked decoded (unless kept); held as a slice of `source` when there is one, else as the
        // decoded text; kept decoded when it holds escapes, and then read from the kept line.
        let names: SignedHeadersText
        let namesEncoded: Bool
        if let kept, let decoded = kept.decodedSignedHeaders {
            namesEncoded = true
            names = SignedHeadersText(decoded, knownToSignHost: kept.signsHost)
        } else if let kept, let source {
            namesEncoded = false
            let at = (source.offset + signedHeaders.lowerBound)..<(source.offset + signedHeaders.upperBound)
            names = SignedHeadersText(
                source: source.text, range: at, percentEncoded: false, knownToSignHost: kept.signsHost)
        } else {
            namesEncoded = ByteSearch.index(of: 0x25, in: q, signedHeaders) < signedHeaders.upperBound
            names = try withDecoded(q, signedHeaders) { p, r throws(VerificationFailure) -> SignedHeadersText in
                if !isKept {
                    try checkSignedHeaders(p, r) {
                        queryError("Error parsing the X-Amz-SignedHeaders parameter; \($0)")
                    }
                }
                guard let source else { return SignedHeadersText(text(p, r)) }
                let at = (source.offset + signedHeaders.lowerBound)..<(source.offset + signedHeaders.upperBound)
                return SignedHeadersText(source: source.text, range: at, percentEncoded: namesEncoded)
            }
        }
        var der: [UInt8]? = nil
        let sig: Signature
        if asymmetric {
            let bytes = try withDecoded(q, signatureValue) { p, r throws(VerificationFailure) -> [UInt8] in
                guard let bytes = ecdsaSignature(p, r) else {
                    throw queryError("X-Amz-Signature must be the hexadecimal DER encoding of an ECDSA signature")
                }
                return bytes
            }
            der = bytes
            sig = digestOf(bytes)
        } else {
            sig = try inPlaceOrDecoded(
                q, signatureValue, { $0.count == 64 ? ByteParsing.signature($0) : nil },
                orThrow: queryError("X-Amz-Signature must be 64 lowercase hexadecimal digits"))
        }
        var token: String? = nil
        if let v = found[6] {
            token = try withDecoded(q, v) { p, r throws(VerificationFailure) in text(p, r) }
        }
        if !isKept, !asymmetric, let readings {
            readings.remember(
                PresignCredential(
                    accessKeyID: String(accessKeyID),
                    dateStamp: dateStamp, dateDay: dateDay, region: region, service: service, terminator: terminator,
                    decodedSignedHeaders: namesEncoded ? names.string : nil, signsHost: names.contains("host")),
                for: credentialBytes, namesBytes)
        }
        claim = ClaimedAuthorization(
            accessKeyID: accessKeyID, dateStamp: dateStamp, dateDay: dateDay, region: region, service: service,
            terminator: terminator, signedHeadersText: names, signature: sig,
            presign: .init(
                date: date, expires: expires, sessionToken: token, signatureElement: found.signatureElement,
                tokenElement: found.tokenElement),
            sigV4a: der.map { ClaimedAuthorization.SigV4aClaim(der: $0, regionSet: regionSet) })
    }

    /// `X-Amz-Expires`'s number: one to nine digits, nil otherwise.
    @inline(__always)
    static func expiresNumber(_ v: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !v.isEmpty, v.count <= 9, v.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var expires = 0
        for b in v { expires = expires * 10 + Int(b - 0x30) }
        return expires
    }

    /// What `read` reads from the bytes at `r` of `q`: as they are when it reads something there,
    /// otherwise percent-decoded (``withDecoded(_:_:_:)``), and `failure` when it reads nothing
    /// from those either. `read` must accept no byte string holding a `%`: bytes without an escape
    /// are then read in place as `withDecoded` would read them, and bytes with one are refused in
    /// place and decoded, so the usual value is read without a search for a `%`.
    @inline(__always)
    static func inPlaceOrDecoded<R>(
        _ q: UnsafeBufferPointer<UInt8>, _ r: Range<Int>, _ read: (UnsafeBufferPointer<UInt8>) -> R?,
        orThrow failure: @autoclosure () -> VerificationFailure
    ) throws(VerificationFailure) -> R {
        if let value = read(UnsafeBufferPointer(rebasing: q[r])) { return value }
        return try withDecoded(q, r) { p, d throws(VerificationFailure) -> R in
            guard let value = read(UnsafeBufferPointer(rebasing: p[d])) else { throw failure() }
            return value
        }
    }

    /// Calls `body` with the bytes at `r` of `q`, percent-decoded into temporary (stack) memory
    /// when they hold a `%` escape; otherwise in place.
    @inline(__always)
    static func withDecoded<R>(
        _ q: UnsafeBufferPointer<UInt8>, _ r: Range<Int>,
        _ body: (UnsafeBufferPointer<UInt8>, Range<Int>) throws(VerificationFailure) -> R
    ) throws(VerificationFailure) -> R {
        guard ByteSearch.index(of: 0x25, in: q, r) < r.upperBound else { return try body(q, r) }
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: r.count) {
            (buffer) throws(VerificationFailure) -> R in
            let n = URIEncoding.decode(UnsafeBufferPointer(rebasing: q[r]), into: buffer.baseAddress!)
            return try body(UnsafeBufferPointer(buffer), 0..<n)
        }
    }
}

