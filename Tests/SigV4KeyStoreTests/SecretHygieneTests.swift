import Foundation
import SigV4
import SigV4KeyStore
import Testing
import _SigV4Crypto

/// Runs every `sigv4` command that exists in this build with known secrets and scans everything it prints
/// (stdout, stderr, error messages) for the secrets and for the signing keys derived from them, as hex, base64
/// and raw bytes. Each command's own newly issued secret (`keys create`, `keys rotate`) is the only secret it may
/// print. Commands still in progress on other branches are run too (placeholders); when they land with the
/// documented options (`--secret-access-key`, `--verbose`), those options are passed.
@Suite(.serialized) struct SecretHygieneTests {
    static let secret = "hYgIeNe/SeCrEt+KeY0123456789abcdefghijkl"
    static let masterHex = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2"

    /// The signing key of `secret` for a scope: HMAC chain "AWS4"+secret → date → region → service → aws4_request.
    static func derivedKey(_ secret: String, date: String, region: String, service: String) -> [UInt8] {
        var key = Array("AWS4\(secret)".utf8)
        for part in [date, region, service, "aws4_request"] {
            let digest = key.withUnsafeBytes { k in
                Array(part.utf8).withUnsafeBytes { HMACKey.authenticationCode(key: k, message: $0) }
            }
            key = digest.withUnsafeBytes { Array($0) }
        }
        return key
    }

    /// Every form in which `secret` or its derived keys must not appear.
    static func forbidden(_ secret: String) -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = [("secret", Array(secret.utf8))]
        let today = AmzDate(secondsSince1970: Int64(Date().timeIntervalSince1970)).dateStamp
        for date in ["20150830", today] {
            for (region, service) in [("us-east-1", "s3"), ("us-east-1", "service"), ("us-east-1", "execute-api")] {
                let key = derivedKey(secret, date: date, region: region, service: service)
                out.append(("signing key \(date)/\(region)/\(service) raw", key))
                out.append(("signing key hex", Array(key.map { String(format: "%02x", $0) }.joined().utf8)))
                out.append(("signing key HEX", Array(key.map { String(format: "%02X", $0) }.joined().utf8)))
                out.append(("signing key base64", Array(Data(key).base64EncodedString().utf8)))
            }
        }
        return out
    }

    struct Scan {
        var forbidden: [(String, [UInt8])] = []
        var commands = 0
        var findings: [String] = []

        mutating func check(_ what: String, _ result: ProcessResult, allowing allowed: String? = nil) {
            commands += 1
            for (stream, text) in [("stdout", result.stdout), ("stderr", result.stderr)] {
                var bytes = Array(text.utf8)
                if let allowed, stream == "stdout" {
                    // The command's own new secret is printed once, on purpose; blank it before scanning.
                    let a = Array(allowed.utf8)
                    var i = 0
                    while i + a.count <= bytes.count {
                        if Array(bytes[i..<(i + a.count)]) == a { bytes.replaceSubrange(i..<(i + a.count), with: [UInt8](repeating: 0x2a, count: a.count)) }
                        i += 1
                    }
                }
                for (name, needle) in forbidden where contains(bytes, needle) {
                    findings.append("\(what) \(stream): \(name)")
                }
            }
        }
    }

    static func issuedSecret(_ stdout: String) -> (id: String, secret: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any],
            let id = object["access_key_id"] as? String, let secret = object["secret_access_key"] as? String
        else { return nil }
        return (id, secret)
    }

    static func helpText(_ command: [String]) throws -> String {
        let r = try runSigV4(command + ["--help"])
        return r.stdout + r.stderr
    }

    @Test("no command prints a secret, the master key, or a derived signing key")
    func noSecretsInAnyOutput() throws {
        _ = try #require(sigv4Executable(), "the sigv4 executable must be built (swift build)")
        let dir = TempDir()
        let db = dir.file("keys.db")
        let env = [
            "SIGV4_KEYSTORE": db, "SIGV4_KEYSTORE_MASTER_KEY": "1:\(Self.masterHex)",
            "AWS_ACCESS_KEY_ID": "AKIDHYGIENE", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_REGION": "us-east-1",
            "SIGV4_LOG_LEVEL": "debug", "LOG_LEVEL": "trace",
        ]
        var scan = Scan()
        scan.forbidden = Self.forbidden(Self.secret) + [("master key", Array(Self.masterHex.utf8))]

        // Key management, with the secrets it issues added to the forbidden list as they appear.
        scan.check("keys init", try runSigV4(["keys", "init"], environment: env))
        let created = try runSigV4(["keys", "create", "--principal", "alice"], environment: env)
        let issued = try #require(Self.issuedSecret(created.stdout), "keys create: \(created.stderr)")
        scan.check("keys create", created, allowing: issued.secret)
        scan.forbidden += Self.forbidden(issued.secret).map { ("issued " + $0.0, $0.1) }
        let second = try runSigV4(["keys", "create", "--principal", "bob", "--format", "env"], environment: env)
        let envSecret = second.stdout.split(separator: "\n").first { $0.hasPrefix("export AWS_SECRET_ACCESS_KEY=") }
            .map { String($0.dropFirst("export AWS_SECRET_ACCESS_KEY=".count)).trimmingCharacters(in: ["'"]) }
        #expect(envSecret != nil, "keys create --format env: \(second.stderr)")
        scan.check("keys create --format env", second, allowing: envSecret)
        if let envSecret { scan.forbidden += Self.forbidden(envSecret).map { ("issued " + $0.0, $0.1) } }
        for args in [
            ["keys", "list"], ["keys", "list", "--format", "json"], ["keys", "show", issued.id], ["keys", "audit"],
            ["keys", "show", "AKIDOESNOTEXIST0000"], ["keys", "create", "--principal", ""],
            ["keys", "retire", issued.id, "--at", "not-a-time"],
        ] {
            scan.check(args.joined(separator: " "), try runSigV4(args, environment: env))
        }
        let rotated = try runSigV4(["keys", "rotate", "--principal", "alice", "--overlap", "1h"], environment: env)
        let newSecret = Self.issuedSecret(rotated.stdout)?.secret
        scan.check("keys rotate", rotated, allowing: newSecret)
        if let newSecret { scan.forbidden += Self.forbidden(newSecret).map { ("rotated " + $0.0, $0.1) } }
        for args in [
            ["keys", "retire", issued.id], ["keys", "deactivate", issued.id], ["keys", "activate", issued.id],
            ["keys", "deactivate", issued.id], ["keys", "delete", issued.id], ["keys", "rewrap"], ["keys", "list"],
            ["keys", "audit"],
        ] {
            scan.check(args.joined(separator: " "), try runSigV4(args, environment: env))
        }
        // A wrong master key: the error must not show either key.
        var wrong = env
        wrong["SIGV4_KEYSTORE_MASTER_KEY"] = "1:" + String(repeating: "ee", count: 32)
        scan.check("keys list (wrong master key)", try runSigV4(["keys", "list"], environment: wrong))

        // Signing, verifying and explaining, with the secret on the command line where the command takes it.
        let raw = dir.file("request.http")
        try Array("GET / HTTP/1.1\r\nHost: example.amazonaws.com\r\nX-Amz-Date: 20150830T123600Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIDHYGIENE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=\(String(repeating: "0", count: 64))\r\n\r\n".utf8)
            .withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: raw)) }
        let common = ["--region", "us-east-1", "--service", "service", "--timestamp", "20150830T123600Z"]
        for (command, args) in [
            (["sign"], ["https://example.amazonaws.com/?a=b", "--format", "json"] + common),
            (["sign"], ["https://example.amazonaws.com/", "--presign", "--expires", "60", "--format", "curl"] + common),
            (["presign"], ["https://example.amazonaws.com/", "--expires", "60"] + common),
            (["explain"], ["https://example.amazonaws.com/"] + common),
            (["verify"], ["--request", raw, "--now", "20150830T123600Z", "--format", "json"]),
            (["curl"], common + ["--dry-run", "--", "https://example.amazonaws.com/"]),
        ] {
            let help = try Self.helpText(command)
            var full = command + args
            if help.contains("--access-key-id") { full += ["--access-key-id", "AKIDHYGIENE"] }
            if help.contains("--secret-access-key") { full += ["--secret-access-key", Self.secret] }
            if help.contains("--verbose") { full += ["--verbose"] }
            if help.contains("--debug") { full += ["--debug"] }
            scan.check(full.joined(separator: " "), try runSigV4(full, environment: env))
        }
        #expect(scan.findings.isEmpty, "\(scan.findings)")
        #expect(scan.commands >= 25)
    }

    /// Tokens of exactly 40 characters from the secret-key alphabet (`A-Z a-z 0-9 / +`), the shape of every
    /// secret access key this project issues: used where the secret is generated inside the command (`demo`).
    static func secretShapedTokens(_ text: String) -> [String] {
        func isSecretCharacter(_ c: Character) -> Bool {
            c.isASCII && (c.isLetter || c.isNumber || c == "/" || c == "+")
        }
        return text.split { !isSecretCharacter($0) }.map(String.init).filter { $0.count == 40 }
    }

    @Test("the paths the first scan does not reach: curl running curl, -u, --chunked, profiles, credential_process, explain --compare, verify --keystore, demo, interop-request")
    func noSecretsInTheRemainingPaths() throws {
        _ = try #require(sigv4Executable(), "the sigv4 executable must be built (swift build)")
        let dir = TempDir()
        let db = dir.file("keys.db")
        let profileSecret = "pRoFiLe/SeCrEt+KeY0123456789abcdefghijkl"
        let processSecret = "pRoCeSs/SeCrEt+KeY0123456789abcdefghijkl"
        let userSecret = "uSeRoPt/SeCrEt+KeY0123456789abcdefghijkl"
        let env = [
            "SIGV4_KEYSTORE": db, "SIGV4_KEYSTORE_MASTER_KEY": "1:\(Self.masterHex)",
            "AWS_ACCESS_KEY_ID": "AKIDHYGIENE", "AWS_SECRET_ACCESS_KEY": Self.secret, "AWS_REGION": "us-east-1",
            "SIGV4_LOG_LEVEL": "debug", "LOG_LEVEL": "trace",
        ]
        var scan = Scan()
        scan.forbidden = Self.forbidden(Self.secret) + Self.forbidden(profileSecret) + Self.forbidden(processSecret)
            + Self.forbidden(userSecret) + [("master key", Array(Self.masterHex.utf8))]

        // A stand-in curl that records its arguments, its stdin and every file it is given (the aws-chunked body).
        let record = dir.file("curl-record")
        let fakeCurl = dir.file("curl")
        try Data(
            """
            #!/bin/sh
            printf '%s\\n' "$@" >> '\(record)'
            cat >> '\(record)'
            for a in "$@"; do if [ -f "$a" ]; then cat "$a" >> '\(record)'; fi; done
            echo "fake curl ran"
            """.utf8
        ).write(to: URL(fileURLWithPath: fakeCurl))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fakeCurl)
        let upload = dir.file("upload.bin")
        try Data(repeating: 0x61, count: 20_000).write(to: URL(fileURLWithPath: upload))

        let url = "https://examplebucket.s3.amazonaws.com/hygiene.txt"
        let common = ["--region", "us-east-1", "--service", "s3", "--verbose"]
        for args in [
            ["curl"] + common + ["--curl", fakeCurl, "--", "-sS", "-X", "PUT", "-H", "Content-Type: text/plain", "--data-binary", "hello", url],
            ["curl"] + common + ["--curl", fakeCurl, "--chunked", "--chunk-size", "8192", "--", "-T", upload, url],
            ["curl"] + common + ["--curl", fakeCurl, "--chunked", "--trailer", "crc32c", "--", "-T", upload, url],
            ["curl"] + common + ["--curl", fakeCurl, "--chunked", "--trailer", "sha256", "--unsigned-trailer", "--", "-T", upload, url],
            ["curl"] + common + ["--presign", "--expires", "60", "--", url],
            ["curl"] + common + ["--dry-run", "--", "-d", "a=1", url],
            ["curl"] + common + ["--dry-run", "--", "--aws-sigv4", "aws:amz", url],
        ] {
            scan.check(args.joined(separator: " "), try runSigV4(args, environment: env))
        }

        // Credentials from curl's -u (no environment credentials): the secret must not reach curl's argv.
        var bare = env
        bare["AWS_ACCESS_KEY_ID"] = nil
        bare["AWS_SECRET_ACCESS_KEY"] = nil
        for args in [
            ["curl"] + common + ["--dry-run", "--", "-u", "AKIDUSEROPTION:\(userSecret)", url],
            ["curl"] + common + ["--curl", fakeCurl, "--", "-u", "AKIDUSEROPTION:\(userSecret)", url],
        ] {
            let result = try runSigV4(args, environment: bare)
            #expect(result.status == 0, "\(args): \(result.stderr)")
            scan.check(args.joined(separator: " ").replacingOccurrences(of: userSecret, with: "…"), result)
        }

        // Profiles: the shared credentials file, and a credential_process in the config file.
        let credentialsFile = dir.file("credentials")
        try Data("[dev]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = \(profileSecret)\n".utf8)
            .write(to: URL(fileURLWithPath: credentialsFile))
        let process = dir.file("credential-process.sh")
        try Data(
            """
            #!/bin/sh
            echo '{"Version": 1, "AccessKeyId": "AKIDPROCESS", "SecretAccessKey": "\(processSecret)"}'
            """.utf8
        ).write(to: URL(fileURLWithPath: process))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: process)
        let configFile = dir.file("config")
        try Data("[profile proc]\ncredential_process = \(process)\nregion = us-east-1\n[profile broken]\ncredential_process = /bin/false\n".utf8)
            .write(to: URL(fileURLWithPath: configFile))
        var profiles = bare
        profiles["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile
        profiles["AWS_CONFIG_FILE"] = configFile
        for args in [
            ["sign", url, "--profile", "dev", "--format", "json"] + common,
            ["presign", url, "--profile", "dev", "--expires", "60"] + common,
            ["sign", url, "--profile", "proc", "--format", "http"] + common,
            ["curl", "--profile", "proc", "--curl", fakeCurl] + common + ["--", url],
            ["sign", url, "--profile", "broken"] + common,
            ["sign", url, "--profile", "missing"] + common,
        ] {
            scan.check(args.joined(separator: " "), try runSigV4(args, environment: profiles))
        }

        // explain --compare with a server's SignatureDoesNotMatch (another secret signed it).
        let xml = dir.file("error.xml")
        try Data(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>AKIDHYGIENE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256
            20150830T123600Z
            20150830/us-east-1/s3/aws4_request
            \(String(repeating: "ab", count: 32))</StringToSign><SignatureProvided>\(String(repeating: "0", count: 64))</SignatureProvided><CanonicalRequest>GET
            /hygiene.txt

            host:examplebucket.s3.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            UNSIGNED-PAYLOAD</CanonicalRequest></Error>
            """.utf8
        ).write(to: URL(fileURLWithPath: xml))
        let explain = ["explain", url, "--timestamp", "20150830T123600Z", "--compare", xml] + common
        scan.check(explain.joined(separator: " "), try runSigV4(explain, environment: env))

        // verify against the key store, for a key whose secret the verifier must derive from.
        #expect(try runSigV4(["keys", "init"], environment: env).status == 0)
        let created = try runSigV4(["keys", "create", "--principal", "carol"], environment: env)
        let issued = try #require(Self.issuedSecret(created.stdout), "keys create: \(created.stderr)")
        scan.forbidden += Self.forbidden(issued.secret).map { ("issued " + $0.0, $0.1) }
        let signedFile = dir.file("signed.http")
        var issuedEnv = bare
        issuedEnv["AWS_ACCESS_KEY_ID"] = issued.id
        issuedEnv["AWS_SECRET_ACCESS_KEY"] = issued.secret
        let signed = try runSigV4(
            ["sign", url, "--format", "http", "--timestamp", "20150830T123600Z", "--region", "us-east-1", "--service", "s3"],
            environment: issuedEnv)
        #expect(signed.status == 0, "\(signed.stderr)")
        try Data(signed.stdout.utf8).write(to: URL(fileURLWithPath: signedFile))
        let tampered = dir.file("tampered.http")
        try Data(signed.stdout.replacingOccurrences(of: "/hygiene.txt", with: "/hygiene.TXT").utf8)
            .write(to: URL(fileURLWithPath: tampered))
        for file in [signedFile, tampered] {
            for format in ["json", "text"] {
                let args = ["verify", "--request", file, "--keystore", db, "--now", "20150830T123600Z", "--format", format]
                scan.check(args.joined(separator: " "), try runSigV4(args, environment: env))
            }
        }

        // interop-request (hidden): the secret on its command line; a server answering 404 (its error path
        // prints the response) and, with URLSession, a refused connection (AsyncHTTPClient retries that for 60 s).
        let serverLog = dir.file("http-server.log")
        _ = FileManager.default.createFile(atPath: serverLog, contents: nil)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir.path]
        server.standardOutput = FileHandle(forWritingAtPath: serverLog)
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {
            kill(server.processIdentifier, SIGKILL)  // a child of a test thread may have SIGTERM blocked
            server.waitUntilExit()
        }
        var port: Substring?
        for _ in 0..<1200 where port == nil {  // up to 30 s on a loaded machine
            let text = String(decoding: fileBytes(serverLog), as: UTF8.self)
            port = text.split(separator: " ").drop { $0 != "port" }.dropFirst().first
            if port == nil { usleep(25_000) }
        }
        let base = try #require(port.map { "http://127.0.0.1:\($0)" }, "python3 -m http.server did not start")
        for (adapter, url) in [
            ("async-http-client", base + "/bucket/key"), ("urlsession", base + "/bucket/key"),
            ("urlsession", "http://127.0.0.1:1/bucket/key"),
        ] {
            let args = [
                "interop-request", url, "--adapter", adapter, "--region", "us-east-1",
                "--service", "s3", "--access-key-id", "AKIDHYGIENE", "--secret-access-key", Self.secret,
            ]
            let result = try runSigV4(args, environment: env)
            #expect(result.status == 1, "\(args): \(result.stderr)")
            scan.check("interop-request --adapter \(adapter) \(url)", result)
        }

        // What curl was given: arguments, stdin, and the encoded aws-chunked bodies.
        scan.check("the stand-in curl's arguments, stdin and files", ProcessResult(status: 0, stdout: String(decoding: fileBytes(record), as: UTF8.self), stderr: ""))
        #expect(fileBytes(record).count > 40_000, "the stand-in curl ran and read the chunked bodies")

        // demo makes its own keys: nothing of the shape of a secret access key may appear.
        for args in [["demo"], ["demo", "--verbose"]] {
            let result = try runSigV4(args, environment: env)
            #expect(result.status == 0, "\(args): \(result.stderr)")
            scan.check(args.joined(separator: " "), result)
            let shaped = Self.secretShapedTokens(result.stdout + result.stderr)
            #expect(shaped.isEmpty, "\(args) printed a secret-shaped token: \(shaped)")
        }
        #expect(scan.findings.isEmpty, "\(scan.findings)")
        #expect(scan.commands == 26)
    }
}
