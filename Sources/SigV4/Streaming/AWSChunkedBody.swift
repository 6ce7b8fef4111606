/// An `AsyncSequence` of aws-chunked frames made from an `AsyncSequence` of byte buffers.
///
/// Each element is one complete chunk frame (`hex;chunk-signature=…\r\n data \r\n`); the last
/// element holds the final chunk(s) and the trailer. Input buffers of any size are re-cut to
/// the chunk size; memory stays at about one chunk whatever the payload size, because input
/// is consumed one frame at a time. Contiguous inputs (`[UInt8]`, `ArraySlice<UInt8>`, …) are
/// hashed in place, with a single copy into the outgoing frame.
///
/// ```swift
/// let streaming = try signer.signStreaming(request, decodedContentLength: size, at: date)
/// for try await frame in streaming.body(fileChunks) {
///     try await send(frame)
/// }
/// ```
public struct AWSChunkedBody<Base: AsyncSequence>: AsyncSequence where Base.Element: Sequence<UInt8> {
    public typealias Element = [UInt8]

    let base: Base
    let encoder: AWSChunkedEncoder

    /// Wraps `base` with an encoder (usually from ``StreamingSignedRequest/body(_:)``).
    public init(_ base: Base, encoder: AWSChunkedEncoder) {
        self.base = base
        self.encoder = encoder
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), encoder: encoder)
    }

    /// Produces one frame per call.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        var encoder: AWSChunkedEncoder
        var current: Base.Element?
        var fallback: [UInt8] = []
        var offset = 0
        var done = false

        init(base: Base.AsyncIterator, encoder: AWSChunkedEncoder) {
            self.base = base
            self.encoder = encoder
        }

        /// Feeds from `buffer[offset...]` until a frame completes or the buffer is used up.
        mutating func step(_ buffer: UnsafeRawBufferPointer) throws(SigV4Error) -> (exhausted: Bool, frame: [UInt8]?) {
            while offset < buffer.count {
                let (used, frame) = try encoder.feed(UnsafeRawBufferPointer(rebasing: buffer[offset...]))
                offset += used
                if let frame { return (offset >= buffer.count, frame) }
            }
            return (true, nil)
        }

        public mutating func next() async throws -> [UInt8]? {
            while !done {
                if let element = current {
                    var outcome: (exhausted: Bool, frame: [UInt8]?)?
                    var failure: SigV4Error?
                    let contiguous: Void? = element.withContiguousStorageIfAvailable { buffer in
                        do throws(SigV4Error) {
                            outcome = try step(UnsafeRawBufferPointer(buffer))
                        } catch {
                            failure = error
                        }
                    }
                    if contiguous == nil {
                        // Not contiguous: copy once, then work from the copy.
                        if fallback.isEmpty && offset == 0 { fallback = Array(element) }
                        let copy = fallback
                        let result = copy.withUnsafeBytes { raw in
                            Result { () throws(SigV4Error) in try step(raw) }
                        }
                        switch result {
                        case .success(let value): outcome = value
                        case .failure(let error): failure = error
                        }
                    }
                    if let failure {
                        done = true
                        throw failure
                    }
                    if let outcome {
                        if outcome.exhausted {
                            current = nil
                            fallback = []
                            offset = 0
                        }
                        if let frame = outcome.frame { return frame }
                    }
                    continue
                }
                if let next = try await base.next() {
                    current = next
                    offset = 0
                    continue
                }
                done = true
                return try encoder.finish()
            }
            return nil
        }
    }
}

extension AWSChunkedBody: Sendable where Base: Sendable {}
