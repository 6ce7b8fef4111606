import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdSigV4
import NIOCore
import SigV4
import SigV4AsyncHTTPClient
import SigV4CommandLine
import SigV4Verifier

/// Browser-form uploads (S3's POST Object): the middleware (`SigV4Authenticator` with
/// `browserForms` set, files `.streamed`) reads the `multipart/form-data` fields, verifies them with
/// `Verifier.verifyPostForm` before reading the file, and hands over the file as it arrives, checked
/// against the policy's length range; the gateway reads it whole (in memory up to
/// `--max-buffered-body`, then in an unlinked spool file, up to `--max-body-size`), so nothing reaches
/// the upstream before every check passed, and stores it with a `PUT /bucket/key` upstream of known
/// length, the form's object settings as its headers.
extension Gateway {
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

    /// The first of `fields` that goes upstream as a header (``isPostObjectSetting(_:)``, `acl`) and
    /// cannot be one: its name is not an HTTP token, or its value holds a control byte other than a tab.
    static func unsendableSetting(_ fields: [PresignedPost.Field]) -> PresignedPost.Field? {
        fields.first { field in
            let name = PresignedPost.fieldName(field.name)
            guard isPostObjectSetting(name) || name == "acl" else { return false }
            return HTTPField.Name(field.name) == nil
                || field.value.utf8.contains { $0 != 0x09 && ($0 < 0x20 || $0 == 0x7f) }
        }
    }

    /// `PUT /bucket/key` upstream with the file, or the verified form as JSON in echo mode; then S3's
    /// answer to a form: a redirect, or the `success_action_status` (204 by default; 201 with a
    /// `PostResponse` document). The file (`request.body`) is read whole first; its refusal (thrown
    /// by the body) goes back to the middleware, and nothing is sent upstream.
    func storePostUpload(
        _ request: Request, verified: VerifiedPostForm, forwarding: TrustedProxies.Forwarding
    ) async throws -> Response {
        // Before the file is read: a setting that cannot be a header of the upstream `PUT` (a name
        // that is not a token, a value with a line break or another control byte) is the client's
        // error, not the upstream's.
        if let field = Self.unsendableSetting(verified.objectFields) {
            let name = String(field.name.prefix(128))
            let failure = VerificationFailure(
                .invalidArgument, "The form field '\(name)' cannot be stored as an object setting.",
                details: [.init("ArgumentName", name)])
            return (authenticator?.configuration.errorFormat ?? .s3XML).response(
                for: failure, requestID: authenticator?.configuration.requestID(), resource: request.uri.path)
        }
        // The key (the file's name in it) is the client's, not a signed path: below a path prefix
        // its dot segments are refused as a request path's are (`Upstream.refuses`).
        if let upstream, upstream.refuses(verified.pathStyleTarget) {
            let failure = VerificationFailure(
                .invalidRequest, "A key with '.' or '..' segments cannot be stored below the upstream's path prefix")
            return (authenticator?.configuration.errorFormat ?? .s3XML).response(
                for: failure, requestID: authenticator?.configuration.requestID(), resource: request.uri.path)
        }
        guard let upstream, let httpClient else {
            var bytes: Int64 = 0
            for try await piece in request.body { bytes += Int64(piece.readableBytes) }
            var body = ByteBuffer()
            EchoObject.write(to: &body) { object in
                object.member("method", "POST")
                object.member("bucket", verified.bucket)
                object.member("key", verified.key)
                object.member("body_bytes", String(bytes))
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
        let file: SpooledBody
        do {
            file = try await SpooledBody.read(
                request.body, memoryLimit: maxBufferedBody, directory: spoolDirectory, hashing: upstreamCredentials != nil)
        } catch let spool as SpoolFile.SpoolError {
            // The gateway's own disk (the directory gone, full): S3's answer to a failure of its own.
            accessLog.error("spool failed", metadata: ["error": "\(spool)"])
            let failure = VerificationFailure(.internalError, "We encountered an internal error holding your upload. Please try again.")
            return (authenticator?.configuration.errorFormat ?? .s3XML).response(
                for: failure, requestID: authenticator?.configuration.requestID(), resource: request.uri.path)
        }
        let target = Self.wireTarget(verified.pathStyleTarget)
        var outbound = HTTPClientRequest(url: upstream.url(forTarget: target))
        outbound.tlsConfiguration = upstreamTLS?.requestConfiguration
        outbound.method = .PUT
        var status = 204
        var redirect: String? = nil
        for field in verified.objectFields {
            let name = PresignedPost.fieldName(field.name)
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
        Self.addForwardingHeaders(&outbound.headers, forwarding)
        outbound.headers.replaceOrAdd(name: "Content-Length", value: String(file.length))
        if let upstreamCredentials, let sha256 = file.sha256 {
            let signer = Signer(
                credentials: upstreamCredentials, region: verified.scope.region, service: verified.scope.service)
            try outbound.sign(with: signer, payload: PayloadHash(sha256), at: AmzDate(Date()))
        }
        switch file.storage {
        case .memory(let bytes): outbound.body = .bytes(bytes)
        case .file(let spool): outbound.body = .stream(SpoolFile.Chunks(file: spool, length: file.length), length: .known(file.length))
        }
        let stored = try await httpClient.execute(outbound, deadline: Self.upstreamDeadline)
        guard (200..<300).contains(Int(stored.status.code)) else {
            // The upstream's refusal, as it gave it (its hop-by-hop headers dropped, as for any answer).
            return try relay(stored, path: request.head.path ?? "/")
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
