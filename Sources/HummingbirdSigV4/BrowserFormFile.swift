public import Hummingbird
import SigV4
public import SigV4Verifier

/// A browser-form upload whose fields have been read and whose file is still arriving
/// (``BrowserFormUpload/open(_:limits:)``): verify ``form`` first, then read ``file``.
///
/// ```swift
/// let upload = try await BrowserFormUpload.open(request, limits: .init(maxFileBytes: 5 << 30))
/// let verified = try await verifier.verifyPostForm(upload.form, bucket: bucket, now: AmzDate(Date())).get()
/// for try await bytes in upload.file.checked(against: verified) { try await store.write(bytes) }
/// ```
public struct StreamingBrowserFormUpload: Sendable {
    /// The fields before the file part, and the file's name.
    public var form: PostForm
    /// The file's bytes, as they arrive.
    public var file: BrowserFormFile
}

/// The bytes of a browser-form upload's file, read from the request body as they arrive.
///
/// Iterating throws a `VerificationFailure` when the body turns out not to be the form it started as
/// (`MalformedPOSTRequest`: the file part never closed, a broken delimiter), when the file passes
/// ``BrowserFormUpload/Limits/maxFileBytes`` (`EntityTooLarge`, 413) or, with
/// ``checked(against:)``, the policy's `content-length-range` (`EntityTooLarge` or
/// `EntityTooSmall`, 400, as S3). The last bytes are released only once the file has closed and
/// passed every check, so a consumer that stores or forwards what it reads never completes a file
/// that is then refused. The sequence is read once, by one task (it continues the request body).
public struct BrowserFormFile: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    let source: Source
    var lengthRange: ClosedRange<Int64>?
    /// Where the middleware learns of a refusal the handler may have wrapped in an error of its own.
    var recorder: BodyFailureRecorder?

    /// The reader and the rest of the request body, continued by whoever iterates the file (one
    /// task at a time: first ``BrowserFormUpload/open(_:limits:)``, then the file's one consumer).
    final class Source: @unchecked Sendable {
        var body: RequestBody.AsyncIterator
        var reader: BrowserFormReader
        /// File bytes the reader released while the fields were read.
        var released: ByteBuffer
        var finished = false

        init(body: RequestBody.AsyncIterator, reader: BrowserFormReader) {
            self.body = body
            self.reader = reader
            released = ByteBuffer()
        }

        /// Gives the reader the next piece of the body (or tells it the body ended): the file bytes that
        /// releases (maybe none), or nil once the form is whole or the body has ended.
        func pull() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            guard let piece = try await body.next() else {
                finished = true
                return try reader.finish()
            }
            let bytes = try reader.append(piece)
            if reader.isComplete { finished = true }
            return bytes
        }

        /// The next file bytes the reader releases (non-empty), or nil once the form is whole.
        func next() async throws -> ByteBuffer? {
            if released.readableBytes > 0 {
                defer { released = ByteBuffer() }
                return released
            }
            while let bytes = try await pull() {
                if bytes.readableBytes > 0 { return bytes }
            }
            return nil
        }
    }

    /// The same file, also checked against the verified form's `content-length-range`: past its
    /// maximum as soon as the bytes pass it, under its minimum at the end.
    public func checked(against form: VerifiedPostForm) -> BrowserFormFile {
        var copy = self
        copy.lengthRange = form.contentLengthRange
        return copy
    }

    /// Reads the file; see ``BrowserFormFile``.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let source: Source
        let lengthRange: ClosedRange<Int64>?
        let recorder: BodyFailureRecorder?
        /// One buffer held back until the next one arrives or the file has passed every check.
        var held: ByteBuffer?
        var done = false

        /// The next bytes of the file, or nil after the last.
        public mutating func next() async throws -> ByteBuffer? {
            guard !done else { return nil }
            do {
                while true {
                    guard let bytes = try await source.next() else {
                        done = true
                        try lengthRange.map { range throws(VerificationFailure) in
                            try VerifiedPostForm.checkLength(source.reader.fileByteCount, against: range)
                        }
                        defer { held = nil }
                        return held
                    }
                    if let range = lengthRange, source.reader.fileByteCount > range.upperBound {
                        // Refused before the file's end (unless it has ended): its size is not known.
                        try VerifiedPostForm.checkLength(
                            source.reader.fileByteCount, against: range, fileEnded: source.reader.fileHasEnded)
                    }
                    if let previous = held {
                        held = bytes
                        return previous
                    }
                    held = bytes
                }
            } catch {
                done = true
                held = nil
                if let failure = error as? VerificationFailure { await recorder?.record(failure) }
                throw error
            }
        }
    }

    /// Starts reading the file.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(source: source, lengthRange: lengthRange, recorder: recorder)
    }
}

extension BrowserFormUpload {
    /// Reads a form's fields from the request body, and leaves its file to be read as it arrives: for
    /// files too large to hold in memory, and to refuse a form (its signature, its policy) before its
    /// file is read at all. The fields, the file's name and its bytes are those
    /// ``read(_:limits:)`` gives; see ``BrowserFormReader`` for the two refusals that may come early.
    /// `MalformedPOSTRequest` or `InvalidArgument` (no file) as ``parse(_:contentType:limits:)``.
    public static func open(_ request: Request, limits: Limits) async throws(VerificationFailure)
        -> StreamingBrowserFormUpload
    {
        let reader = try BrowserFormReader(contentType: request.headers[.contentType] ?? "", limits: limits)
        let source = BrowserFormFile.Source(body: request.body.makeAsyncIterator(), reader: reader)
        do {
            // File bytes come out only once the form is read: at most the last pull releases some (when
            // the body ended while its head was collected, the whole file, or a refusal).
            while source.reader.form == nil, let bytes = try await source.pull() {
                source.released = bytes
            }
        } catch let failure as VerificationFailure {
            throw failure
        } catch {
            // The body failed (the client went away): not a form to answer.
            throw malformed("the body ended early (\(type(of: error)))")
        }
        guard let form = source.reader.form else { throw malformed("the body ended before the file") }
        return StreamingBrowserFormUpload(form: form, file: BrowserFormFile(source: source, lengthRange: nil, recorder: nil))
    }
}
