import SigV4

/// A raw HTTP/1.1 request as read from bytes: method, target bytes, ordered headers and body.
///
/// ```swift
/// let raw = try HTTPRequestReader().read(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
/// let request = raw.verificationRequest
/// ```
public struct RawHTTPRequest: Sendable, Hashable {
    /// The method token.
    public var method: String
    /// The request target bytes, exactly as on the request line.
    public var target: [UInt8]
    /// The version, `HTTP/1.1` or `HTTP/1.0`.
    public var version: String
    /// The header fields in order (names as sent).
    public var fields: [VerificationRequest.Field]
    /// The body, with `Transfer-Encoding: chunked` framing removed.
    public var body: [UInt8]
    /// Trailer fields of a chunked body, in order.
    public var trailers: [VerificationRequest.Field]

    /// The method, target and headers, for ``Verifier``.
    public var verificationRequest: VerificationRequest {
        VerificationRequest(method: method, target: target, fields: fields)
    }
}

/// Why ``HTTPRequestReader`` refused the input.
///
/// ```swift
/// do { _ = try HTTPRequestReader().read(bytes) } catch { print(error.code, error.reason) }
/// ```
public struct HTTPReadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code for the kind of problem.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code's name.
        public let name: String
        /// Creates a code.
        public init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The request line is not `METHOD SP target SP HTTP/1.x`.
        public static let badRequestLine = Code("badRequestLine")
        /// A header line is malformed (no colon, bad name, control bytes, obs-fold).
        public static let badHeader = Code("badHeader")
        /// A line, the header section, the header count or the body exceeds a limit.
        public static let limitExceeded = Code("limitExceeded")
        /// `Content-Length` or `Transfer-Encoding` is invalid or conflicting.
        public static let badFraming = Code("badFraming")
        /// The input ended early.
        public static let truncated = Code("truncated")
        /// Bytes remain after the request.
        public static let trailingData = Code("trailingData")
    }

    /// The code.
    public var code: Code
    /// A one-line reason.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "HTTPReadError.\(code.name): \(reason)" }
}

/// A strict, bounded reader for one HTTP/1.1 request held in memory.
///
/// It accepts `METHOD SP target SP HTTP/1.1` (or `HTTP/1.0`), header fields as RFC 9112
/// `token ":" OWS value OWS`, an empty line, then a body framed by `Content-Length` or
/// `Transfer-Encoding: chunked`. It refuses obs-fold, control bytes, conflicting framing
/// (both headers, or differing lengths), a missing or repeated `Host`, and anything over
/// the ``Limits``. It never allocates more than the input plus the limits allow.
///
/// ```swift
/// var reader = HTTPRequestReader()
/// reader.allowBareLF = true   // hand-written files
/// let raw = try reader.read(bytes)
/// ```
public struct HTTPRequestReader: Sendable {
    /// Size and count limits.
    public struct Limits: Sendable, Hashable {
        /// Longest request line, bytes (without the line ending).
        public var maxRequestLine: Int
        /// Longest header line, bytes.
        public var maxHeaderLine: Int
        /// Most header fields.
        public var maxHeaderCount: Int
        /// Largest header section, bytes.
        public var maxHeaderBytes: Int
        /// Largest body, bytes.
        public var maxBodyBytes: Int
        /// Longest chunk-size line in a chunked body, bytes.
        public var maxChunkLine: Int
        /// Most trailer fields in a chunked body.
        public var maxTrailerCount: Int

        /// Creates limits.
        public init(
            maxRequestLine: Int = 16 * 1024, maxHeaderLine: Int = 16 * 1024, maxHeaderCount: Int = 128,
            maxHeaderBytes: Int = 64 * 1024, maxBodyBytes: Int = 64 * 1024 * 1024, maxChunkLine: Int = 4096,
            maxTrailerCount: Int = 32
        ) {
            self.maxRequestLine = maxRequestLine
            self.maxHeaderLine = maxHeaderLine
            self.maxHeaderCount = maxHeaderCount
            self.maxHeaderBytes = maxHeaderBytes
            self.maxBodyBytes = maxBodyBytes
            self.maxChunkLine = maxChunkLine
            self.maxTrailerCount = maxTrailerCount
        }

        /// The defaults: 16 KiB lines, 128 headers, 64 KiB header section, 64 MiB body.
        public static let `default` = Limits()
    }

    /// The limits.
    public var limits: Limits
    /// Accept a bare `LF` as a line ending (hand-written files). Off by default: a server
    /// must not, because proxies disagree about it (request smuggling).
    public var allowBareLF: Bool
    /// Require exactly one `Host` field (RFC 9112 §3.2). On by default.
    public var requireHost: Bool

    /// Creates a reader.
    public init(limits: Limits = .default, allowBareLF: Bool = false, requireHost: Bool = true) {
        self.limits = limits
        self.allowBareLF = allowBareLF
        self.requireHost = requireHost
    }

    /// Reads exactly one request from `bytes`.
    public func read(_ bytes: [UInt8]) throws(HTTPReadError) -> RawHTTPRequest {
        try bytes.withUnsafeBufferPointer { (buffer) throws(HTTPReadError) -> RawHTTPRequest in
            var cursor = Cursor(bytes: buffer, allowBareLF: allowBareLF)
            return try read(&cursor)
        }
    }

    /// Reads the request line and header fields of one request from `bytes`, which hold nothing
    /// after the empty line: a capture that shows no body (`curl -v`). The framing fields are
    /// checked as ``read(_:)`` checks them, but the body they declare is not read; the result's
    /// `body` is empty.
    ///
    /// ```swift
    /// let head = try HTTPRequestReader().readHead(Array("PUT /k HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n".utf8))
    /// ```
    public func readHead(_ bytes: [UInt8]) throws(HTTPReadError) -> RawHTTPRequest {
        try bytes.withUnsafeBufferPointer { (buffer) throws(HTTPReadError) -> RawHTTPRequest in
            var cursor = Cursor(bytes: buffer, allowBareLF: allowBareLF)
            return try read(&cursor, headOnly: true)
        }
    }

    struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        let allowBareLF: Bool
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>, allowBareLF: Bool) {
            self.bytes = bytes
            self.allowBareLF = allowBareLF
        }

        var remaining: Int { bytes.count - position }

        /// The next line without its ending; nil at end of input.
        mutating func line(max: Int, what: String) throws(HTTPReadError) -> Range<Int>? {
            guard position < bytes.count else { return nil }
            let start = position
            var i = start
            while i < bytes.count {
                let b = bytes[i]
                if b == 0x0a {
                    if i > start, bytes[i - 1] == 0x0d {
                        position = i + 1
                        return start..<(i - 1)
                    }
                    guard allowBareLF else { throw HTTPReadError(.badHeader, "\(what) ends with a bare LF") }
                    position = i + 1
                    return start..<i
                }
                if b == 0x0d, i + 1 < bytes.count, bytes[i + 1] != 0x0a {
                    throw HTTPReadError(.badHeader, "\(what) holds a bare CR")
                }
                if i - start > max { throw HTTPReadError(.limitExceeded, "\(what) is longer than \(max) bytes") }
                i += 1
            }
            if i - start > max { throw HTTPReadError(.limitExceeded, "\(what) is longer than \(max) bytes") }
            throw HTTPReadError(.truncated, "\(what) is not terminated")
        }
    }

    func read(_ c: inout Cursor, headOnly: Bool = false) throws(HTTPReadError) -> RawHTTPRequest {
        guard let requestLine = try c.line(max: limits.maxRequestLine, what: "the request line") else {
            throw HTTPReadError(.truncated, "empty input")
        }
        let (method, target, version) = try parseRequestLine(c.bytes, requestLine)
        var fields: [VerificationRequest.Field] = []
        var headerBytes = 0
        while true {
            guard let line = try c.line(max: limits.maxHeaderLine, what: "a header line") else {
                throw HTTPReadError(.truncated, "the header section is not terminated by an empty line")
            }
            if line.isEmpty { break }
            headerBytes += line.count + 2
            guard headerBytes <= limits.maxHeaderBytes else {
                throw HTTPReadError(.limitExceeded, "the header section is larger than \(limits.maxHeaderBytes) bytes")
            }
            guard fields.count < limits.maxHeaderCount else {
                throw HTTPReadError(.limitExceeded, "more than \(limits.maxHeaderCount) header fields")
            }
            fields.append(try parseField(c.bytes, line))
        }

        // Framing.
        var contentLength: Int? = nil
        var chunked = false
        var hostCount = 0
        for f in fields {
            if VerificationRequest.equalsIgnoringCase(f.name, "host") { hostCount += 1 }
            if VerificationRequest.equalsIgnoringCase(f.name, "content-length") {
                // A list of identical values is allowed by RFC 9110 §8.6; anything else is refused.
                for part in f.value.split(separator: 0x2c, omittingEmptySubsequences: false) {
                    let n = try parseLength(trim(part))
                    if let existing = contentLength, existing != n {
                        throw HTTPReadError(.badFraming, "conflicting Content-Length values")
                    }
                    contentLength = n
                }
            }
            if VerificationRequest.equalsIgnoringCase(f.name, "transfer-encoding") {
                let codings = f.value.split(separator: 0x2c).map { lowercase(trim($0)) }.filter { !$0.isEmpty }
                guard !chunked, codings == [Array("chunked".utf8)] else {
                    throw HTTPReadError(.badFraming, "only 'Transfer-Encoding: chunked' is supported")
                }
                chunked = true
            }
        }
        if requireHost {
            guard hostCount == 1 else {
                throw HTTPReadError(.badHeader, hostCount == 0 ? "no Host header" : "more than one Host header")
            }
        }
        if chunked && contentLength != nil {
            throw HTTPReadError(.badFraming, "both Content-Length and Transfer-Encoding are present")
        }
        if chunked && version == "HTTP/1.0" {
            throw HTTPReadError(.badFraming, "Transfer-Encoding is not allowed in HTTP/1.0")
        }

        var body: [UInt8] = []
        var trailers: [VerificationRequest.Field] = []
        if headOnly {
            guard c.remaining == 0 else {
                throw HTTPReadError(.trailingData, "\(c.remaining) bytes follow the header section")
            }
        } else if chunked {
            (body, trailers) = try readChunked(&c)
        } else if let n = contentLength {
            guard n <= limits.maxBodyBytes else {
                throw HTTPReadError(.limitExceeded, "the body is larger than \(limits.maxBodyBytes) bytes")
            }
            guard c.remaining >= n else {
                throw HTTPReadError(.truncated, "the body is shorter than Content-Length (\(c.remaining) < \(n))")
            }
            body = Array(c.bytes[c.position..<(c.position + n)])
            c.position += n
        }
        guard c.remaining == 0 else {
            throw HTTPReadError(.trailingData, "\(c.remaining) bytes follow the request")
        }
        return RawHTTPRequest(
            method: method, target: target, version: version, fields: fields, body: body, trailers: trailers)
    }

    func parseRequestLine(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(HTTPReadError)
        -> (String, [UInt8], String)
    {
        guard let sp1 = b[r].firstIndex(of: 0x20) else {
            throw HTTPReadError(.badRequestLine, "the request line has no space")
        }
        guard let sp2 = b[r].lastIndex(of: 0x20), sp2 > sp1 else {
            throw HTTPReadError(.badRequestLine, "the request line must be 'METHOD target HTTP/1.1'")
        }
        let method = b[r.lowerBound..<sp1]
        guard !method.isEmpty, method.allSatisfy(CanonicalRequestBuilder.isTokenByte) else {
            throw HTTPReadError(.badRequestLine, "the method is not an HTTP token")
        }
        let target = b[(sp1 + 1)..<sp2]
        guard !target.isEmpty else { throw HTTPReadError(.badRequestLine, "empty request target") }
        for byte in target where byte <= 0x20 || byte == 0x7f {
            throw HTTPReadError(.badRequestLine, "the request target holds a space or control byte")
        }
        let version = String(decoding: b[(sp2 + 1)..<r.upperBound], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            throw HTTPReadError(.badRequestLine, "unsupported HTTP version")
        }
        return (String(decoding: method, as: UTF8.self), Array(target), version)
    }

    func parseField(_ b: UnsafeBufferPointer<UInt8>, _ r: Range<Int>) throws(HTTPReadError)
        -> VerificationRequest.Field
    {
        let first = b[r.lowerBound]
        if first == 0x20 || first == 0x09 {
            throw HTTPReadError(.badHeader, "obsolete line folding is not accepted")
        }
        guard let colon = b[r].firstIndex(of: 0x3a) else { throw HTTPReadError(.badHeader, "a header has no colon") }
        let name = b[r.lowerBound..<colon]
        guard !name.isEmpty, name.allSatisfy(CanonicalRequestBuilder.isTokenByte) else {
            throw HTTPReadError(.badHeader, "a header name is not an HTTP token")
        }
        let value = b[(colon + 1)..<r.upperBound]
        for byte in value where (byte < 0x20 && byte != 0x09) || byte == 0x7f {
            throw HTTPReadError(.badHeader, "a header value holds a control byte")
        }
        return VerificationRequest.Field(name: String(decoding: name, as: UTF8.self), value: trim(value))
    }

    func readChunked(_ c: inout Cursor) throws(HTTPReadError)
        -> ([UInt8], [VerificationRequest.Field])
    {
        var body: [UInt8] = []
        while true {
            guard let line = try c.line(max: limits.maxChunkLine, what: "a chunk-size line") else {
                throw HTTPReadError(.truncated, "the chunked body ends before the last chunk")
            }
            var end = line.upperBound
            if let semi = c.bytes[line].firstIndex(of: 0x3b) { end = semi }  // chunk extensions are ignored
            let digits = trimRight(c.bytes[line.lowerBound..<end])
            guard !digits.isEmpty, digits.count <= 15 else {
                throw HTTPReadError(.badFraming, "a chunk size must be 1 to 15 hex digits")
            }
            var size = 0
            for d in digits {
                guard let v = ByteParsing.hexValue(d) else { throw HTTPReadError(.badFraming, "a chunk size is not hex") }
                size = size << 4 | Int(v)
            }
            if size == 0 { break }
            guard size <= limits.maxBodyBytes - body.count else {
                throw HTTPReadError(.limitExceeded, "the body is larger than \(limits.maxBodyBytes) bytes")
            }
            guard c.remaining >= size else { throw HTTPReadError(.truncated, "a chunk is cut short") }
            body.append(contentsOf: UnsafeBufferPointer(rebasing: c.bytes[c.position..<(c.position + size)]))
            c.position += size
            if c.remaining >= 2, c.bytes[c.position] == 0x0d, c.bytes[c.position + 1] == 0x0a {
                c.position += 2
            } else if allowBareLF, c.remaining >= 1, c.bytes[c.position] == 0x0a {
                c.position += 1
            } else if c.remaining < 2 {
                throw HTTPReadError(.truncated, "a chunk is not followed by CRLF")
            } else {
                throw HTTPReadError(.badFraming, "a chunk is not followed by CRLF")
            }
        }
        var trailers: [VerificationRequest.Field] = []
        while true {
            guard let line = try c.line(max: limits.maxHeaderLine, what: "a trailer line") else {
                throw HTTPReadError(.truncated, "the trailer section is not terminated")
            }
            if line.isEmpty { break }
            guard trailers.count < limits.maxTrailerCount else {
                throw HTTPReadError(.limitExceeded, "more than \(limits.maxTrailerCount) trailer fields")
            }
            trailers.append(try parseField(c.bytes, line))
        }
        return (body, trailers)
    }

    func parseLength(_ digits: [UInt8]) throws(HTTPReadError) -> Int {
        guard digits.count <= 15, let n = digits.withUnsafeBufferPointer({ ByteParsing.length($0) }) else {
            throw HTTPReadError(.badFraming, "Content-Length must be 1 to 15 decimal digits")
        }
        return n
    }

    func trim<C: Collection<UInt8>>(_ s: C) -> [UInt8] {
        var a = Array(s)
        while let l = a.last, l == 0x20 || l == 0x09 { a.removeLast() }
        var start = 0
        while start < a.count, a[start] == 0x20 || a[start] == 0x09 { start += 1 }
        return Array(a[start...])
    }

    func trimRight(_ s: Slice<UnsafeBufferPointer<UInt8>>) -> [UInt8] { trim(s) }

    func lowercase(_ s: [UInt8]) -> [UInt8] { s.map { ($0 >= 0x41 && $0 <= 0x5a) ? $0 | 0x20 : $0 } }
}
