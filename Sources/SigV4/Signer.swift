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
        public var unsignedHeaders: Set<String> {
            didSet { filter = HeaderFilter(excluding: unsignedHeaders, forcing: forcedSignedHeaders) }
        }
        /// Lowercase header names signed even when in ``unsignedHeaders``.
        public var forcedSignedHeaders: Set<String> {
            didSet { filter = HeaderFilter(excluding: unsignedHeaders, forcing: forcedSignedHeaders) }
        }
        /// The two sets above, precomputed for byte-level checks.
        var filter: HeaderFilter
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
            self.filter = HeaderFilter(excluding: unsignedHeaders, forcing: forcedSignedHeaders)
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
        let fields = request.headerFields
        let scan = try Signer.scanForHeaderSigning(fields)
        if scan.hasContentSHA256 {
            guard fields[Signer.contentSHA256Name] == payload.value else {
                throw SigV4Error(.payloadHashConflict, "x-amz-content-sha256 disagrees with the payload hash")
            }
        }
        let token = credentials.sessionToken
        let target = request.path ?? "/"

        let plan = try planHeaderCanonicalRequest(request, scan: scan, target: target, payload: payload)
        guard plan.bound <= 1 << 28 else {
            throw SigV4Error(.invalidHeader, "the request is too large to canonicalize")
        }
        // The canonical request is written on the stack (heap above 1 KiB), hashed, and only
        // rebuilt if the caller reads `SignedRequest.canonicalRequest`.
        let accessKeyID = credentials.accessKeyID
        let key = signingKey(for: scope)
        let dateText = AmzDateText(date)
        var signature = Signature(digest: SHA256Digest())
        var canonicalHash = SHA256Digest()
        let authorization: String = try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: plan.bound) {
            buffer throws(SigV4Error) in
            var w = ByteWriter(buffer)
            let range = try writeHeaderCanonicalRequest(
                request, fields: fields, plan: plan, target: target, payload: payload, dateText: dateText, to: &w)
            canonicalHash = SHA256.hash(UnsafeRawBufferPointer(w.written))
            signature = key.signature(dateText: dateText, scope: scope, canonicalRequestHash: canonicalHash)
            let names = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[range])
            let count = Signer.authorizationByteCount(
                accessKeyID: accessKeyID, scope: scope, signedHeadersCount: names.count)
            let signature = signature
            return String(unsafeUninitializedCapacity: count) { out in
                Signer.writeAuthorization(
                    to: out.baseAddress!, accessKeyID: accessKeyID, scope: scope, signedHeaders: names,
                    signature: signature)
            }
        }

        var signedFields = fields
        if scan.hasAmzDate { signedFields[Signer.amzDateName] = nil }
        if scan.hasSecurityToken { signedFields[Signer.securityTokenName] = nil }
        let before = signedFields.count
        signedFields.append(HTTPField(name: Signer.amzDateName, value: dateText.string))
        if let token, rules.sessionTokenPlacement == .signed {
            signedFields.append(HTTPField(name: Signer.securityTokenName, value: token))
        }
        if !scan.hasContentSHA256 && rules.sendContentSHA256 {
            signedFields.append(HTTPField(name: Signer.contentSHA256Name, value: payload.value))
        }
        if let token, rules.sessionTokenPlacement == .appendedAfterSigning {
            signedFields.append(HTTPField(name: Signer.securityTokenName, value: token))
        }
        signedFields.append(HTTPField(name: .authorization, value: authorization))
        let addedCount = signedFields.count - before
        var signedRequest = request
        signedRequest.headerFields = signedFields
        return SignedRequest(
            request: signedRequest, scope: scope,
            canonical: .deferred(SignedRequest.HeaderRecipe(signer: withoutSecret, original: request, payload: payload)),
            stringToSign: StringToSign(date: date, scope: scope, canonicalRequestHash: canonicalHash),
            signature: signature, authorization: authorization, addedCount: addedCount, date: date,
            expires: nil)
    }

    /// This signer with the secret swapped for an empty placeholder and no key cache: what a
    /// ``SignedRequest`` keeps to rebuild its canonical request on demand.
    var withoutSecret: Signer {
        var s = self
        s.credentials.secretAccessKey = SecretAccessKey.placeholder
        s.keyCache = nil
        return s
    }

    static let amzDateName = HTTPField.Name("X-Amz-Date")!
    static let securityTokenName = HTTPField.Name("X-Amz-Security-Token")!
    static let contentSHA256Name = HTTPField.Name("X-Amz-Content-SHA256")!
    static let hostName = HTTPField.Name("Host")!

    /// What one pass over the header fields finds.
    struct FieldScan {
        var hasHost = false
        var hasAmzDate = false
        var hasSecurityToken = false
        var hasContentSHA256 = false
        /// Fields that go into the canonical request, and their name and value bytes.
        var count = 0
        var byteCount = 0
    }

    /// Refuses an `Authorization` field and notes the fields the signer sets or checks.
    static func scanForHeaderSigning(_ fields: HTTPFields) throws(SigV4Error) -> FieldScan {
        var scan = FieldScan()
        for field in fields {
            let name = field.name
            let length = name.canonicalName.utf8.count
            // Compare only names of a matching length (string equality is costly when it fails).
            switch length {
            case 13 where name == .authorization:
                throw SigV4Error(.alreadySigned, "the request already has an Authorization header")
            case 10 where name == amzDateName:
                scan.hasAmzDate = true
                continue
            case 20 where name == securityTokenName:
                scan.hasSecurityToken = true
                continue
            case 20 where name == contentSHA256Name:
                scan.hasContentSHA256 = true
            case 4 where name == hostName:
                scan.hasHost = true
            default:
                break
            }
            scan.count += 1
            scan.byteCount += length + field.withUnsafeBytesOfValue { $0.count }
        }
        return scan
    }

    /// What the header-mode canonical request is built from, and an upper bound on its length.
    struct HeaderPlan {
        var authority: String?
        var signToken: String?
        var addContentSHA: Bool
        var count: Int
        var byteCount: Int
        var bound: Int
    }

    /// Checks the target and host, and sizes the header-mode canonical request.
    func planHeaderCanonicalRequest(
        _ request: HTTPRequest, scan: FieldScan, target: String, payload: PayloadHash
    ) throws(SigV4Error) -> HeaderPlan {
        if Signer.queryHasSigningParameters(target) {
            throw SigV4Error(.alreadySigned, "the request target already carries X-Amz-Signature or X-Amz-Credential")
        }
        var authority: String?
        if !scan.hasHost {
            guard let a = request.authority, !a.isEmpty else {
                throw SigV4Error(.missingHost, "the request has neither an authority nor a Host header")
            }
            authority = a
        }
        let signToken = rules.sessionTokenPlacement == .signed ? credentials.sessionToken : nil
        let addContentSHA = !scan.hasContentSHA256 && rules.sendContentSHA256
        var count = scan.count + 1
        var byteCount = scan.byteCount + 26  // x-amz-date + value
        if let authority {
            count += 1
            byteCount += 4 + authority.utf8.count
        }
        if let signToken {
            count += 1
            byteCount += 20 + signToken.utf8.count
        }
        if addContentSHA {
            count += 1
            byteCount += 20 + payload.value.utf8.count
        }
        let bound =
            CanonicalRequestBuilder.requestLinesBound(
                methodCount: request.method.rawValue.utf8.count, targetCount: target.utf8.count, extra: [])
            + 2 * byteCount + 3 * count + payload.value.utf8.count + 8
        return HeaderPlan(
            authority: authority, signToken: signToken, addContentSHA: addContentSHA, count: count,
            byteCount: byteCount, bound: bound)
    }

    /// Writes the header-mode canonical request (at most `plan.bound` bytes) and returns the
    /// range of its `SignedHeaders` line. The request's own `X-Amz-Date` and
    /// `X-Amz-Security-Token` fields are replaced by the signer's.
    func writeHeaderCanonicalRequest(
        _ request: HTTPRequest, fields: HTTPFields, plan: HeaderPlan, target: String, payload: PayloadHash,
        dateText: AmzDateText, to out: inout ByteWriter
    ) throws(SigV4Error) -> Range<Int> {
        let rules = self.rules
        let plus = options.plusPolicy
        try withUTF8Bytes(request.method.rawValue) { m in
            withUTF8Bytes(target) { t in
                Result { () throws(SigV4Error) in
                    try CanonicalRequestBuilder.appendRequestLines(
                        method: m, target: t.bindMemory(to: UInt8.self), extraQuery: [], rules: rules, plus: plus,
                        to: &out)
                }
            }
        }.get()
        let filter = options.filter
        return try CanonicalHeaders.withScratch(byteCount: plan.byteCount, count: plan.count) {
            headers throws(SigV4Error) -> Range<Int> in
            if let authority = plan.authority {
                withUTF8Bytes(authority) { headers.add(lowercaseName: Signer.lit("host"), value: $0) }
            }
            for field in fields {
                let name = field.name
                var canonicalName = name.canonicalName
                switch canonicalName.utf8.count {
                case 10 where name == Signer.amzDateName: continue
                case 20 where name == Signer.securityTokenName: continue
                default: break
                }
                canonicalName.withUTF8 { n in
                    field.withUnsafeBytesOfValue { v in
                        headers.add(lowercaseName: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v))
                    }
                }
            }
            dateText.withUnsafeBytes { headers.add(lowercaseName: Signer.lit("x-amz-date"), value: $0) }
            if let signToken = plan.signToken {
                withUTF8Bytes(signToken) { headers.add(lowercaseName: Signer.lit("x-amz-security-token"), value: $0) }
            }
            if plan.addContentSHA {
                withUTF8Bytes(payload.value) { headers.add(lowercaseName: Signer.lit("x-amz-content-sha256"), value: $0) }
            }
            headers.sort()
            headers.select(filter)
            headers.appendCanonicalHeaders(to: &out)
            out.append(0x0a)
            let start = out.count
            headers.appendSignedHeaders(to: &out)
            let end = out.count
            out.append(0x0a)
            out.append(string: payload.value)
            return start..<end
        }
    }

    /// The bytes of a static ASCII string.
    static func lit(_ s: StaticString) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount)
    }

    /// `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<names>, Signature=<hex>`.
    static func authorizationValue(
        accessKeyID: String, scope: CredentialScope, signedHeaders: String, signature: Signature
    ) -> String {
        var signedHeaders = signedHeaders
        return signedHeaders.withUTF8 { names in
            let count = authorizationByteCount(accessKeyID: accessKeyID, scope: scope, signedHeadersCount: names.count)
            return String(unsafeUninitializedCapacity: count) { buffer in
                writeAuthorization(
                    to: buffer.baseAddress!, accessKeyID: accessKeyID, scope: scope,
                    signedHeaders: UnsafeRawBufferPointer(names), signature: signature)
            }
        }
    }

    static func authorizationByteCount(accessKeyID: String, scope: CredentialScope, signedHeadersCount: Int) -> Int {
        28 + accessKeyID.utf8.count + 1 + scope.byteCount + 16 + signedHeadersCount + 12 + 64
    }

    /// Writes the `Authorization` value at `p` (room for ``authorizationByteCount(accessKeyID:scope:signedHeadersCount:)``
    /// bytes) and returns the number of bytes written.
    static func writeAuthorization(
        to p: UnsafeMutablePointer<UInt8>, accessKeyID: String, scope: CredentialScope,
        signedHeaders: UnsafeRawBufferPointer, signature: Signature
    ) -> Int {
        let count = authorizationByteCount(accessKeyID: accessKeyID, scope: scope, signedHeadersCount: signedHeaders.count)
        var w = ByteWriter(UnsafeMutableBufferPointer(start: p, count: count))
        writeAuthorizationPrefix(to: &w, accessKeyID: accessKeyID, scope: scope)
        writeAuthorizationSuffix(to: &w, signedHeaders: signedHeaders, signature: signature)
        return w.count
    }

    /// `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=`: the part fixed for a day.
    static func writeAuthorizationPrefix(to w: inout ByteWriter, accessKeyID: String, scope: CredentialScope) {
        w.append("AWS4-HMAC-SHA256 Credential=")
        w.append(string: accessKeyID)
        w.append(0x2f)
        scope.write(to: &w)
        w.append(", SignedHeaders=")
    }

    /// `<names>, Signature=<hex>` (`signedHeaders.count + 76` bytes).
    static func writeAuthorizationSuffix(to w: inout ByteWriter, signedHeaders: UnsafeRawBufferPointer, signature: Signature) {
        w.append(signedHeaders)
        w.append(", Signature=")
        w.write(upTo: 64) { out in
            signature.digest.withUnsafeBytes { Hex.write($0, to: out) }
            return 64
        }
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
        let payloadHash = payload ?? (rules.presignUnsignedPayload ? .unsignedPayload : .emptySHA256)

        // Every field is signed (x-amz-date and the token too, when the caller set them), plus Host.
        var hasHost = false
        var count = 0
        var byteCount = 0
        for field in fields {
            if field.name == Signer.hostName { hasHost = true }
            count += 1
            byteCount += field.name.canonicalName.utf8.count + field.withUnsafeBytesOfValue { $0.count }
        }
        var authority: String?
        if !hasHost {
            guard let a = request.authority, !a.isEmpty else {
                throw SigV4Error(.missingHost, "the request has neither an authority nor a Host header")
            }
            authority = a
            count += 1
            byteCount += 4 + a.utf8.count
        }
        let filter = options.filter
        let token = credentials.sessionToken
        let tokenSigned = token != nil && rules.sessionTokenPlacement == .signed
        let tokenAfter = token != nil && rules.sessionTokenPlacement == .appendedAfterSigning
        let key = signingKey(for: scope)
        var canonicalBytes: [UInt8] = []
        var signature = Signature(digest: SHA256Digest())
        var canonicalHash = SHA256Digest()

        let newTarget: String = try CanonicalHeaders.withScratch(byteCount: byteCount, count: count) {
            headers throws(SigV4Error) -> String in
            if var authority {
                authority.withUTF8 { headers.add(lowercaseName: Signer.lit("host"), value: UnsafeRawBufferPointer($0)) }
            }
            for field in fields {
                var canonicalName = field.name.canonicalName
                canonicalName.withUTF8 { n in
                    field.withUnsafeBytesOfValue { v in
                        headers.add(lowercaseName: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v))
                    }
                }
            }
            headers.sort()
            headers.select(filter)
            // The target as sent, then the X-Amz-* parameters (already encoded), written once: the
            // canonical query is built from it and the presigned URL is it plus the signature.
            let idCount = credentials.accessKeyID.utf8.count
            let tokenCount = token?.utf8.count ?? 0
            // Fixed text (names, `=`, `&`, `%2F`, date, expires digits) is under 200 bytes; every
            // variable part is escaped at most threefold.
            let extraBound = 200 + 3 * (idCount + scope.byteCount + headers.outputBound + tokenCount)
            let finalBound = target.utf8.count + 1 + extraBound + 22 + 3 * tokenCount + 17 + 64
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: finalBound) {
                buffer throws(SigV4Error) -> String in
                var w = ByteWriter(buffer)
                w.append(string: target)
                // `?` starts the query when there is none; `&` separates unless the query is empty or
                // already ends with `&`. (A `?` inside a non-empty query is data: `a=b?` needs `&`.)
                let utf8 = target.utf8
                if let q = utf8.firstIndex(of: 0x3f) {
                    let queryEmpty = utf8.index(after: q) == utf8.endIndex
                    if !queryEmpty && utf8.last != 0x26 { w.append(0x26) }
                } else {
                    w.append(0x3f)
                }
                w.append("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
                Signer.appendEncoded(credentials.accessKeyID, to: &w)
                w.append("%2F")
                Signer.appendEncoded(scope.dateStamp, to: &w)
                w.append("%2F")
                Signer.appendEncoded(scope.region, to: &w)
                w.append("%2F")
                Signer.appendEncoded(scope.service, to: &w)
                w.append("%2Faws4_request&X-Amz-Date=")
                w.write(upTo: 16) { p in
                    date.writeISO8601Basic(to: p)
                    return 16
                }
                w.append("&X-Amz-Expires=")
                w.append(string: String(expires))
                w.append("&X-Amz-SignedHeaders=")
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: headers.outputBound) { names in
                    var n = ByteWriter(names)
                    headers.appendSignedHeaders(to: &n)
                    w.write(upTo: 3 * n.count) {
                        URIEncoding.encode(n.written, into: $0, keepSlash: false, keepEscapes: false)
                    }
                }
                if let token, tokenSigned {
                    w.append("&X-Amz-Security-Token=")
                    Signer.appendEncoded(token, to: &w)
                }
                let signedCount = w.count

                var method = request.method.rawValue
                let bound =
                    CanonicalRequestBuilder.requestLinesBound(
                        methodCount: method.utf8.count, targetCount: signedCount, extra: [])
                    + headers.outputBound + payloadHash.value.utf8.count + 8
                canonicalBytes = try ByteWriter.makeArray(capacity: bound) { out throws(SigV4Error) in
                    try method.withUTF8 { m in
                        Result { () throws(SigV4Error) in
                            try CanonicalRequestBuilder.appendRequestLines(
                                method: UnsafeRawBufferPointer(m), target: UnsafeBufferPointer(rebasing: buffer[0..<signedCount]),
                                extraQuery: [], rules: rules, plus: options.plusPolicy, to: &out)
                        }
                    }.get()
                    headers.appendCanonicalHeaders(to: &out)
                    out.append(0x0a)
                    headers.appendSignedHeaders(to: &out)
                    out.append(0x0a)
                    out.append(string: payloadHash.value)
                }
                canonicalHash = SHA256.hash(canonicalBytes)
                signature = key.signature(for: StringToSign(date: date, scope: scope, canonicalRequestHash: canonicalHash))

                if let token, tokenAfter {
                    w.append("&X-Amz-Security-Token=")
                    Signer.appendEncoded(token, to: &w)
                }
                w.append("&X-Amz-Signature=")
                let signature = signature
                w.write(upTo: 64) { p in
                    signature.digest.withUnsafeBytes { Hex.write($0, to: p) }
                    return 64
                }
                let written = w.written
                return String(unsafeUninitializedCapacity: written.count) { out in
                    _ = out.initialize(from: written)
                    return written.count
                }
            }
        }
        var signedRequest = request
        signedRequest.path = newTarget
        return SignedRequest(
            request: signedRequest, scope: scope, canonical: .built(CanonicalRequest(bytes: canonicalBytes)),
            stringToSign: StringToSign(date: date, scope: scope, canonicalRequestHash: canonicalHash),
            signature: signature, authorization: nil, addedCount: 0, date: date, expires: expires)
    }

    /// Appends the URI encoding of `string` (every byte but the unreserved ones escaped).
    static func appendEncoded(_ string: String, to w: inout ByteWriter) {
        withUTF8Bytes(string) { raw in
            let s = raw.bindMemory(to: UInt8.self)
            w.write(upTo: 3 * s.count) { URIEncoding.encode(s, into: $0, keepSlash: false, keepEscapes: false) }
        }
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
        var target = target
        return target.withUTF8 { t in
            guard let q = t.firstIndex(of: 0x3f) else { return false }
            var start = q + 1
            var i = start
            while i <= t.count {
                if i == t.count || t[i] == 0x26 {
                    var end = start
                    while end < i && t[end] != 0x3d { end += 1 }
                    if isSigningParameter(UnsafeBufferPointer(rebasing: t[start..<end]), presign: presign) { return true }
                    start = i + 1
                }
                i += 1
            }
            return false
        }
    }

    /// Case-insensitive match of a raw query parameter name against the signing parameters.
    static func isSigningParameter(_ name: UnsafeBufferPointer<UInt8>, presign: Bool) -> Bool {
        // Every name starts with "x-amz-" and is 10 to 20 bytes long.
        guard name.count >= 10, name.count <= 20, name[0] | 0x20 == 0x78 else { return false }
        let lower = String(unsafeUninitializedCapacity: name.count) { buffer in
            for i in 0..<name.count {
                let b = name[i]
                buffer[i] = (b >= 0x41 && b <= 0x5a) ? b | 0x20 : b
            }
            return name.count
        }
        return presign ? presignParameterNames.contains(lower) : (lower == "x-amz-signature" || lower == "x-amz-credential")
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
    /// The canonical request that was hashed. Header signing does not keep it: it is rebuilt,
    /// byte for byte, when read (so signing stays allocation-light).
    public var canonicalRequest: CanonicalRequest {
        get {
            switch canonical {
            case .built(let c): return c
            case .deferred(let recipe): return recipe.build(date: date)
            }
        }
        set { canonical = .built(newValue) }
    }
    /// The string that was MACed.
    public var stringToSign: StringToSign
    /// The signature.
    public var signature: Signature
    /// The `Authorization` value (header mode only).
    public var authorization: String?
    /// The headers the signer added, in order (header mode only): the last fields of ``request``.
    public var addedHeaders: [HTTPField] { Array(request.headerFields.suffix(addedCount)) }
    /// The signing time.
    public var date: AmzDate
    /// `X-Amz-Expires` (presign only).
    public var expires: Int?

    /// How many fields at the end of `request` the signer added.
    var addedCount: Int
    var canonical: Canonical

    /// The canonical request, or what rebuilds it.
    enum Canonical: Sendable {
        case built(CanonicalRequest)
        case deferred(HeaderRecipe)
    }

    /// What a header signature's canonical request is rebuilt from: the request as given, the
    /// payload hash, and the signer without its secret.
    struct HeaderRecipe: Sendable {
        var signer: Signer
        var original: HTTPRequest
        var payload: PayloadHash

        func build(date: AmzDate) -> CanonicalRequest {
            let fields = original.headerFields
            let target = original.path ?? "/"
            // The same steps as `Signer.sign`, which succeeded on these inputs.
            guard let scan = try? Signer.scanForHeaderSigning(fields),
                let plan = try? signer.planHeaderCanonicalRequest(original, scan: scan, target: target, payload: payload),
                let bytes = try? ByteWriter.makeArray(capacity: plan.bound, { w throws(SigV4Error) in
                    _ = try signer.writeHeaderCanonicalRequest(
                        original, fields: fields, plan: plan, target: target, payload: payload,
                        dateText: AmzDateText(date), to: &w)
                })
            else { return CanonicalRequest(bytes: []) }
            return CanonicalRequest(bytes: bytes)
        }
    }

    init(
        request: HTTPRequest, scope: CredentialScope, canonical: Canonical, stringToSign: StringToSign,
        signature: Signature, authorization: String?, addedCount: Int, date: AmzDate, expires: Int?
    ) {
        self.request = request
        self.scope = scope
        self.canonical = canonical
        self.stringToSign = stringToSign
        self.signature = signature
        self.authorization = authorization
        self.addedCount = addedCount
        self.date = date
        self.expires = expires
    }

    /// The absolute URL, `scheme://authority/target` (useful for presigned URLs).
    public var url: String {
        "\(request.scheme ?? "https")://\(request.authority ?? "")\(request.path ?? "/")"
    }
}
