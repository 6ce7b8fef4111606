import Foundation
import Testing

extension CLITests {
    /// `sigv4 presign-post`: a browser-form upload's fields, their signature checked by an
    /// independent HMAC (python's hmac module) and the policy document read back.
    @Suite struct PresignPostCommandTests {
        static let credentials = ["--access-key-id", "AKIDPOSTCLI", "--secret-access-key", "postSecretEXAMPLEKEY"]

        static func run(_ args: [String]) throws -> Tool.Result {
            let home = try TempDir()
            return try Tool.sigv4(["presign-post"] + args + credentials, env: Tool.cleanEnvironment(home: home.path))
        }

        /// HMAC-SHA256 of `message` under the SigV4 signing key of (secret, date, region, s3), by python.
        static func pythonSignature(secret: String, date: String, region: String, message: String) throws -> String {
            let script = """
                import hmac, hashlib, sys
                secret, date, region, message = sys.argv[1:5]
                def h(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
                k = h(("AWS4" + secret).encode(), date)
                for part in (region, "s3", "aws4_request"): k = h(k, part)
                print(hmac.new(k, message.encode(), hashlib.sha256).hexdigest())
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, secret, date, region, message]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }

        @Test("the fields of a virtual-hosted bucket URL: in botocore's order, the policy as asked, the signature an independent HMAC of the policy text")
        func fieldsAndSignature() throws {
            let result = try Self.run([
                "https://photos.s3.amazonaws.com/", "--key", "uploads/${filename}", "--field", "Content-Type=image/jpeg",
                "--starts-with", "x-amz-meta-tag=", "--content-length-range", "1:100", "--timestamp", "20260101T000000Z",
                "--expires", "600",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            #expect(json["url"] as? String == "https://photos.s3.amazonaws.com/")
            let fields = try #require(json["fields"] as? [String: String])
            #expect(fields["key"] == "uploads/${filename}" && fields["Content-Type"] == "image/jpeg")
            #expect(fields["x-amz-credential"] == "AKIDPOSTCLI/20260101/us-east-1/s3/aws4_request")
            #expect(fields["x-amz-date"] == "20260101T000000Z" && fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256")
            let order = result.out.components(separatedBy: "\n").compactMap { line -> String? in
                let t = line.trimmingCharacters(in: .whitespaces)
                guard t.hasPrefix("\""), let end = t.dropFirst().firstIndex(of: "\"") else { return nil }
                return String(t[t.index(after: t.startIndex)..<end])
            }.filter { $0 != "url" && $0 != "fields" }
            #expect(order == ["key", "Content-Type", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "policy", "x-amz-signature"])
            let policyText = try #require(fields["policy"])
            let expected = try Self.pythonSignature(
                secret: "postSecretEXAMPLEKEY", date: "20260101", region: "us-east-1", message: policyText)
            #expect(fields["x-amz-signature"] == expected)
            let document = try #require(Data(base64Encoded: policyText))
            let policy = try #require(try JSONSerialization.jsonObject(with: document) as? [String: Any])
            #expect(policy["expiration"] as? String == "2026-01-01T00:10:00.000Z")
            let conditions = try #require(policy["conditions"] as? [Any])
            let text = String(decoding: try JSONSerialization.data(withJSONObject: conditions), as: UTF8.self)
            for part in [#"["eq","$bucket","photos"]"#, #"["starts-with","$key","uploads\/"]"#,
                         #"["eq","$Content-Type","image\/jpeg"]"#, #"["starts-with","$x-amz-meta-tag",""]"#,
                         #"["content-length-range",1,100]"#] {
                #expect(text.contains(part), "\(part) in \(text)")
            }
        }

        @Test("--format curl: a command (curl -q: no .curlrc) that posts the file last, every value shell-quoted; a path-style URL names the bucket")
        func curlFormat() throws {
            let result = try Self.run([
                "http://127.0.0.1:8080/photos", "--key", "it's here.txt", "--region", "eu-west-1", "--format", "curl",
                "--file", "my file.txt", "--timestamp", "20260101T000000Z",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.hasPrefix("curl -q --form-string 'key=it'\\''s here.txt' --form-string x-amz-algorithm=AWS4-HMAC-SHA256 "))
            #expect(result.out.hasSuffix(" -F 'file=@my file.txt' http://127.0.0.1:8080/photos\n"), "\(result.out)")
            #expect(result.out.contains("x-amz-credential=AKIDPOSTCLI/20260101/eu-west-1/s3/aws4_request"))
        }

        /// curl 7.88.1 refused `-F 'file=@c;type=x.jpg'` ("option -F: is badly used here") and did not find
        /// `c,d.jpg`; it reads `file=@"c;type=x.jpg"` (and `\\"`, `\\\\` inside the quotes) as the file's name.
        @Test(
            "--format curl quotes a file name curl's -F would split (; or ,) or that holds a quote or backslash",
            arguments: [
                ("c;type=x.jpg", #"'file=@"c;type=x.jpg"'"#), ("c,d.jpg", #"'file=@"c,d.jpg"'"#),
                (#"a"b\c.jpg"#, #"'file=@"a\"b\\c.jpg"'"#), ("cat.jpg", "file=@cat.jpg"),
            ])
        func curlFormFileNamesAreQuotedForCurl(file: String, expected: String) throws {
            let result = try Self.run([
                "http://127.0.0.1:8080/photos", "--key", "up/${filename}", "--region", "us-east-1", "--format", "curl",
                "--file", file, "--timestamp", "20260101T000000Z",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.hasSuffix(" -F \(expected) http://127.0.0.1:8080/photos\n"), "\(result.out)")
        }

        @Test("--bucket names a bucket with dots at its virtual host; the URL is posted to as given")
        func explicitBucket() throws {
            let result = try Self.run([
                "https://my.photos.s3.amazonaws.com/", "--bucket", "my.photos", "--key", "k", "--timestamp", "20260101T000000Z",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try Tool.json(result.stdout)
            #expect(json["url"] as? String == "https://my.photos.s3.amazonaws.com/")
            let fields = try #require(json["fields"] as? [String: String])
            let policy = String(decoding: try #require(Data(base64Encoded: fields["policy"] ?? "")), as: UTF8.self)
            #expect(policy.contains(#"["eq", "$bucket", "my.photos"]"#), "\(policy)")
        }

        @Test("sigv4 verify takes a captured browser-form upload: the form presign-post wrote verifies; a changed key does not")
        func verifyCapturedForm() throws {
            let result = try Self.run([
                "http://127.0.0.1:8080/photos", "--key", "up/${filename}", "--region", "us-east-1",
                "--content-length-range", "1:100", "--timestamp", "20260101T000000Z",
            ])
            #expect(result.status == 0, "\(result.stderr)")
            let fields = try #require(try Tool.json(result.stdout)["fields"] as? [String: String])
            func request(key: String) -> Data {
                var body = ""
                for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
                    body += "--b\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(name == "key" ? key : value)\r\n"
                }
                body += "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cat.txt\"\r\n\r\nmeow\r\n--b--\r\n"
                let head = "POST /photos HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\r\n"
                return Data((head + body).utf8)
            }
            let home = try TempDir()
            func verify(_ data: Data) throws -> (Tool.Result, [String: Any]) {
                let out = try Tool.sigv4(
                    ["verify", "--request", "-", "--now", "20260101T000100Z"] + Self.credentials,
                    env: Tool.cleanEnvironment(home: home.path), stdin: data)
                return (out, try Tool.json(out.stdout))
            }
            let (accepted, verdict) = try verify(request(key: "up/${filename}"))
            #expect(accepted.status == 0 && verdict["ok"] as? Bool == true, "\(verdict)")
            #expect(verdict["bucket"] as? String == "photos")
            #expect((verdict["payload"] as? String)?.contains("key up/cat.txt, 4 bytes") == true, "\(verdict)")
            let (refused, refusal) = try verify(request(key: "elsewhere/${filename}"))
            #expect(refused.status == 1 && refusal["code"] as? String == "AccessDenied", "\(refusal)")
        }

        @Test("--field naming a field presign-post writes says which option shapes it: the policy is built from the conditions, not --key")
        func reservedFieldHints() throws {
            let base = ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1"]
            let policy = try Self.run(base + ["--field", "Policy=eyJ9"])
            #expect(policy.status == 2, "\(policy.stderr)")
            #expect(
                policy.stderr == "sigv4: error: --field Policy is written by presign-post itself (hint: the policy "
                    + "is built from --key, --field, --starts-with and --content-length-range and lasts --expires "
                    + "seconds: give those instead)\n", "\(policy.stderr)")
            let date = try Self.run(base + ["--field", "x-amz-date=20260101T000000Z"])
            #expect(date.stderr.contains("(hint: use --timestamp for the signing time)"), "\(date.stderr)")
            let key = try Self.run(base + ["--field", "key=other"])
            #expect(key.stderr.contains("(hint: use --key for the object key)"), "\(key.stderr)")
        }

        @Test("usage errors exit 2 with one line: an object's URL, a bad range, a field without '=', a lifetime out of range", arguments: [
            ["http://127.0.0.1:8080/photos/cat.jpg", "--key", "k", "--region", "us-east-1"],
            ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1", "--content-length-range", "5:1"],
            ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1", "--field", "novalue"],
            ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1", "--expires", "604801"],
            ["http://127.0.0.1:8080/", "--key", "k", "--region", "us-east-1"],
            ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1", "--field", "Key=other"],
            ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1", "--field", "x-amz-date=x"],
            ["http://127.0.0.1:8080/photos", "--key", "k", "--region", "us-east-1", "--field", "acl=a", "--field", "ACL=b"],
        ])
        func usageErrors(args: [String]) throws {
            let result = try Self.run(args)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count <= 2, "\(result.stderr)")
            #expect(!result.stderr.contains("postSecretEXAMPLEKEY"))
        }
    }
}
