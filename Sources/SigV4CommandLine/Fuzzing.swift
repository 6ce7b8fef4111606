/// Entry points for the libFuzzer targets in `Fuzz/` (a separate package that sees only public API).
///
/// Not API: `@_spi(Fuzzing)` keeps these out of the public interface. Each entry point runs one of the
/// command line's parsers on untrusted input, checks the parser's invariants with `precondition` (a
/// violation is a crash the fuzzer reports) and says only whether the input was accepted.
///
/// ```swift
/// @_spi(Fuzzing) import SigV4CommandLine
/// _ = CommandLineFuzzing.parseCurlArguments(["-sS", "-X", "PUT", "https://b.s3.amazonaws.com/k"])
/// ```
@_spi(Fuzzing) public enum CommandLineFuzzing {
    /// Parses curl's arguments as `sigv4 curl` does, and every URL among them as `RawURL`; true when the
    /// arguments were accepted.
    ///
    /// Invariants: parsing is deterministic; an error is one line; every URL, header, data value and
    /// upload file was given as (a part of) an argument; every passthrough option is a long curl option
    /// or its value; an accepted URL prints as text that parses back to the same URL.
    public static func parseCurlArguments(_ arguments: [String]) -> Bool {
        let parsed: CurlArguments
        do {
            parsed = try CurlArguments.parse(arguments)
        } catch {
            checkOneLine(error)
            do {
                _ = try CurlArguments.parse(arguments)
                preconditionFailure("curl argument parsing is not deterministic")
            } catch {}
            return false
        }
        let again = try? CurlArguments.parse(arguments)
        precondition(again?.urls == parsed.urls && again?.method == parsed.method, "not deterministic")
        precondition(again?.headers == parsed.headers && again?.passthrough == parsed.passthrough, "not deterministic")
        func given(_ value: String) -> Bool {
            let bytes = Array(value.utf8)
            return arguments.contains { $0.utf8.count >= bytes.count && $0.utf8.suffix(bytes.count).elementsEqual(bytes) }
        }
        for value in parsed.urls + parsed.headers + parsed.data.map(\.1) + [parsed.uploadFile, parsed.user, parsed.method].compactMap({ $0 }) {
            precondition(given(value), "a parsed value that was not in the arguments")
        }
        var i = 0
        while i < parsed.passthrough.count {
            let option = parsed.passthrough[i]
            precondition(option.hasPrefix("--"), "a passthrough option that is not a long option")
            if CurlArguments.passthroughWithValue.values.contains(option) {
                precondition(i + 1 < parsed.passthrough.count, "a passthrough option without its value")
                precondition(given(parsed.passthrough[i + 1]), "a passthrough value that was not in the arguments")
                i += 2
            } else {
                precondition(CurlArguments.passthroughFlags.values.contains(option), "an unknown passthrough flag")
                i += 1
            }
        }
        for url in parsed.urls { _ = parseURL(url) }
        return true
    }

    /// Parses one URL as the command line does (`RawURL`); true when accepted.
    ///
    /// Invariants: an error is one line; an accepted URL has a host, a target starting with `/`, only
    /// visible ASCII, and prints as text that parses back to the same URL.
    public static func parseURL(_ text: String) -> Bool {
        let url: RawURL
        do {
            url = try RawURL(text)
        } catch {
            checkOneLine(error)
            return false
        }
        precondition(!url.host.isEmpty && url.target.hasPrefix("/"), "an accepted URL without a host or a target")
        precondition(url.text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }, "an accepted URL with an invisible byte")
        precondition(["http", "https", "ws", "wss"].contains(url.scheme), "an accepted URL of another scheme")
        precondition(url.port.map { (1...65535).contains($0) } ?? true)
        precondition((try? RawURL(url.text)) == url, "an accepted URL does not survive printing and parsing again")
        return true
    }

    /// Parses an awscli credentials file and config file (INI) and resolves `profile` as `sigv4` does;
    /// returns the number of settings the profile has (0 when it does not exist).
    ///
    /// Invariants: parsing is deterministic; section names, keys and values have no surrounding
    /// whitespace; keys are lowercase and hold no `=` or `:`; no key or value holds a line feed; a profile's
    /// credentials-file values win over its config-file values.
    public static func resolveProfile(credentials: String, config: String, profile: String) -> Int {
        let files = ProfileFiles(
            credentialsPath: "credentials", configPath: "config", credentialsText: credentials, configText: config)
        let again = ProfileFiles(
            credentialsPath: "credentials", configPath: "config", credentialsText: credentials, configText: config)
        precondition(files.credentials == again.credentials && files.config == again.config, "not deterministic")
        for sections in [files.credentials, files.config, ProfileFiles.parse(config)] {
            for (name, values) in sections {
                precondition(isTrimmed(name), "a section name with surrounding whitespace")
                for (key, value) in values {
                    precondition(isTrimmed(key) && isTrimmed(value), "a key or value with surrounding whitespace")
                    precondition(!key.contains("=") && !key.contains(":"), "a key holding its separator")
                    precondition(key == key.lowercased(), "a key that is not lowercase")
                    precondition(!value.utf8.contains(0x0a) && !key.utf8.contains(0x0a), "a line break in a value")
                }
            }
        }
        guard let settings = files.settings(for: profile) else {
            precondition(files.credentials[profile] == nil && files.config[profile] == nil)
            return 0
        }
        for (key, value) in files.credentials[profile] ?? [:] {
            precondition(settings[key] == value, "a config-file value beat the credentials file")
        }
        _ = files.location(of: profile)
        return settings.count
    }

    /// Reads the first request of a capture (`curl -v` output, a `curl --trace-ascii`/`--trace` dump,
    /// a raw request) as `sigv4 verify --request` and `sigv4 explain --captured` do; true when a curl
    /// dump was accepted.
    ///
    /// Invariants: detection and extraction are deterministic; every error is a one-line usage error;
    /// a raw capture is the input unchanged; an accepted dump's head starts with a non-empty request
    /// line and ends in an empty line (CRLF CRLF), and head and body together are never more than 8
    /// bytes longer than the input (no size or offset in the dump makes the parser allocate). A bare CR
    /// or LF a hostile dump puts in the head is left to the HTTP reader, which refuses it.
    public static func parseCapturedRequest(_ bytes: [UInt8]) -> Bool {
        let format = CapturedRequest.detect(bytes)
        precondition(CapturedRequest.detect(bytes) == format, "detection is not deterministic")
        let capture: CapturedRequest
        do {
            capture = try CapturedRequest(bytes, format: nil)
        } catch {
            checkOneLine(error)
            precondition(error.kind == .usage, "a capture error that is not a usage error")
            precondition((try? CapturedRequest(bytes, format: nil)) == nil, "extraction is not deterministic")
            return false
        }
        precondition(capture.format == format, "extracted as another format than detected")
        precondition((try? CapturedRequest(bytes, format: format)) == capture, "extraction is not deterministic")
        if format == .raw {
            precondition(capture.head == bytes && capture.body == nil, "a raw capture was changed")
            return false
        }
        precondition(capture.head.count >= 4 && capture.head.suffix(4).elementsEqual([13, 10, 13, 10]), "a head without its empty line")
        precondition(!capture.head.starts(with: [13, 10]), "an empty request line")
        precondition(capture.head.count + (capture.body?.count ?? 0) <= bytes.count + 8, "more bytes out than in")
        return true
    }

    /// What `sigv4 serve` tells its upstream and access log of a request's origin
    /// (``TrustedProxies/forwarding(peer:forwardedFor:forwardedProto:forwarded:scheme:)``), from
    /// `--trusted-proxy` arguments, the connection's peer and the request's `X-Forwarded-For`,
    /// `X-Forwarded-Proto` and `Forwarded` values; the number of addresses in the `X-Forwarded-For`
    /// sent, or -1 when the arguments were refused.
    ///
    /// Invariants: deterministic; a peer that is not trusted is all the gateway speaks for (the
    /// fields are not read); the `X-Forwarded-For` sent is one to ``TrustedProxies/maximumChain`` + 1
    /// addresses, each as inet_ntop writes it (so the value holds only hex digits, `.`, `:`, `,` and
    /// spaces: nothing a client wrote reaches the upstream but the addresses it names), the peer
    /// last; the client named is one of them; the protocol is `http` or `https`.
    public static func forwarding(
        trusted arguments: [String], peer: String, forwardedFor: [String], forwardedProto: [String], forwarded: [String],
        scheme: String
    ) -> Int {
        guard let trusted = try? TrustedProxies(arguments) else { return -1 }
        let result = trusted.forwarding(
            peer: peer, forwardedFor: forwardedFor, forwardedProto: forwardedProto, forwarded: forwarded, scheme: scheme)
        let again = trusted.forwarding(
            peer: peer, forwardedFor: forwardedFor, forwardedProto: forwardedProto, forwarded: forwarded, scheme: scheme)
        precondition(result == again, "not deterministic")
        precondition(result.proto == "http" || result.proto == "https" || result.proto == scheme, "a protocol the client chose freely")
        precondition(result.clientCertificate == nil, "a client certificate read from fields")
        guard let sent = result.forwardedFor else {
            preconditionFailure("no X-Forwarded-For for a known peer")
        }
        guard trusted.trusts(peer) else {
            precondition(sent == peer && result.client == peer && result.proto == scheme, "an untrusted peer's fields were read")
            return 1
        }
        let hops = sent.components(separatedBy: ", ")
        precondition(hops.count >= 1 && hops.count <= TrustedProxies.maximumChain + 1, "a chain past its bound")
        precondition(hops.last == peer, "the peer is not the last hop")
        for hop in hops.dropLast() {
            guard let bytes = TrustedProxies.addressBytes(hop) else { preconditionFailure("a hop that is not an address") }
            precondition(TrustedProxies.format(bytes) == hop, "a hop not as inet_ntop writes it")
        }
        precondition(
            sent.utf8.dropLast(peer.utf8.count).allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x3a) || (byte >= 0x61 && byte <= 0x66) || byte == 0x2e || byte == 0x2c || byte == 0x20
            }, "a byte in X-Forwarded-For that no address holds")
        precondition(result.client.map { hops.contains($0) } ?? false, "a client that is not a hop")
        if result.proto != scheme { precondition(result.proto == "http" || result.proto == "https") }
        return hops.count
    }

    static func isTrimmed(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return true }
        return !(first == " " || first == "\t" || last == " " || last == "\t")
    }

    static func checkOneLine(_ error: any Error) {
        guard let error = error as? CLIError else { preconditionFailure("an error that is not a CLIError: \(error)") }
        precondition(!error.line.utf8.contains(0x0a) && !error.line.utf8.contains(0x0d), "an error spanning lines")
        precondition(error.exitCode == 1 || error.exitCode == 2)
    }
}
