import HTTPTypes
import SigV4
import Testing

/// Bad input gets a typed error with a code, never a crash.
@Suite("aws-chunked bad input")
struct ChunkedErrorTests {
    /// The code of the `SigV4Error` that `body` throws; nil when it does not throw.
    static func code(_ body: () throws -> Void) -> SigV4Error.Code? {
        do {
            try body()
            return nil
        } catch let error as SigV4Error {
            return error.code
        } catch {
            return SigV4Error.Code("not a SigV4Error: \(type(of: error))")
        }
    }

    @Test(
        "a chunk size under 8 KiB or over 64 MiB is refused with invalidChunkSize",
        arguments: [Int.min, -1, 0, 1, 8191, 64 * 1024 * 1024 + 1, Int.max])
    func badChunkSize(chunkSize: Int) {
        #expect(
            Self.code {
                _ = try StreamingFixtures.signer.signStreaming(
                    StreamingFixtures.request, decodedContentLength: 100, chunkSize: chunkSize,
                    at: StreamingFixtures.date)
            } == .invalidChunkSize)
        #expect(
            Self.code {
                _ = try AWSChunkedEncoder(
                    encoding: .unsignedWithTrailer(.crc32), chunkSize: chunkSize, decodedContentLength: 1,
                    chunkSigner: nil)
            } == .invalidChunkSize)
        #expect(
            Self.code {
                _ = try AWSChunkedEncoding.signed.encodedLength(decodedLength: 1, chunkSize: chunkSize)
            } == .invalidChunkSize)
    }

    @Test("the smallest and largest allowed chunk sizes are accepted", arguments: [8192, 64 * 1024 * 1024])
    func boundaryChunkSizes(chunkSize: Int) throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: 3, chunkSize: chunkSize, at: StreamingFixtures.date)
        #expect(try streaming.encode([1, 2, 3]).count == streaming.encodedContentLength)
    }

    @Test(
        "a payload shorter or longer than the declared decoded length fails with contentLengthMismatch",
        arguments: [(100, 99), (100, 101), (0, 1), (1, 0), (8192, 8193), (20_000, 8192)])
    func lengthMismatch(declared: Int, actual: Int) async throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: declared, encoding: .signedWithTrailer(.sha256),
            chunkSize: 8192, at: StreamingFixtures.date)
        let payload = [UInt8](repeating: 7, count: actual)
        #expect(Self.code { _ = try streaming.encode(payload) } == .contentLengthMismatch)

        let stream = AsyncStream<[UInt8]> { continuation in
            continuation.yield(payload)
            continuation.finish()
        }
        await #expect(throws: SigV4Error.self) {
            for try await _ in streaming.body(stream) {}
        }
        do {
            for try await _ in streaming.body(stream) {}
        } catch let error as SigV4Error {
            #expect(error.code == .contentLengthMismatch)
        }
    }

    @Test(
        "an in-memory payload shorter than a huge declared length fails with contentLengthMismatch, without allocating for the declared length",
        arguments: [AWSChunkedEncoding.signed, .signedWithTrailer(.crc32c), .unsignedWithTrailer(.sha256)])
    func hugeDeclaredLength(encoding: AWSChunkedEncoding) throws {
        // 4 PiB declared: the encoded length is computable, but no machine can reserve it.
        let declared = 1 << 52
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: declared, encoding: encoding, chunkSize: 64 << 20,
            at: StreamingFixtures.date)
        #expect(Self.code { _ = try streaming.encode([UInt8]([1, 2, 3])) } == .contentLengthMismatch)
        var encoder = try AWSChunkedEncoder(
            encoding: encoding, chunkSize: 64 << 20, decodedContentLength: declared,
            chunkSigner: streaming.chunkSigner)
        #expect(Self.code { _ = try encoder.encode([UInt8](repeating: 9, count: 100)) } == .contentLengthMismatch)
    }

    /// A payload source that yields `bytes` bytes, then fails; it ends (nil) if asked again.
    struct FailingPayload: AsyncSequence, Sendable {
        typealias Element = [UInt8]
        struct SourceError: Error {}
        let bytes: Int
        struct AsyncIterator: AsyncIteratorProtocol {
            let bytes: Int
            var step = 0
            mutating func next() async throws -> [UInt8]? {
                step += 1
                if step == 1 { return [UInt8](repeating: 0x61, count: bytes) }
                if step == 2 { throw SourceError() }
                return nil
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes) }
    }

    @Test(
        "after the payload source fails, the body never ends: next() returns nil instead of the final chunk, even for an unknown length",
        arguments: [AWSChunkedEncoding.signed, .signedWithTrailer(.crc32), .unsignedWithTrailer(.crc32c)],
        [nil, 50_000])
    func payloadFailureNeverEndsBody(encoding: AWSChunkedEncoding, declared: Int?) async throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: declared, encoding: encoding, chunkSize: 8192,
            at: StreamingFixtures.date)
        var iterator = streaming.body(FailingPayload(bytes: 10_000)).makeAsyncIterator()
        var body: [UInt8] = []
        var failures = 0
        // A consumer that carries on after an error (against the convention, but it happens).
        for _ in 0..<5 {
            do {
                guard let element = try await iterator.next() else { break }
                body += element
            } catch is FailingPayload.SourceError {
                failures += 1
            } catch {
                Issue.record("unexpected second error \(error)")
            }
        }
        #expect(failures == 1)
        // Only the first full chunk went out: no final zero-length chunk, no trailer.
        let text = String(decoding: body, as: UTF8.self)
        #expect(body.count < 8192 + 200)
        #expect(!text.contains("\r\n0;chunk-signature=") && !text.contains("\r\n0\r\n"))
        #expect(!text.contains("x-amz-checksum"))
    }

    @Test(
        "a cancelled upload never ends its body, though a cancelled AsyncStream source simply ends",
        arguments: [AWSChunkedEncoding.signed, .unsignedWithTrailer(.crc32c)])
    func cancellationNeverEndsBody(encoding: AWSChunkedEncoding) async throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: nil, encoding: encoding, chunkSize: 8192,
            at: StreamingFixtures.date)
        // A source still producing (never finished): on cancellation its iterator returns nil.
        let (source, continuation) = AsyncStream<[UInt8]>.makeStream()
        continuation.yield([UInt8](repeating: 0x61, count: 10_000))
        let (firstElement, firstSeen) = AsyncStream<Void>.makeStream()
        let upload = Task { () -> (body: [UInt8], error: (any Error)?) in
            var body: [UInt8] = []
            do {
                for try await element in streaming.body(source) {
                    body += element
                    firstSeen.yield()
                }
            } catch {
                return (body, error)
            }
            return (body, nil)
        }
        for await _ in firstElement { break }
        upload.cancel()
        let (body, error) = await upload.value
        continuation.finish()
        #expect(error is CancellationError)
        let text = String(decoding: body, as: UTF8.self)
        #expect(body.count < 8192 + 200)
        #expect(!text.contains("\r\n0;chunk-signature=") && !text.contains("\r\n0\r\n"))
    }

    @Test("a negative decoded length is refused")
    func negativeLength() {
        #expect(
            Self.code {
                _ = try StreamingFixtures.signer.signStreaming(
                    StreamingFixtures.request, decodedContentLength: -1, at: StreamingFixtures.date)
            } == .contentLengthMismatch)
    }

    @Test("an overflowing encoded length is refused, not trapped")
    func overflow() {
        #expect(
            Self.code {
                _ = try AWSChunkedEncoding.signed.encodedLength(decodedLength: Int.max, chunkSize: 8192)
            } == .contentLengthMismatch)
        #expect(
            Self.code {
                _ = try AWSChunkedEncoding.signed.encodedLength(decodedLength: Int.max - 5, chunkSize: 64 * 1024 * 1024)
            } == .contentLengthMismatch)
    }

    @Test("a caller's x-amz-decoded-content-length that disagrees is refused")
    func conflictingDecodedLength() {
        var request = StreamingFixtures.request
        request.headerFields[HTTPField.Name("x-amz-decoded-content-length")!] = "5"
        #expect(
            Self.code {
                _ = try StreamingFixtures.signer.signStreaming(
                    request, decodedContentLength: 6, at: StreamingFixtures.date)
            } == .contentLengthMismatch)
    }

    @Test("a caller's x-amz-content-sha256 that disagrees with the streaming constant is refused")
    func conflictingContentSHA() {
        var request = StreamingFixtures.request
        request.headerFields[HTTPField.Name("x-amz-content-sha256")!] = "UNSIGNED-PAYLOAD"
        #expect(
            Self.code {
                _ = try StreamingFixtures.signer.signStreaming(
                    request, decodedContentLength: 6, at: StreamingFixtures.date)
            } == .payloadHashConflict)
    }

    @Test(
        "an unknown trailer algorithm is refused with unsupportedChecksum",
        arguments: [
            "md5 ", "crc64", "", "x-amz-checksum-", "crc32c ", "sha-256", "x-amz-checksum-md4", "xxhash", "xxhash3 ",
            "x-amz-checksum-xxhash32", "xxh3", "crc64nvme ", "sha-512",
        ])
    func unknownAlgorithm(name: String) {
        #expect(Self.code { _ = try TrailingChecksum.Algorithm(name: name) } == .unsupportedChecksum)
    }

    @Test(
        "algorithm names parse in any case and as header names",
        arguments: [
            ("CRC32C", TrailingChecksum.Algorithm.crc32c), ("crc32", .crc32), ("Sha1", .sha1),
            ("x-amz-checksum-sha256", .sha256), ("X-Amz-Checksum-CRC32C", .crc32c), ("CRC64NVME", .crc64nvme),
            ("x-amz-checksum-crc64nvme", .crc64nvme), ("SHA512", .sha512), ("X-Amz-Checksum-Sha512", .sha512),
        ])
    func algorithmNames(name: String, algorithm: TrailingChecksum.Algorithm) throws {
        #expect(try TrailingChecksum.Algorithm(name: name) == algorithm)
    }

    @Test("bytes after finish, and a second finish, are refused")
    func afterFinish() throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: nil, at: StreamingFixtures.date)
        var encoder = streaming.makeEncoder()
        _ = try encoder.finish()
        #expect(encoder.isFinished)
        #expect(Self.code { _ = try encoder.finish() } == .contentLengthMismatch)
        #expect(
            Self.code {
                _ = try [UInt8](repeating: 1, count: 3).withUnsafeBytes { raw in try encoder.feed(raw) }
            } == .contentLengthMismatch)
    }

    @Test("a signed encoding without a chunk signer is refused")
    func signedWithoutSigner() {
        #expect(
            Self.code {
                _ = try AWSChunkedEncoder(encoding: .signed, decodedContentLength: 1, chunkSigner: nil)
            } == .invalidCredentials)
    }

    @Test("a chunk hash that is a constant, not a digest, is refused")
    func chunkHashConstant() throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: 1, at: StreamingFixtures.date)
        var chain = try #require(streaming.chunkSigner)
        #expect(Self.code { _ = try chain.signature(forChunkHash: .unsignedPayload) } == .invalidPayloadHash)
        let viaHash = try chain.signature(forChunkHash: .sha256(of: [UInt8]([1])))
        var fresh = try #require(streaming.chunkSigner)
        #expect(viaHash == fresh.signature(forChunk: [UInt8]([1])))
    }
}

/// An encoder whose writer failed does not go on: the chunk signatures it already advanced would
/// make whatever it wrote next fail verification.
@Suite("aws-chunked encoder after a failed write")
struct ChunkedFailedWriteTests {
    struct WriterFailed: Error {}

    static let encodings: [AWSChunkedEncoding] = [.signed, .signedWithTrailer(.crc32c), .unsignedWithTrailer(.sha256)]

    @Test(
        "once the write closure throws, every later write, feed and finish throws streamFailed and nothing more is written",
        arguments: encodings, [0, 1, 2, 4])
    func laterCallsRefused(encoding: AWSChunkedEncoding, failingCall: Int) throws {
        let payload = [UInt8](repeating: 9, count: 3 * 8192 + 100)
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: payload.count, encoding: encoding, chunkSize: 8192,
            at: StreamingFixtures.date)
        var encoder = streaming.makeEncoder()
        var calls = 0
        var writtenAfterFailure = 0
        var failedOnce = false
        let writer: (UnsafeRawBufferPointer) throws -> Void = { piece in
            if failedOnce { writtenAfterFailure += piece.count }
            defer { calls += 1 }
            if calls == failingCall {
                failedOnce = true
                throw WriterFailed()
            }
        }
        // The first 10,000 bytes (one whole chunk: header, data and CRLF are calls 0, 1 and 2).
        let first = Array(payload[..<10_000])
        var thrown: (any Error)?
        do {
            try first.withUnsafeBytes { try encoder.write($0, to: writer) }
        } catch {
            thrown = error
        }
        if failingCall > 2 {
            // No fourth call yet: the rest of the body and the end make it.
            #expect(thrown == nil)
            #expect(!encoder.hasFailed)
            do {
                try Array(payload[10_000...]).withUnsafeBytes { try encoder.write($0, to: writer) }
                try encoder.finish(writingTo: writer)
            } catch {
                thrown = error
            }
        }
        #expect(thrown is WriterFailed)
        #expect(encoder.hasFailed)
        let rest = Array(payload[10_000...])
        #expect(ChunkedErrorTests.code { try rest.withUnsafeBytes { try encoder.write($0, to: writer) } } == .streamFailed)
        #expect(ChunkedErrorTests.code { _ = try rest.withUnsafeBytes { try encoder.feed($0) } } == .streamFailed)
        #expect(ChunkedErrorTests.code { _ = try encoder.finish() } == .streamFailed)
        #expect(ChunkedErrorTests.code { try encoder.finish(writingTo: writer) } == .streamFailed)
        #expect(writtenAfterFailure == 0)
    }

    @Test("a write refused before any byte is taken (past the declared length) leaves the encoder usable, and the body is the one encode writes")
    func refusedWriteLeavesEncoderUsable() throws {
        let payload = [UInt8](repeating: 5, count: 9000)
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: payload.count, encoding: .signedWithTrailer(.crc32),
            chunkSize: 8192, at: StreamingFixtures.date)
        var encoder = streaming.makeEncoder()
        var body: [UInt8] = []
        let tooMuch = [UInt8](repeating: 5, count: payload.count + 1)
        #expect(ChunkedErrorTests.code { try tooMuch.withUnsafeBytes { try encoder.write($0) { body += $0 } } } == .contentLengthMismatch)
        #expect(!encoder.hasFailed)
        try payload.withUnsafeBytes { try encoder.write($0) { body += $0 } }
        try encoder.finish { body += $0 }
        #expect(body == (try streaming.encode(payload)))
    }
}

/// Secrets never show up in what the streaming types print.
@Suite("aws-chunked secrecy")
struct ChunkedSecrecyTests {
    @Test("descriptions and dumps of the streaming values never contain the secret key")
    func noSecretInDescriptions() throws {
        let streaming = try StreamingFixtures.signer.signStreaming(
            StreamingFixtures.request, decodedContentLength: 10, encoding: .signedWithTrailer(.crc32c),
            at: StreamingFixtures.date)
        var encoder = streaming.makeEncoder()
        _ = try encoder.encode([UInt8](repeating: 1, count: 10))
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        var texts = [
            String(describing: streaming), String(reflecting: streaming), String(describing: encoder),
            String(describing: streaming.chunkSigner as Any),
        ]
        var dump = ""
        Swift.dump(streaming, to: &dump)
        texts.append(dump)
        for text in texts {
            #expect(!text.contains(secret))
            #expect(!text.contains("wJalrXUtnFEMI"))
        }
        let keyText = streaming.chunkSigner.map { String(describing: $0.signingKey) } ?? ""
        #expect(keyText.contains("<redacted>"))
    }
}
