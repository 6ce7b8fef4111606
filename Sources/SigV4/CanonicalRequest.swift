package import _SigV4Crypto

/// The SigV4 canonical request.
///
/// AWS documentation: "Create a canonical request":
/// ```
/// <HTTPMethod>\n<CanonicalURI>\n<CanonicalQueryString>\n<CanonicalHeaders>\n<SignedHeaders>\n<HashedPayload>
/// ```
/// It is built from the raw request target, byte for byte as it goes on the
/// wire; no URL type ever re-encodes it.
///
/// ```swift
/// let canonical = try CanonicalRequest(
///     method: "GET", target: "/?Param2=value2&Param1=value1",
///     headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")],
///     payloadHash: .emptySHA256, rules: .standard)
/// print(canonical.text)
/// ```
public struct CanonicalRequest: Sendable, Hashable, CustomStringConvertible {
    /// The exact bytes that are hashed.
    public let bytes: [UInt8]
    /// The `SignedHeaders` value: lowercase names joined by `;`.
    public let signedHeaders: String

    /// The text form.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { text }

    /// SHA-256 of ``bytes``.
    package var hash: SHA256Digest { SHA256.hash(bytes) }

    /// Which headers are signed.
    public enum HeaderSelection: Sendable, Hashable {
        /// Every header present except the excluded names (lowercase), plus any forced names.
        case automatic(excluding: Set<String>, forcing: Set<String>)
        /// Exactly these lowercase names, in this order (a verifier replaying `SignedHeaders`).
        case exactly([String])

        /// Every header except ``CanonicalRequest/defaultUnsignedHeaders``.
        public static let `default` = HeaderSelection.automatic(
            excluding: CanonicalRequest.defaultUnsignedHeaders, forcing: [])
    }

    /// Headers never signed unless the caller forces them: they are set or changed
    /// by HTTP stacks and proxies after signing.
    public static let defaultUnsignedHeaders: Set<String> = [
        "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding",
        "connection", "keep-alive", "proxy-connection", "te", "upgrade", "proxy-authorization",
    ]

    /// Builds a canonical request.
    ///
    /// - Parameters:
    ///   - method: the HTTP method, as sent.
    ///   - target: the request target (`/path?query`), exactly as sent.
    ///   - extraQuery: already-encoded query parameters to add (presigning).
    ///   - headers: every header as sent, in order, names in any case. Include `Host`.
    ///   - selection: which headers to sign.
    ///   - payloadHash: the last line.
    ///   - rules: path encoding and normalization.
    ///   - plus: the `+` policy for the query.
    public init(
        method: String, target: String, extraQuery: [(String, String)] = [], headers: [(String, String)],
        selection: HeaderSelection = .default, payloadHash: PayloadHash, rules: ServiceRules,
        plus: URIEncoding.PlusPolicy = .literal
    ) throws(SigV4Error) {
        var builder = CanonicalRequestBuilder()
        let fields = headers.map { HeaderInput(name: Array($0.0.utf8), value: Array($0.1.utf8)) }
        self = try builder.build(
            method: Array(method.utf8), target: Array(target.utf8), extraQuery: extraQuery, headers: fields,
            selection: selection, payloadHash: payloadHash, rules: rules, plus: plus)
    }

    package init(bytes: [UInt8], signedHeaders: String) {
        self.bytes = bytes
        self.signedHeaders = signedHeaders
    }
}

/// One header as given: name in any case, raw value bytes.
package struct HeaderInput: Sendable {
    package var name: [UInt8]
    package var value: [UInt8]
    package init(name: [UInt8], value: [UInt8]) {
        self.name = name
        self.value = value
    }
}

/// Builds canonical requests into one reusable buffer.
package struct CanonicalRequestBuilder {
    var scratch: [UInt8] = []

    package init() {}

    /// Splits a request target into path and query (without `?`). A fragment is not allowed.
    package static func split(target: [UInt8]) throws(SigV4Error) -> (path: ArraySlice<UInt8>, query: ArraySlice<UInt8>) {
        guard let first = target.first, first == 0x2f else {
            throw SigV4Error(.invalidRequestTarget, "the request target must start with '/'")
        }
        for b in target where b <= 0x20 && b != 0x20 || b == 0x7f || b == 0x23 {
            if b == 0x23 {
                throw SigV4Error(.invalidRequestTarget, "the request target must not contain a fragment ('#')")
            }
            throw SigV4Error(.invalidRequestTarget, "the request target must not contain control bytes")
        }
        if let q = target.firstIndex(of: 0x3f) {
            return (target[..<q], target[(q + 1)...])
        }
        return (target[...], [])
    }

    /// Appends the canonical URI for `path`.
    package static func appendCanonicalURI(_ path: ArraySlice<UInt8>, rules: ServiceRules, to out: inout [UInt8]) {
        if path.isEmpty {
            out.append(0x2f)
            return
        }
        if rules.normalizePath {
            let normalized = path.withUnsafeBufferPointer { URIEncoding.normalizePath($0) }
            normalized.withUnsafeBufferPointer {
                URIEncoding.append($0, to: &out, keepSlash: true, keepEscapes: !rules.doubleEncodePath)
            }
        } else {
            path.withUnsafeBufferPointer {
                URIEncoding.append($0, to: &out, keepSlash: true, keepEscapes: !rules.doubleEncodePath)
            }
        }
    }

    /// Appends the canonical query string: parameters encoded, then sorted by name and value.
    package mutating func appendCanonicalQuery(
        _ query: ArraySlice<UInt8>, extra: [(String, String)], plus: URIEncoding.PlusPolicy, to out: inout [UInt8]
    ) {
        if query.isEmpty && extra.isEmpty { return }
        scratch.removeAll(keepingCapacity: true)
        scratch.reserveCapacity(query.count * 2 + extra.count * 64)
        // (name range, value range) in scratch
        var params: [(Range<Int>, Range<Int>)] = []
        params.reserveCapacity(8 + extra.count)
        query.withUnsafeBufferPointer { q in
            var start = 0
            var i = 0
            let n = q.count
            while i <= n {
                if i == n || q[i] == 0x26 {
                    if i > start {
                        var eq = start
                        while eq < i && q[eq] != 0x3d { eq += 1 }
                        let nameStart = scratch.count
                        URIEncoding.append(
                            UnsafeBufferPointer(rebasing: q[start..<eq]), to: &scratch, keepSlash: false,
                            keepEscapes: true, plus: plus)
                        let nameEnd = scratch.count
                        if eq < i {
                            URIEncoding.append(
                                UnsafeBufferPointer(rebasing: q[(eq + 1)..<i]), to: &scratch, keepSlash: false,
                                keepEscapes: true, plus: plus)
                        }
                        params.append((nameStart..<nameEnd, nameEnd..<scratch.count))
                    }
                    start = i + 1
                }
                i += 1
            }
        }
        for (name, value) in extra {
            let nameStart = scratch.count
            scratch.append(contentsOf: name.utf8)
            let nameEnd = scratch.count
            scratch.append(contentsOf: value.utf8)
            params.append((nameStart..<nameEnd, nameEnd..<scratch.count))
        }
        scratch.withUnsafeBufferPointer { s in
            params.sort { a, b in
                let c = CanonicalRequestBuilder.compare(s, a.0, b.0)
                if c != 0 { return c < 0 }
                return CanonicalRequestBuilder.compare(s, a.1, b.1) < 0
            }
            for (k, p) in params.enumerated() {
                if k > 0 { out.append(0x26) }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: s[p.0]))
                out.append(0x3d)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: s[p.1]))
            }
        }
    }

    static func compare(_ s: UnsafeBufferPointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n {
            let x = s[a.lowerBound + i]
            let y = s[b.lowerBound + i]
            if x != y { return x < y ? -1 : 1 }
            i += 1
        }
        return a.count == b.count ? 0 : (a.count < b.count ? -1 : 1)
    }

    /// Lowercases ASCII letters.
    static func lowercased(_ name: [UInt8]) -> [UInt8] {
        var out = name
        for i in out.indices where out[i] >= 0x41 && out[i] <= 0x5a { out[i] |= 0x20 }
        return out
    }

    /// Appends a header value trimmed, with inner runs of spaces and tabs collapsed to one space.
    static func appendCanonicalValue(_ value: [UInt8], to out: inout [UInt8]) {
        var pendingSpace = false
        var wroteAny = false
        for b in value {
            if b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d {
                pendingSpace = wroteAny
            } else {
                if pendingSpace { out.append(0x20) }
                pendingSpace = false
                out.append(b)
                wroteAny = true
            }
        }
    }

    /// Validates a header name as an RFC 9110 token.
    static func validateName(_ name: [UInt8]) throws(SigV4Error) {
        guard !name.isEmpty else { throw SigV4Error(.invalidHeader, "empty header name") }
        for b in name {
            switch b {
            case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: continue
            case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
                UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
                UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
                continue
            default:
                throw SigV4Error(.invalidHeader, "header name is not an HTTP token")
            }
        }
    }

    /// Builds the whole canonical request.
    package mutating func build(
        method: [UInt8], target: [UInt8], extraQuery: [(String, String)], headers: [HeaderInput],
        selection: CanonicalRequest.HeaderSelection, payloadHash: PayloadHash, rules: ServiceRules,
        plus: URIEncoding.PlusPolicy
    ) throws(SigV4Error) -> CanonicalRequest {
        let (path, query) = try CanonicalRequestBuilder.split(target: target)
        var out: [UInt8] = []
        out.reserveCapacity(256 + target.count * 3 + headers.count * 48)
        out.append(contentsOf: method)
        out.append(0x0a)
        CanonicalRequestBuilder.appendCanonicalURI(path, rules: rules, to: &out)
        out.append(0x0a)
        appendCanonicalQuery(query, extra: extraQuery, plus: plus, to: &out)
        out.append(0x0a)

        // Lowercase names, select, then stable-sort by name.
        var entries: [(name: [UInt8], index: Int)] = []
        entries.reserveCapacity(headers.count)
        for (i, h) in headers.enumerated() {
            try CanonicalRequestBuilder.validateName(h.name)
            entries.append((CanonicalRequestBuilder.lowercased(h.name), i))
        }
        var signedNames: [[UInt8]] = []
        switch selection {
        case .automatic(let excluding, let forcing):
            var seen = Set<[UInt8]>()
            for e in entries {
                let nameString = String(decoding: e.name, as: UTF8.self)
                if excluding.contains(nameString) && !forcing.contains(nameString) { continue }
                if seen.insert(e.name).inserted { signedNames.append(e.name) }
            }
            signedNames.sort { $0.lexicographicallyPrecedes($1) }
        case .exactly(let names):
            signedNames = names.map { Array($0.utf8) }
        }
        var signedHeaders: [UInt8] = []
        for (k, name) in signedNames.enumerated() {
            if k > 0 { signedHeaders.append(0x3b) }
            signedHeaders.append(contentsOf: name)
            out.append(contentsOf: name)
            out.append(0x3a)
            var first = true
            for e in entries where e.name == name {
                if !first { out.append(0x2c) }
                first = false
                CanonicalRequestBuilder.appendCanonicalValue(headers[e.index].value, to: &out)
            }
            out.append(0x0a)
        }
        out.append(0x0a)
        out.append(contentsOf: signedHeaders)
        out.append(0x0a)
        out.append(contentsOf: payloadHash.value.utf8)
        return CanonicalRequest(bytes: out, signedHeaders: String(decoding: signedHeaders, as: UTF8.self))
    }
}
