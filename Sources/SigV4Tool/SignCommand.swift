import ArgumentParser

// Placeholder until the `sign` command lands; it refuses to run.
struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 sign' is not available in this build yet")
    }
}
