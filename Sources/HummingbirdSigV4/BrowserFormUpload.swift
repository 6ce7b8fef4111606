public import Hummingbird
import MultipartKit
public import SigV4
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
        let limit = limits.maxFileBytes + limits.maxFieldBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw tooLarge(limits.maxFileBytes)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            throw tooLarge(limits.maxFileBytes)
        }
        let upload = try parse(body, contentType: request.headers[.contentType] ?? "", limits: limits)
        guard upload.file.readableBytes <= limits.maxFileBytes else { throw tooLarge(limits.maxFileBytes) }
        return upload
    }

    static func tooLarge(_ maxFile: Int) -> VerificationFailure {
        VerificationFailure(
            .entityTooLarge, "Your proposed upload exceeds the maximum allowed size",
            details: [.init("MaxSizeAllowed", String(maxFile))])
    }

    /// ``read(_:limits:)`` on a body already in memory (`contentType`: the request's `Content-Type`).
    public static func parse(_ body: ByteBuffer, contentType: String, limits: Limits) throws(VerificationFailure)
        -> BrowserFormUpload
    {
        func malformed(_ why: String) -> VerificationFailure {
            VerificationFailure(
                malformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data: \(why).")
        }
        guard let boundary = headerParameters(contentType)["boundary"], (1...200).contains(boundary.utf8.count) else {
            throw malformed("no boundary")
        }
        let parser = MultipartParser(boundary: boundary)
        var fields: [(String, String)] = []
        var fieldBytes = 0
        var headers: [(String, String)] = []
        var part = ByteBuffer()
        var file: (name: String?, bytes: ByteBuffer)? = nil
        var problem: String? = nil
        parser.onHeader = { name, value in headers.append((name, value)) }
        parser.onBody = { chunk in
            guard file == nil, problem == nil else { return }
            part.writeBuffer(&chunk)
        }
        parser.onPartComplete = {
            defer {
                headers = []
                part = ByteBuffer()
            }
            guard file == nil, problem == nil else { return }
            guard let disposition = headers.first(where: { $0.0.lowercased() == "content-disposition" })?.1 else {
                problem = "a part has no Content-Disposition"
                return
            }
            let directives = headerParameters(disposition)
            let type = disposition.prefix { $0 != ";" }.trimmingASCIISpaces.lowercased()
            guard type == "form-data", let name = directives["name"] else {
                problem = "a part is not form-data with a name"
                return
            }
            if PresignedPost.fieldName(name) == "file" {
                file = (directives["filename"], part)
                return
            }
            fieldBytes += name.utf8.count + part.readableBytes
            guard fields.count < limits.maxFields, fieldBytes <= limits.maxFieldBytes else {
                problem = "more than \(limits.maxFields) fields or \(limits.maxFieldBytes) bytes of them"
                return
            }
            guard let value = part.getString(at: part.readerIndex, length: part.readableBytes),
                value.utf8.elementsEqual(part.readableBytesView)
            else {
                problem = "the field '\(name.prefix(64))' is not UTF-8"
                return
            }
            fields.append((name, value))
        }
        do {
            try parser.execute(body)
        } catch {
            throw malformed("a part's head cannot be read")
        }
        if let problem { throw malformed(problem) }
        guard let file else {
            throw VerificationFailure(
                .invalidArgument, "POST requires exactly one file upload per request.",
                details: [.init("ArgumentName", "file"), .init("ArgumentValue", "0")])
        }
        return BrowserFormUpload(form: PostForm(fields: fields, filename: file.name), file: file.bytes)
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

extension Substring {
    /// Without leading and trailing spaces and tabs.
    fileprivate var trimmingASCIISpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
