import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSigV4
import MultipartKit
import NIOCore
import SigV4
import SigV4AsyncHTTPClient
import SigV4Verifier

/// Browser-form uploads (S3's POST Object): a `multipart/form-data` POST to a bucket whose fields
/// carry a SigV4-signed POST policy (`generate_presigned_post`, an HTML form). The gateway reads the
/// form (at most `maxBufferedBody` of file, so nothing reaches the upstream before the policy and the
/// file's length are checked), verifies it with `Verifier.verifyPostForm`, and stores the file with a
/// `PUT /bucket/key` upstream, the form's object settings as its headers.
extension Gateway {
    /// `MalformedPOSTRequest`: S3's answer to a body that is not `multipart/form-data` as declared.
    static let malformedPOSTRequest = VerificationFailure.Code("MalformedPOSTRequest", httpStatus: 400)
    /// The most form fields (parts before the file) read.
    static let maxFormFields = 1_000
    /// Bytes of form fields (beside the file) a body may carry.
    static let maxFormFieldBytes = 1 << 20

    /// True for a browser-form upload: a POST of `multipart/form-data` without an `Authorization`
    /// header or presign parameters (which are verified as any other signed request).
    static func isBrowserFormUpload(_ request: Request) -> Bool {
        guard request.method == .post, request.headers[.authorization] == nil,
            let type = request.headers[.contentType], type.lowercased().hasPrefix("multipart/form-data")
        else { return false }
        let query = request.uri.query?.lowercased() ?? ""
        return !query.contains("x-amz-signature=") && !query.contains("x-amz-credential=")
    }

    /// Verifies and stores a browser-form upload; returns the response and, for the access log, the
    /// verified form.
    func postUpload(_ request: Request, authenticator: SigV4Authenticator<BasicSigV4RequestContext>) async
        -> (Response, VerifiedPostForm?)
    {
        let format = authenticator.configuration.errorFormat
        func refuse(_ failure: VerificationFailure) -> (Response, VerifiedPostForm?) {
            (format.response(for: failure, requestID: authenticator.configuration.requestID(), resource: request.uri.path), nil)
        }
        do throws(VerificationFailure) {
            let bucket = try Self.postBucket(request, policy: authenticator.verifier.policy)
            let maxFile = min(maxBufferedBody, authenticator.configuration.maxBodySize ?? Int.max)
            let limit = maxFile + Self.maxFormFieldBytes
            if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
                throw Self.tooLarge(maxFile)
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: limit)
            } catch {
                throw Self.tooLarge(maxFile)
            }
            let form = try Self.readForm(body, contentType: request.headers[.contentType] ?? "")
            // The body limit leaves room for the fields; the file itself is held to maxFile.
            guard form.file.readableBytes <= maxFile else { throw Self.tooLarge(maxFile) }
            let verified: VerifiedPostForm
            switch await authenticator.verifier.verifyPostForm(form.fields, bucket: bucket, now: authenticator.configuration.clock()) {
            case .success(let v): verified = v
            case .failure(let failure): throw failure
            }
            try verified.checkContentLength(Int64(form.file.readableBytes))
            // The key (the file's name in it) is the client's, not a signed path: below a path prefix
            // its dot segments are refused as a request path's are (`Upstream.refuses`).
            if let upstream, upstream.refuses(verified.pathStyleTarget) {
                throw VerificationFailure(
                    .invalidRequest, "A key with '.' or '..' segments cannot be stored below the upstream's path prefix")
            }
            do {
                return (try await storePostUpload(request, verified: verified, file: form.file), verified)
            } catch let failure as VerificationFailure {
                throw failure
            } catch {
                return (Self.badGateway(), verified)
            }
        } catch {
            return refuse(error)
        }
    }

    static func tooLarge(_ maxFile: Int) -> VerificationFailure {
        VerificationFailure(
            .entityTooLarge, "Your proposed upload exceeds the maximum allowed size",
            details: [.init("MaxSizeAllowed", String(maxFile))])
    }

    /// The bucket a form is posted to: the `Host`'s under `--virtual-host-domain` (the path must be
    /// `/`), else the path's only segment (`/bucket` or `/bucket/`).
    static func postBucket(_ request: Request, policy: VerificationPolicy) throws(VerificationFailure) -> String {
        let path = request.uri.path
        if let addressing = policy.virtualHostedStyle,
            let host = request.head.authority,
            let bucket = try addressing.bucket(host: host)
        {
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

    /// A form read from a `multipart/form-data` body: the fields before the part named `file`, and
    /// that part's bytes (S3 ignores parts after it, and so does the gateway).
    struct ReadForm {
        var fields: PostForm
        var file: ByteBuffer
    }

    static func readForm(_ body: ByteBuffer, contentType: String) throws(VerificationFailure) -> ReadForm {
        func malformed(_ why: String) -> VerificationFailure {
            VerificationFailure(
                malformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data: \(why).")
        }
        let parameters = Self.headerParameters(contentType)
        guard let boundary = parameters["boundary"], (1...200).contains(boundary.utf8.count) else {
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
            let directives = Self.headerParameters(disposition)
            guard disposition.lowercased().hasPrefix("form-data"), let name = directives["name"] else {
                problem = "a part is not form-data with a name"
                return
            }
            if name.lowercased() == "file" {
                file = (directives["filename"], part)
                return
            }
            fieldBytes += name.utf8.count + part.readableBytes
            guard fields.count < maxFormFields, fieldBytes <= maxFormFieldBytes else {
                problem = "more than \(maxFormFields) fields or \(maxFormFieldBytes) bytes of them"
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
        return ReadForm(fields: PostForm(fields: fields, filename: file.name), file: file.bytes)
    }

    /// The `;`-separated `name=value` parameters of a header value (`multipart/form-data;
    /// boundary=x`, `form-data; name="a"; filename="b.txt"`), names lowercased, quoted values
    /// unquoted (`\` escapes the next character).
    static func headerParameters(_ value: String) -> [String: String] {
        var out: [String: String] = [:]
        var bytes = value.utf8[...]
        // The first element (the type or disposition) has no `=`.
        func skipSpace() { bytes = bytes.drop { $0 == 0x20 || $0 == 0x09 } }
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
                    if b == UInt8(ascii: "\\"), let next = bytes.first {
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
            let key = asciiLowercased(name.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed())
            if out[key] == nil { out[key] = String(decoding: parameter, as: UTF8.self) }
        }
        return out
    }

    /// Form fields that become headers of the upstream `PUT` (S3's object settings), with those of
    /// ``isPostObjectSetting(_:)``. `acl` goes as `x-amz-acl`. Other fields (`success_action_status`,
    /// `success_action_redirect`, `tagging`, other `x-amz-*` ones, …) are not forwarded.
    static let postHeaderFields: Set<String> = [
        "content-type", "cache-control", "content-disposition", "content-encoding", "content-language", "expires",
        "x-amz-storage-class", "x-amz-website-redirect-location",
    ]

    /// True for the `x-amz-*` fields S3's POST Object takes as object settings beside
    /// ``postHeaderFields``: `x-amz-meta-*`, `x-amz-server-side-encryption*`, `x-amz-checksum-*`.
    /// Other `x-amz-*` headers would make the upstream `PUT` another operation (`x-amz-copy-source`:
    /// a copy of an object the key's scope never saw) or claim something of the body the gateway
    /// did not check (`x-amz-content-sha256`), so they are not forwarded.
    static func isPostObjectSetting(_ lowercaseName: String) -> Bool {
        postHeaderFields.contains(lowercaseName)
            || ["x-amz-meta-", "x-amz-server-side-encryption", "x-amz-checksum-"].contains { lowercaseName.hasPrefix($0) }
    }

    /// `PUT /bucket/key` upstream with the file, or the verified form as JSON in echo mode; then S3's
    /// answer to a form: a redirect, or the `success_action_status` (204 by default; 201 with a
    /// `PostResponse` document).
    func storePostUpload(_ request: Request, verified: VerifiedPostForm, file: ByteBuffer) async throws -> Response {
        guard let upstream, let httpClient else {
            var body = ByteBuffer()
            EchoObject.write(to: &body) { object in
                object.member("method", "POST")
                object.member("bucket", verified.bucket)
                object.member("key", verified.key)
                object.member("body_bytes", String(file.readableBytes))
                object.member("access_key_id", verified.accessKeyID)
                object.member("principal", verified.principal)
                object.member("region", verified.scope.region)
                object.member("service", verified.scope.service)
                object.member("signed_at", date: verified.signedAt)
                object.member("form", "true")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
        }
        let target = Self.wireTarget(verified.pathStyleTarget)
        var outbound = HTTPClientRequest(url: upstream.url(forTarget: target))
        outbound.method = .PUT
        var status = 204
        var redirect: String? = nil
        for field in verified.objectFields {
            let name = field.name.lowercased()
            if Self.isPostObjectSetting(name) {
                outbound.headers.add(name: field.name, value: field.value)
            } else if name == "acl" {
                outbound.headers.add(name: "x-amz-acl", value: field.value)
            } else if name == "success_action_status", let code = Int(field.value), [200, 201, 204].contains(code) {
                status = code
            } else if name == "success_action_redirect" || name == "redirect",
                field.value.hasPrefix("http://") || field.value.hasPrefix("https://")
            {
                redirect = field.value
            }
        }
        outbound.headers.add(name: "X-SigV4-Access-Key-Id", value: verified.accessKeyID)
        outbound.headers.add(name: "X-SigV4-Principal", value: verified.principal)
        outbound.headers.replaceOrAdd(name: "Content-Length", value: String(file.readableBytes))
        if let upstreamCredentials {
            let signer = Signer(
                credentials: upstreamCredentials, region: verified.scope.region, service: verified.scope.service)
            try outbound.sign(with: signer, payload: .sha256(of: file.readableBytesView), at: AmzDate(Date()))
        }
        outbound.body = .bytes(file)
        let stored = try await httpClient.execute(outbound, timeout: upstreamTimeout)
        guard (200..<300).contains(Int(stored.status.code)) else {
            // The upstream's refusal, as it gave it.
            var headers = HTTPFields()
            for (name, value) in stored.headers where !Self.droppedResponseHeaders.contains(name.lowercased()) {
                if let fieldName = HTTPField.Name(name) { headers.append(HTTPField(name: fieldName, value: value)) }
            }
            return Response(
                status: HTTPResponse.Status(code: Int(stored.status.code)), headers: headers,
                body: ResponseBody(asyncSequence: stored.body))
        }
        let etag = stored.headers.first(name: "etag") ?? ""
        _ = try await stored.body.collect(upTo: 1 << 20)
        let host = request.head.authority ?? ""
        let location = "http://\(host)\(Self.wireTarget(verified.pathStyleTarget))"
        var headers = HTTPFields()
        if !etag.isEmpty { headers[.eTag] = etag }
        headers[.location] = location
        if let redirect {
            let query = [("bucket", verified.bucket), ("key", verified.key), ("etag", etag)]
                .map { "\($0.0)=\(URIEncoding.encode($0.1))" }.joined(separator: "&")
            headers[.location] = redirect + (redirect.contains("?") ? "&" : "?") + query
            return Response(status: .seeOther, headers: headers)
        }
        guard status == 201 else { return Response(status: HTTPResponse.Status(code: status), headers: headers) }
        func x(_ s: String) -> String { VerificationFailure.xmlEscape(s) }
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <PostResponse><Location>\(x(location))</Location><Bucket>\(x(verified.bucket))</Bucket>\
            <Key>\(x(verified.key))</Key><ETag>\(x(etag))</ETag></PostResponse>
            """
        headers[.contentType] = "application/xml"
        return Response(status: .created, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: xml)))
    }
}
