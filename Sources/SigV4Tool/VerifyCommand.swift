import ArgumentParser

// Placeholder until the `verify` command lands; it refuses to run.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 verify' is not available in this build yet")
    }
}
