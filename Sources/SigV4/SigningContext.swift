public import HTTPTypes
import _SigV4Crypto

/// A reusable header signer for hot loops: the allocation-free path.
///
/// It canonicalizes into buffers it keeps between calls, remembers the credential scope and
/// signing key of the last day it signed for, and returns the ``Signature`` by value. The
/// `Authorization` value, the canonical request and the string to sign stay readable in the
/// context until the next call. Once warm (second call on the same day), a signature makes no
/// heap allocation at all; ``Signer/sign(_:payload:at:)`` instead builds a full
/// ``SignedRequest`` (a new `HTTPRequest`, strings for every stage) and costs a few.
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

    private var canonical: UnsafeMutableBufferPointer<UInt8>
    private var canonicalCount = 0
    private var stringToSign: [UInt8] = []
    private var authorization: [UInt8] = []
    private var signedHeadersRange: Range<Int> = 0..<0
    private var keyDay: Int64 = .min
    private var scope: CredentialScope?
    private var key: SigningKey?
    private var credentialsChecked = false
    private var lastDate = AmzDate(secondsSince1970: 0)
    private var lastPayload: PayloadHash = .emptySHA256
    private var lastSignature: Signature?

    deinit { canonical.deallocate() }

    /// Creates a context for `signer`. Buffers grow to the largest request signed and are kept.
    public init(signer: Signer) {
        self.signer = signer
        canonical = .allocate(capacity: 1024)
        stringToSign.reserveCapacity(128)
        authorization.reserveCapacity(256)
    }

    /// Signs `request` for the `Authorization` header and returns the signature.
    ///
    /// Same inputs, checks and result as ``Signer/sign(_:payload:at:)``; the headers to add
    /// are available from ``addHeaders(to:)`` and ``withAuthorization(_:)``.
    public func sign(_ request: HTTPRequest, payload: PayloadHash, at date: AmzDate) throws(SigV4Error) -> Signature {
        if !credentialsChecked {
            try signer.validateCredentials()
            credentialsChecked = true
        }
        let day = date.dayNumber
        if day != keyDay || key == nil {
            let newScope = try signer.scope(at: date)
            key = signer.signingKey(for: newScope)
            scope = newScope
            keyDay = day
        }
        guard let scope, let key else { throw SigV4Error(.invalidScope, "no signing key") }
        lastSignature = nil
        let fields = request.headerFields
        let scan = try Signer.scanForHeaderSigning(fields)
        if scan.hasContentSHA256 {
            guard fields[Signer.contentSHA256Name] == payload.value else {
                throw SigV4Error(.payloadHashConflict, "x-amz-content-sha256 disagrees with the payload hash")
            }
        }
        let target = request.path ?? "/"
        let plan = try signer.planHeaderCanonicalRequest(request, scan: scan, target: target, payload: payload)
        if plan.bound > canonical.count {
            canonical.deallocate()
            canonical = .allocate(capacity: max(plan.bound, 2 * canonical.count))
        }
        canonicalCount = 0
        var writer = ByteWriter(canonical)
        signedHeadersRange = try signer.writeHeaderCanonicalRequest(
            request, fields: fields, plan: plan, target: target, payload: payload, date: date, to: &writer)
        canonicalCount = writer.count
        stringToSign.removeAll(keepingCapacity: true)
        StringToSign.append(
            date: date, scope: scope, canonicalRequestHash: SHA256.hash(UnsafeRawBufferPointer(writer.written)),
            to: &stringToSign)
        let signature = Signature(digest: stringToSign.withUnsafeBytes { key.mac($0) })

        authorization.removeAll(keepingCapacity: true)
        let signer = self.signer
        let range = signedHeadersRange
        do {
            let names = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(canonical)[range])
            let count = Signer.authorizationByteCount(
                accessKeyID: signer.credentials.accessKeyID, scope: scope, signedHeadersCount: names.count)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count) { tmp in
                let n = Signer.writeAuthorization(
                    to: tmp.baseAddress!, accessKeyID: signer.credentials.accessKeyID, scope: scope,
                    signedHeaders: names, signature: signature)
                authorization.append(contentsOf: UnsafeBufferPointer(rebasing: tmp[0..<n]))
            }
        }
        lastDate = date
        lastPayload = payload
        lastSignature = signature
        return signature
    }

    /// The `Authorization` value of the last signature, as bytes (no allocation).
    public func withAuthorization<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try authorization.withUnsafeBytes(body)
    }

    /// The canonical request of the last signature, as bytes (no allocation).
    public func withCanonicalRequest<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(canonical)[0..<canonicalCount]))
    }

    /// The string to sign of the last signature, as bytes (no allocation).
    public func withStringToSign<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try stringToSign.withUnsafeBytes(body)
    }

    /// The `Authorization` value of the last signature (allocates a `String`).
    public var authorizationValue: String { String(decoding: authorization, as: UTF8.self) }

    /// Sets the headers the last signature requires on `fields`: `X-Amz-Date`,
    /// `X-Amz-Security-Token` and `X-Amz-Content-SHA256` as ``Signer/sign(_:payload:at:)`` adds
    /// them, and `Authorization`. Pass the same fields that were signed. Does nothing before a
    /// successful ``sign(_:payload:at:)``.
    public func addHeaders(to fields: inout HTTPFields) {
        guard lastSignature != nil else { return }
        let rules = signer.rules
        let token = signer.credentials.sessionToken
        let hadContentSHA = fields[Signer.contentSHA256Name] != nil
        fields[Signer.amzDateName] = nil
        fields[Signer.securityTokenName] = nil
        fields.append(HTTPField(name: Signer.amzDateName, value: lastDate.iso8601Basic))
        if let token, rules.sessionTokenPlacement == .signed {
            fields.append(HTTPField(name: Signer.securityTokenName, value: token))
        }
        if !hadContentSHA && rules.sendContentSHA256 {
            fields.append(HTTPField(name: Signer.contentSHA256Name, value: lastPayload.value))
        }
        if let token, rules.sessionTokenPlacement == .appendedAfterSigning {
            fields.append(HTTPField(name: Signer.securityTokenName, value: token))
        }
        fields.append(HTTPField(name: .authorization, value: authorization))
    }
}
