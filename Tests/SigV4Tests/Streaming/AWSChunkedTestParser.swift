/// A small, strict, test-only aws-chunked parser, written independently of the encoder.
struct ParsedChunkedBody: Equatable {
    struct Chunk: Equatable {
        var size: Int
        var signature: String?
        var data: [UInt8]
    }

    var chunks: [Chunk] = []  // data chunks, then the zero-length chunk last
    var trailers: [(String, String)] = []
    var trailerSignature: String?

    var payload: [UInt8] { chunks.flatMap(\.data) }

    static func == (a: ParsedChunkedBody, b: ParsedChunkedBody) -> Bool {
        a.chunks == b.chunks && a.trailers.map { "\($0):\($1)" } == b.trailers.map { "\($0):\($1)" }
            && a.trailerSignature == b.trailerSignature
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `body`; `signed` says whether every chunk must carry `;chunk-signature=`.
    init(_ body: [UInt8], signed: Bool) throws {
        var i = 0
        func line() throws -> String {
            var j = i
            while j + 1 < body.count, !(body[j] == 0x0d && body[j + 1] == 0x0a) { j += 1 }
            guard j + 1 < body.count else { throw Failure(description: "missing CRLF after offset \(i)") }
            let text = String(decoding: body[i..<j], as: UTF8.self)
            i = j + 2
            return text
        }
        while true {
            let header = try line()
            let parts = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)
            guard let size = Int(parts[0], radix: 16), String(size, radix: 16) == parts[0] else {
                throw Failure(description: "bad chunk size line \(header)")
            }
            var signature: String?
            if signed {
                guard parts.count == 2, parts[1].hasPrefix("chunk-signature=") else {
                    throw Failure(description: "chunk without signature: \(header)")
                }
                signature = String(parts[1].dropFirst("chunk-signature=".count))
                guard signature!.count == 64 else { throw Failure(description: "bad signature length") }
            } else if parts.count != 1 {
                throw Failure(description: "unexpected chunk extension: \(header)")
            }
            guard i + size <= body.count else { throw Failure(description: "chunk runs past the end") }
            let data = Array(body[i..<(i + size)])
            i += size
            chunks.append(Chunk(size: size, signature: signature, data: data))
            if size == 0 { break }
            guard i + 2 <= body.count, body[i] == 0x0d, body[i + 1] == 0x0a else {
                throw Failure(description: "missing CRLF after chunk data")
            }
            i += 2
        }
        while true {
            let field = try line()
            if field.isEmpty { break }
            guard let colon = field.firstIndex(of: ":") else { throw Failure(description: "bad trailer \(field)") }
            let name = String(field[..<colon])
            let value = String(field[field.index(after: colon)...])
            if name == "x-amz-trailer-signature" {
                trailerSignature = value
            } else {
                guard trailerSignature == nil else { throw Failure(description: "field after the trailer signature") }
                trailers.append((name, value))
            }
        }
        guard i == body.count else { throw Failure(description: "\(body.count - i) bytes after the end") }
    }
}
