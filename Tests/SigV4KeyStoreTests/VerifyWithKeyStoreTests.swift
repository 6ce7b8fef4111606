import Foundation
import Testing

/// `sigv4 verify --keystore`: keys resolved from the store, revocations honoured.
@Suite struct VerifyWithKeyStoreTests {
    @Test func aRequestSignedWithAStoreKeyVerifiesUntilTheKeyIsDeactivated() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        let created = try runSigV4(["keys", "create", "--principal", "alice", "--format", "json"], environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let key = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        let id = try #require(key["access_key_id"] as? String)
        let secret = try #require(key["secret_access_key"] as? String)

        let timestamp = "20261129T120000Z"
        let signed = try runSigV4(
            [
                "sign", "https://example.amazonaws.com/items?x=1", "-X", "GET", "--region", "us-east-1", "--service",
                "execute-api", "--access-key-id", id, "--secret-access-key", secret, "--timestamp", timestamp,
                "--format", "http",
            ], environment: [:])
        #expect(signed.status == 0, "\(signed.stderr)")
        let requestFile = dir.file("request.http")
        try Data(signed.stdout.utf8).write(to: URL(fileURLWithPath: requestFile))

        let verify = ["verify", "--keystore", db, "--request", requestFile, "--now", timestamp, "--format", "json"]
        let accepted = try runSigV4(verify, environment: [:])
        #expect(accepted.status == 0, "\(accepted.stdout) \(accepted.stderr)")
        let verdict = try #require(try JSONSerialization.jsonObject(with: Data(accepted.stdout.utf8)) as? [String: Any])
        #expect(verdict["ok"] as? Bool == true)
        #expect(verdict["principal"] as? String == "alice")
        #expect(verdict["access_key_id"] as? String == id)
        #expect(!accepted.stdout.contains(secret))
        // The key's last use is in the store, as a server records it.
        let shown = try runSigV4(["keys", "show", id], environment: env)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let lastUsed = record["last_used"] as? [String: Any]
        #expect(lastUsed?["service"] as? String == "execute-api", "\(shown.stdout)")

        #expect(try runSigV4(["keys", "deactivate", id], environment: env).status == 0)
        let refused = try runSigV4(verify, environment: [:])
        #expect(refused.status == 1)
        let refusal = try #require(try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any])
        #expect(refusal["ok"] as? Bool == false)
        #expect(refusal["code"] as? String == "InvalidAccessKeyId")
    }

    @Test func aMissingKeyStoreIsAUsageError() throws {
        let dir = TempDir()
        let result = try runSigV4(
            ["verify", "--keystore", dir.file("nope.db"), "--request", dir.file("none.http")], environment: [:])
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
