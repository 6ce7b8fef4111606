import ArgumentParser
import SigV4
import SigV4CommandLine

/// `sigv4 presign-post`: the fields of a browser-form upload (an S3 POST policy, signed), as
/// botocore's `generate_presigned_post` gives them, or as a curl command that posts a file.
struct PresignPost: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presign-post",
        abstract: "Sign a POST policy for a browser-form upload to a bucket (S3 POST Object).",
        discussion: """
            URL is the bucket's URL: path style (http://127.0.0.1:8080/photos) or virtual-hosted \
            (https://photos.s3.amazonaws.com/); with a path, its one segment is the bucket, else the \
            host's first label (--bucket names it outright: my.photos.s3.amazonaws.com). The policy allows \
            KEY (a KEY ending in ${filename} allows any file name after that prefix), each --field exactly, \
            and the --starts-with and --content-length-range conditions; the form's fields are printed in \
            order (the file goes last). The service is s3 unless --service says otherwise.

            Examples:
              sigv4 presign-post https://photos.s3.amazonaws.com/ \\
                  --key 'uploads/${filename}' --field Content-Type=image/jpeg \\
                  --content-length-range 1:10485760 --expires 600
              sigv4 presign-post http://127.0.0.1:8080/photos --key cat.jpg \\
                  --region us-east-1 --format curl --file cat.jpg | sh
            """)

    @Argument(help: "The bucket's URL.")
    var url: String

    @Option(help: "The object key; '${filename}' at its end stands for the uploaded file's name.")
    var key: String

    @Option(help: "The bucket (default: the URL's one path segment, else its host's first label; give it for a virtual-hosted bucket with dots in its name).")
    var bucket: String?

    @Option(name: .customLong("field"), help: "A form field the policy fixes, NAME=VALUE (repeatable).")
    var fields: [String] = []

    @Option(name: .customLong("starts-with"), help: "A condition: field NAME starts with PREFIX, NAME=PREFIX (repeatable).")
    var startsWith: [String] = []

    @Option(help: "A condition on the file's length in bytes, MIN:MAX.")
    var contentLengthRange: String?

    @Option(help: "Seconds the policy stays valid, 1 to 604800.")
    var expires: Int = 3600

    @Option(help: "Output: json (url and fields) or curl (a command that posts --file).")
    var format: Format = .json

    @Option(help: "With --format curl: the file to upload (default: a placeholder FILE).")
    var file: String?

    @OptionGroup var signing: SigningOptions

    enum Format: String, ExpressibleByArgument { case json, curl }

    /// The form fields presign-post writes itself (by lowercased name), each with the option that shapes it,
    /// the hint of the usage error for a `--field` naming one.
    static let reservedFields: [String: String] = [
        "key": "use --key for the object key",
        "policy": """
            the policy is built from --key, --field, --starts-with and --content-length-range and lasts \
            --expires seconds: give those instead
            """,
        "x-amz-signature": "the signature is computed over the policy with the credentials",
        "x-amz-algorithm": "presign-post signs the policy with AWS4-HMAC-SHA256",
        "x-amz-credential": "the credential comes from the access key id, --region and --service",
        "x-amz-date": "use --timestamp for the signing time",
        "x-amz-security-token": "use --session-token or a profile with a session token",
        "file": "the file is the form's last part: with --format curl, name it with --file",
        "bucket": "the bucket comes from the URL or --bucket",
    ]

    func run() async throws {
        let raw = try RawURL(url)
        let (bucket, bucketURL) = try self.bucket.map { ($0, raw.text) } ?? Self.bucket(of: raw)
        var options = signing
        if options.service == nil { options.service = "s3" }
        let context = try options.makeContext(for: raw)
        let pairs = try fields.map { try Self.pair($0, flag: "--field") }
        // The signer writes these itself: given again, the form would carry a field twice and never verify.
        if let clash = pairs.first(where: { Self.reservedFields[PresignedPost.fieldName($0.0)] != nil }) {
            throw CLIError.usage(
                "--field \(clash.0) is written by presign-post itself",
                hint: Self.reservedFields[PresignedPost.fieldName(clash.0)])
        }
        var seen: Set<String> = []
        if let twice = pairs.first(where: { !seen.insert(PresignedPost.fieldName($0.0)).inserted }) {
            throw CLIError.usage("--field \(twice.0) is given twice (a form field may appear once)")
        }
        var conditions = try startsWith.map { text -> PostPolicy.Condition in
            let (name, prefix) = try Self.pair(text, flag: "--starts-with")
            return .startsWith(field: name, prefix: prefix)
        }
        if let contentLengthRange {
            let parts = contentLengthRange.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let min = Int64(parts[0]), let max = Int64(parts[1]), min >= 0, min <= max else {
                throw CLIError.usage("--content-length-range must be MIN:MAX with 0 <= MIN <= MAX, not '\(contentLengthRange)'")
            }
            conditions.append(.contentLengthRange(min: min, max: max))
        }
        let post: PresignedPost
        do {
            post = try context.signer.presignPost(
                bucket: bucket, key: key, expires: expires, fields: pairs, conditions: conditions, at: context.date)
        } catch {
            throw CLIError.usage(error.reason)
        }
        Presign.warnIfCredentialsExpireFirst(context: context, expires: expires)
        switch format {
        case .json:
            let object = TextFormatting.JSON.object([
                ("url", .string(bucketURL)),
                ("fields", .object(post.fields.map { ($0.name, .string($0.value)) })),
            ])
            Console.out(object.render() + "\n")
        case .curl:
            var words = ["curl", "-q"]
            for field in post.fields { words += ["--form-string", TextFormatting.shellQuote("\(field.name)=\(field.value)")] }
            words += [
                "-F", TextFormatting.shellQuote("file=@" + Self.curlFormFileName(file ?? "FILE")),
                TextFormatting.shellQuote(bucketURL),
            ]
            Console.out(words.joined(separator: " ") + "\n")
        }
    }

    /// The bucket a URL names and the URL to post to: the path's one segment, else the host's first label.
    static func bucket(of url: RawURL) throws(CLIError) -> (String, String) {
        let base = "\(url.scheme)://\(url.hostHeader)"
        var path = url.path.dropFirst()
        if path.hasSuffix("/") { path = path.dropLast() }
        if !path.isEmpty {
            guard !path.contains("/") else {
                throw CLIError.usage("the URL must be the bucket's (/bucket), not an object's: '\(url.text)'")
            }
            return (String(path), "\(base)/\(path)")
        }
        guard let label = url.hostName.split(separator: ".").first, url.hostName.contains("."),
            !url.hostName.allSatisfy({ $0.isNumber || $0 == "." })
        else {
            throw CLIError.usage("cannot tell the bucket from '\(url.text)'", hint: "give the bucket's URL, http://host/bucket")
        }
        return (String(label), "\(base)/")
    }

    static func pair(_ text: String, flag: String) throws(CLIError) -> (String, String) {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw CLIError.usage("\(flag) must be NAME=VALUE, not '\(text)'")
        }
        return (String(text[..<eq]), String(text[text.index(after: eq)...]))
    }

    /// `name` as curl's `-F name=@file` reads a file name: as written, or in double quotes (`\\` and `\"`
    /// escaped) when it holds `;` or `,` (where curl's form syntax starts a `type=`/`filename=` part or a
    /// list), `"` or `\\`. Without the quotes `-F 'file=@c;type=x.jpg'` was refused by curl (7.88.1) and
    /// `c,d.jpg` was not found.
    ///
    /// ```swift
    /// PresignPost.curlFormFileName("cat.jpg")      // cat.jpg
    /// PresignPost.curlFormFileName("c;type=x.jpg") // "c;type=x.jpg"
    /// ```
    static func curlFormFileName(_ name: String) -> String {
        guard name.contains(where: { ";,\"\\".contains($0) }) else { return name }
        var quoted = "\""
        for character in name {
            if character == "\"" || character == "\\" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
