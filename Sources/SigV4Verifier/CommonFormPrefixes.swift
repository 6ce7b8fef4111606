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
struct CommonFormPrefix: Sendable, Equatable {
    /// Where the parts are, as indices of the value (the same in every value with this prefix).
    var id: Range<Int>
    var date: Range<Int>
    /// The `SignedHeaders` value: lowercase tokens, strictly ascending, joined by `;`.
    var names: Range<Int>
    var region: String
    var service: String
    /// The credential's date, `YYYYMMDD`.
    var dateStamp: String
    var rules: ServiceRules
    /// The checks that read nothing but the prefix passed: the policy's region and service
    /// allow-lists, and `host` signed where the policy requires it (or names buckets by host).
    var passesPolicy: Bool

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
            id: parts.id, date: parts.date, names: namesStart..<namesEnd, region: region, service: service,
            dateStamp: AuthorizationParser.text(p, parts.date), rules: policy.rules(for: service),
            passesPolicy: passesPolicy)
    }

    /// The credential scope (its parts were checked as the scope's initializer checks them).
    var scope: CredentialScope { CredentialScope(checkedDateStamp: dateStamp, region: region, service: service) }
}

/// The last few common-form prefixes a verifier read (``CommonFormPrefix``), found by their bytes.
///
/// A handful of slots, replaced in turn: enough for the few keys and header sets that sign most of
/// a service's requests at a time. A prefix that is not kept costs one comparison per slot (the
/// length first) and is then read as it would be without the cache. The bytes live in memory
/// allocated once, so keeping a prefix allocates nothing (its region and service strings
/// aside, when longer than 15 bytes). Thread-safe: one lock, held for the comparison or the copy.
///
/// ```swift
/// let prefixes = CommonFormPrefixes()
/// if let known = prefixes.lookUp(prefix) { /* use it */ }
/// else if let read = CommonFormPrefix.read(p, signatureStart: n, policy: policy) { prefixes.remember(prefix, read) }
/// ```
final class CommonFormPrefixes: @unchecked Sendable {
    /// How many prefixes are kept.
    static let capacity = 4
    /// The longest prefix kept (a longer one, with many signed names, is read every time).
    static let maximumBytes = 384

    private struct State {
        var counts: [Int] = Array(repeating: -1, count: CommonFormPrefixes.capacity)
        var next = 0
    }

    /// `capacity` slots of `maximumBytes` each, and a reading per slot (in memory of their own,
    /// not arrays: an array element read is copied out through a temporary, and a reading is
    /// about 100 bytes); read and written only with `state`'s lock held (hence `@unchecked Sendable`).
    private let bytes: UnsafeMutablePointer<UInt8>
    private let readings: UnsafeMutablePointer<CommonFormPrefix?>
    private let state = Locked(State())

    init() {
        let n = CommonFormPrefixes.capacity * CommonFormPrefixes.maximumBytes
        bytes = .allocate(capacity: n)
        bytes.initialize(repeating: 0, count: n)
        readings = .allocate(capacity: CommonFormPrefixes.capacity)
        readings.initialize(repeating: nil, count: CommonFormPrefixes.capacity)
    }

    deinit {
        bytes.deallocate()
        readings.deinitialize(count: CommonFormPrefixes.capacity)
        readings.deallocate()
    }

    /// The reading kept for exactly these bytes, if any.
    func lookUp(_ prefix: UnsafeBufferPointer<UInt8>) -> CommonFormPrefix? {
        let n = prefix.count
        guard n <= CommonFormPrefixes.maximumBytes else { return nil }
        let bytes = self.bytes
        let readings = self.readings
        return state.withLock { s in
            for k in 0..<CommonFormPrefixes.capacity where s.counts[k] == n {
                let slot = UnsafeBufferPointer(start: bytes + k * CommonFormPrefixes.maximumBytes, count: n)
                if ByteSearch.compare(slot, prefix) == 0 { return readings[k] }
            }
            return nil
        }
    }

    /// Keeps `reading` for these bytes, in place of the slot kept longest.
    func remember(_ prefix: UnsafeBufferPointer<UInt8>, _ reading: CommonFormPrefix) {
        let n = prefix.count
        guard n <= CommonFormPrefixes.maximumBytes, let source = prefix.baseAddress else { return }
        let bytes = self.bytes
        let readings = self.readings
        state.withLock { s in
            let k = s.next
            s.next = (k + 1) % CommonFormPrefixes.capacity
            (bytes + k * CommonFormPrefixes.maximumBytes).update(from: source, count: n)
            s.counts[k] = n
            readings[k] = reading
        }
    }
}
