import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing
import _SigV4Crypto

/// SigV4a (`AWS4-ECDSA-P256-SHA256`) verification: the official suite's requests signed by
/// aws-c-auth, awscrt's 300 random requests, our own signer's, and the checks that are SigV4a's
/// own (the region set, replay of a malleated signature, what is refused).
@Suite("SigV4a verification")
struct SigV4aVerificationTests {
    static let cases = Vectors.suiteCases("v4a")

    typealias Context = SuiteContext

    static func request(_ raw: RawRequest) -> VerificationRequest {
        VerificationRequest(method: raw.method, target: raw.target, headers: raw.headers)
    }

    @Test("the suite's requests signed by aws-c-auth verify, header and query form", arguments: cases)
    func upstreamSigned(name: String) async throws {
        let context = try Context("v4a", name)
        for form in ["header", "query"] {
            let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4a/\(name)/\(form)-signed-request.txt"))
            let result = await context.sigV4aVerifier().verify(Self.request(raw), payload: .body(raw.body), now: context.date)
            let verified = try #require(result.verified, "\(name) \(form): \(result.failure?.description ?? "")")
            let expected = try Vectors.text("aws-signing-test-suite/v4a/\(name)/\(form)-canonical-request.txt")
                .trimmingTrailingNewlines
            #expect(verified.diagnostics?.canonicalRequest == expected)
            #expect(verified.isSigV4a && verified.regionSet == ["us-east-1"] && verified.scope.region == "us-east-1")
        }
    }

    @Test("a request of the suite does not verify in a region its set does not name, nor with another secret")
    func regionAndSecret() async throws {
        let name = "get-vanilla"
        let context = try Context("v4a", name)
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4a/\(name)/header-signed-request.txt"))
        let elsewhere = await context.sigV4aVerifier(regions: ["eu-west-1"]).verify(Self.request(raw), now: context.date)
        #expect(elsewhere.failure?.code == .authorizationHeaderMalformed)
        let wrong = ResolvedCredential(
            accessKeyID: Fixture.accessKeyID, secretAccessKey: SecretAccessKey("not the secret"), principal: "mallory")
        let other = await Fixture.verifier(wrong).verify(Self.request(raw), now: context.date)
        #expect(other.failure?.code == .signatureDoesNotMatch)
    }

    // MARK: awscrt

    static let crtCases = AwscrtSigV4aCase.all

    @Test("each of awscrt's 300 SigV4a requests verifies; with one header value or query byte changed it does not", arguments: crtCases)
    func awscrtSigned(c: AwscrtSigV4aCase) async throws {
        let credential = ResolvedCredential(
            accessKeyID: c.access_key_id, secretAccessKey: SecretAccessKey(c.secret_access_key), principal: "crt",
            sessionToken: c.session_token)
        var policy = VerificationPolicy()
        policy.serviceRules = [c.service: c.s3 ? .s3 : .standard]
        policy.allowedRegions = [c.region_set.first == "*" ? "sa-east-1" : c.region_set.last!]
        let verifier = Fixture.verifier(credential, policy: policy)
        let body = try #require(Hex.decode(c.body_hex))
        let now = try AmzDate(iso8601Basic: c.timestamp)
        var headers = c.headers.map { ($0[0], $0[1]) }
        let target: String
        if c.mode == "header" {
            headers += c.added_headers.map { ($0[0], $0[1]) }
            target = c.target
        } else {
            target = c.signed_target
        }
        let request = VerificationRequest(method: c.method, target: target, headers: headers)
        let result = await verifier.verify(request, payload: .body(body), now: now)
        #expect(result.isAccepted, "\(c): \(result.failure?.description ?? "")")
        #expect(result.verified?.regionSet == c.region_set)
        // Tampered: a byte of the region set (header form) or of the date parameter (query form).
        let tampered: VerificationRequest
        if c.mode == "header" {
            let changed = headers.map { $0.0.lowercased() == "x-amz-region-set" ? ($0.0, $0.1 + ",me-south-1") : $0 }
            tampered = VerificationRequest(method: c.method, target: target, headers: changed)
        } else {
            tampered = VerificationRequest(
                method: c.method, target: target.replacingOccurrences(of: "X-Amz-Expires=", with: "X-Amz-Expires=0"),
                headers: headers)
        }
        let refused = await verifier.verify(tampered, payload: .body(body), now: now)
        #expect(refused.failure?.code == .signatureDoesNotMatch, "\(c): \(refused.failure?.description ?? "accepted")")
    }

    // MARK: our signer, and SigV4a's own checks

    static func signed(
        regionSet: [String] = ["us-east-1", "us-west-2"], service: String = "s3", extra: [(String, String)] = []
    ) throws -> (SigV4aSignedRequest, VerificationRequest) {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: regionSet, service: service)
        var fields = HTTPFields()
        for (n, v) in extra { fields.append(HTTPField(name: HTTPField.Name(n)!, value: v)) }
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "mrap.accesspoint.s3-global.amazonaws.com", path: "/photos/cat.jpg",
            headerFields: fields)
        let signed = try signer.sign(request, payload: .emptySHA256, at: Fixture.date)
        return (signed, VerificationRequest(signed.request))
    }

    @Test("the region set decides where a request is accepted: names, *, prefixes")
    func regionSets() async throws {
        let cases: [([String], Set<String>, Bool)] = [
            (["us-east-1", "us-west-2"], ["us-west-2"], true),
            (["us-east-1", "us-west-2"], ["eu-west-1"], false),
            (["*"], ["ap-south-1"], true),
            (["us-*"], ["us-east-2"], true),
            (["us-*"], ["eu-west-1"], false),
            (["us-east-1"], [], true),
        ]
        for (set, served, accepted) in cases {
            let (_, request) = try Self.signed(regionSet: set)
            let result = await Fixture.verifier(policy: VerificationPolicy(allowedRegions: served))
                .verify(request, now: Fixture.date)
            #expect(result.isAccepted == accepted, "\(set) served \(served): \(result.failure?.description ?? "")")
            if !accepted { #expect(result.failure?.code == .authorizationHeaderMalformed) }
        }
    }

    @Test("a key limited to some regions is refused unless the set names one of them that is served here")
    func keyScopeRegions() async throws {
        let (_, request) = try Self.signed(regionSet: ["us-east-1", "us-west-2"])
        let scoped = { (regions: Set<String>) in
            Fixture.credential(scope: KeyScope(regions: regions))
        }
        let inScope = await Fixture.verifier(scoped(["us-west-2"])).verify(request, now: Fixture.date)
        #expect(inScope.isAccepted, "\(inScope.failure?.description ?? "")")
        let outOfScope = await Fixture.verifier(scoped(["eu-west-1"])).verify(request, now: Fixture.date)
        #expect(outOfScope.failure?.code == .accessDenied)
        // Served here: us-east-1 only; the key may use us-west-2 only. Both are in the set, but no
        // region is both.
        let disjoint = await Fixture.verifier(
            scoped(["us-west-2"]), policy: VerificationPolicy(allowedRegions: ["us-east-1"])
        ).verify(request, now: Fixture.date)
        #expect(disjoint.failure?.code == .accessDenied)
    }

    /// `(r, s)` → `(r, n − s)`: the other valid ECDSA signature of the same digest.
    static func malleated(_ der: [UInt8]) throws -> [UInt8] {
        let n = Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")!
        func integer(_ at: Int) throws -> (value: [UInt8], next: Int) {
            try #require(der[at] == 0x02)
            let length = Int(der[at + 1])
            return (Array(der[(at + 2)..<(at + 2 + length)]), at + 2 + length)
        }
        let (r, next) = try integer(2)
        let (s, _) = try integer(next)
        let s32 = [UInt8](repeating: 0, count: 32 - s.drop { $0 == 0 }.count) + s.drop { $0 == 0 }
        var out = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for i in stride(from: 31, through: 0, by: -1) {
            var d = Int(n[i]) - Int(s32[i]) - borrow
            borrow = d < 0 ? 1 : 0
            if d < 0 { d += 256 }
            out[i] = UInt8(d)
        }
        func encode(_ v: [UInt8]) -> [UInt8] {
            var t = Array(v.drop { $0 == 0 })
            if t.first.map({ $0 >= 0x80 }) ?? true { t.insert(0, at: 0) }
            return [0x02, UInt8(t.count)] + t
        }
        let body = encode(r) + encode(out)
        return [0x30, UInt8(body.count)] + body
    }

    @Test("a replayed request is refused even when its ECDSA signature is malleated into the other valid one")
    func replayOfMalleatedSignature() async throws {
        let (signed, request) = try Self.signed()
        let other = try Self.malleated(signed.signature)
        #expect(other != signed.signature)
        let authorization = try #require(signed.authorization)
        let swapped = authorization.replacingOccurrences(of: signed.signatureHex, with: Hex.encode(other))
        var fields = signed.request.headerFields
        fields[.authorization] = swapped
        var malleatedRequest = signed.request
        malleatedRequest.headerFields = fields
        // Without a replay guard the malleated signature verifies: it is a valid signature.
        let plain = await Fixture.verifier().verify(VerificationRequest(malleatedRequest), now: Fixture.date)
        #expect(plain.isAccepted, "\(plain.failure?.description ?? "")")
        // With one, the request is the same request: the second is refused whichever signature it carries.
        let verifier = Fixture.verifier(replayGuard: InMemoryReplayGuard())
        #expect(await verifier.verify(request, now: Fixture.date).isAccepted)
        let replay = await verifier.verify(VerificationRequest(malleatedRequest), now: Fixture.date)
        #expect(replay.failure?.code == .requestReplayed)
    }

    @Test("the same request signed at the same second by two access keys is two requests to the replay guard, not a replay")
    func sameRequestTwoKeysIsNoReplay() async throws {
        // A SigV4a string to sign names no access key (its scope has no region and no key id), so
        // two keys signing the same request in the same second sign the same string; each
        // signature is still its own key's request.
        let keys = [("AKIDALICE", "alice-secret"), ("AKIDBOB", "bob-secret")]
        let resolver = InMemoryCredentialResolver(
            keys.map { ResolvedCredential(accessKeyID: $0.0, secretAccessKey: SecretAccessKey($0.1), principal: $0.0) })
        let verifier = Verifier(resolver: resolver, replayGuard: InMemoryReplayGuard())
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "mrap.accesspoint.s3-global.amazonaws.com", path: "/status")
        var replayKeys: [Signature] = []
        for (id, secret) in keys {
            let signer = try SigV4aSigner(
                credentials: Credentials(accessKeyID: id, secretAccessKey: secret), regionSet: ["*"], service: "s3")
            let signed = try signer.sign(request, payload: .emptySHA256, at: Fixture.date)
            let result = await verifier.verify(VerificationRequest(signed.request), now: Fixture.date)
            #expect(result.isAccepted, "\(id): \(result.failure?.description ?? "")")
            if let key = result.verified?.signature { replayKeys.append(key) }
            // The same key's second copy is still a replay.
            let again = await verifier.verify(VerificationRequest(signed.request), now: Fixture.date)
            #expect(again.failure?.code == .requestReplayed)
        }
        #expect(replayKeys.count == 2 && replayKeys[0] != replayKeys[1])
    }

    @Test("of 64 identical concurrent SigV4a requests exactly one is accepted; without a guard all are")
    func concurrentReplay() async throws {
        let (_, request) = try Self.signed()
        func run(_ verifier: Verifier) async -> [VerificationResult] {
            await withTaskGroup(of: VerificationResult.self) { group in
                for _ in 0..<64 { group.addTask { await verifier.verify(request, now: Fixture.date) } }
                var all: [VerificationResult] = []
                for await r in group { all.append(r) }
                return all
            }
        }
        let guarded = await run(Fixture.verifier(replayGuard: InMemoryReplayGuard()))
        #expect(guarded.filter { $0.isAccepted }.count == 1)
        #expect(guarded.filter { $0.failure?.code == .requestReplayed }.count == 63)
        let unguarded = await run(Fixture.verifier())
        #expect(unguarded.allSatisfy { $0.isAccepted })
    }

    @Test("refused: an unsigned or missing X-Amz-Region-Set, a streaming payload, SigV4a turned off, a bad signature encoding")
    func refusals() async throws {
        let (signed, request) = try Self.signed()
        // The region set changed after signing.
        var fields = signed.request.headerFields
        fields[HTTPField.Name("X-Amz-Region-Set")!] = "*"
        var changed = signed.request
        changed.headerFields = fields
        #expect(await Fixture.verifier().verify(VerificationRequest(changed), now: Fixture.date).failure?.code == .signatureDoesNotMatch)
        // No region set header at all.
        fields[HTTPField.Name("X-Amz-Region-Set")!] = nil
        changed.headerFields = fields
        let missing = await Fixture.verifier().verify(VerificationRequest(changed), now: Fixture.date)
        #expect(missing.failure?.code == .authorizationHeaderMalformed)
        // Turned off by policy.
        var policy = VerificationPolicy()
        policy.allowSigV4a = false
        #expect(await Fixture.verifier(policy: policy).verify(request, now: Fixture.date).failure?.code == .accessDenied)
        // A signed-chunk streaming payload.
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["*"], service: "s3")
        let streaming = try signer.sign(
            HTTPRequest(method: .put, scheme: "https", authority: "b.s3.amazonaws.com", path: "/k"),
            payload: .streamingSigned, at: Fixture.date)
        let chunked = await Fixture.verifier().verify(VerificationRequest(streaming.request), now: Fixture.date)
        #expect(chunked.failure?.code == .invalidRequest)
        // Signature= that is not hex DER of a plausible length.
        for bad in ["abc", String(repeating: "0", count: 146), String(repeating: "zz", count: 40)] {
            let value = (signed.authorization ?? "").replacingOccurrences(of: signed.signatureHex, with: bad)
            var f = signed.request.headerFields
            f[.authorization] = value
            var r = signed.request
            r.headerFields = f
            #expect(await Fixture.verifier().verify(VerificationRequest(r), now: Fixture.date).failure?.code == .authorizationHeaderMalformed)
        }
    }

    @Test("an unsigned-trailer aws-chunked upload signed with SigV4a (botocore's form) verifies and decodes; a flipped byte is BadDigest")
    func unsignedTrailerUpload() async throws {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["*"], service: "s3")
        let data = Array("hello, SigV4a aws-chunked world".utf8)
        var fields = HTTPFields()
        fields.append(HTTPField(name: HTTPField.Name("Content-Encoding")!, value: "aws-chunked"))
        fields.append(HTTPField(name: HTTPField.Name("X-Amz-Trailer")!, value: "x-amz-checksum-crc32"))
        fields.append(HTTPField(name: HTTPField.Name("X-Amz-Decoded-Content-Length")!, value: String(data.count)))
        let request = HTTPRequest(
            method: .put, scheme: "https", authority: "b.s3.amazonaws.com", path: "/k", headerFields: fields)
        let signed = try signer.sign(request, payload: .streamingUnsignedTrailer, at: Fixture.date)
        let r = VerificationRequest(signed.request)
        let verified = try #require(await Fixture.verifier().verify(r, now: Fixture.date).verified)
        #expect(verified.payload == .awsChunked)
        let crc = TrailingChecksum.base64(.crc32, of: data)
        let body = Array("\(String(data.count, radix: 16))\r\n".utf8) + data
            + Array("\r\n0\r\nx-amz-checksum-crc32:\(crc)\r\n\r\n".utf8)
        func decode(_ bytes: [UInt8]) throws -> [UInt8] {
            var decoder = try verified.makeChunkedDecoder(for: r)
            let out = try decoder.feed(bytes)
            try decoder.finish()
            return out
        }
        #expect(try decode(body) == data)
        var bad = body
        bad[6] ^= 1
        #expect { try decode(bad) } throws: { ($0 as? VerificationFailure)?.code == .badDigest }
    }

    /// A SigV4a aws-chunked upload of `data` (signed chunks, `trailer` if any): the signed request and
    /// its wire body.
    static func ecdsaChunkedUpload(
        _ data: [UInt8], trailer: TrailingChecksum.Algorithm?, chunkSize: Int = 8192, piece: Int? = nil
    ) throws -> (VerificationRequest, [UInt8]) {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["us-east-1"], service: "s3")
        let request = HTTPRequest(method: .put, scheme: "https", authority: "b.s3.amazonaws.com", path: "/big.bin")
        let streaming = try signer.signStreaming(
            request, decodedContentLength: data.count, trailer: trailer, chunkSize: chunkSize, at: Fixture.date)
        var body: [UInt8] = []
        if let piece {
            // The streaming encoder, fed in pieces.
            var encoder = streaming.makeEncoder()
            var i = 0
            while i < data.count {
                let end = min(data.count, i + piece)
                try Array(data[i..<end]).withUnsafeBytes { raw in try encoder.write(raw) { body += $0 } }
                i = end
            }
            try encoder.finish { body += $0 }
        } else {
            body = try streaming.encode(data)
        }
        #expect(body.count == streaming.encodedContentLength)
        #expect(streaming.request.headerFields[.contentLength] == String(body.count))
        return (VerificationRequest(streaming.request), body)
    }

    @Test(
        "a SigV4a aws-chunked upload (ECDSA chunk signatures, aws-c-auth's form) verifies and decodes, with and without a signed trailer",
        arguments: [nil, TrailingChecksum.Algorithm.crc32c, .sha256])
    func ecdsaChunkedUpload(trailer: TrailingChecksum.Algorithm?) async throws {
        let data = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        for encoderPiece in [nil, 1000, 8192, 30_000] {
            let (request, body) = try Self.ecdsaChunkedUpload(data, trailer: trailer, piece: encoderPiece)
            let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
            #expect(verified.isSigV4a && verified.payload == .awsChunked)
            for piece in [1, 1000, 1 << 20] {
                #expect(try AWSChunkedDecoderTests.decodeAll(verified, request, body, piece: piece) == data, "piece \(piece)")
            }
        }
        let (emptyRequest, emptyBody) = try Self.ecdsaChunkedUpload([], trailer: trailer)
        let emptyVerified = try #require(await Fixture.verifier().verify(emptyRequest, now: Fixture.date).verified)
        #expect(try AWSChunkedDecoderTests.decodeAll(emptyVerified, emptyRequest, emptyBody, piece: 7) == [])
    }

    @Test("a SigV4a aws-chunked body with a changed data byte, chunk signature, chunk order or trailer is refused, and no byte of the bad chunk is released")
    func ecdsaChunkedTampering() async throws {
        // Three full chunks of letters (the body is then valid UTF-8, edited below as text).
        let data = (0..<24_576).map { UInt8(0x61 + $0 % 26) }
        let (request, body) = try Self.ecdsaChunkedUpload(data, trailer: .crc32)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        let text = String(decoding: body, as: UTF8.self)
        func refused(_ bad: [UInt8]) -> VerificationFailure.Code? {
            do {
                _ = try AWSChunkedDecoderTests.decodeAll(verified, request, bad, piece: 4096)
                return nil
            } catch {
                return error.code
            }
        }
        // Each data frame: "2000;chunk-signature=" + 144 + CRLF, 8192 bytes, CRLF.
        let header = 4 + 17 + 144 + 2
        let frame = header + 8192 + 2
        // A data byte of the second chunk: the first chunk (8192 bytes) was released, nothing after it.
        var flipped = body
        flipped[frame + header + 10] ^= 1
        #expect(refused(flipped) == .signatureDoesNotMatch)
        var decoder = try verified.makeChunkedDecoder(for: request)
        var released = 0
        #expect(throws: VerificationFailure.self) { released += try decoder.feed(flipped).count }
        #expect(decoder.releasedByteCount == 8192)
        // A hex digit of the first chunk's signature.
        var signature = body
        let firstSignature = "2000;chunk-signature=".utf8.count
        signature[firstSignature + 10] = signature[firstSignature + 10] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(refused(signature) == .signatureDoesNotMatch)
        // The second and third chunks swapped (each frame is valid alone).
        let swapped = Array(body[0..<frame]) + Array(body[(2 * frame)..<(3 * frame)]) + Array(body[frame..<(2 * frame)])
            + Array(body[(3 * frame)...])
        #expect(refused(swapped) == .signatureDoesNotMatch)
        // The trailer's checksum changed: its signature no longer verifies.
        let crc = TrailingChecksum.base64(.crc32, of: data)
        let otherCRC = TrailingChecksum.base64(.crc32, of: data.dropLast())
        #expect(refused(Array(text.replacingOccurrences(of: crc, with: otherCRC).utf8)) == .signatureDoesNotMatch)
        // Padding that does not fill 144 characters, and an HMAC-width signature, are malformed.
        #expect(refused(Array(text.replacingOccurrences(of: "*\r\n", with: "\r\n").utf8)) == .invalidRequest)
        // The same body under another key pair: every chunk signature fails.
        let other = ResolvedCredential(
            accessKeyID: Fixture.accessKeyID, secretAccessKey: SecretAccessKey("another secret"), principal: "x")
        #expect(await Fixture.verifier(other).verify(request, now: Fixture.date).failure?.code == .signatureDoesNotMatch)
    }

    @Test("300 random byte changes to a SigV4a aws-chunked body: never accepted with other content, never an unverified byte released")
    func ecdsaChunkedRandomDamage() async throws {
        let data = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 29 &+ 3) }
        let (request, body) = try Self.ecdsaChunkedUpload(data, trailer: .sha256)
        let verified = try #require(await Fixture.verifier().verify(request, now: Fixture.date).verified)
        var random = SplitMix64(seed: 0x5164_A)
        var refusals = 0
        for _ in 0..<300 {
            var damaged = body
            let position = Int(random.next() % UInt64(body.count))
            damaged[position] ^= UInt8(truncatingIfNeeded: random.next() % 255 + 1)
            var decoder = try verified.makeChunkedDecoder(for: request)
            var released: [UInt8] = []
            var failed = false
            damaged.withUnsafeBytes { raw in
                do throws(VerificationFailure) {
                    try decoder.feed(raw) { released.append(contentsOf: $0) }
                    try decoder.finish()
                } catch {
                    failed = true
                    #expect(error.httpStatus >= 400 && error.httpStatus < 500)
                }
            }
            if failed {
                refusals += 1
                #expect(Array(data.prefix(released.count)) == released, "byte \(position): unverified bytes released")
            } else {
                #expect(released == data, "byte \(position): accepted with other content")
            }
        }
        // Only changes to a signature's padding or to a hex digit's case could leave the body valid.
        #expect(refusals >= 290)
    }

    @Test("ECDSA chunk constants need a SigV4a request, and HMAC ones a SigV4 request")
    func chunkFamilies() async throws {
        let request = HTTPRequest(method: .put, scheme: "https", authority: "b.s3.amazonaws.com", path: "/k")
        let hmac = try Fixture.signer().sign(request, payload: .streamingECDSASigned, at: Fixture.date)
        #expect(await Fixture.verifier().verify(VerificationRequest(hmac.request), now: Fixture.date).failure?.code == .invalidRequest)
    }

    @Test("presigned SigV4a: verifies, needs X-Amz-Region-Set, and a changed region set fails")
    func presigned() async throws {
        let signer = try SigV4aSigner(
            credentials: Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret),
            regionSet: ["us-east-1", "us-west-2"], service: "s3")
        let request = HTTPRequest(method: .get, scheme: "https", authority: "b.s3.amazonaws.com", path: "/k?x=1")
        let signed = try signer.presign(request, expires: 600, at: Fixture.date)
        let target = try #require(signed.request.path)
        let ok = await Fixture.verifier().verify(VerificationRequest(signed.request), now: Fixture.date)
        #expect(ok.isAccepted && ok.verified?.isPresigned == true, "\(ok.failure?.description ?? "")")
        func verify(_ t: String) async -> VerificationResult {
            var r = signed.request
            r.path = t
            return await Fixture.verifier().verify(VerificationRequest(r), now: Fixture.date)
        }
        let dropped = target.replacingOccurrences(of: "&X-Amz-Region-Set=us-east-1%2Cus-west-2", with: "")
        #expect(await verify(dropped).failure?.code == .authorizationQueryParametersError)
        let widened = target.replacingOccurrences(of: "X-Amz-Region-Set=us-east-1%2Cus-west-2", with: "X-Amz-Region-Set=%2A")
        #expect(await verify(widened).failure?.code == .signatureDoesNotMatch)
        // Past expiry, as for SigV4.
        let late = await Fixture.verifier().verify(VerificationRequest(signed.request), now: Fixture.date.adding(seconds: 601))
        #expect(late.failure?.code == .accessDenied)
    }

    @Test("presigned SigV4a is checked over one payload hash, so a bad signature costs one ECDSA verification: UNSIGNED-PAYLOAD under S3 rules, the body's hash otherwise")
    func presignedOnePayloadHash() async throws {
        let credentials = Credentials(accessKeyID: Fixture.accessKeyID, secretAccessKey: Fixture.secret)
        let request = HTTPRequest(method: .get, scheme: "https", authority: "b.s3.amazonaws.com", path: "/k")
        func verify(service: String, payload: PayloadHash?) async throws -> VerificationResult {
            let signer = try SigV4aSigner(credentials: credentials, regionSet: ["*"], service: service)
            let signed = try signer.presign(request, payload: payload, expires: 600, at: Fixture.date)
            return await Fixture.verifier().verify(VerificationRequest(signed.request), now: Fixture.date)
        }
        // The hash each form is signed over verifies.
        let s3 = try await verify(service: "s3", payload: nil)
        #expect(s3.isAccepted && s3.verified?.payloadHash == .unsignedPayload, "\(s3.failure?.description ?? "")")
        let other = try await verify(service: "sts", payload: nil)
        #expect(other.isAccepted && other.verified?.payloadHash == .emptySHA256, "\(other.failure?.description ?? "")")
        // The other hash SigV4 would also try (each try is another ECDSA verification) is not tried.
        #expect(try await verify(service: "s3", payload: .emptySHA256).failure?.code == .signatureDoesNotMatch)
        #expect(try await verify(service: "sts", payload: .unsignedPayload).failure?.code == .signatureDoesNotMatch)
    }
}

extension SuiteContext {
    /// A verifier that knows the case's key (as `alice`), serves `regions`, with the case's rules
    /// and diagnostics.
    func sigV4aVerifier(regions: Set<String> = ["us-east-1"]) -> Verifier {
        var policy = VerificationPolicy(allowedRegions: regions)
        policy.serviceRules = [service: rules]
        policy.includeDiagnostics = true
        return Fixture.verifier(Fixture.credential(token: token), policy: policy)
    }
}
