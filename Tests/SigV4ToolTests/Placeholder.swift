import Testing

@Test func SigV4ToolTestsBuilds() { #expect(Bool(true)) }
