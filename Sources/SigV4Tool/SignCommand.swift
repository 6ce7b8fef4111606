import ArgumentParser
import Foundation
import SigV4
import SigV4CommandLine

/// `sigv4 sign`: signs one request and prints the signing headers, a curl command, the raw
/// HTTP request, or every stage as JSON. With `--presign` it signs in the query string.
struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign a request (Authorization header or, with --presign, a presigned URL).",
        discussion: """
            The URL's path and query are signed byte for byte as given; nothing re-encodes them.

            Examples:
              sigv4 sign https://examplebucket.s3.amazonaws.com/test.txt \\
                  -H 'Range: bytes=0-9' --timestamp 20130524T000000Z --format json
              sigv4 sign https://abc.execute-api.eu-west-1.amazonaws.com/prod/items \\
                  -X POST --data '{"name":"x"}' -H 'Content-Type: application/json' \\
                  --profile dev --format curl
              sigv4 sign https://examplebucket.s3.amazonaws.com/test.txt \\
                  --presign --expires 86400
              sigv4 sign https://api.example.com/v1 --region us-east-1 \\
                  --service execute-api --format http \\
                | sigv4 verify --request - --access-key-id AKID --secret-access-key …
            """)

    @OptionGroup var request: RequestOptions
    @OptionGroup var signing: SigningOptions
    @OptionGroup var presigning: PresignOptions

    @OptionGroup var chunking: ChunkedOptions

    @OptionGroup var events: EventStreamOptions

    @Option(help: "Output: json, headers (default; the URL when presigning), curl or http.")
    var format: OutputFormat = .headers

    @OptionGroup var sigV4a: SigV4aFlags

    @Option(
        name: .customLong("output"),
        help: "With --chunked or --event-stream: write the encoded body to this file ('-' for stdout).")
    var output: String?

    func run() async throws {
        let spec = try request.spec()
        if events.eventStream {
            if chunking.chunked || presigning.presign || spec.payloadOverride != nil || sigV4a.sigv4a {
                throw CLIError.usage(
                    "--event-stream cannot be combined with --chunked, --presign, --payload-hash, --unsigned-payload or --sigv4a")
            }
            try signEventStream(spec, context: try signing.makeContext(for: spec.url))
            return
        }
        try chunking.validate(body: spec.body, payloadOverride: spec.payloadOverride)
        if chunking.chunked && presigning.presign {
            throw CLIError.usage("--chunked cannot be combined with --presign")
        }
        if !chunking.chunked && output != nil { throw CLIError.usage("--output is for --chunked and --event-stream bodies") }
        if format == .curl { try OutputFormat.checkCurlCanSend(spec, chunked: chunking.chunked) }
        try sigV4a.checkUsage()
        let context = try signing.makeContext(for: spec.url, regionSet: sigV4a.sigv4a ? sigV4a.regionSet : nil)
        if chunking.chunked {
            try signChunked(spec, context: context)
            return
        }
        let expires = presigning.presign ? presigning.expires : nil
        let view = try spec.signedView(with: context, sigV4a: try sigV4a.signer(context: context), presignExpires: expires)
        if presigning.presign {
            Presign.warnIfCredentialsExpireFirst(context: context, expires: presigning.expires)
        }
        Console.out(bytes: try format.render(view, spec: spec))
    }

    /// `--event-stream`: signs the seed request (`x-amz-content-sha256: STREAMING-AWS4-HMAC-SHA256-EVENTS`,
    /// `Content-Type: application/vnd.amazon.eventstream` unless one is given), prints its headers (or
    /// JSON, curl, raw HTTP) and writes the envelopes: each message signed at `--timestamp`, then the end.
    func signEventStream(_ given: RequestSpec, context: SigningContext) throws {
        let messages = try EventStreamOptions.messages(of: given.body)
        var spec = given
        spec.body = .none
        spec.payloadOverride = .streamingEvents
        if !spec.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            spec.headers.append(("Content-Type", "application/vnd.amazon.eventstream"))
        }
        spec.headers.removeAll { $0.0.lowercased() == "x-amz-content-sha256" }
        spec.headers.append(("X-Amz-Content-SHA256", PayloadHash.streamingEvents.value))
        let view = try spec.signedView(with: context, sigV4a: nil, presignExpires: nil)
        guard let seed = Signature(hex: view.signatureHex) else { throw CLIError.failure("the seed signature is not hex") }
        var signer = EventStreamSigner(
            credentials: context.signer.credentials, region: context.signer.region, service: context.signer.service,
            seedSignature: seed)
        let milliseconds = context.date.secondsSince1970 * 1000
        var body: [UInt8] = []
        do {
            for message in messages { body += try signer.sign(message, atMilliseconds: milliseconds) }
            body += try signer.signEnd(atMilliseconds: milliseconds)
        } catch {
            throw CLIError.signing(error)
        }
        let signerAdded = view.addedHeaders.map { ($0.name.rawName, $0.value) }
        let added: [(String, String)] =
            signerAdded
            + (signerAdded.contains { $0.0.lowercased() == "x-amz-content-sha256" }
                ? [] : [("X-Amz-Content-SHA256", PayloadHash.streamingEvents.value)])
            + (given.headers.contains { $0.0.lowercased() == "content-type" }
                ? [] : [("Content-Type", "application/vnd.amazon.eventstream")])
            + [("Content-Length", String(body.count))]
        if output == nil && format != .http {
            throw CLIError.usage(
                "--event-stream needs --output FILE for the signed body", hint: "or use --format http to print the whole request")
        }
        try printSeed(
            view, spec: spec, given: given.headers, added: added,
            json: [
                ("messages", .int(messages.count)), ("content_length", .int(body.count)),
                ("seed_signature", .string(view.signatureHex)),
            ], httpContentLength: body.count, option: "--event-stream")
        if let output, output != "-" {
            guard FileManager.default.createFile(atPath: output, contents: Data(body)) else {
                throw CLIError.failure("cannot write --output '\(output)'")
            }
        } else if output == "-" || format == .http {
            FileHandle.standardOutput.write(Data(body))
        }
    }

    /// `--chunked`: prints the seed request's headers (or JSON, curl, raw HTTP) and writes the encoded body.
    func signChunked(_ spec: RequestSpec, context: SigningContext) throws {
        let upload = try chunking.signSeed(
            spec, context: context, sigV4a: try sigV4a.signer(context: context))
        let added = ChunkedOptions.addedHeaders(upload, spec: spec)
        var bodyHandle: FileHandle?
        if let output, output != "-" {
            guard FileManager.default.createFile(atPath: output, contents: nil),
                let handle = FileHandle(forWritingAtPath: output)
            else { throw CLIError.failure("cannot write --output '\(output)'") }
            bodyHandle = handle
        } else if output == "-" || format == .http {
            bodyHandle = FileHandle.standardOutput
        } else {
            throw CLIError.usage(
                "--chunked needs --output FILE for the encoded body",
                hint: "or use --format http to print the whole request")
        }
        try printSeed(
            upload.view, spec: spec, given: spec.headers, added: added,
            json: [
                ("decoded_content_length", upload.decodedContentLength.map { .int($0) } ?? .null),
                ("content_length", upload.encodedContentLength.map { .int($0) } ?? .null),
                ("chunk_size", .int(upload.chunkSize)), ("seed_signature", .string(upload.seedSignature)),
            ], httpContentLength: nil, option: "--chunked")
        if let bodyHandle {
            try ChunkedOptions.writeEncodedBody(spec, upload: upload, to: bodyHandle)
            if bodyHandle !== FileHandle.standardOutput { try? bodyHandle.close() }
        }
    }

    /// Prints the seed request of a body written on its own (`--chunked`, `--event-stream`) in
    /// `--format`: the headers to add (`added`), the JSON stages with `json` after them, a curl
    /// command that sends `--output` with the headers given and added, or the raw request head (with
    /// `Content-Length: httpContentLength` when the signed head lacks it). The headers go to stderr
    /// when the body goes to stdout (`--output -`).
    func printSeed(
        _ view: SignedView, spec: RequestSpec, given: [(String, String)], added: [(String, String)],
        json extra: [(String, TextFormatting.JSON)], httpContentLength: Int?, option: String
    ) throws {
        let headerStream = output == "-" ? FileHandle.standardError : FileHandle.standardOutput
        func say(_ text: String) { headerStream.write(Data(text.utf8)) }
        switch format {
        case .headers:
            say(added.map { "\($0.0): \($0.1)\n" }.joined())
        case .json:
            var object = OutputFormat.jsonFields(view, spec: spec)
            object = object.map {
                $0.0 == "headers" ? ("headers", .array(added.map { .array([.string($0.0), .string($0.1)]) })) : $0
            }
            object += extra
            if let output { object.append(("body_file", .string(output))) }
            say(TextFormatting.JSON.object(object).render() + "\n")
        case .curl:
            guard let output, output != "-" else { throw CLIError.usage("--format curl with \(option) needs --output FILE") }
            var args = ["curl", "-q", "--path-as-is", "--globoff", "-X", spec.method]
            for (name, value) in given where !added.contains(where: { $0.0.lowercased() == name.lowercased() }) {
                args += ["-H", OutputFormat.curlHeader(name, value)]
            }
            for (name, value) in added where name.lowercased() != "content-length" {
                args += ["-H", OutputFormat.curlHeader(name, value)]
            }
            if !added.contains(where: { $0.0.lowercased() == "content-type" })
                && !given.contains(where: { $0.0.lowercased() == "content-type" })
            {
                args += ["-H", "Content-Type:"]
            }
            args += ["--data-binary", "@" + output, view.url]
            say(args.map(TextFormatting.shellQuote).joined(separator: " ") + "\n")
        case .http:
            var text = "\(spec.method) \(view.request.path ?? "/") HTTP/1.1\r\n"
            if !spec.headers.contains(where: { $0.0.lowercased() == "host" }) { text += "Host: \(spec.url.hostHeader)\r\n" }
            for field in view.request.headerFields { text += "\(field.name.rawName): \(field.value)\r\n" }
            if let httpContentLength { text += "Content-Length: \(httpContentLength)\r\n" }
            text += "\r\n"
            say(text)
        }
    }

}
