package import _SigV4Crypto

/// The SigV4a (`AWS4-ECDSA-P256-SHA256`) key pair of an access key: an ECDSA P-256 key derived
/// from the access key id and the secret, the same for every date, region and service.
///
/// The derivation is NIST SP 800-108's HMAC-SHA256 counter mode, as aws-c-auth, the Go SDK and
/// IAM do it: `k0 = HMAC-SHA256("AWS4A" + secret, 00000001 ‖ "AWS4-ECDSA-P256-SHA256" ‖ 00 ‖
/// accessKeyID ‖ counter ‖ 00000100)`, with the one-byte counter starting at 1 and raised while
/// `k0 > n - 2` (n: the curve order); the private scalar is `k0 + 1`. A verifier that knows the
/// secret derives the same key and checks signatures with its public half.
///
/// ```swift
/// let key = try SigV4aSigningKey(credentials: credentials)
/// print(key.publicKeyHex.x)   // public, safe to print; the private scalar never is
/// ```
public struct SigV4aSigningKey: Sendable, CustomStringConvertible {
    /// The access key id the key was derived for.
    public let accessKeyID: String
    package let privateKey: P256PrivateKey

    /// Derives the key pair; throws `invalidCredentials` for an empty access key id or secret.
    public init(credentials: Credentials) throws(SigV4Error) {
        guard !credentials.accessKeyID.isEmpty, credentials.secretAccessKey.count > 0 else {
            throw SigV4Error(.invalidCredentials, "SigV4a needs an access key id and a secret access key")
        }
        accessKeyID = credentials.accessKeyID
        privateKey = try SigV4aSigningKey.derive(
            accessKeyID: credentials.accessKeyID, secret: credentials.secretAccessKey)
    }

    /// The public point's coordinates, 64 lowercase hex digits each.
    public var publicKeyHex: (x: String, y: String) {
        (Hex.encode(privateKey.publicKey.x), Hex.encode(privateKey.publicKey.y))
    }

    /// True when `signature` (DER, as hex in the request) is this key's ECDSA signature of
    /// SHA-256(`stringToSign`).
    public func isValidSignature(_ signature: [UInt8], stringToSign: [UInt8]) -> Bool {
        privateKey.publicKey.isValidSignature(signature, forDigest: SHA256.hash(stringToSign))
    }

    /// Names the access key only.
    public var description: String { "SigV4aSigningKey(\(accessKeyID), <redacted>)" }

    /// The curve order minus 2, big-endian: the largest `k0` accepted.
    static let orderMinusTwo: [UInt8] = Hex.decode(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254f")!

    static let label = Array("AWS4-ECDSA-P256-SHA256".utf8)

    /// True when the 32-byte big-endian `k0` is at most n - 2, in constant time: the borrow of
    /// (n - 2) - k0 is computed over every byte, without a branch on the secret bytes (a
    /// lexicographic comparison stops at the first byte that differs, which tells how many of the
    /// candidate scalar's leading bytes equal n - 2's).
    package static func isAtMostOrderMinusTwo(_ k0: UnsafeRawBufferPointer) -> Bool {
        precondition(k0.count == 32)
        var borrow: UInt16 = 0
        for i in stride(from: 31, through: 0, by: -1) {
            let difference = UInt16(orderMinusTwo[i]) &- UInt16(k0[i]) &- borrow
            borrow = (difference >> 8) & 1
        }
        return borrow == 0
    }

    /// Adds one to the big-endian integer in `bytes`, in constant time (the carry goes through
    /// every byte; a maximal value rolls over to zero).
    package static func addOne(_ bytes: UnsafeMutableRawBufferPointer) {
        var carry: UInt16 = 1
        for i in stride(from: bytes.count - 1, through: 0, by: -1) {
            let sum = UInt16(bytes[i]) &+ carry
            bytes[i] = UInt8(truncatingIfNeeded: sum)
            carry = sum >> 8
        }
    }

    static func derive(accessKeyID: String, secret: SecretAccessKey) throws(SigV4Error) -> P256PrivateKey {
        // The HMAC key, "AWS4A" + secret, in memory that is wiped when released.
        let hmacKey = secret.withUnsafeBytes { s in
            SecureBytes(count: 5 + s.count) { out in
                out.copyBytes(from: "AWS4A".utf8)
                UnsafeMutableRawBufferPointer(rebasing: out[5...]).copyMemory(from: s)
            }
        }
        var input: [UInt8] = [0, 0, 0, 1] + label + [0] + Array(accessKeyID.utf8) + [1, 0, 0, 1, 0]
        let counterIndex = input.count - 5
        for counter in UInt8(1)...UInt8(254) {
            input[counterIndex] = counter
            var k0 = hmacKey.withUnsafeBytes { key in
                input.withUnsafeBytes { HMACKey.authenticationCode(key: key, message: $0) }
            }
            defer { withUnsafeMutableBytes(of: &k0) { ConstantTime.cleanse($0) } }
            // Only whether k0 is in range may show in the timing (as in aws-c-auth), not where it
            // differs from n - 2.
            guard k0.withUnsafeBytes({ isAtMostOrderMinusTwo($0) }) else { continue }
            // The scalar k0 + 1 (k0 <= n - 2, so no carry leaves the 32 bytes).
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) {
                scalar throws(SigV4Error) -> P256PrivateKey in
                defer { ConstantTime.cleanse(UnsafeMutableRawBufferPointer(scalar)) }
                k0.withUnsafeBytes { _ = scalar.initialize(from: $0.bindMemory(to: UInt8.self)) }
                addOne(UnsafeMutableRawBufferPointer(scalar))
                do {
                    return try P256PrivateKey(scalar: UnsafeRawBufferPointer(scalar))
                } catch {
                    throw SigV4Error(.invalidCredentials, "the SigV4a key could not be derived")
                }
            }
        }
        throw SigV4Error(.invalidCredentials, "no SigV4a key in range after 254 counters")
    }
}
