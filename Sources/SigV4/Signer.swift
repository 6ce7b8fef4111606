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
        let valid = withUTF8Bytes(credentials.accessKeyID) { id -> Bool in
            guard !id.isEmpty, id.count <= 128 else { return false }
            for b in id where b <= 0x20 || b >= 0x7f || b == UInt8(ascii: "/") || b == UInt8(ascii: ",") { return false }
            return true
        }
        guard valid else {
            throw SigV4Error(.invalidCredentials, "the access key id must be 1 to 128 printable bytes without '/' or ','")
        }
        guard credentials.secretAccessKey.count > 0 else {
            throw SigV4Error(.invalidCredentials, "the secret access key is empty")
        }
    }

    /// The credential scope for the day of `dateText`: ``scope(at:)`` without formatting the date
    /// again, and with the usual parts checked in one pass each.
    func scope(dateText: AmzDateText) throws(SigV4Error) -> CredentialScope {
        try scope(dateText: dateText, dateStamp: dateText.dateStamp)
    }

    /// The same with the date stamp's `String` (`dateText`'s first 8 bytes) made already: a
    /// ``SigningDate``'s, shared by the signatures of its second.
    @inline(__always)
    func scope(dateText: AmzDateText, dateStamp: String) throws(SigV4Error) -> CredentialScope {
        guard Signer.isScopeComponent(region), Signer.isScopeComponent(service), dateText.hasDigitDateStamp else {
            // Throws the validating initializer's error.
            return try CredentialScope(dateStamp: dateStamp, region: region, service: service)
        }
        return CredentialScope(checkedDateStamp: dateStamp, region: region, service: service)
    }

    /// What a signature at `date` needs of the key and the date: with a key cache, what this key's
    /// signatures in that second share (from the cache when a signer checked the same access key
    /// id, secret, region and service, otherwise checked now, made and kept by the cache), the
    /// date's text and the checked scope. `check` runs after the credentials are checked and
    /// before the scope is (a presigned URL's lifetime), on either path. Without a cache the key
    /// would be used once: it is derived on the stack when the string to sign is MACed, and the
    /// date's parts come from the ``SigningDate`` that signatures without a cache share in that
    /// second (the last of the four values; nil with a cache).
    @inline(__always)
    func signingSecond(at date: AmzDate, check: () throws(SigV4Error) -> Void = {}) throws(SigV4Error)
        -> (SigningSecond?, AmzDateText, CredentialScope, SigningDate?)
    {
        if let cached = keyCache?.lastSecond(
            for: credentials, region: region, service: service, second: date.secondsSince1970)
        {
            try check()
            return (cached, cached.dateText, cached.scope, nil)
        }
        try validateCredentials()
        try check()
        guard let keyCache else {
            let day = SigningDate.at(date)
            let scope = try self.scope(dateText: day.dateText, dateStamp: day.dateStamp)
            return (nil, day.dateText, scope, day)
        }
        let dateText = AmzDateText(date)
        let scope = try self.scope(dateText: dateText)
        let second = keyCache.second(
            accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, scope: scope, date: date,
            checkedBySigner: true)
        return (second, dateText, scope, nil)
    }

    /// What `CredentialScope` accepts as a region or service: 1 to 128 bytes, none of them a
    /// control byte, space, `/` or `,`.
    static func isScopeComponent(_ value: String) -> Bool {
        withUTF8Bytes(value) { v in
            guard !v.isEmpty, v.count <= 128 else { return false }
            for b in v where b <= 0x20 || b == 0x7f || b == UInt8(ascii: "/") || b == UInt8(ascii: ",") { return false }
            return true
        }
    }

    // MARK: - Header signing

    /// Signs `request` with the `Authorization` header.
    ///
    /// Adds `X-Amz-Date`, `X-Amz-Security-Token` (when the credentials have one),
    /// `X-Amz-Content-SHA256` (S3 rules) and `Authorization`. Existing `X-Amz-Date`
    /// and `X-Amz-Security-Token` headers are replaced; a request that already has
    /// `Authorization` is refused. Under S3 Express rules (signing name `s3express`) the session
    /// token goes in `x-amz-s3session-token` instead (set, replacing the caller's, and signed),
    /// and no `X-Amz-Security-Token` is sent.
    ///
    /// ```swift
    /// let signer = Signer(credentials: credentials, region: "us-east-1", service: "s3")
    /// let signed = try signer.sign(request, payload: .emptySHA256, at: AmzDate(Date()))
    /// ```
    ///
    /// - Parameters:
    ///   - request: the request; `path` is the wire request target.
    ///   - payload: how the body is covered.
    ///   - date: the signing time.
    public func sign(_ request: HTTPRequest, payload: PayloadHash, at date: AmzDate) throws(SigV4Error)
        -> SignedRequest
    {
        // With a key cache: what this key's signatures in this second share (the date's text and
        // field, the `Authorization` value's start, the MAC after the string to sign's fixed text).
        // Immutable: a `var` passed to a function is copied first (each of its strings retained
        // and released), a `let` is lent as it is.
        let (second, dateText, scope, day) = try signingSecond(at: date)
        let steps = HeaderSigning(signer: self)
        let signedToken = steps.signedToken(of: credentials)
        let accessKeyID = credentials.accessKeyID
        // Read here, so the uncached branch's closures capture it and not `self` (a copy of the
        // signer: 4 retains and 4 releases and more per signature, measured).
        let secretAccessKey = credentials.secretAccessKey
        var signature = Signature(digest: SHA256Digest())
        var canonicalHash = SHA256Digest()
        var facts = HeaderSigning.FieldFacts()
        // The canonical request is written on the stack (heap above 1 KiB), hashed, and only
        // rebuilt if the caller reads `SignedRequest.canonicalRequest`.
        let authorizationField: HTTPField = try steps.withParts(
            request, payload: payload, dateText: dateText, token: signedToken
        ) {
            parts throws(SigV4Error) -> HTTPField in
            facts = parts.facts
            let bound = parts.bound
            guard bound <= 1 << 28 else {
                throw SigV4Error(.invalidHeader, "the request is too large to canonicalize")
            }
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buffer in
                var w = ByteWriter(buffer)
                let range = parts.write(to: &w)
                canonicalHash = SHA256.hash(UnsafeRawBufferPointer(w.written))
                let names = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[range])
                if let second {
                    let signed = second.signature(canonicalRequestHash: canonicalHash)
                    signature = signed
                    let count = second.authorizationByteCount(signedHeadersCount: names.count)
                    return Signer.authorizationField(count: count) { out in
                        second.writeAuthorization(to: out, signedHeaders: names, signature: signed)
                    }
                }
                // The scope's text written once, for the string to sign, the key and the value.
                return scope.withText { text in
                    let signed = SigningKey.signature(
                        secretAccessKey: secretAccessKey, dateText: dateText, scope: text,
                        canonicalRequestHash: canonicalHash)
                    signature = signed
                    let count = Signer.authorizationByteCount(
                        accessKeyID: accessKeyID, scopeByteCount: text.bytes.count, signedHeadersCount: names.count)
                    return Signer.authorizationField(count: count) { out in
                        var w = ByteWriter(UnsafeMutableBufferPointer(start: out, count: count))
                        Signer.writeAuthorizationPrefix(to: &w, accessKeyID: accessKeyID, scopeText: text.bytes)
                        Signer.writeAuthorizationSuffix(to: &w, signedHeaders: names, signature: signed)
                        return w.count
                    }
                }
            }
        }

        let token = credentials.sessionToken
        var signedFields = request.headerFields
        if facts.hasAmzDate { signedFields[Signer.amzDateName] = nil }
        if facts.hasSecurityToken { signedFields[Signer.securityTokenName] = nil }
        if facts.hasS3SessionToken { signedFields[Signer.s3SessionTokenName] = nil }
        let before = signedFields.count
        // One new field list, sized for what is added (the request's own is shared with the caller).
        signedFields.reserveCapacity(before + 5)
        let sentDateField: HTTPField
        if let second {
            sentDateField = second.dateField
        } else {
            sentDateField = day!.dateField
        }
        let authorization = authorizationField.value
        Signer.appendSigningFields(
            to: &signedFields, dateField: sentDateField, token: token, rules: rules, payload: payload,
            hadContentSHA256: facts.hasContentSHA256, authorization: authorizationField)
        let addedCount = signedFields.count - before
        var signedRequest = request
        signedRequest.headerFields = signedFields
        // The memberwise initializer: a written one builds the result in a temporary and copies it
        // out (a retain and a release of each of its references, about 9 of each per signature).
        return SignedRequest(
            signedRequest: signedRequest, scope: scope, canonicalRequestHash: canonicalHash, signature: signature,
            authorization: authorization, date: date, expires: nil, addedCount: addedCount,
            canonical: .deferred(
                SignedRequest.HeaderRecipe(steps: steps, payload: payload, token: signedToken)))
    }

    /// Appends the fields a header signature adds after the request's own, in order: `X-Amz-Date`,
    /// `X-Amz-Security-Token` (when the rules sign it), `X-Amz-Content-SHA256` (when the rules send
    /// it and the request had none), `x-amz-s3session-token` (S3 Express), `X-Amz-Security-Token`
    /// (when the rules add it after signing), `Authorization` (botocore's order). `Signer.sign`,
    /// `SigningContext.addHeaders` and `SigV4aSigner.sign` all add them this way.
    @inline(__always)
    static func appendSigningFields(
        to fields: inout HTTPFields, dateField: consuming HTTPField, token: String?, rules: ServiceRules,
        payload: PayloadHash, hadContentSHA256: Bool, authorization: consuming HTTPField
    ) {
        fields.append(dateField)
        if let token, rules.sessionTokenPlacement == .signed {
            fields.append(HTTPField(name: Signer.securityTokenName, value: token))
        }
        if !hadContentSHA256 && rules.sendContentSHA256 {
            fields.append(HTTPField(name: Signer.contentSHA256Name, value: payload.value))
        }
        if let token, rules.sessionTokenPlacement == .s3SessionToken {
            fields.append(HTTPField(name: Signer.s3SessionTokenName, value: token))
        }
        if let token, rules.sessionTokenPlacement == .appendedAfterSigning {
            fields.append(HTTPField(name: Signer.securityTokenName, value: token))
        }
        fields.append(authorization)
    }

    static let amzDateName = HTTPField.Name("X-Amz-Date")!
    static let securityTokenName = HTTPField.Name("X-Amz-Security-Token")!
    /// Where S3 Express reads the session token (``ServiceRules/SessionTokenPlacement/s3SessionToken``).
    static let s3SessionTokenName = HTTPField.Name("x-amz-s3session-token")!
    static let contentSHA256Name = HTTPField.Name("X-Amz-Content-SHA256")!
    static let hostName = HTTPField.Name("Host")!

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
        authorizationByteCount(
            accessKeyID: accessKeyID, scopeByteCount: scope.byteCount, signedHeadersCount: signedHeadersCount)
    }

    /// The same, for a scope whose text is `scopeByteCount` bytes (counted once already).
    @inline(__always)
    static func authorizationByteCount(accessKeyID: String, scopeByteCount: Int, signedHeadersCount: Int) -> Int {
        28 + accessKeyID.utf8.count + 1 + scopeByteCount + 16 + signedHeadersCount + 12 + 64
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

    /// The `Authorization` field for a value this module writes: `write` writes it at the pointer
    /// (room for `count` bytes, on the stack up to 1 KiB) and returns how many bytes it wrote.
    ///
    /// Built with HTTPTypes' lenient initializer, which looks only for NUL, CR and LF, rather than
    /// the legalizing one, which checks every byte against RFC 9110's field-value rule (3,050
    /// instructions of a 190-byte value in `Signer.sign`, against 1,400 for the lenient check and
    /// the copy into a `String`). Both keep such a value as it is: it is fixed text, the access key
    /// id (checked before any signature: 1 to 128 printable ASCII bytes), region and service (1 to
    /// 128 bytes, no control byte or space), the signed names (field names, which are tokens) and hex
    /// digits, so it has no control byte and neither starts nor ends with white space.
    ///
    /// ```swift
    /// let field = Signer.authorizationField(count: count) { out in
    ///     Signer.writeAuthorization(
    ///         to: out, accessKeyID: id, scope: scope, signedHeaders: names, signature: signature)
    /// }
    /// ```
    @inline(__always)
    static func authorizationField(count: Int, write: (UnsafeMutablePointer<UInt8>) -> Int) -> HTTPField {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { out in
            let written = write(out.baseAddress!)
            return HTTPField(name: .authorization, lenientValue: UnsafeBufferPointer(rebasing: out[..<written]))
        }
    }

    /// `AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=`: the part fixed for a day.
    static func writeAuthorizationPrefix(to w: inout ByteWriter, accessKeyID: String, scope: CredentialScope) {
        writeAuthorizationPrefix(to: &w, accessKeyID: accessKeyID, scope: { scope.write(to: &$0) })
    }

    /// The same, with the scope's text already written (``CredentialScope/withText(_:)``).
    static func writeAuthorizationPrefix(
        to w: inout ByteWriter, accessKeyID: String, scopeText: UnsafeRawBufferPointer
    ) {
        writeAuthorizationPrefix(to: &w, accessKeyID: accessKeyID, scope: { $0.append(scopeText) })
    }

    /// The prefix, its scope written by `scope` (as ``StringToSign`` writes its own).
    @inline(__always)
    private static func writeAuthorizationPrefix(
        to w: inout ByteWriter, accessKeyID: String, scope: (inout ByteWriter) -> Void
    ) {
        w.append("AWS4-HMAC-SHA256 Credential=")
        w.append(string: accessKeyID)
        w.append(0x2f)
        scope(&w)
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
    /// the request is signed, `host` included. The new target is set as the `:path` field's bytes
    /// exactly as they were signed (a target set leniently through `pseudoHeaderFields` keeps the
    /// bytes HTTPTypes' lenient initializer allows).
    ///
    /// ```swift
    /// let presigned = try signer.presign(request, expires: 3600, at: AmzDate(Date()))
    /// let url = "https://\(presigned.request.authority!)\(presigned.request.path!)"
    /// ```
    ///
    /// - Parameters:
    ///   - payload: the payload hash; nil means `UNSIGNED-PAYLOAD` under S3 rules and
    ///     the empty-body hash otherwise.
    ///   - expires: seconds the URL stays valid, 1...604800.
    public func presign(_ request: HTTPRequest, payload: PayloadHash? = nil, expires: Int, at date: AmzDate)
        throws(SigV4Error) -> SignedRequest
    {
        // As `sign`: what this key's signatures in this second share; the lifetime is checked
        // after the credentials.
        let (second, dateText, scope, _) = try signingSecond(at: date) { () throws(SigV4Error) in
            guard expires >= 1 && expires <= Signer.maximumExpires else {
                throw SigV4Error(.invalidExpires, "X-Amz-Expires must be between 1 and 604800 seconds, got \(expires)")
            }
        }
        let fields = request.headerFields
        if fields[.authorization] != nil {
            throw SigV4Error(.alreadySigned, "the request already has an Authorization header")
        }
        let target = request.path ?? "/"
        let (carriesParameters, separator) = Signer.presignTarget(target)
        if carriesParameters {
            throw SigV4Error(.alreadySigned, "the request target already carries X-Amz-* signing parameters")
        }
        let payloadHash = payload ?? (rules.presignUnsignedPayload ? .unsignedPayload : .emptySHA256)

        let token = credentials.sessionToken
        let tokenSigned = token != nil && rules.sessionTokenPlacement != .appendedAfterSigning
        let tokenAfter = token != nil && rules.sessionTokenPlacement == .appendedAfterSigning
        // S3 Express reads its session token from `X-Amz-S3session-Token`, signed like the usual one.
        let tokenParameter = rules.sessionTokenPlacement.queryParameterName
        var presignParameters = 0..<0
        var signature = Signature(digest: SHA256Digest())
        var canonicalHash = SHA256Digest()

        // What the closures below read of the signer, as locals: a closure that reads `self` copies
        // the whole signer into its context (each of its strings and sets retained and released).
        let accessKeyID = credentials.accessKeyID
        let secretAccessKey = credentials.secretAccessKey
        let rules = self.rules
        let plus = options.plusPolicy
        // Every field is signed (x-amz-date and the token too, when the caller set them), plus Host.
        let steps = HeaderSigning(signer: self)
        let pathField: HTTPField = try steps.withHeaders(
            request, fields: fields, payload: payloadHash, dateText: nil, token: nil, targetIsSigned: false
        ) { headers, _ throws(SigV4Error) -> HTTPField in
            // The target as sent, then the X-Amz-* parameters (already encoded), written once: the
            // canonical query is built from it and the presigned URL is it plus the signature.
            let idCount = accessKeyID.utf8.count
            let tokenCount = token?.utf8.count ?? 0
            // Fixed text (names, `=`, `&`, `%2F`, date, expires digits) is under 200 bytes; every
            // variable part is escaped at most threefold.
            let extraBound = 200 + 3 * (idCount + scope.byteCount + headers.outputBound + tokenCount)
            let finalBound = target.utf8.count + 1 + extraBound + 22 + 3 * tokenCount + 17 + 64
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: finalBound) {
                buffer throws(SigV4Error) -> HTTPField in
                var w = ByteWriter(buffer)
                w.append(string: target)
                let targetCount = w.count
                if let separator { w.append(separator) }
                let signingStart = w.count
                w.append("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=")
                Signer.appendEncoded(accessKeyID, to: &w)
                w.append("%2F")
                Signer.appendEncoded(scope.dateStamp, to: &w)
                w.append("%2F")
                Signer.appendEncoded(scope.region, to: &w)
                w.append("%2F")
                Signer.appendEncoded(scope.service, to: &w)
                w.append("%2Faws4_request&X-Amz-Date=")
                w.write(upTo: 16) { p in
                    dateText.write(to: p)
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
                    w.append(0x26)
                    w.append(tokenParameter)
                    w.append(0x3d)
                    Signer.appendEncoded(token, to: &w)
                }
                let signedCount = w.count
                presignParameters = signingStart..<signedCount

                // The canonical request is written on the stack, hashed, and only rebuilt if the
                // caller reads `SignedRequest.canonicalRequest`. The parameters just written are in
                // canonical form already: they are merged into the target's canonical query as they are.
                let method = request.method.rawValue
                let bound = Signer.presignCanonicalBound(
                    method: method, targetCount: signedCount, headers: headers, payload: payloadHash)
                canonicalHash = try ByteWriter.withScratch(capacity: bound) {
                    out throws(SigV4Error) -> SHA256Digest in
                    var writer = ByteWriter(out)
                    try Signer.writePresignCanonical(
                        method: method, target: UnsafeBufferPointer(rebasing: buffer[0..<targetCount]),
                        parameters: UnsafeBufferPointer(rebasing: buffer[signingStart..<signedCount]), headers: headers,
                        payload: payloadHash, rules: rules, plus: plus, to: &writer)
                    return SHA256.hash(UnsafeRawBufferPointer(writer.written))
                }
                if let second {
                    signature = second.signature(canonicalRequestHash: canonicalHash)
                } else {
                    signature = SigningKey.signature(
                        secretAccessKey: secretAccessKey, dateText: dateText, scope: scope,
                        canonicalRequestHash: canonicalHash)
                }

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
                return Signer.presignedPathField(UnsafeBufferPointer(rebasing: buffer[..<w.count]))
            }
        }
        let newTarget = pathField.value
        var signedRequest = request
        signedRequest.pseudoHeaderFields.path = pathField
        let recipe = SignedRequest.PresignRecipe(
            steps: steps, original: request, target: newTarget, parameters: presignParameters, payload: payloadHash)
        return SignedRequest(
            signedRequest: signedRequest, scope: scope, canonicalRequestHash: canonicalHash, signature: signature,
            authorization: nil, date: date, expires: expires, addedCount: 0, canonical: .deferredPresign(recipe))
    }

    /// The `:path` field of a presigned request: `target` is the request's own target followed by the
    /// `X-Amz-*` parameters this module wrote, percent-encoded ASCII ending in the signature's hex.
    ///
    /// Built with HTTPTypes' lenient initializer, which looks only for NUL, CR and LF, rather than
    /// by setting `HTTPRequest.path`, which checks every byte against RFC 9110's field-value rule
    /// (4,781 instructions for the benchmark's 330-byte target) and would turn any control byte it
    /// found into a space. Both keep the target as it is when the request's own target was a legal
    /// value (as `HTTPRequest.path` makes every target it is given): the parameters add no control
    /// byte or white space and end it. A target a caller set through `pseudoHeaderFields` leniently
    /// is sent as it was signed.
    ///
    /// ```swift
    /// signedRequest.pseudoHeaderFields.path = Signer.presignedPathField(UnsafeBufferPointer(w.written))
    /// ```
    static func presignedPathField(_ target: UnsafeBufferPointer<UInt8>) -> HTTPField {
        HTTPField(name: pathName, lenientValue: target)
    }

    /// `:path` (HTTPTypes' own name for it is internal).
    static let pathName = HTTPField.Name(parsed: ":path")!

    /// What presigning needs to know of `target`, from one scan: whether it already carries one
    /// of the `X-Amz-*` parameters presigning writes, and what goes between it and the parameters
    /// appended: `?` starts the query when there is none; `&` separates unless the query is empty
    /// or already ends with `&` (nil). A `?` inside a non-empty query is data: `a=b?` needs `&`.
    static func presignTarget(_ target: String) -> (carriesParameters: Bool, separator: UInt8?) {
        withUTF8Bytes(target) { raw in
            let t = raw.bindMemory(to: UInt8.self)
            let scan = TargetScan(t, looking: .presign)
            let separator: UInt8?
            if scan.queryStart == t.count {
                separator = 0x3f
            } else {
                let queryEmpty = scan.queryStart + 1 == t.count
                separator = !queryEmpty && t[t.count - 1] != 0x26 ? 0x26 : nil
            }
            return (scan.hasSigningParameter, separator)
        }
    }

    /// An upper bound on the length of a presigned request's canonical request.
    static func presignCanonicalBound(
        method: String, targetCount: Int, headers: borrowing CanonicalHeaders, payload: PayloadHash
    ) -> Int {
        CanonicalRequestBuilder.requestLinesBound(methodCount: method.utf8.count, targetCount: targetCount, extra: [])
            + headers.outputBound + payload.value.utf8.count + 8
    }

    /// Writes a presigned request's canonical request (at most ``presignCanonicalBound(method:targetCount:headers:payload:)``
    /// bytes, with `targetCount` the new target's signed length): `target` is the request's own
    /// target, scanned and checked here; `parameters` are the `X-Amz-*` parameters presigning added
    /// (up to, not including, `X-Amz-Signature` and a token appended after signing), already in
    /// canonical form and merged into the canonical query as they are.
    static func writePresignCanonical(
        method: String, target: UnsafeBufferPointer<UInt8>, parameters: UnsafeBufferPointer<UInt8>,
        headers: borrowing CanonicalHeaders, payload: PayloadHash, rules: ServiceRules, plus: URIEncoding.PlusPolicy,
        to out: inout ByteWriter
    ) throws(SigV4Error) {
        let scan = TargetScan(target, looking: .ignored)
        try scan.check()
        withUTF8Bytes(method) { m in
            HeaderSigning.appendRequestLines(
                method: m, target: target, scan: scan, rules: rules, plus: plus, extra: parameters, to: &out)
        }
        headers.appendCanonicalHeaders(to: &out)
        out.append(0x0a)
        headers.appendSignedHeaders(to: &out)
        out.append(0x0a)
        out.append(string: payload.value)
    }

    /// Appends the URI encoding of `string` (every byte but the unreserved ones escaped).
    static func appendEncoded(_ string: String, to w: inout ByteWriter) {
        withUTF8Bytes(string) { raw in
            let s = raw.bindMemory(to: UInt8.self)
            w.write(upTo: 3 * s.count) { URIEncoding.encode(s, into: $0, keepSlash: false, keepEscapes: false) }
        }
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
    /// Setting it first builds ``canonicalRequest`` from the request that was signed (a header
    /// signature's is otherwise rebuilt from this request when read).
    public var request: HTTPRequest {
        get { signedRequest }
        set {
            freezeCanonicalRequest()
            signedRequest = newValue
        }
    }
    var signedRequest: HTTPRequest
    /// The credential scope used.
    public var scope: CredentialScope {
        willSet { freezeDerivedValues() }
    }
    /// The canonical request that was hashed. Header signing does not keep it: it is rebuilt,
    /// byte for byte, when read (so signing stays allocation-light).
    public var canonicalRequest: CanonicalRequest {
        get {
            switch canonical {
            case .built(let c): return c
            case .deferred(let recipe): return recipe.build(signed: signedRequest, addedCount: addedCount, date: date)
            case .deferredPresign(let recipe): return recipe.build()
            }
        }
        set { canonical = .built(newValue) }
    }
    /// The string that was MACed. Written from ``date``, ``scope`` and the canonical request's
    /// hash when read (the result holds the hash, not a second copy of the scope).
    public var stringToSign: StringToSign {
        get { stringToSignOverride ?? StringToSign(date: date, scope: scope, canonicalRequestHash: canonicalRequestHash) }
        set { stringToSignOverride = newValue }
    }
    /// SHA-256 of the canonical request that was signed.
    var canonicalRequestHash: SHA256Digest
    /// A string to sign set through ``stringToSign``, or kept when ``date`` or ``scope`` change.
    var stringToSignOverride: StringToSign? = nil

    /// Keeps the string to sign and the canonical request (whose `X-Amz-Date` line comes from
    /// ``date``) as they are before ``date`` or ``scope`` changes.
    private mutating func freezeDerivedValues() {
        if stringToSignOverride == nil { stringToSignOverride = stringToSign }
        freezeCanonicalRequest()
    }

    /// Builds a header signature's deferred canonical request from the request, date and added
    /// fields it is rebuilt from, before one of them changes.
    private mutating func freezeCanonicalRequest() {
        if case .deferred = canonical { canonical = .built(canonicalRequest) }
    }
    /// The signature.
    public var signature: Signature
    /// The `Authorization` value (header mode only).
    public var authorization: String?
    /// The headers the signer added, in order (header mode only): the last fields of ``request``.
    public var addedHeaders: [HTTPField] { Array(request.headerFields.suffix(addedCount)) }
    /// The signing time.
    public var date: AmzDate {
        willSet { freezeDerivedValues() }
    }
    /// `X-Amz-Expires` (presign only).
    public var expires: Int?

    /// How many fields at the end of `request` the signer added.
    var addedCount: Int
    var canonical: Canonical

    /// The canonical request, or what rebuilds it.
    enum Canonical: Sendable {
        case built(CanonicalRequest)
        case deferred(HeaderRecipe)
        case deferredPresign(PresignRecipe)
    }

    /// What a presigned request's canonical request is rebuilt from: the request as given (its
    /// headers and method), the new target and how much of it was signed, the payload hash, and
    /// the signer's canonicalization settings (no secret).
    struct PresignRecipe: Sendable {
        var steps: HeaderSigning
        var original: HTTPRequest
        /// The presigned target.
        var target: String
        /// Where in `target` the signed `X-Amz-*` parameters are.
        var parameters: Range<Int>
        var payload: PayloadHash

        func build() -> CanonicalRequest {
            // The same steps as `Signer.presign`, which succeeded on these inputs.
            let bytes = try? steps.withHeaders(
                original, fields: original.headerFields, payload: payload, dateText: nil, token: nil,
                targetIsSigned: false
            ) { headers, _ throws(SigV4Error) -> [UInt8] in
                let method = original.method.rawValue
                return try withUTF8Bytes(original.path ?? "/") { o throws(SigV4Error) -> [UInt8] in
                    try withUTF8Bytes(target) { t throws(SigV4Error) -> [UInt8] in
                        let own = o.bindMemory(to: UInt8.self)
                        let signing = UnsafeBufferPointer(rebasing: t.bindMemory(to: UInt8.self)[parameters])
                        let bound = Signer.presignCanonicalBound(
                            method: method, targetCount: parameters.upperBound, headers: headers, payload: payload)
                        return try ByteWriter.makeArray(capacity: bound) { w throws(SigV4Error) in
                            try Signer.writePresignCanonical(
                                method: method, target: own, parameters: signing, headers: headers, payload: payload,
                                rules: steps.rules, plus: steps.plus, to: &w)
                        }
                    }
                }
            }
            return CanonicalRequest(bytes: bytes ?? [])
        }
    }

    /// What a header signature's canonical request is rebuilt from, besides the signed request:
    /// the payload hash and the signer's canonicalization settings (no secret). The request as
    /// given is not kept: it is the signed request without the fields the signer added (its own
    /// `X-Amz-Date` and `X-Amz-Security-Token`, which the signer removed, are left out by the
    /// canonicalization anyway), so a result holds one request, not two.
    struct HeaderRecipe: Sendable {
        var steps: HeaderSigning
        var payload: PayloadHash
        /// The session token when the rules signed it (`HeaderSigning.signedToken(of:)`).
        var token: String?

        func build(signed: HTTPRequest, addedCount: Int, date: AmzDate) -> CanonicalRequest {
            var original = signed
            original.headerFields = HTTPFields(signed.headerFields.dropLast(addedCount))
            // The same steps as `Signer.sign`, which succeeded on these inputs.
            let bytes = try? steps.withParts(original, payload: payload, dateText: AmzDateText(date), token: token) {
                parts throws(SigV4Error) -> [UInt8] in
                try ByteWriter.makeArray(capacity: parts.bound) { w throws(SigV4Error) in _ = parts.write(to: &w) }
            }
            return CanonicalRequest(bytes: bytes ?? [])
        }
    }

    /// The absolute URL, `scheme://authority/target` (useful for presigned URLs).
    public var url: String { SignedRequest.url(of: request) }

    /// `scheme://authority/target` of `request` (https when it names no scheme).
    static func url(of request: HTTPRequest) -> String {
        "\(request.scheme ?? "https")://\(request.authority ?? "")\(request.path ?? "/")"
    }
}
