import HTTPTypes
import CBenchFloor
import SigV4

/// The benchmark request, shared with the peer drivers in `scripts/bench-peers/`:
/// `GET https://example.amazonaws.com/photos/2026/photo.jpg?size=large` with three headers
/// (`Host`, `My-Header1: value1`, `Accept: application/json`), service `service`, region
/// `us-east-1`, empty body; the signer adds `X-Amz-Date`.
enum Fixture {
    static let accessKeyID = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let region = "us-east-1"
    static let service = "service"
    static let authority = "example.amazonaws.com"
    static let path = "/photos/2026/photo.jpg?size=large"
    static let date = try! AmzDate(iso8601Basic: "20150830T123600Z")
    static let credentials = Credentials(accessKeyID: accessKeyID, secretAccessKey: secret)
    /// A real-length access key id (20 bytes, as AWS's and the key store's): unlike the suite's
    /// 11-byte `AKIDEXAMPLE` it does not fit a Swift small string, so a `String` of it is a heap
    /// allocation; `verify_header_warm_20B_key` checks that the verifier makes none.
    static let realLengthAccessKeyID = "AKIAIOSFODNN7EXAMPLE"

    static func request(extraHeaders: Int = 0, queryParams: Int? = nil) -> HTTPRequest {
        var target = "/photos/2026/photo.jpg"
        if let queryParams {
            target += "?" + (0..<queryParams).map { "param\($0)=value\($0)" }.joined(separator: "&")
        } else {
            target += "?size=large"
        }
        var request = HTTPRequest(method: .get, scheme: "https", authority: authority, path: target)
        request.headerFields[HTTPField.Name("My-Header1")!] = "value1"
        request.headerFields[.accept] = "application/json"
        for i in 0..<extraHeaders {
            request.headerFields[HTTPField.Name("X-Bench-Header-\(i)")!] = "value \(i)  with   spaces"
        }
        return request
    }

    static func signer(cache: SigningKeyCache?) -> Signer {
        Signer(credentials: credentials, region: region, service: service, keyCache: cache)
    }

}

/// The libcrypto floor for one signature: SHA-256 over the canonical request bytes, HMAC over
/// the string to sign, plus the four derivation HMACs when `cold`.
struct SignatureFloor {
    let canonical: [UInt8]
    let stringToSign: [UInt8]
    let cold: Bool

    /// How libcrypto is called.
    enum Style: String {
        /// `SHA256_Init/Update/Final` and HMAC written over them (no EVP dispatch): the default,
        /// the pure cost of the compression-function blocks.
        case raw
        /// `EVP_MD` fetched once, `EVP_MD_CTX` and `EVP_MAC_CTX` reused.
        case evp
        /// `EVP_Digest(EVP_sha256())` and `HMAC(EVP_sha256())` one-shots.
        case oneshot
    }

    nonisolated(unsafe) static var style: Style = .raw

    func body() -> Body {
        let canonical = self.canonical
        let stringToSign = self.stringToSign
        let cold = self.cold
        guard let f = sigv4_bench_floor_new() else { fatalError("libcrypto floor setup failed") }
        let secretKey = Array("AWS4\(Fixture.secret)".utf8)
        let parts = ["20150830", Fixture.region, Fixture.service, "aws4_request"].map { Array($0.utf8) }
        let key = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        let k1 = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        let k2 = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        let digest = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        let mac = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        let style = SignatureFloor.style
        func sha(_ d: UnsafeRawBufferPointer, _ out: UnsafeMutablePointer<UInt8>) {
            switch style {
            case .raw: _ = sigv4_bench_raw_sha256(d.baseAddress, d.count, out)
            case .evp: _ = sigv4_bench_floor_sha256(f, d.baseAddress, d.count, out)
            case .oneshot: _ = sigv4_bench_oneshot_sha256(d.baseAddress, d.count, out)
            }
        }
        func hmac(_ k: UnsafeRawPointer, _ kn: Int, _ d: UnsafeRawBufferPointer, _ out: UnsafeMutablePointer<UInt8>) {
            switch style {
            case .raw: _ = sigv4_bench_raw_hmac(k, kn, d.baseAddress, d.count, out)
            case .evp: _ = sigv4_bench_floor_hmac(f, k, kn, d.baseAddress, d.count, out)
            case .oneshot: _ = sigv4_bench_oneshot_hmac(k, kn, d.baseAddress, d.count, out)
            }
        }
        func derive() {
            secretKey.withUnsafeBytes { s in parts[0].withUnsafeBytes { hmac(s.baseAddress!, s.count, $0, k1) } }
            parts[1].withUnsafeBytes { hmac(k1, 32, $0, k2) }
            parts[2].withUnsafeBytes { hmac(k2, 32, $0, k1) }
            parts[3].withUnsafeBytes { hmac(k1, 32, $0, key) }
        }
        derive()
        return { n in
            canonical.withUnsafeBytes { cr in
                stringToSign.withUnsafeBytes { sts in
                    for _ in 0..<n {
                        if cold { derive() }
                        sha(cr, digest)
                        hmac(key, 32, sts, mac)
                        blackHole(mac.pointee)
                    }
                }
            }
        }
    }
}
