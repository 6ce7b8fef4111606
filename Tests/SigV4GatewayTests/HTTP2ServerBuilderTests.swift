import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdSigV4
import HummingbirdSigV4HTTP2
import HummingbirdTesting
import NIOHTTP2
import NIOSSL
import SigV4
import SigV4Verifier
import Testing

/// `HTTPServerBuilder.sigV4HTTP2` and `sigV4PlaintextHTTP2` in a Hummingbird app of the library's user: a
/// live HTTP/2 server (over TLS, or without) in front of the SigV4 middleware, spoken to over HTTP/2 by python's `h2` (``GatewayHTTP2Tests/h2Steps``),
/// so the test sees interim responses, resets, GOAWAYs and closes frame by frame.
@Suite("HummingbirdSigV4HTTP2: .sigV4HTTP2 with the SigV4 middleware (live server, python h2)", .serialized)
struct HTTP2ServerBuilderTests {
    /// How the app is served: `.sigV4HTTP2` over TLS with an idle timeout, with `.zero` (none), or
    /// `.sigV4PlaintextHTTP2` (HTTP/2 by prior knowledge).
    enum Server: String, CaseIterable, Sendable { case tls, tlsNoIdleTimeout, plaintext }

    /// ``TestApp``'s key behind the authenticator and ``HummingbirdSigV4/ExpectContinueMiddleware``;
    /// `PUT /upload` answers the number of body bytes it read, `GET /big` 1 MiB. `sendTimeout` the
    /// builder's.
    static func application(
        _ server: Server, _ certificate: GatewayTLSTests.Certificate, sendTimeout: Duration = .seconds(60)
    ) throws -> some ApplicationProtocol {
        let verifier = Verifier(
            resolver: InMemoryCredentialResolver([TestApp.alice]),
            policy: VerificationPolicy(allowedRegions: ["us-east-1"]))
        let router = Router(context: BasicSigV4RequestContext.self)
        router.add(middleware: ExpectContinueMiddleware())
        router.add(middleware: SigV4Authenticator(verifier: verifier, configuration: .init(clock: { TestApp.now })))
        router.put("/upload") { request, _ in
            var count = 0
            for try await buffer in request.body { count += buffer.readableBytes }
            return "\(count)"
        }
        router.get("/big") { _, _ in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: 1 << 20)))
        }
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate.certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: certificate.key, format: .pem)))
        let builder: HTTPServerBuilder
        switch server {
        case .tls: builder = .sigV4HTTP2(tlsConfiguration: tls, idleTimeout: .seconds(30), sendTimeout: sendTimeout)
        case .tlsNoIdleTimeout:
            builder = .sigV4HTTP2(tlsConfiguration: tls, idleTimeout: .zero, sendTimeout: sendTimeout)
        case .plaintext: builder = .sigV4PlaintextHTTP2(idleTimeout: .seconds(30), sendTimeout: sendTimeout)
        }
        return Application(router: router, server: builder)
    }

    /// `PUT /upload` signed for `body` (with `secret`, alice's by default) as h2 header fields, with
    /// `content-length: length` (the body's own unless given) and `extra` fields.
    static func head(
        port: Int, scheme: String = "https", body: String, length: Int? = nil, secret: String? = nil,
        _ extra: [[String]] = []
    ) throws -> [[String]] {
        let request = HTTPRequest(
            method: .put, scheme: scheme, authority: "127.0.0.1:\(port)", path: "/upload",
            headerFields: [.contentLength: String(length ?? body.utf8.count)])
        let signed = try TestApp.signer(secret: secret).sign(
            request, payload: .sha256(of: Array(body.utf8)), at: TestApp.now)
        return [[":method", "PUT"], [":scheme", scheme], [":authority", "127.0.0.1:\(port)"], [":path", "/upload"]]
            + signed.request.headerFields.map { [$0.name.canonicalName, $0.value] } + extra
    }

    @Test(
        "over h2 a stream whose body falls short of its content-length is reset alone while an upload in flight on the same connection is verified and answered; an upload refused before its body gets no 100 Continue, its 403, then RST_STREAM(NO_ERROR); the connection outlives both (over TLS with and without an idle timeout, and without TLS)",
        arguments: Server.allCases
    )
    func streamsAreGuarded(server: Server) async throws {
        let certificate = try GatewayTLSTests.Certificate()
        defer { certificate.remove() }
        try await Self.application(server, certificate).test(.live) { client in
            let port = try #require(client.port)
            let scheme = server == .plaintext ? "http" : "https"
            func head(body: String, length: Int? = nil, secret: String? = nil, _ extra: [[String]] = []) throws
                -> [[String]]
            {
                try Self.head(port: port, scheme: scheme, body: body, length: length, secret: secret, extra)
            }
            let steps: [[String: Any]] = [
                ["do": "open", "name": "inflight", "headers": try head(body: "halfhalf"), "body": "half"],
                [
                    "do": "send", "name": "short", "headers": try head(body: "ten bytes.", length: 60),
                    "body": "ten bytes.",
                ],
                ["do": "wait", "name": "short"],
                ["do": "finish", "name": "inflight", "body": "half"],
                ["do": "wait", "name": "inflight"],
                [
                    "do": "open", "name": "refused",
                    "headers": try head(body: "never sent", secret: "not alice's secret", [["expect", "100-continue"]]),
                ],
                ["do": "wait", "name": "refused", "reset": true],
                ["do": "send", "name": "after", "headers": try head(body: "after"), "body": "after"],
                ["do": "wait", "name": "after"],
            ]
            let spec: [String: Any] = [
                // (A long read timeout: this server's handlers share the test process's two threads with
                // other suites' blocking calls.)
                "port": port, "ca": certificate.certificate, "tls": server != .plaintext, "timeout": 30, "steps": steps,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
            let (status, output) = try await ExpectContinueMiddlewareTests.offPool {
                try GatewayTLSTests.Certificate.run("/usr/bin/env", ["python3", "-c", GatewayHTTP2Tests.h2Steps, json])
            }
            #expect(status == 0, "\(output)")
            let answer = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
            let streams = answer["streams"] as? [String: [String: Any]] ?? [:]
            #expect(streams["short"]?["reset"] as? Int == 1 && streams["short"]?["status"] is NSNull, "\(output)")
            #expect(streams["inflight"]?["status"] as? Int == 200 && streams["inflight"]?["body"] as? String == "8")
            #expect(streams["refused"]?["informational"] as? [Int] == [], "\(output)")
            #expect(streams["refused"]?["status"] as? Int == 403, "\(output)")
            #expect((streams["refused"]?["body"] as? String ?? "").contains("SignatureDoesNotMatch"), "\(output)")
            #expect(streams["refused"]?["reset"] as? Int == 0, "\(output)")
            #expect(streams["after"]?["status"] as? Int == 200 && streams["after"]?["body"] as? String == "5")
            #expect(answer["goaway"] is NSNull && answer["closed"] as? Bool == false, "\(output)")
            #expect(answer["timed_out"] as? Bool == false && answer["error"] is NSNull, "\(output)")
        }
    }

    @Test(
        "a client that opens large flow-control windows, asks for 1 MiB on each of 12 streams and reads nothing has its connection closed after the send timeout (1 s), over TLS and without (the streams' own send timeouts reset streams, never the connection, which new streams would hold)",
        arguments: [Server.tls, .plaintext]
    )
    func connectionThatStopsReadingIsClosed(server: Server) async throws {
        let certificate = try GatewayTLSTests.Certificate()
        defer { certificate.remove() }
        try await Self.application(server, certificate, sendTimeout: .seconds(1)).test(.live) { client in
            let port = try #require(client.port)
            let scheme = server == .plaintext ? "http" : "https"
            let request = HTTPRequest(method: .get, scheme: scheme, authority: "127.0.0.1:\(port)", path: "/big")
            let signed = try TestApp.signer().sign(request, payload: .sha256(of: []), at: TestApp.now)
            let head = [[":method", "GET"], [":scheme", scheme], [":authority", "127.0.0.1:\(port)"], [":path", "/big"]]
                + signed.request.headerFields.map { [$0.name.canonicalName, $0.value] }
            let steps: [[String: Any]] = [
                ["do": "window", "body": String(16 << 20)],
                ["do": "connection_window", "body": String(256 << 20)],
                ["do": "burst", "headers": head, "body": "12"],
                // Nothing read for 5 s: the server's bytes pile up in the sockets' buffers. Then read: what
                // was sent before the close, and the close; a connection kept open answers all, then is
                // silent (a read waits 3 s out).
                ["do": "pause", "body": "5"],
                ["do": "settle"],
            ]
            let spec: [String: Any] = [
                "port": port, "ca": certificate.certificate, "tls": server != .plaintext, "timeout": 30,
                "rcvbuf": 65_536, "steps": steps,
            ]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
            let (status, output) = try await ExpectContinueMiddlewareTests.offPool {
                try GatewayTLSTests.Certificate.run("/usr/bin/env", ["python3", "-c", GatewayHTTP2Tests.h2Steps, json])
            }
            #expect(status == 0, "\(output)")
            let answer = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
            #expect(answer["error"] is NSNull, "\(output)")
            #expect(answer["closed"] as? Bool == true && answer["timed_out"] as? Bool == false, "\(output)")
        }
    }

    @Test(
        "the stream guard keeps NIOHTTP2's header and content-length errors (raised only for one stream) and passes on the types NIOHTTP2 also raises for the whole connection, and any other error"
    )
    func streamScopedErrors() {
        let kept: [any Error] = [
            NIOHTTP2Errors.contentLengthViolated(), NIOHTTP2Errors.contentLengthHeadersMismatch(),
            NIOHTTP2Errors.forbiddenHeaderField(name: "connection", value: "x"),
            NIOHTTP2Errors.invalidHTTP2HeaderFieldName("X-Upper"), NIOHTTP2Errors.trailersWithoutEndStream(streamID: 1),
            NIOHTTP2Errors.streamError(
                streamID: 1, baseError: NIOHTTP2Errors.streamClosed(streamID: 1, errorCode: .refusedStream)),
        ]
        for error in kept { #expect(HTTP2StreamErrorContainment.isStreamScoped(error), "\(error)") }
        let passed: [any Error] = [
            NIOHTTP2Errors.badStreamStateTransition(), NIOHTTP2Errors.flowControlViolation(),
            NIOHTTP2Errors.invalidWindowIncrementSize(), NIOHTTP2Errors.excessiveStreamErrors(),
            NIOHTTP2Errors.missingPreface(), CancellationError(),
        ]
        for error in passed { #expect(!HTTP2StreamErrorContainment.isStreamScoped(error), "\(error)") }
    }
}
