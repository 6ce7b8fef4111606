import Foundation
import HTTPTypes
import SigV4
import SigV4TestSupport
import SigV4Verifier
import Testing

extension CLITests {
    /// `sigv4 verify` on captured requests: bounded input and the request-target forms of RFC 9112.
    @Suite struct VerifyCommandTests {
        static let keyFlags = ["--access-key-id", "AKIDVERIFYEXAMPLE", "--secret-access-key", "verifySecretEXAMPLEKEY"]

        /// `sigv4 sign … --format http` for `url` at a fixed time.
        static func signedHTTP(_ url: String, home: String, extra: [String] = []) throws -> Data {
            let signed = try Tool.sigv4(
                ["sign", url, "--region", "us-east-1", "--service", "execute-api", "--timestamp", "20260101T000000Z",
                 "--format", "http"] + keyFlags + extra,
                env: Tool.cleanEnvironment(home: home))
            #expect(signed.status == 0, "\(signed.stderr)")
            return signed.stdout
        }

        static func verify(_ request: Data, home: String, extra: [String] = []) throws -> (Tool.Result, [String: Any]) {
            let result = try Tool.sigv4(
                ["verify", "--request", "-", "--now", "20260101T000100Z"] + keyFlags + extra,
                env: Tool.cleanEnvironment(home: home), stdin: request)
            return (result, try Tool.json(result.stdout))
        }

        @Test("--virtual-host-domain: the verdict names the bucket the Host carries; a Host that names no valid bucket is InvalidBucketName; a domain that is not a host name is a usage error (exit 2)")
        func virtualHostDomain() throws {
            let dir = try TempDir()
            let signed = try Self.signedHTTP("http://photos.s3.test/cat.jpg", home: dir.path)
            let (accepted, json) = try Self.verify(signed, home: dir.path, extra: ["--virtual-host-domain", "s3.test"])
            #expect(accepted.status == 0, "\(json)")
            #expect(json["bucket"] as? String == "photos", "\(json)")
            let (pathStyle, plain) = try Self.verify(signed, home: dir.path)
            #expect(pathStyle.status == 0 && plain["bucket"] == nil, "\(plain)")
            let invalid = try Self.signedHTTP("http://no_such.s3.test/cat.jpg", home: dir.path)
            let (refused, refusal) = try Self.verify(invalid, home: dir.path, extra: ["--virtual-host-domain", "s3.test"])
            #expect(refused.status == 1 && refusal["code"] as? String == "InvalidBucketName", "\(refusal)")
            let usage = try Tool.sigv4(
                ["verify", "--request", "-", "--virtual-host-domain", "s3.test:80"] + Self.keyFlags,
                env: Tool.cleanEnvironment(home: dir.path), stdin: signed)
            #expect(usage.status == 2, "\(usage.stderr)")
            #expect(usage.stderr.contains("--virtual-host-domain"), "\(usage.stderr)")
        }

        @Test("an endless stdin is refused after a bounded read (exit 1, InvalidRequest), never read to exhaustion")
        func endlessInputIsBounded() throws {
            let dir = try TempDir()
            // 1.5 GB of address space: reading /dev/zero to its end fails long before; a bounded read fits.
            // A sanitizer build reserves terabytes of address space at start: there, 120 s of CPU time
            // bound the read instead (a process killed by SIGXCPU does not exit 1).
            let limit = ChildEnvironment.isSanitizerBuild ? "ulimit -t 120" : "ulimit -v 1500000"
            let script = limit + "; exec \"$0\" verify --request - " + Self.keyFlags.joined(separator: " ")
            let out = dir.path + "/out", err = dir.path + "/err"
            let pid = try Spawn.start(
                ["/bin/sh", "-c", script, Tool.binary], env: Tool.cleanEnvironment(home: dir.path), stdin: "/dev/zero",
                stdout: out, stderr: err)
            let status = Spawn.wait(pid)
            let stderr = String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self)
            #expect(status == 1, "\(stderr)")
            let json = try Tool.json(FileManager.default.contents(atPath: out) ?? Data())
            #expect(json["ok"] as? Bool == false)
            #expect(json["code"] as? String == "InvalidRequest")
            #expect((json["message"] as? String)?.contains("larger than") == true, "\(json)")
        }

        @Test(
            "an absolute-form target (a capture at a forward proxy) verifies as its path and query; the target's host wins over Host"
        )
        func absoluteFormTarget() throws {
            let dir = try TempDir()
            let signed = try Self.signedHTTP(
                "http://api.example.com/p/a%2Fb?x=1&y=%20", home: dir.path, extra: ["-X", "POST", "--data", "hello"])
            let text = String(decoding: signed, as: UTF8.self)
            #expect(text.hasPrefix("POST /p/a%2Fb?x=1&y=%20 HTTP/1.1\r\n"))
            for form in ["http://api.example.com", "HTTP://api.example.com:80", "http://API.example.com"] {
                let absolute = text.replacingOccurrences(of: "POST /p/", with: "POST \(form)/p/")
                let (result, json) = try Self.verify(Data(absolute.utf8), home: dir.path)
                #expect(result.status == 0, "\(form): \(json)")
                #expect(json["ok"] as? Bool == true)
            }
            // Another host in the target than in Host: the target's host is the one verified.
            let other = text.replacingOccurrences(of: "POST /p/", with: "POST http://other.example.com/p/")
            let (refused, json) = try Self.verify(Data(other.utf8), home: dir.path)
            #expect(refused.status == 1)
            #expect(json["code"] as? String == "SignatureDoesNotMatch", "\(json)")
            #expect((json["canonical_request"] as? String)?.contains("host:other.example.com\n") == true)
        }
    }
}

extension CLITests.VerifyCommandTests {
    /// A captured Transcribe streaming request (the Go SDK's form: the payload line
    /// `STREAMING-AWS4-HMAC-SHA256-EVENTS`, no `x-amz-content-sha256`) with its envelopes as the body,
    /// signed at 20260101T000000Z; the envelopes signed with `envelopeSecret`; `tamper` changes the body.
    static func eventStreamCapture(
        envelopeSecret: String = "verifySecretEXAMPLEKEY", tamper: (inout [UInt8]) -> Void = { _ in }
    ) throws -> Data {
        let credentials = Credentials(accessKeyID: "AKIDVERIFYEXAMPLE", secretAccessKey: "verifySecretEXAMPLEKEY")
        let request = HTTPRequest(
            method: .post, scheme: "https", authority: "transcribestreaming.us-east-1.amazonaws.com",
            path: "/stream-transcription", headerFields: [.contentType: "application/vnd.amazon.eventstream"])
        let date = try AmzDate(iso8601Basic: "20260101T000000Z")
        let signed = try Signer(credentials: credentials, region: "us-east-1", service: "transcribe").sign(
            request, payload: .streamingEvents, at: date)
        var events = EventStreamSigner(
            credentials: Credentials(accessKeyID: "AKIDVERIFYEXAMPLE", secretAccessKey: envelopeSecret), region: "us-east-1",
            service: "transcribe", seedSignature: signed.signature)
        var body: [UInt8] = []
        for (i, m) in ["one", "two", String(repeating: "three", count: 400)].enumerated() {
            body += try events.sign(Array(m.utf8), atMilliseconds: date.secondsSince1970 * 1000 + Int64(i) * 10)
        }
        body += try events.signEnd(atMilliseconds: date.secondsSince1970 * 1000 + 30)
        tamper(&body)
        var head = "POST /stream-transcription HTTP/1.1\r\nHost: transcribestreaming.us-east-1.amazonaws.com\r\n"
        for field in signed.request.headerFields { head += "\(field.name.rawName): \(field.value)\r\n" }
        head += "Content-Length: \(body.count)\r\n\r\n"
        return Data(Array(head.utf8) + body)
    }

    @Test("a captured event stream is verified envelope by envelope; a changed byte, a foreign key's envelopes or a missing end is refused with its code")
    func eventStreamCapture() throws {
        let dir = try TempDir()
        let (accepted, json) = try Self.verify(try Self.eventStreamCapture(), home: dir.path)
        #expect(accepted.status == 0, "\(json)")
        #expect(json["payload"] as? String == "eventStream (3 signed messages, 2006 bytes, verified)", "\(json)")
        let cases: [(String, Data, String)] = [
            ("changed byte", try Self.eventStreamCapture { $0[60] ^= 1 }, "InvalidRequest"),
            ("foreign envelopes", try Self.eventStreamCapture(envelopeSecret: "otherSecret"), "SignatureDoesNotMatch"),
            ("no end", try Self.eventStreamCapture { $0.removeLast(90) }, "IncompleteBody"),
        ]
        for (name, capture, code) in cases {
            let (refused, verdict) = try Self.verify(capture, home: dir.path)
            #expect(refused.status == 1 && verdict["code"] as? String == code, "\(name): \(verdict)")
        }
    }
}

extension CLITests.VerifyCommandTests {
    @Test("sign --event-stream wraps each message in a chained envelope: --format http piped to verify checks every envelope; one x-amz-content-sha256 under S3 rules too; bad bodies and combinations are usage errors")
    func signEventStreamRoundTrip() throws {
        let dir = try TempDir()
        let env = Tool.cleanEnvironment(home: dir.path)
        let messages = [Array("one".utf8), [UInt8](repeating: 7, count: 3000), []].map {
            EventStreamEncoding.message(headers: [], payload: $0)
        }
        let file = dir.path + "/messages.bin"
        #expect(FileManager.default.createFile(atPath: file, contents: Data(messages.flatMap { $0 })))
        let base = [
            "sign", "https://transcribestreaming.us-east-1.amazonaws.com:8443/stream-transcription", "-X", "POST",
            "--region", "us-east-1", "--timestamp", "20260101T000000Z", "--event-stream",
        ] + Self.keyFlags
        let notMessages = dir.path + "/not-messages.bin"
        #expect(FileManager.default.createFile(atPath: notMessages, contents: Data("not event-stream messages at all".utf8)))
        let signed = try Tool.sigv4(base + ["--data-file", file, "--service", "transcribe", "--format", "http"], env: env)
        #expect(signed.status == 0, "\(signed.stderr)")
        let (verified, json) = try Self.verify(signed.stdout, home: dir.path)
        #expect(verified.status == 0, "\(json)")
        let payloadBytes = messages.map(\.count).reduce(0, +)
        #expect(json["payload"] as? String == "eventStream (3 signed messages, \(payloadBytes) bytes, verified)", "\(json)")
        // The body goes to --output; the headers name it once each, under S3 rules as under others.
        for service in ["s3", "transcribe"] {
            let out = dir.path + "/body-\(service).bin"
            let headers = try Tool.sigv4(base + ["--data-file", file, "--service", service, "--output", out], env: env)
            #expect(headers.status == 0, "\(headers.stderr)")
            let lines = headers.out.split(separator: "\n").map { $0.lowercased() }
            #expect(lines.filter { $0.hasPrefix("x-amz-content-sha256: streaming-aws4-hmac-sha256-events") }.count == 1, "\(lines)")
            let size = try #require(try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int)
            #expect(lines.contains("content-length: \(size)"), "\(lines)")
        }
        // A body that is not messages, and what cannot go with --event-stream: usage errors (exit 2).
        for (extra, why) in [
            (["--data-file", notMessages, "--output", dir.path + "/x"], "not a run of event-stream messages"),
            (["--output", dir.path + "/x"], "needs the messages"),
            (["--data-file", file, "--presign", "--output", dir.path + "/x"], "cannot be combined"),
            (["--data-file", file, "--unsigned-payload", "--output", dir.path + "/x"], "cannot be combined"),
            (["--data-file", file], "needs --output"),
        ] {
            let refused = try Tool.sigv4(base + ["--service", "transcribe"] + extra, env: env)
            #expect(refused.status == 2 && refused.stderr.contains(why), "\(extra): \(refused.stderr)")
        }
    }

    @Test("--max-skew outside 0 to 604800 seconds is a usage error (it overflowed the verifier's arithmetic); the library's policy clamps it the same way")
    func maxSkewOutOfRangeIsAUsageError() throws {
        for value in ["-9223372036854775808", "-1", "604801", "9223372036854775807"] {
            let refused = try Tool.sigv4(["verify", "--max-skew=\(value)", "--request", "/dev/null"], env: [:])
            let usage = refused.status == 2 && refused.stderr.contains("--max-skew must be 0 to 604800")
            #expect(usage, "\(value): \(refused.stderr)")
        }
        var policy = VerificationPolicy(maxClockSkew: .min)
        #expect(policy.maxClockSkew == 0)
        policy.maxClockSkew = .max
        #expect(policy.maxClockSkew == VerificationPolicy.maxClockSkewLimit)
    }
}
