public import HTTPTypes
import SigV4
import _SigV4Crypto

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
    public var target: [UInt8] {
        get { withTarget { t, _ in Array(t) } }
        set { storedTarget = .bytes(newValue) }
    }
    /// The target as given: an `HTTPRequest`'s path is kept as its `String` (no copy).
    var storedTarget: StoredTarget

    enum StoredTarget: Sendable {
        case bytes([UInt8])
        case text(String)
    }
    /// The header fields in order.
    public var fields: [Field] {
        get { headers.fields }
        set { headers = HeaderList(newValue) }
    }
    /// The fields as the verifier reads them: an `HTTPRequest`'s are kept as they are (no copies).
    var headers: HeaderList

    /// Creates a request from raw parts.
    public init(method: String, target: [UInt8], fields: [Field]) {
        self.method = method
        self.storedTarget = .bytes(target)
        self.headers = HeaderList(fields)
    }

    /// Creates a request from text parts.
    public init(method: String, target: String, headers: [(String, String)]) {
        self.init(method: method, target: Array(target.utf8), fields: headers.map { Field(name: $0.0, value: $0.1) })
    }

    /// Creates a request from an `HTTPRequest`. A `Host` field is added from the authority
    /// when the request has none (HTTP/2 and HTTP/3 carry the host as `:authority`). The header
    /// fields are read in place, not copied.
    public init(_ request: HTTPRequest) {
        // (`contains` compares names only; the subscript would also join the values it finds.)
        // Written out rather than delegated to the package initializer below: delegating cost a
        // client in another package (the benchmarks) 345 instructions a verification in
        // `verify_header_warm`, 160 of them in the concurrency runtime around its async
        // `Verifier.verify` call (session 58).
        let host = request.headerFields.contains(.host) ? nil : request.authority
        method = request.method.rawValue
        storedTarget = .text(request.path ?? "/")
        headers = HeaderList(request.headerFields, host: host)
    }

    /// ``init(_:)`` for a caller that has already looked for a `Host` field (`hasHostField`: one is
    /// among `request`'s fields), as the middleware has: each lookup by name walks all the fields.
    package init(_ request: HTTPRequest, hasHostField: Bool) {
        method = request.method.rawValue
        storedTarget = .text(request.path ?? "/")
        headers = HeaderList(request.headerFields, host: hasHostField ? nil : request.authority)
    }

    public static func == (a: VerificationRequest, b: VerificationRequest) -> Bool {
        a.method == b.method && a.withTarget { x, _ in b.withTarget { y, _ in x.elementsEqual(y) } } && a.fields == b.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        withTarget { t, _ in hasher.combine(bytes: UnsafeRawBufferPointer(t)) }
        hasher.combine(fields)
    }

    /// The values of every field named `name` (ASCII case-insensitive), in order.
    public func values(_ name: String) -> [[UInt8]] {
        var lower = name.lowercased()
        return lower.withUTF8 { wanted in
            var out: [[UInt8]] = []
            for i in 0..<headers.count where headers.withName(i, { VerificationRequest.equalsIgnoringCase($0, wanted) }) {
                out.append(headers.value(i))
            }
            return out
        }
    }

    /// The target's `String` when it is held as one (an `HTTPRequest`'s path): the bytes
    /// ``withTarget(_:)`` hands out are its UTF-8.
    var targetText: String? {
        if case .text(let text) = storedTarget { return text }
        return nil
    }

    /// Runs `body` with the target's bytes and the index of its first `?` (the target's count
    /// when there is none): the path is the bytes before it, the query the bytes after it.
    func withTarget<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>, _ mark: Int) throws(E) -> R) throws(E) -> R {
        func run(_ t: UnsafeBufferPointer<UInt8>) throws(E) -> R {
            try body(t, ByteSearch.index(of: 0x3f, in: t, 0..<t.count))
        }
        switch storedTarget {
        case .bytes(let bytes): return try bytes.withUnsafeBufferPointer(run)
        case .text(let text): return try text.withBorrowedUTF8(run)
        }
    }

    /// The query's indices in a target of `count` bytes whose first `?` is at `mark` (empty when
    /// there is no `?`).
    static func query(count: Int, mark: Int) -> Range<Int> { mark < count ? (mark + 1)..<count : count..<count }

    /// The query's bytes in a target `t` whose first `?` is at `mark` (empty when there is no `?`).
    @inline(__always)
    static func query(in t: UnsafeBufferPointer<UInt8>, mark: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: t[query(count: t.count, mark: mark)])
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

    /// True when `x` is `lowercaseY` with ASCII letters in any case (a byte at or above 0x80 equals
    /// only itself): ``WordCompare/equalIgnoringCase(_:_:count:)``, words lowercased as they are
    /// read, the last one overlapping, instead of a byte loop. The field pass's names
    /// (`Verifier.HeaderFacts.equals`) and every other case-insensitive name compare come here.
    @inline(__always)
    package static func equalsIgnoringCase(_ x: UnsafeBufferPointer<UInt8>, _ lowercaseY: UnsafeBufferPointer<UInt8>) -> Bool {
        guard x.count == lowercaseY.count else { return false }
        guard let a = x.baseAddress, let b = lowercaseY.baseAddress else { return true }
        return WordCompare.equalIgnoringCase(a, b, count: x.count)
    }
}

extension HTTPField.Name {
    fileprivate static let host = HTTPField.Name("Host")!
}

/// Header fields read by index without copying them out: either ``VerificationRequest/Field``s or
/// an `HTTPFields` as received (with the `Host` taken from the authority in front, when there is
/// no `Host` field).
struct HeaderList: Sendable {
    enum Backing: Sendable {
        case fields([VerificationRequest.Field])
        /// The `Host` from the authority is kept as the request's `String` (no copy): its bytes
        /// are read in place (`withUTF8` on a native string does not allocate).
        case http(HTTPFields, host: String?)
    }

    let backing: Backing
    /// How many fields there are.
    let count: Int

    init(_ fields: [VerificationRequest.Field]) {
        backing = .fields(fields)
        count = fields.count
    }

    init(_ fields: HTTPFields, host: String?) {
        backing = .http(fields, host: host)
        count = fields.count + (host == nil ? 0 : 1)
    }

    /// `host`, the name of the field made from the authority (a literal: no array, no lazy global).
    static var hostName: UnsafeBufferPointer<UInt8> {
        let name: StaticString = "host"
        return UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
    }

    /// Calls `body` with the name of field `i`, as received (any case).
    func withName<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        switch backing {
        case .fields(let fields):
            var name = fields[i].name
            return try name.withUTF8(body)
        case .http(let fields, let host):
            let k = host == nil ? i : i - 1
            if k < 0 { return try body(HeaderList.hostName) }
            return try fields[k].name.rawName.withBorrowedUTF8(body)
        }
    }

    /// Calls `body` with the value bytes of field `i`.
    func withValue<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        switch backing {
        case .fields(let fields):
            return try fields[i].value.withUnsafeBufferPointer(body)
        case .http(let fields, let host):
            guard let host else { return try fields[i].withUnsafeBytesOfValue(body) }
            if i == 0 { return try host.withBorrowedUTF8(body) }
            return try fields[i - 1].withUnsafeBytesOfValue(body)
        }
    }

    /// Calls `body` with the value of the first field of `o` (a fact the verifier noted while
    /// collecting the fields); nil when there is none.
    func withFirst<R>(_ o: Verifier.HeaderFacts.Occurrences, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows
        -> R?
    {
        o.first >= 0 ? try withValue(o.first, body) : nil
    }

    /// ``withFirst(_:_:)`` with the value's `String` when it is held as one
    /// (``withValueAndSource(_:_:)``).
    ///
    /// Always inlined, as ``withValueAndSource(_:_:)`` is: called, each got a copy of its closure
    /// specialized with the captured request and payload passed in owned, a copy of each (their
    /// strings and field list retained and released) per call: 40 of a header verification's 212
    /// reference-counting calls (`scripts/refcounts`; Docs/Performance.md, session 37). Its errors
    /// are typed, so a caller's typed error goes through without a `Result` around it (moving that
    /// 146-byte value was four `memmove` calls per verification, session 38).
    @inline(__always)
    func withFirstAndSource<R, E: Error>(
        _ o: Verifier.HeaderFacts.Occurrences, _ body: (UnsafeBufferPointer<UInt8>, String?) throws(E) -> R
    ) throws(E) -> R? {
        o.first >= 0 ? try withValueAndSource(o.first, body) : nil
    }

    /// ``withValue(_:_:)``, also handing over the `String` the bytes are the UTF-8 of, when the
    /// value is held as one (an `HTTPFields` value): a parser can then keep a slice of it (a
    /// `Substring`, no copy) instead of making a new string.
    @inline(__always)
    func withValueAndSource<R, E: Error>(
        _ i: Int, _ body: (UnsafeBufferPointer<UInt8>, String?) throws(E) -> R
    ) throws(E) -> R {
        switch backing {
        case .fields(let fields):
            return try fields[i].value.withUnsafeBufferPointer { (p) throws(E) -> R in try body(p, nil) }
        case .http(let fields, let host):
            if let host, i == 0 { return try host.withBorrowedUTF8 { (p) throws(E) -> R in try body(p, nil) } }
            let source = fields[host == nil ? i : i - 1].value
            return try source.withBorrowedUTF8 { (p) throws(E) -> R in try body(p, source) }
        }
    }

    /// Hands every field to `sink` for canonicalization: an `HTTPFields`' names as their
    /// `canonicalName` (lowercase tokens already, nothing to check), other names checked and
    /// lowercased. Each field is also noted in `facts`, in the same pass. A name the sink refuses
    /// is thrown after every field was noted (the first one refused).
    func addFields(
        to sink: inout VerifierCanonicalization.FieldSink, noting facts: inout Verifier.HeaderFacts
    ) throws(SigV4Error) {
        var refused: SigV4Error? = nil
        switch backing {
        case .fields(let fields):
            for i in fields.indices {
                var name = fields[i].name
                name.withUTF8 { n in
                    fields[i].value.withUnsafeBufferPointer { v in
                        facts.note(i, name: n, value: v)
                        do throws(SigV4Error) {
                            try sink.add(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v))
                        } catch {
                            if refused == nil { refused = error }
                        }
                    }
                }
            }
        case .http(let fields, _):
            var i = 0
            // The host bound apart from the list, and so borrowed: bound with it, the payload was
            // copied whole for the loop below (which holds the list), a retain and a release.
            if case .http(_, let host?) = backing {
                let n = HeaderList.hostName
                // Its name is `host`: noted as the one fact `note` would find for it, without
                // comparing the literal with `host` at run time (a word compare's call per request).
                facts.host.add(0)
                host.withBorrowedUTF8 { v in
                    sink.add(lowercaseToken: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v))
                }
                i = 1
            }
            // Each field is read once; its name and value bytes are borrowed where they are (no
            // `var` copies of either string: each copy is a retain and a release per field).
            for field in fields {
                field.name.canonicalName.withBorrowedUTF8 { n in
                    field.withUnsafeBytesOfValue { v in
                        facts.note(i, name: n, value: v)
                        // A pseudo-field name (`:x`, which only a decoder lets in) is checked, and refused.
                        if n.first == 0x3a {
                            do throws(SigV4Error) {
                                try sink.add(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v))
                            } catch {
                                if refused == nil { refused = error }
                            }
                        } else {
                            sink.add(lowercaseToken: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v))
                        }
                    }
                }
                i += 1
            }
        }
        if let refused { throw refused }
    }

    /// The value bytes of field `i`, copied.
    func value(_ i: Int) -> [UInt8] { withValue(i) { Array($0) } }

    /// The fields as ``VerificationRequest/Field``s.
    var fields: [VerificationRequest.Field] {
        if case .fields(let fields) = backing { return fields }
        return (0..<count).map { i in
            VerificationRequest.Field(name: withName(i) { String(decoding: $0, as: UTF8.self) }, value: value(i))
        }
    }
}
