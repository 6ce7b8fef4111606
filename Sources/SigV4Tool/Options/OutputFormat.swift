import ArgumentParser
import HTTPTypes
import SigV4
import SigV4CommandLine

/// How `sign` prints its result.
///
/// ```
/// sigv4 sign URL … --format json     # every stage plus the headers to add
/// sigv4 sign URL … --format headers  # Name: value lines (the URL when presigning)
/// sigv4 sign URL … --format curl     # a runnable curl command
/// sigv4 sign URL … --format http     # the raw HTTP/1.1 request with its body
/// ```
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case json, headers, curl, http

    /// Renders `signed` (from `spec`) in this format.
    func render(_ signed: SignedView, spec: RequestSpec) throws(CLIError) -> [UInt8] {
        switch self {
        case .json: return Array((OutputFormat.json(signed, spec: spec) + "\n").utf8)
        case .headers:
            if signed.expires != nil { return Array((signed.url + "\n").utf8) }
            return Array(signed.addedHeaders.map { "\($0.name.rawName): \($0.value)\n" }.joined().utf8)
        case .curl: return Array((try OutputFormat.curlCommand(signed, spec: spec) + "\n").utf8)
        case .http: return try OutputFormat.http(signed, spec: spec)
        }
    }

    static func json(_ signed: SignedView, spec: RequestSpec) -> String {
        TextFormatting.JSON.object(jsonFields(signed, spec: spec)).render()
    }

    static func jsonFields(_ signed: SignedView, spec: RequestSpec) -> [(String, TextFormatting.JSON)] {
        typealias J = TextFormatting.JSON
        let signedHeaders = signed.canonicalRequest.signedHeaders
        var fields: [(String, J)] = [
            ("canonical_request", .string(signed.canonicalRequest.text)),
            ("string_to_sign", .string(signed.stringToSign)),
            ("signature", .string(signed.signatureHex)),
            ("authorization", signed.authorization.map { J.string($0) } ?? .null),
            ("headers", .array(signed.addedHeaders.map { J.array([.string($0.name.rawName), .string($0.value)]) })),
            ("url", .string(signed.url)),
            ("method", .string(spec.method)),
            ("credential_scope", .string(signed.scope)),
            ("signed_headers", .string(signedHeaders)),
            ("amz_date", .string(signed.date.iso8601Basic)),
        ]
        if let expires = signed.expires { fields.append(("expires", .int(expires))) }
        if let algorithm = signed.algorithm { fields.append(("algorithm", .string(algorithm))) }
        if let regionSet = signed.regionSet { fields.append(("region_set", .string(regionSet))) }
        if let key = signed.publicKey {
            fields.append(("public_key", .object([("x", .string(key.x)), ("y", .string(key.y))])))
        }
        return fields
    }

    /// Refuses a request no curl command line sends as signed: a HEAD with a body (`--data`, even empty,
    /// `--data-file`, or an aws-chunked body). curl refuses `--head` with data ("You can only select one
    /// HTTP request method!"), and with `-X HEAD` it sends the body and then waits for a response body
    /// that a HEAD reply never has. `--format json`, `headers` and `http` still sign such a request.
    static func checkCurlCanSend(_ spec: RequestSpec, chunked: Bool) throws(CLIError) {
        try checkCurlSendsHost(spec.url)
        guard spec.method == "HEAD" else { return }
        if case .none = spec.body, !chunked { return }
        throw .usage(
            "--format curl cannot send HEAD with a request body (curl refuses --head with data, and -X HEAD with data waits for a response body that never comes)",
            hint: "drop --data/--data-file/--chunked, or use --format http")
    }

    /// Refuses (usage) a host curl would not send as written (``RawURL/curlHost``): the signed `Host`
    /// would not be the one sent, or curl would send nothing.
    static func checkCurlSendsHost(_ url: RawURL) throws(CLIError) {
        let unsent = ", so the signed Host would not be the one sent"
        switch url.curlHost {
        case .asWritten:
            return
        case .rewritten(let sent):
            throw .usage(
                "curl rewrites the host '\(url.host)' to '\(sent)' before sending it" + unsent,
                hint: "write the host as curl sends it: \(sent)")
        case .percentDecoded:
            throw .usage(
                "curl rewrites the host '\(url.host)' (it percent-decodes a host name) before sending it" + unsent,
                hint: "write the host without percent-encoding")
        case .refused(let reason):
            throw .usage(
                "curl refuses the host '\(url.host)' (\(reason)) and would send no request",
                hint: "check the host name")
        }
    }

    /// `curl` with the signing headers (or the presigned URL). Uses --path-as-is and --globoff so curl
    /// sends the target byte for byte. A HEAD is written `--head` (curl's `-X HEAD` waits for a body).
    static func curlCommand(_ signed: SignedView, spec: RequestSpec) throws(CLIError) -> String {
        try checkCurlCanSend(spec, chunked: false)
        var args = ["curl", "-q", "--path-as-is", "--globoff"]
        let hasBody = !spec.body.isEmpty
        if spec.method == "HEAD" {
            args.append("--head")
        } else if spec.method != (hasBody ? "POST" : "GET") {
            args += ["-X", spec.method]
        }
        for (name, value) in spec.headers { args += ["-H", curlHeader(name, value)] }
        for field in signed.addedHeaders { args += ["-H", curlHeader(field.name.rawName, field.value)] }
        switch spec.body {
        case .none: break
        case .bytes(let bytes):
            guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
                throw .usage("the body is binary and cannot be written into a curl command", hint: "use --data-file")
            }
            if !spec.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                args += ["-H", "Content-Type:"]  // curl would add application/x-www-form-urlencoded
            }
            args += ["--data-raw", text]
        case .file(let path):
            if !spec.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                args += ["-H", "Content-Type:"]
            }
            args += ["--data-binary", "@" + path]
        }
        args.append(signed.url)
        return args.map(TextFormatting.shellQuote).joined(separator: " ")
    }

    /// The `-H` argument that makes curl send `name: value`. curl reads `Name:` with nothing after the colon
    /// (spaces aside) as "remove this header", so an empty value is written `Name;`, curl's form for a header
    /// sent empty; `Name: ` would leave a signed header out of the request.
    static func curlHeader(_ name: String, _ value: String) -> String {
        value.isEmpty ? "\(name);" : "\(name): \(value)"
    }

    /// The raw HTTP/1.1 request: request line, Host, headers, signing headers, Content-Length, body.
    static func http(_ signed: SignedView, spec: RequestSpec) throws(CLIError) -> [UInt8] {
        let body = try spec.bodyBytes()
        var text = "\(spec.method) \(signed.request.path ?? "/") HTTP/1.1\r\n"
        if !spec.headers.contains(where: { $0.0.lowercased() == "host" }) {
            text += "Host: \(spec.url.hostHeader)\r\n"
        }
        for (name, value) in spec.headers { text += "\(name): \(value)\r\n" }
        for field in signed.addedHeaders { text += "\(field.name.rawName): \(field.value)\r\n" }
        let hasLength = spec.headers.contains { $0.0.lowercased() == "content-length" }
        if !hasLength && (!body.isEmpty || ["POST", "PUT", "PATCH"].contains(spec.method)) {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + body
    }
}

/// What the output formats print of a signed request, from a SigV4 ``SignedRequest`` or a SigV4a
/// ``SigV4aSignedRequest``.
struct SignedView {
    var request: HTTPRequest
    var canonicalRequest: CanonicalRequest
    var stringToSign: String
    var signatureHex: String
    var authorization: String?
    var addedHeaders: [HTTPField]
    var url: String
    var scope: String
    var date: AmzDate
    var expires: Int?
    /// SigV4a only: the algorithm, the region set and the derived public key (never the secret).
    var algorithm: String?
    var regionSet: String?
    var publicKey: (x: String, y: String)?

    init(_ signed: SignedRequest) {
        request = signed.request
        canonicalRequest = signed.canonicalRequest
        stringToSign = signed.stringToSign.text
        signatureHex = signed.signature.hex
        authorization = signed.authorization
        addedHeaders = signed.addedHeaders
        url = signed.url
        scope = signed.scope.description
        date = signed.date
        expires = signed.expires
    }

    init(_ signed: SigV4aSignedRequest, signer: SigV4aSigner) {
        request = signed.request
        canonicalRequest = signed.canonicalRequest
        stringToSign = signed.stringToSign
        signatureHex = signed.signatureHex
        authorization = signed.authorization
        addedHeaders = signed.addedHeaders
        url = signed.url
        scope = "\(signed.date.dateStamp)/\(signer.service)/aws4_request"
        date = signed.date
        expires = signed.expires
        algorithm = SigV4aSigner.algorithm
        regionSet = signer.regionSetValue
        publicKey = signer.signingKey.publicKeyHex
    }
}
