public import HTTPTypes

/// The parts of an HTTP request the verifier reads: method, raw request target and ordered headers.
///
/// The target is kept as the exact bytes of the request line, so canonicalization sees what
/// the client signed. Headers keep their order and repeats.
///
/// ```swift
/// let request = VerificationRequest(
///     method: "GET", target: "/test.txt",
///     headers: [("Host", "examplebucket.s3.amazonaws.com"), ("x-amz-date", "20130524T000000Z")])
/// ```
public struct VerificationRequest: Sendable, Hashable {
    /// One header field: name as received (any case), raw value bytes.
    public struct Field: Sendable, Hashable {
        /// The name as received.
        public var name: String
        /// The value bytes as received (surrounding whitespace is ignored by canonicalization).
        public var value: [UInt8]
        /// Creates a field.
        public init(name: String, value: [UInt8]) {
            self.name = name
            self.value = value
        }
        /// Creates a field from text.
        public init(name: String, value: String) {
            self.init(name: name, value: Array(value.utf8))
        }
    }

    /// The method, as sent (`GET`).
    public var method: String
    /// The request target (`/path?query`), byte for byte as sent.
    public var target: [UInt8]
    /// The header fields in order.
    public var fields: [Field]

    /// Creates a request from raw parts.
    public init(method: String, target: [UInt8], fields: [Field]) {
        self.method = method
        self.target = target
        self.fields = fields
    }

    /// Creates a request from text parts.
    public init(method: String, target: String, headers: [(String, String)]) {
        self.init(method: method, target: Array(target.utf8), fields: headers.map { Field(name: $0.0, value: $0.1) })
    }

    /// Creates a request from an `HTTPRequest`. A `Host` field is added from the authority
    /// when the request has none (HTTP/2 and HTTP/3 carry the host as `:authority`).
    public init(_ request: HTTPRequest) {
        var fields: [Field] = []
        fields.reserveCapacity(request.headerFields.count + 1)
        if request.headerFields[.host] == nil, let authority = request.authority {
            fields.append(Field(name: "host", value: authority))
        }
        for field in request.headerFields {
            fields.append(Field(name: field.name.rawName, value: field.withUnsafeBytesOfValue { Array($0) }))
        }
        self.init(method: request.method.rawValue, target: Array((request.path ?? "/").utf8), fields: fields)
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    public func values(_ name: String) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for f in fields where VerificationRequest.equalsIgnoringCase(f.name, name) { out.append(f.value) }
        return out
    }

    /// The raw path (target before `?`).
    var pathBytes: ArraySlice<UInt8> {
        if let q = target.firstIndex(of: 0x3f) { return target[..<q] }
        return target[...]
    }

    /// The raw query (after the first `?`, empty when none).
    var queryBytes: ArraySlice<UInt8> {
        if let q = target.firstIndex(of: 0x3f) { return target[(q + 1)...] }
        return []
    }

    static func equalsIgnoringCase(_ a: String, _ lowercaseB: String) -> Bool {
        guard a.utf8.count == lowercaseB.utf8.count else { return false }
        // Native strings hand out their bytes directly; others (bridged) take the slow path.
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            lowercaseB.utf8.withContiguousStorageIfAvailable { y in equalsIgnoringCase(x, y) }
        }
        if let fast, let result = fast { return result }
        for (p, q) in zip(a.utf8, lowercaseB.utf8) {
            let lp = (p >= 0x41 && p <= 0x5a) ? p | 0x20 : p
            if lp != q { return false }
        }
        return true
    }

    static func equalsIgnoringCase(_ x: UnsafeBufferPointer<UInt8>, _ lowercaseY: UnsafeBufferPointer<UInt8>) -> Bool {
        guard x.count == lowercaseY.count else { return false }
        for i in 0..<x.count {
            let p = x[i]
            if ((p >= 0x41 && p <= 0x5a) ? p | 0x20 : p) != lowercaseY[i] { return false }
        }
        return true
    }
}

extension HTTPField.Name {
    fileprivate static let host = HTTPField.Name("Host")!
}
