import Foundation
import SigV4
import Testing
import _SigV4Crypto

#if canImport(Glibc)
    import Glibc
#endif

/// `sigv4 serve` over HTTP/2: with `--tls-certificate/--tls-key` the gateway offers ALPN `h2` beside
/// `http/1.1` (AWS's streaming clients speak HTTP/2 only), and every check it makes over HTTP/1.1
/// holds over h2. Driven with curl `--http2 --aws-sigv4` (Debian's curl has nghttp2) against the
/// built binary in front of the recording upstream of ``GatewayForwardingTests/Rig``.
@Suite("sigv4 serve over HTTP/2 (built binary, curl)", .serialized)
struct GatewayHTTP2Tests {
    typealias Rig = GatewayForwardingTests.Rig
    typealias Certificate = GatewayTLSTests.Certificate

    /// curl `--aws-sigv4` with the rig's key (or `secret`), trusting `certificate`, with `payloadHash` as
    /// `x-amz-content-sha256` (signed; curl signs with it as the payload's hash). Prints the response,
    /// then the HTTP version and the status on a last line: `\n<version> <status>`.
    static func curl(
        _ rig: Rig, _ certificate: Certificate, _ arguments: [String], payloadHash: String = "UNSIGNED-PAYLOAD",
        secret: String? = nil
    ) throws -> (status: Int32, body: String, version: String, code: Int) {
        let secret = secret ?? rig.credentials.secretAccessKey.revealForDisplay()
        let (status, output) = try Certificate.run(
            "/usr/bin/curl",
            [
                "-sS", "--cacert", certificate.certificate, "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                "\(rig.credentials.accessKeyID):\(secret)", "-H", "x-amz-content-sha256: \(payloadHash)",
                "-w", "\n%{http_version} %{http_code}",
            ] + arguments)
        let last = output.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
        let parts = last.split(separator: " ")
        let body = output.utf8.count > last.utf8.count ? String(output.dropLast(last.count + 1)) : ""
        return (status, body, parts.first.map(String.init) ?? "", parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
    }

    /// `body` in a file of the rig's directory, for curl's `-T` (an upload without `Content-Length`
    /// over h2 when `-H 'Content-Length:'` removes it) or `--data-binary @file`.
    static func file(_ rig: Rig, _ name: String, _ body: String) throws -> String {
        let path = rig.directory + "/" + name
        try Data(body.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func sha256Hex(_ text: String) -> String { SHA256.hash(text).hex }

    /// The rig behind TLS with `arguments` added; the certificate goes with it.
    static func rig(_ arguments: [String] = []) throws -> (Rig, Certificate) {
        let certificate = try Certificate()
        let rig = try Rig(
            arguments: ["--tls-certificate", certificate.certificate, "--tls-key", certificate.key] + arguments)
        return (rig, certificate)
    }

    @Test(
        "curl --http2 gets HTTP/2 and curl --http1.1 HTTP/1.1 on the same port; with --no-http2 both get HTTP/1.1; --http2 without TLS is a usage error"
    )
    func negotiatesH2AndHTTP11() throws {
        let (rig, certificate) = try Self.rig()
        defer { certificate.remove() }
        let url = "https://127.0.0.1:\(rig.port)/bucket/"
        let h2 = try Self.curl(rig, certificate, ["--http2", url + "over-h2"])
        #expect(h2.status == 0 && h2.version == "2" && h2.code == 200, "\(h2)")
        let h1 = try Self.curl(rig, certificate, ["--http1.1", url + "over-http11"])
        #expect(h1.status == 0 && h1.version == "1.1" && h1.code == 200, "\(h1)")
        #expect(GatewayForwardingAttackTests.request(rig, "/bucket/over-h2") != nil, "\(rig.received)")
        #expect(GatewayForwardingAttackTests.request(rig, "/bucket/over-http11") != nil, "\(rig.received)")
        let banner = String(decoding: rig.gateway.stdout, as: UTF8.self)
        #expect(banner.contains(", h2 and http/1.1)"), "\(banner.prefix(500))")

        let (off, offCertificate) = try Self.rig(["--no-http2"])
        defer { offCertificate.remove() }
        let asked = try Self.curl(off, offCertificate, ["--http2", "https://127.0.0.1:\(off.port)/bucket/no-h2"])
        #expect(asked.status == 0 && asked.version == "1.1" && asked.code == 200, "\(asked)")

        let (usage, output) = try GatewayBinaryTests.run(["serve", "--listen", "127.0.0.1:0", "--http2"])
        #expect(usage == 2, "\(output)")
    }

    @Test(
        "over h2, signed requests are verified and forwarded byte for byte (with and without Content-Length, unsigned and signed hashes) with the identity headers, X-Forwarded-Proto: https and an access-log line each"
    )
    func forwardsOverH2() throws {
        let (rig, certificate) = try Self.rig()
        defer { certificate.remove() }
        let url = "https://127.0.0.1:\(rig.port)/bucket/"
        let body = String(repeating: "h2 body ", count: 3000)  // 24,000 bytes: several DATA frames
        let path = try Self.file(rig, "body", body)
        // How each goes upstream: with its length, or (unsigned, of unknown length) streamed chunked, as
        // an HTTP/1.1 chunked upload goes; a signed hash is checked whole before the upstream is contacted.
        let uploads: [(name: String, arguments: [String], hash: String, framing: (String, String))] = [
            ("framed", ["--data-binary", "@" + path], "UNSIGNED-PAYLOAD", ("content-length", "24000")),
            (
                "unframed-unsigned", ["-T", path, "-H", "Content-Length:"], "UNSIGNED-PAYLOAD",
                ("transfer-encoding", "chunked")
            ),
            (
                "unframed-signed", ["-T", path, "-H", "Content-Length:"], Self.sha256Hex(body),
                ("content-length", "24000")
            ),
        ]
        for upload in uploads {
            let put = try Self.curl(
                rig, certificate, ["--http2", "-X", "PUT"] + upload.arguments + [url + upload.name],
                payloadHash: upload.hash)
            #expect(put.status == 0 && put.version == "2" && put.code == 200, "\(upload.name): \(put)")
            let forwarded = try #require(
                GatewayForwardingAttackTests.request(rig, "/bucket/" + upload.name), "\(rig.received)")
            #expect(forwarded.method == "PUT")
            #expect(forwarded.bytes == body.utf8.count, "\(upload.name): \(forwarded.bytes) bytes forwarded")
            #expect(
                forwarded.fields.filter { $0.0 == "x-forwarded-proto" }.map(\.1) == ["https"], "\(forwarded.fields)")
            #expect(
                forwarded.fields.filter { $0.0 == "x-sigv4-principal" }.map(\.1) == ["alice"], "\(forwarded.fields)")
            #expect(
                forwarded.fields.filter { $0.0 == "x-sigv4-access-key-id" }.map(\.1) == [rig.credentials.accessKeyID])
            #expect(
                forwarded.fields.filter { $0.0 == upload.framing.0 }.map(\.1) == [upload.framing.1],
                "\(forwarded.fields)")
            #expect(!forwarded.fields.contains { $0.0 == "authorization" }, "\(forwarded.fields)")
        }
        // The upstream's record holds each body whole, byte for byte.
        #expect(rig.received.components(separatedBy: body).count - 1 == uploads.count, "the upstream got other bytes")
        let get = try Self.curl(rig, certificate, ["--http2", url + "got?x=1"])
        #expect(get.version == "2" && get.code == 200 && get.body == "upstream ok\n", "\(get)")
        #expect(GatewayForwardingAttackTests.request(rig, "/bucket/got?x=1")?.bytes == 0)
        let log = String(decoding: rig.gateway.stdout, as: UTF8.self).split(separator: "\n").filter {
            $0.contains("sigv4.access")
        }
        #expect(log.count == uploads.count + 1, "\(log)")
        #expect(
            log.allSatisfy {
                $0.contains("status=200") && $0.contains("principal=alice") && $0.contains("client=127.0.0.1")
            })
    }

    @Test("over h2, a wrong secret is refused with SignatureDoesNotMatch and nothing is forwarded")
    func wrongSecretIsRefused() throws {
        let (rig, certificate) = try Self.rig()
        defer { certificate.remove() }
        let refused = try Self.curl(
            rig, certificate,
            ["--http2", "-X", "PUT", "--data-binary", "x", "https://127.0.0.1:\(rig.port)/bucket/wrong"],
            secret: "not-the-secret")
        #expect(refused.version == "2" && refused.code == 403, "\(refused)")
        #expect(refused.body.contains("<Code>SignatureDoesNotMatch</Code>"), "\(refused)")
        #expect(!refused.body.contains("not-the-secret"))
        #expect(GatewayForwardingAttackTests.requests(rig).isEmpty, "\(rig.received)")
    }

    @Test(
        "over h2, a body sent without Content-Length that is not the signed one (another body's hash, or the empty body's) is XAmzContentSHA256Mismatch and nothing is forwarded"
    )
    func tamperedBodyWithoutContentLengthIsRefused() throws {
        let (rig, certificate) = try Self.rig()
        defer { certificate.remove() }
        let sent = try Self.file(rig, "tampered", "tampered body")
        let emptyHash = Self.sha256Hex("")
        for (name, hash) in [("other", Self.sha256Hex("signed body")), ("empty", emptyHash)] {
            let refused = try Self.curl(
                rig, certificate,
                [
                    "--http2", "-X", "PUT", "-T", sent, "-H", "Content-Length:",
                    "https://127.0.0.1:\(rig.port)/bucket/\(name)",
                ],
                payloadHash: hash)
            #expect(refused.version == "2" && refused.code == 400, "\(name): \(refused)")
            #expect(refused.body.contains("<Code>XAmzContentSHA256Mismatch</Code>"), "\(name): \(refused)")
        }
        #expect(GatewayForwardingAttackTests.requests(rig).isEmpty, "\(rig.received)")
        #expect(!rig.received.contains("tampered body"))
    }

    @Test("with h2 offered, a connection that never finishes its TLS handshake is closed after the idle timeout")
    func stalledHandshakeIsClosed() throws {
        let (rig, certificate) = try Self.rig(["--idle-timeout", "1"])
        defer { certificate.remove() }
        let fd = try RawSocket.connect(port: rig.port, timeoutSeconds: 20)
        defer { close(fd) }
        let started = Date()
        var buffer = [UInt8](repeating: 0, count: 256)
        // Nothing is sent: the server, waiting for a ClientHello, closes (0) or the read times out (-1).
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let seconds = Date().timeIntervalSince(started)
        #expect(n == 0 && seconds < 15, "the connection was kept for \(seconds) s (recv \(n))")
        // The gateway still answers.
        let h2 = try Self.curl(rig, certificate, ["--http2", "https://127.0.0.1:\(rig.port)/bucket/after"])
        #expect(h2.version == "2" && h2.code == 200, "\(h2)")
    }
}
