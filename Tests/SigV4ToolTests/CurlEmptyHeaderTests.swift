import Foundation
import Testing

extension CLITests {
    /// A signed header with an empty value: curl drops `-H 'Name: '` (a header with no value removes it), so
    /// the printed command must write it `-H 'Name;'`, curl's form for an empty header, or the request goes
    /// out without a header its signature covers.
    @Suite struct CurlEmptyHeaderTests {
        static let credentials = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "emptyHeaderSecret"]
        static let scope = ["--region", "us-east-1", "--service", "s3", "--timestamp", "20260101T000000Z"]

        @Test("sign --format curl writes an empty signed header as 'Name;'")
        func signFormatCurl() throws {
            let home = try TempDir()
            let printed = try Tool.sigv4(
                ["sign", "http://127.0.0.1:9/k", "-H", "X-Amz-Meta-Empty:", "--format", "curl"] + Self.scope
                    + Self.credentials, env: Tool.cleanEnvironment(home: home.path))
            #expect(printed.status == 0, "\(printed.stderr)")
            let (args, _) = try ShellCommandOutputTests.shellArguments(of: printed.out, home: home.path)
            #expect(args.contains("X-Amz-Meta-Empty;"), "\(args)")
            #expect(!args.contains { $0.lowercased().hasPrefix("x-amz-meta-empty:") }, "\(args)")
        }

        @Test("sign --chunked --format curl writes an empty signed header as 'Name;' too")
        func chunkedFormatCurl() throws {
            let home = try TempDir()
            let body = try home.file("body.bin", String(repeating: "x", count: 100))
            let printed = try Tool.sigv4(
                [
                    "sign", "http://127.0.0.1:9/k", "-X", "PUT", "-H", "X-Amz-Meta-Empty:", "--data-file", body,
                    "--chunked", "--output", home.path + "/body.chunked", "--format", "curl",
                ] + Self.scope + Self.credentials, env: Tool.cleanEnvironment(home: home.path))
            #expect(printed.status == 0, "\(printed.stderr)")
            let (args, _) = try ShellCommandOutputTests.shellArguments(of: printed.out, home: home.path)
            #expect(args.contains("X-Amz-Meta-Empty;"), "\(args)")
            #expect(!args.contains { $0.lowercased().hasPrefix("x-amz-meta-empty:") }, "\(args)")
        }
    }
}
