import SigV4
import _SigV4Crypto

/// The common request, verified by a short path of its own.
///
/// Nearly every request a service sees is signed by an SDK in one form: header authentication,
/// `Authorization: AWS4-HMAC-SHA256 Credential=<id>/<date>/<region>/<service>/aws4_request,
/// SignedHeaders=<names>, Signature=<64 hex>` with exactly those separators, one `X-Amz-Date`, one
/// `Host`, at most one declared body checksum (`x-amz-checksum-<algorithm>`, as SDKs send one by
/// default on uploads) and one `Content-MD5`, and a payload hash that is a digest,
/// `UNSIGNED-PAYLOAD` or the empty body's. This path reads such a request as ranges of its own
/// bytes (no claim of strings, no candidates, no alternative readings), runs the same checks with
/// the same helpers and writes the same ``VerifiedRequest`` the full verification writes.
/// Presigned URLs, SigV4a and aws-chunked uploads go the full way.
///
/// It accepts, and refuses one thing only: a wrong signature on a request that passed every other
/// check and that the full verification has no other reading of (no alternative query or path
/// forms, one payload hash), which the full verification would refuse with the same
/// `SignatureDoesNotMatch` after computing the same signature again. Any other request of another
/// form, or one that fails any other check, is handed to the full verification
/// (``Verifier/evaluate(_:presigned:payload:now:lookup:tryingCommonForm:into:)``), which gives the
/// verdict, the code and the message, on the same collected fields (they are read once per
/// verification); the resolver's answer, when this path got one, goes with it, so a key is never
/// looked up twice. Tests hold the two paths to the same result, accepted or refused, on every
/// request they have (`CommonFormTests`).
extension Verifier {
    /// `AWS4-HMAC-SHA256 Credential=`: how the common form starts.
    static let commonFormPrefix: StaticString = "AWS4-HMAC-SHA256 Credential="

    /// True when this verifier's policy lets the common form be verified by its own path: header
    /// authentication allowed, no diagnostics (an accepted request then carries its canonical
    /// request, which this path does not keep), and a `+` policy to read the query with.
    var commonFormAllowed: Bool {
        storage.policy.allowHeaderAuth && !storage.policy.includeDiagnostics && !storage.policy.plusPolicies.isEmpty
    }

    /// Verifies `request` when it has the common form and passes every check but the replay guard:
    /// true, with `outcome.verified` set as ``evaluate(_:presigned:payload:now:lookup:tryingCommonForm:into:)``
    /// sets it, or with `outcome.needsLookup` set when the resolver has to be asked asynchronously
    /// (as `evaluate` sets it). Throws `SignatureDoesNotMatch` for a wrong signature the full
    /// verification has no other reading of (``signatureMismatch(_:accessKeyID:rules:)``). False
    /// otherwise, with nothing set but `lookup`: the resolver's answer when it was asked.
    ///
    /// This collects the fields itself, for tests that run the short path alone; a verification
    /// tries it from inside `evaluate`'s one field collection
    /// (``verifyCommonForm(_:facts:fields:payload:now:into:lookup:)``).
    /// `presigned`: ``looksPresigned(_:)``, when the caller has it.
    func verifyCommonForm(
        _ request: VerificationRequest, presigned: Bool? = nil, payload: Payload, now: AmzDate,
        into outcome: inout Outcome, lookup: inout Lookup
    ) throws(VerificationFailure) -> Bool {
        // A presigned URL goes the full way: a common path for it, on the full verification's query
        // parser, measured 3% slower than the full way (Docs/Performance.md, session 21).
        guard commonFormAllowed, !(presigned ?? Verifier.looksPresigned(request)) else { return false }
        var facts = HeaderFacts()
        var accepted: Result<Bool, VerificationFailure> = .success(false)
        do {
            try collectFields(request, noting: &facts) { facts, fields in
                accepted = Result { () throws(VerificationFailure) in
                    try verifyCommonForm(
                        request, facts: facts, fields: fields, payload: payload, now: now, into: &outcome, lookup: &lookup)
                }
            }
        } catch {
            // A field the canonicalization refuses: the full verification reports it.
            return false
        }
        return try accepted.get()
    }

    /// ``verifyCommonForm(_:presigned:payload:now:into:lookup:)`` on fields already collected,
    /// with the `facts` noted on the way (the caller checked ``commonFormAllowed`` and that the
    /// request is not presigned). `target`: the request's target bytes, when the caller has them
    /// borrowed (else they are borrowed here).
    func verifyCommonForm(
        _ request: VerificationRequest, facts: HeaderFacts, fields: VerifierCanonicalization.Headers,
        target: UnsafeBufferPointer<UInt8>? = nil, payload: Payload, now: AmzDate, into outcome: inout Outcome,
        lookup: inout Lookup
    ) throws(VerificationFailure) -> Bool {
        guard facts.authorization.count == 1, facts.amzDate.count == 1, facts.firstAmzDate != nil,
            facts.host.count == 1, facts.checksum.count <= 1, facts.contentMD5.count <= 1,
            facts.contentSHA256.count <= 1, facts.securityToken.count <= 1
        else { return false }
        let verdict = try request.headers.withFirstAndSource(facts.authorization) {
            (value, source) throws(VerificationFailure) -> Bool in
            try verifyCommonForm(
                request, authorization: value, source: source, facts: facts, fields: fields, target: target,
                payload: payload, now: now, into: &outcome, lookup: &lookup)
        }
        return verdict ?? false
    }

    /// The common form's checks, with the `Authorization` value's bytes (`source`: the string they
    /// are the UTF-8 of, when it is one) and the fields collected.
    private func verifyCommonForm(
        _ request: VerificationRequest, authorization p: UnsafeBufferPointer<UInt8>, source: String?,
        facts: HeaderFacts, fields: VerifierCanonicalization.Headers, target: UnsafeBufferPointer<UInt8>?,
        payload: Payload, now: AmzDate, into outcome: inout Outcome, lookup: inout Lookup
    ) throws(VerificationFailure) -> Bool {
        // `AWS4-HMAC-SHA256 Credential=<credential>, SignedHeaders=<names>, Signature=<64 hex>`: all
        // but the signature read once per distinct prefix and kept (``CommonFormPrefixes``).
        // The policy is read in place (a copy would retain each of its sets and arrays).
        let storage = self.storage
        let signatureStart = p.count - 64
        guard signatureStart > 0 else { return false }
        let prefixBytes = UnsafeBufferPointer(rebasing: p[0..<signatureStart])
        let known: CommonFormPrefix
        if let kept = storage.commonPrefixes.lookUp(prefixBytes) {
            known = kept
        } else {
            guard let read = CommonFormPrefix.read(p, signatureStart: signatureStart, policy: storage.policy) else {
                return false
            }
            storage.commonPrefixes.remember(read, for: prefixBytes)
            known = read
        }
        guard known.passesPolicy,
            let signature = ByteParsing.signature(UnsafeBufferPointer(rebasing: p[signatureStart...]))
        else { return false }
        let names = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(p)[known.names])

        // Endpoint, time, coverage and the payload hash.
        let region = known.region
        let service = known.service
        let rules = known.rules
        // S3 Express reads its session token from another field: the full verification's.
        guard rules.sessionTokenPlacement != .s3SessionToken else { return false }
        guard let signedAt = facts.firstAmzDate, let day = known.dateDay, signedAt.dayNumber == day else {
            return false
        }
        let skew = now.secondsSince1970 - signedAt.secondsSince1970
        guard skew <= storage.policy.maxClockSkew, -skew <= storage.policy.maxClockSkew,
            amzFieldsSigned(
                UnsafeRawBufferPointer(rebasing: names[known.amzNamesStart...]), facts: facts, fields: fields),
            let payloadHash = commonPayloadHash(request, facts: facts, payload: payload, rules: rules)
        else { return false }
        // The body's declared checksums (the full verification's helper; not called without one).
        let declares = !facts.checksum.isEmpty || !facts.contentMD5.isEmpty
        var declaredChecksum: DeclaredChecksum? = nil
        var contentMD5: DeclaredChecksum? = nil
        if declares {
            guard let checksums = try? declaredChecksums(request, facts: facts) else { return false }
            (declaredChecksum, contentMD5) = checksums
        }
        // The bucket a virtual-hosted `Host` names (not a bucket name: the full verification refuses).
        // (`try?` would flatten "no bucket" into "refused".)
        guard case .success(let bucket) = Result(catching: { () throws(VerificationFailure) in
            try virtualHostedBucket(request, facts: facts)
        }) else { return false }

        // The key, its own limits and its session token.
        let accessKeyID =
            source.map { AuthorizationParser.slice($0, known.id) } ?? Substring(AuthorizationParser.text(p, known.id))
        let context = ResolutionContext(signedAt: signedAt, now: now, region: region, service: service, isPresigned: false)
        let credential: ResolvedCredential
        switch commonLookUp(accessKeyID, context: context, into: &outcome, lookup: &lookup) {
        case .found(let found): credential = found
        case .handedOver: return false
        case .suspends: return true
        }
        guard
            (try? checkKeyScope(
                credential, region: region, service: service, presignExpires: nil, request: request, bucket: bucket,
                signedAt: signedAt, now: now)) != nil,
            Verifier.tokenMatches(expected: credential.sessionToken, request.headers, facts.securityToken)
        else { return false }

        // The signature, from the spec reading of the target.
        let scope = known.scope
        // The key with what its signatures in this second share (the MAC after the string to sign's
        // text before the hash), kept by the key cache: a signature continues from it.
        let second = credential.second(in: storage.keyCache, scope: scope, date: signedAt)
        let plus = storage.policy.plusPolicies[0]
        let hash: SHA256Digest? = request.method.withBorrowedUTF8 { m in
            func canonicalHash(_ t: UnsafeBufferPointer<UInt8>) -> SHA256Digest? {
                try? fields.canonicalRequest(
                    method: UnsafeRawBufferPointer(m), target: t, signedHeaders: names, payloadHash: payloadHash,
                    rules: rules, plus: plus, keepingBytes: false
                ).hash
            }
            if let target { return canonicalHash(target) }
            return request.withTarget { t, _ in canonicalHash(t) }
        }
        guard let hash else { return false }
        guard second.signature(canonicalRequestHash: hash).constantTimeEquals(signature)
        else {
            // Refused here when the full verification would compute this signature again and
            // refuse it; handed over when it has other readings to try.
            try signatureMismatch(request, accessKeyID: accessKeyID, rules: rules)
            return false
        }
        guard let status = try? payloadStatus(payloadHash, payload: payload, facts: facts),
            let checksumVerified = declares
                ? try? checkBody(payload, declaredChecksum: declaredChecksum, contentMD5: contentMD5) : false
        else { return false }

        if storage.hasReplayGuard { outcome.claimedAccessKeyID = accessKeyID }
        outcome.verified = VerifiedRequest(
            credential: credential,
            signedHeadersText: source.map {
                SignedHeadersText(source: $0, range: known.names, percentEncoded: false)
            } ?? SignedHeadersText(AuthorizationParser.text(p, known.names)),
            signedAt: signedAt, isPresigned: false, expires: nil, signature: signature, payloadHash: payloadHash,
            payload: status, plusPolicy: plus, canonicalForm: .standard, diagnostics: nil, second: second,
            declaredChecksum: declaredChecksum, contentMD5: contentMD5, checksumVerified: checksumVerified,
            bucket: bucket)
        return true
    }

    /// A wrong signature on a request that passed every other check: throws the full
    /// verification's `SignatureDoesNotMatch` when that verification has no reading of the request
    /// but the spec one, which this path computed (``OtherReadings`` is empty; a
    /// header-auth request has one payload hash, and this path runs without diagnostics); returns
    /// when it has others to try.
    ///
    /// Every check before the full verification's signature step reads the request but not its
    /// signature, and this path accepts only what that verification accepts: with the right
    /// signature, this request would pass them all there, so with this one it reaches the signature
    /// step, computes the spec reading's signature as this path did, and refuses.
    private func signatureMismatch(_ request: VerificationRequest, accessKeyID: Substring, rules: ServiceRules)
        throws(VerificationFailure)
    {
        let policy = storage.policy
        guard request.withTarget({ t, _ in OtherReadings(t, rules: rules, policy: policy).isEmpty }) else { return }
        var failure = Verifier.signatureDoesNotMatch(diagnostics: nil)
        failure.accessKeyID = String(accessKeyID)
        throw failure
    }

    /// Every `x-amz-*` field signed, where the policy requires it (a field the policy exempts, or an
    /// `x_amz_*` spelling, goes the full way): true when they are. (The checks that read only the
    /// `Authorization` prefix, the allow-lists and a signed `host`, are ``CommonFormPrefix/passesPolicy``.)
    /// `names`: the signed names from the first one not below `x-amz-`
    /// (``CommonFormPrefix/amzNamesStart``); the ones before it cannot be an `x-amz-*` field's.
    private func amzFieldsSigned(
        _ names: UnsafeRawBufferPointer, facts: HeaderFacts, fields: VerifierCanonicalization.Headers
    ) -> Bool {
        !storage.policy.requireSignedAmzHeaders || facts.amzCount == 0
            || (!facts.amzUnderscored && fields.allNames(withPrefix: "x-amz-", areIn: names))
    }

    /// The payload hash the full verification tries (a header-auth request has one): the declared
    /// one (a digest or `UNSIGNED-PAYLOAD`; nil for aws-chunked, which goes the full way), or the
    /// body's, as ``payloadCandidates(facts:headers:presigned:rules:payload:)`` finds it. Nil when it
    /// would refuse.
    private func commonPayloadHash(
        _ request: VerificationRequest, facts: HeaderFacts, payload: Payload, rules: ServiceRules
    ) -> PayloadHash? {
        if !facts.contentSHA256.isEmpty {
            guard
                let declared = request.headers.withFirstAndSource(
                    facts.contentSHA256, { bytes, source in try? PayloadHash(bytes, source: source) }) ?? nil,
                !declared.isStreaming, declared != .unsignedPayload || storage.policy.allowUnsignedPayload
            else { return nil }
            return declared
        }
        if rules.sendContentSHA256 { return nil }
        // An event stream signed without the header has more than one reading (the full way tries them).
        if isEventStreamReading(request, facts: facts, mayHaveBody: true) { return nil }
        switch payload {
        case .body(let b): return .sha256(of: b)
        case .hash(let h): return h
        case .streamed: return facts.hasBody ? nil : .emptySHA256
        }
    }

    /// What the resolver said, for the common path.
    private enum CommonLookup {
        case found(ResolvedCredential)
        /// No key, or the resolver threw: the full verification refuses (`lookup` holds the answer).
        case handedOver
        /// The resolver must be asked asynchronously (`outcome.needsLookup` set).
        case suspends
    }

    /// Asks the resolver without suspending, noting its answer in `lookup` (or, when it has to
    /// suspend, the question in `outcome.needsLookup`: every check before the lookup passed, as the
    /// full verification would pass them, and it runs again with the answer).
    private func commonLookUp(
        _ accessKeyID: Substring, context: ResolutionContext, into outcome: inout Outcome, lookup: inout Lookup
    ) -> CommonLookup {
        do {
            switch try storage.resolver.lookUpWithoutSuspending(accessKeyID: accessKeyID, context: context) {
            case .found(let found):
                lookup = .resolved(.success(found))
                return .found(found)
            case .notFound:
                lookup = .resolved(.success(nil))
                return .handedOver
            case .needsSuspension:
                outcome.needsLookup = (String(accessKeyID), context)
                return .suspends
            }
        } catch {
            lookup = .resolved(.failure(error))
            return .handedOver
        }
    }

    /// True when the request's session token (the first field of `o`; none when there is no such
    /// field) is `expected`, compared in constant time.
    static func tokenMatches(expected: String?, _ headers: HeaderList, _ o: HeaderFacts.Occurrences) -> Bool {
        guard let expected else { return o.isEmpty }
        return headers.withFirst(o) { claimed in
            expected.withBorrowedUTF8 { ConstantTime.equals(UnsafeRawBufferPointer($0), UnsafeRawBufferPointer(claimed)) }
        } ?? false
    }
}
