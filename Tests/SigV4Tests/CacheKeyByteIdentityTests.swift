import HTTPTypes
import SigV4
import Testing

/// What a key cache keeps must be found again only by the bytes it was made from.
///
/// A derived key depends on the UTF-8 bytes of the region and service, and the `Authorization`
/// value and `X-Amz-Credential` on those of the access key id; Swift's `String` `==` and hashing
/// compare by Unicode canonical equivalence (`"caf\u{E9}" == "cafe\u{301}"`,
/// `"A\u{212A}ID" == "AKID"`: U+212A KELVIN SIGN is canonically `K`). A cache keyed on `String`
/// equality therefore hands one spelling's key, scope text or "already checked" state to the
/// other. Each test compares a signer that follows another on one cache with the same signer
/// without a cache (the reference: nothing shared).
@Suite("Key cache: byte identity of the cached parts")
struct CacheKeyByteIdentityTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let date = AmzDate(secondsSince1970: 1_440_938_160)  // 20150830T123600Z
    static let request = HTTPRequest(
        method: .get, scheme: "https", authority: "example.amazonaws.com", path: "/a?b=c")

    static func signer(id: String = "AKIDEXAMPLE", region: String, cache: SigningKeyCache?) -> Signer {
        Signer(
            credentials: Credentials(accessKeyID: id, secretAccessKey: secret), region: region, service: "svc",
            keyCache: cache)
    }

    /// NFC `café` and NFD `café`: equal as `String`s, different bytes (so different derived keys).
    static let composed = "caf\u{E9}"
    static let decomposed = "cafe\u{301}"

    /// `ByteSearch.sameBytes` takes equal representations as equal bytes before looking at the
    /// bytes: copies of a small and of a large string; other values with the same bytes (a large
    /// string built twice); and spellings `String` calls equal with the same byte count but other
    /// bytes (combining marks in the other order, which canonical ordering makes equivalent).
    @Test func sameBytesIsByteEqualityForEveryRepresentation() {
        let small = "AKIDEXAMPLE"
        let large = String(repeating: "us-east-1/", count: 5)
        let largeAgain = String(repeating: "us-east-1/", count: 5)
        #expect(ByteSearch.sameBytes(small, "AKID" + "EXAMPLE"))
        #expect(ByteSearch.sameBytes(large, large))
        #expect(ByteSearch.sameBytes(large, largeAgain))
        #expect(!ByteSearch.sameBytes(large, largeAgain + "x"))
        #expect(!ByteSearch.sameBytes(small, "AKIDEXAMPLF"))
        let acuteThenCedilla = "a\u{301}\u{327}"
        let cedillaThenAcute = "a\u{327}\u{301}"
        #expect(acuteThenCedilla == cedillaThenAcute)
        #expect(acuteThenCedilla.utf8.count == cedillaThenAcute.utf8.count)
        #expect(!ByteSearch.sameBytes(acuteThenCedilla, cedillaThenAcute))
        #expect(!ByteSearch.sameBytes(Self.composed, Self.decomposed))
        #expect(!ByteSearch.sameBytes("A\u{212A}IDEXAMPLE", "AKIDEXAMPLE"))
        #expect(ByteSearch.sameBytes("", ""))
    }

    @Test func theSpellingsCompareEqualAsStringsButNotAsBytes() {
        #expect(Self.composed == Self.decomposed)
        #expect(Array(Self.composed.utf8) != Array(Self.decomposed.utf8))
        #expect("A\u{212A}IDEXAMPLE" == "AKIDEXAMPLE")
    }

    @Test func aRegionSpelledWithOtherBytesIsSignedWithItsOwnKeyInALaterSecond() throws {
        let cache = SigningKeyCache(capacity: 8)
        _ = try Self.signer(region: Self.composed, cache: cache).sign(Self.request, payload: .emptySHA256, at: Self.date)
        let later = Self.date.adding(seconds: 1)
        let cached = try Self.signer(region: Self.decomposed, cache: cache)
            .sign(Self.request, payload: .emptySHA256, at: later)
        let reference = try Self.signer(region: Self.decomposed, cache: nil)
            .sign(Self.request, payload: .emptySHA256, at: later)
        #expect(cached.authorization == reference.authorization)
        #expect(cached.signature == reference.signature)
    }

    @Test func aRegionSpelledWithOtherBytesIsSignedWithItsOwnScopeInTheSameSecond() throws {
        let cache = SigningKeyCache(capacity: 8)
        _ = try Self.signer(region: Self.composed, cache: cache).sign(Self.request, payload: .emptySHA256, at: Self.date)
        let cached = try Self.signer(region: Self.decomposed, cache: cache)
            .sign(Self.request, payload: .emptySHA256, at: Self.date)
        let reference = try Self.signer(region: Self.decomposed, cache: nil)
            .sign(Self.request, payload: .emptySHA256, at: Self.date)
        #expect(cached.authorization == reference.authorization)
        #expect(cached.scope.region.utf8.elementsEqual(Self.decomposed.utf8))
    }

    @Test func theCachesKeyForARegionSpelledWithOtherBytesSignsAsAFreshlyDerivedOne() throws {
        let cache = SigningKeyCache(capacity: 8)
        let credentials = Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: Self.secret)
        let nfc = try CredentialScope(date: Self.date, region: Self.composed, service: "svc")
        let nfd = try CredentialScope(date: Self.date, region: Self.decomposed, service: "svc")
        _ = cache.signingKey(for: credentials, scope: nfc)
        let cached = cache.signingKey(for: credentials, scope: nfd)
        let fresh = SigningKey(secretAccessKey: credentials.secretAccessKey, scope: nfd)
        let stringToSign = StringToSign(bytes: Array("AWS4-HMAC-SHA256\n20150830T123600Z\n\(nfd)\n".utf8))
        #expect(cached.signature(for: stringToSign) == fresh.signature(for: stringToSign))
    }

    @Test func anAccessKeyIDTheSignerRefusesIsRefusedAfterAnEqualComparingOneSignedInTheSameSecond() throws {
        let cache = SigningKeyCache(capacity: 8)
        let kelvin = "A\u{212A}IDEXAMPLE"
        // The reference: the id is not printable ASCII, so the signer refuses it.
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: kelvin, region: "us-east-1", cache: nil)
                .sign(Self.request, payload: .emptySHA256, at: Self.date)
        }
        _ = try Self.signer(region: "us-east-1", cache: cache).sign(Self.request, payload: .emptySHA256, at: Self.date)
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: kelvin, region: "us-east-1", cache: cache)
                .sign(Self.request, payload: .emptySHA256, at: Self.date)
        }
    }

    @Test func anAccessKeyIDTheSignerRefusesIsRefusedForPresigningAfterAnEqualComparingOneInTheSameSecond() throws {
        let cache = SigningKeyCache(capacity: 8)
        let kelvin = "A\u{212A}IDEXAMPLE"
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: kelvin, region: "us-east-1", cache: nil).presign(Self.request, expires: 60, at: Self.date)
        }
        _ = try Self.signer(region: "us-east-1", cache: cache).presign(Self.request, expires: 60, at: Self.date)
        #expect(throws: SigV4Error.self) {
            try Self.signer(id: kelvin, region: "us-east-1", cache: cache).presign(Self.request, expires: 60, at: Self.date)
        }
    }

    /// Pins the ASCII case, which a byte-exact fix must keep: regions differing only in case are
    /// different bytes and different `String`s, and get different keys from one cache.
    @Test func regionsDifferingOnlyInCaseAreSignedEachWithItsOwnKeyFromOneCache() throws {
        let cache = SigningKeyCache(capacity: 8)
        for (first, second) in [("us-east-1", "US-EAST-1"), ("US-EAST-1", "us-east-1")] {
            _ = try Self.signer(region: first, cache: cache).sign(Self.request, payload: .emptySHA256, at: Self.date)
            let cached = try Self.signer(region: second, cache: cache)
                .sign(Self.request, payload: .emptySHA256, at: Self.date)
            let reference = try Self.signer(region: second, cache: nil)
                .sign(Self.request, payload: .emptySHA256, at: Self.date)
            #expect(cached.authorization == reference.authorization)
        }
    }
}
