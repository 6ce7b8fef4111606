import Foundation
import SigV4
import SigV4KeyStore
import Testing

/// Runs the built `sigv4 keys …` commands end to end.
@Suite struct KeysCommandTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not JSON: \(text)")
    }

    @Test func afterInitEveryCommandWorksOnTheStoreAndNoListingPrintsASecret() throws {
        let dir = TempDir()
        let db = dir.file("sub/keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        let initRun = try runSigV4(["keys", "init"], environment: env)
        #expect(initRun.status == 0, "\(initRun.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: db + ".masterkey")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try runSigV4(["keys", "init"], environment: env).status == 1)  // never overwrites

        var secrets: [String] = []
        let created = try runSigV4(
            ["keys", "create", "--principal", "alice", "--service", "s3", "--region", "us-east-1", "--format", "json"],
            environment: env)
        #expect(created.status == 0, "\(created.stderr)")
        let first = try json(created.stdout)
        let firstID = try #require(first["access_key_id"] as? String)
        secrets.append(try #require(first["secret_access_key"] as? String))
        #expect(first["principal"] as? String == "alice")

        let envForm = try runSigV4(
            ["keys", "create", "--keystore", db, "--principal", "bob", "--format", "env"], environment: [:])
        #expect(envForm.status == 0, "\(envForm.stderr)")
        let lines = envForm.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasPrefix("export AWS_ACCESS_KEY_ID=SV4K"))
        #expect(lines[1].hasPrefix("export AWS_SECRET_ACCESS_KEY='"))
        secrets.append(String(lines[1].dropFirst("export AWS_SECRET_ACCESS_KEY='".count).dropLast()))

        let profile = try runSigV4(
            [
                "keys", "rotate", "--principal", "alice", "--overlap", "2h", "--format", "aws-credentials", "--profile",
                "prod",
            ], environment: env)
        #expect(profile.status == 0, "\(profile.stderr)")
        let profileLines = profile.stdout.split(separator: "\n")
        #expect(profileLines.first == "[prod]")
        #expect(profileLines.count == 3)
        #expect(profileLines[1].hasPrefix("aws_access_key_id = SV4K"))
        secrets.append(String(profileLines[2].dropFirst("aws_secret_access_key = ".count)))
        #expect(secrets.allSatisfy { $0.count == 40 })

        let shown = try json(try runSigV4(["keys", "show", firstID], environment: env).stdout)
        #expect(shown["state"] as? String == "retiring")
        #expect((shown["scope"] as? [String: Any])?["services"] as? [String] == ["s3"])

        let table = try runSigV4(["keys", "list"], environment: env)
        let listJSON = try runSigV4(["keys", "list", "--format", "json"], environment: env)
        let audit = try runSigV4(["keys", "audit", "--format", "json"], environment: env)
        let show = try runSigV4(["keys", "show", firstID], environment: env)
        for output in [table, listJSON, audit, show] {
            #expect(output.status == 0, "\(output.stderr)")
            for secret in secrets { #expect(!output.stdout.contains(secret)) }
        }
        #expect(table.stdout.split(separator: "\n").count == 4)  // header + three keys
        #expect(!listJSON.stdout.contains("secret"))

        #expect(try runSigV4(["keys", "deactivate", firstID], environment: env).status == 0)
        #expect(try runSigV4(["keys", "activate", firstID], environment: env).status == 0)
        #expect(try runSigV4(["keys", "deactivate", firstID], environment: env).status == 0)
        let early = try runSigV4(["keys", "delete", firstID], environment: env)
        #expect(early.status == 1)
        #expect(early.stderr.contains("retentionNotElapsed"))
        #expect(try runSigV4(["keys", "delete", firstID, "--force"], environment: env).status == 0)
        let rewrap = try json(try runSigV4(["keys", "rewrap", "--drop-unused"], environment: env).stdout)
        #expect(rewrap["current_version"] as? Int == 2)
        #expect(rewrap["dropped_versions"] as? [Int] == [1])
        let afterRewrap = try runSigV4(["keys", "list", "--format", "json"], environment: env)
        #expect(afterRewrap.status == 0, "\(afterRewrap.stderr)")
        let actions = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try runSigV4(["keys", "audit", "--format", "json"], environment: env).stdout.utf8))
                as? [[String: Any]])
        #expect(actions.compactMap { $0["actor"] as? String }.allSatisfy { $0.hasPrefix("tester@") })
        #expect(actions.last?["action"] as? String == "masterkey.drop")
    }

    @Test func errorsNameTheirCodeAndExitOne() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = ["SIGV4_KEYSTORE": db]
        let missing = try runSigV4(["keys", "list"], environment: env)
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("storeNotFound"))
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        let unknown = try runSigV4(["keys", "deactivate", "SV4KAAAAAAAAAAAAAAAA"], environment: env)
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknownKey"))
        #expect(try runSigV4(["keys", "create", "--principal", "alice"], environment: env).status == 0)
        let duplicate = try runSigV4(["keys", "create", "--principal", "alice", "--new-principal"], environment: env)
        #expect(duplicate.status == 1)
        #expect(duplicate.stderr.contains("duplicatePrincipal"))
        chmod(db + ".masterkey", 0o644)
        let loose = try runSigV4(["keys", "list"], environment: env)
        #expect(loose.status == 1)
        #expect(loose.stderr.contains("keyFilePermissions"))
        chmod(db + ".masterkey", 0o600)
        let wrong = try runSigV4(
            ["keys", "list"],
            environment: env.merging(["SIGV4_KEYSTORE_MASTER_KEY": String(repeating: "0", count: 64)]) { $1 })
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("wrongMasterKey"))
        let audit = try runSigV4(["keys", "audit", "--format", "json"], environment: env)
        let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(events.count == 3)  // register, principal, key: the refused calls left nothing
    }

    @Test func aValueNoKeyOrPrincipalCanHaveIsAUsageErrorNotAnEmptyAnswer() throws {
        let dir = TempDir()
        let env = ["SIGV4_KEYSTORE": dir.file("keys.db")]
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        for (arguments, why) in [
            (["keys", "audit", "--key", "not an id!"], "not a valid key id"),
            (["keys", "list", "--principal", "bad name!"], "a principal name is"),
            (["keys", "list", "--keystore", ""], "--keystore needs a path"),
            (["keys", "list", "--master-key-file", ""], "--master-key-file needs a path"),
            // A key no request could use, or a value the store refuses: usage errors too (they were exit 1,
            // and the first three made a key that counted against the limit and verified nothing).
            (["keys", "create", "--principal", "bob", "--path-prefix", "photos/"], "a path prefix starts with '/'"),
            (["keys", "create", "--principal", "bob", "--method", "GET POST"], "a method is an HTTP token"),
            (["keys", "create", "--principal", "bad name!"], "a principal name is"),
            (["keys", "create", "--principal", "bob", "--max-presign-lifetime", "0"], "presign lifetime"),
            (["keys", "create", "--principal", "bob", "--region", ""], "scope entries must be non-empty"),
            (["keys", "rotate", "--principal", "bob", "--overlap", "400d"], "0 to 366 days"),
        ] {
            let result = try runSigV4(arguments, environment: env)
            #expect(result.status == 2 && result.stderr.contains(why), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        }
        #expect(try runSigV4(["keys", "list", "--principal", "alice"], environment: env).status == 0)
        // None of them made a key.
        let listed = try runSigV4(["keys", "list", "--format", "json"], environment: env)
        #expect(listed.status == 0 && !listed.stdout.contains("bob"), "\(listed.stdout)")
        #expect(try runSigV4(["keys", "create", "--principal", "bob", "--path-prefix", "/photos/"], environment: env).status == 0)
    }

    @Test func aRewrapWithKeysOlderThanTheStoresNewestVersionSaysSoInsteadOfReportingNothingMoved() throws {
        let dir = TempDir()
        let db = dir.file("keys.db")
        let one = "1:" + String(repeating: "1", count: 64)
        let two = "2:" + String(repeating: "2", count: 64)
        #expect(
            try runSigV4(["keys", "init"], environment: ["SIGV4_KEYSTORE": db, "SIGV4_KEYSTORE_MASTER_KEY": one]).status
                == 0)
        let newer = try runSigV4(
            ["keys", "rewrap"], environment: ["SIGV4_KEYSTORE": db, "SIGV4_KEYSTORE_MASTER_KEY": one + "," + two])
        #expect(newer.status == 0, "\(newer.stderr)")
        #expect(newer.stdout.contains(#""current_version":2"#), "\(newer.stdout)")
        // The variable without version 2 (an operator who forgot to add it on this host).
        let older = try runSigV4(
            ["keys", "rewrap"], environment: ["SIGV4_KEYSTORE": db, "SIGV4_KEYSTORE_MASTER_KEY": one])
        #expect(older.status == 1)
        #expect(older.stderr.contains("staleMasterKeyRing") && older.stderr.contains("version 2"), "\(older.stderr)")
        #expect(!older.stderr.contains(String(repeating: "1", count: 64)))  // the key is never echoed
    }
}
