import Testing

@Test func SigV4CryptoTestsBuilds() { #expect(Bool(true)) }
