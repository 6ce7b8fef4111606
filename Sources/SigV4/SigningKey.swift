package import _SigV4Crypto

/// The derived SigV4 signing key for one scope, with precomputed HMAC state.
///
/// AWS documentation: "Calculate the signature", key derivation:
/// `kDate = HMAC("AWS4" + secret, date)`, `kRegion = HMAC(kDate, region)`,
/// `kService = HMAC(kRegion, service)`, `kSigning = HMAC(kService, "aws4_request")`.
///
/// The key bytes live in zeroizing storage; the description is `<redacted>`.
///
/// ```swift
/// let key = SigningKey(secretAccessKey: secret, scope: scope)
/// let signature = key.signature(for: stringToSign)
/// ```
public struct SigningKey: Sendable, CustomStringConvertible, CustomReflectable {
    package let hmac: HMACKey
    /// The scope the key belongs to.
    public let scope: CredentialScope

    /// Derives the key with the four HMACs of the key-derivation chain.
    public init(secretAccessKey: SecretAccessKey, scope: CredentialScope) {
        self.hmac = HMACChain.run { chain in
            SigningKey.derive(secretAccessKey: secretAccessKey, scope: scope, into: &chain)
            return chain.withLast { HMACKey(key: $0) }
        }
        self.scope = scope
    }

    /// Runs the key-derivation chain in `chain`, which then holds `kSigning` as its last MAC. Every
    /// intermediate key stays in the chain (wiped when it ends); `"AWS4" + secret` is read in place.
    static func derive(secretAccessKey: SecretAccessKey, scope: CredentialScope, into chain: inout HMACChain) {
        secretAccessKey.withUnsafeBytes { secret in
            withUTF8Bytes(scope.dateStamp) { chain.start(keyPrefix: "AWS4", key: secret, message: $0) }
        }
        withUTF8Bytes(scope.region) { chain.next($0) }
        withUTF8Bytes(scope.service) { chain.next($0) }
        withUTF8Bytes(CredentialScope.terminator) { chain.next($0) }
    }

    /// The same chain from the scope's text written once (``CredentialScope/withText(_:)``): its
    /// parts are read in place, no string borrowed again.
    static func derive(secretAccessKey: SecretAccessKey, scope: CredentialScope.Text, into chain: inout HMACChain) {
        secretAccessKey.withUnsafeBytes { chain.start(keyPrefix: "AWS4", key: $0, message: scope.date) }
        chain.next(scope.region)
        chain.next(scope.service)
        chain.next(scope.terminator)
    }

    /// The signature of the string to sign for (date, scope, hash) under the key derived from
    /// `secretAccessKey`, with no key object made (the derivation and the MAC in one ``HMACChain``
    /// on the stack): the signer without a key cache, which would use the key once.
    static func signature(
        secretAccessKey: SecretAccessKey, dateText: AmzDateText, scope: CredentialScope,
        canonicalRequestHash: SHA256Digest
    ) -> Signature {
        scope.withText { text in
            signature(
                secretAccessKey: secretAccessKey, dateText: dateText, scope: text,
                canonicalRequestHash: canonicalRequestHash)
        }
    }

    /// The same, from the scope's text written once (``CredentialScope/withText(_:)``), which the
    /// string to sign and the derivation both read: `Signer.sign` writes the `Authorization` value
    /// from it too.
    static func signature(
        secretAccessKey: SecretAccessKey, dateText: AmzDateText, scope: CredentialScope.Text,
        canonicalRequestHash: SHA256Digest
    ) -> Signature {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 99 + scope.bytes.count) { buffer in
            var w = ByteWriter(buffer)
            StringToSign.write(
                dateText: dateText, scopeText: scope.bytes, canonicalRequestHash: canonicalRequestHash, to: &w)
            return HMACChain.run { chain in
                derive(secretAccessKey: secretAccessKey, scope: scope, into: &chain)
                chain.next(UnsafeRawBufferPointer(w.written))
                return Signature(digest: chain.lastMAC)
            }
        }
    }

    /// HMAC-SHA256 of `message` under this key.
    package func mac(_ message: UnsafeRawBufferPointer) -> SHA256Digest { hmac.authenticationCode(for: message) }

    /// The hex signature of a string to sign.
    public func signature(for stringToSign: StringToSign) -> Signature {
        Signature(digest: stringToSign.withBytes { mac($0) })
    }

    public var description: String { "SigningKey(\(scope), <redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: ["scope": scope], displayStyle: .struct) }
}

/// A 32-byte SigV4 signature, printed as 64 lowercase hex digits.
///
/// ```swift
/// let sig = Signature(hex: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
/// ```
public struct Signature: Sendable, Hashable, CustomStringConvertible {
    package let digest: SHA256Digest

    package init(digest: SHA256Digest) { self.digest = digest }

    /// Parses 64 hex digits (lowercase or uppercase), or returns nil.
    public init?(hex: String) {
        guard let d = SHA256Digest(hex: hex) else { return nil }
        digest = d
    }

    /// Parses 64 hex digits from raw bytes, or returns nil.
    public init?<Bytes: Collection<UInt8>>(hexBytes: Bytes) {
        guard let d = SHA256Digest(hexBytes: hexBytes) else { return nil }
        digest = d
    }

    /// The lowercase hex form.
    public var hex: String { digest.hex }
    public var description: String { hex }

    /// Compares in constant time. Use this, not `==`, on untrusted input.
    public func constantTimeEquals(_ other: Signature) -> Bool { digest.constantTimeEquals(other.digest) }
}
