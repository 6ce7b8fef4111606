import Foundation
import SigV4
import SigV4TestSupport
import Testing

/// `sigv4 serve --websockets` with a real WebSocket client and server: the `websockets` library
/// (PyPI) driven by `scripts/peers/websocket-peer.py`, its handshakes signed by botocore (presigned as
/// AWS IoT's and Transcribe's WebSocket clients sign, or in headers as API Gateway's).
@Suite("sigv4 serve --websockets: verified upgrades relayed or echoed (built binary, python websockets)", .serialized)
struct GatewayWebSocketTests {
    static let peer = Vectors.root.deletingLastPathComponent().appendingPathComponent("scripts/peers/websocket-peer.py").path

    /// The peer's report for one client run (`https`: over wss://, trusting `certificate`, presenting
    /// `clientCertificate` when given).
    static func client(
        port: UInt16, path: String = "/mqtt", key: (accessKeyID: String, secret: String), service: String = "iotdevicegateway",
        mode: String, expect: Int, _ messages: [String], scheme: String = "http", certificate: String? = nil,
        clientCertificate: (certificate: String, key: String)? = nil
    ) throws -> [String: Any] {
        var environment = certificate.map { ["WEBSOCKET_PEER_CA": $0] } ?? [:]
        if let clientCertificate {
            environment["WEBSOCKET_PEER_CERT"] = clientCertificate.certificate
            environment["WEBSOCKET_PEER_KEY"] = clientCertificate.key
        }
        let (status, output) = try GatewayBinaryTests.run(
            ["python3", peer, "client", "\(scheme)://127.0.0.1:\(port)\(path)", key.accessKeyID, key.secret, service, mode,
             String(expect)] + messages,
            environment: environment,
            executable: URL(fileURLWithPath: "/usr/bin/env"))
        let report = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        return try #require(report, "the peer exited \(status) without a report (pip install websockets?): \(output)")
    }

    /// A peer client in `hold` mode, running: presigned for `iotdevicegateway`, it reads `expect`
    /// messages, prints `held`, then waits for the server to close, and reports.
    static func holder(
        port: UInt16, path: String = "/mqtt", key: (accessKeyID: String, secret: String), expect: Int,
        in fixture: ServeFixture, name: String
    ) throws -> GatewayHygieneTests.Child {
        try GatewayHygieneTests.Child(
            "/usr/bin/env",
            ["python3", peer, "client", "http://127.0.0.1:\(port)\(path)", key.accessKeyID, key.secret,
             "iotdevicegateway", "hold", String(expect)],
            environment: ProcessInfo.processInfo.environment, directory: fixture.directory, name: name)
    }

    /// The access log's lines for `path` (written as each handshake is decided; given up to 30 s).
    static func accessLines(_ gateway: GatewayHygieneTests.Child, path: String, count: Int) -> [String] {
        var lines: [String] = []
        for _ in 0..<600 {  // up to 30 s on a loaded machine
            lines = String(decoding: gateway.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
                .filter { $0.contains("path=\(path)") }
            if lines.count >= count { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return lines
    }

    /// The report's last refused handshake: its status, `Connection: close`, its code in
    /// `x-amz-error-code` and in the body, which has `Content-Length` bytes; with a `plain` answer in the
    /// report (a `+plain` mode), the same status, error headers and body as that plain GET (the request
    /// id and the server time aside). Returns the refusal's body.
    @discardableResult
    static func expectRefused(
        _ report: [String: Any], status: Int, code: String, sourceLocation: SourceLocation = #_sourceLocation
    ) -> String {
        let refusal = (report["refused"] as? [[String: Any]])?.last ?? [:]
        let headers = refusal["headers"] as? [String: String] ?? [:]
        let body = refusal["body"] as? String ?? ""
        #expect(refusal["status"] as? Int == status, "\(report)", sourceLocation: sourceLocation)
        #expect(headers["connection"]?.lowercased() == "close", "\(headers)", sourceLocation: sourceLocation)
        #expect(headers["x-amz-error-code"] == code, "\(headers)", sourceLocation: sourceLocation)
        #expect(body.contains("<Code>\(code)</Code>") || body.contains("\"Code\":\"\(code)\""), "\(body)", sourceLocation: sourceLocation)
        #expect(headers["content-length"] == String(body.utf8.count), "\(headers)", sourceLocation: sourceLocation)
        if let plain = report["plain"] as? [String: Any] {
            let plainHeaders = plain["headers"] as? [String: String] ?? [:]
            #expect(plain["status"] as? Int == status, "\(plain)", sourceLocation: sourceLocation)
            for name in ["content-type", "x-amz-error-code", "x-amzn-errortype"] {
                #expect(headers[name] == plainHeaders[name], "\(name): \(headers) \(plainHeaders)", sourceLocation: sourceLocation)
            }
            #expect(
                unstamped(body) == unstamped(plain["body"] as? String ?? ""), "\(body) \(plain)",
                sourceLocation: sourceLocation)
        }
        return body
    }

    /// An error document without its request id and server time (XML or JSON), which differ from one
    /// answer to the next.
    static func unstamped(_ body: String) -> String {
        var body = body
        for name in ["RequestId", "ServerTime"] {
            for pattern in ["<\(name)>[^<]*</\(name)>", "\"\(name)\":\"[^\"]*\""] {
                body = body.replacingOccurrences(of: pattern, with: "", options: .regularExpression)
            }
        }
        return body
    }

    @Test("echo mode: a presigned upgrade gets the identity as its first message, then each text and binary message back; a tampered or wrong-secret one is not upgraded (403, SignatureDoesNotMatch in its body and in the access log)")
    func echo() throws {
        let fixture = try ServeFixture(label: "websocket-echo")
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let key = try fixture.createKey(principal: "alice")
        let (gateway, port) = try fixture.startServe(["--websockets", "--region", "us-east-1"])
        defer { gateway.stop() }
        let banner = String(decoding: gateway.stdout, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("sigv4 serve:") }
        #expect(banner?.hasSuffix("(echo mode (no upstream), WebSocket upgrades)") == true, "\(banner ?? "")")

        let report = try Self.client(port: port, key: key, mode: "presign", expect: 3, ["hello", "hex:00ff10"])
        #expect(report["status"] as? [Int] == [101], "\(report)")
        let received = report["received"] as? [String] ?? []
        #expect(received.count == 3, "\(report)")
        let identity = try? JSONSerialization.jsonObject(with: Data((received.first ?? "").utf8)) as? [String: String]
        #expect(identity?["principal"] == "alice" && identity?["service"] == "iotdevicegateway", "\(received)")
        #expect(identity?["presigned"] == "true" && identity?["path"] == "/mqtt", "\(received)")
        #expect(Array(received.dropFirst()) == ["hello", "hex:00ff10"], "\(report)")
        // The first subprotocol the client offers (MQTT clients offer `mqtt`) is accepted.
        #expect(report["subprotocol"] as? String == "mqtt", "\(report)")

        let tampered = try Self.client(port: port, key: key, mode: "tamper", expect: 0, [])
        #expect(tampered["status"] as? [Int] == [403], "\(tampered)")
        Self.expectRefused(tampered, status: 403, code: "SignatureDoesNotMatch")
        let wrong = try Self.client(port: port, key: (key.accessKeyID, "not-the-secret"), mode: "presign", expect: 0, [])
        #expect(wrong["status"] as? [Int] == [403], "\(wrong)")
        Self.expectRefused(wrong, status: 403, code: "SignatureDoesNotMatch")
        let log = Self.accessLines(gateway, path: "/mqtt", count: 3)
        #expect(log.filter { $0.contains("status=101") && $0.contains("principal=alice") }.count == 1, "\(log)")
        #expect(log.filter { $0.contains("status=403") && $0.contains("code=SignatureDoesNotMatch") }.count == 2, "\(log)")
    }

    @Test("a refused handshake gets what the same request gets refused as a plain GET (status, error headers, AWS error document in the configured format), with Connection: close: tampered 403 SignatureDoesNotMatch, unsigned 403 AccessDenied, expired 403 AccessDenied 'Request has expired'; with --error-format xml an S3-style document; a target the upstream refuses 400 InvalidRequest")
    func refusalsAnsweredAsPlainRequests() throws {
        let fixture = try ServeFixture(label: "websocket-refusals")
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let key = try fixture.createKey(principal: "alice")
        let (gateway, port) = try fixture.startServe(["--websockets", "--region", "us-east-1"])
        defer { gateway.stop() }

        // The default error format (auto) answers an iotdevicegateway request in JSON, as AWS IoT does.
        let tampered = try Self.client(port: port, key: key, mode: "tamper+plain", expect: 0, [])
        #expect(tampered["status"] as? [Int] == [403], "\(tampered)")
        let tamperedBody = Self.expectRefused(tampered, status: 403, code: "SignatureDoesNotMatch")
        #expect(tamperedBody.hasPrefix("{\"Code\":\"SignatureDoesNotMatch\""), "\(tamperedBody)")
        let unsigned = try Self.client(port: port, key: key, mode: "unsigned+plain", expect: 0, [])
        #expect(unsigned["status"] as? [Int] == [403], "\(unsigned)")
        let unsignedBody = Self.expectRefused(unsigned, status: 403, code: "AccessDenied")
        #expect(unsignedBody.contains("<Message>The request is not signed"), "\(unsignedBody)")
        let expired = try Self.client(port: port, key: key, mode: "expired+plain", expect: 0, [])
        #expect(expired["status"] as? [Int] == [403], "\(expired)")
        let expiredBody = Self.expectRefused(expired, status: 403, code: "AccessDenied")
        #expect(expiredBody.contains("\"Message\":\"Request has expired\""), "\(expiredBody)")
        // The access log has each refusal's real status and code, for the handshake and the plain GET alike.
        let log = Self.accessLines(gateway, path: "/mqtt", count: 6)
        #expect(log.filter { $0.contains("status=403") && $0.contains("code=SignatureDoesNotMatch") }.count == 2, "\(log)")
        #expect(log.filter { $0.contains("status=403") && $0.contains("code=AccessDenied") }.count == 4, "\(log)")

        // Nothing listens at the upstream: these handshakes are refused before it would be reached.
        let (xmlGateway, xmlPort) = try fixture.startServe(
            ["--websockets", "--error-format", "xml", "--upstream", "http://127.0.0.1:9/tenant"])
        defer { xmlGateway.stop() }
        let xml = try Self.client(port: xmlPort, key: key, mode: "tamper+plain", expect: 0, [])
        let xmlBody = Self.expectRefused(xml, status: 403, code: "SignatureDoesNotMatch")
        #expect(xmlBody.hasPrefix("<?xml") && xmlBody.contains("<Resource>/mqtt</Resource>"), "\(xmlBody)")
        let dotted = try Self.client(port: xmlPort, path: "/x/../mqtt", key: key, mode: "unsigned+plain", expect: 0, [])
        #expect(dotted["status"] as? [Int] == [400], "\(dotted)")
        let dottedBody = Self.expectRefused(dotted, status: 400, code: "InvalidRequest")
        #expect(dottedBody.contains("cannot be forwarded below the upstream&apos;s path prefix"), "\(dottedBody)")
        let xmlLog = Self.accessLines(xmlGateway, path: "/x/../mqtt", count: 2)
        #expect(xmlLog.filter { $0.contains("status=400") && $0.contains("code=InvalidRequest") }.count == 2, "\(xmlLog)")
    }

    /// The gateway's debug lines that release a refused handshake's entry (each when its connection
    /// closed), with the number of entries left; waits for `count` of them.
    static func releasedRefusals(_ gateway: GatewayHygieneTests.Child, count: Int) -> [Int] {
        var left: [Int] = []
        for _ in 0..<600 {  // up to 30 s on a loaded machine
            left = String(decoding: gateway.stdout, as: UTF8.self).split(separator: "\n")
                .filter { $0.contains("websocket refusal released") }
                .compactMap { line in
                    line.range(of: "sigv4.websocket_refusals_pending=").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
                }
            if left.count >= count { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return left
    }

    @Test("refused handshakes leave no refusal behind, over plain HTTP and over TLS (--tls-certificate): each is released when its connection closes, none is held for an accepted connection, and the refusal over TLS is the same 403 with its code")
    func refusalsLeaveNothingBehind() throws {
        let fixture = try ServeFixture(label: "websocket-refusal-table")
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let key = try fixture.createKey(principal: "alice")
        let certificate = try GatewayTLSTests.Certificate()
        defer { certificate.remove() }
        for tls in [false, true] {
            let (gateway, port) = try fixture.startServe(
                ["--websockets", "--log-level", "debug"]
                    + (tls ? ["--tls-certificate", certificate.certificate, "--tls-key", certificate.key] : []))
            defer { gateway.stop() }
            let scheme = tls ? "https" : "http"
            func client(_ mode: String, path: String = "/mqtt", service: String = "iotdevicegateway", expect: Int = 0)
                throws -> [String: Any]
            {
                try Self.client(
                    port: port, path: path, key: key, service: service, mode: mode, expect: expect, [], scheme: scheme,
                    certificate: certificate.certificate)
            }
            let accepted = try client("presign", expect: 1)
            #expect(accepted["status"] as? [Int] == [101], "\(tls) \(accepted)")
            let tampered = try client("tamper")
            #expect(tampered["status"] as? [Int] == [403], "\(tls) \(tampered)")
            Self.expectRefused(tampered, status: 403, code: "SignatureDoesNotMatch")
            let unsigned = try client("unsigned")
            Self.expectRefused(unsigned, status: 403, code: "AccessDenied")
            let replay = try client("replay", path: "/prod", service: "execute-api", expect: 1)
            #expect(replay["status"] as? [Int] == [101, 403], "\(tls) \(replay)")
            Self.expectRefused(replay, status: 403, code: "RequestReplayed")
            let again = try client("presign", expect: 1)
            #expect(again["status"] as? [Int] == [101], "\(tls) \(again)")
            // Three refusals, each released as its connection closed, none left; the accepted
            // connections held none.
            let left = Self.releasedRefusals(gateway, count: 3)
            #expect(left == [0, 0, 0], "\(tls) \(left)")
        }
    }

    @Test("over mutual TLS (--tls-client-ca) a WebSocket handshake is judged as any request: the echo's identity message and the access log name the client's certificate (subject and SHA-256); without one the handshake fails")
    func mutualTLSHandshake() throws {
        let server = try GatewayTLSTests.Certificate()
        defer { server.remove() }
        let authorities = try GatewayClientCATests.Authorities(in: server.directory)
        let fixture = try ServeFixture(label: "websocket-mtls")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "device-owner")
        let (gateway, port) = try fixture.startServe([
            "--websockets", "--region", "us-east-1", "--tls-certificate", server.certificate, "--tls-key", server.key,
            "--tls-client-ca", authorities.path("ca1.pem"),
        ])
        defer { gateway.stop() }
        let client1 = (authorities.path("client1.pem"), authorities.path("client1-key.pem"))
        let report = try Self.client(
            port: port, key: key, mode: "presign", expect: 1, [], scheme: "https", certificate: server.certificate,
            clientCertificate: client1)
        #expect(report["status"] as? [Int] == [101], "\(report)")
        let fingerprint = try GatewayTLSTests.Certificate.sha256Fingerprint(authorities.path("client1.pem"))
        let identity = try? JSONSerialization.jsonObject(
            with: Data(((report["received"] as? [String])?.first ?? "").utf8)) as? [String: String]
        #expect(identity?["principal"] == "device-owner", "\(report)")
        #expect(identity?["client_cert_subject"] == "CN=client1", "\(report)")
        #expect(identity?["client_cert_sha256"] == fingerprint && fingerprint.count == 64, "\(report)")
        let log = Self.accessLines(gateway, path: "/mqtt", count: 1)
        #expect(log.contains { $0.contains("status=101") && $0.contains("client_cert_sha256=\(fingerprint)") }, "\(log)")
        // Without a client certificate the TLS handshake fails before any HTTP.
        let none = try Self.client(
            port: port, key: key, mode: "presign", expect: 0, [], scheme: "https", certificate: server.certificate)
        #expect((none["status"] as? [Int] ?? []).isEmpty && !(none["error"] as? String ?? "").isEmpty, "\(none)")
    }

    @Test("a header-signed upgrade (API Gateway's way) is accepted once: the same signed handshake sent again is a replay, not upgraded (403 RequestReplayed)")
    func headerSignedReplay() throws {
        let fixture = try ServeFixture(label: "websocket-replay")
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let key = try fixture.createKey(principal: "alice")
        let (gateway, port) = try fixture.startServe(["--websockets"])
        defer { gateway.stop() }
        let report = try Self.client(port: port, path: "/prod", key: key, service: "execute-api", mode: "replay", expect: 1, [])
        #expect(report["status"] as? [Int] == [101, 403], "\(report)")
        Self.expectRefused(report, status: 403, code: "RequestReplayed")
        let identity = (report["received"] as? [String])?.first ?? ""
        #expect(identity.contains("\"presigned\":\"false\"") && identity.contains("\"service\":\"execute-api\""), "\(report)")
        let log = Self.accessLines(gateway, path: "/prod", count: 2)
        #expect(log.contains { $0.contains("status=403") && $0.contains("code=RequestReplayed") }, "\(log)")
    }

    @Test("with an upstream: messages go both ways through the gateway; the upstream's handshake has no presign parameters or client signature, has the identity headers, and is signed again with --upstream-access-key-id, which a second gateway verifies; the upstream's close ends the client's connection")
    func relay() throws {
        let fixture = try ServeFixture(
            label: "websocket-relay", environment: ["SIGV4_UPSTREAM_SECRET_ACCESS_KEY": "placeholder"])
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let alice = try fixture.createKey(principal: "alice")
        let record = fixture.directory + "/handshakes.jsonl"
        let upstream = try GatewayHygieneTests.Child(
            // The caller's environment: its python3 is the one with the `websockets` package.
            "/usr/bin/env", ["python3", Self.peer, "upstream", record], environment: ProcessInfo.processInfo.environment,
            directory: fixture.directory, name: "ws-upstream")
        defer { upstream.stop() }
        let line = try #require(upstream.line(startingWith: "upstream listening on "), "the upstream did not start")
        let upstreamPort = String(line.split(separator: " ").last ?? "")
        let (gateway, port) = try fixture.startServe(["--websockets", "--upstream", "http://127.0.0.1:\(upstreamPort)"])
        defer { gateway.stop() }

        let report = try Self.client(
            port: port, path: "/mqtt?client=7", key: alice, mode: "presign", expect: 2, ["hi", "hex:010203", "close-please"])
        #expect(report["status"] as? [Int] == [101], "\(report)")
        #expect(report["received"] as? [String] == ["upstream:hi", "hex:030201"], "\(report)")
        #expect(report["close_code"] as? Int != nil, "the upstream's close did not end the client's connection: \(report)")
        let handshakes = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        let first = try? JSONSerialization.jsonObject(with: Data((handshakes.split(separator: "\n").first ?? "").utf8)) as? [String: Any]
        #expect(first?["path"] as? String == "/mqtt?client=7", "\(handshakes)")
        let headers = (first?["headers"] as? [[String]] ?? []).map { ($0.first ?? "").lowercased() + ": " + ($0.last ?? "") }
        #expect(headers.contains("x-sigv4-principal: alice"), "\(headers)")
        #expect(headers.filter { $0.hasPrefix("sec-websocket-protocol:") } == ["sec-websocket-protocol: mqtt"], "\(headers)")
        #expect(report["subprotocol"] as? String == "mqtt", "\(report)")
        #expect(!headers.contains { $0.hasPrefix("authorization:") }, "\(headers)")

        // Signed again for a second gateway that verifies it: bob's key, which the first gateway holds
        // only as its upstream credentials.
        let bob = try fixture.createKey(principal: "bob")
        let (second, secondPort) = try fixture.startServe(["--websockets"])
        defer { second.stop() }
        let chained = try GatewayHygieneTests.Child(
            GatewayBinaryTests.binary.path,
            ["serve", "--listen", "127.0.0.1:0", "--keystore", fixture.store, "--websockets",
             "--upstream", "http://127.0.0.1:\(secondPort)", "--upstream-access-key-id", bob.accessKeyID],
            environment: fixture.environment.merging(["SIGV4_UPSTREAM_SECRET_ACCESS_KEY": bob.secret]) { $1 },
            directory: fixture.directory, name: "chained")
        defer { chained.stop() }
        let banner = try #require(chained.line(startingWith: "sigv4 serve: listening on http"), "the chained gateway did not start")
        let listening = try #require(banner.range(of: "http://127.0.0.1:"), "\(banner)")
        let chainedPort = try #require(UInt16(banner[listening.upperBound...].prefix { $0.isNumber }), "\(banner)")
        let through = try Self.client(port: chainedPort, key: alice, mode: "presign", expect: 2, ["x"])
        #expect(through["status"] as? [Int] == [101], "\(through)")
        let secondIdentity = (through["received"] as? [String])?.first ?? ""
        #expect(secondIdentity.contains("\"principal\":\"bob\"") && secondIdentity.contains("\"presigned\":\"false\""),
            "\(through) \(Self.accessLines(second, path: "/mqtt", count: 1)) \(String(decoding: chained.stdout, as: UTF8.self).suffix(1500))")
        #expect((through["received"] as? [String])?.last == "x", "\(through)")
    }

    @Test("with an https upstream the relay's wss:// connection trusts --upstream-ca and presents --upstream-tls-certificate, as forwarded requests do: an upstream whose private CA issued its certificate and that requires a client certificate gets the relay, and sees the gateway's certificate; without --upstream-ca the upstream is not trusted and the client's connection ends")
    func relayOverTLSUsesTheUpstreamTrustAndClientCertificate() throws {
        let server = try GatewayTLSTests.Certificate(names: "DNS:localhost")
        defer { server.remove() }
        let d = server.directory
        try GatewayTLSTests.issueUpstreamClientCertificates(in: d, names: ["gateway"])
        let fixture = try ServeFixture(label: "websocket-relay-tls")
        defer { fixture.remove() }
        let alice = try fixture.createKey(principal: "alice")
        let record = fixture.directory + "/handshakes.jsonl"
        let upstream = try GatewayHygieneTests.Child(
            "/usr/bin/env", ["python3", Self.peer, "upstream", record],
            environment: ProcessInfo.processInfo.environment.merging([
                "WEBSOCKET_UPSTREAM_CERT": server.certificate, "WEBSOCKET_UPSTREAM_KEY": server.key,
                "WEBSOCKET_UPSTREAM_CLIENT_CA": d + "/ca.pem",
            ]) { $1 },
            directory: fixture.directory, name: "wss-upstream")
        defer { upstream.stop() }
        let line = try #require(upstream.line(startingWith: "upstream listening on "), "the upstream did not start")
        // A host name: TLS sends it as SNI, which takes no address (an address is refused at start, below).
        let url = "https://localhost:\(line.split(separator: " ").last ?? "")"
        let client = ["--upstream-tls-certificate", d + "/gateway.pem", "--upstream-tls-key", d + "/gateway-key.pem"]
        let (gateway, port) = try fixture.startServe(
            ["--websockets", "--upstream", url, "--upstream-ca", server.certificate] + client)
        defer { gateway.stop() }
        let report = try Self.client(port: port, key: alice, mode: "presign", expect: 1, ["hi"])
        #expect(
            report["received"] as? [String] == ["upstream:hi"],
            "\(report) \(String(decoding: gateway.stdout + gateway.stderr + upstream.stdout + upstream.stderr, as: UTF8.self).suffix(3000))")
        let handshakes = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        let first = try? JSONSerialization.jsonObject(with: Data((handshakes.split(separator: "\n").first ?? "").utf8))
        #expect((first as? [String: Any])?["client"] as? String == "gateway", "\(handshakes)")

        // The system's CAs do not know the upstream's certificate: nothing reaches it.
        let (untrusting, untrustingPort) = try fixture.startServe(["--websockets", "--upstream", url] + client)
        defer { untrusting.stop() }
        let refused = try Self.client(port: untrustingPort, key: alice, mode: "presign", expect: 1, ["hi"])
        #expect((refused["received"] as? [String] ?? []).isEmpty, "\(refused)")
        let after = (try? String(contentsOfFile: record, encoding: .utf8)) ?? ""
        #expect(after.split(separator: "\n").count == 1, "\(after)")
        let log = String(decoding: untrusting.stdout + untrusting.stderr, as: UTF8.self)
        #expect(log.contains("websocket upstream connection failed"), "\(log.suffix(1500))")

        let (usage, output) = try GatewayTLSTests.serve(
            ["--websockets", "--upstream", "https://127.0.0.1:443", "--upstream-ca", server.certificate])
        #expect(usage == 2 && output.contains("needs the upstream named by a host name"), "\(output)")
    }

    @Test("AWS's CRT MQTT client (what the AWS IoT Device SDK v2 connects with over WebSockets: its handshake presigned by aws-c-auth for iotdevicegateway, without X-Amz-Expires) connects through the gateway to an MQTT broker, subscribes, and gets back the three messages it publishes at QoS 1; with a wrong secret it does not connect")
    func iotDeviceSDKClient() throws {
        let fixture = try ServeFixture(label: "websocket-iot")
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let key = try fixture.createKey(principal: "thing")
        let scripts = Vectors.root.deletingLastPathComponent().appendingPathComponent("scripts/peers")
        let broker = try GatewayHygieneTests.Child(
            "/usr/bin/env", ["python3", scripts.appendingPathComponent("mqtt-upstream.py").path, fixture.directory + "/mqtt.jsonl"],
            environment: ProcessInfo.processInfo.environment, directory: fixture.directory, name: "mqtt-broker")
        defer { broker.stop() }
        let line = try #require(broker.line(startingWith: "upstream listening on "), "the broker did not start")
        let (gateway, port) = try fixture.startServe(
            ["--websockets", "--upstream", "http://127.0.0.1:\(line.split(separator: " ").last ?? "")"])
        defer { gateway.stop() }
        func connect(secret: String) throws -> [String: Any] {
            let (status, output) = try GatewayBinaryTests.run(
                ["python3", scripts.appendingPathComponent("iot-mqtt-client.py").path, "127.0.0.1", String(port),
                 key.accessKeyID, secret, "one", "two", "three"],
                executable: URL(fileURLWithPath: "/usr/bin/env"))
            let report = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
            return try #require(report, "the client exited \(status) without a report: \(output)")
        }
        let report = try connect(secret: key.secret)
        #expect(report["connected"] as? Bool == true && report["error"] as? String == "", "\(report)")
        #expect(report["received"] as? [String] == ["one", "two", "three"], "\(report)")
        let refused = try connect(secret: "not-the-secret")
        #expect(refused["connected"] as? Bool == false, "\(refused)")
        let log = Self.accessLines(gateway, path: "/mqtt", count: 2)
        #expect(log.contains { $0.contains("status=101") && $0.contains("principal=thing") && $0.contains("presigned=true") }, "\(log)")
        #expect(log.contains { $0.contains("status=403") && $0.contains("code=SignatureDoesNotMatch") }, "\(log)")
    }

    @Test("an upstream that takes the relay's connection and never answers its handshake: the client's connection is closed (1011) after --upstream-timeout and the access log says why; one whose connection never opens fails after --upstream-connect-timeout; SIGTERM while a relay waits for the upstream's answer stops the gateway")
    func silentUpstreamsAreTimedAndDoNotHoldShutdown() throws {
        let fixture = try ServeFixture(label: "websocket-silent-upstream")
        defer { fixture.remove() }
        let alice = try fixture.createKey(principal: "alice")
        // A listening port nothing accepts on: the kernel completes the relay's TCP connection, and
        // nothing ever answers its handshake.
        let silent = try GatewayUpstreamLimitsTests.HeldPort(listening: true)
        let upstream = "http://127.0.0.1:\(silent.port)"
        do {
            let (gateway, port) = try fixture.startServe(
                ["--websockets", "--upstream", upstream, "--upstream-timeout", "2"])
            defer { gateway.stop() }
            let report = try Self.client(port: port, path: "/timed", key: alice, mode: "presign", expect: 1, ["hi"])
            #expect(report["status"] as? [Int] == [101], "\(report)")
            #expect(report["close_code"] as? Int == 1011, "\(report)")
            let failed = gateway.line(containing: "websocket upstream connection failed")
            #expect(failed.contains("did not answer the WebSocket handshake within 2.0 s"), "\(failed)")
        }
        do {
            let unanswered = try GatewayUpstreamLimitsTests.HeldPort(unanswered: ())
            let (gateway, port) = try fixture.startServe(
                [
                    "--websockets", "--upstream", "http://127.0.0.1:\(unanswered.port)",
                    "--upstream-connect-timeout", "1",
                ])
            defer { gateway.stop() }
            let report = try Self.client(port: port, path: "/unopened", key: alice, mode: "presign", expect: 1, ["hi"])
            #expect(report["close_code"] as? Int == 1011, "\(report)")
            let failed = gateway.line(containing: "websocket upstream connection failed")
            #expect(failed.contains("did not open within 1.0 s"), "\(failed)")
        }
        // The default --upstream-timeout (300 s): a graceful shutdown does not wait for the answer.
        let waiting = try GatewayUpstreamLimitsTests.HeldPort(listening: true)
        let (gateway, port) = try fixture.startServe(["--websockets", "--upstream", "http://127.0.0.1:\(waiting.port)"])
        defer { gateway.stop() }
        let holder = try Self.holder(port: port, path: "/held", key: alice, expect: 0, in: fixture, name: "holder")
        defer { holder.stop() }
        _ = try #require(holder.line(startingWith: "held"), "the client was not upgraded")
        // The relay's connection has reached the upstream (and waits for its answer).
        var connections: [Int32] = []
        defer { connections.forEach { close($0) } }
        while let connection = waiting.acceptConnection(within: connections.isEmpty ? 30 : 0.2) {
            connections.append(connection)
        }
        #expect(!connections.isEmpty, "the relay never connected to the upstream")
        kill(gateway.process.processIdentifier, SIGTERM)
        let exited = gateway.exited(within: 30)
        let log = String(decoding: gateway.stdout, as: UTF8.self)
        #expect(exited, "SIGTERM did not stop the gateway: \(log.suffix(1500))")
        #expect(log.contains("abandoned while it opened (shutdown)"), "\(log.suffix(1500))")
    }

    @Test("an open connection whose key is deactivated is closed with 1008 at the next key check (--websocket-key-check 1); another key's connection stays open")
    func deactivatedKeyClosesItsConnections() throws {
        let fixture = try ServeFixture(label: "websocket-revoke")
        defer { try? FileManager.default.removeItem(atPath: fixture.directory) }
        let alice = try fixture.createKey(principal: "alice")
        let (gateway, port) = try fixture.startServe(["--websockets", "--websocket-key-check", "1"])
        defer { gateway.stop() }
        let holder = try Self.holder(port: port, key: alice, expect: 1, in: fixture, name: "holder")
        defer { holder.stop() }
        let bob = try fixture.createKey(principal: "bob")
        let other = try Self.holder(port: port, key: bob, expect: 1, in: fixture, name: "other")
        defer { other.stop() }
        _ = try #require(holder.line(startingWith: "held"), "the client never held a connection")
        _ = try #require(other.line(startingWith: "held"), "the other client never held a connection")
        let started = Date()
        let (deactivated, _) = try GatewayBinaryTests.run(
            ["keys", "deactivate", alice.accessKeyID, "--keystore", fixture.store], environment: fixture.environment)
        #expect(deactivated == 0)
        let line = try #require(holder.line(startingWith: "{"), "the client never reported")
        let report = try #require(try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        #expect(report["close_code"] as? Int == 1008, "\(report)")
        #expect((report["close_reason"] as? String ?? "").contains("deactivated"), "\(report)")
        #expect(Date().timeIntervalSince(started) < 20, "closed only after \(Date().timeIntervalSince(started)) s")
        // Two more checks later, bob's connection is still open (its client has not reported).
        Thread.sleep(forTimeInterval: 2.5)
        #expect(!String(decoding: other.stdout, as: UTF8.self).contains("{"), "\(String(decoding: other.stdout, as: UTF8.self))")
    }

    @Test("each key check that finds an open connection's key still good is a use of the key: keys list's last use moves on past the handshake while the connection is held (--websocket-key-check 1)")
    func keyCheckIsAUseOfTheKey() throws {
        let fixture = try ServeFixture(label: "websocket-last-use")
        defer { fixture.remove() }
        let alice = try fixture.createKey(principal: "alice")
        let (gateway, port) = try fixture.startServe(["--websockets", "--websocket-key-check", "1"])
        defer { gateway.stop() }
        let holder = try Self.holder(port: port, key: alice, expect: 1, in: fixture, name: "holder")
        defer { holder.stop() }
        _ = try #require(holder.line(startingWith: "held"), "the client never held a connection")
        // The handshake's verification noted a use at or before this second; checks follow each second.
        let held = Int64(Date().timeIntervalSince1970)
        Thread.sleep(forTimeInterval: 4.5)
        holder.stop()
        kill(gateway.process.processIdentifier, SIGTERM)  // the gateway flushes the buffered last use as it stops
        #expect(gateway.exited(within: 30), "SIGTERM did not stop the gateway")
        let (listed, output) = try GatewayBinaryTests.run(
            ["keys", "list", "--keystore", fixture.store, "--format", "json"], environment: fixture.environment)
        #expect(listed == 0)
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]], "\(output)")
        let key = try #require(keys.first { $0["access_key_id"] as? String == alice.accessKeyID }, "\(output)")
        let lastUsed = try #require((key["last_used"] as? [String: Any])?["at"] as? String, "\(key)")
        let at = try AmzDate(iso8601Basic: lastUsed).secondsSince1970
        #expect(at >= held + 2, "last use \(lastUsed), connection held from \(AmzDate(secondsSince1970: held))")
    }
}
