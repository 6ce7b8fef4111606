import Foundation
import Testing

extension CLITests {
    /// The curl commands `sign --format curl` and `curl --dry-run` print: pasted into a shell, each argument
    /// must reach curl byte for byte, whatever it holds.
    @Suite struct ShellCommandOutputTests {
        static let credentials = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "shellQuoteSecret"]
        static let scope = ["--region", "us-east-1", "--service", "execute-api", "--timestamp", "20260101T000000Z"]

        /// Runs `command` in `/bin/sh` with `curl` defined as a function that prints its arguments, NUL-separated:
        /// the arguments exactly as the shell hands them to curl, and anything else the line ran.
        static func shellArguments(of command: String, home: String) throws -> (args: [String], result: Tool.Result) {
            let script = "curl() { printf '%s\\0' \"$@\"; }\n" + command
            let result = try Tool.run("/bin/sh", ["-c", script], env: Tool.cleanEnvironment(home: home))
            var args = result.stdout.split(separator: 0, omittingEmptySubsequences: false).map {
                String(decoding: $0, as: UTF8.self)
            }
            if args.last == "" { args.removeLast() }
            return (args, result)
        }

        /// Strings a shell must never interpret: quotes (one followed by a combining mark, which is one
        /// `Character` with it), `$`, backticks, newlines, non-ASCII.
        static let awkward = [
            "a'\u{301}; echo INJECTED; '",
            "it's \"$HOME\" `id` $(id) \\ é \u{2028} \u{200B}",
            "'''",
            "line1\nline2 'x'\u{302}",
        ]

        /// `text` without its line breaks, for a header value (one holding a line break is refused).
        static func oneLine(_ text: String) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\n" }))
        }

        @Test("sign --format curl quotes every byte: headers and body reach curl as given, nothing runs", arguments: awkward)
        func signFormatCurl(text: String) throws {
            let home = try TempDir()
            let printed = try Tool.sigv4(
                ["sign", "http://127.0.0.1:9/p", "-H", "X-Note: \(Self.oneLine(text))", "--data", text, "--format", "curl"]
                    + Self.scope + Self.credentials, env: Tool.cleanEnvironment(home: home.path))
            try Self.expectRunsAsGiven(printed, text: text, home: home.path)
            #expect(!printed.out.contains("shellQuoteSecret"))
        }

        @Test("curl --dry-run quotes every byte the same way", arguments: awkward)
        func curlDryRun(text: String) throws {
            let home = try TempDir()
            let printed = try Tool.sigv4(
                ["curl", "--dry-run"] + Self.scope + Self.credentials
                    + ["--", "-H", "X-Note: \(Self.oneLine(text))", "--data-raw", text, "http://127.0.0.1:9/p"],
                env: Tool.cleanEnvironment(home: home.path))
            try Self.expectRunsAsGiven(printed, text: text, home: home.path)
        }

        /// The printed command, run by `/bin/sh`, ran nothing else and handed curl the `X-Note`
        /// header and the `--data-raw` body byte for byte.
        static func expectRunsAsGiven(_ printed: Tool.Result, text: String, home: String) throws {
            #expect(printed.status == 0, "\(printed.stderr)")
            let (args, ran) = try shellArguments(of: printed.out, home: home)
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(!ran.out.contains("INJECTED\n"), "\(ran.out)")
            #expect(args.contains("X-Note: \(oneLine(text))"), "\(args)")
            let data = try #require(args.firstIndex(of: "--data-raw"))
            #expect(args.count > data + 1 && args[data + 1] == text, "\(args)")
        }
    }
}
