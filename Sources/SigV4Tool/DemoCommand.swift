import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdSigV4
import Logging
import NIOCore
import NIOHTTP1
import SigV4
import SigV4AsyncHTTPClient
import SigV4KeyStore
import SigV4Verifier

/// `sigv4 demo`: the whole job end to end, on a throw-away key store, in a few seconds.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a verifying gateway on a temporary key store and send it good and bad requests.",
        discussion: """
            Creates a key store in a temporary directory, issues two keys (one limited to the sqs service), \
            starts the gateway on an ephemeral 127.0.0.1 port in echo mode, then signs requests with the \
            library's AsyncHTTPClient adapter: a valid request, a tampered body, a body that does not \
            match its declared checksum, a replayed request, an expired presigned URL and a key used \
            outside its scope. Prints each verdict; exits 0 when \
            every verdict is the expected one. Everything is deleted at the end.
            """)

    @Flag(help: "Print the gateway's access log too.")
    var verbose = false

    struct Step {
        var title: String
        var expectedStatus: Int
        var expectedCode: String?
    }

    func run() async throws {
        let fileManager = FileManager.default
        let directory = fileManager.temporaryDirectory.appendingPathComponent(
            "sigv4-demo-\(UInt64.random(in: 0...UInt64.max))")
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: directory) }
        let storePath = directory.appendingPathComponent("keys.db").path

        print("sigv4 demo: a verifying gateway, a key store, and requests good and bad\n")
        let ring = try MasterKeyRing.generate()
        try ring.writeKeyFile(atPath: MasterKeyRing.defaultKeyFilePath(forStoreAt: storePath))
        let store = try KeyStore.open(path: storePath, create: true, masterKeys: ring)
        let alice = try store.createKey(principal: "alice", description: "demo key", actor: "sigv4 demo")
        let reporting = try store.createKey(
            principal: "reporting", scope: KeyScope(services: ["sqs"]), description: "demo key, sqs only",
            actor: "sigv4 demo")
        print("1. Key store   \(storePath) (sealed with a fresh master key)")
        print("   key \(alice.accessKeyID) for principal alice (any region, any service)")
        print("   key \(reporting.accessKeyID) for principal reporting (service sqs only)\n")

        var policy = VerificationPolicy.default
        policy.allowedRegions = ["us-east-1"]
        let authenticator = SigV4Authenticator<GatewayRequestContext>(
            verifier: Verifier(resolver: store, policy: policy, replayGuard: InMemoryReplayGuard(capacity: 10_000)),
            configuration: .init(transport: .http1, browserForms: .init()))  // served by `.http1` below
        var accessLog = Logger(label: "sigv4.access")
        accessLog.logLevel = verbose ? .info : .critical
        var serverLogger = Logger(label: "sigv4.demo")
        serverLogger.logLevel = .critical
        let gateway = Gateway(upstream: nil, authenticator: authenticator, accessLog: accessLog, httpClient: nil)
        let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: gateway.responder(),
            server: .http1(
                configuration: .init(additionalChannelHandlers: [
                    ExpectContinueHandler(sending: .whenBodyIsRead), UnreadBodyLimit(), SendTimeout(),
                ])),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: serverLogger)
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var ports = portStream.makeAsyncIterator()
        guard let port = await ports.next(), port > 0 else { throw GatewayError("the gateway did not start") }
        let base = "http://127.0.0.1:\(port)"
        print("2. Gateway     \(base) (echo mode: answers the verified identity as JSON)\n")
        print("3. Requests, signed with SigV4AsyncHTTPClient:\n")

        let signer = Signer(credentials: alice.credentials, region: "us-east-1", service: "s3")
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        var verdicts: [Bool] = []
        func send(_ step: Step, _ request: HTTPClientRequest) async throws -> Bool {
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
            let status = Int(response.status.code)
            let code = response.headers.first(name: "x-amz-error-code")
            let ok = status == step.expectedStatus && code == step.expectedCode
            let verdict = code.map { "refused: \(status) \($0)" } ?? "accepted: \(status)"
            print("   \(ok ? "✔" : "✘") \(step.title.padding(toLength: 44, withPad: " ", startingAt: 0)) \(verdict)")
            if let message = Self.element("Message", in: body) { print("       \(message)") }
            if code == nil, let principal = Self.jsonField("principal", in: body) {
                print("       principal \(principal), key \(Self.jsonField("access_key_id", in: body) ?? "?")")
            }
            if !ok {
                print("       expected \(step.expectedStatus) \(step.expectedCode ?? "(accepted)")")
            }
            return ok
        }

        // A valid request.
        var valid = HTTPClientRequest(url: "\(base)/demo-bucket/hello.txt")
        try valid.sign(with: signer, payload: .emptySHA256, at: AmzDate(Date()))
        verdicts.append(try await send(Step(title: "valid GET /demo-bucket/hello.txt", expectedStatus: 200), valid))

        // The same signed request again: a replay.
        verdicts.append(try await send(
            Step(title: "the same request, replayed", expectedStatus: 403, expectedCode: "RequestReplayed"), valid))

        // A body changed after signing.
        var tampered = HTTPClientRequest(url: "\(base)/demo-bucket/report.csv")
        tampered.method = .PUT
        try tampered.sign(with: signer, body: ByteBuffer(string: "amount\n100\n"), at: AmzDate(Date()))
        tampered.body = .bytes(ByteBuffer(string: "amount\n900\n"))
        verdicts.append(try await send(
            Step(title: "PUT whose body changed after signing", expectedStatus: 400,
                 expectedCode: "XAmzContentSHA256Mismatch"), tampered))

        // A body that does not match its declared checksum (UNSIGNED-PAYLOAD: only the CRC-32 covers it).
        var corrupted = HTTPClientRequest(url: "\(base)/demo-bucket/report.csv")
        corrupted.method = .PUT
        corrupted.headers.add(
            name: "x-amz-checksum-crc32", value: TrailingChecksum.base64(.crc32, of: Array("amount\n100\n".utf8)))
        try corrupted.sign(with: signer, payload: .unsignedPayload, at: AmzDate(Date()))
        corrupted.body = .bytes(ByteBuffer(string: "amount\n900\n"))
        verdicts.append(try await send(
            Step(title: "PUT whose body fails its CRC-32 checksum", expectedStatus: 400, expectedCode: "BadDigest"),
            corrupted))

        // A presigned URL issued 10 minutes ago for 5 minutes.
        let presigned = try signer.presign(
            HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1:\(port)", path: "/demo-bucket/hello.txt"),
            expires: 300, at: AmzDate(Date()).adding(seconds: -600))
        verdicts.append(try await send(
            Step(title: "presigned URL, expired 5 minutes ago", expectedStatus: 403, expectedCode: "AccessDenied"),
            HTTPClientRequest(url: presigned.url)))

        // The sqs-only key used for s3.
        var outOfScope = HTTPClientRequest(url: "\(base)/demo-bucket/hello.txt")
        let reportingSigner = Signer(credentials: reporting.credentials, region: "us-east-1", service: "s3")
        try outOfScope.sign(with: reportingSigner, payload: .emptySHA256, at: AmzDate(Date()))
        verdicts.append(try await send(
            Step(title: "sqs-only key used for s3", expectedStatus: 403, expectedCode: "AccessDenied"), outOfScope))

        // A valid presigned URL, for contrast.
        let fresh = try signer.presign(
            HTTPRequest(method: .get, scheme: "http", authority: "127.0.0.1:\(port)", path: "/demo-bucket/hello.txt"),
            expires: 300, at: AmzDate(Date()))
        verdicts.append(try await send(Step(title: "presigned URL, valid for 5 minutes", expectedStatus: 200), HTTPClientRequest(url: fresh.url)))

        // A browser-form upload (an HTML form with a signed POST policy), and one whose file is over
        // the policy's content-length-range.
        let post = try signer.presignPost(
            bucket: "demo-bucket", key: "uploads/${filename}", expires: 300, fields: [("Content-Type", "text/plain")],
            conditions: [.contentLengthRange(min: 1, max: 64)], at: AmzDate(Date()))
        for (title, file, status, code) in [
            ("browser-form upload (POST policy)", "hello from a form", 200, nil as String?),
            ("browser-form upload over its size limit", String(repeating: "x", count: 65), 400, "EntityTooLarge"),
        ] {
            var form = HTTPClientRequest(url: "\(base)/demo-bucket")
            form.method = .POST
            let boundary = "sigv4-demo-form"
            form.headers.add(name: "Content-Type", value: "multipart/form-data; boundary=\(boundary)")
            form.body = .bytes(ByteBuffer(string: Self.formBody(post.fields, file: file, boundary: boundary)))
            verdicts.append(try await send(Step(title: title, expectedStatus: status, expectedCode: code), form))
        }

        // A signed event stream, as Transcribe streaming sends audio: each message in an envelope
        // signed with the key and chained on the request's signature. The gateway answers at once and
        // writes a line per message it verified; a forged envelope ends the answer with its code.
        let eventSigner = Signer(credentials: alice.credentials, region: "us-east-1", service: "transcribe")
        let messages = ["hello", "from", "a stream"].map { ByteBuffer(string: $0) }
        for (title, forged) in [("event stream, 3 signed messages", false), ("event stream, 2nd message forged", true)] {
            var stream = HTTPClientRequest(url: "\(base)/demo-stream/\(forged ? "forged" : "signed")")
            stream.method = .POST
            let seed = try stream.signEventStream(
                with: eventSigner, messages: AsyncStream { c in
                    for m in messages { c.yield(m) }
                    c.finish()
                }, at: AmzDate(Date()))
            if forged {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                var right = EventStreamSigner(
                    credentials: alice.credentials, region: "us-east-1", service: "transcribe", seedSignature: seed.signature)
                var body = try right.sign(messages[0].readableBytesView, atMilliseconds: now)
                var mallory = EventStreamSigner(
                    credentials: Credentials(accessKeyID: alice.accessKeyID, secretAccessKey: "not-alices-secret"),
                    region: "us-east-1", service: "transcribe", seedSignature: right.previousSignature)
                body += try mallory.sign(messages[1].readableBytesView, atMilliseconds: now)
                body += try mallory.signEnd(atMilliseconds: now)
                stream.body = .bytes(ByteBuffer(bytes: body))
            }
            let response = try await client.execute(stream, timeout: .seconds(10))
            let lines = String(buffer: try await response.body.collect(upTo: 1 << 20)).split(separator: "\n")
            let released = lines.filter { $0.hasPrefix("{\"message\":") }.count
            let code = lines.last.flatMap { Self.jsonField("code", in: String($0)) }
            let ok = forged ? (code == "SignatureDoesNotMatch" && released == 1) : (code == nil && released == 3)
            let verdict =
                code.map { "refused mid-stream: \($0) (\(released) message before it)" }
                ?? "accepted: \(response.status.code), \(released) messages verified"
            print("   \(ok ? "✔" : "✘") \(title.padding(toLength: 44, withPad: " ", startingAt: 0)) \(verdict)")
            verdicts.append(ok)
        }

        try await client.shutdown()
        server.cancel()
        _ = try? await server.value

        print("""

            4. Try it yourself: keep a gateway running with a key store of your own,
                 sigv4 keys init && sigv4 keys create --principal me --format env   # prints AWS_* exports
                 sigv4 serve --listen 127.0.0.1:8080
               then sign with curl (or the Swift adapters); it answers who signed, as JSON:
                 curl --aws-sigv4 "aws:amz:us-east-1:execute-api" \\
                      --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" http://127.0.0.1:8080/hello
               For awscli and SDK calls end to end, add --upstream URL (a service behind it).

            """)
        let failures = verdicts.filter { !$0 }.count
        guard failures == 0 else {
            print("sigv4 demo: \(failures) verdict(s) differed from the expected ones")
            throw ExitCode(1)
        }
        print("sigv4 demo: every verdict as expected.")
    }

    /// A `multipart/form-data` body: `fields` in order, then `file` as the `file` part.
    static func formBody(_ fields: [PresignedPost.Field], file: String, boundary: String) -> String {
        var body = ""
        for field in fields {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field.name)\"\r\n\r\n\(field.value)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"hello.txt\"\r\n"
        return body + "Content-Type: text/plain\r\n\r\n\(file)\r\n--\(boundary)--\r\n"
    }

    /// The text of `<name>…</name>` in an XML error body.
    static func element(_ name: String, in body: String) -> String? {
        guard let start = body.range(of: "<\(name)>"), let end = body.range(of: "</\(name)>", range: start.upperBound..<body.endIndex)
        else { return nil }
        return String(body[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&quot;", with: "\"")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// A string field of a flat JSON object.
    static func jsonField(_ name: String, in body: String) -> String? {
        guard let data = body.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return object[name] as? String
    }
}
