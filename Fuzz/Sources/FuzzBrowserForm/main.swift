// libFuzzer target: the browser-form upload reader (`BrowserFormUpload.parse`: the multipart/form-data body of
// S3's POST Object, as `sigv4 serve` and `sigv4 verify` read it) and `BrowserFormUpload.bucket(path:host:policy:)`.
//
// Input: byte 0: bits 0-2 the Content-Type variant (quoted boundary, other parameters, case, a missing or empty
// boundary, a repeated one; in raw mode variant 7 is the body's bytes up to the first NUL), bits 3-4 the limits
// (the defaults, or small ones from bytes 2-4), bits 5-7 the mode: 0-4 the rest is the body; 5-6 the rest drives a
// writer that builds a well-formed form; 7 the rest is `path NUL host` for the bucket reader. Byte 1: the boundary
// (botocore's, curl's, the browsers', short ones the fuzzer can type, 70, 200 and 201 bytes).
//
// Oracles beyond "no crash, no hang, no ASan report":
// - deterministic: parsed twice, the same form and file or the same refusal;
// - differential, the streaming reader against the one-shot parse: every body `parse` reads is also given to a
//   `BrowserFormReader` in pieces (one piece, a byte at a time, one cut, small, empty, delimiter-sized or large
//   pieces, some of them at a nonzero reader index; chosen by a PRNG seeded with a hash of the whole input, so an
//   input always splits the same way, and bytes the body does not use still move the cuts), then `finish()`.
//   What parse accepts the reader accepts with the same fields in order, file name and file bytes (the released
//   pieces joined), `fileByteCount` that length; what parse refuses the reader refuses with the same code, except
//   that EntityTooLarge and MalformedPOSTRequest may stand for each other (the reader answers EntityTooLarge as
//   soon as the file passes maxFileBytes, before it knows how the body ends, and MalformedPOSTRequest once more
//   than maxBytesBeforeFile bytes came without the file); the reader never accepts what parse refuses. A
//   Content-Type without a usable boundary fails the reader's init with parse's very refusal (parse checks the
//   boundary first). Whatever the pieces: no file byte is released before `form` is set, `form` never changes
//   once set, `fileByteCount` is the bytes released so far, nothing is released once `isComplete`, and a
//   `finish()` that returns leaves the reader complete;
// - every refusal is 4xx, one of MalformedPOSTRequest, InvalidArgument (no file) or EntityTooLarge;
// - an accepted form keeps every limit (file ≤ maxFileBytes, fields ≤ maxFields, their name and value bytes ≤
//   maxFieldBytes), holds no field the verifier would read as the file (`file`, ASCII case ignored), and takes
//   no more bytes than the body has;
// - a form the writer builds (random fields, names with quotes, backslashes, `;` and non-ASCII, header-name case,
//   extra headers, a preamble, parts after the file, an epilogue) reads back to exactly its fields, file name and
//   file, or is refused with the code its limits call for (a field over the limits or not UTF-8: malformed; no
//   file: InvalidArgument; a file over maxFileBytes: EntityTooLarge);
// - bucket(path:host:policy:): deterministic; a bucket is a valid bucket name that the path names (path style) or
//   the host does (virtual-hosted style, path `/`); every refusal InvalidRequest or InvalidBucketName.
import HummingbirdSigV4
import LibFuzzerDriver
import NIOCore
import SigV4
import SigV4Verifier

#if canImport(Glibc)
import Glibc
#endif

/// With FUZZ_BROWSER_FORM_STATS set (running over a corpus: `FuzzBrowserForm -runs=0 DIR`), one line per input on
/// stderr: the mode and the outcome, to see which paths a corpus reaches; and a line where the reader's refusal code
/// is not parse's (the EntityTooLarge / MalformedPOSTRequest pair the differential oracle lets through).
let stats = getenv("FUZZ_BROWSER_FORM_STATS") != nil

func note(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = write(2, bytes, bytes.count)
}

let boundaries: [String] = [
    "b", "xyz", "1", "-",
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",  // Chrome, Safari
    "---------------------------9051914041544843365972754266",  // Firefox
    "------------------------d74496d66958873e",  // curl -F
    "e2a8b4b7c1d0f3a9e6b5c4d3a2f1e0d9",  // botocore / urllib3 (16 random bytes in hex)
    "a b'()+_,-./:=?",  // every RFC 2046 bchar, a space inside: needs quoting
    String(repeating: "x", count: 70), String(repeating: "y", count: 200), String(repeating: "z", count: 201),
]

/// The Content-Type for a boundary, in one of seven shapes; nil for the raw-bytes variant (7).
func contentType(_ variant: UInt8, _ b: String) -> String? {
    switch variant {
    case 0: return "multipart/form-data; boundary=\(b)"
    case 1: return "multipart/form-data; boundary=\"\(b)\""
    case 2: return "Multipart/Form-Data; BOUNDARY=\(b); charset=UTF-8"
    case 3: return "multipart/form-data;boundary=\(b)"
    case 4: return "multipart/form-data; charset=utf-8; boundary=\"\(b)\"; x=\"a;b\""
    case 5: return "multipart/form-data"
    case 6: return "multipart/form-data; boundary=\"\""
    default: return nil
    }
}

/// True when the Content-Type names the boundary as given (the writer's variants; 5 and 6 name none, and a
/// boundary with a space must be quoted).
func namesBoundary(_ variant: UInt8, _ b: String) -> Bool {
    switch variant {
    case 5, 6: return false
    case 0, 2, 3: return !b.contains(" ") && b.utf8.count <= 200
    default: return b.utf8.count <= 200
    }
}

func limits(_ data: [UInt8]) -> BrowserFormUpload.Limits {
    switch (data[0] >> 3) & 3 {
    case 0: return .init()
    case 1: return .init(maxFileBytes: Int(data[2] % 64), maxFieldBytes: Int(data[3]) * 2, maxFields: Int(data[4] % 8))
    case 2: return .init(maxFileBytes: Int(data[2]))
    default: return .init(maxFieldBytes: Int(data[3]), maxFields: Int(data[4] % 4))
    }
}

/// ASCII lowercase: how the verifier compares field names (`PresignedPost.fieldName`).
func fieldName(_ s: String) -> String {
    String(decoding: s.utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
}

enum Outcome: Equatable {
    case accepted(fields: [PresignedPost.Field], filename: String?, file: [UInt8])
    case refused(VerificationFailure)

    var short: String {
        switch self {
        case .accepted(let fields, let filename, let file):
            return "accepted \(fields.count) fields, filename \(filename.map { "\($0.utf8.count) bytes" } ?? "nil"), file \(file.count) bytes"
        case .refused(let f): return "refused \(f.code.name): \(f.message.prefix(120))"
        }
    }
}

func parse(_ body: [UInt8], _ contentType: String, _ limits: BrowserFormUpload.Limits) -> Outcome {
    do {
        let upload = try BrowserFormUpload.parse(ByteBuffer(bytes: body), contentType: contentType, limits: limits)
        return .accepted(
            fields: upload.form.fields, filename: upload.form.filename, file: Array(upload.file.readableBytesView))
    } catch {
        return .refused(error)
    }
}

/// FNV-1a over the whole input: the seed of the split points. Every byte counts, so that the fuzzer moves the
/// cuts also through bytes the body does not use (option bits, the writer's unread tail).
func splitSeed(_ data: [UInt8]) -> UInt64 {
    data.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 }
}

/// SplitMix64: a small PRNG, so that an input always gives the same pieces (a crash reproduces from its input).
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// 0..<n (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// One piece of the body: its length, and how many bytes before it in its buffer the reader index skips (a piece
/// a server gets is often a slice of a larger buffer; the reader must read from the reader index, not from 0).
struct Piece {
    var count: Int
    var skip: Int
}

/// How a body of `count` bytes is cut. The shapes: one piece (as parse), a byte at a time (every state split at
/// every byte), one cut anywhere, 1-8 bytes, 0-64 bytes (empty pieces too), about a delimiter's length (the held
/// back delimiter prefix split at each of its bytes), and large pieces. Past 2,048 pieces the middle goes as one
/// piece and the last 2,048 bytes are cut again: a 64 KiB body a byte at a time would take a second in this
/// debug ASan build, and the file's head and its closing delimiter are where the states change.
func pieces(_ count: Int, _ rng: inout SplitMix) -> [Piece] {
    let shape = rng.below(7)
    var out: [Piece] = []
    var left = count
    func add(_ n: Int) {
        let n = min(n, left)
        out.append(Piece(count: n, skip: rng.below(4) == 0 ? 1 + rng.below(16) : 0))
        left -= n
        if out.count == 2_048, left > 2_048 { add(left - 2_048) }
    }
    switch shape {
    case 0:
        add(count)
    case 1:
        while left > 0 { add(1) }
    case 2:
        add(rng.below(count + 1))
        add(left)
    case 3:
        while left > 0 { add(1 + rng.below(8)) }
    case 4:
        while left > 0 { add(rng.below(65)) }
    case 5:
        let delimiter = boundaries[rng.below(boundaries.count)].utf8.count + 4
        while left > 0 { add(max(1, delimiter - 2 + rng.below(5))) }
    default:
        while left > 0 { add(1 + rng.below(max(1, count))) }
    }
    return out
}

/// The pieces' sizes for a message, run-length encoded (`1x57, 3, 0, 12x2`), at most 40 runs.
func describe(_ pieces: [Piece]) -> String {
    var runs: [(Int, Int)] = []
    for p in pieces {
        if let last = runs.last, last.0 == p.count { runs[runs.count - 1].1 += 1 } else { runs.append((p.count, 1)) }
    }
    let text = runs.prefix(40).map { $0.1 == 1 ? "\($0.0)" : "\($0.0)x\($0.1)" }.joined(separator: ", ")
    return "\(pieces.count) pieces [\(text)\(runs.count > 40 ? ", …" : "")]"
}

/// What a `BrowserFormReader` gives for the body in these pieces and `finish()`, checking on the way what holds
/// whatever the pieces (the header's list).
func stream(_ body: [UInt8], _ contentType: String, _ limits: BrowserFormUpload.Limits, _ pieces: [Piece]) -> Outcome {
    var reader: BrowserFormReader
    do throws(VerificationFailure) {
        reader = try BrowserFormReader(contentType: contentType, limits: limits)
    } catch {
        return .refused(error)
    }
    var file: [UInt8] = []
    var form: PostForm? = nil
    var offset = 0
    func took(_ released: ByteBuffer, _ step: String) {
        // Built only for a message: describing the pieces on every step would dominate a run.
        var at: String { "\(step) (body offset \(offset) of \(body.count), \(describe(pieces)))" }
        if released.readableBytes > 0, reader.form == nil {
            fatalError("\(released.readableBytes) file bytes released before the form was read: \(at)")
        }
        if let form, reader.form != form { fatalError("the form changed once set: \(at)") }
        form = reader.form
        file += released.readableBytesView
        guard reader.fileByteCount == Int64(file.count) else {
            fatalError("fileByteCount \(reader.fileByteCount) after \(file.count) file bytes released: \(at)")
        }
    }
    do throws(VerificationFailure) {
        for (n, piece) in pieces.enumerated() {
            var buffer = ByteBuffer(bytes: Array(repeating: 0x2d, count: piece.skip) + body[offset..<offset + piece.count])
            buffer.moveReaderIndex(forwardBy: piece.skip)
            let wasComplete = reader.isComplete
            let released = try reader.append(buffer)
            offset += piece.count
            if wasComplete, released.readableBytes > 0 {
                fatalError("\(released.readableBytes) file bytes released after isComplete: piece \(n)")
            }
            took(released, "piece \(n)")
        }
        took(try reader.finish(), "finish()")
    } catch {
        return .refused(error)
    }
    guard reader.isComplete, let form = reader.form else {
        fatalError("finish() returned but isComplete \(reader.isComplete), form \(reader.form == nil ? "nil" : "set")")
    }
    return .accepted(fields: form.fields, filename: form.filename, file: file)
}

let refusals: Set<String> = ["MalformedPOSTRequest", "InvalidArgument", "EntityTooLarge"]

/// The two codes the reader and parse may give for each other (the header's differential oracle).
let earlyAnswers: Set<String> = ["MalformedPOSTRequest", "EntityTooLarge"]

/// The oracles every parse meets, whatever the body; `splits` seeds the pieces the reader gets.
func check(_ body: [UInt8], _ contentType: String, _ limits: BrowserFormUpload.Limits, splits: UInt64) -> Outcome {
    let outcome = parse(body, contentType, limits)
    let again = parse(body, contentType, limits)
    guard outcome == again else { fatalError("not deterministic: \(outcome.short), then \(again.short)") }

    var rng = SplitMix(state: splits)
    let cuts = pieces(body.count, &rng)
    let streamed = stream(body, contentType, limits, cuts)
    func differ(_ what: String) -> Never {
        fatalError(
            "the reader \(what): parse \(outcome.short); reader \(streamed.short); \(describe(cuts)); limits "
                + "\(limits.maxFileBytes)/\(limits.maxFieldBytes)/\(limits.maxFields); Content-Type \(contentType.debugDescription), "
                + "body \(String(decoding: body.prefix(2048), as: UTF8.self).debugDescription)")
    }
    // parse checks the boundary before it reads a byte, and the reader's init does the same check.
    let typeRefusal = Result { () throws(VerificationFailure) in try BrowserFormReader(contentType: contentType, limits: limits) }
    if case .failure(let f) = typeRefusal, outcome != .refused(f) { differ("init refused the Content-Type (\(f.message))") }
    switch (outcome, streamed) {
    case (.accepted, .accepted):
        if outcome != streamed { differ("read another form") }
    case (.accepted, .refused):
        differ("refused a form parse accepts")
    case (.refused, .accepted):
        differ("accepted a body parse refuses")
    case (.refused(let p), .refused(let r)):
        if p.code != r.code, !(earlyAnswers.contains(p.code.name) && earlyAnswers.contains(r.code.name)) {
            differ("refused with another code")
        }
        if stats, p.code != r.code { note("early answer: parse \(p.code.name), reader \(r.code.name)") }
    }
    switch outcome {
    case .refused(let f):
        guard (400..<500).contains(f.httpStatus), refusals.contains(f.code.name) else {
            fatalError("refused with \(f.code.name) (\(f.httpStatus)): \(f.message)")
        }
    case .accepted(let fields, _, let file):
        let fieldBytes = fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count }
        guard file.count <= limits.maxFileBytes else {
            fatalError("accepted a file of \(file.count) bytes over maxFileBytes \(limits.maxFileBytes)")
        }
        guard fields.count <= limits.maxFields, fieldBytes <= limits.maxFieldBytes else {
            fatalError("accepted \(fields.count) fields of \(fieldBytes) bytes over \(limits.maxFields) / \(limits.maxFieldBytes)")
        }
        guard fieldBytes + file.count <= body.count else {
            fatalError("accepted \(fieldBytes + file.count) bytes of fields and file from a body of \(body.count)")
        }
        if let f = fields.first(where: { fieldName($0.name) == "file" }) {
            fatalError("a field named \(f.name.debugDescription) beside the file")
        }
    }
    return outcome
}

/// Reads the generator's choices from the input; zeros after its end.
struct Choices {
    var bytes: ArraySlice<UInt8>
    mutating func next() -> UInt8 { bytes.popFirst() ?? 0 }
    mutating func pick<T>(_ options: [T]) -> T { options[Int(next()) % options.count] }
    mutating func take(_ n: Int) -> [UInt8] {
        let out = Array(bytes.prefix(n))
        bytes = bytes.dropFirst(n)
        return out
    }
}

/// A quoted-string as browsers and botocore write one, `"` and `\` escaped.
func quoted(_ s: String) -> String {
    "\"" + s.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"") + "\""
}

extension String {
    func replacingAll(_ a: Character, _ b: String) -> String {
        var out = ""
        for c in self { if c == a { out += b } else { out.append(c) } }
        return out
    }
}

let nameAlphabet = ["a", "K", "e", "y", "-", "_", "$", "x", "\"", "\\", " ", ";", "=", "é", "\t", "1", ":", "€", "f", "i", "l"]
let filenames: [String?] = [
    nil, "", "cat.jpg", #"C:\fakepath\a "b".txt"#, "a;b=c.txt", "名前.png", " spaced ", "\\", "\"",
]

/// A well-formed form built from the input, and what reading it must give.
func roundTrip(_ data: [UInt8]) {
    var c = Choices(bytes: data[5...])
    let boundary = boundaries[Int(data[1]) % boundaries.count]
    var variant = data[0] & 7
    if variant == 7 { variant = 1 }
    let type = contentType(variant, boundary)!
    let limits = limits(data)
    let delimiter = Array("\r\n--\(boundary)".utf8)

    func partHead(name: String, filename: String?, _ c: inout Choices) -> String {
        let header = c.pick(["Content-Disposition", "content-disposition", "CONTENT-DISPOSITION"])
        let type = c.pick(["form-data", "Form-Data", "FORM-DATA"])
        let key = c.pick(["name", "NAME", "Name"])
        let token = !name.isEmpty && name.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d }
        let nameParameter = "\(key)=" + (token && c.next() & 1 == 1 ? name : quoted(name))
        var parameters = [nameParameter]
        if let filename { parameters.append("filename=" + quoted(filename)) }
        if c.next() & 1 == 1 { parameters.reverse() }
        let separator = c.pick(["; ", ";", ";  ", " ; "])
        var lines = ["\(header): \(type)\(separator)" + parameters.joined(separator: separator)]
        switch c.next() % 4 {
        case 1: lines.insert("Content-Type: text/plain; charset=utf-8", at: 0)
        case 2: lines.append("X-Extra:\tvalue ")
        default: break
        }
        return lines.joined(separator: "\r\n") + "\r\n\r\n"
    }

    var body: [UInt8] = Array(c.pick(["", "\r\n", "This is the preamble.\r\n", "preamble\r\n\r\n"]).utf8)
    body += Array("--\(boundary)".utf8)
    var fields: [(name: String, value: [UInt8])] = []
    let count = Int(c.next() % 7)
    let fileIndex = Int(c.next()) % (count + 2)  // count + 1: no file part
    var file: (name: String?, bytes: [UInt8])? = nil
    var contents: [[UInt8]] = []
    for i in 0...count {
        if i == fileIndex {
            let filename = c.pick(filenames)
            let size = c.next()
            let bytes = size & 0x80 == 0 ? c.take(Int(size)) : Array(repeating: size, count: Int(size) * 97)
            let name = c.pick(["file", "File", "FILE"])
            body += Array("\r\n".utf8) + Array(partHead(name: name, filename: filename, &c).utf8) + bytes
            body += delimiter
            contents.append(bytes)
            file = (filename, bytes)
            break
        }
        if i == count { break }
        var name = (0..<Int(c.next() % 12)).map { _ in c.pick(nameAlphabet) }.joined()
        if fieldName(name) == "file" { name += "x" }
        let value = c.take(Int(c.next() % 48))
        // A field part may carry a filename too (an <input type=file> other than `file`): still a field.
        let filename: String? = c.next() % 8 == 0 ? "other.bin" : nil
        body += Array("\r\n".utf8) + Array(partHead(name: name, filename: filename, &c).utf8) + value
        body += delimiter
        contents.append(value)
        fields.append((name, value))
    }
    if file != nil {
        // S3 ignores parts after the file, well-formed or not.
        for _ in 0..<Int(c.next() % 3) {
            let after = c.pick([
                "\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored",
                "\r\nX-No-Disposition: 1\r\n\r\nignored",
                "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"second.txt\"\r\n\r\nsecond file",
                "\r\nContent-Disposition: attachment\r\n\r\n\u{FF}",
            ])
            body += Array(after.utf8) + delimiter
        }
    }
    body += Array(c.pick(["--", "--\r\n", "--\r\nepilogue", "--\r\n\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nx\r\n--\(boundary)--\r\n"]).utf8)
    // A content holding the delimiter cannot be written: this form is the fuzzer's luck, not a case.
    for content in contents where (content + delimiter).firstRange(of: delimiter)?.lowerBound != content.count {
        return
    }

    let expected: Outcome = {
        func malformed(_ m: String) -> Outcome {
            .refused(VerificationFailure(BrowserFormUpload.malformedPOSTRequest, m))
        }
        guard namesBoundary(variant, boundary) else { return malformed("boundary") }
        var fieldBytes = 0
        var read: [PresignedPost.Field] = []
        for field in fields {
            fieldBytes += field.name.utf8.count + field.value.count
            guard read.count < limits.maxFields, fieldBytes <= limits.maxFieldBytes else { return malformed("limits") }
            let value = String(decoding: field.value, as: UTF8.self)
            guard value.utf8.elementsEqual(field.value) else { return malformed("UTF-8") }
            read.append(.init(field.name, value))
        }
        guard let file else { return .refused(VerificationFailure(.invalidArgument, "no file")) }
        guard file.bytes.count <= limits.maxFileBytes else { return .refused(VerificationFailure(.entityTooLarge, "too large")) }
        return .accepted(fields: read, filename: file.name, file: file.bytes)
    }()
    let outcome = check(body, type, limits, splits: splitSeed(data))
    if stats { note("round trip: \(outcome.short.prefix { $0 != ":" && $0 != "," })") }
    switch (expected, outcome) {
    case (.refused(let e), .refused(let o)) where e.code == o.code: return
    case (.accepted, .accepted) where expected == outcome: return
    default:
        fatalError(
            "a written form (\(fields.count) fields) read as \(outcome.short); expected \(expected.short); Content-Type "
                + "\(type.debugDescription), body \(String(decoding: body.prefix(2048), as: UTF8.self).debugDescription)")
    }
}

/// `bucket(path:host:policy:)` on a path and a host from the input.
func bucket(_ data: [UInt8]) {
    let rest = data[5...]
    let nul = rest.firstIndex(of: 0) ?? rest.endIndex
    let path = String(decoding: rest[..<nul], as: UTF8.self)
    let host: String? = nul == rest.endIndex ? nil : String(decoding: rest[(nul + 1)...], as: UTF8.self)
    var policy = VerificationPolicy()
    if data[1] & 1 == 1 { policy.virtualHostedStyle = try! VirtualHostedStyle(domains: ["s3.example.com", "example.com"]) }
    func read() -> Result<String, VerificationFailure> {
        Result { () throws(VerificationFailure) in try BrowserFormUpload.bucket(path: path, host: host, policy: policy) }
    }
    let result = read()
    guard result == read() else { fatalError("bucket(path:host:policy:) is not deterministic") }
    switch result {
    case .success(let bucket):
        guard VirtualHostedStyle.isValidBucketName(bucket) else { fatalError("not a bucket name: \(bucket.debugDescription)") }
        let virtual = try? policy.virtualHostedStyle?.bucket(host: host ?? "")
        if let virtual {
            guard bucket == virtual, path == "/" || path.isEmpty else {
                fatalError("bucket \(bucket.debugDescription) for host \(host!.debugDescription), path \(path.debugDescription)")
            }
        } else {
            guard path == "/" + bucket || path == "/" + bucket + "/" else {
                fatalError("bucket \(bucket.debugDescription) from path \(path.debugDescription)")
            }
        }
    case .failure(let f):
        guard f.code == .invalidRequest || f.code == .invalidBucketName, (400..<500).contains(f.httpStatus) else {
            fatalError("bucket(path:host:policy:) refused with \(f.code.name)")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 5 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    switch bytes[0] >> 5 {
    case 5, 6:
        roundTrip(bytes)
    case 7:
        bucket(bytes)
    default:
        var body = Array(bytes[5...])
        let type: String
        if let t = contentType(bytes[0] & 7, boundaries[Int(bytes[1]) % 4]) {
            type = t
        } else {
            let nul = body.firstIndex(of: 0) ?? 0
            type = String(decoding: body[..<nul], as: UTF8.self)
            body = Array(body[(nul == body.endIndex ? nul : nul + 1)...])
        }
        let outcome = check(body, type, limits(bytes), splits: splitSeed(bytes))
        if stats { note("raw: \(outcome.short.prefix { $0 != ":" && $0 != "," })") }
    }
    return 0
}

runFuzzer(fuzzOne)
