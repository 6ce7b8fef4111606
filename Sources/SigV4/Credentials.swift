package import _SigV4Crypto

/// An AWS secret access key, held in zeroizing memory.
///
/// The value never appears in `description`, `debugDescription`, string
/// interpolation or `dump`: all of them print `<redacted>`. Equality is
/// constant time.
///
/// ```swift
/// let secret = SecretAccessKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
/// print(secret) // <redacted>
/// ```
///
/// The `String` you pass in is an ordinary Swift string and cannot be wiped;
/// prefer ``init(bytes:)`` when the secret arrives as bytes.
public struct SecretAccessKey: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    package let storage: SecureBytes
    /// A keyed, non-reversible fingerprint for cache keys (see `SecretFingerprint`), computed once.
    let fingerprint: UInt64

    /// Wraps a secret given as text.
    public init(_ secret: String) {
        storage = SecureBytes(secret.utf8)
        fingerprint = SecretFingerprint.of(storage)
    }

    /// Wraps a secret given as UTF-8 bytes.
    public init<Bytes: Collection<UInt8>>(bytes: Bytes) {
        storage = SecureBytes(bytes)
        fingerprint = SecretFingerprint.of(storage)
    }

    /// An empty secret that stands in where a signer must not keep the real one.
    static let placeholder = SecretAccessKey("")

    /// Number of bytes in the secret.
    public var count: Int { storage.count }

    /// Gives temporary access to the secret's bytes. Do not let them escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// Reveals the secret as a `String`. Use only where a secret must be shown on purpose
    /// (for example `sigv4 keys create`, once).
    public func revealForDisplay() -> String {
        storage.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    public static func == (lhs: SecretAccessKey, rhs: SecretAccessKey) -> Bool { lhs.storage == rhs.storage }

    /// Hashes only the length, so hashing never leaks secret bytes.
    public func hash(into hasher: inout Hasher) { hasher.combine(storage.count) }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "SecretAccessKey(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// AWS credentials: an access key id, its secret, and an optional session token.
///
/// ```swift
/// let credentials = Credentials(
///     accessKeyID: "AKIDEXAMPLE",
///     secretAccessKey: SecretAccessKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
/// print(credentials) // Credentials(accessKeyID: AKIDEXAMPLE, secret: <redacted>)
/// ```
public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomReflectable {
    /// The access key id, for example `AKIDEXAMPLE`.
    public var accessKeyID: String
    /// The secret access key (redacted in every printout).
    public var secretAccessKey: SecretAccessKey
    /// The session token for temporary credentials. An empty token is treated as none.
    public var sessionToken: String? {
        get { _sessionToken }
        set { _sessionToken = (newValue?.isEmpty ?? true) ? nil : newValue }
    }
    private var _sessionToken: String?
    /// When temporary credentials stop working, as an ``AmzDate``.
    public var expiration: AmzDate?

    /// Creates credentials. An empty `sessionToken` is dropped.
    public init(
        accessKeyID: String, secretAccessKey: SecretAccessKey, sessionToken: String? = nil,
        expiration: AmzDate? = nil
    ) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self._sessionToken = (sessionToken?.isEmpty ?? true) ? nil : sessionToken
        self.expiration = expiration
    }

    /// Convenience initializer taking the secret as text.
    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: AmzDate? = nil)
    {
        self.init(
            accessKeyID: accessKeyID, secretAccessKey: SecretAccessKey(secretAccessKey), sessionToken: sessionToken,
            expiration: expiration)
    }

    public var description: String {
        "Credentials(accessKeyID: \(accessKeyID), secret: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["accessKeyID": accessKeyID], displayStyle: .struct)
    }
}
