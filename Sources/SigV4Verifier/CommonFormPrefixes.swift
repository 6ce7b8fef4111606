import SigV4
import _SigV4Crypto

/// What a common-form `Authorization` value says before its signature, read once.
///
/// `AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
/// SignedHeaders=<names>, Signature=` is the same in every request a client signs with one key, on
/// one day, for one service and one set of signed headers; only the 64 hex digits after it change.
/// The common form's path (``Verifier/verifyCommonForm(_:presigned:payload:now:into:lookup:)``)
/// reads such a prefix once (its credential's parts checked, its signed names checked, its region
/// and service made strings, the service's rules and the policy's allow-lists looked up) and keeps
/// the reading for the next request with the same bytes, as the key cache keeps a derived key.
///
/// Everything kept is a function of the prefix's bytes and of the verifier's policy, which is
/// fixed for a ``Verifier/Storage`` (a policy setter makes a new storage and a new cache), so a
/// request reads the same thing whether it was kept or not (`CommonFormPrefixTests`). Nothing
/// here is secret: the access key id is not, and the key is looked up for every request.
///
/// A class, its fields constant: a kept reading is handed out as one reference (a struct was
/// copied out of the cache, a retain and a release per string).
final class CommonFormPrefix: Sendable, Equatable {
    /// Where the parts are, as indices of the value (the same in every value with this prefix).
    let id: Range<Int>
    /// The `SignedHeaders` value: lowercase tokens, strictly ascending, joined by `;`.
    let names: Range<Int>
    /// Where the first signed name not below `x-amz-` starts, as an index of the `SignedHeaders`
    /// value (its count when there is none). The names before it sort below every `x-amz-*` name,
    /// so the check that each `x-amz-*` field is signed reads the list from here
    /// (``Verifier/amzFieldsSigned(_:facts:fields:)``), not from its first name.
    let amzNamesStart: Int
    let region: String
    let service: String
    /// The credential's date, `YYYYMMDD`.
    let dateStamp: String
    /// The day ``dateStamp`` names (days since 1970-01-01), read once: the scope-date check compares
    /// it with `X-Amz-Date`'s day, where reading the stamp's digits cost about 150 instructions per
    /// request. Nil when the stamp names no real day (the common form then declines).
    let dateDay: Int64?
    let rules: ServiceRules
    /// The checks that read nothing but the prefix passed: the policy's region and service
    /// allow-lists, and `host` signed where the policy requires it (or names buckets by host).
    let passesPolicy: Bool

    init(
        id: Range<Int>, names: Range<Int>, amzNamesStart: Int, region: String, service: String,
        dateStamp: String, dateDay: Int64?, rules: ServiceRules, passesPolicy: Bool
    ) {
        self.id = id
        self.names = names
        self.amzNamesStart = amzNamesStart
        self.region = region
        self.service = service
        self.dateStamp = dateStamp
        self.dateDay = dateDay
        self.rules = rules
        self.passesPolicy = passesPolicy
    }

    static func == (a: CommonFormPrefix, b: CommonFormPrefix) -> Bool {
        a.id == b.id && a.names == b.names && a.amzNamesStart == b.amzNamesStart
            && a.region == b.region && a.service == b.service
            && a.dateStamp == b.dateStamp && a.dateDay == b.dateDay && a.rules == b.rules
            && a.passesPolicy == b.passesPolicy
    }

    /// Reads `p[0..<signatureStart]` as a common-form prefix under `policy`; nil when it is not one.
    static func read(
        _ p: UnsafeBufferPointer<UInt8>, signatureStart: Int, policy: VerificationPolicy
    ) -> CommonFormPrefix? {
        // `AWS4-HMAC-SHA256 Credential=<credential>, SignedHeaders=<names>, Signature=`.
        let start = Verifier.commonFormPrefix.utf8CodeUnitCount
        guard signatureStart > start + 16 + 12, signatureStart <= p.count,
            ByteSearch.equals(p, 0..<start, Verifier.commonFormPrefix)
        else { return nil }
        let credentialEnd = ByteSearch.index(of: 0x2c, in: p, start..<signatureStart)
        let namesStart = credentialEnd + 16
        guard namesStart < signatureStart, ByteSearch.equals(p, credentialEnd..<namesStart, ", SignedHeaders=") else {
            return nil
        }
        let namesEnd = ByteSearch.index(of: 0x2c, in: p, namesStart..<signatureStart)
        guard namesEnd + 12 == signatureStart, ByteSearch.equals(p, namesEnd..<signatureStart, ", Signature="),
            let parts = try? AuthorizationParser.credentialParts(
                p, start..<credentialEnd, asymmetric: false, fail: AuthorizationParser.malformed),
            let regionRange = parts.region,
            ByteSearch.equals(p, parts.terminator, "aws4_request"),
            (try? AuthorizationParser.checkSignedHeaders(p, namesStart..<namesEnd, fail: AuthorizationParser.malformed))
                != nil
        else { return nil }
        let region = AuthorizationParser.text(p, regionRange)
        let service = AuthorizationParser.text(p, parts.service)
        let names = UnsafeBufferPointer(rebasing: p[namesStart..<namesEnd])
        let passesPolicy =
            (policy.allowedRegions.isEmpty || policy.allowedRegions.contains(region))
            && (policy.allowedServices.isEmpty || policy.allowedServices.contains(service))
            // (Under virtual-hosted style a `Host` that names a bucket must be signed: the full way says so.)
            && (!(policy.requireSignedHost || policy.virtualHostedStyle != nil)
                || ByteSearch.anyName(of: names, { ByteSearch.equals(UnsafeRawBufferPointer($0), "host") }))
        return CommonFormPrefix(
            id: parts.id, names: namesStart..<namesEnd, amzNamesStart: amzNamesStart(names),
            region: region, service: service,
            dateStamp: AuthorizationParser.text(p, parts.date),
            dateDay: parts.dateDay,
            rules: policy.rules(for: service),
            passesPolicy: passesPolicy)
    }

    /// Where the first of `names` (a checked `SignedHeaders` value: strictly ascending, joined by `;`)
    /// not below `x-amz-` starts; `names.count` when every name is below it.
    static func amzNamesStart(_ names: UnsafeBufferPointer<UInt8>) -> Int {
        let prefix: StaticString = "x-amz-"
        let amz = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        var start = 0
        while start < names.count {
            let end = ByteSearch.indexInShortRange(of: 0x3b, in: names, start..<names.count)
            if ByteSearch.compare(UnsafeBufferPointer(rebasing: names[start..<end]), amz) >= 0 { return start }
            start = end + 1
        }
        return names.count
    }

    /// The credential scope (its parts were checked as the scope's initializer checks them).
    var scope: CredentialScope { CredentialScope(checkedDateStamp: dateStamp, region: region, service: service) }
}

/// The last few common-form prefixes a verifier read (``CommonFormPrefix``), found by their bytes
/// (``KeptReadings``).
typealias CommonFormPrefixes = KeptReadings<CommonFormPrefix>
