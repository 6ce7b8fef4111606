@testable import SigV4
import Testing

/// `HeaderFilter`: which header names a signer leaves out, and the interned name lists it refers
/// to without counting references.
@Suite("header filter")
struct HeaderFilterTests {
    @Test("equal exclusion sets share one interned list whatever their order (filters are equal by identity), so making signers over and over keeps no more lists; different sets differ")
    func equalSetsShareOneInternedList() {
        let a = HeaderFilter(excluding: ["user-agent", "expect", "x-session-nonce"], forcing: [])
        for _ in 0..<1_000 {
            let again = HeaderFilter(excluding: ["x-session-nonce", "user-agent", "expect"], forcing: [])
            #expect(again == a)
            #expect(again.hashValue == a.hashValue)
        }
        // A forced name leaves the list: the same list as the set without it.
        #expect(HeaderFilter(excluding: ["user-agent", "expect", "x-session-nonce", "te"], forcing: ["te"]) == a)
        #expect(HeaderFilter(excluding: ["user-agent", "expect"], forcing: []) != a)
        #expect(HeaderFilter.default != HeaderFilter.signAll)
    }

    @Test("an interned list decides exactly: its names are left out, names of the same length and ends are signed")
    func internedListDecidesByTheBytes() {
        let filter = HeaderFilter(excluding: ["user-agent", "x-nonce"], forcing: [])
        func signs(_ name: String) -> Bool { Array(name.utf8).withUnsafeBufferPointer { filter.signs($0) } }
        #expect(!signs("user-agent") && !signs("x-nonce"))
        // Same length, first and last byte as an excluded name (the bit tests pass them to the compare).
        #expect(signs("uxxxxxxxxt") && signs("x-nance") && signs("host") && signs("x-amz-date"))
    }
}
