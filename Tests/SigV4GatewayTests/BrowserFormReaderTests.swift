import Foundation
import HTTPTypes
import Hummingbird
@testable import HummingbirdSigV4
import NIOCore
import SigV4
import SigV4Verifier
import Testing

/// `BrowserFormUpload.parse` and `bucket(path:host:policy:)` on hostile input: the findings of the
/// FuzzBrowserForm libFuzzer target (inputs in Fuzz/Regressions/, Docs/Assurance.md lists each) and the
/// framing rules of the reader that replaced multipart-kit's.
@Suite("browser-form reader: multipart framing and fuzz regressions")
struct BrowserFormReaderTests {
    /// A file in Fuzz/Regressions/ without FuzzBrowserForm's five option bytes.
    static func regression(_ name: String) throws -> (options: [UInt8], rest: [UInt8]) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let bytes = Array(try Data(contentsOf: root.appendingPathComponent("Fuzz/Regressions/\(name)")))
        return (Array(bytes.prefix(5)), Array(bytes.dropFirst(5)))
    }

    static let type = "multipart/form-data; boundary=b"

    static func parse(_ body: [UInt8], _ limits: BrowserFormUpload.Limits = .init()) -> Result<BrowserFormUpload, VerificationFailure> {
        Result { () throws(VerificationFailure) in try BrowserFormUpload.parse(ByteBuffer(bytes: body), contentType: type, limits: limits) }
    }

    static func code(_ body: [UInt8], _ limits: BrowserFormUpload.Limits = .init()) -> String? {
        if case .failure(let f) = parse(body, limits) { return f.code.name }
        return nil
    }

    static func part(_ name: String, _ value: String, filename: String? = nil) -> String {
        "\r\nContent-Disposition: form-data; name=\"\(name)\"" + (filename.map { "; filename=\"\($0)\"" } ?? "")
            + "\r\n\r\n\(value)\r\n--b"
    }

    /// FuzzBrowserForm, Fuzz/Regressions/FuzzBrowserForm-header-name-byte (found in its first minutes, 113 of
    /// the 120 crashes of a 150 s fork run): multipart-kit 4.7.1 looked up each byte of a part's header name
    /// in a 128-entry table, so a byte over 0x7F trapped (index out of range) and took `sigv4 serve` down
    /// with one unauthenticated request. The body is now read by BrowserFormUpload itself.
    @Test("a byte over 0x7F in a part's header name is MalformedPOSTRequest, not a crash")
    func nonASCIIHeaderName() throws {
        let found = try Self.regression("FuzzBrowserForm-header-name-byte")
        #expect(found.options == [0, 0, 0, 0, 0])  // raw body, boundary `b`, default limits
        #expect(Self.code(found.rest) == "MalformedPOSTRequest")
        for byte in UInt8(0x80)...0xFF {
            let body = Array("--b\r\nX-".utf8) + [byte] + Array(": 1\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--".utf8)
            #expect(Self.code(body) == "MalformedPOSTRequest", "header name byte \(byte)")
        }
    }

    /// FuzzBrowserForm, Fuzz/Regressions/FuzzBrowserForm-file-over-limit (a seed's shape; the fuzzer found it
    /// under three other small limits too): `parse` left `maxFileBytes` to `read`, so a caller of the public
    /// `parse` got any file, whatever its limits said. Now `parse` answers EntityTooLarge itself.
    @Test("parse refuses a file over maxFileBytes with EntityTooLarge and takes one of exactly that size")
    func fileLimit() throws {
        let found = try Self.regression("FuzzBrowserForm-file-over-limit")
        #expect(found.options == [0x10, 0, 5, 0, 0])  // raw body, boundary `b`, maxFileBytes 5
        #expect(Self.code(found.rest, .init(maxFileBytes: 5)) == "EntityTooLarge")
        let upload = try Self.parse(found.rest, .init(maxFileBytes: 6)).get()
        #expect(String(buffer: upload.file) == "123456")
        #expect(Self.code(found.rest, .init(maxFileBytes: 0)) == "EntityTooLarge")
    }

    /// FuzzBrowserForm, Fuzz/Regressions/FuzzBrowserForm-bucket-path-without-slash: `bucket(path:host:policy:)`
    /// dropped the path's first character whatever it was, so `etol` named bucket `tol`.
    @Test("a path that does not start with / names no bucket (InvalidRequest)", arguments: ["etol", "xphotos", "photos", "photos/", ""])
    func bucketPathWithoutSlash(path: String) throws {
        let found = try Self.regression("FuzzBrowserForm-bucket-path-without-slash")
        #expect(found.rest == Array("etol".utf8))
        #expect(throws: VerificationFailure.self) { _ = try BrowserFormUpload.bucket(path: path, host: nil, policy: .init()) }
        #expect(try BrowserFormUpload.bucket(path: "/photos/", host: nil, policy: .init()) == "photos")
    }

    @Test("a well-formed form reads to its fields in order, the file's name and bytes (a slice of the body), whatever follows the file")
    func wellFormed() throws {
        let file = "line\r\n--c\r\n-\r\n--\r\r\n-"  // near-delimiters inside the file
        let body = "preamble\r\n--b" + Self.part("key", "uploads/${filename}") + Self.part("Key", "")
            + Self.part(#"a\"q\\"#, "é") + Self.part("FILE", file, filename: #"C:\fakepath\a \"b\".txt"#)
            + "\r\nbroken head\r\n\r\n--b--\r\nepilogue"
        let upload = try Self.parse(Array(body.utf8)).get()
        #expect(upload.form.fields.map(\.name) == ["key", "Key", #"a"q\"#])
        #expect(upload.form.fields.map(\.value) == ["uploads/${filename}", "", "é"])
        #expect(upload.form.filename == #"C:\fakepath\a "b".txt"#)
        #expect(String(buffer: upload.file) == file)
    }

    @Test("transport padding after a boundary, a quoted boundary, a boundary of 200 bytes are read; header names any case")
    func framingVariants() throws {
        let body = "--b \t\r\ncontent-DISPOSITION:form-data; name=\"file\"\r\n\r\nx\r\n--b--"
        #expect(String(buffer: try Self.parse(Array(body.utf8)).get().file) == "x")
        let long = String(repeating: "'()+_,-./:=? ", count: 16).prefix(200)
        let quoted = "--\(long)\r\nContent-Disposition: form-data; name=file\r\n\r\ny\r\n--\(long)--"
        let upload = try BrowserFormUpload.parse(
            ByteBuffer(string: quoted), contentType: "multipart/form-data; boundary=\"\(long)\"", limits: .init())
        #expect(String(buffer: upload.file) == "y")
    }

    @Test(
        "bodies that are not multipart/form-data are MalformedPOSTRequest",
        arguments: [
            "--b\nContent-Disposition: form-data; name=\"file\"\n\nx\n--b--",  // LF-only lines
            "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx",  // no closing delimiter
            "--bx\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--",  // boundary then junk
            "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--bjunk",  // after the file's delimiter
            "--b\r\nContent-Disposition: form-data; name=\"file\"\nX: y\r\n\r\nx\r\n--b--",  // a bare LF in the head
            "--b\r\n Content-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--",  // a folded line
            "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",  // no Content-Disposition
            "--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--",  // no name
            "no boundary here",
        ])
    func malformed(body: String) {
        #expect(Self.code(Array(body.utf8)) == "MalformedPOSTRequest")
    }

    @Test("a Content-Disposition or a field value that is not UTF-8 is MalformedPOSTRequest; a form without a file InvalidArgument")
    func encodingAndMissingFile() {
        let badValue = Array("--b\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n".utf8) + [0xC3, 0x28] + Array("\r\n--b--".utf8)
        #expect(Self.code(badValue) == "MalformedPOSTRequest")
        let badName = Array("--b\r\nContent-Disposition: form-data; name=\"".utf8) + [0xFF] + Array("\"\r\n\r\nv\r\n--b--".utf8)
        #expect(Self.code(badName) == "MalformedPOSTRequest")
        #expect(Self.code(Array(("--b" + Self.part("key", "k") + "--").utf8)) == "InvalidArgument")
    }

    @Test("field limits: count and bytes (names and values) before the file", arguments: [(1, 100, true), (0, 100, false), (1, 4, true), (1, 3, false)])
    func fieldLimits(maxFields: Int, maxFieldBytes: Int, accepted: Bool) {
        let body = Array(("--b" + Self.part("ab", "cd") + Self.part("file", "x") + "--").utf8)
        let result = Self.parse(body, .init(maxFieldBytes: maxFieldBytes, maxFields: maxFields))
        #expect(((try? result.get()) != nil) == accepted)
        if !accepted { #expect(Self.code(body, .init(maxFieldBytes: maxFieldBytes, maxFields: maxFields)) == "MalformedPOSTRequest") }
    }

    @Test("a boundary with a control byte or a non-ASCII byte, empty or over 200 bytes is refused")
    func boundaryBytes() {
        for boundary in ["a\rb", "a\nb", "é", "", String(repeating: "x", count: 201)] {
            let result = Result { () throws(VerificationFailure) in
                try BrowserFormUpload.parse(
                    ByteBuffer(string: "--\(boundary)\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n--\(boundary)--"),
                    contentType: "multipart/form-data; boundary=\"\(boundary)\"", limits: .init())
            }
            guard case .failure(let failure) = result else {
                Issue.record("boundary \(boundary.debugDescription) was read")
                continue
            }
            #expect(failure.code == BrowserFormUpload.malformedPOSTRequest)
        }
    }

    /// `read` collects at most the file limit plus the field limit. That sum overflowed (a trap) for
    /// limits near `Int.max`, as a caller meaning "no limit" would set them; it now saturates, and a
    /// negative limit counts as 0.
    @Test("read's body limit saturates instead of overflowing; negative limits count as 0")
    func readLimitSaturates() async throws {
        #expect(BrowserFormUpload.Limits(maxFileBytes: .max, maxFieldBytes: .max).bodyLimit == .max)
        #expect(BrowserFormUpload.Limits(maxFileBytes: .max, maxFieldBytes: 1).bodyLimit == .max)
        #expect(BrowserFormUpload.Limits(maxFileBytes: 10, maxFieldBytes: 5).bodyLimit == 15)
        #expect(BrowserFormUpload.Limits(maxFileBytes: -1, maxFieldBytes: -7).bodyLimit == 0)

        let body = "--b" + Self.part("key", "k") + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhello\r\n--b--"
        func request() -> Request {
            let head = HTTPRequest(
                method: .post, scheme: "http", authority: "localhost", path: "/bucket",
                headerFields: [.contentType: Self.type, .contentLength: String(body.utf8.count)])
            return Request(head: head, body: RequestBody(buffer: ByteBuffer(string: body)))
        }
        let upload = try await BrowserFormUpload.read(request(), limits: .init(maxFileBytes: .max, maxFieldBytes: .max, maxFields: .max))
        #expect(String(buffer: upload.file) == "hello")
        #expect(upload.form.fields.map(\.name) == ["key"])
        let refused = await Self.readCode(request(), .init(maxFileBytes: -1, maxFieldBytes: -1))
        #expect(refused == "EntityTooLarge")
    }

    /// `read` refuses a declared `Content-Length` over its body limit before it reads a byte, and says
    /// so: the length, the limit and the two limits it is the sum of (`MaxSizeAllowed` is the file's).
    /// A body over the limit without a `Content-Length` keeps the shorter message.
    @Test("read refuses a Content-Length over the form's body limit with EntityTooLarge (400) naming the length and the limits")
    func readRefusesDeclaredLengthOverLimit() async throws {
        let body =
            "--b" + Self.part("key", "k") + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhello\r\n--b--"
        func request(contentLength: String?) -> Request {
            var fields: HTTPFields = [.contentType: Self.type]
            if let contentLength { fields[.contentLength] = contentLength }
            let head = HTTPRequest(
                method: .post, scheme: "http", authority: "localhost", path: "/bucket", headerFields: fields)
            return Request(head: head, body: RequestBody(buffer: ByteBuffer(string: body)))
        }
        let limits = BrowserFormUpload.Limits(maxFileBytes: 10, maxFieldBytes: 5)
        // The body sent is shorter than declared: only the declared length can have refused it.
        let declared = await Self.readFailure(request(contentLength: "1000"), limits)
        #expect(declared?.code == .entityTooLarge)
        #expect(declared?.httpStatus == 400)
        #expect(
            declared?.message
                == "Your proposed upload exceeds the maximum allowed size: its body is 1000 bytes (Content-Length), "
                + "more than the 15 bytes a form may have (a file of at most 10 bytes and 5 bytes of fields)")
        #expect(declared?.details == [.init("MaxSizeAllowed", "10")])
        let undeclared = await Self.readFailure(request(contentLength: nil), limits)
        #expect(undeclared?.code == .entityTooLarge)
        #expect(undeclared?.message == "Your proposed upload exceeds the maximum allowed size")
        // At the limit the length passes; the form itself is then read (here: its file is too large).
        let atLimit = await Self.readFailure(request(contentLength: "15"), limits)
        #expect(atLimit?.message.contains("(Content-Length)") != true)
    }

    /// The failure `read` refuses `request` with, or nil when it reads it.
    static func readFailure(_ request: Request, _ limits: BrowserFormUpload.Limits) async -> VerificationFailure? {
        do throws(VerificationFailure) {
            _ = try await BrowserFormUpload.read(request, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    /// The code `read` refuses `request` with, or nil when it reads it.
    static func readCode(_ request: Request, _ limits: BrowserFormUpload.Limits) async -> String? {
        do throws(VerificationFailure) {
            _ = try await BrowserFormUpload.read(request, limits: limits)
            return nil
        } catch {
            return error.code.name
        }
    }
}
