import Foundation
import SigV4TestSupport
import Testing

/// `sigv4 serve --health-path`: the one path a load balancer or a probe reads without a signature,
/// on the built binary in front of the recording upstream of ``GatewayForwardingTests/Rig``.
@Suite("sigv4 serve --health-path (built binary)", .serialized)
struct GatewayHealthTests {
    typealias Rig = GatewayForwardingTests.Rig

    @Test(
        "GET and HEAD of --health-path are answered 200 without a signature (query ignored), never forwarded and not logged; other methods and paths still need one"
    )
    func healthPathAnswersWithoutASignature() throws {
        let rig = try Rig(arguments: ["--health-path", "/healthz"])
        let (status, response) = try rig.send("GET", "/healthz", [("Host", "127.0.0.1:\(rig.port)")])
        #expect(status == 200 && response.hasSuffix("\r\n\r\n{\"status\":\"ok\"}\n"), "\(response)")
        #expect(response.lowercased().contains("cache-control: no-store"), "\(response)")
        let (queried, _) = try rig.send("GET", "/healthz?probe=1", [("Host", "127.0.0.1:\(rig.port)")])
        #expect(queried == 200)
        // HEAD: the head alone (curl reads it without waiting for a body).
        let (headStatus, head) = try GatewayTLSTests.Certificate.run(
            "/usr/bin/curl",
            ["-sS", "-I", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(rig.port)/healthz"])
        #expect(headStatus == 0 && head == "200", "\(head)")
        for (method, target) in [
            ("POST", "/healthz"), ("PUT", "/healthz"), ("GET", "/healthz/"), ("GET", "/Healthz"), ("GET", "/"),
        ] {
            let (refused, answer) = try rig.send(
                method, target, [("Host", "127.0.0.1:\(rig.port)"), ("Content-Length", "0")])
            #expect(refused == 403, "\(method) \(target): \(answer)")
        }
        #expect(rig.requests.isEmpty, "\(rig.received)")
        let log = String(decoding: rig.gateway.stdout, as: UTF8.self).split(separator: "\n")
        #expect(!log.contains { $0.contains("path=/healthz") && $0.contains("status=200") }, "\(log)")
        #expect(log.contains { $0.contains("path=/healthz") && $0.contains("status=403") }, "\(log)")
    }

    @Test("a --health-path that is not a path (no leading /, a query, a space) is a usage error")
    func healthPathIsChecked() throws {
        for path in ["healthz", "/healthz?x=1", "/health z", ""] {
            let result = try ChildProcess.run(
                GatewayBinaryTests.binary, ["serve", "--listen", "127.0.0.1:0", "--health-path", path])
            let message = String(decoding: result.stderr, as: UTF8.self)
            #expect(result.status == 2 && message.contains("--health-path"), "\(path): \(message)")
        }
    }
}
