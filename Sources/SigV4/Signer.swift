public import HTTPTypes
import _SigV4Crypto

/// Signs HTTP requests with AWS Signature Version 4, in the `Authorization` header or in the query string.
///
/// The signer takes the request target exactly as it will be sent (`HTTPRequest.path`)
/// and the signing time as an argument; it never reads the clock.
///
/// ```swift
/// let signer = Signer(
///     credentials: Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "…"),
///     region: "us-east-1", service: "s3")
/// let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com",
///                           path: "/test.txt")
/// let signed = try signer.sign(request, payload: .emptySHA256, at: try AmzDate(iso8601Basic: "20130524T000000Z"))
/// print(signed.authorization!)
/// ```
public struct Signer: Sendable {
    /// The credentials that sign.
    public var credentials: Credentials
    /// The region in the credential scope.
    public var region: String
    /// The service signing name in the credential scope.
    public var service: String
    /// Canonicalization rules; defaults to ``ServiceRules/forService(_:)``.
    public var rules: ServiceRules
    /// Header selection and query policy.
    public var options: Options
    /// Where derived signing keys are cached; nil derives a key for every signature.
    public var keyCache: SigningKeyCache?

    /// Signing options beyond the service rules.
    public struct Options: Sendable, Hashable {
        /// Lowercase header names never signed.
        public var unsignedHeaders: Set<String>
        /// Lowercase header names signed even when in ``unsignedHeaders``.
        public var forcedSignedHeaders: Set<String>
        /// What a literal `+` in the query means.
        public var plusPolicy: URIEncoding.PlusPolicy

        /// Creates options.
        public init(
            unsignedHeaders: Set<String> = CanonicalRequest.defaultUnsignedHeaders,
            forcedSignedHeaders: Set<String> = [], plusPolicy: URIEncoding.PlusPolicy = .literal
        ) {
            self.unsignedHeaders = unsignedHeaders
            self.forcedSignedHeaders = forcedSignedHeaders
            self.plusPolicy = plusPolicy
        }

        /// The defaults.
        public static let `default` = Options()

        var selection: CanonicalRequest.HeaderSelection {
            .automatic(excluding: unsignedHeaders, forcing: forcedSignedHeaders)
        }
    }

    /// The longest presigned URL lifetime AWS accepts: 7 days.
    public static let maximumExpires = 604_800

    /// Creates a signer. `rules` defaults to the table entry for `service`.
    public init(
        credentials: Credentials, region: String, service: String, rules: ServiceRules? = nil,
        options: Options = .default, keyCache: SigningKeyCache? = .shared
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.rules = rules ?? ServiceRules.forService(service)
        self.options = options
        self.keyCache = keyCache
    }

    /// The signing key for `date`'s scope, from the cache when there is one.
    public func signingKey(for scope: CredentialScope) -> SigningKey {
        if let keyCache { return keyCache.signingKey(for: credentials, scope: scope) }
        return SigningKey(secretAccessKey: credentials.secretAccessKey, scope: scope)
    }

    /// The credential scope for `date`.
    public func scope(at date: AmzDate) throws(SigV4Error) -> CredentialScope {
        try CredentialScope(date: date, region: region, service: service)
    }

    func validateCredentials() throws(SigV4Error) {
        let id = credentials.accessKeyID
        guard !id.isEmpty, id.utf8.count <= 128,
            id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ",") })
        else {
            throw SigV4Error(.invalidCredentials, "the access key id must be 1 to 128 printable bytes without '/' or ','")
        }
        guard credentials.secretAccessKey.count > 0 else {
            throw SigV4Error(.invalidCredentials, "the secret access key is empty")
        }
    }

    // MARK: - Header signing

    /// Signs `request` with the `Authorization` header.
    ///
    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` (when the credentials have one),
    /// `X-Amz-Content-SHA256` (S3 rules) and `Authorization`. Existing `X-Amz-Date`
    /// and `X-Amz-Security-Token` headers are replaced; a request that already has
    /// `Authorization` is refused.
    ///
    /// - Parameters:
    ///   - request: the request; `path` is the wire request target.
    ///   - payload: how the body is covered.
    ///   - date: the signing time.
    public func sign(_ request: HTTPRequest, payload: PayloadHash, at date: AmzDate) throws(SigV4Error)
        -> SignedRequest
    {
        try validateCredentials()
        let scope = try self.scope(at: date)
        var fields = request.headerFields
        if fields[.authorization] != nil {
            throw SigV4Error(.alreadySigned, "the request already has an Authorization header")
        }
        let target = request.path ?? "/"
        if Signer.queryHasSigningParameters(target) {
            throw SigV4Error(.alreadySigned, "the request target already carries X-Amz-Signature or X-Amz-Credential")
        }
        let amzDate = HTTPField.Name("X-Amz-Date")!
        let token = HTTPField.Name("X-Amz-Security-Token")!
        let contentSHA = HTTPField.Name("X-Amz-Content-SHA256")!
        fields[amzDate] = nil
        fields[token] = nil

        var added: [HTTPField] = []
        added.append(HTTPField(name: amzDate, value: date.iso8601Basic))
        if let sessionToken = credentials.sessionToken, rules.sessionTokenPlacement == .signed {
            added.append(HTTPField(name: token, value: sessionToken))
        }
        if let existing = fields[contentSHA] {
            guard existing == payload.value else {
                throw SigV4Error(.payloadHashConflict, "x-amz-content-sha256 disagrees with the payload hash")
            }
        } else if rules.sendContentSHA256 {
            added.append(HTTPField(name: contentSHA, value: payload.value))
        }

        var inputs = try Signer.headerInputs(request: request, fields: fields)
        for f in added { inputs.append(HeaderInput(name: Array(f.name.rawName.utf8), value: Array(f.value.utf8))) }

        var builder = CanonicalRequestBuilder()
        let canonical = try builder.build(
            method: Array(request.method.rawValue.utf8), target: Array(target.utf8), extraQuery: [],
            headers: inputs, selection: options.selection, payloadHash: payload, rules: rules,
            plus: options.plusPolicy)
        let stringToSign = StringToSign(date: date, scope: scope, canonicalRequestHash: canonical.hash)
        let signature = signingKey(for: scope).signature(for: stringToSign)
        let authorization =
            "\(StringToSign.algorithm) Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(canonical.signedHeaders), Signature=\(signature.hex)"
        if let sessionToken = credentials.sessionToken, rules.sessionTokenPlacement == .appendedAfterSigning {
            added.append(HTTPField(name: token, value: sessionToken))
        }
        added.append(HTTPField(name: .authorization, value: authorization))
        var signedRequest = request
        signedRequest.headerFields = fields
        signedRequest.headerFields.append(contentsOf: added)
        return SignedRequest(
            request: signedRequest, scope: scope, canonicalRequest: canonical, stringToSign: stringToSign,
            signature: signature, authorization: authorization, addedHeaders: added, date: date, expires: nil)
    }

    // MARK: - Query signing (presigned URLs)

    /// Presigns `request`: the signature goes in the query string.
    ///
    /// Adds `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`,
    /// `X-Amz-SignedHeaders`, `X-Amz-Security-Token` (signed, or appended after
    /// signing where the service requires) and `X-Amz-Signature`. Every header in
    /// the request is signed, `host` included.
    ///
    /// - Parameters:
    ///   - payload: the payload hash; nil means `UNSIGNED-PAYLOAD` under S3 rules and
    ///     the empty-body hash otherwise.
    ///   - expires: seconds the URL stays valid, 1...604800.
    public func presign(_ request: HTTPRequest, payload: PayloadHash? = nil, expires: Int, at date: AmzDate)
        throws(SigV4Error) -> SignedRequest
    {
        try validateCredentials()
        guard expires >= 1 && expires <= Signer.maximumExpires else {
            throw SigV4Error(.invalidExpires, "X-Amz-Expires must be between 1 and 604800 seconds, got \(expires)")
        }
        let scope = try self.scope(at: date)
        let fields = request.headerFields
        if fields[.authorization] != nil {
            throw SigV4Error(.alreadySigned, "the request already has an Authorization header")
        }
        let target = request.path ?? "/"
        if Signer.queryHasSigningParameters(target, presign: true) {
            throw SigV4Error(.alreadySigned, "the request target already carries X-Amz-* signing parameters")
        }
        let inputs = try Signer.headerInputs(request: request, fields: fields)
        let payloadHash = payload ?? (rules.presignUnsignedPayload ? .unsignedPayload : .emptySHA256)

        // Signed header names, needed before the canonical request (they are in the query).
        var names = Set<String>()
        for h in inputs {
            let lower = String(decoding: CanonicalRequestBuilder.lowercased(h.name), as: UTF8.self)
            if options.unsignedHeaders.contains(lower) && !options.forcedSignedHeaders.contains(lower) { continue }
            names.insert(lower)
        }
        let signedHeaderList = names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.joined(separator: ";")

        var params: [(String, String)] = [
            ("X-Amz-Algorithm", StringToSign.algorithm),
            ("X-Amz-Credential", URIEncoding.encode("\(credentials.accessKeyID)/\(scope)")),
            ("X-Amz-Date", date.iso8601Basic),
            ("X-Amz-Expires", String(expires)),
            ("X-Amz-SignedHeaders", URIEncoding.encode(signedHeaderList)),
        ]
        let encodedToken = credentials.sessionToken.map { URIEncoding.encode($0) }
        if let encodedToken, rules.sessionTokenPlacement == .signed {
            params.append(("X-Amz-Security-Token", encodedToken))
        }
        var builder = CanonicalRequestBuilder()
        let canonical = try builder.build(
            method: Array(request.method.rawValue.utf8), target: Array(target.utf8), extraQuery: params,
            headers: inputs, selection: .exactly(signedHeaderList.isEmpty ? [] : signedHeaderList.split(separator: ";").map(String.init)),
            payloadHash: payloadHash, rules: rules, plus: options.plusPolicy)
        let stringToSign = StringToSign(date: date, scope: scope, canonicalRequestHash: canonical.hash)
        let signature = signingKey(for: scope).signature(for: stringToSign)

        if let encodedToken, rules.sessionTokenPlacement == .appendedAfterSigning {
            params.append(("X-Amz-Security-Token", encodedToken))
        }
        params.append(("X-Amz-Signature", signature.hex))
        var newTarget = target
        let hasQuery = target.utf8.contains(0x3f)
        if hasQuery && !target.hasSuffix("?") && !target.hasSuffix("&") { newTarget += "&" }
        if !hasQuery { newTarget += "?" }
        newTarget += params.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        var signedRequest = request
        signedRequest.path = newTarget
        return SignedRequest(
            request: signedRequest, scope: scope, canonicalRequest: canonical, stringToSign: stringToSign,
            signature: signature, authorization: nil, addedHeaders: [], date: date, expires: expires)
    }

    // MARK: - Helpers

    /// The headers to canonicalize: `Host` from the authority unless a `Host` field exists, then every field.
    static func headerInputs(request: HTTPRequest, fields: HTTPFields) throws(SigV4Error) -> [HeaderInput] {
        var inputs: [HeaderInput] = []
        inputs.reserveCapacity(fields.count + 4)
        if fields[HTTPField.Name("Host")!] == nil {
            guard let authority = request.authority, !authority.isEmpty else {
                throw SigV4Error(.missingHost, "the request has neither an authority nor a Host header")
            }
            inputs.append(HeaderInput(name: Array("host".utf8), value: Array(authority.utf8)))
        }
        for field in fields {
            let value = field.withUnsafeBytesOfValue { Array($0) }
            inputs.append(HeaderInput(name: Array(field.name.rawName.utf8), value: value))
        }
        return inputs
    }

    static let presignParameterNames: Set<String> = [
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signedheaders",
        "x-amz-signature", "x-amz-security-token",
    ]

    static func queryHasSigningParameters(_ target: String, presign: Bool = false) -> Bool {
        guard let q = target.firstIndex(of: "?") else { return false }
        for part in target[target.index(after: q)...].split(separator: "&") {
            let name = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0].lowercased()
            if presign ? presignParameterNames.contains(name) : (name == "x-amz-signature" || name == "x-amz-credential") {
                return true
            }
        }
        return false
    }
}

/// The outcome of signing: the signed request and every intermediate stage.
///
/// ```swift
/// let signed = try signer.sign(request, payload: .emptySHA256, at: date)
/// print(signed.canonicalRequest.text)
/// print(signed.stringToSign.text)
/// print(signed.signature.hex)
/// ```
public struct SignedRequest: Sendable {
    /// The request with the signing headers added (header mode) or the new target (presign).
    public var request: HTTPRequest
    /// The credential scope used.
    public var scope: CredentialScope
    /// The canonical request that was hashed.
    public var canonicalRequest: CanonicalRequest
    /// The string that was MACed.
    public var stringToSign: StringToSign
    /// The signature.
    public var signature: Signature
    /// The `Authorization` value (header mode only).
    public var authorization: String?
    /// The headers the signer added, in order (header mode only).
    public var addedHeaders: [HTTPField]
    /// The signing time.
    public var date: AmzDate
    /// `X-Amz-Expires` (presign only).
    public var expires: Int?

    /// The absolute URL, `scheme://authority/target` (useful for presigned URLs).
    public var url: String {
        "\(request.scheme ?? "https")://\(request.authority ?? "")\(request.path ?? "/")"
    }
}
