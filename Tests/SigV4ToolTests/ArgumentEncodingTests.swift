import Foundation
import Testing

extension CLITests {
    /// An argument that is not valid UTF-8: Swift decodes the command line with U+FFFD in place of each bad
    /// byte, so `--data $'a\xffb'` was signed as `a\u{FFFD}b` (EF BF BD), not the bytes given, and a client
    /// sending the real bytes got SignatureDoesNotMatch; a header value or a curl argument changed the same way.
    @Suite struct ArgumentEncodingTests {
        /// Runs `sigv4 <args>` through `/bin/sh`, where `\\377` in an argument is the byte 0xFF.
        static func run(_ args: String) throws -> Tool.Result {
            let home = try TempDir()
            return try Tool.run(
                "/bin/sh", ["-c", "\"$0\" " + args, Tool.binary], env: Tool.cleanEnvironment(home: home.path))
        }

        static let tail =
            "--region us-east-1 --service svc --access-key-id AKIDEXAMPLE --secret-access-key 'utf8Secret' --timestamp 20260101T000000Z"

        @Test(
            "an argument that is not UTF-8 is a one-line usage error, never signed as U+FFFD",
            arguments: [
                "sign http://127.0.0.1:9/ --data \"$(printf 'a\\377b')\" --format http",
                "sign http://127.0.0.1:9/ -H \"$(printf 'X-Note: \\377')\"",
                "curl --dry-run --region us-east-1 --service svc --access-key-id AKIDEXAMPLE --secret-access-key utf8Secret -- --data-raw \"$(printf '\\300\\200')\" http://127.0.0.1:9/",
            ])
        func refused(command: String) throws {
            let result = try Self.run(command + (command.hasPrefix("curl") ? "" : " " + Self.tail))
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stdout.isEmpty, "\(result.out)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("UTF-8"), "\(result.stderr)")
            #expect(!result.stderr.contains("utf8Secret"))
        }

        @Test("valid UTF-8 beyond ASCII is signed as given")
        func validUTF8() throws {
            let result = try Self.run("sign http://127.0.0.1:9/ --data \"$(printf 'caf\\303\\251')\" --format http " + Self.tail)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.suffix(5) == Data("caf\u{E9}".utf8))
        }
    }
}
