import Hummingbird
import NIOCore
import SigV4Verifier

/// The client's request body, its read failures tagged: an error the body itself throws (the client's
/// connection closed before the declared length, its HTTP/2 stream reset) comes out as ``ReadFailure``, so
/// the gateway logs the request as the client's doing (499) and not as the upstream's (502) when it
/// surfaces from the upstream call that was streaming the body. A `VerificationFailure` (a check of
/// the middleware's) is not the body's failure and passes as it is.
struct ClientBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// The client's body failed with `underlying`.
    struct ReadFailure: Error, CustomStringConvertible {
        var underlying: any Error
        var description: String { "the client's request body failed: \(underlying)" }
    }

    let base: RequestBody

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: RequestBody.AsyncIterator

        mutating func next() async throws -> ByteBuffer? {
            do {
                return try await base.next()
            } catch let failure as VerificationFailure {
                throw failure
            } catch {
                throw ReadFailure(underlying: error)
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator()) }
}
