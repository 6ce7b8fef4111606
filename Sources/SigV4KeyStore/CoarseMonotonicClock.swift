#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The resolver's clock for its cache's freshness and its write-behind interval: monotonic
/// nanoseconds read from the kernel's coarse clock (`CLOCK_MONOTONIC_COARSE` on Linux, a value the
/// vDSO reads from memory, without reading the hardware clock; ticks of 1–10 ms), since both
/// intervals are seconds long and the resolver reads the clock on every lookup. Request time is not
/// read here: the verifier's `now` is injected.
///
/// Measured (Docs/Performance.md, session 22): `ContinuousClock.now` (`clock_gettime` of the
/// precise monotonic clock, about 45 ns on the KVM host measured) was about 1% of a key-store
/// verification's samples.
///
/// ```swift
/// let start = CoarseMonotonicClock.nanoseconds()
/// let fresh = CoarseMonotonicClock.nanoseconds() - start < 2_000_000_000
/// ```
enum CoarseMonotonicClock {
    /// Nanoseconds since an arbitrary start, never decreasing.
    static func nanoseconds() -> Int64 {
        #if canImport(Darwin)
        return Int64(clock_gettime_nsec_np(CLOCK_MONOTONIC_RAW_APPROX))
        #else
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
        #endif
    }
}
