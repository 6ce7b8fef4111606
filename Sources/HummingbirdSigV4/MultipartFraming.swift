import SigV4
import SigV4Verifier

/// RFC 2046's framing of a `multipart/form-data` body, read over the bytes at hand: the whole body
/// (``BrowserFormUpload/parse(_:contentType:limits:)``) or the part of it received so far
/// (``BrowserFormReader``). Over a part of a body, running out of bytes is ``Stop/short`` (read
/// more and try again) where over the whole body it is `MalformedPOSTRequest`; otherwise both read
/// alike, so a body read in pieces gives the whole body's answer.
struct MultipartFraming {
    /// Why reading stopped.
    enum Stop: Error {
        /// The body is not a form (the answer to give).
        case failure(VerificationFailure)
        /// The bytes so far end before the next element (only when the body is not whole).
        case short
    }

    /// What ``readHead(limits:)`` found: the fields before the part named `file`, its `filename`,
    /// and where its content starts.
    struct Head {
        var fields: [(String, String)]
        var filename: String?
        var contentStart: Int
    }

    let body: UnsafeRawBufferPointer
    /// `CRLF--boundary`: its only CR is its first byte (a boundary is visible ASCII or spaces).
    let delimiter: [UInt8]
    /// True when `body` is the whole body: running out is malformed, not ``Stop/short``.
    let whole: Bool

    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")

    func malformed(_ why: String) -> Stop { .failure(BrowserFormUpload.malformed(why)) }

    /// Malformed over the whole body, ``Stop/short`` over a part of it.
    private func ranOut(_ why: String) -> Stop { whole ? malformed(why) : .short }

    /// Where `delimiter` next starts at or after `from`. It holds one CR, its first byte: a CR where
    /// a partial match fails is past every byte that matched, so each byte is looked at a bounded
    /// number of times (linear in the body, whatever it holds).
    func find(from: Int) -> Int? {
        let bytes = body.assumingMemoryBound(to: UInt8.self)
        var i = from
        while body.count - i >= delimiter.count {
            let at = ByteSearch.index(of: Self.cr, in: bytes, i..<body.count)
            guard body.count - at >= delimiter.count else { return nil }
            var k = 1
            while k < delimiter.count, body[at + k] == delimiter[k] { k += 1 }
            if k == delimiter.count { return at }
            i = at + k
        }
        return nil
    }

    /// What may follow a delimiter, read a byte at a time: `--` closes the body; spaces or tabs, then
    /// CRLF, start a part; anything else is malformed. ``afterDelimiter(_:)`` reads it over the bytes
    /// at hand, ``BrowserFormReader`` across pieces without keeping them (padding may be any length).
    enum AfterDelimiter: Sendable, Equatable {
        case start, dash, padding, cr

        /// The state after `byte`; nil when the delimiter is now followed as it must be (closing the
        /// body when `self` was ``dash``).
        func next(_ byte: UInt8) throws(VerificationFailure) -> AfterDelimiter? {
            switch (self, byte) {
            case (.start, UInt8(ascii: "-")): return .dash
            case (.dash, UInt8(ascii: "-")): return nil
            case (.start, 0x20), (.start, 0x09), (.padding, 0x20), (.padding, 0x09): return .padding
            case (.start, UInt8(ascii: "\r")), (.padding, UInt8(ascii: "\r")): return .cr
            case (.cr, UInt8(ascii: "\n")): return nil
            default: throw BrowserFormUpload.malformed("a boundary is not followed by a line end")
            }
        }
    }

    /// After a delimiter at `i`: `--` closes the body (true); spaces or tabs and CRLF start a part
    /// (false, `i` moved past them).
    func afterDelimiter(_ i: inout Int) throws(Stop) -> Bool {
        var state = AfterDelimiter.start
        while i < body.count {
            let byte = body[i]
            i += 1
            let next: AfterDelimiter?
            do { next = try state.next(byte) } catch { throw .failure(error) }
            guard let next else { return state == .dash }
            state = next
        }
        throw ranOut("a boundary is not followed by a line end")
    }

    /// Reads the preamble and the parts up to the content of the part named `file`: the fields before
    /// it (each a `form-data` `Content-Disposition` with a name, its content UTF-8, at most
    /// ``BrowserFormUpload/Limits/maxFields`` of them and ``BrowserFormUpload/Limits/maxFieldBytes``
    /// of names and values), with everything before the file's content at most
    /// ``BrowserFormUpload/Limits/maxBytesBeforeFile``. `InvalidArgument` when the body closes
    /// without a file.
    func readHead(limits: BrowserFormUpload.Limits) throws(Stop) -> Head {
        let cr = Self.cr
        let lf = Self.lf
        let headLimit = limits.maxBytesBeforeFile
        func checkHead(_ i: Int) throws(Stop) {
            guard i <= headLimit else {
                throw malformed("more than \(headLimit) bytes before the file (the preamble, fields and part heads)")
            }
        }
        let bytes = body.assumingMemoryBound(to: UInt8.self)

        // The preamble: up to `--boundary` at the start or after a CRLF.
        let dashBoundary = delimiter[2...]
        var i: Int
        if body.count >= dashBoundary.count, body.prefix(dashBoundary.count).elementsEqual(dashBoundary) {
            i = dashBoundary.count
        } else if let at = find(from: 0) {
            i = at + delimiter.count
        } else {
            throw ranOut("the boundary is not in the body")
        }
        try checkHead(i)

        var fields: [(String, String)] = []
        var fieldBytes = 0
        while try !afterDelimiter(&i) {
            try checkHead(i)
            // The part's head: lines up to an empty one; the first Content-Disposition counts.
            var disposition: Range<Int>? = nil
            while true {
                guard let end = body[i...].firstIndex(of: cr), end + 1 < body.count, body[end + 1] == lf else {
                    // Short only while the line's CR or LF may still come.
                    if !whole, body[i...].firstIndex(of: cr).map({ $0 + 1 == body.count }) ?? true { throw .short }
                    throw malformed("a part's head does not end in CRLF")
                }
                let line = i..<end
                i = end + 2
                try checkHead(i)
                if line.isEmpty { break }
                guard let colon = body[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound,
                    body[line.lowerBound..<colon].allSatisfy(CanonicalRequestBuilder.isTokenByte), !body[line].contains(lf)
                else {
                    throw malformed("a part's head cannot be read")
                }
                if disposition == nil,
                    BrowserFormUpload.isContentDisposition(UnsafeBufferPointer(rebasing: bytes[line.lowerBound..<colon]))
                {
                    disposition = colon + 1..<line.upperBound
                }
            }
            guard let disposition else { throw malformed("a part has no Content-Disposition") }
            let value = String(decoding: body[disposition], as: UTF8.self)
            guard value.utf8.elementsEqual(body[disposition]) else {
                throw malformed("a part's Content-Disposition is not UTF-8")
            }
            let directives = BrowserFormUpload.headerParameters(value)
            let type = value.prefix { $0 != ";" }.trimmingASCIISpaces.lowercased()
            guard type == "form-data", let name = directives["name"] else {
                throw malformed("a part is not form-data with a name")
            }
            if PresignedPost.fieldName(name) == "file" {
                return Head(fields: fields, filename: directives["filename"], contentStart: i)
            }
            guard let end = find(from: i) else { throw ranOut("a part does not end with the boundary") }
            let content = i..<end
            i = end + delimiter.count
            try checkHead(i)
            fieldBytes += name.utf8.count + content.count
            guard fields.count < limits.maxFields, fieldBytes <= limits.maxFieldBytes else {
                throw malformed("more than \(limits.maxFields) fields or \(limits.maxFieldBytes) bytes of them")
            }
            let field = String(decoding: body[content], as: UTF8.self)
            guard field.utf8.elementsEqual(body[content]) else {
                throw malformed("the field '\(name.prefix(64))' is not UTF-8")
            }
            fields.append((name, field))
        }
        throw .failure(
            VerificationFailure(
                .invalidArgument, "POST requires exactly one file upload per request.",
                details: [.init("ArgumentName", "file"), .init("ArgumentValue", "0")]))
    }

    /// How many of the last bytes of `body` could start `delimiter` (a proper prefix of it ends
    /// the body there): a reader streaming the file holds them back until more bytes tell.
    func heldBack() -> Int {
        let keep = min(body.count, delimiter.count - 1)
        var at = body.count - keep
        while at < body.count {
            if body[at] == Self.cr, body[at...].elementsEqual(delimiter.prefix(body.count - at)) {
                return body.count - at
            }
            at += 1
        }
        return 0
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    var trimmingASCIISpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
