import Foundation
import Testing

/// `sigv4 serve --tls-client-ca`: the client CAs are judged by libcrypto from the file in force, which
/// `SIGHUP` reads again (a CA added or withdrawn without a restart). Driven with curl `--cert`
/// against the built binary: a handshake that succeeds gets the gateway's 403 for an unsigned
/// request, one that fails gets no HTTP status (`000`).
@Suite("sigv4 serve --tls-client-ca: client CAs judged by libcrypto and read again on SIGHUP (built binary, curl)", .serialized)
struct GatewayClientCATests {
    typealias Certificate = GatewayTLSTests.Certificate

    /// Two CAs, an intermediate under the first, and client certificates (P-256) from each.
    struct Authorities {
        let directory: String
        func path(_ name: String) -> String { directory + "/" + name }

        init(in directory: String) throws {
            self.directory = directory
            func openssl(_ arguments: [String]) throws {
                let (status, output) = try Certificate.run("/usr/bin/openssl", arguments)
                #expect(status == 0, "openssl \(arguments.prefix(2)): \(output)")
            }
            let key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
            for ca in ["ca1", "ca2"] {
                try openssl(["req", "-x509"] + key + ["-keyout", path(ca + "-key.pem"), "-out", path(ca + ".pem"), "-subj", "/CN=\(ca)", "-days", "2"])
            }
            // An intermediate CA under ca1 (basicConstraints CA:TRUE from the extensions file).
            try "basicConstraints=critical,CA:TRUE\nkeyUsage=keyCertSign\n".write(
                toFile: path("ca.ext"), atomically: true, encoding: .utf8)
            try openssl(["req"] + key + ["-keyout", path("mid-key.pem"), "-out", path("mid.csr"), "-subj", "/CN=mid"])
            try openssl([
                "x509", "-req", "-in", path("mid.csr"), "-CA", path("ca1.pem"), "-CAkey", path("ca1-key.pem"),
                "-CAcreateserial", "-out", path("mid.pem"), "-days", "2", "-extfile", path("ca.ext"),
            ])
            for (name, issuer, days) in [("client1", "ca1", "2"), ("client2", "ca2", "2"), ("expired", "ca1", "0"), ("leaf", "mid", "2")] {
                try openssl(["req"] + key + ["-keyout", path(name + "-key.pem"), "-out", path(name + ".csr"), "-subj", "/CN=\(name)"])
                try openssl([
                    "x509", "-req", "-in", path(name + ".csr"), "-CA", path(issuer + ".pem"), "-CAkey", path(issuer + "-key.pem"),
                    "-CAcreateserial", "-out", path(name + ".pem"), "-days", days,
                ])
            }
            // The leaf with its intermediate, as a client sends a chain.
            try (String(contentsOfFile: path("leaf.pem"), encoding: .utf8) + String(contentsOfFile: path("mid.pem"), encoding: .utf8))
                .write(toFile: path("leaf-chain.pem"), atomically: true, encoding: .utf8)
        }
    }

    /// The HTTP status curl gets presenting `client` (nil: no certificate); `000` when the handshake failed.
    static func status(port: UInt16, server: Certificate, client: String?, key: String? = nil, _ a: Authorities) throws -> String {
        var arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", server.certificate]
        if let client { arguments += ["--cert", a.path(client + ".pem"), "--key", a.path((key ?? client) + "-key.pem")] }
        return try Certificate.run("/usr/bin/curl", arguments + ["https://127.0.0.1:\(port)/x"]).1
    }

    @Test("a client certificate is accepted only from a CA of the file: not from another CA, not expired, not without one; the certificate request names no CA; an intermediate the client sends is followed, over HTTP/2 and HTTP/1.1 alike; SIGHUP reads the file again (a new CA in, the old one out), and a file that cannot be used is refused with the old CAs kept")
    func authoritiesReloadOnHangUp() throws {
        let server = try Certificate()
        defer { server.remove() }
        let a = try Authorities(in: server.directory)
        let fixture = try ServeFixture(label: "tls-client-ca")
        defer { fixture.remove() }
        let live = fixture.directory + "/clients-ca.pem"
        func install(_ text: String) throws {
            try? FileManager.default.removeItem(atPath: live)
            try text.write(toFile: live, atomically: true, encoding: .utf8)
        }
        let ca1 = try String(contentsOfFile: a.path("ca1.pem"), encoding: .utf8)
        let ca2 = try String(contentsOfFile: a.path("ca2.pem"), encoding: .utf8)
        try install(ca1)
        let (gateway, port) = try fixture.startServe([
            "--tls-certificate", server.certificate, "--tls-key", server.key, "--tls-client-ca", live,
        ])
        defer { gateway.stop() }
        #expect(try Self.status(port: port, server: server, client: "client1", a) == "403")
        #expect(try Self.status(port: port, server: server, client: "client2", a) == "000")
        #expect(try Self.status(port: port, server: server, client: nil, a) == "000")
        sleep(1)  // the expired certificate's one second is over
        #expect(try Self.status(port: port, server: server, client: "expired", a) == "000")
        #expect(try Self.status(port: port, server: server, client: "leaf-chain", key: "leaf", a) == "403")
        #expect(try Self.status(port: port, server: server, client: "leaf", a) == "000")
        // The certificate request names no CA, so a reload leaves no stale list in it.
        let (_, handshake) = try Certificate.run("/bin/sh", [
            "-c", "openssl s_client -connect 127.0.0.1:\(port) -cert '\(a.path("client1.pem"))' -key '\(a.path("client1-key.pem"))' </dev/null 2>&1",
        ])
        #expect(handshake.contains("No client certificate CA names sent"), "\(handshake.suffix(800))")

        func hangUp(expecting line: String) -> Bool { GatewayTLSTests.hangUp(gateway, expecting: line) }
        try install(ca2)
        #expect(hangUp(expecting: "tls client CAs reloaded"))
        #expect(try Self.status(port: port, server: server, client: "client2", a) == "403")
        #expect(try Self.status(port: port, server: server, client: "client1", a) == "000")

        try install(ca1 + ca2)
        #expect(hangUp(expecting: "tls client CAs reloaded"))
        #expect(try Self.status(port: port, server: server, client: "client1", a) == "403")
        #expect(try Self.status(port: port, server: server, client: "client2", a) == "403")

        // Not PEM certificates, then no certificate at all: refused, the CAs in force stay.
        for broken in ["-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", "# no certificate here\n"] {
            try install(broken)
            #expect(hangUp(expecting: "tls client CA reload failed"))
            #expect(try Self.status(port: port, server: server, client: "client1", a) == "403")
            #expect(try Self.status(port: port, server: server, client: "client2", a) == "403")
        }
        // The certificate and key are read again on the same signal.
        let log = String(decoding: gateway.stdout + gateway.stderr, as: UTF8.self)
        #expect(log.contains("tls certificate reloaded"), "\(log.suffix(600))")

        // HTTP/1.1 only (`--no-http2`, another TLS channel): the same judgement.
        try install(ca1)
        let (http1, http1Port) = try fixture.startServe([
            "--tls-certificate", server.certificate, "--tls-key", server.key, "--tls-client-ca", live, "--no-http2",
        ])
        defer { http1.stop() }
        #expect(try Self.status(port: http1Port, server: server, client: "client1", a) == "403")
        #expect(try Self.status(port: http1Port, server: server, client: "client2", a) == "000")
        #expect(try Self.status(port: http1Port, server: server, client: "expired", a) == "000")
    }

    @Test(
        "each connection keeps its own client certificate: two clients with certificates of different names, each sending 40 requests over one kept-alive connection at the same time, every echo names that connection's certificate, over HTTP/1.1 and HTTP/2"
    )
    func eachConnectionKeepsItsOwnCertificate() throws {
        let server = try Certificate()
        defer { server.remove() }
        let a = try Authorities(in: server.directory)
        let fixture = try ServeFixture(label: "tls-client-cert-per-connection")
        defer { fixture.remove() }
        let authorities = fixture.directory + "/clients-ca.pem"
        try (String(contentsOfFile: a.path("ca1.pem"), encoding: .utf8)
            + String(contentsOfFile: a.path("ca2.pem"), encoding: .utf8))
            .write(toFile: authorities, atomically: true, encoding: .utf8)
        let requests = 40
        for (version, flags) in [("http1.1", ["--no-http2"]), ("http2", [])] {
            let (gateway, port) = try fixture.startServe(
                [
                    "--tls-certificate", server.certificate, "--tls-key", server.key, "--tls-client-ca", authorities,
                    "--dev-no-auth",
                ] + flags)
            defer { gateway.stop() }
            // One curl per certificate, each sending every request over its one connection (a curl
            // config of URLs reuses it), both at once.
            let clients = try ["client1", "client2"].map { name in
                let config = fixture.directory + "/\(name)-\(version).cfg"
                try (1...requests).map { "url = \"https://127.0.0.1:\(port)/\(name)/\($0)\"\n" }.joined()
                    .write(toFile: config, atomically: true, encoding: .utf8)
                return try GatewayHygieneTests.Child(
                    "/usr/bin/curl",
                    [
                        "-sS", "--\(version)", "-K", config, "--cacert", server.certificate, "--cert",
                        a.path(name + ".pem"), "--key", a.path(name + "-key.pem"), "-w", "\n%{num_connects}\n",
                    ],
                    environment: ProcessInfo.processInfo.environment, directory: fixture.directory,
                    name: "\(name)-\(version)")
            }
            for (name, client) in zip(["client1", "client2"], clients) {
                client.process.waitUntilExit()
                let output = String(decoding: client.stdout, as: UTF8.self)
                let other = name == "client1" ? "client2" : "client1"
                let own = output.components(separatedBy: "\"client_cert_subject\":\"CN=\(name)\"").count - 1
                #expect(own == requests, "\(version) \(name): \(own) of \(requests) name it: \(output.suffix(400))")
                #expect(!output.contains("CN=\(other)"), "\(version) \(name) was named \(other)")
                // One connection opened, the other requests on it.
                let connects = output.split(separator: "\n").filter { $0 == "1" || $0 == "0" }
                #expect(connects.filter { $0 == "1" }.count == 1 && connects.count == requests, "\(version) \(name)")
            }
        }
    }

    @Test(
        "a connection's client certificate is read once (one debug line for 30 requests over it), and its entry goes when the connection closes (the next connection's read finds only itself open)"
    )
    func certificateReadOncePerConnection() throws {
        let server = try Certificate()
        defer { server.remove() }
        let a = try Authorities(in: server.directory)
        let fixture = try ServeFixture(label: "tls-client-cert-read-once")
        defer { fixture.remove() }
        let (gateway, port) = try fixture.startServe([
            "--tls-certificate", server.certificate, "--tls-key", server.key, "--tls-client-ca", a.path("ca1.pem"),
            "--dev-no-auth", "--no-http2", "--log-level", "debug",
        ])
        defer { gateway.stop() }
        func reads() -> [Substring] {
            String(decoding: gateway.stdout + gateway.stderr, as: UTF8.self).split(separator: "\n")
                .filter { $0.contains("client certificate read") }
        }
        let config = fixture.directory + "/thirty.cfg"
        try (1...30).map { "url = \"https://127.0.0.1:\(port)/once/\($0)\"\noutput = \"/dev/null\"\n" }.joined()
            .write(toFile: config, atomically: true, encoding: .utf8)
        let curl = [
            "-sS", "-K", config, "--cacert", server.certificate, "--cert", a.path("client1.pem"), "--key",
            a.path("client1-key.pem"), "-w", "%{http_code} %{num_connects}\n",
        ]
        let pid = gateway.process.processIdentifier
        func sockets() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).filter {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)"))?
                    .hasPrefix("socket:") == true
            }.count
        }
        let idle = sockets()
        for round in 1...2 {
            let (status, output) = try Certificate.run("/usr/bin/curl", curl)
            #expect(status == 0 && output.split(separator: "\n").count == 30, "round \(round): \(output)")
            #expect(output.split(separator: "\n").allSatisfy { $0.hasPrefix("200 ") }, "round \(round): \(output)")
            // The line is logged before the answer; give the log a moment to reach the file.
            for _ in 0..<40 where reads().count < round { usleep(50_000) }
            let lines = reads()
            #expect(lines.count == round, "round \(round): \(lines)")
            // The first curl's connection closed before the second opened: its entry is gone.
            #expect(lines.last?.contains("open_connections=1") == true, "round \(round): \(lines)")
            // The gateway has closed curl's connection (up to 10 s on a loaded machine), and then run
            // what its close runs (the entry's removal) before the next connection opens.
            for _ in 0..<200 where sockets() > idle { usleep(50_000) }
            usleep(300_000)
        }
    }
}
