import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

/// A generated request: what the signer is given, and how it was signed.
struct GeneratedRequest {
    var service: String
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]
    var presign: Bool
    var token: String?
    var date: AmzDate

    static let alnum = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
    static let pathExtras = ["-", "_", ".", "~", "%20", "%2F", "$", "@", ":", "=", "é", "日"]
    static let queryExtras = ["-", "_", ".", "~", "%20", "%2B", "%3D", "é"]

    static func word(_ rng: inout SplitMix64, _ lo: Int = 1, _ hi: Int = 8) -> String {
        String(decoding: (0..<Int.random(in: lo...hi, using: &rng)).map { _ in alnum.randomElement(using: &rng)! }, as: UTF8.self)
    }

    static func make(_ rng: inout SplitMix64) -> GeneratedRequest {
        let service = ["s3", "service", "execute-api", "dynamodb"].randomElement(using: &rng)!
        var path = ""
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            path += "/" + word(&rng)
            if Bool.random(using: &rng) { path += pathExtras.randomElement(using: &rng)! + word(&rng) }
        }
        if path.isEmpty || Bool.random(using: &rng) { path += "/" }
        var query: [String] = []
        for k in 0..<Int.random(in: 0...4, using: &rng) {
            var key = word(&rng) + "k\(k)"
            if Bool.random(using: &rng) { key += queryExtras.randomElement(using: &rng)! }
            query.append(Int.random(in: 0...5, using: &rng) == 0 ? key + "=" : key + "=" + word(&rng, 0, 6))
        }
        var headers: [(String, String)] = []
        let names = ["x-amz-meta-color", "Content-Type", "X-Custom", "x-amz-meta-Size", "My-Header"]
        for _ in 0..<Int.random(in: 0...5, using: &rng) {
            let value = (Bool.random(using: &rng) ? " " : "") + word(&rng) + (Bool.random(using: &rng) ? "  " + word(&rng) : "")
            headers.append((names.randomElement(using: &rng)!, value))
        }
        let presign = Int.random(in: 0...2, using: &rng) == 0
        return GeneratedRequest(
            service: service, method: ["GET", "PUT", "POST", "DELETE"].randomElement(using: &rng)!,
            target: path + (query.isEmpty ? "" : "?" + query.joined(separator: "&")), headers: headers,
            body: presign ? [] : (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) },
            presign: presign, token: Bool.random(using: &rng) ? "token-" + word(&rng, 8, 16) : nil,
            date: AmzDate(secondsSince1970: Int64.random(in: 1_420_070_400...1_893_456_000, using: &rng)))
    }

    /// Signs it; returns the request as it goes on the wire.
    func signed() throws -> VerificationRequest {
        let signer = Fixture.signer(service: service, token: token)
        var fields = HTTPFields()
        for (n, v) in headers { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        let request = HTTPRequest(
            method: HTTPRequest.Method(method)!, scheme: "https", authority: "bucket.example.com", path: target,
            headerFields: fields)
        let result =
            presign
            ? try signer.presign(request, expires: 900, at: date) : try signer.sign(request, payload: .sha256(of: body), at: date)
        return VerificationRequest(result.request)
    }
}

/// Properties over generated requests (deterministic seeds): sign → verify, single-byte mutations, header order.
@Suite("properties over generated requests")
struct PropertyAssuranceTests {
    static let count = 300

    static func verifier(token: String?) -> Verifier { Fixture.verifier(Fixture.credential(token: token)) }

    @Test("sign → verify holds for every generated request (header and presigned, S3 and other services)")
    func signThenVerify() async throws {
        var rng = SplitMix64(seed: 0x5167_0001)
        var accepted = 0
        for i in 0..<Self.count {
            let g = GeneratedRequest.make(&rng)
            let request = try g.signed()
            let result = await Self.verifier(token: g.token).verify(request, payload: .body(g.body), now: g.date.adding(seconds: 1))
            #expect(result.isAccepted, "case \(i): \(g.method) \(g.target) \(g.service): \(result.failure?.description ?? "")")
            if result.isAccepted { accepted += 1 }
        }
        #expect(accepted == Self.count)
    }

    enum Component: CaseIterable { case method, target, headerValue, signature, date, body }

    /// Byte `i` of `bytes` replaced by a different letter or digit. Only letters and digits outside `%XX`
    /// escapes are changed, so that no mutation is an equivalent spelling (escape case, '+', dot segments).
    static func mutate(_ bytes: inout [UInt8], _ rng: inout SplitMix64, from: Int = 0, hexOnly: Bool = false) -> Bool {
        let alphabet = hexOnly ? Array("0123456789abcdef".utf8) : GeneratedRequest.alnum
        var candidates: [Int] = []
        var i = from
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%") { i += 3; continue }
            if alphabet.contains(bytes[i]) { candidates.append(i) }
            i += 1
        }
        guard let k = candidates.randomElement(using: &rng) else { return false }
        var replacement = bytes[k]
        while replacement == bytes[k] { replacement = alphabet.randomElement(using: &rng)! }
        bytes[k] = replacement
        return true
    }

    @Test("any single-byte change to a signed component is rejected")
    func singleByteMutations() async throws {
        var rng = SplitMix64(seed: 0x5167_0002)
        var rejected = 0
        var tried = 0
        for i in 0..<Self.count {
            let g = GeneratedRequest.make(&rng)
            var request = try g.signed()
            var body = g.body
            let component = Component.allCases.randomElement(using: &rng)!
            var changed = false
            switch component {
            case .method:
                var m = Array(request.method.utf8)
                changed = Self.mutate(&m, &rng)
                request.method = String(decoding: m, as: UTF8.self)
            case .target:
                // Only the part the caller wrote; the presign parameters are covered by their own tests.
                let userPart = Array(g.target.utf8).count
                var t = Array(request.target.prefix(userPart))
                changed = Self.mutate(&t, &rng, from: 1)
                request.target.replaceSubrange(0..<userPart, with: t)
            case .headerValue:
                let signed = Set(g.headers.map { $0.0.lowercased() } + ["host"])
                let indices = request.fields.indices.filter { signed.contains(request.fields[$0].name.lowercased()) }
                let k = indices.randomElement(using: &rng)!
                changed = Self.mutate(&request.fields[k].value, &rng)
            case .signature:
                if g.presign {
                    let range = request.target.indices.suffix(64)
                    var t = Array(request.target[range])
                    changed = Self.mutate(&t, &rng, hexOnly: true)
                    request.target.replaceSubrange(range, with: t)
                } else {
                    let k = request.fields.firstIndex { $0.name.lowercased() == "authorization" }!
                    let v = request.fields[k].value
                    var sig = Array(v.suffix(64))
                    changed = Self.mutate(&sig, &rng, hexOnly: true)
                    request.fields[k].value = Array(v.dropLast(64)) + sig
                }
            case .date:
                if g.presign {
                    let marker = Array("X-Amz-Date=".utf8)
                    let at = request.target.firstRange(of: marker)!.upperBound
                    var d = Array(request.target[at..<(at + 16)])
                    changed = Self.mutate(&d, &rng)
                    request.target.replaceSubrange(at..<(at + 16), with: d)
                } else {
                    let k = request.fields.firstIndex { $0.name.lowercased() == "x-amz-date" }!
                    changed = Self.mutate(&request.fields[k].value, &rng)
                }
            case .body:
                if !body.isEmpty {
                    let k = Int.random(in: body.indices, using: &rng)
                    body[k] ^= UInt8.random(in: 1...255, using: &rng)
                    changed = true
                }
            }
            guard changed else { continue }
            tried += 1
            let result = await Self.verifier(token: g.token).verify(request, payload: .body(body), now: g.date.adding(seconds: 1))
            #expect(!result.isAccepted, "case \(i) (\(component)) was accepted after a change: \(String(decoding: request.target, as: UTF8.self))")
            if !result.isAccepted { rejected += 1 }
        }
        #expect(tried > Self.count / 2)
        #expect(rejected == tried)
    }

    static func canonical(_ headers: [(String, String)], rules: ServiceRules = .standard) throws -> String {
        try CanonicalRequest(method: "GET", target: "/a?b=c", headers: headers, payloadHash: .emptySHA256, rules: rules).text
    }

    @Test("the canonical request does not depend on header order, except among fields of one repeated name")
    func headerOrder() throws {
        var rng = SplitMix64(seed: 0x5167_0003)
        for i in 0..<Self.count {
            let names = ["Host", "X-Amz-Date", "x-amz-meta-a", "X-AMZ-META-A", "Content-Type", "My-Header", "my-header", "Zed"]
            var headers: [(String, String)] = [("Host", "example.com")]
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                headers.append((names.dropFirst().randomElement(using: &rng)!, GeneratedRequest.word(&rng)))
            }
            let original = try Self.canonical(headers)
            // Shuffle, then restore the relative order within each name: the canonical request must not change.
            let shuffled = headers.shuffled(using: &rng)
            var byName: [String: [(String, String)]] = [:]
            for h in headers { byName[h.0.lowercased(), default: []].append(h) }
            var next: [String: Int] = [:]
            let reordered = shuffled.map { h -> (String, String) in
                let n = h.0.lowercased()
                let k = next[n, default: 0]
                next[n] = k + 1
                return byName[n]![k]
            }
            #expect(try Self.canonical(reordered) == original, "case \(i)")
            // Swapping two different values of one repeated name must change it.
            let repeated = byName.filter { $0.value.count > 1 && Set($0.value.map(\.1)).count > 1 }
            if let (name, _) = repeated.first {
                let positions = headers.indices.filter { headers[$0].0.lowercased() == name }
                var swapped = headers
                let (a, b) = (positions[0], positions.first { headers[$0].1 != headers[positions[0]].1 }!)
                swapped[a].1 = headers[b].1
                swapped[b].1 = headers[a].1
                #expect(try Self.canonical(swapped) != original, "case \(i): values of \(name) reordered")
            }
        }
    }
}
