import NIOCore
import Synchronization

/// Watches a request body streamed to the upstream for an upstream that stops taking it.
///
/// The HTTP client asks the body for its next buffer only when the upstream's connection can take
/// more (backpressure), so the time since a buffer was handed over without the next being asked for is
/// how long the upstream has not read. AsyncHTTPClient's own write timeout cannot watch this: it runs
/// while the connection is writable and the body has nothing to give (a slow client), and stops while
/// the connection is not writable (the upstream not reading). Without a watch, an upstream that stopped
/// reading an upload held its request, its connection and a graceful shutdown for ever.
///
/// ```swift
/// let stall = UploadStall()
/// outbound.body = .stream(UploadStall.Watched(body, stall: stall), length: .known(length))
/// let response = try await stall.guarding(limit: .seconds(300)) {
///     try await client.execute(outbound, deadline: .distantFuture)
/// }
/// ```
final class UploadStall: Sendable {
    /// Thrown (and answered 504 `GatewayTimeout`) when the upstream took nothing for the limit.
    struct Stalled: Error, CustomStringConvertible {
        let seconds: Double
        var description: String { "the upstream read none of the request body for \(seconds) s (--upstream-timeout)" }
    }

    /// When a buffer was handed over and the next not yet asked for (nanoseconds of `ContinuousClock`
    /// since `origin`); 0 while the body is being asked for, or has ended.
    private let handedAt = Atomic<Int64>(0)
    private let origin = ContinuousClock.now

    private func nanoseconds() -> Int64 {
        let elapsed = ContinuousClock.now - origin
        return max(1, elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }

    /// How long the upstream has left the last buffer handed over without asking for the next; zero when
    /// it is asking (or the body has ended).
    var waiting: Duration {
        let at = handedAt.load(ordering: .relaxed)
        return at == 0 ? .zero : .nanoseconds(nanoseconds() - at)
    }

    /// Runs `exchange` (the request to the upstream); throws ``Stalled`` and cancels it once the upstream
    /// has taken nothing for `limit` while the body still had buffers to give.
    func guarding<R: Sendable>(limit: Duration?, _ exchange: @escaping @Sendable () async throws -> R) async throws
        -> R
    {
        guard let limit else { return try await exchange() }
        return try await withThrowingTaskGroup(of: R?.self) { group in
            group.addTask { try await exchange() }
            group.addTask {
                // Wakes when the buffer last handed over would reach the limit, if the upstream has not
                // asked for the next by then: once per limit while it keeps reading, not on a tick.
                var wait = limit
                while true {
                    try await Task.sleep(for: max(wait, .milliseconds(1)))
                    let waiting = self.waiting
                    if waiting >= limit {
                        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
                        throw Stalled(seconds: seconds)
                    }
                    wait = limit - waiting
                }
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let answer = next { return answer }
            }
            throw CancellationError()
        }
    }

    /// `base`, noting when each buffer is handed over and when the next is asked for.
    struct Watched<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
        typealias Element = ByteBuffer
        let base: Base
        let stall: UploadStall

        init(_ base: Base, stall: UploadStall) {
            self.base = base
            self.stall = stall
        }

        struct AsyncIterator: AsyncIteratorProtocol {
            var base: Base.AsyncIterator
            let stall: UploadStall

            mutating func next() async throws -> ByteBuffer? {
                stall.handedAt.store(0, ordering: .relaxed)
                let buffer = try await base.next()
                stall.handedAt.store(buffer == nil ? 0 : stall.nanoseconds(), ordering: .relaxed)
                return buffer
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), stall: stall) }
    }
}
