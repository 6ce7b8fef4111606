public import HTTPTypes
import _SigV4Crypto

/// A reusable header signer for hot loops: the allocation-free path.
///
/// It canonicalizes into buffers it keeps between calls, remembers the credential scope and
/// signing key of the last day it signed for, and returns the ``Signature`` by value. The
/// `Authorization` value, the canonical request and the string to sign stay readable in the
/// context until the next call. Once warm (second call on the same day), a signature in an
/// optimized build makes no heap allocation at all; ``Signer/sign(_:payload:at:)`` instead
/// builds a full ``SignedRequest`` (a new `HTTPRequest` with the `X-Amz-Date` and `Authorization` fields) and
/// costs two (three in the first signature of a second).
///
/// A context is not thread-safe: keep one per thread or task. It produces exactly the
/// bytes ``Signer/sign(_:payload:at:)`` produces.
///
/// ```swift
/// let context = SigningContext(signer: signer)
/// let signature = try context.sign(request, payload: .emptySHA256, at: date)
/// context.withAuthorization { bytes in /* write "Authorization: " + bytes */ }
/// var fields = request.headerFields
/// context.addHeaders(to: &fields)  // X-Amz-Date, token, content SHA-256, Authorization
/// ```
public final class SigningContext {
    /// The signer whose credentials, scope, rules and options are used.
    public let signer: Signer
    /// The signer's canonicalization settings.
    let steps: HeaderSigning

    /// Everything a signature updates, reached through one exclusive access per call.
    struct State {
        var canonical: UnsafeMutableBufferPointer<UInt8>
        var canonicalCount = 0
        /// The string to sign. Only the date and the hash (its last 64 bytes) change within a day;
        /// the rest is written when the scope changes.
        var stringToSign: UnsafeMutableBufferPointer<UInt8>
        var stringToSignCount = 0
        /// The `Authorization` value; its first `authorizationPrefixCount` bytes
        /// (`AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=`) are fixed for a day.
        var authorization: UnsafeMutableBufferPointer<UInt8>
        var authorizationCount = 0
        var authorizationPrefixCount = 0
        var keyDay: Int64 = .min
        var scope: CredentialScope?
        var key: SigningKey?
        var credentialsChecked = false
        /// The last date formatted, and the second it is for.
        var dateText = AmzDateText(AmzDate(secondsSince1970: 0))
        var dateTextSecond: Int64 = .min
        var lastDate = AmzDate(secondsSince1970: 0)
        var lastPayload: PayloadHash = .emptySHA256
        var hasSignature = false
        /// The key's MAC after the string to sign's text fixed for the second `midstateSecond` (the
        /// algorithm line, the date and the scope, everything before the canonical request's hash;
        /// the SHA-256 state holds the last partial block): every signature in that second continues
        /// from a copy of it with the 64 hex digits alone. Derived from the key: wiped when replaced
        /// and in `deinit`.
        var midstate: HMAC?
        var midstateSecond: Int64 = .min

        /// Makes `buffer` hold at least `count` bytes (contents are not kept).
        static func ensure(_ buffer: inout UnsafeMutableBufferPointer<UInt8>, _ count: Int) {
            grow(&buffer, count, keeping: 0)
        }

        /// Makes `buffer` hold at least `count` bytes, keeping its first `keeping` bytes.
        static func grow(_ buffer: inout UnsafeMutableBufferPointer<UInt8>, _ count: Int, keeping: Int) {
            if count > buffer.count {
                let bigger = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(count, 2 * buffer.count))
                bigger.baseAddress!.update(from: buffer.baseAddress!, count: keeping)
                buffer.deallocate()
                buffer = bigger
            }
        }
    }

    /// Not checked for exclusive access at run time: a class's stored `var` passed `inout` is
    /// otherwise checked on every call (the runtime's access set, through thread-local storage:
    /// 3.6% of a signature's samples), and a context is single-threaded by contract.
    @exclusivity(unchecked) private var state: State

    /// Creates a context for `signer`. Buffers grow to the largest request signed and are kept.
    public init(signer: Signer) {
        self.signer = signer
        steps = HeaderSigning(signer: signer)
        state = State(
            canonical: .allocate(capacity: 1024), stringToSign: .allocate(capacity: 512),
            authorization: .allocate(capacity: 512))
    }

    deinit {
        state.midstate?.cleanse()
        state.canonical.deallocate()
        state.stringToSign.deallocate()
        state.authorization.deallocate()
    }

    /// Signs `request` for the `Authorization` header and returns the signature.
    ///
    /// Same inputs, checks and result as ``Signer/sign(_:payload:at:)``; the headers to add
    /// are available from ``addHeaders(to:)`` and ``withAuthorization(_:)``.
    public func sign(_ request: HTTPRequest, payload: PayloadHash, at date: AmzDate) throws(SigV4Error) -> Signature {
        try SigningContext.sign(signer: signer, steps: steps, state: &state, request, payload: payload, at: date)
    }

    private static func sign(
        signer: borrowing Signer, steps: borrowing HeaderSigning, state: inout State, _ request: HTTPRequest,
        payload: PayloadHash, at date: AmzDate
    ) throws(SigV4Error) -> Signature {
        if !state.credentialsChecked {
            try signer.validateCredentials()
            state.credentialsChecked = true
        }
        let day = date.dayNumber
        if day != state.keyDay || state.key == nil {
            let newScope = try signer.scope(at: date)
            state.key = signer.signingKey(for: newScope)
            state.scope = newScope
            state.keyDay = day
            state.midstateSecond = .min
            // The text fixed for the day: the string to sign around its date and hash, and the
            // `Authorization` value up to its signed headers.
            State.ensure(&state.stringToSign, 99 + newScope.byteCount)
            var sts = ByteWriter(state.stringToSign)
            StringToSign.write(dateText: AmzDateText(date), scope: newScope, canonicalRequestHash: SHA256Digest(), to: &sts)
            state.stringToSignCount = sts.count
            let prefixCount = Signer.authorizationByteCount(
                accessKeyID: signer.credentials.accessKeyID, scope: newScope, signedHeadersCount: 0) - 76
            State.ensure(&state.authorization, prefixCount + 256)
            var authorization = ByteWriter(state.authorization)
            Signer.writeAuthorizationPrefix(to: &authorization, accessKeyID: signer.credentials.accessKeyID, scope: newScope)
            state.authorizationPrefixCount = authorization.count
        }
        guard state.key != nil else {
            throw SigV4Error(.invalidScope, "no signing key")
        }
        if date.secondsSince1970 != state.dateTextSecond {
            state.dateText = AmzDateText(date)
            state.dateTextSecond = date.secondsSince1970
        }
        let dateText = state.dateText
        state.hasSignature = false
        state.canonicalCount = 0
        let range = try steps.withParts(
            request, payload: payload, dateText: dateText, token: steps.signedToken(of: signer.credentials)
        ) {
            parts throws(SigV4Error) -> Range<Int> in
            let bound = parts.bound
            guard bound <= 1 << 28 else {
                throw SigV4Error(.invalidHeader, "the request is too large to canonicalize")
            }
            State.ensure(&state.canonical, bound)
            var writer = ByteWriter(state.canonical)
            let range = parts.write(to: &writer)
            state.canonicalCount = writer.count
            return range
        }
        let hash = SHA256.hash(UnsafeRawBufferPointer(start: state.canonical.baseAddress, count: state.canonicalCount))

        // The string to sign: only the date and the hash are new.
        let sts = state.stringToSign.baseAddress!
        dateText.write(to: sts + StringToSign.dateOffset)
        hash.withUnsafeBytes { Hex.write($0, to: sts + state.stringToSignCount - 64) }
        // The MAC continues from the state after the text fixed for the second, made once per
        // second (the key is used in place: a copy would retain its state and scope strings).
        let fixedCount = state.stringToSignCount - 64
        if state.midstateSecond != date.secondsSince1970 {
            guard var mac = state.key?.hmac.makeMAC() else { throw SigV4Error(.invalidScope, "no signing key") }
            mac.update(UnsafeRawBufferPointer(start: sts, count: fixedCount))
            state.midstate?.cleanse()
            state.midstate = mac
            state.midstateSecond = date.secondsSince1970
        }
        guard var mac = state.midstate else { throw SigV4Error(.invalidScope, "no signing key") }
        mac.update(UnsafeRawBufferPointer(start: sts + fixedCount, count: 64))
        let signature = Signature(digest: mac.finalize())

        let names = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(state.canonical)[range])
        let prefix = state.authorizationPrefixCount
        State.grow(&state.authorization, prefix + names.count + 76, keeping: prefix)
        var authorization = ByteWriter(
            UnsafeMutableBufferPointer(rebasing: state.authorization[prefix..<(prefix + names.count + 76)]))
        Signer.writeAuthorizationSuffix(to: &authorization, signedHeaders: names, signature: signature)
        state.authorizationCount = prefix + authorization.count
        state.lastDate = date
        state.lastPayload = payload
        state.hasSignature = true
        return signature
    }

    /// The `Authorization` value of the last signature, as bytes (no allocation).
    public func withAuthorization<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(state.authorization)[0..<state.authorizationCount]))
    }

    /// The canonical request of the last signature, as bytes (no allocation).
    public func withCanonicalRequest<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(state.canonical)[0..<state.canonicalCount]))
    }

    /// The string to sign of the last signature, as bytes (no allocation).
    public func withStringToSign<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(state.stringToSign)[0..<state.stringToSignCount]))
    }

    /// The `Authorization` value of the last signature (allocates a `String`).
    public var authorizationValue: String { withAuthorization { String(decoding: $0, as: UTF8.self) } }

    /// Sets the headers the last signature requires on `fields`: `X-Amz-Date`,
    /// `X-Amz-Security-Token` (or S3 Express's `x-amz-s3session-token`) and `X-Amz-Content-SHA256`
    /// as ``Signer/sign(_:payload:at:)`` adds them, and `Authorization`. Pass the same fields that
    /// were signed. Does nothing before a successful ``sign(_:payload:at:)``.
    public func addHeaders(to fields: inout HTTPFields) {
        guard state.hasSignature else { return }
        let rules = signer.rules
        let token = signer.credentials.sessionToken
        let hadContentSHA = fields[Signer.contentSHA256Name] != nil
        fields[Signer.amzDateName] = nil
        fields[Signer.securityTokenName] = nil
        if rules.sessionTokenPlacement == .s3SessionToken { fields[Signer.s3SessionTokenName] = nil }
        Signer.appendSigningFields(
            to: &fields, dateField: HTTPField(name: Signer.amzDateName, value: state.lastDate.iso8601Basic),
            token: token, rules: rules, payload: state.lastPayload, hadContentSHA256: hadContentSHA,
            authorization: withAuthorization {
                // Checked as `Signer.authorizationField` checks it: the value is this module's.
                HTTPField(name: .authorization, lenientValue: $0.assumingMemoryBound(to: UInt8.self))
            })
    }
}
