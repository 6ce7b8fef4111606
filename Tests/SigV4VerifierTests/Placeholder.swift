import Testing

@Test func SigV4VerifierTestsBuilds() { #expect(Bool(true)) }
