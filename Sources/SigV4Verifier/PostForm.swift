public import SigV4
import _SigV4Crypto

/// The fields of a browser-form upload to a bucket (S3's POST Object): the `multipart/form-data`
/// parts before the file, in order, and the file part's `filename`.
///
/// ```swift
/// let form = PostForm(fields: [("key", "uploads/${filename}"), ("policy", policy), …], filename: "cat.jpg")
/// switch await verifier.verifyPostForm(form, bucket: "photos", now: now) {
/// case .success(let upload): store(upload.key, body)     // after upload.checkContentLength(body.count)
/// case .failure(let failure): answer(failure)
/// }
/// ```
public struct PostForm: Sendable, Hashable {
    /// The fields as sent (names in any case), the file part not among them.
    public var fields: [PresignedPost.Field]
    /// The file part's `filename`, which replaces `${filename}` in the `key` field.
    public var filename: String?

    /// Creates a form.
    public init(fields: [(String, String)], filename: String? = nil) {
        self.fields = fields.map { PresignedPost.Field($0.0, $0.1) }
        self.filename = filename
    }

    /// Creates a form from signed fields (``Signer/presignPost(bucket:key:expires:fields:conditions:at:)``).
    public init(_ post: PresignedPost, filename: String? = nil) {
        self.fields = post.fields
        self.filename = filename
    }

    /// The values of the fields named `name` (ASCII case ignored), in order.
    public func values(_ name: String) -> [String] {
        let lower = PresignedPost.fieldName(name)
        return fields.filter { ByteSearch.sameBytes(PresignedPost.fieldName($0.name), lower) }.map(\.value)
    }

    /// The longest object key S3 stores, in UTF-8 bytes.
    static let maxKeyBytes = 1024

    /// `key` with each `${filename}` replaced by `filename` (nil: none), byte for byte, as S3 and
    /// MinIO replace it (a `String` replacement matches whole characters, so a combining mark after
    /// the `}` would hide one). Refuses with `KeyTooLongError` a key longer than ``maxKeyBytes`` once
    /// replaced, measured before it is built: a form's key may repeat `${filename}` thousands of
    /// times beside a file name of many kilobytes.
    static func objectKey(_ key: String, filename: String?) throws(VerificationFailure) -> String {
        let pattern = Array("${filename}".utf8)
        let bytes = Array(key.utf8)
        var matches: [Int] = []
        if filename != nil, bytes.count >= pattern.count {
            var i = 0
            while i <= bytes.count - pattern.count {
                if bytes[i] == pattern[0], bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                    matches.append(i)
                    i += pattern.count
                } else {
                    i += 1
                }
            }
        }
        let name = Array((filename ?? "").utf8)
        let length = bytes.count + matches.count * (name.count - pattern.count)
        guard length <= maxKeyBytes else {
            throw VerificationFailure(
                .keyTooLong, "Your key is too long",
                details: [.init("Size", String(length)), .init("MaxSizeAllowed", String(maxKeyBytes))])
        }
        guard !matches.isEmpty else { return key }
        var out: [UInt8] = []
        out.reserveCapacity(length)
        var from = 0
        for m in matches {
            out += bytes[from..<m]
            out += name
            from = m + pattern.count
        }
        out += bytes[from...]
        return String(decoding: out, as: UTF8.self)
    }

    /// Field names the policy need not name (S3: the signature, the policy, the file, and `x-ignore-*`).
    static func isExempt(_ lowercaseName: String) -> Bool {
        lowercaseName == "policy" || lowercaseName == "x-amz-signature" || lowercaseName == "file"
            || lowercaseName.utf8.starts(with: "x-ignore-".utf8)
    }

    /// The fields the form itself uses for authentication, never object settings.
    static let authenticationFields: Set<String> = [
        "policy", "x-amz-signature", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-security-token",
        "x-amz-s3session-token",
    ]
}

/// A browser-form upload whose policy signature and conditions verified.
public struct VerifiedPostForm: Sendable {
    /// The access key id that signed the policy.
    public var accessKeyID: String
    /// The key's owner.
    public var principal: String
    /// The credential scope of the signature.
    public var scope: CredentialScope
    /// The `x-amz-date` field.
    public var signedAt: AmzDate
    /// The policy's expiration.
    public var expiration: AmzDate
    /// The bucket the form was posted to.
    public var bucket: String
    /// The object key: the `key` field with `${filename}` replaced by the file's name.
    public var key: String
    /// The file's allowed length, from a `content-length-range` condition (nil: any).
    public var contentLengthRange: ClosedRange<Int64>?
    /// The fields that set the object (`Content-Type`, `x-amz-meta-*`, `acl`,
    /// `success_action_status`, …), in order: every field but `key`, the authentication fields and
    /// `x-ignore-*` ones. Each is named by a condition of the policy.
    public var objectFields: [PresignedPost.Field]

    /// The path-style target of the object: `/bucket/key`, the key percent-encoded but for `/`.
    public var pathStyleTarget: String { VerifiedPostForm.target(bucket: bucket, key: key) }

    static func target(bucket: String, key: String) -> String { "/\(bucket)/" + URIEncoding.encode(key, keepSlash: true) }

    /// Throws `EntityTooSmall` or `EntityTooLarge` (400, as S3) when a file of `length` bytes is
    /// outside ``contentLengthRange``.
    public func checkContentLength(_ length: Int64) throws(VerificationFailure) {
        guard let range = contentLengthRange else { return }
        try Self.checkLength(length, against: range)
    }

    /// ``checkContentLength(_:)`` against a given range (a file read as it arrives is checked
    /// against the maximum as its bytes pass it: `fileEnded` false, `length` the bytes so far, and
    /// only the maximum is checked).
    package static func checkLength(
        _ length: Int64, against range: ClosedRange<Int64>, fileEnded: Bool = true
    ) throws(VerificationFailure) {
        if fileEnded && length < range.lowerBound {
            throw VerificationFailure(
                .entityTooSmall, "Your proposed upload is smaller than the minimum allowed size",
                details: [.init("ProposedSize", String(length)), .init("MinSizeAllowed", String(range.lowerBound))])
        }
        if length > range.upperBound {
            throw fileTooLarge(maximum: range.upperBound, size: fileEnded ? length : nil)
        }
    }

    /// `EntityTooLarge` (400, as S3) for a file over `maximum` bytes, with S3's `ProposedSize` when its
    /// `size` is known. A file that was not read past the limit (`size` nil) has no size to report: the
    /// message says "more than `maximum` bytes", never the count of the bytes that had arrived.
    package static func fileTooLarge(maximum: Int64, size: Int64?) -> VerificationFailure {
        guard let size else {
            return VerificationFailure(
                .entityTooLarge,
                "Your proposed upload exceeds the maximum allowed size: the file is more than \(maximum) bytes "
                    + "(it was not read further)",
                details: [.init("MaxSizeAllowed", String(maximum))])
        }
        return VerificationFailure(
            .entityTooLarge, "Your proposed upload exceeds the maximum allowed size",
            details: [.init("ProposedSize", String(size)), .init("MaxSizeAllowed", String(maximum))])
    }
}

extension Verifier {
    /// Verifies a browser-form upload to `bucket` (S3's POST Object with a SigV4 POST policy):
    ///
    /// 1. the form has one each of `key`, `policy`, `x-amz-algorithm` (`AWS4-HMAC-SHA256`),
    ///    `x-amz-credential`, `x-amz-date` and `x-amz-signature` (`InvalidArgument`);
    /// 2. the credential's date is the date of `x-amz-date`, its region and service are served here
    ///    (`InvalidArgument`), and `x-amz-date` is not later than now plus ``VerificationPolicy/maxClockSkew``
    ///    (`AccessDenied`);
    /// 3. the policy is base64 of a policy document (`InvalidPolicyDocument`), not expired and
    ///    lasting at most ``VerificationPolicy/maxPresignExpires`` after `x-amz-date` (`AccessDenied`);
    /// 4. the key exists (`InvalidAccessKeyId`), is valid, and its scope allows `POST` of
    ///    `/bucket/key` in that region and service, for that long (`AccessDenied`);
    /// 5. the session token field is the key's (`InvalidToken`);
    /// 6. `x-amz-signature` is the HMAC of the `policy` field's text under the signing key,
    ///    compared in constant time (`SignatureDoesNotMatch`);
    /// 7. every condition holds and every field but `policy`, `x-amz-signature`, `file` and
    ///    `x-ignore-*` is named by one (`AccessDenied` "Invalid according to Policy: …").
    ///
    /// A policy may be used until it expires (no replay guard: a form page is meant to be submitted
    /// more than once). The file's length is checked by the caller against the result's
    /// ``VerifiedPostForm/contentLengthRange`` (``VerifiedPostForm/checkContentLength(_:)``).
    ///
    /// ```swift
    /// let result = await verifier.verifyPostForm(form, bucket: "photos", now: AmzDate(Date()))
    /// ```
    public func verifyPostForm(_ form: PostForm, bucket: String, now: AmzDate) async -> Result<
        VerifiedPostForm, VerificationFailure
    > {
        let claim: PostClaim
        do {
            claim = try postClaim(form, bucket: bucket, now: now)
        } catch {
            return .failure(error)
        }
        let context = ResolutionContext(
            signedAt: claim.signedAt, now: now, region: claim.region, service: claim.service, isPresigned: true)
        let found: ResolvedCredential?
        do {
            switch try storage.resolver.lookUpWithoutSuspending(accessKeyID: claim.accessKeyID, context: context) {
            case .found(let credential): found = credential
            case .notFound: found = nil
            case .needsSuspension: found = try await storage.resolver.resolve(accessKeyID: claim.accessKeyID, context: context)
            }
        } catch {
            return .failure(
                VerificationFailure(
                    .internalError, "The credential store could not be read; please retry.", accessKeyID: claim.accessKeyID))
        }
        guard let credential = found else {
            return .failure(
                VerificationFailure(
                    .invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.",
                    accessKeyID: claim.accessKeyID))
        }
        do {
            let verified = try finishPostForm(form, claim: claim, credential: credential, now: now)
            storage.resolver.noteAccepted(accessKeyID: verified.accessKeyID, scope: verified.scope, now: now)
            return .success(verified)
        } catch {
            var failure = error
            failure.accessKeyID = claim.accessKeyID
            return .failure(failure)
        }
    }

    /// What the form claims, read and checked before the key lookup (steps 1 to 3).
    struct PostClaim {
        var accessKeyID: String
        var region: String
        var service: String
        var scope: CredentialScope
        var signedAt: AmzDate
        var policyText: String
        var policy: PostPolicy
        var signature: Signature
        var key: String
        var bucket: String
    }

    func postClaim(_ form: PostForm, bucket: String, now: AmzDate) throws(VerificationFailure) -> PostClaim {
        func one(_ name: String) throws(VerificationFailure) -> String {
            let values = form.values(name)
            guard let value = values.first else {
                throw VerificationFailure(
                    .invalidArgument, "Bucket POST must contain a field named '\(name)'.", details: [.init("ArgumentName", name)])
            }
            return value
        }
        // A field given twice could pass its condition with one value and set the object with the other.
        var seen: Set<[UInt8]> = []
        for field in form.fields where !seen.insert(Array(PresignedPost.fieldName(field.name).utf8)).inserted {
            throw VerificationFailure(
                .invalidArgument, "Bucket POST has more than one field named '\(field.name.prefix(128))'.",
                details: [.init("ArgumentName", String(field.name.prefix(128)))])
        }
        let key = try one("key")
        let policyText = try one("policy")
        let algorithm = try one("x-amz-algorithm")
        let credentialText = try one("x-amz-credential")
        let dateText = try one("x-amz-date")
        let signatureText = try one("x-amz-signature")
        func invalid(_ name: String, _ message: String) -> VerificationFailure {
            VerificationFailure(
                .invalidArgument, message, details: [.init("ArgumentName", name), .init("ArgumentValue", "")])
        }
        guard algorithm == PresignedPost.algorithm else {
            throw invalid("x-amz-algorithm", "Only AWS4-HMAC-SHA256 is supported as x-amz-algorithm.")
        }
        var credentialBytes = Array(credentialText.utf8)
        let (accessKeyID, dateStamp, dateDay, region, service, terminator) = try credentialBytes
            .withUnsafeMutableBufferPointer { p throws(VerificationFailure) in
                try AuthorizationParser.parseCredential(UnsafeBufferPointer(p), 0..<p.count) { reason in
                    invalid("x-amz-credential", "The x-amz-credential field is malformed: \(reason).")
                }
            }
        guard terminator == CredentialScope.terminator else {
            throw invalid("x-amz-credential", "The x-amz-credential field must end with aws4_request.")
        }
        guard let signedAt = AmzDate.parse(Array(dateText.utf8)) else {
            throw invalid("x-amz-date", "The x-amz-date field must be YYYYMMDD'T'HHMMSS'Z'.")
        }
        guard dateDay == signedAt.dayNumber else {
            throw invalid("x-amz-credential", "The x-amz-credential date \(dateStamp) is not the date of x-amz-date.")
        }
        let policy = storage.policy
        if !policy.allowedRegions.isEmpty && !policy.allowedRegions.contains(region) {
            throw invalid("x-amz-credential", "The region '\(region.prefix(64))' is not served here.")
        }
        if !policy.allowedServices.isEmpty && !policy.allowedServices.contains(service) {
            throw invalid("x-amz-credential", "The service '\(service.prefix(64))' is not served here.")
        }
        guard signedAt.secondsSince1970 <= now.secondsSince1970 + policy.maxClockSkew else {
            throw VerificationFailure(
                .accessDenied, "Request is not yet valid", details: [.init("ServerTime", now.iso8601Basic)])
        }
        guard let signature = Array(signatureText.utf8).withUnsafeBufferPointer({ ByteParsing.signature($0) }) else {
            throw invalid("x-amz-signature", "The x-amz-signature field must be 64 lowercase hex digits.")
        }
        guard policyText.utf8.count <= Base64.encodedLength(of: PostPolicy.maxJSONBytes),
            let document = Base64.decode(policyText)
        else {
            throw VerificationFailure(.invalidPolicyDocument, "Invalid Policy: Invalid 'Policy': the policy is not base64.")
        }
        let parsed: PostPolicy
        do {
            parsed = try PostPolicy(json: document)
        } catch {
            throw VerificationFailure(.invalidPolicyDocument, error.description)
        }
        guard now.secondsSince1970 <= parsed.expiration.secondsSince1970 else {
            throw VerificationFailure(
                .accessDenied, "Invalid according to Policy: Policy expired.",
                details: [.init("ServerTime", now.iso8601Basic)])
        }
        guard parsed.expiration.secondsSince1970 - signedAt.secondsSince1970 <= Int64(policy.maxPresignExpires) else {
            throw VerificationFailure(
                .accessDenied, "The policy lasts more than \(policy.maxPresignExpires) seconds after its x-amz-date.")
        }
        let scope: CredentialScope
        do {
            scope = try CredentialScope(dateStamp: dateStamp, region: region, service: service)
        } catch {
            throw invalid("x-amz-credential", "The x-amz-credential field is malformed.")
        }
        return PostClaim(
            accessKeyID: String(accessKeyID), region: region, service: service, scope: scope, signedAt: signedAt,
            policyText: policyText, policy: parsed, signature: signature, key: key, bucket: bucket)
    }

    /// Steps 4 to 7, with the key.
    func finishPostForm(_ form: PostForm, claim: PostClaim, credential: ResolvedCredential, now: AmzDate)
        throws(VerificationFailure) -> VerifiedPostForm
    {
        // The signature first: nothing the form's unsigned fields ask for (the key, with the file's
        // name in it) is built for a form the key holder did not sign.
        let key = credential.second(in: storage.keyCache, scope: claim.scope, date: claim.signedAt).key
        let expected = Signature(digest: key.hmac.authenticationCode(for: claim.policyText))
        guard expected.constantTimeEquals(claim.signature) else {
            throw VerificationFailure(
                .signatureDoesNotMatch,
                "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
        }
        let objectKey = try PostForm.objectKey(claim.key, filename: form.filename)
        let lifetime = Int(claim.policy.expiration.secondsSince1970 - claim.signedAt.secondsSince1970)
        let target = VerifiedPostForm.target(bucket: claim.bucket, key: objectKey)
        try checkKeyScope(
            credential, region: claim.region, service: claim.service, presignExpires: max(lifetime, 1),
            request: VerificationRequest(method: "POST", target: Array(target.utf8), fields: []), bucket: nil,
            signedAt: claim.signedAt, now: now)
        // S3 Express names the token field X-Amz-S3session-Token.
        let tokenName = storage.policy.rules(for: claim.service).sessionTokenPlacement.headerName
        let tokenField = "\(tokenName)"
        let tokens = form.values(tokenField)
        guard tokens.count <= 1 else {
            throw VerificationFailure(.invalidToken, "The form has more than one \(tokenField) field")
        }
        try checkToken(expected: credential.sessionToken, claimed: tokens.first, name: tokenName)

        // The conditions, then the fields no condition names. Names and values compare as bytes, as
        // S3 compares them (`String` equality would take `K` for KELVIN SIGN, and a decomposed `é`
        // for the composed one: another object key, or another header value, than the policy allows).
        var named: Set<[UInt8]> = []
        var range: ClosedRange<Int64>? = nil
        for condition in claim.policy.conditions {
            if let field = condition.fieldName { named.insert(Array(field.utf8)) }
            let holds: Bool
            switch condition {
            case .equals(let field, let value):
                holds = postFieldValues(form, field: field, bucket: claim.bucket, key: objectKey).contains {
                    ByteSearch.sameBytes($0, value)
                }
            case .startsWith(let field, let prefix):
                holds = postFieldValues(form, field: field, bucket: claim.bucket, key: objectKey).contains {
                    $0.utf8.starts(with: prefix.utf8)
                }
            case .contentLengthRange(let min, let max):
                // Several ranges: their overlap (none fails the condition; `...` would trap on it).
                let lower = Swift.max(min, range?.lowerBound ?? min)
                let upper = Swift.min(max, range?.upperBound ?? max)
                holds = lower <= upper
                if holds { range = lower...upper }
            }
            guard holds else {
                throw VerificationFailure(.accessDenied, "Invalid according to Policy: Policy Condition failed: \(condition.json)")
            }
        }
        let extra = form.fields.map { PresignedPost.fieldName($0.name) }.filter {
            !PostForm.isExempt($0) && !named.contains(Array($0.utf8))
        }
        guard extra.isEmpty else {
            throw VerificationFailure(
                .accessDenied, "Invalid according to Policy: Extra input fields: \(extra.joined(separator: ", "))")
        }
        let objectFields = form.fields.filter {
            let name = PresignedPost.fieldName($0.name)
            return name != "key" && !PostForm.authenticationFields.contains(name) && !PostForm.isExempt(name)
        }
        return VerifiedPostForm(
            accessKeyID: credential.accessKeyID, principal: credential.principal, scope: claim.scope,
            signedAt: claim.signedAt, expiration: claim.policy.expiration, bucket: claim.bucket, key: objectKey,
            contentLengthRange: range, objectFields: objectFields)
    }

    /// The values a condition on `field` reads: the form's fields of that name (an absent field
    /// reads as empty, so `["starts-with", "$x-amz-meta-tag", ""]` allows a form without it); for
    /// `bucket` the bucket posted to (S3 compares the `bucket` condition with it; a `bucket` field is
    /// not needed); for `key` the object key, `${filename}` replaced (the key the upload is stored
    /// as is what the policy limits, as MinIO reads it, and as botocore's `starts-with` on the part
    /// before `${filename}` expects).
    func postFieldValues(_ form: PostForm, field: String, bucket: String, key: String) -> [String] {
        switch PresignedPost.fieldName(field) {
        case "bucket": return [bucket]
        case "key": return [key]
        default: break
        }
        let values = form.values(field)
        return values.isEmpty ? [""] : values
    }
}
