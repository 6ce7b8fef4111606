#if canImport(FoundationNetworking)
public import FoundationNetworking
#endif
public import Foundation
public import SigV4

extension URLRequest {
    /// Signs an aws-chunked upload of the file at `file` for `URLSession.upload(for:fromFile:)`:
    /// signs the seed request in place, then writes the encoded body (every chunk signed, and the
    /// trailer when `encoding` has one) to `encodedFile`, the file to upload.
    ///
    /// The seed carries `Content-Encoding: aws-chunked`, `x-amz-decoded-content-length` (the
    /// file's size), the encoded `Content-Length` (signed, as in the S3 documentation's chunked
    /// example), `x-amz-content-sha256: STREAMING-…` and, with a trailer, `x-amz-trailer`. Memory
    /// stays at about one chunk whatever the file's size; the encoded copy takes the file's size on
    /// disk plus about 90 bytes a chunk (signed) or 10 (unsigned).
    ///
    /// Why a file: URLSession sends an `httpBodyStream` with `Transfer-Encoding: chunked` on Linux
    /// (libcurl) even when the request has a `Content-Length` field, which it sends as well (a
    /// request that has both is malformed, RFC 9112 section 6.3), and S3 refuses chunked transfer
    /// coding for uploads (`411 MissingContentLength`). A file has a length URLSession sends as
    /// `Content-Length` on every platform.
    ///
    /// ```swift
    /// var request = URLRequest(url: URL(string: "https://examplebucket.s3.amazonaws.com/big.bin")!)
    /// request.httpMethod = "PUT"
    /// let encoded = FileManager.default.temporaryDirectory.appendingPathComponent("big.bin.aws-chunked")
    /// try request.signAWSChunkedUpload(
    ///     of: fileURL, to: encoded, with: signer, encoding: .signedWithTrailer(.crc32c), at: AmzDate(Date()))
    /// let (data, response) = try await URLSession.shared.upload(for: request, fromFile: encoded)
    /// try FileManager.default.removeItem(at: encoded)
    /// ```
    ///
    /// - Parameters:
    ///   - file: the payload; its size when the call starts is the declared decoded length.
    ///   - encodedFile: where the encoded body is written (replaced if it exists; removed again
    ///     when the call throws).
    ///   - signer: signs the seed and the chunks.
    ///   - encoding: the aws-chunked variant.
    ///   - chunkSize: data bytes per chunk, 8 KiB ... 64 MiB.
    ///   - date: the signing time.
    /// - Returns: the signed seed and what signed the chunks.
    /// - Throws: `SigV4Error` (``SigV4Error/Code-swift.struct/invalidPayloadHash`` when the request
    ///   already has an `httpBody` or `httpBodyStream`; ``SigV4Error/Code-swift.struct/contentLengthMismatch``
    ///   when the file changes size while it is read; the signer's errors), or the file system's
    ///   error when `file` cannot be read or `encodedFile` written.
    @discardableResult
    public mutating func signAWSChunkedUpload(
        of file: URL, to encodedFile: URL, with signer: Signer, encoding: AWSChunkedEncoding = .signed,
        chunkSize: Int = AWSChunkedEncoding.defaultChunkSize, at date: AmzDate
    ) throws -> StreamingSignedRequest {
        guard httpBody == nil, httpBodyStream == nil else {
            throw SigV4Error(.invalidPayloadHash, "the request already has a body; the upload's body is the file")
        }
        let source = try FileHandle(forReadingFrom: file)
        defer { try? source.close() }
        let length = Int(try source.seekToEnd())
        try source.seek(toOffset: 0)
        let streaming = try signer.signStreaming(
            try httpRequest(), decodedContentLength: length, encoding: encoding, chunkSize: chunkSize,
            contentLength: .signed, at: date)
        do {
            try Self.encode(source, with: streaming.makeEncoder(), into: encodedFile)
            let written = try FileManager.default.attributesOfItem(atPath: encodedFile.path)[.size] as? NSNumber
            guard written?.intValue == streaming.encodedContentLength else {
                throw SigV4Error(.contentLengthMismatch, "the encoded body's length is not the one signed")
            }
        } catch {
            try? FileManager.default.removeItem(at: encodedFile)
            throw error
        }
        setSignedHeaders(streaming.request, added: Array(streaming.request.headerFields))
        return streaming
    }

    /// Reads `source` to its end in blocks that are whole chunks (so the encoder copies nothing)
    /// and writes the encoded body to `destination`.
    private static func encode(_ source: FileHandle, with encoder: AWSChunkedEncoder, into destination: URL) throws {
        var encoder = encoder
        guard FileManager.default.createFile(atPath: destination.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination.path])
        }
        let output = try FileHandle(forWritingTo: destination)
        defer { try? output.close() }
        let block = max(1, (1 << 20) / encoder.chunkSize) * encoder.chunkSize
        while let data = try source.read(upToCount: block), !data.isEmpty {
            try data.withUnsafeBytes { bytes in
                try encoder.write(bytes, to: { piece in try output.write(contentsOf: piece) })
            }
        }
        try encoder.finish(writingTo: { piece in try output.write(contentsOf: piece) })
    }
}
