import ArgumentParser

// Placeholder until the `presign` command lands; it refuses to run.
struct Presign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "(not built yet)")

    func run() async throws {
        throw ValidationError("'sigv4 presign' is not available in this build yet")
    }
}
