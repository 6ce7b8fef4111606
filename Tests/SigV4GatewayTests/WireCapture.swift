import Foundation
import SigV4Verifier

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HTTP/1.1 server on 127.0.0.1 (an ephemeral port) that records the raw bytes of every request
/// it receives and answers each with an empty `200 OK` and `Connection: close` (or, for the first
/// requests, the status lines and headers given to ``init(responses:)``).
///
/// The client adapter tests send a signed request through the real client (AsyncHTTPClient,
/// URLSession), then verify what arrived: the request line, headers and body exactly as the client
/// put them on the wire, not what the adapter believes it signed.
///
/// ```swift
/// let capture = try WireCapture()
/// defer { capture.stop() }
/// // send to "http://127.0.0.1:\(capture.port)/key" …
/// let raw = try #require(capture.requests.last)
/// ```
final class WireCapture: @unchecked Sendable {
    /// The port it listens on.
    let port: Int
    private let socketDescriptor: Int32
    private let lock = NSLock()
    private var received: [RawHTTPRequest] = []
    private let responses: [String]

    /// Listens; `responses[i]` (a status line and header fields, without the final empty line;
    /// `Content-Length: 0` and `Connection: close` are added) answers the i-th request.
    init(responses: [String] = []) throws {
        self.responses = responses
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw CaptureError("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw CaptureError("bind/listen")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        socketDescriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in serve() }
        thread.start()
    }

    /// The requests received so far, parsed by the verifier's HTTP reader.
    var requests: [RawHTTPRequest] { lock.withLock { received } }

    /// Stops accepting connections.
    func stop() {
        shutdown(socketDescriptor, Int32(SHUT_RDWR))
        close(socketDescriptor)
    }

    private func serve() {
        while true {
            let connection = accept(socketDescriptor, nil, nil)
            guard connection >= 0 else { return }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            var request: RawHTTPRequest?
            while request == nil {
                do {
                    request = try HTTPRequestReader().read(bytes)
                } catch let error where error.code == .truncated {
                    let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { break }
                    bytes += buffer[0..<count]
                } catch {
                    break
                }
            }
            let index: Int = lock.withLock {
                if let request { received.append(request) }
                return received.count - 1
            }
            let head = index >= 0 && index < responses.count ? responses[index] : "HTTP/1.1 200 OK"
            let reply = Array("\(head)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
            _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, 0) }
            close(connection)
        }
    }

    struct CaptureError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
