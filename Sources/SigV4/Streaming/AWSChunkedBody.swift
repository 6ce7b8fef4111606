/// An `AsyncSequence` of aws-chunked body pieces made from an `AsyncSequence` of byte buffers.
///
/// The elements, concatenated, are the encoded body. Input buffers of any size are re-cut to
/// the chunk size, and memory stays at about one chunk whatever the payload size, because
/// input is consumed one chunk at a time. Usually each element is one complete chunk frame
/// (`hex;chunk-signature=…\r\n data \r\n`), built with a single copy of the data. When an
/// input element is a `[UInt8]` of exactly ``AWSChunkedEncoder/chunkSize`` bytes arriving on a
/// chunk boundary (a reader producing chunk-sized blocks), it is hashed in place and passed on
/// as its own element, after an element holding its header: no copy at all. The last element
/// holds the end of the body and the trailer.
///
/// ```swift
/// let streaming = try signer.signStreaming(request, decodedContentLength: size, at: date)
/// for try await frame in streaming.body(fileChunks) {
///     try await send(frame)
/// }
/// ```
public struct AWSChunkedBody<Base: AsyncSequence>: AsyncSequence where Base.Element: Sequence<UInt8> {
    /// A piece of the encoded body.
    public typealias Element = [UInt8]

    let base: Base
    let encoder: AWSChunkedEncoder

    /// Wraps `base` with an encoder (usually from ``StreamingSignedRequest/body(_:)``).
    public init(_ base: Base, encoder: AWSChunkedEncoder) {
        self.base = base
        self.encoder = encoder
    }

    /// Starts encoding; each iterator signs the chain from the seed.
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
        /// A chunk passed through unchanged, to return after its header.
        var passThrough: [UInt8]?
        /// The passed-through chunk still needs its closing CRLF (prepended to the next element).
        var pendingCRLF = false

        /// Prepends the CRLF owed by a passed-through chunk.
        mutating func settle(_ element: [UInt8]) -> [UInt8] {
            guard pendingCRLF else { return element }
            pendingCRLF = false
            return AWSChunkedEncoder.crlf + element
        }

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

        /// Errors: ``SigV4Error`` or whatever the base sequence throws. After an error the sequence
        /// is over: `next()` returns nil, and never the end of the body (which would make the bytes
        /// sent so far a complete, validly signed upload). A source that ends because the task was
        /// cancelled ends the body with `CancellationError`, for the same reason.
        public typealias Failure = any Error

        /// The next piece of the body, or nil after the end.
        public mutating func next() async throws -> [UInt8]? {
            try await next(isolation: nil)
        }

        /// Runs on the caller's executor (SE-0421), so iterating from an actor hops no executors.
        public mutating func next(isolation actor: isolated (any Actor)?) async throws -> [UInt8]? {
            if let chunk = passThrough {
                passThrough = nil
                pendingCRLF = true
                return chunk
            }
            while !done {
                if let element = current {
                    if offset == 0, encoder.filled == 0, let array = element as? [UInt8],
                        array.count == encoder.chunkSize
                    {
                        let result = array.withUnsafeBytes { raw in
                            Result { () throws(SigV4Error) in try encoder.passThroughHeader(raw) }
                        }
                        current = nil
                        switch result {
                        case .success(let header):
                            passThrough = array
                            return settle(header)
                        case .failure(let error):
                            done = true
                            throw error
                        }
                    }
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
                        if let frame = outcome.frame { return settle(frame) }
                    }
                    continue
                }
                let next: Base.Element?
                do {
                    next = try await base.next(isolation: actor)
                } catch {
                    // The payload failed: the body must never be ended (which would sign and send the
                    // bytes so far as a complete upload), so the sequence ends here, after the error.
                    done = true
                    throw error
                }
                if let next {
                    current = next
                    offset = 0
                    continue
                }
                done = true
                // A cancelled source may just end (AsyncStream's iterator returns nil): that is not
                // the end of the payload, so the body is not ended either.
                if Task.isCancelled { throw CancellationError() }
                return settle(try encoder.finish())
            }
            return nil
        }
    }
}

extension AWSChunkedBody: Sendable where Base: Sendable {}
