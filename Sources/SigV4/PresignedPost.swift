import _SigV4Crypto

/// The form fields of a browser-form upload to S3 (POST Object): a signed ``PostPolicy`` and the
/// fields it allows. An HTML form (or any `multipart/form-data` client) sends ``fields`` in order,
/// then the file as the last part, to the bucket's URL.
///
/// ```swift
/// let post = try signer.presignPost(
///     bucket: "photos", key: "uploads/${filename}", expires: 3600,
///     fields: [("Content-Type", "image/jpeg")], conditions: [.contentLengthRange(min: 1, max: 10 << 20)],
///     at: AmzDate(Date()))
/// for (name, value) in post.fields { form.append(name, value) }   // then the file, last
/// ```
public struct PresignedPost: Sendable, Hashable {
    /// The fields, in the order to send them: `key`, the caller's fields, then `x-amz-algorithm`,
    /// `x-amz-credential`, `x-amz-date`, `x-amz-security-token` (with a session token), `policy`
    /// and `x-amz-signature`.
    public var fields: [Field]
    /// The policy that was signed.
    public var policy: PostPolicy
    /// The signature: hex HMAC-SHA256 of the `policy` field's base64 text under the signing key.
    public var signature: Signature

    /// One form field.
    public struct Field: Sendable, Hashable {
        /// The field name.
        public var name: String
        /// Its value.
        public var value: String
        /// Creates a field.
        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The value of the first field named `name` (ASCII case ignored).
    public subscript(name: String) -> String? {
        let lower = Self.fieldName(name)
        return fields.first { Self.fieldName($0.name) == lower }?.value
    }

    /// `name` with `A`–`Z` lowercased and nothing else: how form field names compare (Unicode
    /// lowercasing would read the Kelvin sign `K` as `k`, making `Key` another spelling of `key`).
    package static func fieldName(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5a }) else { return name }
        return String(decoding: name.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The algorithm name a POST policy is signed with.
    public static let algorithm = "AWS4-HMAC-SHA256"
}

extension Signer {
    /// Signs a POST policy for a browser-form upload of `key` (a key ending in `${filename}` allows
    /// any name the browser gives the file after that prefix) into `bucket`, valid for `expires`
    /// seconds (1 to 604 800) from `date`.
    ///
    /// The policy holds, as botocore's `generate_presigned_post` writes it: the bucket, the key
    /// (`starts-with` its prefix when it ends in `${filename}`), each of `fields` exactly, the
    /// caller's `conditions`, and the algorithm, credential, date and session token fields.
    ///
    /// ```swift
    /// let post = try signer.presignPost(bucket: "photos", key: "cat.jpg", expires: 300, at: date)
    /// post["x-amz-signature"]   // 64 hex digits
    /// ```
    public func presignPost(
        bucket: String, key: String, expires: Int, fields: [(String, String)] = [],
        conditions: [PostPolicy.Condition] = [], at date: AmzDate
    ) throws(SigV4Error) -> PresignedPost {
        guard (1...604_800).contains(expires) else {
            throw SigV4Error(.invalidExpires, "a POST policy may last 1 to 604800 seconds, not \(expires)")
        }
        let scope = try self.scope(at: date)
        let credential = "\(credentials.accessKeyID)/\(scope)"
        var authFields = [
            PresignedPost.Field("x-amz-algorithm", PresignedPost.algorithm),
            PresignedPost.Field("x-amz-credential", credential),
            PresignedPost.Field("x-amz-date", date.iso8601Basic),
        ]
        if let token = credentials.sessionToken {
            // S3 Express names the token field as its presigned URLs name the parameter.
            let name = rules.sessionTokenPlacement == .s3SessionToken ? "X-Amz-S3session-Token" : "x-amz-security-token"
            authFields.append(PresignedPost.Field(name, token))
        }

        var all: [PostPolicy.Condition] = [.equals(field: "bucket", value: bucket)]
        let filename = "${filename}"
        all.append(
            key.hasSuffix(filename)
                ? .startsWith(field: "key", prefix: String(key.dropLast(filename.count))) : .equals(field: "key", value: key))
        all += fields.map { .equals(field: $0.0, value: $0.1) }
        all += conditions
        all += authFields.map { .equals(field: $0.name, value: $0.value) }
        let policy = PostPolicy(expiration: date.adding(seconds: Int64(expires)), conditions: all)
        let encoded = Base64.encode(Array(policy.json.utf8))
        let signature = Signature(digest: signingKey(for: scope).hmac.authenticationCode(for: encoded))

        var out = [PresignedPost.Field("key", key)] + fields.map { PresignedPost.Field($0.0, $0.1) } + authFields
        out.append(PresignedPost.Field("policy", encoded))
        out.append(PresignedPost.Field("x-amz-signature", signature.hex))
        return PresignedPost(fields: out, policy: policy, signature: signature)
    }
}
