import Foundation
import SigV4TestSupport
import Testing

/// AWS's Python Transcribe streaming client end to end: amazon-transcribe 0.6.4's
/// `TranscribeStreamingClient` (driven by `scripts/peers/python-transcribe-client.py`: unchanged but
/// for its endpoint and the certificate its TLS context trusts) over HTTP/2 and TLS through `sigv4 serve`
/// to `scripts/peers/transcribe-upstream.py`, which answers each AudioEvent with a `TranscriptEvent`
/// whose transcript is the audio's hex. The client signs its seed request over the empty body's hash,
/// with no `x-amz-content-sha256` and no `Content-Type`: the gateway reads it as an event stream by its
/// path (`VerificationPolicy.eventStreamPaths`).
@Suite("AWS's Python Transcribe streaming client through sigv4 serve over h2 (built binary)", .serialized)
struct GatewayPythonTranscribeClientTests {
    static let scripts = Vectors.root.deletingLastPathComponent().appendingPathComponent("scripts/peers")

    /// Runs the client against `port` with `secret`, sending chunks of `sizes` bytes, each after the
    /// answer to the one before: its JSON report.
    static func transcribe(port: UInt16, ca: String, accessKeyID: String, secret: String, sizes: [Int]) throws
        -> [String: Any]
    {
        let driver = scripts.appendingPathComponent("python-transcribe-client.py").path
        let (status, output) = try GatewayBinaryTests.run(
            ["python3", driver, accessKeyID, secret] + sizes.map(String.init),
            environment: ["TRANSCRIBE_ENDPOINT": "https://127.0.0.1:\(port)", "TRANSCRIBE_CA_FILE": ca],
            executable: URL(fileURLWithPath: "/usr/bin/env"))
        let report = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return try #require(
            report, "the driver exited \(status) without a report (pip install --no-deps amazon-transcribe==0.6.4?)")
    }

    @Test("every audio event the client sends is verified, forwarded and answered before it sends the next; a wrong secret is refused with SignatureDoesNotMatch, which the client reads from the JSON answer")
    func pythonClientConversation() throws {
        let upstream = Self.scripts.appendingPathComponent("transcribe-upstream.py").path
        try TranscribeGateway.run(label: "transcribe-python", upstream: [upstream]) { rig in
            let sizes = [3, 0, 4096, 32_768, 1]
            let report = try Self.transcribe(
                port: rig.port, ca: rig.ca, accessKeyID: rig.key.accessKeyID, secret: rig.key.secret, sizes: sizes)
            #expect(report["error"] as? String == "", "\(report)")
            #expect(report["sent"] as? Int == sizes.count, "\(report)")
            let events = report["events"] as? [[String: Any]] ?? []
            let types = events.map { $0["type"] as? String }
            #expect(types == Array(repeating: "TranscriptEvent", count: sizes.count), "\(report)")
            // The driver's audio: byte j of chunk i is i*31 + j*7; the upstream transcribes it as its hex.
            let sent = sizes.enumerated().map { i, n in
                (0..<n).map { j in String(format: "%02x", UInt8(truncatingIfNeeded: i * 31 + j * 7)) }.joined()
            }
            #expect(events.map { $0["transcripts"] as? [String] ?? [] } == sent.map { [$0] })
            // One access-log line for the stream (written as its answer ends; give it a moment).
            var log = ""
            for _ in 0..<600 where !log.contains("path=/stream-transcription") {
                Thread.sleep(forTimeInterval: 0.05)
                log = String(decoding: rig.gateway.stdout, as: UTF8.self)
            }
            let access = log.split(separator: "\n").filter { $0.contains("path=/stream-transcription") }
            #expect(
                access.count == 1 && access.allSatisfy { $0.contains("principal=alice") && $0.contains("status=200") },
                "\(log)")

            let refused = try Self.transcribe(
                port: rig.port, ca: rig.ca, accessKeyID: rig.key.accessKeyID, secret: "not-the-secret-0000", sizes: [3])
            // The gateway answers this client (no Content-Type, not S3) in JSON (--error-format auto): the
            // client's parse_exception reads the code from x-amzn-errortype and the message from the body.
            #expect(refused["error_code"] as? String == "SignatureDoesNotMatch", "\(refused)")
            #expect(refused["status_code"] as? Int == 403, "\(refused)")
            let message = refused["error"] as? String ?? ""
            #expect(message.contains("The request signature we calculated does not match"), "\(refused)")
            // Refused from the seed request, before the client sent any audio.
            #expect(refused["sent"] as? Int == 0, "\(refused)")
        }
    }
}

/// What the Transcribe client suites share: a test certificate, alice's key, a python upstream
/// (`upstream`: python3's arguments, printing `upstream listening on PORT`) and `sigv4 serve` over TLS
/// forwarding to it; all of it is stopped and removed after `body`.
struct TranscribeGateway {
    let port: UInt16
    /// The certificate to trust (PEM).
    let ca: String
    let key: (accessKeyID: String, secret: String)
    let gateway: GatewayHygieneTests.Child

    static func run(label: String, upstream arguments: [String], _ body: (TranscribeGateway) throws -> Void) throws {
        let certificate = try GatewayTLSTests.Certificate()
        defer { certificate.remove() }
        let fixture = try ServeFixture(label: label)
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let upstream = try GatewayHygieneTests.Child(
            "/usr/bin/env", ["python3"] + arguments, environment: fixture.environment, directory: fixture.directory,
            name: "upstream")
        defer { upstream.stop() }
        let line = try #require(upstream.line(startingWith: "upstream listening on "), "the upstream did not start")
        let (gateway, port) = try fixture.startServe([
            "--upstream", "http://127.0.0.1:\(line.split(separator: " ").last ?? "")", "--tls-certificate",
            certificate.certificate, "--tls-key", certificate.key,
        ])
        defer { gateway.stop() }
        try body(TranscribeGateway(port: port, ca: certificate.certificate, key: key, gateway: gateway))
    }
}
