import Foundation
import HTTPTypes
import Hummingbird
import Logging
@testable import HummingbirdSigV4
import NIOCore
import SigV4
import SigV4Verifier
import Testing

/// `BrowserFormReader`: a form read as it arrives gives what `BrowserFormUpload.parse` gives on the
/// whole body, in pieces of any size; its file's bytes are released as they come, never a byte of
/// the closing delimiter; and what it holds stays bounded, whatever the client sends.
@Suite("browser-form reader: a form read as it arrives")
struct BrowserFormStreamingTests {
    static let type = "multipart/form-data; boundary=b"

    static func part(_ name: String, _ value: String, filename: String? = nil) -> String {
        "\r\nContent-Disposition: form-data; name=\"\(name)\"" + (filename.map { "; filename=\"\($0)\"" } ?? "")
            + "\r\n\r\n\(value)\r\n--b"
    }

    /// What the reader gives for `body` cut into `pieces`: the form, the file's bytes, or the refusal.
    /// Checks on the way that nothing of the file is released before the form is read.
    static func stream(_ body: [UInt8], pieces: [Int], limits: BrowserFormUpload.Limits = .init())
        -> Result<(PostForm, [UInt8]), VerificationFailure>
    {
        Result { () throws(VerificationFailure) in
            var reader = try BrowserFormReader(contentType: type, limits: limits)
            var file: [UInt8] = []
            var at = 0
            var k = 0
            while at < body.count {
                let size = max(1, pieces[k % pieces.count])
                k += 1
                let piece = body[at..<min(body.count, at + size)]
                at += piece.count
                let released = try reader.append(ByteBuffer(bytes: piece))
                if released.readableBytes > 0 { #expect(reader.form != nil, "file bytes before the form") }
                file += released.readableBytesView
                #expect(Int64(file.count) == reader.fileByteCount)
            }
            file += try reader.finish().readableBytesView
            #expect(reader.isComplete)
            return (reader.form!, file)
        }
    }

    static func whole(_ body: [UInt8], limits: BrowserFormUpload.Limits = .init()) -> Result<(PostForm, [UInt8]), VerificationFailure> {
        Result { () throws(VerificationFailure) in
            let upload = try BrowserFormUpload.parse(ByteBuffer(bytes: body), contentType: type, limits: limits)
            return (upload.form, Array(upload.file.readableBytesView))
        }
    }

    static let splits: [[Int]] = [[1], [2], [3], [7], [64], [1 << 20], [5, 1, 9, 2, 30], [13, 1]]

    @Test("every split of a form (pieces of 1 to 1 MiB bytes) reads to the whole body's fields, file name and file, near-delimiters in the file included")
    func splitsReadAsTheWhole() throws {
        let file = "line\r\n--c\r\n-\r\n--\r\r\n--\r\n--\r\n-b" + String(repeating: "x", count: 300) + "\r"
        let body = Array(
            ("preamble\r\n--b" + Self.part("key", "uploads/${filename}") + Self.part("Policy", "é")
                + Self.part("file", file, filename: "cat.jpg") + "  \t\r\nignored\r\n--b--\r\nepilogue").utf8)
        let expected = try Self.whole(body).get()
        #expect(String(decoding: expected.1, as: UTF8.self) == file)
        for split in Self.splits {
            let (form, bytes) = try Self.stream(body, pieces: split).get()
            #expect(form == expected.0, "\(split)")
            #expect(bytes == expected.1, "\(split)")
        }
    }

    @Test("what follows the file part is ignored whatever its length, as by the whole-body reader: 70,000 bytes of padding after its delimiter, 70,000 of epilogue (FuzzBrowserForm's oracle, found by hand past the fuzzer's input size)")
    func anyLengthAfterTheFile() throws {
        let head = "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b"
        for tail in ["--\r\n" + String(repeating: "e", count: 70_000), String(repeating: " ", count: 70_000) + "\r\nignored"] {
            let body = Array((head + tail).utf8)
            let limits = BrowserFormUpload.Limits(maxFileBytes: 10, maxFieldBytes: 0, maxFields: 0)
            #expect(try Self.whole(body, limits: limits).get().1 == Array("x".utf8))
            for split in [[1 << 20], [1], [4096], [13, 1]] {
                #expect(try Self.stream(body, pieces: split, limits: limits).get().1 == Array("x".utf8), "\(split)")
            }
        }
        // A delimiter followed by anything else than `--`, padding and CRLF is malformed, in pieces too.
        let bad = Array((head + "  x\r\n").utf8)
        guard case .failure(let failure) = Self.stream(bad, pieces: [1], limits: .init()) else {
            Issue.record("accepted")
            return
        }
        #expect(failure.code.name == "MalformedPOSTRequest")
    }

    @Test("refusals match the whole body's code in every split: no file, a broken delimiter after the file, an unclosed file, a field over the limits, a bad boundary")
    func refusalsMatch() throws {
        let fields = Self.part("key", "k")
        let cases: [(String, String, BrowserFormUpload.Limits)] = [
            ("no file", "--b" + fields + "--", .init()),
            ("after the file's delimiter, neither -- nor a line end", "--b" + fields + Self.part("file", "abc") + "x\r\n", .init()),
            ("the file never closes", "--b" + fields + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc\r\n--", .init()),
            ("a field over the byte limit", "--b" + Self.part("key", "0123456789") + Self.part("file", "a") + "--", .init(maxFieldBytes: 5)),
            ("a head line without CRLF", "--b\r\nContent-Disposition: form-data; name=\"key\"\n\r\n\r\nk\r\n--b--", .init()),
            ("no boundary at all", "nothing here", .init()),
        ]
        for (what, text, limits) in cases {
            let body = Array(text.utf8)
            guard case .failure(let expected) = Self.whole(body, limits: limits) else {
                Issue.record("\(what): the whole body was accepted")
                continue
            }
            for split in Self.splits {
                guard case .failure(let got) = Self.stream(body, pieces: split, limits: limits) else {
                    Issue.record("\(what), \(split): accepted in pieces")
                    continue
                }
                #expect(got.code == expected.code, "\(what), \(split): \(got.code.name) against \(expected.code.name)")
            }
        }
        #expect(throws: VerificationFailure.self) { try BrowserFormReader(contentType: "multipart/form-data", limits: .init()) }
    }

    @Test("a file over maxFileBytes is EntityTooLarge as soon as its bytes pass the limit, before its end arrives")
    func tooLargeEarly() throws {
        var reader = try BrowserFormReader(contentType: Self.type, limits: .init(maxFileBytes: 100))
        _ = try reader.append(ByteBuffer(string: "--b" + Self.part("key", "k") + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"))
        #expect(reader.form?.values("key") == ["k"])
        _ = try reader.append(ByteBuffer(bytes: Array(repeating: 0x61, count: 100)))
        #expect(reader.fileByteCount == 100)
        #expect(throws: VerificationFailure.self) { _ = try reader.append(ByteBuffer(bytes: [0x61])) }
    }

    @Test("EntityTooLarge for a file over maxFileBytes states the limit, and the size only when the file's end was read: \"more than 100 bytes\" when reading stopped, ProposedSize when it ended")
    func tooLargeStatesWhatIsKnown() throws {
        let limits = BrowserFormUpload.Limits(maxFileBytes: 100)
        let head = "--b" + Self.part("key", "k") + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
        var reader = try BrowserFormReader(contentType: Self.type, limits: limits)
        _ = try reader.append(ByteBuffer(string: head))
        let early = #expect(throws: VerificationFailure.self) {
            _ = try reader.append(ByteBuffer(bytes: Array(repeating: 0x61, count: 150)))
        }
        #expect(early?.code.name == "EntityTooLarge")
        #expect(early?.message.contains("the file is more than 100 bytes") == true, "\(early?.message ?? "")")
        #expect(early?.details == [.init("MaxSizeAllowed", "100")], "\(early?.details ?? [])")

        let body = Array((head + String(repeating: "a", count: 150) + "\r\n--b--").utf8)
        var ended = try BrowserFormReader(contentType: Self.type, limits: limits)
        _ = try ended.append(ByteBuffer(string: head))
        let atItsEnd = #expect(throws: VerificationFailure.self) {
            _ = try ended.append(ByteBuffer(bytes: body[head.utf8.count...]))
        }
        #expect(atItsEnd?.details == [.init("ProposedSize", "150"), .init("MaxSizeAllowed", "100")])
        guard case .failure(let whole) = Self.whole(body, limits: limits) else {
            Issue.record("accepted")
            return
        }
        #expect(whole.details == [.init("ProposedSize", "150"), .init("MaxSizeAllowed", "100")], "\(whole.details)")
    }

    @Test("what the reader holds stays bounded: a body sent a byte at a time without reaching the file is refused past maxBytesBeforeFile, and file bytes that look like the delimiter's start are the only ones held")
    func bounded() throws {
        let limits = BrowserFormUpload.Limits(maxFieldBytes: 100, maxFields: 2)
        #expect(limits.maxBytesBeforeFile == 100 + 512 + 65_536)
        var reader = try BrowserFormReader(contentType: Self.type, limits: limits)
        _ = try reader.append(ByteBuffer(string: "--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n"))
        var refusedAt: Int? = nil
        for i in 0..<(limits.maxBytesBeforeFile + 8_192) {
            do {
                _ = try reader.append(ByteBuffer(bytes: [0x61]))
            } catch {
                #expect(error.code.name == "MalformedPOSTRequest")
                refusedAt = i
                break
            }
        }
        let at = try #require(refusedAt, "never refused")
        #expect(at > limits.maxBytesBeforeFile - 100 && at <= limits.maxBytesBeforeFile + BrowserFormReader.headSlack)

        // In the file: an ordinary piece is released whole; a piece ending in what could start the
        // delimiter (`CRLF--b`: a CR, "CRLF-", "CRLF--") keeps exactly those bytes back until the next
        // piece tells.
        var file = try BrowserFormReader(contentType: Self.type, limits: .init())
        _ = try file.append(ByteBuffer(string: "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"))
        for (piece, released) in [("abc", 3), ("def\r", 3), ("\n-", 0), ("x", 4), ("\r\n--", 0)] {
            let out = try file.append(ByteBuffer(string: piece))
            #expect(out.readableBytes == released, "\(piece.debugDescription)")
        }
        #expect(try file.append(ByteBuffer(string: "b--")).readableBytes == 0)
        #expect(file.isComplete && file.fileByteCount == 10)
        // After the form is whole, more bytes are ignored.
        #expect(try file.append(ByteBuffer(string: "epilogue")).readableBytes == 0)
        #expect(try file.finish().readableBytes == 0)
    }
}

/// The middleware with `browserForms` set: the fields verified before the file is read, and the file
/// handed over whole (`.buffered`) or as it arrives (`.streamed`), refused by S3's codes either way.
@Suite("Hummingbird SigV4 middleware: browser-form files, buffered and streamed")
struct AuthenticatorFormFileTests {
    struct FormContext: SigV4RequestContext {
        struct Source: RequestContextSource { let logger: Logger }
        var coreContext: CoreRequestContextStorage
        var sigV4: VerifiedRequest?
        var sigV4Form: VerifiedPostForm?
        init(source: Source) { coreContext = .init(source: source) }
    }

    struct HandlerFailure: Error {}

    static let boundary = "xyz"

    static func head(_ fields: [PresignedPost.Field], file: String) -> String {
        var text = ""
        for field in fields {
            text += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\"\r\n\r\n\(field.value)\r\n"
        }
        return text + "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\n\(file)"
    }

    /// Runs the middleware on a form whose body comes as `pieces` (finished unless `open`); the handler
    /// reads the body and answers with what it saw, or throws its own error when `wraps` and reading fails.
    static func send(
        _ pieces: [String], delivery: BrowserFormUpload.FileDelivery, open: Bool = false, wraps: Bool = false
    ) async throws -> (Response, String) {
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        for p in pieces { continuation.yield(ByteBuffer(string: p)) }
        if !open { continuation.finish() }
        let middleware = SigV4Authenticator<FormContext>(
            verifier: Verifier(resolver: InMemoryCredentialResolver([TestApp.alice])),
            configuration: .init(
                clock: { TestApp.now }, browserForms: .init(maxFileBytes: 1 << 20), browserFormFiles: delivery))
        let request = HTTPRequest(
            method: .post, scheme: "http", authority: "localhost", path: "/photos",
            headerFields: [.contentType: "multipart/form-data; boundary=\(boundary)", .contentLength: "999"])
        let seen = SeenBox()
        let response = try await middleware.handle(
            Request(head: request, body: RequestBody(asyncSequence: stream)),
            context: FormContext(source: .init(logger: Logger(label: "test")))
        ) { request, context in
            var bytes: [UInt8] = []
            do {
                for try await buffer in request.body { bytes += buffer.readableBytesView }
            } catch {
                if wraps { throw HandlerFailure() }
                throw error
            }
            await seen.set("\(context.sigV4Form?.key ?? "-") \(String(decoding: bytes, as: UTF8.self)) \(request.headers[.contentLength] ?? "-")")
            return Response(status: .ok)
        }
        continuation.finish()
        return (response, await seen.value)
    }

    actor SeenBox {
        var value = ""
        func set(_ v: String) { value = v }
    }

    static func code(_ response: Response) -> String? { response.headers[HTTPField.Name("x-amz-error-code")!] }

    @Test("a verified form's file reaches the handler whole with its Content-Length (buffered) or as it arrives without one (streamed), pieces cut anywhere")
    func delivered() async throws {
        let post = try TestApp.signer().presignPost(
            bucket: "photos", key: "up/${filename}", expires: 60, conditions: [.contentLengthRange(min: 1, max: 100)],
            at: TestApp.now)
        let text = Self.head(post.fields, file: "hello\r\n--xy world") + "\r\n--\(Self.boundary)--\r\n"
        for delivery in [BrowserFormUpload.FileDelivery.buffered, .streamed] {
            for size in [1, 7, 4096] {
                var pieces: [String] = []
                var rest = Substring(text)
                while !rest.isEmpty {
                    pieces.append(String(rest.prefix(size)))
                    rest = rest.dropFirst(size)
                }
                let (response, seen) = try await Self.send(pieces, delivery: delivery)
                #expect(response.status == .ok, "\(delivery) \(size): \(Self.code(response) ?? "")")
                #expect(seen == "up/a.txt hello\r\n--xy world " + (delivery == .buffered ? "17" : "-"), "\(delivery) \(size) \(seen.debugDescription)")
            }
        }
    }

    @Test("a file that fails its checks after the handler started reading it (under the policy's minimum, never closed) is answered with S3's code, even when the handler wraps the error in its own")
    func refusedWhileStreaming() async throws {
        let post = try TestApp.signer().presignPost(
            bucket: "photos", key: "up/x", expires: 60, conditions: [.contentLengthRange(min: 10, max: 100)], at: TestApp.now)
        for wraps in [false, true] {
            let (short, _) = try await Self.send(
                [Self.head(post.fields, file: "tiny"), "\r\n--\(Self.boundary)--"], delivery: .streamed, wraps: wraps)
            #expect(short.status == .badRequest && Self.code(short) == "EntityTooSmall", "wraps \(wraps)")
            let (unclosed, _) = try await Self.send([Self.head(post.fields, file: "long enough bytes")], delivery: .streamed, wraps: wraps)
            #expect(unclosed.status == .badRequest && Self.code(unclosed) == "MalformedPOSTRequest", "wraps \(wraps)")
            let (over, _) = try await Self.send(
                [Self.head(post.fields, file: String(repeating: "x", count: 101)), "\r\n--\(Self.boundary)--"],
                delivery: .streamed, wraps: wraps)
            #expect(over.status == .badRequest && Self.code(over) == "EntityTooLarge", "wraps \(wraps)")
        }
        let (buffered, seen) = try await Self.send([Self.head(post.fields, file: "tiny"), "\r\n--\(Self.boundary)--"], delivery: .buffered)
        #expect(Self.code(buffered) == "EntityTooSmall" && seen.isEmpty, "a buffered file is checked before the handler runs")
    }

    @Test("a streamed file refused as its bytes pass the policy's maximum states the maximum and \"more than\" it, not the bytes that had arrived (150 of 300); a file whose end had arrived states its size")
    func overTheRangeStatesWhatIsKnown() async throws {
        let post = try TestApp.signer().presignPost(
            bucket: "photos", key: "up/x", expires: 60, conditions: [.contentLengthRange(min: 1, max: 100)],
            at: TestApp.now)
        func refusal(_ pieces: [String]) async throws -> VerificationFailure? {
            let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
            for p in pieces { continuation.yield(ByteBuffer(string: p)) }
            continuation.finish()
            let head = HTTPRequest(
                method: .post, scheme: "http", authority: "localhost", path: "/photos",
                headerFields: [.contentType: "multipart/form-data; boundary=\(Self.boundary)"])
            let upload = try await BrowserFormUpload.open(
                Request(head: head, body: RequestBody(asyncSequence: stream)), limits: .init())
            let verifier = Verifier(resolver: InMemoryCredentialResolver([TestApp.alice]))
            let verified = try await verifier.verifyPostForm(upload.form, bucket: "photos", now: TestApp.now).get()
            do {
                for try await _ in upload.file.checked(against: verified) {}
            } catch let failure as VerificationFailure {
                return failure
            }
            return nil
        }
        let x150 = String(repeating: "x", count: 150)
        let early = try await refusal([Self.head(post.fields, file: x150), x150 + "\r\n--\(Self.boundary)--\r\n"])
        #expect(early?.code.name == "EntityTooLarge")
        #expect(early?.message.contains("the file is more than 100 bytes") == true, "\(early?.message ?? "")")
        #expect(early?.details == [.init("MaxSizeAllowed", "100")], "\(early?.details ?? [])")
        let whole = try await refusal([Self.head(post.fields, file: x150) + "\r\n--\(Self.boundary)--\r\n"])
        #expect(whole?.details == [.init("ProposedSize", "150"), .init("MaxSizeAllowed", "100")],
            "\(whole?.details ?? [])")
    }

    @Test("a form refused for its signature is answered while its file has not arrived: the body is left open, and the answer still comes")
    func refusedBeforeTheFile() async throws {
        let post = try TestApp.signer().presignPost(bucket: "photos", key: "up/x", expires: 60, at: TestApp.now)
        let forged = post.fields.map {
            $0.name == "x-amz-signature" ? PresignedPost.Field($0.name, String(repeating: "0", count: 64)) : $0
        }
        for delivery in [BrowserFormUpload.FileDelivery.buffered, .streamed] {
            let (response, seen) = try await Self.send([Self.head(forged, file: "first bytes")], delivery: delivery, open: true)
            #expect(response.status == .forbidden && Self.code(response) == "SignatureDoesNotMatch", "\(delivery)")
            #expect(seen.isEmpty)
        }
    }
}
