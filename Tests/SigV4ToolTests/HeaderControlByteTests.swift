import Foundation
import Testing

extension CLITests {
    /// A header value with a line break or another control byte cannot be sent as it is signed: the signer
    /// reads it as swift-http-types does (each invalid byte a space), while `--format http` printed the raw
    /// bytes (a CR LF there starts a second, unsigned header) and curl sent them. Such a value is a usage error.
    @Suite struct HeaderControlByteTests {
        static let credentials = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "headerSecret"]
        static let scope = ["--region", "us-east-1", "--service", "execute-api", "--timestamp", "20260101T000000Z"]

        static let values = ["a\r\nX-Injected: b", "a\nb", "a\rb", "a\u{1}b", "a\u{7F}b", "a\u{1B}[31mb"]

        static func expectUsageError(_ result: Tool.Result) {
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stdout.isEmpty, "\(result.out)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("sigv4: error: "), "\(result.stderr)")
            #expect(result.stderr.contains("X-Note"), "\(result.stderr)")
            #expect(!result.stderr.contains("headerSecret"))
        }

        @Test("sign -H with a control byte in the value is a one-line usage error, in every format", arguments: values)
        func sign(value: String) throws {
            let home = try TempDir()
            for format in ["http", "curl", "headers"] {
                let result = try Tool.sigv4(
                    ["sign", "http://127.0.0.1:9/p", "-H", "X-Note: \(value)", "--format", format] + Self.scope
                        + Self.credentials, env: Tool.cleanEnvironment(home: home.path))
                Self.expectUsageError(result)
            }
        }

        @Test("curl -H with a control byte in the value is refused before curl runs", arguments: values)
        func curl(value: String) throws {
            let home = try TempDir()
            let result = try Tool.sigv4(
                ["curl", "--dry-run"] + Self.scope + Self.credentials
                    + ["--", "-H", "X-Note: \(value)", "http://127.0.0.1:9/p"],
                env: Tool.cleanEnvironment(home: home.path))
            Self.expectUsageError(result)
        }

        @Test("a tab inside a header value is valid and still signed")
        func tabIsFine() throws {
            let home = try TempDir()
            let result = try Tool.sigv4(
                ["sign", "http://127.0.0.1:9/p", "-H", "X-Note: a\tb", "--format", "http"] + Self.scope
                    + Self.credentials, env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.out.contains("X-Note: a\tb\r\n"))
        }
    }
}
