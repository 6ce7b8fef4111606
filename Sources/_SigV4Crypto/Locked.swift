#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a `pthread_mutex_t`: the lock behind the signing-key cache, the replay
/// guard and the in-memory credential resolver.
///
/// Why not `Synchronization.Mutex`: with Swift 6.3.1 on Linux, ThreadSanitizer does not see the
/// synchronization inside `Mutex` (its futex-based lock is not intercepted) and reports every
/// access inside `withLock` as a race, so `swift test --sanitize=thread` could not check the
/// state these types protect. TSan intercepts `pthread_mutex_lock`, so with this lock a real race
/// in the guarded code is still reported and the false ones are gone. Uncontended, both cost one
/// atomic operation per acquire and release.
///
/// ```swift
/// let counter = Locked(0)
/// counter.withLock { $0 += 1 }
/// let value = counter.withLock { $0 }
/// ```
package final class Locked<Value>: @unchecked Sendable {
    /// The `pthread_mutex_t`, typed only inside the non-inlinable lock and unlock.
    @usableFromInline let mutexStorage: UnsafeMutableRawPointer
    private var mutex: UnsafeMutablePointer<pthread_mutex_t> { mutexStorage.assumingMemoryBound(to: pthread_mutex_t.self) }
    /// Only read or written with the mutex held, so no dynamic exclusivity check is needed (each
    /// access would otherwise call into the runtime twice).
    @exclusivity(unchecked) @usableFromInline var value: Value

    /// Creates the lock holding `value`.
    package init(_ value: Value) {
        self.value = value
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        mutexStorage = UnsafeMutableRawPointer(mutex)
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value and returns its result.
    @inlinable
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body(&value)
    }

    @usableFromInline
    func lock() {
        let rc = pthread_mutex_lock(mutex)
        precondition(rc == 0, "pthread_mutex_lock failed: \(rc)")
    }

    @usableFromInline
    func unlock() {
        let rc = pthread_mutex_unlock(mutex)
        precondition(rc == 0, "pthread_mutex_unlock failed: \(rc)")
    }
}
