import HTTPTypes
import Synchronization
import SigV4
import SigV4Verifier
import Testing

/// The verifier's two ways of asking a resolver: `lookUpWithoutSuspending` first, `resolve` only
/// when that answers `needsSuspension`.
@Suite struct ResolverPathTests {
    /// A resolver whose synchronous and asynchronous answers are set separately, so a test sees
    /// which one the verifier used.
    final class Scripted: CredentialResolver {
        enum Answer: Sendable { case found, notFound, needsSuspension, fails }
        struct Calls: Sendable, Equatable {
            var immediate = 0
            var asynchronous = 0
        }
        let immediate: Answer
        let asynchronous: Answer
        let counts = Mutex(Calls())

        init(immediate: Answer, asynchronous: Answer) {
            self.immediate = immediate
            self.asynchronous = asynchronous
        }

        struct Failure: Error {}

        func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
            counts.withLock { $0.asynchronous += 1 }
            switch asynchronous {
            case .found: return Fixture.credential()
            case .notFound, .needsSuspension: return nil
            case .fails: throw Failure()
            }
        }

        func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) throws -> CredentialLookup {
            counts.withLock { $0.immediate += 1 }
            switch immediate {
            case .found: return .found(Fixture.credential())
            case .notFound: return .notFound
            case .needsSuspension: return .needsSuspension
            case .fails: throw Failure()
            }
        }

        var calls: Calls { counts.withLock { $0 } }
    }

    /// Only `resolve`: the protocol's default answers `needsSuspension`.
    struct AsyncOnly: CredentialResolver {
        func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
            accessKeyID == Fixture.accessKeyID ? Fixture.credential() : nil
        }
    }

    static func signed(presigned: Bool) throws -> VerificationRequest {
        let request = HTTPRequest(
            method: .get, scheme: "https", authority: "examplebucket.s3.amazonaws.com", path: "/photos/a.jpg?x=1")
        let signer = Fixture.signer()
        return VerificationRequest(
            presigned
                ? try signer.presign(request, expires: 600, at: Fixture.date).request
                : try signer.sign(request, payload: .emptySHA256, at: Fixture.date).request)
    }

    typealias Case = (immediate: Scripted.Answer, asynchronous: Scripted.Answer, code: String?, calls: (Int, Int))
    static let cases: [Case] = [
        (.found, .fails, nil, (1, 0)),
        (.notFound, .found, "InvalidAccessKeyId", (1, 0)),
        (.fails, .found, "InternalError", (1, 0)),
        (.needsSuspension, .found, nil, (1, 1)),
        (.needsSuspension, .notFound, "InvalidAccessKeyId", (1, 1)),
        (.needsSuspension, .fails, "InternalError", (1, 1)),
    ]

    @Test(
        "a synchronous answer is used as is and resolve is not called; needsSuspension falls back to resolve",
        arguments: [false, true], cases.indices)
    func synchronousAnswerFirst(presigned: Bool, index: Int) async throws {
        let c = Self.cases[index]
        let resolver = Scripted(immediate: c.immediate, asynchronous: c.asynchronous)
        let result = await Verifier(resolver: resolver).verify(
            try Self.signed(presigned: presigned), now: Fixture.date.adding(seconds: 1))
        #expect(result.code == c.code)
        if c.code == "InvalidAccessKeyId" || c.code == "InternalError" {
            #expect(result.failure?.accessKeyID == Fixture.accessKeyID)
        }
        #expect(result.verified?.principal == (c.code == nil ? "alice" : nil))
        #expect(resolver.calls == Scripted.Calls(immediate: c.calls.0, asynchronous: c.calls.1))
    }

    @Test("a resolver with only resolve(accessKeyID:context:) verifies as before (the default sync answer)")
    func asyncOnlyResolver() async throws {
        for presigned in [false, true] {
            let request = try Self.signed(presigned: presigned)
            let result = await Verifier(resolver: AsyncOnly()).verify(request, now: Fixture.date.adding(seconds: 1))
            #expect(result.verified?.principal == "alice")
            #expect(try AsyncOnly().lookUpWithoutSuspending(accessKeyID: Fixture.accessKeyID, context: Self.context)
                .isNeedsSuspension)
        }
    }

    /// Keyed by `Substring`, as Docs/Verifier.md shows: it implements the `Substring` lookup and
    /// counts calls of the `String` one (the protocol's forwarding default must not be reached).
    final class SubstringKeyed: CredentialResolver {
        let keys: [Substring: ResolvedCredential]
        let stringLookups = Mutex(0)
        let asked = Mutex<[String]>([])
        init(_ credentials: [ResolvedCredential]) {
            keys = Dictionary(credentials.map { (Substring($0.accessKeyID), $0) }, uniquingKeysWith: { $1 })
        }
        func resolve(accessKeyID: String, context: ResolutionContext) async throws -> ResolvedCredential? {
            keys[Substring(accessKeyID)]
        }
        func lookUpWithoutSuspending(accessKeyID: String, context: ResolutionContext) -> CredentialLookup {
            stringLookups.withLock { $0 += 1 }
            return keys[Substring(accessKeyID)].map(CredentialLookup.found) ?? .notFound
        }
        func lookUpWithoutSuspending(accessKeyID: Substring, context: ResolutionContext) -> CredentialLookup {
            asked.withLock { $0.append(String(accessKeyID)) }
            return keys[accessKeyID].map(CredentialLookup.found) ?? .notFound
        }
    }

    @Test("the verifier asks with the claimed id as a Substring: a resolver implementing that lookup is not asked with a String")
    func substringLookup() async throws {
        let resolver = SubstringKeyed([Fixture.credential()])
        for presigned in [false, true] {
            let result = await Verifier(resolver: resolver).verify(
                try Self.signed(presigned: presigned), now: Fixture.date.adding(seconds: 1))
            #expect(result.verified?.principal == "alice")
            #expect(result.verified?.accessKeyID == Fixture.accessKeyID)
        }
        #expect(resolver.asked.withLock { $0 } == [Fixture.accessKeyID, Fixture.accessKeyID])
        #expect(resolver.stringLookups.withLock { $0 } == 0)
        // The default for a resolver with only the String lookup forwards the id unchanged.
        let scripted = Scripted(immediate: .found, asynchronous: .fails)
        #expect(try scripted.lookUpWithoutSuspending(accessKeyID: Fixture.accessKeyID[...], context: Self.context)
            .isFound)
        #expect(scripted.calls == Scripted.Calls(immediate: 1, asynchronous: 0))
    }

    @Test(
        "verifyWithoutSuspending answers what verify answers when the resolver has the key at hand, and nil (resolve not called) when it needs a suspension",
        arguments: [false, true], cases.indices)
    func withoutSuspending(presigned: Bool, index: Int) async throws {
        let c = Self.cases[index]
        let request = try Self.signed(presigned: presigned)
        let now = Fixture.date.adding(seconds: 1)
        let resolver = Scripted(immediate: c.immediate, asynchronous: c.asynchronous)
        let immediate = Verifier(resolver: resolver).verifyWithoutSuspending(request, now: now)
        #expect(resolver.calls == Scripted.Calls(immediate: 1, asynchronous: 0))
        if c.immediate == .needsSuspension {
            #expect(immediate == nil)
        } else {
            let awaited = await Verifier(resolver: Scripted(immediate: c.immediate, asynchronous: c.asynchronous))
                .verify(request, now: now)
            #expect(immediate?.code == c.code)
            #expect(immediate?.code == awaited.code)
            #expect(immediate?.verified?.principal == awaited.verified?.principal)
            #expect(immediate?.verified?.signature == awaited.verified?.signature)
            #expect(immediate?.verified?.signedHeadersLine == awaited.verified?.signedHeadersLine)
            #expect(immediate?.verified?.scope == awaited.verified?.scope)
            #expect(immediate?.failure?.message == awaited.failure?.message)
        }
        // Refusals found before the lookup need no suspension either: a tampered signature with a
        // resolver that would have to suspend is still refused at once (the key is never asked for).
        if c.immediate == .needsSuspension {
            var tampered = request
            tampered.method = "PUT"
            let refused = Verifier(resolver: resolver).verifyWithoutSuspending(tampered, now: now.adding(seconds: 3600))
            #expect(refused?.code == (presigned ? "AccessDenied" : "RequestTimeTooSkewed"))
        }
    }

    /// A guard that only answers asynchronously (the protocol's default `rememberWithoutSuspending`).
    struct AsyncOnlyGuard: ReplayGuard {
        let base = InMemoryReplayGuard()
        func remember(_ signature: Signature, until: AmzDate, now: AmzDate) async -> ReplayGuardResult {
            await base.remember(signature, until: until, now: now)
        }
    }

    @Test("verifyWithoutSuspending records in the in-memory replay guard at once (a replay is refused by either entry point); a guard that must suspend gets nil and nothing recorded")
    func withoutSuspendingAndTheReplayGuard() async throws {
        let now = Fixture.date.adding(seconds: 1)
        for (presigned, singleUse) in [(false, false), (true, false), (true, true)] {
            var policy = VerificationPolicy.default
            policy.presignedSingleUse = singleUse
            let guarded = !presigned || singleUse
            let request = try Self.signed(presigned: presigned)
            let resolver = InMemoryCredentialResolver([Fixture.credential()])

            let inMemory = Verifier(resolver: resolver, policy: policy, replayGuard: InMemoryReplayGuard())
            #expect(inMemory.verifyWithoutSuspending(request, now: now)?.verified?.principal == "alice")
            #expect(inMemory.verifyWithoutSuspending(request, now: now)?.code == (guarded ? "RequestReplayed" : nil))
            #expect(await inMemory.verify(request, now: now).code == (guarded ? "RequestReplayed" : nil))

            let suspending = Verifier(resolver: resolver, policy: policy, replayGuard: AsyncOnlyGuard())
            let immediate = suspending.verifyWithoutSuspending(request, now: now)
            #expect(guarded ? immediate == nil : immediate?.isAccepted == true)
            #expect(await suspending.verify(request, now: now).isAccepted)
            #expect(await suspending.verify(request, now: now).code == (guarded ? "RequestReplayed" : nil))
        }
    }

    static let context = ResolutionContext(
        signedAt: Fixture.date, now: Fixture.date, region: "us-east-1", service: "s3", isPresigned: false)

    @Test("InMemoryCredentialResolver answers synchronously what resolve answers")
    func inMemoryAnswersSynchronously() async throws {
        let resolver = InMemoryCredentialResolver([Fixture.credential()])
        for id in [Fixture.accessKeyID, "AKIDOTHER", ""] {
            let async = try await resolver.resolve(accessKeyID: id, context: Self.context)
            switch resolver.lookUpWithoutSuspending(accessKeyID: id, context: Self.context) {
            case .found(let credential): #expect(credential == async)
            case .notFound: #expect(async == nil)
            case .needsSuspension: Issue.record("the in-memory resolver must answer synchronously")
            }
        }
    }
}

extension CredentialLookup {
    var isNeedsSuspension: Bool {
        if case .needsSuspension = self { return true }
        return false
    }

    var isFound: Bool {
        if case .found = self { return true }
        return false
    }
}

/// `VerificationRequest(HTTPRequest)` takes `Host` from the authority when there is no field,
/// reading the authority's bytes in place.
@Suite struct AuthorityHostTests {
    @Test("the authority is the first field, named host; a Host field wins over the authority", arguments: [
        "examplebucket.s3.amazonaws.com", "h", "[::1]:8080", "a-very-long-host-name-beyond-the-small-string-limit.example.com",
    ])
    func authorityAsHost(authority: String) async throws {
        let request = HTTPRequest(method: .get, scheme: "https", authority: authority, path: "/a?b=c")
        let converted = VerificationRequest(request)
        #expect(converted.fields.first == VerificationRequest.Field(name: "host", value: authority))
        #expect(converted.values("Host") == [Array(authority.utf8)])
        var withField = request
        withField.headerFields[.init("Host")!] = "other.example"
        #expect(VerificationRequest(withField).values("host") == [Array("other.example".utf8)])
        // Signed with the authority as host, verified through the same conversion.
        let signed = try Fixture.signer().sign(request, payload: .emptySHA256, at: Fixture.date).request
        #expect(await Fixture.verifier().verify(signed, payload: .hash(.emptySHA256), now: Fixture.date).isAccepted)
    }

    /// Only a field named `host` (in any case) keeps the authority out: a name of four bytes that is
    /// not `host`, or one that starts or ends with it, does not.
    @Test("the authority is added unless a field is named host", arguments: [
        ("Host", false), ("HOST", false), ("hOsT", false), ("hose", true), ("tsoh", true), ("hosts", true),
        ("x-host", true), ("hst", true), ("a-header-name-beyond-the-small-string-limit", true),
    ])
    func authorityAddedUnlessAFieldIsNamedHost(name: String, addsAuthority: Bool) {
        var request = HTTPRequest(method: .get, scheme: "https", authority: "from.authority", path: "/")
        request.headerFields[.init("x-amz-date")!] = "20130524T000000Z"
        request.headerFields[.init(name)!] = "from.field"
        let named = name.lowercased() == "host"
        let expected = (addsAuthority ? ["from.authority"] : []) + (named ? ["from.field"] : [])
        #expect(VerificationRequest(request).values("host") == expected.map { Array($0.utf8) })
        #expect(VerificationRequest(request).fields.count == 2 + (addsAuthority ? 1 : 0))
    }
}

/// `InMemoryCredentialResolver` keys its table by `Substring`, which compares by Unicode canonical
/// equivalence: a registered id with U+212A KELVIN SIGN sits in the slot `AKIDEXAMPLE` hashes to.
/// A request naming `AKIDEXAMPLE` must not be verified against that other id's secret.
@Suite("In-memory resolver: ids found by their bytes")
struct InMemoryResolverByteIdentityTests {
    @Test func anIDSpelledWithOtherBytesIsNotFoundForTheASCIIOne() async throws {
        let kelvin = "A\u{212A}IDEXAMPLE"
        #expect(kelvin == Fixture.accessKeyID)
        let resolver = InMemoryCredentialResolver([
            ResolvedCredential(accessKeyID: kelvin, secretAccessKey: SecretAccessKey(Fixture.secret), principal: "mallory")
        ])
        let context = ResolutionContext(
            signedAt: Fixture.date, now: Fixture.date, region: "us-east-1", service: "s3", isPresigned: false)
        #expect(try await resolver.resolve(accessKeyID: Fixture.accessKeyID, context: context) == nil)
        let lookup = resolver.lookUpWithoutSuspending(accessKeyID: Fixture.accessKeyID[...], context: context)
        guard case .notFound = lookup else {
            Issue.record("the ASCII id found the Kelvin-sign id's credential")
            return
        }
        #expect(try await resolver.resolve(accessKeyID: kelvin, context: context)?.principal == "mallory")
        // Through the verifier: a request signed with the same secret under the ASCII id is refused.
        let verifier = Verifier(resolver: resolver)
        let (request, body) = Fixture.signedPut()
        #expect(await verifier.verify(request, payload: .body(body), now: Fixture.date).code == "InvalidAccessKeyId")
    }
}

/// `InMemoryCredentialResolver` answers a repeat lookup from the credential the last lookup found:
/// every change to its table must be seen by the next lookup, and another id's bytes never match it.
@Suite("In-memory resolver: the last key found")
struct InMemoryResolverLastKeyTests {
    @Test func aChangeToTheTableIsSeenByTheNextLookup() {
        let context = ResolutionContext(
            signedAt: Fixture.date, now: Fixture.date, region: "us-east-1", service: "s3", isPresigned: false)
        let resolver = InMemoryCredentialResolver([
            ResolvedCredential(accessKeyID: Fixture.accessKeyID, secretAccessKey: SecretAccessKey("a"), principal: "alice"),
            ResolvedCredential(accessKeyID: "AKIDOTHER", secretAccessKey: SecretAccessKey("c"), principal: "carol"),
        ])
        func principal(_ id: String) -> String? {
            if case .found(let c) = resolver.lookUpWithoutSuspending(accessKeyID: id[...], context: context) {
                return c.principal
            }
            return nil
        }
        #expect(principal(Fixture.accessKeyID) == "alice")
        #expect(principal(Fixture.accessKeyID) == "alice")
        #expect(principal("AKIDOTHER") == "carol")
        #expect(principal(Fixture.accessKeyID) == "alice")
        // The Kelvin-sign spelling of the id found last: its bytes differ, so it is not that key.
        #expect(principal("A\u{212A}IDEXAMPLE") == nil)
        resolver.upsert(
            ResolvedCredential(accessKeyID: Fixture.accessKeyID, secretAccessKey: SecretAccessKey("b"), principal: "bob"))
        #expect(principal(Fixture.accessKeyID) == "bob")
        resolver.remove(accessKeyID: Fixture.accessKeyID)
        #expect(principal(Fixture.accessKeyID) == nil)
        #expect(principal("AKIDOTHER") == "carol")
        resolver.remove(accessKeyID: "AKIDOTHER")
        #expect(principal("AKIDOTHER") == nil)
    }

    /// The last key's id is kept as bytes: an id asked as a slice of a larger string (as the verifier
    /// asks it, out of the `Authorization` value) finds it, and an id one byte off, one byte short or
    /// one byte longer does not, whatever its length (a small and a large string).
    @Test(arguments: ["AKIDEXAMPLE", "AKIAIOSFODNN7EXAMPLE", String(repeating: "K", count: 128)])
    func theLastKeyIsFoundByItsBytes(id: String) {
        let context = ResolutionContext(
            signedAt: Fixture.date, now: Fixture.date, region: "us-east-1", service: "s3", isPresigned: false)
        let resolver = InMemoryCredentialResolver([
            ResolvedCredential(accessKeyID: id, secretAccessKey: SecretAccessKey("a"), principal: "alice")
        ])
        func principal(_ asked: Substring) -> String? {
            if case .found(let c) = resolver.lookUpWithoutSuspending(accessKeyID: asked, context: context) {
                return c.principal
            }
            return nil
        }
        let line = "Credential=" + id + "/20260101"
        let slice = line.dropFirst(11).prefix(id.utf8.count)
        for _ in 0..<2 { #expect(principal(slice) == "alice") }
        var offByOne = Array(id.utf8)
        offByOne[offByOne.count - 1] &+= 1
        for other in [String(decoding: offByOne, as: UTF8.self), String(id.dropLast()), id + "X"] {
            #expect(principal(other[...]) == nil)
            #expect(principal(slice) == "alice")
        }
    }
}
