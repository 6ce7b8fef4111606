public import NIOCore
import SigV4
public import SigV4Verifier

/// Reads a browser-form upload's body (S3's POST Object, `multipart/form-data`) as it arrives:
/// first the fields, then the file's bytes, released as they come, so that a server can verify the
/// form before it reads the file and never holds the file in memory.
///
/// It reads exactly as ``BrowserFormUpload/parse(_:contentType:limits:)`` reads the whole body: the
/// same fields, file name and file bytes, or a refusal with the same code, whatever the pieces the
/// body arrives in. Two answers may come earlier than the whole body's: `EntityTooLarge` as soon as
/// the file passes ``BrowserFormUpload/Limits/maxFileBytes`` (before its end is seen), and
/// `MalformedPOSTRequest` once more than ``BrowserFormUpload/Limits/maxBytesBeforeFile`` bytes came
/// without reaching the file. Memory is bounded by that allowance and the largest piece given.
///
/// ```swift
/// var reader = try BrowserFormReader(contentType: contentType, limits: .init(maxFileBytes: 5 << 30))
/// for try await piece in body {
///     let file = try reader.append(piece)           // the file's bytes released by this piece
///     if let form = reader.form, !verified { /* verify the form before using any file byte */ }
///     store(file)
/// }
/// store(try reader.finish())                        // the body ended: the last bytes, if the form was whole
/// ```
public struct BrowserFormReader: Sendable {
    /// How much is read.
    public let limits: BrowserFormUpload.Limits
    /// The fields before the file part and the file's name, once read (then set for good).
    public private(set) var form: PostForm?
    /// The file's bytes released so far.
    public private(set) var fileByteCount: Int64 = 0

    /// `CRLF--boundary`.
    let delimiter: [UInt8]
    var phase: Phase

    enum Phase: Sendable {
        /// Collecting the body up to the file's content; the head is read again once `next` bytes are in.
        case head(ByteBuffer, next: Int)
        /// In the file: the bytes that could be the start of its closing delimiter.
        case file(held: ByteBuffer)
        /// The file's closing delimiter seen: where the bytes after it are, until `--` or a line end
        /// tells (read a byte at a time, nothing kept: transport padding may be any length).
        case afterFile(MultipartFraming.AfterDelimiter)
        /// The form is whole; what follows the file part is ignored (as S3 ignores it).
        case complete
    }

    /// Bytes past ``BrowserFormUpload/Limits/maxBytesBeforeFile`` that a short head may still need
    /// to be told apart (more than a delimiter and its line end).
    static let headSlack = 4_096

    /// A reader for a body of this `Content-Type` (`multipart/form-data` with a `boundary` of 1 to
    /// 200 visible ASCII characters, else `MalformedPOSTRequest`).
    public init(contentType: String, limits: BrowserFormUpload.Limits) throws(VerificationFailure) {
        self.limits = limits
        delimiter = try BrowserFormUpload.delimiter(contentType: contentType)
        phase = .head(ByteBuffer(), next: 0)
    }

    /// True once the file's closing delimiter has been read and checked: every file byte has been
    /// released, and what follows is ignored.
    public var isComplete: Bool {
        if case .complete = phase { return true }
        return false
    }

    /// True once the file's closing delimiter has been read: ``fileByteCount`` is the file's size.
    var fileHasEnded: Bool {
        switch phase {
        case .afterFile, .complete: return true
        case .head, .file: return false
        }
    }

    /// Takes the next piece of the body and returns the file's bytes it releases (often a slice of
    /// `piece`, no copy; empty before the file, or while its last bytes could start the closing
    /// delimiter). Throws the form's refusal; after a throw the reader must not be used again.
    public mutating func append(_ piece: ByteBuffer) throws(VerificationFailure) -> ByteBuffer {
        switch phase {
        case .head(var collected, let next):
            phase = .complete  // not left holding a second reference to `collected` (no copy on write)
            collected.writeImmutableBuffer(piece)
            guard collected.readableBytes >= next else {
                phase = .head(collected, next: next)
                return ByteBuffer()
            }
            let head = collected.withUnsafeReadableBytes { bytes in
                Result { () throws(MultipartFraming.Stop) in
                    try MultipartFraming(body: bytes, delimiter: delimiter, whole: false).readHead(limits: limits)
                }
            }
            switch head {
            case .success(let head):
                form = PostForm(fields: head.fields, filename: head.filename)
                collected.moveReaderIndex(forwardBy: head.contentStart)
                phase = .file(held: ByteBuffer())
                return try file(collected)
            case .failure(.failure(let failure)):
                throw failure
            case .failure(.short):
                let limit = limits.maxBytesBeforeFile
                guard collected.readableBytes <= limit || collected.readableBytes - limit <= Self.headSlack else {
                    throw BrowserFormUpload.malformed(
                        "more than \(limit) bytes before the file (the preamble, fields and part heads)")
                }
                // Read again once the bytes double (or the allowance is passed): a body sent a byte at a
                // time is read a bounded number of times over, not once per byte.
                let (double, overflow) = collected.readableBytes.multipliedReportingOverflow(by: 2)
                let (cap, capOverflow) = limit.addingReportingOverflow(Self.headSlack + 1)
                phase = .head(
                    collected, next: max(collected.readableBytes + 1, min(overflow ? .max : double, capOverflow ? .max : cap)))
                return ByteBuffer()
            }
        case .file(var held):
            phase = .complete
            if held.readableBytes == 0 {
                return try file(piece)
            }
            held.writeImmutableBuffer(piece)
            return try file(held)
        case .afterFile(let state):
            try afterFile(piece, from: state)
            return ByteBuffer()
        case .complete:
            return ByteBuffer()
        }
    }

    /// The body has ended: returns the file's last bytes not yet released (the head is read once
    /// more, so a body that ended while it was collected is read to its end), and throws unless the
    /// form was whole (a file part closed by its delimiter), with the refusal the whole body gets from
    /// ``BrowserFormUpload/parse(_:contentType:limits:)``.
    public mutating func finish() throws(VerificationFailure) -> ByteBuffer {
        var released = ByteBuffer()
        if case .head(let collected, _) = phase {
            phase = .head(collected, next: 0)
            released = try append(ByteBuffer())
        }
        switch phase {
        case .head(let collected, _):
            let head = collected.withUnsafeReadableBytes { bytes in
                Result { () throws(MultipartFraming.Stop) in
                    try MultipartFraming(body: bytes, delimiter: delimiter, whole: true).readHead(limits: limits)
                }
            }
            switch head {
            case .success: throw BrowserFormUpload.malformed("a part does not end with the boundary")
            case .failure(.failure(let failure)): throw failure
            case .failure(.short): preconditionFailure("a whole body is never short")
            }
        case .file:
            throw BrowserFormUpload.malformed("a part does not end with the boundary")
        case .afterFile:
            throw BrowserFormUpload.malformed("a boundary is not followed by a line end")
        case .complete:
            break
        }
        return released
    }

    /// In the file: releases what cannot be the start of the closing delimiter, holds back the rest.
    private mutating func file(_ bytes: ByteBuffer) throws(VerificationFailure) -> ByteBuffer {
        let delimiter = self.delimiter
        let (end, held): (Int?, Int) = bytes.withUnsafeReadableBytes { raw -> (Int?, Int) in
            let framing = MultipartFraming(body: raw, delimiter: delimiter, whole: false)
            if let end = framing.find(from: 0) { return (end, 0) }
            return (nil, framing.heldBack())
        }
        let release = end ?? bytes.readableBytes - held
        try count(release, fileEnds: end != nil)
        let out = bytes.getSlice(at: bytes.readerIndex, length: release)!
        if let end {
            phase = .afterFile(.start)
            try afterFile(
                bytes.getSlice(at: bytes.readerIndex + end + delimiter.count, length: bytes.readableBytes - end - delimiter.count)!,
                from: .start)
        } else {
            // At most a delimiter's bytes are copied: the piece itself is released as a slice.
            phase = .file(held: held == 0 ? ByteBuffer() : ByteBuffer(bytes: bytes.readableBytesView.suffix(held)))
        }
        return out
    }

    /// Counts released file bytes (`fileEnds`: the last of them); past the file limit, `EntityTooLarge`.
    private mutating func count(_ released: Int, fileEnds: Bool) throws(VerificationFailure) {
        fileByteCount += Int64(released)
        guard fileByteCount <= Int64(limits.maxFileBytes) else {
            // Refused as soon as the bytes pass the limit: unless the file ended here, its size is not known.
            throw BrowserFormUpload.tooLarge(limits.maxFileBytes, fileSize: fileEnds ? fileByteCount : nil)
        }
    }

    /// After the file's delimiter: `--`, or padding and a line end (the next part, ignored); what
    /// follows is ignored, whatever its length.
    private mutating func afterFile(_ after: ByteBuffer, from start: MultipartFraming.AfterDelimiter) throws(VerificationFailure) {
        var state = start
        for byte in after.readableBytesView {
            guard let next = try state.next(byte) else {
                phase = .complete
                return
            }
            state = next
        }
        phase = .afterFile(state)
    }
}
