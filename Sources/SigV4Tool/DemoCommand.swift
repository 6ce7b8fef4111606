import ArgumentParser

// Placeholder until the `demo` command lands; it refuses to run.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 demo' is not available in this build yet")
    }
}
