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

    /// True when this test process was built with a sanitizer (`scripts/test --sanitizers` builds the
    /// tests and the `sigv4` they start alike): address and thread sanitizers reserve terabytes of
    /// address space (so `ulimit -v` stops them at start) and hold freed memory back for a while (so a
    /// resident-size bound reads high), and the few tests that measure those adapt.
    ///
    /// ```swift
    /// let limit = ChildEnvironment.isSanitizerBuild ? "ulimit -t 120" : "ulimit -v 1500000"
    /// ```
    public static var isSanitizerBuild: Bool { isAddressSanitizerBuild || isThreadSanitizerBuild }

    /// True when this test process was built with the address sanitizer.
    public static let isAddressSanitizerBuild = hasSymbol("__asan_init")

    /// True when this test process was built with the thread sanitizer.
    public static let isThreadSanitizerBuild = hasSymbol("__tsan_init")

    /// Whether this process has `name` (`RTLD_DEFAULT`: the executable and every library loaded).
    static func hasSymbol(_ name: String) -> Bool { dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) != nil }
}
