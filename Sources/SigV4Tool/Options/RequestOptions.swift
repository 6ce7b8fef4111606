import ArgumentParser
import Foundation
import HTTPTypes
import SigV4
import SigV4CommandLine
import SigV4Verifier

/// Options that describe the request for `sign`, `presign` and `explain`.
struct RequestOptions: ParsableArguments {
    @Argument(help: "The URL, exactly as it will be sent (path and query are signed byte for byte).")
    var url: String?

    @Option(
        name: [.customShort("X"), .customLong("request")],
        help: "HTTP method (default GET, or POST with --data/--data-file).")
    var method: String?

    @Option(name: [.customShort("H"), .customLong("header")], help: "A header 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "The body, as text.")
    var data: String?

    @Option(
        name: .customLong("data-file"),
        help: "Read the body from this file (hashed in a streaming pass; '-' for stdin).")
    var dataFile: String?

    @Option(
        name: .customLong("payload-hash"),
        help: "Sign this payload hash (64 hex digits or a constant such as UNSIGNED-PAYLOAD) instead of hashing a body."
    )
    var payloadHash: String?

    @Flag(name: .customLong("unsigned-payload"), help: "Sign UNSIGNED-PAYLOAD instead of the body's hash.")
    var unsignedPayload = false

    func validateBody() throws(CLIError) {
        let given = [data != nil, dataFile != nil, payloadHash != nil, unsignedPayload].filter { $0 }.count
        if data != nil && dataFile != nil {
            throw .usage("--data and --data-file cannot be combined")
        }
        if payloadHash != nil && unsignedPayload {
            throw .usage("--payload-hash and --unsigned-payload cannot be combined")
        }
        _ = given
    }

    /// Builds the request.
    func spec() throws(CLIError) -> RequestSpec {
        try validateBody()
        guard let text = self.url else {
            throw .usage("Missing expected argument '<url>'", hint: "give the URL first, for example https://example.amazonaws.com/")
        }
        let url = try RawURL(text)
        var parsed: [(String, String)] = []
        for header in headers { parsed.append(try RequestOptions.parseHeader(header)) }
        var body = RequestSpec.Body.none
        if let data { body = .bytes(Array(data.utf8)) }
        if let dataFile {
            if dataFile == "-" {
                body = .bytes(try Self.readBody(FileHandle.standardInput, from: "stdin", name: dataFile))
            } else {
                guard FileManager.default.isReadableFile(atPath: dataFile) else {
                    throw .failure("cannot read --data-file '\(dataFile)'", hint: "check the path")
                }
                var info = stat()
                if stat(dataFile, &info) == 0, info.st_mode & S_IFMT == S_IFREG {
                    body = .file(dataFile)
                } else {
                    // A pipe (`<(…)`, a FIFO) or a device: its length is not its size, and it can be read
                    // once, so it is read whole here, as stdin is.
                    // At most `maxStreamedBody` bytes are read: /dev/zero or an endless pipe is refused, not read
                    // for ever.
                    guard info.st_mode & S_IFMT != S_IFDIR, let handle = FileHandle(forReadingAtPath: dataFile) else {
                        throw .failure("cannot read --data-file '\(dataFile)'", hint: "check the path")
                    }
                    defer { try? handle.close() }
                    body = .bytes(try Self.readBody(handle, from: "the pipe or device", name: dataFile))
                }
            }
        }
        var override: PayloadHash?
        if unsignedPayload { override = .unsignedPayload }
        if let payloadHash {
            do { override = try PayloadHash(payloadHash) } catch {
                throw .usage("--payload-hash must be 64 hex digits, UNSIGNED-PAYLOAD or a STREAMING-* constant")
            }
        }
        let method = (self.method ?? (body.isEmpty && data == nil && dataFile == nil ? "GET" : "POST"))
        return RequestSpec(method: method, url: url, headers: parsed, body: body, payloadOverride: override)
    }

    /// The most bytes `--data-file` reads from stdin, a pipe or a device, which are read whole (a regular file
    /// is hashed in a streaming pass, of any size): 64 MiB, the body limit of `verify` and `explain`
    /// (`HTTPRequestReader.Limits.default.maxBodyBytes`).
    static let maxStreamedBody = HTTPRequestReader.Limits.default.maxBodyBytes

    /// Reads the `--data-file` body from `handle` (stdin, a pipe or a device) up to ``maxStreamedBody``
    /// bytes; more, or a read error, is a failure (exit 1), without reading on.
    static func readBody(_ handle: FileHandle, from source: String, name: String) throws(CLIError) -> [UInt8] {
        let read: [UInt8]?
        do { read = try Self.read(handle, atMost: maxStreamedBody) } catch {
            throw .failure("cannot read --data-file '\(name)'", hint: "check the path")
        }
        guard let read else {
            throw .failure(
                "--data-file '\(name)': \(source) gave more than \(maxStreamedBody >> 20) MiB",
                hint: "save the body to a regular file, which is hashed in a streaming pass whatever its size")
        }
        return read
    }

    /// The bytes `handle` gives until its end, or nil once it has given more than `limit` (it is read in
    /// 1 MiB pieces, never past `limit + 1` bytes).
    static func read(_ handle: FileHandle, atMost limit: Int) throws -> [UInt8]? {
        var bytes: [UInt8] = []
        while bytes.count <= limit {
            guard let piece = try handle.read(upToCount: min(1 << 20, limit + 1 - bytes.count)), !piece.isEmpty else {
                return bytes
            }
            bytes += piece
        }
        return nil
    }

    /// Splits `Name: value`; the value keeps its bytes (spacing is canonicalized by the signer).
    ///
    /// A value holding a control byte (CR, LF, NUL, any other below 0x20 except tab, or DEL) is a usage
    /// error: it cannot be sent as signed. swift-http-types, and so the signer, reads each such byte as a
    /// space, while `--format http` and curl would send the bytes themselves, a CR LF starting a second,
    /// unsigned header.
    static func parseHeader(_ text: String) throws(CLIError) -> (String, String) {
        guard let colon = text.firstIndex(of: ":") else {
            throw .usage("header '\(text)' has no ':'", hint: "write it as -H 'Name: value'")
        }
        let name = String(text[..<colon])
        var value = text[text.index(after: colon)...]
        while value.first == " " || value.first == "\t" { value = value.dropFirst() }
        guard !name.isEmpty, HTTPField.Name(name) != nil else {
            throw .usage("'\(name)' is not a valid header name")
        }
        if value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }) {
            throw .usage(
                "the value of header '\(name)' holds a line break or another control character, which cannot be sent as signed",
                hint: "remove it; a header value is one line of text")
        }
        return (name, String(value))
    }
}
