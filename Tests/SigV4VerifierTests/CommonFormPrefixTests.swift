import HTTPTypes
import SigV4
import Testing

@testable import SigV4Verifier

/// The common form's `Authorization` prefixes, read once and kept (`CommonFormPrefixes`): a kept
/// reading is what reading the same bytes gives, any other bytes are read afresh, slots are
/// replaced in turn, and a verifier with another policy keeps nothing of the last one's.
@Suite("common-form prefixes kept by their bytes")
struct CommonFormPrefixTests {
    /// The `Authorization` value of the fixture's GET signed for `region` and `service`
    /// (`SignedHeaders=host;x-amz-date` for a service other than S3).
    static func authorization(region: String = "us-east-1", service: String = "sqs", day: Int64 = 0) throws -> [UInt8] {
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/a?b=c", headerFields: [:])
        let signed = try Fixture.signer(service: service, region: region).sign(
            request, payload: .emptySHA256, at: Fixture.date.adding(seconds: day * 86_400))
        return Array(signed.request.headerFields[.authorization]!.utf8)
    }

    static func read(_ value: [UInt8], policy: VerificationPolicy = .default) -> CommonFormPrefix? {
        value.withUnsafeBufferPointer { CommonFormPrefix.read($0, signatureStart: $0.count - 64, policy: policy) }
    }

    static func lookUp(_ prefixes: CommonFormPrefixes, _ value: [UInt8]) -> CommonFormPrefix? {
        value.withUnsafeBufferPointer { prefixes.lookUp(UnsafeBufferPointer(rebasing: $0[0..<($0.count - 64)])) }
    }

    static func remember(_ prefixes: CommonFormPrefixes, _ value: [UInt8], _ reading: CommonFormPrefix) {
        value.withUnsafeBufferPointer {
            prefixes.remember(reading, for: UnsafeBufferPointer(rebasing: $0[0..<($0.count - 64)]))
        }
    }

    @Test("a prefix is read into its parts, and found again by exactly its bytes")
    func keptByItsBytes() throws {
        let value = try Self.authorization(region: "eu-west-1", service: "sqs")
        let reading = try #require(Self.read(value))
        #expect(reading.region == "eu-west-1")
        #expect(reading.service == "sqs")
        #expect(reading.scope == CredentialScope(checkedDateStamp: "20150830", region: "eu-west-1", service: "sqs"))
        #expect(reading.rules == ServiceRules.forService("sqs"))
        #expect(reading.passesPolicy)
        #expect(Array(value[reading.id]) == Array(Fixture.accessKeyID.utf8))
        #expect(String(decoding: value[reading.names], as: UTF8.self) == "host;x-amz-date")
        let prefixes = CommonFormPrefixes()
        #expect(Self.lookUp(prefixes, value) == nil)
        Self.remember(prefixes, value, reading)
        #expect(Self.lookUp(prefixes, value) == reading)
        // Another signature after the same prefix: the same reading.
        var resigned = value
        resigned[resigned.count - 1] = resigned.last == 0x30 ? 0x31 : 0x30
        #expect(Self.lookUp(prefixes, resigned) == reading)
        // Any one byte of the prefix changed, one removed or one added: not found.
        for i in 0..<(value.count - 64) {
            var changed = value
            changed[i] ^= 0x01
            #expect(Self.lookUp(prefixes, changed) == nil, "byte \(i) changed")
            var shorter = value
            shorter.remove(at: i)
            #expect(Self.lookUp(prefixes, shorter) == nil, "byte \(i) removed")
            var longer = value
            longer.insert(value[i], at: i)
            #expect(Self.lookUp(prefixes, longer) == nil, "byte \(i) doubled")
        }
    }

    @Test("the first signed name not below x-amz- is found where a name-by-name rule finds it")
    func amzNamesStartMatchesRule() throws {
        // Names around `x-amz-` in byte order: below it, sharing a start with it, at it and above it.
        let pool = [
            "a", "accept", "host", "x", "x-am", "x-amz", "x-amz-", "x-amz-a", "x-amz-date", "x-amzz", "x-an", "x_amz",
            "y", "x-amz-content-sha256", "content-type", "x-amy-", "x-amz-security-token", "zz",
        ].map { Array($0.utf8) }
        var rng = SystemRandomNumberGenerator()
        let amz = Array("x-amz-".utf8)
        for _ in 0..<4_000 {
            let names = Array(Set(pool.filter { _ in Bool.random(using: &rng) }))
                .sorted { $0.lexicographicallyPrecedes($1) }
            guard !names.isEmpty else { continue }
            let line = Array(names.joined(separator: [0x3b]))
            // The rule: the offset of the first name that does not sort below `x-amz-`.
            var expected = line.count
            var offset = 0
            for name in names {
                if !name.lexicographicallyPrecedes(amz) {
                    expected = offset
                    break
                }
                offset += name.count + 1
            }
            let got = line.withUnsafeBufferPointer { CommonFormPrefix.amzNamesStart($0) }
            #expect(got == expected, "\(String(decoding: line, as: UTF8.self))")
        }
        // The reading keeps it: `host;x-amz-date` starts its `x-amz-` names at 5.
        let reading = try #require(Self.read(try Self.authorization()))
        #expect(reading.amzNamesStart == 5)
    }

    @Test("not a common-form prefix: nothing read (the full verification reads it)")
    func notCommonForm() throws {
        let value = try Self.authorization()
        let text = String(decoding: value, as: UTF8.self)
        let variants = [
            text.replacingOccurrences(of: ", SignedHeaders=", with: ",SignedHeaders="),
            text.replacingOccurrences(of: "aws4_request", with: "aws4_requesx"),
            text.replacingOccurrences(of: "host;x-amz-date", with: "x-amz-date;host"),
            text.replacingOccurrences(of: "host;x-amz-date", with: "Host;x-amz-date"),
            text.replacingOccurrences(of: "/20150830/", with: "/2015083a/"),
            text.replacingOccurrences(of: "AWS4-HMAC-SHA256 ", with: "AWS4-HMAC-SHA256  "),
            text.replacingOccurrences(of: "/us-east-1/", with: "/us-east-1/x/"),
        ]
        for v in variants {
            #expect(v != text)
            #expect(Self.read(Array(v.utf8)) == nil, "\(v)")
        }
    }

    @Test("the policy's allow-lists and signed-host rule are part of the reading")
    func policyIsPartOfTheReading() throws {
        let value = try Self.authorization(region: "us-west-2", service: "sqs")
        var regions = VerificationPolicy.default
        regions.allowedRegions = ["us-east-1"]
        #expect(Self.read(value, policy: regions)?.passesPolicy == false)
        var services = VerificationPolicy.default
        services.allowedServices = ["s3"]
        #expect(Self.read(value, policy: services)?.passesPolicy == false)
        var both = VerificationPolicy.default
        both.allowedRegions = ["us-west-2"]
        both.allowedServices = ["sqs"]
        #expect(Self.read(value, policy: both)?.passesPolicy == true)
        // `host` unsigned, where the policy requires it signed.
        let unsignedHost = Array(
            String(decoding: value, as: UTF8.self).replacingOccurrences(of: "host;x-amz-date", with: "x-amz-date").utf8)
        var host = VerificationPolicy.default
        host.requireSignedHost = true
        #expect(Self.read(unsignedHost, policy: host)?.passesPolicy == false)
        host.requireSignedHost = false
        #expect(Self.read(unsignedHost, policy: host)?.passesPolicy == true)
    }

    @Test("more prefixes than slots: each slot replaced in turn, the oldest first")
    func slotsReplacedInTurn() throws {
        let prefixes = CommonFormPrefixes()
        let regions = (0...CommonFormPrefixes.capacity).map { "eu-west-\($0 + 1)" }
        let values = try regions.map { try Self.authorization(region: $0) }
        for v in values.prefix(CommonFormPrefixes.capacity) { Self.remember(prefixes, v, try #require(Self.read(v))) }
        for v in values.prefix(CommonFormPrefixes.capacity) { #expect(Self.lookUp(prefixes, v)?.region != nil) }
        #expect(Self.lookUp(prefixes, values.last!) == nil)
        Self.remember(prefixes, values.last!, try #require(Self.read(values.last!)))
        #expect(Self.lookUp(prefixes, values.last!)?.region == regions.last)
        #expect(Self.lookUp(prefixes, values[0]) == nil, "the oldest slot was replaced")
        for (v, r) in zip(values.dropFirst(), regions.dropFirst()) { #expect(Self.lookUp(prefixes, v)?.region == r) }
    }

    @Test("a prefix longer than a slot is read every time and never kept")
    func longPrefixNotKept() throws {
        // 80 more signed names, ascending: `h000;h001;…;h079;host;x-amz-date`.
        let more = (0..<80).map { "h" + String(repeating: "0", count: 3 - String($0).count) + String($0) }
        let text = String(decoding: try Self.authorization(), as: UTF8.self)
            .replacingOccurrences(of: "host;x-amz-date", with: more.joined(separator: ";") + ";host;x-amz-date")
        let value = Array(text.utf8)
        #expect(value.count - 64 > CommonFormPrefixes.maximumBytes)
        let prefixes = CommonFormPrefixes()
        let reading = try #require(Self.read(value))
        Self.remember(prefixes, value, reading)
        #expect(Self.lookUp(prefixes, value) == nil)
    }

    @Test("a verifier given another policy keeps nothing read under the last one")
    func newPolicyStartsEmpty() async throws {
        var verifier = Fixture.verifier()
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/a", headerFields: [:])
        let signed = try Fixture.signer(region: "us-west-2").sign(request, payload: .emptySHA256, at: Fixture.date)
        #expect(await verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date).isAccepted)
        #expect(await verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date).isAccepted)
        verifier.policy.allowedRegions = ["us-east-1"]
        let refused = await verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date)
        #expect(refused.code == "AuthorizationHeaderMalformed")
        verifier.policy.allowedRegions = []
        #expect(await verifier.verify(signed.request, payload: .hash(.emptySHA256), now: Fixture.date).isAccepted)
    }

    @Test("many tasks, more prefixes than slots, one verifier: each request verified for its own scope")
    func concurrentPrefixes() async throws {
        var policy = VerificationPolicy.default
        policy.allowedRegions = ["eu-west-1", "eu-west-2", "eu-west-3"]
        let verifier = Fixture.verifier(policy: policy)
        let allowed = policy.allowedRegions
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/a", headerFields: [:])
        let regions = ["eu-west-1", "eu-west-2", "eu-west-3", "us-east-1", "us-west-2", "ap-south-1"]
        let signed = try regions.map {
            try Fixture.signer(region: $0).sign(request, payload: .emptySHA256, at: Fixture.date).request
        }
        let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var wrong = 0
                    for i in 0..<300 {
                        let k = (i * 7 + task) % regions.count
                        let result = await verifier.verify(signed[k], payload: .hash(.emptySHA256), now: Fixture.date)
                        let expected = allowed.contains(regions[k])
                        if result.isAccepted != expected { wrong += 1 }
                        if result.verified.map({ $0.scope.region != regions[k] }) ?? false { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(wrong == 0)
    }
}
