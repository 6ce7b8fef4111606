public import SigV4
import _SigV4Crypto

/// A checksum a request declares for its body in an `x-amz-checksum-<algorithm>` header (S3's
/// additional checksums: `crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`, `sha512`, `xxhash64`,
/// `xxhash3`, `xxhash128`, `md5`), the value being the base64 of the big-endian CRC, digest or hash,
/// or in `Content-MD5` (base64 of the MD5 digest; ``isContentMD5``).
///
/// The verifier reads it from a body sent whole (an aws-chunked body carries its checksum in the
/// trailer, which the chunked decoder checks). It checks the value's form before the key lookup
/// (one such header; base64 of the algorithm's length: else `InvalidRequest`), the body against
/// it when the body is given (`BadDigest`), and otherwise leaves the check to
/// ``VerifiedRequest/makeChecksumVerifier()``. Headers that are not checksum values
/// (`x-amz-checksum-algorithm`, `-type`, `-mode`) are not read, nor are `x-amz-checksum-*` values
/// on `CompleteMultipartUpload` (`POST` with an `uploadId` parameter), where they are the whole
/// object's checksum (full-object or composite `…-N`), not the request body's. `Content-MD5` is checked the same
/// way, with S3's codes for it: `InvalidDigest` for a malformed or repeated value, `BadDigest`.
///
/// ```swift
/// if case .accepted(let verified) = result, let checksum = verified.declaredChecksum {
///     print(checksum.algorithm, checksum.value)   // crc32 DUoRhQ==
/// }
/// ```
public struct DeclaredChecksum: Sendable, Hashable {
    /// The algorithm named by the header.
    public let algorithm: TrailingChecksum.Algorithm
    /// The base64 value as sent.
    public let value: String
    /// True for a `Content-MD5` header (``algorithm`` is then `md5`).
    public let isContentMD5: Bool

    /// Creates a declared checksum. `value` must be base64 of `algorithm`'s digest length.
    ///
    /// ```swift
    /// let declared = DeclaredChecksum(algorithm: .crc32, value: "DUoRhQ==")
    /// let contentMD5 = DeclaredChecksum(contentMD5: "XrY7u+Ae7tCTyyK7j1rNww==")
    /// ```
    public init?(algorithm: TrailingChecksum.Algorithm, value: String) {
        guard value.utf8.count == algorithm.base64Length,
            value.withBorrowedUTF8({ Base64.decodedCount($0) }) == algorithm.digestByteCount
        else { return nil }
        self.algorithm = algorithm
        self.value = value
        isContentMD5 = false
    }

    /// A `Content-MD5` value (base64 of the 16-byte digest), or nil when malformed.
    public init?(contentMD5 value: String) {
        guard let checksum = DeclaredChecksum(algorithm: .md5, value: value) else { return nil }
        self.algorithm = .md5
        self.value = checksum.value
        isContentMD5 = true
    }

    /// The header that carries it: `x-amz-checksum-<algorithm>` or `Content-MD5`.
    public var headerName: String { isContentMD5 ? "Content-MD5" : algorithm.headerName }

    /// The algorithm an `x-amz-checksum-…` field name (any case) declares a value for; nil for
    /// other names, `x-amz-checksum-algorithm`/`-type`/`-mode` and algorithms not computed here.
    static func algorithm(ofFieldName name: UnsafeBufferPointer<UInt8>) -> TrailingChecksum.Algorithm? {
        let prefix: StaticString = "x-amz-checksum-"
        let n = prefix.utf8CodeUnitCount
        guard name.count > n, name.count <= n + 9,
            VerificationRequest.equalsIgnoringCase(
                UnsafeBufferPointer(rebasing: name[0..<n]), UnsafeBufferPointer(start: prefix.utf8Start, count: n))
        else { return nil }
        let suffix = UnsafeBufferPointer(rebasing: name[n...])
        for algorithm in TrailingChecksum.Algorithm.allCases {
            let known = algorithm.rawValue.utf8
            if known.count == suffix.count, known.withContiguousStorageIfAvailable({
                VerificationRequest.equalsIgnoringCase(suffix, $0)
            }) == true {
                return algorithm
            }
        }
        return nil
    }

    /// `InvalidRequest` for a malformed value of this algorithm's header.
    static func invalidValue(_ algorithm: TrailingChecksum.Algorithm) -> VerificationFailure {
        VerificationFailure(.invalidRequest, "Value for \(algorithm.headerName) header is invalid.")
    }

    /// True for `POST …?uploadId=…` (S3 `CompleteMultipartUpload`): its `x-amz-checksum-*` header is the
    /// object's checksum, not its body's. `query` is the target's query bytes.
    static func isCompleteMultipartUpload(method: String, query: UnsafeBufferPointer<UInt8>) -> Bool {
        method == "POST" && AuthorizationParser.anyParameterName(in: query) { ByteSearch.equals(query, $0, "uploadId") }
    }

    /// `InvalidDigest` for a malformed or repeated `Content-MD5`.
    static let invalidContentMD5 = VerificationFailure(.invalidDigest, "The Content-MD5 you specified was invalid.")

    /// `BadDigest`: the body does not have the declared checksum.
    func mismatch() -> VerificationFailure {
        if isContentMD5 {
            return VerificationFailure(.badDigest, "The Content-MD5 you specified did not match what we received.")
        }
        return VerificationFailure(
            .badDigest, "The \(algorithm.rawValue.uppercased()) you specified did not match the calculated checksum.",
            details: [.init("ChecksumAlgorithm", algorithm.rawValue.uppercased())])
    }

    /// Throws ``mismatch()`` unless `computed` (base64) is the declared value (compared in
    /// constant time, like every value a client proves something with).
    func check(computed: String) throws(VerificationFailure) {
        guard ConstantTime.equals(Array(computed.utf8), Array(value.utf8)) else { throw mismatch() }
    }
}

/// Checks a body against its ``DeclaredChecksum``s (an `x-amz-checksum-*` header, `Content-MD5`, or
/// both) while it streams: feed every byte in order, then call ``finalize()``. Memory use is
/// constant.
///
/// ```swift
/// if var checksum = verified.makeChecksumVerifier() {
///     for try await buffer in body { buffer.withUnsafeReadableBytes { checksum.update($0) } }
///     try checksum.finalize()   // BadDigest on a body that does not match
/// }
/// ```
public struct ChecksumVerifier: Sendable {
    /// The checksums the request declared.
    public let declared: [DeclaredChecksum]
    var running: [TrailingChecksum]

    /// Starts checking against every checksum of `declared`.
    public init(_ declared: [DeclaredChecksum]) {
        self.declared = declared
        running = declared.map { TrailingChecksum($0.algorithm) }
    }

    /// Feeds body bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        for i in running.indices { running[i].update(bytes) }
    }

    /// Finishes; throws `BadDigest` when the body does not have a declared checksum.
    public func finalize() throws(VerificationFailure) {
        for (declared, running) in zip(declared, running) { try declared.check(computed: running.base64) }
    }
}
