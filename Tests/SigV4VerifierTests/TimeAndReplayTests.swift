import HTTPTypes
import SigV4
import SigV4Verifier
import Testing

@Suite("time edges")
struct TimeTests {
    static let (request, body) = Fixture.signedPut()

    @Test("header auth: exactly ±15 min is accepted, one second more is RequestTimeTooSkewed", arguments: [
        (Int64(900), true), (-900, true), (901, false), (-901, false), (0, true),
    ])
    func skew(offset: Int64, accepted: Bool) async {
        let now = Fixture.date.adding(seconds: offset)
        let result = await Fixture.verifier().verify(Self.request, payload: .body(Self.body), now: now)
        #expect(result.isAccepted == accepted)
        if !accepted {
            #expect(result.code == "RequestTimeTooSkewed")
            #expect(result.failure?.httpStatus == 403)
            let details = result.failure?.details ?? []
            #expect(details.contains(.init("RequestTime", "20150830T123600Z")))
            #expect(details.contains(.init("ServerTime", now.iso8601Basic)))
            #expect(details.contains(.init("MaxAllowedSkewMilliseconds", "900000")))
        }
    }

    @Test("the skew window is configurable")
    func configurableSkew() async {
        var policy = VerificationPolicy()
        policy.maxClockSkew = 60
        let v = Fixture.verifier(policy: policy)
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date.adding(seconds: 60)).isAccepted)
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date.adding(seconds: 61)).code == "RequestTimeTooSkewed")
    }

    static func presigned(expires: Int) throws -> VerificationRequest {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        return VerificationRequest(try Fixture.signer().presign(request, expires: expires, at: Fixture.date).request)
    }

    @Test("presigned: valid from date to date+expires inclusive, to the second; no skew check")
    func presignExpiry() async throws {
        let r = try Self.presigned(expires: 86_400)
        let v = Fixture.verifier()
        #expect(await v.verify(r, now: Fixture.date).isAccepted)
        #expect(await v.verify(r, now: Fixture.date.adding(seconds: 3600)).isAccepted)  // far beyond ±15 min
        #expect(await v.verify(r, now: Fixture.date.adding(seconds: 86_400)).isAccepted)
        let expired = await v.verify(r, now: Fixture.date.adding(seconds: 86_401))
        #expect(expired.code == "AccessDenied")
        #expect(expired.failure?.message == "Request has expired")
        #expect(expired.failure?.details.contains(.init("ServerTime", "20150831T123601Z")) == true)
        #expect(expired.failure?.details.contains(.init("X-Amz-Expires", "86400")) == true)
        let early = await v.verify(r, now: Fixture.date.adding(seconds: -1))
        #expect(early.code == "AccessDenied")
        #expect(early.failure?.message == "Request is not yet valid")
        #expect(early.failure?.details.contains(.init("ServerTime", "20150830T123559Z")) == true)
    }

    @Test("presigned: X-Amz-Expires of 604800 is accepted, 604801 and 0 are AuthorizationQueryParametersError")
    func presignMaximum() async throws {
        let r = try Self.presigned(expires: 604_800)
        let v = Fixture.verifier()
        #expect(await v.verify(r, now: Fixture.date.adding(seconds: 604_800)).isAccepted)
        for bad in ["604801", "0", "-1", "1e3", ""] {
            var t = String(decoding: r.target, as: UTF8.self)
            t = t.replacingOccurrences(of: "X-Amz-Expires=604800", with: "X-Amz-Expires=\(bad)")
            let result = await v.verify(VerificationRequest(method: "GET", target: Array(t.utf8), fields: r.fields), now: Fixture.date)
            #expect(result.code == "AuthorizationQueryParametersError", "\(bad)")
        }
    }

    @Test("presigned: a policy limit below 7 days is enforced")
    func presignPolicyLimit() async throws {
        var policy = VerificationPolicy()
        policy.maxPresignExpires = 3600
        let result = await Fixture.verifier(policy: policy).verify(try Self.presigned(expires: 3601), now: Fixture.date)
        #expect(result.code == "AuthorizationQueryParametersError")
        #expect(await Fixture.verifier(policy: policy).verify(try Self.presigned(expires: 3600), now: Fixture.date).isAccepted)
    }
}

@Suite("replay guard")
struct ReplayTests {
    static let (request, body) = Fixture.signedPut()

    @Test("a replayed header-auth request is RequestReplayed (403)")
    func replay() async {
        let v = Fixture.verifier(replayGuard: InMemoryReplayGuard())
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date).isAccepted)
        let first = await Fixture.verifier().verify(Self.request, payload: .body(Self.body), now: Fixture.date)
        let again = await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date.adding(seconds: 3))
        #expect(again.code == "RequestReplayed")
        // The refusal names the signature seen again (a server answers a retry of a failed attempt by it).
        #expect(again.failure?.replayedSignature == first.verified?.signature)
        #expect(again.failure?.replayedSignature != nil)
        #expect(again.failure?.httpStatus == 403)
        // The refusal names the access key id the request claimed (operators look requests up by it).
        #expect(again.failure?.accessKeyID == Fixture.accessKeyID)
    }

    @Test("of 64 identical concurrent requests exactly one is accepted")
    func concurrent() async {
        let v = Fixture.verifier(replayGuard: InMemoryReplayGuard())
        let results = await withTaskGroup(of: String.self) { group in
            for _ in 0..<64 {
                group.addTask { await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date).code ?? "OK" }
            }
            var all: [String] = []
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { $0 == "OK" }.count == 1)
        #expect(results.filter { $0 == "RequestReplayed" }.count == 63)
    }

    @Test("the signature is remembered exactly as long as it passes the time check")
    func lifetime() async {
        let store = InMemoryReplayGuard()
        let v = Fixture.verifier(replayGuard: store)
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date.adding(seconds: -900)).isAccepted)
        #expect(store.count(now: Fixture.date.adding(seconds: 900)) == 1)
        // Still inside the window at +900: still a replay.
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date.adding(seconds: 900)).code == "RequestReplayed")
        // One second later the time check rejects it, and the guard has forgotten it.
        #expect(store.count(now: Fixture.date.adding(seconds: 901)) == 0)
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date.adding(seconds: 901)).code == "RequestTimeTooSkewed")
    }

    @Test("when full the guard fails closed (SlowDown 503) and never evicts a live entry")
    func memoryBound() async throws {
        let store = InMemoryReplayGuard(capacity: 3)
        let v = Fixture.verifier(replayGuard: store)
        var requests: [VerificationRequest] = []
        for i in 0..<5 {
            requests.append(Fixture.signedPut(at: Fixture.date.adding(seconds: Int64(i))).0)
        }
        for r in requests.prefix(3) {
            #expect(await v.verify(r, payload: .body(Self.body), now: Fixture.date).isAccepted)
        }
        let full = await v.verify(requests[3], payload: .body(Self.body), now: Fixture.date)
        #expect(full.code == "SlowDown")
        #expect(full.failure?.httpStatus == 503)
        #expect(full.failure?.accessKeyID == Fixture.accessKeyID)
        #expect(store.refusedWhenFull == 1)
        // The live entries are all still there.
        for r in requests.prefix(3) {
            #expect(await v.verify(r, payload: .body(Self.body), now: Fixture.date).code == "RequestReplayed")
        }
        // Once the first entry's window closes (date+0+900), room frees up.
        let later = Fixture.date.adding(seconds: 901)
        #expect(await v.verify(requests[4], payload: .body(Self.body), now: later).isAccepted)
        #expect(store.count(now: later) == 3)
    }

    @Test("the guard holds at most its capacity under many distinct entries")
    func boundDirect() {
        let store = InMemoryReplayGuard(capacity: 1000)
        var refused = 0
        for i in 0..<5000 {
            var hex = String(i, radix: 16)
            hex = String(repeating: "0", count: 64 - hex.count) + hex
            let r = store.rememberNow(Signature(hex: hex)!, until: Fixture.date.adding(seconds: Int64(i % 50)), now: Fixture.date)
            if r == .unavailable { refused += 1 }
        }
        #expect(refused == 4000)
        #expect(store.count(now: Fixture.date) == 1000)
        #expect(store.count(now: Fixture.date.adding(seconds: 50)) == 0)
    }

    @Test("presigned URLs are reusable unless the policy makes them single-use")
    func presigned() async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/test.txt")
        let r = VerificationRequest(try Fixture.signer().presign(request, expires: 600, at: Fixture.date).request)
        let reusable = Fixture.verifier(replayGuard: InMemoryReplayGuard())
        #expect(await reusable.verify(r, now: Fixture.date).isAccepted)
        #expect(await reusable.verify(r, now: Fixture.date).isAccepted)
        var policy = VerificationPolicy()
        policy.presignedSingleUse = true
        let store = InMemoryReplayGuard()
        let once = Fixture.verifier(policy: policy, replayGuard: store)
        #expect(await once.verify(r, now: Fixture.date).isAccepted)
        #expect(await once.verify(r, now: Fixture.date.adding(seconds: 599)).code == "RequestReplayed")
        #expect(store.count(now: Fixture.date.adding(seconds: 600)) == 1)
        #expect(store.count(now: Fixture.date.adding(seconds: 601)) == 0)
    }

    @Test("a rejected request does not consume its signature")
    func rejectedNotRemembered() async {
        let store = InMemoryReplayGuard()
        let v = Fixture.verifier(replayGuard: store)
        var bad = Self.body
        bad[0] ^= 1
        #expect(await v.verify(Self.request, payload: .body(bad), now: Fixture.date).code == "XAmzContentSHA256Mismatch")
        #expect(await v.verify(Self.request, payload: .body(Self.body), now: Fixture.date).isAccepted)
    }
}
