import ArgumentParser

// Placeholder until the `curl` command lands; it refuses to run.
struct Curl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 curl' is not available in this build yet")
    }
}
