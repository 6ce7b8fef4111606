/// The curl command line, parsed into what shapes the request and what only shapes output.
///
/// Only options whose effect on the request is fully modelled are accepted; every other
/// option is refused with a reason, so `sigv4 curl` never signs something curl will not send.
///
/// ```swift
/// let args = try CurlArguments.parse(["-sS", "-X", "PUT", "-H", "Content-Type: text/plain",
///                                     "--data-binary", "@body.txt", "https://b.s3.amazonaws.com/k"])
/// args.method // "PUT"
/// ```
package struct CurlArguments {
    package enum DataKind: String, Sendable {
        /// `-d`, `--data`, `--data-ascii`: `@file` is read with CR and LF removed.
        case ascii = "--data"
        /// `--data-raw`: no `@` interpretation.
        case raw = "--data-raw"
        /// `--data-binary`: `@file` is read as is.
        case binary = "--data-binary"
        /// `--data-urlencode`: `content`, `=content`, `name=content`, `@file`, `name@file`.
        case urlencode = "--data-urlencode"
        /// `--json`: like `--data-binary`, plus JSON Content-Type and Accept headers.
        case json = "--json"
    }

    package var urls: [String] = []
    package var method: String?
    /// Each `-H` argument as given (`@file` still unexpanded).
    package var headers: [String] = []
    package var data: [(DataKind, String)] = []
    package var get = false
    package var head = false
    package var uploadFile: String?
    package var user: String?
    /// Options that do not change the request bytes, with their values, in order.
    package var passthrough: [String] = []

    /// Output-only options that take a value; passed to curl unchanged.
    package static let passthroughWithValue: [String: String] = [
        "-o": "--output", "--output": "--output", "-w": "--write-out", "--write-out": "--write-out",
        "-D": "--dump-header", "--dump-header": "--dump-header", "--cacert": "--cacert", "--capath": "--capath",
        "-E": "--cert", "--cert": "--cert", "--key": "--key", "--cert-type": "--cert-type",
        "--key-type": "--key-type", "--connect-timeout": "--connect-timeout", "-m": "--max-time",
        "--max-time": "--max-time", "--retry": "--retry", "--retry-delay": "--retry-delay",
        "--retry-max-time": "--retry-max-time", "-x": "--proxy", "--proxy": "--proxy", "--noproxy": "--noproxy",
        "--resolve": "--resolve", "--connect-to": "--connect-to", "--limit-rate": "--limit-rate",
        "--trace": "--trace", "--trace-ascii": "--trace-ascii", "--stderr": "--stderr", "-c": "--cookie-jar",
        "--cookie-jar": "--cookie-jar", "--interface": "--interface", "--max-filesize": "--max-filesize",
        "-A": "--user-agent", "--user-agent": "--user-agent", "-e": "--referer", "--referer": "--referer",
        "-b": "--cookie", "--cookie": "--cookie", "-r": "--range", "--range": "--range",
        "--dns-servers": "--dns-servers", "--local-port": "--local-port", "-Y": "--speed-limit",
        "--speed-limit": "--speed-limit", "-y": "--speed-time", "--speed-time": "--speed-time",
    ]

    /// Output-only flags; passed to curl unchanged.
    package static let passthroughFlags: [String: String] = [
        "-s": "--silent", "--silent": "--silent", "-S": "--show-error", "--show-error": "--show-error",
        "-v": "--verbose", "--verbose": "--verbose", "-i": "--include", "--include": "--include",
        "-f": "--fail", "--fail": "--fail", "--fail-with-body": "--fail-with-body", "-k": "--insecure",
        "--insecure": "--insecure", "--compressed": "--compressed", "-#": "--progress-bar",
        "--progress-bar": "--progress-bar", "--no-progress-meter": "--no-progress-meter",
        "--http1.1": "--http1.1", "--http2": "--http2", "-4": "--ipv4", "--ipv4": "--ipv4", "-6": "--ipv6",
        "--ipv6": "--ipv6", "-N": "--no-buffer", "--no-buffer": "--no-buffer", "--create-dirs": "--create-dirs",
        "-O": "--remote-name", "--remote-name": "--remote-name", "--tcp-nodelay": "--tcp-nodelay",
        "--no-keepalive": "--no-keepalive", "--raw": "--raw", "--show-headers": "--include",
        "-g": "", "--globoff": "", "--path-as-is": "", "-q": "", "--disable": "",
    ]

    /// Options refused with the reason.
    package static let refused: [String: String] = [
        "-F": "multipart forms use a random boundary that cannot be signed in advance",
        "--form": "multipart forms use a random boundary that cannot be signed in advance",
        "--form-string": "multipart forms use a random boundary that cannot be signed in advance",
        "-L": "a redirect would resend the signature for a different URL",
        "--location": "a redirect would resend the signature for a different URL",
        "--location-trusted": "a redirect would resend the signature for a different URL",
        "--aws-sigv4": "sigv4 signs the request itself; drop curl's --aws-sigv4",
        "-K": "a config file can add options sigv4 cannot see",
        "--config": "a config file can add options sigv4 cannot see",
        "-:": "only one request per invocation is signed", "--next": "only one request per invocation is signed",
        "--url-query": "not modelled yet; put the query in the URL",
        "--request-target": "it changes the request target after signing",
        "--digest": "it replaces the Authorization header", "--ntlm": "it replaces the Authorization header",
        "--negotiate": "it replaces the Authorization header", "--basic": "it replaces the Authorization header",
        "--anyauth": "it replaces the Authorization header", "--oauth2-bearer": "it replaces the Authorization header",
        "-C": "resuming changes the body that is sent", "--continue-at": "resuming changes the body that is sent",
        "-z": "not modelled", "--time-cond": "not modelled",
        "--variable": "variables can change the request after signing", "--expand-url": "variables are not modelled",
        "--expand-header": "variables are not modelled", "--expand-data": "variables are not modelled",
        "--data-urlencode-file": "not a curl option",
        "--http0.9": "not modelled", "--http1.0": "HTTP/1.0 changes how the body is sent",
        "--http3": "not modelled", "--http2-prior-knowledge": "not modelled",
        "-P": "not an HTTP option", "--ftp-port": "not an HTTP option", "-Q": "not an HTTP option",
        "--quote": "not an HTTP option", "-t": "not an HTTP option", "--telnet-option": "not an HTTP option",
        "--proxy-header": "not modelled", "-U": "not modelled", "--proxy-user": "not modelled",
        "-n": "a .netrc login would replace the Authorization header",
        "--netrc": "a .netrc login would replace the Authorization header",
        "--netrc-optional": "a .netrc login would replace the Authorization header",
        "--netrc-file": "a .netrc login would replace the Authorization header",
        "-Z": "only one request per invocation is signed", "--parallel": "only one request per invocation is signed",
        "--ignore-content-length": "not modelled",
        "--post301": "redirects are refused", "--post302": "redirects are refused",
        "--post303": "redirects are refused",
        "--tr-encoding": "it changes how the body is sent", "-j": "not modelled",
        "--junk-session-cookies": "not modelled",
        "--unix-socket": "not modelled", "--abstract-unix-socket": "not modelled",
        "-J": "not modelled", "--remote-header-name": "not modelled",
    ]

    /// Short options that take a value (for clusters such as `-sXPOST`).
    package static let shortWithValue: Set<Character> = [
        "X", "H", "d", "T", "u", "o", "w", "D", "E", "m", "x", "c", "A", "e", "b", "r", "Y", "y", "K", "F", "C", "z",
        "P", "Q", "t", "U",
    ]

    package static func parse(_ arguments: [String]) throws(CLIError) -> CurlArguments {
        var result = CurlArguments()
        var i = 0
        // The options of a short cluster (-sSv -> -s -S -v), read before arguments[i]. Expanding into this
        // queue instead of splicing the argument array keeps parsing linear in the length of the command line.
        var pending: [String] = []
        var p = 0
        func next() -> String? {
            if p < pending.count {
                p += 1
                return pending[p - 1]
            }
            guard i < arguments.count else { return nil }
            i += 1
            return arguments[i - 1]
        }
        func value(_ option: String) throws(CLIError) -> String {
            guard let value = next() else {
                throw .usage("curl option \(option) needs a value")
            }
            return value
        }
        var afterDoubleDash = false
        while let arg = next() {
            if afterDoubleDash || !arg.hasPrefix("-") || arg == "-" {
                result.urls.append(arg)
                continue
            }
            if arg == "--" {
                afterDoubleDash = true
                continue
            }
            if !arg.hasPrefix("--"), arg.count > 2 {
                // A short cluster: -sSv -> -s -S -v; -XPOST -> -X POST (the rest is the value).
                var tokens: [String] = []
                let chars = Array(arg.dropFirst())
                var k = 0
                while k < chars.count {
                    let c = chars[k]
                    k += 1
                    guard c != "-" else {
                        // "-s-v" is no option (curl refuses it too); it must not become the "--" terminator.
                        throw .usage(
                            "curl option \(arg) is not supported by sigv4 curl",
                            hint: "write each option separately, for example -s -v")
                    }
                    tokens.append("-" + String(c))
                    if shortWithValue.contains(c) {
                        if k < chars.count { tokens.append(String(chars[k...])) }
                        break
                    }
                }
                pending = tokens + pending[p...]
                p = 0
                continue
            }
            switch arg {
            case "--url": result.urls.append(try value(arg))
            case "-X", "--request": result.method = try value(arg)
            case "-H", "--header": result.headers.append(try value(arg))
            case "-d", "--data", "--data-ascii": result.data.append((.ascii, try value(arg)))
            case "--data-raw": result.data.append((.raw, try value(arg)))
            case "--data-binary": result.data.append((.binary, try value(arg)))
            case "--data-urlencode": result.data.append((.urlencode, try value(arg)))
            case "--json": result.data.append((.json, try value(arg)))
            case "-G", "--get": result.get = true
            case "-I", "--head": result.head = true
            case "-T", "--upload-file": result.uploadFile = try value(arg)
            case "-u", "--user": result.user = try value(arg)
            default:
                if let reason = refused[arg] {
                    throw .usage(
                        "curl option \(arg) is not supported: \(reason)",
                        hint: "sigv4 refuses rather than sign a request curl would not send")
                }
                if let canonical = passthroughFlags[arg] {
                    if !canonical.isEmpty { result.passthrough.append(canonical) }
                } else if let canonical = passthroughWithValue[arg] {
                    result.passthrough += [canonical, try value(arg)]
                } else {
                    throw .usage(
                        "curl option \(arg) is not supported by sigv4 curl",
                        hint: "sigv4 only passes options whose effect on the request it models; see Docs/CLI.md")
                }
            }
        }
        return result
    }
}
