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

    @Test(
        "over h2 without Content-Length, as AWS's streaming clients send it, a signed event stream is forwarded message by message; one signed with another secret reaches nothing"
    )
    func eventStreamOverH2() throws {
        let (rig, certificate) = try Self.rig()
        defer { certificate.remove() }
        for (name, secret) in [("stream", nil), ("foreign", "mallory-secret-0000")] {
            let (fields, body) = try GatewayEventStreamTests.stream(rig, path: "/\(name)", secret: secret)
            let path = rig.directory + "/\(name).events"
            try Data(body).write(to: URL(fileURLWithPath: path))
            // The signed head as curl's own fields (Host becomes :authority), the body from the file, no length.
            let headers = fields.filter { $0.0.lowercased() != "content-length" }.flatMap {
                ["-H", "\($0.0): \($0.1)"]
            }
            let (status, output) = try Certificate.run(
                "/usr/bin/curl",
                [
                    "-sS", "--http2", "--cacert", certificate.certificate, "-X", "POST", "-T", path, "-H",
                    "Content-Length:",
                    "-w", "\n%{http_version} %{http_code}", "https://127.0.0.1:\(rig.port)/\(name)",
                ] + headers)
            if secret == nil {
                #expect(status == 0 && output.hasSuffix("\n2 200"), "\(output)")
            } else {
                // The code in whichever error format the gateway chooses for an event stream (XML or JSON).
                #expect(output.hasSuffix("\n2 403") && output.contains("SignatureDoesNotMatch"), "\(output)")
            }
        }
        let (lines, forwarded) = try GatewayEventStreamTests.recorded(rig)
        #expect(lines.first == "POST /stream HTTP/1.1", "\(lines)")
        #expect(forwarded == GatewayEventStreamTests.messages.flatMap { $0 })
        #expect(GatewayForwardingAttackTests.requests(rig).map(\.target) == ["/stream"], "\(rig.received)")
    }

    /// An HTTP/2 client in python's `h2` (scripts/requirements-test.txt) for what curl will not send: a
    /// `host` field beside `:authority`, a body held back until `100 Continue`, a connection kept after
    /// its response. Argument: a JSON object `{port, ca, headers: [[name, value]], body, expect_continue,
    /// wait_close, wait_reset, timeout}` (`timeout`: how long one read waits, 10 s unless given;
    /// `wait_reset`: read on after the response until the stream is reset); prints one JSON object:
    /// the interim statuses, the status, the body, the reset's error code, whether a GOAWAY came and
    /// the server closed, and the seconds that took.
    static let h2Client = #"""
        import json, socket, ssl, sys, time
        import h2.config, h2.connection, h2.events
        spec = json.loads(sys.argv[1])
        context = ssl.create_default_context(cafile=spec["ca"])
        context.set_alpn_protocols(["h2"])
        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", spec["port"])), server_hostname="127.0.0.1")
        out = dict(alpn=sock.selected_alpn_protocol(), informational=[], status=None, body="", goaway=False, closed=False)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=False, normalize_outbound_headers=False))
        conn.initiate_connection()
        body = spec["body"].encode()
        stream = conn.get_next_available_stream_id()
        conn.send_headers(stream, [tuple(h) for h in spec["headers"]], end_stream=not body)
        pending = body if spec.get("expect_continue") else b""
        if body and not pending:
            conn.send_data(stream, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        sock.settimeout(spec.get("timeout", 10))
        started, ended = time.time(), False
        while not (ended and not spec.get("wait_close") and (not spec.get("wait_reset") or "reset" in out)):
            try:
                data = sock.recv(65536)
            except socket.timeout:
                break
            except (ssl.SSLError, ConnectionResetError):
                data = b""
            if not data:
                out["closed"] = True
                break
            if out["goaway"]:
                continue  # after GOAWAY the server's PING and its close; h2 takes no frame once it has one
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.InformationalResponseReceived):
                    out["informational"].append(dict(event.headers)[":status"])
                    if pending:
                        conn.send_data(stream, pending, end_stream=True)
                        pending = b""
                elif isinstance(event, h2.events.ResponseReceived):
                    out["status"] = int(dict(event.headers)[":status"])
                elif isinstance(event, h2.events.DataReceived):
                    out["body"] += event.data.decode("utf-8", "replace")
                    conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
                elif isinstance(event, h2.events.StreamReset):
                    ended = True
                    out["reset"] = int(event.error_code)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    out["goaway"] = True
                    break
            sock.sendall(conn.data_to_send())
        out["seconds"] = round(time.time() - started, 2)
        print(json.dumps(out))
        """#

    /// `method path` over https with the signed `fields` as HTTP/2 header fields: their `Host` sent as
    /// `:authority` (or `authority` when given, with the `Host` kept as a field), names in lowercase.
    static func h2Headers(
        _ method: String, _ path: String, _ fields: [(String, String)], authority: String? = nil
    ) -> [[String]] {
        let host = fields.first { $0.0 == "Host" }?.1 ?? ""
        var headers = [
            [":method", method], [":scheme", "https"], [":authority", authority ?? host], [":path", path],
        ]
        for (name, value) in fields where name != "Host" || authority != nil {
            // A `Cookie` as HTTP/2 clients may send it: one `cookie` field per pair (RFC 9113, section 8.2.3).
            let values = name == "Cookie" ? value.components(separatedBy: "; ") : [value]
            headers += values.map { [name.lowercased(), $0] }
        }
        return headers
    }

    /// Runs ``h2Client`` against the rig: the signed `fields` (``h2Headers(_:_:_:authority:)``) and `body`.
    static func h2(
        _ rig: Rig, _ certificate: Certificate, _ method: String, _ path: String, _ fields: [(String, String)],
        body: String = "", authority: String? = nil, expectContinue: Bool = false, waitClose: Bool = false,
        waitReset: Bool = false
    ) throws -> [String: Any] {
        var headers = h2Headers(method, path, fields, authority: authority)
        if expectContinue { headers.append(["expect", "100-continue"]) }
        let spec: [String: Any] = [
            "port": Int(rig.port), "ca": certificate.certificate, "headers": headers, "body": body,
            "expect_continue": expectContinue, "wait_close": waitClose, "wait_reset": waitReset,
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let (status, output) = try Certificate.run("/usr/bin/env", ["python3", "-c", h2Client, json])
        #expect(status == 0, "\(output)")
        return (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
    }

    @Test(
        "over h2 (python h2): a host field that is not the :authority is InvalidRequest and reaches nothing; Expect: 100-continue gets its interim 100 before the body is sent, and none when the request is refused on its head, whose stream is then reset with NO_ERROR; a Cookie split into cookie fields is joined, verified and forwarded as one; a connection left open after its response gets GOAWAY after the idle timeout"
    )
    func h2Details() throws {
        let (rig, certificate) = try Self.rig(["--idle-timeout", "2"])
        defer { certificate.remove() }
        // Signed for another host, sent with that host as a field and this gateway as the authority.
        let elsewhere = try rig.signed(.get, "/bucket/elsewhere", host: "other.example")
        let mismatch = try Self.h2(
            rig, certificate, "GET", "/bucket/elsewhere", elsewhere, authority: "127.0.0.1:\(rig.port)")
        #expect(mismatch["alpn"] as? String == "h2")
        #expect(mismatch["status"] as? Int == 400, "\(mismatch)")
        #expect((mismatch["body"] as? String ?? "").contains("<Code>InvalidRequest</Code>"), "\(mismatch)")
        #expect(GatewayForwardingAttackTests.requests(rig).isEmpty, "\(rig.received)")

        let body = "sent after 100 Continue"
        let continued = try rig.signed(
            .put, "/bucket/continued", [.contentLength: String(body.utf8.count)], payload: .sha256(of: Array(body.utf8))
        )
        let answer = try Self.h2(
            rig, certificate, "PUT", "/bucket/continued", continued, body: body, expectContinue: true)
        #expect(answer["informational"] as? [String] == ["100"], "\(answer)")
        #expect(answer["status"] as? Int == 200, "\(answer)")
        #expect(
            GatewayForwardingAttackTests.request(rig, "/bucket/continued")?.bytes == body.utf8.count, "\(rig.received)")
        // Refused on its head (signed for another path): its 403 comes with no 100 before it, so the
        // client never sends the body.
        let refused = try Self.h2(
            rig, certificate, "PUT", "/bucket/refused", continued, body: body, expectContinue: true, waitReset: true)
        #expect(refused["informational"] as? [String] == [], "\(refused)")
        // The stream is then ended at once with RST_STREAM(NO_ERROR), not left open until the idle timeout.
        #expect(refused["reset"] as? Int == 0, "\(refused)")
        #expect((refused["seconds"] as? Double ?? 99) < 1.5, "\(refused)")
        #expect(refused["status"] as? Int == 403, "\(refused)")
        #expect((refused["body"] as? String ?? "").contains("<Code>SignatureDoesNotMatch</Code>"), "\(refused)")
        #expect(GatewayForwardingAttackTests.request(rig, "/bucket/refused") == nil, "\(rig.received)")

        // A signed Cookie sent as two `cookie` fields: joined again with "; ", it verifies and goes as one line.
        let cookies = try rig.signed(.get, "/bucket/cookies", [.cookie: "a=1; b=2"])
        #expect(cookies.contains { $0.0 == "Authorization" && $0.1.contains("SignedHeaders=cookie;") }, "\(cookies)")
        let joined = try Self.h2(rig, certificate, "GET", "/bucket/cookies", cookies)
        #expect(joined["status"] as? Int == 200, "\(joined)")
        let forwarded = GatewayForwardingAttackTests.request(rig, "/bucket/cookies")?.fields ?? []
        #expect(forwarded.filter { $0.0 == "cookie" }.map(\.1) == ["a=1; b=2"], "\(forwarded)")

        let idle = try Self.h2(
            rig, certificate, "GET", "/bucket/idle", try rig.signed(.get, "/bucket/idle"), waitClose: true)
        #expect(idle["status"] as? Int == 200, "\(idle)")
        #expect(idle["goaway"] as? Bool == true && idle["closed"] as? Bool == true, "\(idle)")
        #expect((idle["seconds"] as? Double ?? 99) < 9, "\(idle)")
    }

    /// An HTTP/2 client in python's `h2` that runs several streams on one connection, step by step.
    /// Argument: a JSON object `{port, ca, tls, timeout, rcvbuf, steps}` (`tls` false: HTTP/2 by prior
    /// knowledge, without TLS; `timeout`: how long one read waits, 10 s unless given; `rcvbuf`: the
    /// socket's receive buffer, the system's unless given); each step is `{do, name, headers, body}`:
    /// - `open` sends a stream's head and `body` (if any) without ending it, `finish` sends `body` and
    ///   ends the stream `name`, `send` does both, `cancel` resets the stream `name` (`CANCEL`);
    /// - `wait` reads until the stream `name` ends or is reset (with `"reset": true`, until it is reset),
    ///   `settle` reads until the server closes or a read waits 3 s;
    /// - `pause` sleeps `body` seconds, `until_file` waits (up to 30 s) until a file exists at the path
    ///   `body`, `raw` writes the hex bytes `body` to the connection as they are, `window` sets the
    ///   client's initial stream flow-control window to `body` bytes (SETTINGS), `connection_window`
    ///   opens the connection's by `body` bytes (WINDOW_UPDATE), `burst` sends `body` streams with
    ///   `headers`, each ended, reading nothing (not among the streams printed).
    /// Prints one JSON object: each stream's interim statuses, status, body and reset code by name,
    /// whether a GOAWAY came (and its code), whether the server closed, whether a read waited past its
    /// timeout instead, and an exception that ended the steps early (the steps stop at a close or a
    /// timeout).
    static let h2Steps = #"""
        import json, os, socket, ssl, sys, time
        import h2.config, h2.connection, h2.events, h2.settings
        spec = json.loads(sys.argv[1])
        ids, streams, out = {}, {}, dict(goaway=None, closed=False, timed_out=False, error=None)
        try:
            timeout = spec.get("timeout", 10)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if spec.get("rcvbuf"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, spec["rcvbuf"])
            sock.settimeout(timeout)
            sock.connect(("127.0.0.1", spec["port"]))
            if spec.get("tls", True):
                context = ssl.create_default_context(cafile=spec["ca"])
                context.set_alpn_protocols(["h2"])
                sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
            conn = h2.connection.H2Connection(h2.config.H2Configuration(
                client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
                normalize_outbound_headers=False))
            conn.initiate_connection()
            sock.sendall(conn.data_to_send())
            def read():
                try:
                    data = sock.recv(65536)
                except socket.timeout:
                    out["timed_out"] = True
                    return
                except (ssl.SSLError, ConnectionResetError):
                    data = b""
                if not data:
                    out["closed"] = True
                    return
                for event in conn.receive_data(data):
                    stream = streams.setdefault(
                        getattr(event, "stream_id", 0), dict(informational=[], status=None, body="", reset=None))
                    if isinstance(event, h2.events.InformationalResponseReceived):
                        stream["informational"].append(int(dict(event.headers)[":status"]))
                    elif isinstance(event, h2.events.ResponseReceived):
                        stream["status"] = int(dict(event.headers)[":status"])
                    elif isinstance(event, h2.events.DataReceived):
                        stream["body"] += event.data.decode("utf-8", "replace")
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        stream["ended"] = True
                    elif isinstance(event, h2.events.StreamReset):
                        stream["reset"] = int(event.error_code)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        out["goaway"] = int(event.error_code)
                if out["goaway"] is None:
                    try:
                        sock.sendall(conn.data_to_send())
                    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                        out["closed"] = True  # the server closed (and reset) while its last bytes were read
            for step in spec["steps"]:
                if out["closed"] or out["timed_out"]:
                    break  # what is left cannot be sent or read; the streams' states say how far it came
                name, body = step.get("name"), step.get("body", "")
                if step["do"] in ("open", "send"):
                    ids[name] = conn.get_next_available_stream_id()
                    conn.send_headers(ids[name], [tuple(h) for h in step["headers"]])
                if step["do"] in ("send", "finish") or (step["do"] == "open" and body):
                    conn.send_data(ids[name], body.encode(), end_stream=step["do"] != "open")
                sock.sendall(conn.data_to_send())
                if step["do"] == "raw":
                    sock.sendall(bytes.fromhex(body))
                if step["do"] == "cancel":
                    conn.reset_stream(ids[name], error_code=8)
                    sock.sendall(conn.data_to_send())
                if step["do"] == "pause":
                    time.sleep(float(body))
                if step["do"] == "window":
                    conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: int(body)})
                    sock.sendall(conn.data_to_send())
                if step["do"] == "connection_window":
                    conn.increment_flow_control_window(int(body))
                    sock.sendall(conn.data_to_send())
                if step["do"] == "burst":
                    for _ in range(int(body)):
                        conn.send_headers(conn.get_next_available_stream_id(), [tuple(h) for h in step["headers"]],
                                          end_stream=True)
                    sock.sendall(conn.data_to_send())
                if step["do"] == "until_file":
                    waited = 0
                    while not os.path.exists(body) and waited < 30:
                        time.sleep(0.05)
                        waited += 0.05
                if step["do"] == "wait":
                    while not out["closed"] and not out["timed_out"] and out["goaway"] is None:
                        stream = streams.get(ids[name], {})
                        if stream.get("reset") is not None or (stream.get("ended") and not step.get("reset")):
                            break
                        read()
                if step["do"] == "settle":
                    sock.settimeout(3)
                    while not out["closed"] and not out["timed_out"]:
                        read()
        except Exception as error:
            out["error"] = repr(error)
        finally:
            out["streams"] = {name: streams.get(i) for name, i in ids.items()}
            print(json.dumps(out))
        """#

    @Test(
        "over h2, a stream that breaks HTTP/2's rules (a body shorter than its content-length, an uppercase field name, a connection field) is reset with PROTOCOL_ERROR and reaches nothing, while the other streams of its connection, one in flight among them, are answered on it; a connection error still ends the connection with GOAWAY (with and without an idle timeout)",
        arguments: [[], ["--idle-timeout", "0"]]
    )
    func streamErrorsStayInTheirStream(arguments: [String]) throws {
        let (rig, certificate) = try Self.rig(arguments)
        defer { certificate.remove() }
        /// Signed `PUT path` with an unsigned payload of `length` bytes, as h2 header fields, plus `extra`.
        func head(_ path: String, length: Int, _ extra: [[String]] = []) throws -> [[String]] {
            let fields = try rig.signed(.put, path, [.contentLength: String(length)], payload: .unsignedPayload)
            return Self.h2Headers("PUT", path, fields) + extra
        }
        let steps: [[String: Any]] = [
            // In flight: its head and half its body sent before the bad streams, its rest after them.
            ["do": "open", "name": "inflight", "headers": try head("/bucket/inflight", length: 8), "body": "half"],
            ["do": "send", "name": "short", "headers": try head("/bucket/short", length: 60), "body": "ten bytes."],
            ["do": "wait", "name": "short"],
            [
                "do": "send", "name": "upper", "headers": try head("/bucket/upper", length: 2, [["X-Upper", "1"]]),
                "body": "up",
            ],
            ["do": "wait", "name": "upper"],
            [
                "do": "send", "name": "hop",
                "headers": try head("/bucket/hop", length: 3, [["connection", "keep-alive"]]), "body": "hop",
            ],
            ["do": "wait", "name": "hop"],
            ["do": "finish", "name": "inflight", "body": "half"],
            ["do": "wait", "name": "inflight"],
            ["do": "send", "name": "after", "headers": try head("/bucket/after", length: 5), "body": "after"],
            ["do": "wait", "name": "after"],
            // A PING whose payload is 1 byte, not 8: FRAME_SIZE_ERROR (6), an error of the whole connection.
            ["do": "raw", "body": "000001060000000000" + "78"],
            ["do": "settle"],
        ]
        let spec: [String: Any] = ["port": Int(rig.port), "ca": certificate.certificate, "steps": steps]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let (status, output) = try Certificate.run("/usr/bin/env", ["python3", "-c", Self.h2Steps, json])
        #expect(status == 0, "\(output)")
        let answer = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
        let streams = answer["streams"] as? [String: [String: Any]] ?? [:]
        for name in ["short", "upper", "hop"] {
            #expect(streams[name]?["reset"] as? Int == 1, "\(name): \(output)")
            #expect(streams[name]?["status"] is NSNull, "\(name): \(output)")
            #expect(GatewayForwardingAttackTests.request(rig, "/bucket/\(name)") == nil, "\(name): \(rig.received)")
        }
        for (name, bytes) in [("inflight", 8), ("after", 5)] {
            #expect(streams[name]?["status"] as? Int == 200, "\(name): \(output)")
            #expect(GatewayForwardingAttackTests.request(rig, "/bucket/\(name)")?.bytes == bytes, "\(rig.received)")
        }
        #expect(answer["error"] is NSNull, "\(output)")
        // The server itself closed the connection (a read that waited its 3 s out is not a close).
        #expect(answer["goaway"] as? Int == 6, "\(output)")
        #expect(answer["closed"] as? Bool == true && answer["timed_out"] as? Bool == false, "\(output)")
    }

    @Test(
        "over h2, an upload the client cancels (RST_STREAM CANCEL) once the upstream has its head never reaches the upstream complete and is logged ClientClosedRequest (forwarded chunked: the upstream never gets its end; with Content-Length, which AsyncHTTPClient holds to, only the log can tell)",
        arguments: [false, true]
    )
    func cancelledUploadIsNotCompletedUpstream(withLength: Bool) throws {
        let (rig, certificate) = try Self.rig()
        defer { certificate.remove() }
        let fields = try rig.signed(
            .put, "/bucket/cancelled", withLength ? [.contentLength: "100000"] : [:], payload: .unsignedPayload)
        let head = Self.h2Headers("PUT", "/bucket/cancelled", fields)
        let forwarding = rig.directory + "/forwarding"
        let steps: [[String: Any]] = [
            // Part of the body; once the gateway is forwarding it (the upstream has the head), the client
            // gives up.
            ["do": "open", "name": "cancelled", "headers": head, "body": String(repeating: "a", count: 16000)],
            ["do": "until_file", "body": forwarding],
            ["do": "cancel", "name": "cancelled"],
            ["do": "pause", "body": "1.0"],
        ]
        let spec: [String: Any] = ["port": Int(rig.port), "ca": certificate.certificate, "steps": steps]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let (client, output) = try Self.start("/usr/bin/env", ["python3", "-c", Self.h2Steps, json])
        let started = Date()
        while !String(decoding: rig.upstream.stdout, as: UTF8.self).contains(#"{"head": "/bucket/cancelled"}"#),
            Date().timeIntervalSince(started) < 20
        {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let upstreamHasHead = String(decoding: rig.upstream.stdout, as: UTF8.self).contains(
            #"{"head": "/bucket/cancelled"}"#)
        FileManager.default.createFile(atPath: forwarding, contents: nil)
        client.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(upstreamHasHead, "the gateway never started forwarding: \(rig.received)")
        #expect(client.terminationStatus == 0 && printed.contains(#""error": null"#), "\(printed)")
        let line = rig.gateway.line(containing: "path=/bucket/cancelled")
        #expect(line.contains("code=ClientClosedRequest"), "\(line)")
        // Ended as if complete (a chunked body's last chunk sent), the truncated body would be stored as
        // the object; the recording upstream records a chunked request only once it has read its end.
        // One with a length it records as the connection ends, short of its length, which any upstream
        // discards (AsyncHTTPClient never sends a body shorter than the length it declared).
        let forwarded = GatewayForwardingAttackTests.request(rig, "/bucket/cancelled")
        if withLength {
            #expect((forwarded?.bytes ?? 0) < 100_000, "\(rig.received)")
        } else {
            #expect(forwarded == nil, "\(rig.received)")
        }
    }

    /// Starts `executable` with `arguments`, its standard output to a pipe; the caller waits.
    static func start(_ executable: String, _ arguments: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        return (process, output)
    }

    @Test(
        "SIGTERM over h2: an upload in flight finishes and is forwarded whole, a client that never answers the GOAWAY does not hold the gateway, and it exits 0"
    )
    func gracefulShutdown() throws {
        let (rig, certificate) = try Self.rig(["--idle-timeout", "3"])
        defer { certificate.remove() }
        // A client that takes its response, then ignores the GOAWAY's PING (it waits up to 60 s for a
        // close: a gateway it held would stop after that, well past the bound below).
        let spec: [String: Any] = [
            "port": Int(rig.port), "ca": certificate.certificate, "body": "", "wait_close": true, "timeout": 60,
            "headers": [
                [":method", "GET"], [":scheme", "https"], [":authority", "127.0.0.1:\(rig.port)"], [":path", "/x"],
            ],
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let (silent, silentOutput) = try Self.start("/usr/bin/env", ["python3", "-c", Self.h2Client, json])
        // An upload of 32 KiB at 8 KiB/s, without Content-Length, under its signed hash.
        let body = String(repeating: "slow h2 ", count: 4096)
        let path = try Self.file(rig, "slow", body)
        let (upload, uploadOutput) = try Self.start(
            "/usr/bin/curl",
            [
                "-sS", "--http2", "--cacert", certificate.certificate, "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                "\(rig.credentials.accessKeyID):\(rig.credentials.secretAccessKey.revealForDisplay())",
                "-H", "x-amz-content-sha256: \(Self.sha256Hex(body))", "-X", "PUT", "-T", path, "-H", "Content-Length:",
                "--limit-rate", "8K", "-w", "\n%{http_version} %{http_code}",
                "https://127.0.0.1:\(rig.port)/bucket/slow",
            ])
        // curl's upload under way (it runs about 4 s), and the silent client answered (its access-log
        // line is written before the answer goes), however long python took to start on a loaded machine.
        Thread.sleep(forTimeInterval: 1.5)
        let answered = rig.gateway.line(containing: "path=/x")
        #expect(!answered.isEmpty, "the silent client was never answered")
        let stopping = Date()
        kill(rig.gateway.process.processIdentifier, SIGTERM)
        upload.waitUntilExit()
        let uploaded = String(decoding: uploadOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(upload.terminationStatus == 0 && uploaded.hasSuffix("\n2 200"), "\(uploaded)")
        #expect(GatewayForwardingAttackTests.request(rig, "/bucket/slow")?.bytes == body.utf8.count, "\(rig.received)")
        rig.gateway.process.waitUntilExit()
        let seconds = Date().timeIntervalSince(stopping)
        #expect(rig.gateway.process.terminationReason == .exit && rig.gateway.process.terminationStatus == 0)
        // The upload's rest (at most 4 s), the GOAWAY and the idle timeout (3 s): far under the 60 s
        // the silent client would hold a gateway that waited for it.
        #expect(seconds < 30, "the gateway took \(seconds) s to stop")
        silent.waitUntilExit()
        let ignored = String(decoding: silentOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(ignored.contains(#""goaway": true"#) && ignored.contains(#""closed": true"#), "\(ignored)")
    }

    @Test(
        "over h2, a stream whose client never opens its flow-control window is reset after --send-timeout, and the connection goes on: the next stream is answered"
    )
    func stalledStreamIsReset() throws {
        let (rig, certificate) = try Self.rig(["--send-timeout", "1"])
        defer { certificate.remove() }
        // Unsigned: refused with a 403 and an XML body, which a window of 0 holds back.
        let get = Self.h2Headers("GET", "/bucket/stalled", [], authority: "127.0.0.1:\(rig.port)")
        let steps: [[String: Any]] = [
            ["do": "window", "body": "0"],
            ["do": "send", "name": "stalled", "headers": get],
            ["do": "wait", "name": "stalled", "reset": true],
            ["do": "window", "body": "65535"],
            ["do": "send", "name": "after", "headers": get],
            ["do": "wait", "name": "after"],
        ]
        let spec: [String: Any] = [
            "port": Int(rig.port), "ca": certificate.certificate, "steps": steps, "timeout": 20,
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let started = Date()
        let (status, output) = try Certificate.run("/usr/bin/env", ["python3", "-c", Self.h2Steps, json])
        #expect(status == 0, "\(output)")
        let answer = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]) ?? [:]
        let streams = answer["streams"] as? [String: [String: Any]] ?? [:]
        #expect(streams["stalled"]?["reset"] is Int, "\(output)")
        #expect(answer["timed_out"] as? Bool == false, "\(output)")
        #expect(streams["after"]?["status"] as? Int == 403, "\(output)")
        #expect((streams["after"]?["body"] as? String ?? "").contains("<Code>"), "\(output)")
        #expect(Date().timeIntervalSince(started) < 15, "\(output)")
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
