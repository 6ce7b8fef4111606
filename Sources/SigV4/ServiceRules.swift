/// How one service canonicalizes requests: path encoding, normalization, and extra headers.
///
/// All service differences live in one table, ``ServiceRules/table``; nothing
/// else in the library checks a service name.
///
/// | service | normalize path | double-encode path | `x-amz-content-sha256` | session token | presigned payload |
/// |---|---|---|---|---|---|
/// | `s3`, `s3-outposts`, `s3-object-lambda` | no | no | sent | signed | `UNSIGNED-PAYLOAD` |
/// | `s3express` (S3 Express One Zone) | no | no | sent | signed, as `x-amz-s3session-token` | `UNSIGNED-PAYLOAD` |
/// | `iotdevicegateway` | yes | yes | no | added after signing | body hash |
/// | every other service | yes | yes | no | signed | body hash |
///
/// ```swift
/// var rules = ServiceRules.forService("s3")
/// rules.normalizePath = true // override one rule
/// ```
public struct ServiceRules: Sendable, Hashable {
    /// Remove `.`/`..` segments and collapse repeated `/` before encoding (standard services).
    public var normalizePath: Bool
    /// Percent-encode the wire path again, so `%` becomes `%25` (standard services).
    /// When false the wire path's existing `%XX` escapes are kept ("encode once", S3).
    public var doubleEncodePath: Bool
    /// Send and sign `x-amz-content-sha256` with header auth (S3).
    public var sendContentSHA256: Bool
    /// Where the session token goes.
    public var sessionTokenPlacement: SessionTokenPlacement
    /// The payload hash a presigned URL signs when the caller gives none (S3: `UNSIGNED-PAYLOAD`).
    public var presignUnsignedPayload: Bool

    /// Whether the session token is part of the signature.
    public enum SessionTokenPlacement: Sendable, Hashable {
        /// `X-Amz-Security-Token` is signed (most services).
        case signed
        /// The token is added after signing and is not covered by the signature (IoT).
        case appendedAfterSigning
        /// The token is signed as `x-amz-s3session-token` (header signing) or
        /// `X-Amz-S3session-Token` (presigned URLs and POST forms), and no `X-Amz-Security-Token`
        /// is sent: S3 Express One Zone's directory buckets (signing name `s3express`), whose
        /// session credentials come from `CreateSession`.
        case s3SessionToken
    }

    /// Creates rules from each flag.
    public init(
        normalizePath: Bool, doubleEncodePath: Bool, sendContentSHA256: Bool,
        sessionTokenPlacement: SessionTokenPlacement = .signed, presignUnsignedPayload: Bool = false
    ) {
        self.normalizePath = normalizePath
        self.doubleEncodePath = doubleEncodePath
        self.sendContentSHA256 = sendContentSHA256
        self.sessionTokenPlacement = sessionTokenPlacement
        self.presignUnsignedPayload = presignUnsignedPayload
    }

    /// S3 rules: the path is encoded once and never normalized; `x-amz-content-sha256` is sent.
    public static let s3 = ServiceRules(
        normalizePath: false, doubleEncodePath: false, sendContentSHA256: true, presignUnsignedPayload: true)

    /// The rules for every service not in the table.
    public static let standard = ServiceRules(normalizePath: true, doubleEncodePath: true, sendContentSHA256: false)

    /// S3 Express One Zone: ``s3`` with the session token in `x-amz-s3session-token`.
    public static let s3Express = ServiceRules(
        normalizePath: false, doubleEncodePath: false, sendContentSHA256: true, sessionTokenPlacement: .s3SessionToken,
        presignUnsignedPayload: true)

    /// The per-service table. Services not listed use ``standard``.
    public static let table: [String: ServiceRules] = [
        "s3": .s3,
        "s3express": .s3Express,
        "s3-outposts": .s3,
        "s3-object-lambda": .s3,
        "iotdevicegateway": ServiceRules(
            normalizePath: true, doubleEncodePath: true, sendContentSHA256: false,
            sessionTokenPlacement: .appendedAfterSigning),
    ]

    /// The rules for a signing name.
    public static func forService(_ service: String) -> ServiceRules {
        // The table's few names compared as bytes, length first: a verifier asks once per request,
        // and hashing the name for the dictionary cost about 60 ns of a verification. A name whose
        // length no entry has (most services) is answered from its count alone, without its bytes.
        let count = service.utf8.count
        guard count < 64, entryLengths & (1 &<< UInt64(count)) != 0 else { return .standard }
        return withUTF8Bytes(service) { raw in
            let name = raw.bindMemory(to: UInt8.self)
            for entry in entries where entry.name.count == name.count {
                if entry.name.withUnsafeBufferPointer({ ByteSearch.compare($0, name) == 0 }) { return entry.rules }
            }
            return .standard
        }
    }

    /// ``table`` as a list of (UTF-8 name, rules), for ``forService(_:)``.
    static let entries: [(name: [UInt8], rules: ServiceRules)] = table.map { (Array($0.key.utf8), $0.value) }

    /// Bit n set when an entry of ``table`` has a name of n bytes (every name is under 64).
    static let entryLengths: UInt64 = table.keys.reduce(0) { $0 | 1 << UInt64($1.utf8.count) }
}

extension ServiceRules.SessionTokenPlacement {
    /// The lowercase name of the header a signed session token goes in: `x-amz-s3session-token`
    /// under S3 Express rules, else `x-amz-security-token`.
    package var headerName: StaticString {
        self == .s3SessionToken ? "x-amz-s3session-token" : "x-amz-security-token"
    }

    /// The query parameter a presigned URL carries the token in: `X-Amz-S3session-Token` under S3
    /// Express rules, else `X-Amz-Security-Token`.
    package var queryParameterName: StaticString {
        self == .s3SessionToken ? "X-Amz-S3session-Token" : "X-Amz-Security-Token"
    }
}
