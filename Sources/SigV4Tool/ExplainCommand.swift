import ArgumentParser

// Placeholder until the `explain` command lands; it refuses to run.
struct Explain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 explain' is not available in this build yet")
    }
}
