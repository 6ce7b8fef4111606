import Foundation
import NIOCore
import NIOPosix
import _SigV4Crypto

#if canImport(Glibc)
import Glibc
#endif

/// A body held before it goes upstream: in memory up to a limit, then in a temporary file, so that a
/// browser form's file of any allowed size is read (and so checked) whole before the upstream sees a
/// byte, without the gateway's memory growing with it.
///
/// The file is created `0600` with a random name in the spool directory and unlinked at once: nothing
/// is left on disk when the gateway stops, however it stops; the descriptor closes with the last
/// reference. Reads and writes run on NIO's blocking-I/O thread pool, not on the server's threads.
final class SpoolFile: Sendable {
    let descriptor: CInt

    private init(descriptor: CInt) {
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Creates an unlinked file in `directory`.
    static func create(in directory: String) throws -> SpoolFile {
        var lastError: CInt = 0
        for _ in 0..<8 {
            let random = try SecureRandom.bytes(12)
            let path = directory + "/sigv4-spool-" + random.map { String($0, radix: 16) }.joined()
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                unlink(path)
                return SpoolFile(descriptor: fd)
            }
            lastError = errno
            if lastError != EEXIST { break }
        }
        throw SpoolError(message: "cannot create a spool file in \(directory): \(String(cString: strerror(lastError)))")
    }

    struct SpoolError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Writes `buffer` at `offset`.
    func write(_ buffer: ByteBuffer, at offset: Int64) async throws {
        let fd = descriptor
        try await NIOThreadPool.singleton.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                var done = 0
                while done < bytes.count {
                    let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SpoolError(message: "spool write failed: \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
        }
    }

    /// Reads `count` bytes at `offset` (fewer only at the file's end).
    func read(at offset: Int64, count: Int) async throws -> ByteBuffer {
        let fd = descriptor
        return try await NIOThreadPool.singleton.runIfActive {
            var buffer = ByteBuffer()
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
                var done = 0
                while done < count {
                    let n = pread(fd, out.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SpoolError(message: "spool read failed: \(String(cString: strerror(errno)))")
                    }
                    if n == 0 { break }
                    done += n
                }
                return done
            }
            return buffer
        }
    }

    /// The first `length` bytes, in pieces of `chunk` bytes.
    struct Chunks: AsyncSequence, Sendable {
        typealias Element = ByteBuffer
        let file: SpoolFile
        let length: Int64
        var chunk = 256 << 10

        struct AsyncIterator: AsyncIteratorProtocol {
            let file: SpoolFile
            let length: Int64
            let chunk: Int
            var offset: Int64 = 0

            mutating func next() async throws -> ByteBuffer? {
                guard offset < length else { return nil }
                let buffer = try await file.read(at: offset, count: Int(Swift.min(Int64(chunk), length - offset)))
                guard buffer.readableBytes > 0 else {
                    throw SpoolError(message: "the spool file ended early")
                }
                offset += Int64(buffer.readableBytes)
                return buffer
            }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(file: file, length: length, chunk: chunk) }
    }
}

/// A body read whole: in memory, or in a ``SpoolFile`` past the memory limit; with its SHA-256 when asked.
struct SpooledBody: Sendable {
    enum Storage: Sendable {
        case memory(ByteBuffer)
        case file(SpoolFile)
    }

    var storage: Storage
    var length: Int64
    /// The body's SHA-256 in hex, when ``read(_:memoryLimit:directory:hashing:)`` was asked for it.
    var sha256: String?

    /// Reads `body` to its end: the first `memoryLimit` bytes in memory, the whole body in a spool file
    /// in `directory` once it passes them. Errors of the body (a refused form) are thrown as they are.
    static func read<Body: AsyncSequence>(
        _ body: Body, memoryLimit: Int, directory: String, hashing: Bool
    ) async throws -> SpooledBody where Body.Element == ByteBuffer {
        var memory = ByteBuffer()
        var file: SpoolFile?
        var length: Int64 = 0
        var hash = hashing ? SHA256() : nil
        for try await piece in body {
            if hash != nil { piece.withUnsafeReadableBytes { hash!.update($0) } }
            if let file {
                try await file.write(piece, at: length)
            } else if memory.readableBytes + piece.readableBytes > memoryLimit {
                let spool = try SpoolFile.create(in: directory)
                try await spool.write(memory, at: 0)
                try await spool.write(piece, at: Int64(memory.readableBytes))
                memory = ByteBuffer()
                file = spool
            } else {
                memory.writeImmutableBuffer(piece)
            }
            length += Int64(piece.readableBytes)
        }
        let digest = hash.map { h -> String in
            var h = h
            return h.finalize().hex
        }
        return SpooledBody(storage: file.map { .file($0) } ?? .memory(memory), length: length, sha256: digest)
    }
}
