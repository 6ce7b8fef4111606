import SigV4

/// The first request of what a terminal user captured while debugging a signature: a raw HTTP/1.1
/// request, the stderr of `curl -v`, or a `curl --trace-ascii FILE` (or `--trace FILE`) dump.
///
/// `sigv4 verify --request` and `sigv4 explain --captured` read it. A `curl -v` dump shows the
/// request's header lines prefixed by `> ` (responses `< `, information `* `, bodies only as
/// `} [12 bytes data]`), so its body is never known. A trace dump holds the request head in a
/// `=> Send header, N bytes (0x…)` block and the body in `=> Send data` blocks, as `0000: ` lines:
/// `--trace-ascii` drops each CRLF (the next line's offset says it was there) and shows every byte
/// outside `0x20…0x7F` as `.`, so a body with such bytes cannot be recovered from it; `--trace`
/// shows each byte in hex and is exact.
///
/// Parsing is linear in the input and allocates at most a copy of it; an offset, a size or a
/// block that does not add up is a usage error (``CLIError/usage(_:hint:)``), never a guess.
///
/// ```swift
/// let capture = try CapturedRequest(bytes, format: nil)   // nil: detect the format
/// if capture.body == nil { print("the capture holds no body") }
/// let request = capture.head + (capture.body ?? [])      // what HTTPRequestReader reads
/// ```
package struct CapturedRequest: Sendable, Hashable {
    /// Where the request came from.
    package enum Format: String, Sendable, Hashable, CaseIterable {
        /// A raw HTTP/1.1 request (request line, headers, empty line, body).
        case raw
        /// The stderr of `curl -v`: the request's lines prefixed by `> `.
        case curlVerbose = "curl-verbose"
        /// A `curl --trace-ascii FILE` or `curl --trace FILE` dump.
        case curlTrace = "curl-trace"
    }

    /// The format read.
    package var format: Format
    /// The request line and header fields, each ending in CRLF, and the empty line. For ``Format/raw``,
    /// the whole input, body included (the reader splits it).
    package var head: [UInt8]
    /// The body the capture shows; nil when it shows none (`curl -v`, or a trace without a
    /// `Send data` block). Always nil for ``Format/raw`` (it is part of ``head``).
    package var body: [UInt8]?
    /// True when the body came from `--trace-ascii` and holds a `.`, which may stand for another
    /// byte (a newline, a tab, any byte outside `0x20…0x7F`).
    package var bodyMayBeLossy: Bool
    /// The request line's version when it was rewritten to `HTTP/1.1` (`HTTP/2`, `HTTP/3`: curl
    /// shows their requests in HTTP/1.1 form; the version is not signed).
    package var rewrittenVersion: String?

    /// Creates a capture from its parts.
    package init(
        format: Format, head: [UInt8], body: [UInt8]?, bodyMayBeLossy: Bool = false, rewrittenVersion: String? = nil
    ) {
        self.format = format
        self.head = head
        self.body = body
        self.bodyMayBeLossy = bodyMayBeLossy
        self.rewrittenVersion = rewrittenVersion
    }

    /// Extracts the first request from `bytes`, read as `format`, or as the format ``detect(_:)``
    /// names when `format` is nil.
    package init(_ bytes: [UInt8], format: Format?) throws(CLIError) {
        switch format ?? Self.detect(bytes) {
        case .raw: self.init(format: .raw, head: bytes, body: nil)
        case .curlVerbose: self = try Self.curlVerbose(bytes)
        case .curlTrace: self = try Self.curlTrace(bytes)
        }
    }

    /// The format of `bytes`: ``Format/curlTrace`` when the first non-empty line is a trace marker
    /// (`== Info:`, `=> `, `<= `), ``Format/curlVerbose`` when it starts with one of curl's `-v`
    /// prefixes (`* `, `> `, `< `, `} [`, `{ [`), else ``Format/raw``. A `--trace-time` clock
    /// (`09:11:08.123456 `) before the line is skipped.
    package static func detect(_ bytes: [UInt8]) -> Format {
        for line in Lines(bytes) {
            let text = stripClock(line)
            if text.isEmpty { continue }
            if hasPrefix(text, "== Info:") || hasPrefix(text, "=> ") || hasPrefix(text, "<= ") { return .curlTrace }
            for prefix in ["* ", "> ", "< ", "} [", "{ ["] where hasPrefix(text, prefix) { return .curlVerbose }
            if text.elementsEqual(">".utf8) { return .curlVerbose }
            return .raw
        }
        return .raw
    }

    // MARK: curl -v

    static func curlVerbose(_ bytes: [UInt8]) throws(CLIError) -> CapturedRequest {
        var head: [UInt8] = []
        var started = false
        var rewritten: String?
        for line in Lines(bytes) {
            let text = stripClock(line)
            let isRequestLine = hasPrefix(text, "> ") || text.elementsEqual(">".utf8)
            if !started {
                guard isRequestLine else { continue }
                started = true
                var requestLine = Array(text.dropFirst(2))
                if requestLine.isEmpty {
                    throw .usage("the curl -v dump's first '> ' line is empty, not a request line", hint: hint)
                }
                rewritten = rewriteVersion(&requestLine)
                head += requestLine + crlf
                continue
            }
            guard isRequestLine else {
                throw .usage(
                    "the curl -v dump's first request ends before its empty '> ' line (a truncated or edited dump?)",
                    hint: hint)
            }
            let field = text.dropFirst(min(2, text.count))
            head += field + crlf
            if field.isEmpty {
                return CapturedRequest(format: .curlVerbose, head: head, body: nil, rewrittenVersion: rewritten)
            }
        }
        if !started {
            throw .usage("the curl -v dump holds no request line ('> GET /path HTTP/1.1')", hint: hint)
        }
        throw .usage(
            "the curl -v dump's first request ends before its empty '> ' line (a truncated or edited dump?)", hint: hint)
    }

    // MARK: curl --trace-ascii / --trace

    static func curlTrace(_ bytes: [UInt8]) throws(CLIError) -> CapturedRequest {
        var lines = Lines(bytes).makeIterator()
        var pending: ArraySlice<UInt8>? = nil
        func next() -> ArraySlice<UInt8>? {
            if let p = pending {
                pending = nil
                return p
            }
            return lines.next().map { stripClock($0) }
        }
        // Reads the data lines of a block of `size` bytes (stops at the first line that is not one).
        func block(_ what: String, size: Int) throws(CLIError) -> (bytes: [UInt8], ascii: Bool) {
            var data: [UInt8] = []
            var ascii = true
            var first = true
            while let line = next() {
                guard let (offset, text) = dataLine(line) else {
                    pending = line
                    break
                }
                if first {
                    first = false
                    ascii = !isHexRow(text, count: min(16, size))
                }
                if ascii {
                    // A CRLF that curl left out shows as a gap of two in the offsets.
                    guard offset == data.count || offset == data.count + 2 else {
                        throw .usage("the \(what) block's offsets do not follow each other at \(hex(offset))", hint: hint)
                    }
                    if offset == data.count + 2 { data += crlf }
                    guard text.count <= 64 else {
                        throw .usage("the \(what) block has a line longer than 64 bytes at \(hex(offset))", hint: hint)
                    }
                    data += text
                } else {
                    guard offset == data.count, let row = hexRow(text, count: min(16, size - data.count)) else {
                        throw .usage("the \(what) block has a malformed hex line at \(hex(offset))", hint: hint)
                    }
                    data += row
                }
                guard data.count <= size else {
                    throw .usage("the \(what) block holds more than its \(size) bytes", hint: hint)
                }
            }
            if ascii && data.count + 2 == size { data += crlf }
            guard data.count == size else {
                throw .usage(
                    "the \(what) block holds \(data.count) of its \(size) bytes (a truncated or edited dump?)", hint: hint)
            }
            return (data, ascii)
        }

        var head: [UInt8]? = nil
        var body: [UInt8]? = nil
        var lossy = false
        while let line = next() {
            if let size = marker(line, "=> Send header, ") {
                if head != nil { break }  // the next request
                head = try block("Send header", size: size).bytes
            } else if let size = marker(line, "=> Send data, ") {
                let data = try block("Send data", size: size)
                guard head != nil else { continue }  // data before any request: not ours
                body = (body ?? []) + data.bytes
                if data.ascii && data.bytes.contains(UInt8(ascii: ".")) { lossy = true }
            }
            // Anything else (info, received blocks, a response body written to the same file) is skipped.
        }
        guard var head else {
            throw .usage("the curl trace holds no '=> Send header' block (is it a --trace-ascii dump of a request?)", hint: hint)
        }
        guard head.count >= 4, head.suffix(4).elementsEqual([13, 10, 13, 10]) else {
            throw .usage("the curl trace's Send header block does not end with an empty line", hint: hint)
        }
        // Rewrite the version on the request line only.
        let end = head.firstIndex(of: 13) ?? head.count
        var requestLine = Array(head[..<end])
        if requestLine.isEmpty {
            throw .usage("the curl trace's Send header block starts with an empty line, not a request line", hint: hint)
        }
        let rewritten = rewriteVersion(&requestLine)
        head.replaceSubrange(..<end, with: requestLine)
        return CapturedRequest(
            format: .curlTrace, head: head, body: body, bodyMayBeLossy: lossy, rewrittenVersion: rewritten)
    }

    // MARK: pieces

    static let hint = "give a raw HTTP request, the stderr of curl -v, or a curl --trace-ascii file; see --input-format"
    static let crlf: [UInt8] = [13, 10]

    /// `HTTP/2` and `HTTP/3` on a request line become `HTTP/1.1`; returns the old version.
    static func rewriteVersion(_ line: inout [UInt8]) -> String? {
        for version in [" HTTP/2", " HTTP/2.0", " HTTP/3"] {
            let v = Array(version.utf8)
            if line.count > v.count, line.suffix(v.count).elementsEqual(v) {
                line.removeLast(v.count)
                line += Array(" HTTP/1.1".utf8)
                return String(version.dropFirst())
            }
        }
        return nil
    }

    /// `N` of `=> Send header, N bytes (0x…)` when `line` starts with `prefix`.
    static func marker(_ line: ArraySlice<UInt8>, _ prefix: String) -> Int? {
        guard hasPrefix(line, prefix) else { return nil }
        let digits = line.dropFirst(prefix.utf8.count).prefix { $0 >= 0x30 && $0 <= 0x39 }
        guard !digits.isEmpty, digits.count <= 15 else { return nil }
        return Int(String(decoding: digits, as: UTF8.self))
    }

    /// The offset and text of a `0000: text` data line (four to sixteen hex digits).
    static func dataLine(_ line: ArraySlice<UInt8>) -> (Int, ArraySlice<UInt8>)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let digits = line[line.startIndex..<colon]
        guard (4...16).contains(digits.count), digits.allSatisfy({ URIEncoding.hexValue($0) != nil }),
            line.index(after: colon) < line.endIndex, line[line.index(after: colon)] == 0x20,
            let offset = Int(String(decoding: digits, as: UTF8.self), radix: 16)
        else { return nil }
        return (offset, line[(colon + 2)...])
    }

    /// True when `text` starts with `count` hex pairs each followed by a space (a `--trace` row).
    static func isHexRow(_ text: ArraySlice<UInt8>, count: Int) -> Bool {
        count > 0 && hexRow(text, count: count) != nil
    }

    /// The `count` bytes of a `--trace` row (`50 4f 53 54 …` then the ASCII column).
    static func hexRow(_ text: ArraySlice<UInt8>, count: Int) -> [UInt8]? {
        guard count > 0, text.count >= 3 * count else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var i = text.startIndex
        for _ in 0..<count {
            guard let hi = URIEncoding.hexValue(text[i]), let lo = URIEncoding.hexValue(text[i + 1]),
                text[i + 2] == 0x20
            else { return nil }
            out.append(hi << 4 | lo)
            i += 3
        }
        return out
    }

    static func hex(_ n: Int) -> String { "0x" + String(n, radix: 16) }

    static func hasPrefix(_ line: ArraySlice<UInt8>, _ prefix: String) -> Bool {
        line.count >= prefix.utf8.count && line.prefix(prefix.utf8.count).elementsEqual(prefix.utf8)
    }

    /// `line` without a `--trace-time` clock (`HH:MM:SS.ffffff `) in front.
    static func stripClock(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard line.count >= 16 else { return line }
        let s = line.startIndex
        let isDigit = { (b: UInt8) in b >= 0x30 && b <= 0x39 }
        for i in [0, 1, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14] where !isDigit(line[s + i]) { return line }
        guard line[s + 2] == 0x3a, line[s + 5] == 0x3a, line[s + 8] == 0x2e, line[s + 15] == 0x20 else { return line }
        return line.dropFirst(16)
    }

    /// The lines of `bytes`, split at LF, each without its LF and a CR before it.
    struct Lines: Sequence {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        struct Iterator: IteratorProtocol {
            let bytes: [UInt8]
            var position = 0
            mutating func next() -> ArraySlice<UInt8>? {
                guard position < bytes.count else { return nil }
                let end = bytes[position...].firstIndex(of: 10) ?? bytes.count
                var line = bytes[position..<end]
                position = end + 1
                if line.last == 13 { line = line.dropLast() }
                return line
            }
        }

        func makeIterator() -> Iterator { Iterator(bytes: bytes) }
    }
}
