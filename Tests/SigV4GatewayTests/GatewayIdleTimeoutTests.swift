import Foundation
import SigV4TestSupport
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
            directory = NSTemporaryDirectory() + "sigv4-idle-timeout-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let store = directory + "/keys.db"
            let environment = [
                "PATH": "/usr/bin:/bin", "HOME": directory,
                "SIGV4_KEYSTORE_MASTER_KEY": "1:\(GatewayHygieneTests.masterHex)",
            ].merging(ChildEnvironment.sanitizers) { $1 }
            #expect(try GatewayBinaryTests.run(["keys", "init", "--keystore", store], environment: environment).0 == 0)
            gateway = try GatewayHygieneTests.Child(
                GatewayBinaryTests.binary.path,
                ["serve", "--listen", "127.0.0.1:0", "--keystore", store, "--idle-timeout", idleTimeout],
                environment: environment, directory: directory, name: "gateway")
            let banner = try #require(
                gateway.line(startingWith: "sigv4 serve: listening on http://"),
                "sigv4 serve did not start: \(String(decoding: gateway.stderr, as: UTF8.self).suffix(2000))")
            let address = banner.split(separator: " ").first { $0.hasPrefix("http://") } ?? ""
            port = try #require(address.split(separator: ":").last.flatMap { UInt16($0) })
        }

        deinit {
            gateway.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }

        /// Connects, sends `bytes`, then sends nothing more and reads until the server closes the
        /// connection or `limit` seconds pass. Returns what was read and whether the server closed.
        func stall(after bytes: String, limit: Int) throws -> (response: String, closed: Bool, seconds: Double) {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            defer { close(fd) }
            var timeout = timeval(tv_sec: limit, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
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
