import HTTPTypes
import SigV4

/// Header signing and presigning through the public `Signer` API.
enum SigningRows {
    static func make() -> [Row] {
        var rows: [Row] = []
        let request = Fixture.request()
        let warmCache = SigningKeyCache(capacity: 16)
        let warm = Fixture.signer(cache: warmCache)
        let cold = Fixture.signer(cache: nil)
        let date = Fixture.date
        guard let sample = try? warm.sign(request, payload: .emptySHA256, at: date),
            let presample = try? warm.presign(request, expires: 3600, at: date)
        else { fatalError("benchmark request does not sign") }

        rows.append(
            Row(
                name: "sign_header_warm",
                body: { n in
                    for _ in 0..<n { blackHole(try? warm.sign(request, payload: .emptySHA256, at: date)) }
                },
                floor: SignatureFloor(canonical: sample.canonicalRequest.bytes, stringToSign: sample.stringToSign.bytes, cold: false).body(),
                maxAllocsPerOp: 2,
                note: "Signer.sign, full SignedRequest, key cache hit"))
        // What returning a signed `HTTPRequest` costs by itself with swift-http-types, whatever
        // the signer: the request's field list copied with room for the added fields, the
        // `X-Amz-Date` field (shared within a second, as `Signer.sign` shares it) appended, and a new
        // `Authorization` field made from the value's bytes (a `String`, then HTTPTypes' per-byte
        // value check). `sign_header_warm` minus this row is the signer's own work.
        let authorizationBytes = Array((sample.authorization ?? "").utf8)
        let dateField = HTTPField(name: HTTPField.Name("X-Amz-Date")!, value: date.iso8601Basic)
        rows.append(
            Row(
                name: "signed_request_output",
                body: { n in
                    for _ in 0..<n {
                        var fields = request.headerFields
                        fields.reserveCapacity(fields.count + 5)
                        fields.append(dateField)
                        let value = authorizationBytes.withUnsafeBufferPointer { bytes in
                            String(unsafeUninitializedCapacity: bytes.count) { out in
                                _ = out.initialize(from: bytes)
                                return bytes.count
                            }
                        }
                        fields.append(HTTPField(name: .authorization, value: value))
                        var signed = request
                        signed.headerFields = fields
                        blackHole(signed)
                    }
                },
                floor: nil,
                maxAllocsPerOp: 2,
                note: "the HTTPTypes part of Signer.sign alone: fields copied, X-Amz-Date and Authorization appended"))
        let context = SigningContext(signer: warm)
        guard let contextSignature = try? context.sign(request, payload: .emptySHA256, at: date),
            contextSignature == sample.signature
        else { fatalError("SigningContext disagrees with Signer.sign") }
        rows.append(
            Row(
                name: "sign_header_warm_context",
                body: { n in
                    for _ in 0..<n {
                        blackHole(try? context.sign(request, payload: .emptySHA256, at: date))
                        context.withAuthorization { blackHole($0.count) }
                    }
                },
                floor: SignatureFloor(canonical: sample.canonicalRequest.bytes, stringToSign: sample.stringToSign.bytes, cold: false).body(),
                maxAllocsPerOp: 0,
                note: "SigningContext.sign: signature + Authorization bytes, reused buffers"))
        rows.append(
            Row(
                name: "sign_header_cold",
                body: { n in
                    for _ in 0..<n { blackHole(try? cold.sign(request, payload: .emptySHA256, at: date)) }
                },
                floor: SignatureFloor(canonical: sample.canonicalRequest.bytes, stringToSign: sample.stringToSign.bytes, cold: true).body(),
                maxAllocsPerOp: 2,
                note: "Signer.sign, signing key derived every time"))
        rows.append(
            Row(
                name: "presign_warm",
                body: { n in
                    for _ in 0..<n { blackHole(try? warm.presign(request, expires: 3600, at: date)) }
                },
                floor: SignatureFloor(canonical: presample.canonicalRequest.bytes, stringToSign: presample.stringToSign.bytes, cold: false).body(),
                maxAllocsPerOp: 2,
                note: "Signer.presign, key cache hit"))
        return rows
    }
}

/// Signing time against the number of headers and query parameters.
enum ScalingRows {
    static func make() -> [Row] {
        var rows: [Row] = []
        let signer = Fixture.signer(cache: SigningKeyCache(capacity: 16))
        let date = Fixture.date
        func row(_ name: String, _ request: HTTPRequest) -> Row {
            guard let sample = try? signer.sign(request, payload: .emptySHA256, at: date) else {
                fatalError("scaling request does not sign")
            }
            return Row(
                name: name,
                body: { n in
                    for _ in 0..<n { blackHole(try? signer.sign(request, payload: .emptySHA256, at: date)) }
                },
                floor: SignatureFloor(canonical: sample.canonicalRequest.bytes, stringToSign: sample.stringToSign.bytes, cold: false).body(),
                inQuick: false,
                note: "Signer.sign, warm")
        }
        // Header counts include Host, My-Header1, Accept and the added X-Amz-Date.
        rows.append(row("scale_headers_2", requestWithHeaders(2)))
        rows.append(row("scale_headers_10", requestWithHeaders(10)))
        rows.append(row("scale_headers_50", requestWithHeaders(50)))
        rows.append(row("scale_query_1", Fixture.request(queryParams: 1)))
        rows.append(row("scale_query_10", Fixture.request(queryParams: 10)))
        rows.append(row("scale_query_100", Fixture.request(queryParams: 100)))
        return rows
    }

    /// A request whose canonical form has exactly `count` signed headers (the signer adds X-Amz-Date).
    static func requestWithHeaders(_ count: Int) -> HTTPRequest {
        var request = HTTPRequest(method: .get, scheme: "https", authority: Fixture.authority, path: "/photos/2026/photo.jpg?size=large")
        // host + x-amz-date are always there.
        for i in 0..<max(0, count - 2) {
            request.headerFields[HTTPField.Name("X-Bench-Header-\(i)")!] = "value \(i)  with   spaces"
        }
        return request
    }
}
