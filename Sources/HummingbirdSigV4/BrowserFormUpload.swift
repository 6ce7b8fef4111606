public import Hummingbird
import SigV4
public import SigV4Verifier

/// A browser-form upload read from a request (S3's POST Object): a `POST` of `multipart/form-data`
/// to a bucket's URL without an `Authorization` header, whose fields carry a signed POST policy.
/// ``SigV4Authenticator`` reads and verifies such forms when its configuration's
/// ``SigV4Authenticator/Configuration/browserForms`` is set; a server can also use this type itself.
///
/// ```swift
/// if BrowserFormUpload.isBrowserFormUpload(request) {
///     let upload = try await BrowserFormUpload.read(request, limits: .init())
///     let bucket = try BrowserFormUpload.bucket(of: request, policy: verifier.policy)
///     let verified = try await verifier.verifyPostForm(upload.form, bucket: bucket, now: AmzDate(Date())).get()
///     try verified.checkContentLength(Int64(upload.file.readableBytes))
/// }
/// ```
public struct BrowserFormUpload: Sendable {
    /// The fields before the file part, and the file's name.
    public var form: PostForm
    /// The file's bytes.
    public var file: ByteBuffer

    /// How much of a form is read.
    public struct Limits: Sendable, Hashable {
        /// The largest file, in bytes (default 16 MiB); a larger one is `EntityTooLarge`.
        public var maxFileBytes: Int
        /// The most bytes of fields beside the file (default 1 MiB).
        public var maxFieldBytes: Int
        /// The most fields before the file (default 1,000).
        public var maxFields: Int

        /// Creates limits.
        public init(maxFileBytes: Int = 16 << 20, maxFieldBytes: Int = 1 << 20, maxFields: Int = 1_000) {
            self.maxFileBytes = maxFileBytes
            self.maxFieldBytes = maxFieldBytes
            self.maxFields = maxFields
        }

        /// The most bytes before the file's content: the preamble, the fields and every part's head
        /// lines (``maxFieldBytes`` plus 256 per field plus 64 KiB). A reader streaming the file
        /// (``BrowserFormReader``) holds at most about this much before it has the form; past it the
        /// body is `MalformedPOSTRequest`. What follows the file part is ignored, whatever its length
        /// (as S3 ignores it, and as ``BrowserFormUpload/parse(_:contentType:limits:)`` does): it is
        /// read and dropped, never kept.
        public var maxBytesBeforeFile: Int {
            let fields = max(0, maxFields).multipliedReportingOverflow(by: 256)
            let (sum, overflow) = max(0, maxFieldBytes).addingReportingOverflow(fields.overflow ? .max : fields.partialValue)
            return overflow || sum > Int.max - 65_536 ? .max : sum + 65_536
        }

        /// The most bytes of body ``BrowserFormUpload/read(_:limits:)`` collects: the file limit plus the
        /// field limit, each taken as 0 when negative, and `Int.max` where the sum would overflow.
        var bodyLimit: Int {
            let (sum, overflow) = max(0, maxFileBytes).addingReportingOverflow(max(0, maxFieldBytes))
            return overflow ? .max : sum
        }
    }

    /// How the middleware hands a verified form's file to the handler
    /// (``SigV4Authenticator/Configuration/browserFormFiles``).
    public enum FileDelivery: Sendable, Hashable {
        /// Read whole (at most ``Limits/maxFileBytes``) and checked (its closing delimiter, the
        /// policy's `content-length-range`) before the handler runs; the body is a buffer with its
        /// `Content-Length`.
        case buffered
        /// Passed on as it arrives (``BrowserFormFile``), without a `Content-Length`: memory does
        /// not grow with the file. The checks fail by throwing from the body, whose last bytes come
        /// only after they passed; the middleware then answers with the refusal.
        case streamed
    }

    /// `MalformedPOSTRequest` (400): S3's answer to a body that is not the `multipart/form-data` it declares.
    public static let malformedPOSTRequest = VerificationFailure.Code("MalformedPOSTRequest", httpStatus: 400)

    /// True for a browser-form upload: a POST of `multipart/form-data` without an `Authorization`
    /// header or presign parameters (which are verified as any other signed request).
    public static func isBrowserFormUpload(_ request: Request) -> Bool {
        guard request.method == .post, request.headers[.authorization] == nil,
            let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data")
        else { return false }
        let query = request.uri.query?.lowercased() ?? ""
        return !query.contains("x-amz-signature=") && !query.contains("x-amz-credential=")
    }

    /// The bucket a form is posted to: the `Host`'s under the policy's
    /// ``VerificationPolicy/virtualHostedStyle`` (the path must then be `/`), else the path's only
    /// segment (`/bucket` or `/bucket/`). `InvalidRequest` for an object's URL, `InvalidBucketName`
    /// for a name that is not a bucket's.
    public static func bucket(of request: Request, policy: VerificationPolicy) throws(VerificationFailure) -> String {
        try bucket(path: request.uri.path, host: request.head.authority, policy: policy)
    }

    /// ``bucket(of:policy:)`` from a request's path (without its query) and `Host`.
    public static func bucket(path: String, host: String?, policy: VerificationPolicy) throws(VerificationFailure)
        -> String
    {
        if let addressing = policy.virtualHostedStyle, let host, let bucket = try addressing.bucket(host: host) {
            guard path == "/" || path.isEmpty else { throw notToBucket() }
            return bucket
        }
        // `/bucket` or `/bucket/`: a path without its leading `/` (`xphotos`) names no bucket.
        guard path.hasPrefix("/") else { throw notToBucket() }
        var name = path.dropFirst()
        if name.hasSuffix("/") { name = name.dropLast() }
        guard !name.isEmpty, !name.contains("/") else { throw notToBucket() }
        guard VirtualHostedStyle.isValidBucketName(String(name)) else {
            throw VerificationFailure(.invalidBucketName, "The specified bucket is not valid.")
        }
        return String(name)
    }

    static func notToBucket() -> VerificationFailure {
        VerificationFailure(.invalidRequest, "A browser-form upload is posted to the bucket's URL, not to an object's.")
    }

    /// Reads the form: the body (at most the file limit plus the field limit, else `EntityTooLarge`),
    /// split at its boundary; the fields before the part named `file`, and that part (S3 ignores
    /// parts after it, and so does this). `MalformedPOSTRequest` for a body that cannot be read as
    /// `multipart/form-data`, `InvalidArgument` for a form without a file.
    public static func read(_ request: Request, limits: Limits) async throws(VerificationFailure) -> BrowserFormUpload {
        let limit = limits.bodyLimit
        if let declared = request.headers[.contentLength].flatMap({ ByteParsing.length($0) }), declared > limit {
            throw VerificationFailure(
                .entityTooLarge,
                "Your proposed upload exceeds the maximum allowed size: its body is \(declared) bytes "
                    + "(Content-Length), more than the \(limit) bytes a form may have (a file of at most "
                    + "\(limits.maxFileBytes) bytes and \(limits.maxFieldBytes) bytes of fields)",
                details: [.init("MaxSizeAllowed", String(limits.maxFileBytes))])
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw VerificationFailure(
                .entityTooLarge, "Your proposed upload exceeds the maximum allowed size",
                details: [.init("MaxSizeAllowed", String(limits.maxFileBytes))])
        }
        return try parse(body, contentType: request.headers[.contentType] ?? "", limits: limits)
    }

    /// `EntityTooLarge` for a file over `maxFile` bytes: with its size when known, else (a file refused as
    /// its bytes passed the limit) "more than `maxFile` bytes" (``VerifiedPostForm/fileTooLarge(maximum:size:)``).
    static func tooLarge(_ maxFile: Int, fileSize: Int64?) -> VerificationFailure {
        VerifiedPostForm.fileTooLarge(maximum: Int64(maxFile), size: fileSize)
    }

    /// ``read(_:limits:)`` on a body already in memory (`contentType`: the request's `Content-Type`):
    /// RFC 7578's `multipart/form-data`, read as RFC 2046 frames it. The boundary is 1 to 200 bytes of
    /// visible ASCII or spaces; the body is an ignored preamble, `--boundary` at its start or after a
    /// CRLF, then parts, each after `CRLF--boundary` (spaces or tabs and a CRLF after it, or `--` to
    /// close); a part is header lines (a token, `:`, a value; CRLF line ends) and an empty line, then
    /// its content. The fields are the parts before the one named `file` (each a `form-data`
    /// `Content-Disposition` with a name, its content UTF-8, at most ``Limits/maxFields`` of them and
    /// ``Limits/maxFieldBytes`` of names and values); what follows the file part's closing delimiter is
    /// ignored. `MalformedPOSTRequest` for anything else, `InvalidArgument` for a form without a file,
    /// `EntityTooLarge` for a file over ``Limits/maxFileBytes``. The file is a slice of `body` (no copy).
    public static func parse(_ body: ByteBuffer, contentType: String, limits: Limits) throws(VerificationFailure)
        -> BrowserFormUpload
    {
        let delimiter = try delimiter(contentType: contentType)
        let read = body.withUnsafeReadableBytes { bytes in
            Result { () throws(VerificationFailure) in
                try readForm(bytes, delimiter: delimiter, limits: limits)
            }
        }
        let form = try read.get()
        guard let file = body.getSlice(at: body.readerIndex + form.file.lowerBound, length: form.file.count) else {
            preconditionFailure("the file's range is inside the body")
        }
        return BrowserFormUpload(form: PostForm(fields: form.fields, filename: form.filename), file: file)
    }

    /// `CRLF--boundary` for a `Content-Type`'s boundary: 1 to 200 visible ASCII characters or spaces,
    /// else `MalformedPOSTRequest`.
    static func delimiter(contentType: String) throws(VerificationFailure) -> [UInt8] {
        guard let boundary = headerParameters(contentType)["boundary"], (1...200).contains(boundary.utf8.count),
            boundary.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f })
        else {
            throw malformed("no boundary of 1 to 200 visible ASCII characters")
        }
        return Array("\r\n--\(boundary)".utf8)
    }

    static func malformed(_ why: String) -> VerificationFailure {
        VerificationFailure(
            malformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data: \(why).")
    }

    /// The fields, the file's name and the file's range in `body` (``parse(_:contentType:limits:)``).
    /// `delimiter` is `CRLF--boundary`, its boundary without a CR.
    static func readForm(_ body: UnsafeRawBufferPointer, delimiter: [UInt8], limits: Limits) throws(VerificationFailure)
        -> (fields: [(String, String)], filename: String?, file: Range<Int>)
    {
        let framing = MultipartFraming(body: body, delimiter: delimiter, whole: true)
        do throws(MultipartFraming.Stop) {
            let head = try framing.readHead(limits: limits)
            let start = head.contentStart
            guard let end = framing.find(from: start) else { throw framing.malformed("a part does not end with the boundary") }
            // S3 ignores what follows the file part; its delimiter is checked as any other.
            var i = end + delimiter.count
            _ = try framing.afterDelimiter(&i)
            guard end - start <= limits.maxFileBytes else {
                throw .failure(tooLarge(limits.maxFileBytes, fileSize: Int64(end - start)))
            }
            return (head.fields, head.filename, start..<end)
        } catch {
            switch error {
            case .failure(let failure): throw failure
            case .short: preconditionFailure("a whole body is never short")
            }
        }
    }

    /// True for the bytes `Content-Disposition`, ASCII case ignored.
    static func isContentDisposition(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        let lowercase: StaticString = "content-disposition"
        return VerificationRequest.equalsIgnoringCase(
            name, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount))
    }

    /// The `;`-separated `name=value` parameters of a header value (`multipart/form-data;
    /// boundary=x`, `form-data; name="a"; filename="b.txt"`), names lowercased, quoted values
    /// unquoted (`\"` and `\\` read as `"` and `\`, any other `\` kept); the first of a repeated name counts.
    static func headerParameters(_ value: String) -> [String: String] {
        var out: [String: String] = [:]
        var bytes = value.utf8[...]
        func skipSpace() { bytes = bytes.drop { $0 == 0x20 || $0 == 0x09 } }
        // The first element (the type or disposition) has no `=`.
        while let semicolon = bytes.firstIndex(of: UInt8(ascii: ";")) {
            bytes = bytes[bytes.index(after: semicolon)...]
            skipSpace()
            let name = bytes.prefix { $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: ";") }
            bytes = bytes[name.endIndex...]
            guard bytes.first == UInt8(ascii: "=") else { continue }
            bytes = bytes.dropFirst()
            var parameter: [UInt8] = []
            if bytes.first == UInt8(ascii: "\"") {
                bytes = bytes.dropFirst()
                while let b = bytes.first, b != UInt8(ascii: "\"") {
                    bytes = bytes.dropFirst()
                    // `\` escapes a quote or a backslash only: browsers send `C:\fakepath\x` as it is.
                    if b == UInt8(ascii: "\\"), let next = bytes.first, next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") {
                        parameter.append(next)
                        bytes = bytes.dropFirst()
                    } else {
                        parameter.append(b)
                    }
                }
                bytes = bytes.dropFirst()
            } else {
                parameter = Array(bytes.prefix { $0 != UInt8(ascii: ";") && $0 != 0x20 && $0 != 0x09 })
                bytes = bytes.dropFirst(parameter.count)
            }
            let trimmed = name.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            let key = String(decoding: trimmed.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
            if out[key] == nil { out[key] = String(decoding: parameter, as: UTF8.self) }
        }
        return out
    }
}
