import ArgumentParser

// Placeholder until the `keys` command lands; it refuses to run.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 keys' is not available in this build yet")
    }
}
