import Foundation
import Testing

extension CLITests {
    /// `--expires` without `--presign` was accepted and ignored: `sign URL --expires 60` printed header
    /// signatures, with nothing saying that no URL valid for 60 seconds was made.
    @Suite struct ExpiresWithoutPresignTests {
        static let credentials = ["--access-key-id", "AKIDEXAMPLE", "--secret-access-key", "expiresSecret"]
        static let scope = ["--region", "us-east-1", "--service", "s3", "--timestamp", "20260101T000000Z"]
        static let url = "http://127.0.0.1:9/k"

        @Test(
            "--expires without --presign is a one-line usage error",
            arguments: [
                ["sign", url, "--expires", "60"], ["explain", url, "--expires", "60"],
                ["curl", "--expires", "60", "--dry-run", "--", url],
            ])
        func refused(command: [String]) throws {
            let home = try TempDir()
            var args = command
            args.insert(contentsOf: Self.scope + Self.credentials, at: 1)
            let result = try Tool.sigv4(args, env: Tool.cleanEnvironment(home: home.path))
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stdout.isEmpty, "\(result.out)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stderr.contains("--presign"), "\(result.stderr)")
        }

        @Test("with --presign, --expires sets X-Amz-Expires; without it, 3600")
        func withPresign() throws {
            let home = try TempDir()
            let given = try Tool.sigv4(
                ["sign", Self.url, "--presign", "--expires", "60"] + Self.scope + Self.credentials,
                env: Tool.cleanEnvironment(home: home.path))
            #expect(given.status == 0, "\(given.stderr)")
            #expect(given.out.contains("X-Amz-Expires=60&"), "\(given.out)")
            let standard = try Tool.sigv4(
                ["sign", Self.url, "--presign"] + Self.scope + Self.credentials,
                env: Tool.cleanEnvironment(home: home.path))
            #expect(standard.out.contains("X-Amz-Expires=3600&"), "\(standard.out)")
        }
    }
}
