public import SigV4

/// Looks up the secret and the limits of an access key, for the verifier.
///
/// The verifier calls ``resolve(accessKeyID:context:)`` once per request,
/// after the cheap syntactic checks have passed. Return `nil` for an unknown
/// key (the verifier answers `InvalidAccessKeyId`). Implementations must be
/// safe to call concurrently; the key store (`SigV4KeyStore`) is one.
///
/// ```swift
/// struct StaticResolver: CredentialResolver {
///     let keys: [String: ResolvedCredential]
///     func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
///         keys[accessKeyID]
///     }
/// }
/// ```
///
/// A resolver that can answer without suspending (its keys are in memory, or it reads a local
/// store synchronously) also implements ``lookUpWithoutSuspending(accessKeyID:context:)``: the
/// verifier asks it first and skips the asynchronous call when it answers.
public protocol CredentialResolver: Sendable {
    /// Returns the credential for `accessKeyID`, or nil when the key is unknown.
    func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential?

    /// The answer when it is at hand without suspending, else ``CredentialLookup/needsSuspension``
    /// (the default): the verifier then calls ``resolve(accessKeyID:context:)``. A thrown error
    /// is treated as one thrown by `resolve` (the verifier answers `InternalError`: fail closed).
    ///
    /// ```swift
    /// func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) -> CredentialLookup {
    ///     keys[accessKeyID].map(CredentialLookup.found) ?? .notFound
    /// }
    /// ```
    func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) throws -> CredentialLookup

    /// The same for an id that is a slice of the request (what the verifier calls). The default
    /// makes it a `String` and asks ``lookUpWithoutSuspending(accessKeyID:context:)-(String,_)``; a
    /// resolver whose keys are in a `Substring`-keyed table (`Substring` hashes and compares as
    /// `String` does) answers without that copy, which for a real, 20-character id is an
    /// allocation per request.
    ///
    /// ```swift
    /// func lookUpWithoutSuspending(accessKeyID: Substring, context: ResolutionContext) -> CredentialLookup {
    ///     keys[accessKeyID].map(CredentialLookup.found) ?? .notFound   // keys: [Substring: ResolvedCredential]
    /// }
    /// ```
    func lookUpWithoutSuspending(accessKeyID: Substring, context: ResolutionContext) throws -> CredentialLookup

    /// Told once a request signed with one of this resolver's keys has been accepted: every check
    /// passed, the replay guard's included (a browser form: its policy and conditions). A resolver
    /// that records each key's use (the key store's last use, which `keys list` shows) records it
    /// here, not when the key is looked up: a lookup is asked for any request that names the key,
    /// with a forged signature or outside the key's scope too, and access key ids are not secret.
    /// The default does nothing.
    ///
    /// ```swift
    /// func noteAccepted(accessKeyID: String, scope: CredentialScope, now: AmzDate) {
    ///     lastUse.withLock { $0[accessKeyID] = (now, scope.region, scope.service) }
    /// }
    /// ```
    func noteAccepted(accessKeyID: String, scope: CredentialScope, now: AmzDate)
}

extension CredentialResolver {
    /// No answer without suspending: the verifier calls ``resolve(accessKeyID:context:)``.
    public func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) throws -> CredentialLookup {
        .needsSuspension
    }

    /// Asks ``lookUpWithoutSuspending(accessKeyID:context:)-(String,_)`` with the id as a `String`.
    public func lookUpWithoutSuspending(accessKeyID: Substring, context: ResolutionContext) throws -> CredentialLookup {
        try lookUpWithoutSuspending(accessKeyID: String(accessKeyID), context: context)
    }

    /// Records nothing.
    public func noteAccepted(accessKeyID: String, scope: CredentialScope, now: AmzDate) {}
}

/// What ``CredentialResolver/lookUpWithoutSuspending(accessKeyID:context:)`` answers.
///
/// ```swift
/// switch try resolver.lookUpWithoutSuspending(accessKeyID: id, context: context) {
/// case .found(let credential): use(credential)
/// case .notFound: reject()
/// case .needsSuspension: use(try await resolver.resolve(accessKeyID: id, context: context))
/// }
/// ```
public enum CredentialLookup: Sendable {
    /// The key is known.
    case found(ResolvedCredential)
    /// The key is unknown (as `resolve` returning nil).
    case notFound
    /// The answer needs the asynchronous ``CredentialResolver/resolve(accessKeyID:context:)``.
    case needsSuspension
}

/// What the verifier knows about the request when it asks for a key.
public struct ResolutionContext: Sendable, Hashable {
    /// The signing time claimed by the request (`X-Amz-Date`).
    public var signedAt: AmzDate
    /// The verifier's current time.
    public var now: AmzDate
    /// The region and service in the request's credential scope.
    public var region: String
    public var service: String
    /// True for a presigned (query-string) request.
    public var isPresigned: Bool

    /// Creates a context.
    public init(signedAt: AmzDate, now: AmzDate, region: String, service: String, isPresigned: Bool) {
        self.signedAt = signedAt
        self.now = now
        self.region = region
        self.service = service
        self.isPresigned = isPresigned
    }
}

/// A key as the verifier needs it: the secret, who owns it, and what it may do.
///
/// ```swift
/// let credential = ResolvedCredential(
///     accessKeyID: "AKIDEXAMPLE", secretAccessKey: SecretAccessKey("…"), principal: "alice",
///     scope: KeyScope(regions: ["us-east-1"], services: ["s3"]))
/// ```
public struct ResolvedCredential: Sendable, Hashable, CustomStringConvertible {
    /// The access key id.
    public var accessKeyID: String {
        get { box.fields.accessKeyID }
        set { update { $0.accessKeyID = newValue } }
    }
    /// The secret (redacted in every printout).
    public var secretAccessKey: SecretAccessKey {
        get { box.fields.secretAccessKey }
        set { update { $0.secretAccessKey = newValue } }
    }
    /// The owner of the key, reported with an accepted request.
    public var principal: String {
        get { box.fields.principal }
        set { update { $0.principal = newValue } }
    }
    /// The limits on this key. ``KeyScope/unrestricted`` by default.
    public var scope: KeyScope {
        get { box.fields.scope }
        set { update { $0.scope = newValue } }
    }
    /// The session token the request must carry, for temporary credentials.
    public var sessionToken: String? {
        get { box.fields.sessionToken }
        set { update { $0.sessionToken = newValue } }
    }
    /// When set, only requests signed strictly before this time are accepted
    /// (a key retiring at this instant; presigned URLs issued before it keep working).
    public var acceptsSignaturesBefore: AmzDate? {
        get { box.fields.acceptsSignaturesBefore }
        set { update { $0.acceptsSignaturesBefore = newValue } }
    }
    /// A counter that changes whenever the key changes, for caches of your own. (The verifier's
    /// signing-key cache does not need it: it is keyed by a fingerprint of the secret.)
    public var generation: UInt64 {
        get { box.fields.generation }
        set { update { $0.generation = newValue } }
    }

    /// The fields, behind one immutable reference: a resolver hands out a copy on every lookup
    /// and the verifier keeps it to the end of the check, so a copy is one retain, not one per
    /// string, set and array (a setter makes a new box).
    struct Fields: Sendable, Hashable {
        var accessKeyID: String
        var secretAccessKey: SecretAccessKey
        var principal: String
        var scope: KeyScope
        var sessionToken: String?
        var acceptsSignaturesBefore: AmzDate?
        var generation: UInt64
    }

    final class Box: Sendable {
        let fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    private mutating func update(_ change: (inout Fields) -> Void) {
        var fields = box.fields
        change(&fields)
        box = Box(fields)
    }

    /// Creates a resolved credential.
    public init(
        accessKeyID: String, secretAccessKey: SecretAccessKey, principal: String, scope: KeyScope = .unrestricted,
        sessionToken: String? = nil, acceptsSignaturesBefore: AmzDate? = nil, generation: UInt64 = 0
    ) {
        box = Box(
            Fields(
                accessKeyID: accessKeyID, secretAccessKey: secretAccessKey, principal: principal, scope: scope,
                sessionToken: sessionToken, acceptsSignaturesBefore: acceptsSignaturesBefore, generation: generation))
    }

    /// The key cache's ``SigningSecond`` for this key in `scope` at `date`, its id and secret read
    /// from the box in place (through the getters each was a copy: a retain and a release).
    func second(in cache: SigningKeyCache, scope: CredentialScope, date: AmzDate) -> SigningSecond {
        cache.second(
            accessKeyID: box.fields.accessKeyID, secretAccessKey: box.fields.secretAccessKey, scope: scope, date: date)
    }

    public static func == (a: ResolvedCredential, b: ResolvedCredential) -> Bool {
        a.box === b.box || a.box.fields == b.box.fields
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(box.fields) }

    public var description: String {
        "ResolvedCredential(\(accessKeyID), principal: \(principal), secret: <redacted>)"
    }
}

/// Limits on what a key may sign. An empty set means "any".
///
/// ```swift
/// let scope = KeyScope(regions: ["us-east-1"], services: ["s3"], methods: ["GET", "HEAD"],
///                      pathPrefixes: ["/public/"], maxPresignLifetime: 3600)
/// ```
public struct KeyScope: Sendable, Hashable, Codable {
    /// Allowed regions (empty: any).
    public var regions: Set<String>
    /// Allowed services (empty: any).
    public var services: Set<String>
    /// Allowed HTTP methods, uppercase (empty: any).
    public var methods: Set<String>
    /// Allowed path prefixes (empty: any), compared byte for byte with the start of the request's
    /// path percent-decoded, both as it is and dot-segment-normalized (``allowsPath(_:)``). A prefix is a prefix of
    /// bytes, not of segments: `/pub` allows `/public/x`; end it with `/` (`/pub/`) to allow one
    /// folder.
    public var pathPrefixes: [String]
    /// Longest `X-Amz-Expires` accepted for presigned URLs, in seconds (nil: the 7-day maximum).
    public var maxPresignLifetime: Int?
    /// The key is not valid before this time.
    public var notBefore: AmzDate?
    /// The key is not valid after this time.
    public var notAfter: AmzDate?

    /// Creates a scope.
    public init(
        regions: Set<String> = [], services: Set<String> = [], methods: Set<String> = [],
        pathPrefixes: [String] = [], maxPresignLifetime: Int? = nil, notBefore: AmzDate? = nil,
        notAfter: AmzDate? = nil
    ) {
        self.regions = regions
        self.services = services
        self.methods = methods
        self.pathPrefixes = pathPrefixes
        self.maxPresignLifetime = maxPresignLifetime
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// No limits.
    public static let unrestricted = KeyScope()

    /// True when the request path `path` (as sent, without the query) is inside one of
    /// ``pathPrefixes`` however a server behind the verifier resolves it: the path is
    /// percent-decoded once and must start with a prefix both as it is (S3 and other stores keep
    /// `.` and `..` segments in a key: `/secrets/../photos/x` is bucket `secrets`) and normalized
    /// (`.` and `..` segments resolved, `//` collapsed, as servers that clean paths read it). When
    /// the decoded path holds `\` or `;`, it must also start with one when `\` separates segments
    /// as `/` does (IIS, WHATWG URL parsers) and a segment is read up to its first `;` for being
    /// `.` or `..` (`..;jsessionid=1`: Tomcat's path parameters), so `/public/..;/private` and
    /// `/public/..%5Cprivate` are not in `/public/`. Empty ``pathPrefixes`` allows every path.
    /// (Until 2026-12-03 only the normalized path was compared, so a key limited to `/photos/`
    /// reached bucket `secrets` of an S3 upstream with `/secrets/../photos/x`.)
    func allowsPath(_ path: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !pathPrefixes.isEmpty else { return true }
        let decoded = URIEncoding.decode(path)
        func inside(_ normalized: [UInt8]) -> Bool { pathPrefixes.contains { normalized.starts(with: $0.utf8) } }
        guard inside(decoded), inside(URIEncoding.normalizePath(decoded)) else { return false }
        guard decoded.contains(where: { $0 == 0x5c || $0 == 0x3b }) else { return true }
        return inside(KeyScope.normalizingParametersAndBackslashes(decoded))
    }

    /// `path` normalized as ``URIEncoding/normalizePath(_:)-([UInt8])`` does, but with `\` as a
    /// separator too (written `/`) and a segment that is `.` or `..` before its first `;` (its
    /// path parameters) resolved as `.` or `..`; other segments are kept as they are.
    static func normalizingParametersAndBackslashes(_ path: [UInt8]) -> [UInt8] {
        var segments: [ArraySlice<UInt8>] = []
        var start = 0
        for i in 0...path.count where i == path.count || path[i] == 0x2f || path[i] == 0x5c {
            let segment = path[start..<i]
            start = i + 1
            let name = segment.prefix { $0 != 0x3b }
            if segment.isEmpty || name.elementsEqual([0x2e]) { continue }
            if name.elementsEqual([0x2e, 0x2e]) {
                _ = segments.popLast()
                continue
            }
            segments.append(segment)
        }
        var out: [UInt8] = [0x2f]
        for (k, segment) in segments.enumerated() {
            if k > 0 { out.append(0x2f) }
            out.append(contentsOf: segment)
        }
        if let last = path.last, last == 0x2f || last == 0x5c, !segments.isEmpty { out.append(0x2f) }
        return out
    }
}

extension AmzDate: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(secondsSince1970: try decoder.singleValueContainer().decode(Int64.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(secondsSince1970)
    }
}
