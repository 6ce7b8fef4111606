import Foundation
import SigV4
import Testing

/// `sigv4 serve --tls-certificate/--tls-key`: the gateway terminates TLS itself, so clients that sign
/// for `https://` (awscli's default, and the only scheme over which botocore sends aws-chunked trailing
/// checksums) reach it without a proxy. Driven with curl `--aws-sigv4` against the built binary in front
/// of the recording upstream of ``GatewayForwardingTests/Rig``.
@Suite("sigv4 serve over TLS (built binary, curl)", .serialized)
struct GatewayTLSTests {
    typealias Rig = GatewayForwardingTests.Rig

    /// A throw-away P-256 certificate for 127.0.0.1 and its key, written by the openssl command.
    struct Certificate {
        let directory: String
        var certificate: String { directory + "/cert.pem" }
        var key: String { directory + "/key.pem" }
        var otherKey: String { directory + "/other-key.pem" }

        /// A self-issued certificate for `names` (a subjectAltName value), with its key and another key.
        init(names: String = "IP:127.0.0.1") throws {
            directory = NSTemporaryDirectory() + "sigv4-tls-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for arguments in [
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                    directory + "/key.pem", "-out", directory + "/cert.pem", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=\(names)", "-days", "2",
                ],
                ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", directory + "/other-key.pem"],
            ] {
                let (status, output) = try Self.run("/usr/bin/openssl", arguments)
                #expect(status == 0, "openssl \(arguments.first ?? ""): \(output)")
            }
        }

        func remove() { try? FileManager.default.removeItem(atPath: directory) }

        /// The SHA-256 fingerprint of the PEM certificate at `path` as the openssl command prints it,
        /// in lowercase without colons (how the gateway names a client certificate).
        static func sha256Fingerprint(_ path: String) throws -> String {
            let (_, printed) = try run("/usr/bin/openssl", ["x509", "-in", path, "-noout", "-fingerprint", "-sha256"])
            return String(printed.split(separator: "=").last ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: ":", with: "").lowercased()
        }

        /// Runs `executable`: its exit status and its standard output.
        static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String) {
            try GatewayBinaryTests.run(arguments, executable: URL(fileURLWithPath: executable))
        }
    }

    /// `sigv4 serve` with `arguments`, for a usage error: its exit status and its output, standard error
    /// included (`2>&1`).
    static func serve(_ arguments: [String]) throws -> (Int32, String) {
        try Certificate.run("/bin/sh", ["-c", "\"$0\" serve \"$@\" 2>&1", GatewayBinaryTests.binary.path] + arguments)
    }

    /// curl `--aws-sigv4` with the rig's key, trusting `certificate`; prints the status code last.
    static func curl(_ rig: Rig, _ certificate: Certificate, _ arguments: [String]) throws -> (Int32, String) {
        try Certificate.run(
            "/usr/bin/curl",
            [
                "-sS", "--cacert", certificate.certificate, "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                "\(rig.credentials.accessKeyID):\(rig.credentials.secretAccessKey.revealForDisplay())",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-w", "\n%{http_code}",
            ] + arguments)
    }

    @Test("over TLS, signed requests are verified and forwarded (body byte for byte) with X-Forwarded-Proto: https; plain HTTP to the port gets no answer")
    func servesHTTPS() throws {
        let certificate = try Certificate()
        defer { certificate.remove() }
        let rig = try Rig(arguments: ["--tls-certificate", certificate.certificate, "--tls-key", certificate.key])
        let (getStatus, got) = try Self.curl(rig, certificate, ["https://127.0.0.1:\(rig.port)/bucket/over-tls"])
        #expect(getStatus == 0 && got.hasSuffix("\n200"), "\(got)")
        let body = String(repeating: "tls body ", count: 100)
        let (putStatus, put) = try Self.curl(
            rig, certificate, ["-X", "PUT", "--data-binary", body, "https://127.0.0.1:\(rig.port)/bucket/put-over-tls"])
        #expect(putStatus == 0 && put.hasSuffix("\n200"), "\(put)")
        let forwarded = try #require(GatewayForwardingAttackTests.request(rig, "/bucket/over-tls"), "\(rig.received)")
        #expect(forwarded.fields.filter { $0.0 == "x-forwarded-proto" }.map(\.1) == ["https"], "\(forwarded.fields)")
        #expect(forwarded.fields.filter { $0.0 == "x-forwarded-for" }.map(\.1) == ["127.0.0.1"], "\(forwarded.fields)")
        // Without --tls-client-ca no client certificate is asked for, and none is named.
        #expect(!forwarded.fields.contains { $0.0.hasPrefix("x-sigv4-client-cert") }, "\(forwarded.fields)")
        let stored = try #require(GatewayForwardingAttackTests.request(rig, "/bucket/put-over-tls"), "\(rig.received)")
        #expect(stored.bytes == body.utf8.count)
        #expect(rig.received.contains(body), "the upstream got other bytes")
        // A wrong secret over TLS is refused as over plain HTTP, and reaches nothing.
        let before = GatewayForwardingAttackTests.requests(rig).count
        let (_, refused) = try Certificate.run(
            "/usr/bin/curl",
            [
                "-sS", "--cacert", certificate.certificate, "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                "\(rig.credentials.accessKeyID):wrong", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "https://127.0.0.1:\(rig.port)/bucket/wrong-secret",
            ])
        #expect(refused.contains("<Code>SignatureDoesNotMatch</Code>"), "\(refused)")
        #expect(GatewayForwardingAttackTests.requests(rig).count == before)
        // Plain HTTP to the TLS port: no HTTP answer (curl reports an empty reply or a reset).
        let (plainStatus, plain) = try Self.curl(rig, certificate, ["http://127.0.0.1:\(rig.port)/bucket/plain"])
        #expect(plainStatus != 0 && !plain.hasSuffix("\n200"), "\(plain)")
        #expect(GatewayForwardingAttackTests.request(rig, "/bucket/plain") == nil)
        // The private key is read, never printed.
        let keyBody = try String(contentsOfFile: certificate.key, encoding: .utf8).split(separator: "\n")[1]
        let printed = String(decoding: rig.gateway.stdout + rig.gateway.stderr, as: UTF8.self)
        #expect(printed.contains("listening on https://127.0.0.1:"), "\(printed.prefix(500))")
        #expect(!printed.contains(keyBody))
    }

    @Test("--tls-certificate without --tls-key (or the reverse), an unreadable or non-PEM file, or a key of another certificate: a usage error (exit 2) before listening")
    func badTLSArguments() throws {
        let certificate = try Certificate()
        defer { certificate.remove() }
        let cert = certificate.certificate, key = certificate.key
        for arguments in [
            ["--tls-certificate", cert], ["--tls-key", key], ["--tls-certificate", key, "--tls-key", key],
            ["--tls-certificate", cert, "--tls-key", cert], ["--tls-certificate", cert + ".missing", "--tls-key", key],
            ["--tls-certificate", cert, "--tls-key", certificate.otherKey],
        ] {
            let (status, output) = try GatewayBinaryTests.run(["serve", "--listen", "127.0.0.1:0"] + arguments)
            #expect(status == 2, "\(arguments): \(output)")
        }
    }
}

extension GatewayTLSTests {
    /// The status curl gets for an unsigned GET when it trusts only `ca` (`000`: the handshake failed).
    static func status(port: UInt16, trusting ca: String) throws -> String {
        try Certificate.run(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, "https://127.0.0.1:\(port)/x"]
        ).1
    }

    /// Copies each `from` file over its `to` (a renewal written in place of the files in use).
    static func replace(_ files: [(from: String, to: String)]) throws {
        for (from, to) in files {
            try? FileManager.default.removeItem(atPath: to)
            try FileManager.default.copyItem(atPath: from, toPath: to)
        }
    }

    /// Sends `gateway` SIGHUP and waits (up to 30 s, for a loaded CI machine) for one more `line` in its
    /// output than it had.
    static func hangUp(_ gateway: GatewayHygieneTests.Child, expecting line: String) -> Bool {
        func count() -> Int { String(decoding: gateway.stdout + gateway.stderr, as: UTF8.self).components(separatedBy: line).count }
        let before = count()
        kill(gateway.process.processIdentifier, SIGHUP)
        for _ in 0..<600 {
            if count() > before { return true }
            usleep(50_000)
        }
        return false
    }

    @Test("SIGHUP reloads the certificate and key from their files: new connections get the new certificate; a pair that does not go together is refused and the old one stays, logged without the key")
    func hangUpReloadsTheCertificate() throws {
        let first = try Certificate()
        defer { first.remove() }
        let second = try Certificate()
        defer { second.remove() }
        let fixture = try ServeFixture(label: "tls-reload")
        defer { fixture.remove() }
        let certificate = fixture.directory + "/live-cert.pem"
        let key = fixture.directory + "/live-key.pem"
        func install(_ c: String, _ k: String) throws { try Self.replace([(c, certificate), (k, key)]) }
        try install(first.certificate, first.key)
        let (gateway, port) = try fixture.startServe(["--tls-certificate", certificate, "--tls-key", key])
        defer { gateway.stop() }
        // 403: the handshake succeeded and the unsigned request was refused.
        #expect(try Self.status(port: port, trusting: first.certificate) == "403")
        #expect(try Self.status(port: port, trusting: second.certificate) == "000")

        func hangUp(expecting line: String) -> Bool { Self.hangUp(gateway, expecting: line) }
        try install(second.certificate, second.key)
        #expect(hangUp(expecting: "tls certificate reloaded"))
        #expect(try Self.status(port: port, trusting: second.certificate) == "403")
        #expect(try Self.status(port: port, trusting: first.certificate) == "000")

        // The first certificate with the second's key: refused, the second pair stays.
        try install(first.certificate, second.key)
        #expect(hangUp(expecting: "tls certificate reload failed"))
        #expect(try Self.status(port: port, trusting: second.certificate) == "403")
        let log = String(decoding: gateway.stdout + gateway.stderr, as: UTF8.self)
        #expect(log.contains("does not go with the certificate"))
        let keyBody = try String(contentsOfFile: second.key, encoding: .utf8).split(separator: "\n").dropFirst().first ?? "-"
        #expect(!log.contains(String(keyBody)))
    }

    @Test("--tls-client-ca: a client certificate issued by that CA is required (curl --cert gets 200), and its subject and SHA-256 fingerprint go upstream (X-SigV4-Client-Cert-Subject/-SHA256, over HTTP/1.1 and HTTP/2, a client's own such fields dropped) and into the access log; without one, or with one the CA did not issue, the handshake fails and nothing reaches the upstream; without --tls-certificate, or with a file that is not PEM, it is a usage error")
    func mutualTLS() throws {
        let certificate = try Certificate()
        defer { certificate.remove() }
        let d = certificate.directory
        for arguments in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/ca-key.pem",
             "-out", d + "/ca.pem", "-subj", "/CN=sigv4 test client CA", "-days", "2"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/client-key.pem",
             "-out", d + "/client.csr", "-subj", "/CN=device-7"],
            ["x509", "-req", "-in", d + "/client.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca-key.pem",
             "-CAcreateserial", "-out", d + "/client.pem", "-days", "2"],
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", d + "/stray-key.pem",
             "-out", d + "/stray.pem", "-subj", "/CN=device-7", "-days", "2"],
        ] {
            let (status, output) = try Certificate.run("/usr/bin/openssl", arguments)
            #expect(status == 0, "openssl \(arguments.prefix(2)): \(output)")
        }
        let rig = try Rig(arguments: [
            "--tls-certificate", certificate.certificate, "--tls-key", certificate.key, "--tls-client-ca", d + "/ca.pem",
        ])
        let url = "https://127.0.0.1:\(rig.port)/bucket/mtls"
        let clientCertificate = ["--cert", d + "/client.pem", "--key", d + "/client-key.pem"]
        let (ok, answer) = try Self.curl(rig, certificate, clientCertificate + ["--http1.1", url])
        #expect(ok == 0 && answer.hasSuffix("\n200"), "\(answer)")
        // The certificate, named upstream: over HTTP/1.1, over HTTP/2 (the stream's connection's
        // certificate), and with the client's own claims in the gateway's namespace dropped.
        let (h2, h2Answer) = try Self.curl(rig, certificate, clientCertificate + ["--http2", url + "-h2"])
        #expect(h2 == 0 && h2Answer.hasSuffix("\n200"), "\(h2Answer)")
        let (spoofed, spoofedAnswer) = try Self.curl(
            rig, certificate,
            clientCertificate + [
                "-H", "X-SigV4-Client-Cert-Subject: CN=admin", "-H", "X-SigV4-Client-Cert-SHA256: 00", url + "-spoofed",
            ])
        #expect(spoofed == 0 && spoofedAnswer.hasSuffix("\n200"), "\(spoofedAnswer)")
        let fingerprint = try Certificate.sha256Fingerprint(d + "/client.pem")
        #expect(fingerprint.count == 64, "\(fingerprint)")
        for target in ["/bucket/mtls", "/bucket/mtls-h2", "/bucket/mtls-spoofed"] {
            let forwarded = try #require(GatewayForwardingAttackTests.request(rig, target), "\(rig.received)")
            #expect(forwarded.fields.filter { $0.0 == "x-sigv4-client-cert-subject" }.map(\.1) == ["CN=device-7"], "\(target): \(forwarded.fields)")
            #expect(forwarded.fields.filter { $0.0 == "x-sigv4-client-cert-sha256" }.map(\.1) == [fingerprint], "\(target): \(forwarded.fields)")
        }
        let log = String(decoding: rig.gateway.stdout + rig.gateway.stderr, as: UTF8.self)
        #expect(log.contains("client_cert_sha256=\(fingerprint)"), "\(log.suffix(800))")
        #expect(log.contains("client_cert_subject=CN=device-7"), "\(log.suffix(800))")
        // Echo mode answers them in its JSON.
        let fixture = try ServeFixture(label: "mtls-echo")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "device-owner")
        let (echo, echoPort) = try fixture.startServe([
            "--tls-certificate", certificate.certificate, "--tls-key", certificate.key, "--tls-client-ca", d + "/ca.pem",
        ])
        defer { echo.stop() }
        let (echoed, echoAnswer) = try Certificate.run(
            "/usr/bin/curl",
            clientCertificate + [
                "-sS", "--cacert", certificate.certificate, "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                "\(key.accessKeyID):\(key.secret)", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "https://127.0.0.1:\(echoPort)/bucket/echo",
            ])
        let json = try JSONSerialization.jsonObject(with: Data(echoAnswer.utf8)) as? [String: String]
        #expect(echoed == 0 && json?["principal"] == "device-owner", "\(echoAnswer)")
        #expect(json?["client_cert_subject"] == "CN=device-7", "\(echoAnswer)")
        #expect(json?["client_cert_sha256"] == fingerprint, "\(echoAnswer)")
        let before = GatewayForwardingAttackTests.requests(rig).count
        let (none, _) = try Self.curl(rig, certificate, [url + "-none"])
        #expect(none != 0, "a client without a certificate was served")
        let (stray, _) = try Self.curl(rig, certificate, ["--cert", d + "/stray.pem", "--key", d + "/stray-key.pem", url + "-stray"])
        #expect(stray != 0, "a certificate the CA did not issue was accepted")
        #expect(GatewayForwardingAttackTests.requests(rig).count == before, "\(rig.received)")

        // Usage errors, their one line read from standard error (`2>&1`).
        let (usage, usageOutput) = try Self.serve(["--tls-client-ca", d + "/ca.pem"])
        #expect(usage == 2 && usageOutput.contains("--tls-client-ca needs --tls-certificate"), "\(usageOutput)")
        let (notPEM, notPEMOutput) = try Self.serve([
            "--tls-certificate", certificate.certificate, "--tls-key", certificate.key, "--tls-client-ca", d + "/client.csr",
        ])
        #expect(notPEM == 2 && notPEMOutput.contains("--tls-client-ca"), "\(notPEMOutput)")
    }
}

extension GatewayTLSTests {
    /// An upstream over TLS with `certificate` and `key`: answers `200 upstream saw <target>` to every
    /// GET (with ` from <client certificate's CN>` when it has one) and prints `upstream listening on
    /// <port>` first. With a third argument, a CA file: it requires a client certificate that CA issued.
    static let tlsUpstream = #"""
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        peer = self.connection.getpeercert() or {}
        names = [value for rdn in peer.get("subject", ()) for (key, value) in rdn if key == "commonName"]
        body = ("upstream saw " + self.path + "".join(" from " + n for n in names)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(body)
    def log_message(self, *a):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
if len(sys.argv) > 3:
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
print("upstream listening on", server.server_address[1], flush=True)
server.serve_forever()
"""#

    @Test("--upstream-ca: an https upstream whose certificate a private CA issued is reached when the gateway trusts that CA, and not otherwise (502 BadGateway, nothing of the upstream named); the flag without an https upstream, or with a file that is not PEM, is a usage error")
    func upstreamCertificateFromAPrivateCA() throws {
        let certificate = try Certificate()
        defer { certificate.remove() }
        let other = try Certificate()
        defer { other.remove() }
        let fixture = try ServeFixture(label: "upstream-ca")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let (upstream, url) = try Self.startUpstream(
            Self.tlsUpstream, [certificate.certificate, certificate.key], fixture: fixture)
        defer { upstream.stop() }
        // Trusting the upstream's own (self-issued) certificate, the system's CAs, and another CA.
        for (trust, expected) in [(certificate.certificate, "200"), (nil, "502"), (other.certificate, "502")] {
            let (gateway, port) = try fixture.startServe(
                // The connect timeout bounds the TLS handshake too: 1 s where it must fail, 10 s where it
                // must succeed with a python upstream on a loaded machine.
                ["--upstream", url, "--upstream-connect-timeout", expected == "200" ? "10" : "1"]
                    + (trust.map { ["--upstream-ca", $0] } ?? []))
            defer { gateway.stop() }
            let (status, output) = try Certificate.run(
                "/usr/bin/curl",
                [
                    "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "\(key.accessKeyID):\(key.secret)",
                    "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-w", "\n%{http_code}",
                    "http://127.0.0.1:\(port)/bucket/over-tls",
                ])
            #expect(status == 0 && output.hasSuffix("\n" + expected), "\(trust ?? "system CAs"): \(output)")
            if expected == "200" {
                #expect(output.hasPrefix("upstream saw /bucket/over-tls"), "\(output)")
            } else {
                #expect(output.contains("<Code>BadGateway</Code>") && !output.contains(url), "\(output)")
            }
        }
        for (arguments, message) in [
            (["--upstream-ca", certificate.certificate], "needs an https --upstream"),
            (
                ["--upstream", "http://127.0.0.1:9", "--upstream-ca", certificate.certificate],
                "needs an https --upstream"
            ),
            (["--upstream", url, "--upstream-ca", certificate.key], "--upstream-ca"),
            (["--upstream", url, "--upstream-ca", certificate.directory + "/missing.pem"], "--upstream-ca"),
        ] {
            let (usage, output) = try Self.serve(arguments)
            #expect(
                usage == 2 && output.contains(message) && !output.contains("PRIVATE KEY"), "\(arguments): \(output)")
        }
    }
}

extension GatewayTLSTests {
    @Test(
        "SIGHUP reads --upstream-ca again: an upstream the gateway did not trust is reached once its CA is installed, a file that is not PEM is refused with the CAs in force kept, and trust taken away holds for the next request (502 BadGateway)"
    )
    func hangUpReloadsTheUpstreamCAs() throws {
        let server = try Certificate()
        defer { server.remove() }
        let other = try Certificate()
        defer { other.remove() }
        let fixture = try ServeFixture(label: "upstream-ca-reload")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let (upstream, url) = try Self.startUpstream(Self.tlsUpstream, [server.certificate, server.key], fixture: fixture)
        defer { upstream.stop() }
        let live = fixture.directory + "/upstream-ca.pem"
        try Self.replace([(other.certificate, live)])
        // 5 s to connect and shake hands: enough for a python upstream, short for the refusals.
        let (gateway, port) = try fixture.startServe(
            ["--upstream", url, "--upstream-ca", live, "--upstream-connect-timeout", "5"])
        defer { gateway.stop() }
        // A path of its own for each request: the same one twice in a second would be a replay.
        var requests = 0
        func status() throws -> String {
            requests += 1
            let output = try Self.signedGet(port: port, key: key, path: "/bucket/trust-\(requests)")
            return String(output.split(separator: "\n").last ?? "")
        }
        #expect(try status() == "502")

        try Self.replace([(server.certificate, live)])
        #expect(Self.hangUp(gateway, expecting: "upstream CAs reloaded"))
        #expect(try status() == "200")

        try Self.replace([(server.key, live)])
        #expect(Self.hangUp(gateway, expecting: "upstream CA reload failed"))
        #expect(try status() == "200")
        let log = String(decoding: gateway.stdout + gateway.stderr, as: UTF8.self)
        #expect(log.contains("--upstream-ca \(live): not a readable PEM file"), "\(log.suffix(800))")
        #expect(!log.contains("PRIVATE KEY"))

        try Self.replace([(other.certificate, live)])
        #expect(Self.hangUp(gateway, expecting: "upstream CAs reloaded"))
        #expect(try status() == "502")
    }

    @Test("--upstream-tls-certificate/--upstream-tls-key: an https upstream that requires a client certificate from its CA gets the gateway's and answers; without it the handshake fails (502 BadGateway); one flag without the other, a key of another certificate, or no https upstream is a usage error that never prints the key")
    func clientCertificateForTheUpstream() throws {
        let server = try Certificate()
        defer { server.remove() }
        let d = server.directory
        try Self.issueUpstreamClientCertificates(in: d, names: ["client"])
        let fixture = try ServeFixture(label: "upstream-client-certificate")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let (upstream, url) = try Self.startUpstreamAskingForCertificates(server, fixture: fixture)
        defer { upstream.stop() }
        let trust = ["--upstream", url, "--upstream-ca", server.certificate]
        let client = ["--upstream-tls-certificate", d + "/client.pem", "--upstream-tls-key", d + "/client-key.pem"]
        // The connect timeout bounds the TLS handshake too: 10 s where it must succeed, 1 s where it must fail.
        for (arguments, expected) in [
            (trust + client + ["--upstream-connect-timeout", "10"], "200"),
            (trust + ["--upstream-connect-timeout", "1"], "502"),
        ] {
            let (gateway, port) = try fixture.startServe(arguments)
            defer { gateway.stop() }
            let output = try Self.signedGet(port: port, key: key, path: "/bucket/client-cert")
            #expect(output.hasSuffix("\n" + expected), "\(arguments.count): \(output)")
            if expected == "200" {
                #expect(output.hasPrefix("upstream saw /bucket/client-cert from client"), "\(output)")
            }
        }
        let keyBody = try String(contentsOfFile: d + "/client-key.pem", encoding: .utf8).split(separator: "\n")
            .dropFirst().first.map(String.init) ?? "-"
        for (arguments, message) in [
            (["--upstream", url, "--upstream-tls-certificate", d + "/client.pem"], "needs --upstream-tls-key"),
            (["--upstream", url, "--upstream-tls-key", d + "/client-key.pem"], "needs --upstream-tls-certificate"),
            (
                ["--upstream", url, "--upstream-tls-certificate", d + "/client.pem", "--upstream-tls-key", server.key],
                "does not go with the certificate"
            ),
            (["--upstream-tls-certificate", d + "/client.pem", "--upstream-tls-key", d + "/client-key.pem"], "https"),
        ] {
            let (usage, output) = try Self.serve(arguments)
            #expect(usage == 2 && output.contains(message), "\(arguments): \(output)")
            #expect(!output.contains(keyBody) && !output.contains("PRIVATE KEY"), "\(arguments)")
        }
    }

    @Test(
        "SIGHUP reads --upstream-tls-certificate/--upstream-tls-key again: the upstream's next connection gets the new certificate without a restart; a pair that does not go together is refused with the previous one kept, logged without the key"
    )
    func hangUpReloadsTheUpstreamClientCertificate() throws {
        let server = try Certificate()
        defer { server.remove() }
        let d = server.directory
        try Self.issueUpstreamClientCertificates(in: d, names: ["gateway-one", "gateway-two"])
        let fixture = try ServeFixture(label: "upstream-client-reload")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        let (upstream, url) = try Self.startUpstreamAskingForCertificates(server, fixture: fixture)
        defer { upstream.stop() }
        let certificate = d + "/live-client.pem"
        let privateKey = d + "/live-client-key.pem"
        func install(_ name: String, key keyName: String) throws {
            try Self.replace([(d + "/\(name).pem", certificate), (d + "/\(keyName)-key.pem", privateKey)])
        }
        try install("gateway-one", key: "gateway-one")
        let (gateway, port) = try fixture.startServe([
            "--upstream", url, "--upstream-ca", server.certificate, "--upstream-tls-certificate", certificate,
            "--upstream-tls-key", privateKey,
        ])
        defer { gateway.stop() }
        // The upstream closes every connection after its answer: each request is a new handshake.
        // A path of its own for each request: the same one twice in a second would be a replay.
        var requests = 0
        func seenAs() throws -> String {
            requests += 1
            let output = try Self.signedGet(port: port, key: key, path: "/bucket/who-\(requests)")
            // "upstream saw /bucket/who-N from NAME\n200": NAME.
            guard output.hasSuffix("\n200") else { return output }
            return String(output.split(separator: " ").last?.prefix { $0 != "\n" } ?? "")
        }
        var seen = try seenAs()
        #expect(seen == "gateway-one")

        try install("gateway-two", key: "gateway-two")
        #expect(Self.hangUp(gateway, expecting: "upstream client certificate reloaded"))
        seen = try seenAs()
        #expect(seen == "gateway-two")

        // The first certificate with the second's key: refused, the second pair stays.
        try install("gateway-one", key: "gateway-two")
        #expect(Self.hangUp(gateway, expecting: "upstream client certificate reload failed"))
        seen = try seenAs()
        #expect(seen == "gateway-two")
        let log = String(decoding: gateway.stdout + gateway.stderr, as: UTF8.self)
        #expect(log.contains("--upstream-tls-key \(privateKey) does not go with the certificate"), "\(log.suffix(800))")
        let keyBody = try String(contentsOfFile: privateKey, encoding: .utf8).split(separator: "\n").dropFirst().first
        #expect(!log.contains(String(keyBody ?? "-")) && !log.contains("PRIVATE KEY"))
    }

    /// Writes a CA (`ca.pem`, `ca-key.pem`) into `directory` and, for each name, a client certificate
    /// it issued with that common name (`NAME.pem`, `NAME-key.pem`).
    static func issueUpstreamClientCertificates(in directory: String, names: [String]) throws {
        let d = directory
        var commands = [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                d + "/ca-key.pem", "-out", d + "/ca.pem", "-subj", "/CN=upstream client CA", "-days", "2",
            ]
        ]
        for name in names {
            commands.append([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                d + "/\(name)-key.pem", "-out", d + "/\(name).csr", "-subj", "/CN=\(name)",
            ])
            commands.append([
                "x509", "-req", "-in", d + "/\(name).csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca-key.pem",
                "-CAcreateserial", "-out", d + "/\(name).pem", "-days", "2",
            ])
        }
        for arguments in commands {
            let (status, output) = try Certificate.run("/usr/bin/openssl", arguments)
            #expect(status == 0, "openssl \(arguments.prefix(2)): \(output)")
        }
    }

    /// ``tlsUpstream`` serving `server`'s certificate and requiring a client certificate from the CA
    /// in its directory (``issueUpstreamClientCertificates(in:names:)``): the child and its https URL.
    static func startUpstreamAskingForCertificates(_ server: Certificate, fixture: ServeFixture) throws
        -> (GatewayHygieneTests.Child, String)
    {
        try startUpstream(tlsUpstream, [server.certificate, server.key, server.directory + "/ca.pem"], fixture: fixture)
    }

    /// The python https upstream `script` run with `arguments` (it prints `upstream listening on
    /// PORT`): the child and its URL. `environment`: the fixture's unless given.
    static func startUpstream(
        _ script: String, _ arguments: [String], fixture: ServeFixture, environment: [String: String]? = nil
    ) throws -> (GatewayHygieneTests.Child, String) {
        let upstream = try GatewayHygieneTests.Child(
            "/usr/bin/env", ["python3", "-c", script] + arguments, environment: environment ?? fixture.environment,
            directory: fixture.directory, name: "upstream")
        let line = try #require(upstream.line(startingWith: "upstream listening on "), "the upstream did not start")
        return (upstream, "https://127.0.0.1:\(line.split(separator: " ").last ?? "")")
    }

    /// curl `--aws-sigv4` GET of `path` through the gateway at `port`: the body, a newline and the status.
    static func signedGet(port: UInt16, key: (accessKeyID: String, secret: String), path: String) throws -> String {
        let (status, output) = try Certificate.run(
            "/usr/bin/curl",
            [
                "-sS", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "\(key.accessKeyID):\(key.secret)",
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-w", "\n%{http_code}",
                "http://127.0.0.1:\(port)\(path)",
            ])
        #expect(status == 0, "curl: \(output)")
        return output
    }

    /// An https upstream offering ALPN `h2` and `http/1.1` that answers every request with the path
    /// and the protocol it came over (`upstream saw PATH over h2`), HTTP/2 through python's `h2`.
    static let alpnUpstream = #"""
import socket, ssl, sys, threading
import h2.config, h2.connection, h2.events
def over_h2(conn):
    c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    c.initiate_connection()
    conn.sendall(c.data_to_send())
    while True:
        data = conn.recv(65535)
        if not data:
            return
        for event in c.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                body = ("upstream saw " + dict(event.headers)[":path"] + " over h2").encode()
                c.send_headers(event.stream_id, [(":status", "200"), ("content-length", str(len(body)))])
                c.send_data(event.stream_id, body, end_stream=True)
            elif isinstance(event, h2.events.DataReceived):
                c.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        conn.sendall(c.data_to_send())
def over_http1(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        data = conn.recv(65535)
        if not data:
            return
        head += data
    body = ("upstream saw " + head.split(b" ")[1].decode() + " over http/1.1").encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
def serve(raw):
    try:
        conn = context.wrap_socket(raw, server_side=True)
        (over_h2 if conn.selected_alpn_protocol() == "h2" else over_http1)(conn)
        conn.close()
    except Exception:
        raw.close()
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
context.set_alpn_protocols(["h2", "http/1.1"])
listener = socket.create_server(("127.0.0.1", 0))
print("upstream listening on", listener.getsockname()[1], flush=True)
while True:
    raw, _ = listener.accept()
    threading.Thread(target=serve, args=(raw,), daemon=True).start()
"""#

    @Test(
        "--upstream-http2 (the default) speaks HTTP/2 to an https upstream that offers h2 by ALPN; --no-upstream-http2 speaks HTTP/1.1 to the same upstream"
    )
    func upstreamProtocolByFlag() throws {
        let server = try Certificate()
        defer { server.remove() }
        let fixture = try ServeFixture(label: "upstream-http2")
        defer { fixture.remove() }
        let key = try fixture.createKey(principal: "alice")
        // The test's own PATH: the python that has scripts/requirements-test.txt's `h2`.
        let (upstream, url) = try Self.startUpstream(
            Self.alpnUpstream, [server.certificate, server.key], fixture: fixture,
            environment: ProcessInfo.processInfo.environment)
        defer { upstream.stop() }
        for (flags, expected) in [([], "h2"), (["--upstream-http2"], "h2"), (["--no-upstream-http2"], "http/1.1")] {
            let trust = ["--upstream", url, "--upstream-ca", server.certificate]
            let (gateway, port) = try fixture.startServe(trust + flags)
            defer { gateway.stop() }
            let output = try Self.signedGet(port: port, key: key, path: "/bucket/protocol")
            #expect(output == "upstream saw /bucket/protocol over \(expected)\n200", "\(flags): \(output)")
        }
    }
}
