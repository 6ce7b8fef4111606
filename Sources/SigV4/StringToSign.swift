package import _SigV4Crypto

/// The SigV4 string to sign.
///
/// AWS documentation: "Create a string to sign":
/// ```
/// AWS4-HMAC-SHA256
/// <X-Amz-Date>
/// <credential scope>
/// <hex SHA-256 of the canonical request>
/// ```
///
/// ```swift
/// let sts = StringToSign(date: date, scope: scope, canonicalRequestHash: canonicalRequest.hash)
/// print(sts.text)
/// ```
public struct StringToSign: Sendable, Hashable, CustomStringConvertible {
    /// The signing algorithm for SigV4 with HMAC-SHA256.
    public static let algorithm = "AWS4-HMAC-SHA256"

    /// What the bytes are made from: a request signature's three parts (written out only when
    /// read, so signing never stores them), or finished bytes (chunk and trailer forms).
    enum Storage: Sendable {
        case request(date: AmzDate, scope: CredentialScope, canonicalRequestHash: SHA256Digest)
        case bytes([UInt8])
    }

    let storage: Storage

    /// The exact bytes that are MACed.
    public var bytes: [UInt8] {
        switch storage {
        case .bytes(let b): return b
        case .request:
            return withBytes { Array($0) }
        }
    }

    /// Runs `body` with the bytes; a request signature's string to sign is written on the stack.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch storage {
        case .bytes(let b):
            return b.withUnsafeBytes(body)
        case .request(let date, let scope, let hash):
            let capacity = 99 + scope.byteCount
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
                var w = ByteWriter(buffer)
                StringToSign.write(date: date, scope: scope, canonicalRequestHash: hash, to: &w)
                return body(UnsafeRawBufferPointer(w.written))
            }
        }
    }

    /// Builds `algorithm \n date \n scope \n hash` for a request signature.
    package init(date: AmzDate, scope: CredentialScope, canonicalRequestHash: SHA256Digest) {
        storage = .request(date: date, scope: scope, canonicalRequestHash: canonicalRequestHash)
    }

    public static func == (lhs: StringToSign, rhs: StringToSign) -> Bool {
        lhs.withBytes { l in rhs.withBytes { r in l.elementsEqual(r) } }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }

    /// Writes `AWS4-HMAC-SHA256 \n date \n scope \n hex(hash)` (`99 + scope.byteCount` bytes).
    static func write(date: AmzDate, scope: CredentialScope, canonicalRequestHash: SHA256Digest, to w: inout ByteWriter) {
        write(dateText: AmzDateText(date), scope: scope, canonicalRequestHash: canonicalRequestHash, to: &w)
    }

    /// Where the date starts: after `AWS4-HMAC-SHA256\n`.
    static let dateOffset = 17

    /// The same, from a date already formatted.
    static func write(
        dateText: AmzDateText, scope: CredentialScope, canonicalRequestHash: SHA256Digest, to w: inout ByteWriter
    ) {
        write(dateText: dateText, scope: { scope.write(to: &$0) }, canonicalRequestHash: canonicalRequestHash, to: &w)
    }

    /// The same, with the scope's text already written (``CredentialScope/withText(_:)``).
    static func write(
        dateText: AmzDateText, scopeText: UnsafeRawBufferPointer, canonicalRequestHash: SHA256Digest,
        to w: inout ByteWriter
    ) {
        write(dateText: dateText, scope: { $0.append(scopeText) }, canonicalRequestHash: canonicalRequestHash, to: &w)
    }

    /// The string to sign, its scope written by `scope`.
    @inline(__always)
    private static func write(
        dateText: AmzDateText, scope: (inout ByteWriter) -> Void, canonicalRequestHash: SHA256Digest,
        to w: inout ByteWriter
    ) {
        w.append("AWS4-HMAC-SHA256\n")
        w.write(upTo: 16) { p in
            dateText.write(to: p)
            return 16
        }
        w.append(0x0a)
        scope(&w)
        w.append(0x0a)
        w.write(upTo: 64) { p in
            canonicalRequestHash.withUnsafeBytes { Hex.write($0, to: p) }
            return 64
        }
    }

    /// Appends `AWS4-HMAC-SHA256 \n date \n scope \n hex(hash)` to `b`.
    static func append(date: AmzDate, scope: CredentialScope, canonicalRequestHash: SHA256Digest, to b: inout [UInt8]) {
        b.reserveCapacity(b.count + 16 + 1 + 16 + 1 + scope.byteCount + 1 + 64)
        b.append(contentsOf: "AWS4-HMAC-SHA256\n".utf8)
        date.appendISO8601Basic(to: &b)
        b.append(0x0a)
        scope.append(to: &b)
        b.append(0x0a)
        canonicalRequestHash.appendHex(to: &b)
    }

    /// Builds a string to sign from its first three lines and any further lines (chunk and trailer forms).
    package init(algorithm: String, date: AmzDate, scope: CredentialScope, lastLines: [String]) {
        var b: [UInt8] = []
        b.reserveCapacity(160)
        b.append(contentsOf: algorithm.utf8)
        b.append(0x0a)
        date.appendISO8601Basic(to: &b)
        b.append(0x0a)
        scope.append(to: &b)
        for line in lastLines {
            b.append(0x0a)
            b.append(contentsOf: line.utf8)
        }
        storage = .bytes(b)
    }

    /// Wraps bytes that are already a string to sign.
    package init(bytes: [UInt8]) { storage = .bytes(bytes) }

    /// The text form.
    public var text: String { withBytes { String(decoding: $0, as: UTF8.self) } }
    public var description: String { text }
}
