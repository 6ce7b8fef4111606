import HTTPTypes
import SigV4
import SigV4TestSupport
import Testing

/// `SigningContext` keeps state between signatures (and `Signer.sign` keeps the like through its key
/// cache's `SigningSecond`): the scope, key and `Authorization` prefix for a day, the date text for
/// a second, and the key's MAC after the string to sign's fixed text for a second. Each is only
/// right while the bytes it covers really are fixed. b481367 and 31615f3 fixed a case where they
/// were not: the context kept the MAC after the first 64-byte block, which with a short scope
/// reaches into the canonical request's hash, so every later signature in that second was wrong;
/// until then no test had signed two *different* requests in one second. These
/// properties sign sequences of different generated requests through one context per signer (same
/// second, next second, next day, back to an earlier second; refused requests in between) and
/// require every byte the context exposes to equal `Signer.sign`'s, with no key cache and with a
/// small cache shared by the batch's signers. They also count the signatures whose first block
/// changed within a second, so that they cannot pass without reaching that case. The seeds are
/// fixed: a failure reproduces.
@Suite("Signing context properties over generated signers, requests and dates")
struct SigningContextPropertyTests {
    // MARK: - Generated signers

    /// One generated signer, signing three ways: through its context (kept across the batch), with
    /// `keyCache: nil`, and with the batch's shared cache.
    struct Setup {
        var region: String
        var service: String
        var credentials: Credentials
        var rulesName: String
        var contextUsesCache: Bool
        var context: SigningContext
        var plain: Signer
        var cached: Signer
        /// The second of the context's last signature, the canonical request it signed, and the
        /// first 64-byte block of the first string to sign in that second (what a per-second MAC
        /// state would cover).
        var lastSecond: Int64 = .min
        var lastCanonical: [UInt8] = []
        var secondFirstBlock: [UInt8] = []

        var scopeByteCount: Int { 8 + 1 + region.utf8.count + 1 + service.utf8.count + 1 + 12 }

        var summary: String {
            "region \(region.debugDescription) service \(service.debugDescription) (scope \(scopeByteCount) bytes), "
                + "access key id \(credentials.accessKeyID.debugDescription), secret \(credentials.secretAccessKey.revealForDisplay().debugDescription), "
                + "token \(credentials.sessionToken.map { "\($0.utf8.count) bytes" } ?? "none"), rules \(rulesName), "
                + "context signer \(contextUsesCache ? "with" : "without") the cache"
        }
    }

    static let scopeAlphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)
    static let alnum = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".utf8)
    static let upperAlnum = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    static let secretAlphabet = alnum + Array("/+=".utf8)
    /// Printable bytes an access key id may hold (no space, '/' or ',').
    static let keyIDAlphabet = alnum + Array("-_.~!*'()+=:;@$&".utf8)

    static func string(_ rng: inout SplitMix64, _ alphabet: [UInt8], _ lengths: ClosedRange<Int>) -> String {
        String(
            decoding: (0..<Int.random(in: lengths, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! },
            as: UTF8.self)
    }

    /// A region or service of 1 to `maxLength` bytes from `[a-z0-9-]`, short half the time.
    static func scopePart(_ rng: inout SplitMix64, maxLength: Int) -> String {
        let short = min(3, maxLength)
        return string(&rng, scopeAlphabet, Bool.random(using: &rng) ? 1...short : 1...maxLength)
    }

    static let rulesChoices: [(String, ServiceRules)] = [
        ("s3", .s3),
        ("standard", .standard),
        (
            "iot (token after signing)",
            ServiceRules(
                normalizePath: true, doubleEncodePath: true, sendContentSHA256: false,
                sessionTokenPlacement: .appendedAfterSigning)
        ),
        (
            "no normalization, content SHA-256",
            ServiceRules(normalizePath: false, doubleEncodePath: true, sendContentSHA256: true)
        ),
        ("s3express (token as x-amz-s3session-token)", .s3Express),
    ]

    static func makeSetup(_ rng: inout SplitMix64, maxLength: Int, cache: SigningKeyCache, sibling: Setup?) -> Setup {
        var region = scopePart(&rng, maxLength: maxLength)
        var service = Int.random(in: 0..<4, using: &rng) == 0 ? "s3" : scopePart(&rng, maxLength: maxLength)
        let accessKeyID: String
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<70: accessKeyID = "AKIA" + string(&rng, upperAlnum, 16...16)
        case 70..<98: accessKeyID = string(&rng, keyIDAlphabet, 1...24)
        case 98: accessKeyID = "AKIA/" + string(&rng, upperAlnum, 1...4)  // refused
        default: accessKeyID = ""  // refused
        }
        let secret = Int.random(in: 0..<100, using: &rng) == 0 ? "" : string(&rng, secretAlphabet, 1...48)
        let token = Int.random(in: 0..<5, using: &rng) < 2 ? nil : string(&rng, secretAlphabet, 16...220)
        var credentials = Credentials(accessKeyID: accessKeyID, secretAccessKey: secret, sessionToken: token)
        // Sometimes the same key id, secret and scope as another signer of the batch, with other
        // rules or token: one cache entry serves both.
        if let sibling, Int.random(in: 0..<4, using: &rng) == 0 {
            region = sibling.region
            service = sibling.service
            credentials = Credentials(
                accessKeyID: sibling.credentials.accessKeyID,
                secretAccessKey: sibling.credentials.secretAccessKey.revealForDisplay(), sessionToken: token)
        }
        var rulesName = service == "s3" ? "s3 (table)" : "standard (table)"
        var rules: ServiceRules?
        if Bool.random(using: &rng) {
            let choice = rulesChoices.randomElement(using: &rng)!
            (rulesName, rules) = (choice.0, choice.1)
        }
        let contextUsesCache = Bool.random(using: &rng)
        let plain = Signer(credentials: credentials, region: region, service: service, rules: rules, keyCache: nil)
        let cached = Signer(credentials: credentials, region: region, service: service, rules: rules, keyCache: cache)
        return Setup(
            region: region, service: service, credentials: credentials, rulesName: rulesName,
            contextUsesCache: contextUsesCache, context: SigningContext(signer: contextUsesCache ? cached : plain),
            plain: plain, cached: cached)
    }

    // MARK: - Generated requests

    struct Generated {
        var request: HTTPRequest
        var payload: PayloadHash

        var summary: String {
            let fields = request.headerFields.map { "\($0.name.rawName): \($0.value.debugDescription)" }
            return
                "\(request.method.rawValue) \((request.path ?? "").debugDescription) authority \(request.authority?.debugDescription ?? "nil") "
                + "fields [\(fields.joined(separator: ", "))] payload \(payload.value)"
        }
    }

    static let pathPieces = [
        "%20", "%2F", "%2f", "%41", "%C3%A9", "%25", "é", "日", "~", ".", "..", "", "a+b", "*", "!", "$", "'", "(", ")",
        ":", "@", "=", ";", ",", "%",
    ]
    static let queryPieces = ["%20", "%2B", "%3D", "%26", "+", "é", "~", "*", "", "a b", "%", "/", "?"]
    static let headerNames = [
        "X-Amz-Meta-Color", "x-amz-meta-color", "Content-Type", "content-type", "X-Custom", "My-Header", "User-Agent",
        "Content-Length", "Expect", "X-Amzn-Trace-Id", "Accept", "Range", "Zed", "a", "x-amz-target",
    ]

    static func word(_ rng: inout SplitMix64, _ lengths: ClosedRange<Int> = 1...8) -> String {
        string(&rng, alnum, lengths)
    }

    static func headerValue(_ rng: inout SplitMix64) -> String {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return " " + word(&rng) + "  "
        case 1: return word(&rng) + "   " + word(&rng) + " " + word(&rng)
        case 2: return ""
        case 3: return "\t" + word(&rng) + "\t"
        case 4: return word(&rng) + "é" + word(&rng, 0...3)
        default: return word(&rng, 1...30)
        }
    }

    static func payload(_ rng: inout SplitMix64) -> PayloadHash {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return .emptySHA256
        case 1: return .unsignedPayload
        case 2: return .streamingSigned
        case 3:
            let hex = string(&rng, Array("0123456789abcdef".utf8), 64...64)
            return (try? PayloadHash(hex)) ?? .emptySHA256
        default:
            return .sha256(
                of: (0..<Int.random(in: 0...100, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    /// A request, now and then one that must be refused (already signed, a fragment, no host, a
    /// conflicting `X-Amz-Content-SHA256`).
    static func makeRequest(_ rng: inout SplitMix64) -> Generated {
        var path = ""
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            path += "/"
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                path += Int.random(in: 0..<3, using: &rng) == 0 ? pathPieces.randomElement(using: &rng)! : word(&rng)
            }
        }
        if path.isEmpty || Bool.random(using: &rng) { path += "/" }
        if Int.random(in: 0..<12, using: &rng) == 0 { path = "/" + path }  // a double slash
        var query: [String] = []
        for _ in 0..<Int.random(in: 0...4, using: &rng) {
            let key =
                Int.random(in: 0..<4, using: &rng) == 0 && !query.isEmpty
                ? String(query.randomElement(using: &rng)!.prefix { $0 != "=" })
                : word(&rng, 0...6) + (Bool.random(using: &rng) ? queryPieces.randomElement(using: &rng)! : "")
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: query.append(key)
            case 1: query.append(key + "=")
            default:
                query.append(
                    key + "=" + word(&rng, 0...6)
                        + (Bool.random(using: &rng) ? queryPieces.randomElement(using: &rng)! : ""))
            }
        }
        switch Int.random(in: 0..<60, using: &rng) {
        case 0: query.append("X-Amz-Signature=" + word(&rng))  // refused
        case 1: query.append("x-amz-credential=" + word(&rng))  // refused
        default: break
        }
        var target =
            path
            + (query.isEmpty
                ? (Int.random(in: 0..<10, using: &rng) == 0 ? "?" : "") : "?" + query.joined(separator: "&"))
        if Int.random(in: 0..<60, using: &rng) == 0 { target += "#" + word(&rng) }  // refused

        let payload = payload(&rng)
        var fields = HTTPFields()
        for _ in 0..<Int.random(in: 0...5, using: &rng) {
            let name: String
            var value = headerValue(&rng)
            switch Int.random(in: 0..<40, using: &rng) {
            case 0: name = "X-Amz-Date"; value = "20150830T123600Z"
            case 1: name = "x-amz-security-token"
            case 2: name = "X-Amz-Content-SHA256"; value = payload.value
            case 3: name = "Host"; value = word(&rng) + ".example.com"
            case 4 where Bool.random(using: &rng):
                name = "x-amz-content-sha256"
                value = PayloadHash.emptySHA256.value  // refused unless it is the payload's
            case 5 where Int.random(in: 0..<3, using: &rng) == 0: name = "Authorization"  // refused
            default: name = headerNames.randomElement(using: &rng)!
            }
            fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
        }
        var authority: String? =
            word(&rng, 1...12) + [".s3.amazonaws.com", ".example.com", ":8443", ""].randomElement(using: &rng)!
        switch Int.random(in: 0..<40, using: &rng) {
        case 0: authority = nil  // refused when there is no Host field either
        case 1:
            authority = nil
            fields.append(HTTPField(name: .init("Host")!, value: word(&rng) + ".example.com"))
        default: break
        }
        let method = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "PROPFIND"].randomElement(
            using: &rng)!
        let request = HTTPRequest(
            method: HTTPRequest.Method(method)!, scheme: "https", authority: authority, path: target,
            headerFields: fields)
        return Generated(request: request, payload: payload)
    }

    // MARK: - Dates

    /// Offsets from a batch's first second: several signatures in that second, the next second,
    /// the next day, back to the first second and to the one before it, with repeats.
    static func schedule(_ rng: inout SplitMix64) -> [Int64] {
        var offsets: [Int64] = []
        for (offset, repeats) in [(0, 2...4), (1, 1...3), (86_400, 1...3), (0, 1...3), (-1, 1...2)]
            as [(Int64, ClosedRange<Int>)]
        {
            offsets += Array(repeating: offset, count: Int.random(in: repeats, using: &rng))
        }
        return offsets
    }

    /// A batch's first second: any second of 2000–2035, or the last or first second of a day (so
    /// the next second is another day, or the one before it is).
    static func firstSecond(_ rng: inout SplitMix64) -> Int64 {
        let day = Int64.random(in: 10_957...24_106, using: &rng) * 86_400
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return day + 86_399
        case 1: return day
        default: return day + Int64.random(in: 0..<86_400, using: &rng)
        }
    }

    // MARK: - The property

    struct Counts {
        var requests = 0
        var signed = 0
        var refused = 0
        var shortScope = 0
        var longScope = 0
        /// Signatures with a scope under 30 bytes, in the second of the context's previous signature,
        /// of a different canonical request.
        var shortScopeSameSecondDifferentRequest = 0
        var longScopeSameSecondDifferentRequest = 0
        /// Signatures whose string to sign's first block differs from that of the first signature in
        /// the same second: a MAC state kept for the second (the code before b481367) gives these a
        /// wrong signature.
        var firstBlockChangedWithinSecond = 0
        var longScopeFirstBlockChangedWithinSecond = 0
        var refusals: [String: Int] = [:]
        var s3Rules = 0
        var dayChanges = 0
    }

    static func outcome<T>(_ body: () throws(SigV4Error) -> T) -> Result<T, SigV4Error> {
        do { return .success(try body()) } catch { return .failure(error) }
    }

    static func lines(_ fields: HTTPFields) -> [String] { fields.map { "\($0.name.rawName): \($0.value)" } }

    /// Runs `batches` batches of one to three signers (one context each, one cache of four keys
    /// between them) signing a schedule of generated requests, and checks each signature.
    static func check(seed: UInt64, batches: Int, maxScopePartLength: Int) -> Counts {
        var rng = SplitMix64(seed: seed)
        var counts = Counts()
        for batch in 0..<batches {
            let cache = SigningKeyCache(capacity: 4)
            var setups: [Setup] = []
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                setups.append(
                    makeSetup(
                        &rng, maxLength: maxScopePartLength, cache: cache, sibling: setups.randomElement(using: &rng)))
            }
            let first = firstSecond(&rng)
            for (slot, offset) in schedule(&rng).enumerated() {
                let k = Int.random(in: setups.indices, using: &rng)
                let generated = makeRequest(&rng)
                let date = AmzDate(secondsSince1970: first + offset)
                let request = generated.request
                let payload = generated.payload
                let setup = setups[k]
                let context = setup.context
                let what =
                    "seed \(seed) batch \(batch) slot \(slot) signer \(k) at \(date): \(setup.summary); \(generated.summary)"
                counts.requests += 1

                let fromContext = outcome { () throws(SigV4Error) in
                    try context.sign(request, payload: payload, at: date)
                }
                let plain = outcome { () throws(SigV4Error) in
                    try setup.plain.sign(request, payload: payload, at: date)
                }
                let cached = outcome { () throws(SigV4Error) in
                    try setup.cached.sign(request, payload: payload, at: date)
                }

                guard case .success(let signature) = fromContext, case .success(let withoutCache) = plain,
                    case .success(let withCache) = cached
                else {
                    // A refusal: all three refuse it, for the same reason.
                    let codes = [fromContext.map { _ in () }, plain.map { _ in () }, cached.map { _ in () }].map {
                        result -> String in
                        if case .failure(let error) = result { return error.code.name } else { return "signed" }
                    }
                    #expect(
                        !codes.contains("signed"), "only some refused (context, no cache, cache: \(codes)): \(what)")
                    #expect(
                        Set(codes).count == 1,
                        "refused for different reasons (context, no cache, cache: \(codes)): \(what)")
                    // A refusal leaves no signature behind: addHeaders does nothing.
                    var fields = request.headerFields
                    context.addHeaders(to: &fields)
                    #expect(lines(fields) == lines(request.headerFields), "addHeaders after a refusal: \(what)")
                    counts.refused += 1
                    counts.refusals[codes[0], default: 0] += 1
                    // A context refusing a request of another day has moved to that day already.
                    if codes[0] != SigV4Error.Code.invalidCredentials.name,
                        setup.lastSecond != .min, setup.lastSecond / 86_400 != date.secondsSince1970 / 86_400
                    {
                        setups[k].lastSecond = .min
                    }
                    continue
                }

                counts.signed += 1
                let canonical = context.withCanonicalRequest { Array($0) }
                let short = setup.scopeByteCount < 30
                if short { counts.shortScope += 1 } else { counts.longScope += 1 }
                let firstBlock = context.withStringToSign { Array($0.prefix(64)) }
                if setup.lastSecond == date.secondsSince1970 {
                    if setup.lastCanonical != canonical {
                        if short {
                            counts.shortScopeSameSecondDifferentRequest += 1
                        } else {
                            counts.longScopeSameSecondDifferentRequest += 1
                        }
                    }
                    if firstBlock != setup.secondFirstBlock {
                        counts.firstBlockChangedWithinSecond += 1
                        if !short { counts.longScopeFirstBlockChangedWithinSecond += 1 }
                    }
                } else {
                    setups[k].secondFirstBlock = firstBlock
                }
                if setup.lastSecond != .min && setup.lastSecond / 86_400 != date.secondsSince1970 / 86_400 {
                    counts.dayChanges += 1
                }
                if setup.plain.rules == .s3 { counts.s3Rules += 1 }
                setups[k].lastSecond = date.secondsSince1970
                setups[k].lastCanonical = canonical

                var fields = request.headerFields
                context.addHeaders(to: &fields)
                let contextAuthorization = context.withAuthorization { Array($0) }
                let contextStringToSign = context.withStringToSign { Array($0) }
                for (name, expected) in [("no cache", withoutCache), ("shared cache", withCache)] {
                    #expect(signature == expected.signature, "signature differs from Signer.sign (\(name)): \(what)")
                    #expect(context.authorizationValue == expected.authorization, "Authorization (\(name)): \(what)")
                    #expect(
                        contextAuthorization == Array((expected.authorization ?? "").utf8),
                        "Authorization bytes (\(name)): \(what)")
                    #expect(canonical == expected.canonicalRequest.bytes, "canonical request (\(name)): \(what)")
                    #expect(contextStringToSign == expected.stringToSign.bytes, "string to sign (\(name)): \(what)")
                    #expect(lines(fields) == lines(expected.request.headerFields), "addHeaders (\(name)): \(what)")
                }
                #expect(
                    withCache.signature == withoutCache.signature, "Signer.sign with and without the cache: \(what)")
                #expect(
                    Array((withCache.authorization ?? "").utf8) == Array((withoutCache.authorization ?? "").utf8),
                    "Signer.sign's Authorization with and without the cache: \(what)")
                #expect(
                    lines(withCache.request.headerFields) == lines(withoutCache.request.headerFields),
                    "Signer.sign's header fields with and without the cache: \(what)")
            }
        }
        return counts
    }

    @Test(
        "a context kept across different requests, seconds and days signs each as Signer.sign does, with and without a key cache"
    )
    func contextMatchesSignerOverGeneratedSequences() {
        let counts = Self.check(seed: 0x5167_C0_0001, batches: 60, maxScopePartLength: 12)
        #expect(counts.requests >= 500)
        // The property covered what it is about: both kinds of scope, several different requests in
        // one second of each, day changes, S3 rules, and refusals.
        #expect(counts.shortScopeSameSecondDifferentRequest > 0, "\(counts)")
        #expect(counts.longScopeSameSecondDifferentRequest > 0, "\(counts)")
        // Signatures a per-second MAC state of the first block would get wrong (the bug fixed in
        // b481367) were among them; with a scope of 30 bytes or more the block never changes
        // within a second, which is what makes that state sound.
        #expect(counts.firstBlockChangedWithinSecond > 0, "\(counts)")
        #expect(counts.longScopeFirstBlockChangedWithinSecond == 0, "\(counts)")
        #expect(counts.dayChanges > 0, "\(counts)")
        #expect(counts.s3Rules > 0, "\(counts)")
        #expect(counts.refused > 0 && counts.refused < counts.requests / 4, "\(counts)")
    }

    /// b481367's case in general: with a scope under 30 bytes (region and service under 7 bytes
    /// together) the string to sign's first block ends in the canonical request's hash, so nothing
    /// of it can be kept for the second.
    @Test("a context signs different requests in one second as Signer.sign does when every scope is under 30 bytes")
    func contextMatchesSignerWithShortScopes() {
        let counts = Self.check(seed: 0x5167_C0_0002, batches: 36, maxScopePartLength: 3)
        #expect(counts.requests >= 300)
        #expect(counts.longScope == 0, "\(counts)")
        #expect(counts.shortScopeSameSecondDifferentRequest >= 40, "\(counts)")
        #expect(counts.firstBlockChangedWithinSecond >= 40, "\(counts)")
    }
}
