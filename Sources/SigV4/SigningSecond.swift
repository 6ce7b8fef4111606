import HTTPTypes
package import _SigV4Crypto

/// What every signature made or checked with one signing key in one second shares, made once and
/// kept by a ``SigningKeyCache`` for ``Signer/sign(_:payload:at:)``, ``Signer/presign(_:payload:expires:at:)``
/// and the verifier: the date's text and its
/// `X-Amz-Date` field, the `Authorization` value's fixed start, and the key's MAC after the string
/// to sign's fixed text (`AWS4-HMAC-SHA256\n<date>\n<scope>\n`; the SHA-256 state holds its last
/// partial block). A signature in that second continues the MAC with the canonical request's hash
/// alone, as ``SigningContext`` does per context.
///
/// The MAC state is derived from the secret: it is never printed and is wiped in `deinit`. The
/// object is immutable once made, so signers on any thread share it.
///
/// ```swift
/// let second = cache.second(accessKeyID: id, secretAccessKey: secret, scope: scope, date: date)
/// let signature = second.signature(canonicalRequestHash: hash)
/// ```
package final class SigningSecond: @unchecked Sendable {
    /// Whose key: the access key id and the secret's fingerprint (never the secret).
    let accessKeyID: String
    let fingerprint: UInt64
    /// True when a signer made it after checking the access key id, secret and scope (see
    /// ``SigningKeyCache/second(accessKeyID:secretAccessKey:scope:date:checkedBySigner:)``).
    let checkedBySigner: Bool
    /// The key (its scope is the signatures' scope).
    package let key: SigningKey
    var scope: CredentialScope { key.scope }
    /// The second (since 1970) the date text, field and MAC state are for.
    let second: Int64
    let dateText: AmzDateText
    let dateField: HTTPField
    /// `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=`.
    let authorizationPrefix: [UInt8]
    /// Written only by `init` and `deinit`, so reads need no dynamic exclusivity check.
    @exclusivity(unchecked) private var macState: HMAC

    /// Makes the shared parts for `date`'s second under `key` (for the signer, `date`'s day's
    /// scope, with the access key id and scope checked: ``Signer/validateCredentials()``,
    /// ``Signer/scope(dateText:)``).
    init(accessKeyID: String, fingerprint: UInt64, date: AmzDate, key: SigningKey, checkedBySigner: Bool) {
        self.accessKeyID = accessKeyID
        self.fingerprint = fingerprint
        self.checkedBySigner = checkedBySigner
        self.key = key
        let scope = key.scope
        second = date.secondsSince1970
        let text = AmzDateText(date)
        dateText = text
        dateField = HTTPField(name: Signer.amzDateName, value: text.string)
        let prefixCount = Signer.authorizationByteCount(
            accessKeyID: accessKeyID, scope: scope, signedHeadersCount: 0) - 76
        authorizationPrefix = [UInt8](unsafeUninitializedCapacity: prefixCount) { buffer, count in
            var w = ByteWriter(buffer)
            Signer.writeAuthorizationPrefix(to: &w, accessKeyID: accessKeyID, scope: scope)
            count = w.count
        }
        var mac = key.hmac.makeMAC()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 99 + scope.byteCount) { buffer in
            var w = ByteWriter(buffer)
            StringToSign.write(dateText: text, scope: scope, canonicalRequestHash: SHA256Digest(), to: &w)
            // Everything but the hash's 64 hex digits.
            mac.update(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(w.written).dropLast(64)))
        }
        macState = mac
        mac.cleanse()
    }

    deinit { macState.cleanse() }

    /// True when this is for these key parts, region, service and second (compared in place, by
    /// bytes: see ``ByteSearch/sameBytes(_:_:)``). The second fixes the scope's date.
    @inline(__always)
    func matches(accessKeyID: String, fingerprint: UInt64, region: String, service: String, second: Int64) -> Bool {
        self.second == second && self.fingerprint == fingerprint && ByteSearch.sameBytes(self.accessKeyID, accessKeyID)
            && ByteSearch.sameBytes(key.scope.region, region) && ByteSearch.sameBytes(key.scope.service, service)
    }

    /// The same for a whole scope (its date included: a verifier's scope names its own day).
    @inline(__always)
    func matches(accessKeyID: String, fingerprint: UInt64, scope: CredentialScope, second: Int64) -> Bool {
        self.second == second && self.fingerprint == fingerprint && ByteSearch.sameBytes(self.accessKeyID, accessKeyID)
            && key.scope == scope
    }

    /// The signature of the string to sign ending in `canonicalRequestHash`.
    package func signature(canonicalRequestHash: SHA256Digest) -> Signature {
        var mac = macState
        var hex = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &hex) { h in
            canonicalRequestHash.withUnsafeBytes { Hex.write($0, to: h.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            mac.update(UnsafeRawBufferPointer(h))
        }
        // `finalize` wipes the copy's states.
        return Signature(digest: mac.finalize())
    }

    /// The `Authorization` value's byte count for `signedHeadersCount` bytes of signed header names.
    func authorizationByteCount(signedHeadersCount: Int) -> Int {
        authorizationPrefix.count + signedHeadersCount + 76
    }

    /// Writes the `Authorization` value at `p` (room for ``authorizationByteCount(signedHeadersCount:)``
    /// bytes) and returns the number of bytes written.
    func writeAuthorization(
        to p: UnsafeMutablePointer<UInt8>, signedHeaders: UnsafeRawBufferPointer, signature: Signature
    ) -> Int {
        let count = authorizationByteCount(signedHeadersCount: signedHeaders.count)
        var w = ByteWriter(UnsafeMutableBufferPointer(start: p, count: count))
        authorizationPrefix.withUnsafeBytes { w.append($0) }
        Signer.writeAuthorizationSuffix(to: &w, signedHeaders: signedHeaders, signature: signature)
        return w.count
    }
}
