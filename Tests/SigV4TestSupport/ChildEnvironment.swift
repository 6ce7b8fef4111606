import Foundation

/// What the tests pass on to the processes they start.
public enum ChildEnvironment {
    /// The sanitizer settings of this process (`scripts/test --sanitizers` sets `LSAN_OPTIONS` to the
    /// project's suppressions), so that a sanitizer-built `sigv4` child reads the same ones.
    ///
    /// ```swift
    /// process.environment = ["PATH": "/usr/bin:/bin"].merging(ChildEnvironment.sanitizers) { $1 }
    /// ```
    public static var sanitizers: [String: String] {
        var env: [String: String] = [:]
        for name in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"] {
            if let value = ProcessInfo.processInfo.environment[name] { env[name] = value }
        }
        return env
    }
}
