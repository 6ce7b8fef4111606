import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sigv4 serve --idle-timeout`: a client that stops sending in the middle of a request (slow
/// headers, a stalled body) or keeps an idle connection loses it; a request sent at an ordinary
/// pace is answered. The built binary in echo mode, driven over raw sockets.
@Suite("sigv4 serve closes stalled and idle connections (built binary)", .serialized)
struct GatewayIdleTimeoutTests {
    /// The gateway with `--idle-timeout 1`, and its port.
    final class Rig {
        let directory: String
        let gateway: GatewayHygieneTests.Child
        let port: UInt16

        init(idleTimeout: String) throws {
            let fixture = try ServeFixture(label: "idle-timeout")
            directory = fixture.directory
            (gateway, port) = try fixture.startServe(["--idle-timeout", idleTimeout])
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
}
