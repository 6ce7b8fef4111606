import Foundation
import SigV4TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sigv4 serve --idle-timeout`: a client that stops sending in the middle of a request (slow
/// headers, a stalled body) or keeps an idle connection loses it; a request sent at an ordinary
/// pace is answered. `--send-timeout`: a client that stops reading its answers loses its connection.
/// The built binary in echo mode, driven over raw sockets.
@Suite("sigv4 serve closes stalled and idle connections (built binary)", .serialized)
struct GatewayIdleTimeoutTests {
    /// The gateway with `--idle-timeout 1`, and its port.
    final class Rig {
        let directory: String
        let gateway: GatewayHygieneTests.Child
        let port: UInt16

        init(idleTimeout: String, _ more: [String] = []) throws {
            let fixture = try ServeFixture(label: "idle-timeout")
            directory = fixture.directory
            (gateway, port) = try fixture.startServe(["--idle-timeout", idleTimeout] + more)
        }

        deinit {
            gateway.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Connects, sends `bytes`, then sends nothing more and reads until the server closes the
        /// connection or `limit` seconds pass. Returns what was read and whether the server closed.
        func stall(after bytes: String, limit: Int) throws -> (response: String, closed: Bool, seconds: Double) {
            let fd = try RawSocket.connect(port: port, timeoutSeconds: limit)
            defer { close(fd) }
            let started = Date()
            let data = Array(bytes.utf8)
            if !data.isEmpty { _ = data.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
            var out: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 { return (String(decoding: out, as: UTF8.self), true, Date().timeIntervalSince(started)) }
                if n < 0 { return (String(decoding: out, as: UTF8.self), false, Date().timeIntervalSince(started)) }
                out += buffer[0..<n]
            }
        }
    }

    @Test("a head never finished, a body that stalls and an idle keep-alive connection are closed after the idle timeout")
    func stalledAndIdleConnectionsAreClosed() throws {
        let rig = try Rig(idleTimeout: "1")
        let slowHead = try rig.stall(after: "GET /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Da", limit: 30)
        #expect(slowHead.closed, "a half-sent head kept its connection for \(slowHead.seconds) s")
        let stalledBody = try rig.stall(
            after: "PUT /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nonly ten b", limit: 30)
        #expect(stalledBody.closed, "a stalled body kept its connection for \(stalledBody.seconds) s")
        let idle = try rig.stall(after: "", limit: 30)
        #expect(idle.closed, "an idle connection was kept for \(idle.seconds) s")
        // A whole request is answered (a refusal here: it is not signed) before the connection goes.
        let answered = try rig.stall(after: "GET /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", limit: 30)
        #expect(answered.response.hasPrefix("HTTP/1.1 403"), "\(answered.response)")
        #expect(answered.closed)
    }

    @Test("with --idle-timeout 0 an idle connection stays open")
    func zeroNeverCloses() throws {
        let rig = try Rig(idleTimeout: "0")
        let idle = try rig.stall(after: "GET /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Da", limit: 3)
        #expect(!idle.closed, "the connection was closed after \(idle.seconds) s")
    }

    /// An unsigned GET (answered 403 in echo mode), `count` times in one buffer.
    static func pipelined(_ count: Int) -> [UInt8] {
        Array(String(repeating: "GET /bucket/key HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", count: count).utf8)
    }

    /// Sends pipelined requests on a new connection as fast as the socket takes them and reads
    /// nothing, for at most `limit` seconds: the seconds until a send failed because the server closed
    /// the connection (reset, or the write side shut), or nil when it stayed open.
    static func pipelineWithoutReading(port: UInt16, limit: Double) throws -> Double? {
        let fd = try RawSocket.connect(port: port, timeoutSeconds: 5)
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let batch = pipelined(100)
        let started = Date()
        while Date().timeIntervalSince(started) < limit {
            let n = batch.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    usleep(50_000)
                    continue
                }
                return Date().timeIntervalSince(started)
            }
        }
        return nil
    }

    @Test("a client that pipelines requests and never reads the answers is disconnected after --send-timeout, though the idle timeout is longer; with 0 it is kept; a negative one is a usage error")
    func clientThatNeverReadsIsDisconnected() throws {
        let rig = try Rig(idleTimeout: "60", ["--send-timeout", "1"])
        let closedAfter = try Self.pipelineWithoutReading(port: rig.port, limit: 30)
        #expect(closedAfter != nil, "a client that read nothing kept its connection for 30 s")
        if let closedAfter { #expect(closedAfter < 20, "closed only after \(closedAfter) s") }
        let never = try Rig(idleTimeout: "60", ["--send-timeout", "0"])
        let kept = try Self.pipelineWithoutReading(port: never.port, limit: 4)
        #expect(kept == nil, "--send-timeout 0 closed the connection after \(kept ?? 0) s")
        let refusedFlag = try ChildProcess.run(
            GatewayBinaryTests.binary, ["serve", "--listen", "127.0.0.1:0", "--send-timeout=-1"])
        let message = String(decoding: refusedFlag.stderr, as: UTF8.self)
        #expect(refusedFlag.status == 2 && message.contains("--send-timeout must be 0 (never) to 86400"), "\(message)")
    }

    @Test("a client that pipelines thousands of requests and reads as it goes gets every answer with --send-timeout 1")
    func readingClientGetsEveryAnswer() throws {
        let rig = try Rig(idleTimeout: "60", ["--send-timeout", "1"])
        let count = 6_000
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 30)
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let requests = Self.pipelined(count)
        var sent = 0
        var answers = 0
        var tail: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let started = Date()
        let statusLine = Array("HTTP/1.1 403".utf8)
        readLoop: while answers < count && Date().timeIntervalSince(started) < 120 {
            var events = pollfd(fd: fd, events: Int16(POLLIN | (sent < requests.count ? POLLOUT : 0)), revents: 0)
            _ = poll(&events, 1, 1000)
            if sent < requests.count, events.revents & Int16(POLLOUT) != 0 {
                let n = requests[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n > 0 { sent += n }
            }
            if events.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n == 0 || (n < 0 && errno != EAGAIN) { break readLoop }
                if n > 0 {
                    // Count status lines, a line split across reads included.
                    let bytes = tail + buffer[0..<n]
                    var i = 0
                    while i + statusLine.count <= bytes.count {
                        if bytes[i] == statusLine[0], Array(bytes[i..<(i + statusLine.count)]) == statusLine {
                            answers += 1
                            i += statusLine.count
                        } else {
                            i += 1
                        }
                    }
                    tail = Array(bytes.suffix(statusLine.count - 1))
                }
            }
        }
        #expect(answers == count, "\(answers) of \(count) answers (\(sent) of \(requests.count) bytes sent)")
    }
}
