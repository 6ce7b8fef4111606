import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import SigV4
import SigV4AsyncHTTPClient
import SigV4TestSupport
import Testing

/// Runs the built `sigv4` binary: `sigv4 demo`, and `sigv4 serve` in echo mode with a real key store.
@Suite("sigv4 serve and sigv4 demo (built binary)")
struct GatewayBinaryTests {
    @Test(
        "an --upstream that is not an http(s) URL is a usage error (exit 2) before anything starts",
        arguments: ["ftp://127.0.0.1:9000", "http://", "not-a-url"])
    func badUpstreamIsAUsageError(upstream: String) throws {
        let (status, output) = try Self.run(["serve", "--listen", "127.0.0.1:0", "--upstream", upstream])
        #expect(status == 2, "\(output)")
    }

    @Test(
        "an --upstream with a query, a fragment, user info or a prefix byte to encode is a usage error (exit 2): the target is appended to the URL, so after a '?' it was the upstream's query (every request reached /tenant)",
        arguments: [
            "http://127.0.0.1:9/tenant?x=1", "http://127.0.0.1:9?x", "http://127.0.0.1:9/tenant#x",
            "http://127.0.0.1:9#x",
            "http://user:secret@127.0.0.1:9/tenant", "http://127.0.0.1:9/ten ant", "http://127.0.0.1:9/t|x",
        ])
    func upstreamWithAQueryOrFragmentIsAUsageError(upstream: String) throws {
        // Under `timeout`: a gateway that took the URL would serve until stopped (124).
        let (status, output) = try Self.run(
            ["10", Self.binary.path, "serve", "--listen", "127.0.0.1:0", "--keystore", "/nonexistent/keys.db",
             "--upstream", upstream], executable: URL(fileURLWithPath: "/usr/bin/timeout"))
        #expect(status == 2, "\(upstream): \(output)")
    }

    /// `.build/<config>/sigv4`, next to the test bundle.
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("sigv4")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/sigv4")
    }

    /// Runs the binary to completion and returns (status, stdout).
    static func run(_ arguments: [String], environment: [String: String] = [:], executable: URL? = nil) throws
        -> (Int32, String)
    {
        let result = try ChildProcess.run(
            executable ?? binary, arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 })
        return (result.status, String(decoding: result.stdout, as: UTF8.self))
    }

    @Test("sigv4 demo shows every verdict as expected and exits 0")
    func demo() throws {
        let (status, output) = try Self.run(["demo"])
        #expect(status == 0)
        #expect(output.contains("sigv4 demo: every verdict as expected."))
        #expect(output.components(separatedBy: "✔").count - 1 == 11)
        #expect(output.contains("accepted: 200, 3 messages verified"))
        #expect(output.contains("refused mid-stream: SignatureDoesNotMatch (1 message before it)"))
        #expect(output.contains("refused: 400 EntityTooLarge"))
        #expect(output.contains("refused: 403 RequestReplayed"))
        #expect(output.contains("refused: 400 XAmzContentSHA256Mismatch"))
        #expect(output.contains("refused: 400 BadDigest"))
        #expect(output.contains("curl --aws-sigv4"))
    }

    @Test("sigv4 serve answers the verified identity, refuses a bad signature, and stops on SIGTERM")
    func serveEchoMode() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sigv4-serve-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = directory.appendingPathComponent("keys.db").path
        #expect(try Self.run(["keys", "init", "--keystore", store]).0 == 0)
        let (created, keyJSON) = try Self.run(["keys", "create", "--keystore", store, "--principal", "tester", "--format", "json"])
        #expect(created == 0)
        let key = try JSONSerialization.jsonObject(with: Data(keyJSON.utf8)) as? [String: Any]
        let id = try #require(key?["access_key_id"] as? String)
        let secret = try #require(key?["secret_access_key"] as? String)

        let process = Process()
        process.executableURL = Self.binary
        process.arguments = ["serve", "--listen", "127.0.0.1:0", "--keystore", store, "--region", "us-east-1"]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The first line names the address: "sigv4 serve: listening on http://127.0.0.1:PORT (...)".
        var banner = ""
        // The access log shares stdout, so read until the banner line itself has arrived.
        while !banner.contains("sigv4 serve: listening on") || !banner.hasSuffix("\n"), banner.utf8.count < 1 << 16 {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner += String(decoding: chunk, as: UTF8.self)
        }
        let bannerLine = banner.split(separator: "\n").first { $0.hasPrefix("sigv4 serve: listening on") } ?? ""
        let found = bannerLine.split(separator: " ").first(where: { $0.hasPrefix("http://") }).map(String.init)
        if found == nil, !process.isRunning {
            // The server exited before announcing its address: show why.
            let why = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            Issue.record("sigv4 serve exited with \(process.terminationStatus) before listening: \(why.suffix(2000))")
        }
        let base = try #require(found, "no address in the banner: \(banner.debugDescription)")

        let signer = Signer(credentials: Credentials(accessKeyID: id, secretAccessKey: secret), region: "us-east-1", service: "s3")
        var good = HTTPClientRequest(url: "\(base)/bucket/key.txt")
        let signedAt = AmzDate(Date())
        try good.sign(with: signer, payload: .emptySHA256, at: signedAt)
        let accepted = try await HTTPClient.shared.execute(good, timeout: .seconds(10))
        let identity = String(buffer: try await accepted.body.collect(upTo: 1 << 16))
        #expect(accepted.status.code == 200)
        #expect(
            identity == #"{"method":"GET","path":"/bucket/key.txt","body_bytes":"0","access_key_id":"\#(id)","#
                + #""principal":"tester","region":"us-east-1","service":"s3","signed_at":"\#(signedAt.iso8601Basic)","#
                + #""presigned":"false"}"# + "\n")

        // SigV4a (on by default): the same identity, with the region set in the echoed region.
        let v4a = try SigV4aSigner(
            credentials: Credentials(accessKeyID: id, secretAccessKey: secret), regionSet: ["us-*"], service: "s3")
        let v4aSigned = try v4a.sign(
            HTTPRequest(method: .get, scheme: "http", authority: String(base.dropFirst("http://".count)), path: "/bucket/a.txt"),
            payload: .emptySHA256, at: AmzDate(Date()))
        var sigv4aRequest = HTTPClientRequest(url: "\(base)/bucket/a.txt")
        for field in v4aSigned.request.headerFields { sigv4aRequest.headers.add(name: field.name.rawName, value: field.value) }
        let sigv4aAccepted = try await HTTPClient.shared.execute(sigv4aRequest, timeout: .seconds(10))
        let sigv4aIdentity = String(buffer: try await sigv4aAccepted.body.collect(upTo: 1 << 16))
        #expect(sigv4aAccepted.status.code == 200, "\(sigv4aIdentity)")
        #expect(sigv4aIdentity.contains(#""principal":"tester","region":"us-*","service":"s3""#), "\(sigv4aIdentity)")

        let wrong = Signer(credentials: Credentials(accessKeyID: id, secretAccessKey: "not-the-secret"), region: "us-east-1", service: "s3")
        var bad = HTTPClientRequest(url: "\(base)/bucket/key.txt")
        try bad.sign(with: wrong, payload: .emptySHA256, at: AmzDate(Date()))
        let refused = try await HTTPClient.shared.execute(bad, timeout: .seconds(10))
        let body = String(buffer: try await refused.body.collect(upTo: 1 << 16))
        #expect(refused.status.code == 403)
        #expect(body.contains("<Code>SignatureDoesNotMatch</Code>"))
        #expect(!body.contains("not-the-secret") && !body.contains(secret))

        process.terminate()  // SIGTERM: graceful shutdown
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        // The access log (info level, on stdout) has one line per request, with the elapsed time, the client's address and no secret.
        let log = banner + String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let accessLines = log.split(separator: "\n").filter { $0.contains("sigv4.access") }
        #expect(accessLines.count == 3)
        #expect(accessLines.contains { $0.contains("status=200") && $0.contains("principal=tester") })
        #expect(accessLines.contains { $0.contains("status=403") && $0.contains("code=SignatureDoesNotMatch") })
        #expect(accessLines.allSatisfy { $0.contains(/\sms=\d+\.\d\d(\s|$)/) })
        // Each names the connection's peer (the client's address).
        #expect(accessLines.allSatisfy { $0.contains("client=127.0.0.1") }, "\(accessLines)")
        #expect(!log.contains(secret))
    }

    @Test("sigv4 serve keeps verifying every key through an online `sigv4 keys rewrap --drop-unused`")
    func serveThroughAnOnlineRewrap() async throws {
        // The master key in a key file (the variable emptied), as `sigv4 keys init` makes it.
        let fixture = try ServeFixture(label: "online-rewrap", environment: ["SIGV4_KEYSTORE_MASTER_KEY": ""])
        defer { fixture.remove() }
        #expect(FileManager.default.fileExists(atPath: fixture.store + ".masterkey"))
        let early = try fixture.createKey(principal: "early")
        let late = try fixture.createKey(principal: "late")
        let (gateway, port) = try fixture.startServe([])
        defer { gateway.stop() }
        func status(_ key: (accessKeyID: String, secret: String)) async throws -> UInt {
            let signer = Signer(
                credentials: Credentials(accessKeyID: key.accessKeyID, secretAccessKey: key.secret),
                region: "us-east-1", service: "s3")
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/bucket/key.txt")
            try request.sign(with: signer, payload: .emptySHA256, at: AmzDate(Date()))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 16)
            return response.status.code
        }
        #expect(try await status(early) == 200)
        let (rewrapped, report) = try Self.run(
            ["keys", "rewrap", "--drop-unused", "--keystore", fixture.store], environment: fixture.environment)
        #expect(rewrapped == 0, "\(report)")
        #expect(report.contains(#""current_version":2,"moved":2,"dropped_versions":[1]"#), "\(report)")
        // The gateway read its master keys (version 1 only) at start; "late" was never looked up, and
        // "early" is looked up again once the generation check (1 s) drops the cache.
        #expect(try await status(late) == 200)
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(try await status(early) == 200)
        #expect(try await status(late) == 200)
    }
}
