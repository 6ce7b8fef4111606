public import Foundation

/// Runs a process to its end and returns its exit status and both outputs, reading the two pipes
/// at the same time.
///
/// Reading standard output to its end and only then standard error waits for ever on a child that
/// fills the standard error pipe (64 KiB) first and blocks writing to it: a LeakSanitizer report
/// under `scripts/test --sanitizers` is 150 KB. Here standard error is drained on another thread.
///
/// ```swift
/// let result = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/openssl"), ["version"])
/// print(result.status, String(decoding: result.stdout, as: UTF8.self))
/// ```
public enum ChildProcess {
    /// What a finished process left: its exit status and everything it wrote.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        /// True when a signal ended the process (`status` is then the signal's number).
        public var killedBySignal: Bool
    }

    /// Runs `executable` with `arguments` and `environment` (nil: this process's) to its end.
    public static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) throws
        -> Result
    {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let drained = Drained()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            drained.data = errors.fileHandleForReading.readDataToEndOfFile()
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: stdout, stderr: drained.data,
            killedBySignal: process.terminationReason == .uncaughtSignal)
    }

    /// Standard error's bytes, written by the draining thread before the group is left and read
    /// only after it has been waited for.
    private final class Drained: @unchecked Sendable {
        var data = Data()
    }
}
