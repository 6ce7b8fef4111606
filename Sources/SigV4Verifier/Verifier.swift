public import HTTPTypes
public import SigV4
import _SigV4Crypto

/// Verifies AWS Signature Version 4 requests: header auth and presigned URLs.
///
/// A verifier is built from a ``CredentialResolver`` (who owns which secret), a
/// ``VerificationPolicy`` (which checks, with which limits) and an optional ``ReplayGuard``.
/// ``verify(_:payload:now:)`` never throws for a bad request: it returns a
/// ``VerificationResult``. The order of the checks:
///
/// 1. syntax: one auth mechanism, the `Authorization` header or the `X-Amz-*` parameters,
///    algorithm, credential scope and terminator, `SignedHeaders`, signature format;
/// 2. endpoint: region and service allow-lists;
/// 3. time: scope date equals the request date; header auth within ±``VerificationPolicy/maxClockSkew``;
///    presigned `date ≤ now ≤ date + expires`, expires ≤ 7 days;
/// 4. coverage: `host` and every `x-amz-*` header present are signed; the payload mode is allowed;
/// 5. the key lookup (only now), then the key's own scope, validity window and session token;
/// 6. the signature, recomputed with the signer's canonicalization and compared in constant time;
/// 7. the body, when given, against `x-amz-content-sha256`;
/// 8. the replay guard.
///
/// ```swift
/// let verifier = Verifier(
///     resolver: InMemoryCredentialResolver([credential]),
///     policy: VerificationPolicy(allowedRegions: ["us-east-1"], allowedServices: ["s3"]),
///     replayGuard: InMemoryReplayGuard())
/// let result = await verifier.verify(VerificationRequest(request), payload: .body(body), now: now)
/// ```
public struct Verifier: Sendable {
    /// Where secrets come from.
    public var resolver: any CredentialResolver {
        get { storage.resolver }
        set { storage = Storage(storage, resolver: newValue) }
    }
    /// The checks.
    public var policy: VerificationPolicy {
        get { storage.policy }
        set { storage = Storage(storage, policy: newValue) }
    }
    /// Remembers accepted signatures; nil disables replay protection.
    public var replayGuard: (any ReplayGuard)? {
        get { storage.replayGuard }
        set { storage = Storage(storage, replayGuard: .some(newValue)) }
    }
    /// Derived signing keys, keyed by access key id, scope and a keyed fingerprint of the secret: a
    /// changed secret never reuses a derived key, and an unchanged one keeps its keys across key-store
    /// changes (a derived key depends on nothing else).
    public var keyCache: SigningKeyCache {
        get { storage.keyCache }
        set { storage = Storage(storage, keyCache: newValue) }
    }
    /// SigV4a key pairs, derived from the resolved secrets (an ECDSA scalar multiplication each).
    var sigV4aKeys: SigV4aKeyCache { storage.sigV4aKeys }

    /// The parts, behind one reference: a verifier is copied wherever it is held by value (a
    /// middleware, an async call's frame), and one reference is one retain and one release where
    /// the parts (a policy's sets and arrays, the resolver, the caches) were a dozen. Immutable: a
    /// setter above makes a new one.
    final class Storage: Sendable {
        let resolver: any CredentialResolver
        let policy: VerificationPolicy
        let replayGuard: (any ReplayGuard)?
        /// `replayGuard != nil`, read without copying the existential (a retain and a release).
        let hasReplayGuard: Bool
        /// `!policy.eventStreamPaths.isEmpty`, read without copying the set.
        let hasEventStreamPaths: Bool
        /// `policy.eventStreamPaths` as bytes, compared length first (every header-auth request
        /// without `x-amz-content-sha256` is looked up).
        let eventStreamPathBytes: [[UInt8]]
        let keyCache: SigningKeyCache
        let sigV4aKeys: SigV4aKeyCache
        /// The common form's `Authorization` prefixes read lately (they depend on the policy: a
        /// new storage starts with none).
        let commonPrefixes = CommonFormPrefixes()
        /// Presigned URLs' credentials and signed names read lately.
        let presignCredentials = PresignCredentials()

        init(
            resolver: any CredentialResolver, policy: VerificationPolicy, replayGuard: (any ReplayGuard)?,
            keyCache: SigningKeyCache, sigV4aKeys: SigV4aKeyCache
        ) {
            self.resolver = resolver
            self.policy = policy
            self.replayGuard = replayGuard
            self.hasReplayGuard = replayGuard != nil
            self.hasEventStreamPaths = !policy.eventStreamPaths.isEmpty && policy.allowEventStreams
            self.eventStreamPathBytes = policy.eventStreamPaths.map { Array($0.utf8) }
            self.keyCache = keyCache
            self.sigV4aKeys = sigV4aKeys
        }

        /// A copy of `other` with the parts given replaced.
        convenience init(
            _ other: Storage, resolver: (any CredentialResolver)? = nil, policy: VerificationPolicy? = nil,
            replayGuard: (any ReplayGuard)?? = nil, keyCache: SigningKeyCache? = nil
        ) {
            self.init(
                resolver: resolver ?? other.resolver, policy: policy ?? other.policy,
                replayGuard: replayGuard ?? other.replayGuard, keyCache: keyCache ?? other.keyCache,
                sigV4aKeys: other.sigV4aKeys)
        }
    }

    var storage: Storage

    /// Creates a verifier.
    public init(
        resolver: any CredentialResolver, policy: VerificationPolicy = .default,
        replayGuard: (any ReplayGuard)? = nil, keyCache: SigningKeyCache = SigningKeyCache(capacity: 1024)
    ) {
        storage = Storage(
            resolver: resolver, policy: policy, replayGuard: replayGuard, keyCache: keyCache,
            sigV4aKeys: SigV4aKeyCache(capacity: 256))
    }

    /// How the body is supplied.
    public enum Payload: Sendable {
        /// The whole body. It is hashed when the signature needs it, and checked against
        /// `x-amz-content-sha256`.
        case body([UInt8])
        /// The hex SHA-256 of the body, computed by the caller.
        case hash(PayloadHash)
        /// The body will stream after verification. The payload hash must come from
        /// `x-amz-content-sha256`, `UNSIGNED-PAYLOAD` (presigned S3), or the request must have no body.
        /// A request that signed its body's hash without declaring it (header auth, or a presigned
        /// URL of a service other than S3 whose `UNSIGNED-PAYLOAD` reading did not match) is refused
        /// with `MissingSecurityHeader` naming `x-amz-content-sha256`: verify it again with ``body(_:)``.
        case streamed

        /// True for ``streamed``.
        var isStreamed: Bool {
            if case .streamed = self { return true }
            return false
        }

        /// False when this says there is no body: an empty one given, or the empty body's hash.
        /// (A streamed body may have bytes whatever the headers declare: HTTP/2 carries them
        /// without `Content-Length`.)
        var mayCarryBody: Bool {
            switch self {
            case .body(let b): return !b.isEmpty
            case .hash(let h): return h != .emptySHA256
            case .streamed: return true
            }
        }
    }

    /// Verifies an `HTTPRequest` (`Host` is taken from the authority when there is no field).
    public func verify(_ request: HTTPRequest, payload: Payload = .streamed, now: AmzDate) async -> VerificationResult {
        await verify(VerificationRequest(request), payload: payload, now: now)
    }

    /// Verifies a request at time `now`.
    public func verify(_ request: VerificationRequest, payload: Payload = .streamed, now: AmzDate) async
        -> VerificationResult
    {
        // The usual case (a resolver with the key at hand, no replay guard or one that answers at
        // once) completes here, without an asynchronous call: each is a task frame and an executor
        // check.
        var outcome = Outcome()
        do {
            if try firstPass(request, payload: payload, now: now, into: &outcome) {
                let verified = outcome.verified.take()!
                noteAccepted(verified, now: now)
                return .accepted(verified)
            }
            let verified = try await finish(request, payload: payload, now: now, outcome: outcome)
            noteAccepted(verified, now: now)
            return .accepted(verified)
        } catch {
            return .rejected(error)
        }
    }

    /// Tells the resolver a request of its key was accepted
    /// (``CredentialResolver/noteAccepted(accessKeyID:scope:now:)``).
    func noteAccepted(_ verified: borrowing VerifiedRequest, now: AmzDate) {
        storage.resolver.noteAccepted(accessKeyID: verified.accessKeyID, scope: verified.scope, now: now)
    }

    /// Verifies a request at time `now` without suspending, when that is possible: nil when the
    /// resolver has to be asked asynchronously (its
    /// ``CredentialResolver/lookUpWithoutSuspending(accessKeyID:context:)-(Substring,_)`` answered
    /// ``CredentialLookup/needsSuspension``) or the ``ReplayGuard`` cannot record the signature
    /// without suspending (``ReplayGuard/rememberWithoutSuspending(_:until:now:)`` answered nil);
    /// call ``verify(_:payload:now:)`` then (nothing was recorded). The in-memory resolver, the key
    /// store and the in-memory replay guard always answer at once. For code that cannot `await`,
    /// such as a SwiftNIO channel handler that hands the rare request needing a suspension to a task.
    ///
    /// ```swift
    /// if let result = verifier.verifyWithoutSuspending(VerificationRequest(head), now: now) {
    ///     handle(result)
    /// } else {
    ///     Task { handle(await verifier.verify(VerificationRequest(head), now: now)) }
    /// }
    /// ```
    public func verifyWithoutSuspending(
        _ request: VerificationRequest, payload: Payload = .streamed, now: AmzDate
    ) -> VerificationResult? {
        var outcome = Outcome()
        do {
            guard try firstPass(request, payload: payload, now: now, into: &outcome) else { return nil }
            let verified = outcome.verified.take()!
            noteAccepted(verified, now: now)
            return .accepted(verified)
        } catch {
            return .rejected(error)
        }
    }

    // MARK: - The checks

    /// Facts gathered from the header fields in one pass. Values stay in the fields: a fact
    /// records where a header occurs, not a copy of it, and the facts hold no reference to the
    /// fields (``HeaderList/withFirst(_:_:)`` reads a value): a copy of the facts is plain bytes,
    /// where one holding the fields retained and released their storage.
    struct HeaderFacts {
        /// Where one header name occurs: its first field and how many fields carry it.
        struct Occurrences {
            var first = -1
            var count = 0
            var isEmpty: Bool { count == 0 }
            mutating func add(_ index: Int) {
                if count == 0 { first = index }
                count += 1
            }
        }

        var authorization = Occurrences()
        var amzDate = Occurrences()
        var date = Occurrences()
        var contentSHA256 = Occurrences()
        var securityToken = Occurrences()
        var regionSet = Occurrences()
        /// The first `x-amz-date` value, parsed when it was noted (nil when it is not a valid
        /// `YYYYMMDDTHHMMSSZ`), so the field is not read again.
        var firstAmzDate: AmzDate? = nil
        /// `x-amz-checksum-<algorithm>` fields of the algorithms ``DeclaredChecksum`` knows, and the
        /// first one's algorithm.
        var checksum = Occurrences()
        var checksumAlgorithm: TrailingChecksum.Algorithm? = nil
        var contentMD5 = Occurrences()
        var host = Occurrences()
        var hasBody = false
        /// A `Content-Length` above zero (a body of known length: ``hasBody`` is also set by
        /// `Transfer-Encoding`).
        var contentLengthBody = false
        /// A `Content-Type: application/vnd.amazon.eventstream` field (any case, any parameters).
        var eventStreamType = false
        /// How many `x-amz-*` fields there are, `x_amz_*` spellings included (coverage is checked
        /// only when there are some).
        var amzCount = 0
        /// True when some `x-amz-*` name is spelled with `_` for a `-` (`X_Amz_Copy_Source`): the
        /// canonicalization's prefix scan does not see it, so coverage walks the fields.
        var amzUnderscored = false

        /// No facts yet: ``note(_:name:value:)`` adds each field's (the canonicalization's field
        /// pass calls it, so the fields are walked once).
        init() {}

        /// Records field `index`, named `name` (any case) with value `value`.
        @inline(__always)
        mutating func note(_ index: Int, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
            guard let first = name.first else { return }
            switch first | 0x20 {
            case UInt8(ascii: "a"):
                if Self.equals(name, "authorization") { authorization.add(index) }
            case UInt8(ascii: "c"):
                if Self.equals(name, "content-length"), value.contains(where: { $0 >= 0x31 && $0 <= 0x39 }) {
                    hasBody = true
                    contentLengthBody = true
                } else if Self.equals(name, "content-md5") {
                    contentMD5.add(index)
                } else if name.count == 12, Self.equals(name, "content-type"), Self.isEventStreamType(value) {
                    eventStreamType = true
                }
            case UInt8(ascii: "d"):
                if Self.equals(name, "date") { date.add(index) }
            case UInt8(ascii: "h"):
                if Self.equals(name, "host") { host.add(index) }
            case UInt8(ascii: "t"):
                if Self.equals(name, "transfer-encoding") { hasBody = true }
            case UInt8(ascii: "x"):
                guard Verifier.isAmzName(name) else { return }
                amzCount += 1
                // `x_amz_…`: no header the checks read, but covered as `x-amz-*` (``isAmzName(_:)``).
                if name[1] != 0x2d || name[5] != 0x2d {
                    amzUnderscored = true
                    return
                }
                switch name.count {
                case 10 where Self.equals(name, "x-amz-date"):
                    if amzDate.isEmpty && value.count == 16 { firstAmzDate = AmzDate.parse(bytes: value) }
                    amzDate.add(index)
                case 16 where Self.equals(name, "x-amz-region-set"): regionSet.add(index)
                case 20 where Self.equals(name, "x-amz-content-sha256"): contentSHA256.add(index)
                case 20 where Self.equals(name, "x-amz-security-token"): securityToken.add(index)
                default:
                    // `x-amz-checksum-<algorithm>` (18 to 24 bytes, `c` after `x-amz-`).
                    guard name.count >= 18, name[6] | 0x20 == UInt8(ascii: "c"),
                        let algorithm = DeclaredChecksum.algorithm(ofFieldName: name)
                    else { return }
                    if checksum.isEmpty { checksumAlgorithm = algorithm }
                    checksum.add(index)
                }
            default:
                return
            }
        }

        /// True when a `Content-Type` value is `application/vnd.amazon.eventstream` (any case, with
        /// or without parameters): the body of a streaming API's request.
        static func isEventStreamType(_ value: UnsafeBufferPointer<UInt8>) -> Bool {
            let type: StaticString = "application/vnd.amazon.eventstream"
            var v = value[...]
            while let b = v.first, b == 0x20 || b == 0x09 { v = v.dropFirst() }
            guard v.count >= type.utf8CodeUnitCount,
                Self.equals(UnsafeBufferPointer(rebasing: v.prefix(type.utf8CodeUnitCount)), type)
            else { return false }
            let rest = v.dropFirst(type.utf8CodeUnitCount)
            return rest.isEmpty || rest.first == 0x3b || rest.first == 0x20 || rest.first == 0x09
        }

        /// True when `name` is `lowercase` in any letter case: ``VerificationRequest/equalsIgnoringCase(_:_:)``
        /// (words lowercased as they are read, no byte loop) on the constant's bytes.
        @inline(__always)
        static func equals(_ name: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
            VerificationRequest.equalsIgnoringCase(
                name, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
        }
    }

    /// True when `name` starts with `x-amz-` in any case, `_` standing for either `-`
    /// (`X_Amz_Copy_Source`): CGI, WSGI, PHP and Rack give such a header the variable of
    /// `x-amz-copy-source` (`HTTP_X_AMZ_COPY_SOURCE`), so a service behind the verifier may read
    /// it as one, and it must be signed as one.
    static func isAmzName(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        guard name.count >= 6 else { return false }
        return (name[0] | 0x20) == 0x78 && (name[1] == 0x2d || name[1] == 0x5f) && (name[2] | 0x20) == 0x61
            && (name[3] | 0x20) == 0x6d && (name[4] | 0x20) == 0x7a && (name[5] == 0x2d || name[5] == 0x5f)
    }

    /// The lowercase `x-amz-*` names (``isAmzName(_:)``: `x_amz_*` too, as spelled) present but not among the signed names (`signedLine`,
    /// `a;b;c`), in first-occurrence order, without repeats. Linear in the fields times the signed
    /// names (at most ``AuthorizationParser/maxSignedHeaders``), so 10,000 distinct names stay cheap.
    static func unsignedAmzNames(_ headers: HeaderList, signedLine: UnsafeRawBufferPointer) -> [String] {
        var out: [String] = []
        var seen: Set<String> = []
        let line = signedLine.bindMemory(to: UInt8.self)
        for i in 0..<headers.count {
            let lower: String? = headers.withName(i) { name in
                guard isAmzName(name), !ClaimedAuthorization.names(line, contain: name) else { return nil }
                return String(decoding: name.map { ($0 >= 0x41 && $0 <= 0x5a) ? $0 | 0x20 : $0 }, as: UTF8.self)
            }
            if let lower, seen.insert(lower).inserted { out.append(lower) }
        }
        return out
    }

    /// What the synchronous part of a verification came to, written in place (a verified
    /// request is large: it is not copied through return values).
    struct Outcome {
        /// Set when every check before the replay guard passed.
        var verified: VerifiedRequest?
        /// The access key id as the request claims it (set with `verified` when there is a replay
        /// guard, whose refusals name it).
        var claimedAccessKeyID: Substring = ""
        /// Set when the resolver has to be asked asynchronously; the verification then runs
        /// again with its answer.
        var needsLookup: (accessKeyID: String, context: ResolutionContext)?
    }

    /// How the synchronous part gets the credential.
    enum Lookup {
        /// Ask ``CredentialResolver/lookUpWithoutSuspending(accessKeyID:context:)``.
        case immediate
        /// What ``CredentialResolver/resolve(accessKeyID:context:)`` returned or threw.
        case resolved(Result<ResolvedCredential?, any Error>)
    }

    /// The header fields as the canonicalization collected them, or why it refused one.
    enum CollectedFields {
        case collected(VerifierCanonicalization.Headers)
        case refused(SigV4Error)

        /// True when every field name starting with `prefix` is among the names of `line`
        /// (`a;b;c`); false when the fields were refused (the caller then looks at each field).
        func allNames(withPrefix prefix: StaticString, areIn line: UnsafeRawBufferPointer) -> Bool {
            guard case .collected(let fields) = self else { return false }
            return fields.allNames(withPrefix: prefix, areIn: line)
        }
    }

    /// Every check that needs no suspension. True when the verification is complete
    /// (`outcome.verified` is the accepted request); false when the resolver has to be asked
    /// asynchronously or the replay guard cannot record the signature without suspending:
    /// ``finish(_:payload:now:outcome:)`` then goes on from `outcome`. The verified request stays
    /// in `outcome` (it is large: a result returned through here would be one more copy).
    func firstPass(_ request: VerificationRequest, payload: Payload, now: AmzDate, into outcome: inout Outcome)
        throws(VerificationFailure) -> Bool
    {
        // The query is scanned for presign parameters once, for both paths; the target's bytes,
        // borrowed for it, are the common form's too (a second borrow was a `String.utf8Span` call
        // and a search for the `?` per request).
        try request.withTarget { (t, mark) throws(VerificationFailure) in
            let presigned = Verifier.looksPresigned(target: t, mark: mark)
            try evaluate(
                request, presigned: presigned, target: t, payload: payload, now: now, lookup: .immediate,
                tryingCommonForm: !presigned && commonFormAllowed, into: &outcome)
        }
        guard outcome.needsLookup == nil, outcome.verified != nil else { return false }
        // (Without a guard the step is not called: the call copied the 505-byte outcome.)
        guard storage.hasReplayGuard else { return true }
        return try replayStepWithoutSuspending(outcome, now: now)
    }

    /// True when the replay guard (if any) has to record a verified request's signature: header
    /// authentication always, a presigned URL when the policy makes it single-use or when it has no
    /// `X-Amz-Expires` (a handshake presigned without a lifetime is held to a header signature's rules).
    func needsReplayGuard(_ verified: borrowing VerifiedRequest) -> Bool {
        !verified.isPresigned || verified.expires == nil || storage.policy.presignedSingleUse
    }

    /// Throws `RequestTimeTooSkewed` when `signedAt` is further from `now` than the policy's skew.
    @inline(__always)
    func checkSkew(
        _ signedAt: AmzDate, now: AmzDate, withKey: (VerificationFailure) -> VerificationFailure
    ) throws(VerificationFailure) {
        let skew = now.secondsSince1970 - signedAt.secondsSince1970
        if skew > storage.policy.maxClockSkew || -skew > storage.policy.maxClockSkew {
            throw withKey(
                VerificationFailure(
                    .requestTimeTooSkewed, "The difference between the request time and the current time is too large.",
                    details: [
                        .init("RequestTime", signedAt.iso8601Basic), .init("ServerTime", now.iso8601Basic),
                        .init("MaxAllowedSkewMilliseconds", String(storage.policy.maxClockSkew * 1000)),
                    ]))
        }
    }

    /// The rest of a verification after ``firstPass(_:payload:now:into:)``: the resolver's
    /// asynchronous answer (and every check again with it), then the replay guard.
    func finish(_ request: VerificationRequest, payload: Payload, now: AmzDate, outcome: consuming Outcome)
        async throws(VerificationFailure) -> VerifiedRequest
    {
        var outcome = outcome
        if let (accessKeyID, context) = outcome.needsLookup {
            // Every check before the lookup is a fixed function of the request and `now`: the
            // second run passes them again and goes on with this answer.
            let answer: Result<ResolvedCredential?, any Error>
            do {
                answer = .success(try await storage.resolver.resolve(accessKeyID: accessKeyID, context: context))
            } catch {
                answer = .failure(error)
            }
            outcome = Outcome()
            try evaluate(request, payload: payload, now: now, lookup: .resolved(answer), into: &outcome)
        }
        guard let verified = outcome.verified.take() else {
            // A run with the resolver's answer does not ask again; should it, fail closed.
            throw VerificationFailure(
                .internalError, "The credential store could not be read; please retry.",
                accessKeyID: outcome.needsLookup?.accessKeyID)
        }

        // 8. Replay.
        if let replayGuard = storage.replayGuard, needsReplayGuard(verified) {
            let until = replayUntil(verified)
            try replayAnswer(
                await replayGuard.remember(verified.signature, until: until, now: now), verified: verified, now: now,
                claimedAccessKeyID: outcome.claimedAccessKeyID)
        }
        return verified
    }

    /// The replay guard's answer, when it gives one without suspending
    /// (``ReplayGuard/rememberWithoutSuspending(_:until:now:)``): true when it recorded the
    /// signature (or no guard has to), false when ``finish(_:payload:now:outcome:)`` has to ask.
    func replayStepWithoutSuspending(_ outcome: borrowing Outcome, now: AmzDate) throws(VerificationFailure) -> Bool {
        guard let replayGuard = storage.replayGuard, needsReplayGuard(outcome.verified!)
        else {
            return true
        }
        let until = replayUntil(outcome.verified!)
        guard let answer = replayGuard.rememberWithoutSuspending(outcome.verified!.signature, until: until, now: now)
        else { return false }
        try replayAnswer(answer, verified: outcome.verified!, now: now, claimedAccessKeyID: outcome.claimedAccessKeyID)
        return true
    }

    /// How long a verified request's signature is remembered: as long as it could pass the time
    /// check (the presigned URL's lifetime, or the skew window).
    func replayUntil(_ verified: borrowing VerifiedRequest) -> AmzDate {
        verified.expires.map { verified.signedAt.adding(seconds: Int64($0)) }
            ?? verified.signedAt.adding(seconds: storage.policy.maxClockSkew)
    }

    /// Throws the refusal for a replay guard's answer other than ``ReplayGuardResult/firstUse``.
    func replayAnswer(
        _ answer: ReplayGuardResult, verified: borrowing VerifiedRequest, now: AmzDate, claimedAccessKeyID: Substring
    ) throws(VerificationFailure) {
        switch answer {
        case .firstUse: return
        case .replayed:
            var failure = VerificationFailure(
                .requestReplayed,
                "This signed request was already used. Each signed request is accepted once; sign a new request.",
                details: [.init("RequestTime", verified.signedAt.iso8601Basic), .init("ServerTime", now.iso8601Basic)],
                accessKeyID: String(claimedAccessKeyID))
            failure.replayedSignature = verified.signature
            throw failure
        case .unavailable:
            throw VerificationFailure(
                .slowDown, "Please reduce your request rate (replay protection is at capacity).",
                accessKeyID: String(claimedAccessKeyID))
        }
    }

    /// Every check but the replay guard, without suspending: the header fields are read once,
    /// into the canonicalization's scratch, and the facts the checks need are noted on the way;
    /// the checks and the signature then run while the scratch is held.
    /// `presigned`: ``looksPresigned(_:)``, when the caller has it. `tryingCommonForm`: try the
    /// common form's own path first (``verifyCommonForm(_:facts:fields:payload:now:into:lookup:)``;
    /// the caller checked ``commonFormAllowed`` and that the request is not presigned); its refusal
    /// of a wrong signature is the verdict (the full verification would refuse it the same way);
    /// when it declines, the full verification runs on the same collected fields, with the
    /// resolver's answer if the short path got one. `target`: the request's target bytes, when the
    /// caller has them borrowed (the common form reads them there).
    func evaluate(
        _ request: VerificationRequest, presigned: Bool? = nil, target: UnsafeBufferPointer<UInt8>? = nil,
        payload: Payload, now: AmzDate, lookup: Lookup, tryingCommonForm: Bool = false, into outcome: inout Outcome
    ) throws(VerificationFailure) {
        let presigned = presigned ?? Verifier.looksPresigned(request)
        var facts = HeaderFacts()
        var failure: VerificationFailure? = nil
        var lookup = lookup
        do {
            try collectFields(request, noting: &facts) { facts, fields in
                do throws(VerificationFailure) {
                    if tryingCommonForm,
                        try verifyCommonForm(
                            request, facts: facts, fields: fields, target: target, payload: payload, now: now,
                            into: &outcome, lookup: &lookup)
                    {
                        return
                    }
                    try evaluate(
                        request, presigned: presigned, facts: facts, fields: .collected(fields), payload: payload,
                        now: now, lookup: lookup, into: &outcome)
                } catch {
                    failure = error
                }
            }
        } catch {
            // A field the canonicalization refuses: the facts still cover every field, every check
            // before the signature runs as usual, and the signature step reports it.
            try evaluate(
                request, presigned: presigned, facts: facts, fields: .refused(error), payload: payload, now: now,
                lookup: lookup, into: &outcome)
            return
        }
        // Consumed, not bound: the nil left behind then needs no destroy (bound, the optional was
        // destroyed through its type's metadata on every verification).
        if let failure = consume failure { throw failure }
    }

    /// Reads `request`'s header fields once, into the canonicalization's scratch (sorted), noting
    /// `facts` on the way, and runs `body` with both. Throws the first field the canonicalization
    /// refuses, `facts` then noted for every field.
    func collectFields(
        _ request: VerificationRequest, noting facts: inout HeaderFacts,
        _ body: (borrowing HeaderFacts, VerifierCanonicalization.Headers) -> Void
    ) throws(SigV4Error) {
        try VerifierCanonicalization.withHeaders(count: request.headers.count) {
            sink throws(SigV4Error) in
            facts = HeaderFacts()
            try request.headers.addFields(to: &sink, noting: &facts)
        } body: { fields in
            body(facts, fields)
        }
    }

    /// True when the request's query carries a presign parameter (``AuthorizationParser/looksPresigned(_:)``).
    static func looksPresigned(_ request: VerificationRequest) -> Bool {
        request.withTarget(looksPresigned(target:mark:))
    }

    /// The same for a target's bytes `t` whose first `?` is at `mark` (``VerificationRequest/withTarget(_:)``).
    @inline(__always)
    static func looksPresigned(target t: UnsafeBufferPointer<UInt8>, mark: Int) -> Bool {
        AuthorizationParser.looksPresigned(VerificationRequest.query(in: t, mark: mark))
    }

    func evaluate(
        _ request: VerificationRequest, presigned: Bool, facts: HeaderFacts, fields: CollectedFields, payload: Payload,
        now: AmzDate, lookup: Lookup, into outcome: inout Outcome
    ) throws(VerificationFailure) {

        // 1. One auth mechanism, parsed.
        if !facts.authorization.isEmpty && presigned {
            throw VerificationFailure(
                .invalidArgument,
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified"
            )
        }
        let claim: ClaimedAuthorization
        if presigned {
            guard storage.policy.allowPresigned else {
                throw VerificationFailure(.accessDenied, "Presigned URLs are not accepted by this endpoint")
            }
            var parsed: ClaimedAuthorization? = nil
            // The target's string is read before (a closure that reads `request` copies all of it).
            let source = request.targetText
            try request.withTarget { t, mark throws(VerificationFailure) in
                try AuthorizationParser.parseQuery(
                    target: t, query: VerificationRequest.query(count: t.count, mark: mark), source: source,
                    readings: storage.presignCredentials, into: &parsed)
            }
            // Parsed into an empty optional (nothing to destroy when it is set) and moved, not
            // copied: a claim holds several strings, a retain and a release each.
            guard let parsed = consume parsed else { throw AuthorizationParser.queryError("missing") }
            claim = parsed
        } else {
            guard !facts.authorization.isEmpty else {
                let version2 = request.withTarget { t, mark in
                    AuthorizationParser.looksSignatureVersion2(VerificationRequest.query(in: t, mark: mark))
                }
                if version2 { throw AuthorizationParser.signatureVersion2() }
                throw VerificationFailure(
                    .accessDenied, "The request is not signed: it has neither an Authorization header nor X-Amz-Signature")
            }
            guard facts.authorization.count == 1 else {
                throw AuthorizationParser.malformed("more than one Authorization header")
            }
            guard storage.policy.allowHeaderAuth else {
                throw VerificationFailure(.accessDenied, "Authorization-header requests are not accepted by this endpoint")
            }
            // Parsed in place; the failure, if any, comes out beside it.
            var parsed: ClaimedAuthorization? = nil
            var failure: VerificationFailure? = nil
            let found: Void? = request.headers.withFirstAndSource(facts.authorization) { value, source in
                do throws(VerificationFailure) {
                    try AuthorizationParser.parseHeader(value, source: source, into: &parsed)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            guard found != nil, let parsed = consume parsed else { throw AuthorizationParser.malformed("missing") }
            claim = parsed
        }
        func fail(_ message: String) -> VerificationFailure {
            presigned ? AuthorizationParser.queryError(message) : AuthorizationParser.malformed(message)
        }
        func withKey(_ f: VerificationFailure) -> VerificationFailure {
            var f = f
            f.accessKeyID = String(claim.accessKeyID)
            return f
        }

        // 2. Scope terminator, region and service served here.
        guard claim.terminator == CredentialScope.terminator else {
            throw withKey(fail("incorrect terminal \"\(claim.terminator)\". This endpoint uses \"aws4_request\"."))
        }
        // SigV4a: the signed region set stands for the scope's region.
        var regionSet: RegionSet? = nil
        if claim.isSigV4a {
            guard storage.policy.allowSigV4a else {
                throw withKey(
                    VerificationFailure(
                        .accessDenied, "SigV4a (AWS4-ECDSA-P256-SHA256) requests are not accepted by this endpoint"))
            }
            let text: String
            if let fromQuery = claim.sigV4a?.regionSet {
                text = fromQuery
            } else {
                guard facts.regionSet.count == 1,
                    let value = request.headers.withFirst(facts.regionSet, { String(decoding: $0, as: UTF8.self) })
                else {
                    throw withKey(
                        fail(
                            facts.regionSet.isEmpty
                                ? "AWS4-ECDSA-P256-SHA256 requires the X-Amz-Region-Set header"
                                : "more than one X-Amz-Region-Set header"))
                }
                guard claim.signs("x-amz-region-set") else { throw withKey(fail("X-Amz-Region-Set must be signed")) }
                text = value
            }
            guard let parsed = RegionSet(text) else {
                throw withKey(fail("X-Amz-Region-Set must be a comma-separated list of regions or *"))
            }
            if !storage.policy.allowedRegions.isEmpty && !storage.policy.allowedRegions.contains(where: parsed.contains) {
                throw withKey(
                    fail(
                        "the region set '\(parsed.text.prefix(200))' does not include this endpoint's region; expecting '\(storage.policy.allowedRegions.sorted().joined(separator: "', '"))'"
                    ))
            }
            regionSet = parsed
        } else if !storage.policy.allowedRegions.isEmpty && !storage.policy.allowedRegions.contains(claim.region) {
            throw withKey(
                fail("the region '\(claim.region)' is wrong; expecting '\(storage.policy.allowedRegions.sorted().joined(separator: "', '"))'"))
        }
        if !storage.policy.allowedServices.isEmpty && !storage.policy.allowedServices.contains(claim.service) {
            throw withKey(
                fail("incorrect service \"\(claim.service)\". This endpoint belongs to \"\(storage.policy.allowedServices.sorted().joined(separator: "\", \""))\"."))
        }
        // The credential parser checked every part as the scope's initializer does (one to 128
        // printable bytes without `/`, `,`, `;`; an eight-digit date), so they are not checked again.
        // SigV4a: the scope's region is the signed region set as sent.
        let scope = CredentialScope(
            checkedDateStamp: claim.dateStamp, region: regionSet?.text ?? claim.region, service: claim.service)
        let rules = storage.policy.rules(for: claim.service)

        // 3. Time.
        let signedAt: AmzDate
        var dateFromDateHeader = false
        if let presign = claim.presign {
            signedAt = presign.date
        } else if facts.amzDate.count == 1 {
            guard let d = facts.firstAmzDate else {
                throw withKey(VerificationFailure(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header"))
            }
            signedAt = d
        } else if facts.amzDate.count > 1 {
            throw withKey(VerificationFailure(.invalidRequest, "The request has more than one X-Amz-Date header"))
        } else if storage.policy.acceptDateHeader, facts.date.count == 1, let d = request.headers.withFirst(facts.date, { HTTPDate.parse(Array($0)) }) ?? nil {
            signedAt = d
            dateFromDateHeader = true
        } else {
            throw withKey(VerificationFailure(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header"))
        }
        guard claim.dateDay == signedAt.dayNumber || !storage.policy.requireScopeDateMatch else {
            throw withKey(
                fail("Invalid credential date \"\(claim.dateStamp)\". This date is not the same as X-Amz-Date: \"\(signedAt.dateStamp)\"."))
        }
        if let presign = claim.presign, !presign.hasExpires {
            // No X-Amz-Expires (AWS IoT's device SDKs presign their WebSocket handshake this way): only
            // for the services the policy names, and then time-checked as a header signature is.
            guard storage.policy.presignWithoutExpires.contains(claim.service) else {
                throw withKey(AuthorizationParser.missingQueryParameters())
            }
            try checkSkew(signedAt, now: now, withKey: withKey)
        } else if let presign = claim.presign {
            if presign.expires > storage.policy.maxPresignExpires {
                throw withKey(
                    VerificationFailure(
                        .authorizationQueryParametersError,
                        "X-Amz-Expires must be at most \(storage.policy.maxPresignExpires) seconds at this endpoint"))
            }
            if now < signedAt {
                throw withKey(
                    VerificationFailure(
                        .accessDenied, "Request is not yet valid",
                        details: [.init("X-Amz-Date", signedAt.iso8601Basic), .init("ServerTime", now.iso8601Basic)]))
            }
            let expiresAt = signedAt.adding(seconds: Int64(presign.expires))
            if now > expiresAt {
                throw withKey(
                    VerificationFailure(
                        .accessDenied, "Request has expired",
                        details: [
                            .init("X-Amz-Expires", String(presign.expires)), .init("Expires", expiresAt.iso8601Basic),
                            .init("ServerTime", now.iso8601Basic),
                        ]))
            }
        } else {
            try checkSkew(signedAt, now: now, withKey: withKey)
        }

        // 4. Coverage: host, x-amz-*, date; payload mode.
        guard facts.host.count <= 1 else {
            throw withKey(VerificationFailure(.invalidRequest, "The request has more than one Host header"))
        }
        var unsigned: [String] = []
        // The signed names, read through their own value (a method called on the claim here copies
        // the whole claim, all of its strings, first).
        let signedNames = claim.signedHeadersText
        if storage.policy.requireSignedHost && !signedNames.signsHost {
            guard facts.host.count == 1 else {
                throw withKey(VerificationFailure(.invalidRequest, "The request has no Host header"))
            }
            unsigned.append("host")
        }
        if dateFromDateHeader && !signedNames.contains("date") { unsigned.append("date") }
        if storage.policy.requireSignedAmzHeaders && facts.amzCount > 0
            && (facts.amzUnderscored || !signedNames.withBytes({ line in fields.allNames(withPrefix: "x-amz-", areIn: line) }))
        {
            let unsignedAmz = claim.withSignedHeaderBytes { Verifier.unsignedAmzNames(request.headers, signedLine: $0) }
            for name in unsignedAmz {
                if storage.policy.unsignedAmzHeaderExemptions.contains(name) { continue }
                if name == "x-amz-security-token" && rules.sessionTokenPlacement == .appendedAfterSigning { continue }
                unsigned.append(name)
            }
        }
        if !unsigned.isEmpty {
            throw withKey(
                VerificationFailure(
                    .accessDenied, "There were headers present in the request which were not signed",
                    details: [.init("HeadersNotSigned", unsigned.joined(separator: ", "))]))
        }

        let bucket: String?
        do {
            bucket = try virtualHostedBucket(request, facts: facts)
        } catch {
            throw withKey(error)
        }
        // A bucket read from the `Host` must come from a signed one, whatever `requireSignedHost`
        // says: an unsigned `Host` would let anyone move a signed request to another bucket.
        if bucket != nil && !signedNames.signsHost {
            throw withKey(
                VerificationFailure(
                    .accessDenied, "There were headers present in the request which were not signed",
                    details: [.init("HeadersNotSigned", "host")]))
        }

        // A body whose signed hash is neither declared nor given is asked for only once every check
        // that does not need it has passed (the key, its scope, the token, just before the signature):
        // a request with an unknown key or outside its key's scope is refused before anyone reads
        // (and buffers) its body.
        let candidates: PayloadCandidates
        var bodyNeeded: VerificationFailure? = nil
        do {
            candidates = try payloadCandidates(
                facts: facts, request: request, presigned: presigned, rules: rules, payload: payload)
        } catch where error.asksForBody {
            bodyNeeded = error
            candidates = PayloadCandidates()
        } catch {
            throw withKey(error)
        }
        // Chunk signatures are made as the request's: HMAC chunks under SigV4, ECDSA chunks under SigV4a.
        // (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, without chunk signatures, goes with either.)
        var ecdsaChunks = false
        if candidates.hasStreaming {
            let hmacChunks = candidates.contains { $0 == .streamingSigned || $0 == .streamingSignedTrailer }
            ecdsaChunks = candidates.contains { $0 == .streamingECDSASigned || $0 == .streamingECDSASignedTrailer }
            // Event-stream messages are signed with HMAC day keys: a SigV4a request has none.
            if claim.isSigV4a, candidates.hasEventStream {
                throw withKey(
                    VerificationFailure(
                        .invalidRequest,
                        "STREAMING-AWS4-HMAC-SHA256-EVENTS needs a SigV4 (AWS4-HMAC-SHA256) request signature"))
            }
            guard claim.isSigV4a ? !hmacChunks : !ecdsaChunks else {
                throw withKey(
                    VerificationFailure(
                        .invalidRequest,
                        claim.isSigV4a
                            ? "A SigV4a (AWS4-ECDSA-P256-SHA256) upload signs its chunks with STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
                            : "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD needs a SigV4a (AWS4-ECDSA-P256-SHA256) request signature"))
            }
        }

        // The body's declared checksum and Content-MD5: their form now, the body itself after the
        // signature (a body given whole) or as it streams. On an aws-chunked upload they are the
        // decoded body's, which the chunked decoder checks (beside a trailer's).
        let declaredChecksum: DeclaredChecksum?
        let contentMD5: DeclaredChecksum?
        do {
            (declaredChecksum, contentMD5) = try declaredChecksums(request, facts: facts)
        } catch {
            throw withKey(error)
        }
        // An event stream's body is its signed messages, each verified on its own: a checksum of the
        // whole body would say nothing the decoder checks, so it is refused rather than left unchecked.
        if declaredChecksum != nil || contentMD5 != nil, candidates.hasEventStream {
            throw withKey(
                VerificationFailure(
                    .invalidRequest, "A signed event stream cannot carry x-amz-checksum-* or Content-MD5: each message is signed"))
        }

        // Session token claimed by the request.
        // A presigned URL's is its query parameter, or an `X-Amz-Security-Token` header when the
        // query has none: a request carries one token, so both at once are refused (else the key's
        // token would be checked in one place while a service behind reads the other).
        let claimedToken: String?
        guard facts.securityToken.count <= 1 else {
            throw withKey(VerificationFailure(.invalidToken, "The request has more than one X-Amz-Security-Token header"))
        }
        if rules.sessionTokenPlacement == .s3SessionToken {
            // S3 Express: the token is `x-amz-s3session-token` (or, presigned, `X-Amz-S3session-Token`).
            do {
                claimedToken = try Self.s3SessionToken(request, presigned: claim.presign != nil)
            } catch {
                throw withKey(error)
            }
            guard facts.securityToken.isEmpty, claim.presign?.sessionToken == nil else {
                throw withKey(
                    VerificationFailure(
                        .invalidToken,
                        "S3 Express takes the session token in x-amz-s3session-token "
                            + "(X-Amz-S3session-Token when presigned), not X-Amz-Security-Token"))
            }
        } else if let token = claim.presign?.sessionToken {
            guard facts.securityToken.isEmpty else {
                throw withKey(
                    VerificationFailure(
                        .invalidToken,
                        "The request has more than one session token (an X-Amz-Security-Token header and query parameter)"))
            }
            claimedToken = token
        } else {
            claimedToken = request.headers.withFirst(facts.securityToken) { String(decoding: $0, as: UTF8.self) }
        }

        // 5. The key.
        let credential: ResolvedCredential
        do {
            // SigV4a: the resolver is told the first region served here that the set names (the
            // set as sent when this endpoint names none).
            let context = ResolutionContext(
                signedAt: signedAt, now: now,
                region: regionSet.map { set in storage.policy.allowedRegions.sorted().first(where: set.contains) ?? set.text }
                    ?? claim.region,
                service: claim.service, isPresigned: presigned)
            // A resolver that has the answer at hand gives it without an asynchronous call.
            let found: ResolvedCredential?
            switch lookup {
            case .immediate:
                switch try storage.resolver.lookUpWithoutSuspending(accessKeyID: claim.accessKeyID, context: context) {
                case .found(let credential): found = credential
                case .notFound: found = nil
                case .needsSuspension:
                    outcome.needsLookup = (String(claim.accessKeyID), context)
                    return
                }
            case .resolved(let answer):
                found = try answer.get()
            }
            guard let found else {
                throw withKey(
                    VerificationFailure(
                        .invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records."))
            }
            credential = found
        } catch let failure as VerificationFailure {
            throw failure
        } catch {
            throw withKey(VerificationFailure(.internalError, "The credential store could not be read; please retry."))
        }
        do {
            try checkKeyScope(
                credential, region: claim.region, service: claim.service,
                // Without X-Amz-Expires a URL lives as long as the skew window lets it.
                presignExpires: claim.presign.map { $0.hasExpires ? $0.expires : Int(storage.policy.maxClockSkew) },
                regionSet: regionSet, request: request, bucket: bucket, signedAt: signedAt, now: now)
            try checkToken(
                expected: credential.sessionToken, claimed: claimedToken,
                name: rules.sessionTokenPlacement.queryParameterName)
        } catch {
            throw withKey(error)
        }
        if let bodyNeeded { throw withKey(bodyNeeded) }

        // 6. The signature.
        // The HMAC key is the result's (aws-chunked chunk signatures, and the result's scope: the
        // result keeps `second`, which holds it); a SigV4a request gets one too, unused for chunks
        // (they are ECDSA-signed: `sigV4aSeed`), which keeps the result's key non-optional.
        // With what the key's signatures in this second share (the MAC after the string to sign's
        // text before the hash): each reading's signature continues from it.
        let second = credential.second(in: storage.keyCache, scope: scope, date: signedAt)
        var ecdsaKey: SigV4aSigningKey? = nil
        if claim.isSigV4a {
            do {
                ecdsaKey = try storage.sigV4aKeys.signingKey(
                    for: Credentials(accessKeyID: credential.accessKeyID, secretAccessKey: credential.secretAccessKey))
            } catch {
                throw withKey(VerificationFailure(.internalError, "The credential store could not be read; please retry."))
            }
        }
        let match: Match
        let status: VerifiedRequest.PayloadStatus
        var checksumVerified = false
        do throws(VerificationFailure) {
            do throws(VerificationFailure) {
                match = try matchSignature(
                    fields: fields, request: request, claim: claim, signedAt: signedAt, rules: rules,
                    candidates: candidates, second: second, ecdsaKey: ecdsaKey)
            } catch {
                // A presigned URL of a service other than S3 may sign its body's hash, which a
                // streamed body cannot give: ask for the body, as header auth does without
                // `x-amz-content-sha256` (the middleware then verifies again with it).
                if error.code == .signatureDoesNotMatch, presigned, !rules.presignUnsignedPayload, facts.hasBody,
                    payload.isStreamed, candidates.allSatisfy({ !$0.isStreaming })
                {
                    throw Verifier.bodyNeeded
                }
                // Read as an event stream by its Content-Type or path, with no x-amz-content-sha256,
                // a body of declared length may still be an ordinary one signed by its hash: ask for
                // it, as for any such request. (Not for a body without a length: a streaming client
                // waits for the answer before sending it, so the request is answered now.)
                if error.code == .signatureDoesNotMatch, !presigned, facts.contentLengthBody, facts.contentSHA256.isEmpty,
                    payload.isStreamed, candidates.hasEventStream
                {
                    throw Verifier.bodyNeeded
                }
                throw error
            }
            // 7. The body, when given: its signed hash, then its declared checksum.
            status = try payloadStatus(
                match.payload, payload: payload, facts: facts, eventStream: candidates.hasEventStream)
            if status != .awsChunked && status != .eventStream {
                checksumVerified = try checkBody(payload, declaredChecksum: declaredChecksum, contentMD5: contentMD5)
            }
        } catch {
            throw withKey(error)
        }

        // Read only by the replay guard's refusals (a slice of the request: a retain to keep).
        if storage.hasReplayGuard { outcome.claimedAccessKeyID = claim.accessKeyID }
        outcome.verified = VerifiedRequest(
            credential: credential, signedHeadersText: claim.signedHeadersText, signedAt: signedAt,
            isPresigned: presigned, expires: claim.presign.flatMap { $0.hasExpires ? $0.expires : nil },
            signature: match.replayKey ?? claim.signature, payloadHash: match.payload,
            payload: status, plusPolicy: match.plus, canonicalForm: match.form,
            diagnostics: storage.policy.includeDiagnostics ? match.diagnostics : nil, second: second,
            isSigV4a: regionSet != nil, declaredChecksum: declaredChecksum, contentMD5: contentMD5,
            checksumVerified: checksumVerified,
            sigV4aSeed: ecdsaChunks
                ? ecdsaKey.flatMap { key in claim.sigV4a.map { (key, Hex.encode($0.der)) } } : nil,
            eventStreamSecret: status == .eventStream && !ecdsaChunks ? credential.secretAccessKey : nil,
            bucket: bucket)
    }

    // MARK: payload

    /// The payload hashes to try, in order: at most two (`UNSIGNED-PAYLOAD` and a known hash), so
    /// held inline instead of in an array.
    struct PayloadCandidates: Sequence, IteratorProtocol {
        private var first: PayloadHash?
        private var second: PayloadHash?
        /// Only an event stream signed without `x-amz-content-sha256` has a third.
        private var third: PayloadHash?

        init() {}
        init(_ only: PayloadHash) { first = only }

        var isEmpty: Bool { first == nil }

        mutating func append(_ hash: PayloadHash) {
            if first == nil { first = hash } else if second == nil { second = hash } else { third = hash }
        }

        mutating func next() -> PayloadHash? {
            guard let hash = first else { return nil }
            first = second
            second = third
            third = nil
            return hash
        }

        /// True when a candidate satisfies `predicate`, read in place (`Sequence`'s version copies
        /// the candidates into an iterator: a retain and a release of each hash's string).
        func contains(where predicate: (PayloadHash) -> Bool) -> Bool {
            (first.map(predicate) ?? false) || (second.map(predicate) ?? false) || (third.map(predicate) ?? false)
        }

        /// `contains(where: \.isStreaming)` without the closure: each candidate asked in place
        /// (`Optional.map` hands the closure a copy, a retain and a release of its string, and the
        /// key path's closure is a call of its own; about 200 instructions for two candidates).
        var hasStreaming: Bool {
            first?.isStreaming == true || second?.isStreaming == true || third?.isStreaming == true
        }

        /// `contains(where: \.isEventStream)` without the closure (see ``hasStreaming``).
        var hasEventStream: Bool {
            first?.isEventStream == true || second?.isEventStream == true || third?.isEventStream == true
        }
    }

    /// True when a request that declares no `x-amz-content-sha256` is to be read as a signed event
    /// stream: event streams are allowed, a body may come (`mayHaveBody`: declared, given, or
    /// streamed, since HTTP/2 carries one without declaring it), and its `Content-Type` is
    /// `application/vnd.amazon.eventstream` or its path is one of the policy's
    /// ``VerificationPolicy/eventStreamPaths``.
    func isEventStreamReading(_ request: VerificationRequest, facts: HeaderFacts, mayHaveBody: Bool) -> Bool {
        guard mayHaveBody, facts.eventStreamType || storage.hasEventStreamPaths, storage.policy.allowEventStreams else {
            return false
        }
        if facts.eventStreamType { return true }
        return request.withTarget { t, mark in
            storage.eventStreamPathBytes.contains { p in
                p.count == mark && p.elementsEqual(UnsafeBufferPointer(rebasing: t[0..<mark]))
            }
        }
    }

    func payloadCandidates(
        facts: HeaderFacts, request: VerificationRequest, presigned: Bool, rules: ServiceRules, payload: Payload
    )
        throws(VerificationFailure) -> PayloadCandidates
    {
        if facts.contentSHA256.count > 1 {
            throw VerificationFailure(.invalidArgument, "The request has more than one x-amz-content-sha256 header")
        }
        // The header's own string is kept as the value when it is lowercase hex (no new string).
        if let parsed = request.headers.withFirstAndSource(facts.contentSHA256, { bytes, source in
            Result { () throws(SigV4Error) in try PayloadHash(bytes, source: source) }
        }) {
            guard case .success(let declared) = parsed else {
                throw VerificationFailure(
                    .invalidArgument,
                    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value."
                )
            }
            if declared == .unsignedPayload && !storage.policy.allowUnsignedPayload {
                throw VerificationFailure(.accessDenied, "UNSIGNED-PAYLOAD is not accepted by this endpoint")
            }
            // The unsigned aws-chunked form is as unsigned: its only check is the trailer's checksum,
            // which anyone who changes the body can compute again.
            if declared == .streamingUnsignedTrailer && !storage.policy.allowUnsignedPayload {
                throw VerificationFailure(
                    .accessDenied,
                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER (an unsigned body) is not accepted by this endpoint")
            }
            if declared.isAWSChunked && !storage.policy.allowStreamingPayload {
                throw VerificationFailure(.accessDenied, "Streaming (aws-chunked) uploads are not accepted by this endpoint")
            }
            if declared.isEventStream && !storage.policy.allowEventStreams {
                throw VerificationFailure(.accessDenied, "Signed event streams are not accepted by this endpoint")
            }
            return PayloadCandidates(declared)
        }
        let known: PayloadHash?
        switch payload {
        case .body(let b): known = .sha256(of: b)
        case .hash(let h): known = h
        case .streamed: known = facts.hasBody ? nil : .emptySHA256
        }
        // An event stream's SDKs sign `STREAMING-AWS4-HMAC-SHA256-EVENTS` as the payload line
        // without sending the header (Go, Java), or the empty body's hash (AWS's Python Transcribe
        // SDK); the body is then read as signed messages (`payloadStatus`). Each message is signed
        // with the key, chained on this request's signature, so the reading lets in no byte the
        // key's holder did not sign.
        if !presigned, isEventStreamReading(request, facts: facts, mayHaveBody: payload.mayCarryBody || facts.hasBody) {
            var list = PayloadCandidates(.streamingEvents)
            list.append(.emptySHA256)
            if let known, known != .emptySHA256 { list.append(known) }
            return list
        }
        if !presigned {
            if rules.sendContentSHA256 { throw Verifier.missingContentSHA256 }
            guard let known else { throw Verifier.bodyNeeded }
            return PayloadCandidates(known)
        }
        var list = PayloadCandidates()
        if rules.presignUnsignedPayload && storage.policy.allowUnsignedPayload { list.append(.unsignedPayload) }
        if let known { list.append(known) }
        if !rules.presignUnsignedPayload && storage.policy.allowUnsignedPayload { list.append(.unsignedPayload) }
        if list.isEmpty { throw Verifier.bodyNeeded }
        return list
    }

    /// The body's declared checksum (`x-amz-checksum-<algorithm>`, when the policy verifies body
    /// checksums and the request is not a `CompleteMultipartUpload`, whose checksum is of its
    /// parts) and `Content-MD5`, parsed; throws `InvalidRequest` for more than one checksum field
    /// and `InvalidDigest` (or the algorithm's error) for a malformed value.
    func declaredChecksums(_ request: VerificationRequest, facts: HeaderFacts)
        throws(VerificationFailure) -> (declared: DeclaredChecksum?, contentMD5: DeclaredChecksum?)
    {
        guard storage.policy.verifyBodyChecksums else { return (nil, nil) }
        var contentMD5: DeclaredChecksum? = nil
        if !facts.contentMD5.isEmpty {
            let parsed = request.headers.withFirstAndSource(facts.contentMD5) { bytes, source in
                DeclaredChecksum(contentMD5: source ?? String(decoding: bytes, as: UTF8.self))
            }
            guard facts.contentMD5.count == 1, let parsed, let parsed else { throw DeclaredChecksum.invalidContentMD5 }
            contentMD5 = parsed
        }
        guard let algorithm = facts.checksumAlgorithm,
            !request.withTarget({ t, mark in
                DeclaredChecksum.isCompleteMultipartUpload(
                    method: request.method,
                    query: VerificationRequest.query(in: t, mark: mark))
            })
        else { return (nil, contentMD5) }
        guard facts.checksum.count == 1 else {
            throw VerificationFailure(
                .invalidRequest, "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
        }
        let parsed = request.headers.withFirstAndSource(facts.checksum) { bytes, source in
            DeclaredChecksum(algorithm: algorithm, value: source ?? String(decoding: bytes, as: UTF8.self))
        }
        guard let parsed, let parsed else { throw DeclaredChecksum.invalidValue(algorithm) }
        return (parsed, contentMD5)
    }

    /// Checks a body given whole against its declared checksum and `Content-MD5` (`BadDigest`
    /// when it does not match): true when it was checked, false when there is nothing to check yet
    /// (no body given, or nothing declared).
    func checkBody(_ payload: Payload, declaredChecksum: DeclaredChecksum?, contentMD5: DeclaredChecksum?)
        throws(VerificationFailure) -> Bool
    {
        guard case .body(let body) = payload, declaredChecksum != nil || contentMD5 != nil else { return false }
        var checksums = ChecksumVerifier([declaredChecksum, contentMD5].compactMap { $0 })
        body.withUnsafeBytes { checksums.update($0) }
        try checksums.finalize()
        return true
    }

    /// What remains to check of the body once `signedHash` matched. `eventStream`: the request was
    /// read as an event stream (declared, or by its `Content-Type` or path), so a body signed with the
    /// empty body's hash (AWS's Python Transcribe SDK) is its signed messages.
    func payloadStatus(_ signedHash: PayloadHash, payload: Payload, facts: HeaderFacts, eventStream: Bool = false)
        throws(VerificationFailure) -> VerifiedRequest.PayloadStatus
    {
        if signedHash == .unsignedPayload { return .unsigned }
        if signedHash.isStreaming { return signedHash.isEventStream ? .eventStream : .awsChunked }
        if eventStream, signedHash == .emptySHA256, payload.mayCarryBody { return .eventStream }
        // The caller's hash is the signed one (both are normalized lowercase hex; neither is secret).
        if case .hash(let h) = payload, h == signedHash { return .verified }
        let actual: SHA256Digest
        switch payload {
        case .streamed:
            // Without a body, the empty body's hash verifies: compared as text (both are normalized
            // lowercase hex), without parsing the hex.
            return !facts.hasBody && signedHash == .emptySHA256 ? .verified : .pending
        case .body(let b): actual = SHA256.hash(b)
        case .hash(let h):
            guard let d = h.digest else { return .pending }
            actual = d
        }
        guard let expected = signedHash.digest else { return .pending }
        guard actual.constantTimeEquals(expected) else {
            throw VerificationFailure(
                .xAmzContentSHA256Mismatch,
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                details: [
                    .init("ClientComputedContentSHA256", expected.hex), .init("S3ComputedContentSHA256", actual.hex),
                ])
        }
        return .verified
    }

    // MARK: key scope and token

    /// The key's own limits (``KeyScope``, its validity window, a retiring key's cutoff) for a
    /// request claiming `region` and `service` (SigV4a: `regionSet`), presigned for `presignExpires`
    /// seconds (nil: header auth).
    func checkKeyScope(
        _ credential: ResolvedCredential, region: String, service: String, presignExpires: Int?,
        regionSet: RegionSet? = nil, request: VerificationRequest, bucket: String?, signedAt: AmzDate, now: AmzDate
    ) throws(VerificationFailure) {
        let s = credential.scope
        func denied(_ m: String) -> VerificationFailure { VerificationFailure(.accessDenied, m) }
        if let nb = s.notBefore, now < nb { throw denied("The access key is not valid until \(nb.iso8601Basic)") }
        if let na = s.notAfter, now > na {
            if credential.sessionToken != nil {
                throw VerificationFailure(.expiredToken, "The provided token has expired.")
            }
            throw denied("The access key expired at \(na.iso8601Basic)")
        }
        if let cutoff = credential.acceptsSignaturesBefore, signedAt >= cutoff {
            throw denied(
                "The access key is being retired: only signatures dated before \(cutoff.iso8601Basic) are accepted")
        }
        if let regionSet {
            // SigV4a: some region the key may use, that this endpoint serves, is in the signed set.
            let allowed = storage.policy.allowedRegions
            if !s.regions.isEmpty
                && !s.regions.contains(where: { regionSet.contains($0) && (allowed.isEmpty || allowed.contains($0)) })
            {
                throw denied("The access key is not allowed in the regions '\(regionSet.text.prefix(200))'")
            }
        } else if !s.regions.isEmpty && !s.regions.contains(region) {
            throw denied("The access key is not allowed in region '\(region)'")
        }
        if !s.services.isEmpty && !s.services.contains(service) {
            throw denied("The access key is not allowed for service '\(service)'")
        }
        if !s.methods.isEmpty && !s.methods.contains(request.method) {
            throw denied("The access key is not allowed to use method \(request.method)")
        }
        if !s.pathPrefixes.isEmpty
            && !request.withTarget({ t, mark in
                let path = UnsafeBufferPointer(rebasing: t[..<mark])
                guard let bucket else { return s.allowsPath(path) }
                // Virtual-hosted style: the path-style path, `/<bucket>` before the path.
                return (Array("/\(bucket)".utf8) + path).withUnsafeBufferPointer { s.allowsPath($0) }
            })
        {
            throw denied("The access key is not allowed to access this path")
        }
        if !s.pathPrefixes.isEmpty, let source = Self.copySourceOutside(s, request) {
            throw denied("The access key is not allowed to copy from '\(source.prefix(256))'")
        }
        if let expires = presignExpires, let maxLifetime = s.maxPresignLifetime, expires > maxLifetime {
            throw denied("The access key may presign URLs for at most \(maxLifetime) seconds")
        }
    }

    /// The first `x-amz-copy-source` value (S3's CopyObject and UploadPartCopy: `/bucket/key` or
    /// `bucket/key`, percent-encoded, with an optional `?versionId=`) or `x-amz-rename-source` value
    /// (S3 Express's RenameObject, the same form) outside the key's path
    /// prefixes, read as the path `/bucket/key` is; an access point ARN is outside any prefix. Nil
    /// when every one is inside (or there is none). A copy reads the source with the server's
    /// rights, so a key limited to `/photos/` must not name `/secrets/y` there. Every spelling a
    /// CGI-style server reads as the same header counts (`X_Amz_Copy_Source`, `x-amz-copy_source`:
    /// `HTTP_X_AMZ_COPY_SOURCE`), as the signed-header check counts `x_amz_*` names.
    static func copySourceOutside(_ scope: KeyScope, _ request: VerificationRequest) -> String? {
        let headers = request.headers
        for i in 0..<headers.count
        where headers.withName(i, { isSourceName($0, "x-amz-copy-source") || isSourceName($0, "x-amz-rename-source") })
        {
            var value = headers.value(i)[...]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            if let q = value.firstIndex(of: UInt8(ascii: "?")) { value = value[..<q] }
            let text = String(decoding: value, as: UTF8.self)
            if value.starts(with: "arn:".utf8) { return text }
            let path = value.first == UInt8(ascii: "/") ? Array(value) : [UInt8(ascii: "/")] + value
            if !path.withUnsafeBufferPointer({ scope.allowsPath($0) }) { return text }
        }
        return nil
    }

    /// True when `name` is `wanted` (lowercase, with `-`) in any case, with `_` read as `-`.
    static func isSourceName(_ name: UnsafeBufferPointer<UInt8>, _ wanted: StaticString) -> Bool {
        guard name.count == wanted.utf8CodeUnitCount else { return false }
        let w = UnsafeBufferPointer(start: wanted.utf8Start, count: wanted.utf8CodeUnitCount)
        for i in 0..<name.count {
            let c = name[i] == 0x5f ? 0x2d : (name[i] >= 0x41 && name[i] <= 0x5a ? name[i] | 0x20 : name[i])
            if c != w[i] { return false }
        }
        return true
    }

    /// The bucket the request's `Host` names under ``VerificationPolicy/virtualHostedStyle`` (nil:
    /// path style, or no such policy); throws `InvalidBucketName` when the name is not valid.
    func virtualHostedBucket(_ request: VerificationRequest, facts: HeaderFacts) throws(VerificationFailure) -> String? {
        guard let addressing = storage.policy.virtualHostedStyle, facts.host.count == 1 else { return nil }
        let bucket = request.headers.withFirst(facts.host) { host in
            Result { () throws(VerificationFailure) in try addressing.bucket(host: host) }
        }
        return try bucket?.get() ?? nil
    }

    /// Throws `InvalidToken` unless the request's session token (`claimed`) is the one the
    /// resolver expects, compared in constant time; neither is fine. `name`: where the request
    /// should carry it, for the message (a `StaticString`: nothing is allocated unless it is refused).
    func checkToken(expected: String?, claimed: String?, name: StaticString = "X-Amz-Security-Token")
        throws(VerificationFailure)
    {
        switch (expected, claimed) {
        case (nil, nil): return
        case (nil, .some):
            throw VerificationFailure(.invalidToken, "The provided token is malformed or otherwise invalid.")
        case (.some, nil):
            throw VerificationFailure(.invalidToken, "This access key requires a session token (\(name)).")
        case (.some(let e), .some(let c)):
            // The strings' own bytes, borrowed (no copies: a token is several hundred bytes).
            let equal = e.withBorrowedUTF8 { eb in
                c.withBorrowedUTF8 { cb in ConstantTime.equals(UnsafeRawBufferPointer(eb), UnsafeRawBufferPointer(cb)) }
            }
            guard equal else {
                throw VerificationFailure(.invalidToken, "The provided token is malformed or otherwise invalid.")
            }
        }
    }

    /// The S3 Express session token `request` claims: its `x-amz-s3session-token` field, or when
    /// `presigned` its `X-Amz-S3session-Token` query parameter (percent-decoded); nil without one.
    /// More than one (fields, parameters, or one of each) is `InvalidToken`.
    static func s3SessionToken(_ request: VerificationRequest, presigned: Bool) throws(VerificationFailure) -> String? {
        let placement = ServiceRules.SessionTokenPlacement.s3SessionToken
        var found = request.values("\(placement.headerName)").map { String(decoding: $0, as: UTF8.self) }
        let target = request.target
        if presigned, let q = target.firstIndex(of: 0x3f) {
            // The parameters' ranges are indices of `target`.
            target.withUnsafeBufferPointer { t in
                for p in QueryParameter.split(target[(q + 1)...])
                where ByteSearch.equals(t, p.name, placement.queryParameterName) {
                    found.append(String(decoding: URIEncoding.decode(t[p.value ?? 0..<0]), as: UTF8.self))
                }
            }
        }
        guard found.count <= 1 else {
            throw VerificationFailure(.invalidToken, "The request has more than one S3 Express session token")
        }
        return found.first
    }

    // MARK: signature

    struct Match {
        var payload: PayloadHash
        var plus: URIEncoding.PlusPolicy
        var form: CanonicalForm
        var diagnostics: VerificationFailure.Diagnostics?
        /// SigV4a: ``sigV4aReplayKey(stringToSign:accessKeyID:)``, what identifies the request to the
        /// replay guard (an ECDSA signature is randomized and malleable: `(r, s)` and `(r, n − s)`
        /// both verify).
        var replayKey: Signature? = nil
    }

    /// The replay guard's key for a verified SigV4a request: SHA-256 of the string to sign, a line
    /// feed and the access key id. The string to sign alone names no key (SigV4a's scope is
    /// `<date>/<service>/aws4_request`, and the `Authorization` header is not signed), so two keys
    /// signing the same request in the same second sign the same string: keyed by it alone, the
    /// second key's request would be refused as a replay of the first's, and a key holder who
    /// guessed another's request could have it refused by sending it first. A SigV4 signature,
    /// an HMAC under the key, never collides that way.
    static func sigV4aReplayKey(stringToSign: [UInt8], accessKeyID: String) -> Signature {
        var hash = SHA256()
        stringToSign.withUnsafeBytes { hash.update($0) }
        hash.update("\n")
        hash.update(accessKeyID)
        return Signature(digest: hash.finalize())
    }

    /// One way of reading the request target into a canonical request.
    struct Reading {
        /// The target read; nil: the signed target itself (``withCanonicalTarget(request:claim:rules:_:)``).
        var target: [UInt8]?
        var plus: URIEncoding.PlusPolicy
        var form: CanonicalForm
    }

    /// The readings tried, in order: the spec reading first, then (only when the target has a
    /// `+`, a `%` escape or bytes a signer might leave raw) the documented alternatives.
    static func readings(_ target: [UInt8], rules: ServiceRules, policy: VerificationPolicy) -> [Reading] {
        let first = policy.plusPolicies[0]
        let other = target.withUnsafeBufferPointer { OtherReadings($0, rules: rules, policy: policy) }
        var out: [Reading] = []
        if other.plusPolicies {
            for plus in policy.plusPolicies.dropFirst() { out.append(Reading(target: target, plus: plus, form: .standard)) }
        }
        if other.uppercasedEscapes {
            out.append(Reading(target: Verifier.uppercasingEscapes(target), plus: first, form: .uppercasedEscapes))
        }
        if other.reencodedQuery {
            out.append(Reading(target: Verifier.reencodingQuery(target), plus: first, form: .reencodedQuery))
        }
        if other.verbatimQuery { out.append(Reading(target: target, plus: first, form: .verbatimQuery)) }
        if other.verbatimPath { out.append(Reading(target: target, plus: first, form: .verbatimPath)) }
        if other.verbatimQuery && other.verbatimPath {
            out.append(Reading(target: target, plus: first, form: .verbatimPathAndQuery))
        }
        if other.queryAsSent { out.append(Reading(target: target, plus: first, form: .queryAsSent)) }
        if other.queryAsSent && other.verbatimPath {
            out.append(Reading(target: target, plus: first, form: .pathAndQueryAsSent))
        }
        if other.reencodedPath {
            out.append(Reading(target: Verifier.reencodingPath(target), plus: first, form: .reencodedPath))
        }
        if other.unnormalizedPath { out.append(Reading(target: target, plus: first, form: .unnormalizedPath)) }
        if other.unnormalizedPath && other.queryAsSent {
            out.append(Reading(target: target, plus: first, form: .unnormalizedPathAndQueryAsSent))
        }
        if other.unnormalizedPath && other.verbatimQuery {
            out.append(Reading(target: target, plus: first, form: .unnormalizedPathAndVerbatimQuery))
        }
        return out
    }

    /// Which readings besides the spec one a target has under a policy (``readings(_:rules:policy:)``
    /// makes them), found without copying the target: for most requests, none.
    struct OtherReadings {
        /// A `+` in the query, read under each further `+` policy.
        var plusPolicies: Bool
        /// A lowercase `%xx` escape in the query, read uppercased.
        var uppercasedEscapes: Bool
        /// A `+` or `%` in the query, read decoded and encoded again.
        var reencodedQuery: Bool
        /// Bytes in the query (or path) a spec signer encodes, read as sent (verbatim forms allowed).
        var verbatimQuery: Bool
        var verbatimPath: Bool
        /// A query out of order, or with a parameter without `=`, read exactly as sent (verbatim
        /// forms allowed).
        var queryAsSent: Bool
        /// An escape in a path the rules encode once (S3), read decoded and encoded again.
        var reencodedPath: Bool
        /// Dot segments or `//` in a path the rules normalize, read encoded but not normalized
        /// (verbatim forms allowed).
        var unnormalizedPath: Bool

        init(_ target: UnsafeBufferPointer<UInt8>, rules: ServiceRules, policy: VerificationPolicy) {
            let quirks = Verifier.queryQuirks(target)
            plusPolicies = quirks.plus && policy.plusPolicies.count > 1
            uppercasedEscapes = quirks.lowerEscape
            reencodedQuery = quirks.escape || quirks.plus
            (verbatimQuery, verbatimPath) =
                policy.acceptVerbatimForms ? Verifier.needsVerbatim(target, rules: rules) : (false, false)
            queryAsSent = policy.acceptVerbatimForms && !Verifier.queryIsSortedWithValues(target)
            reencodedPath = !rules.doubleEncodePath && Verifier.pathHasEscape(target)
            unnormalizedPath =
                policy.acceptVerbatimForms && rules.normalizePath
                && URIEncoding.needsNormalization(
                    UnsafeBufferPointer(rebasing: target[..<ByteSearch.index(of: 0x3f, in: target, 0..<target.count)]))
        }

        /// True when the spec reading is the only one.
        var isEmpty: Bool {
            !(plusPolicies || uppercasedEscapes || reencodedQuery || verbatimQuery || verbatimPath || queryAsSent
                || reencodedPath || unnormalizedPath)
        }
    }

    /// True when the target has no query, or a query whose parameters are each `name=value` (no
    /// empty element, no parameter without `=`) in ascending order by name and then value: a query
    /// the sorted readings already read as it was sent.
    static func queryIsSortedWithValues(_ target: UnsafeBufferPointer<UInt8>) -> Bool {
        let mark = ByteSearch.index(of: 0x3f, in: target, 0..<target.count)
        guard mark + 1 < target.count else { return true }
        var previous: (name: Range<Int>, value: Range<Int>)? = nil
        var start = mark + 1
        while start <= target.count {
            let end = ByteSearch.index(of: 0x26, in: target, start..<target.count)
            let eq = ByteSearch.index(of: 0x3d, in: target, start..<end)
            guard eq < end else { return false }
            let element = (name: start..<eq, value: (eq + 1)..<end)
            if let previous {
                let byName = ByteSearch.compare(
                    UnsafeBufferPointer(rebasing: target[previous.name]), UnsafeBufferPointer(rebasing: target[element.name]))
                let byValue = ByteSearch.compare(
                    UnsafeBufferPointer(rebasing: target[previous.value]),
                    UnsafeBufferPointer(rebasing: target[element.value]))
                if byName > 0 || (byName == 0 && byValue > 0) { return false }
            }
            previous = element
            start = end + 1
        }
        return true
    }

    /// What one (reading, payload hash) attempt gave, inside the header collection.
    private enum Attempt {
        case matched(Match)
        case mismatch(VerificationFailure.Diagnostics?)
    }

    /// What the signature check reads besides the request, in one value the closures below reach by
    /// address: a constant (`let`) captured by a closure is copied into it, strings and all, at each
    /// level of nesting, where a `var` passed `inout` is not.
    struct MatchInputs {
        var signature: Signature
        var sigV4a: ClaimedAuthorization.SigV4aClaim?
        var signedAt: AmzDate
        var rules: ServiceRules
        var candidates: PayloadCandidates
        /// The HMAC key (its scope is the request's) with its MAC state for the signing second.
        var second: SigningSecond
        var ecdsaKey: SigV4aSigningKey?
        var storage: Storage
    }

    /// Always inlined into ``evaluate(_:presigned:facts:fields:payload:now:lookup:into:)``, its
    /// one caller: left to the optimizer, it was inlined or not as `evaluate` grew or shrank, and
    /// when not, the closure it hands `withBytes` copied the claim and the request (their strings
    /// retained and released) on every call: 178 more reference-counting calls per presigned
    /// verification (Docs/Performance.md, session 38).
    @inline(__always)
    func matchSignature(
        fields: CollectedFields, request: VerificationRequest, claim: ClaimedAuthorization, signedAt: AmzDate,
        rules: ServiceRules, candidates: consuming PayloadCandidates, second: SigningSecond,
        ecdsaKey: SigV4aSigningKey?
    ) throws(VerificationFailure) -> Match {
        var inputs = MatchInputs(
            signature: claim.signature, sigV4a: claim.sigV4a, signedAt: signedAt, rules: rules, candidates: candidates,
            second: second, ecdsaKey: ecdsaKey, storage: storage)
        // The signed names' bytes (decoded when they came percent-encoded from a query), read in
        // place for every attempt: a copy of their value would retain the string it slices.
        let outcome: Result<Attempt, SigV4Error> = claim.signedHeadersText.withBytes { signedNames in
            attempts(fields: fields, request: request, claim: claim, rules: rules, signedNames: signedNames, &inputs)
        }
        let attempt: Attempt
        switch outcome {
        case .success(let a): attempt = a
        case .failure(let error):
            throw VerificationFailure(.invalidRequest, "The request cannot be canonicalized: \(error.reason)")
        }
        switch attempt {
        case .matched(let match): return match
        case .mismatch(let first): throw Verifier.signatureDoesNotMatch(diagnostics: first)
        }
    }

    /// `MissingSecurityHeader` naming `x-amz-content-sha256`, where the service requires the header (S3).
    static var missingContentSHA256: VerificationFailure {
        VerificationFailure(
            .missingSecurityHeader, "Your request was missing a required header",
            details: [.init("MissingHeaderName", "x-amz-content-sha256")])
    }

    /// The same refusal as ``missingContentSHA256`` where it only asks for the body
    /// (``VerificationFailure/asksForBody``): the body's hash is signed but neither declared nor given
    /// (``Payload/streamed``); the caller verifies again with the body.
    static var bodyNeeded: VerificationFailure {
        var failure = missingContentSHA256
        failure.asksForBody = true
        return failure
    }

    /// `SignatureDoesNotMatch`, as S3 words it, with the server's canonical request and string to
    /// sign when the policy includes diagnostics.
    static func signatureDoesNotMatch(diagnostics: VerificationFailure.Diagnostics?) -> VerificationFailure {
        VerificationFailure(
            .signatureDoesNotMatch,
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
            diagnostics: diagnostics)
    }

    /// The signature's attempts over the canonical target, or why the request cannot be canonicalized.
    private func attempts(
        fields: CollectedFields, request: VerificationRequest, claim: ClaimedAuthorization, rules: ServiceRules,
        signedNames: UnsafeRawBufferPointer, _ inputs: inout MatchInputs
    ) -> Result<Attempt, SigV4Error> {
        let method = request.method
        return withCanonicalTarget(request: request, claim: claim, rules: rules) {
            target, skip in
            do throws(SigV4Error) {
                // The fields were read once, into scratch, and sorted; every reading and payload hash
                // tried writes its canonical request from them.
                let collected: VerifierCanonicalization.Headers
                switch fields {
                case .collected(let c): collected = c
                case .refused(let error): throw error
                }
                return .success(
                    try method.withBorrowedUTF8 { (m) throws(SigV4Error) -> Attempt in
                        try Verifier.matchReadings(
                            collected, method: UnsafeRawBufferPointer(m), target: target, skip: skip,
                            signedNames: signedNames, &inputs)
                    })
            } catch {
                // A bad method or target is reported before a bad field, whichever failed first here.
                let lineError = method.withBorrowedUTF8 { m in
                    VerifierCanonicalization.requestLineError(method: UnsafeRawBufferPointer(m), target: target)
                }
                return .failure(lineError ?? error)
            }
        }
    }

    /// Tries the spec reading, then (only if it fails) the alternatives, for each payload hash.
    /// `skip`: the query element of `target` that was not signed (a presigned URL's
    /// `X-Amz-Signature`), if any.
    private static func matchReadings(
        _ fields: VerifierCanonicalization.Headers, method: UnsafeRawBufferPointer, target: UnsafeBufferPointer<UInt8>,
        skip: Range<Int>?, signedNames: UnsafeRawBufferPointer, _ inputs: inout MatchInputs
    ) throws(SigV4Error) -> Attempt {
        // The policy is read in place (a copy would retain each of its sets and arrays).
        let storage = inputs.storage
        let rules = inputs.rules
        let signedAt = inputs.signedAt
        var first: VerificationFailure.Diagnostics? = nil
        let standard = Reading(target: nil, plus: storage.policy.plusPolicies[0], form: .standard)
        var alternatives: [Reading]? = nil
        // The signed target (without the skipped element) as an array, made once, and only when an
        // alternative reading or a verbatim splice needs one (the spec reading works on `target`
        // in place).
        var ownedTarget: [UInt8]? = nil
        func targetArray() -> [UInt8] {
            if let ownedTarget { return ownedTarget }
            let made =
                skip.map { skip in
                    Verifier.canonicalTarget(
                        target, mark: ByteSearch.index(of: 0x3f, in: target, 0..<target.count),
                        dropping: (skip.lowerBound, -1)
                    ) { Array($0) }
                } ?? Array(target)
            ownedTarget = made
            return made
        }
        var payloadHashesTried = 0
        for payloadHash in inputs.candidates {
            // SigV4a: the first payload hash only (a presigned URL's: `UNSIGNED-PAYLOAD` under S3
            // rules, the body's hash otherwise), as for the readings below: each try is an ECDSA
            // verification, so a bad signature would cost two.
            if inputs.ecdsaKey != nil && payloadHashesTried > 0 { break }
            payloadHashesTried += 1
            var index = -1
            while true {
                let reading: Reading
                if index < 0 {
                    reading = standard
                } else if inputs.ecdsaKey != nil {
                    // SigV4a: the spec reading only. An ECDSA verification costs tens of
                    // microseconds; trying each alternative reading would let a bad request cost
                    // several.
                    break
                } else {
                    if alternatives == nil { alternatives = Verifier.readings(targetArray(), rules: rules, policy: storage.policy) }
                    guard let alternatives, index < alternatives.count else { break }
                    reading = alternatives[index]
                }
                index += 1
                // The canonical request is kept as bytes only where a verbatim reading splices raw
                // lines into it or diagnostics show it; otherwise it is hashed where it was written.
                let keep = storage.policy.includeDiagnostics || reading.form.isVerbatim
                var canonical: CanonicalRequest? = nil
                // Reading 8 encodes the path by the rules but leaves its dot segments and `//` as they are.
                var readingRules = rules
                if reading.form.pathLine == .unnormalized { readingRules.normalizePath = false }
                func write(
                    _ t: UnsafeBufferPointer<UInt8>, skip: Range<Int>?
                ) throws(SigV4Error) -> (hash: SHA256Digest, bytes: [UInt8]?) {
                    try fields.canonicalRequest(
                        method: method, target: t, skippingQueryElement: skip, signedHeaders: signedNames,
                        payloadHash: payloadHash, rules: readingRules, plus: reading.plus, keepingBytes: keep)
                }
                let written: (hash: SHA256Digest, bytes: [UInt8]?)
                if let own = reading.target {
                    written = try own.withUnsafeBufferPointer { t throws(SigV4Error) in try write(t, skip: nil) }
                } else {
                    written = try write(target, skip: skip)
                }
                var hash = written.hash
                if var kept = written.bytes.map({ CanonicalRequest(bytes: $0) }) {
                    switch reading.form.queryLine {
                    case .verbatim: kept = Verifier.splice(kept, line: 2, with: Verifier.verbatimQuery(targetArray()))
                    case .asSent: kept = Verifier.splice(kept, line: 2, with: Verifier.queryAsSent(targetArray()))
                    case .written: break
                    }
                    if reading.form.pathLine == .raw {
                        kept = Verifier.splice(kept, line: 1, with: Verifier.verbatimPath(targetArray()))
                    }
                    canonical = kept
                    if reading.form.isVerbatim { hash = kept.hash }
                }
                // The string to sign is checked as its algorithm says; its text is made only for
                // diagnostics (no closure: a captured string to sign would be a heap box per try).
                let matched: Bool
                var stringToSignBytes: [UInt8]? = nil
                var replayKey: Signature? = nil
                if let ecdsaKey = inputs.ecdsaKey, let der = inputs.sigV4a?.der {
                    // SigV4a: the DER signature verifies under the key pair derived from the secret.
                    let sts = SigV4aSigner.stringToSign(
                        date: signedAt, service: inputs.second.key.scope.service, canonicalRequestHash: hash)
                    matched = ecdsaKey.isValidSignature(der, stringToSign: sts)
                    if storage.policy.includeDiagnostics && canonical != nil { stringToSignBytes = sts }
                    if matched { replayKey = sigV4aReplayKey(stringToSign: sts, accessKeyID: ecdsaKey.accessKeyID) }
                } else {
                    // SigV4: the HMAC under the derived key equals the claimed signature (constant time).
                    // The string to sign is written on the stack; a `StringToSign` is made only for
                    // diagnostics.
                    matched = inputs.second.signature(canonicalRequestHash: hash)
                        .constantTimeEquals(inputs.signature)
                    if storage.policy.includeDiagnostics && canonical != nil {
                        stringToSignBytes = StringToSign(
                            date: signedAt, scope: inputs.second.key.scope, canonicalRequestHash: hash
                        ).bytes
                    }
                }
                var diagnostics: VerificationFailure.Diagnostics? = nil
                if let canonical, let stringToSignBytes {
                    diagnostics = VerificationFailure.Diagnostics(
                        canonicalRequestBytes: canonical.bytes, stringToSignBytes: stringToSignBytes,
                        signatureProvided: inputs.sigV4a.map { Hex.encode($0.der) } ?? inputs.signature.hex)
                }
                if first == nil { first = diagnostics }
                if matched {
                    return .matched(
                        Match(
                            payload: payloadHash, plus: reading.plus, form: reading.form, diagnostics: diagnostics,
                            replayKey: replayKey))
                }
            }
        }
        return .mismatch(first)
    }

    /// Replaces line `line` (0-based) of a canonical request.
    static func splice(_ canonical: CanonicalRequest, line: Int, with replacement: [UInt8]) -> CanonicalRequest {
        let b = canonical.bytes
        var start = 0
        var seen = 0
        while seen < line, let nl = b[start...].firstIndex(of: 0x0a) {
            start = nl + 1
            seen += 1
        }
        let end = b[start...].firstIndex(of: 0x0a) ?? b.count
        var out: [UInt8] = []
        out.reserveCapacity(b.count + replacement.count)
        out.append(contentsOf: b[..<start])
        out.append(contentsOf: replacement)
        out.append(contentsOf: b[end...])
        return CanonicalRequest(bytes: out, signedHeaders: canonical.signedHeaders)
    }

    /// The raw path, as some signers put it in the canonical request (botocore for S3, curl).
    static func verbatimPath(_ target: [UInt8]) -> [UInt8] {
        let path = target.firstIndex(of: 0x3f).map { Array(target[..<$0]) } ?? target
        return path.isEmpty ? [0x2f] : path
    }

    /// The raw query split on `&` and the first `=`, `key` → `key=`, sorted by bytes: what
    /// botocore (header auth) and curl put in the canonical request.
    static func verbatimQuery(_ target: [UInt8]) -> [UInt8] {
        guard let q = target.firstIndex(of: 0x3f) else { return [] }
        let query = target[(q + 1)...]
        var pairs: [(ArraySlice<UInt8>, ArraySlice<UInt8>)] = []
        for p in QueryParameter.split(query) {
            pairs.append((query[p.name], p.value.map { query[$0] } ?? []))
        }
        pairs.sort { a, b in
            a.0 != b.0 ? a.0.lexicographicallyPrecedes(b.0) : a.1.lexicographicallyPrecedes(b.1)
        }
        var out: [UInt8] = []
        out.reserveCapacity(query.count + 8)
        for (k, pair) in pairs.enumerated() {
            if k > 0 { out.append(0x26) }
            out.append(contentsOf: pair.0)
            out.append(0x3d)
            out.append(contentsOf: pair.1)
        }
        return out
    }

    /// The query's bytes exactly as sent (what curl 7.x puts in the canonical request).
    static func queryAsSent(_ target: [UInt8]) -> [UInt8] {
        guard let q = target.firstIndex(of: 0x3f) else { return [] }
        return Array(target[(q + 1)...])
    }

    /// True when the path (the target before any `?`) holds a well-formed `%XX` escape.
    static func pathHasEscape(_ target: UnsafeBufferPointer<UInt8>) -> Bool {
        let q = ByteSearch.index(of: 0x3f, in: target, 0..<target.count)
        var i = ByteSearch.index(of: 0x25, in: target, 0..<q)
        while i + 2 < q {
            if isHex(target[i + 1]) && isHex(target[i + 2]) { return true }
            i = ByteSearch.index(of: 0x25, in: target, (i + 1)..<q)
        }
        return false
    }

    /// The path percent-decoded and encoded again with the AWS rule, `/` kept (an escaped `/`
    /// becomes one), the query as it is: an S3 object key's own encoding, what node's aws4 signs
    /// for S3 (`/%7e/%41%2Fb` → `/~/A/b`, `/%3d` → `/%3D`). A `+` is not decoded: it stays a `+` and
    /// is encoded `%2B`, as the AWS rule encodes it.
    static func reencodingPath(_ target: [UInt8]) -> [UInt8] {
        let q = target.firstIndex(of: 0x3f) ?? target.count
        let path = URIEncoding.decode(target[..<q])
        var out: [UInt8] = []
        out.reserveCapacity(3 * path.count + target.count - q)
        path.withUnsafeBufferPointer { URIEncoding.append($0, to: &out, keepSlash: true, keepEscapes: false) }
        out.append(contentsOf: target[q...])
        return out
    }

    /// The query with every name and value percent-decoded and encoded again with the AWS rule
    /// (what awscrt does: `%7e` → `~`, `%2b` → `%2B`).
    static func reencodingQuery(_ target: [UInt8]) -> [UInt8] {
        guard let q = target.firstIndex(of: 0x3f) else { return target }
        let query = target[(q + 1)...]
        var out = Array(target[...q])
        var wrote = false
        for p in QueryParameter.split(query) {
            if wrote { out.append(0x26) }
            wrote = true
            let name = URIEncoding.decode(query[p.name])
            name.withUnsafeBufferPointer { URIEncoding.append($0, to: &out, keepSlash: false, keepEscapes: false) }
            if let v = p.value {
                out.append(0x3d)
                let value = URIEncoding.decode(query[v])
                value.withUnsafeBufferPointer { URIEncoding.append($0, to: &out, keepSlash: false, keepEscapes: false) }
            }
        }
        return out
    }

    /// Whether the query or path holds bytes a spec signer would encode (so a verbatim reading
    /// differs); for the path also dot segments and `//` (services that normalize) and any escape
    /// (services whose rule encodes the path twice: `%2B` is signed `%252B`).
    static func needsVerbatim(_ target: UnsafeBufferPointer<UInt8>, rules: ServiceRules) -> (query: Bool, path: Bool) {
        /// True when `bytes` holds a lowercase escape or a byte that is neither unreserved, an
        /// escape, nor one of `extra` (`/` in a path; `&` and `=` in a query).
        func odd(_ bytes: UnsafeBufferPointer<UInt8>, query: Bool) -> Bool {
            var i = 0
            while i < bytes.count {
                let b = bytes[i]
                if b == 0x25, i + 2 < bytes.count, isHex(bytes[i + 1]), isHex(bytes[i + 2]) {
                    if isLowerHex(bytes[i + 1]) || isLowerHex(bytes[i + 2]) { return true }
                    i += 3
                    continue
                }
                let extra = query ? b == 0x26 || b == 0x3d : b == 0x2f
                if !URIEncoding.isUnreserved(b) && !extra { return true }
                i += 1
            }
            return false
        }
        let q = ByteSearch.index(of: 0x3f, in: target, 0..<target.count)
        let path = UnsafeBufferPointer(rebasing: target[..<q])
        // A raw path also differs from the canonical one when it has dot segments or `//`
        // (services that normalize) or any escape (services that encode it twice).
        let pathDiffers =
            odd(path, query: false) || (rules.normalizePath && URIEncoding.needsNormalization(path))
            || (rules.doubleEncodePath && ByteSearch.index(of: 0x25, in: path, 0..<path.count) < path.count)
        guard q < target.count else { return (false, pathDiffers) }
        return (odd(UnsafeBufferPointer(rebasing: target[(q + 1)...]), query: true), pathDiffers)
    }

    /// Runs `body` with the target whose canonical form was signed, and the query element of it
    /// that the canonical query leaves out, if any. A presigned request's
    /// `X-Amz-Signature` is that element, its target read in place; where the service adds
    /// `X-Amz-Security-Token` after signing, both are dropped from a copy in temporary memory
    /// (``canonicalTarget(_:mark:dropping:_:)``). Other requests: the target as received.
    func withCanonicalTarget<R>(
        request: VerificationRequest, claim: ClaimedAuthorization, rules: ServiceRules,
        _ body: (UnsafeBufferPointer<UInt8>, _ skip: Range<Int>?) -> R
    ) -> R {
        guard let presign = claim.presign else { return request.withTarget { t, _ in body(t, nil) } }
        let signature = presign.signatureElement
        guard rules.sessionTokenPlacement == .appendedAfterSigning, let token = presign.tokenElement else {
            return request.withTarget { t, _ in body(t, signature) }
        }
        return request.withTarget { t, mark in
            Verifier.canonicalTarget(t, mark: mark, dropping: (signature.lowerBound, token.lowerBound)) {
                body($0, nil)
            }
        }
    }

    /// Runs `body` with `t` (its query after the `?` at `mark`) without the query elements that
    /// start at the indices `dropping` (-1: none) and without empty elements (`&&`), as
    /// canonicalization drops them, written into temporary memory.
    static func canonicalTarget<R>(
        _ t: UnsafeBufferPointer<UInt8>, mark: Int, dropping: (Int, Int), _ body: (UnsafeBufferPointer<UInt8>) -> R
    ) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: t.count + 1) { buffer in
            let base = buffer.baseAddress!
            var n = 0
            func append(_ r: Range<Int>) {
                (base + n).update(from: t.baseAddress! + r.lowerBound, count: r.count)
                n += r.count
            }
            append(0..<mark)
            base[n] = 0x3f
            n += 1
            var wrote = false
            var start = mark + 1
            while start < t.count {
                let end = ByteSearch.index(of: 0x26, in: t, start..<t.count)
                if end > start && start != dropping.0 && start != dropping.1 {
                    if wrote {
                        base[n] = 0x26
                        n += 1
                    }
                    append(start..<end)
                    wrote = true
                }
                start = end + 1
            }
            return body(UnsafeBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    static func queryQuirks(_ target: UnsafeBufferPointer<UInt8>) -> (plus: Bool, lowerEscape: Bool, escape: Bool) {
        let q = ByteSearch.index(of: 0x3f, in: target, 0..<target.count)
        guard q < target.count else { return (false, false, false) }
        var plus = false
        var lower = false
        var escape = false
        var i = q + 1
        while i < target.count {
            let b = target[i]
            if b == 0x2b { plus = true }
            if b == 0x25 { escape = true }
            if b == 0x25, i + 2 < target.count, isHex(target[i + 1]), isHex(target[i + 2]),
                isLowerHex(target[i + 1]) || isLowerHex(target[i + 2])
            {
                lower = true
            }
            i += 1
        }
        return (plus, lower, escape)
    }

    static func uppercasingEscapes(_ target: [UInt8]) -> [UInt8] {
        var out = target
        guard let q = out.firstIndex(of: 0x3f) else { return out }
        var i = q + 1
        while i + 2 < out.count {
            if out[i] == 0x25, isHex(out[i + 1]), isHex(out[i + 2]) {
                if isLowerHex(out[i + 1]) { out[i + 1] -= 0x20 }
                if isLowerHex(out[i + 2]) { out[i + 2] -= 0x20 }
                i += 3
            } else {
                i += 1
            }
        }
        return out
    }

    static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
    }
    static func isLowerHex(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x66 }
}

extension CanonicalForm {
    /// How a form's canonical URI line is made: written by the rules (from the target the reading
    /// gives), written without normalization (reading 8), or the raw path spliced in.
    enum PathLine { case written, unnormalized, raw }
    /// How its canonical query line is made: written by the rules, the raw query sorted spliced in,
    /// or the query exactly as sent spliced in.
    enum QueryLine { case written, verbatim, asSent }

    var pathLine: PathLine {
        switch self {
        case .verbatimPath, .verbatimPathAndQuery, .pathAndQueryAsSent: return .raw
        case .unnormalizedPath, .unnormalizedPathAndQueryAsSent, .unnormalizedPathAndVerbatimQuery: return .unnormalized
        case .standard, .uppercasedEscapes, .reencodedQuery, .verbatimQuery, .queryAsSent, .reencodedPath: return .written
        }
    }

    var queryLine: QueryLine {
        switch self {
        case .verbatimQuery, .verbatimPathAndQuery, .unnormalizedPathAndVerbatimQuery: return .verbatim
        case .queryAsSent, .pathAndQueryAsSent, .unnormalizedPathAndQueryAsSent: return .asSent
        case .standard, .uppercasedEscapes, .reencodedQuery, .verbatimPath, .reencodedPath, .unnormalizedPath:
            return .written
        }
    }

    /// True for the forms that splice raw lines into the canonical request.
    fileprivate var isVerbatim: Bool { pathLine == .raw || queryLine != .written }
}

/// A SigV4a `X-Amz-Region-Set`: regions separated by `,`, each a region name, `*` (every region)
/// or a prefix ending in `*` (`us-*`).
///
/// ```swift
/// let set = RegionSet("us-east-1,eu-*")!
/// set.contains("eu-west-3")   // true
/// ```
struct RegionSet: Sendable {
    /// The value as sent.
    let text: String
    /// The entries.
    let regions: [String]

    /// nil unless `text` is 1 to 64 entries of 1 to 128 printable bytes without space or `,`
    /// (``SigV4aRegionSet``'s rule, the signer's, except that an entry may hold `/`).
    /// The length is checked before the text is split, and no more than 65 pieces are made: the set
    /// is read before the key is looked up, so a long one must cost no more than a short one.
    init?(_ text: String) {
        guard text.utf8.count <= Self.maxEntries * (Self.maxEntryLength + 1) - 1 else { return nil }
        let entries = text.split(separator: ",", maxSplits: Self.maxEntries, omittingEmptySubsequences: false)
            .map(String.init)
        guard SigV4aRegionSet.isValid(entries, allowingSlash: true) else { return nil }
        self.text = text
        regions = entries
    }

    /// The most entries a set may have.
    static let maxEntries = SigV4aRegionSet.maxEntries
    /// The longest entry, in bytes.
    static let maxEntryLength = SigV4aRegionSet.maxEntryLength

    /// True when `region` is named, matched by `*`, or starts with an entry's text before its final `*`.
    func contains(_ region: String) -> Bool {
        regions.contains { entry in
            if entry == region || entry == "*" { return true }
            guard entry.hasSuffix("*") else { return false }
            return region.hasPrefix(entry.dropLast())
        }
    }
}
