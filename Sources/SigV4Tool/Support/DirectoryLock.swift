#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import SigV4KeyStore

/// An exclusive `flock(2)` on a directory, held while a `sigv4 keys init` creates the store in it:
/// of several inits started at once (replicas sharing a volume), one works at a time, and one that
/// finds a store without its master key while holding the lock knows that no init is running, so
/// the store is one an init killed midway left (which it then finishes).
///
/// The lock goes with its process, however that ends (the kernel drops it), so a killed init never
/// leaves it held. It is taken on the directory, not on the database file: closing a descriptor of
/// the database would drop the POSIX locks SQLite holds on it in this process. Where the file system
/// does not lock directories (some NFS mounts), ``acquire(directory:waiting:)`` returns nil and the
/// init goes on unlocked.
///
/// ```swift
/// let lock = try DirectoryLock.acquire(directory: "/var/lib/sigv4", waiting: 30)
/// defer { lock?.release() }   // keeps it held to the end of the scope
/// ```
final class DirectoryLock {
    private var fd: Int32

    private init(fd: Int32) { self.fd = fd }

    /// Takes the lock, waiting up to `seconds` while another process holds it (`storage` after that);
    /// nil when the directory cannot be locked.
    static func acquire(directory: String, waiting seconds: Double) throws(KeyStoreError) -> DirectoryLock? {
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        let deadline = Date().addingTimeInterval(seconds)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            guard failure == EWOULDBLOCK || failure == EINTR else {
                close(fd)
                return nil
            }
            guard Date() < deadline else {
                close(fd)
                throw KeyStoreError(
                    .storage,
                    "another 'sigv4 keys init' has been creating a key store in \(directory) for over \(Int(seconds)) s")
            }
            usleep(50_000)
        }
        return DirectoryLock(fd: fd)
    }

    /// Gives the lock up (at once; otherwise when the process ends).
    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}
