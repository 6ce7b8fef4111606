import Foundation
import SigV4TestSupport
import Testing

/// What the tests of the built `sigv4 serve` share: a temporary directory with an initialised key
/// store (the hygiene suite's master key), keys created in it through `sigv4 keys create`, and the
/// gateway started on a free port of 127.0.0.1.
///
/// ```swift
/// let fixture = try ServeFixture(label: "my-suite")
/// defer { fixture.remove() }
/// let (id, secret) = try fixture.createKey(principal: "alice")
/// let (gateway, port) = try fixture.startServe(["--idle-timeout", "1"])
/// ```
struct ServeFixture {
    let directory: String
    let store: String
    let environment: [String: String]

    /// Makes the directory and the key store; `environment` is added to the child environment.
    init(label: String, environment extra: [String: String] = [:]) throws {
        directory = NSTemporaryDirectory() + "sigv4-\(label)-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        store = directory + "/keys.db"
        environment = [
            "PATH": "/usr/bin:/bin", "HOME": directory, "SIGV4_KEYSTORE_MASTER_KEY": "1:\(GatewayHygieneTests.masterHex)",
        ].merging(ChildEnvironment.sanitizers) { $1 }.merging(extra) { $1 }
        #expect(try GatewayBinaryTests.run(["keys", "init", "--keystore", store], environment: environment).0 == 0)
    }

    /// A new key for `principal`, as `sigv4 keys create --format json` printed it: its id and secret.
    func createKey(principal: String, _ arguments: [String] = []) throws -> (accessKeyID: String, secret: String) {
        let (created, keyJSON) = try GatewayBinaryTests.run(
            ["keys", "create", "--keystore", store, "--principal", principal, "--format", "json"] + arguments,
            environment: environment)
        #expect(created == 0)
        let key = try JSONSerialization.jsonObject(with: Data(keyJSON.utf8)) as? [String: Any]
        let id = try #require(key?["access_key_id"] as? String)
        let secret = try #require(key?["secret_access_key"] as? String)
        return (id, secret)
    }

    /// Starts `sigv4 serve --listen 127.0.0.1:0 --keystore <store>` with `arguments` and waits for its
    /// banner (`http://` or, with `--tls-certificate`, `https://`); returns the process and the port it chose.
    func startServe(_ arguments: [String]) throws -> (GatewayHygieneTests.Child, UInt16) {
        let gateway = try GatewayHygieneTests.Child(
            GatewayBinaryTests.binary.path, ["serve", "--listen", "127.0.0.1:0", "--keystore", store] + arguments,
            environment: environment, directory: directory, name: "gateway")
        // The access log shares stdout: find the banner line among the log lines.
        let banner = try #require(
            gateway.line(startingWith: "sigv4 serve: listening on http"),
            "sigv4 serve did not start: \(String(decoding: gateway.stderr, as: UTF8.self).suffix(2000))")
        let address = banner.split(separator: " ").first { $0.hasPrefix("http://") || $0.hasPrefix("https://") } ?? ""
        let port = try #require(address.split(separator: ":").last.flatMap { UInt16($0) }, "\(banner)")
        return (gateway, port)
    }

    /// Removes the directory.
    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
