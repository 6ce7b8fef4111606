import _SigV4Crypto

/// An incremental checksum for an aws-chunked trailer (`x-amz-checksum-crc32`, `-crc32c`, `-crc64nvme`,
/// `-sha1`, `-sha256`, `-sha512`, `-xxhash64`, `-xxhash3`, `-xxhash128`, `-md5`).
///
/// AWS documentation: S3 User Guide, "Checking object integrity", and the S3 API
/// Reference page "Signature Calculations for the Authorization Header: Transferring
/// Payload in Multiple Chunks (Chunked Upload) … with trailing headers". The value
/// sent is the base64 of the big-endian checksum (CRC) or of the digest (SHA).
///
/// CRC-32 folds with carry-less multiplication when the CPU has it (slicing-by-16 tables
/// otherwise); CRC-32C uses the SSE4.2 instruction when present; CRC-64/NVME folds like CRC-32
/// (slicing-by-8 tables otherwise); SHA-1, SHA-256 and SHA-512 come from libcrypto; XXH64, XXH3-64
/// and XXH3-128 (what newer SDKs send as `XXHASH64`, `XXHASH3`, `XXHASH128`; big-endian, the
/// 128-bit one high half first) are computed here, checked against awscrt; MD5 (which S3 also
/// names) comes from libcrypto.
///
/// ```swift
/// var checksum = TrailingChecksum(.crc32c)
/// checksum.update(Array(repeating: 0x61, count: 66_560))
/// print(checksum.base64)            // sOO8/Q==
/// print(checksum.algorithm.headerName) // x-amz-checksum-crc32c
/// ```
public struct TrailingChecksum: Sendable {
    /// A trailing-checksum algorithm that S3 accepts in `x-amz-trailer`.
    ///
    /// ```swift
    /// let algorithm = try TrailingChecksum.Algorithm(name: "CRC32C")
    /// print(algorithm.headerName) // x-amz-checksum-crc32c
    /// ```
    public enum Algorithm: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// CRC-32 (IEEE 802.3).
        case crc32
        /// CRC-32C (Castagnoli).
        case crc32c
        /// CRC-64/NVME (S3's default full-object checksum).
        case crc64nvme
        /// SHA-1.
        case sha1
        /// SHA-256.
        case sha256
        /// SHA-512.
        case sha512
        /// XXH64 (seed 0).
        case xxhash64
        /// XXH3, 64 bits (seed 0, default secret).
        case xxhash3
        /// XXH3, 128 bits (seed 0, default secret).
        case xxhash128
        /// MD5.
        case md5

        /// Parses `crc32`, `CRC32C`, `sha1`, … or a full header name such as `x-amz-checksum-crc32c`
        /// (any case). Anything else throws ``SigV4Error/Code-swift.struct/unsupportedChecksum``.
        public init(name: String) throws(SigV4Error) {
            var lower = name.lowercased()
            if lower.hasPrefix("x-amz-checksum-") { lower.removeFirst("x-amz-checksum-".count) }
            guard let algorithm = Algorithm(rawValue: lower) else {
                throw SigV4Error(
                    .unsupportedChecksum,
                    "unsupported trailing checksum \(name.debugDescription.prefix(48)); use crc32, crc32c, crc64nvme, sha1, sha256, sha512, xxhash64, xxhash3, xxhash128 or md5"
                )
            }
            self = algorithm
        }

        /// The trailer header name, `x-amz-checksum-<name>`.
        public var headerName: String { "x-amz-checksum-\(rawValue)" }

        /// Bytes in the raw checksum: 4 (CRC-32, CRC-32C), 8 (CRC-64/NVME, XXH64, XXH3), 16 (XXH3-128,
        /// MD5), 20, 32 or 64 (SHA-1, -256, -512).
        public var digestByteCount: Int {
            switch self {
            case .crc32, .crc32c: return 4
            case .crc64nvme, .xxhash64, .xxhash3: return 8
            case .xxhash128, .md5: return 16
            case .sha1: return 20
            case .sha256: return 32
            case .sha512: return 64
            }
        }

        /// Characters in the base64 value: 8 (CRC-32, CRC-32C), 12 (CRC-64/NVME, XXH64, XXH3),
        /// 24 (XXH3-128, MD5), 28, 44 or 88 (SHA-1, -256, -512).
        public var base64Length: Int { Base64.encodedLength(of: digestByteCount) }

        /// The lowercase name, e.g. `crc32c`.
        public var description: String { rawValue }
    }

    enum State: Sendable {
        case crc32(CRC32)
        case crc32c(CRC32C)
        case crc64nvme(CRC64NVME)
        case sha1(SHA1)
        case sha256(SHA256)
        case sha512(SHA512)
        case xxhash64(XXH64Hasher)
        case xxhash3(XXH3Hasher)
        case md5(MD5)
    }

    /// The algorithm.
    public let algorithm: Algorithm
    var state: State

    /// Starts a checksum.
    public init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: state = .crc32(CRC32())
        case .crc32c: state = .crc32c(CRC32C())
        case .crc64nvme: state = .crc64nvme(CRC64NVME())
        case .sha1: state = .sha1(SHA1())
        case .sha256: state = .sha256(SHA256())
        case .sha512: state = .sha512(SHA512())
        case .xxhash64: state = .xxhash64(XXH64Hasher())
        case .xxhash3: state = .xxhash3(XXH3Hasher(width: .bits64))
        case .xxhash128: state = .xxhash3(XXH3Hasher(width: .bits128))
        case .md5: state = .md5(MD5())
        }
    }

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch state {
        case .crc32(var c):
            c.update(bytes)
            state = .crc32(c)
        case .crc32c(var c):
            c.update(bytes)
            state = .crc32c(c)
        case .crc64nvme(var c):
            c.update(bytes)
            state = .crc64nvme(c)
        case .sha1(var h):
            h.update(bytes)
            state = .sha1(h)
        case .sha256(var h):
            h.update(bytes)
            state = .sha256(h)
        case .sha512(var h):
            h.update(bytes)
            state = .sha512(h)
        case .xxhash64(var h):
            h.update(bytes)
            state = .xxhash64(h)
        case .xxhash3(var h):
            h.update(bytes)
            state = .xxhash3(h)
        case .md5(var h):
            h.update(bytes)
            state = .md5(h)
        }
    }

    /// Adds bytes from any collection (contiguous storage is used directly).
    public mutating func update<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        if bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) == nil {
            Array(bytes).withUnsafeBytes { update($0) }
        }
    }

    /// The raw checksum of everything so far: a big-endian CRC or the digest. The checksum stays usable.
    public var digest: [UInt8] {
        switch state {
        case .crc32(let c): return c.bigEndianBytes
        case .crc32c(let c): return c.bigEndianBytes
        case .crc64nvme(let c): return c.bigEndianBytes
        case .sha1(var h): return h.finalize()
        case .sha256(var h): return h.finalize().bytes
        case .sha512(var h): return h.finalize()
        case .xxhash64(let h): return h.bigEndianBytes
        case .xxhash3(let h): return h.bigEndianBytes
        case .md5(var h): return h.finalize()
        }
    }

    /// The value sent in the trailer: base64 of ``digest``.
    public var base64: String { Base64.encode(digest) }

    /// Appends `name:value` (no line ending) to `buffer`.
    package func appendTrailerField(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: algorithm.headerName.utf8)
        buffer.append(UInt8(ascii: ":"))
        digest.withUnsafeBytes { Base64.append($0, to: &buffer) }
    }

    /// The base64 checksum of `bytes` in one call.
    public static func base64<Bytes: Collection<UInt8>>(_ algorithm: Algorithm, of bytes: Bytes) -> String {
        var c = TrailingChecksum(algorithm)
        c.update(bytes)
        return c.base64
    }
}
