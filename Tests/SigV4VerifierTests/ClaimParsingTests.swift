import SigV4
import Testing

@testable import SigV4Verifier

/// The one-scan `SignedHeaders` check and the credential's terminator agree with the previous
/// (two-pass, generic-compare) parser: the same lines accepted, the same message for each refusal.
@Suite("claim parsing")
struct ClaimParsingTests {
    /// The previous check, kept as the reference: count the names first, then each name
    /// non-empty, lowercase token bytes, strictly after the one before.
    static func reference(_ line: [UInt8]) -> String? {
        if line.isEmpty { return "SignedHeaders is empty" }
        let names = line.split(separator: 0x3b, omittingEmptySubsequences: false)
        if names.count > AuthorizationParser.maxSignedHeaders { return "too many SignedHeaders" }
        var previous: ArraySlice<UInt8>? = nil
        for name in names {
            if name.isEmpty || !name.allSatisfy(AuthorizationParser.isLowerToken) {
                return "SignedHeaders must be lowercase header names separated by ';'"
            }
            if let previous, !previous.lexicographicallyPrecedes(name) {
                return "SignedHeaders must be sorted and must not repeat a name"
            }
            previous = name
        }
        return nil
    }

    static func parsed(_ line: [UInt8]) -> Result<String, VerificationFailure> {
        line.withUnsafeBufferPointer { p in
            Result { () throws(VerificationFailure) in
                try AuthorizationParser.checkSignedHeaders(p, 0..<p.count) { VerificationFailure(.authorizationHeaderMalformed, $0) }
                return String(decoding: p, as: UTF8.self)
            }
        }
    }

    /// Every line of up to 5 bytes over a small alphabet, plus long and boundary lines.
    static var lines: [[UInt8]] {
        let alphabet = Array("ab;A -".utf8)
        var out: [[UInt8]] = [[]]
        var frontier: [[UInt8]] = [[]]
        for _ in 0..<5 {
            frontier = frontier.flatMap { prefix in alphabet.map { prefix + [$0] } }
            out += frontier
        }
        func names(_ n: Int) -> [String] {
            (0..<n).map { i in "h" + String(repeating: "0", count: 4 - String(i).count) + String(i) }
        }
        for n in [127, 128, 129, 200] {
            out.append(Array(names(n).joined(separator: ";").utf8))
            out.append(Array((names(n).dropLast() + ["a"]).joined(separator: ";").utf8))
        }
        out.append(Array(String(repeating: "a;", count: 129).dropLast().utf8))  // many short, unsorted
        out.append(Array(String(repeating: ";", count: 300).utf8))
        out.append(Array(("host;x-amz-date;" + String(repeating: "z", count: 300)).utf8))
        out.append(Array("host;x-amz-content-sha256;x-amz-date".utf8))
        out.append(Array("host;host".utf8))
        out.append(Array("x-amz-date;host".utf8))
        return out
    }

    @Test("SignedHeaders: the one-scan check accepts and refuses exactly as the previous check")
    func signedHeadersMatchReference() {
        var accepted = 0
        for line in Self.lines {
            switch Self.parsed(line) {
            case .success(let text):
                #expect(Self.reference(line) == nil, "accepted \(text)")
                #expect(Array(text.utf8) == line)
                accepted += 1
            case .failure(let failure):
                #expect(failure.message == Self.reference(line), "line \(String(decoding: line, as: UTF8.self))")
                #expect(failure.code == .authorizationHeaderMalformed)
            }
        }
        #expect(accepted > 10)
    }

    @Test("SignedHeaders: long lines, sorted lists and random bytes, are accepted and refused as the reference does")
    func longSignedHeadersMatchReference() {
        // A fixed xorshift sequence: lines of 8 to 48 bytes, sorted name lists and random bytes, over
        // the usual name bytes, `;`, and other bytes (other tokens, uppercase, space, high bytes,
        // NUL).
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(n))
        }
        let usual = Array("abcxz019-._".utf8)
        let unusual = Array("!~`|A ".utf8) + [0x80, 0xff, 0x00, 0xe1, 0xb0, 0xbb]
        var accepted = 0
        var refused = 0
        for round in 0..<4000 {
            var line: [UInt8]
            if round % 2 == 0 {
                // Names, sorted and distinct, then sometimes one byte changed or swapped in.
                var names = Set<[UInt8]>()
                for _ in 0..<(1 + next(6)) { names.insert((0..<(1 + next(12))).map { _ in usual[next(usual.count)] }) }
                line = Array(names.sorted { $0.lexicographicallyPrecedes($1) }.joined(separator: [0x3b]))
                if next(3) == 0 { line[next(line.count)] = unusual[next(unusual.count)] }
                if next(5) == 0 { line[next(line.count)] = 0x3b }
            } else {
                line = (0..<(8 + next(41))).map { _ in
                    next(4) == 0 ? 0x3b : next(8) == 0 ? unusual[next(unusual.count)] : usual[next(usual.count)]
                }
            }
            switch Self.parsed(line) {
            case .success:
                #expect(Self.reference(line) == nil, "accepted \(line)")
                accepted += 1
            case .failure(let failure):
                #expect(failure.message == Self.reference(line), "line \(line)")
                refused += 1
            }
        }
        #expect(accepted > 500)
        #expect(refused > 500)
    }

    @Test("a lowercase token byte is exactly a digit, a lowercase letter or one of !#$%&'*+-.^_`|~")
    func lowerTokenBytes() {
        let allowed = Set(Array("0123456789abcdefghijklmnopqrstuvwxyz!#$%&'*+-.^_`|~".utf8))
        for b in 0...255 {
            #expect(AuthorizationParser.isLowerToken(UInt8(b)) == allowed.contains(UInt8(b)), "byte \(b)")
        }
    }

    /// The previous credential check, kept as the reference: four `/` found first, then each
    /// part 1 to 128 printable bytes without `,` or `;`.
    static func referenceCredential(_ c: [UInt8]) -> String? {
        if c.count > 512 { return "the Credential is too long" }
        let parts = c.split(separator: 0x2f, omittingEmptySubsequences: false)
        if parts.count != 5 {
            return "the Credential must have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request"
        }
        for part in parts where part.isEmpty || part.count > 128 || !part.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != 0x2c && $0 != 0x3b }) {
            return "the Credential has an empty or invalid component"
        }
        if parts[1].count != 8 || !parts[1].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            return "the Credential date must be YYYYMMDD"
        }
        return nil
    }

    @Test("Credential: the word-at-a-time check accepts and refuses exactly as the previous check")
    func credentialMatchesReference() {
        var credentials: [[UInt8]] = []
        let base = Array("AKID/20150830/us-east-1/s3/aws4_request".utf8)
        // With 0xa1, 0xac, 0xaf, 0xbb: 0x21, `,`, `/`, `;` with the high bit set (the word-at-a-time check
        // must not take them for those bytes).
        let bytes: [UInt8] = [0x00, 0x09, 0x20, 0x21, 0x2c, 0x2f, 0x3b, 0x41, 0x7e, 0x7f, 0x80, 0xa1, 0xac, 0xaf, 0xbb, 0xff]
        for i in base.indices {
            for b in bytes {
                var c = base
                c[i] = b
                credentials.append(c)
                var inserted = base
                inserted.insert(b, at: i)
                credentials.append(inserted)
            }
            var removed = base
            removed.remove(at: i)
            credentials.append(removed)
        }
        credentials.append(Array((String(repeating: "K", count: 128) + "/20150830/r/s/aws4_request").utf8))
        credentials.append(Array((String(repeating: "K", count: 129) + "/20150830/r/s/aws4_request").utf8))
        credentials.append(Array(("AKID/20150830/" + String(repeating: "r", count: 500) + "/s/aws4_request").utf8))
        credentials.append(Array("AKID/20150830/us-east-1/s3/aws4_request/".utf8))
        credentials.append(Array("////".utf8))
        var accepted = 0
        for c in credentials {
            let result = c.withUnsafeBufferPointer { p in
                Result { () throws(VerificationFailure) in
                    try AuthorizationParser.parseCredential(p, 0..<p.count) { VerificationFailure(.authorizationHeaderMalformed, $0) }
                }
            }
            switch result {
            case .success(let parts):
                #expect(Self.referenceCredential(c) == nil)
                #expect(Array([String(parts.0), parts.1, parts.3, parts.4, parts.5].joined(separator: "/").utf8) == c)
                // The day is the stamp's, as the date parser reads it (nil for a stamp of no real day).
                #expect(parts.2 == AmzDate.parse(Array((parts.1 + "T000000Z").utf8))?.dayNumber, "\(parts.1)")
                accepted += 1
            case .failure(let failure):
                #expect(failure.message == Self.referenceCredential(c), "credential \(c)")
            }
        }
        #expect(accepted > 50)
    }

    @Test(
        "a presigned credential's access key id read as a slice of the target is the decoded id, with escapes anywhere in it or after it",
        arguments: [
            "AKIAIOSFODNN7EXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
            "AKIAIOSFODNN7EXAMPLE/20150830/us-east-1/s3/aws4_request",
            "AKIAIOSFODNN7EXAMPLE%2f20150830%2fus-east-1%2fs3%2faws4_request",
            "AK%49AIOSFODNN7EXAMPLE%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
            "AKIAIOSFODNN7EXAMPL%45%2F20150830%2Fus-east-1%2Fs3%2Faws4_request",
            "%41KIAIOSFODNN7EXAMPLE/20150830/us-east-1/s3/aws4_request",
            "AKIAIOSFODNN7EXAMPLE/20150830%2Fus-east-1/s3/aws4_request",
            "AKID/20150830/us-east-1/s3/aws4_request",
        ])
    func presignedAccessKeyIDSlice(credential: String) throws {
        let target =
            "/bucket/a%20b?x=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(credential)"
            + "&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature="
            + String(repeating: "0", count: 64)
        let expected = String(credential.removingPercentEncoding!.split(separator: "/")[0])
        let bytes = Array(target.utf8)
        let query = (bytes.firstIndex(of: UInt8(ascii: "?"))! + 1)..<bytes.count
        for source in [target, nil] {
            var claim: ClaimedAuthorization? = nil
            try bytes.withUnsafeBufferPointer { p in
                try Result { () throws(VerificationFailure) in
                    try AuthorizationParser.parseQuery(target: p, query: query, source: source, into: &claim)
                }.get()
            }
            let parsed = try #require(claim)
            #expect(parsed.accessKeyID == expected, "source \(source == nil ? "none" : "given")")
            #expect(parsed.dateStamp == "20150830" && parsed.region == "us-east-1" && parsed.service == "s3")
        }
    }

    /// A presigned URL's query with these values (`signature`: 64 bytes when not given).
    static func presignedClaim(
        algorithm: String = "AWS4-HMAC-SHA256", date: String = "20150830T123600Z", expires: String = "60",
        signature: String? = nil
    ) -> Result<ClaimedAuthorization, VerificationFailure> {
        let target =
            "/b?x=1&X-Amz-Algorithm=\(algorithm)&X-Amz-Credential=AKID%2F20150830%2Fus-east-1%2Fs3%2Faws4_request"
            + "&X-Amz-Date=\(date)&X-Amz-Expires=\(expires)&X-Amz-SignedHeaders=host&X-Amz-Signature="
            + (signature ?? "0123456789abcdef" + String(repeating: "a", count: 48))
        let bytes = Array(target.utf8)
        let query = (bytes.firstIndex(of: UInt8(ascii: "?"))! + 1)..<bytes.count
        var claim: ClaimedAuthorization? = nil
        let parsed = bytes.withUnsafeBufferPointer { p in
            Result { () throws(VerificationFailure) in
                try AuthorizationParser.parseQuery(target: p, query: query, source: target, into: &claim)
            }
        }
        return parsed.map { claim! }
    }

    /// The algorithm, the date, the expiry and the signature are read in place when they have their
    /// form there (no `%` can be part of it), and decoded otherwise: an escaped value reads as the
    /// value it encodes, and a malformed one, escaped or not, is refused with the same message.
    @Test("presigned values read in place or decoded: escaped values read as what they encode")
    func presignedValuesInPlaceOrDecoded() throws {
        let plain = try Self.presignedClaim().get()
        let signature = "0123456789abcdef" + String(repeating: "a", count: 48)
        for escaped in [
            Self.presignedClaim(algorithm: "AWS4-HMAC%2DSHA256"), Self.presignedClaim(algorithm: "AWS4-HMAC-SHA25%36"),
            Self.presignedClaim(date: "%32%30150830T123600Z"), Self.presignedClaim(date: "20150830T123600%5A"),
            Self.presignedClaim(expires: "%360"), Self.presignedClaim(expires: "6%30"),
            Self.presignedClaim(signature: "%30" + signature.dropFirst()),
            Self.presignedClaim(signature: String(signature.dropLast()) + "%61"),
        ] {
            let claim = try escaped.get()
            #expect(!claim.isSigV4a && claim.signature == plain.signature)
            #expect(claim.presign?.date == plain.presign?.date && claim.presign?.expires == 60)
        }
        func refusal(_ result: Result<ClaimedAuthorization, VerificationFailure>) -> String? {
            if case .failure(let failure) = result { return failure.message }
            return nil
        }
        let badDate = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        for date in ["20150830T1236%30", "20150830T123600%", "20150830T123600z", "2015%2D0830T123600Z"] {
            #expect(refusal(Self.presignedClaim(date: date)) == badDate, "\(date)")
        }
        for expires in ["%3", "6%3", "6%2B0", "1234567890", "%31%32%33%34%35%36%37%38%39%30"] {
            #expect(refusal(Self.presignedClaim(expires: expires)) == "X-Amz-Expires should be a number", "\(expires)")
        }
        #expect(refusal(Self.presignedClaim(expires: "%30")) == "X-Amz-Expires must be non-negative and at least 1")
        let badSignature = "X-Amz-Signature must be 64 lowercase hexadecimal digits"
        let short = String(signature.dropLast())
        for bad in [signature.uppercased(), short, short + "%41", signature + "%"] {
            #expect(refusal(Self.presignedClaim(signature: bad)) == badSignature, "\(bad)")
        }
        #expect(
            refusal(Self.presignedClaim(algorithm: "AWS4-HMAC-SHA256%")) == "X-Amz-Algorithm only supports "
                + "\"AWS4-HMAC-SHA256\" and \"AWS4-ECDSA-P256-SHA256\"")
        // SigV4a's name is read decoded (not in place), as SigV4a: this credential has a region, which
        // a SigV4a credential does not, and no region set.
        let asymmetric = refusal(Self.presignedClaim(algorithm: "AWS4-ECDSA-P256%2DSHA256"))
        #expect(asymmetric != nil && asymmetric?.contains("X-Amz-Algorithm") == false, "\(asymmetric ?? "")")
    }

    @Test("the terminator is read as sent, aws4_request or not", arguments: [
        "aws4_request", "aws4_requesT", "aws4_request2", "aws5_request", "x",
    ])
    func terminator(value: String) throws {
        let header =
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/s3/\(value), SignedHeaders=host, Signature="
            + String(repeating: "0", count: 64)
        let claim = try AuthorizationParser.parseHeader(Array(header.utf8))
        #expect(claim.terminator == value)
        #expect(claim.accessKeyID == "AKID" && claim.dateStamp == "20150830")
        #expect(claim.region == "us-east-1" && claim.service == "s3" && claim.signedHeadersLine == "host")
    }
    /// A presign parameter is named exactly, up to the element's first `=` (the previous parser
    /// found that `=`, then compared the name): the word-at-a-time classifier, which looks only at
    /// the bytes after the six possible name lengths, names the same parameter for every element.
    @Test("presign parameter names: the classifier names exactly the parameter the name up to the first '=' is")
    func presignParameterNames() {
        var elements: [[UInt8]] = []
        for name in AuthorizationParser.presignNames {
            let n = Array(name.utf8)
            for tail in ["", "=", "=v", "==", "=a=b", "x", "x=v", "&"] { elements.append(n + Array(tail.utf8)) }
            elements.append(Array(n.dropLast()) + Array("=v".utf8))
            for i in n.indices {
                for r: UInt8 in [0x3d, n[i] ^ 0x20, 0x00, 0x26] {
                    var changed = n
                    changed[i] = r
                    elements.append(changed + Array("=v".utf8))
                }
            }
        }
        elements += ["X-Amz-", "X-Amz-Da", "X-Amz-Dat=1", "x-amz-date=1", "size=large", "", "X-Amz-Date-"].map {
            Array($0.utf8)
        }
        for element in elements {
            let nameEnd = element.firstIndex(of: 0x3d) ?? element.count
            let expected = AuthorizationParser.presignNames.firstIndex { Array($0.utf8) == Array(element[..<nameEnd]) }
            // Within a longer query (bytes after the element), as the parser sees it.
            let query = element + Array("&tail=1".utf8)
            let got = query.withUnsafeBufferPointer { q in
                AuthorizationParser.presignParameter(q, 0, element.count)
            }
            #expect(got?.index == expected, "\(String(decoding: element, as: UTF8.self))")
            if expected != nil { #expect(got?.nameEnd == nameEnd) }
            // A query looks presigned when it names X-Amz-Algorithm, -Credential or -Signature (an
            // element with a `&` in it is two elements of the query).
            if !element.contains(0x26) {
                let looks = expected.map { [0, 1, 5].contains($0) } ?? false
                let text = String(decoding: element, as: UTF8.self)
                #expect(AuthorizationParser.looksPresigned(query[...]) == looks, "\(text)")
            }
        }
    }

    /// The presigned parser's element ends (``AuthorizationParser/ElementEnds``, 32 bytes a step)
    /// are the `&`s a search from each element's start finds, for queries of every length from 0 to
    /// 70 (fewer than 32 bytes, a whole number of steps, a last step that overlaps the one before),
    /// `&`s anywhere (first, last, runs), and `&`s just outside the query that it must not report.
    @Test("query element ends: every '&' of the query in order, none outside it, at every length")
    func queryElementEnds() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("a=%&".utf8)
        for length in 0...70 {
            for _ in 0..<40 {
                // The query sits between `&`s that are not part of it.
                var bytes = [UInt8](repeating: 0x26, count: length + 32)
                for i in 16..<(16 + length) { bytes[i] = alphabet.randomElement(using: &generator)! }
                bytes.withUnsafeBufferPointer { all in
                    let q = UnsafeBufferPointer(rebasing: all[16..<(16 + length)])
                    var expected: [Int] = []
                    var start = 0
                    while start < q.count {
                        let end = ByteSearch.index(of: 0x26, in: q, start..<q.count)
                        expected.append(end)
                        start = end + 1
                    }
                    var ends = AuthorizationParser.ElementEnds(q)
                    var found: [Int] = []
                    start = 0
                    while start < q.count {
                        let end = ends.next()
                        found.append(end)
                        start = end + 1
                    }
                    #expect(found == expected, "\(Array(q))")
                }
            }
        }
    }
}
