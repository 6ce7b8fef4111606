/// Virtual-hosted-style S3 addressing: a request whose `Host` is `<bucket>.<domain>`, under a
/// domain the endpoint serves, addresses that bucket, and its path is the object key
/// (`photos.s3.example.com/cat.jpg` is path style's `s3.example.com/photos/cat.jpg`).
///
/// With ``VerificationPolicy/virtualHostedStyle`` set, the verifier reads the bucket from the
/// signed `Host`, applies a key's ``KeyScope/pathPrefixes`` to the path-style path
/// (`/photos/cat.jpg`), and puts the bucket in ``VerifiedRequest/bucket``, so that a server or a
/// gateway can route the request by path. A `Host` under a domain that names no valid bucket is
/// refused with `InvalidBucketName`; a `Host` equal to a domain, or outside them all, is path
/// style.
///
/// ```swift
/// let addressing = try VirtualHostedStyle(domains: ["s3.example.com"])
/// try addressing.bucket(host: "photos.s3.example.com:8080")   // "photos"
/// try addressing.bucket(host: "s3.example.com")                // nil: path style
/// ```
public struct VirtualHostedStyle: Sendable, Hashable {
    /// The domains, lowercase, without a trailing dot, longest first (a bucket is read under the
    /// longest domain that ends the host: `a.b.s3.example.com` under `s3.example.com` and
    /// `example.com` is bucket `a.b`).
    public let domains: [String]

    /// A domain that cannot be served: empty, or holding a byte other than a letter, a digit, `-`
    /// or `.` (a port is not part of it), or an empty label.
    public struct InvalidDomain: Error, Sendable, CustomStringConvertible {
        /// The domain as given.
        public var domain: String
        public var description: String { "'\(domain)' is not a domain name (letters, digits, '-' and '.')" }
    }

    /// Creates the addressing for `domains` (any case; a trailing dot is dropped).
    public init(domains: some Sequence<String>) throws(InvalidDomain) {
        var out: Set<String> = []
        for given in domains {
            var domain = given.lowercased()
            if domain.hasSuffix(".") { domain.removeLast() }
            let labels = domain.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            guard !domain.isEmpty,
                labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy { VirtualHostedStyle.isDomainByte($0) } })
            else { throw InvalidDomain(domain: given) }
            out.insert(domain)
        }
        self.domains = out.sorted { ($0.utf8.count, $0) > ($1.utf8.count, $1) }
    }

    /// The bucket `host` (a `Host` value, with or without a port) names, or nil when it is path
    /// style (a domain itself, outside every domain, or an IP literal). Throws `InvalidBucketName`
    /// when the host is under a domain but what stands before it is not a bucket name
    /// (``isValidBucketName(_:)``).
    public func bucket(host: String) throws(VerificationFailure) -> String? {
        var host = host
        return try host.withUTF8 { bytes in Result { () throws(VerificationFailure) in try bucket(host: bytes) } }.get()
    }

    /// ``bucket(host:)`` on the bytes of a `Host` value.
    public func bucket(host raw: UnsafeBufferPointer<UInt8>) throws(VerificationFailure) -> String? {
        var host = raw[...]
        while let f = host.first, f == 0x20 || f == 0x09 { host = host.dropFirst() }
        while let l = host.last, l == 0x20 || l == 0x09 { host = host.dropLast() }
        if host.first == UInt8(ascii: "[") { return nil }  // an IPv6 literal
        if let colon = host.lastIndex(of: UInt8(ascii: ":")) { host = host[..<colon] }
        if host.last == UInt8(ascii: ".") { host = host.dropLast() }
        for domain in domains {
            let d = domain.utf8
            guard host.count >= d.count else { continue }
            let tail = host.suffix(d.count)
            guard zip(tail, d).allSatisfy({ Self.lowercased($0) == $1 }) else { continue }
            if host.count == d.count { return nil }
            let dot = tail.startIndex - 1
            guard host[dot] == UInt8(ascii: ".") else { continue }  // `xs3.example.com` is not under `s3.example.com`
            let label = host[..<dot]
            let bucket = String(decoding: label.map(Self.lowercased), as: UTF8.self)
            guard Self.isValidBucketName(bucket) else {
                throw VerificationFailure(
                    .invalidBucketName,
                    "The specified bucket is not valid: the Host names '\(String(bucket.prefix(80)))' under '\(domain)'.")
            }
            return bucket
        }
        return nil
    }

    /// True for a bucket name a `Host` can carry, by S3's rules for general purpose buckets: 3 to
    /// 63 bytes of lowercase letters, digits, `-` and `.`, starting and ending with a letter or a
    /// digit, no `..`, and not an IPv4 address. (So the path-style path `/<bucket>/…` has no
    /// escape, separator or dot segment in its first segment.)
    public static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func isAlnum(_ b: UInt8) -> Bool { (0x61...0x7a).contains(b) || (0x30...0x39).contains(b) }
        guard isAlnum(bytes[0]), isAlnum(bytes[bytes.count - 1]) else { return false }
        for (i, b) in bytes.enumerated() {
            guard isAlnum(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") else { return false }
            if b == UInt8(ascii: "."), bytes[i - 1] == UInt8(ascii: ".") { return false }
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        let looksLikeIPv4 = parts.count == 4 && parts.allSatisfy { $0.allSatisfy { (0x30...0x39).contains($0) } }
        return !looksLikeIPv4
    }

    static func isDomainByte(_ b: UInt8) -> Bool {
        (0x61...0x7a).contains(b) || (0x30...0x39).contains(b) || b == UInt8(ascii: "-")
    }

    static func lowercased(_ b: UInt8) -> UInt8 { (0x41...0x5a).contains(b) ? b | 0x20 : b }
}
