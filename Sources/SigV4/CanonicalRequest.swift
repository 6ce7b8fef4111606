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
    /// The `SignedHeaders` value: lowercase names joined by `;` (the second-to-last line of
    /// ``bytes``, read from them on access so signing does not keep a second copy).
    public var signedHeaders: String {
        bytes.withUnsafeBufferPointer { b in
            let range = CanonicalRequest.signedHeadersRange(b)
            return String(decoding: UnsafeBufferPointer(rebasing: b[range]), as: UTF8.self)
        }
    }

    /// The range of the `SignedHeaders` line: between the last two newlines.
    static func signedHeadersRange(_ b: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        guard let last = b.lastIndex(of: 0x0a) else { return 0..<0 }
        let previous = b[..<last].lastIndex(of: 0x0a) ?? -1
        return (previous + 1)..<last
    }

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

    /// Wraps finished canonical request bytes; `signedHeaders` must be their `SignedHeaders` line.
    package init(bytes: [UInt8], signedHeaders: String) {
        self.bytes = bytes
    }

    /// Wraps finished canonical request bytes.
    package init(bytes: [UInt8]) {
        self.bytes = bytes
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

/// Builds canonical requests with no intermediate heap allocations: header and query scratch
/// live in temporary (stack) memory, and the result is written straight into one byte array.
package struct CanonicalRequestBuilder {
    package init() {}

    /// Splits a request target into path and query (without `?`). A fragment is not allowed.
    package static func split(target: [UInt8]) throws(SigV4Error) -> (path: ArraySlice<UInt8>, query: ArraySlice<UInt8>) {
        let (path, query) = try target.withUnsafeBufferPointer { t throws(SigV4Error) in try split(t) }
        return (target[path], target[query])
    }

    /// Splits a request target into the ranges of its path and query (without `?`).
    static func split(_ target: UnsafeBufferPointer<UInt8>) throws(SigV4Error) -> (path: Range<Int>, query: Range<Int>) {
        guard let first = target.first, first == 0x2f else {
            throw SigV4Error(.invalidRequestTarget, "the request target must start with '/'")
        }
        var q = -1
        for i in 0..<target.count {
            let b = target[i]
            if b < 0x20 || b == 0x7f {
                throw SigV4Error(.invalidRequestTarget, "the request target must not contain control bytes")
            }
            if b == 0x23 {
                throw SigV4Error(.invalidRequestTarget, "the request target must not contain a fragment ('#')")
            }
            if b == 0x3f && q < 0 { q = i }
        }
        if q >= 0 { return (0..<q, (q + 1)..<target.count) }
        return (0..<target.count, target.count..<target.count)
    }

    /// Appends the canonical URI for `path`.
    package static func appendCanonicalURI(_ path: ArraySlice<UInt8>, rules: ServiceRules, to out: inout [UInt8]) {
        path.withUnsafeBufferPointer { p in
            let bytes = try? ByteWriter.makeArray(capacity: 3 * p.count + 1) { w in
                appendCanonicalURI(p, rules: rules, to: &w)
            }
            out.append(contentsOf: bytes ?? [])
        }
    }

    /// Appends the canonical URI for `path` (at most `3 * path.count + 1` bytes). `known` passes
    /// what a scan of the target already found (``TargetScan``): whether the path has nothing to
    /// encode (then it is copied as it is) and whether normalization would change it.
    static func appendCanonicalURI(
        _ path: UnsafeBufferPointer<UInt8>, rules: ServiceRules,
        known: (isPlain: Bool, needsNormalization: Bool)? = nil, to out: inout ByteWriter
    ) {
        if path.isEmpty {
            out.append(0x2f)
            return
        }
        let normalize = rules.normalizePath && (known?.needsNormalization ?? URIEncoding.needsNormalization(path))
        if !normalize && known?.isPlain == true {
            out.append(path)
            return
        }
        let keepEscapes = !rules.doubleEncodePath
        if normalize {
            let normalized = URIEncoding.normalizePath(path)
            normalized.withUnsafeBufferPointer { n in
                out.write(upTo: 3 * n.count) {
                    URIEncoding.encode(n, into: $0, keepSlash: true, keepEscapes: keepEscapes)
                }
            }
        } else {
            out.write(upTo: 3 * path.count) {
                URIEncoding.encode(path, into: $0, keepSlash: true, keepEscapes: keepEscapes)
            }
        }
    }

    /// Appends the canonical query string: parameters encoded, then sorted by name and value.
    package mutating func appendCanonicalQuery(
        _ query: ArraySlice<UInt8>, extra: [(String, String)], plus: URIEncoding.PlusPolicy, to out: inout [UInt8]
    ) {
        query.withUnsafeBufferPointer { q in
            let bytes = try? ByteWriter.makeArray(capacity: CanonicalRequestBuilder.queryBound(q.count, extra: extra)) { w in
                CanonicalRequestBuilder.appendCanonicalQuery(q, extra: extra, plus: plus, to: &w)
            }
            out.append(contentsOf: bytes ?? [])
        }
    }

    /// An upper bound on the canonical query's length.
    static func queryBound(_ queryCount: Int, extra: [(String, String)]) -> Int {
        var n = 4 * queryCount + 2
        for (name, value) in extra { n += name.utf8.count + value.utf8.count + 2 }
        return n
    }

    /// Already-encoded parameters as query text: `name=value&name=value`.
    static func encodedParameters(_ extra: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in extra {
            if !out.isEmpty { out.append(0x26) }
            out.append(contentsOf: name.utf8)
            out.append(0x3d)
            out.append(contentsOf: value.utf8)
        }
        return out
    }

    /// One query parameter: its name's `nameCount` bytes at `base`, then its value's
    /// `valueCount` bytes at `value` (in the query itself when it needs no encoding, or in
    /// scratch where it was encoded). The sort moves ``SortKey``s, not these.
    struct Parameter {
        var base: UnsafePointer<UInt8>
        var value: UnsafePointer<UInt8>
        var nameCount: Int
        var valueCount: Int

        var name: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: nameCount) }
        var valueBytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: value, count: valueCount) }

        /// Name, then value, by bytes.
        static func < (a: Parameter, b: Parameter) -> Bool {
            let c = ByteSearch.compare(a.name, b.name)
            if c != 0 { return c < 0 }
            return ByteSearch.compare(a.valueBytes, b.valueBytes) < 0
        }
    }

    /// What the canonical query's sort moves: a ``Parameter``'s place among the parameters and
    /// its name's first eight bytes, big-endian, zero-padded. Keys are in the order of the names
    /// (no encoded name holds a zero byte, so a shorter name's padding sorts it first, as a prefix
    /// sorts first); parameters whose keys are equal are compared in full.
    struct SortKey {
        var key: UInt64
        var index: Int

        /// The key of the `count` bytes at `name`. `readable`: eight bytes at `name` may be read
        /// even when the name is shorter (they lie in the same buffer), so a short name's key is
        /// one load, masked, instead of a loop over its bytes.
        @inline(__always)
        static func key(_ name: UnsafePointer<UInt8>, count: Int, readable: Bool) -> UInt64 {
            if count >= 8 || readable {
                let word = UInt64(bigEndian: UnsafeRawPointer(name).loadUnaligned(as: UInt64.self))
                // For 0 to 7 bytes, keeps the first `count` (a shift by 64 would keep them all).
                return count >= 8 ? word : word & ~(UInt64.max &>> UInt64(truncatingIfNeeded: count &<< 3))
            }
            var k: UInt64 = 0
            for i in 0..<count { k |= UInt64(name[i]) << UInt64(56 - 8 * i) }
            return k
        }
    }

    /// Appends the canonical query string: parameters encoded, then sorted by name and value.
    /// `extra` parameters are already encoded.
    static func appendCanonicalQuery(
        _ q: UnsafeBufferPointer<UInt8>, extra: [(String, String)], plus: URIEncoding.PlusPolicy, to out: inout ByteWriter
    ) {
        if extra.isEmpty { return appendCanonicalQuery(q, encodedExtra: UnsafeBufferPointer(start: nil, count: 0), plus: plus, to: &out) }
        encodedParameters(extra).withUnsafeBufferPointer { appendCanonicalQuery(q, encodedExtra: $0, plus: plus, to: &out) }
    }

    /// Appends the canonical query string of `q` with the parameters of `extra` merged in:
    /// `q`'s parameters encoded, `extra`'s (`name=value&…`, already in canonical encoding, as
    /// presigning writes its `X-Amz-*` parameters) taken as they are; then all sorted by name and
    /// value. Empty elements are dropped; a parameter without `=` gets an empty value.
    /// `alreadyCanonical`: every parameter of `q` is its own encoding (``TargetScan/queryIsPlain``),
    /// so it is read in place instead of encoded byte by byte. `skipping`: the index in `q` where
    /// an element starts that is left out (a presigned URL's `X-Amz-Signature=…`), or -1.
    /// `elements`: where `q`'s elements and their names end, as a scan of the target found them
    /// (``TargetScan/queryElements``), so that `q` is not searched for its `&`s and `=`s again; nil
    /// to search.
    static func appendCanonicalQuery(
        _ q: UnsafeBufferPointer<UInt8>, encodedExtra extra: UnsafeBufferPointer<UInt8>, plus: URIEncoding.PlusPolicy,
        alreadyCanonical: Bool = false, skipping: Int = -1, elements: UnsafeBufferPointer<Int>? = nil,
        to out: inout ByteWriter
    ) {
        if q.isEmpty && extra.isEmpty { return }
        let qParameters = elements.map { $0.count / 2 } ?? 1 + ByteSearch.count(of: 0x26, in: q)
        let maxParameters = 1 + qParameters + ByteSearch.count(of: 0x26, in: extra)
        // Scratch only for what is encoded (the parameters read in place need none).
        let scratchCount = alreadyCanonical ? 1 : q.count * 3
        // The parameters, then the keys the sort moves, in one allocation.
        let keysOffset = maxParameters * MemoryLayout<Parameter>.stride
        let byteCount = keysOffset + maxParameters * MemoryLayout<SortKey>.stride
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: scratchCount) { scratch in
            withUnsafeTemporaryAllocation(byteCount: byteCount, alignment: MemoryLayout<Parameter>.alignment) { raw in
                let params = raw.baseAddress!.bindMemory(to: Parameter.self, capacity: maxParameters)
                let keys = (raw.baseAddress! + keysOffset).bindMemory(to: SortKey.self, capacity: maxParameters)
                var count = 0
                // The bytes of every `name=value`, without the `&`s between them.
                var total = 0
                // A parameter's name and value; `readable`: see ``SortKey/key(_:count:readable:)``.
                func add(
                    _ name: UnsafePointer<UInt8>, _ nameCount: Int, _ value: UnsafePointer<UInt8>, _ valueCount: Int,
                    readable: Bool
                ) {
                    (params + count).initialize(
                        to: Parameter(base: name, value: value, nameCount: nameCount, valueCount: valueCount))
                    (keys + count).initialize(
                        to: SortKey(key: SortKey.key(name, count: nameCount, readable: readable), index: count))
                    total &+= nameCount &+ valueCount &+ 1
                    count &+= 1
                }
                if let qBase = q.baseAddress {
                    let base = scratch.baseAddress!
                    var used = 0
                    // The element `start..<i`, its name ending at `eq` (its first `=`, or `i`): one
                    // that is neither empty nor the skipped one. (Indices of `q`: no overflow.)
                    func element(_ start: Int, _ eq: Int, _ i: Int) {
                        let valueStart = eq < i ? eq &+ 1 : i
                        if alreadyCanonical {
                            add(
                                qBase + start, eq &- start, qBase + valueStart, i &- valueStart,
                                readable: start &+ 8 <= q.count)
                        } else {
                            let nameStart = used
                            used += URIEncoding.encode(
                                UnsafeBufferPointer(rebasing: q[start..<eq]), into: base + used, keepSlash: false,
                                keepEscapes: true, plus: plus)
                            let split = used
                            used += URIEncoding.encode(
                                UnsafeBufferPointer(rebasing: q[valueStart..<i]), into: base + used,
                                keepSlash: false, keepEscapes: true, plus: plus)
                            // The name's eight bytes are read only from what was written.
                            add(
                                base + nameStart, split - nameStart, base + split, used - split,
                                readable: nameStart + 8 <= used)
                        }
                    }
                    var start = 0
                    if let elements {
                        var k = 0
                        while k < elements.count {
                            let end = elements[k &+ 1]
                            if end > start && start != skipping { element(start, elements[k], end) }
                            start = end &+ 1
                            k &+= 2
                        }
                    } else {
                        var i = 0
                        let n = q.count
                        while i <= n {
                            i = ByteSearch.index(of: 0x26, in: q, i..<n)  // this element ends at `&` or at the end
                            if i > start && start != skipping {
                                element(start, ByteSearch.index(of: 0x3d, in: q, start..<i), i)
                            }
                            start = i &+ 1
                            i &+= 1
                        }
                    }
                }
                if let e = extra.baseAddress {
                    // Read in place, as they are.
                    var start = 0
                    var i = 0
                    while i <= extra.count {
                        i = ByteSearch.index(of: 0x26, in: extra, i..<extra.count)
                        if i > start {
                            let eq = ByteSearch.indexInShortRange(of: 0x3d, in: extra, start..<i)
                            let valueStart = eq < i ? eq &+ 1 : i
                            add(
                                e + start, eq &- start, e + valueStart, i &- valueStart,
                                readable: start &+ 8 <= extra.count)
                        }
                        start = i &+ 1
                        i &+= 1
                    }
                }
                guard count > 0 else { return }
                // Keys first; names that share their first eight bytes, then values, in full.
                func precedes(_ a: SortKey, _ b: SortKey) -> Bool {
                    a.key != b.key ? a.key < b.key : params[a.index] < params[b.index]
                }
                if count <= 48 {
                    var i = 1
                    while i < count {
                        let k = keys[i]
                        var j = i &- 1
                        while j >= 0 && precedes(k, keys[j]) {
                            keys[j &+ 1] = keys[j]
                            j &-= 1
                        }
                        keys[j &+ 1] = k
                        i &+= 1
                    }
                } else {
                    var all = UnsafeMutableBufferPointer(start: keys, count: count)
                    all.sort(by: precedes)
                }
                // One capacity check for the whole string: `name=value` joined by `&`. (Read from
                // constants: a closure that captured the mutable `count` would check its access.)
                let n = count
                out.write(upTo: total &+ n &- 1) { p in
                    var at = 0
                    for k in 0..<n {
                        let parameter = params[keys[k].index]
                        if k > 0 {
                            p[at] = 0x26
                            at &+= 1
                        }
                        copyBytes(
                            to: p + at, from: UnsafeRawBufferPointer(start: parameter.base, count: parameter.nameCount))
                        at &+= parameter.nameCount
                        p[at] = 0x3d
                        copyBytes(
                            to: p + (at &+ 1),
                            from: UnsafeRawBufferPointer(start: parameter.value, count: parameter.valueCount))
                        at &+= 1 &+ parameter.valueCount
                    }
                    return at
                }
            }
        }
    }

    /// Lowercases ASCII letters.
    static func lowercased(_ name: [UInt8]) -> [UInt8] {
        var out = name
        for i in out.indices where out[i] >= 0x41 && out[i] <= 0x5a { out[i] |= 0x20 }
        return out
    }

    /// Appends a header value trimmed, with inner runs of spaces and tabs collapsed to one space.
    static func appendCanonicalValue(_ value: [UInt8], to out: inout [UInt8]) {
        value.withUnsafeBufferPointer { v in
            let bytes = try? ByteWriter.makeArray(capacity: v.count) { w in appendCanonicalValue(v, to: &w) }
            out.append(contentsOf: bytes ?? [])
        }
    }

    /// Appends a header value trimmed, with inner runs of spaces and tabs collapsed to one space.
    static func appendCanonicalValue(_ value: UnsafeBufferPointer<UInt8>, to out: inout ByteWriter) {
        let n = value.count
        guard n > 0 else { return }
        // Fast path, one pass: copy while checking that nothing needs trimming or collapsing
        // (no tab/CR/LF, no space at either end, no two spaces in a row).
        var clean = value[0] != 0x20 && value[n - 1] != 0x20
        if clean {
            out.write(upTo: n) { p in
                var previous: UInt8 = 0
                for i in 0..<n {
                    let b = value[i]
                    p[i] = b
                    if b <= 0x20 && (b == 0x09 || b == 0x0a || b == 0x0d || (b == 0x20 && previous == 0x20)) {
                        clean = false
                        return 0  // discard; the slow path rewrites it
                    }
                    previous = b
                }
                return n
            }
            if clean { return }
        }
        // Trim and collapse into the writer's memory with one capacity check (the result is never
        // longer than the value).
        out.write(upTo: n) { p in
            var written = 0
            var pendingSpace = false
            for i in 0..<n {
                let b = value[i]
                if b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d {
                    pendingSpace = written > 0
                } else {
                    if pendingSpace {
                        p[written] = 0x20
                        written += 1
                        pendingSpace = false
                    }
                    p[written] = b
                    written += 1
                }
            }
            return written
        }
    }

    /// Validates a header name as an RFC 9110 token.
    static func validateName(_ name: [UInt8]) throws(SigV4Error) {
        try name.withUnsafeBytes { n in Result { () throws(SigV4Error) in try validateName(n) } }.get()
    }

    /// Validates a header name as an RFC 9110 token.
    static func validateName(_ name: UnsafeRawBufferPointer) throws(SigV4Error) {
        guard !name.isEmpty else { throw SigV4Error(.invalidHeader, "empty header name") }
        for b in name where !isTokenByte(b) {
            throw SigV4Error(.invalidHeader, "header name is not an HTTP token")
        }
    }

    /// An upper bound on the length of the first three lines.
    static func requestLinesBound(methodCount: Int, targetCount: Int, extra: [(String, String)]) -> Int {
        methodCount + 3 * targetCount + queryBound(targetCount, extra: extra) + 4
    }

    /// Appends the first three lines (method, canonical URI, canonical query), each ending in `\n`.
    static func appendRequestLines(
        method: UnsafeRawBufferPointer, target: UnsafeBufferPointer<UInt8>, extraQuery: [(String, String)],
        rules: ServiceRules, plus: URIEncoding.PlusPolicy, to out: inout ByteWriter
    ) throws(SigV4Error) {
        let (path, query) = try split(target)
        out.append(method)
        out.append(0x0a)
        appendCanonicalURI(UnsafeBufferPointer(rebasing: target[path]), rules: rules, to: &out)
        out.append(0x0a)
        appendCanonicalQuery(UnsafeBufferPointer(rebasing: target[query]), extra: extraQuery, plus: plus, to: &out)
        out.append(0x0a)
    }

    /// The largest number of times one name occurs in `names`.
    static func maxMultiplicity(_ names: [String]) -> Int {
        if names.count <= 1 { return 1 }
        // Strictly ascending (what a verifier replays from `SignedHeaders`): no repeats.
        var ascending = true
        for i in 1..<names.count where !(names[i - 1] < names[i]) {
            ascending = false
            break
        }
        if ascending { return 1 }
        if names.count <= 64 {
            var best = 1
            for i in names.indices {
                var c = 0
                for j in names.indices where names[j] == names[i] { c += 1 }
                best = max(best, c)
            }
            return best
        }
        var counts: [String: Int] = [:]
        for name in names { counts[name, default: 0] += 1 }
        return counts.values.max() ?? 1
    }

    /// RFC 9110 `tchar`: letters, digits and ``!#$%&'*+-.^_`|~``.
    package static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5a, 0x61...0x7a: return true
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2a, 0x2b, 0x2d, 0x2e, 0x5e, 0x5f, 0x60, 0x7c, 0x7e: return true
        default: return false
        }
    }

    /// Builds the whole canonical request.
    package mutating func build(
        method: [UInt8], target: [UInt8], extraQuery: [(String, String)], headers: [HeaderInput],
        selection: CanonicalRequest.HeaderSelection, payloadHash: PayloadHash, rules: ServiceRules,
        plus: URIEncoding.PlusPolicy
    ) throws(SigV4Error) -> CanonicalRequest {
        var headerBytes = 0
        for h in headers { headerBytes += h.name.count + h.value.count }
        return try build(
            method: method, target: target, extraQuery: extraQuery, headerCount: headers.count,
            headerBytes: headerBytes,
            forEachHeader: { add throws(SigV4Error) in
                for h in headers {
                    try h.name.withUnsafeBytes { n in
                        h.value.withUnsafeBytes { v in Result { () throws(SigV4Error) in try add(n, v) } }
                    }.get()
                }
            }, selection: selection, payloadHash: payloadHash, rules: rules, plus: plus)
    }

    /// A header visitor: receives a function to call with each header's name (any case) and value bytes.
    package typealias HeaderVisitor = (
        (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(SigV4Error) -> Void
    ) throws(SigV4Error) -> Void

    /// Builds the whole canonical request from headers handed over one by one by `forEachHeader`
    /// (exactly `headerCount` of them, `headerBytes` name and value bytes in all): no per-header
    /// arrays are needed.
    package mutating func build(
        method: [UInt8], target: [UInt8], extraQuery: [(String, String)], headerCount: Int, headerBytes: Int,
        forEachHeader: HeaderVisitor, selection: CanonicalRequest.HeaderSelection, payloadHash: PayloadHash,
        rules: ServiceRules, plus: URIEncoding.PlusPolicy
    ) throws(SigV4Error) -> CanonicalRequest {
        try withCanonicalBytes(
            method: method, target: target, extraQuery: extraQuery, headerCount: headerCount, headerBytes: headerBytes,
            forEachHeader: forEachHeader, selection: selection, payloadHash: payloadHash, rules: rules, plus: plus
        ) { CanonicalRequest(bytes: Array($0)) }
    }

    /// Writes the canonical request to temporary (stack) memory sized by
    /// ``bound(method:target:extraQuery:headerCount:headerBytes:selection:payloadHash:)`` and calls
    /// `body` with the bytes written.
    mutating func withCanonicalBytes<R>(
        method: [UInt8], target: [UInt8], extraQuery: [(String, String)], headerCount: Int, headerBytes: Int,
        forEachHeader: HeaderVisitor, selection: CanonicalRequest.HeaderSelection, payloadHash: PayloadHash,
        rules: ServiceRules, plus: URIEncoding.PlusPolicy, _ body: (UnsafeBufferPointer<UInt8>) -> R
    ) throws(SigV4Error) -> R {
        let bound = try CanonicalRequestBuilder.bound(
            method: method, target: target, extraQuery: extraQuery, headerCount: headerCount, headerBytes: headerBytes,
            selection: selection, payloadHash: payloadHash)
        var builder = self
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buffer in
            Result { () throws(SigV4Error) -> R in
                var out = ByteWriter(buffer)
                try builder.write(
                    method: method, target: target, extraQuery: extraQuery, headerCount: headerCount,
                    headerBytes: headerBytes, forEachHeader: forEachHeader, selection: selection,
                    payloadHash: payloadHash, rules: rules, plus: plus, to: &out)
                return body(out.written)
            }
        }.get()
    }

    /// An upper bound on the length of the canonical request ``write(method:target:extraQuery:headerCount:headerBytes:forEachHeader:selection:payloadHash:rules:plus:to:)``
    /// writes; it refuses a method that is not a token and a request too large to canonicalize.
    package static func bound(
        method: [UInt8], target: [UInt8], extraQuery: [(String, String)], headerCount: Int, headerBytes: Int,
        selection: CanonicalRequest.HeaderSelection, payloadHash: PayloadHash
    ) throws(SigV4Error) -> Int {
        // A method is a token: a newline in it would shift the lines of the canonical request (found by
        // Fuzz/FuzzCanonicalRequest).
        guard !method.isEmpty, method.allSatisfy(CanonicalRequestBuilder.isTokenByte) else {
            throw SigV4Error(.invalidMethod, "the method is not an HTTP token")
        }
        var exactNames = 0
        var multiplicity = 1  // how often one header's value can be written (repeated signed names)
        if case .exactly(let names) = selection {
            for name in names { exactNames += 2 * name.utf8.count + 3 }
            multiplicity = CanonicalRequestBuilder.maxMultiplicity(names)
        }
        let bound =
            CanonicalRequestBuilder.requestLinesBound(
                methodCount: method.count, targetCount: target.count, extra: extraQuery)
            + multiplicity * (2 * headerBytes + 3 * headerCount) + exactNames + payloadHash.value.utf8.count + 8
        guard bound <= 1 << 28 else {
            throw SigV4Error(.invalidHeader, "the request is too large to canonicalize")
        }
        return bound
    }

    /// Writes the whole canonical request to `out`, which must have room for
    /// ``bound(method:target:extraQuery:headerCount:headerBytes:selection:payloadHash:)`` bytes.
    mutating func write(
        method: [UInt8], target: [UInt8], extraQuery: [(String, String)], headerCount: Int, headerBytes: Int,
        forEachHeader: HeaderVisitor, selection: CanonicalRequest.HeaderSelection, payloadHash: PayloadHash,
        rules: ServiceRules, plus: URIEncoding.PlusPolicy, to out: inout ByteWriter
    ) throws(SigV4Error) {
        try method.withUnsafeBytes { m in
            target.withUnsafeBufferPointer { t in
                Result { () throws(SigV4Error) in
                    try CanonicalRequestBuilder.appendRequestLines(
                        method: m, target: t, extraQuery: extraQuery, rules: rules, plus: plus, to: &out)
                }
            }
        }.get()
        try CanonicalHeaders.withScratch(byteCount: headerBytes, count: headerCount) {
            canonical throws(SigV4Error) in
            try forEachHeader { n, v throws(SigV4Error) in try canonical.add(name: n, value: v) }
            canonical.sort()
            switch selection {
            case .automatic(let excluding, let forcing):
                let filter =
                    forcing.isEmpty && excluding == CanonicalRequest.defaultUnsignedHeaders
                    ? HeaderFilter.default : HeaderFilter(excluding: excluding, forcing: forcing)
                canonical.select(filter)
                canonical.appendCanonicalHeaders(to: &out)
                out.append(0x0a)
                canonical.appendSignedHeaders(to: &out)
            case .exactly(let names):
                for var name in names {
                    name.withUTF8 { n in
                        out.append(n)
                        out.append(0x3a)
                        var first = true
                        for k in 0..<canonical.count {
                            let e = canonical.entries[k]
                            guard CanonicalHeaders.equal(canonical.name(e), n) else { continue }
                            if !first { out.append(0x2c) }
                            first = false
                            CanonicalRequestBuilder.appendCanonicalValue(canonical.value(e), to: &out)
                        }
                        out.append(0x0a)
                    }
                }
                out.append(0x0a)
                for (k, name) in names.enumerated() {
                    if k > 0 { out.append(0x3b) }
                    out.append(string: name)
                }
            }
        }
        out.append(0x0a)
        out.append(string: payloadHash.value)
    }
}
