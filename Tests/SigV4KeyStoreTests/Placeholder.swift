import Testing

@Test func SigV4KeyStoreTestsBuilds() { #expect(Bool(true)) }
