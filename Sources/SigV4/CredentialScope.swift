/// The credential scope `date/region/service/aws4_request`.
///
/// AWS documentation: "Create a string to sign", step 3 (credential scope).
///
/// ```swift
/// let scope = try CredentialScope(date: date, region: "us-east-1", service: "s3")
/// print(scope) // 20130524/us-east-1/s3/aws4_request
/// ```
public struct CredentialScope: Sendable, Hashable, CustomStringConvertible {
    /// The scope date, `YYYYMMDD`.
    public let dateStamp: String
    /// The region, for example `us-east-1`.
    public let region: String
    /// The signing name of the service, for example `s3`.
    public let service: String
    /// The terminator. Always `aws4_request` for SigV4.
    public static let terminator = "aws4_request"

    /// Creates a scope for the day of `date`.
    public init(date: AmzDate, region: String, service: String) throws(SigV4Error) {
        try self.init(dateStamp: date.dateStamp, region: region, service: service)
    }

    /// Creates a scope from its parts, validating each.
    public init(dateStamp: String, region: String, service: String) throws(SigV4Error) {
        guard dateStamp.utf8.count == 8, dateStamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw SigV4Error(.invalidScope, "scope date must be YYYYMMDD")
        }
        try CredentialScope.validateComponent(region, "region")
        try CredentialScope.validateComponent(service, "service")
        self.dateStamp = dateStamp
        self.region = region
        self.service = service
    }

    /// A scope from parts the caller has already checked as ``init(dateStamp:region:service:)``
    /// does (`dateStamp` eight digits; `region` and `service` 1 to 128 bytes, none of them a
    /// space, a control byte, `/` or `,`): `Signer.scope(dateText:)` and the verifier's credential
    /// parser, which refuses anything else before it gets here.
    ///
    /// ```swift
    /// let scope = CredentialScope(checkedDateStamp: "20150830", region: "us-east-1", service: "s3")
    /// ```
    package init(checkedDateStamp dateStamp: String, region: String, service: String) {
        self.dateStamp = dateStamp
        self.region = region
        self.service = service
    }

    /// Rejects empty components and bytes that would break the scope's syntax.
    static func validateComponent(_ value: String, _ what: String) throws(SigV4Error) {
        guard !value.isEmpty, value.utf8.count <= 128 else {
            throw SigV4Error(.invalidScope, "\(what) must be 1 to 128 bytes")
        }
        for b in value.utf8 where b <= 0x20 || b == 0x7f || b == UInt8(ascii: "/") || b == UInt8(ascii: ",") {
            throw SigV4Error(.invalidScope, "\(what) must not contain '/', ',', spaces or control characters")
        }
    }

    /// Scopes are equal when their text is the same bytes (a derived key depends on the bytes:
    /// `String`'s `==` would call a region spelled in composed and in decomposed Unicode equal).
    public static func == (lhs: CredentialScope, rhs: CredentialScope) -> Bool {
        ByteSearch.sameBytes(lhs.region, rhs.region) && ByteSearch.sameBytes(lhs.service, rhs.service)
            && ByteSearch.sameBytes(lhs.dateStamp, rhs.dateStamp)
    }

    /// Hashes the scope's bytes (consistent with ``==(_:_:)``).
    public func hash(into hasher: inout Hasher) {
        for part in [dateStamp, region, service] {
            withUTF8Bytes(part) { hasher.combine(bytes: $0) }
            hasher.combine(0xff as UInt8)  // not a UTF-8 byte: separates the parts
        }
    }

    /// `date/region/service/aws4_request`.
    public var description: String { "\(dateStamp)/\(region)/\(service)/\(CredentialScope.terminator)" }

    /// Length of the scope text in bytes.
    var byteCount: Int { dateStamp.utf8.count + region.utf8.count + service.utf8.count + 15 }

    /// Writes the scope text (``byteCount`` bytes).
    func write(to w: inout ByteWriter) {
        w.append(string: dateStamp)
        w.append(0x2f)
        w.append(string: region)
        w.append(0x2f)
        w.append(string: service)
        w.append("/aws4_request")
    }

    /// The scope's text written once, with where its parts end: a signature without a key cache
    /// reads it three times (the string to sign, the key derivation and the `Authorization`
    /// value), which borrowed each of the scope's three strings once per reading.
    struct Text {
        /// `date/region/service/aws4_request` (``CredentialScope/byteCount`` bytes).
        let bytes: UnsafeRawBufferPointer
        /// Where the date, region and service end in ``bytes`` (each is followed by `/`).
        let dateEnd: Int, regionEnd: Int, serviceEnd: Int

        /// The date stamp's bytes.
        var date: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[..<dateEnd]) }
        /// The region's bytes.
        var region: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[(dateEnd + 1)..<regionEnd]) }
        /// The service's bytes.
        var service: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[(regionEnd + 1)..<serviceEnd]) }
        /// `aws4_request`.
        var terminator: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[(serviceEnd + 1)...]) }
    }

    /// Runs `body` with the scope's text written on the stack (see ``Text``).
    ///
    /// ```swift
    /// let n = scope.withText { $0.region.count }
    /// ```
    @inline(__always)
    func withText<R>(_ body: (Text) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: byteCount) { buffer in
            var w = ByteWriter(buffer)
            w.append(string: dateStamp)
            let dateEnd = w.count
            w.append(0x2f)
            w.append(string: region)
            let regionEnd = w.count
            w.append(0x2f)
            w.append(string: service)
            let serviceEnd = w.count
            w.append("/aws4_request")
            let bytes = UnsafeRawBufferPointer(w.written)
            return body(Text(bytes: bytes, dateEnd: dateEnd, regionEnd: regionEnd, serviceEnd: serviceEnd))
        }
    }

    /// Appends the scope text to `buffer`.
    public func append(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: dateStamp.utf8)
        buffer.append(UInt8(ascii: "/"))
        buffer.append(contentsOf: region.utf8)
        buffer.append(UInt8(ascii: "/"))
        buffer.append(contentsOf: service.utf8)
        buffer.append(contentsOf: "/aws4_request".utf8)
    }
}
