public import HTTPTypes
package import _SigV4Crypto

/// Signs requests with SigV4a (`AWS4-ECDSA-P256-SHA256`): the asymmetric variant AWS uses where
/// one signature must be valid in several regions (S3 Multi-Region Access Points, global
/// endpoints).
///
/// The canonical request follows the SigV4 rules of ``ServiceRules`` and ``Signer/Options``
/// byte for byte, with `X-Amz-Region-Set` signed (a header, or a query parameter when
/// presigning); the credential scope has no region (`<date>/<service>/aws4_request`); the string
/// to sign starts with `AWS4-ECDSA-P256-SHA256`; the signature is the hex of a DER ECDSA P-256
/// signature of SHA-256(string to sign) under the key ``SigV4aSigningKey`` derives from the
/// credentials. ECDSA is randomized: two signatures of the same request differ, and both verify.
/// aws-chunked bodies (`STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD`) are not supported.
///
/// ```swift
/// let signer = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: "s3")
/// let signed = try signer.sign(request, payload: .emptySHA256, at: AmzDate(Date()))
/// // signed.request carries Authorization, X-Amz-Date, X-Amz-Region-Set, X-Amz-Content-SHA256
/// ```
public struct SigV4aSigner: Sendable {
    /// The credentials; the key pair is derived from them once, when the signer is made.
    public let credentials: Credentials
    /// The regions the signature is valid in (`X-Amz-Region-Set`), e.g. `["us-east-1", "us-west-2"]`
    /// or `["*"]`.
    public let regionSet: [String]
    /// The service name, as in the credential scope.
    public let service: String
    /// Path, payload-hash and session-token rules.
    public let rules: ServiceRules
    /// Header selection and `+` policy, as for ``Signer``.
    public let options: Signer.Options
    /// The derived key pair.
    public let signingKey: SigV4aSigningKey
    /// The canonicalization of header signing, shared with ``Signer`` (no secret).
    let steps: HeaderSigning

    /// The algorithm name.
    public static let algorithm = "AWS4-ECDSA-P256-SHA256"

    /// Creates a signer and derives its key. Throws `invalidCredentials` for credentials a
    /// ``Signer`` refuses too, and `invalidScope` for an empty region set or one of more than 64
    /// regions, a region that is empty, longer than 128 bytes or holds a byte outside printable
    /// ASCII, a space or `,` (what the verifier refuses: a set it would not read) or `/` (which
    /// the verifier reads, but no region name holds), or a service that is not a scope component.
    public init(
        credentials: Credentials, regionSet: [String], service: String, rules: ServiceRules? = nil,
        options: Signer.Options = .default
    ) throws(SigV4Error) {
        try Signer(credentials: credentials, region: "us-east-1", service: service, keyCache: nil).validateCredentials()
        guard SigV4aRegionSet.isValid(regionSet, allowingSlash: false) else {
            throw SigV4Error(
                .invalidScope,
                "the region set must name 1 to 64 regions (or *) of printable ASCII without ',', '/' or spaces")
        }
        guard Signer.isScopeComponent(service) else {
            throw SigV4Error(.invalidScope, "the service must be 1 to 128 printable bytes without '/' or ','")
        }
        self.credentials = credentials
        self.regionSet = regionSet
        self.service = service
        self.rules = rules ?? ServiceRules.forService(service)
        self.options = options
        self.signingKey = try SigV4aSigningKey(credentials: credentials)
        steps = HeaderSigning(
            signer: Signer(
                credentials: credentials, region: "-", service: service, rules: self.rules, options: options,
                keyCache: nil))
    }

    static let regionSetName = HTTPField.Name("X-Amz-Region-Set")!

    /// `X-Amz-Region-Set`'s value: the regions joined by `,`.
    public var regionSetValue: String { regionSet.joined(separator: ",") }

    /// `<date>/<service>/aws4_request`.
    func scope(_ date: AmzDate) -> String { "\(date.dateStamp)/\(service)/\(CredentialScope.terminator)" }

    /// Signs `request` with the `Authorization` header. Adds `X-Amz-Date`, `X-Amz-Region-Set`,
    /// `X-Amz-Security-Token` (when the credentials have one), `X-Amz-Content-SHA256` (S3 rules)
    /// and `Authorization`, replacing the caller's `X-Amz-Date`, `X-Amz-Region-Set` and
    /// `X-Amz-Security-Token`; a request that already has `Authorization` or signing query
    /// parameters is refused, as ``Signer/sign(_:payload:at:)`` refuses it.
    public func sign(_ request: HTTPRequest, payload: PayloadHash, at date: AmzDate) throws(SigV4Error)
        -> SigV4aSignedRequest
    {
        // The region set goes in as a field of the request, so the header canonicalization that
        // `Signer.sign` uses (which adds `X-Amz-Date`, the token and `X-Amz-Content-SHA256` and
        // refuses what it refuses) signs it with the rest.
        var fields = request.headerFields
        fields[SigV4aSigner.regionSetName] = nil
        let regionSetField = HTTPField(name: SigV4aSigner.regionSetName, value: regionSetValue)
        var withRegionSet = request
        withRegionSet.headerFields = fields
        withRegionSet.headerFields.append(regionSetField)
        let dateText = AmzDateText(date)
        var facts = HeaderSigning.FieldFacts()
        var names = ""
        let canonical: [UInt8] = try steps.withParts(
            withRegionSet, payload: payload, dateText: dateText, token: steps.signedToken(of: credentials)
        ) {
            parts throws(SigV4Error) -> [UInt8] in
            facts = parts.facts
            guard parts.bound <= 1 << 28 else { throw SigV4Error(.invalidHeader, "the request is too large to canonicalize") }
            var range = 0..<0
            let bytes = try ByteWriter.makeArray(capacity: parts.bound) { w throws(SigV4Error) in range = parts.write(to: &w) }
            names = String(decoding: bytes[range], as: UTF8.self)
            return bytes
        }
        let canonicalRequest = CanonicalRequest(bytes: canonical)
        let (stringToSign, signature) = try stringToSignAndSignature(canonicalRequest, date: date)
        let authorization =
            "\(SigV4aSigner.algorithm) Credential=\(credentials.accessKeyID)/\(scope(date)), "
            + "SignedHeaders=\(names), Signature=\(Hex.encode(signature))"
        // The fields sent: the request's own without the signer's, then the region set and what
        // every header signature adds.
        if facts.hasAmzDate { fields[Signer.amzDateName] = nil }
        if facts.hasSecurityToken { fields[Signer.securityTokenName] = nil }
        if facts.hasS3SessionToken { fields[Signer.s3SessionTokenName] = nil }
        let before = fields.count
        fields.append(regionSetField)
        Signer.appendSigningFields(
            to: &fields, dateField: HTTPField(name: Signer.amzDateName, value: date.iso8601Basic),
            token: credentials.sessionToken, rules: rules, payload: payload, hadContentSHA256: facts.hasContentSHA256,
            authorization: HTTPField(name: .authorization, value: authorization))
        var signed = request
        signed.headerFields = fields
        return SigV4aSignedRequest(
            request: signed, canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            authorization: authorization, addedCount: fields.count - before, date: date, expires: nil)
    }

    /// Presigns `request`: the signature goes in the query string, after `X-Amz-Algorithm`,
    /// `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`, `X-Amz-Expires`,
    /// `X-Amz-Region-Set` (and `X-Amz-Security-Token`, signed or appended after signing as the
    /// rules say). Every header of the request is signed, `host` included.
    ///
    /// - Parameters:
    ///   - payload: the payload hash; nil means `UNSIGNED-PAYLOAD` under S3 rules and the empty-body
    ///     hash otherwise.
    ///   - expires: seconds the URL stays valid, 1...604800.
    public func presign(_ request: HTTPRequest, payload: PayloadHash? = nil, expires: Int, at date: AmzDate)
        throws(SigV4Error) -> SigV4aSignedRequest
    {
        guard expires >= 1 && expires <= Signer.maximumExpires else {
            throw SigV4Error(.invalidExpires, "X-Amz-Expires must be between 1 and 604800 seconds, got \(expires)")
        }
        if request.headerFields[.authorization] != nil {
            throw SigV4Error(.alreadySigned, "the request already has an Authorization header")
        }
        let target = request.path ?? "/"
        let (carriesParameters, separator) = Signer.presignTarget(target)
        if carriesParameters || SigV4aSigner.targetCarriesRegionSet(target) {
            throw SigV4Error(.alreadySigned, "the request target already carries X-Amz-* signing parameters")
        }
        let payloadHash = payload ?? (rules.presignUnsignedPayload ? .unsignedPayload : .emptySHA256)
        let headers = try SigV4aSigner.headerList(request, request.headerFields)
        // The signed header names first (they go into the query the canonical request covers).
        let names = try CanonicalRequest(
            method: request.method.rawValue, target: "/", headers: headers, selection: options.selection,
            payloadHash: payloadHash, rules: rules, plus: options.plusPolicy
        ).signedHeaders
        let token = credentials.sessionToken
        var parameters: [(String, String)] = [
            ("X-Amz-Algorithm", SigV4aSigner.algorithm),
            ("X-Amz-Credential", URIEncoding.encode("\(credentials.accessKeyID)/\(scope(date))")),
            ("X-Amz-Date", date.iso8601Basic),
            ("X-Amz-SignedHeaders", URIEncoding.encode(names)),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-Region-Set", URIEncoding.encode(regionSetValue)),
        ]
        if let token, rules.sessionTokenPlacement != .appendedAfterSigning {
            parameters.append(("\(rules.sessionTokenPlacement.queryParameterName)", URIEncoding.encode(token)))
        }
        let canonical = try CanonicalRequest(
            method: request.method.rawValue, target: target, extraQuery: parameters, headers: headers,
            selection: .exactly(names.split(separator: ";").map(String.init)), payloadHash: payloadHash, rules: rules,
            plus: options.plusPolicy)
        let (stringToSign, signature) = try stringToSignAndSignature(canonical, date: date)
        if let token, rules.sessionTokenPlacement == .appendedAfterSigning {
            parameters.append(("X-Amz-Security-Token", URIEncoding.encode(token)))
        }
        parameters.append(("X-Amz-Signature", Hex.encode(signature)))
        var newTarget = target
        if let separator { newTarget.append(Character(Unicode.Scalar(separator))) }
        newTarget += parameters.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        var signed = request
        signed.path = newTarget
        return SigV4aSignedRequest(
            request: signed, canonicalRequest: canonical, stringToSign: stringToSign, signature: signature,
            authorization: nil, addedCount: 0, date: date, expires: expires)
    }

    /// True when the query of `target` has a parameter named `X-Amz-Region-Set` in any case:
    /// presigning adds its own, and a URL with two is refused by verifiers (one region set per
    /// signature), so such a target is refused as one carrying the other signing parameters is.
    static func targetCarriesRegionSet(_ target: String) -> Bool {
        let name = Array("x-amz-region-set".utf8)
        let bytes = Array(target.utf8)
        guard let q = bytes.firstIndex(of: UInt8(ascii: "?")) else { return false }
        return bytes[(q + 1)...].split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).contains { p in
            let end = p.firstIndex(of: UInt8(ascii: "=")) ?? p.endIndex
            return p[p.startIndex..<end].lazy.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }.elementsEqual(name)
        }
    }

    /// The string to sign for `canonical` at `date`, and its signature.
    func stringToSignAndSignature(_ canonical: CanonicalRequest, date: AmzDate) throws(SigV4Error) -> (String, [UInt8]) {
        let bytes = SigV4aSigner.stringToSign(date: date, service: service, canonicalRequestHash: canonical.hash)
        do {
            return (String(decoding: bytes, as: UTF8.self), try signingKey.privateKey.signature(forDigest: SHA256.hash(bytes)))
        } catch {
            throw SigV4Error(.invalidCredentials, "ECDSA signing failed")
        }
    }

    /// SigV4a's string to sign: `AWS4-ECDSA-P256-SHA256`, the date, `<date>/<service>/aws4_request`
    /// (no region) and the canonical request's hash in hex, one per line. The signer and the
    /// verifier both make it here.
    package static func stringToSign(date: AmzDate, service: String, canonicalRequestHash hash: SHA256Digest) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + service.utf8.count)
        out.append(contentsOf: "AWS4-ECDSA-P256-SHA256\n".utf8)
        out.append(contentsOf: date.iso8601Basic.utf8)
        out.append(0x0a)
        out.append(contentsOf: date.dateStamp.utf8)
        out.append(0x2f)
        out.append(contentsOf: service.utf8)
        out.append(contentsOf: "/aws4_request\n".utf8)
        out.append(contentsOf: hash.hex.utf8)
        return out
    }

    /// The request's fields as (name, value) pairs, with `host` from the authority when no `Host`
    /// field is present.
    static func headerList(_ request: HTTPRequest, _ fields: HTTPFields) throws(SigV4Error) -> [(String, String)] {
        var list = fields.map { ($0.name.rawName, $0.value) }
        if fields[Signer.hostName] == nil {
            guard let authority = request.authority, !authority.isEmpty else {
                throw SigV4Error(.missingHost, "the request has neither an authority nor a Host header")
            }
            list.append(("host", authority))
        }
        return list
    }

}

/// A request signed by ``SigV4aSigner``, with what went into its signature.
///
/// ```swift
/// let signed = try signer.presign(request, expires: 3600, at: date)
/// print(signed.url)
/// print(signed.canonicalRequest.text, signed.stringToSign, signed.signatureHex)
/// ```
public struct SigV4aSignedRequest: Sendable {
    /// The signed request: new header fields, or (presigned) the new target.
    public var request: HTTPRequest
    /// The canonical request that was hashed.
    public var canonicalRequest: CanonicalRequest
    /// The string whose SHA-256 was signed.
    public var stringToSign: String
    /// The DER-encoded ECDSA signature.
    public var signature: [UInt8]
    /// The `Authorization` value (header signing only).
    public var authorization: String?
    /// The signing time.
    public var date: AmzDate
    /// `X-Amz-Expires` (presigning only).
    public var expires: Int?
    /// How many fields at the end of ``request`` the signer added.
    let addedCount: Int

    init(
        request: HTTPRequest, canonicalRequest: CanonicalRequest, stringToSign: String, signature: [UInt8],
        authorization: String?, addedCount: Int, date: AmzDate, expires: Int?
    ) {
        self.request = request
        self.canonicalRequest = canonicalRequest
        self.stringToSign = stringToSign
        self.signature = signature
        self.authorization = authorization
        self.addedCount = addedCount
        self.date = date
        self.expires = expires
    }

    /// The signature as it goes on the wire: lowercase hex of the DER bytes.
    public var signatureHex: String { Hex.encode(signature) }

    /// The headers the signer added, in order (header signing only).
    public var addedHeaders: [HTTPField] { Array(request.headerFields.suffix(addedCount)) }

    /// The absolute URL, `scheme://authority/target` (useful for presigned URLs).
    public var url: String { SignedRequest.url(of: request) }
}
