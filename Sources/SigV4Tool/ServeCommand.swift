import ArgumentParser

// Placeholder until the `serve` command lands; it refuses to run.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 serve' is not available in this build yet")
    }
}
