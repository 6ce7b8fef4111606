import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing
import _SigV4Crypto

@testable import SigV4Verifier

/// The verifier's canonicalization core (`VerifierCanonicalization`: fields read once, signed
/// names matched by a merge walk, the canonical request written on the stack) writes exactly the
/// bytes `CanonicalRequestBuilder` writes with `.exactly(names)`, and refuses what it refuses
/// with the same error.
@Suite("verifier canonicalization core")
struct VerifierCanonicalizationTests {
    static let cases = Vectors.directories("aws-signing-test-suite/v4")

    /// The old path: `CanonicalRequestBuilder` with `.exactly(names)`.
    static func builder(
        method: String, target: [UInt8], headers: [(String, [UInt8])], names: [String], payload: PayloadHash,
        rules: ServiceRules, plus: URIEncoding.PlusPolicy
    ) -> Result<[UInt8], SigV4Error> {
        var b = CanonicalRequestBuilder()
        return Result { () throws(SigV4Error) in
            try b.build(
                method: Array(method.utf8), target: target, extraQuery: [],
                headers: headers.map { HeaderInput(name: Array($0.0.utf8), value: $0.1) }, selection: .exactly(names),
                payloadHash: payload, rules: rules, plus: plus
            ).bytes
        }
    }

    /// The new path. `countGuess` 0 starts with the stack scratch, which many fields outgrow; the
    /// verifier passes the number of fields (scratch sized once past 24: `CanonicalHeaders.scratchSize`).
    static func core(
        method: String, target: [UInt8], headers: [(String, [UInt8])], names: [String], payload: PayloadHash,
        rules: ServiceRules, plus: URIEncoding.PlusPolicy, countGuess: Int = 0, skip: Range<Int>? = nil
    ) -> Result<[UInt8], SigV4Error> {
        var m = method
        var line = names.joined(separator: ";")
        return Result { () throws(SigV4Error) -> [UInt8] in
            var out: [UInt8] = []
            try VerifierCanonicalization.withHeaders(count: countGuess) { sink throws(SigV4Error) in
                for (name, value) in headers {
                    var n = name
                    try n.withUTF8 { nb in
                        value.withUnsafeBytes { vb in
                            Result { () throws(SigV4Error) in try sink.add(name: UnsafeRawBufferPointer(nb), value: vb) }
                        }
                    }.get()
                }
            } body: { fields throws(SigV4Error) in
                let written = try m.withUTF8 { mb in
                    line.withUTF8 { lb in
                        target.withUnsafeBufferPointer { t in
                            Result { () throws(SigV4Error) in
                                try fields.canonicalRequest(
                                    method: UnsafeRawBufferPointer(mb), target: t, skippingQueryElement: skip,
                                    signedHeaders: UnsafeRawBufferPointer(lb),
                                    payloadHash: payload, rules: rules, plus: plus, keepingBytes: true)
                            }
                        }
                    }
                }.get()
                out = written.bytes ?? []
                // The hash is of the bytes returned.
                #expect(written.hash == SHA256.hash(out))
            }
            return out
        }
    }

    static func same(_ a: Result<[UInt8], SigV4Error>, _ b: Result<[UInt8], SigV4Error>) -> Bool {
        switch (a, b) {
        case (.success(let x), .success(let y)): return x == y
        case (.failure(let x), .failure(let y)): return x.code == y.code && x.reason == y.reason
        default: return false
        }
    }

    /// `GET /` with `headers`, every name signed, the empty body: the builder's canonical request
    /// and the core's.
    static func getRoot(_ headers: [(String, [UInt8])]) -> (
        old: Result<[UInt8], SigV4Error>, new: Result<[UInt8], SigV4Error>
    ) {
        let names = Self.names(headers)
        let old = Self.builder(
            method: "GET", target: Array("/".utf8), headers: headers, names: names, payload: .emptySHA256,
            rules: .standard, plus: .literal)
        let new = Self.core(
            method: "GET", target: Array("/".utf8), headers: headers, names: names, payload: .emptySHA256,
            rules: .standard, plus: .literal)
        return (old, new)
    }

    /// The distinct lowercase names of `headers`, sorted by bytes.
    static func names(_ headers: [(String, [UInt8])]) -> [String] {
        Array(Set(headers.map { $0.0.lowercased() })).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    @Test("on every suite request, for all names, every other name, and a name no field has", arguments: cases)
    func suiteRequests(name: String) throws {
        let raw = RawRequest(try Vectors.text("aws-signing-test-suite/v4/\(name)/request.txt"))
        let headers = raw.headers.map { ($0.0, Array($0.1.utf8)) }
        let all = Self.names(headers)
        let selections = [
            all, all.enumerated().filter { $0.offset % 2 == 0 }.map(\.element),
            (all + ["zz-missing"]).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) },
        ]
        for names in selections where !names.isEmpty {
            for rules in [ServiceRules.standard, .s3] {
                for plus in [URIEncoding.PlusPolicy.literal, .space, .verbatim] {
                    let old = Self.builder(
                        method: raw.method, target: Array(raw.target.utf8), headers: headers, names: names,
                        payload: .emptySHA256, rules: rules, plus: plus)
                    let new = Self.core(
                        method: raw.method, target: Array(raw.target.utf8), headers: headers, names: names,
                        payload: .emptySHA256, rules: rules, plus: plus)
                    #expect(Self.same(old, new), "\(name) \(names) \(plus)")
                }
            }
        }
    }

    static let targets: [String] = [
        "/", "", "/a/../b/./c//d", "/%7e%2Fx?b=2&a=1&a=0", "/p?x", "/p?x=1=2", "/p?&&a=b&", "/p?a+b=c+d",
        "/p?%7a=%41", "/é?ü=ß", "/p?", "/p#frag", "/p?a=\u{01}", "no-slash", "/p?q=#", "/\u{7f}",
        // Queries that grow the most when canonicalized (the output buffer is sized from the
        // scan; too small a size traps in ByteWriter): every byte escaped, names without values,
        // `=` inside values, `+`, stray `%`, and one long single parameter.
        "/p?" + String(repeating: "é=é&", count: 60), "/p?" + String(repeating: "+&=", count: 120),
        "/p?" + String(repeating: "a&", count: 250), "/p?" + String(repeating: "%&=%", count: 90),
        "/p?a&" + String(repeating: " ", count: 300), "/p?" + String(repeating: "ü", count: 200),
        "/é/ü?" + String(repeating: "=", count: 150) + "&x",
        // Well-formed escapes are kept as they are (such a query is copied, not encoded byte by
        // byte): upper- and lowercase hex, escapes of `&` and `=`, at the ends of names and values,
        // in unsorted parameters; and escapes that are not well formed beside them (cut short at
        // the end of an element or of the query, a non-hex digit), which are encoded.
        "/p?b=%2F%2f&a=%26%3D&a%3D=x%41", "/p?X-Amz-Credential=AK%2F2015%2Fus&X-Amz-Date=1&a=%7E",
        "/p?z%41=1&y=%4", "/p?a=%4&b=%41", "/p?a=%zz&b=%41", "/p?%41%42%43&%41", "/p?a=%", "/p?a=b%2",
        "/p?" + String(repeating: "%41=%42&", count: 80),
    ]

    @Test("targets, values and repeats: same bytes or the same error", arguments: targets)
    func hostileTargets(target: String) {
        let headers: [(String, [UInt8])] = [
            ("Host", Array("example.com".utf8)), ("X-Amz-Date", Array("20150830T123600Z".utf8)),
            ("My-Header", Array("  a   b\tc  ".utf8)), ("my-header", Array("second".utf8)),
            ("Empty", []), ("X-Amz-Meta-A", Array("1,2".utf8)),
        ]
        let names = Self.names(headers)
        for (method, rules) in [("GET", ServiceRules.standard), ("PUT", .s3), ("BAD METHOD", .standard), ("", .s3)] {
            let old = Self.builder(
                method: method, target: Array(target.utf8), headers: headers, names: names, payload: .unsignedPayload,
                rules: rules, plus: .literal)
            let new = Self.core(
                method: method, target: Array(target.utf8), headers: headers, names: names, payload: .unsignedPayload,
                rules: rules, plus: .literal)
            #expect(Self.same(old, new), "\(method) \(target)")
        }
    }

    /// A presigned URL's `X-Amz-Signature=…` is left out where the query is read, not cut from a
    /// copy of the target: for every element of every query above (but those with a control byte
    /// or `#`: the verifier skips only a signature it parsed), the canonical request skipping it is
    /// the builder's for the target without it (and without empty elements, as the verifier's
    /// copy had none).
    @Test("a skipped query element: the same bytes as the builder's for the target without it", arguments: targets)
    func skippedQueryElement(target: String) {
        let t = Array(target.utf8)
        guard let mark = t.firstIndex(of: 0x3f) else { return }
        let headers: [(String, [UInt8])] = [
            ("Host", Array("example.com".utf8)), ("X-Amz-Date", Array("20150830T123600Z".utf8)),
        ]
        let names = Self.names(headers)
        var elements: [Range<Int>] = []
        var start = mark + 1
        while start <= t.count {
            let end = t[start...].firstIndex(of: 0x26) ?? t.count
            elements.append(start..<end)
            start = end + 1
        }
        let parsable = elements.filter { !$0.isEmpty && t[$0].allSatisfy { $0 >= 0x20 && $0 != 0x7f && $0 != 0x23 } }
        for skipped in parsable {
            let kept = elements.filter { !$0.isEmpty && $0 != skipped }.map { t[$0] }
            let without = Array(t[...mark]) + Array(kept.joined(separator: [0x26]))
            for (method, rules) in [("GET", ServiceRules.standard), ("PUT", .s3)] {
                for plus in [URIEncoding.PlusPolicy.literal, .space] {
                    let old = Self.builder(
                        method: method, target: without, headers: headers, names: names, payload: .unsignedPayload,
                        rules: rules, plus: plus)
                    let new = Self.core(
                        method: method, target: t, headers: headers, names: names, payload: .unsignedPayload,
                        rules: rules, plus: plus, skip: skipped)
                    #expect(Self.same(old, new), "\(method) \(target) skipping \(skipped)")
                }
            }
        }
    }

    @Test("a field name that is not a token is refused as the builder refuses it", arguments: ["Bad Name", "", "a:b", "é"])
    func invalidFieldName(name: String) {
        let headers: [(String, [UInt8])] = [("Host", Array("h".utf8)), (name, Array("v".utf8))]
        let old = Self.builder(
            method: "GET", target: Array("/".utf8), headers: headers, names: ["host"], payload: .emptySHA256,
            rules: .standard, plus: .literal)
        let new = Self.core(
            method: "GET", target: Array("/".utf8), headers: headers, names: ["host"], payload: .emptySHA256,
            rules: .standard, plus: .literal)
        #expect(new.failure?.code == .invalidHeader)
        #expect(Self.same(old, new))
    }

    /// `allNames(withPrefix:areIn:)` on fields `names` and a signed line.
    static func allNames(_ names: [String], prefix: StaticString, line: String) -> Bool {
        var result = false
        var line = line
        try? VerifierCanonicalization.withHeaders(count: 0) { sink throws(SigV4Error) in
            for name in names {
                var n = name
                try n.withUTF8 { nb in
                    Result { () throws(SigV4Error) in
                        try sink.add(name: UnsafeRawBufferPointer(nb), value: UnsafeRawBufferPointer(start: nil, count: 0))
                    }
                }.get()
            }
        } body: { fields in
            result = line.withUTF8 { fields.allNames(withPrefix: prefix, areIn: UnsafeRawBufferPointer($0)) }
        }
        return result
    }

    @Test("every x-amz-* field is found among the signed names, or the first missing one is reported, whatever the order")
    func allNamesWithPrefix() {
        // Fixed cases: repeats, names that share the prefix's first bytes, a prefix-only name, case.
        #expect(Self.allNames(["Host", "X-Amz-Date", "x-amz-date", "X-Amz-Meta-A"], prefix: "x-amz-", line: "host;x-amz-date;x-amz-meta-a"))
        #expect(!Self.allNames(["host", "x-amz-date", "x-amz-meta-a"], prefix: "x-amz-", line: "host;x-amz-date"))
        #expect(!Self.allNames(["x-amz-"], prefix: "x-amz-", line: "host;x-amz-date"))
        #expect(Self.allNames(["x-amz", "x-am", "x-amzz", "y"], prefix: "x-amz-", line: "host"))
        #expect(!Self.allNames(["x-amz-a"], prefix: "x-amz-", line: ""))
        #expect(Self.allNames(["host"], prefix: "x-amz-", line: ""))
        // Random fields and signed lines against the definition (every prefixed name is in the line).
        var rng = SystemRandomNumberGenerator()
        let pool = ["host", "x-amz-date", "x-amz-a", "x-amz-b", "x-amz-content-sha256", "x-amz-", "x-amzz", "x-a", "a", "zz"]
        for _ in 0..<2_000 {
            let fields = (0..<Int.random(in: 0...6, using: &rng)).map { _ in pool.randomElement(using: &rng)! }
            let signed = Array(Set(pool.filter { _ in Bool.random(using: &rng) }))
                .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let expected = fields.allSatisfy { !$0.hasPrefix("x-amz-") || signed.contains($0) }
            #expect(
                Self.allNames(fields, prefix: "x-amz-", line: signed.joined(separator: ";")) == expected,
                "\(fields) \(signed)")
        }
    }

    @Test(
        "many fields whose names share long starts (past 8 and 16 bytes), in any case and order, repeated: sorted and matched as the builder does"
    )
    func manyFieldsWithSharedNameStarts() {
        // Names that agree on their first 8, 16 or 24 bytes and differ after, or are prefixes of
        // one another, so the sort's comparison has to go past its first word.
        let stems = ["x-amz-meta-", "x-amz-server-side-encryption-", "x-bench-header-", "x-amz-meta-aaaaaaaaaaaaa", "x", "x-amz-m"]
        let tails = ["", "a", "b", "1", "10", "2", "a-b", "ab", "aa", "zz", "0123456789abcdef", "0123456789abcdeg"]
        var rng = SystemRandomNumberGenerator()
        for round in 0..<200 {
            let count = round < 20 ? round * 15 : Int.random(in: 0...120, using: &rng)
            var headers: [(String, [UInt8])] = [("Host", Array("h".utf8))]
            for _ in 0..<count {
                var name = stems.randomElement(using: &rng)! + tails.randomElement(using: &rng)!
                if Bool.random(using: &rng) { name = name.uppercased() }
                let value = ["v", "  a   b  ", "", "x,y", "\tq"].randomElement(using: &rng)!
                headers.append((name, Array(value.utf8)))
            }
            let (old, new) = Self.getRoot(headers)
            #expect((try? new.get())?.isEmpty == false, "\(count) fields")
            let same = Self.same(old, new)
            #expect(same, "\(headers.map(\.0))")
        }
    }

    @Test("past the field limit the collection refuses with invalidHeader, having grown its scratch to the limit")
    func fieldLimit() {
        let limit = 10_000
        for (count, refused) in [(limit - 1, false), (limit, true), (limit + 5, true)] {
            // `count` fields plus Host; the guess of 0 starts on the stack and grows.
            var headers: [(String, [UInt8])] = [("Host", Array("h".utf8))]
            for i in 0..<count { headers.append(("f\(i)", [])) }
            let new = Self.core(
                method: "GET", target: Array("/".utf8), headers: headers, names: ["host"], payload: .emptySHA256,
                rules: .standard, plus: .literal)
            #expect(new.failure?.code == (refused ? .invalidHeader : nil), "\(count + 1) fields")
            if refused { #expect(new.failure?.reason == "too many headers to sign") }
        }
    }

    @Test("more fields than the stack scratch holds: the scratch grows onto the heap and they are read once")
    func overflowingScratch() {
        var headers: [(String, [UInt8])] = [("Host", Array("h".utf8))]
        for i in 0..<60 { headers.append(("X-Field-\(i)", Array(repeating: UInt8(ascii: "v"), count: 40 + i))) }
        let (old, new) = Self.getRoot(headers)
        #expect((try? new.get())?.isEmpty == false)
        #expect(Self.same(old, new))
    }

    @Test(
        "fields counted in advance, as the verifier counts them (past 24, scratch sized once from the count): the builder's canonical request, whether the fields fit that size or outgrow it, and with a count that is off",
        arguments: [23, 24, 25, 60, 600]
    )
    func fieldsCountedInAdvance(count: Int) {
        for long in [false, true] {
            // Short values fit the 48 bytes a field the scratch is sized for; long ones (40 to
            // 299 bytes) outgrow it. Names in reverse order, so the sort moves every one.
            var headers: [(String, [UInt8])] = [("Host", Array("h".utf8))]
            for i in 0..<count {
                let value = long ? Array(repeating: UInt8(ascii: "v"), count: 40 + (i * 37) % 260) : Array("v \(i)".utf8)
                headers.append(("X-Amz-Meta-\(count - i)", value))
            }
            let names = Self.names(headers)
            let old = Self.builder(
                method: "GET", target: Array("/".utf8), headers: headers, names: names, payload: .emptySHA256,
                rules: .standard, plus: .literal)
            for guess in [headers.count, headers.count / 3, 2 * headers.count] {
                let new = Self.core(
                    method: "GET", target: Array("/".utf8), headers: headers, names: names, payload: .emptySHA256,
                    rules: .standard, plus: .literal, countGuess: guess)
                #expect((try? new.get())?.isEmpty == false, "\(headers.count) fields, counted \(guess), long \(long)")
                #expect(Self.same(old, new), "\(headers.count) fields, counted \(guess), long \(long)")
            }
        }
    }

    @Test(
        "a request signed with 25 to 600 fields, every one signed, verifies, from an HTTPRequest and from a field list; a value changed after signing is refused",
        // 600 fields under 100 names: the verifier takes at most 128 signed names.
        arguments: zip([25, 60, 125, 600], [25, 60, 125, 100])
    )
    func manySignedFieldsVerify(count: Int, names: Int) async throws {
        var fields = HTTPFields()
        for i in 0..<count {
            let value = i % 3 == 0 ? String(repeating: "w", count: 100 + i % 200) : "value \(i)"
            fields.append(HTTPField(name: HTTPField.Name("x-amz-meta-\((count - i) % names)")!, value: value))
        }
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/many.txt",
            headerFields: fields)
        let signed = try Fixture.signer().sign(request, payload: .emptySHA256, at: Fixture.date)
        #expect(signed.canonicalRequest.signedHeaders.split(separator: ";").count == names + 3)
        let verifier = Fixture.verifier()
        let fromRequest = await verifier.verify(signed.request, payload: .body([]), now: Fixture.date)
        #expect(fromRequest.isAccepted, "\(count) fields: \(String(describing: fromRequest.failure))")
        let list = VerificationRequest(signed.request)
        let fromList = await verifier.verify(
            VerificationRequest(method: list.method, target: list.target, fields: list.fields), payload: .body([]),
            now: Fixture.date)
        #expect(fromList.isAccepted, "\(count) fields: \(String(describing: fromList.failure))")
        let changed = Fixture.replacing(list, "x-amz-meta-1", with: Array("changed".utf8))
        #expect(await verifier.verify(changed, payload: .body([]), now: Fixture.date).code == "SignatureDoesNotMatch")
    }

    @Test(
        "after the scratch grew onto the heap, a refusal from the fields (a name that is not a token, last or among more fields) or from the request line (method, target) is the builder's",
        arguments: [23, 24, 60, 600]
    )
    func refusalsAfterTheScratchGrew(count: Int) {
        var fields: [(String, [UInt8])] = [("Host", Array("h".utf8))]
        for i in 0..<count { fields.append(("X-Amz-Meta-\(i)", Array("value \(i)".utf8))) }
        let names = Self.names(fields)
        // (method, target, headers): each refused once `count` fields are in the scratch.
        let cases: [(String, String, [(String, [UInt8])])] = [
            ("GET", "/", fields + [("Bad Name", Array("v".utf8))]),
            ("GET", "/", fields + [("a:b", Array("v".utf8))] + fields.dropFirst()),
            ("G T", "/", fields),
            ("GET", "/a#b", fields),
            ("GET", "a", fields),
        ]
        for (method, target, headers) in cases {
            let old = Self.builder(
                method: method, target: Array(target.utf8), headers: headers, names: names, payload: .emptySHA256,
                rules: .standard, plus: .literal)
            let new = Self.core(
                method: method, target: Array(target.utf8), headers: headers, names: names, payload: .emptySHA256,
                rules: .standard, plus: .literal)
            #expect(new.failure != nil, "\(method) \(target), \(headers.count) fields")
            #expect(Self.same(old, new), "\(method) \(target), \(headers.count) fields")
        }
    }

    @Test("an accepted Authorization credential always makes a scope the scope initializer accepts")
    func parsedScopeIsValid() throws {
        let parts = ["AKID", "20150830", "us-east-1", "s3", "aws4_request", "a!b", "~", String(repeating: "r", count: 128)]
        for region in parts {
            for service in parts {
                let value =
                    "AWS4-HMAC-SHA256 Credential=AKID/20150830/\(region)/\(service)/aws4_request, SignedHeaders=host, Signature="
                    + String(repeating: "0", count: 64)
                guard let claim = try? AuthorizationParser.parseHeader(Array(value.utf8)) else { continue }
                #expect(throws: Never.self) {
                    try CredentialScope(dateStamp: claim.dateStamp, region: claim.region, service: claim.service)
                }
            }
        }
    }

    @Test("AmzDate.parse(bytes:) agrees with AmzDate.parse", arguments: [
        "20150830T123600Z", "20240229T000000Z", "20230229T000000Z", "20151330T000000Z", "20150830T240000Z",
        "20150830 123600Z", "2015083T1236000Z", "00000101T000000Z", "99991231T235959Z", "20150830T123600",
    ])
    func amzDateBytes(text: String) {
        let bytes = Array(text.utf8)
        #expect(bytes.withUnsafeBufferPointer { AmzDate.parse(bytes: $0) } == AmzDate.parse(bytes))
        if let d = AmzDate.parse(bytes) {
            func day(_ stamp: Substring) -> Int64? {
                Array(stamp.utf8).withUnsafeBytes { AmzDate.dayNumber(ofStamp: $0) }
            }
            #expect(day(text.prefix(8)) == d.dayNumber)
            #expect(day("19700101") != d.dayNumber)
            #expect(day(text.prefix(7)) == nil)
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }
}

/// What the verifier reports when a signed request cannot be canonicalized.
@Suite("verifier canonicalization failures")
struct VerifierCanonicalizationFailureTests {
    @Test(
        "a bad method or target is reported before a bad field name, as the builder reported it",
        arguments: [
            ("G ET", "/photos/2015/cat.txt?partNumber=1&uploadId=abc", "the method is not an HTTP token"),
            ("PUT", "/photos/2015/cat\u{01}.txt?partNumber=1&uploadId=abc", "the request target must not contain control bytes"),
            ("PUT", "/photos/2015/cat.txt?partNumber=1&uploadId=abc", "header name is not an HTTP token"),
        ])
    func precedence(method: String, target: String, reason: String) async {
        let (signed, body) = Fixture.signedPut()
        var request = signed
        request.method = method
        request.target = Array(target.utf8)
        request.fields.append(VerificationRequest.Field(name: "bad name", value: "x"))
        let result = await Fixture.verifier().verify(request, payload: .body(body), now: Fixture.date)
        #expect(result.code == "InvalidRequest")
        #expect(result.failure?.message == "The request cannot be canonicalized: \(reason)")
    }
}
