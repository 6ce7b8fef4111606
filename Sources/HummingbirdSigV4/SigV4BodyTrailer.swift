public import SigV4
public import SigV4Verifier
import Synchronization

/// What an aws-chunked body's trailer carried, for the handler: the checksum that matched the
/// decoded body. ``SigV4Authenticator`` sets one on the context (``SigV4RequestContext/sigV4Trailer``)
/// for an aws-chunked body that declares a trailer (`x-amz-trailer`), and fills it once the handler
/// has read the body to its end and the trailer verified; the middleware strips the trailer from
/// what the handler sees, so a store learns the value here.
///
/// ```swift
/// router.put("/{key}") { request, context in
///     var size = 0
///     for try await buffer in request.body { size += buffer.readableBytes }   // verified as it streams
///     if let checksum = context.sigV4Trailer?.checksum {
///         print(checksum.headerName, checksum.value)  // x-amz-checksum-crc32c yZRlqg==
///     }
///     return Response(status: .ok)
/// }
/// ```
public final class SigV4BodyTrailer: Sendable {
    /// The algorithm `x-amz-trailer` declared, known before the body is read.
    public let algorithm: TrailingChecksum.Algorithm
    private let verified = Mutex<DeclaredChecksum?>(nil)

    /// Creates an empty trailer record for a body whose trailer declares `algorithm`.
    public init(algorithm: TrailingChecksum.Algorithm) {
        self.algorithm = algorithm
    }

    /// The trailer's checksum, verified against the decoded body; nil until the body has been read to
    /// its end (and for ever if it failed verification).
    public var checksum: DeclaredChecksum? { verified.withLock { $0 } }

    /// Records the checksum the decoder verified.
    func record(_ checksum: DeclaredChecksum) {
        verified.withLock { $0 = checksum }
    }
}
