public import SigV4

/// Entry points for the libFuzzer targets in `Fuzz/` (a separate package that sees only public API).
///
/// Not API: `@_spi(Fuzzing)` keeps these out of the public interface. Each entry point runs one
/// internal parser on untrusted bytes and reports only whether it accepted them, so a fuzzer can
/// reach the parsers without going through the asynchronous ``Verifier``.
///
/// ```swift
/// @_spi(Fuzzing) import SigV4Verifier
/// _ = FuzzingEntryPoints.parseAuthorizationHeader(Array("AWS4-HMAC-SHA256 Credential=…".utf8))
/// ```
@_spi(Fuzzing) public enum FuzzingEntryPoints {
    /// Parses an `Authorization` header value; true when it is syntactically valid.
    public static func parseAuthorizationHeader(_ value: [UInt8]) -> Bool {
        guard let claim = try? AuthorizationParser.parseHeader(value) else { return false }
        precondition(claim.presign == nil, "a header claim must not carry presign parameters")
        // Read from the value as a string (the verifier's way: the id and the signed names are
        // slices of it), the claim is the same.
        if let source = utf8String(value) {
            var sliced: ClaimedAuthorization? = nil
            let parsed: Void? = value.withUnsafeBufferPointer { p in
                try? AuthorizationParser.parseHeader(p, source: source, into: &sliced)
            }
            precondition(parsed != nil, "a header parsed from its bytes must parse from its string")
            precondition(sameClaim(claim, sliced!), "a header read from its string must give the same claim")
        }
        return true
    }

    /// `bytes` as a string whose UTF-8 is exactly `bytes`, or nil (invalid UTF-8).
    static func utf8String(_ bytes: [UInt8]) -> String? {
        let s = String(decoding: bytes, as: UTF8.self)
        return s.utf8.elementsEqual(bytes) ? s : nil
    }

    /// The parts a parse yields, compared as text.
    static func sameClaim(_ a: ClaimedAuthorization, _ b: ClaimedAuthorization) -> Bool {
        a.accessKeyID == b.accessKeyID && a.dateStamp == b.dateStamp && a.dateDay == b.dateDay && a.region == b.region
            && a.service == b.service && a.terminator == b.terminator && a.signedHeadersLine == b.signedHeadersLine
            && a.signature == b.signature
            && a.presign?.date == b.presign?.date && a.presign?.expires == b.presign?.expires
            && a.presign?.sessionToken == b.presign?.sessionToken
            && a.presign?.signatureElement == b.presign?.signatureElement
            && a.presign?.tokenElement == b.presign?.tokenElement && a.isSigV4a == b.isSigV4a
            && a.sigV4a?.der == b.sigV4a?.der && a.sigV4a?.regionSet == b.sigV4a?.regionSet
    }

    /// Parses the presign parameters of a query string (the bytes after `?`); true when valid.
    ///
    /// `offset` junk bytes are put in front of the query and sliced off again, so that index
    /// arithmetic on slices that do not start at zero is exercised too.
    public static func parsePresignedQuery(_ query: [UInt8], offset: Int = 0) -> Bool {
        let padded = [UInt8](repeating: 0x26, count: max(0, offset)) + query
        let slice = padded[max(0, offset)...]
        let looks = AuthorizationParser.looksPresigned(slice)
        guard let claim = try? AuthorizationParser.parseQuery(slice) else { return false }
        precondition(looks, "a query that parses as presigned must look presigned")
        guard let presign = claim.presign else { preconditionFailure("a query claim must carry presign parameters") }
        for element in [presign.signatureElement, presign.tokenElement].compactMap({ $0 }) {
            precondition(slice.indices.contains(element.lowerBound) && element.upperBound <= slice.endIndex)
        }
        // Read from the target as a string (the verifier's way: the id and the signed names are
        // slices of it when no escape is in the way), the claim is the same.
        if let source = utf8String(padded) {
            var sliced: ClaimedAuthorization? = nil
            let parsed: Void? = padded.withUnsafeBufferPointer { p in
                try? AuthorizationParser.parseQuery(
                    target: p, query: slice.startIndex..<slice.endIndex, source: source, into: &sliced)
            }
            precondition(parsed != nil, "a query parsed from its bytes must parse from its string")
            precondition(sameClaim(claim, sliced!), "a query read from its string must give the same claim")
        }
        return true
    }

    /// Verifies `request` twice, by the common form's own path alone
    /// (`Verifier.verifyCommonForm`) and by the full verification alone (no replay guard): nil when
    /// they agree (the common path handed the request over; or refused it and the full
    /// verification refuses it with the same code, message, details and access key id; or accepted
    /// it and the full verification accepts it with an equal result), else what differs. The
    /// common path must never accept what the full verification refuses, nor refuse what it
    /// accepts.
    public static func commonFormDisagreement(
        _ verifier: Verifier, _ request: VerificationRequest, payload: Verifier.Payload, now: AmzDate
    ) -> String? {
        var outcome = Verifier.Outcome()
        var lookup = Verifier.Lookup.immediate
        let taken: Bool
        do {
            taken = try verifier.verifyCommonForm(request, payload: payload, now: now, into: &outcome, lookup: &lookup)
        } catch {
            return refusalDifference(verifier, request, payload: payload, now: now, commonRefusal: error)
        }
        guard taken, let common = outcome.verified else { return nil }
        var full = Verifier.Outcome()
        do {
            try verifier.evaluate(request, payload: payload, now: now, lookup: .immediate, into: &full)
        } catch {
            return "the common path accepts what the full verification refuses (\(error.code.name): \(error.message))"
        }
        guard let accepted = full.verified else {
            return "the full verification asks the resolver asynchronously where the common path did not"
        }
        let differences = resultDifferences(common, accepted)
        return differences.isEmpty ? nil : differences.joined(separator: "; ")
    }

    /// What differs between the common path's refusal of `request` and the full verification's
    /// verdict on it (nil when they refuse alike).
    static func refusalDifference(
        _ verifier: Verifier, _ request: VerificationRequest, payload: Verifier.Payload, now: AmzDate,
        commonRefusal: VerificationFailure
    ) -> String? {
        var full = Verifier.Outcome()
        let fullRefusal: VerificationFailure
        do {
            try verifier.evaluate(request, payload: payload, now: now, lookup: .immediate, into: &full)
            return "the common path refuses (\(commonRefusal.code.name)) what the full verification accepts"
        } catch {
            fullRefusal = error
        }
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ x: T, _ y: T) { if x != y { out.append("\(name): \(x) vs \(y)") } }
        check("code", commonRefusal.code.name, fullRefusal.code.name)
        check("message", commonRefusal.message, fullRefusal.message)
        check("details", commonRefusal.details, fullRefusal.details)
        check("accessKeyID", commonRefusal.accessKeyID, fullRefusal.accessKeyID)
        check("diagnostics", commonRefusal.diagnostics, fullRefusal.diagnostics)
        if out.isEmpty && commonRefusal != fullRefusal { out.append("another part") }
        return out.isEmpty ? nil : "the paths refuse differently: " + out.joined(separator: "; ")
    }

    /// The parts in which two verified requests differ (the signing key by its scope and its MAC of
    /// a fixed message; never its bytes).
    static func resultDifferences(_ a: VerifiedRequest, _ b: VerifiedRequest) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ name: String, _ x: T, _ y: T) { if x != y { out.append("\(name): \(x) vs \(y)") } }
        check("accessKeyID", a.accessKeyID, b.accessKeyID)
        check("principal", a.principal, b.principal)
        check("scope", a.scope, b.scope)
        check("signedHeadersLine", a.signedHeadersLine, b.signedHeadersLine)
        check("signedAt", a.signedAt, b.signedAt)
        check("isPresigned", a.isPresigned, b.isPresigned)
        check("expires", a.expires, b.expires)
        check("signature", a.signature, b.signature)
        check("payloadHash", a.payloadHash, b.payloadHash)
        check("payload", a.payload, b.payload)
        check("plusPolicy", a.plusPolicy, b.plusPolicy)
        check("canonicalForm", a.canonicalForm, b.canonicalForm)
        check("diagnostics", a.diagnostics == nil, b.diagnostics == nil)
        check("isSigV4a", a.isSigV4a, b.isSigV4a)
        check("declaredChecksum", a.declaredChecksum, b.declaredChecksum)
        check("contentMD5", a.contentMD5, b.contentMD5)
        check("checksumVerified", a.checksumVerified, b.checksumVerified)
        check("sigV4aSeed", a.sigV4aSeed == nil, b.sigV4aSeed == nil)
        check("eventStreamSecret", a.eventStreamSecret == nil, b.eventStreamSecret == nil)
        check("bucket", a.bucket, b.bucket)
        check("signingKey.scope", a.signingKey.scope, b.signingKey.scope)
        let message = Array("common form".utf8)
        if a.signingKey.hmac.authenticationCode(for: message) != b.signingKey.hmac.authenticationCode(for: message) {
            out.append("signingKey: the keys differ")
        }
        return out
    }
}
