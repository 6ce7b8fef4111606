import CBenchFloor
import HTTPTypes
import SigV4

/// aws-chunked signing of a 64 MiB body and CRC32C, against raw SHA-256 throughput.
enum StreamingRows {
    static let payloadSize = 64 << 20
    /// How much the encoder is fed at a time (the read size of a typical upload loop).
    static let feedSize = 1 << 20

    nonisolated(unsafe) static let payload: UnsafeMutableRawBufferPointer = {
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: payloadSize, alignment: 64)
        var x: UInt64 = 0x9e37_79b9_7f4a_7c15
        for i in stride(from: 0, to: payloadSize, by: 8) {
            x ^= x << 13
            x ^= x >> 7
            x ^= x << 17
            p.storeBytes(of: x, toByteOffset: i, as: UInt64.self)
        }
        return p
    }()

    /// libcrypto SHA-256 over the same 64 MiB: the streaming floor.
    nonisolated(unsafe) static let sha256Floor: Body = { n in
        var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        for _ in 0..<n {
            withUnsafeMutableBytes(of: &digest) { d in
                _ = sigv4_bench_raw_sha256(
                    payload.baseAddress, payload.count, d.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
            blackHole(digest.0)
        }
    }

    static func make() -> [Row] {
        var rows: [Row] = []
        let signer = Fixture.signer(cache: SigningKeyCache(capacity: 16))
        var request = HTTPRequest(
            method: .put, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/chunkObject.txt")
        request.headerFields[.contentType] = "application/octet-stream"
        guard
            let streaming = try? signer.signStreaming(
                request, decodedContentLength: payloadSize, encoding: .signed, at: Fixture.date)
        else { fatalError("streaming signing failed") }
        let input = UnsafeRawBufferPointer(payload)

        rows.append(
            Row(
                name: "chunked_sign_64MiB", kind: .throughput(bytesPerOp: payloadSize),
                body: { n in
                    for _ in 0..<n {
                        var encoder = streaming.makeEncoder()
                        var produced = 0
                        forEachPiece(of: input, size: feedSize) { piece in
                            do {
                                try encoder.write(piece) { produced &+= $0.count }
                            } catch { fatalError("write failed") }
                        }
                        do { try encoder.finish { produced &+= $0.count } } catch { fatalError("finish failed") }
                        blackHole(produced)
                    }
                },
                floor: sha256Floor,
                note: "AWSChunkedEncoder.write(_:to:) (zero-copy), 64 KiB chunks, 1 MiB reads; floor = raw SHA-256 of 64 MiB"))

        rows.append(
            Row(
                name: "chunked_sign_64MiB_feed", kind: .throughput(bytesPerOp: payloadSize),
                body: { n in
                    for _ in 0..<n {
                        var encoder = streaming.makeEncoder()
                        var produced = 0
                        forEachPiece(of: input, size: feedSize) { piece in
                            var rest = piece[...]
                            while !rest.isEmpty {
                                guard let (used, frame) = try? encoder.feed(UnsafeRawBufferPointer(rebasing: rest))
                                else { fatalError("feed failed") }
                                rest = rest.dropFirst(used)
                                if let frame { produced &+= frame.count }
                            }
                        }
                        produced &+= (try? encoder.finish())?.count ?? 0
                        blackHole(produced)
                    }
                },
                floor: sha256Floor,
                note: "AWSChunkedEncoder, 64 KiB chunks, fed 1 MiB at a time; floor = raw SHA-256 of 64 MiB"))

        for (algorithm, how) in [
            (TrailingChecksum.Algorithm.crc32c, "the SSE4.2 instruction where the CPU has it"),
            (.crc64nvme, "PCLMULQDQ folding where the CPU has it"),
            (.xxhash64, "scalar Swift"),
            (.xxhash3, "scalar Swift"),
        ] {
            rows.append(
                Row(
                    name: algorithm.rawValue, kind: .throughput(bytesPerOp: payloadSize),
                    body: { n in
                        for _ in 0..<n {
                            var checksum = TrailingChecksum(algorithm)
                            checksum.update(input)
                            blackHole(checksum.digest)
                        }
                    },
                    floor: nil,
                    note: "TrailingChecksum(.\(algorithm)) over 64 MiB (\(how))"))
        }
        return rows
    }
}

/// Calls `body` with consecutive pieces of `input`, `size` bytes each (the last one shorter):
/// how an upload loop or a server reading a socket hands data over.
@inline(__always)
func forEachPiece(
    of input: UnsafeRawBufferPointer, size: Int, _ body: (UnsafeRawBufferPointer) throws -> Void
) rethrows {
    var offset = 0
    while offset < input.count {
        let piece = UnsafeRawBufferPointer(rebasing: input[offset..<min(offset + size, input.count)])
        try body(piece)
        offset += piece.count
    }
}
