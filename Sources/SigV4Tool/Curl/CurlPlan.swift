import Foundation
import HTTPTypes
import SigV4
import SigV4CommandLine

/// What curl will send for a parsed command line, and the curl arguments that send exactly that.
///
/// The plan re-emits the request-shaping options in a canonical form (`-q` first so no
/// `.curlrc` interferes, `--path-as-is --globoff` so the target goes out byte for byte, the
/// body from stdin or the upload file) and keeps output-only options as given.
///
/// ```swift
/// let plan = try CurlPlan(CurlArguments.parse(["-d", "a=1", "https://x.execute-api.us-east-1.amazonaws.com/p"]))
/// plan.spec.method // "POST"
/// ```
struct CurlPlan {
    var spec: RequestSpec
    /// Output-only options kept as given.
    var passthrough: [String]
    /// `-H` arguments to pass to curl (user headers, removals, implicit Content-Type), in order.
    var headerArguments: [String]
    /// The in-memory body (sent through curl's stdin as `--data-binary @-`).
    var bodyBytes: [UInt8]?
    /// The upload file for `-T` (a temporary copy when the upload came from stdin).
    var uploadFile: String?
    /// True when `-T -` was spooled from stdin (dry-run prints `-T -`).
    var uploadFromStdin = false
    /// The one body assembled from `--data-binary @file` alone (dry-run can reuse it).
    var singleBinaryFile: String?
    /// `-u user:password`: the access key id and secret.
    var userCredentials: CredentialChain.Flags?
    var isHead: Bool

    /// Reads stdin once.
    final class Stdin {
        var cached: [UInt8]?
        var uses = 0
        func read() throws(CLIError) -> [UInt8] {
            uses += 1
            if uses > 1 {
                throw .usage("stdin ('@-' or '-T -') can be used only once", hint: "save the data to a file")
            }
            if let cached { return cached }
            let data = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            cached = data
            return data
        }
    }

    /// The bytes of an `@file` (`-d`, `--data-binary`, `--data-urlencode`, `--json`, `-H`).
    ///
    /// A regular file is read whole. A pipe (`@<(cmd)`, a FIFO) or a character device is read as curl
    /// reads it, to its end, but at most ``RequestOptions/maxStreamedBody`` bytes (64 MiB, as
    /// `--data-file`): more, such as `@/dev/zero`, is a failure naming the limit, not a read for ever.
    static func readFile(_ path: String) throws(CLIError) -> [UInt8] {
        var info = stat()
        let kind = stat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
        guard kind == S_IFIFO || kind == S_IFCHR || kind == S_IFSOCK else {
            guard kind != S_IFDIR, let data = FileManager.default.contents(atPath: path) else {
                throw .failure("cannot read '\(path)'", hint: "check the path and its permissions")
            }
            return [UInt8](data)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .failure("cannot read '\(path)'", hint: "check the path and its permissions")
        }
        defer { try? handle.close() }
        let limit = RequestOptions.maxStreamedBody
        let read: [UInt8]?
        do { read = try RequestOptions.read(handle, atMost: limit) } catch {
            throw .failure("cannot read '\(path)'", hint: "check the path and its permissions")
        }
        guard let read else {
            throw .failure(
                "'\(path)': the pipe or device gave more than \(limit >> 20) MiB",
                hint: "save the data to a regular file")
        }
        return read
    }

    /// True when `path` names a regular file (after symbolic links).
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
    }

    /// curl_easy_escape: every byte except `A-Z a-z 0-9 - . _ ~` as `%XX`.
    static func urlencode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in bytes {
            if URIEncoding.isUnreserved(b) {
                out.append(b)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0x0f)]]
            }
        }
        return out
    }

    static func dataPart(_ kind: CurlArguments.DataKind, _ value: String, stdin: Stdin) throws(CLIError) -> [UInt8] {
        func load(_ source: Substring) throws(CLIError) -> [UInt8] {
            source == "-" ? try stdin.read() : try readFile(String(source))
        }
        switch kind {
        case .raw: return Array(value.utf8)
        case .ascii:
            guard value.hasPrefix("@") else { return Array(value.utf8) }
            return try load(value.dropFirst()).filter { $0 != 0x0d && $0 != 0x0a }
        case .binary, .json:
            guard value.hasPrefix("@") else { return Array(value.utf8) }
            return try load(value.dropFirst())
        case .urlencode:
            // curl looks for '=' first and for '@' only when there is none: 'a@b=c' is the name
            // 'a@b' and the content 'c', not the file 'b=c'.
            if let sep = value.firstIndex(of: "=") ?? value.firstIndex(of: "@") {
                let name = Array(value[..<sep].utf8)
                let rest = value[value.index(after: sep)...]
                let content = value[sep] == "@" ? try load(rest) : Array(rest.utf8)
                return (name.isEmpty ? [] : name + [UInt8(ascii: "=")]) + urlencode(content)
            }
            return urlencode(Array(value.utf8))
        }
    }

    init(_ args: CurlArguments, payloadOverride: PayloadHash?, stdin: Stdin = Stdin()) throws(CLIError) {
        guard args.urls.count == 1, let urlText = args.urls.first else {
            throw .usage(
                args.urls.isEmpty ? "no URL in the curl arguments" : "more than one URL in the curl arguments",
                hint: "sigv4 curl signs exactly one request: give one URL after '--'")
        }
        var url = try RawURL(urlText)
        try OutputFormat.checkCurlSendsHost(url)
        passthrough = args.passthrough
        isHead = args.head
        if let user = args.user {
            guard let colon = user.firstIndex(of: ":") else {
                throw .usage("-u needs ACCESS_KEY_ID:SECRET", hint: "or use --profile / AWS_ACCESS_KEY_ID")
            }
            userCredentials = CredentialChain.Flags(
                accessKeyID: String(user[..<colon]), secretAccessKey: String(user[user.index(after: colon)...]))
        }

        // Conflicting request shapes curl itself rejects or that cannot be modelled.
        let hasData = !args.data.isEmpty
        if args.head && hasData && !args.get {
            throw .usage("-I cannot be combined with a request body (curl refuses it too)")
        }
        if args.head && args.method != nil { throw .usage("-I cannot be combined with -X") }
        if args.method == "HEAD" && ((hasData && !args.get) || args.uploadFile != nil) {
            // curl sends it, then waits for a response body that a HEAD reply never has.
            throw .usage(
                "-X HEAD cannot be combined with a request body (curl would wait for a response body that never comes)",
                hint: "drop -d/--data*/--json/-T, or use -I without a body")
        }
        if args.uploadFile != nil && (hasData || args.get || args.head) {
            throw .usage("-T cannot be combined with -d/--data*/--json, -G or -I")
        }
        let jsonParts = args.data.filter { $0.0 == .json }.count
        if jsonParts > 0 && (jsonParts != 1 || args.data.count != 1) {
            throw .usage("--json is supported once and not mixed with other data options")
        }

        // Headers: expand @file, split into what is sent and signed.
        var headerArguments: [String] = []
        var signed: [(String, String)] = []
        var removed = Set<String>()
        var lines: [String] = []
        for h in args.headers {
            if h.hasPrefix("@") {
                let bytes = h == "@-" ? try stdin.read() : try CurlPlan.readFile(String(h.dropFirst()))
                for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                {
                    let l = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
                    if !l.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(l) }
                }
            } else {
                lines.append(h)
            }
        }
        for line in lines {
            if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...]
                let lower = name.lowercased()
                if ["authorization", "x-amz-date", "x-amz-security-token"].contains(lower) {
                    throw .usage(
                        "the curl arguments set \(name), which sigv4 sets",
                        hint: lower == "x-amz-security-token" ? "pass the token with --session-token" : "remove it")
                }
                if value.allSatisfy({ $0 == " " || $0 == "\t" }) {
                    // curl: "Name:" removes curl's own header of that name and sends nothing; a `-H` of
                    // the name given before or after it is still sent, so it stays signed.
                    if lower == "host" { throw .usage("removing the Host header is not supported") }
                    removed.insert(lower)
                    headerArguments.append(line)
                    continue
                }
                let (n, v) = try RequestOptions.parseHeader(line)
                signed.append((n, v))
                headerArguments.append(line)
            } else if line.hasSuffix(";") {
                // curl: "Name;" sends an empty header.
                let name = String(line.dropLast()).trimmingCharacters(in: .whitespaces)
                guard !name.contains(" "), !name.isEmpty else { throw .usage("bad header '\(line)'") }
                if ["authorization", "x-amz-date", "x-amz-security-token"].contains(name.lowercased()) {
                    throw .usage("the curl arguments set \(name), which sigv4 sets")
                }
                signed.append((name, ""))
                headerArguments.append(line)
            } else {
                throw .usage("header '\(line)' has no ':'", hint: "write it as -H 'Name: value'")
            }
        }
        func userSets(_ lower: String) -> Bool {
            removed.contains(lower) || signed.contains { $0.0.lowercased() == lower }
        }

        // Body and method.
        var body = RequestSpec.Body.none
        var method: String
        if args.head {
            method = "HEAD"
        } else if args.uploadFile != nil {
            method = "PUT"
        } else if hasData && !args.get {
            method = "POST"
        } else {
            method = "GET"
        }
        if let m = args.method { method = m }
        if hasData {
            var joined: [UInt8] = []
            for (index, part) in args.data.enumerated() {
                if index > 0 { joined.append(UInt8(ascii: "&")) }
                joined += try CurlPlan.dataPart(part.0, part.1, stdin: stdin)
            }
            // Only a regular file can be named again in --dry-run's command: a pipe has been read.
            if args.data.count == 1, args.data[0].0 == .binary, args.data[0].1.hasPrefix("@"),
                args.data[0].1 != "@-", Self.isRegularFile(String(args.data[0].1.dropFirst()))
            {
                singleBinaryFile = String(args.data[0].1.dropFirst())
            }
            if args.get {
                // -G: the data becomes the query.
                let query = String(decoding: joined, as: UTF8.self)
                guard query.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                    throw .usage("-G data contains spaces or non-ASCII bytes", hint: "use --data-urlencode")
                }
                url.target += (url.target.contains("?") ? "&" : "?") + query
                singleBinaryFile = nil
            } else {
                body = .bytes(joined)
                bodyBytes = joined
                if jsonParts == 1 {
                    if !userSets("content-type") {
                        signed.append(("Content-Type", "application/json"))
                        headerArguments.append("Content-Type: application/json")
                    }
                    if !userSets("accept") { headerArguments.append("Accept: application/json") }
                } else if !userSets("content-type") {
                    signed.append(("Content-Type", "application/x-www-form-urlencoded"))
                    headerArguments.append("Content-Type: application/x-www-form-urlencoded")
                }
            }
        }
        if let upload = args.uploadFile {
            if url.path.hasSuffix("/") {
                throw .usage(
                    "with -T and a URL ending in '/', curl appends the file name to the URL",
                    hint: "put the full object name in the URL")
            }
            if upload == "-" {
                let bytes = try stdin.read()
                let tmp = NSTemporaryDirectory() + "sigv4-upload-\(ProcessInfo.processInfo.processIdentifier)"
                guard FileManager.default.createFile(atPath: tmp, contents: Data(bytes)) else {
                    throw .failure("cannot spool stdin to \(tmp)")
                }
                uploadFile = tmp
                uploadFromStdin = true
            } else {
                guard FileManager.default.isReadableFile(atPath: upload) else {
                    throw .failure("cannot read -T file '\(upload)'")
                }
                // A pipe (`-T <(…)`, a FIFO) or a device gives its bytes once: sigv4 would read them to
                // sign the body, and curl would then wait for more (or send none).
                var info = stat()
                guard stat(upload, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                    throw .usage(
                        "-T '\(upload)' is not a regular file: its bytes can be read only once, to sign them",
                        hint: "pipe it to -T - instead, or save it to a file")
                }
                uploadFile = upload
            }
            if let uploadFile { body = .file(uploadFile) }
        }

        // A user-supplied x-amz-content-sha256 decides the payload hash; a hex value must match the body.
        var override = payloadOverride
        if let given = signed.last(where: { $0.0.lowercased() == "x-amz-content-sha256" })?.1 {
            let hash: PayloadHash
            do { hash = try PayloadHash(given.trimmingCharacters(in: .whitespaces)) } catch {
                throw .usage("x-amz-content-sha256 '\(given)' is not a payload hash")
            }
            if hash.isStreaming { throw .failure("streaming payloads are not supported by sigv4 curl yet") }
            if let o = override, o != hash {
                throw .usage("x-amz-content-sha256 disagrees with --unsigned-payload/--payload-hash")
            }
            override = hash
        }
        // A Content-Length of the user's is sent as given: one that is not the body's length makes the
        // server read another body than the one signed.
        if let given = signed.last(where: { $0.0.lowercased() == "content-length" })?.1 {
            let length: Int
            switch body {
            case .none: length = 0
            case .bytes(let b): length = b.count
            case .file(let path):
                length = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int ?? -1
            }
            let declared = given.trimmingCharacters(in: .whitespaces)
            guard declared == String(length) else {
                throw .usage(
                    "the curl arguments set Content-Length: \(declared), but the body is \(length) bytes",
                    hint: "drop the header: curl sets the length itself")
            }
        }
        self.headerArguments = headerArguments
        spec = RequestSpec(method: method, url: url, headers: signed, body: body, payloadOverride: override)
        if let o = override, o.value != PayloadHash.unsignedPayload.value, o != (try spec.payloadHashOfBody()) {
            throw .usage(
                "the given payload hash does not match the body curl will send",
                hint: "drop it to let sigv4 hash the body, or use --unsigned-payload")
        }
    }

    /// The curl command line for an aws-chunked upload: the seed's headers and the encoded body as `-T`.
    func chunkedArguments(added: [(String, String)], url: String, encodedFile: String) -> [String] {
        var out = ["curl", "-q"] + passthrough + ["--path-as-is", "--globoff"]
        if spec.method != "PUT" { out += ["-X", spec.method] }
        for h in headerArguments { out += ["-H", h] }
        // curl sets Content-Length from the encoded file's size, which is the signed value.
        for (name, value) in added where name.lowercased() != "content-length" { out += ["-H", "\(name): \(value)"] }
        out += ["-T", encodedFile, url]
        return out
    }

    /// The curl command line: `-q` first, output options, exact-target switches, method, headers, body, URL.
    func arguments(addedHeaders: [HTTPField], url: String, dryRun: Bool) throws(CLIError) -> [String] {
        var out = ["curl", "-q"]
        out += passthrough
        out += ["--path-as-is", "--globoff"]
        let sendsBody = bodyBytes != nil
        let curlDefault = isHead ? "HEAD" : uploadFile != nil ? "PUT" : sendsBody ? "POST" : "GET"
        if isHead { out.append("--head") }
        if spec.method != curlDefault { out += ["-X", spec.method] }
        for h in headerArguments { out += ["-H", h] }
        for field in addedHeaders { out += ["-H", "\(field.name.rawName): \(field.value)"] }
        if let bodyBytes {
            if !dryRun {
                out += ["--data-binary", "@-"]
            } else if let file = singleBinaryFile {
                out += ["--data-binary", "@" + file]
            } else if bodyBytes.count < 100_000, !bodyBytes.contains(0),
                let text = String(validating: bodyBytes, as: UTF8.self)
            {
                out += ["--data-raw", text]
            } else {
                throw .usage(
                    "--dry-run cannot print this body inline (binary or over 100 kB)",
                    hint: "save it to a file and use --data-binary @file")
            }
        }
        if let uploadFile { out += ["-T", dryRun && uploadFromStdin ? "-" : uploadFile] }
        out.append(url)
        return out
    }
}

extension RequestSpec {
    /// SHA-256 of the body, ignoring any override.
    func payloadHashOfBody() throws(CLIError) -> PayloadHash {
        var copy = self
        copy.payloadOverride = nil
        return try copy.payloadHash()
    }
}
